r"""Transistor-level synapse for the sky130 neuron: a subthreshold Gm-C low pass.

::

     CHARGE PUMP (per branch)         SYNAPSE NODE            OUTPUT TRANSCONDUCTOR
     vdd                              vsyn                    (5T OTA, output into vm)
      |                                |
     MW ]|-- vw (mirror of I_w)       C_syn    LEAK: 5T OTA     exc: out-of-vm current
      |                                |       follower to V_L    I_o tanh(k (v_r - v_s)/2U_T)
      xw --+-- MWS (pfet, gate pulse) -+       (tail I_lk)      inh: I_o tanh(k (v_s - v_r)/2U_T)
           +-- MWD (nfet, gate pulse) -- V_L   REPLICA follower v_r -> V_L + trim

The state is the voltage ``v_s`` of ``C_syn`` above ``V_L``. An input event
steers the weight current ``I_w`` onto ``C_syn`` for the pulse width ``t_p`` (the
pulse is active low; between events ``I_w`` flows into the ``V_L`` reference)
(``v_s`` jumps by ``I_w t_p / C_syn``); a follower OTA with tail ``I_lk`` pulls
it back to ``V_L`` with ``tau_syn = C_syn 2 U_T / (kappa I_lk)``; a second OTA
(tail ``I_o``) converts it to the synaptic current ``g_o (v_s - V_L)``,
``g_o = kappa I_o / 2 U_T``, into ``vm`` (excitatory) or out of it (inhibitory:
the same circuit with the transconductor's inputs swapped). In its linear
range (``|v_s - V_L| << 2 U_T / kappa``) this is the first-order low pass of
the DPI (Bartolozzi & Indiveri 2007, see :mod:`lifhw.analog.synapse`):

    tau_syn dI_syn/dt = -I_syn + (g_o tau_syn / C_syn) I_w(t),   jump w = g_o I_w t_p / C_syn

It is built from the same 5-transistor OTA as the neuron's leak (Mead 1989),
not from the log-domain DPI: in sky130 the DPI's translinear loop mixes nfet
and pfet slope factors (its jump then grows as ``I_syn^(1 - kappa_n/kappa_p)``)
or needs its pair above the supply, which this Gm-C form avoids. The
nonlinearity is the OTAs' tanh: 0.6 % at a 10 mV state excursion.

Sizing (:func:`nominal_biases`) uses the file's kappa; the realised tau_syn and
jump per ampere of ``I_w`` are measured on the circuit by
:func:`characterise_synapse` and trimmed by :func:`design_synapse`, which
returns the ``[circuit]`` with ``synapse_leak_current_*`` and
``synapse_weight_scale_*`` set so that tau_syn and the PSP meet the spec.

Every bias is an ideal current source drawn from ``VDD`` (as the neuron's), so
the synapse's static power is in the supply current.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lifhw.analog import devices as dv
from lifhw.analog import netlist as nl
from lifhw.analog import synapse as syn
from lifhw.analog.params import CircuitSection

NFET = "sky130_fd_pr__nfet_01v8"
PFET = "sky130_fd_pr__pfet_01v8"

#: Largest state excursion (V) a single event may cause: 0.3 of the OTA's linear
#: range 2U_T/kappa keeps the tanh within 3 % of linear.
MAX_JUMP_FRACTION = 0.3
#: Smallest weight current (A) a mirror realises above the switch leakage.
MIN_WEIGHT_CURRENT_A = 1e-15


@dataclass(frozen=True)
class Biases:
    """Bias currents of one synapse (A)."""

    leak: float
    output: float
    weight_per_ampere: float  # I_w per ampere of weight (A/A)


def options(circuit: CircuitSection) -> Any:
    """The options table of ``circuit``'s topology (``circuit.sky130`` or
    ``circuit.sky130_lp``): both name the synapse fields alike
    (``synapse_capacitance``, ``synapse_output_current``, ...)."""
    from lifhw.analog.topology import get_topology

    table = get_topology(circuit.topology).options
    if table is None or not hasattr(getattr(circuit, table), "synapse_capacitance"):
        raise ValueError(f"topology {circuit.topology!r} has no Gm-C synapse options")
    return getattr(circuit, table)


def with_options(circuit: CircuitSection, **changes: Any) -> CircuitSection:
    """``circuit`` with fields of its topology's options table changed."""
    from lifhw.analog.topology import get_topology

    table = get_topology(circuit.topology).options
    assert table is not None
    return dataclasses.replace(
        circuit, **{table: dataclasses.replace(getattr(circuit, table), **changes)})


