"""Analog flow benchmark: single-point wall time and 20-point sweep throughput.

    .venv/bin/python -m benchmarks.bench_analog [--points 20] [--workers 2] [--no-sky130]

Measured side by side in one run (ratios are what matter on a shared machine):

* single point: the contract example (100 ms, 20 pA) on the behavioural netlist
  with ngspice batch and with PySpice's shared library; the sky130 netlist with
  the trimmed model file and with the full combined library (median of 3);
* sweep of the same 20 f-I points (constant currents from 3x to 20x the
  rheobase; 50 ms behavioural, 30 ms sky130, i.e. >= 3 ISIs each): the naive
  flow -- one ngspice process per point, sequentially, and for sky130 loading
  the full sky130 library each time -- against lifhw's flow
  (:func:`lifhw.analog.backends.run_many`, 2 concurrent ngspice processes, trimmed
  library). Every point's ISI is checked to agree between the two flows.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lifhw.analog import backends as be
from lifhw.analog import netlist as nl
from lifhw.golden.ota import OTANeuron
from lifhw.params import load
from lifhw.stimulus import Stimulus

ROOT = Path(__file__).resolve().parents[1]


def _median_time(func: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _sweep_netlists(name: str, circuit: object, points: int, t_stop: float) -> list[str]:
    golden = OTANeuron.from_circuit(circuit)
    currents = np.geomspace(3.0, 20.0, points) * golden.rheobase
    return [nl.generate(name, circuit,  # type: ignore[arg-type]
                        Stimulus(kind="constant", amplitude=float(i), t_stop=t_stop))
            for i in currents]


def _full_library(text: str, corner: str) -> str:
    """The naive netlist: the full combined sky130 library instead of the trimmed file."""
    from lifhw.analog import models

    lines = [f'.lib "{models.library_path()}" {corner}' if line.startswith(".include")
             else line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def _isis(outputs: Sequence[be.SimOutput], level: float) -> np.ndarray:
    return np.array([np.mean(np.diff(be.rising_crossings(o["time"], o["v(spike)"], level)))
                     for o in outputs])


def _sweep(label: str, netlists: list[str], config: be.RunConfig, workers: int,
           naive: list[str] | None, level: float) -> list[list[str]]:
    rows = []
    start = time.perf_counter()
    naive_out = [be.NgspiceBatch(config).run(text) for text in (naive or netlists)]
    t_naive = time.perf_counter() - start
    start = time.perf_counter()
    fast_out = be.run_many(netlists, workers=workers, config=config)
    t_fast = time.perf_counter() - start
    deviation = float(np.max(np.abs(_isis(fast_out, level) / _isis(naive_out, level) - 1)))
    n = len(netlists)
    rows.append([label, f"{n}", f"{t_naive:.2f}", f"{n / t_naive:.2f}", f"{t_fast:.2f}",
                 f"{n / t_fast:.2f}", f"{t_naive / t_fast:.1f}x", f"{deviation:.1e}"])
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_analog")
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-sky130", action="store_true")
    parser.add_argument("--sky130-t-stop", type=float, default=30e-3,
                        help="simulated time per sky130 sweep point (s)")
    args = parser.parse_args(argv)

    behavioral = load(ROOT / "circuits" / "ota_lif_behavioral.toml")
    circuit, stimulus = behavioral.circuit, behavioral.stimulus
    text = nl.generate(behavioral.name, circuit, stimulus)
    config = be.RunConfig(timeout_s=600)
    single = [["netlist", "backend", "median wall (s)", "spikes"]]
    out = be.NgspiceBatch(config).run(text)
    level = nl.spike_level(circuit)
    spikes = len(be.rising_crossings(out["time"], out["v(spike)"], level))
    single.append(["behavioral", "ngspice -b",
                   f"{_median_time(lambda: be.NgspiceBatch(config).run(text)):.3f}",
                   str(spikes)])
    single.append(["behavioral", "PySpice shared",
                   f"{_median_time(lambda: be.PySpiceShared(config).run(text)):.3f}",
                   str(spikes)])
    sweep_rows = [["netlist", "points", "naive (s)", "naive pts/s", "lifhw (s)",
                   "lifhw pts/s", "speed-up", "max ISI dev."]]
    netlists = _sweep_netlists(behavioral.name, circuit, args.points, 50e-3)
    sweep_rows += _sweep("behavioral (naive: sequential)", netlists, config, args.workers,
                         None, level)

    if not args.no_sky130:
        sky = dataclasses.replace(circuit, topology="sky130")
        sky_config = dataclasses.replace(be.default_config(sky), timeout_s=600)
        text = nl.generate("bench_sky130", sky, stimulus)
        full = _full_library(text, sky.corner)
        sky_out = be.NgspiceBatch(sky_config).run(text)
        sky_spikes = len(be.rising_crossings(sky_out["time"], sky_out["v(spike)"], level))
        single.append(["sky130 (trimmed models)", "ngspice -b",
                       f"{_median_time(lambda: be.NgspiceBatch(sky_config).run(text)):.3f}",
                       str(sky_spikes)])
        single.append(["sky130 (full library)", "ngspice -b",
                       f"{_median_time(lambda: be.NgspiceBatch(sky_config).run(full)):.3f}",
                       str(sky_spikes)])
        sky_nets = _sweep_netlists("bench_sky130", sky, args.points, args.sky130_t_stop)
        naive = [_full_library(t, sky.corner) for t in sky_nets]
        sweep_rows += _sweep("sky130 (naive: sequential, full library)", sky_nets,
                             sky_config, args.workers, naive, level)

    for table in (single, sweep_rows):
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
