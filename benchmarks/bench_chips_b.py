"""Throughput of the TrueNorth, SpiNNaker and BrainScaleS-2 simulators vs the golden model.

Same network, same input spikes, same number of steps, side by side in one run:
``neuron-steps/s = N x T / wall time`` of ``simulate`` (mapping and quantising
excluded, the first call of each simulator is a warm-up for numba). Run:

    .venv/bin/python -m benchmarks.bench_chips_b [--neurons 1024] [--steps 1000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from lifhw.chips import brainscales, spinnaker, truenorth
from lifhw.core import LIFParams
from lifhw.golden.network import simulate_network
from lifhw.network import InputPopulation, Network, Population, Projection


def build(n_neurons: int, n_inputs: int, seed: int = 0) -> tuple[Network, Network]:
    """A current-synapse and a delta-synapse version of one feed-forward network."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.25e-9, 0.25e-9, (n_neurons, n_inputs))
    weights[rng.random(weights.shape) > 0.2] = 0.0
    bias = rng.uniform(0.1e-9, 0.3e-9, n_neurons)
    current = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065,
                        t_ref=2e-3, tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    delta = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065)
    nets = []
    for neuron, w in ((current, weights), (delta, weights * 1e8 * 5e-3 / 20e-3)):
        nets.append(Network("bench", (InputPopulation("in", n_inputs),),
                            (Population("out", n_neurons, neuron, bias=bias),),
                            (Projection("in", "out", w),), 1e-3))
    return nets[0], nets[1]


def _time(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=1024)
    parser.add_argument("--inputs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    current, delta = build(args.neurons, args.inputs)
    spikes = np.random.default_rng(1).random((args.steps, args.inputs)) < 0.02
    work = args.neurons * args.steps
    rows = []
    cases = [
        ("golden (current synapses)", current, lambda: simulate_network(current, spikes)),
        ("golden (delta synapses)", delta, lambda: simulate_network(delta, spikes)),
    ]
    tn_config = truenorth.quantize(truenorth.map(delta))
    sp_config = spinnaker.quantize(spinnaker.map(current))
    bs_config = brainscales.quantize(brainscales.map(current, spread=0.05))
    cases += [
        ("truenorth", delta, lambda: truenorth.simulate(tn_config, spikes)),
        ("spinnaker", current, lambda: spinnaker.simulate(sp_config, spikes)),
        ("brainscales", current, lambda: brainscales.simulate(bs_config, spikes)),
    ]
    anchor = {}
    for name, network, fn in cases:
        fn()  # warm-up (numba compilation, caches)
        seconds = _time(fn, args.repeats)
        rate = work / seconds
        reference = "golden (delta synapses)" if network is delta else \
            "golden (current synapses)"
        anchor.setdefault(name, rate)
        rows.append((name, seconds, rate, rate / anchor.get(reference, rate)))
    print(f"N = {args.neurons} neurons, {args.inputs} inputs, T = {args.steps} steps, "
          f"best of {args.repeats}")
    print(f"{'simulator':28s} {'wall s':>8s} {'neuron-steps/s':>15s} {'vs golden':>10s}")
    for name, seconds, rate, ratio in rows:
        print(f"{name:28s} {seconds:8.3f} {rate:15.3g} {ratio:10.2f}")


if __name__ == "__main__":
    main()
