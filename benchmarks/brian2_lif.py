"""Brian2 side of bench_golden (runs in its own venv: Brian2 needs numpy < 2.4).

Usage: python brian2_lif.py OUT.npz N T_STOP DT TARGET CURRENTS.npy
Writes spike counts and the simulation run time (compilation excluded).
"""

import sys
import time

import numpy as np


def main() -> None:
    out, n, t_stop, dt, target, currents_path = sys.argv[1:7]
    n, t_stop, dt = int(n), float(t_stop), float(dt)
    import brian2 as b2

    workdir = out + ".build"
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
    else:
        b2.prefs.codegen.target = target
        b2.prefs.codegen.runtime.cython.cache_dir = workdir + "-cython"
    b2.defaultclock.dt = dt * b2.second
    currents = np.load(currents_path)
    tau, r_m = 20e-3, 100e6
    v_rest, v_th, v_reset = -65e-3, -50e-3, -65e-3
    # Brian2 freezes round(refractory/dt) - 1 steps after the spike step; lifhw (like
    # NEST) freezes round(t_ref/dt) steps: ask Brian2 for one more step to match.
    n_ref = round(2e-3 / dt)
    eqs = "dv/dt = (-(v - v_rest) + r_m * I) / tau : volt (unless refractory)\nI : amp"
    group = b2.NeuronGroup(n, eqs, threshold="v >= v_th", reset="v = v_reset",
                           refractory=(n_ref + 1) * dt * b2.second, method="exact",
                           namespace={"v_rest": v_rest * b2.volt, "v_th": v_th * b2.volt,
                                      "v_reset": v_reset * b2.volt, "tau": tau * b2.second,
                                      "r_m": r_m * b2.ohm})
    group.v = v_rest * b2.volt
    group.I = currents * b2.amp
    monitor = b2.SpikeMonitor(group, record=False)
    if target == "cpp_standalone":
        b2.run(t_stop * b2.second)
        b2.device.build(directory=workdir, compile=True, run=True, debug=False)
        seconds = float(b2.device._last_run_time)
    else:
        b2.run(1 * dt * b2.second)  # compile/warm-up
        group.v = v_rest * b2.volt
        start = time.perf_counter()
        b2.run(t_stop * b2.second)
        seconds = time.perf_counter() - start
    counts = np.asarray(monitor.count[:], dtype=np.int64)
    np.savez(out, counts=counts, seconds=seconds)


if __name__ == "__main__":
    main()
