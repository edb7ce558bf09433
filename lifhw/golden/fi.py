"""Closed-form f-I curve of the deterministic LIF neuron and its inverse.

For a constant current I above rheobase the membrane rises from ``v_reset``
towards ``V_inf = v_rest + r_m I`` and reaches ``v_th`` after

    T - t_ref = tau_m ln((V_inf - v_reset) / (V_inf - v_th))
              = tau_m log1p((v_th - v_reset) / (V_inf - v_th)),

so the rate is ``1 / T`` (Hz), and zero when ``V_inf <= v_th``. The inverse,
used to set bias currents for a wanted rate (e.g. ANN->SNN conversion), is

    V_inf = v_th + (v_th - v_reset) / expm1((1/rate - t_ref) / tau_m),
    I = (V_inf - v_rest) / r_m.

``log1p``/``expm1`` keep both accurate near rheobase and at high rates.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from lifhw.core import LIFParams, neuron_values

_NAMES = ("tau_m", "r_m", "v_rest", "v_th", "v_reset", "t_ref")


def lif_isi(
    i_in: ArrayLike,
    neuron: LIFParams | None = None,
    *,
    tau_m: float | None = None,
    r_m: float | None = None,
    v_rest: float | None = None,
    v_th: float | None = None,
    v_reset: float | None = None,
    t_ref: float | None = None,
) -> np.ndarray | float:
    """Inter-spike interval (s) for constant current ``i_in`` (A); inf below rheobase.

    Give the neuron as a :class:`~lifhw.core.LIFParams` or, as a convenience,
    as keywords (all but ``t_ref``, which defaults to 0 s, are then needed).

    Args:
        i_in: Input current (A), any shape.
        neuron: The neuron (its synapse taus are not used).
        tau_m: Membrane time constant (s).
        r_m: Membrane resistance (Ohm).
        v_rest: Resting potential (V).
        v_th: Threshold (V).
        v_reset: Reset potential (V).
        t_ref: Absolute refractory period (s).

    Raises:
        ParamError: (a ValueError) invalid neuron values.
        TypeError: Both ``neuron`` and keywords, or a keyword missing.
    """
    p = neuron_values(neuron, _NAMES, {"tau_m": tau_m, "r_m": r_m, "v_rest": v_rest,
                                       "v_th": v_th, "v_reset": v_reset, "t_ref": t_ref})
    current = np.asarray(i_in, dtype=float)
    v_inf = p["v_rest"] + p["r_m"] * current
    excess = v_inf - p["v_th"]
    with np.errstate(divide="ignore", invalid="ignore"):
        isi = p["t_ref"] + p["tau_m"] * np.log1p((p["v_th"] - p["v_reset"]) / excess)
    # A neuron whose reset lies above threshold-crossing asymptote never fires;
    # v_reset >= v_inf > v_th would need an instantaneous re-crossing, handled
    # by the log1p argument staying positive (v_th - v_reset < 0 < excess is
    # impossible since v_th > v_reset).
    isi = np.where(excess > 0, isi, np.inf)
    return float(isi) if isi.ndim == 0 else isi


def lif_rate(
    i_in: ArrayLike,
    neuron: LIFParams | None = None,
    *,
    tau_m: float | None = None,
    r_m: float | None = None,
    v_rest: float | None = None,
    v_th: float | None = None,
    v_reset: float | None = None,
    t_ref: float | None = None,
) -> np.ndarray | float:
    """Firing rate (Hz) for constant current ``i_in`` (A); 0 at and below rheobase.

    Arguments as :func:`lif_isi`. Vectorised over ``i_in``.
    """
    isi = np.asarray(lif_isi(i_in, neuron, tau_m=tau_m, r_m=r_m, v_rest=v_rest, v_th=v_th,
                             v_reset=v_reset, t_ref=t_ref))
    rate = np.where(np.isfinite(isi), 1.0 / isi, 0.0)
    return float(rate) if rate.ndim == 0 else rate


def lif_current_for_rate(
    rate_hz: ArrayLike,
    neuron: LIFParams | None = None,
    *,
    tau_m: float | None = None,
    r_m: float | None = None,
    v_rest: float | None = None,
    v_th: float | None = None,
    v_reset: float | None = None,
    t_ref: float | None = None,
) -> np.ndarray | float:
    """Constant current (A) that makes the neuron fire at ``rate_hz``.

    The inverse of :func:`lif_rate` on its firing branch (neuron arguments as
    :func:`lif_isi`). A rate of 0 returns the rheobase current (the boundary of
    the silent region).

    Raises:
        ValueError: A rate is negative or not below the maximum ``1 / t_ref``.
    """
    p = neuron_values(neuron, _NAMES, {"tau_m": tau_m, "r_m": r_m, "v_rest": v_rest,
                                       "v_th": v_th, "v_reset": v_reset, "t_ref": t_ref})
    tau, t_ref_s = p["tau_m"], p["t_ref"]
    rate = np.asarray(rate_hz, dtype=float)
    if np.any(rate < 0) or not np.all(np.isfinite(rate)):
        raise ValueError("rates must be finite and >= 0 Hz")
    if t_ref_s > 0 and np.any(rate * t_ref_s >= 1.0):
        raise ValueError(f"rates must be below 1/t_ref = {1.0 / t_ref_s:g} Hz")
    with np.errstate(divide="ignore", over="ignore"):
        free_time = np.where(rate > 0, 1.0 / np.where(rate > 0, rate, 1.0) - t_ref_s, np.inf)
        v_inf = p["v_th"] + (p["v_th"] - p["v_reset"]) / np.expm1(free_time / tau)
    current = (v_inf - p["v_rest"]) / p["r_m"]
    return float(current) if current.ndim == 0 else current
