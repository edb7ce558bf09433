"""Plots of a sweep database: heat maps, Pareto fronts, f-I families.

``lifhw plot DB`` reads the ``points`` table (see :mod:`lifhw.sweep.db`) and writes

* **heat maps** of every metric over the first two swept axes (the median over
  any further axes, said in the title), log-scaled where an axis is geometric;
* a **Pareto front** of the design trade-off: energy per spike vs |tau error|
  (or |ISI error|), colour = layout area; a point is on the front when no other
  point is at least as good in every objective (energy, error, area, all
  minimised) and better in one;
* **f-I families**: firing rate vs the stimulus current axis, one curve per
  value of another axis;
The ``summary.html`` page (counts, failures, the Pareto table and every figure
inline) is written by the ``lifhw plot`` command of the application layer from the
:class:`PlotSummary` returned here.

Everything is a PNG (matplotlib, Agg) written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lifhw.errors import LifhwError
from lifhw.io import save_figure

#: Objectives of the Pareto front, in order of preference per role.
ENERGY_METRICS = ("energy_per_spike_j", "capacitor_energy_j")
ERROR_METRICS = ("tau_step_error", "tau_error", "isi_error", "rate_error")
AREA_METRICS = ("area_um2", "gate_equivalents")

_LABELS = {
    "rate_hz": "rate (Hz)", "isi_error": "ISI error", "rate_error": "rate error",
    "tau_s": "tau (s)", "tau_error": "tau error", "energy_per_spike_j": "energy/spike (J)",
    "capacitor_energy_j": "C dV^2/2 (J)", "area_um2": "area (µm²)", "n_spikes": "spikes",
    "gate_equivalents": "gate equivalents", "tau_step_error": "tau error (leak step)",
    "tau_step_s": "tau, leak step (s)",
}


@dataclass
class PlotSummary:
    """Figures written by :func:`plot_rows` and what a summary page shows.

    Args:
        figures: PNG files.
        pareto: Rows of the Pareto front (first row = header).
        counts: ``{"done": n, "failed": m}``.
        failures: ``(point_index, error)`` of the first failed points.
        title: The sweep's name.
    """

    figures: list[Path] = field(default_factory=list)
    pareto: list[list[Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[Any, Any]] = field(default_factory=list)
    title: str = "sweep"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def axis_number(value: Any) -> float:
    """SI value of an axis entry ("1 pF" -> 1e-12, 5e-12 -> 5e-12); NaN if not numeric."""
    from lifhw.errors import ParamError
    from lifhw.sweep.spec import guess_unit
    from lifhw.units import parse_quantity

    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    unit = guess_unit(value)
    if not unit:
        return math.nan
    try:
        return parse_quantity(value, unit)
    except ParamError:
        return math.nan


def _label(name: str) -> str:
    return _LABELS.get(name, name)


def _is_geometric(values: np.ndarray) -> bool:
    v = np.sort(values[np.isfinite(values)])
    if len(v) < 3 or np.any(v <= 0):
        return False
    return bool(v[-1] / v[0] > 20)


def pareto_mask(objectives: np.ndarray) -> np.ndarray:
    """Non-dominated rows of ``objectives`` (n, k), every column minimised.

    Rows with a NaN are never on the front.
    """
    finite = np.all(np.isfinite(objectives), axis=1)
    mask = np.zeros(len(objectives), dtype=bool)
    for i in np.flatnonzero(finite):
        others = objectives[finite]
        dominated = np.any(np.all(others <= objectives[i], axis=1)
                           & np.any(others < objectives[i], axis=1))
        mask[i] = not dominated
    return mask


def _metric_array(rows: Sequence[Mapping[str, Any]], name: str) -> np.ndarray:
    out = []
    for row in rows:
        value = (row.get("metrics") or {}).get(name)
        out.append(float(value) if isinstance(value, (int, float)) else math.nan)
    return np.array(out, dtype=float)


def _axis_array(rows: Sequence[Mapping[str, Any]], path: str) -> np.ndarray:
    """SI values of an axis; a non-numeric axis (corners, topologies) gets category codes."""
    raw = [(row.get("axes") or {}).get(path) for row in rows]
    numbers = np.array([axis_number(v) for v in raw])
    if np.isfinite(numbers).all():
        return numbers
    order = list(dict.fromkeys(str(v) for v in raw))
    return np.array([float(order.index(str(v))) for v in raw])


def _axis_labels(rows: Sequence[Mapping[str, Any]], path: str, values: np.ndarray
                 ) -> list[str]:
    """Tick labels of the sorted unique ``values`` of an axis (names for categories)."""
    raw = [(row.get("axes") or {}).get(path) for row in rows]
    if all(np.isfinite(axis_number(v)) for v in raw):
        return [f"{v:.3g}" for v in values]
    order = list(dict.fromkeys(str(v) for v in raw))
    return [order[int(v)] for v in values]


def _varied_axes(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    paths: dict[str, None] = {}
    for row in rows:
        paths.update(dict.fromkeys(row.get("axes") or {}))
    return [p for p in paths if len(np.unique(_axis_array(rows, p))) > 1]


def _metric_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.get("metrics") or {}))
    return [n for n in names if np.isfinite(_metric_array(rows, n)).any()]


def heat_map(rows: Sequence[Mapping[str, Any]], x: str, y: str, metric: str,
             path: Path, others: Sequence[str] = ()) -> Path:
    """Heat map of ``metric`` over axes ``x`` and ``y`` (median over ``others``)."""
    plt = _plt()
    xs, ys, zs = _axis_array(rows, x), _axis_array(rows, y), _metric_array(rows, metric)
    ux, uy = np.unique(xs), np.unique(ys)
    grid = np.full((len(uy), len(ux)), np.nan)
    for i, yv in enumerate(uy):
        for j, xv in enumerate(ux):
            sel = (xs == xv) & (ys == yv) & np.isfinite(zs)
            if sel.any():
                grid[i, j] = np.median(zs[sel])
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(ux)), _axis_labels(rows, x, ux), rotation=45, fontsize=7)
    ax.set_yticks(range(len(uy)), _axis_labels(rows, y, uy), fontsize=7)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    title = _label(metric)
    if others:
        title += " (median over " + ", ".join(others) + ")"
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def pareto_plot(rows: Sequence[Mapping[str, Any]], path: Path
                ) -> tuple[Path | None, list[list[Any]]]:
    """Energy per spike vs |error| (colour = area) with the Pareto front; (path, table)."""
    names = _metric_names(rows)
    energy = next((m for m in ENERGY_METRICS if m in names), None)
    error = next((m for m in ERROR_METRICS if m in names), None)
    area = next((m for m in AREA_METRICS if m in names), None)
    roles = [m for m in (energy, error, area) if m]
    if len(roles) < 2:
        return None, []
    columns = []
    for m in roles:
        values = _metric_array(rows, m)
        columns.append(np.abs(values) if m in ERROR_METRICS else values)
    objectives = np.column_stack(columns)
    front = pareto_mask(objectives)
    x_name, y_name = roles[0], roles[1]
    x, y = objectives[:, 0], objectives[:, 1]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    colour = objectives[:, 2] if len(roles) == 3 else None
    finite = np.all(np.isfinite(objectives), axis=1)
    scatter = ax.scatter(x[finite], y[finite], c=None if colour is None else colour[finite],
                         cmap="plasma", s=28, alpha=0.8, label="design points")
    order = np.argsort(x[front])
    ax.plot(x[front][order], y[front][order], "o-", mfc="none", mec="k", color="k",
            ms=10, lw=1, label="Pareto front")
    if colour is not None:
        fig.colorbar(scatter, ax=ax, label=_label(roles[2]))
    for axis, values, setter in ((x, x, ax.set_xscale), (y, y, ax.set_yscale)):
        del axis
        positive = values[np.isfinite(values) & (values > 0)]
        if len(positive) and positive.max() / max(positive.min(), 1e-300) > 50:
            setter("log")
    ax.set_xlabel(_label(x_name))
    ax.set_ylabel("|" + _label(y_name) + "|")
    ax.set_title(f"Pareto front: {len(np.flatnonzero(front))} of {int(finite.sum())} points")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    axes = _varied_axes(rows)
    table: list[list[Any]] = [[*axes, *(f"|{m}|" if m in ERROR_METRICS else m for m in roles)]]
    for i in np.flatnonzero(front)[np.argsort(objectives[front, 0])]:
        table.append([*((rows[i].get("axes") or {}).get(a) for a in axes),
                      *(float(v) for v in objectives[i])])
    return path, table


def fi_family(rows: Sequence[Mapping[str, Any]], current_axis: str, family_axis: str | None,
              path: Path) -> Path:
    """Rate vs the stimulus current axis, one curve per value of ``family_axis``."""
    plt = _plt()
    current = _axis_array(rows, current_axis)
    rate = _metric_array(rows, "rate_hz")
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    groups: list[tuple[str, np.ndarray]]
    if family_axis:
        fam = _axis_array(rows, family_axis)
        levels = np.unique(fam)
        names = _axis_labels(rows, family_axis, levels)
        groups = [(f"{family_axis.split('.')[-1]} = {name}", fam == v)
                  for v, name in zip(levels, names, strict=True)]
    else:
        groups = [("", np.ones(len(rows), dtype=bool))]
    for label, sel in groups:
        xs, ys = current[sel], rate[sel]
        # several points per current (other axes): the median, shown as one curve
        ux = np.unique(xs[np.isfinite(xs)])
        med = [np.nanmedian(ys[xs == u]) if np.isfinite(ys[xs == u]).any() else np.nan
               for u in ux]
        ax.plot(ux, med, "o-", label=label or None, ms=4)
    ax.set_xlabel(f"{current_axis} (A)")
    ax.set_ylabel("rate (Hz)")
    ax.set_title("f-I family")
    if family_axis:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_rows(rows: Sequence[Mapping[str, Any]], out_dir: Path, title: str = "sweep"
              ) -> PlotSummary:
    """All plots of a list of database rows (decoded as by ``ResultsDB.rows``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = PlotSummary(title=title)
    summary.counts = {"done": sum(r["status"] == "done" for r in rows),
                      "failed": sum(r["status"] == "failed" for r in rows)}
    done = [r for r in rows if r["status"] == "done"]
    axes = _varied_axes(done)
    metrics = _metric_names(done)
    if len(axes) >= 2:
        for metric in metrics:
            summary.figures.append(heat_map(done, axes[0], axes[1], metric,
                                            out_dir / f"heat_{_slug(metric)}.png", axes[2:]))
    pareto_path, summary.pareto = pareto_plot(done, out_dir / "pareto.png")
    if pareto_path is not None:
        summary.figures.append(pareto_path)
    current_axes = [a for a in axes if a.startswith("stimulus.") and
                    a.split(".")[-1] in ("amplitude", "offset")]
    if current_axes and "rate_hz" in metrics:
        others = [a for a in axes if a != current_axes[0]]
        summary.figures.append(fi_family(done, current_axes[0], others[0] if others else None,
                                         out_dir / "fi_family.png"))
    summary.failures = [(r.get("point_index"), r.get("error"))
                        for r in rows if r["status"] == "failed"][:10]
    return summary


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def plot_database(db: str | Path, out_dir: str | Path, sweep: str | None = None
                  ) -> PlotSummary:
    """Plots of one sweep in a database (default: the latest run)."""
    from lifhw.sweep.db import ResultsDB

    with ResultsDB(db, create=False) as store:
        if sweep is None:
            runs = store.sweeps()
            sweep = runs[-1]["name"] if runs else None
        rows = store.rows(sweep)
    if not rows:
        raise LifhwError(f"{db}: no points" + (f" of sweep {sweep!r}" if sweep else ""))
    return plot_rows(rows, Path(out_dir), title=sweep or Path(db).stem)
