r"""Low-power transistor-level LIF neuron in sky130: no statically biased fast comparator.

::

     LEAK (5T OTA follower)   COMPARATOR (pA pfet pair)     SET / HOLD LATCH        SPIKE
     vdd        vdd            vdd                          vdd   vdd    vdd
      |          |              |                            |     |      |
     L3 ]|--+--|[ L4           CT ]|- nbc (I_c)            KP ]|- nbc  PU ]|- d
      |  la |   |               |                            |     |      |
      +-----+   +-- vm -+       tc----+-----+                +-----+------+-- spkn --> INV --> spike
      |         |       |       |     |     |                |     |
     L1 |-V_L  L2 |-vm  CM    C1 |-vm C2 |-V_th            SN |-cmp HN1 |-spike
      |         |       |       |     |                      |     |
      +---tl----+       0      ca    cmp <-- PM x k <- PD <- SF |-cmp   HN2 |-d
          |                     |     |    (exp. feedback, cut while spike)
     LT |- nbl (I_b)       C3 |-ca C4 |-ca     CR |-spike (clears cmp)
          |                     |     |
          0                     0     0

     REFRACTORY TIMER                                   DETECTOR d = NAND(rc > V_det, spike)
     vdd                                                vdd     vdd      vdd
      |                                                  |       |        |
     RSRC ]|- nbr (I_ref)                               KD ]|- nbc PS ]|- spike  RF ]|- d
      |                                                  |       |        |
     RSW ]|- spkn                                        +-- d --+        +--> rc (regenerative)
      |                                                  |
      +-- rc -- C_ref -- 0                              N1 |- rc
      |                                                  |
     RC0 |- spkn (holds rc at 0 at rest)                N2 |- spike -- 0

     RESET:  vm --| R |-- V_reset   (gate: spike)

* **Leak** (L1-L4, LT): the 5-transistor subthreshold OTA follower of the sky130
  topology, ``I_b tanh(kappa (v_m - V_L) / 2 U_T)`` (Mead, *Analog VLSI and
  Neural Systems*, 1989, ch. 5), so ``g_m = kappa I_b / 2 U_T``, ``tau = C / g_m``.
* **Comparator** (C1-C4, CT): a pfet-input OTA at ``I_c = comparator_ratio * I_b``
  (picoamperes); ``cmp`` rises when ``v_m > V_th``. Its output is an integrating
  node: a copy (PM, gain ``feedback_ratio``) of the current of SF, exponential in
  ``cmp``, is fed back into ``cmp``, so once ``cmp`` has risen ~0.1 V it runs away
  in tens of microseconds (the exponential positive feedback of the low-power
  neurons of Indiveri, 2003, and Indiveri et al., 2011, applied to the comparator
  output instead of the membrane, so the membrane swing stays ``V_th - V_reset``).
* **Latch** (SN, KP, HN1/HN2, PU): SN pulls ``spkn`` low against the keeper KP
  (a copy of the comparator reference); HN1/HN2 hold it low while ``spike`` is high
  and the refractory detector ``d`` has not fired; PU releases it when ``d`` falls.
  ``spike`` = NOT ``spkn`` closes the reset clamp R, clears ``cmp`` (CR) and cuts
  the feedback (PMS).
* **Refractory timer**: at rest RC0 holds ``rc`` at 0 and RSW cuts the
  ``I_ref`` source; while spiking, ``I_ref`` charges ``C_ref`` from 0 V. N1
  (series N2, enabled by ``spike``) pulls ``d`` low against the keeper KD once
  ``rc`` reaches the detector voltage ``V_det``; RF then pulls ``rc`` up
  (regeneration), ``d`` releases the latch. ``t_ref ~ C_ref V_det / I_ref``
  (:func:`refractory_current`).
* **No static crowbar**: every logic node rests at a rail with the opposing
  device off (the keepers are pA current sources); each slow node (``cmp``,
  ``rc``) drives a regenerative loop, so it crosses its switching region in
  microseconds.
* **Static power**: ``I_b`` (leak), ``I_c`` (comparator) and the three reference
  diodes, which carry ``1/reference_ratio`` of their copies; every reference
  current is drawn from ``VDD``. Zero-volt sources ``VALEAK``, ``VACMP``,
  ``VAREF``, ``VALOGIC`` split the supply current by block (saved as
  ``i(valeak)``... for the energy budget); charge returned into ``V_reset`` by the
  reset clamp is not credited.

Node contract (:mod:`lifhw.analog.netlist`): ``vm``, ``spike``, ``IIN`` into
``vm``, ``VDD`` driving ``vdd``. Devices as in :mod:`lifhw.analog.sky130`
(device records, trimmed model library included by bare name). All node
voltages stay in ``[0, supply]``; the reference design runs at 0.8 V.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lifhw.analog import devices as dv
from lifhw.analog import models, sky130
from lifhw.analog import netlist as nl
from lifhw.analog import synapse as syn
from lifhw.analog.params import CircuitSection
from lifhw.analog.topology import AnalogTopology
from lifhw.errors import ParamError
from lifhw.stimulus import Stimulus

if TYPE_CHECKING:
    from lifhw.analog.backends import RunConfig, SimOutput, SupportFile
    from lifhw.analog.characterise import Characterisation
    from lifhw.analog.design import DesignHook
    from lifhw.golden.ota import OTANeuron

#: Supply blocks, each behind a zero-volt ammeter source ``VA<BLOCK>`` from ``vdd``.
BLOCKS = ("leak", "cmp", "ref", "logic")

#: Vectors saved by the transient: the node contract, internal nodes and the
#: per-block supply currents (energy budget).
SAVE = ("v(vm)", "v(spike)", "i(VDD)", "v(cmp)", "v(spkn)", "v(rc)", "v(d)",
        *(f"i(VA{b.upper()})" for b in BLOCKS), "i(VRST)")

#: ngspice's default gmin (1e-12 S) would add ~1 pA per volt across every junction,
#: as much as the leak itself; 1e-15 S keeps the floor at femtoamperes.
GMIN = 1e-15

#: Currents (in units of the extracted rheobase) of the threshold/refractory
#: calibration: the ISI checkpoints of the design closure (1.5x, 3x, 10x).
CALIBRATION_MULTIPLES = (1.5, 3.0, 10.0)


def comparator_current(circuit: CircuitSection) -> float:
    """Comparator tail current I_c (A): ``comparator_ratio * leak_bias_current``."""
    return circuit.sky130_lp.comparator_ratio * circuit.leak_bias_current


def refractory_current(circuit: CircuitSection) -> float:
    """Charging current I_ref (A) of the refractory timer: ``C_ref V_det / t_ref``.

    ``C_ref`` starts at 0 V and the detector fires at about ``V_det``
    (``sky130_lp.detector_trip_voltage``, a tt/27 degC number); the realised
    period is measured, never assumed.
    """
    opts = circuit.sky130_lp
    if opts.detector_trip_voltage >= circuit.supply:
        raise ParamError(f"detector_trip_voltage {opts.detector_trip_voltage:g} V must be "
                         f"below the supply {circuit.supply:g} V",
                         path="sky130_lp.detector_trip_voltage")
    t_ref = max(circuit.refractory, opts.refractory_min)
    return (opts.refractory_capacitance * opts.detector_trip_voltage / t_ref
            * opts.refractory_current_scale)


def drawn_membrane_capacitance(circuit: CircuitSection) -> float:
    """Drawn membrane capacitor (F): the node total minus the devices' parasitics."""
    drawn = circuit.membrane_capacitance - circuit.sky130_lp.membrane_parasitic_capacitance
    if not drawn > 0:
        raise ParamError(f"membrane_parasitic_capacitance "
                         f"({circuit.sky130_lp.membrane_parasitic_capacitance:g} F) must be "
                         f"below membrane_capacitance ({circuit.membrane_capacitance:g} F)",
                         path="sky130_lp.membrane_parasitic_capacitance")
    return drawn


