"""Stochastic LIF theory: Siegert rate vs independent references, FP density, Monte Carlo.

References used here are independent of the code under test: published-style
reference numbers measured for the issue, a 40-digit mpmath quadrature of the
textbook integrand, the deterministic f-I curve, the Gaussian free-membrane
limit, and an exact-OU Monte Carlo.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifhw.golden import fokker_planck_stationary, lif_rate, siegert_rate
from lifhw.golden.stochastic import mfpt_rate, simulate_ou_population

NEURON = {"tau_m": 0.02, "v_th": 0.020, "v_reset": 0.010, "t_ref": 0.002}
# (mu mV, sigma mV, rate Hz) measured for issue 6 (tau 20 ms, V_th 20 mV, V_r 10 mV, t_ref 2 ms).
REFERENCE = [
    (25.0, 2.0, 42.85),
    (19.0, 5.0, 23.43),
    (15.0, 5.0, 9.461),
    (10.0, 5.0, 0.8819),
    (15.0, 2.0, 0.1220),
]


def _mp_rate(mu: float, sigma: float, tau_m: float, v_th: float, v_reset: float,
             t_ref: float) -> mp.mpf:
    """Textbook Siegert integral exp(u^2)(1 + erf u) at 40 digits (mpmath never overflows)."""
    with mp.workdps(40):
        a = mp.mpf(v_reset - mu) / mp.mpf(sigma)
        b = mp.mpf(v_th - mu) / mp.mpf(sigma)

        def f(u: mp.mpf) -> mp.mpf:
            return mp.exp(u * u) * mp.erfc(-u)

        points = [a, b]
        if a < 0 < b:
            points = [a, mp.mpf(0), b]
        if b > 3:  # the integrand is a boundary layer of width 1/(2b) below b
            points = [*points[:-1], b - 3 / b, b - 1 / b, b]
        integral = mp.quad(f, points)
        return 1 / (t_ref + tau_m * mp.sqrt(mp.pi) * integral)


@pytest.mark.parametrize(("mu_mv", "sigma_mv", "rate_hz"), REFERENCE)
def test_siegert_reference_numbers(mu_mv: float, sigma_mv: float, rate_hz: float) -> None:
    rate = siegert_rate(mu_mv * 1e-3, sigma_mv * 1e-3, **NEURON)
    assert rate == pytest.approx(rate_hz, rel=6e-4)  # reference given to 4 digits


@pytest.mark.parametrize(("mu_mv", "sigma_mv", "rate_hz"), REFERENCE)
def test_three_rates_agree(mu_mv: float, sigma_mv: float, rate_hz: float) -> None:
    mu, sigma = mu_mv * 1e-3, sigma_mv * 1e-3
    siegert = siegert_rate(mu, sigma, **NEURON)
    fp = fokker_planck_stationary(mu, sigma, **NEURON)
    assert fp.rate_hz == pytest.approx(siegert, rel=1e-6)
    assert fp.rate_mfpt_hz == pytest.approx(siegert, rel=1e-6)
    assert mfpt_rate(mu, sigma, **NEURON) == pytest.approx(siegert, rel=1e-6)


def test_fp_density_normalisation_and_boundary() -> None:
    fp = fokker_planck_stationary(0.019, 0.005, **NEURON)
    # Free density + refractory fraction = 1 (trapezoid on the returned grid).
    mass = float(np.sum(0.5 * (fp.density[1:] + fp.density[:-1]) * np.diff(fp.v)))
    assert mass + fp.rate_hz * NEURON["t_ref"] == pytest.approx(1.0, abs=1e-6)
    assert fp.density[-1] == 0.0  # absorbing threshold
    assert np.all(fp.density >= 0)
    # Flux at V_th = -(sigma^2 / 2 tau) dP/dV: one-sided difference on the grid.
    step = fp.v[-1] - fp.v[-2]
    slope = (fp.density[-1] - fp.density[-2]) / step
    flux = -(0.005**2) / (2 * NEURON["tau_m"]) * slope
    assert flux == pytest.approx(fp.rate_hz, rel=2e-3)


def test_fp_density_is_gaussian_far_below_reset() -> None:
    # Below v_reset no flux: P ~ exp(-(V - mu)^2 / sigma^2) (free OU, variance sigma^2/2).
    mu, sigma = 0.012, 0.004
    fp = fokker_planck_stationary(mu, sigma, **NEURON)
    below = fp.v < NEURON["v_reset"] - 1e-3
    v = fp.v[below]
    ratio = fp.density[below] / np.exp(-((v - mu) ** 2) / sigma**2)
    assert np.ptp(ratio) / ratio.mean() < 1e-5


@pytest.mark.parametrize(
    ("mu", "sigma"),
    [(0.025, 0.002), (0.015, 0.002), (-0.03, 0.004), (0.0199, 1e-5), (0.05, 1e-4),
     (0.0, 0.0009), (0.0195, 0.05), (0.015, 1.0), (-0.2, 0.01), (0.03, 1e-7)],
)
def test_siegert_matches_mpmath(mu: float, sigma: float) -> None:
    reference = _mp_rate(mu, sigma, **NEURON)
    rate = siegert_rate(mu, sigma, **NEURON)
    assert float(abs(mp.mpf(rate) - reference) / reference) < 1e-10


def test_compiled_kernel_matches_numpy_reference_path() -> None:
    # Same split, different numerics: tabulated antiderivative vs 48-point quadrature.
    from lifhw.golden import stochastic

    rng = np.random.default_rng(11)
    mu = rng.uniform(-0.05, 0.08, 20000)
    sigma = 10 ** rng.uniform(-6, -1, 20000)
    a = (NEURON["v_reset"] - mu) / sigma
    b = (NEURON["v_th"] - mu) / sigma
    reference = stochastic._log_free_time(a, b)
    compiled = stochastic._log_free_kernel(a, b, stochastic._SHORT_NODES,
                                           stochastic._SHORT_WEIGHTS, stochastic._TABLE,
                                           stochastic._TABLE_WIDTH)
    assert np.max(np.abs(np.expm1(compiled - reference))) < 1e-11


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_textbook_formula_is_wrong_where_erfcx_is_right() -> None:
    # exp(u^2)(1 + erf u) loses everything below u ~ -5.9 (erf rounds to -1).
    from scipy import integrate, special

    a, b = (0.010 - 0.025) / 0.002, (0.020 - 0.025) / 0.002
    naive, _ = integrate.quad(lambda u: math.exp(u * u) * (1 + special.erf(u)), a, b,
                              limit=200)
    naive_rate = 1 / (0.002 + 0.02 * math.sqrt(math.pi) * naive)
    assert abs(naive_rate / 42.85 - 1) > 0.1
    assert siegert_rate(0.025, 0.002, **NEURON) == pytest.approx(42.85, rel=6e-4)


def test_deterministic_limit() -> None:
    mu = np.array([0.015, 0.02, 0.0201, 0.025, 0.05])
    expected = lif_rate(mu, tau_m=0.02, r_m=1.0, v_rest=0.0, v_th=0.02, v_reset=0.01,
                        t_ref=0.002)
    np.testing.assert_allclose(siegert_rate(mu, 0.0, **NEURON), expected, rtol=1e-14)
    # sigma -> 0 continuously approaches it (suprathreshold drive).
    for sigma in (1e-6, 1e-9, 1e-12):
        assert siegert_rate(0.025, sigma, **NEURON) == pytest.approx(expected[3], rel=1e-6)


def test_tiny_rates_no_nan() -> None:
    sigma = np.geomspace(1e-4, 1e-2, 200)
    rates = siegert_rate(-0.05, sigma, **NEURON)
    assert np.all(np.isfinite(rates))
    assert np.all(rates >= 0)
    assert np.all(np.diff(rates) >= 0)  # more noise, more escapes
    # A rate near 1e-200 Hz is represented, not flushed to 0 or NaN.
    target = siegert_rate(0.0, 0.00093, **NEURON)
    assert 1e-250 < target < 1e-150
    reference = _mp_rate(0.0, 0.00093, **NEURON)
    assert float(abs(mp.mpf(target) - reference) / reference) < 1e-10


def test_shapes_and_errors() -> None:
    out = siegert_rate(np.zeros((3, 4)) + 0.02, np.full(4, 0.003), **NEURON)
    assert isinstance(out, np.ndarray) and out.shape == (3, 4)
    assert isinstance(siegert_rate(0.02, 0.003, **NEURON), float)
    with pytest.raises(ValueError):
        siegert_rate(0.02, -1e-3, **NEURON)
    with pytest.raises(ValueError):
        siegert_rate(0.02, 1e-3, tau_m=0.02, v_th=0.01, v_reset=0.02)
    with pytest.raises(ValueError):
        fokker_planck_stationary(0.02, 0.0, **NEURON)


@settings(max_examples=60, deadline=None)
@given(
    mu=st.floats(-0.05, 0.06),
    sigma=st.floats(1e-4, 0.02),
    dmu=st.floats(1e-5, 5e-3),
)
def test_rate_monotone_in_mu_and_bounded(mu: float, sigma: float, dmu: float) -> None:
    r1 = siegert_rate(mu, sigma, **NEURON)
    r2 = siegert_rate(mu + dmu, sigma, **NEURON)
    assert 0 <= r1 <= r2 < 1 / NEURON["t_ref"]


@settings(max_examples=40, deadline=None)
@given(mu=st.floats(-0.01, 0.04), sigma=st.floats(5e-4, 0.01))
def test_siegert_equals_mfpt_quadrature(mu: float, sigma: float) -> None:
    rate = siegert_rate(mu, sigma, **NEURON)
    if rate < 1e-250:
        return
    assert mfpt_rate(mu, sigma, **NEURON) == pytest.approx(rate, rel=1e-8)


# ----------------------------------------------------------------- Monte Carlo

# (mu mV, sigma mV, neurons, seconds): enough neuron-seconds that the standard
# error is <= 0.35 % of the rate, so a 1 % tolerance is >= 3 standard errors.
MC_RUNS = [
    (25.0, 2.0, 500, 0.6),
    (19.0, 5.0, 1500, 2.0),
    (15.0, 5.0, 2000, 4.0),
    (10.0, 5.0, 5000, 25.0),
    (15.0, 2.0, 32000, 25.0),
]


@pytest.mark.parametrize(("mu_mv", "sigma_mv", "n", "t_stop"), MC_RUNS)
def test_monte_carlo_with_bridge_matches_siegert(mu_mv: float, sigma_mv: float, n: int,
                                                  t_stop: float) -> None:
    mu, sigma = mu_mv * 1e-3, sigma_mv * 1e-3
    theory = siegert_rate(mu, sigma, **NEURON)
    mc = simulate_ou_population(mu, sigma, n_neurons=n, t_stop=t_stop, t_warmup=0.1,
                                dt=1e-4, bridge=True, seed=12345, **NEURON)
    assert mc.rate_se_hz / theory < 0.0035
    assert mc.rate_hz == pytest.approx(theory, rel=0.01)


def test_monte_carlo_without_bridge_is_biased_low() -> None:
    mu, sigma = 0.019, 0.005
    theory = siegert_rate(mu, sigma, **NEURON)
    mc = simulate_ou_population(mu, sigma, n_neurons=1500, t_stop=2.0, dt=1e-4,
                                bridge=False, seed=7, **NEURON)
    assert mc.rate_hz / theory - 1 < -0.03  # ~ -4 %, many standard errors
    assert mc.rate_se_hz / theory < 0.003


def test_adaptive_steps_equal_plain_grid_statistically() -> None:
    mu, sigma = 0.015, 0.005
    common = {"n_neurons": 2000, "t_stop": 2.0, "dt": 1e-4, "bridge": True, **NEURON}
    fast = simulate_ou_population(mu, sigma, adaptive=True, seed=1, **common)
    plain = simulate_ou_population(mu, sigma, adaptive=False, seed=2, **common)
    se = math.hypot(fast.rate_se_hz, plain.rate_se_hz)
    assert abs(fast.rate_hz - plain.rate_hz) < 4 * se


def test_free_membrane_statistics_without_threshold() -> None:
    # Threshold far away: no spikes, and (indirectly) the exact OU keeps V finite.
    mc = simulate_ou_population(0.0, 0.002, n_neurons=200, t_stop=0.5, dt=1e-4, **NEURON)
    assert mc.spike_counts.sum() == 0
