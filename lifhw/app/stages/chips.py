"""Demo stage of the chip flow: one float network on Loihi, TrueNorth, SpiNNaker
and BrainScaleS-2, compared with the golden model (``make demo``)."""

from __future__ import annotations

from pathlib import Path

from lifhw.app.demo import DemoSection

#: The example network (parameter file shipped with the repository).
EXAMPLE = Path(__file__).resolve().parents[3] / "circuits" / "networks" / "ei_small.toml"


def run(out_dir: Path) -> DemoSection:
    """Map ``circuits/networks/ei_small.toml`` onto every chip; table + figure."""
    from lifhw.chips import report
    from lifhw.network import load_experiment

    network, spikes = load_experiment(EXAMPLE)
    result = report.evaluate(network, spikes)
    figure = report.plot(result, Path(out_dir) / "chips_map.png")
    golden_spikes = int(sum(s.sum() for s in result.golden.spikes.values()))
    lines = [f"network {network.name}: {network.n_neurons} LIF neurons, "
             f"{network.n_synapses} synapses, {spikes.shape[0]} steps; golden "
             f"{golden_spikes} spikes"]
    for res in result.results:
        if res.metrics is None or res.energy is None:
            lines.append(f"{res.chip}: FAILED {res.error}")
            continue
        m = res.metrics
        worst = max(res.deviations, key=lambda d: d.error if d.target else 0.0, default=None)
        worst_txt = (f", worst parameter {worst.parameter}@{worst.where} "
                     f"{100 * worst.error:.1f}%" if worst is not None and worst.target else "")
        lines.append(f"{res.chip}: {m.n_spikes_cand} spikes, rate correlation "
                     f"{m.rate_correlation:.3f}{worst_txt}, {len(res.violations)} rule "
                     f"warnings, energy {res.energy.total_j * 1e6:.3g} uJ")
    trace_png, trace_line = loihi_trace_figure(Path(out_dir) / "chips_loihi_trace.png")
    lines.append(trace_line)
    placements = report.place(result, spikes)
    placement_png = report.plot_placement(placements, Path(out_dir) / "chips_placement.png")
    for chip, placement in placements.items():
        lines.append(f"{chip} placement: {placement.cores_used} "
                     f"{placement.resources.core_name}s on {placement.chips_used} chip(s), "
                     f"{placement.relay_neurons} relay neurons, inter-core "
                     f"{placement.core_spikes_per_s:.0f} spikes/s")
    return DemoSection(title="Chip mappers: one network on four chips", lines=lines,
                       figures=[figure, trace_png, placement_png],
                       table=report.table(result))


def loihi_trace_figure(path: Path) -> tuple[Path, str]:
    """One neuron with current synapses: Loihi's integer membrane (in volts) vs golden."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from lifhw.chips import loihi
    from lifhw.core import LIFParams
    from lifhw.golden.network import simulate_network
    from lifhw.io import save_figure
    from lifhw.network import InputPopulation, Network, Population, Projection

    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                       tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    net = Network("one", (InputPopulation("x", 2),),
                  (Population("n", 1, neuron, np.array([0.1e-9])),),
                  (Projection("x", "n", np.array([[0.4e-9, -0.3e-9]])),), dt=1e-4)
    rng = np.random.default_rng(2)
    spikes = rng.random((3000, 2)) < np.array([0.01, 0.004])
    config = loihi.quantize(loihi.map(net))
    chip = loihi.simulate(config, spikes, record_states=True)
    golden = simulate_network(net, spikes, record_v=True)
    pop = config.populations[0]
    t = (np.arange(3000) + 1) * 1e-4
    v_chip = neuron.v_rest + chip.states["n"]["v"][:, 0] * pop.v_lsb
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(t * 1e3, golden.states["n"]["v"][:, 0] * 1e3, label="golden (float, exact)")
    ax.plot(t * 1e3, v_chip * 1e3, "--", label=f"Loihi (24-bit v, dv={pop.dv}, du={pop.du})")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("V (mV)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    n_gold = int(golden.spikes["n"].sum())
    n_chip = int(chip.spikes["n"].sum())
    return path, (f"one Loihi neuron vs golden over 300 ms: {n_chip} vs {n_gold} spikes, "
                  f"v resolution {pop.v_lsb * 1e9:.2f} nV per LSB")
