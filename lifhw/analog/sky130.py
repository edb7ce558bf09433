r"""Transistor-level OTA-C LIF neuron in SkyWater sky130 (1.8 V FETs).

::

     LEAK (5T OTA follower)        COMPARATOR (open-loop OTA)        PULSE EXTENDER + RESET
     vdd      vdd                  vdd       vdd      vdd
      |        |                    |         |        |
     L3 ]|--+--|[ L4               C3 ]|--+--|[ C4    FL ]|-- nbf (I_fb mirror)
      |  la |  |                    |  ca |   |        |
      +-----+  +---- vm ------+     +-----+   +-- cmp -FS (gate spkn)
      |        |     |        |     |         |     |
     L1 |-V_L L2 |-vm  CM    IIN   C1 |-vm   C2 |-V_th  +--> INV1 --> spkn --|[ PE -- vdd
      |        |     |        |     |         |                            |
      +---tl---+     0        0     +---tc----+                      rc ---+--- C_ref -- 0
          |                             |                            |
      LT |- nbl (I_b mirror)        CT |- nbc (I_cmp mirror)         RS |- nbr (I_ref sink)
          |                             |                            |
          0                             0                            0
                                                 rc --> INV2 --> spkb --> INV3 --> spike
                                                 vm --| R |-- V_reset   (gate: spike)

* **Leak** (L1-L4, LT): a 5-transistor subthreshold OTA, nfet input pair with a
  pfet mirror load, wired as a follower to ``V_L = v_rest``; its tail is a copy
  of ``I_b = leak_bias_current`` through an nfet mirror. Current out of ``vm``:
  ``I_b tanh(kappa (v_m - V_L) / 2 U_T)`` (Mead, *Analog VLSI and Neural
  Systems*, 1989, ch. 5), so ``g_m = kappa I_b / 2 U_T`` and ``tau = C / g_m``.
* **Comparator** (C1-C4, CT): the same OTA open loop with tail
  ``comparator_bias_current``; ``cmp`` rises when ``v_m > v_threshold``.
  While ``spkn`` is low, pfet FS (limited by FL to
  ``I_fb = hysteresis_ratio * I_cmp``) pushes ``cmp`` up: the positive feedback
  makes the edge fast and clean, and because ``I_fb < I_cmp`` the reset always
  wins (too much feedback latches the neuron in reset -- TOOLCHAIN.md).
* **Pulse extender**: INV1 drives pfet PE which charges ``rc`` to the supply;
  the nfet sink RS copies ``I_ref`` (:func:`refractory_current`) and discharges it,
  so ``rc`` stays above the INV2 trip point for about ``t_ref`` after the
  comparator has released. INV2, INV3 restore the edge on ``spike``.
* **Reset clamp** R: while ``spike`` is high it ties ``vm`` to ``V_reset``.
* Every inverter is current-starved at ``logic_current`` so the slow ramps of
  ``cmp`` and ``rc`` cost no crowbar current beyond that limit.

References ``V_L``, ``V_th``, ``V_reset`` and the bias currents are ideal
sources (a bias generator is out of scope); the bias reference currents are
drawn from ``VDD`` so the supply current includes all static power.

Node contract (:mod:`lifhw.analog.netlist`): ``vm``, ``spike``, ``IIN`` into
``vm``, ``VDD`` driving ``vdd``. Devices are instantiated as
``XM.. d g s b sky130_fd_pr__nfet_01v8 W=.. L=..`` in micrometres; the models
come from the trimmed file of :mod:`lifhw.analog.models`, included by the
absolute path of the per-user cache (generated on first use, so the netlist runs
by hand with plain ``ngspice -b``); pass ``model_file="sky130_tt.spice"`` for a
portable netlist next to a copy made by
:func:`lifhw.analog.models.write_support_files`.
"""

from __future__ import annotations

import re
from pathlib import Path

from lifhw.analog import models
from lifhw.analog import netlist as nl
from lifhw.analog.params import CircuitSection
from lifhw.analog.sky130_params import Sky130Options
from lifhw.errors import ParamError
from lifhw.stimulus import Stimulus

NFET = "sky130_fd_pr__nfet_01v8"
PFET = "sky130_fd_pr__pfet_01v8"

#: Vectors saved by the transient: the node contract plus the comparator output
#: and the refractory capacitor (for characterisation and debugging).
SAVE = ("v(vm)", "v(spike)", "i(VDD)", "v(cmp)", "v(rc)")

_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./+-]+$")


