"""Placement: neurons onto cores and chips, and what that costs in traffic and energy.

A chip mapper (``map`` -> ``quantize``) decides the integers of a network; this
module decides *where* they live. Every target declares its per-core and
per-chip resources as data (:class:`ChipResources`, each figure a
:class:`Figure` with its source and whether it is published or assumed), and
its ``place(spec)`` calls :func:`place_spec`, one greedy partitioner shared by
all targets:

* **Populations in network order, neurons in index order, contiguous slices**
  (the way sPyNNaker splits an application vertex into machine vertices and
  Lava/NxSDK fill compartments core by core). A core is closed when the next
  neuron would exceed the core's neurons, its *input lines* (TrueNorth axons,
  BrainScaleS-2 synapse rows: the distinct presynaptic sources -- times the
  lines each source takes, e.g. one row per sign -- that reach any neuron of
  the core) or its synapse memory. A single neuron whose own input lines
  exceed a core's is placed alone and reported (:attr:`Placement.violations`).
* **Cores fill chips in order**: core ``k`` sits on chip ``k // cores_per_chip``,
  so a population's cores stay together.
* **What the hardware inserts**: a TrueNorth neuron drives exactly one axon
  (Merolla et al. 2014), so a source that must reach ``F > 1`` axons sends its
  spike to a relay (splitter) core whose ``F`` relay neurons each drive one of
  them; every spike of that population then arrives one tick later
  (:attr:`Placement.extra_delay_steps`). :meth:`Placement.placed_network`
  inserts those relay populations as real neurons, so the bit-accurate
  simulators run them (:func:`simulate_placed`).
* **Traffic**: a spike of source neuron ``j`` is one packet to every distinct
  core (other than its own) holding one of its targets -- the multicast fan-out
  of Loihi's mesh, SpiNNaker's router and TrueNorth's spike packets counted per
  destination core -- and one inter-chip packet to every other chip with a
  target. Spikes per second of traffic are those packet counts times the
  neurons' firing rates (measured rates when given, else 1 Hz each: the figure
  is then "packets per second per Hz of activity"). Input populations come from
  off chip (``external`` packets) except on SpiNNaker, where spike sources run
  on cores of their own.

Connectivity is read through :func:`connectivity` only (the non-zero pattern as
a CSR matrix), so sparse projections are counted from their non-zeros and never
densified.

A METIS-style graph partitioner would reorder neurons to cut traffic; for the
feed-forward and population-structured networks lifhw maps, contiguous slices
already keep each population's targets on few cores, and no maintained
partitioner is a dependency of the project, so the greedy placer is the one
used (see docs/placement.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import sparse

from lifhw.chips.base import ChipRun, ChipSpec, EnergyEstimate, EnergyTerm, Violation
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.network import InputPopulation, Network, Population, Projection

#: How a source occupies input lines of a core: ``one`` line per source,
#: ``sign`` one line per sign its weights use there (BrainScaleS-2 rows are
#: excitatory or inhibitory), ``copies`` a fixed number per source (TrueNorth
#: axon copies, see :func:`lines_of`).
LINE_MODES = ("one", "sign", "copies")


@dataclass(frozen=True)
class Figure:
    """One hardware figure with its source.

    Args:
        value: The number (SI units, or a count).
        source: Paper/table or repository/file it comes from.
        published: False when the value is this project's assumption or derived
            from published figures by a stated rule (the source says how).
    """

    value: float
    source: str
    published: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "published": self.published}


@dataclass(frozen=True)
class CoreResources:
    """What one core offers. ``None``: no limit of that kind on this target.

    Args:
        neurons: Neurons (compartments, neuron circuits) per core.
        input_lines: Distinct input lines per core (TrueNorth axons,
            BrainScaleS-2 synapse rows).
        synapses: Stored synapses per core (synaptic memory).
    """

    neurons: Figure | None
    input_lines: Figure | None = None
    synapses: Figure | None = None


@dataclass(frozen=True)
class ChipResources:
    """A target's per-core and per-chip resources and placement costs, as data.

    Args:
        target: Target name.
        core_name: What a core is on this target (``neuro-core``, ``hemisphere``...).
        core: Per-core limits.
        cores_per_chip: Cores of one chip (``None``: the design has no chip).
        line_mode: How sources take input lines (:data:`LINE_MODES`).
        relay_fan_out: True when a neuron can drive one input line only
            (TrueNorth): more targets need relay neurons.
        relay_delay_steps: Extra steps a relay stage adds.
        inputs_on_cores: True when input populations run on cores (SpiNNaker
            spike-source cores); else they arrive from off chip.
        static_power_per_core_w: Standing power of a used core (W).
        energy_per_core_packet_j: Energy of one inter-core packet (J).
        energy_per_chip_packet_j: Energy of one inter-chip packet (J).
        notes: What is not modelled, said once.
        energy_relation: How :meth:`Placement.energy` relates to the target's
            own ``energy(config, run)``: ``adds`` (the per-event figures leave
            out static power and routing) or ``alternative`` (they already
            include them: summing the two would count them twice).
    """

    target: str
    core_name: str
    core: CoreResources
    cores_per_chip: Figure | None
    line_mode: str = "one"
    relay_fan_out: bool = False
    relay_delay_steps: int = 0
    inputs_on_cores: bool = False
    static_power_per_core_w: Figure | None = None
    energy_per_core_packet_j: Figure | None = None
    energy_per_chip_packet_j: Figure | None = None
    notes: tuple[str, ...] = ()
    energy_relation: str = "adds"

    def __post_init__(self) -> None:
        if self.line_mode not in LINE_MODES:
            raise ValueError(f"line_mode must be one of {LINE_MODES}")
        if self.energy_relation not in ("adds", "alternative"):
            raise ValueError("energy_relation must be 'adds' or 'alternative'")

    def figures(self) -> dict[str, Figure]:
        """Every declared figure by name (for tables and the JSON output)."""
        named = {"neurons_per_core": self.core.neurons,
                 "input_lines_per_core": self.core.input_lines,
                 "synapses_per_core": self.core.synapses,
                 "cores_per_chip": self.cores_per_chip,
                 "static_power_per_core_w": self.static_power_per_core_w,
                 "energy_per_core_packet_j": self.energy_per_core_packet_j,
                 "energy_per_chip_packet_j": self.energy_per_chip_packet_j}
        return {k: v for k, v in named.items() if v is not None}

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "core": self.core_name,
                "figures": {k: v.as_dict() for k, v in self.figures().items()},
                "energy_relation": self.energy_relation, "notes": list(self.notes)}


def _limit(figure: Figure | None) -> int | None:
    return None if figure is None else int(figure.value)


# --------------------------------------------------------------------------------------
# Connectivity (the one place that reads a weight matrix)
# --------------------------------------------------------------------------------------


def connectivity(weights: Any) -> sparse.csr_array:
    """Non-zero pattern of a (post, pre) weight matrix as a boolean CSR array.

    Dense arrays are converted once; a scipy sparse matrix keeps its non-zeros
    (explicit zeros dropped) and is never densified.
    """
    if sparse.issparse(weights):
        csr = sparse.csr_array(weights, copy=True)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        return sparse.csr_array((np.ones(csr.nnz, dtype=bool), csr.indices, csr.indptr),
                                shape=csr.shape)
    return sparse.csr_array(np.asarray(weights) != 0)


def _signed(weights: Any, sign: int) -> sparse.csr_array:
    if sparse.issparse(weights):
        csr = sparse.csr_array(weights)
        return connectivity(csr.multiply(csr * sign > 0))
    w = np.asarray(weights)
    return connectivity(w * sign > 0)


def signs_used(weights: Any) -> tuple[int, ...]:
    """The signs (1, -1) a weight matrix's non-zeros use (dense or sparse)."""
    return tuple(sign for sign in (1, -1) if _signed(weights, sign).nnz)


