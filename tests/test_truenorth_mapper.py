"""TrueNorth mapper: float-model limits, weight modes, design rules and resources."""

from __future__ import annotations

import numpy as np

from lifhw.chips import truenorth as tn
from lifhw.chips.base import parameter_deviations
from lifhw.core import LIFParams
from lifhw.golden.fi import lif_rate
from lifhw.golden.lif import simulate_population
from lifhw.network import InputPopulation, Network, Population, Projection

DT = 1e-3


def _golden_delta(network: Network, spikes: np.ndarray) -> np.ndarray:
    """Golden grid-convention raster of the single LIF population (delay 1)."""
    proj = network.projections[0]
    pop = network.populations[0]
    jumps = np.zeros((spikes.shape[0], pop.size))
    jumps[1:] = spikes[:-1].astype(float) @ proj.weights.T
    trace = simulate_population(pop.neuron, pop.bias, t_stop=spikes.shape[0] * DT, dt=DT,
                                dv_jump=jumps)
    raster = np.zeros((spikes.shape[0], pop.size), bool)
    steps = np.rint(trace.spike_times / DT).astype(int) - 1
    raster[steps, trace.spike_neurons] = True
    return raster


def _if_network(weights: np.ndarray, delta_units: float, unit: float) -> Network:
    """Non-leaky (tau_m = 1e4 s) neurons with delta synapses."""
    neuron = LIFParams(tau_m=1e4, r_m=1e8, v_rest=0.0, v_th=delta_units * unit,
                       v_reset=0.0)
    n_post, n_pre = weights.shape
    return Network("if", (InputPopulation("in", n_pre),),
                   (Population("out", n_post, neuron),),
                   (Projection("in", "out", weights),), DT)


def test_integrate_and_fire_limit_matches_golden_exactly() -> None:
    # One positive and one negative level per neuron, integer multiples of the
    # unit u = max|w| / 255: representable exactly with 2 axon copies. The
    # threshold 999.75 u rounds to alpha = 1000 and integer sums reach 999.75
    # exactly when they reach 1000, so the rasters must be identical.
    rng = np.random.default_rng(4)
    unit = 1e-5
    n_post, n_pre, steps = 40, 60, 300
    pos = rng.integers(50, 256, n_post)
    pos[0] = 255
    neg = rng.integers(50, 256, n_post)
    sign = rng.choice([1, -1, 0], size=(n_post, n_pre), p=[0.5, 0.2, 0.3])
    weights = np.where(sign > 0, pos[:, None], np.where(sign < 0, -neg[:, None], 0)) * unit
    network = _if_network(weights, 999.75, unit)
    spikes = rng.random((steps, n_pre)) < 0.1
    config = tn.quantize(tn.map(network))
    assert np.array_equal(config.weights["in->out"] * unit, weights)
    assert np.all(config.neurons["out"].alpha == 1000)
    assert np.all(config.neurons["out"].leak == 0)
    chip = tn.simulate(config, spikes).spikes["out"]
    golden = _golden_delta(network, spikes)
    assert golden.sum() > 100
    assert np.array_equal(chip, golden)


def test_ternary_mode_exact_for_equal_magnitudes() -> None:
    rng = np.random.default_rng(5)
    w0 = 2e-3
    sign = rng.choice([1, -1, 0], size=(20, 50), p=[0.5, 0.2, 0.3])
    network = _if_network(sign * w0, 9.75, w0)
    config = tn.quantize(tn.map(network, weight_mode="ternary"))
    assert set(np.unique(config.neurons["out"].weights[:, :2]).tolist()) <= {-1, 1}
    assert np.array_equal(config.weights["in->out"], sign)
    assert np.all(config.neurons["out"].alpha == 10)
    spikes = rng.random((300, 50)) < 0.1
    assert np.array_equal(tn.simulate(config, spikes).spikes["out"],
                          _golden_delta(network, spikes))