def refractory_current(circuit: CircuitSection) -> float:
    """Sink current I_ref (A) of the pulse extender: ``C_ref (V_dd - V_trip) / t_ref``.

    The capacitor is charged to the supply and must fall to the INV2 switching
    point ``V_trip`` (``sky130.inverter_trip_voltage``) in ``t_ref``. The trip
    point moves with corner and temperature, and the comparator adds a few us of
    release latency, so the realised period is measured, never assumed.
    """
    opts = circuit.sky130
    t_ref = max(circuit.refractory, opts.refractory_min)
    swing = circuit.supply - opts.inverter_trip_voltage
    if swing <= 0:
        raise ParamError(f"supply {circuit.supply:g} V must exceed the inverter trip point "
                         f"{opts.inverter_trip_voltage:g} V", path="sky130.inverter_trip_voltage")
    return opts.refractory_capacitance * swing / t_ref


def _um(value_m: float) -> str:
    return nl.spice_number(round(value_m * 1e6, 6))


def _fet(name: str, model: str, d: str, g: str, s: str, b: str, w: float, l: float) -> str:
    return f"XM{name} {d} {g} {s} {b} {model} W={_um(w)} L={_um(l)}"


def _model_include(corner: str, model_file: str | Path | None) -> str:
    text = str(models.trimmed_model_path(corner) if model_file is None else model_file)
    if not _SAFE_PATH.match(text):
        raise ParamError(f"model file path {text!r} has characters that are not allowed "
                         "in a netlist (use letters, digits, _ . / + -; or set "
                         "LIFHW_CACHE_DIR to such a directory)", path="model_file")
    return f'.include "{text}"'


def _starved_inverter(name: str, inp: str, out: str, opts: Sky130Options) -> list[str]:
    l = opts.logic_l
    return [
        _fet(f"{name}PL", PFET, f"{name}_p", "vbp", "vdd", "vdd", opts.mirror_w, opts.mirror_l),
        _fet(f"{name}P", PFET, out, inp, f"{name}_p", "vdd", 1e-6, l),
        _fet(f"{name}N", NFET, out, inp, f"{name}_n", "0", 0.5e-6, l),
        _fet(f"{name}NL", NFET, f"{name}_n", "vbn", "0", "0", opts.mirror_w, opts.mirror_l),
    ]


def device_lines(circuit: CircuitSection, *, spiking: bool = True) -> list[str]:
    """The transistor netlist of the neuron (no stimulus or analysis).

    Args:
        circuit: Validated ``[circuit]``.
        spiking: False ties the comparator reference to the supply, so the neuron
            never fires (for DC characterisation of the leak).
    """
    n = nl.spice_number
    o = circuit.sky130
    mw, ml = o.mirror_w, o.mirror_l
    i_fb = o.hysteresis_ratio * o.comparator_bias_current
    return [
        "* references (ideal) and bias reference currents (drawn from VDD)",
        f"VDD vdd 0 DC {n(circuit.supply)}",
        f"VL vl 0 DC {n(circuit.v_rest)}",
        f"VTH vth 0 DC {n(circuit.v_threshold if spiking else circuit.supply)}",
        f"VRST vrst 0 DC {n(circuit.v_reset)}",
        f"IBL vdd nbl DC {n(circuit.leak_bias_current)}",
        f"IBC vdd nbc DC {n(o.comparator_bias_current)}",
        f"IBR vdd nbr DC {n(refractory_current(circuit))}",
        f"IBN vdd vbn DC {n(o.logic_current)}",
        f"IBP vbp 0 DC {n(o.logic_current)}",
        f"IBF nbf 0 DC {n(i_fb)}",
        "* membrane capacitor (ideal)",
        f"CM vm 0 {n(circuit.membrane_capacitance)}",
        "* leak: 5-transistor OTA follower to V_L, tail mirrored from I_b",
        _fet("LB", NFET, "nbl", "nbl", "0", "0", mw, ml),
        _fet("LT", NFET, "tl", "nbl", "0", "0", mw, ml),
        _fet("L1", NFET, "la", "vl", "tl", "0", o.ota_w, o.ota_l),
        _fet("L2", NFET, "vm", "vm", "tl", "0", o.ota_w, o.ota_l),
        _fet("L3", PFET, "la", "la", "vdd", "vdd", mw, ml),
        _fet("L4", PFET, "vm", "la", "vdd", "vdd", mw, ml),
        "* comparator: OTA open loop, cmp high when vm > vth",
        _fet("CB", NFET, "nbc", "nbc", "0", "0", mw, ml),
        _fet("CT", NFET, "tc", "nbc", "0", "0", mw, ml),
        _fet("C1", NFET, "ca", "vm", "tc", "0", o.comparator_w, o.comparator_l),
        _fet("C2", NFET, "cmp", "vth", "tc", "0", o.comparator_w, o.comparator_l),
        _fet("C3", PFET, "ca", "ca", "vdd", "vdd", mw, ml),
        _fet("C4", PFET, "cmp", "ca", "vdd", "vdd", mw, ml),
        "* current-limited positive feedback: I_fb into cmp while spkn is low",
        _fet("FB", PFET, "nbf", "nbf", "vdd", "vdd", mw, ml),
        _fet("FL", PFET, "fbs", "nbf", "vdd", "vdd", mw, ml),
        _fet("FS", PFET, "cmp", "spkn", "fbs", "vdd", o.switch_w, o.switch_l),
        "* starved-inverter bias (nfet and pfet diodes at logic_current)",
        _fet("BN", NFET, "vbn", "vbn", "0", "0", mw, ml),
        _fet("BP", PFET, "vbp", "vbp", "vdd", "vdd", mw, ml),
        "* INV1: cmp -> spkn",
        *_starved_inverter("I1", "cmp", "spkn", o),
        "* pulse extender: MPE charges rc, sink I_ref discharges it",
        _fet("PE", PFET, "rc", "spkn", "vdd", "vdd", o.switch_w, o.switch_l),
        f"CREF rc 0 {n(o.refractory_capacitance)}",
        _fet("RB", NFET, "nbr", "nbr", "0", "0", mw, ml),
        _fet("RS", NFET, "rc", "nbr", "0", "0", mw, ml),
        "* INV2, INV3: rc -> spkb -> spike",
        *_starved_inverter("I2", "rc", "spkb", o),
        *_starved_inverter("I3", "spkb", "spike", o),
        "* reset clamp: vm tied to V_reset while spike is high",
        _fet("R", NFET, "vm", "spike", "vrst", "0", o.switch_w, o.switch_l),
    ]


