"""Estimate LIF parameters (V_th, V_reset, t_ref, tau_m, V_inf) from a recorded membrane trace.

The recording is modelled as a leaky integrate-and-fire membrane whose free part is
an Ornstein-Uhlenbeck (OU) process -- the LIF driven by a constant plus white
input, in any mixture of the two regimes: *drift-driven* (V_inf above threshold,
regular firing) and *noise-driven* (V_inf below threshold, spikes are upward
fluctuations). It is sampled every ``dt``, optionally low-passed by a first-order
recording filter (``filter_tau``), and carries white measurement noise. Every
estimate comes with a 95 % confidence interval, and the estimator refuses
(:class:`~lifhw.errors.ParamError`, exit 2 from the CLI) where the data cannot
support an answer.

1. **Outliers and spikes.** Isolated single-sample outliers (a sample far from
   both neighbours while the neighbours agree) are replaced and left out of the
   likelihood. A reset is a drop after which the membrane *stays* down: the mean
   of the next three samples lies 0.65 of a typical reset (and 5 noise SDs) below the
   mean of the two before, so a noise outlier is not a spike and one noisy sample
   does not hide a reset. If the recording
   shows spike peaks, the last sub-threshold sample ``p`` is the one before the
   upward jump that precedes the reset; peak samples are never used. The
   crossing lies in ``(t_p, t_p + dt]`` (filtered recordings: within ``dt/2`` of
   the detected sample, found on the zero-order-hold inverse of the filter).
2. **tau_m, V_inf, input noise and measurement noise** by maximum likelihood on
   the sub-threshold segments (from the end of each refractory clamp to the last
   sample before the next crossing). Between samples the free membrane follows the
   exact OU transition
   ``V_{k+1} = V_inf + (V_k - V_inf) e^{-dt/tau} + sigma sqrt(1 - e^{-2dt/tau}) xi``,
   and it is *killed* at the threshold: the recorded path is one that did not cross
   between two sub-threshold samples, and each segment ends with a crossing within
   one interval. A Gaussian likelihood that ignores this is biased (an oracle on
   the noise-free membrane: tau -13.5 %, V_inf -0.8 mV, noise-driven, 20 s); leaving
   out the transitions near threshold removes the bias but most of the
   information. So, without a recording filter, the likelihood is that of the
   killed process observed with white noise: each transition carries the
   Brownian-bridge survival ``1 - exp(-2 (V_th - V)(V_th - V') / s^2)`` (Gobet
   2000; written as the transition density minus its image), each segment's
   crossing interval its probability, and the filter over the latent membrane is
   a Kalman filter away from threshold and assumed-density filtering near it (the
   Gaussian filter density truncated at V_th, pushed through the killed
   transition by quadrature and moment-matched). ``V_th`` there is the
   threshold of step 4 from a first fit (moving it by 0.1 mV moves tau by 0.3 %).
   With a recording filter (state ``(V, y)``, exact discretisation by Van Loan's
   matrix exponential) the Kalman likelihood counts only transitions whose
   predicted state lies 4 SDs below the threshold level (a choice from past
   samples, so the score keeps zero mean; unbiased but less precise).
   Intervals from the observed information (numerical Hessian), never narrower
   than the sandwich (per-segment scores) estimate.
3. **V_reset and t_ref** from the post-spike average, modelled as the clamp then
   the leaky relaxation ``V_reset + B (1 - exp(-(w - t_ref)^+ / tau))`` averaged
   over the crossing's offset from the sample clock; ``t_ref`` by a
   one-dimensional search, its interval by a bootstrap over spikes.
4. **V_th from the conditional crossing distribution.** The last sample before a
   crossing sits below threshold by an amount set by the dynamics near threshold:
   the rise over the sampling interval (drift-driven) or the diffusive approach of
   a first passage (noise-driven, ~``sigma sqrt(2 dt / tau)``). With the fitted OU
   model the expected gap ``Delta = V_th - E[y_p]`` is computed by simulation
   (exact OU steps of ``dt/10``, crossings between steps by the Brownian-bridge
   probability, sample phase uniform, the recording filter included), and
   ``V_th = mean(y_p) + Delta``, iterated to a fixed point.
5. **Checks.** After the fit, the standardised innovations of the Kalman filter
   must stay within the range expected for that many samples (|z| below
   ``max(6, Phi^{-1}(1 - 0.001/N))``): a reset the detector missed, or a
   wrongly given spike list, shows as a jump many SDs off and is refused.
   Too few spikes, too few free samples, a likelihood without a well-defined
   maximum, or intervals too wide to be useful are refused too.

``v_rest`` is reported as the asymptote ``V_inf`` of the free membrane, which equals
the resting potential only when no bias current flows (a recording cannot separate
``v_rest`` from ``r_m I``).

Accuracy (docs/theory.md; ``python -m benchmarks.bench_estimate``, an independent
generator): at 0.5 mV noise, 20 s and ~35 Hz, V_th within 0.06 mV in both regimes;
tau_m within ~1.3 % (one SD) drift-driven and ~5 % noise-driven, where an oracle
that sees the noise-free membrane reaches 4.4 % (the Cramer-Rao bound); the 95 %
intervals hold the true value at their nominal rate.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numba
import numpy as np
from scipy import linalg, optimize, stats

from lifhw.errors import ParamError

#: Two-sided 95 % normal quantile used for every interval.
Z95 = 1.959963984540054
#: Fewest spikes the estimator answers with.
MIN_SPIKES = 10
#: Fewest free (sub-threshold, non-refractory) samples for the OU likelihood.
MIN_FREE_SAMPLES = 100
#: Refuse when tau_m's 95 % interval spans more than this factor (upper/lower).
MAX_TAU_CI_RATIO = 2.0
#: Refuse when V_th's 95 % interval is wider than this half-width (V).
MAX_VTH_CI_HALF_WIDTH = 2e-3
#: Fewest step SD per filter SD for the killed-OU likelihood (``_kill_layer_resolved``).
KILL_LAYER_MIN_RATIO = 0.75
#: Simulated crossings for the threshold-gap calculation, and fine steps per sample.
_GAP_SPIKES = 4000
_GAP_SUBSTEPS = 10


@dataclass(frozen=True)
class LIFEstimate:
    """Parameters estimated from a trace (SI units); ``*_ci`` are 95 % intervals.

    Args:
        v_th: Threshold (V).
        v_reset: Reset potential (V).
        t_ref: Refractory period (s), measured from the threshold crossing.
        tau_m: Membrane time constant (s).
        v_rest: Asymptote V_inf of the free membrane (V) = v_rest + r_m I.
        input_sigma: Stationary SD of the free membrane's input fluctuations (V).
        noise_std: White measurement noise of the recording (V).
        n_spikes: Number of spikes used.
        v_th_se: Standard error of ``v_th`` (V).
        v_reset_se: Standard error of ``v_reset`` (V).
        v_th_ci: 95 % interval of ``v_th`` (V).
        v_reset_ci: 95 % interval of ``v_reset`` (V).
        t_ref_ci: 95 % interval of ``t_ref`` (s) (bootstrap over spikes).
        tau_m_ci: 95 % interval of ``tau_m`` (s) (likelihood).
        v_rest_ci: 95 % interval of ``v_rest`` (V) (likelihood).
        naive_v_th: Mean of the last sub-threshold raw sample before each spike (V).
        naive_v_reset: Mean of the first raw sample after each reset (V).
        likelihood: The sub-threshold likelihood behind tau_m and V_inf:
            ``"killed"`` (every free transition, conditioned on not crossing the
            threshold) or ``"far-from-threshold"`` (Gaussian, the transitions near
            threshold left out).
    """

    v_th: float
    v_reset: float
    t_ref: float
    tau_m: float
    v_rest: float
    input_sigma: float
    noise_std: float
    n_spikes: int
    v_th_se: float
    v_reset_se: float
    v_th_ci: tuple[float, float]
    v_reset_ci: tuple[float, float]
    t_ref_ci: tuple[float, float]
    tau_m_ci: tuple[float, float]
    v_rest_ci: tuple[float, float]
    naive_v_th: float
    naive_v_reset: float
    likelihood: str = "far-from-threshold"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready mapping (SI units, keys as the fields; intervals as [low, high])."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _robust_std(x: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def _replace_outliers(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace isolated single-sample outliers; return (cleaned copy, outlier mask).

    Sample k is an outlier when it lies more than ``L`` = 4.5 robust SDs of
    ``y_k - (y_{k-1} + y_{k+1})/2`` from its neighbours' mean while the neighbours
    agree to within ``max(L/2, min(excess/2, 1.5 L))`` -- a reset or a spike peak
    has neighbours that disagree by the whole jump, so neither is touched.
    """
    out = y.copy()
    mask = np.zeros(y.size, dtype=bool)
    if y.size < 5:
        return out, mask
    mid = 0.5 * (y[:-2] + y[2:])
    excess = y[1:-1] - mid
    limit = 4.5 * _robust_std(excess)
    if not limit > 0:
        return out, mask
    spread = np.abs(y[2:] - y[:-2])
    agree = spread < np.maximum(0.5 * limit, np.minimum(0.5 * np.abs(excess), 1.5 * limit))
    bad = np.flatnonzero((np.abs(excess) > limit) & agree) + 1
    out[bad] = mid[bad - 1]
    mask[bad] = True
    return out, mask


