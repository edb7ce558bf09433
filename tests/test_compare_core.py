"""compare() on hand-built traces whose differences are known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lifhw.compare import compare
from lifhw.core import Trace


def _trace(spikes, v=None, tau=None, t=None) -> Trace:
    t = np.linspace(0, 1, 1001) if t is None else t
    v = np.zeros_like(t) if v is None else v
    meta = {} if tau is None else {"tau_s": tau}
    return Trace(t=t, v=v, spike_times=np.asarray(spikes, float), t_stop=1.0, meta=meta)


def test_known_shifts() -> None:
    ref = _trace([0.1, 0.2, 0.3, 0.4], tau=0.02)
    cand = _trace([0.11, 0.22, 0.33, 0.44], v=np.full(1001, 0.003), tau=0.021)
    m = compare(ref, cand)
    assert m.isi_ref_s == pytest.approx(0.1)
    assert m.isi_cand_s == pytest.approx(0.11)
    assert m.isi_error == pytest.approx(0.1)
    assert m.rate_error == pytest.approx(1 / 0.11 / 10 - 1)
    assert m.spike_time_error_s == pytest.approx((0.01 + 0.02 + 0.03 + 0.04) / 4)
    assert m.spike_time_max_error_s == pytest.approx(0.04)
    assert m.tau_error == pytest.approx(0.05)
    assert m.v_rmse_v == pytest.approx(0.003)
    assert m.count_error == 0


def test_missing_quantities_are_nan() -> None:
    m = compare(_trace([]), _trace([0.5]))
    assert math.isnan(m.isi_error) and math.isnan(m.tau_error)
    assert m.count_error == 1.0


def test_population_counts_and_correlation() -> None:
    ref = Trace(t=np.zeros(0), v=np.zeros(0), spike_times=np.array([0.1, 0.2, 0.3, 0.5]),
                spike_neurons=np.array([0, 1, 1, 2]), n_neurons=3, t_stop=1.0)
    cand = Trace(t=np.zeros(0), v=np.zeros(0), spike_times=np.array([0.1, 0.2, 0.5, 0.6]),
                 spike_neurons=np.array([0, 1, 2, 2]), n_neurons=3, t_stop=1.0)
    m = compare(ref, cand)
    assert m.n_spikes_ref == m.n_spikes_cand == 4
    # counts (1, 2, 1) vs (1, 1, 2): errors 0, 1/2, 1/1
    assert m.count_error == pytest.approx((0 + 0.5 + 1.0) / 3)
    assert m.rate_correlation == pytest.approx(np.corrcoef([1, 2, 1], [1, 1, 2])[0, 1])
