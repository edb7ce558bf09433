"""Event-driven golden network engine over compressed sparse connectivity.

The same model as the dense engine of :mod:`lifhw.golden.network` (exact
propagators on the grid; a spike emitted in step ``k - d`` arrives at the start
of step ``k``; refractory neurons discard voltage jumps; see ``docs/golden.md``),
computed with memory O(neurons + synapses + spikes):

* Each projection is held pre-major (CSC of the (post, pre) weights) and split
  into *routes*: one per sign where the post has current synapses (positive
  weights feed ``exc`` or, with ``tau_syn_exc = 0``, the voltage-jump channel;
  negative ones ``inh``), and one per distinct synaptic delay.
* Spikes are an event log ``(step, source index)`` kept sorted by index within
  a step; a route at step ``k`` reads the log of step ``k - d``. So any delay
  costs nothing but the log, and per-synapse delays are routes of their own.
* The LIF neurons are cut into one contiguous slice per thread; in every step
  each thread delivers all routes into its slice (it owns those input buffers,
  so no atomics) and then advances its neurons with the exact update.

Summation order (what makes the result reproducible to the bit): a neuron's
input in one channel is the sum over routes, in projection order, of each
route's sequential sum over the active sources in increasing index. That is
exactly the dense engine with a sequential column sum (``W[:, active]`` summed
left to right); the split into threads never changes it. Today's dense engine
sums columns with NumPy's pairwise reduction, which may round the last bit
differently; spike rasters were checked equal on every network of the test
suite (``tests/test_event_engine.py``).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from lifhw import __version__
from lifhw.errors import ParamError
from lifhw.golden.kernels import _syn_factor
from lifhw.network.types import Network, NetworkRun, split_inputs

EXC, INH, DELTA = 0, 1, 2

#: Fewest neurons per thread slice when the thread count is chosen automatically.
SLICE_MIN = 20_000


# ---------------------------------------------------------------------------
# Compiled core
# ---------------------------------------------------------------------------

def _run_impl(n_steps, part_lo, pop_lo, v_rest, v_th, v_reset, n_ref, r_m, p22, f_e, f_i,
         decay_e, decay_i, has_jump, has_bias, drive, v, ie, ii, ref,
         r_pre_lo, r_pre_hi, r_delay, r_channel, r_temp, r_seg_base, seg, syn_post, syn_w,
         in_ptr, in_idx, n_inputs, log_capacity, record, v_out):  # pragma: no cover
    n_parts = part_lo.shape[0] - 1
    n_pops = pop_lo.shape[0] - 1
    n_routes = r_delay.shape[0]
    n = v.shape[0]
    stride = n_parts + 1
    buf_e = np.zeros(n)
    buf_i = np.zeros(n)
    buf_d = np.zeros(n)
    temp = np.zeros(n)
    scratch = np.empty(max(n, 1), dtype=np.int64)
    fired = np.zeros(n, dtype=np.bool_)
    part_cnt = np.zeros(n_parts, dtype=np.int64)
    part_events = np.zeros(n_parts, dtype=np.int64)
    step_start = np.zeros(n_steps + 1, dtype=np.int64)
    log = np.empty(max(log_capacity, 16), dtype=np.int64)
    n_log = 0
    for k in range(n_steps):
        for p in numba.prange(n_parts):
            lo = part_lo[p]
            hi = part_lo[p + 1]
            delivered = 0
            for r in range(n_routes):
                s = k - r_delay[r]
                if s < 0:
                    continue
                a = step_start[s]
                b = step_start[s + 1]
                if a == b:
                    continue
                a2 = a + np.searchsorted(log[a:b], r_pre_lo[r])
                b2 = a + np.searchsorted(log[a:b], r_pre_hi[r])
                if a2 == b2:
                    continue
                ch = r_channel[r]
                dest = buf_e if ch == 0 else (buf_i if ch == 1 else buf_d)
                target = temp if r_temp[r] else dest
                base = r_seg_base[r]
                pre_lo = r_pre_lo[r]
                for e in range(a2, b2):
                    o = base + (log[e] - pre_lo) * stride + p
                    for q in range(seg[o], seg[o + 1]):
                        target[syn_post[q]] += syn_w[q]
                    delivered += seg[o + 1] - seg[o]
                if r_temp[r]:
                    # A later route into a channel that already has one: its own
                    # sum first, then added (the dense engine's grouping).
                    for e in range(a2, b2):
                        o = base + (log[e] - pre_lo) * stride + p
                        for q in range(seg[o], seg[o + 1]):
                            t = syn_post[q]
                            dest[t] += temp[t]
                            temp[t] = 0.0
            part_events[p] += delivered
            cnt = 0
            for g in range(n_pops):
                a = max(lo, pop_lo[g])
                b = min(hi, pop_lo[g + 1])
                vr = v_rest[g]
                vt = v_th[g]
                vz = v_reset[g]
                nr = n_ref[g]
                rm = r_m[g]
                pp = p22[g]
                fe = f_e[g]
                fi = f_i[g]
                de = decay_e[g]
                di = decay_i[g]
                # Branch-free so that it vectorises; the same arithmetic, in the
                # same order, as the dense engine's step (bit-identical). Without
                # voltage-jump input and bias current the two zero terms are left
                # out (v + 0.0 == v): two fewer arrays streamed per neuron-step.
                if has_jump[g] or has_bias[g]:
                    for m in range(a, b):
                        e_now = ie[m] + buf_e[m]
                        i_now = ii[m] + buf_i[m]
                        r = ref[m]
                        x = (vr + (v[m] + buf_d[m] - vr) * pp + drive[m]
                             + rm * (e_now * fe + i_now * fi))
                        free = r == 0
                        fire = free and x >= vt
                        v[m] = vz if (fire or not free) else x
                        ref[m] = nr if fire else (r - 1 if r > 0 else 0)
                        fired[m] = fire
                        buf_e[m] = 0.0
                        buf_i[m] = 0.0
                        buf_d[m] = 0.0
                        ie[m] = e_now * de
                        ii[m] = i_now * di
                else:
                    for m in range(a, b):
                        e_now = ie[m] + buf_e[m]
                        i_now = ii[m] + buf_i[m]
                        r = ref[m]
                        x = vr + (v[m] - vr) * pp + rm * (e_now * fe + i_now * fi)
                        free = r == 0
                        fire = free and x >= vt
                        v[m] = vz if (fire or not free) else x
                        ref[m] = nr if fire else (r - 1 if r > 0 else 0)
                        fired[m] = fire
                        buf_e[m] = 0.0
                        buf_i[m] = 0.0
                        ie[m] = e_now * de
                        ii[m] = i_now * di
            for m in range(lo, hi):
                if fired[m]:
                    scratch[lo + cnt] = m
                    cnt += 1
            if record:
                for m in range(lo, hi):
                    v_out[k, m] = v[m]
            part_cnt[p] = cnt
        # Serial: the log of step k, sorted by source index (inputs first).
        n_new = in_ptr[k + 1] - in_ptr[k]
        for p in range(n_parts):
            n_new += part_cnt[p]
        if n_log + n_new > log.shape[0]:
            grown = np.empty(max(2 * log.shape[0], n_log + n_new), dtype=np.int64)
            for e in range(n_log):
                grown[e] = log[e]
            log = grown
        for e in range(in_ptr[k], in_ptr[k + 1]):
            log[n_log] = in_idx[e]
            n_log += 1
        for p in range(n_parts):
            lo = part_lo[p]
            for c in range(part_cnt[p]):
                log[n_log] = n_inputs + scratch[lo + c]
                n_log += 1
        step_start[k + 1] = n_log
    return log[:n_log].copy(), step_start, part_events.sum()


# One body, two compilations: the serial one avoids waking the thread pool every
# step, which costs more than it saves on small networks (and on a busy machine).
_run_serial = numba.njit(cache=True)(_run_impl)
_run_parallel = numba.njit(parallel=True, cache=True)(_run_impl)


@numba.njit(cache=True)
def _segments(ptr, post, part_lo):  # pragma: no cover
    """seg[j, p]: first synapse of pre j whose post is >= part_lo[p] (post sorted per pre)."""
    n_pre = ptr.shape[0] - 1
    n_parts = part_lo.shape[0] - 1
    seg = np.empty((n_pre, n_parts + 1), dtype=np.int64)
    for j in range(n_pre):
        a = ptr[j]
        b = ptr[j + 1]
        seg[j, 0] = a
        q = a
        for p in range(1, n_parts):
            while q < b and post[q] < part_lo[p]:
                q += 1
            seg[j, p] = q
        seg[j, n_parts] = b
    return seg


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SpikeEvents:
    """Spikes of one population as events.

    Args:
        steps: Step of each spike (stamped at ``(step + 1) dt``), non-decreasing.
        neurons: Index of the spiking neuron in its population.
        size: Population size.
        n_steps: Number of simulated steps.
    """

    steps: np.ndarray
    neurons: np.ndarray
    size: int
    n_steps: int

    def counts(self) -> np.ndarray:
        """Spikes per neuron (int64, shape (size,))."""
        return np.bincount(self.neurons, minlength=self.size).astype(np.int64)

    def raster(self) -> np.ndarray:
        """Boolean (n_steps, size) raster (allocates T x N: small runs only)."""
        out = np.zeros((self.n_steps, self.size), dtype=bool)
        out[self.steps, self.neurons] = True
        return out


@dataclass(frozen=True, eq=False)
class EventRun:
    """A golden network run with spikes as events (see :class:`SpikeEvents`).

    Args:
        dt: Step (s).
        n_steps: Steps simulated.
        spikes: Population name -> its events.
        states: Population name -> ``{"v": (T, size)}`` when recorded.
        events: ``spikes``, ``synaptic_events``, ``neuron_updates`` counts.
        seconds: Wall time of the simulation loop (s).
        meta: Provenance.
    """

    dt: float
    n_steps: int
    spikes: Mapping[str, SpikeEvents]
    states: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    events: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)
    backend: str = "golden"

    @property
    def t_stop(self) -> float:
        return self.n_steps * self.dt

    def spike_counts(self, population: str) -> np.ndarray:
        return self.spikes[population].counts()

    def rates_hz(self, population: str) -> np.ndarray:
        """Mean rate per neuron (Hz)."""
        return self.spike_counts(population) / self.t_stop

    def to_network_run(self) -> NetworkRun:
        """The same run with boolean rasters (:class:`~lifhw.network.NetworkRun`)."""
        return NetworkRun(backend=self.backend, dt=self.dt,
                          spikes={name: ev.raster() for name, ev in self.spikes.items()},
                          states=self.states, events=self.events, meta=self.meta)


# ---------------------------------------------------------------------------
# Building the routes
# ---------------------------------------------------------------------------

def as_csr(weights: Any) -> sp.csr_array:
    """(post, pre) weights as a canonical CSR array without stored zeros."""
    if sp.issparse(weights):
        csr = sp.csr_array(weights, dtype=float)
        if not csr.has_canonical_format:
            csr = csr.copy()
            csr.sum_duplicates()
    else:
        csr = sp.csr_array(np.asarray(weights, dtype=float))
    if np.any(csr.data == 0):
        csr = csr.copy()
        csr.eliminate_zeros()
    return csr


@dataclass
class _Routes:
    pre_lo: list[int] = field(default_factory=list)
    pre_hi: list[int] = field(default_factory=list)
    delay: list[int] = field(default_factory=list)
    channel: list[int] = field(default_factory=list)
    post_pop: list[int] = field(default_factory=list)
    temp: list[bool] = field(default_factory=list)
    seg_base: list[int] = field(default_factory=list)
    segs: list[np.ndarray] = field(default_factory=list)
    posts: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    n_syn: int = 0
    n_seg: int = 0


def _partitions(n: int, n_parts: int) -> np.ndarray:
    n_parts = max(1, min(n_parts, n)) if n > 0 else 1
    return np.linspace(0, n, n_parts + 1).round().astype(np.int64)


def csr_and_delays(proj: Any) -> tuple[sp.csr_array, np.ndarray | None]:
    """A projection's weights as canonical CSR without zeros, and its per-synapse
    delays (steps) aligned with that CSR's data, or None."""
    delays = getattr(proj, "synapse_delays", None)
    if delays is None:
        return as_csr(proj.weights), None
    weights = proj.weights
    delays = np.asarray(delays, dtype=np.int64)
    if not sp.issparse(weights) or delays.shape != (weights.nnz,):
        raise ParamError("synapse_delays needs one delay per stored synapse of sparse weights",
                         path=f"projection {proj.pre}->{proj.post}")
    csr = sp.csr_array(weights, dtype=float)
    keep = csr.data != 0
    if not keep.all():
        csr = sp.csr_array((csr.data[keep], csr.indices[keep],
                            np.concatenate([[0], np.cumsum(keep)])[csr.indptr]),
                           shape=csr.shape)
        delays = delays[keep]
    return csr, delays


