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
from collections.abc import Sequence
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


def nominal_biases(circuit: CircuitSection, sign: str) -> Biases:
    """Bias currents from the closed forms (the file's kappa; trims applied).

    ``I_lk = 2 U_T C_syn / (kappa tau_syn)`` unless ``synapse_leak_current_<sign>``
    is set; ``I_w = w C_syn / (g_o t_p)`` times ``synapse_weight_scale_<sign>``.
    """
    o = circuit.sky130
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


def _fet(name: str, kind: str, d: str, g: str, s: str, b: str, w: float, l: float
         ) -> dv.Device:
    return dv.Device(f"M{name}", kind, (d, g, s, b), model=NFET if kind == "nfet" else PFET,
                     w=w, l=l)


def _ota(prefix: str, plus: str, minus: str, out: str, bias_node: str,
         circuit: CircuitSection) -> tuple[dv.Device, ...]:
    """5T OTA; current *out of* ``out`` = I tanh(kappa (v(plus) - v(minus)) / 2U_T).

    ``plus`` drives the output-side input device, ``minus`` the diode side."""
    o = circuit.sky130
    mw, ml = o.mirror_w, o.mirror_l
    return (
        _fet(f"{prefix}T", "nfet", f"t{prefix}", bias_node, "0", "0", mw, ml),
        _fet(f"{prefix}1", "nfet", f"a{prefix}", minus, f"t{prefix}", "0", o.synapse_ota_w,
             o.synapse_ota_l),
        _fet(f"{prefix}2", "nfet", out, plus, f"t{prefix}", "0", o.synapse_ota_w,
             o.synapse_ota_l),
        _fet(f"{prefix}3", "pfet", f"a{prefix}", f"a{prefix}", "vdd", "vdd", mw, ml),
        _fet(f"{prefix}4", "pfet", out, f"a{prefix}", "vdd", "vdd", mw, ml),
    )


