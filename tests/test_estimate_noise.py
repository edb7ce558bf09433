"""Estimation in both firing regimes, against an independent LIF/OU generator.

The recordings come from ``tests/lif_ou_reference.py`` (exact OU steps, Brownian-bridge
threshold crossings), not from the module under test. Regimes (20 s, 10 kHz, 0.5 mV
measurement noise, t_ref 3 ms):

* drift-driven: tau 20 ms, V_inf -45 mV above V_th -50 mV, input SD 1 mV (~33 Hz);
* noise-driven: tau 10 ms, V_inf -52.5 mV below V_th, input SD 4 mV (~37 Hz, the
  Siegert rate of these parameters).
"""

from __future__ import annotations

import numpy as np
import pytest

from lifhw.app.cli import main
from lifhw.errors import ParamError
from lifhw.golden.estimate import Z95, detect_spikes, estimate_lif_parameters
from tests.lif_ou_reference import lif_ou_recording, oracle_information, oracle_transitions

NOISE_DRIVEN = dict(tau=0.010, mu=-0.0525, sigma=0.004, v_th=-0.050, v_reset=-0.060,
                    t_ref=0.003)
DRIFT_DRIVEN = dict(tau=0.020, mu=-0.045, sigma=0.001, v_th=-0.050, v_reset=-0.065,
                    t_ref=0.003)


def _inside(ci: tuple[float, float], value: float) -> bool:
    return ci[0] <= value <= ci[1]


def _oracle_log_tau_sd(regime: dict, t_stop: float, seed: int) -> float:
    """SD of log tau_m that an oracle seeing the latent membrane of this recording
    (no measurement noise) reaches: the inverse observed information of the killed-OU
    likelihood at the true parameters (``tests/lif_ou_reference.py``)."""
    _, latent, spikes = lif_ou_recording(**regime, t_stop=t_stop, noise=0.0, seed=seed)
    data = oracle_transitions(latent, spikes, v_th=regime["v_th"], t_ref=regime["t_ref"])
    x = np.array([np.log(regime["tau"]), (regime["v_th"] - regime["mu"]) * 1e3,
                  np.log(regime["sigma"] * 1e3)])
    return float(np.sqrt(np.linalg.inv(oracle_information(x, data))[0, 0]))


@pytest.mark.parametrize(("regime", "seed"), [(NOISE_DRIVEN, 2), (DRIFT_DRIVEN, 1)],
                         ids=["noise-driven", "drift-driven"])
def test_both_regimes_within_targets_and_intervals(regime: dict, seed: int) -> None:
    t, v, spikes = lif_ou_recording(**regime, t_stop=20.0, noise=0.5e-3, seed=seed)
    assert 600 < spikes.size < 900
    est = estimate_lif_parameters(t, v)
    assert est.n_spikes == spikes.size
    # Noise-driven the filter resolves the threshold's kill layer (step SD 0.56 mV,
    # filter SD 0.41 mV); drift-driven (0.10 vs 0.21 mV) it does not.
    assert est.likelihood == ("killed" if regime is NOISE_DRIVEN else "far-from-threshold")
    assert abs(est.v_th - regime["v_th"]) < 0.1e-3
    assert abs(est.t_ref - regime["t_ref"]) < 0.15e-3
    assert abs(est.v_reset - regime["v_reset"]) < 0.1e-3
    assert est.noise_std == pytest.approx(0.5e-3, rel=0.05)
    # Every stated 95 % interval holds the true value.
    assert _inside(est.v_th_ci, regime["v_th"])
    assert _inside(est.tau_m_ci, regime["tau"])
    assert _inside(est.v_rest_ci, regime["mu"])
    assert _inside(est.t_ref_ci, regime["t_ref"])
    assert _inside(est.v_reset_ci, regime["v_reset"])
    # The tau interval is about as narrow as the information in the recording allows
    # and no narrower: 0.95-1.35 times the 95 % half-width of an oracle that sees the
    # membrane without measurement noise (Cramer-Rao: 8.3 % noise-driven, 2.2 %
    # drift-driven here). Noise-driven, the estimator that left out the samples near
    # threshold was 1.4 times wider and still under-covered.
    oracle = Z95 * _oracle_log_tau_sd(regime, 20.0, seed)
    half = 0.5 * np.log(est.tau_m_ci[1] / est.tau_m_ci[0])
    assert 0.95 * oracle < half < 1.35 * oracle
    # The 5 % target. Noise-driven, 20 s determine tau_m to ~4.5 % (one SD) even for
    # the oracle, so this holds in ~60 % of such recordings (docs/theory.md: +/-5 % in
    # 95 % of runs needs ~70 s); the interval checks above are what every run owes.
    assert est.tau_m == pytest.approx(regime["tau"], rel=0.05)