def nominal_biases(circuit: CircuitSection, sign: str) -> Biases:
    """Bias currents from the closed forms (the file's kappa; trims applied).

    ``I_lk = 2 U_T C_syn / (kappa tau_syn)`` unless ``synapse_leak_current_<sign>``
    is set; ``I_w = w C_syn / (g_o t_p)`` times ``synapse_weight_scale_<sign>``.
    """
    o = options(circuit)
    tau = syn.tau_of(circuit, sign)
    u_t = circuit.thermal_voltage
    given = o.synapse_leak_current_exc if sign == "exc" else o.synapse_leak_current_inh
    leak = given if given > 0 else 2.0 * u_t * o.synapse_capacitance / (circuit.kappa * tau)
    g_o = circuit.kappa * o.synapse_output_current / (2.0 * u_t)
    scale = o.synapse_weight_scale_exc if sign == "exc" else o.synapse_weight_scale_inh
    per_ampere = scale * o.synapse_capacitance / (g_o * o.synapse_pulse_width)
    return Biases(leak=leak, output=o.synapse_output_current, weight_per_ampere=per_ampere)


def weight_range(circuit: CircuitSection, sign: str) -> tuple[float, float]:
    """``|w|`` (A) the synapse realises: a jump of at most :data:`MAX_JUMP_FRACTION`
    of the linear range, and a weight current above :data:`MIN_WEIGHT_CURRENT_A`."""
    if syn.tau_of(circuit, sign) <= 0:
        return 0.0, 0.0
    b = nominal_biases(circuit, sign)
    g_o = circuit.kappa * b.output / (2.0 * circuit.thermal_voltage)
    high = g_o * MAX_JUMP_FRACTION * circuit.linear_range
    return MIN_WEIGHT_CURRENT_A / b.weight_per_ampere, high


def _fet(name: str, kind: str, d: str, g: str, s: str, b: str, w: float, l: float,
         m: int = 1) -> dv.Device:
    return dv.Device(f"M{name}", kind, (d, g, s, b), model=NFET if kind == "nfet" else PFET,
                     w=w, l=l, multiplier=m)


def _ota(prefix: str, plus: str, minus: str, out: str, bias_node: str,
         circuit: CircuitSection, *, supply: str = "vdd", tail: int = 1
         ) -> tuple[dv.Device, ...]:
    """5T OTA; current *out of* ``out`` = I tanh(kappa (v(plus) - v(minus)) / 2U_T).

    ``plus`` drives the output-side input device, ``minus`` the diode side; the
    tail is ``tail`` parallel copies of the bias diode's device."""
    o = options(circuit)
    mw, ml = o.mirror_w, o.mirror_l
    return (
        _fet(f"{prefix}T", "nfet", f"t{prefix}", bias_node, "0", "0", mw, ml, tail),
        _fet(f"{prefix}1", "nfet", f"a{prefix}", minus, f"t{prefix}", "0", o.synapse_ota_w,
             o.synapse_ota_l),
        _fet(f"{prefix}2", "nfet", out, plus, f"t{prefix}", "0", o.synapse_ota_w,
             o.synapse_ota_l),
        _fet(f"{prefix}3", "pfet", f"a{prefix}", f"a{prefix}", supply, supply, mw, ml),
        _fet(f"{prefix}4", "pfet", out, f"a{prefix}", supply, supply, mw, ml),
    )


def synapse_blocks(tag: str, sign: str, circuit: CircuitSection,
                   branches: Sequence[syn.Branch], membrane: str) -> tuple[dv.Block, ...]:
    """Device records of one synapse (nodes suffixed by ``tag``)."""
    return gmc_blocks(tag, sign, circuit, branches, membrane)


