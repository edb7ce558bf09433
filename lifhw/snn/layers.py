"""Spiking layers over spatio-temporal spike input: dense and 2-D convolution.

Every output unit is a discrete-time LIF neuron (normalised units: rest 0,
threshold ``theta``) driven through a causal synaptic kernel::

    d[t]   = sum over the receptive field of  w * s_in[t]     (spatial sum)
    I[t]   = (kernel applied to d)[t]                          (temporal kernel)
    V[t]   = beta * (U[t-1] + I[t]) + c                        (leak, bias c)
    S[t]   = V[t] >= theta                                     (fire)
    U[t]   = 0 if S[t] else V[t]      (reset="zero")
           = V[t] - theta * S[t]      (reset="subtract")

``beta = exp(-dt / tau_m)``. With the delta kernel this is exactly the grid
convention of :mod:`lifhw.golden.lif` (a jump at the step start, exact decay
over the step, threshold checked at the step end, reset to ``v_reset``).
The temporal kernels (synaptic responses), all causal, are recursive filters:

* ``delta``: ``I[t] = d[t]``;
* ``exp``: ``I[t] = a I[t-1] + d[t]``, impulse response ``a^n``,
  ``a = exp(-dt / tau_syn)`` (a first-order current synapse);
* ``alpha``: two cascaded ``exp`` stages, impulse response ``g (n + 1) a^n``,
  scaled by ``g`` so that its peak is 1.

Because the synapses of a layer share one kernel, filtering the summed input
equals summing the filtered inputs (linearity), and is cheaper.

Two implementations, which agree **bit for bit**:

* :meth:`SpikingLayer.run_dense` -- time-stepped: the spatial sum of every step
  at once (a matrix product / im2col convolution), then the recursion.
* :meth:`SpikingLayer.run_events` -- event-driven: each input spike scatters its
  weights into the units it reaches; only units with non-zero state or input
  are updated (an all-zero unit without bias stays zero).

Exactness: the spatial sums are the only place where the two differ in the
order of floating-point additions. Weights are therefore stored on a dyadic
grid (multiples of ``2^(e - 50)`` with ``2^e >= fan_in * max|w|``), so every
partial sum is an integer multiple of the grid step below ``2^53`` steps and
is exact in float64 whatever the order; the change to the weights is a
relative 2^-50 or less. All remaining operations are the same element-wise
operations in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lifhw.errors import ParamError

KERNELS = ("delta", "exp", "alpha")
RESETS = ("zero", "subtract")


@dataclass(frozen=True)
class SynapseKernel:
    """Causal synaptic response, applied per step.

    Args:
        kind: ``delta``, ``exp`` or ``alpha``.
        tau_syn: Synaptic time constant (s); unused for ``delta``.
        dt: Time step (s).
    """

    kind: str = "exp"
    tau_syn: float = 5e-3
    dt: float = 1e-3

    def __post_init__(self) -> None:
        if self.kind not in KERNELS:
            raise ParamError(f"unknown kernel {self.kind!r}; one of {KERNELS}", path="kernel")
        if self.kind != "delta" and not self.tau_syn > 0:
            raise ParamError("tau_syn must be > 0 s", path="kernel.tau_syn")
        if not self.dt > 0:
            raise ParamError("dt must be > 0 s", path="kernel.dt")

    @property
    def decay(self) -> float:
        """Per-step decay ``a = exp(-dt / tau_syn)`` (0 for delta)."""
        return 0.0 if self.kind == "delta" else math.exp(-self.dt / self.tau_syn)

    @property
    def gain(self) -> float:
        """Scale of the alpha kernel making its peak 1 (1 otherwise)."""
        if self.kind != "alpha":
            return 1.0
        a = self.decay
        n = np.arange(int(20 * self.tau_syn / self.dt) + 2)
        return float(1.0 / np.max((n + 1) * a ** n))

    def impulse_response(self, n_steps: int) -> np.ndarray:
        """Closed-form response to a unit input at step 0, shape (n_steps,)."""
        n = np.arange(n_steps)
        if self.kind == "delta":
            return (n == 0).astype(float)
        a = self.decay
        if self.kind == "exp":
            return a ** n
        return self.gain * (n + 1) * a ** n


def exact_grid(weights: np.ndarray, fan_in: int) -> np.ndarray:
    """Round weights to the dyadic grid on which spatial sums are exact.

    Args:
        weights: Float weights (any shape).
        fan_in: Largest number of weights summed into one unit in one step.

    Returns:
        float64 weights, multiples of ``2^(e - 50)`` with ``2^e >= fan_in max|w|``.
    """
    w = np.asarray(weights, dtype=np.float64)
    bound = float(np.max(np.abs(w))) * max(int(fan_in), 1) if w.size else 0.0
    if bound == 0.0:
        return w.copy()
    step = 2.0 ** (math.ceil(math.log2(bound)) - 50)
    return np.round(w / step) * step


def _windows(x: np.ndarray, kh: int, kw: int, pad_h: int, pad_w: int) -> np.ndarray:
    """(T, B, C, H + 2 pad_h - kh + 1, W + 2 pad_w - kw + 1, kh, kw) view of padded x."""
    padded = np.pad(x, ((0, 0), (0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    return np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(3, 4))


def conv2d(x: np.ndarray, weights: np.ndarray, padding: int) -> np.ndarray:
    """Stride-1 cross-correlation of every step and sample at once (im2col).

    Args:
        x: Input (T, B, C_in, H, W).
        weights: Kernels (C_out, C_in, kh, kw).
        padding: Zero padding on each side (pixels).

    Returns:
        ``d[t, b, o, y, x] = sum_{c,u,v} W[o, c, u, v] x_pad[t, b, c, y + u, x + v]``,
        shape (T, B, C_out, H + 2p - kh + 1, W + 2p - kw + 1).
    """
    _, _, kh, kw = weights.shape
    # (T, B, C_in, H', W', kh, kw) windows; contract (C_in, kh, kw) with W.
    windows = _windows(x, kh, kw, padding, padding)
    out = np.tensordot(windows, weights, axes=([2, 5, 6], [1, 2, 3]))
    return np.moveaxis(out, -1, 2)  # (T, B, C_out, H', W')


def conv2d_backward(x: np.ndarray, weights: np.ndarray, padding: int, grad: np.ndarray,
                    need_input: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv2d` given ``grad = dL/dd`` (T, B, C_out, H', W').

    ``dL/dW[o, c, u, v] = sum_{t,b,y,x} g[t, b, o, y, x] x_pad[t, b, c, y + u, x + v]``
    (the input windows contracted with the output gradient), and
    ``dL/dx_pad[c, Y, X] = sum_{o,u,v} g[o, Y - u, X - v] W[o, c, u, v]``: the
    "full" correlation of the output gradient (zero-padded by ``k - 1``) with
    the spatially flipped kernels, cropped by ``padding`` to the input.

    Args:
        x: The forward input (T, B, C_in, H, W).
        weights: Kernels (C_out, C_in, kh, kw).
        padding: Zero padding of the forward pass (pixels).
        grad: dL/d(output), (T, B, C_out, H', W').
        need_input: Also compute dL/dx (skip for the first layer).

    Returns:
        (dL/dW of shape (C_out, C_in, kh, kw), dL/dx of shape x.shape or None).
    """
    _, _, kh, kw = weights.shape
    windows = _windows(x, kh, kw, padding, padding)
    g_w = np.tensordot(grad, windows, axes=([0, 1, 3, 4], [0, 1, 3, 4]))
    if not need_input:
        return g_w, None
    flipped = weights[:, :, ::-1, ::-1]
    g_windows = _windows(grad, kh, kw, kh - 1, kw - 1)  # (T, B, C_out, Hp, Wp, kh, kw)
    g_pad = np.moveaxis(np.tensordot(g_windows, flipped, axes=([2, 5, 6], [0, 2, 3])), -1, 2)
    h, w = x.shape[3], x.shape[4]
    return g_w, np.ascontiguousarray(g_pad[:, :, :, padding:padding + h, padding:padding + w])


