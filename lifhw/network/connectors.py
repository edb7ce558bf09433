"""Connectivity drawn directly in compressed sparse form (never as a dense matrix).

The connector names and meanings follow PyNN (Davison et al. 2009,
*Front. Neuroinform.* 2:11; ``pyNN.connectors``), so that a network file means
the same thing here, in NEST and in a PyNN script:

* ``all_to_all`` -- every source to every target (``AllToAllConnector``).
* ``fixed_probability`` -- each (source, target) pair independently with
  probability ``p`` (``FixedProbabilityConnector``). Drawn as geometric gaps
  over the flattened pair index, so the cost is O(synapses), not O(pairs).
* ``fixed_indegree`` -- every target receives exactly ``indegree`` distinct
  sources, chosen uniformly (``FixedNumberPreConnector`` with
  ``with_replacement=False``).
* ``one_to_one`` -- source i to target i (``OneToOneConnector``).
* ``list`` / ``file`` -- explicit connections ``(pre, post[, weight[, delay]])``
  (``FromListConnector`` / ``FromFileConnector``).

``allow_self_connections`` (PyNN's keyword, default true) matters only when a
population projects onto itself.

A connector's structure is returned as CSR arrays of the (post, pre) matrix:
``indptr`` (n_post + 1) and ``indices`` (pre index per synapse, sorted within
each row). Before anything is allocated, the expected number of synapses is
checked against a memory budget (:func:`check_budget`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from lifhw import budget
from lifhw.errors import ParamError

CONNECTORS = ("all_to_all", "fixed_probability", "fixed_indegree", "one_to_one", "list",
              "file")

#: Bytes a synapse costs at the peak of building and simulating a network: the CSR
#: (post, pre) weights (8 B value + 4 B index), the engine's pre-major copy of both,
#: and the drawing's temporary int64 indices.
BYTES_PER_SYNAPSE = 40

def check_budget(n_synapses: float, *, where: str,
                 bytes_per_synapse: float = BYTES_PER_SYNAPSE, what: str = "synapses") -> None:
    """Refuse a connection whose estimated memory exceeds the memory budget
    (:mod:`lifhw.budget`: ``$LIFHW_MEMORY_BUDGET`` / ``lifhw --memory-budget``).

    Raises:
        ParamError: With the synapse count, the bytes and how to raise the budget.
    """
    budget.check(float(n_synapses) * bytes_per_synapse, f"{n_synapses:.3g} {what}", path=where)


def expected_synapses(connector: str, n_pre: int, n_post: int, *, p: float = 1.0,
                      indegree: int = 0, n_listed: int = 0, self_excluded: bool = False) -> float:
    """Expected synapse count of a connector, computed before drawing anything."""
    pairs = float(n_pre) * float(n_post) - (min(n_pre, n_post) if self_excluded else 0)
    if connector == "all_to_all":
        return pairs
    if connector == "fixed_probability":
        return p * pairs
    if connector == "fixed_indegree":
        return float(indegree) * n_post
    if connector == "one_to_one":
        return float(n_post)
    return float(n_listed)


@dataclass(frozen=True)
class Structure:
    """CSR structure of a (post, pre) connection matrix.

    Args:
        indptr: Row pointers, shape (n_post + 1,), int64.
        indices: Pre index of each synapse, sorted within each row, int32 or int64.
        shape: (n_post, n_pre).
    """

    indptr: np.ndarray
    indices: np.ndarray
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    def rows(self) -> np.ndarray:
        """Post index of every synapse (CSR order)."""
        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))


def _index_dtype(n: int) -> type:
    return np.int32 if n < 2**31 - 1 else np.int64


def _from_sorted_flat(flat: np.ndarray, n_post: int, n_pre: int) -> Structure:
    rows = flat // n_pre
    cols = (flat - rows * n_pre).astype(_index_dtype(n_pre))
    indptr = np.zeros(n_post + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_post), out=indptr[1:])
    return Structure(indptr, cols, (n_post, n_pre))


def all_to_all(n_pre: int, n_post: int, *, allow_self: bool = True) -> Structure:
    """Every pre to every post (the diagonal left out when ``allow_self`` is false)."""
    per_row = n_pre - (0 if allow_self else 1)
    cols: np.ndarray = np.tile(np.arange(n_pre, dtype=_index_dtype(n_pre)), n_post)
    if not allow_self:
        keep = np.ones(n_post * n_pre, dtype=bool)
        diag = np.arange(min(n_pre, n_post))
        keep[diag * n_pre + diag] = False
        cols = cols[keep]
        counts = np.full(n_post, n_pre, dtype=np.int64)
        counts[:min(n_pre, n_post)] = per_row
    else:
        counts = np.full(n_post, n_pre, dtype=np.int64)
    indptr = np.zeros(n_post + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return Structure(indptr, cols, (n_post, n_pre))


def fixed_probability(n_pre: int, n_post: int, p: float, rng: np.random.Generator, *,
                      allow_self: bool = True, chunk: int = 1 << 20) -> Structure:
    """Each pair with probability ``p``: geometric gaps over the flat pair index."""
    total = n_post * n_pre
    if p <= 0.0 or total == 0:
        return Structure(np.zeros(n_post + 1, dtype=np.int64),
                         np.zeros(0, dtype=_index_dtype(n_pre)), (n_post, n_pre))
    parts = []
    last = -1
    while True:
        gaps = rng.geometric(p, size=chunk)
        positions = last + np.cumsum(gaps)
        cut = int(np.searchsorted(positions, total))
        parts.append(positions[:cut])
        if cut < chunk:
            break
        last = int(positions[-1])
    flat = np.concatenate(parts)
    if not allow_self:
        flat = flat[(flat // n_pre) != (flat % n_pre)]
    return _from_sorted_flat(flat, n_post, n_pre)


def fixed_indegree(n_pre: int, n_post: int, indegree: int, rng: np.random.Generator, *,
                   allow_self: bool = True, where: str = "") -> Structure:
    """Exactly ``indegree`` distinct, uniformly chosen sources per target."""
    pool = n_pre - (0 if allow_self else 1)
    if indegree > pool:
        raise ParamError(f"indegree {indegree} is larger than the {pool} available sources "
                         f"(source population of {n_pre}"
                         + ("" if allow_self else ", self-connections excluded") + ")",
                         path=where)
    dtype = _index_dtype(n_pre)
    indptr = np.arange(n_post + 1, dtype=np.int64) * indegree
    if indegree == 0:
        return Structure(indptr, np.zeros(0, dtype=dtype), (n_post, n_pre))
    if 2 * indegree <= pool:
        # Rejection of repeated draws: the set distribution stays uniform because
        # every value is treated alike (the process is invariant under relabelling).
        chosen = rng.integers(0, pool, size=(n_post, indegree), dtype=np.int64)
        chosen.sort(axis=1)
        while True:
            dup = np.zeros(chosen.shape, dtype=bool)
            dup[:, 1:] = chosen[:, 1:] == chosen[:, :-1]
            n_dup = int(dup.sum())
            if n_dup == 0:
                break
            chosen[dup] = rng.integers(0, pool, size=n_dup, dtype=np.int64)
            rows = np.flatnonzero(dup.any(axis=1))
            chosen[rows] = np.sort(chosen[rows], axis=1)
    else:
        # Dense-ish: a random permutation prefix per row, in row blocks.
        chosen = np.empty((n_post, indegree), dtype=np.int64)
        block = max(1, (1 << 24) // max(pool, 1))
        for lo in range(0, n_post, block):
            hi = min(lo + block, n_post)
            keys = rng.random((hi - lo, pool))
            part = np.argpartition(keys, indegree - 1, axis=1)[:, :indegree]
            part.sort(axis=1)
            chosen[lo:hi] = part
    if not allow_self:
        # Values >= the row's own index skip it (the pool has n_pre - 1 entries).
        own = np.arange(n_post, dtype=np.int64)[:, None]
        chosen += chosen >= own
    return Structure(indptr, chosen.astype(dtype).ravel(), (n_post, n_pre))


def one_to_one(n_pre: int, n_post: int, *, where: str = "") -> Structure:
    """Source i to target i; the populations must have the same size."""
    if n_pre != n_post:
        raise ParamError(f"one_to_one needs equal sizes, got pre {n_pre} and post {n_post}",
                         path=where)
    return Structure(np.arange(n_post + 1, dtype=np.int64),
                     np.arange(n_post, dtype=_index_dtype(n_pre)), (n_post, n_pre))


def connection_list(table: np.ndarray, n_pre: int, n_post: int, *,
                    where: str) -> tuple[Structure, np.ndarray | None, np.ndarray | None]:
    """CSR structure of explicit connections, with their weights and delays.

    Args:
        table: (M, 2..4) rows ``(pre, post[, weight[, delay_s]])``.

    Returns:
        (structure, weight per synapse or None, delay in s per synapse or None),
        in CSR order.
    """
    table = np.asarray(table, dtype=float)
    if table.size == 0:
        table = np.zeros((0, 2))
    if table.ndim != 2 or not 2 <= table.shape[1] <= 4:
        raise ParamError(f"connections must be rows of (pre, post[, weight[, delay]]), got "
                         f"shape {table.shape}", path=where)
    pre, post = table[:, 0], table[:, 1]
    for name, idx, size in (("pre", pre, n_pre), ("post", post, n_post)):
        if np.any(idx != np.round(idx)) or np.any(idx < 0) or np.any(idx >= size):
            bad = int(np.flatnonzero((idx != np.round(idx)) | (idx < 0) | (idx >= size))[0])
            raise ParamError(f"connection {bad}: {name} index {idx[bad]:g} is not in "
                             f"0..{size - 1}", path=where)
    flat = post.astype(np.int64) * n_pre + pre.astype(np.int64)
    order = np.argsort(flat, kind="stable")
    flat = flat[order]
    if flat.size > 1 and np.any(flat[1:] == flat[:-1]):
        i = int(np.flatnonzero(flat[1:] == flat[:-1])[0])
        raise ParamError(f"connection (pre {flat[i] % n_pre}, post {flat[i] // n_pre}) is "
                         "listed twice; merge it into one", path=where)
    weights = table[order, 2] if table.shape[1] >= 3 else None
    delays = table[order, 3] if table.shape[1] >= 4 else None
    if delays is not None and np.any(delays < 0):
        raise ParamError("connection delays must be >= 0 s", path=where)
    return _from_sorted_flat(flat, n_post, n_pre), weights, delays


def read_connection_file(path: Path, *, where: str) -> np.ndarray:
    """Connections from ``.npy`` (an (M, 2..4) array) or text (whitespace/comma
    separated columns, ``#`` comments)."""
    try:
        if path.suffix == ".npy":
            return np.asarray(np.load(path, allow_pickle=False), dtype=float)
        return np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None, ndmin=2)
    except (OSError, ValueError) as err:
        raise ParamError(f"cannot read {path}: {err}", path=where) from None


