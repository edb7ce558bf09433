"""Biophysical extensions of the LIF neuron: channels, disease, optogenetics, circuits.

Each adds conductance-based terms to the membrane equation (SI units)::

    C dV/dt = -g_L (V - E_L) - sum_x g_x(t, V) (V - E_x) + I

with ``C = tau_m / r_m``, ``g_L = 1 / r_m`` and ``E_L = v_rest`` of a
:class:`~lifhw.core.LIFParams`. A *constant* extra conductance leaves an LIF
neuron with ``g_tot = g_L + g``, ``tau_eff = C / g_tot`` and
``V_inf = (g_L E_L + g E + I) / g_tot``, so its rate is the closed-form f–I curve
of :mod:`lifhw.golden.fi` evaluated for the effective neuron (reused, not
re-derived). Voltage-dependent (HCN) or time-dependent (opsin) conductances
are handled by exact quadrature of the one-dimensional ISI integral or by
exact-exponential time stepping.

* TRPV1 (capsaicin): ``g_TRPV`` with ``E ~ 0 mV``; tonic firing starts at the
  critical conductance ``g* = (g_L (V_th - E_L) - I) / (E - V_th)``.
* HCN channelopathy: ``I_h = -g_h m(V) (V - E_h)`` (``m = 1`` or an instantaneous
  hyperpolarisation-activated gate); spontaneous rate and ISI before/after a
  reduction of ``g_h``; the ``g_h`` below which firing stops.
* Optogenetic desensitisation: ``g(t) = g0 exp(-t/tau_d)``; instantaneous rate
  vs the adiabatic f–I prediction; the time firing stops,
  ``t* = tau_d ln(g0 / g*)``.
* Thalamic relay gating: a cortical EPSP and a GPi IPSP with relative delay
  ``delta = t_inh - t_exc``; the veto window of ``delta`` by root finding.
* Homeostatic inhibitory plasticity: ``dw_j/dt = eta (r(t) - r*) x_j(t)``, gradient
  descent on ``(r - r*)^2 / 2`` (derivation in docs/theory.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, optimize

from lifhw.core import LIFParams
from lifhw.golden.fi import lif_rate

# ----------------------------------------------------------------- constant conductance


@dataclass(frozen=True)
class EffectiveNeuron:
    """An LIF neuron with an extra constant conductance folded in.

    Args:
        tau_eff: Effective membrane time constant C / (g_L + g) (s).
        v_inf: Steady-state potential (V).
        g_total: Total conductance (S).
    """

    tau_eff: float
    v_inf: float
    g_total: float


def effective_neuron(params: LIFParams, g_extra: float, e_extra: float,
                     i_bias: float = 0.0) -> EffectiveNeuron:
    """Fold a constant conductance ``g_extra`` (S) with reversal ``e_extra`` (V) into the leak.

    Args:
        params: The neuron (C = tau_m / r_m, g_L = 1 / r_m, E_L = v_rest).
        g_extra: Extra conductance (S), >= 0.
        e_extra: Its reversal potential (V).
        i_bias: Constant injected current (A).
    """
    if g_extra < 0:
        raise ValueError("conductance must be >= 0 S")
    g_total = params.g_l + g_extra
    v_inf = (params.g_l * params.v_rest + g_extra * e_extra + i_bias) / g_total
    return EffectiveNeuron(tau_eff=params.c_m / g_total, v_inf=v_inf, g_total=g_total)


def conductance_rate(params: LIFParams, g_extra: ArrayLike, e_extra: float,
                     i_bias: float = 0.0) -> np.ndarray | float:
    """Firing rate (Hz) with a constant extra conductance (vectorised over ``g_extra``).

    The f–I closed form of :func:`lifhw.golden.lif_rate` for the effective neuron:
    ``T = t_ref + tau_eff ln((V_inf - V_r) / (V_inf - V_th))``.
    """
    g = np.asarray(g_extra, dtype=float)
    if np.any(g < 0):
        raise ValueError("conductance must be >= 0 S")
    g_total = params.g_l + g
    v_inf = (params.g_l * params.v_rest + g * e_extra + i_bias) / g_total
    tau_eff = params.c_m / g_total
    # lif_rate takes scalar tau: express it with v_rest = V_inf, I = 0 per element.
    rates = np.empty(g.shape)
    flat_v, flat_tau, out = v_inf.ravel(), tau_eff.ravel(), rates.ravel()
    for k in range(flat_v.size):
        out[k] = lif_rate(0.0, tau_m=float(flat_tau[k]), r_m=1.0, v_rest=float(flat_v[k]),
                          v_th=params.v_th, v_reset=params.v_reset, t_ref=params.t_ref)
    return float(rates) if rates.ndim == 0 else rates


def critical_conductance(params: LIFParams, e_extra: float, i_bias: float = 0.0) -> float:
    """Smallest constant conductance (S) with reversal ``e_extra`` that makes the neuron fire.

    ``V_inf = V_th``  <=>  ``g* = (g_L (V_th - E_L) - I) / (E - V_th)``; 0 if the
    neuron already fires, inf if ``E <= V_th`` (the channel cannot reach threshold).
    """
    need = params.g_l * (params.v_th - params.v_rest) - i_bias
    if need <= 0:
        return 0.0
    if e_extra <= params.v_th:
        return math.inf
    return need / (e_extra - params.v_th)


#: TRPV1 reversal potential (V): non-selective cation channel (Caterina et al. 1997).
E_TRPV1 = 0.0


def trpv1_rate(params: LIFParams, g_trpv: ArrayLike, *, e_trpv: float = E_TRPV1,
               i_bias: float = 0.0) -> np.ndarray | float:
    """Rate (Hz) under a capsaicin-activated TRPV1 conductance ``g_trpv`` (S)."""
    return conductance_rate(params, g_trpv, e_trpv, i_bias)


def trpv1_critical_conductance(params: LIFParams, *, e_trpv: float = E_TRPV1,
                               i_bias: float = 0.0) -> float:
    """TRPV1 conductance (S) at which tonic firing starts (``V_inf = V_th``)."""
    return critical_conductance(params, e_trpv, i_bias)


# ------------------------------------------------------------------------------ HCN

#: HCN (I_h) reversal potential (V), mixed Na/K current (Biel et al. 2009: -20 ... -40 mV).
E_HCN = -0.030


def _hcn_gate(v: np.ndarray | float, v_half: float | None, slope: float) -> np.ndarray | float:
    """Instantaneous activation m_inf(V) = 1/(1 + exp((V - v_half)/slope)); 1 if v_half is None."""
    if v_half is None:
        return np.ones_like(v) if isinstance(v, np.ndarray) else 1.0
    return 1.0 / (1.0 + np.exp((np.asarray(v) - v_half) / slope))


def _drive(params: LIFParams, g_h: float, e_h: float, v_half: float | None, slope: float,
           i_bias: float) -> Callable[[float], float]:
    def f(v: float) -> float:
        gate = float(_hcn_gate(v, v_half, slope))
        return (-params.g_l * (v - params.v_rest) - g_h * gate * (v - e_h) + i_bias) / params.c_m
    return f


def hcn_isi(params: LIFParams, g_h: float, *, e_h: float = E_HCN, v_half: float | None = None,
            slope: float = 0.006, i_bias: float = 0.0) -> float:
    """Inter-spike interval (s) of the spontaneously firing neuron with I_h; inf if silent.

    A one-dimensional autonomous membrane ``dV/dt = F(V)`` takes
    ``T = t_ref + int_{V_r}^{V_th} dV / F(V)``; with ``v_half=None`` (constant
    conductance) this is the closed form of :func:`conductance_rate`, otherwise
    the integral is evaluated by adaptive quadrature.

    Args:
        params: The neuron.
        g_h: Maximal HCN conductance (S).
        e_h: HCN reversal potential (V).
        v_half: Half-activation of the instantaneous gate (V); None = always open.
        slope: Gate slope (V).
        i_bias: Constant injected current (A).
    """
    if g_h < 0:
        raise ValueError("g_h must be >= 0 S")
    if v_half is None:
        rate = float(conductance_rate(params, g_h, e_h, i_bias))
        return 1.0 / rate if rate > 0 else math.inf
    f = _drive(params, g_h, e_h, v_half, slope, i_bias)
    grid = np.linspace(params.v_reset, params.v_th, 401)
    if min(f(float(v)) for v in grid) <= 0:
        return math.inf
    value, _ = integrate.quad(lambda v: 1.0 / f(v), params.v_reset, params.v_th,
                              epsabs=0.0, epsrel=1e-11, limit=200)
    return params.t_ref + value


def hcn_rate(params: LIFParams, g_h: float, **kwargs: float | None) -> float:
    """Spontaneous rate (Hz) with I_h (arguments as :func:`hcn_isi`)."""
    isi = hcn_isi(params, g_h, **kwargs)  # type: ignore[arg-type]
    return 0.0 if math.isinf(isi) else 1.0 / isi


def hcn_critical_conductance(params: LIFParams, *, e_h: float = E_HCN,
                             v_half: float | None = None, slope: float = 0.006,
                             i_bias: float = 0.0) -> float:
    """g_h (S) below which spontaneous firing stops.

    Firing needs ``F(V) > 0`` on ``[V_r, V_th]``, i.e.
    ``g_h > max_V (g_L (V - E_L) - I) / (m(V) (E_h - V))``; with a constant
    conductance the maximum is at ``V_th``: the closed form of
    :func:`critical_conductance`.
    """
    if v_half is None:
        return critical_conductance(params, e_h, i_bias)
    if e_h <= params.v_th:
        return math.inf

    def need(v: float) -> float:
        return ((params.g_l * (v - params.v_rest) - i_bias)
                / (float(_hcn_gate(v, v_half, slope)) * (e_h - v)))

    grid = np.linspace(params.v_reset, params.v_th, 2001)
    values = np.array([need(float(v)) for v in grid])
    k = int(np.argmax(values))
    if 0 < k < grid.size - 1:
        res = optimize.minimize_scalar(lambda v: -need(v), bounds=(grid[k - 1], grid[k + 1]),
                                       method="bounded", options={"xatol": 1e-12})
        best = max(-float(res.fun), float(values[k]))
    else:
        best = float(values[k])
    return max(best, 0.0)


@dataclass(frozen=True)
class ChannelopathyResult:
    """Spontaneous firing before and after a loss of HCN conductance.

    Args:
        g_before: Healthy g_h (S).
        g_after: Reduced g_h (S).
        isi_before: ISI before (s).
        isi_after: ISI after (s); inf if silent.
        rate_before: Rate before (Hz).
        rate_after: Rate after (Hz).
        g_critical: g_h below which firing stops (S).
    """

    g_before: float
    g_after: float
    isi_before: float
    isi_after: float
    rate_before: float
    rate_after: float
    g_critical: float


def hcn_channelopathy(params: LIFParams, g_h: float, reduction: float, *,
                      e_h: float = E_HCN, v_half: float | None = None,
                      slope: float = 0.006) -> ChannelopathyResult:
    """Predict the rate change when a channelopathy removes ``reduction`` (0..1) of g_h."""
    if not 0 <= reduction <= 1:
        raise ValueError("reduction must be a fraction in [0, 1]")
    g_after = g_h * (1.0 - reduction)
    kw = {"e_h": e_h, "v_half": v_half, "slope": slope}
    before = hcn_isi(params, g_h, **kw)  # type: ignore[arg-type]
    after = hcn_isi(params, g_after, **kw)  # type: ignore[arg-type]
    return ChannelopathyResult(
        g_before=g_h, g_after=g_after, isi_before=before, isi_after=after,
        rate_before=0.0 if math.isinf(before) else 1.0 / before,
        rate_after=0.0 if math.isinf(after) else 1.0 / after,
        g_critical=hcn_critical_conductance(params, **kw),  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------- optogenetics


@dataclass(frozen=True)
class OptoResult:
    """Response to a desensitising opsin conductance ``g0 exp(-t/tau_d)``.

    Args:
        spike_times: Spike times (s).
        isi_mid: Midpoints of successive spikes (s).
        rate_inst: Instantaneous rate 1/ISI at those midpoints (Hz).
        rate_adiabatic: f–I prediction with the conductance frozen at ``isi_mid`` (Hz).
        t_silent: Time after which the adiabatic model stops firing (s),
            ``tau_d ln(g0 / g*)``; 0 if it never fires, inf if it never stops.
    """

    spike_times: np.ndarray
    isi_mid: np.ndarray
    rate_inst: np.ndarray
    rate_adiabatic: np.ndarray
    t_silent: float


def optogenetic_desensitisation(params: LIFParams, g0: float, tau_d: float, *,
                                e_photo: float = 0.0, t_stop: float = 1.0,
                                dt: float = 1e-5, g_floor: float = 0.0) -> OptoResult:
    """Simulate an LIF neuron under constant light with a desensitising opsin.

    The membrane is advanced with the exact exponential step for the conductance
    frozen over each ``dt`` (midpoint value of the free part of the step), spikes at
    the exact crossing of that step's solution; a refractory period that ends inside
    a step resumes the free evolution there (so ``t_ref < dt`` loses no time, and
    several spikes can fall in one step). The adiabatic prediction is
    :func:`conductance_rate` at ``g(t)``.

    Args:
        params: The neuron (starts at ``v_rest``).
        g0: Opsin conductance at light onset (S).
        tau_d: Desensitisation time constant (s).
        e_photo: Opsin reversal potential (V), ~0 V for channelrhodopsin-2.
        t_stop: Duration (s).
        dt: Step (s).
        g_floor: Steady-state conductance left after desensitisation (S).
    """
    if not (g0 >= 0 and tau_d > 0 and dt > 0 and t_stop > 0):
        raise ValueError("need g0 >= 0, tau_d > 0, dt > 0, t_stop > 0")
    n = round(t_stop / dt)
    spikes = _opto_kernel(n, dt, params.c_m, params.g_l, params.v_rest, params.v_th,
                          params.v_reset, params.t_ref, g0, tau_d, g_floor, e_photo)
    mid = 0.5 * (spikes[1:] + spikes[:-1])
    inst = 1.0 / np.diff(spikes) if spikes.size > 1 else np.zeros(0)
    g_mid = g_floor + g0 * np.exp(-mid / tau_d)
    adiabatic = np.atleast_1d(conductance_rate(params, g_mid, e_photo))
    g_star = critical_conductance(params, e_photo)
    if g0 + g_floor <= g_star:
        t_silent = 0.0
    elif g_floor >= g_star:
        t_silent = math.inf
    else:
        t_silent = tau_d * math.log(g0 / (g_star - g_floor))
    return OptoResult(spike_times=spikes, isi_mid=mid, rate_inst=inst,
                      rate_adiabatic=adiabatic, t_silent=t_silent)


@numba.njit(cache=True)
def _opto_kernel(n, dt, c_m, g_l, e_l, v_th, v_reset, t_ref, g0, tau_d, g_floor,
                 e_photo):  # pragma: no cover
    out = np.empty(n + 1)
    count = 0
    v = e_l
    ref_left = 0.0
    for k in range(n):
        t0 = k * dt
        t_end = t0 + dt
        if ref_left >= dt:
            ref_left -= dt
            v = v_reset
            continue
        # Free for the part of the step after the refractory period ends; a spike
        # whose refractory period ends inside the step resumes there (several
        # spikes per step when t_ref + ISI < dt).
        start = t0
        if ref_left > 0.0:
            start = t0 + ref_left
            v = v_reset
            ref_left = 0.0
        while True:
            h = t_end - start
            g = g_floor + g0 * math.exp(-(start + 0.5 * h) / tau_d)
            g_tot = g_l + g
            v_inf = (g_l * e_l + g * e_photo) / g_tot
            v_new = v_inf + (v - v_inf) * math.exp(-h * g_tot / c_m)
            if not (v_new >= v_th and v < v_th):
                v = v_new
                break
            # Exact crossing time for the conductance frozen over the interval.
            s = (c_m / g_tot) * math.log((v - v_inf) / (v_th - v_inf))
            if count >= out.size:
                grown = np.empty(2 * out.size)
                grown[:count] = out[:count]
                out = grown
            out[count] = start + s
            count += 1
            v = v_reset
            if t_ref >= h - s:
                ref_left = t_ref - (h - s)
                break
            start = start + s + t_ref
    return out[:count].copy()


# ------------------------------------------------------------- thalamic relay gating


def _psp_kernel(t: np.ndarray, tau_m: float, tau_s: float) -> np.ndarray:
    """Membrane response (per unit R I0) to a current exp(-t/tau_s) starting at t = 0."""
    out = np.zeros_like(t)
    pos = t > 0
    tp = t[pos]
    if abs(tau_s - tau_m) < 1e-12 * tau_m:
        out[pos] = tp / tau_m * np.exp(-tp / tau_m)
    else:
        out[pos] = tau_s / (tau_s - tau_m) * (np.exp(-tp / tau_s) - np.exp(-tp / tau_m))
    return out


def relay_peak_depolarisation(params: LIFParams, delta: float, *, w_exc: float, w_inh: float,
                              t_window: float = 0.1) -> float:
    """Peak of the free membrane after a cortical EPSP at 0 and a GPi IPSP at ``delta`` (V).

    Current synapses with ``params.tau_syn_exc`` / ``tau_syn_inh``: a spike makes
    the synaptic current jump by its weight (A), like :func:`lifhw.golden.simulate`.
    The relay fires iff this peak reaches ``v_th`` (subthreshold dynamics are linear).

    Args:
        params: Relay neuron (needs tau_syn_exc > 0 and tau_syn_inh > 0), at rest.
        delta: ``t_inh - t_exc`` (s); negative = inhibition first.
        w_exc: EPSC amplitude (A), > 0.
        w_inh: IPSC amplitude (A), > 0 (applied with a minus sign).
        t_window: Time after the EPSP searched for the peak (s).
    """
    if not (params.tau_syn_exc > 0 and params.tau_syn_inh > 0):
        raise ValueError("relay gating needs current synapses: tau_syn_exc and tau_syn_inh > 0")
    t = np.linspace(0.0, t_window, 4001)  # time after the EPSP
    v = (params.r_m * w_exc * _psp_kernel(t, params.tau_m, params.tau_syn_exc)
         - params.r_m * w_inh * _psp_kernel(t - delta, params.tau_m, params.tau_syn_inh))
    k = int(np.argmax(v))
    lo, hi = t[max(k - 1, 0)], t[min(k + 1, t.size - 1)]

    def neg(tt: float) -> float:
        arr = np.array([tt])
        return -float(params.r_m * w_exc * _psp_kernel(arr, params.tau_m, params.tau_syn_exc)[0]
                      - params.r_m * w_inh * _psp_kernel(arr - delta, params.tau_m,
                                                         params.tau_syn_inh)[0])

    res = optimize.minimize_scalar(neg, bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-12})
    return params.v_rest + max(-float(res.fun), float(v[k]))


def relay_gating_window(params: LIFParams, *, w_exc: float, w_inh: float,
                        search: tuple[float, float] = (-0.1, 0.03),
                        n_scan: int = 261) -> tuple[float, float]:
    """Window of relative delays ``delta = t_inh - t_exc`` (s) in which inhibition vetoes the spike.

    ``f(delta) = peak(delta) - v_th`` is scanned and its sign changes refined by
    Brent's method. Returns ``(delta_lo, delta_hi)``: inhibition arriving up to
    ``-delta_lo`` before excitation, or up to ``delta_hi`` after it, prevents the
    spike; (nan, nan) if no delay does (or the EPSP alone is subthreshold).
    """
    def f(delta: float) -> float:
        return relay_peak_depolarisation(params, delta, w_exc=w_exc, w_inh=w_inh) - params.v_th

    deltas = np.linspace(search[0], search[1], n_scan)
    values = np.array([f(float(d)) for d in deltas])
    veto = values < 0
    if not veto.any() or veto.all():
        return math.nan, math.nan
    first = int(np.argmax(veto))
    last = veto.size - 1 - int(np.argmax(veto[::-1]))
    lo = (optimize.brentq(f, deltas[first - 1], deltas[first], xtol=1e-12)
          if first > 0 else float(deltas[0]))
    hi = (optimize.brentq(f, deltas[last], deltas[last + 1], xtol=1e-12)
          if last < veto.size - 1 else float(deltas[-1]))
    return float(lo), float(hi)


# ------------------------------------------------------- homeostatic inhibitory plasticity


@dataclass(frozen=True)
class HomeostasisResult:
    """Population of neurons learning inhibitory weights toward a target rate.

    Args:
        t: Times of the samples (s).
        rate: Population-mean rate in each sample bin (Hz).
        weight: Mean inhibitory weight at each sample (V per input spike).
        target_hz: Target rate r* (Hz).
        final_rate_hz: Mean rate over the last ``t_measure`` seconds (Hz).
    """

    t: np.ndarray
    rate: np.ndarray
    weight: np.ndarray
    target_hz: float
    final_rate_hz: float


@numba.njit(parallel=True, cache=True)
def _homeostasis_kernel(n_neurons, n_steps, dt, tau_m, v_rest, v_th, v_reset, n_ref, mu_exc,
                        sigma_exc, n_inh, rate_inh, w0, eta, target, tau_rate, tau_trace,
                        bin_steps, seed):  # pragma: no cover
    n_bins = n_steps // bin_steps
    spikes_bin = np.zeros((n_neurons, n_bins))
    weight_bin = np.zeros((n_neurons, n_bins))
    decay = math.exp(-dt / tau_m)
    noise_sd = sigma_exc * math.sqrt(0.5 * (1 - decay * decay))
    trace_decay = math.exp(-dt / tau_trace)
    rate_decay = math.exp(-dt / tau_rate)
    for j in numba.prange(n_neurons):
        np.random.seed(seed + j)
        w = np.full(n_inh, w0)
        x = np.full(n_inh, rate_inh * tau_trace)  # traces start at their mean
        # Poisson inputs as exponential waiting times (draws only at input spikes).
        next_in = np.empty(n_inh)
        for i in range(n_inh):
            next_in[i] = np.random.exponential(1.0 / rate_inh)
        v = v_rest
        r_est = target
        ref = 0
        for k in range(n_steps):
            t_end = (k + 1) * dt
            jump = 0.0
            for i in range(n_inh):
                x[i] *= trace_decay
                while next_in[i] < t_end:
                    x[i] += 1.0
                    jump += w[i]
                    next_in[i] += np.random.exponential(1.0 / rate_inh)
            fired = False
            if ref > 0:
                ref -= 1
                v = v_reset
            else:
                v = mu_exc + (v - mu_exc) * decay + noise_sd * np.random.standard_normal()
                v -= jump
                if v >= v_th:
                    fired = True
                    v = v_reset
                    ref = n_ref
            r_est *= rate_decay
            b = k // bin_steps
            if fired:
                r_est += 1.0 / tau_rate
                if b < n_bins:
                    spikes_bin[j, b] += 1
            # Gradient step on (r - r*)^2 / 2; weights stay >= 0 (inhibitory).
            err = eta * (r_est - target) * dt
            for i in range(n_inh):
                w[i] = max(w[i] + err * x[i], 0.0)
            if b < n_bins and (k + 1) % bin_steps == 0:
                weight_bin[j, b] = w.mean()
    return spikes_bin, weight_bin


def homeostatic_inhibition(
    params: LIFParams,
    *,
    target_hz: float = 10.0,
    mu_exc: float = 0.025,
    sigma_exc: float = 0.004,
    n_inh: int = 20,
    rate_inh: float = 10.0,
    w0: float = 0.0,
    eta: float = 3e-4,
    tau_rate: float = 0.3,
    tau_trace: float = 0.02,
    t_stop: float = 30.0,
    t_measure: float = 10.0,
    n_neurons: int = 40,
    dt: float = 1e-4,
    bin_width: float = 1.0,
    seed: int = 0,
) -> HomeostasisResult:
    """Inhibitory plasticity ``dw_j/dt = eta (r(t) - r*) x_j(t)`` driving the rate to ``r*``.

    Each of ``n_neurons`` independent neurons receives an excitatory drive
    (mean ``v_rest + mu_exc``, white-noise amplitude ``sigma_exc``, Brunel
    notation) and ``n_inh`` Poisson inhibitory inputs of rate ``rate_inh`` whose
    spikes lower V by ``w_j`` (V). ``x_j`` is the presynaptic trace (``tau_trace``,
    +1 per spike), ``r(t)`` the postsynaptic rate estimate (``tau_rate``).

    Args:
        params: The neuron (``v_rest``, ``v_th``, ``v_reset``, ``t_ref``, ``tau_m``).
        target_hz: Target rate r* (Hz).
        mu_exc: Mean excitatory drive as a depolarisation (V).
        sigma_exc: Excitatory noise amplitude (V).
        n_inh: Inhibitory inputs per neuron.
        rate_inh: Rate of each inhibitory input (Hz).
        w0: Initial inhibitory weight (V per spike).
        eta: Learning rate (V / (Hz * s) per unit trace).
        tau_rate: Time constant of the rate estimate r(t) (s).
        tau_trace: Presynaptic trace time constant (s).
        t_stop: Duration (s).
        t_measure: Final window over which ``final_rate_hz`` is measured (s).
        n_neurons: Independent learners (averaged).
        dt: Step (s).
        bin_width: Sampling of the rate/weight curves (s).
        seed: Seed.
    """
    n_steps = round(t_stop / dt)
    bin_steps = round(bin_width / dt)
    spikes, weights = _homeostasis_kernel(
        n_neurons, n_steps, dt, params.tau_m, params.v_rest, params.v_th, params.v_reset,
        round(params.t_ref / dt), params.v_rest + mu_exc, sigma_exc, n_inh, rate_inh, w0,
        eta, target_hz, tau_rate, tau_trace, bin_steps, seed)
    rate = spikes.mean(axis=0) / bin_width
    t = (np.arange(rate.size) + 1) * bin_width
    last = t > t_stop - t_measure
    return HomeostasisResult(t=t, rate=rate, weight=weights.mean(axis=0), target_hz=target_hz,
                             final_rate_hz=float(rate[last].mean()))


def homeostatic_fixed_point(
    params: LIFParams,
    *,
    target_hz: float = 10.0,
    mu_exc: float = 0.025,
    sigma_exc: float = 0.004,
    n_inh: int = 20,
    rate_inh: float = 10.0,
) -> float:
    """Mean-field inhibitory weight (V per spike) at which the rate equals ``target_hz``.

    Diffusion approximation of the shot-noise input (Brunel 2000): each input of
    rate ``nu`` and jump ``-w`` adds ``-w nu tau_m`` to ``mu`` and ``w^2 nu tau_m``
    to ``sigma^2``; the rate is :func:`lifhw.golden.siegert_rate`. The learning
    rule's fixed point ``r = r*`` is found by Brent's method. Arguments as
    :func:`homeostatic_inhibition`.
    """
    from lifhw.golden.stochastic import siegert_rate

    load = n_inh * rate_inh * params.tau_m

    def excess(w: float) -> float:
        mu = params.v_rest + mu_exc - load * w
        sigma = math.sqrt(sigma_exc**2 + load * w * w)
        return float(siegert_rate(mu, sigma, tau_m=params.tau_m, v_th=params.v_th,
                                  v_reset=params.v_reset, t_ref=params.t_ref)) - target_hz

    if excess(0.0) <= 0:
        return 0.0
    hi = 1e-3
    while excess(hi) > 0:
        hi *= 2
        if hi > 1.0:
            raise ValueError("no inhibitory weight reaches the target rate")
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-12))
