"""ISI-aligned membrane RMSE of the analog-vs-golden comparison (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from lifhw.analog.flow import aligned_rmse
from lifhw.compare import compare
from lifhw.core import Trace


def _sawtooth(period: float, t_stop: float = 1.0, dt: float = 1e-4,
              offset: float = 0.0) -> Trace:
    t = np.arange(0.5 * dt, t_stop, dt)  # no sample exactly on a reset
    phase = np.mod(t, period) / period
    spikes = np.arange(period, t_stop, period)
    return Trace(t=t, v=0.6 + 0.05 * phase + offset, spike_times=spikes, t_stop=t_stop)


def test_drift_does_not_count_but_shape_does() -> None:
    reference = _sawtooth(0.050)
    drifted = _sawtooth(0.0505)  # 1 % longer ISI: spikes drift apart by 10 ms
    # Whole-run RMSE is dominated by the misaligned resets ...
    assert compare(reference, drifted).v_rmse_v > 5e-3
    # ... while interval by interval the trajectories differ by at most 1 % of 50 mV.
    assert aligned_rmse(reference, drifted) < 0.5e-3
    shifted = _sawtooth(0.050, offset=2e-3)  # a real 2 mV membrane difference
    assert aligned_rmse(reference, shifted) == pytest.approx(2e-3, rel=1e-6)


def test_no_spikes_falls_back_to_whole_run() -> None:
    t = np.linspace(0, 1, 101)
    a = Trace(t=t, v=np.zeros(101), spike_times=np.array([]), t_stop=1.0)
    b = Trace(t=t, v=np.full(101, 1e-3), spike_times=np.array([]), t_stop=1.0)
    assert aligned_rmse(a, b) == pytest.approx(1e-3)
