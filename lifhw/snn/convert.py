"""ANN -> SNN conversion: a ReLU network becomes a rate-coded LIF network.

A ReLU unit's activation ``a = max(0, W x + b)`` is read as a firing rate
(spikes per step) of a LIF neuron driven by the spikes of the previous layer
(Cao et al. 2015; Diehl et al. 2015). Steps:

1. **Data-based normalisation** (Rueckauer et al. 2017, Front. Neurosci.
   11:682, "robust normalisation"): ``lambda_l`` = the ``percentile`` (99.9 %)
   of layer ``l``'s ReLU activations over the training set (``lambda_0 = 1``:
   an input intensity of 1 is one spike per step). Then
   ``W_l <- W_l lambda_{l-1} / lambda_l`` and ``b_l <- b_l / lambda_l``, so
   that rates stay below one spike per step (threshold 1).
2. **Biases** ``b`` (drive per step, normalised) become either
   * ``current`` (default): a constant current from the inverse f-I curve,
     ``I_b = lif_current_for_rate(b / dt)`` for ``b > 0`` -- the current at
     which the neuron alone fires at the rate the ANN's bias asks for
     (MISSION: "solve the inverse f-I curve for I_b"); for ``b <= 0`` (no rate
     to ask for) the linear map ``I_b = s b / ((1 - beta) r_m)`` of
     :mod:`lifhw.snn.export`;
   * ``neuron``: an input population ``bias`` of one neuron firing every step
     (rate ``1 / dt``), connected with weights ``b``.
3. The LIF layers use a long membrane time constant (``tau_m = 1 s`` at
   ``dt = 1 ms``: ``beta = 0.999``, nearly integrate-and-fire) and reset to
   rest, the convention every chip mapper supports.

The ANN is trained here in NumPy (Adam, cross-entropy), so no deep-learning
framework is needed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.fi import lif_current_for_rate
from lifhw.network import InputPopulation, Network, Projection
from lifhw.snn import export
from lifhw.snn.model import Adam

BIAS_MODES = ("current", "neuron")


@dataclass(eq=False)
class ANN:
    """ReLU multilayer perceptron: hidden layers ReLU, output linear (logits)."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Per layer: ReLU activations (hidden) and logits (output)."""
        out = []
        a = x
        for index, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = a @ w.T + b
            a = z if index == len(self.weights) - 1 else np.maximum(z, 0.0)
            out.append(a)
        return out

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(np.argmax(self.activations(x)[-1], axis=1) == y))