@dataclass(eq=False)
class SpikingLayer:
    """Base of the spiking layers: neuron, kernel, the recursion, both implementations.

    Args:
        kernel: Synaptic kernel.
        beta: Membrane decay per step ``exp(-dt / tau_m)``.
        theta: Threshold (normalised units).
        reset: ``zero`` or ``subtract``.
        bias: Constant drive per step and output channel, shape (n_channels_out,).
    """

    kernel: SynapseKernel
    beta: float
    theta: float = 1.0
    reset: str = "zero"
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def _check_neuron(self, n_out: int) -> None:
        if not 0.0 <= self.beta <= 1.0:
            raise ParamError("beta must be in [0, 1]", path="beta")
        if not self.theta > 0:
            raise ParamError("theta must be > 0", path="theta")
        if self.reset not in RESETS:
            raise ParamError(f"unknown reset {self.reset!r}; one of {RESETS}", path="reset")
        bias = np.asarray(self.bias, dtype=np.float64)
        self.bias = np.zeros(n_out) if bias.size == 0 else bias
        if self.bias.shape != (n_out,):
            raise ParamError(f"bias has shape {self.bias.shape}, expected ({n_out},)", path="bias")

    # -- subclass interface -------------------------------------------------
    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        raise NotImplementedError

    def spatial_dense(self, spikes: np.ndarray) -> np.ndarray:
        """Spatial sums of all steps at once: (T, B, *in) -> (T, B, *out)."""
        raise NotImplementedError

    def scatter_events(self, drive: np.ndarray, events: tuple[np.ndarray, ...]) -> None:
        """Add the weights of spike events (batch, *position) into ``drive`` (B, *out)."""
        raise NotImplementedError

    def _bias_view(self, out_shape: tuple[int, ...]) -> np.ndarray:
        # bias is per output channel, the first axis after the batch.
        return self.bias.reshape((-1,) + (1,) * (len(out_shape) - 1))

    # -- the two implementations ------------------------------------------
    def run_dense(self, spikes: np.ndarray, record_v: bool = False
                  ) -> tuple[np.ndarray, np.ndarray | None]:
        """Time-stepped run.

        Args:
            spikes: Input spikes, (T, B, *in_shape), 0/1.
            record_v: Also return V[t] (before reset).

        Returns:
            (output spikes (T, B, *out_shape) bool, V or None).
        """
        x = np.asarray(spikes, dtype=np.float64)
        drive = self.spatial_dense(x)
        out = np.zeros(drive.shape, dtype=bool)
        v_rec = np.zeros(drive.shape) if record_v else None
        state = _State(drive.shape[1:], self.kernel)
        bias = self._bias_view(drive.shape[2:])
        for t in range(drive.shape[0]):
            out[t] = state.step(drive[t], self, bias, None)
            if v_rec is not None:
                v_rec[t] = state.v_pre
        return out, v_rec

    def run_events(self, spikes: np.ndarray, record_v: bool = False
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        """Event-driven run; same arguments and (bitwise) results as :meth:`run_dense`."""
        x = np.asarray(spikes)
        n_steps, batch = x.shape[0], x.shape[1]
        shape = (batch, *self.out_shape(tuple(x.shape[2:])))
        out = np.zeros((n_steps, *shape), dtype=bool)
        v_rec = np.zeros((n_steps, *shape)) if record_v else None
        state = _State(shape, self.kernel)
        bias = np.broadcast_to(self._bias_view(shape[1:]), shape)
        biased = bias != 0
        for t in range(n_steps):
            drive = np.zeros(shape)
            events = np.nonzero(x[t])
            if events[0].size:
                self.scatter_events(drive, events)
            active = state.active() | (drive != 0) | biased
            out[t] = state.step(drive, self, bias, active)
            if v_rec is not None:
                v_rec[t] = state.v_pre
        return out, v_rec


class _State:
    """Per-unit state (synaptic stages, membrane) and the shared update."""

    def __init__(self, shape: tuple[int, ...], kernel: SynapseKernel) -> None:
        self.kernel = kernel
        self.j = np.zeros(shape)   # first alpha stage
        self.i = np.zeros(shape)   # synaptic current
        self.u = np.zeros(shape)   # membrane after reset
        self.v_pre = np.zeros(shape)

    def active(self) -> np.ndarray:
        return (self.u != 0) | (self.i != 0) | (self.j != 0)

    def step(self, drive: np.ndarray, layer: SpikingLayer, bias: np.ndarray,
             mask: np.ndarray | None) -> np.ndarray:
        """Advance one step; ``mask`` limits the update to these units (event mode)."""
        if mask is None:
            j, i, u, d, c = self.j, self.i, self.u, drive, bias
        else:
            j, i, u, d = self.j[mask], self.i[mask], self.u[mask], drive[mask]
            c = np.broadcast_to(bias, mask.shape)[mask]
        kind, a = self.kernel.kind, self.kernel.decay
        if kind == "delta":
            i = d
        elif kind == "exp":
            i = a * i + d
        else:
            j = a * j + d
            i = a * i + self.kernel.gain * j
        v = layer.beta * (u + i) + c
        s = v >= layer.theta
        u = np.where(s, 0.0, v) if layer.reset == "zero" else v - layer.theta * s
        if mask is None:
            self.j, self.i, self.u, self.v_pre = j, i, u, v
            return s
        self.j[mask], self.i[mask], self.u[mask] = j, i, u
        self.v_pre = np.zeros(mask.shape)
        self.v_pre[mask] = v
        spikes = np.zeros(mask.shape, dtype=bool)
        spikes[mask] = s
        return spikes


@dataclass(eq=False)
class SpikingDense(SpikingLayer):
    """Fully connected spiking layer: weights (n_out, n_in)."""

    weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=np.float64)
        if w.ndim != 2:
            raise ParamError(f"weights must be (n_out, n_in), got {w.shape}", path="weights")
        self.weights = exact_grid(w, w.shape[1])
        self._check_neuron(w.shape[0])

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if in_shape != (self.weights.shape[1],):
            raise ParamError(f"input shape {in_shape}, expected ({self.weights.shape[1]},)")
        return (self.weights.shape[0],)

    def spatial_dense(self, spikes: np.ndarray) -> np.ndarray:
        self.out_shape(tuple(spikes.shape[2:]))
        return spikes @ self.weights.T

    def scatter_events(self, drive: np.ndarray, events: tuple[np.ndarray, ...]) -> None:
        batch, pre = events
        np.add.at(drive, batch, self.weights[:, pre].T)


