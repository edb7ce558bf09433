"""Demo stage of the chip flow: one float network on Loihi, TrueNorth, SpiNNaker
and BrainScaleS-2, compared with the golden model (``make demo``)."""

from __future__ import annotations

from pathlib import Path

from lifhw.demo import DemoSection

#: The example network (parameter file shipped with the repository).
EXAMPLE = Path(__file__).resolve().parents[2] / "circuits" / "networks" / "ei_small.toml"


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
    return DemoSection(title="Chip mappers: one network on four chips", lines=lines,
                       figures=[figure], table=report.table(result))
