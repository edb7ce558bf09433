"""``lifhw design`` hook of the sky130 OTA-C neuron: its knobs, candidates and limits.

Knobs (:class:`lifhw.analog.design.Knobs`) map onto ``[circuit.sky130]`` options:
``leak_scale`` -> ``leak_bias_scale`` (the leak tail mirror copies high at pA),
``offset_current`` -> ``offset_current`` (an ideal trim source on ``vm``, like the
bias references), ``parasitic_capacitance`` -> ``membrane_parasitic_capacitance``,
``threshold_offset`` / ``reset_offset`` -> the comparator and reset references,
``refractory_scale`` -> ``refractory_current_scale`` (the pulse-extender sink).

Candidates (co-design): the comparator bias, from a latency budget against the
fastest ISI (``d = d_0 + q / I_cmp``, fitted to the measured latencies), up to four
rungs of :data:`COMPARATOR_LADDER` in rising static power; a refractory capacitor
large enough that its sink stays above :data:`MIN_REFRACTORY_CURRENT`; and, for
fast neurons, short mirrors and OTA pairs (:data:`FAST_GEOMETRY`) so the leak
OTA's internal poles stay well below the shortest integration time.

Refused before simulating (:func:`limits`, with numbers): a leak bias below
:data:`MIN_LEAK_BIAS` (junction leakage sets the leak there) and a refractory
period below the topology's latency floor plus its shortest pulse.
"""

from __future__ import annotations

from collections.abc import Mapping

from lifhw.analog.design import (
    NOMINAL_KAPPA,
    RHEOBASE_MULTIPLES,
    DesignHook,
    DesignSection,
    Knobs,
    golden_isi,
    spec_neuron,
)
from lifhw.analog.params import CircuitSection

#: Comparator bias ladder (A) the sky130 candidates are taken from.
COMPARATOR_LADDER = (2e-9, 5e-9, 10e-9, 20e-9, 50e-9, 100e-9, 200e-9, 500e-9)
#: Latency model of the sky130 comparator and logic, ``d = d_0 + q / I_cmp``: fitted to
#: the measured 1.8 us at 100 nA and ~18 us at 2 nA (C = 1 pF, 10 nA logic).
LATENCY_FIXED_S = 1.5e-6
LATENCY_CHARGE_C = 33e-15
#: Smallest pulse-extender sink current (A): below it junction leakage on the
#: refractory node decides the pulse.
MIN_REFRACTORY_CURRENT = 1e-12
#: Smallest realisable leak bias (A) for the loop to start from; below it the
#: measured leak is junction leakage (0.3 pA programmed gave 2 pA, tau -81 %).
MIN_LEAK_BIAS = 1e-12
#: Latency budget: fraction of the fastest ISI the detection latency may take.
LATENCY_FRACTION = 0.1


#: Geometry of fast neurons (m): shorter mirrors and OTA pairs move the leak OTA's
#: internal poles (mirror gate capacitance over g_m, ~20 us at 0.3 nA with the
#: default 4 um lengths) well below the shortest integration time, and minimum-length
#: inverters unload the comparator output. Used when the fastest integration time
#: (golden ISI minus t_ref at 10x rheobase) is below FAST_BELOW_S, or the
#: refractory period below FAST_REFRACTORY_BELOW_S.
FAST_GEOMETRY = {"mirror_l": 1e-6, "ota_l": 1e-6, "logic_l": 0.15e-6}
FAST_BELOW_S = 1e-3
#: ... or when the refractory period is below this (s): the comparator's mirror
#: capacitance then dominates a latency that must fit inside it.
FAST_REFRACTORY_BELOW_S = 50e-6


def candidates(spec: DesignSection) -> list[dict[str, float]]:
    from lifhw.analog.sky130_params import Sky130Options

    opts = Sky130Options()
    budget = min(LATENCY_FRACTION / spec.max_rate,
                 spec.refractory - DESIGN.min_pulse_s)
    need = LATENCY_CHARGE_C / max(budget - LATENCY_FIXED_S, 0.1e-6)
    ladder = [i for i in COMPARATOR_LADDER if i >= need]
    if not ladder:
        ladder = [COMPARATOR_LADDER[-1]]
    swing = spec.supply - opts.inverter_trip_voltage
    c_ref = max(opts.refractory_capacitance,
                MIN_REFRACTORY_CURRENT * spec.refractory / swing)
    neuron = spec_neuron(spec)
    fastest = (float(golden_isi(RHEOBASE_MULTIPLES[-1] * neuron.rheobase, neuron))
               - spec.refractory)
    fast = fastest < FAST_BELOW_S or spec.refractory < FAST_REFRACTORY_BELOW_S
    geometry = FAST_GEOMETRY if fast else {}
    return [{"comparator_bias_current": i, "refractory_capacitance": c_ref, **geometry}
            for i in ladder[:4]]


