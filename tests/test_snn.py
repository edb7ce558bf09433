"""lifhw.snn: layers, surrogate gradients, three-factor rule, conversion, digits task.

References are closed forms (kernels, encodings, surrogate integrals), an
independent implementation (the golden LIF kernels of lifhw.golden.lif, explicit
loops, finite differences) or the task's stated targets.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.lif import simulate_population
from lifhw.network import InputPopulation, Network, Population, Projection
from lifhw.snn import convert, data, export, model, task, train
from lifhw.snn.layers import KERNELS, SpikingConv2d, SpikingDense, SynapseKernel
from lifhw.snn.surrogate import SURROGATES, Surrogate


@pytest.fixture(scope="module")
def digits() -> data.Digits:
    return data.load()


# -- surrogates --------------------------------------------------------------

@pytest.mark.parametrize("name", SURROGATES)
def test_surrogate_is_derivative_of_its_smooth_step(name: str) -> None:
    sur = Surrogate(name, scale=3.0)
    x = np.linspace(-4, 4, 2001) + 1e-4  # off the cusp of fast_sigmoid at 0
    h = 1e-7
    numeric = (sur.smooth(x + h) - sur.smooth(x - h)) / (2 * h)
    assert np.allclose(sur.grad(x), numeric, rtol=1e-6, atol=1e-8)
    # a step from 0 to 1: the derivative integrates to one (closed-form limits)
    assert sur.smooth(np.array([-1e9]))[0] == pytest.approx(0.0, abs=1e-8)
    assert sur.smooth(np.array([1e9]))[0] == pytest.approx(1.0, abs=1e-8)
    assert sur.smooth(np.array([0.0]))[0] == pytest.approx(0.5)


def test_surrogate_closed_forms() -> None:
    # arctan: (k/2)/(1+(pi k x/2)^2) at x = 0 is k/2; sigmoid k/4; fast sigmoid k/2
    assert Surrogate("arctan", 4.0).grad(np.array([0.0]))[0] == pytest.approx(2.0)
    assert Surrogate("sigmoid", 4.0).grad(np.array([0.0]))[0] == pytest.approx(1.0)
    assert Surrogate("fast_sigmoid", 4.0).grad(np.array([0.0]))[0] == pytest.approx(2.0)
    with pytest.raises(ParamError, match="did you mean 'sigmoid'"):
        Surrogate("sigmoidd")
    with pytest.raises(ParamError):
        Surrogate("arctan", 0.0)


# -- layers ------------------------------------------------------------------

@pytest.mark.parametrize("kind", KERNELS)
def test_kernel_impulse_response(kind: str) -> None:
    kernel = SynapseKernel(kind, tau_syn=4e-3, dt=1e-3)
    # beta = 1, unreachable threshold: V is the running sum of the current
    layer = SpikingDense(kernel=kernel, beta=1.0, theta=1e9, weights=np.array([[1.0]]))
    spikes = np.zeros((30, 1, 1))
    spikes[0] = 1
    _, v = layer.run_dense(spikes, record_v=True)
    assert v is not None
    current = np.diff(np.concatenate([[0.0], v[:, 0, 0]]))
    n = np.arange(30)
    a = math.exp(-0.25)
    expected = {"delta": (n == 0) * 1.0, "exp": a ** n,
                "alpha": (n + 1) * a ** n / np.max((n + 1) * a ** n)}[kind]
    assert np.allclose(current, expected, rtol=1e-12, atol=1e-15)
    if kind == "alpha":
        assert current.max() == pytest.approx(1.0)


@pytest.mark.parametrize("kind", KERNELS)
@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_conv_dense_and_event_driven_agree_exactly(kind: str, reset: str) -> None:
    rng = np.random.default_rng(1)
    conv = SpikingConv2d(kernel=SynapseKernel(kind, 3e-3), beta=0.9, reset=reset,
                         bias=np.array([0.0, 0.02, -0.01]),
                         weights=rng.normal(0, 0.4, (3, 2, 3, 3)), padding=1)
    x = rng.random((25, 2, 2, 7, 6)) < 0.15
    s_dense, v_dense = conv.run_dense(x, record_v=True)
    s_event, v_event = conv.run_events(x, record_v=True)
    assert s_dense.sum() > 20
    assert np.array_equal(s_dense, s_event)
    assert np.array_equal(v_dense, v_event)  # bitwise


def test_dense_layer_dense_and_event_agree_exactly() -> None:
    rng = np.random.default_rng(2)
    # weights that are NOT on a nice grid: exactness comes from exact_grid
    layer = SpikingDense(kernel=SynapseKernel("alpha", 5e-3), beta=0.95,
                         weights=rng.normal(0, 0.3, (11, 40)) * math.pi)
    x = rng.random((40, 4, 40)) < 0.1
    a, va = layer.run_dense(x, True)
    b, vb = layer.run_events(x, True)
    assert a.sum() > 10 and np.array_equal(a, b) and np.array_equal(va, vb)


def test_conv_spatial_sum_matches_explicit_loop() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(0, 1, (2, 3, 3, 2))
    conv = SpikingConv2d(kernel=SynapseKernel("delta"), beta=0.9, weights=w, padding=1)
    x = (rng.random((1, 1, 3, 5, 4)) < 0.5).astype(float)
    got = conv.spatial_dense(x)[0, 0]
    padded = np.pad(x[0, 0], ((0, 0), (1, 1), (1, 1)))
    ref = np.zeros((2, 5, 5))
    for o in range(2):
        for i in range(5):
            for j in range(5):
                ref[o, i, j] = np.sum(w[o] * padded[:, i:i + 3, j:j + 2])
    assert got.shape == (2, 5, 5)
    assert np.allclose(got, ref, atol=1e-12)


def test_delta_layer_matches_golden_grid_lif() -> None:
    """Normalised delta-kernel layer == golden LIF (volts, grid convention)."""
    rng = np.random.default_rng(4)
    tau, dt, scale = 20e-3, 1e-3, 0.02
    w = rng.normal(0.15, 0.2, (5, 12))
    layer = SpikingDense(kernel=SynapseKernel("delta"), beta=math.exp(-dt / tau), weights=w)
    x = (rng.random((200, 1, 12)) < 0.3).astype(float)
    spikes, _ = layer.run_dense(x)
    params = LIFParams(tau_m=tau, r_m=1e8, v_rest=-0.065, v_th=-0.065 + scale,
                              v_reset=-0.065)
    jumps = scale * (x[:, 0] @ layer.weights.T)
    trace = simulate_population(params, np.zeros(5), t_stop=200 * dt, dt=dt, dv_jump=jumps)
    golden = np.zeros((200, 5), dtype=bool)
    golden[np.rint(trace.spike_times / dt).astype(int) - 1, trace.spike_neurons] = True
    assert spikes[:, 0].sum() > 30
    assert np.array_equal(spikes[:, 0], golden)


def test_simulate_network_matches_golden_with_bias_and_refractory() -> None:
    rng = np.random.default_rng(5)
    neuron = LIFParams(tau_m=10e-3, r_m=1e8, v_rest=-0.07, v_th=-0.05,
                              v_reset=-0.075, t_ref=3e-3)
    bias = rng.uniform(0.1e-9, 0.3e-9, 6)
    w = rng.normal(4e-3, 3e-3, (6, 9))
    net = Network("n", (InputPopulation("input", 9),),
                         (Population("p", 6, neuron, bias),),
                         (Projection("input", "p", w, 1),), dt=0.5e-3)
    x = rng.random((300, 9)) < 0.2
    got = export.simulate_network(net, x)["p"]
    jumps = np.zeros((300, 6))
    jumps[1:] = x[:-1] @ w.T
    trace = simulate_population(neuron, bias, t_stop=300 * 0.5e-3, dt=0.5e-3, dv_jump=jumps)
    golden = np.zeros((300, 6), dtype=bool)
    golden[np.rint(trace.spike_times / 0.5e-3).astype(int) - 1, trace.spike_neurons] = True
    assert got.sum() > 30
    assert np.array_equal(got, golden)


# -- encodings ---------------------------------------------------------------

def test_encodings() -> None:
    x = np.array([[0.0, 0.25, 0.5, 1.0]])
    rate = data.encode(x, 16, "rate")
    assert rate.sum(axis=0)[0].tolist() == [0, 4, 8, 16]
    latency = data.encode(x, 16, "latency")
    assert latency.sum(axis=0)[0].tolist() == [0, 1, 1, 1]
    assert np.argmax(latency[:, 0], axis=0)[1:].tolist() == [11, 8, 0]  # (1-x)(T-1)
    poisson = data.encode(np.full((1, 2000), 0.3), 10, "poisson")
    assert poisson.mean() == pytest.approx(0.3, abs=0.01)
    with pytest.raises(ParamError):
        data.encode(x, 5, "phase")


# -- gradients ---------------------------------------------------------------

@pytest.mark.parametrize("name", SURROGATES)
def test_bptt_gradient_matches_finite_differences(name: str) -> None:
    """Smooth forward + non-detached reset: the backward pass is the true gradient."""
    rng = np.random.default_rng(6)
    neuron = model.NeuronConfig(tau_m=10e-3, surrogate=Surrogate(name, 2.0),
                                detach_reset=False, smooth=True)
    net = model.SNN([rng.normal(0.3, 0.6, (4, 5)), rng.normal(0.3, 0.6, (3, 4))],
                    [rng.normal(0, 0.2, 4), rng.normal(0, 0.2, 3)], neuron)
    x = (rng.random((9, 2, 5)) < 0.5).astype(float)
    proj = rng.normal(0, 1, (9, 2, 3))

    def loss() -> float:
        return float(np.sum(net.forward(x).output * proj))

    _assert_gradients_match_finite_differences(net, loss, proj, x)


def test_detached_reset_drops_the_reset_path() -> None:
    rng = np.random.default_rng(7)
    weights = [rng.normal(0.4, 0.5, (4, 5))]
    x = (rng.random((12, 3, 5)) < 0.6).astype(float)
    g = rng.normal(0, 1, (12, 3, 4))
    out = {}
    for detach in (True, False):
        net = model.SNN([weights[0].copy()], [np.zeros(4)],
                        model.NeuronConfig(detach_reset=detach))
        out[detach] = net.backward(net.forward(x), g)[0][0]
    assert not np.allclose(out[True], out[False])


def test_three_factor_rule_approximates_bptt(digits: data.Digits) -> None:
    cfg = train.TrainConfig()
    net = model.SNN.init((64, 128, 10), cfg.neuron(), seed=0)
    x = data.encode(digits.x_train[:128], cfg.n_steps)
    record = net.forward(x)
    _, grad_out = model.count_loss(record.output, digits.y_train[:128], cfg.kappa)
    cos = model.cosine(net.backward(record, grad_out), net.eprop(record, grad_out))
    # output layer: the per-synapse trace through the detached reset is exact
    assert cos[1] == pytest.approx(1.0, abs=1e-6)
    # hidden layer: one step of credit through the output membrane only
    assert cos[0] > 0.8


# -- the digits task ---------------------------------------------------------

def test_surrogate_snn_reaches_95_percent(digits: data.Digits) -> None:
    result = train.train(train.TrainConfig(), digits)
    assert result.test_accuracy >= 0.95
    assert result.history[-1] < result.history[0]


def test_three_factor_rule_learns_digits(digits: data.Digits) -> None:
    result = train.train(train.TrainConfig(rule="eprop", epochs=8), digits)
    assert result.test_accuracy >= 0.90


def test_trained_snn_as_network_keeps_its_accuracy(digits: data.Digits) -> None:
    result = train.train(train.TrainConfig(epochs=8), digits)
    m = result.model
    net = export.to_network(m.weights, m.biases, tau_m=m.neuron.tau_m, dt=m.neuron.dt)
    x = data.encode(digits.x_test, result.config.n_steps)
    out = export.simulate_network(net, x)["output"]
    reference = m.forward(x).output.astype(bool)
    # float32 normalised vs float64 volts: only spikes within rounding of
    # threshold may differ
    assert np.mean(out == reference) > 0.999
    acc = float(np.mean(model.predict(out) == digits.y_test))
    assert abs(acc - result.test_accuracy) <= 0.01


@pytest.mark.parametrize("mode", convert.BIAS_MODES)
def test_converted_snn_within_two_points_of_ann(digits: data.Digits, mode: str) -> None:
    ann = convert.train_ann(digits.x_train, digits.y_train)
    ann_acc = ann.accuracy(digits.x_test, digits.y_test)
    conv = convert.convert(ann, digits.x_train, bias_mode=mode)
    x = data.encode(digits.x_test, 64)
    out = export.simulate_network(conv.network, convert.input_raster(conv.network, x))
    snn_acc = float(np.mean(model.predict(out["output"]) == digits.y_test))
    assert ann_acc >= 0.95
    assert snn_acc >= ann_acc - 0.02


def test_bias_current_gives_the_bias_rate() -> None:
    """A neuron driven by its converted bias alone fires b spikes per step."""
    ann = convert.ANN([np.zeros((3, 2)), np.zeros((1, 3))],
                      [np.array([0.05, 0.2, -0.1]), np.zeros(1)])
    conv = convert.convert(ann, np.ones((4, 2)), percentile=100)
    n_steps = 2000
    spikes = export.simulate_network(conv.network, np.zeros((n_steps, 2)))["hidden1"]
    counts = spikes.sum(axis=0)
    # the f-I curve in continuous time; the grid stamps spikes up to one step late
    assert counts[2] == 0
    for j, b in enumerate(conv.biases[0][:2]):
        isi_steps = 1.0 / b
        assert n_steps / (math.ceil(isi_steps) + 1) <= counts[j] <= n_steps / isi_steps + 1


@pytest.mark.parametrize("method", ["surrogate", "convert"])
def test_batched_simulator_equals_golden_network(digits: data.Digits, method: str) -> None:
    """export.simulate_network (batched) == lifhw.golden.network (one sample at a time)."""
    from lifhw.golden import network as golden_network

    cfg = train.TrainConfig(epochs=3)
    net, info = task.build(method, digits=digits, config=cfg)
    x = task.encoded_test_set(net, info, digits)[:, :6]
    batched = export.simulate_network(net, x)
    assert batched["output"].any()
    for i in range(x.shape[1]):
        run = golden_network.simulate_network(net, x[:, i].astype(bool))
        for name, spikes in batched.items():
            assert np.array_equal(spikes[:, i], run.spikes[name]), (name, i)


# -- spiking convolution: BPTT ------------------------------------------------

def test_conv2d_backward_is_the_adjoint_of_an_explicit_loop() -> None:
    """dL/dW and dL/dx of the im2col convolution == explicit-loop scatter."""
    from lifhw.snn.layers import conv2d, conv2d_backward

    rng = np.random.default_rng(8)
    for pad, (kh, kw) in ((0, (3, 3)), (1, (3, 2)), (2, (2, 3))):
        x = rng.normal(0, 1, (2, 2, 3, 6, 5))
        w = rng.normal(0, 1, (4, 3, kh, kw))
        g = rng.normal(0, 1, conv2d(x, w, pad).shape)
        g_w, g_x = conv2d_backward(x, w, pad, g)
        xp = np.pad(x, ((0, 0), (0, 0), (0, 0), (pad, pad), (pad, pad)))
        ref_w = np.zeros_like(w)
        ref_xp = np.zeros_like(xp)
        for y in range(g.shape[3]):
            for z in range(g.shape[4]):
                # output pixel (y, z) saw the window xp[..., y:y+kh, z:z+kw]
                ref_w += np.einsum("tbo,tbcuv->ocuv", g[:, :, :, y, z],
                                   xp[:, :, :, y:y + kh, z:z + kw])
                ref_xp[:, :, :, y:y + kh, z:z + kw] += np.einsum("tbo,ocuv->tbcuv",
                                                                 g[:, :, :, y, z], w)
        assert g_x is not None
        assert np.allclose(g_w, ref_w, rtol=1e-12, atol=1e-12)
        assert np.allclose(g_x, ref_xp[:, :, :, pad:pad + 6, pad:pad + 5],
                           rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", SURROGATES)
def test_conv_bptt_gradient_matches_finite_differences(name: str) -> None:
    """conv -> conv -> dense, smooth forward, non-detached reset: true gradient.

    Covers the kernel and bias gradients of both convolutions and the gradient
    sent through a convolution to the layer before. Tolerance as for the dense
    check: |analytic - numeric| <= 1e-7 + 1e-5 |numeric| (float64, h = 1e-6).
    """
    rng = np.random.default_rng(9)
    neuron = model.NeuronConfig(tau_m=10e-3, surrogate=Surrogate(name, 2.0),
                                detach_reset=False, smooth=True)
    net = model.ConvSNN([rng.normal(0.3, 0.6, (2, 1, 3, 3)), rng.normal(0.2, 0.5, (2, 2, 2, 2)),
                         rng.normal(0.2, 0.5, (3, 2 * 6 * 6))],
                        [rng.normal(0, 0.2, 2), rng.normal(0, 0.2, 2), rng.normal(0, 0.2, 3)],
                        neuron, in_shape=(1, 5, 5), padding=1)
    x = (rng.random((8, 2, 25)) < 0.5).astype(float)
    proj = rng.normal(0, 1, (8, 2, 3))

    def loss() -> float:
        return float(np.sum(net.forward(x).output * proj))

    _assert_gradients_match_finite_differences(net, loss, proj, x)


def test_trained_conv_layer_is_the_spiking_conv2d_layer() -> None:
    """ConvSNN's convolution == SpikingConv2d (delta synapse), event-driven too.

    The training model delays input by one step; the layer does not.
    """
    rng = np.random.default_rng(10)
    w, c = rng.normal(0.15, 0.4, (3, 2, 3, 3)), rng.normal(0, 0.05, 3)
    net = model.ConvSNN([w, rng.normal(0, 0.1, (2, 3 * 6 * 5))], [c, np.zeros(2)],
                        model.NeuronConfig(tau_m=10e-3), in_shape=(2, 6, 5), padding=1)
    x = (rng.random((20, 3, 2, 6, 5)) < 0.3).astype(float)
    trained = net.forward(x).s[0].astype(bool)
    layer = SpikingConv2d(kernel=SynapseKernel("delta"), beta=net.neuron.beta, bias=c,
                          weights=w, padding=1)
    shifted = np.zeros_like(x)
    shifted[1:] = x[:-1]
    events, _ = layer.run_events(shifted)
    assert trained.sum() > 50
    assert np.array_equal(trained, events)


def test_conv_snn_learns_digits(digits: data.Digits) -> None:
    """8 spiking 3x3 convolutions -> dense readout, BPTT from scratch: >= 95 %."""
    result = train.train(train.CONV_CONFIG, digits)
    assert isinstance(result.model, model.ConvSNN)
    assert result.model.weights[0].shape == (8, 1, 3, 3)
    assert result.model.weights[0].dtype == np.float32
    assert result.test_accuracy >= 0.95
    assert result.history[-1] < 0.5 * result.history[0]


def test_conv_rejects_the_three_factor_rule() -> None:
    with pytest.raises(ParamError, match="bptt"):
        train.TrainConfig(conv=(4,), rule="eprop")
    net = model.ConvSNN.init_conv((1, 4, 4), (2,), (3,), model.NeuronConfig())
    record = net.forward(np.zeros((3, 1, 16), dtype=np.float32))
    with pytest.raises(ParamError, match="dense networks only"):
        net.eprop(record, np.zeros((3, 1, 3), dtype=np.float32))


def test_conv_config_is_exported_as_an_unrolled_network(digits: data.Digits) -> None:
    """Issue 16 replaced the refusal: the weight sharing is unrolled into projections."""
    from dataclasses import replace

    network, info = task.build("surrogate", digits=digits,
                               config=replace(train.CONV_CONFIG, epochs=2))
    conv, readout = network.projections
    assert conv.weights.shape == (512, 64) and readout.weights.shape == (10, 512)
    assert np.count_nonzero(conv.weights, axis=1).max() <= 9   # one 3x3 kernel per row
    assert info["conv"] == [8]
    assert abs(task.accuracy(network, info, digits) - info["test_accuracy"]) <= 0.01


def _assert_gradients_match_finite_differences(net, loss, proj, x) -> None:
    """Every weight and bias gradient of ``net`` equals central differences of ``loss``."""
    grads = net.backward(net.forward(x), proj)
    h = 1e-6
    for layer in range(len(net.weights)):
        for param, grad in ((net.weights[layer], grads[layer][0]),
                            (net.biases[layer], grads[layer][1])):
            assert grad.shape == param.shape
            numeric = np.zeros_like(param)
            for idx in np.ndindex(param.shape):
                keep = param[idx]
                param[idx] = keep + h
                up = loss()
                param[idx] = keep - h
                down = loss()
                param[idx] = keep
                numeric[idx] = (up - down) / (2 * h)
            assert np.abs(grad).max() > 1e-3
            assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-7)
