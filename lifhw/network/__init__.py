"""Networks of LIF neurons in float parameters, in three rooms:

* :mod:`lifhw.network.types` -- :class:`Network`, :class:`InputPopulation`,
  :class:`Population`, :class:`Projection`, :class:`NetworkRun`,
  :func:`split_inputs` (the vocabulary every network flow shares);
* :mod:`lifhw.network.routing` -- :func:`route_spikes`, the spike-routing
  engine used by the golden referee (:mod:`lifhw.golden.network`) and every
  chip simulator, with :class:`Synapses` and :func:`gather_sum`;
* :mod:`lifhw.network.section` -- the ``[network]`` parameter-file section
  and :func:`load_experiment`.

Imports go one way: ``types`` <- ``routing``; ``types`` <- ``section``
(which also uses :mod:`lifhw.params`); nothing here imports golden, chips or
the app layer.
"""

from __future__ import annotations

from lifhw.network.routing import Accumulate, Synapses, Update, gather_sum, route_spikes
from lifhw.network.section import (
    InputSection,
    NetworkSection,
    PopulationSection,
    ProjectionSection,
    load_experiment,
)
from lifhw.network.types import (
    InputPopulation,
    Network,
    NetworkRun,
    Population,
    Projection,
    Weights,
    fan_out,
    split_inputs,
)

#: The routing engine's former name, kept because docs/chips.md and
#: docs/benchmarks.md name ``lifhw.network.run_network``; new code uses
#: :func:`route_spikes` (the RTL batch runner is ``lifhw.snn.rtl.run_on_rtl``).
run_network = route_spikes

__all__ = [
    "Accumulate", "InputPopulation", "InputSection", "Network", "NetworkRun",
    "NetworkSection", "Population", "PopulationSection", "Projection", "ProjectionSection",
    "Synapses", "Update", "Weights", "fan_out", "gather_sum", "load_experiment",
    "route_spikes", "run_network", "split_inputs",
]