def lines_of(weights: Any, mode: str, copies: int = 1) -> tuple[sparse.csr_array, ...]:
    """Input-line masks of one projection: each mask (post, pre) is one line per source.

    ``one``: the non-zero pattern; ``sign``: one mask per sign used (positive,
    negative); ``copies``: ``copies`` identical masks (every source takes that
    many lines on each core it reaches).
    """
    if mode == "sign":
        masks = [m for m in (_signed(weights, 1), _signed(weights, -1)) if m.nnz]
        return tuple(masks) or (connectivity(weights),)
    mask = connectivity(weights)
    return (mask,) * (copies if mode == "copies" else 1)


@dataclass(frozen=True, eq=False)
class Edge:
    """One projection as the placer sees it.

    Args:
        pre, post: Population names.
        lines: Input-line masks (post, pre), see :func:`lines_of`.
        synapses: Non-zero pattern (post, pre) (what synaptic memory stores).
        delay_steps: The projection's delay.
    """

    pre: str
    post: str
    lines: tuple[sparse.csr_array, ...]
    synapses: sparse.csr_array
    delay_steps: int = 1


def edges_of(network: Network, weights: Mapping[str, Any] | None = None, *,
             mode: str = "one", copies: Mapping[str, int] | None = None) -> list[Edge]:
    """Edges of a network (weights from ``weights`` by ``"pre->post"`` when given)."""
    out = []
    for proj in network.projections:
        key = f"{proj.pre}->{proj.post}"
        w = proj.weights if weights is None else weights[key]
        n_copies = (copies or {}).get(key, 1)
        out.append(Edge(proj.pre, proj.post, lines_of(w, mode, n_copies), connectivity(w),
                        proj.delay_steps))
    return out