def test_spike_peaks_are_not_taken_for_the_threshold() -> None:
    # Each spike shows +20 mV for 0.5 ms before the reset clamp.
    t, v, spikes = lif_ou_recording(**DRIFT_DRIVEN, t_stop=10.0, noise=0.5e-3, peak_v=0.020,
                                    peak_s=0.5e-3, seed=3)
    est = estimate_lif_parameters(t, v)
    assert est.n_spikes == spikes.size
    assert abs(est.v_th - DRIFT_DRIVEN["v_th"]) < 0.1e-3
    assert _inside(est.v_th_ci, DRIFT_DRIVEN["v_th"])
    assert est.naive_v_th < -0.049  # the peak samples are not "the last sample before"
    # t_ref is measured from the crossing: the peak belongs to the refractory period.
    assert abs(est.t_ref - DRIFT_DRIVEN["t_ref"]) < 0.2e-3


def test_outliers_are_neither_spikes_nor_shifts() -> None:
    t, v, spikes = lif_ou_recording(**NOISE_DRIVEN, t_stop=6.0, noise=0.5e-3, seed=4)
    clean = estimate_lif_parameters(t, v)
    rng = np.random.default_rng(0)
    where = rng.choice(np.arange(100, v.size - 100), size=30, replace=False)
    dirty = v.copy()
    dirty[where] += rng.choice([-1.0, 1.0], size=30) * 0.012  # 12 mV single-sample glitches
    assert detect_spikes(dirty).size == spikes.size
    est = estimate_lif_parameters(t, dirty)
    assert est.n_spikes == spikes.size
    assert abs(est.v_th - clean.v_th) < 0.05e-3
    assert abs(est.t_ref - clean.t_ref) < 0.2e-3
    assert est.tau_m == pytest.approx(clean.tau_m, rel=0.03)


def test_missing_spikes_are_detected() -> None:
    t, v, _ = lif_ou_recording(**DRIFT_DRIVEN, t_stop=5.0, noise=0.5e-3, seed=5)
    found = detect_spikes(v)
    with pytest.raises(ParamError, match="missed reset"):
        estimate_lif_parameters(t, v, spike_index=np.delete(found, [10, 40, 70]))


def test_too_little_data_is_refused(tmp_path, capsys) -> None:
    t, v, spikes = lif_ou_recording(**NOISE_DRIVEN, t_stop=0.2, noise=0.5e-3, seed=6)
    assert spikes.size < 10
    with pytest.raises(ParamError, match="need at least"):
        estimate_lif_parameters(t, v)
    path = tmp_path / "short.npy"
    np.save(path, np.stack([t, v]))
    assert main(["estimate", str(path)]) == 2
    assert "need at least" in capsys.readouterr().err


def test_heavy_noise_answers_inside_its_interval_or_refuses() -> None:
    # 1 mV noise on 10 mV resets: detection is marginal; never a silent wrong answer.
    for seed in (7,):
        t, v, _ = lif_ou_recording(**NOISE_DRIVEN, t_stop=20.0, noise=1.0e-3, seed=seed)
        try:
            est = estimate_lif_parameters(t, v)
        except ParamError:
            continue
        assert _inside(est.v_th_ci, NOISE_DRIVEN["v_th"])
        assert _inside(est.tau_m_ci, NOISE_DRIVEN["tau"])
        assert est.t_ref > 2e-3


def test_killed_transition_matches_a_finely_monitored_ou_path() -> None:
    # The killed likelihood's one-interval transition (method of images) against
    # exact OU paths monitored on 40 fine steps with the per-step bridge check, as
    # in the reference generator; noise-driven membrane, 0.1 ms interval, in
    # u = V_th - V (mV).
    from lifhw.golden.estimate import _killed_cross, _killed_node

    tau, sigma, gap, dt, fine = 0.010, 4.0, 2.5, 1e-4, 40
    a = np.exp(-dt / tau)
    q2 = sigma**2 * (1 - a * a)
    c = (1 - a) * gap
    rng = np.random.default_rng(1)
    h_decay = np.exp(-dt / fine / tau)
    h_sd = sigma * np.sqrt(1 - h_decay**2)
    for u0 in (0.2, 0.6, 1.2):
        u = np.full(200_000, u0)
        alive = np.ones(u.size, dtype=bool)
        for _ in range(fine):
            new = gap + (u - gap) * h_decay + h_sd * rng.standard_normal(u.size)
            bridge = np.exp(-2 * np.maximum(u, 0) * np.maximum(new, 0) / h_sd**2)
            alive &= (new > 0) & (rng.random(u.size) >= bridge)
            u = new
        crossed = 1 - alive.mean()
        se = np.sqrt(crossed * (1 - crossed) / u.size)
        assert _killed_cross(u0, c, a, q2) == pytest.approx(crossed, abs=4 * se + 2e-3)
        # The transition mass that survives (no observation) is the complement, and
        # its first two moments are those of the surviving paths' end points.
        survive, first, second = _killed_node(u0, c, a, q2, 1.0, 0.0, False)
        assert survive + _killed_cross(u0, c, a, q2) == pytest.approx(1.0, abs=1e-12)
        mean = first / survive
        assert mean == pytest.approx(u[alive].mean(), abs=3e-3)
        assert np.sqrt(second / survive - mean**2) == pytest.approx(u[alive].std(), abs=3e-3)