def generate(name: str, circuit: CircuitSection, stimulus: Stimulus, *, source: str = "",
             max_step: float | None = None, model_file: str | Path | None = None,
             spiking: bool = True, **options: object) -> str:
    """Transistor-level sky130 netlist of the OTA-C LIF neuron.

    Args:
        name: Design name (safe identifier).
        circuit: Validated ``[circuit]`` (``topology = "sky130"``); sizing and
            bias options in ``circuit.sky130``.
        stimulus: Input current (A) over time (s), into ``vm``.
        source: Parameter file path, for the provenance comment.
        max_step: Largest transient step (s); default
            :func:`lifhw.analog.netlist.default_max_step`.
        model_file: Path of the model file to include; default the cached trimmed
            file of the corner (:func:`lifhw.analog.models.trimmed_model_path`).
        spiking: False disables the comparator (reference tied to the supply) and
            the initial condition, for DC characterisation of the leak OTA.
        **options: Ignored (other topologies' options).

    Returns:
        ngspice netlist text.
    """
    n = nl.spice_number
    step = max_step if max_step is not None else nl.default_max_step(circuit, stimulus)
    corner = circuit.corner
    lines = [
        *nl.title_lines(name, circuit, source),
        f"* corner {corner}, T={n(circuit.temperature)} K; nominal g_m={n(circuit.g_m)} S "
        f"tau_m={n(circuit.tau_m)} s (kappa={n(circuit.kappa)} assumed; extract it)",
        f"* I_ref={n(refractory_current(circuit))} A for t_ref={n(circuit.refractory)} s",
        _model_include(corner, model_file),
    ]
    if corner.endswith("_mm") or corner == "mc":
        # ngspice seeds must be > 0; each seed draws one Monte-Carlo sample.
        lines.append(f".option seed={circuit.sky130.mismatch_seed + 1}")
    lines += [
        f".temp {n(circuit.temperature - 273.15)}",
        *device_lines(circuit, spiking=spiking),
        *nl.stimulus_lines(stimulus),
    ]
    if spiking:
        # Start from rest with the pulse extender discharged: a DC operating point of
        # the spiking loop can otherwise settle half-way through a spike.
        lines.append(f".ic v(vm)={n(circuit.v_rest)} v(rc)=0")
    lines += [
        *nl.analysis_lines(stimulus, max_step=step, save=SAVE, extra_options="method=gear"),
        ".end",
    ]
    return "\n".join(lines) + "\n"
