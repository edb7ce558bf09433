"""Sweep engine benchmarks (numbers go to docs/benchmarks.md, section "Sweeps").

    .venv/bin/python -m benchmarks.bench_sweep            # ~3-5 min on 2 cores

1. Per-point engine overhead: a backend that does nothing, through the full
   path (spec point -> worker process -> JSON -> one SQLite transaction), locally
   and on a 2-worker Dask LocalCluster, vs the wall time of one behavioural
   ngspice point; plus raw SQLite WAL rows/s.
2. Throughput on 2 cores: sky130 points through the engine (persistent workers,
   trimmed model library) vs one ``ngspice -b`` process per point with the full
   sky130 library (2 at a time), same netlists otherwise.
3. Scaling: behavioural ngspice points with 1 and 2 workers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def noop(pf: Any, metrics: Sequence[str]) -> dict[str, float]:
    """A backend that costs nothing: the engine's own overhead is what is left."""
    return {m: 0.0 for m in metrics}


def _register() -> None:
    from lifhw.sweep.backends import register_backend

    register_backend("noop", noop, ("rate_hz",))


_register()


def _spec(tmp: Path, name: str, body: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(f'name = "{name}"\nplugins = ["benchmarks.bench_sweep"]\n' + body)
    return path


def engine_overhead(tmp: Path, n: int = 400) -> dict[str, float]:
    from lifhw.sweep.db import ResultsDB
    from lifhw.sweep.engine import run_sweep

    spec = _spec(tmp, "noop", f"""
base = "{ROOT / 'circuits' / 'ota_lif_behavioral.toml'}"
backend = "noop"
metrics = ["rate_hz"]
[axes]
"stimulus.amplitude" = {{ lin = ["5 pA", "50 pA"], n = {n} }}
""")
    run_sweep(spec, db=tmp / "warm.sqlite", workers=1, progress=False)  # imports, caches
    start = time.perf_counter()
    summary = run_sweep(spec, db=tmp / "noop.sqlite", workers=1, progress=False)
    wall = time.perf_counter() - start
    assert summary.done == n
    # Raw database writes, one transaction per row as the engine does them.
    with ResultsDB(tmp / "raw.sqlite") as store:
        start = time.perf_counter()
        for i in range(2000):
            store.record(key=f"k{i}", params={"i": i}, status="done",
                         metrics={"rate_hz": 1.0}, error=None, seconds=0.0)
        raw = time.perf_counter() - start
    return {"points": n, "wall_s": wall, "per_point_ms": 1e3 * wall / n,
            "db_rows_per_s": 2000 / raw}


def dask_overhead(tmp: Path, n: int = 400) -> dict[str, float]:
    """The no-op sweep on a 2-worker LocalCluster: per-point cost of the Dask path."""
    from distributed import LocalCluster

    from lifhw.sweep.engine import run_sweep

    spec = tmp / "noop.toml"
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        run_sweep(spec, db=tmp / "dask_warm.sqlite", dask_address=address, progress=False)
        start = time.perf_counter()
        summary = run_sweep(spec, db=tmp / "dask.sqlite", dask_address=address,
                            progress=False)
        wall = time.perf_counter() - start
    assert summary.done == n, summary.errors
    return {"points": n, "wall_s": wall, "per_point_ms": 1e3 * wall / n}


def behavioural_point_seconds(repeats: int = 5) -> float:
    from lifhw.params import load
    from lifhw.sweep.backends import evaluate_ngspice

    pf = load(ROOT / "circuits" / "ota_lif_behavioral.toml")
    metrics = ("rate_hz", "isi_error", "tau_s")
    evaluate_ngspice(pf, metrics)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        evaluate_ngspice(pf, metrics)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _sky130_points() -> list[Any]:
    from lifhw.params import load_mapping, read_toml, set_dotted

    base = read_toml(ROOT / "circuits" / "ota_lif_sky130.toml")
    points = []
    for cap in ("0.5 pF", "1 pF"):
        for bias in ("5 pA", "10 pA"):
            raw = set_dotted(base, "circuit.membrane_capacitance", cap)
            raw = set_dotted(raw, "circuit.leak_bias_current", bias)
            raw = set_dotted(raw, "stimulus.t_stop", "30 ms")
            points.append(load_mapping(raw, source="bench"))
    return points


def _full_library_run(pf: Any, work: Path) -> float:
    """One ``ngspice -b`` process with the full sky130 library (the naive baseline)."""
    from lifhw.analog import models
    from lifhw.analog import netlist as nl

    text = nl.generate(pf.name, pf.circuit, pf.stimulus)
    lines = [f'.lib "{models.library_path()}" {pf.circuit.corner}'
             if line.lower().startswith(".include") and "sky130" in line else line
             for line in text.splitlines()]
    work.mkdir(parents=True, exist_ok=True)
    (work / ".spiceinit").write_text("set ngbehavior=hsa\nset ng_nomodcheck\n"
                                     "set num_threads=1\n")
    (work / "n.cir").write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    subprocess.run(["ngspice", "-b", "-r", "out.raw", "n.cir"], cwd=work, check=True,
                   capture_output=True, timeout=600)
    return time.perf_counter() - start


def sky130_throughput(tmp: Path) -> dict[str, float]:
    from lifhw.sweep.engine import run_sweep

    points = _sky130_points()
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda ip: _full_library_run(ip[1], tmp / f"full{ip[0]}"),
                      enumerate(points)))
    naive = time.perf_counter() - start
    spec = _spec(tmp, "sky", f"""
base = "{ROOT / 'circuits' / 'ota_lif_sky130.toml'}"
backend = "ngspice"
metrics = ["rate_hz", "isi_error", "tau_s"]
[axes]
"circuit.membrane_capacitance" = ["0.5 pF", "1 pF"]
"circuit.leak_bias_current" = ["5 pA", "10 pA"]
"stimulus.t_stop" = ["30 ms"]
""")
    start = time.perf_counter()
    summary = run_sweep(spec, db=tmp / "sky.sqlite", workers=2, progress=False)
    engine = time.perf_counter() - start
    assert summary.done == len(points), summary.errors
    return {"points": len(points), "naive_full_library_s": naive, "engine_s": engine,
            "speedup": naive / engine}