def train_ann(x: np.ndarray, y: np.ndarray, hidden: tuple[int, ...] = (128,),
              epochs: int = 40, batch: int = 32, lr: float = 2e-3, seed: int = 0) -> ANN:
    """Train a ReLU MLP with Adam on softmax cross-entropy.

    Args:
        x: (N, n_in) inputs.
        y: (N,) integer labels.
        hidden: Hidden layer sizes.
        epochs: Passes over the data.
        batch: Mini-batch size.
        lr: Learning rate.
        seed: Seed of initialisation and shuffling.
    """
    rng = np.random.default_rng(seed)
    sizes = (x.shape[1], *hidden, int(y.max()) + 1)
    weights = [rng.normal(0, math.sqrt(2.0 / n_in), (n_out, n_in))
               for n_in, n_out in itertools.pairwise(sizes)]
    biases = [np.zeros(n) for n in sizes[1:]]
    ann = ANN(weights, biases)
    optimiser = Adam([p for pair in zip(weights, biases, strict=True) for p in pair], lr=lr)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for lo in range(0, len(x), batch):
            idx = order[lo:lo + batch]
            acts = ann.activations(x[idx])
            p = np.exp(acts[-1] - acts[-1].max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1.0
            g = p / len(idx)
            grads: list[np.ndarray] = []
            for layer in range(len(weights) - 1, -1, -1):
                a_in = acts[layer - 1] if layer else x[idx]
                grads = [g.T @ a_in, g.sum(axis=0), *grads]
                if layer:
                    g = (g @ weights[layer]) * (acts[layer - 1] > 0)
            optimiser.step(grads)
    return ann


@dataclass(frozen=True, eq=False)
class Converted:
    """A converted network and the numbers that made it.

    Args:
        network: The LIF network (inputs ``input`` and, in ``neuron`` mode, ``bias``).
        scales: lambda_l per layer (percentile activations).
        weights, biases: Normalised weights and bias drives (per step).
        bias_mode: ``current`` or ``neuron``.
    """

    network: Network
    scales: list[float]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    bias_mode: str


def convert(ann: ANN, x_norm: np.ndarray, *, percentile: float = 99.9, tau_m: float = 1.0,
            dt: float = 1e-3, bias_mode: str = "current", name: str = "converted") -> Converted:
    """Convert a ReLU ANN into a rate-coded LIF :class:`Network`.

    Args:
        ann: The trained ANN.
        x_norm: Inputs used for the data-based normalisation (training set), in [0, 1].
        percentile: Percentile of activations taken as the layer's maximum (%).
        tau_m: Membrane time constant of the LIF layers (s).
        dt: Time step (s).
        bias_mode: ``current`` or ``neuron``.
        name: Network name.
    """
    if bias_mode not in BIAS_MODES:
        raise ParamError(f"unknown bias mode {bias_mode!r}; one of {BIAS_MODES}", path="bias")
    if not 0 < percentile <= 100:
        raise ParamError("percentile must be in (0, 100]", path="percentile")
    acts = ann.activations(x_norm)
    scales = [1.0]
    for a in acts:
        positive = np.maximum(a, 0.0)
        scales.append(float(np.percentile(positive, percentile)) or 1.0)
    weights = [w * scales[i] / scales[i + 1] for i, w in enumerate(ann.weights)]
    biases = [b / scales[i + 1] for i, b in enumerate(ann.biases)]
    beta = math.exp(-dt / tau_m)
    neuron = LIFParams(tau_m=tau_m, r_m=export.R_M, v_rest=export.V_REST, v_th=export.V_TH,
                       v_reset=export.V_REST)
    volts = export.V_TH - export.V_REST
    if bias_mode == "current":
        currents = []
        for b in biases:
            linear = volts * b / ((1.0 - beta) * export.R_M)
            positive = np.maximum(b, 0.0) / dt
            from_fi = np.asarray(lif_current_for_rate(positive, neuron), dtype=float)
            currents.append(np.where(b > 0, from_fi, linear))
        network = export.to_network(weights, biases, tau_m=tau_m, dt=dt,
                                    bias_currents=currents, name=name)
    else:
        base = export.to_network(weights, [np.zeros_like(b) for b in biases], tau_m=tau_m,
                                 dt=dt, name=name)
        extra = tuple(Projection("bias", pop.name, volts * b[:, None], 1)
                      for pop, b in zip(base.populations, biases, strict=True))
        network = Network(name, (*base.inputs, InputPopulation("bias", 1)), base.populations,
                          base.projections + extra, dt=dt)
    return Converted(network, scales[1:], weights, biases, bias_mode)


def input_raster(network: Network, spikes: np.ndarray) -> np.ndarray:
    """Input columns for ``network``: the data spikes plus an always-on ``bias`` source.

    Args:
        network: A network from :func:`convert` or :func:`export.to_network`.
        spikes: Data spikes (T, B, n_in) or (T, n_in).

    Returns:
        (..., sum of input sizes) in ``network.inputs`` order.
    """
    if [p.name for p in network.inputs] == ["input"]:
        return spikes
    ones = np.ones((*spikes.shape[:-1], 1), dtype=spikes.dtype)
    # The bias neuron fires every step except the last one, whose spike could
    # only arrive after the run (delay 1): keeps the event count honest.
    return np.concatenate([spikes, ones], axis=-1)
