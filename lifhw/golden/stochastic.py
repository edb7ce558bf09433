"""The stochastic LIF neuron: Siegert rate, stationary Fokker–Planck density, Monte Carlo.

Notation of Brunel (2000), SI units (volts, seconds)::

    tau_m dV/dt = -V + mu + sigma sqrt(tau_m) xi(t),    <xi(t) xi(t')> = delta(t - t')
    V >= v_th  ->  spike, V <- v_reset, held for t_ref

``mu`` (V) is the mean drive expressed as a potential (``v_rest + r_m I``) and
``sigma`` (V) the noise amplitude; the free membrane has stationary standard
deviation ``sigma / sqrt(2)``.

Three routes to the mean rate, which agree to ~1e-9 relative (tests check 1e-6):

* :func:`siegert_rate` -- the closed form (Siegert 1951; Brunel & Hakim 1999)
  ``1/r = t_ref + tau_m sqrt(pi) int_{y_r}^{y_th} exp(u^2) (1 + erf u) du`` with
  ``y = (V - mu) / sigma``. The integrand is ``erfcx(-u)``; the textbook product
  ``exp(u^2)(1 + erf u)`` is 0 below u ~ -5.9 and overflows above 26.6, so the
  integral is split: ``u <= 2`` through ``int erfcx(t) dt`` in the variable
  ``s = ln(t + 3)`` (a tabulated Chebyshev antiderivative for wide intervals,
  Gauss–Legendre on narrow ones, the integrated asymptotic series beyond t = 30),
  ``u > 2`` through Dawson's function (``int_0^x exp(u^2) du = exp(x^2) dawsn(x)``)
  with ``exp(y_th^2)`` kept as a logarithm. A compiled, parallel kernel; the
  NumPy function :func:`_log_free_time` is the same split with a 48-point rule
  throughout, kept as a slower reference. No NaN or overflow anywhere;
  ``sigma = 0`` gives the deterministic f–I curve.
* :func:`mfpt_rate` -- the mean first-passage time from ``v_reset`` to ``v_th``
  written as the single integral
  ``T/tau = int_0^inf exp(-w^2) (exp(2 y_th w) - exp(2 y_r w)) / w dw``
  (the double MFPT integral with the order of integration swapped), by adaptive
  quadrature. Independent of the erfcx code path; scalar.
* :func:`fokker_planck_stationary` -- the stationary Fokker–Planck equation
  ``0 = -dJ/dV + r delta(V - v_reset)``, ``J = (mu - V)/tau P - sigma^2/(2 tau) dP/dV``,
  absorbing at ``v_th`` (``P(v_th) = 0``), reinjection at ``v_reset`` after
  ``t_ref``, discretised with Scharfetter–Gummel fluxes on a grid with ``v_reset``
  on a node and Richardson-extrapolated. The rate is the probability flux into
  ``v_th`` of the normalised density; the density integrates to ``1 - r t_ref``
  (the rest of the probability sits in the refractory state).

Monte Carlo (:func:`simulate_ou_population`) advances each neuron with the
exact Ornstein–Uhlenbeck transition (not Euler–Maruyama) on a grid of step
``dt`` and optionally applies the Brownian-bridge correction: a step whose end
points ``V0, V1`` are both below threshold still fires with probability
``exp(-2 (v_th - V0)(v_th - V1) / (sigma^2 dt / tau_m))``, the probability that
a Brownian path pinned at both ends crossed in between. Without it the grid
misses crossings inside steps and the rate is biased low (-1 % at 43 Hz ...
-17 % at 0.12 Hz for dt = 0.1 ms, tau_m = 20 ms); with it the remaining grid
bias is below 0.5 % at the reference points (a spike is stamped at the end of
its step, which lengthens each ISI by ~dt/2, a relative bias of about
``-r dt / 2``). See docs/theory.md.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import llvmlite.binding as llvm
import numba
import numpy as np
from numba import types
from numba.extending import get_cython_function_address
from numpy.typing import ArrayLike
from scipy import integrate, special

from lifhw.core import LIFParams, neuron_values

SQRT_PI = math.sqrt(math.pi)

# Split point of the Siegert integral: below u = _SPLIT the integrand erfcx(-u)
# is integrated numerically, above it through Dawson's function.
_SPLIT = 2.0
# Shift of the log substitution s = ln(t + _KAPPA), t = -u >= -_SPLIT.
_KAPPA = _SPLIT + 1.0
# Beyond t = _ASYM, int erfcx(t) dt uses its asymptotic series (error < 1e-16).
_ASYM = 30.0
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)
#: Coefficients of t^-2k (k = 1..5) in the asymptotic antiderivative of erfcx.
_ASYM_COEFFS = np.array([0.25, -3.0 / 16.0, 5.0 / 16.0, -105.0 / 128.0, 945.0 / 320.0])

# scipy's compiled special functions, called from numba by symbol name (so that
# the compiled kernels can be cached on disk; the address is bound at import).
for _name in ("erfcx", "erfc", "dawsn"):
    llvm.add_symbol(f"lifhw_{_name}", get_cython_function_address(
        "scipy.special.cython_special", f"__pyx_fuse_1{_name}"))
_SIG = types.float64(types.float64, types.intc)
_erfcx = types.ExternalFunction("lifhw_erfcx", _SIG)
_erfc = types.ExternalFunction("lifhw_erfc", _SIG)
_dawsn = types.ExternalFunction("lifhw_dawsn", _SIG)


def _neuron(neuron: LIFParams | None, tau_m: float | None, v_th: float | None,
            v_reset: float | None, t_ref: float | None) -> tuple[float, float, float, float]:
    """(tau_m, v_th, v_reset, t_ref) from a LIFParams or the keywords, checked."""
    p = neuron_values(neuron, ("tau_m", "v_th", "v_reset", "t_ref"),
                      {"tau_m": tau_m, "v_th": v_th, "v_reset": v_reset, "t_ref": t_ref})
    return p["tau_m"], p["v_th"], p["v_reset"], p["t_ref"]


def _gauss_legendre(lo: np.ndarray, width: np.ndarray, func: object) -> np.ndarray:
    """sum_k w_k f(lo + width (1 + x_k) / 2) * width / 2, row by row."""
    x = lo[:, None] + width[:, None] * (0.5 * (1.0 + _NODES))[None, :]
    values = func(x)  # type: ignore[operator]
    return 0.5 * width * (values @ _WEIGHTS)


def _asym_antiderivative_diff(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """int_lo^hi erfcx(t) dt for _ASYM <= lo <= hi from the asymptotic series.

    erfcx(t) ~ (1/(t sqrt(pi))) sum_n (-1)^n (2n-1)!! / (2 t^2)^n; integrated term
    by term. Differences are formed as ``lo^-2k expm1(2k ln(lo/hi))`` so that
    nearby ``lo, hi`` keep full relative accuracy.
    """
    log_ratio = np.log1p((hi - lo) / lo)  # ln(hi / lo) >= 0
    # Coefficients c_k of t^-2k in the antiderivative: +1/4, -3/16, +5/16, -105/128, +945/320.
    coeffs = _ASYM_COEFFS
    total = log_ratio.copy()
    inv_lo2 = 1.0 / (lo * lo)
    power = np.ones_like(lo)
    for k, c in enumerate(coeffs, start=1):
        power = power * inv_lo2
        # c (hi^-2k - lo^-2k) = c lo^-2k (exp(-2k ln(hi/lo)) - 1)
        total += c * power * np.expm1(-2.0 * k * log_ratio)
    return total / SQRT_PI


def _int_erfcx(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """int_{t1}^{t2} erfcx(t) dt for -_SPLIT <= t1 <= t2 (elementwise)."""
    out = np.zeros_like(t1)
    # Quadrature part on [t1, min(t2, _ASYM)] in s = ln(t + _KAPPA), where
    # erfcx(t) (t + _KAPPA) is smooth and bounded (-> 1/sqrt(pi)).
    hi = np.minimum(t2, _ASYM)
    quad = t1 < hi
    if np.any(quad):
        lo_t = t1[quad]
        base = lo_t + _KAPPA
        s_lo = np.log(base)
        # Width in s from a log1p so that tiny intervals keep relative accuracy.
        width = np.log1p((hi[quad] - lo_t) / base)

        def integrand(s: np.ndarray) -> np.ndarray:
            e = np.exp(s)
            return special.erfcx(e - _KAPPA) * e

        out[quad] = _gauss_legendre(s_lo, width, integrand)
    asym = t2 > _ASYM
    if np.any(asym):
        lo = np.maximum(t1[asym], _ASYM)
        out[asym] += _asym_antiderivative_diff(lo, t2[asym])
    return out


def _log_free_time(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ln int_a^b erfcx(-u) du for a < b (finite), elementwise."""
    n = a.shape[0]
    scale = np.where(b > _SPLIT, b * b, 0.0)  # the result is exp(scale) * q
    q = np.zeros(n)
    # Part A: u in [a, min(b, SPLIT)]  <=>  t = -u in [-min(b, SPLIT), -a].
    upper = np.minimum(b, _SPLIT)
    part_a = a < upper
    if np.any(part_a):
        value = _int_erfcx(-upper[part_a], -a[part_a])
        q[part_a] = value * np.exp(-scale[part_a])
    # Part B: u in [max(a, SPLIT), b], integrand exp(u^2)(2 - erfc u), scaled by exp(-b^2).
    part_b = b > _SPLIT
    if np.any(part_b):
        bb = b[part_b]
        aa = np.maximum(a[part_b], _SPLIT)
        s = np.zeros_like(bb)
        short = 2.0 * bb * (bb - aa) < 1.0
        if np.any(short):
            bs = bb[short]

            def scaled(u: np.ndarray) -> np.ndarray:
                return np.exp((u - bs[:, None]) * (u + bs[:, None])) * (2.0 - special.erfc(u))

            s[short] = _gauss_legendre(aa[short], bs - aa[short], scaled)
        long = ~short
        if np.any(long):
            bl = bb[long]
            al = aa[long]
            dawson = 2.0 * (special.dawsn(bl) - np.exp(-(bl - al) * (bl + al)) * special.dawsn(al))
            s[long] = dawson - np.exp(-bl * bl) * _int_erfcx(al, bl)
        q[part_b] += s
    return scale + np.log(q)