# --------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoreUse:
    """One used core.

    Args:
        index: Global core index (cores fill chips in order).
        chip: Chip index.
        population: Population whose neurons (or relays, or sources) it holds.
        kind: ``neurons``, ``relay`` or ``source``.
        first: First neuron index of the slice (relay cores: first relay neuron).
        count: Neurons on the core.
        synapses: Synapses stored on the core.
        lines: Input lines the core uses.
    """

    index: int
    chip: int
    population: str
    kind: str
    first: int
    count: int
    synapses: int
    lines: int


@dataclass(frozen=True)
class RelayStage:
    """Relay (splitter) neurons inserted for one source population.

    Args:
        source: The source population.
        neurons: Relay neurons (the sum of the fan-outs ``F`` of its neurons).
        depth: Relay levels (1 when every ``F`` fits one relay core, else 2).
        fan_out: Input lines each source neuron must reach, shape (size,).
    """

    source: str
    neurons: int
    depth: int
    fan_out: np.ndarray


@dataclass(frozen=True, eq=False)
class Placement:
    """Where a network lives on a target, and the resulting traffic.

    Args:
        resources: The target's declared resources.
        network: The network placed (the spec's float network).
        cores: Every used core in index order.
        relays: Source population -> inserted relay stage.
        core_of: Population -> core index of each neuron, shape (size,).
        core_packets: Population -> inter-core packets per spike of each neuron.
        chip_packets: Population -> inter-chip packets per spike of each neuron.
        external_packets: Input population -> packets per spike into the chips
            (inputs that do not run on cores).
        rates_hz: Population -> firing rate of each neuron used for the traffic.
        rates_measured: True when the rates came from a run.
        violations: Neurons that cannot be placed (fan-in beyond a core).
        order: Population -> neuron indices in placement order (empty: index
            order, ``CoreUse.first`` is then a neuron index).
    """

    resources: ChipResources
    network: Network
    cores: tuple[CoreUse, ...]
    relays: Mapping[str, RelayStage]
    core_of: Mapping[str, np.ndarray]
    core_packets: Mapping[str, np.ndarray]
    chip_packets: Mapping[str, np.ndarray]
    external_packets: Mapping[str, np.ndarray]
    rates_hz: Mapping[str, np.ndarray]
    rates_measured: bool = False
    violations: tuple[Violation, ...] = ()
    order: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.resources.target

    @property
    def cores_used(self) -> int:
        return len(self.cores)

    @property
    def chips_used(self) -> int:
        return (max(c.chip for c in self.cores) + 1) if self.cores else 0

    @property
    def fits(self) -> bool:
        """True when every neuron could be placed (chips are added as needed)."""
        return not self.violations

    @property
    def extra_delay_steps(self) -> dict[str, int]:
        """Projection ``pre->post`` -> steps its spikes arrive later than unplaced."""
        delay = self.resources.relay_delay_steps
        return {f"{p.pre}->{p.post}": self.relays[p.pre].depth * delay
                for p in self.network.projections if p.pre in self.relays}

    def _rate_sum(self, packets: Mapping[str, np.ndarray]) -> float:
        return float(sum(float(np.dot(self.rates_hz[name], counts))
                         for name, counts in packets.items()))

    @property
    def core_spikes_per_s(self) -> float:
        """Inter-core packets per second at :attr:`rates_hz`."""
        return self._rate_sum(self.core_packets)

    @property
    def chip_spikes_per_s(self) -> float:
        """Inter-chip packets per second at :attr:`rates_hz`."""
        return self._rate_sum(self.chip_packets)

    @property
    def external_spikes_per_s(self) -> float:
        """Packets per second from off-chip inputs into the chips."""
        return self._rate_sum(self.external_packets)

    @property
    def extra_latency_s(self) -> float:
        """Largest extra delay placement adds to a projection (s of network time)."""
        return max(self.extra_delay_steps.values(), default=0) * self.network.dt

    @property
    def relay_neurons(self) -> int:
        return sum(r.neurons for r in self.relays.values())

    def neurons_per_core(self) -> np.ndarray:
        return np.array([c.count for c in self.cores], dtype=np.int64)

    def synapses_per_core(self) -> np.ndarray:
        return np.array([c.synapses for c in self.cores], dtype=np.int64)

    def table(self) -> list[dict[str, Any]]:
        """One row per population (and relay stage): cores, neurons, synapses, lines."""
        rows: list[dict[str, Any]] = []
        for kind, name in [(c.kind, c.population) for c in self.cores]:
            if rows and rows[-1]["population"] == name and rows[-1]["kind"] == kind:
                continue
            cores = [c for c in self.cores if c.population == name and c.kind == kind]
            rows.append({
                "population": name, "kind": kind, "cores": len(cores),
                "chips": sorted({c.chip for c in cores}),
                "neurons": sum(c.count for c in cores),
                "max_neurons_per_core": max(c.count for c in cores),
                "synapses": sum(c.synapses for c in cores),
                "max_synapses_per_core": max(c.synapses for c in cores),
                "max_lines_per_core": max(c.lines for c in cores)})
        return rows

    def summary(self) -> dict[str, Any]:
        """The resource table: cores, chips, synapses per core, traffic per second."""
        syn = self.synapses_per_core()
        return {
            "target": self.target, "core": self.resources.core_name,
            "cores_used": self.cores_used, "chips_used": self.chips_used,
            "neurons": int(self.network.n_neurons), "relay_neurons": self.relay_neurons,
            "max_synapses_per_core": int(syn.max()) if syn.size else 0,
            "mean_synapses_per_core": float(syn.mean()) if syn.size else 0.0,
            "core_spikes_per_s": self.core_spikes_per_s,
            "chip_spikes_per_s": self.chip_spikes_per_s,
            "external_spikes_per_s": self.external_spikes_per_s,
            "rates": "measured" if self.rates_measured else "1 Hz per neuron (nominal)",
            "extra_delay_steps": self.extra_delay_steps,
            "extra_latency_s": self.extra_latency_s,
            "fits": self.fits}

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(), "populations": self.table(),
                "resources": self.resources.as_dict(),
                "violations": [str(v) for v in self.violations]}

    def energy(self, duration_s: float) -> EnergyEstimate:
        """Placement energy over ``duration_s``: static core power and packets.

        Terms only for figures the target declares; the note lists what is
        missing (a target's per-event terms come from its own ``energy``).
        """
        res = self.resources
        terms = []
        missing = []
        if res.static_power_per_core_w is not None:
            f = res.static_power_per_core_w
            terms.append(EnergyTerm("core_static", self.cores_used * duration_s, f.value,
                                    _cite(f) + " (count = core-seconds)"))
        else:
            missing.append("static power per core")
        if res.energy_per_core_packet_j is not None:
            f = res.energy_per_core_packet_j
            terms.append(EnergyTerm("core_packets", self.core_spikes_per_s * duration_s,
                                    f.value, _cite(f)))
        else:
            missing.append("inter-core packet energy")
        if res.energy_per_chip_packet_j is not None:
            f = res.energy_per_chip_packet_j
            terms.append(EnergyTerm("chip_packets", self.chip_spikes_per_s * duration_s,
                                    f.value, _cite(f)))
        else:
            missing.append("inter-chip packet energy")
        note = ("no published figure for: " + ", ".join(missing)) if missing else ""
        if not terms:
            note = "not available: " + note
        elif res.energy_relation == "alternative":
            note = ("an alternative to the target's per-event energy, which already "
                    "includes static power and routing (do not add the two)"
                    + (f"; {note}" if note else ""))
        else:
            note = "adds to the target's per-event energy" + (f"; {note}" if note else "")
        return EnergyEstimate(chip=self.target, terms=tuple(terms), note=note)

    def placed_network(self) -> Network:
        """The network the chip runs after placement: relay populations inserted.

        A relay population ``<source>~relay`` copies every spike of its source
        one step later (integrate-and-fire with delta synapses, threshold below
        the single input jump, reset to rest, no leak within a run); the
        source's projections leave from it with their own delays. Without relays
        this is the network itself.
        """
        if not self.relays:
            return self.network
        net = self.network
        pops = list(net.populations)
        projections = []
        for name in self.relays:
            size = net.size_of(name)
            pops.append(Population(relay_name(name), size, RELAY_NEURON))
            projections.append(Projection(name, relay_name(name),
                                          sparse.identity(size, format="csr") * RELAY_WEIGHT_V
                                          if _is_sparse_network(net)
                                          else np.eye(size) * RELAY_WEIGHT_V,
                                          self.resources.relay_delay_steps))
        for proj in net.projections:
            if proj.pre in self.relays:
                proj = replace(proj, pre=relay_name(proj.pre))
            projections.append(proj)
        return Network(net.name, net.inputs, tuple(pops), tuple(projections), net.dt)


