"""Networks that scale: the golden event-driven engine vs NEST 3.10 on CUBA (issue 15).

Work: the CUBA benchmark network of ``circuits/networks/cuba.toml`` (Vogels & Abbott
2005 / Brette et al. 2007: 80 % E / 20 % I, exponential current synapses 5 / 10 ms,
E_L -49 mV, V_th -50 mV, V_reset -60 mV, t_ref 5 ms, tau_m 20 ms, fixed in-degree 80,
1 s at 0.1 ms), scaled to N neurons. Measured side by side in one run, each in its own
process (peak memory is that process's maximum resident set):

* golden: ``python -m lifhw run cuba_N.toml --json`` (connectors drawn in sparse
  form, event-driven engine);
* NEST 3.10, 2 threads: the same model built by NEST's own ``fixed_indegree``
  connector (its own random draws), ``iaf_psc_exp``, delay 0.1 ms (= the golden
  file's two steps, docs/networks.md), initial V uniform in [-60, -50] mV.

Rates must agree within 5 % (same model, different random draws). Then the
10^6-neuron network with 100 synapses per neuron (in-degree 80 E + 20 I), golden only,
and the uncoupled population kernel at N = 10^5 (unchanged by this work).

Run: ``.venv/bin/python -m benchmarks.bench_network`` (``--quick``: 4 000 only;
``--sizes 4000 20000``; ``--no-million``; ``--nest-threads 1 2`` for more NEST thread
counts; ``--no-golden`` for NEST alone).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CUBA = ROOT / "circuits" / "networks" / "cuba.toml"
SIZES = (4_000, 20_000, 100_000)
TIMEOUT_S = 3600


def scaled_cuba(n: int, directory: Path, *, indegree: int = 80) -> Path:
    """cuba.toml with N neurons (80 % E) and the given total in-degree (80 % from E)."""
    text = CUBA.read_text()
    n_exc = round(0.8 * n)
    k_exc = round(0.8 * indegree)
    text = re.sub(r"(\[network\.populations\.exc\]\nsize = )\d+", rf"\g<1>{n_exc}", text)
    text = re.sub(r"(\[network\.populations\.inh\]\nsize = )\d+", rf"\g<1>{n - n_exc}", text)
    text = text.replace("indegree = 64", f"indegree = {k_exc}")
    text = text.replace("indegree = 16", f"indegree = {indegree - k_exc}")
    path = directory / f"cuba_{n}_{indegree}.toml"
    path.write_text(text)
    return path


def _run_json(cmd: list[str]) -> dict[str, Any]:
    # The 10^6-neuron network needs about 4 GiB: lifhw's default budget is 4 GiB.
    env = {**os.environ, "PYNEST_QUIET": "1", "PYTHONWARNINGS": "ignore",
           "LIFHW_MEMORY_BUDGET": "16 GiB"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                          cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout[proc.stdout.index("{"):])


def golden(path: Path) -> dict[str, Any]:
    out = _run_json([sys.executable, "-m", "lifhw", "run", str(path), "--json"])
    spikes = sum(p["spikes"] for p in out["populations"].values())
    return {"seconds": out["seconds"], "simulate_seconds": out["simulate_seconds"],
            "peak_mb": out["peak_memory_bytes"] / 2**20,
            "rate_hz": spikes / out["n_neurons"] / out["t_stop_s"],
            "synapses": out["n_synapses"]}


def nest_worker(n: int, indegree: int, threads: int) -> dict[str, Any]:
    """CUBA built and simulated by NEST alone (runs in its own process)."""
    import resource

    started = time.perf_counter()
    import nest

    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": threads,
                          "print_time": False, "rng_seed": 1})
    n_exc = round(0.8 * n)
    k_exc = round(0.8 * indegree)
    params = {"C_m": 250.0, "tau_m": 20.0, "E_L": -49.0, "V_th": -50.0, "V_reset": -60.0,
              "t_ref": 5.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0}
    cells = nest.Create("iaf_psc_exp", n, params=params)
    cells.V_m = nest.random.uniform(-60.0, -50.0)
    exc, inh = cells[:n_exc], cells[n_exc:]
    nest.Connect(exc, cells, {"rule": "fixed_indegree", "indegree": k_exc},
                 {"weight": 20.25, "delay": 0.1})
    nest.Connect(inh, cells, {"rule": "fixed_indegree", "indegree": indegree - k_exc},
                 {"weight": -112.5, "delay": 0.1})
    rec = nest.Create("spike_recorder")
    nest.Connect(cells, rec)
    built = time.perf_counter()
    nest.Simulate(1000.0)
    done = time.perf_counter()
    spikes = int(rec.get("n_events"))
    return {"seconds": done - started, "simulate_seconds": done - built,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rate_hz": spikes / n, "synapses": n * indegree,
            "nest_version": nest.__version__}


def nest(n: int, indegree: int = 80, threads: int = 2) -> dict[str, Any]:
    return _run_json([sys.executable, "-m", "benchmarks.bench_network", "--nest-worker",
                      str(n), str(indegree), str(threads)])


def uncoupled_kernel(n: int = 100_000) -> float:
    """Neuron-steps/s of the golden uncoupled population kernel (best of 3)."""
    import numpy as np

    from lifhw.core import LIFParams
    from lifhw.golden import population_spike_counts

    params = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                       t_ref=0.002)
    currents = np.random.default_rng(0).uniform(0, 5e-10, n)
    population_spike_counts(params, currents, t_stop=0.01, dt=1e-4)  # compile / load
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        population_spike_counts(params, currents, t_stop=1.0, dt=1e-4)
        best = min(best, time.perf_counter() - start)
    return n * 10_000 / best


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 000 neurons only")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--no-million", action="store_true",
                        help="skip the 10^6-neuron golden run")
    parser.add_argument("--nest-threads", type=int, nargs="*", default=[2],
                        help="NEST thread counts to measure (default 2)")
    parser.add_argument("--no-golden", action="store_true",
                        help="NEST only (e.g. an extra thread count)")
    parser.add_argument("--nest-worker", type=int, nargs=3, metavar=("N", "K", "THREADS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.nest_worker:
        print(json.dumps(nest_worker(*args.nest_worker)))
        return 0
    sizes = (4_000,) if args.quick else tuple(args.sizes or SIZES)
    print(f"machine load before: {_uptime()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = scaled_cuba(n, Path(tmp))
            g = None if args.no_golden else golden(path)
            if g is not None:
                print(f"N={n:>7}: golden {g['seconds']:7.2f} s wall ({g['simulate_seconds']:.2f} "
                      f"s loop), {g['peak_mb']:7.0f} MiB, {g['rate_hz']:.3f} Hz", flush=True)
            for threads in args.nest_threads:
                ne = nest(n, threads=threads)
                rows.append((n, g, ne))
                line = (f"N={n:>7}: NEST {threads} thread(s) {ne['seconds']:7.2f} s wall "
                        f"({ne['simulate_seconds']:.2f} s Simulate), {ne['peak_mb']:7.0f} MiB, "
                        f"{ne['rate_hz']:.3f} Hz")
                if g is not None:
                    line += (f" | golden speed-up {ne['seconds'] / g['seconds']:.2f}x, memory "
                             f"{g['peak_mb'] / ne['peak_mb']:.2f}x, rate diff "
                             f"{100 * (g['rate_hz'] / ne['rate_hz'] - 1):+.1f} %")
                print(line, flush=True)
        if not (args.quick or args.no_million or args.no_golden):
            path = scaled_cuba(1_000_000, Path(tmp), indegree=100)
            g = golden(path)
            print(f"N=1000000 x 100 synapses: golden {g['seconds']:.1f} s wall "
                  f"({g['simulate_seconds']:.1f} s loop), {g['peak_mb']:.0f} MiB, "
                  f"{g['rate_hz']:.3f} Hz, {g['synapses']} synapses", flush=True)
    if not args.no_golden:
        rate = uncoupled_kernel()
        print(f"uncoupled population kernel, N = 1e5: {rate:.3g} neuron-steps/s")
    print(f"machine load after: {_uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
