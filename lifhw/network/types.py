"""The network types: populations of LIF neurons and weighted projections, in
float parameters, and the spikes of a run.

They are the input of chip mappers, the RTL population core, the SNN code and
the NIR bridge, and :class:`NetworkRun` is what the golden referee and every
chip simulator return.

Semantics (SI units; one simulation step ``dt``):

* An :class:`InputPopulation` is a set of spike sources; its spikes are given
  per run as a boolean array (T, size).
* A :class:`Population` is ``size`` LIF neurons sharing one :class:`LIFParams`,
  plus a per-neuron constant ``bias`` current (A).
* A :class:`Projection` carries spikes from ``pre`` to ``post`` with a weight
  matrix of shape (post.size, pre.size) and a delay in steps (>= 1).
  Weight units follow the post population's synapse: with
  ``tau_syn_exc == tau_syn_inh == 0`` (delta synapse) a spike makes V jump by
  the weight in **volts**; with a current synapse a spike makes the synaptic
  current jump by the weight in **amperes** (then it decays with tau_syn;
  positive weights use tau_syn_exc, negative tau_syn_inh).

Weights are dense today. Code that only needs the matrix's shape, its
non-zero count or ``W @ s`` goes through :data:`Weights` and
:func:`fan_out`, so a sparse (CSR) matrix can be
admitted later in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lifhw.core import LIFParams, Trace
from lifhw.errors import ParamError

#: A projection's weight matrix, shape (post, pre). Dense for now; the one
#: alias to widen when sparse projections arrive.
Weights = np.ndarray


def fan_out(weights: Weights) -> np.ndarray:
    """Non-zero synapses per pre neuron (out-degree), shape (pre,)."""
    return np.count_nonzero(weights, axis=0)


@dataclass(frozen=True)
class InputPopulation:
    """Spike sources (no dynamics)."""

    name: str
    size: int


@dataclass(frozen=True, eq=False)
class Population:
    """LIF neurons sharing one parameter set.

    Args:
        name: Unique population name.
        size: Number of neurons.
        neuron: Their parameters.
        bias: Constant input current per neuron (A), shape (size,).
    """

    name: str
    size: int
    neuron: LIFParams
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        bias = np.asarray(self.bias, dtype=float)
        if bias.size == 0:
            bias = np.zeros(self.size)
        elif bias.ndim == 0:
            bias = np.full(self.size, float(bias))
        if bias.shape != (self.size,):
            raise ParamError(f"bias has shape {bias.shape}, expected ({self.size},)",
                             path=f"{self.name}.bias")
        object.__setattr__(self, "bias", bias)

    @property
    def delta_synapses(self) -> bool:
        """True when input spikes are voltage jumps (no synaptic current)."""
        return self.neuron.tau_syn_exc == 0 and self.neuron.tau_syn_inh == 0


@dataclass(frozen=True, eq=False)
class Projection:
    """Weighted connection ``pre -> post``.

    Args:
        pre: Name of the source population (input or LIF).
        post: Name of the target LIF population.
        weights: Shape (post.size, pre.size); volts (delta) or amperes (current synapse).
        delay_steps: Synaptic delay in time steps (>= 1).
    """

    pre: str
    post: str
    weights: Weights
    delay_steps: int = 1

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights, dtype=float)
        if weights.ndim != 2:
            raise ParamError(f"weights must be 2-D (post, pre), got {weights.shape}",
                             path=f"{self.pre}->{self.post}")
        if self.delay_steps < 1:
            raise ParamError("delay_steps must be >= 1", path=f"{self.pre}->{self.post}")
        object.__setattr__(self, "weights", weights)


@dataclass(frozen=True, eq=False)
class Network:
    """Populations and projections, checked for consistent names and shapes.

    Args:
        name: Network name.
        inputs: Spike-source populations.
        populations: LIF populations, in a topological order where possible.
        projections: Connections.
        dt: Simulation step (s).
    """

    name: str
    inputs: tuple[InputPopulation, ...]
    populations: tuple[Population, ...]
    projections: tuple[Projection, ...]
    dt: float = 1e-3

    def __post_init__(self) -> None:
        names = [p.name for p in self.inputs] + [p.name for p in self.populations]
        if len(set(names)) != len(names):
            raise ParamError(f"duplicate population names in {names}", path="network")
        sizes = {p.name: p.size for p in self.inputs}
        sizes.update({p.name: p.size for p in self.populations})
        lif_names = {p.name for p in self.populations}
        for proj in self.projections:
            where = f"projection {proj.pre}->{proj.post}"
            if proj.pre not in sizes:
                raise ParamError(f"unknown pre population {proj.pre!r}", path=where)
            if proj.post not in lif_names:
                raise ParamError(f"post {proj.post!r} is not a LIF population", path=where)
            expected = (sizes[proj.post], sizes[proj.pre])
            if proj.weights.shape != expected:
                raise ParamError(f"weights shape {proj.weights.shape}, expected {expected}",
                                 path=where)
        if not self.dt > 0:
            raise ParamError("dt must be > 0 s", path="network.dt")

    def population(self, name: str) -> Population:
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise KeyError(name)

    def size_of(self, name: str) -> int:
        for source in self.inputs:
            if source.name == name:
                return source.size
        return self.population(name).size

    def incoming(self, name: str) -> tuple[Projection, ...]:
        """Projections whose post is ``name``."""
        return tuple(p for p in self.projections if p.post == name)

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    @property
    def n_synapses(self) -> int:
        return int(sum(int(fan_out(p.weights).sum()) for p in self.projections))


@dataclass(frozen=True, eq=False)
class NetworkRun:
    """Spikes (and optionally states) of every LIF population of a network run.

    Produced alike by the float golden simulator (:mod:`lifhw.golden.network`)
    and by every chip's bit-accurate simulator (:mod:`lifhw.chips`), so that the
    comparison code sees one type.

    Time convention: step ``k`` covers ``[k dt, (k + 1) dt)``; a spike emitted in
    step ``k`` is stamped at ``(k + 1) dt`` (the grid convention of
    :mod:`lifhw.golden.lif`).

    Args:
        backend: ``golden``, ``loihi``, ``truenorth``, ...
        dt: Time step in biological time (s).
        spikes: Population name -> boolean array (T, size).
        states: Population name -> state name -> array (T, size), e.g. ``v``
            (V for golden, chip integers for chips) -- only when recorded.
        events: Event counts for the energy estimate: ``spikes`` (emitted),
            ``synaptic_events`` (spike deliveries to non-zero synapses),
            ``neuron_updates`` (neuron-steps computed).
        meta: Provenance.
    """

    backend: str
    dt: float
    spikes: Mapping[str, np.ndarray]
    states: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    events: Mapping[str, int] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        """Number of simulated steps T."""
        return int(next(iter(self.spikes.values())).shape[0]) if self.spikes else 0

    @property
    def t_stop(self) -> float:
        """Simulated duration (s)."""
        return self.n_steps * self.dt

    def spike_counts(self, population: str) -> np.ndarray:
        """Spikes per neuron of one population, shape (size,)."""
        return self.spikes[population].sum(axis=0).astype(np.int64)

    def rates_hz(self, population: str) -> np.ndarray:
        """Mean firing rate per neuron (Hz)."""
        t_stop = self.t_stop
        return self.spike_counts(population) / t_stop if t_stop > 0 else \
            np.zeros(self.spikes[population].shape[1])

    def to_trace(self, population: str) -> Trace:
        """The spikes of one population as a population :class:`~lifhw.core.Trace`."""
        raster = self.spikes[population]
        steps, neurons = np.nonzero(raster)
        order = np.lexsort((steps, neurons))
        return Trace(
            t=np.zeros(0), v=np.zeros(0),
            spike_times=(steps[order] + 1) * self.dt,
            spike_neurons=neurons[order].astype(np.int64),
            n_neurons=raster.shape[1], t_stop=self.t_stop, backend=self.backend,
            meta={"population": population, "dt_s": self.dt, **dict(self.meta)},
        )


def split_inputs(network: Network,
                 input_spikes: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Input spikes per input population, checked.

    Args:
        network: The network (its ``inputs`` fix the column order).
        input_spikes: Boolean (T, sum of input sizes), the input populations side
            by side in ``network.inputs`` order, or a mapping name -> (T, size).

    Returns:
        Input population name -> boolean array (T, size).

    Raises:
        ParamError: Wrong shape, missing population, or no input population at all.
    """
    if not network.inputs:
        raise ParamError("the network has no input population; add one (it may stay "
                         "silent): the input spikes fix the number of steps")
    if isinstance(input_spikes, Mapping):
        out = {}
        n_steps = None
        for pop in network.inputs:
            if pop.name not in input_spikes:
                raise ParamError(f"no input spikes for input population {pop.name!r}")
            array = np.asarray(input_spikes[pop.name]).astype(bool)
            if array.ndim != 2 or array.shape[1] != pop.size:
                raise ParamError(f"input spikes of {pop.name!r} have shape {array.shape}, "
                                 f"expected (T, {pop.size})")
            if n_steps is not None and array.shape[0] != n_steps:
                raise ParamError("input populations have different numbers of steps")
            n_steps = array.shape[0]
            out[pop.name] = array
        return out
    array = np.asarray(input_spikes).astype(bool)
    total = sum(pop.size for pop in network.inputs)
    if array.ndim != 2 or array.shape[1] != total:
        raise ParamError(f"input spikes have shape {array.shape}, expected (T, {total})")
    out = {}
    start = 0
    for pop in network.inputs:
        out[pop.name] = array[:, start:start + pop.size]
        start += pop.size
    return out