def _reset_drops(trace: np.ndarray, min_gap: int, span: int = 1
                 ) -> tuple[np.ndarray, float, float]:
    """First index after each sustained reset drop, the drop limit and the diff scale.

    Candidates are drops over ``span`` samples below ``-max(3 s, J/3)`` (``s`` the
    robust scale of such drops, ``J`` the median of those beyond ``5 s``); a
    candidate is a reset when the level after it stays down: the mean of the next
    three samples lies below the mean of the two before by ``max(0.65 J, 5 s_level)``
    (``s_level = sqrt(5/6) sigma_n``, ``sigma_n`` the white-noise SD from second
    differences). A
    single noise outlier moves a three-sample mean by a third of itself, and a
    sample's noise alone rarely hides a reset. ``span = 2`` looks for drops over two
    samples (a filter inverse spreads a jump over the two intervals around the
    crossing). The reported index is the sample after the larger single step.
    """
    diff = np.diff(trace)
    if diff.size < 6 + span:
        return np.zeros(0, dtype=np.int64), math.inf, 0.0
    sigma_d = _robust_std(diff)
    drop = trace[span:] - trace[:-span]
    scale = _robust_std(drop)
    big = drop[drop < -5.0 * scale]
    if big.size == 0:
        return np.zeros(0, dtype=np.int64), math.inf, sigma_d
    jump = float(np.median(-big))
    kernel_after = np.ones(3) / 3
    after = np.convolve(trace, kernel_after, mode="valid")  # after[i] = mean(trace[i:i+3])
    before = 0.5 * (trace[:-1] + trace[1:])  # before[i] = mean(trace[i:i+2])
    # Level change across the candidate drop trace[start] -> trace[start + span].
    starts = np.arange(1, trace.size - span - 3)
    level = after[starts + span] - before[starts - 1]
    # Noise of that level difference from the white-noise SD (second differences,
    # var = 6 sigma^2), not from the level itself, which frequent resets inflate.
    noise = _robust_std(np.diff(trace, 2)) / math.sqrt(6.0)
    level_limit = max(0.65 * jump, 5.0 * math.sqrt(5.0 / 6.0) * noise)
    limit = max(3.0 * scale, jump / 3.0)
    candidates = np.flatnonzero(drop[1:trace.size - span - 3] < -limit) + 1
    spikes: list[int] = []
    for start in candidates:
        if level[start - 1] > -level_limit:
            continue
        idx = int(start + np.argmin(diff[start:start + span]))
        if spikes and idx - spikes[-1] < min_gap:
            if diff[idx] < diff[spikes[-1]]:
                spikes[-1] = idx
            continue
        spikes.append(idx)
    return np.asarray(spikes, dtype=np.int64) + 1, 0.5 * jump, sigma_d


def detect_spikes(v: np.ndarray, *, dt: float = 1.0, filter_tau: float = 0.0,
                  min_gap: int = 3) -> np.ndarray:
    """Index of the sample at each reset jump.

    Without a filter: the first sample after the drop (without spike peaks, the
    crossing lies in ``(t[i-1], t[i]]``). With ``filter_tau``: the sample nearest
    the drop (the crossing lies in ``(t[i] - dt/2, t[i] + dt/2)``), found on the
    zero-order-hold inverse ``u_n = (y_{n+1} - a y_n)/(1 - a)``, where a jump
    occupies one interval.

    A reset is a drop after which the level stays down (see ``_reset_drops``:
    candidates below ``-max(3 s, J/3)``, confirmed when the mean of the next three
    samples lies ``max(0.65 J, 5 s_level)`` below the mean of the two before);
    isolated single-sample outliers are removed first; drops closer than
    ``min_gap`` samples are merged.

    Args:
        v: Membrane samples (V).
        dt: Sampling interval (s); only used with ``filter_tau``.
        filter_tau: First-order filter time constant of the recording (s).
        min_gap: Minimum separation of two spikes (samples).
    """
    trace, _ = _replace_outliers(np.asarray(v, dtype=float))
    if filter_tau > 0:
        a = math.exp(-dt / filter_tau)
        trace = (trace[1:] - a * trace[:-1]) / (1.0 - a)
    return _reset_drops(trace, min_gap, 2 if filter_tau > 0 else 1)[0]


def _last_subthreshold(trace: np.ndarray, drops: np.ndarray, limit: float,
                       sigma_d: float, max_peak: int) -> np.ndarray:
    """Index of the last sub-threshold sample before each reset (skips spike peaks).

    A spike peak is an upward jump larger than ``max(5 sigma_d, limit)`` within
    ``max_peak`` samples before the reset, after which every sample up to the reset
    stays above the level before the jump by that amount.
    """
    up = max(5.0 * sigma_d, limit)
    pre = drops - 1
    if not math.isfinite(up):
        return pre
    previous = -1
    for n, i in enumerate(drops):
        lo = max(previous + 2, int(i) - max_peak, 1)
        for k in range(int(i) - 1, lo - 1, -1):
            base = trace[k - 1]
            if trace[k] - base > up and np.all(trace[k:i] > base + up):
                pre[n] = k - 1
        previous = int(i)
    return pre


def _noise_std(v: np.ndarray, spikes: np.ndarray, guard: int) -> float:
    d2 = v[2:] - 2 * v[1:-1] + v[:-2]
    keep = np.ones(d2.size, dtype=bool)
    for k in spikes:
        keep[max(0, k - guard - 2):k + guard] = False
    if keep.sum() < 10:
        raise ParamError("trace too short between spikes to estimate the noise")
    return _robust_std(d2[keep]) / math.sqrt(6.0)


# ------------------------------------------------------------------ OU likelihood