def _add_routes(routes: _Routes, csr: sp.csr_array, delays: np.ndarray | None,
                default_delay: int, channel: int, pre_lo: int, post_lo: int,
                seen: set[tuple[int, int]], post_pop: int, part_lo: np.ndarray) -> None:
    if csr.nnz == 0:
        return
    if delays is None:
        groups = [(default_delay, csr)]
    else:
        groups = []
        for d in np.unique(delays):
            mask = delays == d
            sub = sp.csr_array((np.where(mask, csr.data, 0.0), csr.indices.copy(),
                                csr.indptr.copy()), shape=csr.shape)
            sub.eliminate_zeros()
            groups.append((int(d), sub))
    for d, sub in groups:
        csc = sub.tocsc()
        csc.sort_indices()
        ptr = csc.indptr.astype(np.int64)
        post = csc.indices.astype(np.int64) + post_lo
        seg = _segments(ptr, post, part_lo) + routes.n_syn
        routes.pre_lo.append(pre_lo)
        routes.pre_hi.append(pre_lo + csr.shape[1])
        routes.delay.append(d)
        routes.channel.append(channel)
        routes.post_pop.append(post_pop)
        routes.temp.append((post_pop, channel) in seen)
        seen.add((post_pop, channel))
        routes.seg_base.append(routes.n_seg)
        routes.segs.append(seg.ravel())
        routes.posts.append(post.astype(np.int32 if post_lo + csr.shape[0] < 2**31 else np.int64))
        routes.weights.append(np.ascontiguousarray(csc.data, dtype=float))
        routes.n_syn += csc.nnz
        routes.n_seg += seg.size