def _antiderivative_table(n_panels: int = 48, degree: int = 17) -> tuple[np.ndarray, float]:
    """Chebyshev coefficients of H(s) = int_{-_SPLIT}^{exp(s) - _KAPPA} erfcx(t) dt per panel.

    ``s`` runs over [ln(_KAPPA - _SPLIT), ln(_ASYM + _KAPPA)] = [0, ln 33] in equal
    panels; each panel's interpolant is exact to ~1e-15 relative (H is entire in s
    near the real axis). Built once at import from the 48-point quadrature (~5 ms).
    """
    s_max = math.log(_ASYM + _KAPPA)
    width = s_max / n_panels
    j = np.arange(degree + 1)
    x = np.cos(np.pi * (j + 0.5) / (degree + 1))  # Chebyshev points of the first kind
    s_pts = (np.arange(n_panels)[:, None] + 0.5 * (x[None, :] + 1.0)) * width
    t_pts = np.exp(s_pts.ravel()) - _KAPPA
    h = _int_erfcx(np.full(t_pts.shape, -_SPLIT), t_pts).reshape(n_panels, degree + 1)
    k = np.arange(degree + 1)
    basis = np.cos(np.pi * np.outer(j + 0.5, k) / (degree + 1))  # (points, k)
    coeffs = 2.0 / (degree + 1) * h @ basis
    coeffs[:, 0] *= 0.5
    return np.ascontiguousarray(coeffs), width