def gmc_blocks(tag: str, sign: str, circuit: CircuitSection, branches: Sequence[syn.Branch],
               membrane: str, *, supply: str = "vdd", reference_ratio: int = 1,
               gated: bool = False, gate_length: float = 1e-6) -> tuple[dv.Block, ...]:
    """Device records of one Gm-C synapse (nodes suffixed by ``tag``).

    Args:
        supply: Node every bias branch and load draws from (``vdd``, or a
            per-synapse ammeter node).
        reference_ratio: Each bias reference diode carries ``1/reference_ratio`` of
            the tail it sets (the tails are that many parallel copies).
        gated: The weight current flows only during an event (a pfet in the source
            of the pump's mirror output, on while the pulse is low) instead of being
            steered into ``V_L`` between events; the reference diode of each weight
            branch carries ``I_w / reference_ratio`` all the time.
    """
    o = options(circuit)
    b = nominal_biases(circuit, sign)
    t = tag
    r = reference_ratio
    state = f"vsyn_{t}"
    mw, ml = o.mirror_w, o.mirror_l
    out = f"isyn_{t}"
    # The transconductor compares v_s with a replica follower (same OTA, same tail,
    # no pump) rather than with V_L: the follower's systematic offset (~15 mV in tt
    # from the unequal drain voltages of its pair) then cancels. The replica follows
    # V_L + trim, which cancels the transconductor's own offset (design_synapse).
    ref = f"vref_{t}"
    # Excitatory: current into vm when v_s > ref, i.e. out of vm ~ tanh(ref - v_s).
    plus, minus = (ref, state) if sign == "exc" else (state, ref)
    trim = o.synapse_offset_trim_exc if sign == "exc" else o.synapse_offset_trim_inh
    bias = (
        dv.Device(f"VSR_{t}", "vdc", (f"vsr_{t}", "0"), value=circuit.v_rest + trim),
        dv.Device(f"ILK_{t}", "idc", (supply, f"nlk_{t}"), value=b.leak / r),
        dv.Device(f"IOB_{t}", "idc", (supply, f"nob_{t}"), value=b.output / r),
        _fet(f"LKB_{t}", "nfet", f"nlk_{t}", f"nlk_{t}", "0", "0", mw, ml),
        _fet(f"OBB_{t}", "nfet", f"nob_{t}", f"nob_{t}", "0", "0", mw, ml),
    )
    pumps: list[dv.Device] = []
    for br in branches:
        k = f"{t}_{br.name}"
        pulse = nl.safe_name(br.pulse)
        # Current steering: into the state during an event (switch WS on) and into
        # the V_L reference otherwise (nfet WD on), so the off switch sees ~0 V and
        # leaks nothing onto C_syn.
        weight_ref = (
            dv.Device(f"IW_{k}", "idc", (f"vw_{k}", "0"),
                      value=abs(br.weight) * b.weight_per_ampere / r),
            _fet(f"WB_{k}", "pfet", f"vw_{k}", f"vw_{k}", supply, supply, mw, ml),
        )
        hold = _fet(f"WD_{k}", "nfet", "vl", pulse, f"xw_{k}", "0",
                    o.synapse_switch_w, o.synapse_switch_l)
        if not gated:
            pumps += [
                *weight_ref,
                _fet(f"W_{k}", "pfet", f"xw_{k}", f"vw_{k}", supply, supply, mw, ml),
                _fet(f"WS_{k}", "pfet", state, pulse, f"xw_{k}", f"xw_{k}",
                     o.synapse_switch_w, o.synapse_switch_l),
                hold,
            ]
            continue
        # Gated: WG (on while the pulse is low) feeds the mirror output only during
        # an event; the state switch is an nfet driven by the inverted pulse, which
        # conducts with the pump node at the state's level (a pfet switch would need
        # the node ~0.2 V above it at a 0.3 V V_L, charge that the node dumps into V_L
        # after every event).
        inverse = f"pb_{k}"
        pumps += [
            *weight_ref,
            _fet(f"WIP_{k}", "pfet", inverse, pulse, supply, supply,
                 o.synapse_switch_w, gate_length),
            _fet(f"WIN_{k}", "nfet", inverse, pulse, "0", "0", o.synapse_switch_w, gate_length),
            _fet(f"WG_{k}", "pfet", f"sw_{k}", pulse, supply, supply,
                 o.synapse_switch_w, gate_length),
            _fet(f"W_{k}", "pfet", f"xw_{k}", f"vw_{k}", f"sw_{k}", supply, mw, ml, r),
            _fet(f"WS_{k}", "nfet", state, inverse, f"xw_{k}", "0",
                 o.synapse_switch_w, o.synapse_switch_l),
            hold,
        ]
    cap: dv.Device
    if o.capacitor == "mim":
        from lifhw.analog import models

        cap = dv.mim(f"CSYN_{t}", state, "0", o.synapse_capacitance, models.MIM_CAPACITOR)
    else:
        cap = dv.Device(f"CSYN_{t}", "capacitor", (state, "0"), value=o.synapse_capacitance)
    where = "VDD" if supply == "vdd" else supply
    return (
        dv.Block(f"{syn.SIGN_WORDS[sign]} synapse {t}: bias references (drawn from {where})",
                 bias),
        dv.Block(f"synapse {t}: state capacitor, leak follower to V_L and its replica "
                 f"(tau_syn = {nl.spice_number(syn.tau_of(circuit, sign))} s)",
                 (cap, *_ota(f"LK{t}", state, "vl", state, f"nlk_{t}", circuit,
                             supply=supply, tail=r),
                  *_ota(f"RF{t}", ref, f"vsr_{t}", ref, f"nlk_{t}", circuit,
                        supply=supply, tail=r))),
        dv.Block(f"synapse {t}: transconductor into {membrane}",
                 _ota(f"OT{t}", plus, minus, out, f"nob_{t}", circuit, supply=supply,
                      tail=r)),
        dv.Block(f"synapse {t}: charge pumps, one per weight branch (switch active low"
                 + ("; weight current only during the event)" if gated else ")"),
                 tuple(pumps)),
        dv.Block(f"synapse {t}: synaptic current into {membrane}",
                 (dv.Device(f"VISYN_{t.upper()}", "vdc", (out, membrane), value=0.0),)),
    )