def test_bias_ramp_reproduces_float_rate() -> None:
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065)
    bias = np.linspace(0.2e-9, 0.6e-9, 9)
    network = Network("drive", (InputPopulation("in", 1),),
                      (Population("out", bias.size, neuron, bias=bias),), (), DT)
    config = tn.quantize(tn.map(network))
    assert not config.neurons["out"].leak_reversal.any()
    steps = 2000
    run = tn.simulate(config, np.zeros((steps, 1), bool))
    expected = np.asarray(lif_rate(bias, **neuron.as_kwargs()))
    raster = run.spikes["out"]
    rates = np.array([1.0 / (np.diff(np.flatnonzero(raster[:, j])).mean() * DT)
                      for j in range(bias.size)])
    # The ramp's ISI is an integer number of ticks: error < one tick per ISI.
    assert np.all(np.abs(rates - expected) / expected < DT * expected + 1e-9)


def test_four_axon_copies_fit_weights_better() -> None:
    rng = np.random.default_rng(6)
    weights = rng.normal(0.0, 1e-3, (30, 40))
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=0.0, v_th=0.01, v_reset=0.0)
    network = Network("w", (InputPopulation("in", 40),), (Population("out", 30, neuron),),
                      (Projection("in", "out", weights),), DT)
    errors = {}
    for copies in (2, 4):
        config = tn.quantize(tn.map(network, axon_types="sign", axon_copies=copies))
        realised = tn.dequantize(config)
        dev = [d for d in parameter_deviations(network, realised) if d.parameter == "weights"]
        errors[copies] = dev[0].error
    assert errors[4] < 0.8 * errors[2] < 0.8


def test_projection_axon_types_keep_each_source_scale() -> None:
    # Two excitatory sources 20x apart in strength and one inhibitory source:
    # with one axon type per (projection, sign) every uniform weight is exact;
    # sign levels shared across sources lose the weak one.
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=0.0, v_th=0.05, v_reset=0.0)
    strong, weak, inh = np.full((8, 5), 2e-3), np.full((8, 6), 1e-4), np.full((8, 4), -1e-3)
    network = Network(
        "g", (InputPopulation("a", 5), InputPopulation("b", 6), InputPopulation("c", 4)),
        (Population("out", 8, neuron),),
        (Projection("a", "out", strong), Projection("b", "out", weak),
         Projection("c", "out", inh)), DT)
    config = tn.quantize(tn.map(network))
    realised = tn.dequantize(config)
    for proj, original in zip(realised.projections, (strong, weak, inh), strict=True):
        # 9-bit levels with u = max|w| / 255: the weak source is 12.75 u -> 13 u
        assert np.allclose(proj.weights, original, rtol=0.5 / 12.75)
    assert sorted(np.unique(config.synapse_type["b->out"]).tolist()) == [1]
    assert config.placement["out"].axons_per_core == 15
    shared = tn.dequantize(tn.quantize(tn.map(network, axon_types="sign")))
    assert not np.allclose(shared.projections[1].weights, weak, rtol=0.5)


def test_fit_levels_two_clusters() -> None:
    w = np.array([[1.0, 1.2, 0.9, 5.0, 5.2, 0.0]])
    levels = tn.fit_levels(w, 2)
    assert np.allclose(levels, [[5.1, 1.0333333]], atol=1e-6)


def test_design_rules_and_resources_return_data() -> None:
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=0.0, v_th=0.01, v_reset=0.0, t_ref=2e-3)
    rng = np.random.default_rng(7)
    network = Network(
        "big", (InputPopulation("in", 300),),
        (Population("a", 600, neuron), Population("b", 10, neuron)),
        (Projection("in", "a", rng.normal(0, 1e-3, (600, 300))),
         Projection("a", "b", rng.normal(0, 1e-3, (10, 600)), delay_steps=20)), 2e-3)
    config = tn.quantize(tn.map(network))
    violations = tn.check(config)
    rules = {v.rule for v in violations}
    assert {"tick", "axons_per_core", "axon_delay", "neuron_model", "fan_out"} <= rules
    axon = [v for v in violations if v.rule == "axons_per_core" and v.where == "a"]
    assert "600 axons" in axon[0].message
    res = tn.resources(config)
    assert res.cores_used >= 3 + 1
    assert res.neurons_used >= 600 + 10
    assert res.extra["max_axons_per_core"] == (1200, tn.AXONS_PER_CORE)
    assert not res.fits
    assert res.as_dict()["fits"] is False
    run = tn.simulate(config, rng.random((20, 300)) < 0.05)
    energy = tn.energy(config, run)
    assert energy.total_j > 0 and all(t.source for t in energy.terms)