def _is_sparse_network(network: Network) -> bool:
    return any(sparse.issparse(p.weights) for p in network.projections)


def _cite(figure: Figure) -> str:
    return figure.source if figure.published else f"assumption: {figure.source}"


#: The relay neuron: a spike through RELAY_WEIGHT_V (twice the threshold
#: distance) always fires it; tau_m of 1e4 s makes its leak vanish on a tick grid.
RELAY_NEURON = LIFParams(tau_m=1e4, r_m=1e8, v_rest=0.0, v_th=1e-3, v_reset=0.0)
RELAY_WEIGHT_V = 2e-3


def relay_name(source: str) -> str:
    return f"{source}~relay"


# --------------------------------------------------------------------------------------
# The partitioner
# --------------------------------------------------------------------------------------


def _pack(size: int, line_rows: sparse.csr_array | None, synapses: np.ndarray,
          max_neurons: int | None, max_lines: int | None,
          max_synapses: int | None) -> tuple[list[tuple[int, int, int, int]], list[int]]:
    """Greedy contiguous slices of one population.

    Args:
        size: Neurons of the population.
        line_rows: (size, lines) pattern: the input lines of each neuron.
        synapses: Synapses of each neuron, shape (size,).
        max_neurons, max_lines, max_synapses: Per-core limits (None: none).

    Returns:
        ``(first, count, synapses, lines)`` per core, and the neurons that
        exceed a core on their own (each then sits alone on a core).
    """
    cap = max_neurons or max(size, 1)
    if line_rows is None:
        line_rows = sparse.csr_array((size, 0), dtype=bool)
    indptr, indices = line_rows.indptr, line_rows.indices
    if max_lines is None and max_synapses is None:
        return [(first, min(cap, size - first),
                 int(synapses[first:first + cap].sum()),
                 int(np.unique(indices[indptr[first]:indptr[min(first + cap, size)]]).size))
                for first in range(0, size, cap)], []
    seen = np.zeros(line_rows.shape[1], dtype=bool)
    touched: list[np.ndarray] = []
    cores: list[tuple[int, int, int, int]] = []
    too_big: list[int] = []
    first = count = syn = lines = 0
    for i in range(size):
        row = indices[indptr[i]:indptr[i + 1]]     # distinct lines of neuron i
        s_i = int(synapses[i])
        alone = ((max_lines is not None and row.size > max_lines)
                 or (max_synapses is not None and s_i > max_synapses))
        new = row[~seen[row]]
        if count and (alone or count >= cap
                      or (max_lines is not None and lines + new.size > max_lines)
                      or (max_synapses is not None and syn + s_i > max_synapses)):
            cores.append((first, count, syn, lines))
            for t in touched:
                seen[t] = False
            touched.clear()
            first, count, syn, lines = i, 0, 0, 0
            new = row
        seen[new] = True
        touched.append(new)
        count, syn, lines = count + 1, syn + s_i, lines + int(new.size)
        if alone:
            too_big.append(i)
            cores.append((first, count, syn, lines))
            for t in touched:
                seen[t] = False
            touched.clear()
            first, count, syn, lines = i + 1, 0, 0, 0
    if count:
        cores.append((first, count, syn, lines))
    return cores, too_big


