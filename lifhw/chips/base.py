"""The shape every hardware target follows, and the pieces they share.

A hardware target is a module (``lifhw/chips/<name>.py``) that turns a float
:class:`~lifhw.network.Network` into the hardware's integers, checks them against
its design rules, simulates them bit-accurately and says what they cost. The
targets are the four chip models (Loihi, TrueNorth, SpiNNaker, BrainScaleS-2)
and lifhw's own RTL population core (``rtl``). The contract is the
:class:`HardwareTarget` protocol (checked by mypy on every module and by
``tests/test_targets_conformance.py`` on every registered target); every
target module provides exactly these names (``loihi.py`` is the worked
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
    RESOURCES: ChipResources                    # per-core / per-chip figures, cited
    def place(spec: ChipSpec, *, rates_hz=None, order="index") -> Placement
        # neurons onto cores and chips (lifhw.chips.placement), traffic per second;
        # order="rcm" fills cores in reverse Cuthill-McKee order of the graph
    def energy(config, run: ChipRun) -> EnergyEstimate
        # published per-event figures, each with its citation, or an estimate
        # that says it is not available (EnergyEstimate.available is False)

Adding a target: write the module (ending with the ``TYPE_CHECKING`` block that
lets mypy check it against :class:`HardwareTarget`, as ``loihi.py`` does) and
add one line to :data:`CHIPS` below (``kind="core"`` for a target that runs only
some networks and is left out of ``--chip all``; chips run any network).
Everything that iterates over hardware (``lifhw map``, ``lifhw snn deploy``, the
sweep backends, the reports) reads :meth:`TargetRegistry.names`.

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
  (The RTL core is the exception: its simulator runs a population's whole
  raster at once, so it shifts each input line by its delay itself, with the
  same convention.)
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
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from lifhw.core import LIFParams
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

if TYPE_CHECKING:
    from lifhw.chips.placement import ChipResources, Placement

#: A chip run is a network run whose backend is the chip name.
ChipRun = NetworkRun

#: Kinds of hardware target: a ``chip`` model runs any LIF network; a ``core``
#: (lifhw's RTL) runs the networks its design supports and is named explicitly.
TARGET_KINDS = ("chip", "core")


class TargetRegistry(Registry["HardwareTarget"]):
    """The hardware targets: names in registration order, each with its kind."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self._kinds: dict[str, str] = {}

    def add(self, name: str, target: str | HardwareTarget, *, kind: str = "chip") -> None:
        """Register ``name`` -> ``"module:attr"`` (imported on first use) of ``kind``."""
        if kind not in TARGET_KINDS:
            raise ValueError(f"target kind must be one of {TARGET_KINDS}, got {kind!r}")
        super().add(name, target)
        self._kinds[name] = kind

    def names(self, kind: str | None = None) -> list[str]:
        """Target names in registration order (tables list them so); ``kind`` filters."""
        return [name for name in self._paths if kind is None or self._kinds[name] == kind]

    def kind_of(self, name: str) -> str:
        """``chip`` or ``core`` (unknown names raise ParamError with a suggestion)."""
        self.get(name)
        return self._kinds[name]