@dataclass(eq=False)
class SpikingConv2d(SpikingLayer):
    """Spiking 2-D convolution (cross-correlation, as in deep-learning libraries).

    ``d[o, y, x] = sum_{c,u,v} W[o, c, u, v] s_in[c, y + u - p, x + v - p]``
    with stride 1 and zero padding ``p``.

    Args:
        weights: (C_out, C_in, kh, kw).
        padding: Zero padding on each side (pixels).
    """

    weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 1, 1)))
    padding: int = 0

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=np.float64)
        if w.ndim != 4:
            raise ParamError(f"weights must be (C_out, C_in, kh, kw), got {w.shape}",
                             path="weights")
        if self.padding < 0:
            raise ParamError("padding must be >= 0", path="padding")
        self.weights = exact_grid(w, w.shape[1] * w.shape[2] * w.shape[3])
        self._check_neuron(w.shape[0])

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        c_out, c_in, kh, kw = self.weights.shape
        if len(in_shape) != 3 or in_shape[0] != c_in:
            raise ParamError(f"input shape {in_shape}, expected ({c_in}, H, W)")
        h = in_shape[1] + 2 * self.padding - kh + 1
        w = in_shape[2] + 2 * self.padding - kw + 1
        if h < 1 or w < 1:
            raise ParamError("kernel larger than the padded input")
        return (c_out, h, w)

    def spatial_dense(self, spikes: np.ndarray) -> np.ndarray:
        self.out_shape(tuple(spikes.shape[2:]))
        return conv2d(spikes, self.weights, self.padding)

    def scatter_events(self, drive: np.ndarray, events: tuple[np.ndarray, ...]) -> None:
        batch, chan, ys, xs = events
        _, h_out, w_out = drive.shape[1:]
        _, _, kh, kw = self.weights.shape
        p = self.padding
        for u in range(kh):
            for v in range(kw):
                oy, ox = ys - u + p, xs - v + p
                ok = (oy >= 0) & (oy < h_out) & (ox >= 0) & (ox < w_out)
                if not ok.any():
                    continue
                values = self.weights[:, chan[ok], u, v].T  # (events, C_out)
                # drive is (B, C_out, H, W): index with the channel axis moved last.
                target = np.moveaxis(drive, 1, -1)
                np.add.at(target, (batch[ok], oy[ok], ox[ok]), values)