@numba.njit(cache=True)
def _table_eval(s, coeffs, width):  # pragma: no cover
    """H(s) from the panel table by Clenshaw's recurrence."""
    n_panels = coeffs.shape[0]
    i = min(int(s / width), n_panels - 1)
    x = 2.0 * (s - i * width) / width - 1.0
    b1 = 0.0
    b2 = 0.0
    for k in range(coeffs.shape[1] - 1, 0, -1):
        b0 = 2.0 * x * b1 - b2 + coeffs[i, k]
        b2 = b1
        b1 = b0
    return x * b1 - b2 + coeffs[i, 0]


@numba.njit(cache=True)
def _int_erfcx_nb(t1, t2, nodes, weights, coeffs, width):  # pragma: no cover
    """int_{t1}^{t2} erfcx(t) dt, -_SPLIT <= t1 <= t2 (compiled twin of _int_erfcx).

    Wide intervals (> 0.05 in s = ln(t + _KAPPA)) are a difference of the
    tabulated antiderivative (result >= 0.028, so at most ~1e-12 relative is
    lost to cancellation); narrow
    ones use Gauss–Legendre on the interval itself, which keeps full relative
    accuracy however small it is.
    """
    total = 0.0
    hi = min(t2, _ASYM)
    if t1 < hi:
        base = t1 + _KAPPA
        s_lo = math.log(base)
        span = math.log1p((hi - t1) / base)
        if span > 0.05:
            total += (_table_eval(math.log(hi + _KAPPA), coeffs, width)
                      - _table_eval(s_lo, coeffs, width))
        else:
            acc = 0.0
            for k in range(nodes.shape[0]):
                e = math.exp(s_lo + span * 0.5 * (1.0 + nodes[k]))
                acc += weights[k] * _erfcx(e - _KAPPA, 0) * e
            total += 0.5 * span * acc
    if t2 > _ASYM:
        lo = max(t1, _ASYM)
        log_ratio = math.log1p((t2 - lo) / lo)
        part = log_ratio
        inv_lo2 = 1.0 / (lo * lo)
        power = 1.0
        for k in range(5):
            power *= inv_lo2
            part += _ASYM_COEFFS[k] * power * math.expm1(-2.0 * (k + 1) * log_ratio)
        total += part / SQRT_PI
    return total


