"""Demo stage of the digital flow: generate, simulate bit-exactly, compare with float, area.

On the embedded default core (the ``lif_neuron`` contract defaults, read as a
float neuron through its ``dt``/``v_lsb``): the RTL runs on Icarus against the
integer golden model, its dequantised membrane is overlaid on the float golden
model, a small population core runs a random network through ``run_rtl``, and
yosys reports the area of each committed core.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lifhw.app.demo import DemoSection

CORES = ("lif_core_default", "lif_core_multiply", "lif_core_population")


def _circuits() -> Path:
    return Path(__file__).resolve().parents[3] / "circuits"


def run(out_dir: Path) -> DemoSection:
    """Run the stage and write ``digital_*.png`` under ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifhw.digital import regress
    from lifhw.digital.population import run_rtl
    from lifhw.digital.run import run_neurons
    from lifhw.golden import fixedpoint as fp
    from lifhw.golden.lif import simulate_population
    from lifhw.io import save_figure
    from lifhw.params import load

    section = DemoSection(title="Digital flow: fixed-point LIF cores (Verilog, cocotb, yosys)")
    build_root = out_dir / "build" / "rtl"
    pf = load(_circuits() / "lif_core_default.toml")
    core = pf.core
    p = core.fixed()
    lif = pf.lif
    lsb, dt = core.v_lsb, core.dt

    # One neuron, three input levels, 300 steps on Icarus vs the integer golden model.
    n_steps = 300
    levels = np.array([40, 70, 120])
    i_in = np.broadcast_to(levels, (n_steps, len(levels))).copy()
    rtl = run_neurons(pf, i_in, sim="icarus", build_root=build_root)
    rst = np.zeros(n_steps, bool)
    rst[0] = True
    golden = fp.run(p, i_in, rst=rst)
    exact = bool(np.array_equal(rtl.v, golden.v) and np.array_equal(rtl.spike, golden.spike))
    section.lines.append(f"lif_neuron (W_V=16, LEAK_SHIFT=4, V_TH=1000) on Icarus: "
                         f"{rtl.v.size} updates, bit-exact vs integer golden: {exact}")

    # Float golden model with the dequantised parameters and the equivalent currents.
    currents = fp.FixedLIF.input_to_current(p, levels, lsb=lsb, r_m=lif.r_m)
    trace = simulate_population(lif, currents, t_stop=(n_steps - 1) * dt, dt=dt,
                                record_v=True)
    assert trace.spike_neurons is not None
    float_counts = np.bincount(trace.spike_neurons, minlength=len(levels))
    rtl_counts = rtl.spike.sum(axis=0)
    section.lines.append(
        f"spike counts in {n_steps} ms, RTL vs float golden (tau_m {lif.tau_m * 1e3:.2f} ms): "
        + ", ".join(f"{a}/{b}" for a, b in zip(rtl_counts, float_counts, strict=True)))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    # RTL cycle 0 is the reset; cycle k holds the membrane after k - 1 updates.
    t_ms = (np.arange(n_steps) - 1) * dt * 1e3
    for k, level in enumerate(levels):
        ax.plot(t_ms, (rtl.v[:, k] * lsb + lif.v_rest) * 1e3, lw=1.0,
                label=f"RTL, i_in={level} LSB")
        ax.plot(trace.t[1:] * 1e3, trace.v[k, 1:] * 1e3, "k:", lw=0.8)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane (mV)")
    ax.set_title("lif_neuron RTL (solid) vs float golden model (dotted)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    section.figures.append(save_figure(fig, out_dir / "digital_membrane.png"))
    plt.close(fig)

    # A small population core running a random network through the deployment API.
    pop = load(_circuits() / "lif_core_population_small.toml")
    weights, bias, spikes = regress.random_population(pop.core, 200, seed=1)
    out = run_rtl(pop, weights, spikes, bias=bias, sim="icarus", build_root=build_root)
    twin = fp.population_run(pop.core.fixed(), weights, spikes, bias).spike
    section.lines.append(f"population core ({pop.core.n_neurons} neurons x "
                         f"{pop.core.n_inputs} inputs) via run_rtl on Icarus: {int(out.sum())} "
                         f"spikes in 200 steps, bit-exact vs golden twin: "
                         f"{bool(np.array_equal(out, twin))}")
    fig, ax = plt.subplots(figsize=(7, 2.8))
    t_idx, n_idx = np.nonzero(out)
    ax.plot(t_idx, n_idx, "|", ms=3, color="tab:blue")
    ax.set_xlabel("timestep")
    ax.set_ylabel("neuron")
    ax.set_title("population core output events (RTL)")
    fig.tight_layout()
    section.figures.append(save_figure(fig, out_dir / "digital_population_raster.png"))
    plt.close(fig)

    # Area of the committed cores.
    try:
        from lifhw.digital.synth import synthesize

        section.table.append(["core", "logic cells", "flip-flops", "NAND2 eq.", "memory bits"])
        for name in CORES:
            area = synthesize(load(_circuits() / f"{name}.toml"))
            section.table.append([name, area.logic_cells, area.flip_flops,
                                  round(area.gate_equivalents), area.memory_bits])
        section.lines.append("yosys area: " + "; ".join(
            f"{row[0]} {row[3]} GE" for row in section.table[1:]))
    except Exception as err:  # area is an extra: report, do not fail the stage
        section.lines.append(f"yosys area skipped: {err}")
    return section
