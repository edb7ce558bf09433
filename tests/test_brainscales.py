"""BrainScaleS-2 emulation: golden model in scaled time, CapMem map, noise, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from lifhw.chips import brainscales as bs
from lifhw.core import LIFParams
from lifhw.golden.fi import lif_rate
from lifhw.golden.network import simulate_network
from lifhw.network import InputPopulation, Network, Population, Projection

NEURON = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065,
                   t_ref=2e-3, tau_syn_exc=5e-3, tau_syn_inh=5e-3)


def _network(n_post: int = 80, n_pre: int = 40, seed: int = 1) -> Network:
    rng = np.random.default_rng(seed)
    return Network(
        "bss", (InputPopulation("in", n_pre),),
        (Population("out", n_post, NEURON, bias=rng.uniform(0.1e-9, 0.2e-9, n_post)),),
        (Projection("in", "out", rng.normal(0.3e-9, 0.2e-9, (n_post, n_pre))),), 1e-3)


def _spikes(steps: int = 800, n: int = 40, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).random((steps, n)) < 0.02


def test_capmem_map_values() -> None:
    # V = code * 1.2 / 1022: 0.6 V -> 511; tau = 1 us * 1022 / code: 10 us -> 102.2 -> 102
    assert bs.voltage_code(0.6) == 511
    assert bs.tau_code(10e-6) == 102
    assert np.isclose(bs.nominal("tau_m", 102), 1022 / 102 * 1e-6)
    assert bs.tau_code(1e-3) == 1 and bs.tau_code(1e-7) == bs.CAPMEM_MAX
    assert bs.drive_code(5e-3) == 50


def test_zero_noise_is_the_golden_model_in_scaled_time() -> None:
    network = _network()
    config = bs.quantize(bs.map(network, spread=0.0, calibrated=False))
    run = bs.simulate(config, _spikes())
    assert run.meta["chip_dt_s"] == pytest.approx(network.dt / 1000)
    realised = bs.dequantize(config)
    # chip-time constants are the biological ones / 1000 (to CapMem resolution)
    tau_chip = config.realised("out")["tau_m"]
    assert np.allclose(tau_chip * 1000, realised.populations[0].neuron.tau_m)
    assert abs(tau_chip[0] * 1000 - NEURON.tau_m) / NEURON.tau_m < 0.02
    golden = simulate_network(realised, _spikes())
    assert run.spikes["out"].sum() > 1000
    assert np.array_equal(run.spikes["out"], golden.spikes["out"])


def test_zero_noise_close_to_the_float_network() -> None:
    network = _network()
    run = bs.simulate(bs.quantize(bs.map(network, spread=0.0, calibrated=False)), _spikes())
    golden = simulate_network(network, _spikes())
    chip, ref = run.spike_counts("out"), golden.spike_counts("out")
    assert abs(chip.sum() - ref.sum()) < 0.03 * ref.sum()
    assert np.corrcoef(chip, ref)[0, 1] > 0.99


def test_bias_is_a_leak_shift() -> None:
    bias = np.linspace(0.2e-9, 0.4e-9, 5)
    network = Network("b", (InputPopulation("in", 1),),
                      (Population("out", 5, NEURON, bias=bias),), (), 1e-4)
    run = bs.simulate(bs.quantize(bs.map(network, spread=0.0, calibrated=False)),
                      np.zeros((10000, 1), bool))
    expected = np.asarray(lif_rate(bias, **NEURON.as_kwargs()))
    rates = run.spike_counts("out") / run.t_stop
    assert np.all(np.abs(rates - expected) / expected < 0.04)


def test_fixed_pattern_noise_is_seeded_and_calibration_removes_most() -> None:
    network = _network()
    raw = bs.quantize(bs.map(network, spread=0.2, seed=3, calibrated=False))
    again = bs.quantize(bs.map(network, spread=0.2, seed=3, calibrated=False))
    other = bs.quantize(bs.map(network, spread=0.2, seed=4, calibrated=False))
    assert np.array_equal(raw.realised("out")["v_th"], again.realised("out")["v_th"])
    assert not np.array_equal(raw.realised("out")["v_th"], other.realised("out")["v_th"])
    cal = bs.calibrate(raw)
    target = raw.spec.populations["out"]
    for name in ("v_th", "v_reset", "v_leak"):
        before = np.sqrt(np.mean((raw.realised("out")[name] - target[name]) ** 2))
        after = np.sqrt(np.mean((cal.realised("out")[name] - target[name]) ** 2))
        assert before > 0.01 and after < 0.15 * before, name
    for name in ("tau_m", "tau_syn_exc", "drive"):
        before = np.std(np.log(raw.realised("out")[name] / target[name]))
        after = np.sqrt(np.mean(np.log(cal.realised("out")[name] / target[name]) ** 2))
        assert after < 0.15 * before, name
    golden = simulate_network(network, _spikes()).spike_counts("out")
    r_raw = np.corrcoef(bs.simulate(raw, _spikes()).spike_counts("out"), golden)[0, 1]
    r_cal = np.corrcoef(bs.simulate(cal, _spikes()).spike_counts("out"), golden)[0, 1]
    assert r_cal > 0.97 > r_raw


def test_weights_are_six_bit_signed_rows() -> None:
    network = _network()
    config = bs.quantize(bs.map(network, spread=0.0))
    w = config.weights["in->out"]
    assert np.abs(w).max() == 63
    assert w.dtype.kind == "i"
    sources_with_both = np.sum(np.any(w > 0, axis=0) & np.any(w < 0, axis=0))
    res = bs.resources(config)
    assert res.extra["rows"][0] == np.sum(np.any(w > 0, axis=0)) + np.sum(np.any(w < 0, axis=0))
    assert res.extra["rows"][0] >= 40 + sources_with_both - 40


def test_design_rules_return_data() -> None:
    rng = np.random.default_rng(5)
    delta = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065)
    network = Network(
        "big", (InputPopulation("in", 200),), (Population("out", 600, delta),),
        (Projection("in", "out", rng.normal(0, 1e-3, (600, 200)), delay_steps=3),), 1e-3)
    config = bs.quantize(bs.map(network))
    violations = bs.check(config)
    capacity = [v for v in violations if v.rule == "chip_capacity"]
    # Placed over hemispheres (256 neurons, 256 rows each): a neuron takes 200 rows
    # (one sign per source), so it fits, but 600 of them need more than one chip:
    # a warning that names the chips and the inter-chip traffic, not an error.
    assert [v.severity for v in capacity] == ["warning"]
    assert "chips" in capacity[0].message and "inter-chip" in capacity[0].message
    assert bs.place(config.spec).chips_used > 1
    assert {"synapse_model"} <= {v.rule for v in violations}
    assert not bs.resources(config).fits
    run = bs.simulate(config, rng.random((5, 200)) < 0.1)
    assert bs.energy(config, run).terms[0].source


def test_mixed_current_and_delta_synapses_round_trip() -> None:
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                       tau_syn_exc=5e-3, tau_syn_inh=0.0)
    weights = np.array([[0.3e-9, -1e-3]])
    network = Network("m", (InputPopulation("in", 2),), (Population("out", 1, neuron),),
                      (Projection("in", "out", weights),), 1e-3)
    config = bs.quantize(bs.map(network, spread=0.0))
    assert "synapse_model" in {v.rule for v in bs.check(config)}
    realised = bs.dequantize(config)
    assert np.allclose(realised.projections[0].weights, weights, rtol=0.02)