@numba.njit(cache=True)
def _kalman_1d(y, starts, stops, missing, counted, a, mu, q2, r2, record, z_out,
               upper_out, seg_out):  # pragma: no cover
    # counted[k]: the innovation of sample k enters the likelihood; upper_out[k]:
    # predicted state + 4 SD (for choosing counted); z_out[k]: standardised innovation
    # (both written only when ``record``); seg_out[s]: the segment's share of the nll.
    nll = 0.0
    last_var = -1.0
    log_var = 0.0
    for s in range(starts.size):
        seg_out[s] = nll
        lo = starts[s]
        m = y[lo]
        p = r2  # flat prior on V, then the first observation
        for k in range(lo + 1, stops[s]):
            m = mu + a * (m - mu)
            p = a * a * p + q2
            if record:
                upper_out[k] = m + 4.0 * math.sqrt(p)
            if missing[k]:
                continue
            var = p + r2
            e = y[k] - m
            if record:
                z_out[k] = e / math.sqrt(var)
            if counted[k]:
                if var != last_var:
                    last_var = var
                    log_var = math.log(2.0 * math.pi * var)
                nll += 0.5 * (log_var + e * e / var)
            gain = p / var
            m += gain * e
            p *= 1.0 - gain
        seg_out[s] = nll - seg_out[s]
    return nll


@numba.njit(cache=True)
def _kalman_2d(y, starts, stops, missing, counted, a00, a10, a11, q00, q01, q11, mu, r2,
               v_spread2, record, z_out, upper_out, seg_out):  # pragma: no cover
    # State (V, y_filtered); A lower-triangular (V does not see the filter).
    nll = 0.0
    for s in range(starts.size):
        seg_out[s] = nll
        lo = starts[s]
        mv = y[lo]
        mf = y[lo]
        pvv = r2 + v_spread2
        pvf = r2
        pff = r2
        for k in range(lo + 1, stops[s]):
            dv = mv - mu
            df = mf - mu
            mv = mu + a00 * dv
            mf = mu + a10 * dv + a11 * df
            nvv = a00 * a00 * pvv + q00
            nvf = a00 * (a10 * pvv + a11 * pvf) + q01
            nff = a10 * a10 * pvv + 2.0 * a10 * a11 * pvf + a11 * a11 * pff + q11
            pvv, pvf, pff = nvv, nvf, nff
            if record:
                upper_out[k] = mv + 4.0 * math.sqrt(pvv)
            if missing[k]:
                continue
            var = pff + r2
            e = y[k] - mf
            if record:
                z_out[k] = e / math.sqrt(var)
            if counted[k]:
                nll += 0.5 * (math.log(2.0 * math.pi * var) + e * e / var)
            gv = pvf / var
            gf = pff / var
            mv += gv * e
            mf += gf * e
            pvv, pvf, pff = pvv - gv * pvf, pvf - gv * pff, pff - gf * pff
        seg_out[s] = nll - seg_out[s]
    return nll


#: Quadrature of the killed filter's near-threshold steps: Gauss-Hermite (weight
#: exp(-t^2/2)) while the filter density lies clear of the threshold, Gauss-Legendre
#: over the part below the threshold when it does not.
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(10)
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


@numba.njit(cache=True)
def _killed_node(u, c, a, q2, r2, z, has_obs):  # pragma: no cover
    # From a filter value u = theta - V > 0: the transition density N(u'; c + a u, q2)
    # times the Brownian-bridge survival 1 - exp(-2 u u' / q2) (Gobet 2000) is the
    # density minus its image exp(-2 u (c - (1 - a) u) / q2) N(u'; c - (2 - a) u, q2);
    # restricted to u' > 0 and times the observation N(z; u', r2) (without its
    # normalisation, which the caller adds). Returns the mass and the first two
    # moments of u'. Terms below e^-40 of the leading one are skipped.
    mass = 0.0
    first = 0.0
    second = 0.0
    if has_obs:
        tot = q2 + r2
        var1 = q2 * r2 / tot
    else:
        tot = q2
        var1 = q2
    sd1 = math.sqrt(var1)
    for term in range(2):
        if term == 0:
            mean = c + a * u
            log_w = 0.0
        else:
            mean = c - (2.0 - a) * u
            log_w = -2.0 * u * (c - (1.0 - a) * u) / q2
        if has_obs:
            d = z - mean
            log_w -= 0.5 * d * d / tot
            mean1 = (mean * r2 + z * q2) / tot
        else:
            mean1 = mean
        alpha = mean1 / sd1
        if term == 1 and log_w - (0.5 * alpha * alpha if alpha < 0.0 else 0.0) < -40.0:
            break
        scale = math.exp(log_w)
        if term == 1:
            scale = -scale
        if alpha > 8.5:
            cdf = 1.0
            pdf = 0.0
        else:
            cdf = 0.5 * math.erfc(-alpha / _SQRT2)
            pdf = math.exp(-0.5 * alpha * alpha) / _SQRT2PI
        mass += scale * cdf
        first += scale * (mean1 * cdf + sd1 * pdf)
        second += scale * ((mean1 * mean1 + var1) * cdf + mean1 * sd1 * pdf)
    return mass, first, second


@numba.njit(cache=True)
def _killed_cross(u, c, a, q2):  # pragma: no cover
    # P(crossing within one interval | u): 1 - survival of the bridge transition.
    sq = math.sqrt(q2)
    above = 0.5 * math.erfc((c + a * u) / sq / _SQRT2)
    log_g = -2.0 * u * (c - (1.0 - a) * u) / q2
    if log_g < -60.0:
        return above
    return above + math.exp(log_g) * 0.5 * math.erfc(-(c - (2.0 - a) * u) / sq / _SQRT2)


@numba.njit(cache=True)
def _killed_average(m, sd, c, a, q2, r2, z, has_obs, cross, gh_t, gh_w, gl_t, gl_w
                    ):  # pragma: no cover
    # Average of _killed_node (or of _killed_cross when ``cross``) over the filter
    # density N(m, sd^2) restricted to u > 0.
    hermite = m - 5.0 * sd > 0.0
    lo = max(0.0, m - 8.0 * sd)
    half = 0.5 * (m + 8.0 * sd - lo)
    size = gh_t.size if hermite else gl_t.size
    norm = 0.0
    mass = 0.0
    first = 0.0
    second = 0.0
    for i in range(size):
        if hermite:
            u = m + sd * gh_t[i]
            w = gh_w[i]
        else:
            u = lo + half * (gl_t[i] + 1.0)
            d = (u - m) / sd
            w = gl_w[i] * math.exp(-0.5 * d * d)
        norm += w
        if cross:
            mass += w * _killed_cross(u, c, a, q2)
        else:
            n_mass, n_first, n_second = _killed_node(u, c, a, q2, r2, z, has_obs)
            mass += w * n_mass
            first += w * n_first
            second += w * n_second
    return mass / norm, first / norm, second / norm


