"""The shape every chip mapper follows, and the pieces they share.

A chip module (``lifhw/chips/<chip>.py``) turns a float
:class:`~lifhw.network.Network` into the chip's integers, checks them against
the chip's design rules, simulates them bit-accurately and says what they cost.
Every chip module provides exactly these names (``loihi.py`` is the worked
example)::

    NAME: str                                   # "loihi", also CHIPS key
    def map(network: Network, *, <explicit keyword options>) -> ChipSpec
        # pure: never modifies `network`; float targets in chip units, before rounding
    def quantize(spec: ChipSpec) -> <Chip>Config
        # the chip's integers (a frozen dataclass with at least `spec: ChipSpec`)
    RULES: tuple[Rule, ...]                     # named design-rule checks
    def check(config) -> list[Violation]        # = run_rules(RULES, config)
    def simulate(config, input_spikes, *, record_states=False) -> ChipRun
        # bit-accurate, built from the config only; input_spikes (T, n_in) bool
        # (all input populations side by side, in network order) or a mapping
        # name -> (T, size); see split_inputs
    def dequantize(config) -> Network
        # the float network the chip effectively realises (same names/shapes)
    def resources(config) -> Resources          # cores/neurons/synapses used vs available
    def energy(config, run: ChipRun) -> EnergyEstimate
        # published per-event figures, each with its citation

Rules of the shape:

* ``map`` takes explicit keyword options (no ``**kwargs`` swallowing) with
  defaults that work for any network; unknown options are a ``TypeError``.
* Every float-to-integer conversion is a formula with its source in the
  docstring of the function that does it.
* A design rule is a plain function ``rule(config) -> list[Violation]`` whose
  ``__name__`` is the rule name; an empty list means it passes. Rules report,
  they do not raise: the report shows every violation at once.
* ``simulate`` returns a :class:`ChipRun` (= :class:`lifhw.network.NetworkRun`):
  spikes per LIF population as (T, size) booleans in biological time steps,
  optionally states (chip integers), and event counts for :func:`energy`.
  Use :func:`run_network` for the spike routing (delays, projections) so every
  chip routes spikes the same way; the chip supplies the per-step neuron update.
  (``run_network``, ``Synapses``, ``split_inputs`` and ``gather_sum`` live in
  :mod:`lifhw.network`, shared with the golden model, and are re-exported here.)
* A network has at least one input population: its spike raster fixes T.
* Time convention (shared with the golden model, :mod:`lifhw.golden.network`):
  a spike emitted during step ``k`` by population ``pre`` reaches ``post``
  through a projection with ``delay_steps = d`` as input of step ``k + d``.
  Input-population spikes in row ``k`` of ``input_spikes`` count as emitted
  during step ``k``.

The report (:mod:`lifhw.chips.report`) compares any chip with the float golden
model using only these names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lifhw.network import (  # noqa: F401  (re-exported for chip modules)
    Network,
    NetworkRun,
    Synapses,
    Update,
    gather_sum,
    run_network,
    split_inputs,
)
from lifhw.registry import Registry

#: A chip run is a network run whose backend is the chip name.
ChipRun = NetworkRun

#: Chip name -> chip module (imported on first use).
CHIPS: Registry[Any] = Registry("chip")
CHIPS.add("loihi", "lifhw.chips:loihi")
CHIPS.add("truenorth", "lifhw.chips:truenorth")
CHIPS.add("spinnaker", "lifhw.chips:spinnaker")
CHIPS.add("brainscales", "lifhw.chips:brainscales")


@dataclass(frozen=True)
class Violation:
    """One broken design rule.

    Args:
        rule: Name of the rule function (e.g. ``weight_range``).
        message: What is wrong, with numbers and units.
        where: Population or projection (``pre->post``) concerned, if any.
        severity: ``error`` (the chip cannot run it as given) or ``warning``
            (it runs, but not as the float network meant).
    """

    rule: str
    message: str
    where: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        place = f" [{self.where}]" if self.where else ""
        return f"{self.severity}: {self.rule}{place}: {self.message}"


#: A design rule: config -> violations (empty = pass).
Rule = Callable[[Any], list[Violation]]


def run_rules(rules: Sequence[Rule], config: Any) -> list[Violation]:
    """Run every rule on ``config`` and concatenate their violations."""
    out: list[Violation] = []
    for rule in rules:
        out.extend(rule(config))
    return out


@dataclass(frozen=True)
class Resources:
    """What a configuration occupies on the chip, against what one chip offers.

    Args:
        cores_used, cores_available: Neuro-cores (Loihi), cores (TrueNorth,
            SpiNNaker ARM cores), or chips' analog blocks (BrainScaleS-2).
        neurons_used, neurons_available: Neurons or compartments.
        synapses_used, synapses_available: Stored synapses (non-zero weights,
            or crossbar/row entries where the chip stores them densely).
        extra: Chip-specific counts (axons, rows, ...), name -> (used, available).
    """

    cores_used: int
    cores_available: int
    neurons_used: int
    neurons_available: int
    synapses_used: int
    synapses_available: int
    extra: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        """True when nothing exceeds what the chip offers."""
        pairs = [(self.cores_used, self.cores_available),
                 (self.neurons_used, self.neurons_available),
                 (self.synapses_used, self.synapses_available), *self.extra.values()]
        return all(used <= available for used, available in pairs)

    def as_dict(self) -> dict[str, Any]:
        return {"cores": [self.cores_used, self.cores_available],
                "neurons": [self.neurons_used, self.neurons_available],
                "synapses": [self.synapses_used, self.synapses_available],
                **{k: list(v) for k, v in self.extra.items()}, "fits": self.fits}


@dataclass(frozen=True)
class EnergyTerm:
    """Energy of one kind of event.

    Args:
        event: Event kind (``synaptic_events``, ``neuron_updates``, ``spikes``,
            ``static``...).
        count: How many happened (for ``static``: seconds of run time).
        joules_each: Published energy per event (J).
        source: Citation of the figure (paper, table).
    """

    event: str
    count: float
    joules_each: float
    source: str

    @property
    def joules(self) -> float:
        return self.count * self.joules_each


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy of a run from published per-event figures (no measured power)."""

    chip: str
    terms: tuple[EnergyTerm, ...]

    @property
    def total_j(self) -> float:
        """Total energy (J)."""
        return float(sum(term.joules for term in self.terms))

    def as_dict(self) -> dict[str, Any]:
        return {"chip": self.chip, "total_j": self.total_j,
                "terms": [{"event": t.event, "count": t.count, "joules_each": t.joules_each,
                           "joules": t.joules, "source": t.source} for t in self.terms]}