def synapse_lines(tag: str, sign: str, circuit: CircuitSection,
                  branches: Sequence[syn.Branch], membrane: str) -> list[str]:
    """Netlist lines of one synapse (:func:`synapse_blocks` rendered)."""
    return dv.render_blocks(synapse_blocks(tag, sign, circuit, branches, membrane))


@dataclass(frozen=True)
class SynapseCharacterisation:
    """Measured on the circuit: decay time constant and jump per weight, per sign.

    ``static_power_w`` and ``energy_per_event_j`` are filled where the synapse
    draws its supply through its own ammeter ``VASYN_<tag>`` (sky130_lp): the
    supply power before the event, and the supply energy of one event above it.
    """

    tau_s: dict[str, float]
    jump_per_weight: dict[str, float]   # realised jump / requested weight
    weight_a: dict[str, float]
    rest_current_a: dict[str, float]    # into vm at V_L without events
    static_power_w: dict[str, float] = dataclasses.field(default_factory=dict)
    energy_per_event_j: dict[str, float] = dataclasses.field(default_factory=dict)
    #: Charge per event / (weight x measured tau_syn): the jump of the golden synapse
    #: that decays alike and delivers the same charge into vm (the fitted jump
    #: ``jump_per_weight`` misses the charge lost while the transconductor settles).
    charge_per_weight: dict[str, float] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out = {"tau_syn_s": dict(self.tau_s), "jump_per_weight": dict(self.jump_per_weight),
               "charge_per_weight": dict(self.charge_per_weight),
               "weight_a": dict(self.weight_a), "rest_current_a": dict(self.rest_current_a)}
        if self.static_power_w:
            out["static_power_w"] = dict(self.static_power_w)
            out["energy_per_event_j"] = dict(self.energy_per_event_j)
        return out


#: Time of the test event of :func:`characterise_synapse` (s).
TEST_EVENT_S = 2e-3


def characterisation_netlist(name: str, circuit: CircuitSection, sign: str, weight: float
                             ) -> str:
    """One event of ``|weight|`` (A) on the ``sign`` synapse with ``vm`` held at ``V_L``
    (an ideal source replaces the stimulus), ``5 tau_syn`` long."""
    from lifhw.stimulus import Stimulus

    tau = syn.tau_of(circuit, sign)
    stim = Stimulus(kind="spikes", spike_times=(TEST_EVENT_S,),
                    spike_weights=(syn.SIGNS[sign] * abs(weight),),
                    t_stop=TEST_EVENT_S + 5 * tau, dt=tau / 200)
    text = nl.generate(name, circuit, stim, max_step=min(tau / 400,
                       options(circuit).synapse_pulse_width / 10))
    return nl.replace_block(text, nl.STIMULUS_BEGIN, nl.STIMULUS_END,
                            [f"VFORCE vm 0 DC {nl.spice_number(circuit.v_rest)}"])