@numba.njit(cache=True)
def _kalman_killed(y, starts, stops, crossed, missing, a, mu, q2, r2, theta, gh_t, gh_w,
                   gl_t, gl_w, record, z_out, seg_out, margin=5.0, bridge_limit=20.0
                   ):  # pragma: no cover
    # The free membrane as a killed OU process observed with white noise, in
    # u = theta - V (mV): between samples u' = c + a u + N(0, q2), c = (1 - a)(theta - mu),
    # and the path must not cross u = 0 in between. Far from the threshold this is
    # the Kalman filter. Near it the Gaussian filter density N(m, p) (restricted to
    # u > 0) is pushed through the killed transition and the observation by
    # quadrature over u and in closed form over u', and moment-matched back to a
    # Gaussian (assumed-density filtering). A segment that ends in a crossing adds
    # log P(crossing within the next interval).
    nll = 0.0
    c = (1.0 - a) * (theta - mu)
    log_norm = 0.5 * math.log(2.0 * math.pi * (q2 + r2))
    for s in range(starts.size):
        seg_start = nll
        lo = starts[s]
        m = theta - y[lo]
        p = r2
        for k in range(lo + 1, stops[s]):
            sd = math.sqrt(p)
            m_pred = c + a * m
            p_pred = a * a * p + q2
            u_lo = m - margin * sd
            pred_lo = m_pred - margin * math.sqrt(p_pred)
            has_obs = not missing[k]
            z = theta - y[k]
            if record and has_obs:
                z_out[k] = (m_pred - z) / math.sqrt(p_pred + r2)
            if u_lo > 0.0 and pred_lo > 0.0 and 2.0 * u_lo * pred_lo > bridge_limit * q2:
                if has_obs:
                    var = p_pred + r2
                    e = z - m_pred
                    nll += 0.5 * (math.log(2.0 * math.pi * var) + e * e / var)
                    gain = p_pred / var
                    m = m_pred + gain * e
                    p = p_pred * (1.0 - gain)
                else:
                    m = m_pred
                    p = p_pred
                continue
            mass, first, second = _killed_average(m, sd, c, a, q2, r2, z, has_obs, False,
                                                  gh_t, gh_w, gl_t, gl_w)
            if not mass > 1e-300:
                nll += 690.0
                m = m_pred
                p = p_pred
                continue
            nll -= math.log(mass)
            if has_obs:
                nll += log_norm
            m = first / mass
            p = max(second / mass - m * m, 1e-6 * q2)
        if crossed[s]:
            cross = _killed_average(m, math.sqrt(p), c, a, q2, r2, 0.0, False, True,
                                    gh_t, gh_w, gl_t, gl_w)[0]
            nll -= math.log(max(cross, 1e-300))
        seg_out[s] = nll - seg_start
    return nll


@dataclass(frozen=True)
class _OUFit:
    tau: float
    mu: float
    sigma: float
    noise: float
    cov: np.ndarray  # of (log tau, mu, log sigma, log noise)
    z: np.ndarray  # standardised innovations (0 outside the segments)
    x: np.ndarray  # optimum in the fitted coordinates


def _transition(tau: float, sigma: float, dt: float, filter_tau: float
                ) -> tuple[float, ...]:
    """Exact discrete transition (A, Q) of the OU membrane and the recording filter."""
    if filter_tau <= 0:
        a = math.exp(-dt / tau)
        return (a, 0.0, 0.0, sigma * sigma * -math.expm1(-2.0 * dt / tau), 0.0, 0.0)
    drift = np.array([[-1.0 / tau, 0.0], [1.0 / filter_tau, -1.0 / filter_tau]])
    diffusion = np.array([[2.0 * sigma * sigma / tau, 0.0], [0.0, 0.0]])
    # Van Loan (1978): expm([[-F, G G^T], [0, F^T]] dt) gives A and Q together.
    block = np.zeros((4, 4))
    block[:2, :2] = -drift
    block[:2, 2:] = diffusion
    block[2:, 2:] = drift.T
    e = linalg.expm(block * dt)
    a = e[2:, 2:].T
    q = a @ e[:2, 2:]
    q = 0.5 * (q + q.T)
    return (a[0, 0], a[1, 0], a[1, 1], q[0, 0], q[0, 1], q[1, 1])


def _nll(x: np.ndarray, y_mv: np.ndarray, starts: np.ndarray, stops: np.ndarray,
         missing: np.ndarray, counted: np.ndarray, dt: float, filter_tau: float,
         z: np.ndarray, upper: np.ndarray, seg: np.ndarray, theta_mv: float,
         crossed: np.ndarray, record: bool = False) -> float:
    tau, mu, sigma, noise = math.exp(x[0]), x[1], math.exp(x[2]), math.exp(x[3])
    if not (1e-6 < tau < 1e3 and 1e-6 < sigma < 1e4 and 1e-6 < noise < 1e4):
        return 1e300
    a00, a10, a11, q00, q01, q11 = _transition(tau, sigma, dt, filter_tau)
    if math.isfinite(theta_mv):
        return float(_kalman_killed(y_mv, starts, stops, crossed, missing, a00, mu, q00,
                                    noise * noise, theta_mv, _GH_NODES, _GH_WEIGHTS,
                                    _GL_NODES, _GL_WEIGHTS, record, z, seg))
    if filter_tau <= 0:
        return float(_kalman_1d(y_mv, starts, stops, missing, counted, a00, mu, q00,
                                noise * noise, record, z, upper, seg))
    return float(_kalman_2d(y_mv, starts, stops, missing, counted, a00, a10, a11, q00, q01,
                            q11, mu, noise * noise, 4.0 * (sigma * sigma + noise * noise),
                            record, z, upper, seg))


