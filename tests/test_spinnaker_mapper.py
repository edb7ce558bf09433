"""SpiNNaker mapper: the float model in the high-precision limit, rules and resources."""

from __future__ import annotations

import numpy as np

from lifhw.chips import spinnaker as sp
from lifhw.core import LIFParams
from lifhw.golden.lif import population_spike_counts, simulate_population
from lifhw.network import InputPopulation, Network, Population, Projection

NEURON = LIFParams(tau_m=10e-3, r_m=4e7, v_rest=-0.065, v_th=-0.050, v_reset=-0.065,
                   t_ref=2e-3, tau_syn_exc=2e-3, tau_syn_inh=2e-3)


def _network(dt: float, n_post: int = 50, n_pre: int = 40, seed: int = 1) -> Network:
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.25e-9, 0.25e-9, (n_post, n_pre))
    bias = rng.uniform(0.2e-9, 0.35e-9, n_post)
    return Network("exp", (InputPopulation("in", n_pre),),
                   (Population("out", n_post, NEURON, bias=bias),),
                   (Projection("in", "out", weights),), dt)


def test_constant_current_rates_match_golden() -> None:
    # Without input spikes sPyNNaker's update is the exact exponential propagator
    # in s16.15: over 2 s the counts equal the golden grid counts to one spike.
    dt = 1e-3
    bias = np.linspace(0.4e-9, 0.8e-9, 50)
    network = Network("bias", (InputPopulation("in", 1),),
                      (Population("out", 50, NEURON, bias=bias),), (), dt)
    config = sp.quantize(sp.map(network))
    steps = 2000
    run = sp.simulate(config, np.zeros((steps, 1), bool))
    golden = population_spike_counts(NEURON, network.populations[0].bias, t_stop=steps * dt,
                                     dt=dt)
    chip = run.spike_counts("out")
    assert golden.sum() > 500
    assert np.all(np.abs(chip - golden) <= 1)


def test_current_synapses_converge_to_golden_at_small_step() -> None:
    # sPyNNaker holds each step's synaptic current at its step average
    # (init = tau/dt (1 - exp(-dt/tau))); the golden model integrates the
    # exponential exactly. At 0.1 ms the two agree closely.
    dt = 1e-4
    network = _network(dt)
    steps = 5000
    rng = np.random.default_rng(2)
    spikes = rng.random((steps, 40)) < 40.0 * dt
    run = sp.simulate(sp.quantize(sp.map(network)), spikes)
    jumps = np.zeros((steps, 50))
    jumps[1:] = spikes[:-1].astype(float) @ network.projections[0].weights.T
    golden = simulate_population(NEURON, network.populations[0].bias, t_stop=steps * dt,
                                 dt=dt, syn_jump=jumps).spike_counts()
    chip = run.spike_counts("out")
    assert golden.sum() > 300
    assert abs(chip.sum() - golden.sum()) <= 0.02 * golden.sum()
    assert np.all(np.abs(chip - golden) <= 2)
    assert np.corrcoef(chip, golden)[0, 1] > 0.98


def test_dequantize_is_close_to_the_float_network() -> None:
    network = _network(1e-3)
    realised = sp.dequantize(sp.quantize(sp.map(network)))
    a, b = network.populations[0].neuron, realised.populations[0].neuron
    assert abs(b.tau_m - a.tau_m) / a.tau_m < 1e-3
    # the chip's kdivk (truncating) and expulr put the decay ~1e-5 off exp(-dt/tau)
    assert abs(b.tau_syn_exc - a.tau_syn_exc) / a.tau_syn_exc < 1e-5
    assert abs(b.v_th - a.v_th) < 2**-15 * 1e-3
    assert b.t_ref == a.t_ref
    w, w0 = realised.projections[0].weights, network.projections[0].weights
    assert np.max(np.abs(w - w0)) <= 2.0 ** (sp.quantize(sp.map(network)).shifts["out"][0]
                                             - 16) * 1e-9 + 1e-21


def test_delta_synapse_jump_at_end_of_step() -> None:
    # A delta-synapse population: one input spike moves V (after the step's decay)
    # by the float jump times exp(-dt/tau_m), as the golden grid model does.
    neuron = LIFParams(tau_m=10e-3, r_m=4e7, v_rest=-0.065, v_th=-0.050, v_reset=-0.065)
    network = Network("d", (InputPopulation("in", 1),), (Population("out", 1, neuron),),
                      (Projection("in", "out", np.array([[2e-3]])),), 1e-3)
    spikes = np.zeros((3, 1), bool)
    spikes[0, 0] = True
    run = sp.simulate(sp.quantize(sp.map(network)), spikes, record_states=True)
    v_mv = run.states["out"]["v"][:, 0] / 2**15
    expected = -65.0 + 2.0 * np.exp(-0.1)
    assert abs(v_mv[1] - expected) < 1e-3
    assert v_mv[0] == -65.0


def test_rules_and_resources_return_data() -> None:
    rng = np.random.default_rng(3)
    network = Network(
        "r", (InputPopulation("in", 300),), (Population("out", 600, NEURON),),
        (Projection("in", "out", rng.normal(0, 1e-9, (600, 300)), delay_steps=20),), 5e-4)
    config = sp.quantize(sp.map(network))
    rules = {v.rule: v for v in sp.check(config)}
    assert rules["timestep_rule"].severity == "warning"
    assert "delay extension" in rules["delay_range"].message
    res = sp.resources(config)
    assert res.cores_used == 3 + 2 + 2        # neurons, spike sources, delay extensions
    assert res.synapses_used == np.count_nonzero(config.weights_exc["in->out"]
                                                 + config.weights_inh["in->out"])
    assert res.extra["sdram_bytes"][0] == 4 * res.synapses_used
    run = sp.simulate(config, rng.random((30, 300)) < 0.05)
    assert sp.energy(config, run).total_j > 0


def test_mixed_current_and_delta_synapses_round_trip() -> None:
    neuron = LIFParams(tau_m=10e-3, r_m=4e7, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                       tau_syn_exc=5e-3, tau_syn_inh=0.0)
    weights = np.array([[0.5e-9, -1e-3]])
    network = Network("m", (InputPopulation("in", 2),), (Population("out", 1, neuron),),
                      (Projection("in", "out", weights),), 1e-3)
    config = sp.quantize(sp.map(network))
    assert config.neurons["out"].inh_delta and not config.neurons["out"].exc_delta
    realised = sp.dequantize(config)
    assert np.allclose(realised.projections[0].weights, weights, rtol=1e-3)