def static_power(spec: DesignSection, candidate: Mapping[str, float]) -> float:
    """Lower bound of the static supply power (W): the comparator reference and tail."""
    return spec.supply * 2.0 * candidate["comparator_bias_current"]


def build_circuit(spec: DesignSection, candidate: Mapping[str, float], knobs: Knobs,
                    corner: str, seed: int) -> CircuitSection:
    from lifhw.analog.sky130_params import Sky130Options

    neuron = spec_neuron(spec)
    options = Sky130Options(
        **candidate,  # type: ignore[arg-type]
        leak_bias_scale=knobs.leak_scale, offset_current=knobs.offset_current,
        threshold_offset=knobs.threshold_offset, reset_offset=knobs.reset_offset,
        refractory_current_scale=knobs.refractory_scale,
        membrane_parasitic_capacitance=knobs.parasitic_capacitance,
        mismatch_seed=seed)
    options.validate()
    circuit = CircuitSection(
        topology="sky130", membrane_capacitance=spec.membrane_capacitance,
        leak_bias_current=neuron.bias_current, v_rest=spec.v_rest,
        v_threshold=spec.v_threshold, v_reset=spec.v_reset, refractory=spec.refractory,
        kappa=NOMINAL_KAPPA, supply=spec.supply, corner=corner,
        temperature=spec.temperature, sky130=options)
    circuit.validate()
    return circuit


def read_knobs(circuit: CircuitSection) -> Knobs:
    o = circuit.sky130
    return Knobs(leak_scale=o.leak_bias_scale, offset_current=o.offset_current,
                 parasitic_capacitance=o.membrane_parasitic_capacitance,
                 threshold_offset=o.threshold_offset, reset_offset=o.reset_offset,
                 refractory_scale=o.refractory_current_scale)


def trim_settings(circuit: CircuitSection) -> dict[str, float]:
    from lifhw.analog.sky130 import refractory_current

    o = circuit.sky130
    return {"leak_bias_current_a": circuit.leak_bias_current * o.leak_bias_scale,
            "offset_current_a": o.offset_current,
            "comparator_reference_v": circuit.v_threshold + o.threshold_offset,
            "reset_reference_v": circuit.v_reset + o.reset_offset,
            "refractory_sink_current_a": refractory_current(circuit),
            "comparator_bias_current_a": o.comparator_bias_current}


def limits(spec: DesignSection) -> list[str]:
    neuron = spec_neuron(spec)
    out = []
    if neuron.bias_current < MIN_LEAK_BIAS:
        out.append(
            f"tau: C/tau = {spec.membrane_capacitance / spec.tau_m:.3g} S needs a leak bias "
            f"of {neuron.bias_current * 1e12:.3g} pA, below the {MIN_LEAK_BIAS * 1e12:g}"
            " pA floor where junction leakage, not the bias, sets the sky130 leak "
            f"(shorten tau or raise C by {MIN_LEAK_BIAS / neuron.bias_current:.2g}x)")
    floor = LATENCY_FIXED_S + LATENCY_CHARGE_C / COMPARATOR_LADDER[-1] \
        + DESIGN.min_pulse_s
    if spec.refractory < floor:
        out.append(f"refractory: {spec.refractory * 1e6:.3g} us is below the detection "
                   f"latency plus the shortest pulse of the sky130 topology "
                   f"({floor * 1e6:.3g} us)")
    return out


#: The sky130 OTA-C neuron's design hook (the ``design`` slot of its topology record).
DESIGN = DesignHook(
    topology="sky130", candidates=candidates, circuit=build_circuit, knobs=read_knobs,
    min_pulse_s=0.5e-6, limits=limits, trims=trim_settings, static_power=static_power)