def scaling(tmp: Path, n: int = 16) -> dict[str, float]:
    from lifhw.sweep.engine import run_sweep

    spec = _spec(tmp, "scale", f"""
base = "{ROOT / 'circuits' / 'ota_lif_behavioral.toml'}"
backend = "ngspice"
metrics = ["rate_hz", "isi_error"]
[axes]
"stimulus.amplitude" = {{ lin = ["10 pA", "40 pA"], n = {n} }}
""")
    # Alternate 1, 2, 1, 2 workers and keep the best of each: the machine is shared,
    # and the minimum is the run least disturbed by other load.
    out = {"points": float(n)}
    best = {1: float("inf"), 2: float("inf")}
    for round_, workers in enumerate((1, 2, 1, 2)):
        start = time.perf_counter()
        summary = run_sweep(spec, db=tmp / f"scale{round_}.sqlite", workers=workers,
                            progress=False)
        best[workers] = min(best[workers], time.perf_counter() - start)
        assert summary.done == n, summary.errors
    out["workers_1_s"], out["workers_2_s"] = best[1], best[2]
    out["speedup_1_to_2"] = out["workers_1_s"] / out["workers_2_s"]
    return out


def _load() -> float:
    import os

    return os.getloadavg()[0]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="overhead only")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"load_average_start": _load()}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        results["overhead"] = engine_overhead(tmp)
        results["dask_overhead"] = dask_overhead(tmp)
        point = behavioural_point_seconds()
        results["behavioural_point_s"] = point
        results["overhead_fraction"] = results["overhead"]["per_point_ms"] / 1e3 / point
        print(json.dumps(results, indent=2), flush=True)
        if not args.quick:
            results["sky130"] = sky130_throughput(tmp)
            print(json.dumps(results["sky130"], indent=2), flush=True)
            results["scaling"] = scaling(tmp)
    results["load_average_end"] = _load()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