def synapse_blocks(tag: str, sign: str, circuit: CircuitSection,
                   branches: Sequence[syn.Branch], membrane: str) -> tuple[dv.Block, ...]:
    """Device records of one synapse (nodes suffixed by ``tag``)."""
    o = circuit.sky130
    b = nominal_biases(circuit, sign)
    t = tag
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
        dv.Device(f"ILK_{t}", "idc", ("vdd", f"nlk_{t}"), value=b.leak),
        dv.Device(f"IOB_{t}", "idc", ("vdd", f"nob_{t}"), value=b.output),
        _fet(f"LKB_{t}", "nfet", f"nlk_{t}", f"nlk_{t}", "0", "0", mw, ml),
        _fet(f"OBB_{t}", "nfet", f"nob_{t}", f"nob_{t}", "0", "0", mw, ml),
    )
    pumps: list[dv.Device] = []
    for br in branches:
        k = f"{t}_{br.name}"
        # Current steering: I_w flows all the time, into the state during an event
        # (pfet WS on) and into the V_L reference otherwise (nfet WD on), so the off
        # switch sees ~0 V and leaks nothing onto C_syn.
        pumps += [
            dv.Device(f"IW_{k}", "idc", (f"vw_{k}", "0"),
                      value=abs(br.weight) * b.weight_per_ampere),
            _fet(f"WB_{k}", "pfet", f"vw_{k}", f"vw_{k}", "vdd", "vdd", mw, ml),
            _fet(f"W_{k}", "pfet", f"xw_{k}", f"vw_{k}", "vdd", "vdd", mw, ml),
            _fet(f"WS_{k}", "pfet", state, nl.safe_name(br.pulse), f"xw_{k}", f"xw_{k}",
                 o.synapse_switch_w, o.synapse_switch_l),
            _fet(f"WD_{k}", "nfet", "vl", nl.safe_name(br.pulse), f"xw_{k}", "0",
                 o.synapse_switch_w, o.synapse_switch_l),
        ]
    cap: dv.Device
    if o.capacitor == "mim":
        from lifhw.analog import models

        cap = dv.mim(f"CSYN_{t}", state, "0", o.synapse_capacitance, models.MIM_CAPACITOR)
    else:
        cap = dv.Device(f"CSYN_{t}", "capacitor", (state, "0"), value=o.synapse_capacitance)
    return (
        dv.Block(f"{syn.SIGN_WORDS[sign]} synapse {t}: bias references (drawn from VDD)",
                 bias),
        dv.Block(f"synapse {t}: state capacitor, leak follower to V_L and its replica "
                 f"(tau_syn = {nl.spice_number(syn.tau_of(circuit, sign))} s)",
                 (cap, *_ota(f"LK{t}", state, "vl", state, f"nlk_{t}", circuit),
                  *_ota(f"RF{t}", ref, f"vsr_{t}", ref, f"nlk_{t}", circuit))),
        dv.Block(f"synapse {t}: transconductor into {membrane}",
                 _ota(f"OT{t}", plus, minus, out, f"nob_{t}", circuit)),
        dv.Block(f"synapse {t}: charge pumps, one per weight branch (switch active low)",
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
    """Measured on the circuit: decay time constant and jump per weight, per sign."""

    tau_s: dict[str, float]
    jump_per_weight: dict[str, float]   # realised jump / requested weight
    weight_a: dict[str, float]
    rest_current_a: dict[str, float]    # into vm at V_L without events

    def summary(self) -> dict[str, Any]:
        return {"tau_syn_s": dict(self.tau_s), "jump_per_weight": dict(self.jump_per_weight),
                "weight_a": dict(self.weight_a), "rest_current_a": dict(self.rest_current_a)}


def characterise_synapse(name: str, circuit: CircuitSection, *, weight: float | None = None,
                         config: Any = None) -> SynapseCharacterisation:
    """One event per sign with ``vm`` held at ``V_L``: decay tau and jump of
    ``i(visyn_*)`` (the jump is the current at the end of the pulse, corrected
    for the decay during it).

    Args:
        weight: |w| (A) of the test event; default a third of the largest weight.
    """
    from lifhw.analog.backends import default_config, get_backend
    from lifhw.analog.flow import fit_event_response
    from lifhw.stimulus import Stimulus

    taus, ratios, weights, rests = {}, {}, {}, {}
    for sign, factor in syn.SIGNS.items():
        tau = syn.tau_of(circuit, sign)
        if tau <= 0:
            continue
        w = weight if weight is not None else weight_range(circuit, sign)[1] / 3.0
        t0 = 2e-3
        stim = Stimulus(kind="spikes", spike_times=(t0,), spike_weights=(factor * w,),
                        t_stop=t0 + 5 * tau, dt=tau / 200)
        text = nl.generate(name, circuit, stim, max_step=min(tau / 400,
                           circuit.sky130.synapse_pulse_width / 10))
        text = nl.replace_block(text, nl.STIMULUS_BEGIN, nl.STIMULUS_END,
                                [f"VFORCE vm 0 DC {nl.spice_number(circuit.v_rest)}"])
        out = get_backend("batch", default_config(circuit, config)).run(text)
        t = np.asarray(out["time"])
        i = np.asarray(out[f"i(visyn_{sign[0]})"])
        base = float(np.interp(t0 - 1e-4, t, i))
        jump, taus[sign] = fit_event_response(t, factor * (i - base), t0, tau)
        ratios[sign] = jump / w
        weights[sign] = w
        rests[sign] = base
    return SynapseCharacterisation(tau_s=taus, jump_per_weight=ratios, weight_a=weights,
                                   rest_current_a=rests)


def design_synapse(name: str, circuit: CircuitSection, *, iterations: int = 2,
                   config: Any = None) -> tuple[CircuitSection, SynapseCharacterisation]:
    """Trim offset, leak and weight currents until rest current, tau_syn and jump
    meet the spec.

    tau_syn scales as ``1 / I_lk`` and the jump as ``I_w``, so each iteration
    multiplies ``synapse_leak_current_*`` by ``tau_measured / tau_spec`` and
    ``synapse_weight_scale_*`` by ``1 / (jump / w)``, and moves the
    transconductor's reference by ``-/+ I_rest / g_o`` (all measured with
    :func:`characterise_synapse`).

    Returns:
        The trimmed ``[circuit]`` and the characterisation of the last design.
    """
    current = circuit
    for _ in range(iterations):
        ch = characterise_synapse(name, current, config=config)
        changes: dict[str, Any] = {}
        for sign in ch.tau_s:
            leak = nominal_biases(current, sign).leak
            scale = (current.sky130.synapse_weight_scale_exc if sign == "exc"
                     else current.sky130.synapse_weight_scale_inh)
            changes[f"synapse_leak_current_{sign}"] = leak * ch.tau_s[sign] / syn.tau_of(
                current, sign)
            changes[f"synapse_weight_scale_{sign}"] = scale / ch.jump_per_weight[sign]
            # Rest current into vm: move the reference against it (g_o nominal).
            g_o = current.kappa * current.sky130.synapse_output_current / (
                2.0 * current.thermal_voltage)
            trim = (current.sky130.synapse_offset_trim_exc if sign == "exc"
                    else current.sky130.synapse_offset_trim_inh)
            factor = 1.0 if sign == "exc" else -1.0
            changes[f"synapse_offset_trim_{sign}"] = trim + factor * ch.rest_current_a[sign] / g_o
        current = dataclasses.replace(
            current, sky130=dataclasses.replace(current.sky130, **changes))
    return current, characterise_synapse(name, current, config=config)


#: The sky130 synapse (registered as ``gmc_sky130``).
SKY130_GMC = syn.SynapseCircuit(
    name="gmc_sky130",
    summary="subthreshold Gm-C low pass: charge pump, OTA leak, OTA transconductor",
    lines=synapse_lines,
    weight_range=weight_range,
    pulse_width=lambda circuit: circuit.sky130.synapse_pulse_width,
    pulse_level=lambda circuit: 0.0,
    pulse_idle=lambda circuit: circuit.supply,
    save=lambda tag: (f"i(visyn_{tag})",),
)
