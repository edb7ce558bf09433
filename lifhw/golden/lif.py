"""The deterministic LIF neuron, integrated exactly.

Between events the membrane obeys ``tau_m dV/dt = -(V - v_rest) + r_m I(t)``
with ``I`` piecewise constant plus exponentially decaying synaptic currents, so
each step is advanced with its exact propagator (``exp(-h/tau)``), not Euler.

Conventions (see docs/golden.md):

* **precise** (default for :func:`simulate`): spike times are the exact
  threshold-crossing times inside a step (closed form for constant current, a
  bracketed root of the analytic solution with synaptic currents), the neuron is
  clamped to ``v_reset`` for exactly ``t_ref`` and resumes off-grid, as NEST's
  ``*_ps`` models do. The ISI under constant current equals
  :func:`lifhw.golden.lif_isi` to rounding, whatever the step.
* **grid**: V is checked at the end of each step; a spike is stamped at the
  step's end, and the neuron is clamped for ``round(t_ref/dt)`` steps (NEST's
  grid convention). Crossings are then late by up to one step.
* Input spikes (delta synapses) make V jump by their weight (V) at their time;
  input arriving during the refractory period is discarded. With a current
  synapse (``tau_syn_exc``/``tau_syn_inh`` > 0) a spike makes the synaptic
  current jump by its weight (A) instead; positive weights are excitatory.
  A spike that lifts V to threshold fires at that instant (precise mode).
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lifhw import __version__, budget
from lifhw.core import LIFParams, Trace
from lifhw.golden import kernels
from lifhw.stimulus import Stimulus

_EMPTY = np.zeros((0, 1))
#: Intervals per kernel call of :func:`simulate` (bounds memory, moves the progress bar).
_CHUNK = 1_000_000
#: Runs longer than this many intervals show a progress bar on a terminal.
_PROGRESS_STEPS = 2_000_000
#: Largest spike buffer (elements) before asking the caller to count only.
_MAX_BUFFER = 50_000_000


class _NoBar:
    def update(self, n: int) -> None:
        pass


@contextlib.contextmanager
def _progress_bar(total: int, show: bool, label: str) -> Iterator[Any]:
    if not show:
        yield _NoBar()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit="step", unit_scale=True, leave=False) as bar:
        yield bar


def _refractory_steps(t_ref: float, dt: float, n_steps: int) -> int:
    """``round(t_ref / dt)``, capped at ``n_steps + 1``: a refractory period longer than
    the run (even one whose step count overflows an integer) holds to the end."""
    steps = t_ref / dt
    return n_steps + 1 if not steps < n_steps + 1 else round(steps)


def _jumps(params: LIFParams, times: np.ndarray, weights: np.ndarray, step_starts: np.ndarray,
           n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scatter input spikes into per-step voltage / exc / inh current jumps."""
    dv = np.zeros((n_steps, 1))
    ie = np.zeros((n_steps, 1))
    ii = np.zeros((n_steps, 1))
    if len(times) == 0:
        return _EMPTY, _EMPTY, _EMPTY
    index = np.searchsorted(step_starts, times, side="right") - 1
    keep = (index >= 0) & (index < n_steps)
    for k, w in zip(index[keep], weights[keep], strict=True):
        if w >= 0:
            (ie if params.tau_syn_exc > 0 else dv)[k, 0] += w
        else:
            (ii if params.tau_syn_inh > 0 else dv)[k, 0] += w
    return (dv if dv.any() else _EMPTY, ie if ie.any() else _EMPTY, ii if ii.any() else _EMPTY)