def characterise_synapse(name: str, circuit: CircuitSection, *, weight: float | None = None,
                         weights: Mapping[str, float] | None = None, config: Any = None,
                         run: Callable[[list[str]], list[Any]] | None = None
                         ) -> SynapseCharacterisation:
    """One event per sign with ``vm`` held at ``V_L``: decay tau and jump of
    ``i(visyn_*)`` (the jump is ``A`` of ``A exp(-(t - t_0)/tau)`` fitted from 0.2
    to 3 tau after the event, the golden current synapse that decays alike).

    Args:
        weight: |w| (A) of the test event; default a third of the largest weight.
        weights: |w| (A) per sign (``"exc"``/``"inh"``), over ``weight``.
        config: Run configuration of the default runner.
        run: Netlist texts -> outputs (e.g. the cached, parallel runner of
            ``lifhw design``); default one batch ngspice run after another.
    """
    from lifhw.analog.flow import fit_event_response

    if run is None:
        from lifhw.analog.backends import default_config, get_backend

        backend = get_backend("batch", default_config(circuit, config))

        def run(texts: list[str]) -> list[Any]:
            return [backend.run(text) for text in texts]

    signs = [sign for sign in syn.SIGNS if syn.tau_of(circuit, sign) > 0]
    chosen = {}
    for sign in signs:
        given = (weights or {}).get(sign)
        chosen[sign] = abs(given if given is not None else weight if weight is not None
                           else weight_range(circuit, sign)[1] / 3.0)
    outs = run([characterisation_netlist(name, circuit, sign, chosen[sign])
                for sign in signs])
    taus, ratios, rests, static, energy, charges = {}, {}, {}, {}, {}, {}
    t0 = TEST_EVENT_S
    for sign, out in zip(signs, outs, strict=True):
        factor = syn.SIGNS[sign]
        tau = syn.tau_of(circuit, sign)
        t = np.asarray(out["time"])
        i = np.asarray(out[f"i(visyn_{sign[0]})"])
        base = float(np.interp(t0 - 1e-4, t, i))
        jump, taus[sign] = fit_event_response(t, factor * (i - base), t0, tau)
        ratios[sign] = jump / chosen[sign]
        rests[sign] = base
        # Charge of the event: the response to the end of the run plus the fitted
        # exponential's tail beyond it (e^-5 of the total).
        after = t >= t0
        charge = float(np.trapezoid(factor * (i[after] - base), t[after]))
        charge += jump * taus[sign] * math.exp(-(t[-1] - t0) / taus[sign])
        charges[sign] = charge / (chosen[sign] * taus[sign])
        key = f"i(vasyn_{sign[0]})"
        if key in out:
            # The ammeter's current flows from vdd into the synapse (positive).
            supply = np.asarray(out[key])
            before = (t >= 0.25 * t0) & (t <= t0 - 1e-5)
            idle = float(np.mean(supply[before])) if before.sum() > 2 else math.nan
            static[sign] = circuit.supply * idle
            window = (t >= t0 - 1e-5) & (t <= t0 + 10 * options(circuit).synapse_pulse_width)
            energy[sign] = circuit.supply * float(
                np.trapezoid(supply[window] - idle, t[window]))
    return SynapseCharacterisation(tau_s=taus, jump_per_weight=ratios, weight_a=chosen,
                                   rest_current_a=rests, static_power_w=static,
                                   energy_per_event_j=energy, charge_per_weight=charges)


#: Stop trimming when tau_syn and the jump are this close to the spec (relative) and
#: the rest current below REST_TARGET of the test weight.
TRIM_TARGET = 0.01
REST_TARGET = 0.02


def synapse_trimmed(ch: SynapseCharacterisation, circuit: CircuitSection) -> bool:
    """Whether ``ch`` meets the trim targets (tau_syn, jump, rest current)."""
    return all(abs(ch.tau_s[s] / syn.tau_of(circuit, s) - 1.0) <= TRIM_TARGET
               and abs(ch.charge_per_weight[s] - 1.0) <= TRIM_TARGET
               and abs(ch.rest_current_a[s]) <= REST_TARGET * ch.weight_a[s]
               for s in ch.tau_s)


