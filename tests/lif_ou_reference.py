"""Independent LIF/OU recording generator for the estimator tests.

Written separately from :mod:`lifhw.golden.estimate`: the free membrane takes exact
Ornstein-Uhlenbeck steps ``V' = mu + (V - mu) e^{-h/tau} + sigma sqrt(1 - e^{-2h/tau}) xi``
on a fine grid ``h = dt/substeps``; a threshold crossing between two fine steps is
detected with the Brownian-bridge probability ``exp(-2 (th - V)(th - V') / (D h))``,
``D = 2 sigma^2 / tau`` (continuous monitoring up to O(h)). After a crossing the
membrane shows ``peak_v`` for ``peak_s`` (0 = no spike peak), then sits at
``v_reset`` until ``t_ref`` after the crossing. Samples are the membrane at
``t_k = k dt`` plus white measurement noise.
"""

from __future__ import annotations

import math

import numba
import numpy as np


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
