"""Energy figures: each term carries the published number it claims, and says what it is.

Numbers: Davies et al. 2018, IEEE Micro 38(1):82-99, Table 2 (Loihi: synaptic spike op
23.6 pJ, neuron update 81 pJ active / 52 pJ inactive, within-tile spike 1.7 pJ);
Merolla et al. 2014, Science 345:668 (TrueNorth: 26 pJ per synaptic event);
van Albada et al. 2018, Front. Neurosci. 12:291 (SpiNNaker: 5.9 uJ per synaptic
event, whole system, 0.1 ms steps, 20x slowdown).
"""

from __future__ import annotations

import numpy as np
import pytest

from lifhw.chips import loihi, spinnaker, truenorth
from lifhw.core import LIFParams
from lifhw.network import InputPopulation, Network, Population, Projection

NEURON = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065,
                   t_ref=2e-3, tau_syn_exc=5e-3, tau_syn_inh=5e-3)


def _network(dt: float) -> Network:
    rng = np.random.default_rng(0)
    return Network("e", (InputPopulation("in", 20),), (Population("out", 30, NEURON),),
                   (Projection("in", "out", rng.uniform(0, 0.5e-9, (30, 20))),), dt)


def _spikes(steps: int) -> np.ndarray:
    return np.random.default_rng(1).random((steps, 20)) < 0.1


def test_loihi_charges_active_neuron_updates() -> None:
    config = loihi.quantize(loihi.map(_network(1e-3)))
    run = loihi.simulate(config, _spikes(50))
    terms = {t.event: t for t in loihi.energy(config, run).terms}
    assert terms["synaptic_events"].joules_each == pytest.approx(23.6e-12)
    assert terms["neuron_updates"].joules_each == pytest.approx(81e-12)  # active, not 52
    assert "active" in terms["neuron_updates"].source
    assert terms["spikes"].joules_each == pytest.approx(1.7e-12)
    assert all("Table 2" in t.source for t in terms.values())


def test_truenorth_does_not_add_static_power_on_top() -> None:
    network = _network(1e-3)
    config = truenorth.quantize(truenorth.map(network))
    run = truenorth.simulate(config, _spikes(50))
    estimate = truenorth.energy(config, run)
    assert [t.event for t in estimate.terms] == ["synaptic_events"]
    events = run.events["synaptic_events"]
    assert estimate.total_j == pytest.approx(events * 26e-12)


@pytest.mark.parametrize(("dt", "flagged"), [(1e-4, False), (1e-3, True)])
def test_spinnaker_figure_names_its_configuration(dt: float, flagged: bool) -> None:
    config = spinnaker.quantize(spinnaker.map(_network(dt)))
    run = spinnaker.simulate(config, _spikes(50))
    (term,) = spinnaker.energy(config, run).terms
    assert term.joules_each == pytest.approx(5.9e-6)
    assert "0.1 ms steps and 20x slowdown" in term.source
    assert ("assumption" in term.source) is flagged