def design_synapse(name: str, circuit: CircuitSection, *, iterations: int = 2,
                   config: Any = None, weights: Mapping[str, float] | None = None,
                   run: Callable[[list[str]], list[Any]] | None = None
                   ) -> tuple[CircuitSection, SynapseCharacterisation]:
    """Trim offset, leak and weight currents until rest current, tau_syn and jump
    meet the spec.

    tau_syn scales as ``1 / I_lk`` and the jump as ``I_w``, so each iteration
    multiplies ``synapse_leak_current_*`` by ``tau_measured / tau_spec`` and
    ``synapse_weight_scale_*`` by ``1 / (jump / w)`` (the jump that carries the
    event's measured charge, ``charge_per_weight``: a train of events then drives
    ``vm`` with the golden's mean current), and moves the
    transconductor's reference by ``-/+ I_rest / g_o`` (all measured with
    :func:`characterise_synapse`). Stops early once the targets
    (:func:`synapse_trimmed`) are met.

    Args:
        iterations: Most trim steps.
        config: Run configuration of the default runner.
        weights: Test weight |w| (A) per sign (default a third of the largest).
        run: Netlist runner (see :func:`characterise_synapse`).

    Returns:
        The trimmed ``[circuit]`` and the characterisation of the last design.
    """
    current = circuit
    for _ in range(iterations):
        ch = characterise_synapse(name, current, config=config, weights=weights, run=run)
        if synapse_trimmed(ch, current):
            return current, ch
        changes: dict[str, Any] = {}
        o = options(current)
        for sign in ch.tau_s:
            if not (math.isfinite(ch.tau_s[sign]) and math.isfinite(ch.charge_per_weight[sign])
                    and ch.charge_per_weight[sign] > 0):
                from lifhw.errors import SimulationError

                raise SimulationError(f"the {syn.SIGN_WORDS[sign]} synapse gave no "
                                      "decaying response to its test event")
            leak = nominal_biases(current, sign).leak
            scale = (o.synapse_weight_scale_exc if sign == "exc"
                     else o.synapse_weight_scale_inh)
            changes[f"synapse_leak_current_{sign}"] = leak * ch.tau_s[sign] / syn.tau_of(
                current, sign)
            changes[f"synapse_weight_scale_{sign}"] = scale / ch.charge_per_weight[sign]
            # Rest current into vm: move the reference against it (g_o nominal).
            g_o = current.kappa * o.synapse_output_current / (2.0 * current.thermal_voltage)
            trim = (o.synapse_offset_trim_exc if sign == "exc"
                    else o.synapse_offset_trim_inh)
            changes[f"synapse_offset_trim_{sign}"] = (trim + syn.SIGNS[sign]
                                                      * ch.rest_current_a[sign] / g_o)
        current = with_options(current, **changes)
    return current, characterise_synapse(name, current, config=config, weights=weights,
                                         run=run)


#: Sizing rules of :func:`size_synapse` (``lifhw design``).
#: The spec's weight sits at most at this fraction of the largest realisable weight
#: (``0.3 I_o``): the state step stays within 0.15 of the OTA linear range.
WEIGHT_HEADROOM = 0.5
#: Largest transconductor tail (A): above it the 0.5 x 1 um pair leaves weak inversion
#: (sky130 nfet specific current ~0.2 uA at W/L = 0.5) and g_o stops following I_o.
MAX_OUTPUT_CURRENT_A = 10e-9
#: Smallest leak tail (A) the sizing allows; the capacitor grows instead (0.6 pA was
#: measured to give tau_syn within 1 % on sky130_lp, tau_syn = 10 ms, 100 fF).
MIN_LEAK_CURRENT_A = 0.5e-12
#: Largest state capacitor (F) the sizing draws (area).
MAX_SYNAPSE_CAPACITANCE_F = 10e-12
#: Longest event pulse, as a fraction of tau_syn: the golden synapse jumps at once.
PULSE_FRACTION = 0.05


