"""The float referee for networks: exact integration of a :class:`~lifhw.network.Network`.

Every chip run, the RTL population core and the trained SNNs are compared
with this module. Two entry points share one set of equations:

* :func:`simulate_network` -- one input raster, any network (recurrent,
  current synapses), spikes routed by :func:`lifhw.network.route_spikes`
  exactly as the chip simulators route theirs; returns a
  :class:`~lifhw.network.NetworkRun` with event counts;
* :func:`simulate_network_batch` -- a batch of input rasters at once
  (T, B, n_in): feed-forward delta-synapse networks (the trained SNNs) run
  vectorised over the batch, any other network one sample at a time through
  :func:`simulate_network`. Spike for spike equal to it (tested).

Each population advances by exact exponential propagators over each step of
length ``dt`` (the same closed forms as the single-neuron golden model,
:func:`lifhw.golden.kernels._v_after`, with its synaptic propagator
:func:`~lifhw.golden.kernels._syn_factor`), in the grid convention of
:mod:`lifhw.golden.lif`:

* at the start of step ``k`` the spikes routed to it arrive (a spike emitted in
  step ``k - d`` through a projection with ``delay_steps = d``, see
  :func:`lifhw.network.route_spikes`): a delta synapse makes V jump by the
  weight (V), a current synapse makes the excitatory (positive weight) or
  inhibitory (negative) current jump by the weight (A);
* a refractory neuron discards voltage jumps, stays at ``v_reset`` and counts
  down ``round(t_ref / dt)`` steps;
* otherwise ``V(k+1) = v_rest + (V - v_rest) P + r_m I_bias (1 - P) + r_m
  (I_e F_e + I_i F_i)`` with ``P = exp(-dt/tau_m)`` and ``F`` the exact synaptic
  propagator (``_syn_factor``); ``V >= v_th`` at the end of the step is a spike
  (stamped ``(k + 1) dt``), V is reset and the refractory count starts;
* synaptic currents decay by ``exp(-dt / tau_syn)`` per step.

With no coupling this is exactly :func:`lifhw.golden.lif.simulate_population`
with ``precise=False`` (tested). One consequence of checking only at step ends
(shared with that grid mode): a jump that lifts V over threshold and decays
back below it within the same step does not fire, whereas chips that add the
jump after the decay (Loihi, NEST's grid models) do. The effect is bounded by
one step's decay of the margin above threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from lifhw import __version__
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.kernels import _syn_factor
from lifhw.network.routing import Synapses, Update, gather_sum, route_spikes
from lifhw.network.types import Network, NetworkRun, Population, split_inputs


@numba.njit(cache=True, nogil=True)
def _step(v, ie, ii, ref, bias, dv_jump, ie_jump, ii_jump, v_rest, v_th, v_reset, n_ref,
          r_m, p22, f_e, f_i, decay_e, decay_i, spikes):  # pragma: no cover
    """One grid step of one population (all arrays (N,), updated in place).

    ``p22 = exp(-dt/tau_m)`` and ``f_e``/``f_i`` (the exact synaptic propagators
    of :func:`lifhw.golden.kernels._syn_factor`) are constant for a fixed step,
    so they are computed once per population rather than per neuron and step.
    """
    for n in range(v.shape[0]):
        ie[n] += ie_jump[n]
        ii[n] += ii_jump[n]
        if ref[n] > 0:
            ref[n] -= 1
            v[n] = v_reset
            spikes[n] = False
        else:
            x = (v_rest + (v[n] + dv_jump[n] - v_rest) * p22 + r_m * bias[n] * (1.0 - p22)
                 + r_m * (ie[n] * f_e + ii[n] * f_i))
            if x >= v_th:
                spikes[n] = True
                v[n] = v_reset
                ref[n] = n_ref
            else:
                spikes[n] = False
                v[n] = x
        ie[n] *= decay_e
        ii[n] *= decay_i


@dataclass(frozen=True)
class _Propagators:
    """Per-step constants of one neuron type at step ``dt`` (shared by both entry points).

    Args:
        p22: Membrane decay ``exp(-dt / tau_m)``.
        n_ref: Refractory steps ``round(t_ref / dt)``.
        decay_e, decay_i: Synaptic current decay per step (0 for a delta synapse).
        f_e, f_i: Exact synaptic propagators (:func:`lifhw.golden.kernels._syn_factor`).
    """

    p22: float
    n_ref: int
    decay_e: float
    decay_i: float
    f_e: float
    f_i: float

    @classmethod
    def of(cls, p: LIFParams, dt: float) -> _Propagators:
        return cls(
            p22=math.exp(-dt / p.tau_m),
            n_ref=round(p.t_ref / dt),
            decay_e=math.exp(-dt / p.tau_syn_exc) if p.tau_syn_exc > 0 else 0.0,
            decay_i=math.exp(-dt / p.tau_syn_inh) if p.tau_syn_inh > 0 else 0.0,
            f_e=_syn_factor(dt, p.tau_m, p.tau_syn_exc) if p.tau_syn_exc > 0 else 0.0,
            f_i=_syn_factor(dt, p.tau_m, p.tau_syn_inh) if p.tau_syn_inh > 0 else 0.0,
        )


def _population_update(pop: Population, dt: float, record: np.ndarray | None) -> Update:
    p = pop.neuron
    size = pop.size
    v = np.full(size, p.v_rest)
    ie = np.zeros(size)
    ii = np.zeros(size)
    ref = np.zeros(size, dtype=np.int64)
    bias = np.ascontiguousarray(pop.bias, dtype=float)
    zeros = np.zeros(size)
    spikes = np.zeros(size, dtype=np.bool_)
    k = _Propagators.of(p, dt)

    def update(step: int, summed: Mapping[str, np.ndarray]) -> np.ndarray:
        dv = np.asarray(summed.get("delta", zeros), dtype=float)
        exc = np.asarray(summed.get("exc", zeros), dtype=float)
        inh = np.asarray(summed.get("inh", zeros), dtype=float)
        _step(v, ie, ii, ref, bias, dv, exc, inh, p.v_rest, p.v_th, p.v_reset, k.n_ref,
              p.r_m, k.p22, k.f_e, k.f_i, k.decay_e, k.decay_i, spikes)
        if record is not None:
            record[step] = v
        return spikes.copy()

    return update


def synapses_of(network: Network) -> list[Synapses]:
    """Projections as routed synapses: ``delta`` channel for delta-synapse posts,
    ``exc``/``inh`` (positive/negative part) for current-synapse posts."""
    out = []
    for proj in network.projections:
        post = network.population(proj.post)
        if post.delta_synapses:
            out.append(Synapses(proj.pre, proj.post, proj.weights, proj.delay_steps, "delta"))
            continue
        positive = np.where(proj.weights > 0, proj.weights, 0.0)
        negative = np.where(proj.weights < 0, proj.weights, 0.0)
        # A sign whose synapse is a delta (tau 0) on a current-synapse neuron is a jump.
        exc_channel = "exc" if post.neuron.tau_syn_exc > 0 else "delta"
        inh_channel = "inh" if post.neuron.tau_syn_inh > 0 else "delta"
        if np.any(positive):
            out.append(Synapses(proj.pre, proj.post, positive, proj.delay_steps, exc_channel))
        if np.any(negative):
            out.append(Synapses(proj.pre, proj.post, negative, proj.delay_steps, inh_channel))
    return out


def simulate_network(network: Network, input_spikes: Any, *,
                     record_v: bool = False) -> NetworkRun:
    """Simulate a float network exactly on its time grid.

    Args:
        network: The network (``network.dt`` is the step).
        input_spikes: Boolean (T, n_in) (input populations side by side) or a
            mapping name -> (T, size).
        record_v: Record V (volts) after every step, per population (T, size).

    Returns:
        A :class:`~lifhw.network.NetworkRun` with backend ``golden``.
    """
    inputs = split_inputs(network, input_spikes)
    n_steps = next(iter(inputs.values())).shape[0] if inputs else 0
    states: dict[str, dict[str, np.ndarray]] = {}
    updates = {}
    for pop in network.populations:
        record = np.zeros((n_steps, pop.size)) if record_v else None
        if record is not None:
            states[pop.name] = {"v": record}
        updates[pop.name] = _population_update(pop, network.dt, record)
    spikes, events = route_spikes(network, inputs, synapses_of(network), updates,
                                  accumulate=gather_sum)
    return NetworkRun(backend="golden", dt=network.dt, spikes=spikes, states=states,
                      events=events, meta={"lifhw_version": __version__,
                                           "convention": "grid"})


def _feed_forward_delta(network: Network) -> bool:
    """Delta synapses everywhere and every projection from an earlier population."""
    done = {source.name for source in network.inputs}
    for pop in network.populations:
        if not pop.delta_synapses:
            return False
        if any(proj.pre not in done for proj in network.incoming(pop.name)):
            return False
        done.add(pop.name)
    return True


def simulate_network_batch(network: Network, input_spikes: np.ndarray) -> dict[str, np.ndarray]:
    """Run a batch of input rasters through a float network (grid convention).

    The referee of the trained SNNs and of the RTL population core. A
    feed-forward network with delta synapses (populations in topological
    order) runs vectorised over the batch: per step, ``V <- v_inf + (V + J -
    v_inf) P`` with ``v_inf = v_rest + r_m I_bias``, ``P = exp(-dt/tau_m)`` and
    ``J`` the routed jumps, then threshold, reset and ``round(t_ref / dt)``
    clamped steps -- the update of :func:`simulate_network` without synaptic
    currents. Any other network runs sample by sample through
    :func:`simulate_network`.

    Args:
        network: The network (``network.dt`` is the step).
        input_spikes: (T, B, n_in) or (T, n_in) 0/1, the input populations side
            by side in ``network.inputs`` order.

    Returns:
        Population name -> spikes (T, B, size) bool (or (T, size) for 2-D input).

    Raises:
        ParamError: The input has the wrong number of columns.
    """
    x = np.asarray(input_spikes)
    single = x.ndim == 2
    if single:
        x = x[:, None, :]
    total = sum(p.size for p in network.inputs)
    if x.ndim != 3 or x.shape[-1] != total:
        raise ParamError(f"input spikes have shape {np.shape(input_spikes)}, expected "
                         f"(T, {total}) or (T, B, {total})")
    if _feed_forward_delta(network):
        result = _batch_feed_forward(network, x)
    else:
        runs = [simulate_network(network, x[:, b].astype(bool)).spikes
                for b in range(x.shape[1])]
        result = {pop.name: np.stack([run[pop.name] for run in runs], axis=1)
                  for pop in network.populations}
    return {k: v[:, 0] for k, v in result.items()} if single else result


def _batch_feed_forward(network: Network, x: np.ndarray) -> dict[str, np.ndarray]:
    n_steps, batch = x.shape[:2]
    rasters: dict[str, np.ndarray] = {}
    start = 0
    for source in network.inputs:
        rasters[source.name] = x[..., start:start + source.size].astype(np.float64)
        start += source.size
    result: dict[str, np.ndarray] = {}
    for pop in network.populations:
        neuron = pop.neuron
        drive = np.zeros((n_steps, batch, pop.size))
        for proj in network.incoming(pop.name):
            d = proj.delay_steps
            if d < n_steps:
                drive[d:] += rasters[proj.pre][:-d] @ proj.weights.T
        k = _Propagators.of(neuron, network.dt)
        p22, n_ref = k.p22, k.n_ref
        v_inf = neuron.v_rest + neuron.r_m * pop.bias
        v = np.full((batch, pop.size), neuron.v_rest)
        ref = np.zeros((batch, pop.size), dtype=np.int64)
        out = np.zeros((n_steps, batch, pop.size), dtype=bool)
        for t in range(n_steps):
            free = ref == 0
            v = np.where(free, v_inf + (v + drive[t] - v_inf) * p22, neuron.v_reset)
            ref = np.where(free, 0, ref - 1)
            s = free & (v >= neuron.v_th)
            v = np.where(s, neuron.v_reset, v)
            ref = np.where(s, n_ref, ref)
            out[t] = s
        rasters[pop.name] = out.astype(np.float64)
        result[pop.name] = out
    return result