def draw_values(n: int, distribution: str, spread: float,
                rng: np.random.Generator) -> np.ndarray:
    """Relative weights (multiplied by ``scale``) for ``n`` synapses in CSR order."""
    if distribution == "uniform":
        return rng.uniform(1.0 - spread, 1.0 + spread, size=n)
    if distribution == "normal":
        return rng.normal(1.0, spread, size=n)
    return np.ones(n)


def connect(section: Any, *, n_pre: int, n_post: int, same_population: bool, scale: float,
            dt: float, base_dir: str, rng: np.random.Generator,
            where: str) -> tuple[sp.csr_array, np.ndarray | None]:
    """Weights (CSR, (post, pre)) and per-synapse delays (steps, or None) of a
    ``[[network.projections]]`` entry that names a ``connector``.

    The expected synapse count is checked against the memory budget first.
    """
    kind = section.connector
    allow_self = section.allow_self_connections or not same_population
    table = None
    if kind == "list":
        table = np.asarray(section.connections, dtype=float)
    elif kind == "file":
        path = Path(base_dir) / section.path if base_dir else Path(section.path)
        table = read_connection_file(path, where=f"{where}.path")
    n_listed = 0 if table is None else len(table)
    expected = expected_synapses(kind, n_pre, n_post, p=section.p or 0.0,
                                 indegree=section.indegree or 0, n_listed=n_listed,
                                 self_excluded=not allow_self)
    check_budget(expected, where=where, what=f"synapses ({kind})")
    listed_w = listed_d = None
    if kind == "all_to_all":
        structure = all_to_all(n_pre, n_post, allow_self=allow_self)
    elif kind == "fixed_probability":
        structure = fixed_probability(n_pre, n_post, float(section.p), rng,
                                      allow_self=allow_self)
    elif kind == "fixed_indegree":
        structure = fixed_indegree(n_pre, n_post, int(section.indegree), rng,
                                   allow_self=allow_self, where=f"{where}.indegree")
    elif kind == "one_to_one":
        structure = one_to_one(n_pre, n_post, where=where)
    else:
        assert table is not None
        structure, listed_w, listed_d = connection_list(
            table, n_pre, n_post, where=f"{where}.connections" if kind == "list"
            else f"{where}.path")
    base = listed_w if listed_w is not None else draw_values(
        structure.nnz, section.distribution, section.spread, rng)
    weights = sp.csr_array((base * scale, structure.indices, structure.indptr),
                           shape=structure.shape)
    delays = None
    if listed_d is not None:
        delays = np.maximum(1, np.rint(listed_d / dt)).astype(np.int64)
        if np.any(weights.data == 0):
            # Zero weights are dropped from the network; keep delays aligned.
            delays = delays[weights.data != 0]
            weights.eliminate_zeros()
    return weights, delays
