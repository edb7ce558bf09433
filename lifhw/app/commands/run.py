"""``lifhw run`` (simulate a ``[network]`` file) and ``lifhw export pynn``."""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path
from typing import Any

from lifhw.errors import LifhwError


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="simulate a [network] file: spike counts and rates per population")
    run.add_argument("file", help="parameter file (.toml) with a [network] section")
    run.add_argument("--backend", choices=("golden", "nest"), default="golden",
                     help="golden (event-driven, this machine) or nest (NEST 3.x)")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--t-stop", metavar="T", help="duration, e.g. '200 ms' (default: the "
                     "file's t_stop)")
    run.add_argument("--threads", type=int, default=None,
                     help="threads (default: all cores for golden, 2 for NEST)")
    run.set_defaults(func=_cmd_run)

    export = subparsers.add_parser("export", help="write a network for another simulator")
    formats = export.add_subparsers(dest="format", metavar="FORMAT", required=True)
    pynn = formats.add_parser(
        "pynn", help="a PyNN script (pyNN.nest, sPyNNaker, BrainScaleS-2) of a [network] file")
    pynn.add_argument("file", help="parameter file (.toml) with a [network] section")
    pynn.add_argument("-o", "--output", required=True, help="script to write (.py); the "
                      "connections go next to it (.npz)")
    pynn.set_defaults(func=_cmd_export_pynn)


def peak_memory_bytes() -> int:
    """Peak resident memory of this process (bytes; Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def run_network_file(file: str | Path, *, backend: str = "golden", t_stop: float | None = None,
                     threads: int | None = None) -> dict[str, Any]:
    """Simulate a ``[network]`` file; the JSON document of ``lifhw run --json``.

    Returns:
        ``{"populations": {name: {"size", "spikes", "rate_hz"}}, "seconds", "backend"}``
        plus ``simulate_seconds`` (the simulation loop alone), ``peak_memory_bytes``,
        ``n_neurons``, ``n_synapses`` and ``t_stop_s``.
    """
    from lifhw.network.section import load_run

    started = time.perf_counter()
    network, inputs = load_run(file, t_stop=t_stop)
    if backend == "nest":
        from lifhw.interop.nest import run_nest

        result = run_nest(network, inputs, threads=threads or 2)
    elif backend == "golden":
        from lifhw.golden.event_engine import simulate_events

        result = simulate_events(network, inputs, threads=threads)
    else:
        raise LifhwError(f"unknown backend {backend!r}; use golden or nest")
    seconds = time.perf_counter() - started
    populations = {}
    for pop in network.populations:
        spikes = int(result.spikes[pop.name].steps.size)
        populations[pop.name] = {"size": pop.size, "spikes": spikes,
                                 "rate_hz": spikes / (pop.size * result.t_stop)}
    return {"populations": populations, "seconds": seconds, "backend": backend,
            "simulate_seconds": result.seconds,
            "delay_shifted_synapses": int(result.meta.get("delay_shifted_synapses", 0)),
            "peak_memory_bytes": peak_memory_bytes(),
            "n_neurons": network.n_neurons, "n_synapses": network.n_synapses,
            "t_stop_s": result.t_stop}


def _cmd_run(args: argparse.Namespace) -> int:
    from lifhw.io import print_json
    from lifhw.units import parse_quantity

    t_stop = parse_quantity(args.t_stop, "s", path="--t-stop") if args.t_stop else None
    if args.threads is not None and args.threads < 1:
        raise LifhwError("--threads must be >= 1")
    out = run_network_file(args.file, backend=args.backend, t_stop=t_stop,
                           threads=args.threads)
    if args.json:
        print_json(out)
        return 0
    width = max(len(name) for name in out["populations"])
    for name, pop in out["populations"].items():
        print(f"{name:<{width}}  {pop['size']:>8} neurons  {pop['spikes']:>10} spikes  "
              f"{pop['rate_hz']:8.3f} Hz")
    print(f"{out['backend']}: {out['n_neurons']} neurons, {out['n_synapses']} synapses, "
          f"{out['t_stop_s']:g} s simulated in {out['seconds']:.3g} s wall "
          f"(simulation loop {out['simulate_seconds']:.3g} s), peak memory "
          f"{out['peak_memory_bytes'] / 2**20:.0f} MiB")
    if out["delay_shifted_synapses"]:
        print(f"note: {out['delay_shifted_synapses']} synapses have delay_steps = 1, which NEST "
              "cannot express for current synapses (its minimum delay is one step); they "
              "arrive one step later than in the golden engine (docs/networks.md)")
    return 0


def _cmd_export_pynn(args: argparse.Namespace) -> int:
    from lifhw.interop.pynn import write_pynn_script

    script, data, dropped = write_pynn_script(args.file, Path(args.output))
    print(f"{script} (connections and input spikes in {data}); run it with "
          f"`python {script}` (pyNN.nest), `python {script} --simulator spiNNaker` or "
          f"`mpirun -np 4 python {script}`")
    if dropped:
        print(f"note: {dropped} input spikes of the first step are left out (PyNN's NEST "
              "back end cannot emit a SpikeSourceArray spike at t = 0)")
    return 0