def model_devices(circuit: CircuitSection) -> tuple[str, ...]:
    """sky130 subcircuits the netlist of ``circuit`` instantiates."""
    if circuit.sky130_lp.capacitor == "mim":
        return (*models.DEFAULT_DEVICES, models.MIM_CAPACITOR)
    return models.DEFAULT_DEVICES


def _capacitor(name: str, node: str, capacitance: float, circuit: CircuitSection
               ) -> dv.Device:
    if circuit.sky130_lp.capacitor == "mim":
        return dv.mim(name, node, "0", capacitance, models.MIM_CAPACITOR)
    return dv.Device(name, "capacitor", (node, "0"), value=capacitance)


def _fet(name: str, kind: str, d: str, g: str, s: str, b: str, w: float, l: float,
         m: int = 1) -> dv.Device:
    return dv.Device(f"M{name}", kind, (d, g, s, b),
                     model=sky130.NFET if kind == "nfet" else sky130.PFET,
                     w=w, l=l, multiplier=m)


def device_blocks(circuit: CircuitSection, *, spiking: bool = True) -> tuple[dv.Block, ...]:
    """The neuron as commented blocks of device records (no stimulus or analysis).

    Args:
        circuit: Validated ``[circuit]``.
        spiking: False ties the comparator reference to the supply (the pfet pair
            then never trips) and holds the latch at rest (``spkn`` tied to the
            logic supply by a zero-volt source, so ``spike`` = 0 and the reset clamp
            is off), for DC characterisation of the leak. The ``.nodeset`` alone does
            not hold it: ngspice's gmin stepping can land the pA-keeper latch in a
            half-set DC solution (``spike`` ~0.37 V, measured at tt) whose half-on
            clamp adds its current to the leak curve (1.9 pA at 74 mV below
            ``V_reset`` for a 3.78/0.15 um clamp).
    """
    o = circuit.sky130_lp
    mw, ml = o.mirror_w, o.mirror_l
    cw, cl = o.comparator_w, o.comparator_l
    gw, gl = o.logic_w, o.logic_l
    sw, sl = o.switch_w, o.switch_l
    rr = o.reference_ratio
    # feedback gain W(PM)/W(PD), neither below the logic width
    ratio = o.feedback_ratio
    pm_w = gw * max(ratio, 1.0)
    pd_w = gw / ratio if 0 < ratio < 1 else gw
    vl, vc, vr, vg = (f"vdd_{b}" for b in BLOCKS)

    def source(name: str, kind: str, a: str, b: str, value: float) -> dv.Device:
        return dv.Device(name, kind, (a, b), value=value)

    return (
        dv.Block("supply, per-block ammeters, references (ideal) and bias reference "
                 "currents (1/reference_ratio of their copies, drawn from VDD)", (
            source("VDD", "vdc", "vdd", "0", circuit.supply),
            *(source(f"VA{b.upper()}", "vdc", "vdd", f"vdd_{b}", 0.0) for b in BLOCKS),
            source("VL", "vdc", "vl", "0", circuit.v_rest),
            source("VTH", "vdc", "vth", "0",
                   circuit.v_threshold + o.threshold_offset if spiking else circuit.supply),
            source("VRST", "vdc", "vrst", "0", circuit.v_reset + o.reset_offset),
            source("IBL", "idc", vl, "nbl", circuit.leak_bias_current * o.leak_bias_scale / rr),
            source("IBC", "idc", "nbc", "0", comparator_current(circuit) / rr),
            source("IBR", "idc", "nbr", "0", refractory_current(circuit) / rr),
        )),
        dv.Block(f"membrane capacitor ({o.capacitor})", (
            _capacitor("CM", "vm", drawn_membrane_capacitance(circuit), circuit),
        )),
        *((dv.Block("offset trim (ideal, like the bias references)", (
            source("IOS", "idc", "vm", "0", o.offset_current),
        )),) if o.offset_current else ()),
        dv.Block("leak: 5-transistor OTA follower to V_L, tail copies I_b", (
            _fet("LB", "nfet", "nbl", "nbl", "0", "0", mw, ml),
            _fet("LT", "nfet", "tl", "nbl", "0", "0", mw, ml, rr),
            _fet("L1", "nfet", "la", "vl", "tl", "0", o.ota_w, o.ota_l),
            _fet("L2", "nfet", "vm", "vm", "tl", "0", o.ota_w, o.ota_l),
            _fet("L3", "pfet", "la", "la", vl, vl, mw, ml),
            _fet("L4", "pfet", "vm", "la", vl, vl, mw, ml),
        )),
        dv.Block("comparator: pfet pair at I_c, cmp rises when vm > vth; CR clears it", (
            _fet("CB", "pfet", "nbc", "nbc", vc, vc, mw, ml),
            _fet("CT", "pfet", "tc", "nbc", vc, vc, mw, ml, rr),
            _fet("C1", "pfet", "ca", "vm", "tc", vc, cw, cl),
            _fet("C2", "pfet", "cmp", "vth", "tc", vc, cw, cl),
            _fet("C3", "nfet", "ca", "ca", "0", "0", cw, cl),
            _fet("C4", "nfet", "cmp", "ca", "0", "0", cw, cl),
            _fet("CR", "nfet", "cmp", "spike", "0", "0", gw, sl),
        )),
        dv.Block("exponential positive feedback: a copy of SF's current into cmp, "
                 "cut while spike is high", (
            _fet("SF", "nfet", "pd", "cmp", "0", "0", gw, gl),
            _fet("PD", "pfet", "pd", "pd", vg, vg, pd_w, gl),
            *((_fet("PM", "pfet", "pm", "pd", vg, vg, pm_w, gl),
               _fet("PMS", "pfet", "cmp", "spike", "pm", vg, gw, gl))
              if o.feedback_ratio > 0 else ()),
        )),
        dv.Block("set/hold latch: spkn low from the comparator until the refractory "
                 "detector d fires; spike = not spkn", (
            _fet("KP", "pfet", "spkn", "nbc", vg, vg, mw, ml),
            _fet("SN", "nfet", "spkn", "cmp", "0", "0", gw, sl),
            _fet("HN1", "nfet", "spkn", "spike", "h", "0", gw, gl),
            _fet("HN2", "nfet", "h", "d", "0", "0", gw, gl),
            _fet("PU", "pfet", "spkn", "d", vg, vg, gw, gl),
            _fet("I3P", "pfet", "spike", "spkn", vg, vg, gw, gl),
            _fet("I3N", "nfet", "spike", "spkn", "0", "0", gw, gl),
            *(() if spiking else (source("VHOLD", "vdc", vg, "spkn", 0.0),)),
        )),
        dv.Block("refractory timer: rc held at 0 at rest, charged by I_ref while spiking", (
            _fet("RB", "pfet", "nbr", "nbr", vr, vr, mw, ml),
            _fet("RSRC", "pfet", "rs1", "nbr", vr, vr, mw, ml, rr),
            _fet("RSW", "pfet", "rc", "spkn", "rs1", vr, gw, gl),
            _capacitor("CREF", "rc", o.refractory_capacitance, circuit),
            _fet("RC0", "nfet", "rc", "spkn", "0", "0", gw, gl),
        )),
        dv.Block("detector d = NAND(rc, spike) against a keeper; RF makes it regenerative", (
            _fet("KD", "pfet", "d", "nbc", vg, vg, mw, ml),
            _fet("PS", "pfet", "d", "spike", vg, vg, gw, gl),
            _fet("N1", "nfet", "d", "rc", "n12", "0", gw, gl),
            _fet("N2", "nfet", "n12", "spike", "0", "0", gw, gl),
            _fet("RF", "pfet", "rc", "d", vg, vg, gw, gl),
        )),
        dv.Block("reset clamp: vm tied to V_reset while spike is high", (
            _fet("R", "nfet", "vm", "spike", "vrst", "0", sw, sl),
        )),
    )


