"""Networks from elsewhere: unit scales, non-leaky (IF) neurons on every chip, convolutions.

Expected values are hand-derived from the formulas in the docstrings (the
power-of-two scale, the integrator's drift per step, the convolution sum
written as a loop), not computed by the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import nir
import numpy as np
import pytest

from lifhw import nir_bridge
from lifhw.chips import CHIPS, brainscales, spinnaker, truenorth
from lifhw.chips import rtl as rtl_target
from lifhw.chips.base import cap_tau_m, is_non_leaky, power_of_two_scale
from lifhw.core import LIFParams
from lifhw.network import load_experiment
from lifhw.snn import export, layers
from lifhw.snn.model import ConvSNN, NeuronConfig

ROOT = Path(__file__).resolve().parents[1]
DT = 1e-3


def if_graph(drift: float, threshold: float = 1.0, weight: float = 0.0) -> nir.NIRGraph:
    """One unitless NIR IF neuron (r = 1, reset 0) with a bias drift per step of ``dt``."""
    return nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([1])}),
               "fc": nir.Affine(weight=np.array([[weight]]), bias=np.array([drift / DT])),
               "output": nir.IF(r=np.ones(1), v_threshold=np.full(1, threshold),
                                v_reset=np.zeros(1)),
               "out": nir.Output(output_type={"output": np.array([1])})},
        edges=[("input", "fc"), ("fc", "output"), ("output", "out")])


def test_power_of_two_scale_formula() -> None:
    # physiological: fits and resolves -> the native unit
    assert power_of_two_scale(100.0, 2**15, 15.0, 2**-3) == 0
    # overflow: floor(log2(32768 / 1e6)) = floor(-4.93) = -5
    assert power_of_two_scale(1e6, 2**15, 1e3, 2**-3) == -5
    # tiny swing: ceil(log2(0.125 / 1e-3)) = 7, the range allows 24
    assert power_of_two_scale(1e-3, 2**15, 1e-3, 2**-3) == 7


def test_integrators_are_recognised_and_capped() -> None:
    network = nir_bridge.from_nir(if_graph(0.1), dt=DT)
    neuron = network.population("output").neuron
    assert is_non_leaky(neuron.tau_m, DT)
    assert not is_non_leaky(1.0, DT) and not is_non_leaky(20e-3, DT)
    capped, changed = cap_tau_m(neuron, 2.0)
    assert changed and capped.tau_m == 2.0
    assert capped.r_m / capped.tau_m == pytest.approx(neuron.r_m / neuron.tau_m, rel=1e-12)
    # the longest leaks, from each target's register (hand-evaluated)
    # SpiNNaker: -dt / ln(32766 / 32768), the chip's exp of one LSB
    assert spinnaker.longest_tau_m(DT) == pytest.approx(16383.5 * DT, rel=1e-6)
    assert brainscales.longest_tau_m() == pytest.approx(1.022, rel=1e-12)
    assert rtl_target.core_neuron(neuron, DT)[0].tau_m == pytest.approx(4095.5 * DT, rel=1e-6)


@pytest.mark.parametrize("chip", ["loihi", "truenorth", "spinnaker"])
def test_if_neuron_with_bias_fires_at_the_integrator_rate(chip: str) -> None:
    """Drift 1/7.3 of the threshold per step: V crosses 1 after ceil(7.3) = 8 steps."""
    network = nir_bridge.from_nir(if_graph(1 / 7.3), dt=DT)
    target = CHIPS.get(chip)
    config = target.quantize(target.map(network))
    assert not [v for v in target.check(config) if v.severity == "error"]
    run = target.simulate(config, np.zeros((80, 1), dtype=bool))
    spikes = np.flatnonzero(run.spikes["output"][:, 0])
    assert spikes.size == 10
    assert np.all(np.diff(spikes) == 8)


def test_spinnaker_if_neuron_gets_the_longest_leak_not_a_frozen_membrane() -> None:
    network = nir_bridge.from_nir(if_graph(0.1), dt=DT)
    config = spinnaker.quantize(spinnaker.map(network))
    # The chip's exp_TC at the longest leak: expk(-1 LSB) = 32766 (1 - 2 * 2**-15, the
    # truncated table-and-quadratic exponential, see tests/test_spinnaker_constants.py),
    # not 32768 (1.0, a frozen membrane).
    assert int(config.neurons["output"].exp_tc[0]) == 32766
    assert [v.rule for v in spinnaker.check(config)] == ["residual_leak"]
    assert not [v for v in spinnaker.check(config) if v.severity == "error"]


def test_spinnaker_scale_is_a_common_scale_of_the_network() -> None:
    """Threshold 1 and threshold 4 (weights and bias x4): the same integers."""
    a = spinnaker.quantize(spinnaker.map(nir_bridge.from_nir(if_graph(0.1, 1.0, 0.5))))
    b = spinnaker.quantize(spinnaker.map(nir_bridge.from_nir(if_graph(0.4, 4.0, 2.0))))
    na, nb = a.neurons["output"], b.neurons["output"]
    for field in ("v_rest", "v_reset", "v_thresh", "r_membrane", "exp_tc", "i_offset"):
        assert np.array_equal(getattr(na, field), getattr(nb, field)), field
    assert a.shifts == b.shifts
    assert np.array_equal(a.weights_exc["input->output"], b.weights_exc["input->output"])
    assert b.spec.populations["output"]["mv_per_v"] == a.spec.populations["output"][
        "mv_per_v"] / 4


def test_physiological_networks_keep_millivolts_and_nanoamperes() -> None:
    network, _ = load_experiment(ROOT / "circuits/networks/ei_small.toml")
    spec = spinnaker.map(network)
    for target in spec.populations.values():
        assert target["mv_per_v"] == 1e3 and target["na_per_a"] == 1e9
        assert not target["residual_leak"]


def test_truenorth_if_neuron_has_no_leak_and_a_drift() -> None:
    network = nir_bridge.from_nir(if_graph(-0.05, weight=0.5), dt=DT)
    spec = truenorth.map(network)
    target = spec.populations["output"]
    assert target["integrator"] and not np.any(target["leak_reversal"])
    # u = max(max|W| / 255, ...) = 0.5 / 255; drift -0.05 V per tick -> -25.5 units
    assert target["leak"][0] == pytest.approx(-0.05 / (0.5 / 255), rel=1e-12)
    assert target["alpha"][0] == pytest.approx(255 / 0.5, rel=1e-12)
    config = truenorth.quantize(spec)
    back = truenorth.dequantize(config).population("output")
    drift = back.bias[0] * back.neuron.r_m * DT / back.neuron.tau_m
    assert drift == pytest.approx(-26 * 0.5 / 255, rel=1e-12)   # round_half_away(-25.5)


def test_brainscales_if_neuron_runs_with_its_longest_leak() -> None:
    network = nir_bridge.from_nir(if_graph(0.1), dt=DT)
    config = brainscales.quantize(brainscales.map(network, spread=0.0))
    leak = [v for v in brainscales.check(config) if v.rule == "residual_leak"]
    assert len(leak) == 1 and "1.02 s" in leak[0].message
    assert not [v for v in brainscales.check(config) if v.rule == "capmem_range"]


# -- convolutions -----------------------------------------------------------------------


def _conv_loop(w: np.ndarray, x: np.ndarray, stride: tuple[int, int],
               padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """The convolution sum, written out."""
    c_out, c_in, kh, kw = w.shape
    _, h, wd = x.shape
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((c_out, h_out, w_out))
    for o in range(c_out):
        for i in range(h_out):
            for j in range(w_out):
                for c in range(c_in):
                    for u in range(kh):
                        for v in range(kw):
                            yy = i * stride[0] - padding[0] + u * dilation[0]
                            xx = j * stride[1] - padding[1] + v * dilation[1]
                            if 0 <= yy < h and 0 <= xx < wd:
                                y[o, i, j] += w[o, c, u, v] * x[c, yy, xx]
    return y


@pytest.mark.parametrize("stride,padding,dilation", [((1, 1), (1, 1), (1, 1)),
                                                     ((2, 1), (1, 2), (1, 2)),
                                                     ((1, 3), (0, 0), (2, 1))])
def test_conv2d_matrix_is_the_convolution_sum(stride: tuple[int, int],
                                              padding: tuple[int, int],
                                              dilation: tuple[int, int]) -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(3, 2, 3, 2))
    x = rng.normal(size=(2, 7, 6))
    matrix = nir_bridge.conv2d_matrix(w, x.shape, stride=stride, padding=padding,
                                      dilation=dilation)
    expected = _conv_loop(w, x, stride, padding, dilation)
    assert matrix.shape == (expected.size, x.size)
    np.testing.assert_allclose(matrix @ x.ravel(), expected.ravel(), rtol=1e-12, atol=1e-12)


def _small_conv() -> ConvSNN:
    model = ConvSNN.init_conv((1, 5, 5), (2,), (3,), NeuronConfig(tau_m=20e-3, dt=DT),
                              padding=1, seed=2, gain=3.0)
    model.weights = [w.astype(np.float64) for w in model.weights]
    model.biases = [np.array([0.05, -0.02]), np.array([0.01, 0.0, 0.03])]
    return model


def test_conv_network_runs_as_the_conv_model() -> None:
    model = _small_conv()
    assert np.array_equal(export.dense_layers(model)[0] @ np.eye(25)[:, 7],
                          layers.conv2d(np.eye(25)[7].reshape(1, 1, 1, 5, 5),
                                        model.weights[0], 1).ravel())
    network = export.conv_to_network(model)
    x = (np.random.default_rng(0).random((20, 8, 25)) < 0.3).astype(np.float64)
    out = export.simulate_network(network, x)
    record = model.forward(x)
    hidden = record.s[0].reshape(20, 8, -1).astype(bool)
    assert record.output.any() and hidden.any()
    # float64 on both sides; only spikes within rounding of threshold may differ
    assert np.mean(out["hidden1"] == hidden) > 0.999
    assert np.mean(out["output"] == record.output.astype(bool)) > 0.999


def test_conv_nir_round_trip(tmp_path: Path) -> None:
    model = _small_conv()
    graph = export.conv_to_nir(model)
    assert [type(n).__name__ for n in graph.nodes.values()].count("Conv2d") == 1
    path = nir_bridge.write_graph(tmp_path / "conv.nir", graph)
    back = export.conv_from_nir(nir.read(path))
    assert back.padding == model.padding and back.in_shape == model.in_shape
    for a, b in zip(back.weights, model.weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)    # stored float32 like training
    for a, b in zip(back.biases, model.biases, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    unrolled = nir_bridge.read(path)
    direct = export.conv_to_network(model)
    for a, b in zip(unrolled.projections, direct.projections, strict=True):
        np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12, atol=1e-18)
    for a, b in zip(unrolled.populations, direct.populations, strict=True):
        np.testing.assert_allclose(a.bias, b.bias, rtol=1e-12, atol=1e-24)
        assert a.neuron == b.neuron


def test_integrator_params_survive_the_if_import() -> None:
    neuron = nir_bridge.from_nir(if_graph(0.1), dt=DT).population("output").neuron
    assert neuron.v_th == 1.0 and neuron.v_reset == 0.0
    assert neuron.r_m / neuron.tau_m == 1.0
    assert math.isclose(neuron.tau_m, nir_bridge.IF_TAU_M)
    assert isinstance(neuron, LIFParams)


def test_two_integrators_have_no_tau_error() -> None:
    from lifhw.chips import loihi
    from lifhw.chips.base import parameter_deviations

    network = nir_bridge.from_nir(if_graph(0.1, weight=0.5), dt=DT)
    config = loihi.quantize(loihi.map(network))
    realised = loihi.dequantize(config)
    assert realised.population("output").neuron.tau_m > 1e6 * DT   # dv = 0
    tau = [d for d in parameter_deviations(network, realised) if d.parameter == "tau_m"]
    assert len(tau) == 1 and tau[0].error == 0.0
    # SpiNNaker's residual leak is a real deviation and stays visible
    spinn = spinnaker.dequantize(spinnaker.quantize(spinnaker.map(network)))
    tau = [d for d in parameter_deviations(network, spinn) if d.parameter == "tau_m"]
    assert tau[0].error == pytest.approx(1 - 16383.5 * DT / 1e4, rel=1e-4)
