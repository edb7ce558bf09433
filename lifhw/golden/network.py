"""The float reference for networks: exact integration of a :class:`~lifhw.network.Network`.

Every chip run is compared with this. Each population advances by exact
exponential propagators over each step of length ``dt`` (the same closed forms
as the single-neuron golden model, :func:`lifhw.golden.kernels._v_after`,
with its synaptic propagator :func:`~lifhw.golden.kernels._syn_factor`), in
the grid convention of :mod:`lifhw.golden.lif`:

* at the start of step ``k`` the spikes routed to it arrive (a spike emitted in
  step ``k - d`` through a projection with ``delay_steps = d``, see
  :func:`lifhw.network.run_network`): a delta synapse makes V jump by the
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
from typing import Any

import numba
import numpy as np

from lifhw import __version__
from lifhw.golden.kernels import _syn_factor
from lifhw.network import (
    Network,
    NetworkRun,
    Population,
    Synapses,
    gather_sum,
    run_network,
    split_inputs,
)


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


def _population_update(pop: Population, dt: float, record: np.ndarray | None) -> Any:
    p = pop.neuron
    size = pop.size
    v = np.full(size, p.v_rest) if pop.v_init is None else pop.v_init.copy()
    ie = np.zeros(size)
    ii = np.zeros(size)
    ref = np.zeros(size, dtype=np.int64)
    bias = np.ascontiguousarray(pop.bias, dtype=float)
    zeros = np.zeros(size)
    spikes = np.zeros(size, dtype=np.bool_)
    n_ref = round(p.t_ref / dt)
    decay_e = math.exp(-dt / p.tau_syn_exc) if p.tau_syn_exc > 0 else 0.0
    decay_i = math.exp(-dt / p.tau_syn_inh) if p.tau_syn_inh > 0 else 0.0
    p22 = math.exp(-dt / p.tau_m)
    f_e = _syn_factor(dt, p.tau_m, p.tau_syn_exc) if p.tau_syn_exc > 0 else 0.0
    f_i = _syn_factor(dt, p.tau_m, p.tau_syn_inh) if p.tau_syn_inh > 0 else 0.0

    def update(step: int, summed: Mapping[str, np.ndarray]) -> np.ndarray:
        dv = np.asarray(summed.get("delta", zeros), dtype=float)
        exc = np.asarray(summed.get("exc", zeros), dtype=float)
        inh = np.asarray(summed.get("inh", zeros), dtype=float)
        _step(v, ie, ii, ref, bias, dv, exc, inh, p.v_rest, p.v_th, p.v_reset, n_ref,
              p.r_m, p22, f_e, f_i, decay_e, decay_i, spikes)
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
    spikes, events = run_network(network, inputs, synapses_of(network), updates,
                                 accumulate=gather_sum)
    return NetworkRun(backend="golden", dt=network.dt, spikes=spikes, states=states,
                      events=events, meta={"lifhw_version": __version__,
                                           "convention": "grid"})