#: Target name -> target module (imported on first use). One line per target.
CHIPS = TargetRegistry("hardware target")
CHIPS.add("loihi", "lifhw.chips:loihi")
CHIPS.add("truenorth", "lifhw.chips:truenorth")
CHIPS.add("spinnaker", "lifhw.chips:spinnaker")
CHIPS.add("brainscales", "lifhw.chips:brainscales")
CHIPS.add("rtl", "lifhw.chips:rtl", kind="core")


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
    """Energy of a run from published per-event figures (no measured power).

    Args:
        chip: Target name.
        terms: One term per event kind; empty when no published figure exists.
        note: Why the estimate is not available, or its assumptions.
    """

    chip: str
    terms: tuple[EnergyTerm, ...]
    note: str = ""

    @property
    def available(self) -> bool:
        """False when the target has no published per-event figure (no terms)."""
        return bool(self.terms)

    @property
    def total_j(self) -> float:
        """Total energy (J); NaN when not available."""
        if not self.available:
            return math.nan
        return float(sum(term.joules for term in self.terms))

    def as_dict(self) -> dict[str, Any]:
        return {"chip": self.chip, "available": self.available,
                "total_j": self.total_j if self.available else None, "note": self.note,
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


class TargetConfig(Protocol):
    """What ``quantize`` returns: the target's integers, with the spec they came from."""

    @property
    def spec(self) -> ChipSpec: ...


@runtime_checkable
class HardwareTarget(Protocol):
    """The contract of a hardware target module (see the module docstring).

    Modules satisfy it structurally: ``target: HardwareTarget = lifhw.chips.loihi``
    type-checks. Chip-specific configs are ``Any`` in the parameters (each module
    takes its own config type); ``map`` and ``simulate`` may add keyword options
    with defaults (``map(network, *, vth=None)``, ``simulate(..., sim="verilator")``).
    New stages (e.g. placement) are added here as further members, and every
    registered target must then provide them (the conformance test checks).
    """

    NAME: str
    RULES: tuple[Rule, ...]
    RESOURCES: ChipResources

    def map(self, network: Network) -> ChipSpec: ...

    def quantize(self, spec: ChipSpec) -> TargetConfig: ...

    def check(self, config: Any) -> list[Violation]: ...

    def simulate(self, config: Any, input_spikes: Any, *,
                 record_states: bool = False) -> ChipRun: ...

    def dequantize(self, config: Any) -> Network: ...

    def resources(self, config: Any) -> Resources: ...

    def energy(self, config: Any, run: ChipRun) -> EnergyEstimate: ...

    def place(self, spec: ChipSpec, *, rates_hz: Mapping[str, Any] | None = None,
              order: str = "index") -> Placement: ...


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

    Two membrane time constants that are both integrators (:func:`is_non_leaky`)
    count as equal. Voltages are compared relative to rest (``v_th - v_rest``,
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
            error = _relative(np.array([ta]), np.array([tb]))
            if (name == "tau_m" and is_non_leaky(ta, original.dt)
                    and is_non_leaky(tb, original.dt)):
                error = 0.0  # both integrators: no leak either way
            out.append(Deviation(pop.name, name, ta, tb, error, unit))
        if np.any(pop.bias) or np.any(other.bias):
            out.append(Deviation(pop.name, "bias", float(np.sqrt(np.mean(pop.bias ** 2))),
                                 float(np.sqrt(np.mean(other.bias ** 2))),
                                 _relative(pop.bias, other.bias), "A"))
    for proj in original.projections:
        match = [p for p in realised.projections if p.pre == proj.pre and p.post == proj.post]
        if not match:
            continue
        unit = "V" if original.population(proj.post).delta_synapses else "A"
        w = match[0].weights
        out.append(Deviation(projection_key(proj.pre, proj.post), "weights",
                             float(np.sqrt(np.mean(proj.weights ** 2))),
                             float(np.sqrt(np.mean(w ** 2))),
                             _relative(proj.weights, w), unit))
    return out


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (as hardware compilers do).

    NumPy's ``round`` rounds halves to even; chip toolchains (Lava's
    ``float_to_fixed``-style converters, sPyNNaker's ``int(x + 0.5)``-style
    encoders for positives) do not, so mappers use this one function.
    """
    values = np.asarray(x, dtype=float)
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


# -- unit scale and non-leaky neurons (shared by the mappers) ---------------------------

#: A membrane whose leak per step is below this fraction of ``V - v_rest`` is an
#: integrator (NIR's ``IF``, imported with ``tau_m = 10**4 s``): over 10**4 steps it
#: loses less than 1 %, so every chip maps it to its no-leak or longest-leak setting.
NO_LEAK_PER_STEP = 1e-6


def is_non_leaky(tau_m: float, dt: float) -> bool:
    """Whether a membrane with time constant ``tau_m`` (s) is an integrator at step ``dt`` (s).

    ``dt / tau_m < NO_LEAK_PER_STEP`` (the per-step leak ``1 - exp(-dt/tau_m)``
    to first order).
    """
    return dt / tau_m < NO_LEAK_PER_STEP


def power_of_two_scale(magnitude: float, limit: float, swing: float, min_swing: float) -> int:
    """Exponent ``k`` of the unit scale ``2**k`` a mapper applies to a population's voltages.

    A LIF network is invariant under one common scale of its potentials
    (``v_rest``, ``v_th``, ``v_reset``, voltage weights) -- and, separately, of its
    currents with ``r_m`` scaled inversely. A mapper multiplies its native unit (mV
    on SpiNNaker, ...) by ``2**k``, a power of two so that the scaling itself is
    exact in binary and the dequantised network compares bit for bit:

        k_fit = floor(log2(limit / magnitude))        (largest scale that fits)
        k_res = ceil(log2(min_swing / swing))         (smallest one that resolves)
        k     = min(k_fit, max(0, k_res))

    A network that fits the registers and resolves its threshold swing keeps the
    native unit (``k = 0``: physiological networks map exactly as before); one that
    overflows (e.g. a unitless NIR graph with threshold 1 read as volts) is scaled
    down as far as needed; one whose swing is below ``min_swing`` is scaled up as
    far as the range allows.

    Args:
        magnitude: Largest absolute value the population puts into a register,
            in native units at ``k = 0`` (> 0).
        limit: Largest absolute value the register holds (native units).
        swing: Threshold swing (``v_th - v_reset`` or ``v_th - v_rest``) at ``k = 0``.
        min_swing: Smallest swing the register resolves well (native units).
    """
    k_fit = math.floor(math.log2(limit / magnitude)) if magnitude > 0 else 0
    k_res = math.ceil(math.log2(min_swing / swing)) if swing > 0 else 0
    return min(k_fit, max(0, k_res))


def cap_tau_m(neuron: LIFParams, tau_max: float) -> tuple[LIFParams, bool]:
    """The neuron with ``tau_m`` capped at a target's longest leak ``tau_max`` (s).

    A longer membrane -- an integrator such as NIR's ``IF`` -- keeps its
    integration rate ``r_m / tau_m`` (``dV/dt = r_m I / tau_m`` near rest, so
    weights and bias act as before) and gets the residual leak ``1 /
    tau_max``; returns (neuron, whether it was capped). Targets report the cap
    as a ``residual_leak`` warning.
    """
    if neuron.tau_m <= tau_max:
        return neuron, False
    return neuron.replace(tau_m=tau_max, r_m=neuron.r_m * tau_max / neuron.tau_m), True


def residual_leak(spec: ChipSpec, setting: str) -> list[Violation]:
    """``residual_leak`` warnings of the populations whose ``tau_m`` a mapper capped.

    Reads ``residual_leak`` (bool), ``tau_m_wanted`` and ``tau_m_effective`` (s)
    from ``spec.populations``; ``setting`` names the target's longest leak.
    """
    out = []
    for name, target in spec.populations.items():
        if not target.get("residual_leak"):
            continue
        tau = float(target["tau_m_effective"])
        loss = 1.0 - math.exp(-spec.dt / tau)
        out.append(Violation(
            "residual_leak", f"tau_m = {float(target['tau_m_wanted']):.3g} s runs as "
            f"{tau:.3g} s ({setting}): {100 * loss:.2g} % of V - v_rest leaks per step",
            where=name, severity="warning"))
    return out
