"""The spike-routing engine shared by the golden network referee and every chip simulator.

:func:`route_spikes` steps a :class:`~lifhw.network.types.Network` in time
order: at step ``k`` each LIF population receives, per input channel, the sum
over its incoming routed projections (:class:`Synapses`) of ``W @ s_pre[k - d]``
and hands it to the population's own per-step update (an :data:`Update`),
which owns the neuron state (floats for golden, integers for a chip). The
engine also counts the events the energy estimates need.

Only three operations touch a weight matrix here -- its shape, the out-degree
of each pre neuron (:func:`fan_out`) and the product with a spike vector (the
``accumulate`` callback, :func:`gather_sum` by default for floats) -- so a
sparse matrix can later be routed by changing those, not the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lifhw.network.types import Network, Weights, fan_out

#: ``(W, s) -> W @ s`` for one projection and one boolean spike vector ``s``
#: (cast to the weights' dtype).
Accumulate = Callable[[Weights, np.ndarray], np.ndarray]

#: Per-step neuron update of one population: (step, {channel: summed input
#: (size,)}) -> spikes (size,) bool. It owns and advances the population state.
Update = Callable[[int, Mapping[str, np.ndarray]], np.ndarray]


def gather_sum(weights: Weights, active: np.ndarray) -> np.ndarray:
    """``weights @ active`` for a boolean spike vector, summing only active columns.

    Exact for integers (and equal to the product up to float summation order),
    and much faster than a matrix product at sparse activity.
    """
    return weights[:, np.flatnonzero(active)].sum(axis=1)


@dataclass(frozen=True, eq=False)
class Synapses:
    """One routed projection for :func:`route_spikes`.

    Args:
        pre, post: Population names.
        weights: (post, pre) in the chip's units (integers or floats).
        delay_steps: Delay d >= 1: a spike of step k is input of step k + d.
        channel: Which input of ``post`` it feeds (``"exc"``/``"inh"``, an axon
            type, ``"all"``...): the per-step update receives a sum per channel.
        accumulate: ``(W, s) -> input`` for this projection (e.g. Loihi's
            weight-exponent shift after the sum); default ``W @ s``.
    """

    pre: str
    post: str
    weights: Weights
    delay_steps: int = 1
    channel: str = "all"
    accumulate: Accumulate | None = None


def route_spikes(
    network: Network,
    inputs: Mapping[str, np.ndarray],
    synapses: Sequence[Synapses],
    updates: Mapping[str, Update],
    *,
    accumulate: Accumulate | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Route spikes through projections and step every population, in time order.

    At step ``k`` each LIF population (in ``network.populations`` order)
    receives, per channel, ``sum_proj W @ s_pre[k - d]`` and returns its spikes.
    Since ``d >= 1`` the order of populations inside a step does not matter.

    Args:
        network: Populations (sizes, order).
        inputs: Input population name -> boolean (T, size) (see
            :func:`lifhw.network.split_inputs`).
        synapses: Routed projections.
        updates: LIF population name -> per-step update function.
        accumulate: ``(W, s) -> W @ s`` replacement (e.g. integer-exact or
            saturating sums); default a float/integer matrix product.

    Returns:
        (spikes per LIF population (T, size) bool, event counts ``spikes``,
        ``synaptic_events``, ``neuron_updates``).
    """
    n_steps = next(iter(inputs.values())).shape[0] if inputs else 0
    sizes = {p.name: p.size for p in network.populations}
    spikes = {name: np.zeros((n_steps, size), dtype=bool) for name, size in sizes.items()}
    rasters: dict[str, np.ndarray] = {**inputs, **spikes}
    matmul: Accumulate = accumulate or (lambda w, s: w @ s)
    # Out-degree per pre neuron: one synaptic event per delivered non-zero synapse.
    fans = [fan_out(s.weights) for s in synapses]
    channels: dict[str, set[str]] = {name: set() for name in sizes}
    for syn in synapses:
        channels[syn.post].add(syn.channel)
    zero_cache = {name: np.zeros(size, dtype=np.int64) for name, size in sizes.items()}
    synaptic_events = 0
    for k in range(n_steps):
        for pop in network.populations:
            summed: dict[str, np.ndarray] = {}
            for syn, fan in zip(synapses, fans, strict=True):
                if syn.post != pop.name:
                    continue
                src = k - syn.delay_steps
                if src < 0:
                    continue
                active = rasters[syn.pre][src]
                if not active.any():
                    continue
                synaptic_events += int(fan[active].sum())
                combine = syn.accumulate or matmul
                contribution = combine(syn.weights, active.astype(syn.weights.dtype))
                if syn.channel in summed:
                    summed[syn.channel] = summed[syn.channel] + contribution
                else:
                    summed[syn.channel] = contribution
            for channel in channels[pop.name]:
                if channel not in summed:
                    summed[channel] = zero_cache[pop.name]
            spikes[pop.name][k] = updates[pop.name](k, summed)
    events = {"spikes": int(sum(int(s.sum()) for s in spikes.values())),
              "synaptic_events": synaptic_events,
              "neuron_updates": n_steps * sum(sizes.values())}
    return spikes, events
