"""Estimate LIF parameters (V_th, V_reset, t_ref, tau_m, V_rest) from a recorded membrane trace.

The input is a uniformly sampled membrane potential with spikes, corrupted by
white measurement noise and possibly low-pass filtered by the recording chain
(first-order, time constant ``filter_tau``). The method follows the chapter's
recipe -- voltage distributions in short windows just before and after spikes,
with measurement noise and the leak between samples taken out:

1. **Spikes.** A LIF spike is a jump down from ``V_th`` to ``V_reset``; it is found
   as a first difference far below the noise (robust MAD scale), unless spike
   times are given. The crossing lies between the last sample before the drop
   and the first after it, at an unknown offset ``s`` that is uniform over the
   sampling interval ``dt`` because spikes are not locked to the sample clock.
2. **Filter deconvolution.** A first-order filter ``y' = (V - y)/tau_f`` is
   inverted exactly where it matters: before a spike with the causal ramp
   inverse ``V_n = y_n + (tau_f/dt)(y_n - y_{n-1})`` (exact for linear V, uses
   no post-spike sample), after it with the zero-order-hold inverse
   ``V = (y_{n+1} - a y_n)/(1 - a)``, ``a = exp(-dt/tau_f)`` (exact while V is
   constant, i.e. during the refractory clamp). On a filtered trace the jump is
   located on the ZOH inverse to within ``dt/2`` of a sample, and only samples
   surely on one side of it are used (offset uniform over ``(dt/2, 3dt/2)``).
3. **Noise.** The white-noise standard deviation comes from second differences
   (``var = 6 sigma_n^2`` for white noise on a smooth membrane). Spike-triggered
   averages over K spikes divide the noise variance by K; the regression for
   ``tau_m`` is corrected for errors in the regressor (attenuation bias) by
   subtracting the noise variance -- a deconvolution of the voltage
   distribution's second moment.
4. **Leak between samples.** ``tau_m`` and ``V_inf`` come from the lagged
   regression ``V_{n+L} = V_inf (1 - a^L) + a^L V_n`` inside inter-spike
   intervals. The pre-spike average is fitted with the exact leaky trajectory
   ``V(c - u) = V_th + A (exp(u/tau) - 1)`` averaged over the uniform offset
   (``E exp(s/tau) = (tau/dt)(exp(dt/tau) - 1)``), so ``V_th`` is the value at the
   crossing, not at the last sample. After the spike the model is the clamp then
   relaxation, ``V_reset + B (1 - exp(-(w - t_ref)^+ / tau))``, again averaged
   over the offset, with ``t_ref`` found by a one-dimensional search.

``v_rest`` is reported as the asymptote ``V_inf`` of the inter-spike membrane,
which equals the resting potential only when no bias current flows (a
recording cannot separate ``v_rest`` from ``r_m I``).

Accuracy on synthetic recordings (docs/theory.md): at 0.5 mV noise and 50
spikes, V_th and V_reset come out within ~0.1 mV, where the naive "last sample
before / first sample after" reading is off by up to several mV with coarse
sampling or filtering.
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numba
import numpy as np

from lifhw.errors import ParamError


@dataclass(frozen=True)
class LIFEstimate:
    """Parameters estimated from a trace (SI units).

    Args:
        v_th: Threshold (V).
        v_reset: Reset potential (V).
        t_ref: Refractory period (s).
        tau_m: Membrane time constant (s); NaN if the inter-spike data cannot fix it.
        v_rest: Asymptote V_inf of the free membrane (V) = v_rest + r_m I.
        noise_std: Measurement noise estimated from the trace (V).
        n_spikes: Number of spikes used.
        v_th_se: Standard error of ``v_th`` (V) from the residual spread.
        v_reset_se: Standard error of ``v_reset`` (V).
        naive_v_th: Mean of the last raw sample before each spike (V), for comparison.
        naive_v_reset: Mean of the first raw sample after each spike (V).
    """

    v_th: float
    v_reset: float
    t_ref: float
    tau_m: float
    v_rest: float
    noise_std: float
    n_spikes: int
    v_th_se: float
    v_reset_se: float
    naive_v_th: float
    naive_v_reset: float

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready mapping (SI units, keys as the fields)."""
        return asdict(self)


