"""Placement time of a large sparse network on every target (issue 16).

A random network with a fixed in-degree: ``N`` LIF neurons (80 % excitatory,
20 % inhibitory) and ``N / 20`` input sources; every neuron receives ``K``
synapses (10 % from the inputs, 72 % excitatory, 18 % inhibitory, sources
drawn uniformly). The connectivity is built directly as CSR matrices and placed
with each target's declared resources (:data:`RESOURCES` of each target module)
by :func:`lifhw.chips.placement.place_edges` -- the engine every ``place(spec)``
calls -- so the measurement is the partitioner, not the mappers. Target:
N = 10^5 placed in <= 30 s per target on the project machine.

Run::

    .venv/bin/python -m benchmarks.bench_place [--neurons 100000] [--fan-in 100] \
        [--order index|rcm]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
from scipy import sparse

from lifhw.chips import CHIPS
from lifhw.chips.placement import ChipResources, Edge, Placement, lines_of, place_edges
from lifhw.core import LIFParams
from lifhw.network import InputPopulation, Network, Population

NEURON = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065)
#: Fractions of the in-degree drawn from (inputs, excitatory, inhibitory).
SHARES = (0.10, 0.72, 0.18)


def fixed_in_degree(n_post: int, n_pre: int, k: int, sign: float,
                    rng: np.random.Generator) -> sparse.csr_array:
    """CSR (n_post, n_pre) with ``k`` distinct random sources per row, values ``sign``."""
    cols = np.sort(rng.integers(0, n_pre, size=(n_post, k)), axis=1)
    # keep sources distinct within a row (a repeated draw becomes its neighbour)
    for _ in range(4):
        dup = np.zeros_like(cols, dtype=bool)
        dup[:, 1:] = cols[:, 1:] == cols[:, :-1]
        if not dup.any():
            break
        cols = np.sort(np.where(dup, (cols + 1) % n_pre, cols), axis=1)
    indptr = np.arange(n_post + 1, dtype=np.int64) * k
    return sparse.csr_array((np.full(n_post * k, sign), cols.ravel(), indptr),
                            shape=(n_post, n_pre))


def sparse_network(n_neurons: int, fan_in: int, seed: int = 0
                   ) -> tuple[Network, dict[str, sparse.csr_array]]:
    """The benchmark network: populations (no dense weights) and CSR weights by key."""
    rng = np.random.default_rng(seed)
    n_exc = int(0.8 * n_neurons)
    sizes = {"input": max(n_neurons // 20, 1), "exc": n_exc, "inh": n_neurons - n_exc}
    network = Network("sparse", (InputPopulation("input", sizes["input"]),),
                      (Population("exc", sizes["exc"], NEURON),
                       Population("inh", sizes["inh"], NEURON)), ())
    weights = {}
    for post in ("exc", "inh"):
        for pre, share, sign in zip(("input", "exc", "inh"), SHARES, (1.0, 1.0, -1.0),
                                    strict=True):
            k = max(round(share * fan_in), 1)
            weights[f"{pre}->{post}"] = fixed_in_degree(sizes[post], sizes[pre], k, sign, rng)
    return network, weights


def edges(weights: dict[str, sparse.csr_array], resources: ChipResources) -> list[Edge]:
    """Edges with the target's line mode (TrueNorth: one axon per sign used)."""
    mode = "sign" if resources.line_mode == "copies" else resources.line_mode
    out = []
    for key, w in weights.items():
        pre, post = key.split("->")
        out.append(Edge(pre, post, lines_of(w, mode), lines_of(w, "one")[0]))
    return out


def place_on(name: str, network: Network, weights: dict[str, sparse.csr_array],
             order: str = "index") -> tuple[Placement, float]:
    resources = CHIPS.get(name).RESOURCES
    if name == "truenorth":   # axon_types="projection": 3 groups per population
        resources = dataclasses.replace(resources, line_mode="sign")
    start = time.perf_counter()
    placement = place_edges(resources, network, edges(weights, resources), order=order)
    return placement, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--neurons", type=int, default=100_000)
    parser.add_argument("--fan-in", type=int, default=100)
    parser.add_argument("--targets", nargs="*", default=CHIPS.names())
    parser.add_argument("--order", default="index", choices=("index", "rcm"))
    args = parser.parse_args()
    start = time.perf_counter()
    network, weights = sparse_network(args.neurons, args.fan_in)
    build = time.perf_counter() - start
    n_syn = sum(w.nnz for w in weights.values())
    print(f"network: {network.n_neurons} neurons, {network.inputs[0].size} inputs, "
          f"{n_syn} synapses (built in {build:.2f} s)")
    print(f"{'target':12s} {'seconds':>8s} {'cores':>8s} {'chips':>6s} {'relays':>9s} "
          f"{'max syn/core':>12s} {'core pkt/s':>11s} {'chip pkt/s':>11s} {'fits':>5s}")
    for name in args.targets:
        placement, seconds = place_on(name, network, weights, args.order)
        s = placement.summary()
        print(f"{name:12s} {seconds:8.2f} {s['cores_used']:8d} {s['chips_used']:6d} "
              f"{s['relay_neurons']:9d} {s['max_synapses_per_core']:12d} "
              f"{s['core_spikes_per_s']:11.4g} {s['chip_spikes_per_s']:11.4g} "
              f"{placement.fits!s:>5s}")


if __name__ == "__main__":
    main()