def _fit_ou(y: np.ndarray, starts: np.ndarray, stops: np.ndarray, missing: np.ndarray,
            dt: float, filter_tau: float, noise_guess: float, cut: float,
            start: np.ndarray | None = None, quick: bool = False,
            theta: float | None = None, crossed: np.ndarray | None = None) -> _OUFit:
    """Maximum-likelihood tau, V_inf, sigma, noise on the free segments, with covariance.

    With ``theta`` (V) and no recording filter: the killed-OU likelihood
    (``_kalman_killed``) of every free transition, ``crossed`` marking the segments
    that end in a crossing; Newton steps from ``start``. Otherwise only transitions
    whose predicted state lies 4 SDs below ``cut`` (V, a level at or below the
    threshold) enter a Gaussian likelihood: near the threshold the observed
    transitions are conditioned on not crossing, which the Gaussian transition
    density does not know. The choice depends on past samples only, so the
    remaining score terms keep zero mean.
    """
    y_mv = y * 1e3
    noise0 = max(noise_guess * 1e3, 1e-3)
    # Start: lagged regression with the measurement variance taken out of the
    # regressor (errors-in-variables), lag ~ tau/4 in samples.
    lag = max(1, min(int(np.median(stops - starts)) // 4, 50))
    xs, ys = [], []
    for lo, hi in zip(starts, stops, strict=True):
        if hi - lo > lag + 1:
            xs.append(y_mv[lo:hi - lag])
            ys.append(y_mv[lo + lag:hi])
    x_prev = np.concatenate(xs)
    x_next = np.concatenate(ys)
    cov_xy = float(np.mean((x_prev - x_prev.mean()) * (x_next - x_next.mean())))
    var_x = max(float(np.var(x_prev)) - noise0**2, 1e-6)
    slope = min(max(cov_xy / var_x, 0.05), 0.999)
    tau0 = -lag * dt / math.log(slope)
    mu0 = float(np.clip((x_next.mean() - slope * x_prev.mean()) / (1.0 - slope),
                        x_prev.min() - 50, x_prev.max() + 50))
    sigma0 = math.sqrt(var_x)
    z = np.zeros(y.size)
    upper = np.full(y.size, np.inf)
    counted = ~missing
    seg = np.zeros(starts.size)
    killed = theta is not None and filter_tau <= 0
    theta_mv = theta * 1e3 if killed and theta is not None else math.nan
    if crossed is None:
        crossed = np.zeros(starts.size, dtype=bool)
    args = (y_mv, starts, stops, missing, counted, dt, filter_tau, z, upper, seg, theta_mv,
            crossed)
    x = np.array([math.log(tau0), mu0, math.log(sigma0), math.log(noise0)])
    if start is not None:
        x = np.array(start, dtype=float)
    # The counted set is fixed from the starting point (refreshed after a coarse
    # simplex search), then the likelihood is maximised with it held fixed.
    last = np.zeros(y.size, dtype=bool)
    last[stops - 1] = True

    def choose_counted() -> None:
        _nll(x, *args, record=True)
        counted[:] = (~missing) & (upper < cut * 1e3)
        if counted.sum() < MIN_FREE_SAMPLES:
            # Steep approach, few samples per interval: only the last sample before
            # each crossing is left out (the drift dominates the crossing there).
            counted[:] = ~missing & ~last

    if not killed:
        choose_counted()
    if start is None or quick:
        x = optimize.minimize(_nll, x, args=args, method="Nelder-Mead",
                              options={"xatol": 1e-2, "fatol": 0.5, "maxiter": 200}).x
        if not killed:
            choose_counted()
    if quick:
        return _OUFit(tau=math.exp(x[0]), mu=x[1] * 1e-3, sigma=math.exp(x[2]) * 1e-3,
                      noise=math.exp(x[3]) * 1e-3, cov=np.full((4, 4), np.nan), z=z.copy(),
                      x=x)
    hess = None
    if killed:
        # Each evaluation is costly: Newton steps from the previous fit, whose last
        # Hessian is that of the optimum.
        x, hess = _newton(lambda p: _nll(p, *args), x)
    else:
        x = optimize.minimize(_nll, x, args=args, method="BFGS", options={"gtol": 1e-3}).x
    if hess is None:
        hess = _hessian(lambda p: _nll(p, *args), x)
    cov = _covariance(hess)
    if cov is not None:
        # Sandwich (robust) covariance H^-1 J H^-1, J from the per-segment scores: the
        # segments are independent renewal intervals, and the Gaussian transition
        # model is only an approximation near the threshold.
        scores = np.zeros((starts.size, 4))
        for i in range(4):
            step = np.zeros(4)
            step[i] = 1e-4
            _nll(x + step, *args)
            plus = seg.copy()
            _nll(x - step, *args)
            scores[:, i] = (plus - seg) / 2e-4
        keep = np.isfinite(np.diag(cov))
        bread = np.where(np.isfinite(cov), cov, 0.0)
        robust = bread @ (scores.T @ scores) @ bread
        # Never narrower than the model-based intervals: scale the model covariance by
        # the largest variance ratio of tau and V_inf (keeps it positive definite).
        ratio = max(1.0, *(robust[i, i] / cov[i, i] for i in (0, 1) if keep[i]))
        cov = cov * ratio
    if cov is None:
        raise ParamError("the sub-threshold likelihood has no well-defined maximum: "
                         "tau_m and V_inf cannot be estimated from these data")
    _nll(x, *args, record=True)  # leave the innovations of the optimum in z
    return _OUFit(tau=math.exp(x[0]), mu=x[1] * 1e-3, sigma=math.exp(x[2]) * 1e-3,
                  noise=math.exp(x[3]) * 1e-3, cov=cov, z=z.copy(), x=x)


def _covariance(hess: np.ndarray) -> np.ndarray | None:
    """Inverse of the observed information; None if (tau, V_inf) are not identified.

    When only the input-noise direction is flat (a drift-dominated membrane whose
    fluctuations are below the measurement noise, sigma at its lower edge), sigma is
    held at its estimate and the remaining block is inverted.
    """
    for keep in ([0, 1, 2, 3], [0, 1, 3]):
        block = hess[np.ix_(keep, keep)]
        if not np.all(np.isfinite(block)):
            continue
        eig = np.linalg.eigvalsh(block)
        if eig[0] > 1e-9 * eig[-1] > 0:
            cov = np.full((4, 4), np.nan)
            cov[np.ix_(keep, keep)] = np.linalg.inv(block)
            return cov
    return None


def _newton(func, x: np.ndarray, step: float = 2e-3, iterations: int = 6
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """Minimise a smooth function from a nearby start by damped Newton steps, with
    finite-difference gradient and Hessian (one-sided mixed terms). Returns the
    optimum and the Hessian there (None when the last step was not a small Newton
    step: the Hessian was not positive definite, BFGS finished, or the iterations
    ran out)."""
    n = x.size
    for _ in range(iterations):
        f0 = func(x)
        plus = np.array([func(x + step * e) for e in np.eye(n)])
        minus = np.array([func(x - step * e) for e in np.eye(n)])
        grad = (plus - minus) / (2 * step)
        hess = np.diag((plus - 2 * f0 + minus) / step**2)
        for i in range(n):
            for j in range(i + 1, n):
                both = func(x + step * (np.eye(n)[i] + np.eye(n)[j]))
                hess[i, j] = hess[j, i] = (both - plus[i] - plus[j] + f0) / step**2
        if not np.all(np.isfinite(hess)) or np.linalg.eigvalsh(hess)[0] <= 0:
            return np.asarray(optimize.minimize(func, x, method="BFGS",
                                                options={"gtol": 1e-2}).x), None
        move = -np.linalg.solve(hess, grad)
        if -grad @ move < 1e-3:  # Newton decrement: the optimum is within ~1e-3 nll
            return x + move, hess
        scale = 1.0
        while func(x + scale * move) > f0 and scale > 1 / 32:
            scale *= 0.5
        x = x + scale * move
    return x, None


def _hessian(func, x: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Central-difference Hessian."""
    n = x.size
    h = np.full(n, step)
    out = np.zeros((n, n))
    f0 = func(x)
    for i in range(n):
        for j in range(i, n):
            if i == j:
                e = np.zeros(n)
                e[i] = h[i]
                out[i, i] = (func(x + e) - 2 * f0 + func(x - e)) / h[i] ** 2
            else:
                ei = np.zeros(n)
                ej = np.zeros(n)
                ei[i] = h[i]
                ej[j] = h[j]
                out[i, j] = out[j, i] = (func(x + ei + ej) - func(x + ei - ej)
                                         - func(x - ei + ej) + func(x - ei - ej)) / (
                                             4 * h[i] * h[j])
    return out


# ------------------------------------------------------------- threshold gap


@numba.njit(cache=True)
def _gap_kernel(n_spikes, max_steps, h, substeps, j_lo, j_hi, tau, mu, sigma, v_th, v_reset,
                n_ref, filter_tau, seed):  # pragma: no cover
    np.random.seed(seed)
    decay = math.exp(-h / tau)
    step_sd = sigma * math.sqrt(-math.expm1(-2.0 * h / tau))
    diffusion_h = 2.0 * sigma * sigma / tau * h
    fdecay = math.exp(-h / filter_tau) if filter_tau > 0 else 0.0
    # Coarse exact steps of `substeps` fine steps while the membrane cannot reach the
    # threshold within 2 coarse steps (12 SDs of that spread above the drift); then
    # the ring of fine values is refilled before any crossing can read it.
    coarse_decay = decay**substeps
    coarse_sd = sigma * math.sqrt(-math.expm1(-2.0 * h * substeps / tau))
    far_sd = 12.0 * sigma * math.sqrt(-math.expm1(-4.0 * h * substeps / tau))
    far_decay = decay ** (2 * substeps)
    size = j_hi + 1
    ring = np.full(size, v_reset)
    out = np.empty(n_spikes)
    count = 0
    v = v_reset
    f = v_reset
    ref = 0
    pos = 0
    steps = 0
    while count < n_spikes and steps < max_steps:
        if ref > 0:
            ref -= 1
            v = v_reset
        elif filter_tau <= 0 and mu + (v - mu) * far_decay + far_sd < v_th:
            v = mu + (v - mu) * coarse_decay + coarse_sd * np.random.standard_normal()
            f = v
            steps += substeps
            ring[pos % size] = v
            pos += 1
            continue
        else:
            v_new = mu + (v - mu) * decay + step_sd * np.random.standard_normal()
            crossed = v_new >= v_th
            if not crossed and diffusion_h > 0:
                exponent = 2.0 * (v_th - v) * (v_th - v_new) / diffusion_h
                crossed = exponent < 40.0 and np.random.random() < math.exp(-exponent)
            if crossed:
                # ring[pos - 1] holds the value at the start of this step: offset
                # (j + U(0,1)) h before the crossing for the value j steps back.
                total = 0.0
                for j in range(j_lo, j_hi):
                    total += ring[(pos - 1 - j) % size]
                out[count] = total / (j_hi - j_lo)
                count += 1
                v = v_reset
                ref = n_ref
            else:
                v = v_new
        f = v + (f - v) * fdecay
        ring[pos % size] = f
        pos += 1
        steps += 1
    return out[:count]


def _threshold_gap(params: tuple[float, float, float], v_th: float, v_reset: float,
                   t_ref: float, dt: float, filter_tau: float, window: tuple[float, float],
                   spikes: int = _GAP_SPIKES) -> tuple[float, float]:
    """(E[V_th - y_p], its Monte-Carlo SE) under the OU model ``params`` = (tau (s),
    V_inf (V), sigma (V)), ``y_p`` the sample ``window`` = (lo, hi) before the
    crossing (uniform offset). A fixed seed makes calls with nearby parameters use
    common random numbers (smooth in the parameters)."""
    h = dt / _GAP_SUBSTEPS
    j_lo = round(window[0] / h)
    j_hi = round(window[1] / h)
    tau, mu, sigma = params
    sample = _gap_kernel(spikes, 100_000_000, h, _GAP_SUBSTEPS, j_lo, j_hi, tau, mu,
                         sigma, v_th, v_reset, round(t_ref / h), filter_tau, 12345)
    if sample.size < 200:
        raise ParamError("the fitted sub-threshold model almost never reaches the "
                         "threshold: the spikes are not those of an LIF with these "
                         "dynamics (check the trace and the spike detection)")
    return v_th - float(np.mean(sample)), float(np.std(sample) / math.sqrt(sample.size))


def _gap_model_variance(fit: _OUFit, gap: float, v_th: float, v_reset: float, t_ref: float,
                        dt: float, filter_tau: float, window: tuple[float, float]) -> float:
    """Variance of the gap from the uncertainty of (tau, V_inf, sigma): delta method,
    one-sided differences (one standard error, at most 5 % in tau and sigma and
    0.5 mV in V_inf) with common random numbers."""
    keep = [i for i in range(3) if np.isfinite(fit.cov[i, i])]
    grad = np.zeros(len(keep))
    for n, i in enumerate(keep):
        step = min(math.sqrt(fit.cov[i, i]), 0.5 if i == 1 else 0.05)
        x = fit.x.copy()
        x[i] += step
        params = (math.exp(x[0]), x[1] * 1e-3, math.exp(x[2]) * 1e-3)
        grad[n] = (_threshold_gap(params, v_th, v_reset, t_ref, dt, filter_tau, window)[0]
                   - gap) / step
    return float(grad @ fit.cov[np.ix_(keep, keep)] @ grad)


# ------------------------------------------------------------------ main entry


def estimate_lif_parameters(
    t: np.ndarray,
    v: np.ndarray,
    *,
    spike_index: np.ndarray | None = None,
    filter_tau: float = 0.0,
    t_ref: float | None = None,
    post_window: float = 6e-3,
    max_peak: float = 2e-3,
    require_tau: bool = True,
) -> LIFEstimate:
    """Estimate threshold, reset, refractory period, tau_m and V_inf from a trace.

    Args:
        t: Sample times (s), uniformly spaced.
        v: Membrane potential (V), same length.
        spike_index: Index of the first sample after each reset; detected if None.
        filter_tau: Time constant of the recording's first-order low-pass (s); 0 = none.
        t_ref: Known refractory period (s); estimated if None.
        post_window: Length of the post-spike window (s), capped at half the
            10th-percentile ISI.
        max_peak: Longest spike peak (s) searched for before each reset.
        require_tau: Refuse when tau_m is not determined (95 % interval wider than a
            factor ``MAX_TAU_CI_RATIO``); if False, report tau_m and V_inf as NaN and
            still answer the others (V_th then carries the tau uncertainty).

    Returns:
        The estimate with 95 % intervals; see :class:`LIFEstimate`.

    Raises:
        ParamError: Non-uniform sampling, too few spikes or free samples, a reset
            the spike list misses (innovation check), a likelihood without a
            maximum, or intervals wider than ``MAX_TAU_CI_RATIO`` /
            ``MAX_VTH_CI_HALF_WIDTH``.
    """
    t = np.asarray(t, dtype=float)
    raw = np.asarray(v, dtype=float)
    if t.ndim != 1 or t.shape != raw.shape or t.size < 50:
        raise ParamError("need 1-D time and voltage arrays of equal length (>= 50 samples)")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(raw))):
        raise ParamError("trace contains NaN or inf")
    steps = np.diff(t)
    dt = float(np.median(steps))
    if not dt > 0 or np.max(np.abs(steps - dt)) > 1e-3 * dt:
        raise ParamError("samples must be uniformly spaced in time")
    if filter_tau < 0:
        raise ParamError("filter_tau must be >= 0 s")
    if t_ref is not None and t_ref < 0:
        raise ParamError("t_ref must be >= 0 s")
    y, outliers = _replace_outliers(raw)
    detect_trace = y
    if filter_tau > 0:
        a = math.exp(-dt / filter_tau)
        detect_trace = (y[1:] - a * y[:-1]) / (1.0 - a)
    found, limit, sigma_d = _reset_drops(detect_trace, 3, 2 if filter_tau > 0 else 1)
    spikes = found if spike_index is None else np.asarray(spike_index, dtype=np.int64)
    spikes = np.unique(spikes[(spikes > 1) & (spikes < y.size)])
    if spikes.size < MIN_SPIKES:
        raise ParamError(f"found {spikes.size} spikes; need at least {MIN_SPIKES}")
    pre_end = _last_subthreshold(detect_trace, spikes, limit, sigma_d,
                                 max(1, round(max_peak / dt)))
    # Offset window of y[pre_end] before the crossing, and of the first post-spike
    # sample after it; see the module docstring.
    if filter_tau > 0:
        window, post_first, post_lo = (0.5 * dt, 1.5 * dt), 1, 0.5 * dt
    else:
        window, post_first, post_lo = (0.0, dt), 0, 0.0
    guard = 1 + math.ceil(4 * filter_tau / dt)
    noise0 = _noise_std(y, spikes, guard)

    # Post-spike matrix: spikes with the modal peak length and room after them.
    isi = np.diff(spikes)
    short_isi = int(np.percentile(isi, 10)) if isi.size else y.size
    n_post = max(4, min(round(post_window / dt), short_isi // 2))
    lag = spikes - pre_end
    modal = int(np.bincount(lag).argmax())
    next_spike = np.append(spikes[1:], y.size)
    post_ok = ((lag == modal) & (spikes + post_first + n_post + 1 < next_spike)
               & (spikes + post_first + n_post + 1 < y.size))
    if post_ok.sum() < MIN_SPIKES:
        raise ParamError(f"only {int(post_ok.sum())} spikes have a clean post-spike window; "
                         f"need at least {MIN_SPIKES}")
    post_trace = y.copy()
    if filter_tau > 0:
        post_trace[:-1] = detect_trace
    rows = spikes[post_ok] + post_first
    post = np.stack([post_trace[rows + j] for j in range(n_post)], axis=1)
    post_offsets = (post_lo + (modal - 1) * dt, post_lo + modal * dt)

    def segments(ref_time: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(first, one past the last sample, ends in a crossing) of each free segment."""
        starts = [0]
        stops = []
        for i, p in zip(spikes, pre_end, strict=True):
            stops.append(int(p) + 1)
            # First sample surely released from the clamp, plus the filter's settling.
            free = math.ceil(max(ref_time - (modal - 1) * dt, 0.0) / dt) + 1 + guard
            starts.append(int(i) + free)
        stops.append(y.size - 3)  # a reset in the last 3 samples cannot be confirmed
        lo = np.asarray(starts, dtype=np.int64)
        hi = np.asarray(stops, dtype=np.int64)
        ends_in_crossing = np.arange(lo.size) < spikes.size
        keep = hi - lo >= 3
        return lo[keep], hi[keep], ends_in_crossing[keep]

    # Pass 1: a conservative skip (half the median ISI) gives a first tau for the
    # post-spike fit; pass 2 uses the fitted refractory period.
    cut = float(np.mean(y[pre_end]))
    first_skip = t_ref if t_ref is not None else 0.5 * float(np.median(isi)) * dt
    starts, stops, crossed = segments(first_skip)
    fit = _fit_ou(y, starts, stops, outliers, dt, filter_tau, noise0, cut, quick=True)
    post_fit = _fit_post(post, dt, fit.tau, filter_tau > 0, t_ref, *post_offsets)
    starts, stops, crossed = segments(post_fit.t_ref)
    fit = _fit_ou(y, starts, stops, outliers, dt, filter_tau, noise0, cut, start=fit.x)
    theta = None
    if filter_tau <= 0 and _kill_layer_resolved(fit, dt):
        # Every free transition, the path conditioned on not crossing the threshold
        # in between, and the crossing interval itself: needs the threshold, from
        # the gap method with the first fit (it moves the fit little).
        _check_innovations(fit, t, y)  # refuse a missed reset before the costly fit
        theta = float(np.mean(y[pre_end])) + _threshold_gap(
            (fit.tau, fit.mu, fit.sigma), float(np.mean(y[pre_end])), post_fit.v_reset,
            post_fit.t_ref, dt, filter_tau, window, spikes=_GAP_SPIKES // 4)[0]
        fit = _fit_ou(y, starts, stops, outliers, dt, filter_tau, noise0, cut, start=fit.x,
                      theta=theta, crossed=crossed)
    post_fit = _fit_post(post, dt, fit.tau, filter_tau > 0, t_ref, *post_offsets)
    free_samples = int(np.sum(stops - starts))
    if free_samples < MIN_FREE_SAMPLES:
        raise ParamError(f"only {free_samples} free sub-threshold samples; need at least "
                         f"{MIN_FREE_SAMPLES} for tau_m and V_inf")
    _check_innovations(fit, t, y)

    # Threshold: observed mean of the last sub-threshold sample plus the expected gap.
    stat = y[pre_end]
    se = np.sqrt(np.diag(fit.cov))
    tau_ci = (fit.tau * math.exp(-Z95 * se[0]), fit.tau * math.exp(Z95 * se[0]))
    mu_ci = (fit.mu - Z95 * se[1] * 1e-3, fit.mu + Z95 * se[1] * 1e-3)
    tau_m, v_inf = fit.tau, fit.mu
    if tau_ci[1] / tau_ci[0] <= MAX_TAU_CI_RATIO:
        v_th, v_th_ci = _threshold(stat, fit, post_fit, dt, filter_tau, window, theta)
    else:
        reason = (f"tau_m is not determined by these data (95 % interval "
                  f"{tau_ci[0] * 1e3:.3g}-{tau_ci[1] * 1e3:.3g} ms); record longer or with "
                  f"less noise")
        if require_tau:
            raise ParamError(reason)
        tau_m = v_inf = math.nan
        tau_ci = mu_ci = (math.nan, math.nan)
        v_th, v_th_ci = _threshold_local(y, pre_end, fit, dt, filter_tau, window)
    v_th_se = (v_th_ci[1] - v_th_ci[0]) / (2 * Z95)
    if Z95 * v_th_se > MAX_VTH_CI_HALF_WIDTH:
        raise ParamError(f"V_th is not determined by these data (95 % interval +/- "
                         f"{Z95 * v_th_se * 1e3:.3g} mV); record more spikes")
    return LIFEstimate(
        v_th=v_th, v_reset=post_fit.v_reset, t_ref=post_fit.t_ref, tau_m=tau_m,
        v_rest=v_inf, input_sigma=fit.sigma, noise_std=fit.noise, n_spikes=int(spikes.size),
        v_th_se=v_th_se, v_reset_se=post_fit.v_reset_se,
        v_th_ci=v_th_ci,
        v_reset_ci=(post_fit.v_reset - Z95 * post_fit.v_reset_se,
                    post_fit.v_reset + Z95 * post_fit.v_reset_se),
        t_ref_ci=post_fit.t_ref_ci, tau_m_ci=tau_ci, v_rest_ci=mu_ci,
        naive_v_th=float(np.mean(raw[pre_end])), naive_v_reset=float(np.mean(raw[spikes])),
        likelihood="far-from-threshold" if theta is None else "killed",
    )


def _threshold(stat: np.ndarray, fit: _OUFit, post_fit: _PostFit, dt: float,
               filter_tau: float, window: tuple[float, float], start: float | None = None
               ) -> tuple[float, tuple[float, float]]:
    """V_th = mean of the last sub-threshold samples + the model's expected gap (fixed
    point), with a 95 % interval from the sample spread, the Monte-Carlo error and
    the propagated uncertainty of (tau, V_inf, sigma)."""
    v_th, gap, gap_se = _threshold_fixed_point(stat, fit, post_fit, dt, filter_tau, window,
                                               start)
    model_var = _gap_model_variance(fit, gap, v_th, post_fit.v_reset, post_fit.t_ref, dt,
                                    filter_tau, window)
    half = Z95 * math.sqrt(float(np.var(stat, ddof=1)) / stat.size + gap_se**2 + model_var)
    return v_th, (v_th - half, v_th + half)


def _threshold_fixed_point(stat: np.ndarray, fit: _OUFit, post_fit: _PostFit, dt: float,
                           filter_tau: float, window: tuple[float, float],
                           start: float | None = None) -> tuple[float, float, float]:
    """(V_th, gap, gap SE): ``V_th = mean(stat) + gap(V_th)`` iterated to a fixed point
    from ``start`` (default ``mean(stat)``)."""
    params = (fit.tau, fit.mu, fit.sigma)
    v_th = float(np.mean(stat)) if start is None else start
    gap = gap_se = 0.0
    for _ in range(4):
        gap, gap_se = _threshold_gap(params, v_th_guess := v_th, post_fit.v_reset,
                                     post_fit.t_ref, dt, filter_tau, window)
        v_th = float(np.mean(stat)) + gap
        if abs(v_th - v_th_guess) < 1e-6:
            break
    return v_th, gap, gap_se


def _threshold_local(y: np.ndarray, pre_end: np.ndarray, fit: _OUFit, dt: float,
                     filter_tau: float, window: tuple[float, float]
                     ) -> tuple[float, tuple[float, float]]:
    """V_th by linear extrapolation of the last three sub-threshold samples to the
    crossing, for when the OU model is not determined. The interval allows half the
    rise over one sample for the unknown curvature, and the diffusive approach
    (which puts the extrapolation up to about one input-noise step low) widens it
    upward by that step. A recording filter is undone with the
    causal ramp inverse ``V_n = y_n + (tau_f/dt)(y_n - y_{n-1})`` (exact for a
    linear rise)."""
    ramp = y.copy()
    ramp[1:] += filter_tau / dt * (y[1:] - y[:-1])
    rows = pre_end[pre_end >= 3]
    samples = np.stack([ramp[rows - j] for j in range(3)], axis=1)
    before = 0.5 * (window[0] + window[1]) + np.arange(3) * dt
    value, se = _linear_fit_at_zero(samples, -before)
    slope = float(np.polyfit(-before, samples.mean(axis=0), 1)[0])
    # Without a dynamics model the curvature over the extrapolated interval is
    # unknown: allow half the rise over one sample either way.
    model = 0.5 * abs(slope) * dt
    step = math.sqrt(_transition(fit.tau, fit.sigma, dt, filter_tau)[3])
    return value, (value - Z95 * se - model, value + Z95 * se + model + step)


def _kill_layer_resolved(fit: _OUFit, dt: float) -> bool:
    """Whether the killed-OU likelihood applies: the filter's steady-state SD of the
    membrane must not exceed ``1 / KILL_LAYER_MIN_RATIO`` times the membrane's step
    SD over one sample.

    Near an absorbing threshold the true filter density falls to zero within about
    one step SD of it; the Gaussian truncated at the threshold that the filter
    carries there is a fair shape only when its own width is not much larger. (It is
    not, noise-driven at 0.5 mV noise: ratio 1.4, unbiased; drift-driven at 0.5 mV,
    input SD 1 mV: ratio 0.47, V_inf 0.2 mV off.) Otherwise the Gaussian likelihood
    leaves out the transitions near threshold.
    """
    a, _, _, q2, _, _ = _transition(fit.tau, fit.sigma, dt, 0.0)
    r2 = fit.noise**2
    p = r2
    for _ in range(200):  # steady state of the Kalman variance recursion
        pred = a * a * p + q2
        p = pred * r2 / (pred + r2)
    return math.sqrt(q2 / p) >= KILL_LAYER_MIN_RATIO


def _check_innovations(fit: _OUFit, t: np.ndarray, y: np.ndarray) -> None:
    """Refuse when a standardised innovation is too large for a sample of this size."""
    n = int(np.count_nonzero(fit.z))
    limit = max(6.0, float(stats.norm.isf(0.0005 / max(n, 1))))
    worst = int(np.argmax(np.abs(fit.z)))
    if abs(fit.z[worst]) > limit:
        step = (y[worst] - y[worst - 1]) * 1e3
        raise ParamError(
            f"the membrane steps by {step:+.3g} mV at t = {t[worst]:.6g} s, "
            f"{abs(fit.z[worst]):.1f} SDs off the fitted sub-threshold dynamics, where no "
            f"spike was counted: a missed reset or an artefact; give the spike times or "
            f"clean the trace")


@dataclass(frozen=True)
class _PostFit:
    t_ref: float
    v_reset: float
    v_reset_se: float
    t_ref_ci: tuple[float, float]


def _fit_post(post: np.ndarray, dt: float, tau: float, zoh: bool, t_ref: float | None,
              offset_lo: float, offset_hi: float) -> _PostFit:
    """Reset, its SE, t_ref and its bootstrap interval: clamp then leaky relaxation,
    averaged over the crossing's offset ``U(offset_lo, offset_hi)`` before the first
    post-spike sample."""
    n_post = post.shape[1]
    offsets = offset_lo + (np.arange(16) + 0.5) / 16 * (offset_hi - offset_lo)
    shift = 0.5 * dt if zoh else 0.0  # the ZOH inverse is an interval average
    w = np.arange(n_post)[:, None] * dt + offsets[None, :] + shift
    candidates = (np.array([t_ref]) if t_ref is not None
                  else np.linspace(0.0, n_post * dt * 0.8, 161))
    bases = np.stack([np.mean(-np.expm1(-np.maximum(w - c, 0.0) / tau), axis=1)
                      for c in candidates])
    # Residual projector of [1, basis] for every candidate: resid = |R m|^2.
    projectors = []
    for basis in bases:
        design = np.stack([np.ones_like(basis), basis], axis=1)
        projectors.append(np.eye(n_post) - design @ np.linalg.pinv(design))
    proj = np.stack(projectors)
    mean_curve = post.mean(axis=0)
    best = int(np.argmin(np.einsum("cij,j->ci", proj, mean_curve) ** 2 @ np.ones(n_post)))
    rng = np.random.default_rng(0)
    boot_idx = rng.integers(0, post.shape[0], size=(200, post.shape[0]))
    boot_means = post[boot_idx].mean(axis=1)
    resid = np.sum(np.einsum("cij,bj->cbi", proj, boot_means) ** 2, axis=2)
    boot_best = candidates[np.argmin(resid, axis=0)]
    step = float(candidates[1] - candidates[0]) if candidates.size > 1 else 0.0
    t_ref_ci = (float(np.percentile(boot_best, 2.5)) - 0.5 * step,
                float(np.percentile(boot_best, 97.5)) + 0.5 * step)
    value, se = _linear_fit_at_zero(post, bases[best])
    return _PostFit(t_ref=float(candidates[best]), v_reset=value, v_reset_se=se,
                    t_ref_ci=(max(0.0, t_ref_ci[0]), t_ref_ci[1]))


def _linear_fit_at_zero(samples: np.ndarray, basis: np.ndarray) -> tuple[float, float]:
    """Fit samples[k, j] = c0 + c1 basis[j] per spike; mean of c0 and its standard error.

    The standard error comes from the per-spike spread of the intercepts, robust to
    correlated noise.
    """
    design = np.stack([np.ones_like(basis), basis], axis=1)
    coef, *_ = np.linalg.lstsq(design, samples.T, rcond=None)
    intercepts = coef[0]
    value = float(np.mean(intercepts))
    se = float(np.std(intercepts, ddof=1) / math.sqrt(intercepts.size))
    return value, se


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
    starting with ``#`` are ignored. Errors name the file, the line and the column,
    never the file's contents.

    Raises:
        ParamError: Unreadable file, missing columns, or a value that is not a
            finite number.
    """
    path = Path(path)
    if not path.exists():
        raise ParamError(f"{path}: no such file")
    if path.suffix == ".npy":
        try:
            data = np.load(path, allow_pickle=False)
            data = np.asarray(data, dtype=float)
        except (OSError, ValueError, TypeError, EOFError):
            raise ParamError(f"{path}: not a readable numeric .npy array") from None
        if data.ndim != 2 or 2 not in data.shape:
            raise ParamError(f"{path}: expected an array of shape (2, N) or (N, 2)")
        if data.shape[0] != 2:
            data = data.T
        bad = np.flatnonzero(~np.isfinite(data).all(axis=0))
        if bad.size:
            raise ParamError(f"{path}: sample {int(bad[0])} is not a finite number")
        return data[0], data[1]
    try:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader
                    if row and not row[0].lstrip().startswith("#")]
    except UnicodeDecodeError:
        raise ParamError(f"{path}: not a text (UTF-8) CSV file") from None
    except (OSError, csv.Error) as err:
        reason = getattr(err, "strerror", None) or "not a readable CSV file"
        raise ParamError(f"{path}: cannot read: {reason}") from None
    if len(rows) < 2:
        raise ParamError(f"{path}: no data rows")
    header_line, header_row = rows[0]
    header = [h.strip().lower() for h in header_row]
    t_col = next((header.index(n) for n in ("t", "time", "t_s") if n in header), None)
    v_names = ("v", "v_m", "v_v", "voltage", "v_mv")
    v_col = next((header.index(n) for n in v_names if n in header), None)
    if t_col is None or v_col is None:
        missing = " and ".join(name for name, col in (("a time column 't' (s)", t_col),
                                                      ("a voltage column 'v' (V) or 'v_mv' "
                                                       "(mV)", v_col)) if col is None)
        raise ParamError(f"{path}: line {header_line}: the header row names no {missing}")
    columns = ((t_col, "t", np.empty(len(rows) - 1)), (v_col, header[v_col],
                                                        np.empty(len(rows) - 1)))
    for n, (line, row) in enumerate(rows[1:]):
        for col, name, out in columns:
            if col >= len(row):
                raise ParamError(f"{path}: line {line}: column '{name}' is missing")
            try:
                value = float(row[col])
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise ParamError(f"{path}: line {line}: column '{name}' is not a finite "
                                 f"number")
            out[n] = value
    t, v = columns[0][2], columns[1][2]
    if header[v_col] == "v_mv":
        v = v * 1e-3
    return t, v
