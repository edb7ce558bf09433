"""Compiled inner loops of the golden LIF model (numba).

Two kernels:

* :func:`run_constant_grid` -- the hot path: uncoupled neurons, constant
  current, grid spikes, spike counts only. Neurons are processed in blocks of
  :data:`BLOCK` whose state stays in L1 cache for the whole run; the inner loop
  over a block is branch-free so LLVM vectorises it.
* :func:`run_general` -- everything else: per-step current, voltage jumps
  (delta synapses), exponential current synapses, non-uniform steps, exact
  off-grid spike times, membrane recording. One neuron per iteration of a
  parallel loop.

Both integrate exactly (exponential propagators), never with Euler steps.
"""

from __future__ import annotations

import math

import numba
import numpy as np

BLOCK = 64


@numba.njit(parallel=True, cache=True, fastmath=False)
def run_constant_grid(v0, v_inf, p22, v_th, v_reset, n_ref, n_steps):  # pragma: no cover
    """Spike counts of uncoupled LIF neurons under constant drive, grid convention.

    Args:
        v0: Initial membrane (V), shape (N,); modified in place to the final value.
        v_inf: Asymptotic potential v_rest + r_m I per neuron (V), shape (N,).
        p22: exp(-dt / tau_m).
        v_th, v_reset: Threshold and reset (V).
        n_ref: Refractory length in steps.
        n_steps: Number of steps.

    Returns:
        Spike count per neuron (int64, shape (N,)).
    """
    n = v0.shape[0]
    counts = np.zeros(n, dtype=np.int64)
    n_blocks = (n + BLOCK - 1) // BLOCK
    for b in numba.prange(n_blocks):
        lo = b * BLOCK
        hi = min(lo + BLOCK, n)
        width = hi - lo
        v = np.empty(BLOCK)
        vinf = np.empty(BLOCK)
        ref = np.zeros(BLOCK, dtype=np.int64)
        cnt = np.zeros(BLOCK, dtype=np.int64)
        for j in range(BLOCK):
            if j < width:
                v[j] = v0[lo + j]
                vinf[j] = v_inf[lo + j]
            else:
                v[j] = v_reset
                vinf[j] = v_reset
        for _ in range(n_steps):
            for j in range(BLOCK):
                r = ref[j]
                candidate = vinf[j] + (v[j] - vinf[j]) * p22
                active = r == 0
                vn = candidate if active else v[j]
                fire = active and vn >= v_th
                v[j] = v_reset if fire else vn
                ref[j] = n_ref if fire else (r - 1 if r > 0 else 0)
                cnt[j] += 1 if fire else 0
        for j in range(width):
            v0[lo + j] = v[j]
            counts[lo + j] = cnt[j]
    return counts


@numba.njit(cache=True)
def _syn_factor(h, tau_m, tau_s):  # pragma: no cover
    """(tau_s / (tau_s - tau_m)) (exp(-h/tau_s) - exp(-h/tau_m)), stable at tau_s == tau_m."""
    x = h * (tau_s - tau_m) / (tau_m * tau_s)
    ratio = 1.0 + 0.5 * x if abs(x) < 1e-08 else math.expm1(x) / x
    return math.exp(-h / tau_m) * ratio * h / tau_m


@numba.njit(cache=True)
def _v_after(s, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i):  # pragma: no cover
    """Membrane after free evolution for time s (exact)."""
    p22 = math.exp(-s / tau_m)
    out = v_rest + (v - v_rest) * p22 + r_m * i_ext * (1.0 - p22)
    if tau_e > 0.0 and ie != 0.0:
        out += r_m * ie * _syn_factor(s, tau_m, tau_e)
    if tau_i > 0.0 and ii != 0.0:
        out += r_m * ii * _syn_factor(s, tau_m, tau_i)
    return out


@numba.njit(cache=True)
def _slope(s, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i):  # pragma: no cover
    """dV/ds from the ODE ``tau_m V' = -(V - v_rest) + r_m I(s)`` (exact)."""
    current = i_ext
    if tau_e > 0.0 and ie != 0.0:
        current += ie * math.exp(-s / tau_e)
    if tau_i > 0.0 and ii != 0.0:
        current += ii * math.exp(-s / tau_i)
    vs = _v_after(s, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i)
    return (-(vs - v_rest) + r_m * current) / tau_m


@numba.njit(cache=True)
def _slope_zero(lo, hi, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i):  # pragma: no cover
    """A zero of dV/ds in (lo, hi), where its sign differs at the ends (bisection)."""
    up = _slope(lo, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i) > 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (_slope(mid, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i) > 0.0) == up:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi + 1e-18:
            break
    return 0.5 * (lo + hi)


