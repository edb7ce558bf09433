"""``lifhw design`` hook of the low-power sky130 neuron (``sky130_lp``): knobs, candidates, limits.

Knobs (:class:`lifhw.analog.design.Knobs`) map onto ``[circuit.sky130_lp]`` options of
the same names as in the sky130 hook: ``leak_scale`` -> ``leak_bias_scale``,
``offset_current`` -> ``offset_current``, ``parasitic_capacitance`` ->
``membrane_parasitic_capacitance``, ``threshold_offset`` / ``reset_offset`` -> the
comparator and reset references, ``refractory_scale`` -> ``refractory_current_scale``
(the refractory timer's charging current).

Candidates (co-design), in rising static power, from a latency budget: the refractory
period less the shortest pulse must hold the comparator's detection latency
(:func:`predicted_latency`, scaled from measured points). Two comparators:

* the **pA comparator** (the reference design: 0.42/1 um pfet pair) at
  ``comparator_ratio`` 4, 8, 16 (:data:`COMPARATOR_RATIOS`). At 0.8 V its tail
  saturates near 20-50 pA (the pair's source-gate voltage leaves the tail no
  headroom, and wider sky130 pfets are weaker per width), so more ratio buys little:
  latency ~0.33 ms at tau = 10 ms, ~0.70 ms at tau = 50 ms (ratio 8, measured);
* the **fast comparator** (0.42/0.15 um pair: ~100x the current at the same
  source-gate voltage) at absolute tail currents :data:`FAST_COMPARATOR_CURRENTS`;
  its larger systematic offset (the comparator trips ~30 mV early untrimmed) is what
  the threshold trim is for. Measured at tau = 50 ms: latency 84 us at 0.38 nA,
  32 us at 1.5 nA.

A refractory capacitor large enough that its charging current stays above
:data:`MIN_REFRACTORY_CURRENT`, and a reset clamp wide enough to settle the membrane
within a fortieth of the refractory period at the slowest corner
(:func:`reset_switch_width`; 3.78/0.15 um for the example). The membrane and
refractory capacitors are sky130 MIM arrays, as in ``circuits/ota_lif_sky130_lp.toml``.

Refused before simulating (:func:`limits`, with numbers): a leak bias below
:data:`MIN_LEAK_BIAS` and a refractory period below the detection latency of the
fastest candidate plus the shortest pulse (:func:`latency_floor`). The loop also holds
the two-current refractory estimate inside its tolerance
(:attr:`lifhw.analog.design.DesignHook.two_point_refractory`): the pA comparator's
latency depends on the input slope, so the estimators differ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from lifhw.analog.design import DesignHook, DesignSection, Knobs, spec_circuit, spec_neuron
from lifhw.analog.params import CircuitSection

#: Comparator tail ratios ``I_c / I_b`` of the pA comparator, in rising static power.
COMPARATOR_RATIOS = (4.0, 8.0, 16.0)
#: Tail currents (A) of the fast comparator (0.42/0.15 um pair), in rising power.
FAST_COMPARATOR_CURRENTS = (0.1e-9, 0.4e-9, 1.6e-9, 6.4e-9)
#: Pair and load length (m) of the fast comparator.
FAST_COMPARATOR_L = 0.15e-6
#: Detection latency (s) of the pA comparator at ratio 8 and tau = 10 ms, and its
#: scaling ``(tau / 10 ms)^0.5 (8 / ratio)^0.4`` (the loop's latency, refractory
#: period less pulse, measured: 0.43 / 0.32 / 0.26 ms at ratios 4 / 8 / 16 and
#: tau = 10 ms, 0.70 ms at ratio 8 and tau = 50 ms, 0.11 ms at ratio 4 and tau = 1 ms).
PA_LATENCY_S = 0.33e-3
PA_RATIO_EXPONENT = 0.4
#: Detection latency (s) of the fast comparator at 1.5 nA and tau = 50 ms, and its
#: scaling ``(tau / 50 ms)^0.3 (1.5 nA / I_c)^0.7`` (the loop's latency, measured: 84 us
#: at 0.38 nA and 32 us at 1.5 nA at tau = 50 ms, 27 us at 0.4 nA at tau = 1 ms).
FAST_LATENCY_S = 32e-6
FAST_LATENCY_CURRENT = 1.5e-9
FAST_CURRENT_EXPONENT = 0.7
FAST_TAU_EXPONENT = 0.3
#: tau exponent of the pA comparator's latency (an integrating comparator on a ramp of
#: slope ~ 1 / tau: latency ~ slope^-1/2).
LATENCY_TAU_EXPONENT = 0.5
#: Fraction of (refractory period - shortest pulse) a candidate's predicted latency
#: may take (the prediction is a scaling law through a few measured points).
LATENCY_MARGIN = 0.8
#: Candidates tried at most (the cheapest that fit the latency budget).
MAX_CANDIDATES = 5
#: Smallest realisable leak bias (A): below it junction leakage, not the bias, sets
#: the leak (as for the sky130 topology).
MIN_LEAK_BIAS = 1e-12
#: Smallest charging current (A) of the refractory timer: below it junction leakage
#: on ``rc`` decides the pulse.
MIN_REFRACTORY_CURRENT = 1e-12
#: Shortest refractory pulse (s) the timer and latch make reliably.
MIN_PULSE_S = 20e-6
#: Settling time constant (s F^-1 m) of the reset clamp: ``R_on C`` of a 0.42/0.15 um
#: nfet at V_gs = 0.5 V is ~18 us at 0.2 pF (measured), i.e. ~90 MOhm x 0.42 um.
RESET_RESISTANCE_OHM_M = 90e6 * 0.42e-6
#: On-resistance of the clamp at the slowest corner over tt: the 0.42/0.15 um clamp
#: settles ~25x slower at fs (measured on the trimmed fs circuit: ~0.3-0.6 ms).
RESET_CORNER_SLOWDOWN = 25.0
#: The clamp settles the membrane within this fraction of the refractory period at
#: the slowest corner (a weaker clamp leaves a post-reset level that depends on the
#: input current, which the mean reset trim cannot absorb).
RESET_FRACTION = 1.0 / 40.0


def predicted_latency(spec: DesignSection, candidate: Mapping[str, float]) -> float:
    """Detection latency (s) of a candidate, scaled from the measured points."""
    if candidate.get("comparator_l", 1e-6) <= FAST_COMPARATOR_L:
        current = candidate["comparator_ratio"] * spec_neuron(spec).bias_current
        return (FAST_LATENCY_S * (spec.tau_m / 50e-3) ** FAST_TAU_EXPONENT
                * (FAST_LATENCY_CURRENT / current) ** FAST_CURRENT_EXPONENT)
    return (PA_LATENCY_S * (spec.tau_m / 10e-3) ** LATENCY_TAU_EXPONENT
            * (8.0 / candidate["comparator_ratio"]) ** PA_RATIO_EXPONENT)


def reset_switch_width(spec: DesignSection) -> float:
    """Reset clamp width (m): settles C within :data:`RESET_FRACTION` of t_ref at a
    :data:`RESET_CORNER_SLOWDOWN` x weaker corner."""
    from lifhw.analog.sky130_lp_params import Sky130LpOptions

    base = Sky130LpOptions().switch_w
    need = (RESET_CORNER_SLOWDOWN * RESET_RESISTANCE_OHM_M * spec.membrane_capacitance
            / (RESET_FRACTION * spec.refractory))
    return base * max(1, math.ceil(need / base - 1e-9))


def _all_candidates(spec: DesignSection) -> list[dict[str, float]]:
    from lifhw.analog.sky130_lp_params import Sky130LpOptions

    opts = Sky130LpOptions()
    c_ref = max(opts.refractory_capacitance,
                MIN_REFRACTORY_CURRENT * spec.refractory / opts.detector_trip_voltage)
    common: dict[str, float] = {"refractory_capacitance": c_ref}
    switch = reset_switch_width(spec)
    if switch > opts.switch_w:
        common["switch_w"] = switch
    bias = spec_neuron(spec).bias_current
    out = [{"comparator_ratio": r, **common} for r in COMPARATOR_RATIOS]
    out += [{"comparator_ratio": i / bias, "comparator_l": FAST_COMPARATOR_L, **common}
            for i in FAST_COMPARATOR_CURRENTS if i > COMPARATOR_RATIOS[-1] * bias]
    return out


def candidates(spec: DesignSection) -> list[dict[str, float]]:
    budget = LATENCY_MARGIN * (spec.refractory - MIN_PULSE_S)
    fitting = [c for c in _all_candidates(spec) if predicted_latency(spec, c) <= budget]
    return fitting[:MAX_CANDIDATES]


def latency_floor(spec: DesignSection) -> float:
    """Shortest predicted detection latency (s) of any candidate for the spec's tau."""
    return min(predicted_latency(spec, c) for c in _all_candidates(spec))


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
        return out
    floor = latency_floor(spec) / LATENCY_MARGIN + MIN_PULSE_S
    if spec.refractory < floor:
        out.append(f"refractory: {spec.refractory * 1e6:.3g} us is below the detection "
                   f"latency plus the shortest pulse of the sky130_lp topology at "
                   f"tau = {spec.tau_m * 1e3:.3g} ms ({floor * 1e6:.3g} us, with the "
                   f"{FAST_COMPARATOR_CURRENTS[-1] * 1e9:g} nA comparator)")
    return out


#: The low-power neuron's design hook (the ``design`` slot of its topology record).
DESIGN = DesignHook(
    topology="sky130_lp", candidates=candidates, circuit=build_circuit, knobs=read_knobs,
    min_pulse_s=MIN_PULSE_S, limits=limits, trims=trim_settings, static_power=static_power,
    two_point_refractory=True)