def _distinct_targets(pairs_core: np.ndarray, pairs_col: np.ndarray, n_pre: int,
                      own: np.ndarray | None) -> np.ndarray:
    """Distinct target units per source column, not counting the source's own unit."""
    if pairs_core.size == 0:
        return np.zeros(n_pre, dtype=np.int64)
    # sort + neighbour compare: np.unique's hash path is several times slower here
    keys = np.sort(pairs_core.astype(np.int64) * n_pre + pairs_col, kind="stable")
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    units, cols = keys // n_pre, keys % n_pre
    if own is not None:
        keep = units != own[cols]
        cols = cols[keep]
    return np.bincount(cols, minlength=n_pre).astype(np.int64)


#: Neuron orders the partitioner fills cores in: ``index`` (as numbered) or
#: ``rcm`` (reverse Cuthill-McKee of the whole connectivity graph, restricted
#: to each population: neighbours in the graph get neighbouring positions).
ORDERS = ("index", "rcm")


def graph_order(network: Network, edges: Sequence[Edge]) -> dict[str, np.ndarray]:
    """Each population's neurons in reverse Cuthill-McKee order of the network graph.

    The graph has one node per neuron and input source and an undirected edge
    per synapse (:func:`scipy.sparse.csgraph.reverse_cuthill_mckee`, SciPy):
    the ordering narrows the adjacency's bandwidth, so contiguous slices of a
    population hold neurons that share sources and targets. Returns
    population -> neuron indices in placement order.
    """
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    everything: list[InputPopulation | Population] = [*network.inputs, *network.populations]
    offset, start = {}, 0
    for source in everything:
        offset[source.name] = start
        start += source.size
    rows, cols = [], []
    for edge in edges:
        coo = edge.synapses.tocoo()
        rows.append(coo.row.astype(np.int64) + offset[edge.post])
        cols.append(coo.col.astype(np.int64) + offset[edge.pre])
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    graph = sparse.csr_array((np.ones(2 * r.size, dtype=np.int8),
                              (np.concatenate([r, c]), np.concatenate([c, r]))),
                             shape=(start, start))
    perm = reverse_cuthill_mckee(graph, symmetric_mode=True)
    rank = np.empty(start, dtype=np.int64)
    rank[perm] = np.arange(start)
    return {s.name: np.argsort(rank[offset[s.name]:offset[s.name] + s.size], kind="stable")
            for s in everything}