def devices(circuit: CircuitSection) -> tuple[dv.Device, ...]:
    """Every device record of the (spiking) neuron, in netlist order."""
    return dv.flatten(device_blocks(circuit))


def device_lines(circuit: CircuitSection, *, spiking: bool = True) -> list[str]:
    """The transistor netlist (no stimulus or analysis), rendered from
    :func:`device_blocks`."""
    return dv.render_blocks(device_blocks(circuit, spiking=spiking))


def support_files(circuit: CircuitSection) -> tuple[SupportFile, ...]:
    """The trimmed model library the netlist includes (see :mod:`lifhw.analog.models`)."""
    from lifhw.analog.backends import SupportFile

    wanted = model_devices(circuit)
    return (SupportFile(name=models.model_file_name(circuit.corner, wanted),
                        path=models.trimmed_model_path(circuit.corner, wanted)),)


def generate(name: str, circuit: CircuitSection, stimulus: Stimulus, *, source: str = "",
             max_step: float | None = None, spiking: bool = True,
             model_file: str | None = None) -> str:
    """Transistor-level netlist of the low-power sky130 LIF neuron.

    Args:
        name: Design name (safe identifier).
        circuit: Validated ``[circuit]`` (``topology = "sky130_lp"``); options in
            ``circuit.sky130_lp``.
        stimulus: Input current (A) over time (s), into ``vm``.
        source: Parameter file path, for the provenance comment.
        max_step: Largest transient step (s); default
            :func:`lifhw.analog.netlist.default_max_step`.
        spiking: False disables the comparator (reference tied to the supply) and
            holds the latch at rest (:func:`device_blocks`), for DC characterisation
            of the leak.
        model_file: File name of the model library to include; default
            :func:`lifhw.analog.models.model_file_name` of the corner and devices.

    Returns:
        ngspice netlist text.
    """
    n = nl.spice_number
    step = max_step if max_step is not None else nl.default_max_step(circuit, stimulus)
    synapse_lines, synapse_save, step = syn.neuron_synapse_parts(circuit, stimulus, step,
                                                                 max_step)
    corner = circuit.corner
    include = model_file if model_file is not None else models.model_file_name(
        corner, model_devices(circuit))
    lines = [
        *nl.title_lines(name, circuit, source),
        f"* corner {corner}, T={n(circuit.temperature)} K; nominal g_m={n(circuit.g_m)} S "
        f"tau_m={n(circuit.tau_m)} s (kappa={n(circuit.kappa)} assumed; extract it)",
        f"* I_c={n(comparator_current(circuit))} A, I_ref={n(refractory_current(circuit))} A "
        f"for t_ref={n(circuit.refractory)} s",
        sky130.include_line(include),
    ]
    if corner.endswith("_mm") or corner == "mc":
        lines.append(f".option seed={circuit.sky130_lp.mismatch_seed + 1}")
    lines += [
        f".temp {n(circuit.temperature - 273.15)}",
        # Outside the analysis block, so the DC sweeps of the characterisation keep it.
        f".options gmin={n(GMIN)}",
        *device_lines(circuit, spiking=spiking),
        *nl.stimulus_lines(stimulus),
        *synapse_lines,
    ]
    vdd = n(circuit.supply)
    # The latch is bistable at DC: steer every operating point to the resting state.
    lines.append(f".nodeset v(cmp)=0 v(spkn)={vdd} v(spike)=0 v(rc)=0 v(d)={vdd} v(pd)={vdd}")
    if spiking:
        _, currents = stimulus.segments()
        held = f"v(vm)={n(circuit.v_rest)} " if currents[0] != 0 else ""
        lines.append(f".ic {held}v(rc)=0 v(spkn)={vdd} v(spike)=0 v(d)={vdd}")
    lines += [
        *nl.analysis_lines(stimulus, max_step=step, save=(*SAVE, *synapse_save),
                           extra_options="method=gear"),
        ".end",
    ]
    return "\n".join(lines) + "\n"