@numba.njit(cache=True)
def _crossing(d, v, ie, ii, i_ext, v_rest, v_th, r_m, tau_m, tau_e, tau_i):  # pragma: no cover
    """Time in (0, d] at which V first reaches v_th, given V(0) < v_th <= V(d).

    With synaptic currents V is a sum of up to three exponentials and a constant, so
    it can cross v_th up to three times in the interval (up, down, up). The first
    crossing is found exactly: ``g(s) = V'(s) exp(s/tau_m)`` has
    ``g'(s) = -(r_m/tau_m) (ie/tau_e e^{-k_e s} + ii/tau_i e^{-k_i s})``,
    ``k = 1/tau_syn - 1/tau_m``, which vanishes at most once, at
    ``s1 = ln(-(ii tau_e)/(ie tau_i)) / (1/tau_i - 1/tau_e)``. So g, hence V', changes
    sign at most once on each side of s1: the (at most two) extrema of V are found
    by bisection on V', V is monotone between them, and the crossing is bisected
    on the first monotone piece that reaches v_th.
    """
    if (tau_e == 0.0 or ie == 0.0) and (tau_i == 0.0 or ii == 0.0):
        v_inf = v_rest + r_m * i_ext
        # V(s) = v_inf + (v - v_inf) exp(-s/tau): monotone, closed form.
        ratio = (v - v_inf) / (v_th - v_inf)
        s = tau_m * math.log(ratio)
        return min(max(s, 0.0), d)
    # Pieces on which g (hence the sign of V') is monotone: split at s1.
    cuts = np.empty(5)
    n_cuts = 0
    cuts[n_cuts] = 0.0
    n_cuts += 1
    e_on = tau_e > 0.0 and ie != 0.0
    i_on = tau_i > 0.0 and ii != 0.0
    if e_on and i_on and tau_e != tau_i and ie * ii < 0.0:
        s1 = math.log(-(ii * tau_e) / (ie * tau_i)) / (1.0 / tau_i - 1.0 / tau_e)
        if 0.0 < s1 < d:
            cuts[n_cuts] = s1
            n_cuts += 1
    cuts[n_cuts] = d
    n_cuts += 1
    # Extrema of V: sign changes of V' on each monotone piece of g.
    edges = np.empty(5)
    n_edges = 0
    edges[n_edges] = 0.0
    n_edges += 1
    for j in range(n_cuts - 1):
        a = cuts[j]
        b = cuts[j + 1]
        sa = _slope(a, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i) > 0.0
        sb = _slope(b, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i) > 0.0
        if sa != sb:
            edges[n_edges] = _slope_zero(a, b, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e,
                                         tau_i)
            n_edges += 1
    edges[n_edges] = d
    n_edges += 1
    # First monotone piece of V that reaches v_th (all earlier piece ends are below).
    lo = 0.0
    hi = d
    for j in range(n_edges - 1):
        if _v_after(edges[j + 1], v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e,
                    tau_i) >= v_th:
            lo = edges[j]
            hi = edges[j + 1]
            break
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _v_after(mid, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i) >= v_th:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-15 * max(d, 1e-300) + 1e-18:
            break
    return hi


