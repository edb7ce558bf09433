"""Demo stage "golden": the reference neuron of ``circuits/lif_demo.toml``.

Simulates the neuron exactly (precise spike times), draws its membrane trace
and its f-I curve (closed form :func:`lifhw.golden.lif_rate` with simulated
points on top), and reports the closed-form vs simulated ISI -- the referee
every other realisation in the demo is compared with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: The parameter file of the demo, and its embedded copy (used when lifhw runs
#: outside the repository checkout).
PARAM_FILE = Path(__file__).resolve().parents[3] / "circuits" / "lif_demo.toml"
EMBEDDED = {
    "name": "lif_demo",
    "description": "LIF neuron (tau 20 ms, R 100 MOhm) under a 250 pA step",
    "neuron": {"tau_m": "20 ms", "r_m": "100 MOhm", "v_rest": "-65 mV", "v_th": "-50 mV",
               "v_reset": "-65 mV", "t_ref": "2 ms"},
    "stimulus": {"kind": "step", "offset": "0 pA", "amplitude": "250 pA",
                 "t_start": "50 ms", "t_stop": "500 ms", "dt": "0.1 ms"},
}


def load_demo_file() -> Any:
    """The demo neuron's :class:`~lifhw.params.ParamFile` (file, else embedded copy)."""
    from lifhw import params

    if PARAM_FILE.exists():
        return params.load(PARAM_FILE)
    return params.load_mapping(EMBEDDED, source="<embedded lif_demo>")


def run(out_dir: Path) -> Any:
    """Golden stage of ``lifhw demo``: trace + f-I figures and result lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifhw.app.demo import DemoSection
    from lifhw.golden.fi import lif_current_for_rate, lif_isi, lif_rate
    from lifhw.golden.lif import simulate
    from lifhw.io import save_figure

    pf = load_demo_file()
    lif, stimulus = pf.lif, pf.require("stimulus")
    trace = simulate(lif, stimulus)
    stage = out_dir / "golden"
    stage.mkdir(parents=True, exist_ok=True)

    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    ax.plot(trace.t * 1e3, trace.v * 1e3, lw=1, label="V (golden, exact)")
    ax.axhline(lif.v_th * 1e3, ls="--", color="tab:red", lw=0.8, label="threshold")
    for spike in trace.spikes():
        ax.axvline(spike * 1e3, color="k", lw=0.4, alpha=0.4)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane (mV)")
    ax.set_title(f"{pf.name}: {stimulus.amplitude * 1e12:g} pA step at "
                 f"{stimulus.t_start * 1e3:g} ms, {len(trace.spike_times)} spikes")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    trace_png = save_figure(fig, stage / "golden_trace.png", dpi=110)
    plt.close(fig)

    currents = np.linspace(0, 2.5 * stimulus.amplitude, 400)
    sim_currents = np.linspace(0.4, 2.4, 9) * stimulus.amplitude
    sim_rates = []
    for current in sim_currents:
        from lifhw.stimulus import Stimulus

        constant = Stimulus(kind="constant", amplitude=float(current), t_stop=1.0, dt=1e-4)
        sim_rates.append(simulate(lif, constant).rate_hz())
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(currents * 1e12, lif_rate(currents, lif), label="closed form")
    ax.plot(sim_currents * 1e12, sim_rates, "o", mfc="none", label="simulated (1 s)")
    ax.axvline(lif.rheobase * 1e12, ls=":", color="gray", label="rheobase")
    ax.set_xlabel("input current (pA)")
    ax.set_ylabel("rate (Hz)")
    ax.set_title("f-I curve of the golden neuron")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fi_png = save_figure(fig, stage / "golden_fi.png", dpi=110)
    plt.close(fig)

    isi = trace.isi()
    theory = float(lif_isi(stimulus.amplitude, lif))
    worst = max(abs(r - float(lif_rate(c, lif))) / max(float(lif_rate(c, lif)), 1e-30)
                for c, r in zip(sim_currents, sim_rates, strict=True)
                if float(lif_rate(c, lif)) > 0)
    lines = [
        f"parameter file: {pf.source}",
        f"tau_m = {lif.tau_m * 1e3:g} ms, R = {lif.r_m / 1e6:g} MOhm, C = {lif.c_m * 1e12:g} pF, "
        f"t_ref = {lif.t_ref * 1e3:g} ms, rheobase = {lif.rheobase * 1e12:g} pA",
        f"{len(trace.spike_times)} spikes; ISI simulated {isi[-1] * 1e3:.6f} ms vs closed form "
        f"{theory * 1e3:.6f} ms",
        f"f-I: simulated rates match the closed form within {worst:.1e} (relative)",
        f"current for 50 Hz: {float(lif_current_for_rate(50.0, lif)) * 1e12:.2f} pA",
    ]
    table: list[list[Any]] = [["I (pA)", "rate sim (Hz)", "rate theory (Hz)"]]
    table += [[round(c * 1e12, 2), r, float(lif_rate(c, lif))]
              for c, r in zip(sim_currents, sim_rates, strict=True)]
    return DemoSection(title="Golden model (the referee)", lines=lines,
                       figures=[trace_png, fi_png], table=table)
