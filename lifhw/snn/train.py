"""Training the digits SNN: surrogate-gradient BPTT or the three-factor rule.

:func:`train` runs mini-batch Adam on the spike-count cross-entropy
(:func:`lifhw.snn.model.count_loss`) with gradients from either
:meth:`SNN.backward` (``rule="bptt"``) or :meth:`SNN.eprop`
(``rule="eprop"``), on spike-encoded digits (:mod:`lifhw.snn.data`).
The embedded defaults train the 64-128-10 network to >= 95 % test accuracy
in a few seconds on one core; ``TrainConfig(conv=...)`` (e.g.
:data:`CONV_CONFIG`) trains a :class:`lifhw.snn.model.ConvSNN` with spiking
convolutions through the same loop.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from lifhw.errors import ParamError
from lifhw.snn import data as digits_data
from lifhw.snn.model import SNN, Adam, ConvSNN, NeuronConfig, count_loss, predict
from lifhw.snn.surrogate import Surrogate

RULES = ("bptt", "eprop")


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (embedded defaults reach >= 95 % with BPTT).

    Args:
        hidden: Hidden layer sizes.
        n_steps: Time steps per sample.
        encoding: ``rate``, ``poisson`` or ``latency``.
        epochs: Passes over the training set.
        batch: Mini-batch size.
        lr: Adam learning rate.
        kappa: Logit scale per output spike.
        tau_m: Membrane time constant (s).
        dt: Time step (s).
        surrogate: Surrogate name.
        scale: Surrogate slope.
        detach_reset: Reset treated as constant in the backward pass.
        rule: ``bptt`` or ``eprop``.
        init_gain: Scale of the initial weights.
        conv: Output channels of spiking convolutions before the dense layers
            (empty: the dense network). With convolutions the 8x8 digit is
            the input image (1, 8, 8) and ``hidden`` are the dense layers
            after them; BPTT only.
        conv_kernel: Square kernel size of the convolutions (pixels).
        conv_padding: Zero padding of the convolutions (pixels).
        seed: Seed of initialisation and shuffling.
        threads: BLAS threads while training. The matrices are small: one
            thread is fastest, and on a loaded machine several threads of a
            multi-threaded BLAS slow it down by up to ~8x (measured here).
    """

    hidden: tuple[int, ...] = (128,)
    n_steps: int = 16
    encoding: str = "rate"
    epochs: int = 15
    batch: int = 32
    lr: float = 2e-3
    kappa: float = 0.5
    tau_m: float = 20e-3
    dt: float = 1e-3
    surrogate: str = "fast_sigmoid"
    scale: float = 5.0
    detach_reset: bool = True
    rule: str = "bptt"
    init_gain: float = 1.0
    conv: tuple[int, ...] = ()
    conv_kernel: int = 3
    conv_padding: int = 1
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ParamError(f"unknown rule {self.rule!r}; one of {RULES}", path="rule")
        if self.epochs < 0 or self.batch < 1 or self.n_steps < 2:
            raise ParamError("epochs >= 0, batch >= 1 and n_steps >= 2 required")
        if self.conv and self.rule != "bptt":
            raise ParamError("convolutions are trained with rule='bptt' only", path="rule")

    def neuron(self) -> NeuronConfig:
        return NeuronConfig(tau_m=self.tau_m, dt=self.dt,
                            surrogate=Surrogate(self.surrogate, self.scale),
                            detach_reset=self.detach_reset)


#: The convolutional digits network: 8 spiking 3x3 convolutions (padding 1) on
#: the 8x8 image, a dense 512 -> 10 readout, 10 epochs (96.9 % test accuracy
#: in about 2 s on one core, docs/snn.md).
CONV_CONFIG = TrainConfig(conv=(8,), hidden=(), epochs=10)


@dataclass(eq=False)
class TrainResult:
    """A trained network and how it got there.

    Args:
        model: The trained network.
        config: Hyper-parameters used.
        train_accuracy, test_accuracy: Fractions in [0, 1].
        seconds: Training wall time (s), excluding encoding and evaluation.
        history: Per epoch: mean loss.
    """

    model: SNN
    config: TrainConfig
    train_accuracy: float
    test_accuracy: float
    seconds: float
    history: list[float] = field(default_factory=list)


def evaluate(model: SNN, spikes: np.ndarray, labels: np.ndarray, batch: int = 512) -> float:
    """Accuracy of the spike-count readout on encoded inputs (T, N, n_in)."""
    correct = 0
    for start in range(0, spikes.shape[1], batch):
        out = model.forward(spikes[:, start:start + batch]).output
        correct += int(np.sum(predict(out) == labels[start:start + batch]))
    return correct / max(spikes.shape[1], 1)


def train(config: TrainConfig | None = None, digits: digits_data.Digits | None = None,
          log: bool = False) -> TrainResult:
    """Train on the digits task.

    Args:
        config: Hyper-parameters (embedded defaults when None).
        digits: Data split (loaded when None).
        log: Print one line per epoch.
    """
    from threadpoolctl import threadpool_limits

    config = config or TrainConfig()
    digits = digits or digits_data.load()
    with threadpool_limits(limits=config.threads):
        return _train(config, digits, log)


def _train(config: TrainConfig, digits: digits_data.Digits, log: bool) -> TrainResult:
    x_train = digits_data.encode(digits.x_train, config.n_steps, config.encoding, config.seed)
    x_test = digits_data.encode(digits.x_test, config.n_steps, config.encoding, config.seed + 1)
    model: SNN
    if config.conv:
        side = math.isqrt(x_train.shape[2])
        model = ConvSNN.init_conv((1, side, side), config.conv, (*config.hidden, 10),
                                  config.neuron(), kernel=config.conv_kernel,
                                  padding=config.conv_padding, seed=config.seed,
                                  gain=config.init_gain)
    else:
        sizes = (x_train.shape[2], *config.hidden, 10)
        model = SNN.init(sizes, config.neuron(), seed=config.seed, gain=config.init_gain)
    params = [p for pair in zip(model.weights, model.biases, strict=True) for p in pair]
    optimiser = Adam(params, lr=config.lr)
    rng = np.random.default_rng(config.seed)
    history = []
    start = time.perf_counter()
    n = x_train.shape[1]
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        losses = []
        for lo in range(0, n, config.batch):
            idx = order[lo:lo + config.batch]
            record = model.forward(x_train[:, idx])
            loss, grad_out = count_loss(record.output, digits.y_train[idx], config.kappa)
            grads = (model.backward(record, grad_out) if config.rule == "bptt"
                     else model.eprop(record, grad_out))
            optimiser.step([g for pair in grads for g in pair])
            losses.append(loss)
        history.append(float(np.mean(losses)))
        if log:
            print(f"epoch {epoch + 1}/{config.epochs}: loss {history[-1]:.4f}", flush=True)
    seconds = time.perf_counter() - start
    return TrainResult(model, config, evaluate(model, x_train, digits.y_train),
                       evaluate(model, x_test, digits.y_test), seconds, history)