def simulate(
    params: LIFParams,
    stimulus: Stimulus,
    *,
    precise: bool = True,
    dt: float | None = None,
    v0: float | None = None,
    progress: bool | None = None,
) -> Trace:
    """Simulate one neuron driven by a stimulus.

    Args:
        params: The neuron.
        stimulus: Current and input spikes (``stimulus.dt`` is the sampling step
            unless ``dt`` is given).
        precise: Exact off-grid spike times (True) or the grid convention.
        dt: Time step / sampling interval (s).
        v0: Initial membrane (V); default ``v_rest``.
        progress: Show a progress bar on stderr; default: for long runs on a terminal.

    Returns:
        A :class:`~lifhw.core.Trace` sampled every ``dt`` (``t[0] = 0`` holds ``v0``).
    """
    step = stimulus.dt if dt is None else dt
    t_stop = stimulus.t_stop
    n_input = stimulus.expected_input_spikes()
    budget.check(budget.golden_bytes(t_stop, step, n_input),
                 f"the golden simulation ({t_stop / step:.3g} steps of {step:g} s, "
                 f"{n_input:.3g} input spikes)",
                 path="stimulus.rate" if n_input > t_stop / step else "stimulus.t_stop")
    n_grid = round(t_stop / step)
    grid = np.arange(n_grid + 1) * step
    edges, values = stimulus.segments()
    spike_t, spike_w = stimulus.input_spikes()
    if precise:
        points = np.unique(np.concatenate([grid, edges, spike_t, [t_stop]]))
        points = points[points <= t_stop]
        # Merge points closer than 1e-12 of a step: they are the same instant.
        keep = np.concatenate([[True], np.diff(points) > 1e-12 * step])
        points = points[keep]
    else:
        points = grid
    starts = points[:-1]
    h = np.diff(points)
    seg = np.clip(np.searchsorted(edges, starts, side="right") - 1, 0, len(values) - 1)
    i_steps = values[seg].reshape(-1, 1)
    dv, ie, ii = _jumps(params, spike_t, spike_w, starts, len(h))
    record = np.isin(points[1:], grid) if precise else np.ones(len(h), dtype=bool)
    v_start = params.v_rest if v0 is None else float(v0)
    state = np.array([[v_start, 0.0, 0.0, 0.0, 0.0]])
    n_total = len(h)
    n_ref = _refractory_steps(params.t_ref, step, n_total)
    show = (n_total > _PROGRESS_STEPS and sys.stderr.isatty()) if progress is None else progress
    spikes_parts: list[np.ndarray] = []
    v_parts: list[np.ndarray] = []
    with _progress_bar(n_total, show, "golden") as bar:
        # Long runs go in chunks (the kernel carries its state over) so that the
        # progress bar moves and the spike buffer stays small.
        for lo in range(0, n_total, _CHUNK):
            hi = min(lo + _CHUNK, n_total)
            rec = record[lo:hi]
            v_out = np.zeros((int(rec.sum()), 1))

            def part(a: np.ndarray, lo: int = lo, hi: int = hi) -> np.ndarray:
                return a[lo:hi] if a.shape[0] else a

            counts, spike_step, spike_off, _ = kernels.run_general(
                h[lo:hi], params.v_rest, params.v_th, params.v_reset, params.t_ref, n_ref,
                params.r_m, params.tau_m, params.tau_syn_exc, params.tau_syn_inh, precise,
                np.zeros(1), i_steps[lo:hi], part(dv), part(ie), part(ii), state, rec,
                v_out, hi - lo + 1,
            )
            n = int(counts[0])
            spikes_parts.append(starts[lo + spike_step[0, :n]] + spike_off[0, :n])
            v_parts.append(v_out[:, 0])
            bar.update(hi - lo)
    spikes = np.concatenate(spikes_parts) if spikes_parts else np.zeros(0)
    t = np.concatenate([[0.0], points[1:][record]])
    v = np.concatenate([[v_start], *v_parts])
    return Trace(
        t=t, v=v, spike_times=spikes, t_stop=t_stop, backend="golden",
        meta={"lifhw_version": __version__, "params_hash": params.digest(),
              "convention": "precise" if precise else "grid", "dt_s": step,
              "tau_s": params.tau_m},
    )


def population_spike_counts(
    params: LIFParams,
    i_bias: ArrayLike,
    *,
    t_stop: float,
    dt: float,
    v0: ArrayLike | None = None,
) -> np.ndarray:
    """Spike counts of N uncoupled neurons under constant currents (grid convention).

    The fast path of the golden model (a compiled, cache-blocked, vectorised loop).

    Args:
        params: Shared neuron parameters.
        i_bias: Constant current per neuron (A), shape (N,).
        t_stop: Duration (s).
        dt: Step (s).
        v0: Initial membrane per neuron (V); default ``v_rest``.

    Returns:
        Spike count per neuron, shape (N,).
    """
    current = np.ascontiguousarray(i_bias, dtype=float)
    v_inf = params.v_rest + params.r_m * current
    v_start = (np.full(current.shape, params.v_rest) if v0 is None
               else np.array(v0, dtype=float, copy=True))
    n_steps = round(t_stop / dt)
    p22 = math.exp(-dt / params.tau_m)
    return kernels.run_constant_grid(v_start, v_inf, p22, params.v_th, params.v_reset,
                                     _refractory_steps(params.t_ref, dt, n_steps), n_steps)


