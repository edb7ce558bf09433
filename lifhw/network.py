"""Networks of LIF neurons in float parameters: the input of chip mappers,
the RTL population core, the SNN code and the NIR bridge.

Semantics (SI units; one simulation step ``dt``):

* An :class:`InputPopulation` is a set of spike sources; its spikes are given
  per run as a boolean array (T, size).
* A :class:`Population` is ``size`` LIF neurons sharing one :class:`LIFParams`,
  plus a per-neuron constant ``bias`` current (A).
* A :class:`Projection` carries spikes from ``pre`` to ``post`` with a dense
  weight matrix of shape (post.size, pre.size) and a delay in steps (>= 1).
  Weight units follow the post population's synapse: with
  ``tau_syn_exc == tau_syn_inh == 0`` (delta synapse) a spike makes V jump by
  the weight in **volts**; with a current synapse a spike makes the synaptic
  current jump by the weight in **amperes** (then it decays with tau_syn;
  positive weights use tau_syn_exc, negative tau_syn_inh).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from lifhw.core import LIFParams, Trace
from lifhw.errors import ParamError


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
        v_init: Initial membrane per neuron (V), shape (size,); default ``v_rest``.
    """

    name: str
    size: int
    neuron: LIFParams
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0))
    v_init: np.ndarray | None = None

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
        if self.v_init is not None:
            v_init = np.broadcast_to(np.asarray(self.v_init, dtype=float), (self.size,)).copy()
            object.__setattr__(self, "v_init", v_init)

    @property
    def delta_synapses(self) -> bool:
        """True when input spikes are voltage jumps (no synaptic current)."""
        return self.neuron.tau_syn_exc == 0 and self.neuron.tau_syn_inh == 0


@dataclass(frozen=True, eq=False)
class Projection:
    """Weighted connection ``pre -> post``, dense or sparse.

    Args:
        pre: Name of the source population (input or LIF).
        post: Name of the target LIF population.
        weights: Shape (post.size, pre.size): a dense array, or a ``scipy.sparse``
            matrix (stored as a canonical CSR array); volts (delta) or amperes
            (current synapse).
        delay_steps: Synaptic delay in time steps (>= 1).
        synapse_delays: Optional per-synapse delays in steps (>= 1), one per stored
            entry of the sparse weights (CSR order); overrides ``delay_steps``.
    """

    pre: str
    post: str
    weights: Any
    delay_steps: int = 1
    synapse_delays: np.ndarray | None = None

    def __post_init__(self) -> None:
        where = f"{self.pre}->{self.post}"
        if sparse.issparse(self.weights):
            weights = sparse.csr_array(self.weights, dtype=float)
            weights.sum_duplicates()  # canonical: sorted indices, one entry per pair
        else:
            weights = np.asarray(self.weights, dtype=float)
            if weights.ndim != 2:
                raise ParamError(f"weights must be 2-D (post, pre), got {weights.shape}",
                                 path=where)
        if self.delay_steps < 1:
            raise ParamError("delay_steps must be >= 1", path=where)
        object.__setattr__(self, "weights", weights)
        if self.synapse_delays is not None:
            delays = np.asarray(self.synapse_delays, dtype=np.int64)
            if not sparse.issparse(weights) or delays.shape != (weights.nnz,):
                raise ParamError("synapse_delays needs sparse weights and one delay (steps) "
                                 "per stored synapse", path=where)
            if delays.size and delays.min() < 1:
                raise ParamError("synapse delays must be >= 1 step", path=where)
            object.__setattr__(self, "synapse_delays", delays)

    @property
    def is_sparse(self) -> bool:
        """True when the weights are a ``scipy.sparse`` CSR array."""
        return sparse.issparse(self.weights)

    @property
    def n_synapses(self) -> int:
        """Non-zero weights."""
        if sparse.issparse(self.weights):
            return int(np.count_nonzero(self.weights.data))
        return int(np.count_nonzero(self.weights))

    def dense_weights(self) -> np.ndarray:
        """The (post, pre) weights as a dense array (allocates post x pre floats)."""
        if sparse.issparse(self.weights):
            return np.asarray(self.weights.toarray())
        return self.weights


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
        return int(sum(p.n_synapses for p in self.projections))


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


