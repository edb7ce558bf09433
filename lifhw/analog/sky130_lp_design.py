"""``lifhw design`` hook of the low-power sky130 neuron (``sky130_lp``): knobs, candidates, limits.

Knobs (:class:`lifhw.analog.design.Knobs`) map onto ``[circuit.sky130_lp]`` options of
the same names as in the sky130 hook: ``leak_scale`` -> ``leak_bias_scale``,
``offset_current`` -> ``offset_current``, ``parasitic_capacitance`` ->
``membrane_parasitic_capacitance``, ``threshold_offset`` / ``reset_offset`` -> the
comparator and reset references, ``refractory_scale`` -> ``refractory_current_scale``
(the refractory timer's charging current).

Candidates (co-design): the comparator tail ratio ``I_c / I_b`` from
:data:`COMPARATOR_RATIOS` in rising static power (the default 4 first; 8 and 16 shorten
the detection latency where the refractory period leaves little room for it), and a
refractory capacitor large enough that its charging current stays above
:data:`MIN_REFRACTORY_CURRENT`. The membrane and refractory capacitors are sky130 MIM
arrays, as in ``circuits/ota_lif_sky130_lp.toml``.

Refused before simulating (:func:`limits`, with numbers): a leak bias below
:data:`MIN_LEAK_BIAS` and a refractory period below the detection-latency floor
(:func:`latency_floor`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from lifhw.analog.design import DesignHook, DesignSection, Knobs, spec_circuit, spec_neuron
from lifhw.analog.params import CircuitSection

#: Comparator tail ratios ``I_c / I_b`` tried, in rising static power.
COMPARATOR_RATIOS = (4.0, 8.0, 16.0)
#: Detection latency (s) of the pA comparator at ratio 4, measured on the reference
#: design (docs/analog_sky130_lp.md): ~0.45 ms at tau = 10 ms and ~0.14 ms at
#: tau ~ 1 ms; between and beyond, ``latency ~ LATENCY_AT_10MS (tau / 10 ms)^0.5``
#: (the two numbers give the exponent 0.51).
LATENCY_AT_10MS_S = 0.45e-3
LATENCY_TAU_EXPONENT = 0.5
#: Smallest realisable leak bias (A): below it junction leakage, not the bias, sets
#: the leak (as for the sky130 topology).
MIN_LEAK_BIAS = 1e-12
#: Smallest charging current (A) of the refractory timer: below it junction leakage
#: on ``rc`` decides the pulse.
MIN_REFRACTORY_CURRENT = 1e-12
#: Shortest refractory pulse (s) the timer and latch make reliably.
MIN_PULSE_S = 20e-6


def latency_floor(spec: DesignSection) -> float:
    """Detection latency (s) at comparator ratio 4 for the spec's tau (measured scale)."""
    return LATENCY_AT_10MS_S * (spec.tau_m / 10e-3) ** LATENCY_TAU_EXPONENT


def candidates(spec: DesignSection) -> list[dict[str, float]]:
    from lifhw.analog.sky130_lp_params import Sky130LpOptions

    opts = Sky130LpOptions()
    c_ref = max(opts.refractory_capacitance,
                MIN_REFRACTORY_CURRENT * spec.refractory / opts.detector_trip_voltage)
    return [{"comparator_ratio": r, "refractory_capacitance": c_ref}
            for r in COMPARATOR_RATIOS]


def static_power(spec: DesignSection, candidate: Mapping[str, float]) -> float:
    """Lower bound of the static supply power (W): the leak and comparator tails."""
    return spec.supply * (1.0 + candidate["comparator_ratio"]) * spec_neuron(spec).bias_current


def build_circuit(spec: DesignSection, candidate: Mapping[str, float], knobs: Knobs,
                  corner: str, seed: int) -> CircuitSection:
    from lifhw.analog.sky130_lp_params import Sky130LpOptions

    fields: dict[str, object] = {**candidate, "capacitor": "mim", **knobs.option_values(),
                                 "mismatch_seed": seed}
    options = Sky130LpOptions(**fields)  # type: ignore[arg-type]
    return spec_circuit(spec, "sky130_lp", corner, options)


def read_knobs(circuit: CircuitSection) -> Knobs:
    return Knobs.from_options(circuit.sky130_lp)


def trim_settings(circuit: CircuitSection) -> dict[str, float]:
    from lifhw.analog.sky130_lp import comparator_current, refractory_current

    o = circuit.sky130_lp
    return {"leak_bias_current_a": circuit.leak_bias_current * o.leak_bias_scale,
            "offset_current_a": o.offset_current,
            "comparator_reference_v": circuit.v_threshold + o.threshold_offset,
            "reset_reference_v": circuit.v_reset + o.reset_offset,
            "refractory_charge_current_a": refractory_current(circuit),
            "comparator_bias_current_a": comparator_current(circuit)}


def limits(spec: DesignSection) -> list[str]:
    neuron = spec_neuron(spec)
    out = []
    if neuron.bias_current < MIN_LEAK_BIAS:
        out.append(
            f"tau: C/tau = {spec.membrane_capacitance / spec.tau_m:.3g} S needs a leak bias "
            f"of {neuron.bias_current * 1e12:.3g} pA, below the {MIN_LEAK_BIAS * 1e12:g}"
            " pA floor where junction leakage, not the bias, sets the sky130_lp leak "
            f"(shorten tau or raise C by {MIN_LEAK_BIAS / neuron.bias_current:.2g}x)")
    floor = latency_floor(spec) + MIN_PULSE_S
    if not math.isnan(floor) and spec.refractory < floor:
        out.append(f"refractory: {spec.refractory * 1e6:.3g} us is below the detection "
                   f"latency plus the shortest pulse of the sky130_lp topology at "
                   f"tau = {spec.tau_m * 1e3:.3g} ms ({floor * 1e6:.3g} us)")
    return out


#: The low-power neuron's design hook (the ``design`` slot of its topology record).
DESIGN = DesignHook(
    topology="sky130_lp", candidates=candidates, circuit=build_circuit, knobs=read_knobs,
    min_pulse_s=MIN_PULSE_S, limits=limits, trims=trim_settings, static_power=static_power)