def size_synapse(circuit: CircuitSection, weights: Mapping[str, float]
                 ) -> tuple[dict[str, float], list[str]]:
    """Capacitor, transconductor tail and event pulse for the spec's weights.

    ``synapse_output_current = max(default, |w| / (WEIGHT_HEADROOM 0.3))`` (largest
    weight ``0.3 I_o``); ``synapse_capacitance`` large enough that the leak tail
    ``2 U_T C_syn / (kappa tau_syn)`` of the slower synapse stays above
    :data:`MIN_LEAK_CURRENT_A`; ``synapse_pulse_width`` at most
    ``PULSE_FRACTION tau_syn`` of the faster one (the file's value otherwise).

    Args:
        circuit: ``[circuit]`` with ``tau_syn_*`` and the options to start from.
        weights: |w| (A) per sign with a synapse.

    Returns:
        ``(option changes, refusals)``; each refusal names the requirement and the
        amount.
    """
    o = options(circuit)
    refusals: list[str] = []
    taus = [syn.tau_of(circuit, sign) for sign in weights]
    largest = max((abs(w) for w in weights.values()), default=0.0)
    output = max(o.synapse_output_current, largest / (WEIGHT_HEADROOM * MAX_JUMP_FRACTION))
    if output > MAX_OUTPUT_CURRENT_A:
        high = MAX_OUTPUT_CURRENT_A * WEIGHT_HEADROOM * MAX_JUMP_FRACTION
        refusals.append(
            f"synapse weight: {largest:.3g} A needs a transconductor tail of {output:.3g} A, "
            f"above the {MAX_OUTPUT_CURRENT_A:.3g} A where its pair leaves weak inversion "
            f"(largest weight {high:.3g} A; lower it by {largest / high:.2g}x)")
    u_t = circuit.thermal_voltage
    capacitance = max(o.synapse_capacitance,
                      MIN_LEAK_CURRENT_A * circuit.kappa * max(taus, default=0.0) / (2 * u_t))
    if capacitance > MAX_SYNAPSE_CAPACITANCE_F:
        longest = MAX_SYNAPSE_CAPACITANCE_F * 2 * u_t / (MIN_LEAK_CURRENT_A * circuit.kappa)
        refusals.append(
            f"tau_syn: {max(taus) * 1e3:.4g} ms needs a state capacitor of "
            f"{capacitance * 1e12:.3g} pF to keep the leak tail above "
            f"{MIN_LEAK_CURRENT_A * 1e12:g} pA, above the {MAX_SYNAPSE_CAPACITANCE_F * 1e12:g} "
            f"pF allowed (longest tau_syn {longest * 1e3:.3g} ms; shorten it by "
            f"{max(taus) / longest:.2g}x)")
    pulse = min(o.synapse_pulse_width, PULSE_FRACTION * min(taus, default=math.inf))
    return {"synapse_output_current": output, "synapse_capacitance": capacitance,
            "synapse_pulse_width": pulse}, refusals


def trim_settings(circuit: CircuitSection) -> dict[str, float]:
    """The synapse's design settings (SI): per sign the leak tail, the weight
    current per ampere of weight and the transconductor reference offset; the
    shared capacitor, transconductor tail and pulse width."""
    o = options(circuit)
    out: dict[str, float] = {"synapse_capacitance_f": o.synapse_capacitance,
                             "synapse_output_current_a": o.synapse_output_current,
                             "synapse_pulse_width_s": o.synapse_pulse_width}
    for sign in circuit.synapse_signs:
        b = nominal_biases(circuit, sign)
        out[f"leak_current_{sign}_a"] = b.leak
        out[f"weight_current_per_ampere_{sign}"] = b.weight_per_ampere
        out[f"offset_trim_{sign}_v"] = (o.synapse_offset_trim_exc if sign == "exc"
                                        else o.synapse_offset_trim_inh)
    return out


#: The sky130 synapse (registered as ``gmc_sky130``).
SKY130_GMC = syn.SynapseCircuit(
    name="gmc_sky130",
    summary="subthreshold Gm-C low pass: charge pump, OTA leak, OTA transconductor",
    lines=synapse_lines,
    weight_range=weight_range,
    pulse_width=lambda circuit: options(circuit).synapse_pulse_width,
    pulse_level=lambda circuit: 0.0,
    pulse_idle=lambda circuit: circuit.supply,
    save=lambda tag: (f"i(visyn_{tag})",),
    size=size_synapse,
    design=design_synapse,
    trims=trim_settings,
    characterise=characterise_synapse,
)