def place_edges(resources: ChipResources, network: Network, edges: Sequence[Edge], *,
                rates_hz: Mapping[str, Any] | None = None,
                order: str = "index") -> Placement:
    """Place ``network`` (populations in order) with its ``edges`` on ``resources``.

    Args:
        resources: The target's declared resources.
        network: Populations and sizes (weights are read only through ``edges``).
        edges: One :class:`Edge` per projection.
        rates_hz: Population -> firing rate (Hz; scalar or per neuron) for the
            traffic; missing populations and ``None`` use 1 Hz.
        order: Neuron order within a population (:data:`ORDERS`); ``rcm`` pays
            for networks with local structure whose numbering hides it.

    Returns:
        The :class:`Placement` (``CoreUse.first`` counts positions in that
        order; :attr:`Placement.order` maps them back to neuron indices).
    """
    if order not in ORDERS:
        raise ParamError(f"order must be one of {ORDERS}, got {order!r}", path="order")
    orders = graph_order(network, edges) if order == "rcm" else {}
    core = resources.core
    max_neurons, max_lines = _limit(core.neurons), _limit(core.input_lines)
    max_synapses = _limit(core.synapses)
    per_chip = _limit(resources.cores_per_chip)
    incoming: dict[str, list[Edge]] = {}
    outgoing: dict[str, list[Edge]] = {}
    for edge in edges:
        incoming.setdefault(edge.post, []).append(edge)
        outgoing.setdefault(edge.pre, []).append(edge)

    slices: list[tuple[str, str, int, int, int, int]] = []   # name, kind, first, n, syn, ln
    violations: list[Violation] = []
    if resources.inputs_on_cores:
        for spikes in network.inputs:
            cap = max_neurons or spikes.size
            for first in range(0, spikes.size, cap):
                slices.append((spikes.name, "source", first, min(cap, spikes.size - first),
                               0, 0))
    for pop in network.populations:
        into = incoming.get(pop.name, [])
        masks = [m for e in into for m in e.lines]
        line_rows = (sparse.csr_array(sparse.hstack(masks, format="csr")) if masks else None)
        syn = (np.sum([np.diff(e.synapses.indptr) for e in into], axis=0).astype(np.int64)
               if into else np.zeros(pop.size, dtype=np.int64))
        if pop.name in orders:
            perm = orders[pop.name]
            line_rows = line_rows[perm] if line_rows is not None else None
            syn = syn[perm]
        cores, too_big = _pack(pop.size, line_rows, syn, max_neurons, max_lines,
                               max_synapses)
        for i in too_big:
            own = int(line_rows[[i]].nnz) if line_rows is not None else 0
            neuron = int(orders[pop.name][i]) if pop.name in orders else i
            violations.append(Violation(
                "placement", f"neuron {neuron} needs {own} input lines and {int(syn[i])} "
                f"synapses; one {resources.core_name} has {max_lines} / {max_synapses}",
                where=pop.name))
        slices.extend((pop.name, "neurons", *c) for c in cores)

    core_of: dict[str, np.ndarray] = {}
    for index, (name, _kind, first, count, _s, _l) in enumerate(slices):
        size = network.size_of(name)
        position = orders[name][first:first + count] if name in orders else \
            slice(first, first + count)
        core_of.setdefault(name, np.full(size, -1, dtype=np.int64))[position] = index

    def chip(core_index: np.ndarray | int) -> Any:
        return core_index // per_chip if per_chip else core_index * 0

    # Fan-out per source neuron: distinct (core, line) targets, then relays.
    core_packets: dict[str, np.ndarray] = {}
    chip_packets: dict[str, np.ndarray] = {}
    external: dict[str, np.ndarray] = {}
    relays: dict[str, RelayStage] = {}
    relay_slices: list[tuple[str, str, int, int, int, int]] = []
    everything: list[InputPopulation | Population] = [*network.inputs, *network.populations]
    for source in everything:
        name, size = source.name, source.size
        outs = outgoing.get(name, [])
        cores_l, cols_l = [], []
        line_fan = np.zeros(size, dtype=np.int64)
        for edge in outs:
            post_core = core_of[edge.post]
            coo = edge.synapses.tocoo()
            cores_l.append(post_core[coo.row])
            cols_l.append(coo.col)
            if resources.relay_fan_out and not isinstance(source, InputPopulation):
                for mask in edge.lines:
                    m = mask.tocoo()
                    line_fan += _distinct_targets(post_core[m.row], m.col, size, None)
        pc = np.concatenate(cores_l) if cores_l else np.zeros(0, dtype=np.int64)
        cc = np.concatenate(cols_l) if cols_l else np.zeros(0, dtype=np.int64)
        on_core = name in core_of
        own_core = core_of[name] if on_core else None
        per_core = _distinct_targets(pc, cc, size, own_core)
        per_chip_n = _distinct_targets(chip(pc), cc, size,
                                       chip(own_core) if own_core is not None else None)
        is_input = isinstance(source, InputPopulation)
        if is_input and not resources.inputs_on_cores:
            external[name] = _distinct_targets(pc, cc, size, None)
            continue
        if resources.relay_fan_out and not is_input and int(line_fan.max(initial=0)) > 1:
            fan = np.maximum(line_fan, 1)
            cap = max_neurons or int(fan.max())
            depth = 1 if int(fan.max()) <= cap else 2
            # Depth 2: a first relay level of ceil(F / cap) neurons per source.
            extra = np.where(fan > cap, np.ceil(fan / cap), 0).astype(np.int64)
            neurons = int(fan.sum() + extra.sum())
            relays[name] = RelayStage(name, neurons, depth, fan)
            # Relay neurons of one source are contiguous; each source takes one
            # axon (line) on every relay core holding some of its relays.
            ends = np.cumsum(fan + extra)
            for first in range(0, neurons, cap):
                count = min(cap, neurons - first)
                sources = int(np.searchsorted(ends, first + count, side="left")
                              - np.searchsorted(ends, first, side="right") + 1)
                relay_slices.append((name, "relay", first, count, count, sources))
            # One packet to the relay core, then one per relay neuron's target.
            per_core = line_fan + 1
        core_packets[name] = per_core
        chip_packets[name] = per_chip_n
    slices.extend(relay_slices)

    rates: dict[str, np.ndarray] = {}
    for source in everything:
        value = (rates_hz or {}).get(source.name, 1.0)
        rates[source.name] = np.broadcast_to(np.asarray(value, dtype=float),
                                             (source.size,)).copy()
    cores_out = tuple(
        CoreUse(index=i, chip=int(chip(i)), population=name, kind=kind, first=first,
                count=count, synapses=int(syn), lines=int(lines))
        for i, (name, kind, first, count, syn, lines) in enumerate(slices))
    return Placement(resources=resources, network=network, cores=cores_out, relays=relays,
                     core_of=core_of, core_packets=core_packets, chip_packets=chip_packets,
                     external_packets=external, rates_hz=rates,
                     rates_measured=rates_hz is not None, violations=tuple(violations),
                     order=orders)