@numba.njit(parallel=True, cache=True)
def _log_free_kernel(a, b, nodes, weights, coeffs, width):  # pragma: no cover
    """ln int_a^b erfcx(-u) du per element (compiled twin of _log_free_time)."""
    n = a.shape[0]
    out = np.empty(n)
    for i in numba.prange(n):
        ai = a[i]
        bi = b[i]
        scale = bi * bi if bi > _SPLIT else 0.0
        q = 0.0
        upper = min(bi, _SPLIT)
        # For b > 6.5 the part below u = 2 (< 40 exp(-b^2)) is below 1e-16 of the rest.
        if ai < upper and bi < 6.5:
            q = _int_erfcx_nb(-upper, -ai, nodes, weights, coeffs, width) * math.exp(-scale)
        if bi > _SPLIT:
            aa = max(ai, _SPLIT)
            if 2.0 * bi * (bi - aa) < 1.0:
                layer = bi - aa
                acc = 0.0
                for k in range(nodes.shape[0]):
                    u = aa + layer * 0.5 * (1.0 + nodes[k])
                    acc += weights[k] * math.exp((u - bi) * (u + bi)) * (2.0 - _erfc(u, 0))
                q += 0.5 * layer * acc
            else:
                q += 2.0 * (_dawsn(bi, 0) - math.exp(-(bi - aa) * (bi + aa)) * _dawsn(aa, 0))
                if bi < 6.5:  # else exp(-b^2) int erfcx < 1e-16 of the Dawson term
                    q -= math.exp(-bi * bi) * _int_erfcx_nb(aa, bi, nodes, weights, coeffs,
                                                            width)
        out[i] = scale + math.log(q)
    return out


_TABLE, _TABLE_WIDTH = _antiderivative_table()
#: Gauss–Legendre rule for short intervals (<= 0.05 in s) and the Dawson-side layer.
_SHORT_NODES, _SHORT_WEIGHTS = np.polynomial.legendre.leggauss(10)