@dataclass(frozen=True, eq=False)
class ChipSpec:
    """What ``map`` decided, before rounding: float targets in the chip's units.

    Args:
        chip: Chip name.
        network: The float network that was mapped (not modified).
        dt: Chip time step in biological seconds (the network's ``dt`` unless
            the chip forces another, e.g. SpiNNaker 1 ms / 0.1 ms).
        populations: Population name -> chip parameter name -> float target
            (scalar or per-neuron array), e.g. ``{"du": 409.6, "vth": 1234.5}``.
        weights: ``"pre->post"`` -> weight matrix (post, pre) in the chip's
            weight unit before rounding.
        options: The keyword options ``map`` was called with (resolved defaults).
        notes: Mapping decisions a user should know about (approximations made).
    """

    chip: str
    network: Network
    dt: float
    populations: Mapping[str, Mapping[str, Any]]
    weights: Mapping[str, np.ndarray]
    options: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def projection_key(pre: str, post: str) -> str:
    """Key of a projection in :attr:`ChipSpec.weights`: ``"pre->post"``."""
    return f"{pre}->{post}"


@dataclass(frozen=True)
class Deviation:
    """Quantisation error of one parameter: target (float network) vs realised.

    Args:
        where: Population or projection.
        parameter: ``tau_m``, ``v_th``, ``weights``, ``bias``...
        target: Value in the float network (SI; RMS magnitude for arrays).
        realised: Value the chip realises (SI; RMS for arrays).
        error: Relative error |realised - target| / |target| (for arrays the
            RMS difference over the RMS target); 0 when both are 0, inf when
            only the target is 0.
        unit: SI unit.
    """

    where: str
    parameter: str
    target: float
    realised: float
    error: float
    unit: str


_NEURON_UNITS = {"tau_m": "s", "r_m": "Ohm", "v_rest": "V", "v_th": "V", "v_reset": "V",
                 "t_ref": "s", "tau_syn_exc": "s", "tau_syn_inh": "s"}


def _relative(target: np.ndarray, realised: np.ndarray) -> float:
    scale = float(np.sqrt(np.mean(np.square(target)))) if target.size else 0.0
    diff = float(np.sqrt(np.mean(np.square(realised - target)))) if target.size else 0.0
    if scale == 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return diff / scale


def parameter_deviations(original: Network, realised: Network) -> list[Deviation]:
    """Quantisation error of every parameter: ``original`` vs ``dequantize(config)``.

    Voltages are compared relative to rest (``v_th - v_rest``,
    ``v_reset - v_rest``): chips store potentials relative to an arbitrary
    origin, so only differences are meaningful. Weights and biases are compared
    as matrices (RMS error over RMS target).
    """
    out: list[Deviation] = []
    for pop in original.populations:
        other = realised.population(pop.name)
        a, b = pop.neuron, other.neuron
        for name, unit in _NEURON_UNITS.items():
            if name in ("v_rest", "r_m"):
                continue
            ta, tb = getattr(a, name), getattr(b, name)
            if name in ("v_th", "v_reset"):
                ta, tb = ta - a.v_rest, tb - b.v_rest
            out.append(Deviation(pop.name, name, ta, tb,
                                 _relative(np.array([ta]), np.array([tb])), unit))
        if np.any(pop.bias) or np.any(other.bias):
            out.append(Deviation(pop.name, "bias", float(np.sqrt(np.mean(pop.bias ** 2))),
                                 float(np.sqrt(np.mean(other.bias ** 2))),
                                 _relative(pop.bias, other.bias), "A"))
    for proj in original.projections:
        match = [p for p in realised.projections if p.pre == proj.pre and p.post == proj.post]
        if not match:
            continue
        unit = "V" if original.population(proj.post).delta_synapses else "A"
        w = match[0].dense_weights(purpose="the weight comparison")
        target = proj.dense_weights(purpose="the weight comparison")
        out.append(Deviation(projection_key(proj.pre, proj.post), "weights",
                             float(np.sqrt(np.mean(target ** 2))),
                             float(np.sqrt(np.mean(w ** 2))),
                             _relative(target, w), unit))
    return out


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (as hardware compilers do).

    NumPy's ``round`` rounds halves to even; chip toolchains (Lava's
    ``float_to_fixed``-style converters, sPyNNaker's ``int(x + 0.5)``-style
    encoders for positives) do not, so mappers use this one function.
    """
    values = np.asarray(x, dtype=float)
    return np.sign(values) * np.floor(np.abs(values) + 0.5)