def place_spec(spec: ChipSpec, resources: ChipResources, *,
               rates_hz: Mapping[str, Any] | None = None,
               copies: Mapping[str, int] | None = None, order: str = "index") -> Placement:
    """Place a mapped network: edges from the spec's chip weights (see :func:`place_edges`)."""
    edges = edges_of(spec.network, spec.weights, mode=resources.line_mode, copies=copies)
    return place_edges(resources, spec.network, edges, rates_hz=rates_hz, order=order)


def place_network(target: str, network: Network, *,
                  rates_hz: Mapping[str, Any] | None = None, order: str = "index",
                  options: Mapping[str, Any] | None = None) -> Placement:
    """Place a float network on ``target`` without mapping it first.

    Placement needs only each projection's non-zero pattern and signs, which
    the float weights already have (a mapper scales each post population by a
    positive unit), so the target's ``place`` runs on a spec that carries the
    float weights and ``options`` (the mapper options placement reads, e.g.
    TrueNorth's ``axon_copies``, Loihi's ``num_weight_bits``). This places
    networks too large for a mapper's dense synapse matrices. Weights that
    quantisation would round to zero still count here.
    """
    from lifhw.chips.base import CHIPS, projection_key

    spec = ChipSpec(chip=target, network=network, dt=network.dt, populations={},
                    weights={projection_key(p.pre, p.post): p.weights
                             for p in network.projections},
                    options=dict(options or {}))
    return CHIPS.get(target).place(spec, rates_hz=rates_hz, order=order)