def input_events(network: Network, input_spikes: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Input spikes as ``(steps, source index)`` events (inputs side by side).

    Args:
        input_spikes: Boolean (T, n_in) raster, a mapping name -> (T, size), or a
            mapping name -> ``(steps, indices)`` events with ``"n_steps"`` given.

    Returns:
        (steps, source indices, n_steps), sorted by step then index.
    """
    offsets = {}
    start = 0
    for pop in network.inputs:
        offsets[pop.name] = start
        start += pop.size
    if isinstance(input_spikes, Mapping) and "n_steps" in input_spikes:
        n_steps = int(input_spikes["n_steps"])
        steps_parts, idx_parts = [], []
        for pop in network.inputs:
            if pop.name not in input_spikes:
                raise ParamError(f"no input spikes for input population {pop.name!r}")
            steps, idx = (np.asarray(a, dtype=np.int64) for a in input_spikes[pop.name])
            if steps.size and (steps.min() < 0 or steps.max() >= n_steps):
                raise ParamError(f"input events of {pop.name!r} lie outside 0..{n_steps - 1}")
            if idx.size and (idx.min() < 0 or idx.max() >= pop.size):
                raise ParamError(f"input events of {pop.name!r} name neurons outside "
                                 f"0..{pop.size - 1}")
            steps_parts.append(steps)
            idx_parts.append(idx + offsets[pop.name])
        steps = np.concatenate(steps_parts) if steps_parts else np.zeros(0, np.int64)
        idx = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64)
        order = np.lexsort((idx, steps))
        return steps[order], idx[order], n_steps
    split = split_inputs(network, input_spikes)
    n_steps = next(iter(split.values())).shape[0]
    raster = np.concatenate([split[p.name] for p in network.inputs], axis=1)
    steps, idx = np.nonzero(raster)
    return steps.astype(np.int64), idx.astype(np.int64), n_steps


def auto_threads(n_neurons: int) -> int:
    """Threads for a network of ``n_neurons``: the slices meet once per step, so
    a thread pays only with at least :data:`SLICE_MIN` neurons, and only on a
    core that is free -- on a busy machine a per-step barrier waits for the
    scheduler (milliseconds), which costs more than the second core gains."""
    want = min(numba.get_num_threads(), n_neurons // SLICE_MIN)
    try:
        free = (os.cpu_count() or 1) - os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        free = float(want)
    return max(1, min(want, int(free + 0.5)))


def simulate_events(network: Network, input_spikes: Any, *, record_v: bool = False,
                    v_init: Mapping[str, np.ndarray] | None = None,
                    threads: int | None = None) -> EventRun:
    """Simulate a network event-driven over its sparse connectivity.

    Args:
        network: Projections may hold dense arrays or ``scipy.sparse`` (post, pre)
            weights, and optionally ``synapse_delays`` (steps, aligned with the
            canonical CSR data).
        input_spikes: See :func:`input_events`.
        record_v: Record V after every step (T x N floats: small runs only).
        v_init: Initial membrane per population (V), shape (size,); default
            each population's ``v_init`` if it has one, else ``v_rest``.
        threads: Slices of neurons (threads); default :func:`auto_threads`.
            The result does not depend on it.

    Returns:
        An :class:`EventRun`.
    """
    in_steps, in_idx, n_steps = input_events(network, input_spikes)
    n_inputs = sum(p.size for p in network.inputs)
    pops = network.populations
    pop_lo = np.zeros(len(pops) + 1, dtype=np.int64)
    np.cumsum([p.size for p in pops], out=pop_lo[1:])
    n = int(pop_lo[-1])
    if threads is None:
        threads = auto_threads(n)
    part_lo = _partitions(n, threads)
    src_lo = {}
    start = 0
    for src in network.inputs:
        src_lo[src.name] = start
        start += src.size
    lif_lo = {p.name: int(pop_lo[i]) for i, p in enumerate(pops)}
    pop_index = {p.name: i for i, p in enumerate(pops)}
    for name, lo in lif_lo.items():
        src_lo[name] = n_inputs + lo

    dt = network.dt
    v = np.empty(n)
    bias = np.empty(n)
    table = {key: np.zeros(len(pops)) for key in
             ("v_rest", "v_th", "v_reset", "r_m", "p22", "f_e", "f_i", "decay_e", "decay_i")}
    n_ref = np.zeros(len(pops), dtype=np.int32)
    for i, pop in enumerate(pops):
        p = pop.neuron
        lo, hi = int(pop_lo[i]), int(pop_lo[i + 1])
        bias[lo:hi] = pop.bias
        init = None if v_init is None else v_init.get(pop.name)
        if init is None:
            init = getattr(pop, "v_init", None)
        v[lo:hi] = p.v_rest if init is None or np.size(init) == 0 else init
        # The same constants, computed the same way, as the dense engine's.
        table["v_rest"][i] = p.v_rest
        table["v_th"][i] = p.v_th
        table["v_reset"][i] = p.v_reset
        table["r_m"][i] = p.r_m
        table["p22"][i] = math.exp(-dt / p.tau_m)
        table["f_e"][i] = _syn_factor(dt, p.tau_m, p.tau_syn_exc) if p.tau_syn_exc > 0 else 0.0
        table["f_i"][i] = _syn_factor(dt, p.tau_m, p.tau_syn_inh) if p.tau_syn_inh > 0 else 0.0
        table["decay_e"][i] = math.exp(-dt / p.tau_syn_exc) if p.tau_syn_exc > 0 else 0.0
        table["decay_i"][i] = math.exp(-dt / p.tau_syn_inh) if p.tau_syn_inh > 0 else 0.0
        n_ref[i] = round(p.t_ref / dt)

    # r_m I_bias (1 - P22) per neuron: the dense engine's product, computed once.
    drive = np.empty(n)
    for i in range(len(pops)):
        lo, hi = int(pop_lo[i]), int(pop_lo[i + 1])
        drive[lo:hi] = table["r_m"][i] * bias[lo:hi] * (1.0 - table["p22"][i])

    routes = _Routes()
    seen: set[tuple[int, int]] = set()
    for proj in network.projections:
        post = network.population(proj.post)
        csr, delays = csr_and_delays(proj)
        common: dict[str, Any] = {
            "pre_lo": src_lo[proj.pre], "post_lo": lif_lo[proj.post], "seen": seen,
            "post_pop": pop_index[proj.post], "part_lo": part_lo}
        if post.delta_synapses:
            _add_routes(routes, csr, delays, proj.delay_steps, DELTA, **common)
            continue
        for sign, channel in ((1.0, EXC if post.neuron.tau_syn_exc > 0 else DELTA),
                              (-1.0, INH if post.neuron.tau_syn_inh > 0 else DELTA)):
            keep = sign * csr.data > 0
            if not keep.any():
                continue
            if keep.all():
                part = csr
            else:
                # Copies: eliminate_zeros compacts the index arrays in place.
                part = sp.csr_array((np.where(keep, csr.data, 0.0), csr.indices.copy(),
                                     csr.indptr.copy()), shape=csr.shape)
                part.eliminate_zeros()
            _add_routes(routes, part, delays if delays is None or keep.all() else delays[keep],
                        proj.delay_steps, channel, **common)

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else \
            np.zeros(0, dtype=dtype)

    post_dtype = routes.posts[0].dtype if routes.posts else np.int32
    record = np.zeros((n_steps if record_v else 0, n))
    ie = np.zeros(n)
    ii = np.zeros(n)
    ref = np.zeros(n, dtype=np.int32)
    has_bias = np.array([bool(np.any(drive[pop_lo[i]:pop_lo[i + 1]]))
                         for i in range(len(pops))], dtype=np.bool_)
    has_jump = np.zeros(len(pops), dtype=np.bool_)
    for channel, post_pop in zip(routes.channel, routes.post_pop, strict=True):
        has_jump[post_pop] |= channel == DELTA
    in_ptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(in_steps, minlength=n_steps), out=in_ptr[1:])
    started = time.perf_counter()
    kernel = _run_parallel if part_lo.size > 2 else _run_serial
    log, step_start, delivered = kernel(
        n_steps, part_lo, pop_lo, table["v_rest"], table["v_th"], table["v_reset"], n_ref,
        table["r_m"], table["p22"], table["f_e"], table["f_i"], table["decay_e"],
        table["decay_i"], has_jump, has_bias, drive, v, ie, ii, ref,
        np.asarray(routes.pre_lo, dtype=np.int64), np.asarray(routes.pre_hi, dtype=np.int64),
        np.asarray(routes.delay, dtype=np.int64), np.asarray(routes.channel, dtype=np.int64),
        np.asarray(routes.temp, dtype=np.bool_), np.asarray(routes.seg_base, dtype=np.int64),
        cat(routes.segs, np.int64), cat(routes.posts, post_dtype),
        cat(routes.weights, np.float64), in_ptr, in_idx, n_inputs,
        max(1024, in_idx.size * 2), record_v, record)
    seconds = time.perf_counter() - started
    steps = np.repeat(np.arange(n_steps, dtype=np.int64), np.diff(step_start))
    spikes = {}
    states: dict[str, dict[str, np.ndarray]] = {}
    for i, pop in enumerate(pops):
        lo = n_inputs + int(pop_lo[i])
        hi = n_inputs + int(pop_lo[i + 1])
        mask = (log >= lo) & (log < hi)
        spikes[pop.name] = SpikeEvents(steps[mask], (log[mask] - lo).astype(np.int64),
                                       pop.size, n_steps)
        if record_v:
            states[pop.name] = {"v": record[:, pop_lo[i]:pop_lo[i + 1]]}
    events = {"spikes": int(sum(s.steps.size for s in spikes.values())),
              "synaptic_events": int(delivered), "neuron_updates": n_steps * n}
    return EventRun(dt=dt, n_steps=n_steps, spikes=spikes, states=states, events=events,
                    seconds=seconds,
                    meta={"lifhw_version": __version__, "convention": "grid",
                          "engine": "event", "synapses": routes.n_syn})
