"""Independent LIF/OU recording generator for the estimator tests.

Written separately from :mod:`lifhw.golden.estimate`: the free membrane takes exact
Ornstein-Uhlenbeck steps ``V' = mu + (V - mu) e^{-h/tau} + sigma sqrt(1 - e^{-2h/tau}) xi``
on a fine grid ``h = dt/substeps``; a threshold crossing between two fine steps is
detected with the Brownian-bridge probability ``exp(-2 (th - V)(th - V') / (D h))``,
``D = 2 sigma^2 / tau`` (continuous monitoring up to O(h)). After a crossing the
membrane shows ``peak_v`` for ``peak_s`` (0 = no spike peak), then sits at
``v_reset`` until ``t_ref`` after the crossing. Samples are the membrane at
``t_k = k dt`` plus white measurement noise.

:func:`killed_ou_nll` is the exact likelihood of an oracle that sees the latent
membrane (no measurement noise) at every sample: its observed information bounds
what any estimator can learn about tau_m from such a recording (Cramer-Rao).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import special


@numba.njit
def _kernel(n_samples, substeps, h, tau, mu, sigma, v_th, v_reset, n_ref, n_peak, peak_v,
            seed):  # pragma: no cover - compiled
    np.random.seed(seed)
    out = np.empty(n_samples)
    spikes = []
    decay = math.exp(-h / tau)
    step_sd = sigma * math.sqrt(1.0 - decay * decay)
    diffusion_h = 2.0 * sigma * sigma / tau * h
    v = v_reset
    ref = 0
    since = 0
    step = 0
    for k in range(n_samples):
        for _ in range(substeps):
            step += 1
            if ref > 0:
                ref -= 1
                since += 1
                v = peak_v if since <= n_peak else v_reset
                continue
            v_new = mu + (v - mu) * decay + step_sd * np.random.standard_normal()
            crossed = v_new >= v_th
            if not crossed and diffusion_h > 0:
                p_cross = math.exp(-2.0 * (v_th - v) * (v_th - v_new) / diffusion_h)
                crossed = np.random.random() < p_cross
            if crossed:
                spikes.append((step - 0.5) * h)
                ref = n_ref
                since = 0
                v = peak_v if n_peak > 0 else v_reset
                if n_peak > 0:
                    since = 1
            else:
                v = v_new
        out[k] = v
    return out, np.array(spikes)


def lif_ou_recording(*, tau: float, mu: float, sigma: float, v_th: float, v_reset: float,
                     t_ref: float, t_stop: float, dt: float = 1e-4, noise: float = 0.5e-3,
                     peak_v: float = 0.0, peak_s: float = 0.0, substeps: int = 20,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t (s), recorded V (V), true crossing times (s)) of a noisy LIF.

    Args:
        tau: Membrane time constant (s).
        mu: Free-membrane mean V_inf (V).
        sigma: Stationary SD of the free membrane (V).
        v_th, v_reset: Threshold and reset (V).
        t_ref: Clamp after each crossing (s), including any peak.
        t_stop: Duration (s).
        dt: Sampling interval (s).
        noise: White measurement noise SD (V).
        peak_v, peak_s: Spike peak value (V) and duration (s); ``peak_s = 0`` = none.
        substeps: Fine steps per sample.
        seed: Random seed.
    """
    h = dt / substeps
    n = round(t_stop / dt)
    v, spikes = _kernel(n, substeps, h, tau, mu, sigma, v_th, v_reset, round(t_ref / h),
                        round(peak_s / h), peak_v, seed)
    rng = np.random.default_rng(seed + 7919)
    t = (np.arange(n) + 1) * dt
    return t, v + noise * rng.standard_normal(n), spikes


# ---------------------------------------------------------------- information bound


def oracle_transitions(v: np.ndarray, spikes: np.ndarray, *, v_th: float, t_ref: float,
                       dt: float = 1e-4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What an oracle sees in a noise-free recording of :func:`lif_ou_recording`.

    Returns ``(u_k, u_{k+1})`` for every free transition (from the first sample after
    each clamp to the last sample before the next crossing) and ``u`` of the last
    sample before each crossing, all as ``u = v_th - V`` in mV.
    """
    starts, stops, last = [], [], []
    lo = 0
    for s in spikes:
        hi = int(np.floor(s / dt - 1e-9)) - 1  # sample i is at (i + 1) dt < s
        if hi - lo >= 1:
            starts.append(lo)
            stops.append(hi + 1)
            last.append(hi)
        lo = int(np.floor((s + t_ref) / dt)) + 1
    u = (v_th - v) * 1e3
    before = np.concatenate([u[a:b - 1] for a, b in zip(starts, stops, strict=True)])
    after = np.concatenate([u[a + 1:b] for a, b in zip(starts, stops, strict=True)])
    return before, after, u[np.array(last, dtype=np.int64)]


def killed_ou_nll(x: np.ndarray, u: np.ndarray, u_next: np.ndarray, u_last: np.ndarray, *,
                  dt: float = 1e-4, killed: bool = True) -> float:
    """Negative log-likelihood of the oracle's data, ``x = (log tau (s), v_th - V_inf (mV),
    log sigma (mV))``.

    Exact OU transitions; with ``killed`` each is multiplied by the Brownian-bridge
    survival ``1 - exp(-2 u u' / s^2)`` and each segment ends with the probability of
    crossing within the next interval (method of images: ``Phi(-(c + a u)/s) +
    exp(-2 u (c - (1 - a) u)/s^2) Phi((c - (2 - a) u)/s)``), the likelihood of the
    discretely observed killed process. Without, the plain Gaussian likelihood.
    """
    tau, gap, sigma = math.exp(x[0]), x[1], math.exp(x[2])
    a = math.exp(-dt / tau)
    s2 = sigma * sigma * (1 - a * a)
    c = (1 - a) * gap
    resid = u_next - c - a * u
    ll = float(np.sum(-0.5 * np.log(2 * np.pi * s2) - 0.5 * resid**2 / s2))
    if not killed:
        return -ll
    ll += float(np.sum(np.log(-np.expm1(-2 * u * u_next / s2))))
    s = math.sqrt(s2)
    above = special.ndtr(-(c + a * u_last) / s)
    image = np.exp(-2 * u_last * (c - (1 - a) * u_last) / s2
                   + special.log_ndtr((c - (2 - a) * u_last) / s))
    return -ll - float(np.sum(np.log(above + image)))


def oracle_information(x: np.ndarray, data: tuple[np.ndarray, np.ndarray, np.ndarray], *,
                       dt: float = 1e-4, step: float = 1e-3) -> np.ndarray:
    """Observed information (Hessian of :func:`killed_ou_nll`) at ``x``."""
    hess = np.zeros((3, 3))
    eye = np.eye(3) * step
    for i in range(3):
        for j in range(i, 3):
            hess[i, j] = hess[j, i] = (
                killed_ou_nll(x + eye[i] + eye[j], *data, dt=dt)
                - killed_ou_nll(x + eye[i] - eye[j], *data, dt=dt)
                - killed_ou_nll(x - eye[i] + eye[j], *data, dt=dt)
                + killed_ou_nll(x - eye[i] - eye[j], *data, dt=dt)) / (4 * step * step)
    return hess