def _robust_std(x: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def detect_spikes(v: np.ndarray, *, dt: float = 1.0, filter_tau: float = 0.0,
                  min_gap: int = 3) -> np.ndarray:
    """Index of the sample at each reset jump.

    Without a filter: the first sample after the crossing (the crossing lies in
    ``(t[i-1], t[i]]``). With ``filter_tau``: the sample nearest the crossing
    (the crossing lies in ``(t[i] - dt/2, t[i] + dt/2)``).

    Jumps are first differences below ``-max(5 sigma_d, J/2)``, with ``sigma_d``
    the robust scale of all first differences and ``J`` the median size of the
    drops beyond ``5 sigma_d``; drops closer than ``min_gap`` samples are merged.
    With a recording filter the search runs on the zero-order-hold inverse
    ``u_n = (y_{n+1} - a y_n)/(1 - a)``, where a jump occupies one interval.

    Args:
        v: Membrane samples (V).
        dt: Sampling interval (s); only used with ``filter_tau``.
        filter_tau: First-order filter time constant of the recording (s).
        min_gap: Minimum separation of two spikes (samples).
    """
    trace = np.asarray(v, dtype=float)
    if filter_tau > 0:
        a = math.exp(-dt / filter_tau)
        trace = (trace[1:] - a * trace[:-1]) / (1.0 - a)
    diff = np.diff(trace)
    if diff.size < 3:
        return np.zeros(0, dtype=np.int64)
    scale = 5.0 * _robust_std(diff)
    big = diff[diff < -scale]
    if big.size == 0:
        return np.zeros(0, dtype=np.int64)
    limit = -max(scale, 0.5 * float(np.median(-big)))
    candidates = np.flatnonzero(diff < limit)
    spikes: list[int] = []
    for idx in candidates:
        if spikes and idx - spikes[-1] < min_gap:
            if diff[idx] < diff[spikes[-1]]:
                spikes[-1] = int(idx)
            continue
        spikes.append(int(idx))
    out = np.asarray(spikes, dtype=np.int64) + 1
    if filter_tau > 0:
        # Drop between u_j and u_{j+1} (u_j covers (t_j, t_{j+1}]): whichever of the
        # two holds the crossing, the largest drop sits at the boundary t_{j+1}
        # nearest to it, so the crossing lies within dt/2 of sample j + 1. Deciding
        # which interval is mixed is unreliable under noise; it is not needed.
        out = out.copy()
    return out


def _noise_std(v: np.ndarray, spikes: np.ndarray, guard: int) -> float:
    d2 = v[2:] - 2 * v[1:-1] + v[:-2]
    keep = np.ones(d2.size, dtype=bool)
    for k in spikes:
        keep[max(0, k - guard - 2):k + guard] = False
    if keep.sum() < 10:
        raise ParamError("trace too short between spikes to estimate the noise")
    return _robust_std(d2[keep]) / math.sqrt(6.0)


def estimate_lif_parameters(
    t: np.ndarray,
    v: np.ndarray,
    *,
    spike_index: np.ndarray | None = None,
    filter_tau: float = 0.0,
    t_ref: float | None = None,
    pre_window: float = 1e-3,
    post_window: float = 6e-3,
) -> LIFEstimate:
    """Estimate threshold, reset, refractory period, tau_m and V_inf from a trace.

    Args:
        t: Sample times (s), uniformly spaced.
        v: Membrane potential (V), same length.
        spike_index: Index of the first sample after each spike; detected if None.
        filter_tau: Time constant of the recording's first-order low-pass (s); 0 = none.
        t_ref: Known refractory period (s); estimated if None.
        pre_window: Length of the pre-spike window (s); at least 3 samples are used.
        post_window: Length of the post-spike window (s), capped at half the shortest ISI.

    Returns:
        The estimate; see :class:`LIFEstimate`.

    Raises:
        ParamError: Non-uniform sampling, fewer than 5 usable spikes, or a trace
            too short.
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(v, dtype=float)
    if t.ndim != 1 or t.shape != y.shape or t.size < 50:
        raise ParamError("need 1-D time and voltage arrays of equal length (>= 50 samples)")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise ParamError("trace contains NaN or inf")
    steps = np.diff(t)
    dt = float(np.median(steps))
    if not dt > 0 or np.max(np.abs(steps - dt)) > 1e-3 * dt:
        raise ParamError("samples must be uniformly spaced in time")
    if filter_tau < 0:
        raise ParamError("filter_tau must be >= 0 s")
    # Offset of the crossing after the last pre-spike sample (pre_lo..pre_hi) and
    # before the first post-spike value (post_lo..post_hi), uniform in between.
    if spike_index is None and filter_tau > 0:
        # Sample nearest the crossing: use only samples that are surely on one side.
        spikes = detect_spikes(y, dt=dt, filter_tau=filter_tau)
        pre_lo, pre_hi, post_lo, post_hi, first_post = 0.5 * dt, 1.5 * dt, 0.5 * dt, 1.5 * dt, 1
    else:
        spikes = (detect_spikes(y) if spike_index is None
                  else np.asarray(spike_index, dtype=np.int64))
        pre_lo, pre_hi, post_lo, post_hi, first_post = 0.0, dt, 0.0, dt, 0
    n_pre = max(3, round(pre_window / dt))
    guard = 2 + math.ceil(4 * filter_tau / dt)
    isi_min = int(np.min(np.diff(spikes))) if spikes.size > 1 else y.size
    n_post = max(4, min(round(post_window / dt), isi_min // 2))
    usable = spikes[(spikes - n_pre - 1 >= 0) & (spikes + n_post + first_post + 1 < y.size)]
    if usable.size < 5:
        raise ParamError(f"found {usable.size} usable spikes; need at least 5")
    noise = _noise_std(y, spikes, guard)

    # Filter inverses (identity when filter_tau = 0).
    ratio = filter_tau / dt
    pre_trace = y.copy()
    pre_trace[1:] = y[1:] + ratio * (y[1:] - y[:-1])
    post_trace = y.copy()
    if filter_tau > 0:
        a = math.exp(-dt / filter_tau)
        post_trace[:-1] = (y[1:] - a * y[:-1]) / (1.0 - a)
    noise_inv = noise * math.hypot(1 + ratio, ratio)  # noise of the ramp inverse
    pre = np.stack([pre_trace[usable - j] for j in range(1, n_pre + 1)], axis=1)
    post = np.stack([post_trace[usable + first_post + j] for j in range(n_post)], axis=1)
    # Two passes: the refractory clamp must be left out of the tau regression,
    # and the post-spike fit needs tau.
    skip = guard
    for _ in range(2):
        tau_m, v_inf = _tau_and_vinf(pre_trace, spikes, dt, guard, noise_inv, skip)
        tau_fit = tau_m if math.isfinite(tau_m) and tau_m > 0 else 1e9
        best = _fit_post(post, dt, tau_fit, filter_tau > 0, t_ref, post_lo, post_hi)
        skip = max(guard, math.ceil(best[0] / dt) + 1)

    # Threshold: pre-spike average with the exact leak, averaged over the offset.
    u0 = np.arange(n_pre) * dt  # time of sample j before the last pre-spike sample
    # E exp(s / tau) for s ~ U(pre_lo, pre_hi).
    gain = (tau_fit * math.exp(pre_lo / tau_fit) * math.expm1((pre_hi - pre_lo) / tau_fit)
            / (pre_hi - pre_lo))
    basis_pre = np.exp(u0 / tau_fit) * gain - 1.0
    v_th, v_th_se = _linear_fit_at_zero(pre, basis_pre)
    return LIFEstimate(
        v_th=v_th, v_reset=best[1], t_ref=best[0], tau_m=tau_m, v_rest=v_inf,
        noise_std=noise, n_spikes=int(usable.size), v_th_se=v_th_se, v_reset_se=best[2],
        naive_v_th=float(np.mean(y[usable - 1])), naive_v_reset=float(np.mean(y[usable])),
    )


def _fit_post(post: np.ndarray, dt: float, tau: float, zoh: bool, t_ref: float | None,
              offset_lo: float, offset_hi: float) -> tuple[float, float, float, float]:
    """Reset, its SE, t_ref: clamp then leaky relaxation, averaged over the offset.

    Returns (t_ref, v_reset, v_reset_se, residual of the mean curve).
    """
    n_post = post.shape[1]
    # Time from the crossing to the first post-spike sample, U(offset_lo, offset_hi).
    offsets = offset_lo + (np.arange(16) + 0.5) / 16 * (offset_hi - offset_lo)
    shift = 0.5 * dt if zoh else 0.0  # the ZOH inverse is an interval average
    w = np.arange(n_post)[:, None] * dt + offsets[None, :] + shift
    best: tuple[float, float, float, float] | None = None
    candidates = [t_ref] if t_ref is not None else list(np.linspace(0, n_post * dt * 0.8, 161))
    for cand in candidates:
        basis = np.mean(-np.expm1(-np.maximum(w - cand, 0.0) / tau), axis=1)
        value, se, resid = _linear_fit_at_zero(post, basis, return_resid=True)
        if best is None or resid < best[3]:
            best = (float(cand), value, se, resid)
    assert best is not None
    return best


def _linear_fit_at_zero(samples: np.ndarray, basis: np.ndarray, *,
                        return_resid: bool = False) -> tuple:
    """Fit mean_k samples[k, j] = c0 + c1 basis[j]; return c0 and its standard error.

    The standard error comes from the per-spike spread (jackknife-free: the
    per-spike fits' intercepts are averaged), robust to correlated noise.
    """
    design = np.stack([np.ones_like(basis), basis], axis=1)
    coef, *_ = np.linalg.lstsq(design, samples.T, rcond=None)
    intercepts = coef[0]
    value = float(np.mean(intercepts))
    se = float(np.std(intercepts, ddof=1) / math.sqrt(intercepts.size))
    if return_resid:
        mean_curve = samples.mean(axis=0)
        fit, *_ = np.linalg.lstsq(design, mean_curve, rcond=None)
        resid = float(np.sum((design @ fit - mean_curve) ** 2))
        return value, se, resid
    return value, se


def _tau_and_vinf(v: np.ndarray, spikes: np.ndarray, dt: float, guard: int,
                  noise: float, skip_after: int) -> tuple[float, float]:
    """tau_m and V_inf by noise-corrected lagged regression inside inter-spike intervals."""
    edges = np.concatenate([[0], spikes, [v.size]])
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    lengths = np.diff(edges)
    # Lag: a quarter of the typical free interval, at least 2 samples (decorrelates the
    # filter-inverse noise of neighbouring samples).
    lag = max(2, int(np.median(lengths)) // 4)
    for lo, hi in itertools.pairwise(edges):
        start = lo + skip_after + 1
        stop = hi - guard - 1
        if stop - start > lag + 2:
            seg = v[start:stop]
            xs.append(seg[:-lag])
            ys.append(seg[lag:])
    if not xs:
        return math.nan, math.nan
    x = np.concatenate(xs)
    yv = np.concatenate(ys)
    cov = float(np.mean((x - x.mean()) * (yv - yv.mean())))
    var = float(np.var(x)) - noise**2  # deconvolve: remove the measurement variance
    if var <= 0:
        return math.nan, math.nan
    slope = cov / var
    if not 0 < slope < 1:
        return math.nan, math.nan
    tau = -lag * dt / math.log(slope)
    v_inf = (yv.mean() - slope * x.mean()) / (1 - slope)
    return tau, float(v_inf)


# ------------------------------------------------------------------ synthetic data


@numba.njit(cache=True)
def _synthetic_kernel(n, h, tau_m, mu, sigma, v_th, v_reset, n_ref, filter_tau,
                      normals):  # pragma: no cover
    v_out = np.empty(n)
    y_out = np.empty(n)
    spikes = np.zeros(n, dtype=np.bool_)
    decay = math.exp(-h / tau_m)
    sd = sigma * math.sqrt(0.5 * (1 - decay * decay))
    fdecay = math.exp(-h / filter_tau) if filter_tau > 0 else 0.0
    v = v_reset
    y = v_reset
    ref = 0
    for k in range(n):
        if ref > 0:
            ref -= 1
            v = v_reset
        else:
            v = mu + (v - mu) * decay + sd * normals[k]
            if v >= v_th:
                spikes[k] = True
                v = v_reset
                ref = n_ref
        y = v + (y - v) * fdecay
        v_out[k] = v
        y_out[k] = y
    return v_out, y_out, spikes


def synthetic_recording(
    *,
    tau_m: float = 0.02,
    v_rest: float = -0.070,
    v_th: float = -0.050,
    v_reset: float = -0.065,
    t_ref: float = 0.002,
    drive: float = 0.025,
    input_sigma: float = 0.001,
    t_stop: float = 2.0,
    sample_dt: float = 1e-4,
    noise_std: float = 0.5e-3,
    filter_tau: float = 0.0,
    oversample: int = 50,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A noisy LIF membrane recording with known parameters, for tests and demos.

    The membrane (``tau dV/dt = -V + v_rest + drive + input_sigma sqrt(tau) xi``) is
    integrated with exact OU steps ``sample_dt/oversample`` long (the threshold is
    then resolved to ~0.2 % of the sampling interval), optionally passed through a
    first-order low-pass ``filter_tau``, sampled every ``sample_dt`` and given
    white measurement noise ``noise_std``.

    Returns:
        (t (s), recorded v (V), true spike times (s)).
    """
    rng = np.random.default_rng(seed)
    h = sample_dt / oversample
    n = round(t_stop / h)
    _, y, spikes = _synthetic_kernel(n, h, tau_m, v_rest + drive, input_sigma, v_th, v_reset,
                                     round(t_ref / h), filter_tau, rng.standard_normal(n))
    fine_t = (np.arange(n) + 1) * h
    sample = np.arange(oversample - 1, n, oversample)
    t = fine_t[sample]
    recorded = y[sample] + noise_std * rng.standard_normal(sample.size)
    return t, recorded, fine_t[spikes] - 0.5 * h


# ---------------------------------------------------------------------- file input


def load_trace(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a recording: CSV with columns ``t`` (s) and ``v`` (V), or a ``.npy`` (2, N)/(N, 2).

    CSV: a header row naming ``t`` and ``v`` (also accepted: ``time``/``t_s`` and
    ``v_m``/``v_v``/``voltage``; a ``v_mv`` column is converted from mV). Lines
    starting with ``#`` are ignored.

    Raises:
        ParamError: Unreadable file, missing columns or non-numeric values.
    """
    path = Path(path)
    if not path.exists():
        raise ParamError(f"{path}: no such file")
    if path.suffix == ".npy":
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise ParamError(f"{path}: cannot read: {err}") from None
        data = np.asarray(data, dtype=float)
        if data.ndim != 2 or 2 not in data.shape:
            raise ParamError(f"{path}: expected an array of shape (2, N) or (N, 2)")
        if data.shape[0] != 2:
            data = data.T
        return data[0], data[1]
    try:
        with path.open(newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    except (OSError, UnicodeDecodeError) as err:
        raise ParamError(f"{path}: cannot read: {err}") from None
    if len(rows) < 2:
        raise ParamError(f"{path}: no data rows")
    header = [h.strip().lower() for h in rows[0]]
    t_col = next((header.index(n) for n in ("t", "time", "t_s") if n in header), None)
    v_names = ("v", "v_m", "v_v", "voltage", "v_mv")
    v_col = next((header.index(n) for n in v_names if n in header), None)
    if t_col is None or v_col is None:
        raise ParamError(f"{path}: header must name a time column 't' (s) and a voltage "
                         f"column 'v' (V) or 'v_mv' (mV); got {rows[0]}")
    try:
        t = np.array([float(r[t_col]) for r in rows[1:]])
        v = np.array([float(r[v_col]) for r in rows[1:]])
    except (ValueError, IndexError) as err:
        raise ParamError(f"{path}: non-numeric or missing value: {err}") from None
    if header[v_col] == "v_mv":
        v = v * 1e-3
    return t, v