def gather_sum(weights: np.ndarray, active: np.ndarray) -> np.ndarray:
    """``weights @ active`` for a boolean spike vector, summing only active columns.

    Exact for integers (and equal to the product up to float summation order),
    and much faster than a matrix product at sparse activity.
    """
    return weights[:, np.flatnonzero(active)].sum(axis=1)


@dataclass(frozen=True, eq=False)
class Synapses:
    """One routed projection for :func:`run_network`.

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
    weights: np.ndarray
    delay_steps: int = 1
    channel: str = "all"
    accumulate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None


#: Per-step neuron update of one population: (step, {channel: summed input
#: (size,)}) -> spikes (size,) bool. It owns and advances the population state.
Update = Callable[[int, Mapping[str, np.ndarray]], np.ndarray]


def run_network(
    network: Network,
    inputs: Mapping[str, np.ndarray],
    synapses: Sequence[Synapses],
    updates: Mapping[str, Update],
    *,
    accumulate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Route spikes through projections and step every population, in time order.

    At step ``k`` each LIF population (in ``network.populations`` order)
    receives, per channel, ``sum_proj W @ s_pre[k - d]`` and returns its spikes.
    Since ``d >= 1`` the order of populations inside a step does not matter.

    Args:
        network: Populations (sizes, order).
        inputs: Input population name -> boolean (T, size) (see :func:`split_inputs`).
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
    matmul = accumulate or (lambda w, s: w @ s)
    # Out-degree per pre neuron: one synaptic event per delivered non-zero synapse.
    fan_out = [np.count_nonzero(s.weights, axis=0) for s in synapses]
    channels: dict[str, set[str]] = {name: set() for name in sizes}
    for syn in synapses:
        channels[syn.post].add(syn.channel)
    zero_cache = {name: np.zeros(size, dtype=np.int64) for name, size in sizes.items()}
    synaptic_events = 0
    for k in range(n_steps):
        for pop in network.populations:
            summed: dict[str, np.ndarray] = {}
            for syn, fan in zip(synapses, fan_out, strict=True):
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


# ---------------------------------------------------------------------------
# The [network] section of parameter files
# ---------------------------------------------------------------------------

from lifhw.network_connectors import (  # noqa: E402
    CONNECTORS,
    check_budget,
    connect,
    default_budget_bytes,
)
from lifhw.params import NeuronSection  # noqa: E402  (params imports nothing from here)
from lifhw.schema import IDENTIFIER_RE, choice, integer, quantity  # noqa: E402
from lifhw.schema import field as schema_field  # noqa: E402
from lifhw.units import parse_quantity  # noqa: E402


@dataclass(frozen=True)
class PopulationSection:
    """``[network.populations.<name>]``: LIF neurons sharing one ``[...neuron]`` table."""

    neuron: NeuronSection = field(metadata={"doc": "the neuron (as in [neuron])"})
    size: int = integer(ge=1, doc="number of neurons")
    bias: float = quantity("A", 0.0, doc="constant input current of every neuron")
    bias_spread: float = schema_field(0.0, ge=0, doc="relative spread of the bias "
                                      "(uniform in bias*(1 +- spread), seeded)")
    v_init_min: float | None = quantity("V", None, doc="initial V: uniform in "
                                        "[v_init_min, v_init_max] (seeded); default v_rest")
    v_init_max: float | None = quantity("V", None, doc="upper end of the initial V range")


@dataclass(frozen=True)
class InputSection:
    """``[network.inputs.<name>]``: Poisson spike sources."""

    size: int = integer(ge=1, doc="number of sources")
    rate: float = quantity("Hz", ge=0, doc="Poisson rate of each source")


@dataclass(frozen=True)
class ProjectionSection:
    """``[[network.projections]]``: weights ``scale * M`` with M from a generator,
    an explicit list or a ``.npy`` file (dense), or -- with ``connector`` -- drawn
    directly in sparse form by a PyNN connector (``distribution`` then gives the
    per-synapse values; ``path`` names the connection file of ``connector = "file"``).

    ``scale`` is a quantity in volts (post with delta synapses) or amperes
    (current synapses); for ``weights``/``path`` it defaults to 1 SI unit.
    """

    pre: str = schema_field(doc="source population (input or LIF)")
    post: str = schema_field(doc="target LIF population")
    distribution: str = choice("constant", "uniform", "normal", "list", "file",
                               default="constant", doc="where M comes from")
    scale: str = schema_field("", doc="weight unit/scale, e.g. '0.5 mV' or '50 pA'")
    spread: float = schema_field(0.0, ge=0, doc="uniform: M in 1 +- spread; normal: sd")
    density: float = schema_field(1.0, gt=0, le=1, doc="probability that a synapse exists")
    seed: int = integer(0, ge=0, doc="seed of this projection's generator")
    weights: tuple[tuple[float, ...], ...] = schema_field((), doc="M for 'list' (post x pre)")
    path: str = schema_field("", doc="M for 'file': a .npy (post x pre), relative to the file")
    delay: float = quantity("s", 0.0, ge=0, doc="synaptic delay (rounded to steps, >= 1 step)")
    connector: str = choice(*CONNECTORS, default="",
                            doc="PyNN connector drawn in sparse form (see "
                                "lifhw.network_connectors); unset: the dense M above")
    p: float | None = schema_field(None, doc="fixed_probability: connection probability")
    indegree: int | None = integer(None, doc="fixed_indegree: sources per target")
    allow_self_connections: bool = schema_field(True, doc="a population onto itself: "
                                                "may a neuron connect to itself")
    connections: tuple[tuple[float, ...], ...] = schema_field(
        (), doc="connector 'list': rows (pre, post[, weight[, delay_s]]); weight x scale")


@dataclass(frozen=True)
class NetworkSection:
    """``[network]``: a whole runnable experiment (network + input spikes).

        [network]
        dt = "1 ms"
        t_stop = "1 s"
        seed = 3
        [network.inputs.stim]
        size = 20
        rate = "30 Hz"
        [network.populations.exc]
        size = 40
        [network.populations.exc.neuron]
        tau_m = "20 ms"  ...
        [[network.projections]]
        pre = "stim"
        post = "exc"
        distribution = "uniform"
        scale = "2 mV"
        spread = 0.5
        density = 0.3
    """

    inputs: dict[str, InputSection] = field(metadata={"doc": "spike sources by name"})
    populations: dict[str, PopulationSection] = field(
        metadata={"doc": "LIF populations by name"})
    t_stop: float = quantity("s", gt=0, doc="duration of the experiment")
    dt: float = quantity("s", 1e-3, gt=0, doc="simulation step")
    seed: int = integer(0, ge=0, doc="seed of the input spikes and bias spreads")
    projections: tuple[ProjectionSection, ...] = schema_field((), doc="connections")
    memory_budget_gb: float | None = schema_field(
        None, doc="refuse connections estimated to need more (GB); default half the RAM")
    base_dir: str = schema_field("", doc="(set by the loader) directory of the file")

    def validate(self) -> None:
        for kind, table in (("inputs", self.inputs), ("populations", self.populations)):
            for key in table:
                if not IDENTIFIER_RE.match(key):
                    raise ParamError(f"{key!r} is not a valid name", path=f"{kind}.{key}")
        if not self.populations:
            raise ParamError("a network needs at least one population", path="populations")
        if not self.inputs:
            raise ParamError("a network needs at least one input (rate = '0 Hz' is allowed)",
                             path="inputs")
        names = set(self.inputs) | set(self.populations)
        if len(names) != len(self.inputs) + len(self.populations):
            raise ParamError("input and population names must differ", path="inputs")
        if self.dt > self.t_stop:
            raise ParamError("dt is longer than t_stop", path="dt")
        for i, proj in enumerate(self.projections):
            where = f"projections[{i}]"
            if proj.pre not in names:
                raise ParamError(f"unknown population {proj.pre!r}", path=f"{where}.pre")
            if proj.post not in self.populations:
                raise ParamError(f"{proj.post!r} is not a LIF population",
                                 path=f"{where}.post")
            if proj.connector or proj.p is not None or proj.indegree is not None:
                self._validate_connector(i)
                self._scale(i)
                continue
            if proj.distribution == "list" and not proj.weights:
                raise ParamError("distribution 'list' needs weights", path=f"{where}.weights")
            if proj.distribution == "list":
                sizes = self._sizes()
                rows = {len(row) for row in proj.weights}
                if len(proj.weights) != sizes[proj.post] or rows != {sizes[proj.pre]}:
                    raise ParamError(f"weights must be {sizes[proj.post]} rows (post) of "
                                     f"{sizes[proj.pre]} numbers (pre)", path=f"{where}.weights")
            if proj.distribution == "file" and not proj.path:
                raise ParamError("distribution 'file' needs a path", path=f"{where}.path")
            if proj.distribution in ("constant", "uniform", "normal") and not proj.scale:
                raise ParamError("give the weight scale, e.g. '0.5 mV' or '50 pA'",
                                 path=f"{where}.scale")
            self._scale(i)

    def _validate_connector(self, index: int) -> None:
        proj = self.projections[index]
        where = f"projections[{index}]"
        kind = proj.connector
        if not kind:
            raise ParamError("p and indegree belong to a connector: set connector = "
                             "'fixed_probability' or 'fixed_indegree'", path=f"{where}.connector")
        if proj.density != 1.0:
            raise ParamError("density belongs to the dense form; with a connector use "
                             "connector = 'fixed_probability' and p", path=f"{where}.density")
        if proj.distribution in ("list", "file") or proj.weights:
            raise ParamError(f"distribution {proj.distribution!r} / weights give a dense "
                             "matrix; with a connector give per-synapse values by "
                             "distribution constant/uniform/normal or in the connection list",
                             path=f"{where}.distribution")
        if kind == "fixed_probability":
            if proj.p is None:
                raise ParamError("fixed_probability needs p", path=f"{where}.p")
            if not 0.0 <= proj.p <= 1.0:
                raise ParamError(f"p = {proj.p:g} is not a probability: it must lie in [0, 1]",
                                 path=f"{where}.p")
        elif proj.p is not None:
            raise ParamError(f"p is only for fixed_probability, not {kind!r}", path=f"{where}.p")
        if kind == "fixed_indegree":
            if proj.indegree is None:
                raise ParamError("fixed_indegree needs indegree", path=f"{where}.indegree")
            n_pre = self._sizes()[proj.pre]
            pool = n_pre - (1 if proj.pre == proj.post and not proj.allow_self_connections
                            else 0)
            if not 0 <= proj.indegree <= pool:
                raise ParamError(f"indegree {proj.indegree} does not fit: the source "
                                 f"population {proj.pre!r} offers {pool} distinct sources",
                                 path=f"{where}.indegree")
        elif proj.indegree is not None:
            raise ParamError(f"indegree is only for fixed_indegree, not {kind!r}",
                             path=f"{where}.indegree")
        if kind == "list" and not proj.connections:
            raise ParamError("connector 'list' needs connections = [[pre, post, weight], ...]",
                             path=f"{where}.connections")
        if kind != "list" and proj.connections:
            raise ParamError(f"connections are for connector 'list', not {kind!r}",
                             path=f"{where}.connections")
        if kind == "file" and not proj.path:
            raise ParamError("connector 'file' needs a path", path=f"{where}.path")
        if kind in ("all_to_all", "fixed_probability", "fixed_indegree", "one_to_one") \
                and not proj.scale:
            raise ParamError("give the weight scale, e.g. '0.5 mV' or '50 pA'",
                             path=f"{where}.scale")

    def budget_bytes(self, memory_budget_gb: float | None = None) -> float:
        """The memory budget for connections (bytes): the argument, the file's
        ``memory_budget_gb``, ``$LIFHW_MEMORY_BUDGET_GB``, or half the RAM."""
        gb = memory_budget_gb if memory_budget_gb is not None else self.memory_budget_gb
        if gb is not None:
            if not gb > 0:
                raise ParamError(f"memory budget must be > 0 GB, got {gb:g}",
                                 path="memory_budget_gb")
            return gb * 1e9
        return default_budget_bytes()

    def _scale(self, index: int) -> float:
        proj = self.projections[index]
        post = self.populations[proj.post].neuron
        delta = post.tau_syn_exc == 0 and post.tau_syn_inh == 0
        unit = "V" if delta else "A"
        if not proj.scale:
            return 1.0
        return parse_quantity(proj.scale, unit, path=f"projections[{index}].scale")

    def _sizes(self) -> dict[str, int]:
        sizes = {name: s.size for name, s in self.inputs.items()}
        sizes.update({name: s.size for name, s in self.populations.items()})
        return sizes

    def _matrix(self, index: int, shape: tuple[int, int]) -> np.ndarray:
        proj = self.projections[index]
        where = f"projections[{index}]"
        rng = np.random.default_rng([proj.seed, index])
        if proj.distribution == "constant":
            base = np.ones(shape)
        elif proj.distribution == "uniform":
            base = rng.uniform(1.0 - proj.spread, 1.0 + proj.spread, size=shape)
        elif proj.distribution == "normal":
            base = rng.normal(1.0, proj.spread, size=shape)
        elif proj.distribution == "list":
            base = np.asarray(proj.weights, dtype=float)
        else:
            file = Path(self.base_dir) / proj.path if self.base_dir else Path(proj.path)
            try:
                base = np.load(file, allow_pickle=False)
            except (OSError, ValueError) as err:
                raise ParamError(f"cannot read {file}: {err}", path=f"{where}.path") from None
            base = np.asarray(base, dtype=float)
        if base.shape != shape:
            raise ParamError(f"weights have shape {base.shape}, expected {shape} (post, pre)",
                             path=where)
        if proj.density < 1.0:
            base = base * (rng.random(shape) < proj.density)
        return base * self._scale(index)

    def network(self, name: str = "network", *,
                memory_budget_gb: float | None = None) -> Network:
        """The :class:`Network` this section describes.

        Args:
            name: Network name.
            memory_budget_gb: Overrides the file's ``memory_budget_gb``.

        Raises:
            ParamError: A projection whose estimated memory exceeds the budget
                (estimated before anything is allocated), or a bad connection file.
        """
        sizes = self._sizes()
        budget = self.budget_bytes(memory_budget_gb)
        rng = np.random.default_rng([self.seed, 1])
        v_rng = np.random.default_rng([self.seed, 2])
        pops = []
        for pop_name, sec in self.populations.items():
            bias = np.full(sec.size, sec.bias)
            if sec.bias_spread > 0:
                bias = bias * rng.uniform(1 - sec.bias_spread, 1 + sec.bias_spread, sec.size)
            lif = sec.neuron.lif()
            v_init = None
            if sec.v_init_min is not None or sec.v_init_max is not None:
                low = lif.v_rest if sec.v_init_min is None else sec.v_init_min
                high = low if sec.v_init_max is None else sec.v_init_max
                if high < low:
                    raise ParamError("v_init_max is below v_init_min",
                                     path=f"populations.{pop_name}.v_init_max")
                v_init = v_rng.uniform(low, high, sec.size)
            pops.append(Population(pop_name, sec.size, lif, bias, v_init))
        projs = []
        for i, proj in enumerate(self.projections):
            delay = max(1, round(proj.delay / self.dt))
            shape = (sizes[proj.post], sizes[proj.pre])
            if proj.connector:
                weights, delays = connect(
                    proj, n_pre=shape[1], n_post=shape[0],
                    same_population=proj.pre == proj.post, scale=self._scale(i), dt=self.dt,
                    base_dir=self.base_dir, rng=np.random.default_rng([proj.seed, i]),
                    budget_bytes=budget, where=f"projections[{i}]")
                projs.append(Projection(proj.pre, proj.post, weights, delay, delays))
                continue
            # The dense form: post x pre floats, plus the generator's draws.
            check_budget(float(shape[0]) * shape[1], budget, where=f"projections[{i}]",
                         bytes_per_synapse=24, what="dense matrix entries (post x pre)")
            weights = self._matrix(i, shape)
            projs.append(Projection(proj.pre, proj.post, weights, delay))
        inputs = tuple(InputPopulation(n, s.size) for n, s in self.inputs.items())
        return Network(name=name, inputs=inputs, populations=tuple(pops),
                       projections=tuple(projs), dt=self.dt)

    @property
    def n_steps(self) -> int:
        return round(self.t_stop / self.dt)

    def input_spikes(self) -> np.ndarray:
        """Poisson input spikes (T, n_in), the inputs side by side in file order.

        Each source spikes in a step with probability ``min(rate dt, 1)``
        (Bernoulli approximation of a Poisson process on the grid), seeded by
        ``seed``.
        """
        rng = np.random.default_rng([self.seed, 0])
        columns = [rng.random((self.n_steps, s.size)) < min(s.rate * self.dt, 1.0)
                   for s in self.inputs.values()]
        if not columns:
            return np.zeros((self.n_steps, 0), dtype=bool)
        return np.concatenate(columns, axis=1)


    def input_events(self, chunk_steps: int = 4096) -> dict[str, Any]:
        """The same Poisson input spikes as :meth:`input_spikes`, as events.

        Returns ``{"n_steps": T, name: (steps, indices), ...}`` (the input form of
        :func:`lifhw.golden.event_engine.simulate_events`), drawn in blocks of
        steps so that no (T, n_in) array is allocated.
        """
        rng = np.random.default_rng([self.seed, 0])
        out: dict[str, Any] = {"n_steps": self.n_steps}
        for name, s in self.inputs.items():
            prob = min(s.rate * self.dt, 1.0)
            steps_parts, idx_parts = [], []
            for start in range(0, self.n_steps, chunk_steps):
                rows = min(chunk_steps, self.n_steps - start)
                st, idx = np.nonzero(rng.random((rows, s.size)) < prob)
                steps_parts.append(st.astype(np.int64) + start)
                idx_parts.append(idx.astype(np.int64))
            out[name] = (np.concatenate(steps_parts) if steps_parts else np.zeros(0, np.int64),
                         np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64))
        return out


def load_experiment(path: str | Path) -> tuple[Network, np.ndarray]:
    """Network and input spikes of a parameter file with a ``[network]`` section."""
    from lifhw import params

    pf = params.load(path)
    section: NetworkSection = pf.require("network")
    try:
        return section.network(pf.name), section.input_spikes()
    except ParamError as err:  # e.g. a weight file of the wrong shape
        raise err.located(path_prefix="network", source=str(path)) from None


def load_run(path: str | Path, *, t_stop: float | None = None,
             memory_budget_gb: float | None = None) -> tuple[Network, dict[str, Any]]:
    """Network and input spikes *as events* of a ``[network]`` file, for large runs.

    Args:
        path: Parameter file with a ``[network]`` section.
        t_stop: Override the file's ``t_stop`` (s).
        memory_budget_gb: Override the connection memory budget.

    Returns:
        (network, input events ``{"n_steps": T, name: (steps, indices)}``).
    """
    import dataclasses

    from lifhw import params

    pf = params.load(path)
    section: NetworkSection = pf.require("network")
    try:
        if t_stop is not None:
            if not t_stop >= section.dt:
                raise ParamError(f"t_stop {t_stop:g} s is shorter than one step "
                                 f"({section.dt:g} s)", path="t_stop")
            section = dataclasses.replace(section, t_stop=t_stop)
        network = section.network(pf.name, memory_budget_gb=memory_budget_gb)
        return network, section.input_events()
    except ParamError as err:
        raise err.located(path_prefix="network", source=str(path)) from None