def test_map_is_pure_and_dequantize_keeps_shape() -> None:
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.07, v_th=-0.05, v_reset=-0.07,
                       tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    weights = np.full((5, 3), 1e-10)
    network = Network("p", (InputPopulation("in", 3),), (Population("out", 5, neuron),),
                      (Projection("in", "out", weights),), DT)
    spec = tn.map(network)
    assert np.array_equal(network.projections[0].weights, np.full((5, 3), 1e-10))
    realised = tn.dequantize(tn.quantize(spec))
    assert realised.projections[0].weights.shape == (5, 3)
    # equal-charge conversion and back: the uniform weight is represented exactly
    assert np.allclose(realised.projections[0].weights, weights, rtol=1e-6)
    assert any("equal-charge" in note for note in spec.notes)


def test_mixed_current_and_delta_synapses_round_trip() -> None:
    # Excitation through a 5 ms current synapse, inhibition as delta jumps.
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=0.0, v_th=0.01, v_reset=0.0,
                       tau_syn_exc=5e-3, tau_syn_inh=0.0)
    weights = np.array([[4e-10, -1e-3], [4e-10, -1e-3]])
    network = Network("m", (InputPopulation("in", 2),), (Population("out", 2, neuron),),
                      (Projection("in", "out", weights),), DT)
    spec = tn.map(network)
    # 4e-10 A * 1e8 Ohm * 5 ms / 20 ms = 1e-2 V; the inhibitory jump stays -1e-3 V
    assert np.allclose(spec.weights["in->out"] * spec.populations["out"]["unit_v"],
                       [[1e-2, -1e-3], [1e-2, -1e-3]])
    realised = tn.dequantize(tn.quantize(spec))
    # u = 1e-2 / 255: the inhibitory jump is 25.5 u, rounded to 26 u (2 %)
    assert np.allclose(realised.projections[0].weights, weights, rtol=0.5 / 25.5)


def test_stochastic_weight_mode_levels() -> None:
    # s = round(256 l) - 1, expected increment (s + 1) / 256
    assert tn.encode_level([1.0, 0.5, 0.25, 1 / 256], "stochastic").tolist() == [255, 127, 63, 0]
    assert tn.decode_level(127, "stochastic") == 0.5


def test_stochastic_weight_mode_matches_expected_drive() -> None:
    # Source a: weight 1 u (s = 255, always +1); source b: 0.25 u (s = 63, P = 1/4).
    # Only b fires, every tick: the float neuron crosses 9.9 u after 40 steps; the
    # stochastic one needs 10 successes of p = 1/4: mean ISI 40 ticks, same rate.
    unit = 1e-3
    neuron = LIFParams(tau_m=1e4, r_m=1e8, v_rest=0.0, v_th=9.9 * unit, v_reset=0.0)
    n = 200
    network = Network(
        "s", (InputPopulation("a", 1), InputPopulation("b", 1)),
        (Population("out", n, neuron),),
        (Projection("a", "out", np.full((n, 1), unit)),
         Projection("b", "out", np.full((n, 1), 0.25 * unit))), DT)
    config = tn.quantize(tn.map(network, weight_mode="stochastic"))
    assert config.weights["a->out"].ravel().tolist() == [255] * n
    assert config.weights["b->out"].ravel().tolist() == [63] * n
    assert config.neurons["out"].stochastic_synapse.all()
    steps = 2000
    spikes = {"a": np.zeros((steps, 1), bool), "b": np.ones((steps, 1), bool)}
    chip = tn.simulate(config, spikes).spike_counts("out")
    golden = _golden_delta_two(network, spikes)
    assert golden.sum() == n * ((steps - 1) // 40)
    assert abs(chip.sum() - golden.sum()) < 0.03 * golden.sum()
    assert chip.std() > 0          # the draws differ between neurons
    realised = tn.dequantize(config)
    assert np.allclose(realised.projections[1].weights, 0.25 * unit)


def _golden_delta_two(network: Network, spikes: dict[str, np.ndarray]) -> np.ndarray:
    pop = network.populations[0]
    steps = spikes["a"].shape[0]
    jumps = np.zeros((steps, pop.size))
    for proj in network.projections:
        jumps[1:] += spikes[proj.pre][:-1].astype(float) @ proj.weights.T
    trace = simulate_population(pop.neuron, pop.bias, t_stop=steps * DT, dt=DT,
                                dv_jump=jumps)
    return trace.spike_counts()
