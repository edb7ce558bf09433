"""Demo stage "sweep": a small design-space sweep and its Pareto front.

Runs ``circuits/sweeps/demo_pareto.toml`` (transistor-level sky130 neuron,
membrane capacitor x leak bias; ngspice) on local workers into
``out/sweep/demo_pareto.sqlite``, then plots the Pareto front of energy per
spike vs |tau error| vs layout area and the heat maps. Without ngspice the
golden f-I sweep (``golden_fi.toml``) is run instead, and the section says so.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parents[3] / "circuits" / "sweeps"


def run(out_dir: Path) -> Any:
    """Sweep stage of ``lifhw demo``."""
    from lifhw import tools
    from lifhw.app.commands.sweep import write_summary
    from lifhw.app.demo import DemoSection
    from lifhw.sweep.db import ResultsDB
    from lifhw.sweep.engine import run_sweep
    from lifhw.sweep.plots import plot_rows
    from lifhw.sweep.spec import load_spec

    notes = []
    name = "demo_pareto"
    if not tools.have("ngspice"):
        name = "golden_fi"
        notes.append("ngspice is not installed: the golden f-I sweep is shown instead "
                     f"({tools.INSTALL_HINTS['ngspice']})")
    spec = load_spec(SPECS / f"{name}.toml")
    stage = out_dir / "sweep"
    stage.mkdir(parents=True, exist_ok=True)
    db = stage / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):  # a fresh run each time: the demo shows the work
        with contextlib.suppress(FileNotFoundError):
            Path(str(db) + suffix).unlink()
    summary = run_sweep(spec, db=db, progress=False)
    with ResultsDB(db, create=False) as store:
        rows = store.rows(spec.name)
    plots = plot_rows(rows, stage / "plots", title=spec.name)
    write_summary(plots, stage / "plots" / "summary.html")
    axes = " x ".join(f"{a.path} ({len(a.values)})" for a in spec.axes if len(a.values) > 1)
    lines = [
        f"spec: {spec.source} (backend {spec.backend}, {spec.n_points()} points: {axes})",
        summary.line(),
        f"database: {db} (export: lifhw sweep export {db} --csv)",
        f"Pareto front: {max(len(plots.pareto) - 1, 0)} of {summary.done} points "
        "(energy/spike, |tau error| from a leak step, area all minimised)",
        *notes,
        *summary.errors,
    ]
    order = ["pareto.png", "fi_family.png", "heat_energy_per_spike_j.png", "heat_area_um2.png",
             "heat_tau_error.png"]
    figures = sorted(plots.figures, key=lambda p: order.index(p.name)
                     if p.name in order else len(order))[:4]
    return DemoSection(title="Design-space sweep and Pareto front", lines=lines,
                       figures=figures, table=plots.pareto,
                       ok=summary.done > 0)