@numba.njit(parallel=True, cache=True)
def run_general(  # pragma: no cover
    h, v_rest, v_th, v_reset, t_ref, n_ref, r_m, tau_m, tau_e, tau_i, precise,
    bias, i_steps, dv_jump, ie_jump, ii_jump, state, record, v_out, cap,
):
    """General single-population integrator (see module docstring).

    Args:
        h: Step durations (s), shape (T,).
        v_rest, v_th, v_reset: Potentials (V).
        t_ref: Refractory period (s), used in precise mode.
        n_ref: Refractory steps, used in grid mode.
        r_m, tau_m, tau_e, tau_i: Resistance (Ohm) and time constants (s); a
            synaptic tau of 0 disables that synapse.
        precise: Exact off-grid spike times and refractory ends if True.
        bias: Constant current per neuron (A), shape (N,).
        i_steps: Extra current per step (A), shape (T, N) or (T, 1) or (0, 1).
        dv_jump: Voltage jump at the start of each step (V), same shape rules.
        ie_jump, ii_jump: Synaptic current jumps at the start of each step (A).
        state: Per-neuron state (N, 5): V (V), excitatory and inhibitory synaptic
            currents (A), refractory time left (s, precise mode) and refractory steps
            left (grid mode). Read at the start, overwritten with the final state, so
            a long run can be split into chunks.
        record: Boolean per step: store V at the end of this step.
        v_out: Output (R, N) for the R recorded steps (R may be 0).
        cap: Spike buffer capacity per neuron.

    Returns:
        (counts (N,), spike_step (N, cap) int64, spike_offset (N, cap) float64,
        overflow flag per neuron). A spike's time is ``t[spike_step] + spike_offset``
        with ``t`` the step start times.
    """
    n = bias.shape[0]
    n_steps = h.shape[0]
    counts = np.zeros(n, dtype=np.int64)
    spike_step = np.zeros((n, cap), dtype=np.int64)
    spike_off = np.zeros((n, cap))
    overflow = np.zeros(n, dtype=np.bool_)
    has_i = i_steps.shape[0] > 0
    has_dv = dv_jump.shape[0] > 0
    has_ie = ie_jump.shape[0] > 0
    has_ii = ii_jump.shape[0] > 0
    wide_i = np.int64(1 if i_steps.shape[1] > 1 else 0)
    wide_dv = np.int64(1 if dv_jump.shape[1] > 1 else 0)
    wide_ie = np.int64(1 if ie_jump.shape[1] > 1 else 0)
    wide_ii = np.int64(1 if ii_jump.shape[1] > 1 else 0)
    for nn in numba.prange(n):
        v = state[nn, 0]
        ie = state[nn, 1]
        ii = state[nn, 2]
        ref_left = state[nn, 3]
        ref_cnt = np.int64(state[nn, 4])
        rec = 0
        for k in range(n_steps):
            hk = h[k]
            i_ext = bias[nn]
            if has_i:
                i_ext += i_steps[k, nn * wide_i]
            if has_ie:
                ie += ie_jump[k, nn * wide_ie]
            if has_ii:
                ii += ii_jump[k, nn * wide_ii]
            refractory = (ref_left > 0.0) if precise else (ref_cnt > 0)
            if has_dv and not refractory:
                v += dv_jump[k, nn * wide_dv]
                if precise and v >= v_th:
                    c = counts[nn]
                    if c < cap:
                        spike_step[nn, c] = k
                        spike_off[nn, c] = 0.0
                    else:
                        overflow[nn] = True
                    counts[nn] = c + 1
                    v = v_reset
                    ref_left = t_ref
            if precise:
                done = 0.0
                while True:
                    rest = hk - done
                    if ref_left > 0.0:
                        if ref_left >= rest:
                            ref_left -= rest
                            v = v_reset
                            break
                        done += ref_left
                        ref_left = 0.0
                        v = v_reset
                        rest = hk - done
                    # syn currents at time `done` into the step
                    ie_now = ie * math.exp(-done / tau_e) if tau_e > 0.0 else 0.0
                    ii_now = ii * math.exp(-done / tau_i) if tau_i > 0.0 else 0.0
                    v_end = _v_after(rest, v, ie_now, ii_now, i_ext, v_rest, r_m, tau_m,
                                     tau_e, tau_i)
                    if v_end >= v_th and v < v_th:
                        s = _crossing(rest, v, ie_now, ii_now, i_ext, v_rest, v_th, r_m,
                                      tau_m, tau_e, tau_i)
                        c = counts[nn]
                        if c < cap:
                            spike_step[nn, c] = k
                            spike_off[nn, c] = done + s
                        else:
                            overflow[nn] = True
                        counts[nn] = c + 1
                        v = v_reset
                        ref_left = t_ref
                        done += s
                        if t_ref == 0.0 and s <= 0.0:
                            # Reset at or above the asymptote: avoid a zero-time loop.
                            done = hk
                            break
                        continue
                    v = v_end
                    break
            else:
                if ref_cnt > 0:
                    ref_cnt -= 1
                    v = v_reset
                else:
                    v = _v_after(hk, v, ie, ii, i_ext, v_rest, r_m, tau_m, tau_e, tau_i)
                    if v >= v_th:
                        c = counts[nn]
                        if c < cap:
                            spike_step[nn, c] = k
                            spike_off[nn, c] = hk
                        else:
                            overflow[nn] = True
                        counts[nn] = c + 1
                        v = v_reset
                        ref_cnt = n_ref
            if tau_e > 0.0:
                ie *= math.exp(-hk / tau_e)
            if tau_i > 0.0:
                ii *= math.exp(-hk / tau_i)
            if record[k]:
                v_out[rec, nn] = v
                rec += 1
        state[nn, 0] = v
        state[nn, 1] = ie
        state[nn, 2] = ii
        state[nn, 3] = ref_left
        state[nn, 4] = ref_cnt
    return counts, spike_step, spike_off, overflow
