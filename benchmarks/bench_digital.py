"""Bit-exact verification throughput of the population core: lifhw flow vs pure C++ harness.

    .venv/bin/python -m benchmarks.bench_digital [--steps 4096] [--repeat 2]

Both sides run the same core (circuits/lif_core_population.toml, 1024 neurons x 32
inputs) on the same random weights, bias and input spikes, in one run:

* **lifhw flow** (what the tests use): :func:`lifhw.digital.regress.verify_population`
  on Verilator -- stimulus packed by NumPy into $readmemh files, the Verilog batch
  harness under cocotb, output events read back and compared exactly, every
  membrane compared through the 64-bit monitor signature against the golden twin
  :func:`lifhw.golden.fixedpoint.population_run` (run in a thread meanwhile). Timed
  end to end (build cached beforehand). The recording path (every membrane written
  to a file and compared in NumPy) is timed too, for reference.
* **C++ anchor**: ``benchmarks/population_harness.cpp``, a plain Verilator C++
  testbench driving the core's ports cycle by cycle from binary files (``-O3``),
  timed around the simulation binary only; its output is checked against the golden
  model too, so both sides do verified work.

Throughput = neuron-updates / wall second. Numbers go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lifhw import tools
from lifhw.digital import regress, verilog
from lifhw.digital.harness import to_bits
from lifhw.digital.population import simulate_rtl
from lifhw.digital.regress import verify_population
from lifhw.golden import fixedpoint as fp
from lifhw.params import load

ROOT = Path(__file__).resolve().parents[1]
CORE_FILE = ROOT / "circuits" / "lif_core_population.toml"


def build_cpp(build_dir: Path) -> Path:
    """Verilate the core with the C++ harness (cached by source text)."""
    pf = load(CORE_FILE)
    core = pf.core
    top = verilog.module_name(pf)
    src = build_dir / f"{top}.v"
    text = verilog.generate(pf)[f"{top}.v"]
    binary = build_dir / "obj" / "population_harness"
    if binary.exists() and src.exists() and src.read_text() == text:
        return binary
    build_dir.mkdir(parents=True, exist_ok=True)
    src.write_text(text)
    row_bits = core.w_i + core.n_inputs * core.w_w
    defines = [f"-DN_NEURONS={core.n_neurons}", f"-DROW_WORDS={(row_bits + 31) // 32}",
               f"-DSTEP_CODE={1 << verilog.clog2(core.n_inputs)}", f"-DW_V={core.w_v}",
               f"-DHARNESS_TOP=V{top}", f"-DHARNESS_HEADER=\\\"V{top}.h\\\""]
    cmd = [tools.which("verilator"), "--cc", "--exe", "--build", "-O3", "--x-assign", "fast",
           "--x-initial", "fast", "-Wno-fatal", "-Wno-lint", "-Wno-style",
           "--top-module", top, "-Mdir", str(build_dir / "obj"), "-o", "population_harness",
           "-CFLAGS", "-O2 " + " ".join(defines), str(src),
           str(ROOT / "benchmarks" / "population_harness.cpp")]
    subprocess.run(cmd, check=True, env=tools.verilator_env(), timeout=1200,
                   stdout=subprocess.DEVNULL)
    return binary


def run_cpp(binary: Path, weights: np.ndarray, bias: np.ndarray, spikes: np.ndarray,
            work: Path) -> tuple[float, np.ndarray, np.ndarray]:
    """Run the C++ harness; returns (seconds, v (T, N), spike (T, N))."""
    core = load(CORE_FILE).core
    n, n_in = core.n_neurons, core.n_inputs
    row_bits = core.w_i + n_in * core.w_w
    words = (row_bits + 31) // 32
    bits = np.zeros((n, words * 32), np.uint8)
    bits[:, : n_in * core.w_w] = to_bits(weights, core.w_w).reshape(n, -1)
    bits[:, n_in * core.w_w: row_bits] = to_bits(bias, core.w_i)
    packed = np.packbits(bits.reshape(n, words, 32), axis=-1, bitorder="little")
    (work / "weights.bin").write_bytes(packed.tobytes())
    step_code = 1 << verilog.clog2(n_in)
    codes = []
    for row in spikes:
        codes.append(np.flatnonzero(row))
        codes.append(np.array([step_code]))
    (work / "events.bin").write_bytes(np.concatenate(codes).astype("<u4").tobytes())
    start = time.perf_counter()
    subprocess.run([str(binary), str(work / "weights.bin"), str(work / "events.bin"),
                    str(work / "mon.bin")], check=True, timeout=600)
    seconds = time.perf_counter() - start
    mon = np.frombuffer((work / "mon.bin").read_bytes(), dtype="<u4").astype(np.int64)
    w_v = core.w_v
    v = mon & ((1 << w_v) - 1)
    v = np.where(v >= 1 << (w_v - 1), v - (1 << w_v), v)
    spike = ((mon >> w_v) & 1).astype(bool)
    return seconds, v.reshape(-1, n), spike.reshape(-1, n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4096, help="timesteps (x 1024 neurons)")
    parser.add_argument("--repeat", type=int, default=2, help="timed repetitions (best)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    pf = load(CORE_FILE)
    core = pf.core
    weights, bias, spikes = regress.random_population(core, args.steps, args.seed)
    updates = core.n_neurons * args.steps
    build_root = ROOT / "build" / "rtl"
    print(f"core {pf.name}: {core.n_neurons} neurons x {core.n_inputs} inputs, "
          f"{args.steps} steps = {updates:,} neuron-updates", flush=True)

    t0 = time.perf_counter()
    want = fp.population_run(core.fixed(), weights, spikes, bias)
    golden_s = time.perf_counter() - t0

    # Warm-up: build (cached) the flow's harness for this many steps.
    flows = {}
    for sim in ("verilator-binary", "verilator"):
        t0 = time.perf_counter()
        verify_population(pf, weights, spikes, bias, sim=sim, build_root=build_root)
        print(f"flow build/warm-up ({sim}): {time.perf_counter() - t0:.1f} s", flush=True)
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            verify_population(pf, weights, spikes, bias, sim=sim,
                              build_root=build_root)  # raises unless bit-exact
            best = min(best, time.perf_counter() - t0)
        flows[sim] = best
    flow_best = flows["verilator-binary"]
    # The recording path (every membrane through $writememh files), for reference.
    t0 = time.perf_counter()
    got = simulate_rtl(pf, weights, spikes, bias=bias, build_root=build_root)
    record_s = time.perf_counter() - t0
    if not (got.v is not None and np.array_equal(got.v, want.v)):
        print("RECORDING PATH MISMATCH against the golden model", file=sys.stderr)
        return 1

    t0 = time.perf_counter()
    binary = build_cpp(ROOT / "build" / "bench_cpp")
    print(f"C++ harness build: {time.perf_counter() - t0:.1f} s", flush=True)
    cpp_best = float("inf")
    with tempfile.TemporaryDirectory(prefix="lifhw-bench-") as tmp:
        for _ in range(args.repeat):
            seconds, v, spike = run_cpp(binary, weights, bias, spikes, Path(tmp))
            cpp_best = min(cpp_best, seconds)
            if not (np.array_equal(v, want.v) and np.array_equal(spike, want.spike)):
                print("C++ HARNESS MISMATCH against the golden model", file=sys.stderr)
                return 1

    flow_rate = updates / flow_best
    cpp_rate = updates / cpp_best
    rows = [("lifhw flow: batch harness, Verilator --binary + golden check", flow_best,
             flow_rate),
            ("lifhw flow: batch harness under cocotb (Verilator) + golden check",
             flows["verilator"], updates / flows["verilator"]),
            ("  cocotb, recording every membrane (simulate_rtl)", record_s, updates / record_s),
            ("pure Verilator C++ harness (simulation only)", cpp_best, cpp_rate),
            ("golden model alone (NumPy)", golden_s, updates / golden_s)]
    print(f"\n{'side':66s} {'wall s':>8s} {'updates/s':>12s}")
    for name, sec, rate in rows:
        print(f"{name:66s} {sec:8.2f} {rate:12.3g}")
    print(f"\nflow (--binary) / C++ = {flow_rate / cpp_rate:.1%} (target >= 25 %); "
          f"cocotb flow / C++ = {updates / flows['verilator'] / cpp_rate:.1%}; "
          f"both bit-exact; machine load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
