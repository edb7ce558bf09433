"""Golden population throughput vs Brian2, side by side on the same work (issue 2).

Work: N uncoupled LIF neurons (tau 20 ms, R 100 MOhm, rest/reset -65 mV, threshold
-50 mV, t_ref 2 ms), independent constant currents uniform in [0, 500 pA] (seed 0),
1 s at dt = 0.1 ms. Measured in one run:

* lifhw ``population_spike_counts`` (compiled, cache-blocked, vectorised);
* the same exact update in plain vectorised NumPy (context);
* Brian2 ``cpp_standalone`` and ``cython`` (in ``.venv-brian2``; simulation time
  only, compilation excluded -- Brian2's best case);
* a "bandwidth bound": the simplest possible state update ``v = a v + b`` streamed
  over the same N doubles every step (compiled, parallel), i.e. what a kernel that
  reads and writes the membrane array once per step cannot beat.

Spike counts of lifhw and Brian2 are compared neuron by neuron.

Run: ``.venv/bin/python -m benchmarks.bench_golden`` (add ``--quick`` for N = 10^4 only).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from lifhw.core import LIFParams
from lifhw.golden import population_spike_counts

ROOT = Path(__file__).resolve().parents[1]
BRIAN_PY = ROOT / ".venv-brian2" / "bin" / "python"
PARAMS = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                   t_ref=0.002)
DT = 1e-4
T_STOP = 1.0


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@numba.njit(parallel=True, cache=True)
def _stream(v, a, b, n_steps):  # pragma: no cover
    for _ in range(n_steps):
        for i in numba.prange(v.shape[0]):
            v[i] = a * v[i] + b[i]


def _numpy_counts(currents: np.ndarray, n_steps: int) -> np.ndarray:
    p = PARAMS
    v = np.full(currents.shape, p.v_rest)
    v_inf = p.v_rest + p.r_m * currents
    decay = math.exp(-DT / p.tau_m)
    ref = np.zeros(currents.shape, dtype=np.int64)
    counts = np.zeros(currents.shape, dtype=np.int64)
    n_ref = round(p.t_ref / DT)
    for _ in range(n_steps):
        active = ref == 0
        v = np.where(active, v_inf + (v - v_inf) * decay, v)
        fire = active & (v >= p.v_th)
        v[fire] = p.v_reset
        ref = np.where(fire, n_ref, np.maximum(ref - 1, 0))
        counts += fire
    return counts


def _brian(n: int, currents: np.ndarray, target: str) -> tuple[np.ndarray, float] | None:
    if not BRIAN_PY.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        cur = Path(tmp) / "currents.npy"
        np.save(cur, currents)
        out = Path(tmp) / "out.npz"
        proc = subprocess.run(
            [str(BRIAN_PY), str(ROOT / "benchmarks" / "brian2_lif.py"), str(out), str(n),
             str(T_STOP), str(DT), target, str(cur)],
            capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            print(f"brian2 {target} failed:\n{proc.stderr[-2000:]}")
            return None
        data = np.load(out)
        return data["counts"], float(data["seconds"])


def run(sizes: list[int], numpy_max: int) -> list[dict[str, object]]:
    rows = []
    n_steps = round(T_STOP / DT)
    for n in sizes:
        currents = np.random.default_rng(0).uniform(0.0, 500e-12, n)
        work = n * n_steps
        population_spike_counts(PARAMS, currents[:64], t_stop=0.01, dt=DT)  # compile
        counts = population_spike_counts(PARAMS, currents, t_stop=T_STOP, dt=DT)
        t_lifhw = _best(lambda c=currents: population_spike_counts(PARAMS, c, t_stop=T_STOP,
                                                                   dt=DT))
        v = np.zeros(n)
        b = np.ones(n) * 1e-3
        _stream(v, 0.99, b, 2)
        t_stream = _best(lambda v=v, b=b: _stream(v, 0.99, b, n_steps))
        row: dict[str, object] = {"n": n, "lifhw": work / t_lifhw, "stream": work / t_stream}
        if n <= numpy_max:
            t_np = _best(lambda c=currents: _numpy_counts(c, n_steps), repeat=1)
            row["numpy"] = work / t_np
            assert np.array_equal(_numpy_counts(currents[:1000], n_steps),
                                  counts[:1000])
        for target in ("cpp_standalone", "cython"):
            result = _brian(n, currents, target)
            if result is None:
                continue
            brian_counts, seconds = result
            row[f"brian2_{target}"] = work / seconds
            row[f"mismatch_{target}"] = int(np.sum(brian_counts != counts))
        row["spikes"] = int(counts.sum())
        rows.append(row)
        print(row, flush=True)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| N | lifhw (neuron-steps/s) | Brian2 cpp_standalone | Brian2 cython | "
             "plain NumPy | bandwidth bound | lifhw / best Brian2 | lifhw / bound | "
             "count mismatches vs Brian2 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        brian = [r.get("brian2_cpp_standalone"), r.get("brian2_cython")]
        best = max((b for b in brian if isinstance(b, float)), default=float("nan"))

        def f(x: object) -> str:
            return f"{x:.3g}" if isinstance(x, float) else "n/a"

        mism = ", ".join(str(r[k]) for k in ("mismatch_cpp_standalone", "mismatch_cython")
                         if k in r) or "n/a"
        lines.append(
            f"| {r['n']:.0e} | {f(r['lifhw'])} | {f(brian[0])} | {f(brian[1])} | "
            f"{f(r.get('numpy'))} | {f(r['stream'])} | "
            f"{f(float(r['lifhw']) / best)}x | {f(float(r['lifhw']) / float(r['stream']))} | "
            f"{mism} (of {r['n']}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 10^4 only")
    args = parser.parse_args(argv)
    sizes = [10_000] if args.quick else [10_000, 100_000]
    print(f"numba threads: {numba.get_num_threads()}")
    rows = run(sizes, numpy_max=100_000)
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
