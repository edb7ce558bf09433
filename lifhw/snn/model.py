"""A feed-forward spiking network trained with surrogate-gradient BPTT or a
three-factor (e-prop-style) online rule; vectorised NumPy, float32.

Neuron (normalised units: rest 0, threshold ``theta``; one step ``dt``)::

    V_l[t] = beta * (U_l[t-1] + W_l s_{l-1}[t-1]) + c_l
    S_l[t] = H(V_l[t] - theta)                    (smooth=True: sigma_k(V - theta))
    U_l[t] = V_l[t] * (1 - S_l[t])                (reset to zero)

``beta = exp(-dt / tau_m)``, ``c_l`` is a constant bias drive per step, and a
spike reaches the next layer one step later (``delay_steps = 1``). This is
the grid convention of :mod:`lifhw.golden.lif` with delta synapses, so a
trained model becomes a :class:`lifhw.network.Network` without changing its
behaviour (:func:`lifhw.snn.export.to_network`).

**BPTT** (:meth:`SNN.backward`) differentiates this recursion exactly, with
``dS/dV`` replaced by the surrogate ``psi = sigma_k'(V - theta)``
(:mod:`lifhw.snn.surrogate`). The reset path ``U = V (1 - S)`` contributes
``dU/dV = (1 - S) - V psi``; with ``detach_reset=True`` (the default, as
recommended by Zenke & Vogels 2021, Neural Comput. 33:899) the second term is
dropped, i.e. the reset is treated as a constant in the backward pass. With
``smooth=True`` and ``detach_reset=False`` the backward pass is the true
gradient of the smooth forward (checked against finite differences).

**Convolutions** (:class:`ConvSNN`): the same neuron and BPTT with spiking
2-D convolutions as the first layers; only the spatial sum and its adjoint
differ (:func:`lifhw.snn.layers.conv2d`, :func:`lifhw.snn.layers.conv2d_backward`).

**Three-factor rule** (:meth:`SNN.eprop`, after Bellec et al. 2020, Nat.
Commun. 11:3625): ``dW_ij = -eta sum_t delta_i^t e_ij^t`` with

* eligibility trace ``e_ij^t = psi_i^t eps_ij^t`` with
  ``eps_ij^t = beta ((1 - S_i^{t-1}) eps_ij^{t-1} + s_j^{t-1})``: the forward
  sensitivity ``dV_i^t / dW_ij`` through the neuron's own (detached) reset,
  computed forward in time and local to the synapse (pre trace, post spike,
  post surrogate). For output units this makes the rule equal to BPTT with a
  detached reset; the approximation is in the hidden learning signal;
* learning signal ``delta_i^t``: for output units the loss derivative
  ``dL/dS_i^t``; for hidden units the error broadcast back through the
  forward weights with one step of membrane credit,
  ``delta_h^t = sum_o W_oh beta psi_o^{t+1} delta_o^{t+1}`` (no backward pass
  through time).

With the spike-count loss the output error ``dL/dS`` is only known at the end
of the presentation: the eligibility is accumulated online and the third
factor arrives as a delayed, neuromodulator-like signal.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from lifhw.errors import ParamError
from lifhw.snn.layers import conv2d, conv2d_backward
from lifhw.snn.surrogate import Surrogate


@dataclass(frozen=True)
class NeuronConfig:
    """The trained neuron.

    Args:
        tau_m: Membrane time constant (s).
        dt: Time step (s).
        theta: Threshold (normalised units).
        surrogate: Backward derivative of the spike.
        detach_reset: Treat the reset as constant in the backward pass.
        smooth: Forward with the smooth step instead of Heaviside (gradient checks).
    """

    tau_m: float = 20e-3
    dt: float = 1e-3
    theta: float = 1.0
    surrogate: Surrogate = field(default_factory=Surrogate)
    detach_reset: bool = True
    smooth: bool = False

    def __post_init__(self) -> None:
        if not self.tau_m > 0 or not self.dt > 0:
            raise ParamError("tau_m and dt must be > 0 s", path="neuron")
        if not self.theta > 0:
            raise ParamError("theta must be > 0", path="neuron.theta")

    @property
    def beta(self) -> float:
        """Membrane decay per step."""
        return math.exp(-self.dt / self.tau_m)


@dataclass(eq=False)
class Record:
    """What the forward pass keeps for the backward pass, per layer.

    Args:
        inputs: Spikes into each layer (T, B, n_in).
        v: Membrane before reset (T, B, n_out).
        s: Output spikes (T, B, n_out) (smooth values when ``smooth``).
    """

    inputs: list[np.ndarray]
    v: list[np.ndarray]
    s: list[np.ndarray]

    @property
    def output(self) -> np.ndarray:
        return self.s[-1]


@dataclass(eq=False)
class SNN:
    """Feed-forward LIF network: weights (n_out, n_in) and bias drives per layer."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    neuron: NeuronConfig = field(default_factory=NeuronConfig)

    @classmethod
    def init(cls, sizes: tuple[int, ...], neuron: NeuronConfig, seed: int = 0,
             gain: float = 1.0) -> SNN:
        """Random weights ~ U(-g, g) * sqrt(3 / fan_in) * gain-scaled for spiking input.

        Args:
            sizes: Layer sizes, input first, e.g. (64, 128, 10).
            neuron: Neuron configuration.
            seed: RNG seed.
            gain: Scale of the initial weights (in units of threshold).
        """
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        for n_in, n_out in itertools.pairwise(sizes):
            bound = gain * math.sqrt(3.0 / n_in)
            weights.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32))
            biases.append(np.zeros(n_out, dtype=np.float32))
        return cls(weights, biases, neuron)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[1], *(w.shape[0] for w in self.weights))

    # -- the spatial part of a layer (dense here; ConvSNN adds convolutions) --
    def _shape_input(self, spikes: np.ndarray) -> np.ndarray:
        """Input spikes in the shape the first layer expects."""
        return spikes

    def _drive(self, layer: int, x: np.ndarray) -> np.ndarray:
        """Spatial sums ``W x`` of all steps of ``x`` (T', B, *in) -> (T', B, n_out)."""
        flat = x.reshape(*x.shape[:2], -1)
        return flat @ self.weights[layer].T

    def _drive_grads(self, layer: int, x: np.ndarray, g_drive: np.ndarray, need_input: bool
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        """(dL/dW, dL/dx or None) of :meth:`_drive` given dL/d(drive)."""
        w = self.weights[layer]
        n_out, n_in = w.shape
        g_w = g_drive.reshape(-1, n_out).T @ x.reshape(-1, n_in)
        return g_w, (g_drive @ w).reshape(x.shape) if need_input else None

    def _bias(self, layer: int) -> np.ndarray:
        """Bias drive of ``layer`` broadcastable against its (B, *out) state."""
        return self.biases[layer]

    def _spike(self, v: np.ndarray) -> np.ndarray:
        x = v - self.neuron.theta
        if self.neuron.smooth:
            return self.neuron.surrogate.smooth(x).astype(v.dtype)
        return (x >= 0).astype(v.dtype)

    def forward(self, spikes: np.ndarray) -> Record:
        """Run all layers.

        Args:
            spikes: Input (T, B, n_in), 0/1 float32.
        """
        dtype = self.weights[0].dtype  # float32 for training, float64 for checks
        beta = dtype.type(self.neuron.beta)
        record = Record([], [], [])
        layer_in = np.asarray(spikes, dtype=dtype)
        layer_in = self._shape_input(layer_in)
        for layer in range(len(self.weights)):
            n_steps = layer_in.shape[0]
            # one step of synaptic delay: step t sees the spikes of step t - 1
            tail = self._drive(layer, layer_in[:-1])
            drive = np.zeros((n_steps, *tail.shape[1:]), dtype=dtype)
            drive[1:] = tail
            c = self._bias(layer)
            v_all = np.empty_like(drive)
            s_all = np.empty_like(drive)
            u = np.zeros(drive.shape[1:], dtype=dtype)
            for t in range(n_steps):
                v = beta * (u + drive[t]) + c
                s = self._spike(v)
                u = v * (1 - s)
                v_all[t], s_all[t] = v, s
            record.inputs.append(layer_in)
            record.v.append(v_all)
            record.s.append(s_all)
            layer_in = s_all
        return record

    def backward(self, record: Record, grad_out: np.ndarray
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
        """BPTT: gradients (dW, dc) per layer from ``dL/dS`` of the output layer.

        Args:
            record: From :meth:`forward`.
            grad_out: dL/dS_out, (T, B, n_out).
        """
        dtype = self.weights[0].dtype
        beta = dtype.type(self.neuron.beta)
        surrogate = self.neuron.surrogate
        grads: list[tuple[np.ndarray, np.ndarray]] = []
        g_s = grad_out.astype(dtype)
        for layer in reversed(range(len(self.weights))):
            v_all, s_all, x = record.v[layer], record.s[layer], record.inputs[layer]
            psi_all = surrogate.grad(v_all - self.neuron.theta).astype(dtype)
            g_v_all = np.empty_like(v_all)
            g_v_next = np.zeros(v_all.shape[1:], dtype=dtype)
            for t in range(v_all.shape[0] - 1, -1, -1):
                g_u = beta * g_v_next          # U[t] enters V[t+1] times beta
                psi, s, v = psi_all[t], s_all[t], v_all[t]
                if self.neuron.detach_reset:
                    g_v = psi * g_s[t] + (1 - s) * g_u
                else:
                    g_v = psi * (g_s[t] - v * g_u) + (1 - s) * g_u
                g_v_all[t] = g_v
                g_v_next = g_v
            g_drive = beta * g_v_all[1:]       # drive[t] = W x[t-1], t >= 1
            g_w, g_x = self._drive_grads(layer, x[:-1], g_drive, need_input=layer > 0)
            # the bias is per output channel (axis 2): sum over time, batch, space
            g_c = g_v_all.sum(axis=(0, 1, *range(3, g_v_all.ndim)))
            grads.append((g_w, g_c))
            if g_x is not None:
                g_prev = np.zeros_like(x)
                g_prev[:-1] = g_x
                g_s = g_prev
        return grads[::-1]

    def eprop(self, record: Record, grad_out: np.ndarray
              ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Three-factor estimate of the gradient (see the module docstring).

        Args:
            record: From :meth:`forward`.
            grad_out: dL/dS_out, (T, B, n_out): the output learning signal.
        """
        beta = np.float32(self.neuron.beta)
        surrogate = self.neuron.surrogate
        n_layers = len(self.weights)
        psis = [surrogate.grad(v - self.neuron.theta).astype(np.float32) for v in record.v]
        deltas: list[np.ndarray] = [np.empty(0)] * n_layers
        deltas[-1] = grad_out.astype(np.float32)
        for layer in range(n_layers - 2, -1, -1):
            # credit of a spike at t: through the next layer's membrane at t + 1
            post = psis[layer + 1] * deltas[layer + 1]
            delta = np.zeros(record.v[layer].shape, dtype=np.float32)
            delta[:-1] = beta * (post[1:] @ self.weights[layer + 1])
            deltas[layer] = delta
        grads = []
        for layer in range(n_layers):
            x, spikes = record.inputs[layer], record.s[layer]
            factor = psis[layer] * deltas[layer]          # delta_i^t psi_i^t
            n_steps, batch, n_in = x.shape
            n_out = spikes.shape[2]
            # per-synapse eligibility, forward in time (online, local)
            eps = np.zeros((batch, n_out, n_in), dtype=np.float32)
            eps_bias = np.zeros((batch, n_out), dtype=np.float32)
            g_w = np.zeros((n_out, n_in), dtype=np.float64)
            g_c = np.zeros(n_out, dtype=np.float64)
            for t in range(n_steps):
                if t:
                    keep = (1 - spikes[t - 1])[:, :, None]
                    eps = beta * (keep * eps + x[t - 1][:, None, :])
                    eps_bias = beta * ((1 - spikes[t - 1]) * eps_bias) + 1
                else:
                    eps_bias = eps_bias + 1
                g_w += np.einsum("bo,boi->oi", factor[t], eps)
                g_c += np.einsum("bo,bo->o", factor[t], eps_bias)
            grads.append((g_w, g_c))
        return grads


def count_loss(out_spikes: np.ndarray, labels: np.ndarray, kappa: float = 1.0
               ) -> tuple[float, np.ndarray]:
    """Cross-entropy of softmax(kappa * spike counts) and its dL/dS.

    Args:
        out_spikes: (T, B, n_classes).
        labels: (B,) ints.
        kappa: Logit scale per spike.

    Returns:
        (mean loss, dL/dS of shape (T, B, n_classes)).
    """
    logits = kappa * out_spikes.sum(axis=0, dtype=np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    batch = labels.shape[0]
    loss = float(-np.mean(np.log(p[np.arange(batch), labels] + 1e-300)))
    err = p
    err[np.arange(batch), labels] -= 1.0
    grad = (kappa / batch) * err
    return loss, np.broadcast_to(grad.astype(np.float32), out_spikes.shape).copy()


def predict(out_spikes: np.ndarray) -> np.ndarray:
    """Class = most output spikes (ties: lowest index), from (T, B, n_classes)."""
    return np.argmax(out_spikes.sum(axis=0), axis=1)


class Adam:
    """Adam (Kingma & Ba 2015) over a list of arrays, updated in place."""

    def __init__(self, params: list[np.ndarray], lr: float = 1e-3, b1: float = 0.9,
                 b2: float = 0.999, eps: float = 1e-8) -> None:
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        c1 = 1 - self.b1 ** self.t
        c2 = 1 - self.b2 ** self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)).astype(p.dtype)


def cosine(a: list[tuple[np.ndarray, np.ndarray]], b: list[tuple[np.ndarray, np.ndarray]]
           ) -> list[float]:
    """Cosine similarity of two gradient lists, per layer (weights and biases together)."""
    out = []
    for (wa, ca), (wb, cb) in zip(a, b, strict=True):
        x = np.concatenate([wa.ravel(), ca.ravel()]).astype(np.float64)
        y = np.concatenate([wb.ravel(), cb.ravel()]).astype(np.float64)
        denom = float(np.linalg.norm(x) * np.linalg.norm(y))
        out.append(float(x @ y / denom) if denom > 0 else 0.0)
    return out


@dataclass(eq=False)
class ConvSNN(SNN):
    """LIF network whose first layers are spiking convolutions, then dense layers.

    A layer with 4-D weights (C_out, C_in, kh, kw) is a stride-1 convolution
    (zero padding ``padding``) whose units are LIF neurons with one bias per
    output channel; 2-D weights are dense layers on the flattened spikes of the
    layer before. Neuron, one-step delay, surrogate, reset handling and the
    BPTT recursion are those of :class:`SNN` (only the spatial sums differ:
    :func:`lifhw.snn.layers.conv2d` and its adjoint
    :func:`lifhw.snn.layers.conv2d_backward`). The three-factor rule is not
    implemented for convolutions.

    Args:
        weights, biases, neuron: As :class:`SNN`.
        in_shape: Input (C, H, W); flat input (T, B, C H W) is reshaped to it.
        padding: Zero padding of the convolutions (pixels).
    """

    in_shape: tuple[int, int, int] = (1, 8, 8)
    padding: int = 1

    @classmethod
    def init_conv(cls, in_shape: tuple[int, int, int], channels: tuple[int, ...],
                  dense: tuple[int, ...], neuron: NeuronConfig, kernel: int = 3,
                  padding: int = 1, seed: int = 0, gain: float = 1.0) -> ConvSNN:
        """Random weights ~ U(-b, b), ``b = gain sqrt(3 / fan_in)``, as :meth:`SNN.init`.

        Args:
            in_shape: Input (C, H, W).
            channels: Output channels of each convolution, e.g. (8,).
            dense: Sizes of the dense layers after them, e.g. (10,).
            neuron: Neuron configuration.
            kernel: Square kernel size (pixels).
            padding: Zero padding (pixels).
            seed: RNG seed.
            gain: Scale of the initial weights.
        """
        if kernel < 1 or padding < 0 or not channels:
            raise ParamError("kernel >= 1, padding >= 0 and one convolution at least",
                             path="conv")
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        c, h, w = in_shape
        for c_out in channels:
            bound = gain * math.sqrt(3.0 / (c * kernel * kernel))
            weights.append(rng.uniform(-bound, bound, (c_out, c, kernel, kernel))
                           .astype(np.float32))
            biases.append(np.zeros(c_out, dtype=np.float32))
            c, h, w = c_out, h + 2 * padding - kernel + 1, w + 2 * padding - kernel + 1
            if h < 1 or w < 1:
                raise ParamError("kernel larger than the padded input", path="conv")
        n_in = c * h * w
        for n_out in dense:
            bound = gain * math.sqrt(3.0 / n_in)
            weights.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32))
            biases.append(np.zeros(n_out, dtype=np.float32))
            n_in = n_out
        return cls(weights, biases, neuron, in_shape=in_shape, padding=padding)

    def _shape_input(self, spikes: np.ndarray) -> np.ndarray:
        return spikes.reshape(*spikes.shape[:2], *self.in_shape)

    def _drive(self, layer: int, x: np.ndarray) -> np.ndarray:
        w = self.weights[layer]
        if w.ndim == 4:
            return conv2d(x, w, self.padding)
        return super()._drive(layer, x)

    def _drive_grads(self, layer: int, x: np.ndarray, g_drive: np.ndarray, need_input: bool
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        w = self.weights[layer]
        if w.ndim == 4:
            return conv2d_backward(x, w, self.padding, g_drive, need_input)
        return super()._drive_grads(layer, x, g_drive, need_input)

    def _bias(self, layer: int) -> np.ndarray:
        c = self.biases[layer]
        return c.reshape(-1, 1, 1) if self.weights[layer].ndim == 4 else c

    def eprop(self, record: Record, grad_out: np.ndarray
              ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Not available for convolutions (the traces would be per kernel tap)."""
        raise ParamError("the three-factor rule is implemented for dense networks only",
                         path="rule")