def rates_of(run: ChipRun, input_spikes: Mapping[str, np.ndarray] | None = None
             ) -> dict[str, np.ndarray]:
    """Per-neuron rates (Hz) of a run's populations, plus inputs from their rasters."""
    out = {name: run.rates_hz(name) for name in run.spikes}
    for name, raster in (input_spikes or {}).items():
        t = raster.shape[0] * run.dt
        out[name] = np.asarray(raster, dtype=bool).sum(axis=0) / t if t > 0 else \
            np.zeros(raster.shape[1])
    return out


def simulate_placed(spec: ChipSpec, placement: Placement, input_spikes: Any, *,
                    record_states: bool = False) -> ChipRun:
    """Run the placed network on the spec's target, bit-accurately.

    The target maps :meth:`Placement.placed_network` with the spec's options
    (relay populations are ordinary neurons to it), quantizes and simulates;
    the run keeps the original populations only.
    """
    from lifhw.chips.base import CHIPS

    target = CHIPS.get(spec.chip)
    placed = placement.placed_network()
    if placed is spec.network:
        config = target.quantize(spec)
    else:
        config = target.quantize(target.map(placed, **dict(spec.options)))
    run = target.simulate(config, input_spikes, record_states=record_states)
    keep = {p.name for p in spec.network.populations}
    return replace(run, spikes={k: v for k, v in run.spikes.items() if k in keep},
                   states={k: v for k, v in run.states.items() if k in keep},
                   meta={**dict(run.meta), "placed": True,
                         "relays": sorted(placement.relays)})


def check_cores(placement: Placement) -> list[Violation]:
    """Placement violations, plus a warning when more than one chip is needed."""
    out = list(placement.violations)
    if placement.chips_used > 1:
        out.append(Violation("placement", f"needs {placement.chips_used} chips "
                             f"({placement.cores_used} {placement.resources.core_name}s); "
                             "inter-chip routes carry "
                             f"{placement.chip_spikes_per_s:.3g} packets/s", severity="warning"))
    return out


__all__ = ["ORDERS", "ChipResources", "CoreResources", "CoreUse", "Edge", "Figure", "Placement",
           "RelayStage", "check_cores", "connectivity", "edges_of", "graph_order",
           "lines_of",
           "place_edges", "place_network", "place_spec", "rates_of", "relay_name", "signs_used",
           "simulate_placed"]
