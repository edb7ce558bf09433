"""sky130 benchmark: trimmed vs full model library, and a 20-point f-I sweep.

    .venv/bin/python -m benchmarks.bench_sky130 [--points 20] [--workers 2] [--repeat 2]
    .venv/bin/python -m benchmarks.bench_sky130 --figure docs/figures/analog_sky130_cycle.png

Side by side in one run (ratios are what matter on a shared machine):

* **single point**: one transistor-level transient (the verification design
  point, 0.5 ms at 3x rheobase) with the trimmed model file
  (:mod:`lifhw.analog.models`) and with the full combined sky130 library
  (``.lib ... tt``); median wall time of ``--repeat`` ``ngspice -b`` runs each,
  and the same for a model-load-only run (``.op`` of one transistor).
* **sweep** of the same ``--points`` constant currents (2.5x-12x rheobase):
  the naive flow -- one ``ngspice -b`` process per point loading the full
  library, ``--workers`` processes at a time -- against models loaded once per
  worker: ``--workers`` ngspice processes, each loading the trimmed models once
  and looping over its share of the points with ``alter IIN dc=...`` / ``tran``
  in a ``.control`` block. The spike times of every point are checked to agree
  between the two flows.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from lifhw.analog import backends as be
from lifhw.analog import models, sky130
from lifhw.analog import netlist as nl
from lifhw.params import load_mapping
from lifhw.stimulus import Stimulus
from lifhw.tools import which

#: The fast design point of verification/test_sky130.py.
DESIGN = {
    "name": "bench130",
    "circuit": {
        "topology": "sky130", "membrane_capacitance": "1 pF", "leak_bias_current": "200 pA",
        "v_rest": "0.6 V", "v_threshold": "0.65 V", "v_reset": "0.6 V",
        "refractory": "50 us", "supply": "1.8 V", "corner": "tt",
        "sky130": {"comparator_bias_current": "100 nA"},
    },
    "stimulus": {"kind": "constant", "amplitude": "350 pA", "t_stop": "0.5 ms"},
}
#: Nominal tanh rheobase of DESIGN (A): I_b tanh(kappa 50 mV / 2U_T), kappa = 0.7.
RHEOBASE_A = 0.118e-9
TIMEOUT_S = 300.0


def _run_ngspice(work: Path, netlist: str, *, raw: bool = True) -> float:
    """Run ``ngspice -b`` on ``netlist`` in ``work``; returns the wall time (s)."""
    work.mkdir(parents=True, exist_ok=True)
    # .spiceinit and the trimmed model file the netlist includes by name
    models.write_support_files(work, "tt")
    (work / "circuit.cir").write_text(netlist)
    cmd = [which("ngspice"), "-b"] + (["-r", "circuit.raw"] if raw else []) + ["circuit.cir"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"ngspice timed out after {TIMEOUT_S:g} s in {work}") from None
    seconds = time.perf_counter() - start
    log = out.decode("utf-8", "replace")
    (work / "ngspice.log").write_text(log)
    be.check_log(log)
    return seconds


def _spikes(raw_path: Path) -> np.ndarray:
    output = be.read_raw(raw_path.read_bytes())
    return be.rising_crossings(output["time"], output["v(spike)"], 0.9)


def _design():
    pf = load_mapping(DESIGN)
    return pf.sections["circuit"], pf.sections["stimulus"]


def point_netlist(current: float, *, full_library: bool) -> str:
    """Netlist of one sweep point (constant ``IIN`` as a DC source, ``alter``-able)."""
    circuit, stimulus = _design()
    text = sky130.generate("bench130", circuit, stimulus,
                           max_step=nl.default_max_step(circuit, stimulus))
    text = nl.replace_block(text, nl.STIMULUS_BEGIN, nl.STIMULUS_END,
                            [f"IIN 0 vm DC {nl.spice_number(current)}"])
    if full_library:
        include = next(ln for ln in text.splitlines() if ln.startswith(".include"))
        text = text.replace(include, f'.lib "{models.library_path()}" tt')
    return text


def worker_netlist(currents: list[float]) -> str:
    """One netlist that loads the models once and simulates every current in turn."""
    text = point_netlist(currents[0], full_library=False)
    _, stimulus = _design()
    circuit, _ = _design()
    step = nl.default_max_step(circuit, stimulus)
    tran = (f"tran {nl.spice_number(min(step, stimulus.t_stop / 1000))} "
            f"{nl.spice_number(stimulus.t_stop)} 0 {nl.spice_number(step)}")
    control = [".control"]
    for k, current in enumerate(currents):
        control += [f"alter IIN dc={nl.spice_number(current)}", tran,
                    f"write point{k}.raw v(vm) v(spike)", "destroy all"]
    control += ["quit", ".endc"]
    return text.replace("\n.end\n", "\n" + "\n".join(control) + "\n.end\n")


def _naive_point(args: tuple[int, float, str]) -> tuple[int, np.ndarray]:
    k, current, root = args
    work = Path(root) / f"naive{k}"
    _run_ngspice(work, point_netlist(current, full_library=True))
    return k, _spikes(work / "circuit.raw")


def _worker(args: tuple[int, list[int], list[float], str]) -> list[tuple[int, np.ndarray]]:
    w, indices, currents, root = args
    work = Path(root) / f"worker{w}"
    _run_ngspice(work, worker_netlist(currents), raw=False)
    return [(k, _spikes(work / f"point{j}.raw")) for j, k in enumerate(indices)]


def bench_single(repeat: int, root: Path) -> dict[str, float]:
    """Median wall time (s) of one point and of the model load alone, trimmed vs full."""
    current = 3.0 * RHEOBASE_A
    load_only = {
        "trimmed": f'load\n.include "{models.trimmed_model_path("tt")}"\n',
        "full": f'load\n.lib "{models.library_path()}" tt\n',
    }
    results: dict[str, float] = {}
    for kind, full in (("trimmed", False), ("full", True)):
        text = point_netlist(current, full_library=full)
        times = [_run_ngspice(root / f"single_{kind}{r}", text) for r in range(repeat)]
        results[f"point_{kind}_s"] = statistics.median(times)
        op = (load_only[kind] + "VD d 0 0.9\nVG g 0 0.3\n"
              "XM1 d g 0 0 sky130_fd_pr__nfet_01v8 W=2 L=1\n.op\n.end\n")
        times = [_run_ngspice(root / f"load_{kind}{r}", op, raw=False) for r in range(repeat)]
        results[f"load_{kind}_s"] = statistics.median(times)
    return results


def bench_sweep(points: int, workers: int, root: Path) -> dict[str, float]:
    """Wall time (s) of the naive and the load-once sweep over the same points."""
    currents = list(np.linspace(2.5, 12.0, points) * RHEOBASE_A)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        naive = dict(pool.map(_naive_point, [(k, i, str(root)) for k, i in
                                             enumerate(currents)]))
    naive_s = time.perf_counter() - start
    shares = [list(range(w, points, workers)) for w in range(workers)]
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        batches = pool.map(_worker, [(w, idx, [currents[k] for k in idx], str(root))
                                     for w, idx in enumerate(shares)])
        once = dict(item for batch in batches for item in batch)
    once_s = time.perf_counter() - start
    worst = 0.0
    for k in range(points):
        a, b = naive[k], once[k]
        if len(a) != len(b) or len(a) < 1:
            raise RuntimeError(f"point {k}: {len(a)} vs {len(b)} spikes")
        worst = max(worst, float(np.max(np.abs(a - b))))
    return {"points": points, "workers": workers, "naive_s": naive_s, "load_once_s": once_s,
            "speedup": naive_s / once_s, "max_spike_time_diff_s": worst,
            "spikes_per_point_min": min(len(v) for v in once.values())}


def figure(path: Path) -> None:
    """Characterise the design point and draw one spike cycle and the f-I curve."""
    from lifhw.golden.ota import ota_isi

    circuit, _ = _design()
    ch = sky130.characterise("bench130", circuit)
    golden = ch.neuron(circuit)
    points = []
    for multiple in (1.5, 3.0, 4.5, 9.0):
        current = multiple * golden.rheobase
        stimulus = Stimulus(kind="constant", amplitude=current, dt=1e-6,
                            t_stop=3.3 * float(ota_isi(current, golden)))
        sim = be.simulate("bench130", circuit, stimulus)
        spikes = sim.trace.spike_times
        points.append((current, float(np.mean(np.diff(spikes)))))
        if multiple == 3.0:
            cycle = sim.output
    sky130.plot_spike_cycle(cycle, circuit, path, neuron=golden, fi_points=points)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--figure", type=Path, default=None,
                        help="only draw the spike-cycle / f-I figure to this file")
    args = parser.parse_args(argv)
    if args.figure is not None:
        figure(args.figure)
        return
    models.trimmed_model_path("tt")  # build the cache outside the timed runs
    with tempfile.TemporaryDirectory(prefix="bench-sky130-") as tmp:
        root = Path(tmp)
        single = bench_single(args.repeat, root)
        print(f"single point (median of {args.repeat}):")
        print(f"  model load only: trimmed {single['load_trimmed_s']:.3f} s, "
              f"full {single['load_full_s']:.3f} s "
              f"({single['load_full_s'] / single['load_trimmed_s']:.0f}x)")
        print(f"  0.5 ms transient: trimmed {single['point_trimmed_s']:.3f} s, "
              f"full {single['point_full_s']:.3f} s "
              f"({single['point_full_s'] / single['point_trimmed_s']:.2f}x)")
        sweep = bench_sweep(args.points, args.workers, root)
        print(f"sweep of {sweep['points']} points on {sweep['workers']} workers:")
        print(f"  naive (process per point, full library): {sweep['naive_s']:.2f} s")
        print(f"  models loaded once per worker (trimmed, alter loop): "
              f"{sweep['load_once_s']:.2f} s")
        print(f"  speed-up {sweep['speedup']:.2f}x; max spike-time difference "
              f"{sweep['max_spike_time_diff_s']:.3g} s; >= {sweep['spikes_per_point_min']} "
              "spikes per point")


if __name__ == "__main__":
    main()