def energy_budget(output: SimOutput, circuit: CircuitSection, t_start: float,
                  t_stop: float) -> dict[str, float]:
    """Energy (J) drawn by each supply block between two times, and the reset charge.

    Returns:
        ``{"leak", "cmp", "ref", "logic", "supply"}`` (J, from ``VDD`` through each
        block's ammeter; ``supply`` is their sum, the ``VDD`` total) and
        ``"v_reset"`` (J delivered by the ``V_reset`` source; negative when the
        reset clamp returns charge into it).
    """
    t = np.asarray(output["time"])
    window = (t >= t_start) & (t <= t_stop)
    budget = {b: float(circuit.supply * np.trapezoid(output[f"i(va{b})"][window], t[window]))
              for b in BLOCKS}
    budget["supply"] = float(-circuit.supply * np.trapezoid(output["i(vdd)"][window],
                                                             t[window]))
    budget["v_reset"] = float(-circuit.v_reset * np.trapezoid(output["i(vrst)"][window],
                                                               t[window]))
    return budget


def characterise(name: str, circuit: CircuitSection, *,
                 threshold_currents: Sequence[float] | None = None,
                 with_threshold: bool = True, backend: str = "batch",
                 config: RunConfig | None = None,
                 **options: object) -> Characterisation:
    """Measure the low-power neuron (extracted golden-model parameters).

    As :func:`lifhw.analog.sky130.characterise` (DC transfer curve with the
    comparator disabled, leak step response), but the threshold and refractory
    time are fitted to the ISIs at the design-closure checkpoints 1.5x, 3x and
    10x the extracted rheobase (:data:`CALIBRATION_MULTIPLES`) by least squares
    of the relative ISI errors (:func:`fit_threshold_and_delay`): the pA
    comparator's latency grows less than linearly with the membrane slope, so a
    two-point calibration leaves the largest error at the checkpoints between and
    beyond its points.

    Args:
        name: Design name.
        circuit: ``[circuit]`` with ``topology = "sky130_lp"``.
        threshold_currents: Calibration currents (A); default
            :data:`CALIBRATION_MULTIPLES` x the extracted rheobase.
        with_threshold: Also calibrate threshold and refractory time (transients).
        backend: ``batch`` or ``shared``.
        config: Run configuration.
        **options: Passed to :func:`generate`.
    """
    def calibrate(base: OTANeuron, threshold: Any) -> tuple[float, float]:
        return fit_threshold_and_delay(base, threshold.currents_a, threshold.isi_s,
                                       threshold.t_ref_s)

    return sky130.characterise_with(name, circuit, multiples=CALIBRATION_MULTIPLES,
                                    calibrate=calibrate, threshold_currents=threshold_currents,
                                    with_threshold=with_threshold, backend=backend,
                                    config=config, **options)