def siegert_rate(
    mu: ArrayLike,
    sigma: ArrayLike,
    neuron: LIFParams | None = None,
    *,
    tau_m: float | None = None,
    v_th: float | None = None,
    v_reset: float | None = None,
    t_ref: float | None = None,
) -> np.ndarray | float:
    """Stationary firing rate (Hz) of the LIF neuron driven by white noise.

    ``1/r = t_ref + tau_m sqrt(pi) int_{(v_reset-mu)/sigma}^{(v_th-mu)/sigma} erfcx(-u) du``
    (Brunel 2000, eq. 21). Accurate to ~1e-12 relative (checked against a
    40-digit mpmath quadrature), for any finite ``mu`` and ``sigma >= 0``;
    rates below ~1e-308 Hz underflow to 0, never to NaN.

    Args:
        mu: Mean input expressed as a potential (V); broadcasts with ``sigma``.
        sigma: Noise amplitude (V), >= 0; ``0`` gives the deterministic LIF rate.
        neuron: The neuron (only tau_m, v_th, v_reset and t_ref are used); or
            give those as keywords.
        tau_m: Membrane time constant (s).
        v_th: Threshold (V).
        v_reset: Reset potential (V).
        t_ref: Absolute refractory period (s).

    Returns:
        Rate (Hz), a float for scalar inputs, else an array of the broadcast shape.

    Raises:
        ValueError: Negative ``sigma`` or invalid neuron parameters.
    """
    tau_m, v_th, v_reset, t_ref = _neuron(neuron, tau_m, v_th, v_reset, t_ref)
    mu_a, sigma_a = np.broadcast_arrays(np.asarray(mu, dtype=float),
                                        np.asarray(sigma, dtype=float))
    if np.any(sigma_a < 0):
        raise ValueError("sigma must be >= 0 V")
    shape = mu_a.shape
    mu_f = mu_a.ravel()
    sigma_f = sigma_a.ravel()
    rate = np.full(mu_f.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = (v_th - mu_f) / sigma_f
        a = (v_reset - mu_f) / sigma_f
    noisy = np.isfinite(a) & np.isfinite(b) & (sigma_f > 0)
    # Deterministic limit (sigma = 0 or so small that y overflows): the f-I curve.
    det = ~noisy & np.isfinite(mu_f) & np.isfinite(sigma_f)
    if np.any(det):
        excess = mu_f[det] - v_th
        with np.errstate(divide="ignore"):
            isi = t_ref + tau_m * np.log1p((v_th - v_reset) / np.where(excess > 0, excess, 1.0))
        rate[det] = np.where(excess > 0, 1.0 / isi, 0.0)
    index = np.flatnonzero(noisy)
    log_free = math.log(tau_m * SQRT_PI) + _log_free_kernel(
        np.ascontiguousarray(a[index]), np.ascontiguousarray(b[index]), _SHORT_NODES,
        _SHORT_WEIGHTS, _TABLE, _TABLE_WIDTH)
    # 1 / (free time + t_ref): a free time that overflows gives 0 Hz, one that
    # vanishes (mu far above threshold) gives 1 / t_ref -- never inf / inf = NaN.
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        rate[index] = 1.0 / (np.exp(log_free) + t_ref)
    result = rate.reshape(shape)
    return float(result) if result.ndim == 0 else result


def mfpt_rate(
    mu: float,
    sigma: float,
    neuron: LIFParams | None = None,
    *,
    tau_m: float | None = None,
    v_th: float | None = None,
    v_reset: float | None = None,
    t_ref: float | None = None,
) -> float:
    """Rate (Hz) as the inverse mean first-passage time from v_reset to v_th plus t_ref.

    The MFPT of the OU process with reflecting ``-inf`` and absorbing ``v_th`` is
    ``T = 2 tau int_{y_r}^{y_th} du int_0^inf exp(2uw - w^2) dw``; swapping the
    integrals gives ``T/tau = int_0^inf exp(-w^2)(exp(2 y_th w) - exp(2 y_r w))/w dw``,
    evaluated here by adaptive quadrature (scipy ``quad``) with ``exp(y_th^2)``
    factored out. An independent check of :func:`siegert_rate`, not a fast path.

    Args:
        mu: Mean input as a potential (V).
        sigma: Noise amplitude (V), > 0.
        neuron: The neuron (only tau_m, v_th, v_reset and t_ref are used); or
            give those as keywords.
        tau_m: Membrane time constant (s).
        v_th: Threshold (V).
        v_reset: Reset potential (V).
        t_ref: Absolute refractory period (s).
    """
    tau_m, v_th, v_reset, t_ref = _neuron(neuron, tau_m, v_th, v_reset, t_ref)
    if not sigma > 0:
        raise ValueError("mfpt_rate needs sigma > 0 V")
    b = (v_th - mu) / sigma
    a = (v_reset - mu) / sigma
    gap = b - a
    scale = max(b, 0.0) ** 2

    def integrand(w: float) -> float:
        if w == 0.0:
            return 2.0 * gap * math.exp(-scale)
        return math.exp(-w * w + 2.0 * b * w - scale) * -math.expm1(-2.0 * gap * w) / w

    upper = max(b, 0.0) + 40.0
    points = sorted({p for p in (max(b, 0.0), 1.0 / abs(a) if a else 0.0,
                                 1.0 / abs(b) if b else 0.0) if 0.0 < p < upper})
    value, _ = integrate.quad(integrand, 0.0, upper, points=points or None, epsabs=0.0,
                              epsrel=1e-13, limit=500)
    log_free = math.log(tau_m) + scale + math.log(value)
    inv_free = math.exp(-log_free) if log_free < 700 else 0.0
    return inv_free / (1.0 + t_ref * inv_free)


@dataclass(frozen=True)
class FokkerPlanckResult:
    """Stationary solution of the LIF Fokker–Planck equation.

    Args:
        v: Grid of membrane potentials (V), from ``v_min`` up to ``v_th``.
        density: Stationary density of the *free* (non-refractory) membrane (1/V);
            ``P(v_th) = 0``. It integrates to ``1 - rate_hz * t_ref``: the missing
            probability is the fraction of neurons in their refractory period.
        rate_hz: Probability flux through ``v_th`` of the normalised density (Hz).
        rate_mfpt_hz: Inverse mean first-passage time plus ``t_ref`` (Hz).
        refractory_mass: ``rate_hz * t_ref``, the refractory fraction.
        n_cells: Grid cells between ``v_reset`` and ``v_th`` of the finer grid.
    """

    v: np.ndarray
    density: np.ndarray
    rate_hz: float
    rate_mfpt_hz: float
    refractory_mass: float
    n_cells: int


def _bernoulli(z: np.ndarray) -> np.ndarray:
    """B(z) = z / (exp(z) - 1), with B(0) = 1."""
    out = np.ones_like(z)
    nz = z != 0
    out[nz] = z[nz] / np.expm1(z[nz])
    return out


def _fp_unit_flux(mu: float, sigma: float, tau_m: float, v_th: float, v_reset: float,
                  n_cells: int, v_min: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Scharfetter–Gummel stationary density for unit outflux; returns (v, p, step)."""
    step = (v_th - v_reset) / n_cells
    n_below = math.ceil((v_reset - v_min) / step)
    v = v_reset + step * np.arange(-n_below, n_cells + 1)
    diffusion = sigma * sigma / (2.0 * tau_m)
    mid = 0.5 * (v[:-1] + v[1:])
    z = (mu - mid) / tau_m * step / diffusion
    b_plus = _bernoulli(-z)  # weight of the left node in the flux
    b_minus = _bernoulli(z)  # weight of the right node
    # Conservation at every node makes the flux through face i+1/2 exactly 1
    # above v_reset and 0 below (reflecting far end): back-substitute from
    # P(v_th) = 0 downwards. A first-order recurrence: stable.
    flux = np.where(np.arange(len(mid)) >= n_below, 1.0, 0.0)
    return v, _back_substitute(flux * (step / diffusion), b_minus, b_plus), step


@numba.njit(cache=True)
def _back_substitute(source, b_minus, b_plus):  # pragma: no cover
    """p_i = (source_i + B(z_i) p_{i+1}) / B(-z_i) from p_N = 0 downwards."""
    p = np.zeros(source.shape[0] + 1)
    for i in range(source.shape[0] - 1, -1, -1):
        p[i] = (source[i] + b_minus[i] * p[i + 1]) / b_plus[i]
    return p


def fokker_planck_stationary(
    mu: float,
    sigma: float,
    neuron: LIFParams | None = None,
    *,
    tau_m: float | None = None,
    v_th: float | None = None,
    v_reset: float | None = None,
    t_ref: float | None = None,
    n_cells: int = 2000,
    v_min: float | None = None,
) -> FokkerPlanckResult:
    """Solve the stationary Fokker–Planck equation of the noisy LIF neuron numerically.

    Scharfetter–Gummel finite volumes (exact for a locally constant drift), on a
    uniform grid with ``v_reset`` on a node, solved with ``n_cells`` and
    ``2 n_cells`` cells between reset and threshold; the rate is Richardson
    extrapolated (second-order scheme -> error ~1e-9 at the defaults) and the
    density returned is the finer one, normalised so that
    ``int density dV + rate t_ref = 1``.

    Args:
        mu: Mean input as a potential (V).
        sigma: Noise amplitude (V), > 0.
        neuron: The neuron (only tau_m, v_th, v_reset and t_ref are used); or
            give those as keywords.
        tau_m: Membrane time constant (s).
        v_th: Threshold (V), the absorbing boundary.
        v_reset: Reset potential (V), where the outflux is reinjected after t_ref.
        t_ref: Absolute refractory period (s).
        n_cells: Cells between ``v_reset`` and ``v_th`` on the coarser grid.
        v_min: Lower end of the grid (V); default ``min(mu, v_reset) - 10 sigma``
            (the density there is ~exp(-100) of its peak).

    Raises:
        ValueError: ``sigma <= 0``, or a grid too large / a rate too small for
            the grid solver (use :func:`siegert_rate` there).
    """
    tau_m, v_th, v_reset, t_ref = _neuron(neuron, tau_m, v_th, v_reset, t_ref)
    if not sigma > 0:
        raise ValueError("fokker_planck_stationary needs sigma > 0 V")
    if not sigma * sigma / tau_m >= sys.float_info.min:  # the diffusion would underflow
        raise ValueError(f"sigma {sigma:g} V is too small for the grid solver; "
                         "use siegert_rate")
    if n_cells < 16:
        raise ValueError("n_cells must be >= 16")
    low = min(mu, v_reset) - 10.0 * sigma if v_min is None else v_min
    low = min(low, v_reset)
    if (v_reset - low) / (v_th - v_reset) * 2 * n_cells > 5_000_000:
        raise ValueError("grid too large: sigma is tiny or far from threshold; "
                         "use siegert_rate")
    rates = []
    for cells in (n_cells, 2 * n_cells):
        try:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                v, p, step = _fp_unit_flux(mu, sigma, tau_m, v_th, v_reset, cells, low)
                # Trapezoid = the control-volume mass of the finite-volume scheme.
                mass = step * (p.sum() - 0.5 * (p[0] + p[-1]))
        except ZeroDivisionError:  # drift terms over/underflow: sigma tiny against mu
            raise ValueError(f"sigma {sigma:g} V is too small for the grid solver; "
                             "use siegert_rate") from None
        if not (np.all(np.isfinite(p)) and math.isfinite(mass)):
            raise ValueError("rate too low for the grid solver; use siegert_rate")
        rates.append(1.0 / (t_ref + mass))
    rate = (4.0 * rates[1] - rates[0]) / 3.0
    density = p * rates[1]
    return FokkerPlanckResult(
        v=v, density=density, rate_hz=rate,
        rate_mfpt_hz=mfpt_rate(mu, sigma, tau_m=tau_m, v_th=v_th, v_reset=v_reset,
                               t_ref=t_ref),
        refractory_mass=rate * t_ref, n_cells=2 * n_cells,
    )


# --------------------------------------------------------------------------- Monte Carlo

#: Coarse-step sizes (in units of dt) tried far below threshold.
_LEVELS = np.array([32, 16, 8, 4, 2, 1], dtype=np.int64)
#: 2 Q(z) = 1e-10: a coarse step is taken only if the path reaches v_th during
#: it with probability below 1e-10 (reflection bound), so the adaptive run equals
#: the plain dt-grid run in distribution up to that error per coarse step.
_Z_SAFE = 6.47


@numba.njit(cache=True, inline="always")
def _rotl(x, k):  # pragma: no cover
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True)
def _seed_state(seed, stream, state):  # pragma: no cover
    """splitmix64 of (seed, stream) into the xoroshiro128+ state ``state[0:2]``."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(stream)
    for i in range(2):
        z += np.uint64(0x9E3779B97F4A7C15)
        x = z
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        state[i] = x ^ (x >> np.uint64(31))
    if state[0] == 0 and state[1] == 0:
        state[0] = np.uint64(1)


@numba.njit(cache=True, inline="always")
def _uniform(state):  # pragma: no cover
    """xoroshiro128+ (Blackman & Vigna): a double in [0, 1) from the top 53 bits."""
    s0 = state[0]
    s1 = state[1]
    result = s0 + s1
    s1 ^= s0
    state[0] = _rotl(s0, 24) ^ s1 ^ (s1 << np.uint64(16))
    state[1] = _rotl(s1, 37)
    return (result >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def _normal(state, spare):  # pragma: no cover
    """Standard normal by Marsaglia's polar method; the second value is kept in spare."""
    if spare[1] != 0.0:
        spare[1] = 0.0
        return spare[0]
    while True:
        u = 2.0 * _uniform(state) - 1.0
        w = 2.0 * _uniform(state) - 1.0
        q = u * u + w * w
        if 0.0 < q < 1.0:
            break
    f = math.sqrt(-2.0 * math.log(q) / q)
    spare[0] = w * f
    spare[1] = 1.0
    return u * f


@numba.njit(parallel=True, cache=True)
def _ou_kernel(n_neurons, n_steps, n_warm, dt, tau_m, mu, sigma, v_th, v_reset, n_ref,
               bridge, level_steps, decay, noise_sd, safe_dist, seed, chunk):  # pragma: no cover
    """Spike counts after warm-up per neuron; exact OU steps on the dt grid.

    A dedicated xoroshiro128+ / polar-method generator per chunk of neurons
    (about 3x faster than numba's np.random here) makes the result independent
    of the number of threads.
    """
    counts = np.zeros(n_neurons, dtype=np.int64)
    n_chunks = (n_neurons + chunk - 1) // chunk
    s2dt = sigma * sigma * dt / tau_m
    n_levels = decay.shape[0]
    for c in numba.prange(n_chunks):
        state = np.empty(2, dtype=np.uint64)
        spare = np.zeros(2)
        _seed_state(seed, c, state)
        for j in range(c * chunk, min((c + 1) * chunk, n_neurons)):
            v = v_reset
            k = 0
            ref = 0
            cnt = 0
            while k < n_steps:
                if ref > 0:
                    jump = min(ref, n_steps - k)
                    k += jump
                    ref -= jump
                    v = v_reset
                    continue
                level = n_levels - 1
                for lv in range(n_levels - 1):
                    # Highest point of the mean path over the coarse step.
                    top = v if v >= mu else mu + (v - mu) * decay[lv]
                    if k + level_steps[lv] <= n_steps and v_th - top > safe_dist[lv]:
                        level = lv
                        break
                vn = mu + (v - mu) * decay[level] + noise_sd[level] * _normal(state, spare)
                if level == n_levels - 1:
                    crossed = vn >= v_th
                    if bridge and not crossed:
                        expo = 2.0 * (v_th - v) * (v_th - vn) / s2dt
                        if expo < 50.0 and _uniform(state) < math.exp(-expo):
                            crossed = True
                    k += 1
                    if crossed:
                        if k > n_warm:
                            cnt += 1
                        v = v_reset
                        ref = n_ref
                    else:
                        v = vn
                else:
                    v = vn
                    k += level_steps[level]
            counts[j] = cnt
    return counts


@dataclass(frozen=True)
class OUPopulationResult:
    """Monte-Carlo estimate of the stationary rate of uncoupled noisy LIF neurons.

    Args:
        rate_hz: Mean rate over neurons and the counting window (Hz).
        rate_se_hz: Standard error of ``rate_hz`` from the spread across neurons (Hz).
        spike_counts: Spikes per neuron in the counting window.
        t_count: Length of the counting window (s).
        dt: Grid step (s).
        bridge: Whether the Brownian-bridge correction was on.
    """

    rate_hz: float
    rate_se_hz: float
    spike_counts: np.ndarray
    t_count: float
    dt: float
    bridge: bool


def simulate_ou_population(
    mu: float,
    sigma: float,
    neuron: LIFParams | None = None,
    *,
    tau_m: float | None = None,
    v_th: float | None = None,
    v_reset: float | None = None,
    t_ref: float | None = None,
    n_neurons: int = 1000,
    t_stop: float = 1.0,
    t_warmup: float = 0.1,
    dt: float = 1e-4,
    bridge: bool = True,
    adaptive: bool = True,
    seed: int = 0,
) -> OUPopulationResult:
    """Simulate uncoupled noisy LIF neurons and measure their stationary rate.

    Each step is the exact OU transition
    ``V <- mu + (V - mu) e^{-dt/tau} + sigma sqrt((1 - e^{-2 dt/tau}) / 2) N(0, 1)``;
    a spike is registered at the end of the step in which V reaches ``v_th``
    (or, with ``bridge``, in which the Brownian bridge between the end points
    crossed), then V is held at ``v_reset`` for ``round(t_ref/dt)`` steps.
    Neurons start at ``v_reset``; spikes during ``t_warmup`` are not counted.

    With ``adaptive`` (default), a neuron far below threshold takes one exact
    OU step of up to 32 ``dt`` when the probability that its path reaches
    ``v_th`` meanwhile is below 1e-10 (reflection-principle bound), so the result
    is the dt-grid scheme's in distribution at a fraction of the cost at low rates.

    Args:
        mu: Mean input as a potential (V).
        sigma: Noise amplitude (V), > 0.
        neuron: The neuron (only tau_m, v_th, v_reset and t_ref are used); or
            give those as keywords.
        tau_m: Membrane time constant (s).
        v_th: Threshold (V).
        v_reset: Reset potential (V).
        t_ref: Absolute refractory period (s).
        n_neurons: Number of independent neurons.
        t_stop: Simulated time including warm-up (s).
        t_warmup: Initial interval excluded from the count (s).
        dt: Grid step (s).
        bridge: Apply the Brownian-bridge crossing correction.
        adaptive: Allow coarse exact steps far below threshold.
        seed: Seed; results are reproducible for a given seed and ``n_neurons``.
    """
    tau_m, v_th, v_reset, t_ref = _neuron(neuron, tau_m, v_th, v_reset, t_ref)
    if not sigma > 0:
        raise ValueError("sigma must be > 0 V")
    if not (dt > 0 and t_stop > t_warmup >= 0 and n_neurons >= 2):
        raise ValueError("need dt > 0, t_stop > t_warmup >= 0 and n_neurons >= 2")
    n_steps = round(t_stop / dt)
    n_warm = round(t_warmup / dt)
    levels = _LEVELS if adaptive else _LEVELS[-1:]
    decay = np.exp(-levels * dt / tau_m)
    noise_sd = sigma * np.sqrt(0.5 * (1.0 - decay**2))
    # sup of the fluctuation over K dt is dominated by W(phi), phi = sigma^2/2 (e^{2T/tau}-1).
    phi = 0.5 * sigma**2 * np.expm1(2.0 * levels * dt / tau_m)
    safe = _Z_SAFE * np.sqrt(phi)
    counts = _ou_kernel(n_neurons, n_steps, n_warm, dt, tau_m, mu, sigma, v_th, v_reset,
                        round(t_ref / dt), bridge, np.ascontiguousarray(levels),
                        decay, noise_sd, safe, seed, 256)
    t_count = (n_steps - n_warm) * dt
    per_neuron = counts / t_count
    return OUPopulationResult(
        rate_hz=float(per_neuron.mean()),
        rate_se_hz=float(per_neuron.std(ddof=1) / math.sqrt(n_neurons)),
        spike_counts=counts, t_count=t_count, dt=dt, bridge=bridge,
    )