def simulate_population(
    params: LIFParams,
    i_bias: ArrayLike,
    *,
    t_stop: float,
    dt: float,
    i_steps: ArrayLike | None = None,
    dv_jump: ArrayLike | None = None,
    syn_jump: ArrayLike | None = None,
    precise: bool = False,
    record_v: bool = False,
    v0: ArrayLike | None = None,
) -> Trace:
    """Simulate N uncoupled neurons with per-step inputs, recording spikes (and V).

    Args:
        params: Shared neuron parameters.
        i_bias: Constant current per neuron (A), shape (N,).
        t_stop: Duration (s).
        dt: Step (s).
        i_steps: Extra current per step (A), shape (T, N) or (T,) (same for all).
        dv_jump: Voltage jumps at step starts (V), shape (T, N) or (T,).
        syn_jump: Synaptic current jumps at step starts (A), shape (T, N) or (T,);
            positive entries go to the excitatory synapse, negative to the inhibitory.
        precise: Exact off-grid spike times (see module docstring).
        record_v: Record V at every step end, shape (N, T+1) with ``v[:, 0] = v0``.
        v0: Initial membrane per neuron (V); default ``v_rest``.

    Returns:
        A population :class:`~lifhw.core.Trace`.
    """
    current = np.ascontiguousarray(i_bias, dtype=float).reshape(-1)
    n = current.shape[0]
    n_steps = round(t_stop / dt)

    def _as_steps(x: ArrayLike | None) -> np.ndarray:
        if x is None:
            return _EMPTY
        array = np.asarray(x, dtype=float)
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        if array.shape[0] != n_steps or array.shape[1] not in (1, n):
            raise ValueError(f"per-step input has shape {array.shape}, expected "
                             f"({n_steps}, {n}) or ({n_steps},)")
        return np.ascontiguousarray(array)

    syn = _as_steps(syn_jump)
    ie = np.where(syn > 0, syn, 0.0) if syn.size else _EMPTY
    ii = np.where(syn < 0, syn, 0.0) if syn.size else _EMPTY
    if syn.size and (params.tau_syn_exc == 0 or params.tau_syn_inh == 0):
        raise ValueError("syn_jump needs tau_syn_exc > 0 and tau_syn_inh > 0")
    v_start = (np.full(n, params.v_rest) if v0 is None
               else np.array(v0, dtype=float, copy=True).reshape(-1))
    initial = v_start.copy()
    state = np.zeros((n, 5))
    state[:, 0] = v_start
    h = np.full(n_steps, dt)
    record = np.full(n_steps, record_v)
    if record_v and n * n_steps > _MAX_BUFFER:
        raise ValueError(f"recording V of {n} neurons x {n_steps} steps is too large")
    v_out = np.zeros((n_steps if record_v else 0, n))
    n_ref = _refractory_steps(params.t_ref, dt, n_steps)
    rate_bound = n_steps // max(n_ref, 1) + 1
    cap = min(n_steps + 1, rate_bound)
    if n * cap > _MAX_BUFFER:
        raise ValueError("too many possible spikes to record; use population_spike_counts")
    counts, spike_step, spike_off, overflow = kernels.run_general(
        h, params.v_rest, params.v_th, params.v_reset, params.t_ref,
        n_ref, params.r_m, params.tau_m,
        params.tau_syn_exc, params.tau_syn_inh, precise, current, _as_steps(i_steps),
        _as_steps(dv_jump), ie, ii, state, record, v_out, cap,
    )
    if overflow.any():  # cannot happen with cap >= n_steps + 1; kept as a guard
        raise RuntimeError("spike buffer overflow")
    neuron_index = np.repeat(np.arange(n), counts)
    mask = np.arange(cap)[None, :] < counts[:, None]
    times = spike_step[mask] * dt + spike_off[mask]
    v = (np.concatenate([initial[:, None], v_out.T], axis=1) if record_v
         else np.zeros(0))
    return Trace(
        t=np.arange(n_steps + 1) * dt if record_v else np.zeros(0), v=v,
        spike_times=times, spike_neurons=neuron_index, n_neurons=n, t_stop=t_stop,
        backend="golden",
        meta={"lifhw_version": __version__, "params_hash": params.digest(),
              "convention": "precise" if precise else "grid", "dt_s": dt},
    )
