"""Trace-to-trace metrics: one implementation for tests, CLI, sweeps and reports.

``compare(reference, candidate)`` measures how far a realisation (ngspice, RTL,
chip simulator) is from the reference (usually the golden model). Relative
errors are signed, ``(candidate - reference) / reference``; a metric that cannot
be computed (no spikes, no membrane recording) is NaN, never a made-up number.

Spike matching: for each neuron the i-th reference spike is paired with the
i-th candidate spike (both sorted), for ``min(n_ref, n_cand)`` pairs. This is the
right pairing for the regular trains of f-I and step experiments and is
stated, not hidden; unmatched spikes show up in the count error.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from lifhw.core import Trace


@dataclass(frozen=True)
class Metrics:
    """Differences between a reference and a candidate trace (SI units).

    Attributes:
        n_spikes_ref, n_spikes_cand: Total spike counts.
        rate_ref_hz, rate_cand_hz: Firing rates (neuron 0 for one neuron, mean
            over neurons for populations).
        rate_error: Relative rate error.
        isi_ref_s, isi_cand_s: Mean inter-spike interval (neuron 0).
        isi_error: Relative mean-ISI error.
        spike_time_error_s: Mean |t_cand - t_ref| over paired spikes.
        spike_time_max_error_s: Largest paired difference.
        tau_ref_s, tau_cand_s, tau_error: Membrane time constants from the traces'
            ``meta["tau_s"]`` and their relative error.
        v_rmse_v: RMS membrane difference on the reference's time grid (overlap only).
        v_rmse_subthreshold_v: The same, excluding ``window`` around every spike.
        count_error: Mean over neurons of |count_cand - count_ref| / max(count_ref, 1).
        rate_correlation: Pearson correlation of per-neuron counts (populations).
    """

    n_spikes_ref: int
    n_spikes_cand: int
    rate_ref_hz: float
    rate_cand_hz: float
    rate_error: float
    isi_ref_s: float
    isi_cand_s: float
    isi_error: float
    spike_time_error_s: float
    spike_time_max_error_s: float
    tau_ref_s: float
    tau_cand_s: float
    tau_error: float
    v_rmse_v: float
    v_rmse_subthreshold_v: float
    count_error: float
    rate_correlation: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain mapping (NaN kept; JSON writers turn it into null)."""
        return asdict(self)


def _rel(candidate: float, reference: float) -> float:
    if not (math.isfinite(candidate) and math.isfinite(reference)) or reference == 0:
        return math.nan
    return (candidate - reference) / reference


def _mean_isi(spikes: np.ndarray) -> float:
    return float(np.mean(np.diff(spikes))) if len(spikes) >= 2 else math.nan


def _paired_errors(reference: Trace, candidate: Trace) -> np.ndarray:
    diffs = []
    for neuron in range(min(reference.n_neurons, candidate.n_neurons)):
        ref, cand = reference.spikes(neuron), candidate.spikes(neuron)
        n = min(len(ref), len(cand))
        diffs.append(np.abs(cand[:n] - ref[:n]))
    return np.concatenate(diffs) if diffs else np.zeros(0)


def _rmse(reference: Trace, candidate: Trace, window: float) -> tuple[float, float]:
    if reference.v.size == 0 or candidate.v.size == 0 or reference.n_neurons != 1:
        return math.nan, math.nan
    t_ref, v_ref = reference.t, reference.membrane
    lo = max(t_ref[0], candidate.t[0])
    hi = min(t_ref[-1], candidate.t[-1])
    mask = (t_ref >= lo) & (t_ref <= hi)
    if mask.sum() < 2:
        return math.nan, math.nan
    t = t_ref[mask]
    diff = np.interp(t, candidate.t, candidate.membrane) - v_ref[mask]
    full = float(np.sqrt(np.mean(diff**2)))
    spikes = np.concatenate([reference.spikes(), candidate.spikes()])
    if len(spikes) == 0:
        return full, full
    near = np.zeros(len(t), dtype=bool)
    for s in spikes:
        near |= np.abs(t - s) <= window
    if near.all():
        return full, math.nan
    return full, float(np.sqrt(np.mean(diff[~near] ** 2)))


def compare(reference: Trace, candidate: Trace, *, spike_window: float | None = None) -> Metrics:
    """Metrics of ``candidate`` against ``reference``.

    Args:
        reference: Usually the golden trace.
        candidate: The realisation under test (same stimulus).
        spike_window: Half-width (s) of the window around spikes excluded from the
            subthreshold RMSE; default 2 % of the reference mean ISI, at least 1 sample.
    """
    counts_ref = reference.spike_counts()
    counts_cand = candidate.spike_counts()
    if reference.n_neurons == 1 and candidate.n_neurons == 1:
        rate_ref, rate_cand = reference.rate_hz(), candidate.rate_hz()
        count_error = abs(int(counts_cand[0]) - int(counts_ref[0])) / max(int(counts_ref[0]), 1)
        correlation = math.nan
    else:
        n = min(len(counts_ref), len(counts_cand))
        rate_ref = float(counts_ref.mean() / reference.t_stop)
        rate_cand = float(counts_cand.mean() / candidate.t_stop)
        a, b = counts_ref[:n].astype(float), counts_cand[:n].astype(float)
        count_error = float(np.mean(np.abs(b - a) / np.maximum(a, 1.0)))
        correlation = (float(np.corrcoef(a, b)[0, 1])
                       if n > 1 and a.std() > 0 and b.std() > 0 else math.nan)
    isi_ref = _mean_isi(reference.spikes()) if reference.n_neurons >= 1 else math.nan
    isi_cand = _mean_isi(candidate.spikes()) if candidate.n_neurons >= 1 else math.nan
    paired = _paired_errors(reference, candidate)
    tau_ref = float(reference.meta.get("tau_s", math.nan))
    tau_cand = float(candidate.meta.get("tau_s", math.nan))
    if spike_window is None:
        step = float(np.median(np.diff(reference.t))) if reference.t.size > 1 else 0.0
        spike_window = max(0.02 * isi_ref if math.isfinite(isi_ref) else 0.0, step)
    rmse, rmse_sub = _rmse(reference, candidate, spike_window)
    return Metrics(
        n_spikes_ref=int(counts_ref.sum()),
        n_spikes_cand=int(counts_cand.sum()),
        rate_ref_hz=rate_ref,
        rate_cand_hz=rate_cand,
        rate_error=_rel(rate_cand, rate_ref),
        isi_ref_s=isi_ref,
        isi_cand_s=isi_cand,
        isi_error=_rel(isi_cand, isi_ref),
        spike_time_error_s=float(paired.mean()) if paired.size else math.nan,
        spike_time_max_error_s=float(paired.max()) if paired.size else math.nan,
        tau_ref_s=tau_ref,
        tau_cand_s=tau_cand,
        tau_error=_rel(tau_cand, tau_ref),
        v_rmse_v=rmse,
        v_rmse_subthreshold_v=rmse_sub,
        count_error=count_error,
        rate_correlation=correlation,
    )
