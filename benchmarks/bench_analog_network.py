"""Analog network benchmark: ngspice wall time per simulated neuron-second.

    .venv/bin/python -m benchmarks.bench_analog_network [--runs 4] [--t-stop 0.1]
        [--topology behavioral] [--network circuits/networks/ei_analog.toml]

The network of ``--network`` (default ``circuits/networks/ei_analog.toml``, 12
neurons; ``ei_sky130.toml`` is the designed transistor-level one, its populations
designed once, from the per-user cache after that) with ``--runs``
different input seeds, each ``--t-stop`` seconds long: once sequentially (one
``ngspice -b`` after the other) and once through
:func:`lifhw.analog.backends.run_many` (the parallel runner the sweep engine
uses, 2 concurrent processes). Reported: wall seconds per neuron-second of both
and their ratio, and that both give the same spikes.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from lifhw.analog import backends as be
from lifhw.analog import network as anet
from lifhw.analog.topology import get_topology
from lifhw.params import load

ROOT = Path(__file__).resolve().parents[1]
NETWORK = ROOT / "circuits" / "networks" / "ei_analog.toml"


def _networks(path: Path, runs: int, t_stop: float, topology: str | None
              ) -> list[anet.AnalogNetwork]:
    pf = load(path)
    out = []
    for seed in range(runs):
        section = dataclasses.replace(pf.network, seed=seed + 1, t_stop=t_stop)
        an = anet.build(pf.name, section.network(pf.name), section.input_spikes(),
                        pf.sections.get("analog"), topology=topology)
        out.append(anet.design_network(an))  # unchanged unless designable
    return out


def _spike_counts(output: be.SimOutput, an: anet.AnalogNetwork) -> list[int]:
    t = output["time"]
    level = 0.5 * next(iter(an.circuits.values())).supply
    return [len(be.rising_crossings(t, output[f"v(spike{x})"], level))
            for _, _, x in an.neurons()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--t-stop", type=float, default=0.1)
    parser.add_argument("--topology", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--network", type=Path, default=NETWORK)
    args = parser.parse_args(argv)
    networks = _networks(args.network, args.runs, args.t_stop, args.topology)
    texts = [anet.generate(an) for an in networks]
    circuit = next(iter(networks[0].circuits.values()))
    config = get_topology(networks[0].topology).run_config(
        circuit, be.RunConfig(timeout_s=3600))
    neuron_seconds = sum(an.network.n_neurons * an.t_stop for an in networks)

    start = time.perf_counter()
    sequential = [be.NgspiceBatch(config).run(text) for text in texts]
    t_seq = time.perf_counter() - start
    start = time.perf_counter()
    parallel = be.run_many(texts, workers=args.workers, config=config)
    t_par = time.perf_counter() - start

    same = all(_spike_counts(a, an) == _spike_counts(b, an)
               for a, b, an in zip(sequential, parallel, networks, strict=True))
    counts = [sum(_spike_counts(o, an)) for o, an in zip(sequential, networks, strict=True)]
    print(f"network {networks[0].name} ({networks[0].network.n_neurons} neurons, "
          f"{networks[0].topology}), {args.runs} runs x {args.t_stop:g} s "
          f"({neuron_seconds:g} neuron-seconds; spikes per run {counts})")
    print(f"  sequential ngspice -b:       {t_seq:8.1f} s  "
          f"{t_seq / neuron_seconds:8.2f} s per neuron-second")
    print(f"  run_many, {args.workers} workers:        {t_par:8.1f} s  "
          f"{t_par / neuron_seconds:8.2f} s per neuron-second  "
          f"(speed-up {t_seq / t_par:.2f}x)")
    print(f"  same spikes both ways: {same}; mean points per run "
          f"{np.mean([len(o['time']) for o in sequential]):.0f}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