def fit_threshold_and_delay(neuron: OTANeuron, currents: Sequence[float],
                            isis: Sequence[float], width: float) -> tuple[float, float]:
    """Effective threshold and refractory time minimising the relative ISI errors.

    Starts from :func:`lifhw.analog.sky130.calibrate_threshold_and_delay` (exact at
    the lowest and highest current) and refines both numbers by least squares of
    ``ISI_sim / ISI_golden - 1`` over all currents.

    Args:
        neuron: Golden tanh model with the extracted leak and C.
        currents: Calibration currents (A), above rheobase.
        isis: Simulated ISIs (s) at those currents.
        width: Measured spike width (s), the fallback refractory time.

    Returns:
        ``(v_th_eff_v, t_ref_s)``.
    """
    from scipy.optimize import least_squares

    from lifhw.golden.ota import ota_isi

    v0, t0 = sky130.calibrate_threshold_and_delay(neuron, currents, isis, width)
    if len(currents) < 3:
        return v0, t0

    def residual(x: np.ndarray) -> list[float]:
        model = neuron.replace(v_th=float(x[0]), t_ref=max(float(x[1]), 0.0))
        out = []
        for current, isi in zip(currents, isis, strict=True):
            golden = float(ota_isi(current, model))
            out.append(isi / golden - 1.0 if math.isfinite(golden) else 1.0)
        return out

    span = neuron.v_th - max(neuron.v_reset, neuron.v_rest)
    result = least_squares(residual, x0=[v0, t0], x_scale=[1e-3 * span, 1e-2 * max(t0, 1e-6)],
                           bounds=([neuron.v_th - 0.3 * span, 0.0],
                                   [neuron.v_th + 0.3 * span, np.inf]))
    if not result.success:
        return v0, t0
    return float(result.x[0]), float(result.x[1])


def design_hook() -> DesignHook:
    """The ``lifhw design`` hook (:mod:`lifhw.analog.sky130_lp_design`), imported on use."""
    from lifhw.analog.sky130_lp_design import DESIGN

    return DESIGN


TOPOLOGY = AnalogTopology(
    name="sky130_lp",
    summary="low-power transistor-level LIF in sky130 (pA comparator, latch, ~0.8 V)",
    generate=generate,
    supply=True,
    options="sky130_lp",
    spiceinit=models.SPICEINIT_COMMANDS,
    support_files=support_files,
    characterise=characterise,
    golden="calibrated",
    devices=devices,
    design=design_hook,
    synapses=("gmc_sky130_lp",),
)
