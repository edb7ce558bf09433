r"""Synapse circuits: input events in, a decaying synaptic current into ``vm`` out.

Every analog topology names its synapse circuit in its record
(``AnalogTopology.synapses``); the circuits are registered here
(:data:`SYNAPSES`) and share one contract, so the single-neuron generators and
the network builder (:mod:`lifhw.analog.network`) treat them alike.

Model (the golden current synapse of :mod:`lifhw.golden.lif`): an input spike of
weight ``w`` (A) makes the synaptic current jump by ``w``; it then decays with
``tau_syn_exc`` (``w > 0``, current into ``vm``) or ``tau_syn_inh`` (``w < 0``,
current out of ``vm``). A circuit realises the jump with an input *event pulse*
of width ``t_p`` (``synapse_pulse_width`` in ``[circuit.<topology>]``).

The circuit is the differential-pair integrator (DPI; C. Bartolozzi and
G. Indiveri, "Synaptic dynamics in analog VLSI", Neural Computation 19(10),
2007, eqs. 14-16): with output current ``I_syn`` well above its gain current
``I_gain`` it is the first-order low pass

    tau dI_syn/dt = -I_syn + (I_gain / I_tau) I_w(t),   tau = C_syn U_T / (kappa I_tau)

where ``I_w(t)`` is the weight current while an input pulse is on. Each
synapse circuit has one *branch* per weight (:class:`Branch`: a pulse node and
its weight): a network synapse has one branch per presynaptic neuron, a
single-neuron stimulus one per distinct weight (:func:`assign_branches`).

* ``dpi_behavioral``: that linear equation exactly, in linear elements: a
  state node ``syn_<tag>`` (1 V per :data:`I_UNIT`) on a normalised capacitor
  with a resistor for ``tau``, and per branch a transconductance from the pulse
  node. The drive during a pulse is ``w / (tau (exp(t_p / tau) - 1))``, so the
  state right after the pulse equals the golden jump ``w`` decayed over
  ``t_p``: from then on the two agree exactly.
* ``gmc_sky130``: its transistor-level counterpart in sky130, a subthreshold
  Gm-C low pass with the same equation (:mod:`lifhw.analog.sky130_synapse`).
* ``gmc_sky130_lp``: the same circuit for the low-power neuron at 0.8 V, with
  the weight current gated per event and pA biases
  (:mod:`lifhw.analog.sky130_lp_synapse`).

Node contract added to :mod:`lifhw.analog.netlist`: the synaptic current of
synapse ``<tag>`` enters ``vm`` through the zero-volt source ``VISYN_<TAG>``
(``i(visyn_<tag>)`` > 0 into ``vm``); single-neuron netlists use tags ``e``
and ``i``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lifhw.analog import netlist as nl
from lifhw.analog.params import CircuitSection
from lifhw.errors import ParamError
from lifhw.registry import Registry
from lifhw.stimulus import Stimulus

#: Sign name -> sign of its weights.
SIGNS = {"exc": 1.0, "inh": -1.0}
SIGN_WORDS = {"exc": "excitatory", "inh": "inhibitory"}
#: Current represented by 1 V on a behavioural synapse state node (A).
I_UNIT = 1e-12
#: Normalised capacitor of the behavioural state node (F).
STATE_CAP_F = 1e-9
#: Edge time (s) of the PWL event pulses (the pulse area stays exactly t_p).
PULSE_EDGE_S = 1e-9
#: Most branches one single-neuron stimulus may need (distinct weights x overlaps).
MAX_STIMULUS_BRANCHES = 64


@dataclass(frozen=True)
class Branch:
    """One weight branch of a synapse circuit.

    Args:
        pulse: Node carrying the input event pulses (0 V, or the circuit's pulse
            level while an event is on).
        weight: Current jump per event (A); positive excitatory, negative inhibitory.
        name: Suffix of the branch's device names (unique within its synapse).
    """

    pulse: str
    weight: float
    name: str


@dataclass(frozen=True)
class SynapseCircuit:
    """What the netlist builders need to know about one synapse circuit.

    Args:
        name: Registry name (``AnalogTopology.synapses`` entries).
        summary: One line for listings and docs.
        lines: ``(tag, sign, circuit, branches, membrane) -> netlist lines`` of one
            synapse (``sign`` ``"exc"``/``"inh"``) feeding node ``membrane``
            through ``VISYN_<tag>``.
        weight_range: ``(circuit, sign) -> (smallest, largest) |w|`` (A) it realises.
        pulse_width: ``circuit -> t_p`` (s), from the topology's options table.
        pulse_level: ``circuit -> V`` of a branch's pulse node during an event.
        save: ``tag -> vectors`` worth saving for this synapse.
        pulse_idle: ``circuit -> V`` of a pulse node between events (0 V; the
            supply for active-low switches).
        size: ``(circuit, weights) -> (option changes, refusals)``: the sizing of
            ``lifhw design`` for the spec's weights (A per sign; capacitor, bias
            and pulse width) and the requirements it cannot meet, with numbers;
            None where the synapse is not designable.
        design: ``(name, circuit, *, weights, run) -> (circuit, characterisation)``:
            trims from simulation (``run``: netlist texts -> outputs), e.g.
            :func:`lifhw.analog.sky130_synapse.design_synapse`.
        trims: ``circuit -> {setting: value}`` (SI, JSON-ready) of the design.
        characterise: ``(name, circuit, *, weights, run) -> characterisation`` with
            ``tau_s``, ``jump_per_weight``, ``rest_current_a`` per sign and a
            ``summary()`` (the measurement ``design`` trims on).
    """

    name: str
    summary: str
    lines: Callable[[str, str, CircuitSection, Sequence[Branch], str], list[str]]
    weight_range: Callable[[CircuitSection, str], tuple[float, float]]
    pulse_width: Callable[[CircuitSection], float]
    pulse_level: Callable[[CircuitSection], float]
    save: Callable[[str], tuple[str, ...]]
    pulse_idle: Callable[[CircuitSection], float] = lambda circuit: 0.0
    size: Callable[[CircuitSection, Mapping[str, float]],
                   tuple[dict[str, float], list[str]]] | None = None
    design: Callable[..., tuple[CircuitSection, Any]] | None = None
    trims: Callable[[CircuitSection], dict[str, float]] | None = None
    characterise: Callable[..., Any] | None = None


#: Synapse-circuit name -> record (``"module:attr"``, imported on first use).
SYNAPSES: Registry[SynapseCircuit] = Registry("synapse circuit")
SYNAPSES.add("dpi_behavioral", "lifhw.analog.synapse:BEHAVIORAL_DPI")
SYNAPSES.add("gmc_sky130", "lifhw.analog.sky130_synapse:SKY130_GMC")
SYNAPSES.add("gmc_sky130_lp", "lifhw.analog.sky130_lp_synapse:SKY130_LP_GMC")


def tau_of(circuit: CircuitSection, sign: str) -> float:
    """``tau_syn_exc`` or ``tau_syn_inh`` (s) of ``circuit``."""
    return circuit.tau_syn_exc if sign == "exc" else circuit.tau_syn_inh


def synapse_circuit(circuit: CircuitSection) -> SynapseCircuit:
    """The synapse circuit of ``circuit``'s topology.

    Raises:
        ParamError: The topology has no synapse circuit.
    """
    from lifhw.analog.topology import get_topology

    record = get_topology(circuit.topology)
    if not record.synapses:
        raise ParamError(f"topology {circuit.topology!r} has no synapse circuit: it takes "
                         "currents only (stimulus kinds constant, step, pulses, file)",
                         path="stimulus.kind")
    return SYNAPSES.get(record.synapses[0])


def check_weights(circuit: CircuitSection, weights: np.ndarray, *, path: str,
                  where: str = "") -> None:
    """Check that every non-zero weight (A) has a synapse of its sign within range.

    Raises:
        ParamError: A sign without synapse (its ``tau_syn_*`` is 0, or the topology
            has none), or a weight outside the circuit's range.
    """
    weights = np.asarray(weights, dtype=float)
    if not np.any(weights):
        return
    syn = synapse_circuit(circuit)
    suffix = f" ({where})" if where else ""
    for sign, factor in SIGNS.items():
        mine = weights[weights * factor > 0]
        if not mine.size:
            continue
        key = f"tau_syn_{sign}"
        if tau_of(circuit, sign) <= 0:
            raise ParamError(
                f"{SIGN_WORDS[sign]} input spikes{suffix} but the neuron has no "
                f"{SIGN_WORDS[sign]} synapse: set [circuit] {key} > 0 s", path=f"circuit.{key}")
        low, high = syn.weight_range(circuit, sign)
        size = np.abs(mine)
        bad = size[(size < low) | (size > high)]
        if bad.size:
            raise ParamError(
                f"{SIGN_WORDS[sign]} weight {factor * bad[0]:.4g} A{suffix} is outside the "
                f"range of the {syn.name} synapse, |w| in [{low:.3g}, {high:.3g}] A",
                path=path)


def check_stimulus(circuit: CircuitSection, stimulus: Stimulus) -> None:
    """Input spikes of ``stimulus`` must have synapses of their sign, in range.

    Raises:
        ParamError: See :func:`check_weights`; ``path`` names the stimulus field.
    """
    if stimulus.kind not in ("spikes", "poisson"):
        return
    _, weights = stimulus.input_spikes()
    if stimulus.kind == "poisson":
        weights = np.array([stimulus.weight])
        path = "stimulus.weight"
    else:
        path = "stimulus.spike_weights"
    if not np.any(weights):
        return
    synapse_circuit(circuit)
    check_weights(circuit, weights, path=path)


def assign_branches(times: np.ndarray, weights: np.ndarray, width: float
                    ) -> list[tuple[float, np.ndarray]]:
    """Split input spikes into branches of one weight whose pulses never overlap.

    A branch is one weight current switched by one pulse train; two events on
    one branch closer than ``width`` (plus the PWL edges) would merge into one
    longer pulse, so such an event goes to another branch of the same weight.

    Returns:
        ``(weight, sorted times)`` per branch; zero weights are dropped.
    """
    out: list[tuple[float, list[float]]] = []
    guard = width + 2 * PULSE_EDGE_S
    order = np.argsort(times, kind="stable")
    for t, w in zip(np.asarray(times)[order], np.asarray(weights)[order], strict=True):
        if w == 0:
            continue
        for weight, branch in out:
            if weight == w and t - branch[-1] >= guard:
                branch.append(float(t))
                break
        else:
            out.append((float(w), [float(t)]))
    return [(w, np.array(ts)) for w, ts in out]


def pulse_source_lines(source: str, node: str, times: Sequence[float] | np.ndarray,
                       width: float,
                       level: float, idle: float = 0.0) -> list[str]:
    """A PWL voltage source ``<source> <node> 0`` at ``idle``, going to ``level``
    for ``width`` at each time (s); the ramps of :data:`PULSE_EDGE_S` keep each
    pulse's area ``(level - idle) * width``. Times must be sorted and at least
    ``width`` apart."""
    n = nl.spice_number
    rest = n(idle)
    points = [f"0 {rest}"]
    for t in times:
        start = max(float(t), 2 * PULSE_EDGE_S)
        points += [f"{n(start)} {rest}", f"{n(start + PULSE_EDGE_S)} {n(level)}",
                   f"{n(start + width)} {n(level)}",
                   f"{n(start + width + PULSE_EDGE_S)} {rest}"]
    lines = [f"{nl.safe_name(source)} {nl.safe_name(node)} 0 PWL("]
    for k in range(0, len(points), 4):
        lines.append("+ " + " ".join(points[k:k + 4]))
    lines.append("+ )")
    return lines


def stimulus_synapse_lines(circuit: CircuitSection, stimulus: Stimulus,
                           membrane: str = "vm") -> tuple[list[str], tuple[str, ...]]:
    """Synapse circuits of a single neuron and the event sources of its stimulus.

    Every synapse the neuron has (``tau_syn_* > 0``) is part of its circuit, with
    or without input events (its bias and rest currents belong to the neuron
    that characterisation measures); a stimulus's input spikes become event
    sources on weight branches (:func:`assign_branches`).

    Returns:
        ``(lines, vectors to save)``; both empty for a neuron without synapses.

    Raises:
        ParamError: See :func:`check_stimulus`; too many branches.
    """
    check_stimulus(circuit, stimulus)
    if not circuit.synapse_signs:
        return [], ()
    from lifhw.analog.topology import get_topology

    if not get_topology(circuit.topology).synapses:
        return [], ()
    times, weights = stimulus.input_spikes()
    syn = synapse_circuit(circuit)
    width = syn.pulse_width(circuit)
    level, idle = syn.pulse_level(circuit), syn.pulse_idle(circuit)
    keep = times < stimulus.t_stop - width
    lines: list[str] = []
    save: list[str] = []
    for sign, factor in SIGNS.items():
        if tau_of(circuit, sign) <= 0:
            continue
        mine = (weights * factor > 0) & keep
        groups = assign_branches(times[mine], weights[mine], width)
        if len(groups) > MAX_STIMULUS_BRANCHES:
            raise ParamError(
                f"the {SIGN_WORDS[sign]} input needs {len(groups)} weight branches (distinct "
                f"weights, or events closer than the {width:g} s pulse); at most "
                f"{MAX_STIMULUS_BRANCHES}", path="stimulus.spike_weights")
        tag = sign[0]
        branches = []
        lines.append(f"* {SIGN_WORDS[sign]} input events: one pulse source per weight branch")
        for k, (w, ts) in enumerate(groups):
            node = f"p{tag}{k}"
            lines += pulse_source_lines(f"VP{tag.upper()}{k}", node, ts, width, level, idle)
            branches.append(Branch(pulse=node, weight=w, name=str(k)))
        lines += syn.lines(tag, sign, circuit, branches, membrane)
        save += syn.save(tag)
    return lines, tuple(save)


def neuron_synapse_parts(circuit: CircuitSection, stimulus: Stimulus, step: float,
                         max_step: float | None) -> tuple[list[str], tuple[str, ...], float]:
    """What a single-neuron generator adds for its synapses.

    Returns:
        ``(lines, vectors to save, max step)`` (:func:`stimulus_synapse_lines`); the
        step is limited to a quarter of the event pulse when input events drive the
        synapses and the caller gave no ``max_step``.
    """
    lines, save = stimulus_synapse_lines(circuit, stimulus)
    if lines and stimulus.kind in ("spikes", "poisson") and max_step is None:
        step = min(step, synapse_circuit(circuit).pulse_width(circuit) / 4.0)
    return lines, save, step


# ---------------------------------------------------------------------------
# dpi_behavioral: the DPI's linear-regime equation in linear elements
# ---------------------------------------------------------------------------


def behavioral_drive(weight: float, tau: float, width: float) -> float:
    """Rate of the synaptic current (A/s) during a pulse of ``width`` (s) such
    that, ``width`` after the pulse starts, the current equals a jump ``weight``
    (A) at the pulse start decayed by ``exp(-width / tau)``:
    ``weight / (tau (exp(width / tau) - 1))``."""
    return weight / (tau * math.expm1(width / tau))


def _behavioral_lines(tag: str, sign: str, circuit: CircuitSection,
                      branches: Sequence[Branch], membrane: str) -> list[str]:
    n = nl.spice_number
    tau = tau_of(circuit, sign)
    width = circuit.behavioral.synapse_pulse_width
    state = f"syn_{tag}"
    lines = [
        f"* {SIGN_WORDS[sign]} synapse {tag}: DPI linear regime, tau_syn={n(tau)} s, "
        f"event pulse {n(width)} s; state 1 V = {n(I_UNIT)} A",
        f"CSYN_{tag} {state} 0 {n(STATE_CAP_F)}",
        f"RSYN_{tag} {state} 0 {n(tau / STATE_CAP_F)}",
    ]
    for branch in branches:
        # Pulse level 1 V: transconductance = C_state * drive / I_UNIT per volt.
        gain = STATE_CAP_F * behavioral_drive(branch.weight, tau, width) / I_UNIT
        lines.append(f"GW_{tag}_{branch.name} 0 {state} {nl.safe_name(branch.pulse)} 0 "
                     f"{n(gain)}")
    lines += [
        f"GSYN_{tag} 0 isyn_{tag} {state} 0 {n(I_UNIT)}",
        f"VISYN_{tag.upper()} isyn_{tag} {nl.safe_name(membrane)} 0",
    ]
    return lines


def _behavioral_range(circuit: CircuitSection, sign: str) -> tuple[float, float]:
    # One event deposits the charge |w| tau_syn; more than the supply's worth on the
    # membrane capacitor is not a synapse any more.
    tau = tau_of(circuit, sign)
    high = circuit.supply * circuit.membrane_capacitance / tau if tau > 0 else 0.0
    return 0.0, high


#: The behavioural synapse (registered as ``dpi_behavioral``).
BEHAVIORAL_DPI = SynapseCircuit(
    name="dpi_behavioral",
    summary="DPI linear regime as a linear first-order low pass (exact golden jump)",
    lines=_behavioral_lines,
    weight_range=_behavioral_range,
    pulse_width=lambda circuit: circuit.behavioral.synapse_pulse_width,
    pulse_level=lambda circuit: 1.0,
    save=lambda tag: (f"i(visyn_{tag})",),
)
