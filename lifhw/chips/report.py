"""What happens to a float network on each chip: one comparison table.

:func:`evaluate` runs the float golden model (:mod:`lifhw.golden.network`) and
each chip's ``map -> quantize -> check -> simulate`` on the same input spikes,
and collects, per chip: spike-count error, spike-time error and rate
correlation against the golden run (all from :func:`lifhw.compare.compare` on
the whole network as one population trace), the quantisation error of every
parameter (:func:`lifhw.chips.base.parameter_deviations` on ``dequantize``),
resources used vs available, design-rule violations and the energy estimate
from published per-event figures.

Spike-time error pairs the i-th golden and i-th chip spike of each neuron
(see :mod:`lifhw.compare`); it is meaningful when counts agree and grows with
every missed or extra spike.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lifhw.chips.base import (
    CHIPS,
    ChipRun,
    Deviation,
    EnergyEstimate,
    Resources,
    Violation,
    parameter_deviations,
)
from lifhw.chips.placement import Placement
from lifhw.compare import Metrics, compare
from lifhw.core import Trace
from lifhw.errors import ParamError
from lifhw.network import Network, NetworkRun

#: What ``--chip all`` runs: every registered target of kind ``chip`` (they run any
#: network); cores such as ``rtl`` are named explicitly.
ALL_CHIPS = tuple(CHIPS.names(kind="chip"))


@dataclass
class ChipResult:
    """Everything measured for one chip (``error`` set when the chip failed)."""

    chip: str
    metrics: Metrics | None = None
    per_population: dict[str, Metrics] = field(default_factory=dict)
    deviations: list[Deviation] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    resources: Resources | None = None
    energy: EnergyEstimate | None = None
    run: ChipRun | None = None
    config: Any = None
    seconds: float = 0.0
    error: str = ""


@dataclass
class Report:
    """The golden run and one :class:`ChipResult` per chip."""

    network: Network
    golden: NetworkRun
    results: list[ChipResult]
    golden_seconds: float = 0.0


def whole_trace(run: NetworkRun, network: Network) -> Trace:
    """All LIF populations of a run as one population trace (neurons in network order)."""
    times, neurons = [], []
    offset = 0
    for pop in network.populations:
        trace = run.to_trace(pop.name)
        times.append(trace.spike_times)
        assert trace.spike_neurons is not None
        neurons.append(trace.spike_neurons + offset)
        offset += pop.size
    return Trace(t=np.zeros(0), v=np.zeros(0),
                 spike_times=np.concatenate(times) if times else np.zeros(0),
                 spike_neurons=(np.concatenate(neurons) if neurons
                                else np.zeros(0, dtype=np.int64)),
                 n_neurons=offset, t_stop=run.t_stop, backend=run.backend)


def check_options(chip: str, options: Mapping[str, Any]) -> None:
    """Raise ParamError unless every option is a keyword of ``<chip>.map``."""
    import inspect

    allowed = [name for name, p in inspect.signature(CHIPS.get(chip).map).parameters.items()
               if p.kind is inspect.Parameter.KEYWORD_ONLY]
    for key in options:
        if key not in allowed:
            raise ParamError(f"{chip}.map has no option {key!r}; options: "
                             + (", ".join(allowed) or "none"))


def evaluate_chip(chip: str, network: Network, input_spikes: Any, golden: NetworkRun,
                  *, record_states: bool = False,
                  options: Mapping[str, Any] | None = None) -> ChipResult:
    """Map (with ``options``), check, simulate and compare one chip (errors are
    caught into the result)."""
    result = ChipResult(chip=chip)
    start = time.perf_counter()
    try:
        module = CHIPS.get(chip)
        config = module.quantize(module.map(network, **dict(options or {})))
        result.config = config
        result.violations = module.check(config)
        result.resources = module.resources(config)
        run = module.simulate(config, input_spikes, record_states=record_states)
        result.run = run
        result.energy = module.energy(config, run)
        result.deviations = parameter_deviations(network, module.dequantize(config))
        reference = whole_trace(golden, network)
        result.metrics = compare(reference, whole_trace(run, network))
        result.per_population = {p.name: compare(golden.to_trace(p.name), run.to_trace(p.name))
                                 for p in network.populations}
    except Exception as err:  # a chip failing must not hide the others' results
        result.error = f"{type(err).__name__}: {err}"
        result.violations.append(Violation("run", result.error))
        if not isinstance(err, (ImportError, ModuleNotFoundError)):
            result.error += " | " + traceback.format_exc().splitlines()[-2].strip()
    result.seconds = time.perf_counter() - start
    return result


def evaluate(network: Network, input_spikes: Any, chips: Sequence[str] = ALL_CHIPS, *,
             options: Mapping[str, Mapping[str, Any]] | None = None) -> Report:
    """Golden run plus every chip on the same input (see the module docstring).

    Args:
        network: The float network.
        input_spikes: Boolean (T, n_in).
        chips: Chip names.
        options: Chip name -> keyword options of its ``map``.
    """
    from lifhw.golden.network import simulate_network

    options = options or {}
    for chip, opts in options.items():
        check_options(chip, opts)
    start = time.perf_counter()
    golden = simulate_network(network, input_spikes)
    golden_seconds = time.perf_counter() - start
    results = [evaluate_chip(chip, network, input_spikes, golden, options=options.get(chip))
               for chip in chips]
    return Report(network=network, golden=golden, results=results,
                  golden_seconds=golden_seconds)


def _pct(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return "inf" if math.isinf(x) else f"{100 * x:.1f}%"


def _deviation_text(d: Deviation) -> str:
    """Relative error, or the realised value when the target is 0 (no relative error)."""
    if d.target == 0:
        return f"{d.realised:+.3g} {d.unit} (target 0)" if d.realised else "0.0%"
    return _pct(d.error)


def table(report: Report) -> list[list[str]]:
    """The comparison table: header row, then one row per chip."""
    rows = [["chip", "spikes (golden->chip)", "count err", "spike-time err",
             "rate corr", "worst param err", "cores", "neurons", "synapses",
             "rules (err/warn)", "energy"]]
    for res in report.results:
        if res.metrics is None:
            rows.append([res.chip, "failed: " + res.error.split(" | ")[0]] + [""] * 9)
            continue
        m = res.metrics
        # Worst relative error; parameters whose target is 0 have none (they
        # are listed with their realised value in the parameter table).
        worst = max((d for d in res.deviations if d.target != 0), key=lambda d: d.error,
                    default=None)
        worst_txt = (f"{worst.parameter}@{worst.where} {_deviation_text(worst)}"
                     if worst is not None else "")
        r = res.resources
        assert r is not None and res.energy is not None
        n_err = sum(v.severity == "error" for v in res.violations)
        n_warn = len(res.violations) - n_err
        ste = m.spike_time_error_s
        rows.append([
            res.chip, f"{m.n_spikes_ref}->{m.n_spikes_cand}", _pct(m.count_error),
            "n/a" if not math.isfinite(ste) else f"{ste * 1e3:.2f} ms",
            "n/a" if not math.isfinite(m.rate_correlation) else f"{m.rate_correlation:.3f}",
            worst_txt, f"{r.cores_used}/{r.cores_available}",
            f"{r.neurons_used}/{r.neurons_available}",
            f"{r.synapses_used}/{r.synapses_available}", f"{n_err}/{n_warn}",
            f"{res.energy.total_j:.3g} J" if res.energy.available else "n/a",
        ])
    return rows


def parameter_table(report: Report) -> list[list[str]]:
    """Quantisation error of each parameter (rows) on each chip (columns)."""
    chips = [r for r in report.results if r.metrics is not None]
    keys: list[tuple[str, str]] = []
    for res in chips:
        for d in res.deviations:
            if (d.where, d.parameter) not in keys:
                keys.append((d.where, d.parameter))
    rows = [["parameter", *[r.chip for r in chips]]]
    for where, parameter in keys:
        row = [f"{where}.{parameter}"]
        for res in chips:
            match = [d for d in res.deviations if (d.where, d.parameter) == (where, parameter)]
            row.append(_deviation_text(match[0]) if match else "")
        rows.append(row)
    return rows


def format_rows(rows: list[list[str]]) -> str:
    """A plain-text table with aligned columns."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_dict(report: Report) -> dict[str, Any]:
    """JSON-ready report."""
    out: dict[str, Any] = {
        "network": report.network.name, "dt_s": report.network.dt,
        "n_neurons": report.network.n_neurons, "n_synapses": report.network.n_synapses,
        "golden": {"n_spikes": int(sum(s.sum() for s in report.golden.spikes.values())),
                   "seconds": report.golden_seconds},
        "chips": {},
    }
    for res in report.results:
        entry: dict[str, Any] = {"seconds": res.seconds, "error": res.error,
                                 "violations": [v.__dict__ for v in res.violations]}
        if res.metrics is not None:
            entry["metrics"] = res.metrics.__dict__
            entry["per_population"] = {k: v.__dict__ for k, v in res.per_population.items()}
            entry["deviations"] = [d.__dict__ for d in res.deviations]
            assert res.resources is not None and res.energy is not None
            entry["resources"] = res.resources.as_dict()
            entry["energy"] = res.energy.as_dict()
        out["chips"][res.chip] = entry
    return out


def place(report: Report, input_spikes: Any, *, order: str = "index") -> dict[str, Placement]:
    """Each chip's placement, with traffic at the rates its own run measured."""
    from lifhw.chips.placement import rates_of
    from lifhw.network import split_inputs

    inputs = split_inputs(report.network, input_spikes)
    out = {}
    for res in report.results:
        if res.config is None or res.run is None:
            continue
        target = CHIPS.get(res.chip)
        out[res.chip] = target.place(res.config.spec, rates_hz=rates_of(res.run, inputs),
                                     order=order)
    return out


def placement_rows(placement: Placement) -> list[list[str]]:
    """The per-population resource table of a placement (header first)."""
    rows = [["population", "kind", "cores", "chips", "neurons", "max neurons/core",
             "synapses", "max synapses/core", "max lines/core"]]
    for row in placement.table():
        chips = row["chips"]
        rows.append([row["population"], row["kind"], str(row["cores"]),
                     f"{chips[0]}" if len(chips) == 1 else f"{chips[0]}-{chips[-1]}",
                     str(row["neurons"]), str(row["max_neurons_per_core"]),
                     str(row["synapses"]), str(row["max_synapses_per_core"]),
                     str(row["max_lines_per_core"])])
    return rows


def placement_summary(placement: Placement, duration_s: float) -> list[str]:
    """Lines under the table: totals, traffic, relays, placement energy with sources."""
    res = placement.resources
    limits = ", ".join(f"{name} {fig.value:g}" + ("" if fig.published else " (not published)")
                       for name, fig in res.figures().items())
    lines = [f"{placement.cores_used} {res.core_name}s on {placement.chips_used} chip(s); "
             f"declared: {limits}",
             f"traffic ({'measured rates' if placement.rates_measured else '1 Hz per neuron'}"
             f"): inter-core {placement.core_spikes_per_s:.4g} spikes/s, inter-chip "
             f"{placement.chip_spikes_per_s:.4g} spikes/s, from off-chip inputs "
             f"{placement.external_spikes_per_s:.4g} spikes/s"]
    if placement.relays:
        lines.append(f"relay neurons {placement.relay_neurons}; extra delay (steps) "
                     + ", ".join(f"{k} +{v}" for k, v in placement.extra_delay_steps.items())
                     + f"; extra latency {placement.extra_latency_s * 1e3:g} ms")
    estimate = placement.energy(duration_s)
    for term in estimate.terms:
        lines.append(f"placement energy {term.event}: {term.joules:.3g} J ({term.source})")
    if estimate.note:
        lines.append(f"placement energy: {estimate.note}")
    lines.extend(str(v) for v in placement.violations)
    return lines


def plot_placement(placements: Mapping[str, Placement], path: str | Path) -> Path:
    """Neurons per core (coloured by population, relays hatched) and spike traffic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifhw.io import save_figure

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6),
                                      gridspec_kw={"width_ratios": [3, 2]})
    names = sorted({c.population for p in placements.values() for c in p.cores})
    colours = {name: f"C{i}" for i, name in enumerate(names)}
    x = 0
    ticks = []
    for chip, placement in placements.items():
        start = x
        for core in placement.cores:
            left.bar(x, core.count, color=colours[core.population],
                     hatch="//" if core.kind == "relay" else None,
                     edgecolor="black", linewidth=0.4)
            x += 1
        ticks.append(((start + x - 1) / 2, f"{chip}\n{placement.cores_used} "
                      f"{placement.resources.core_name}s"))
        x += 1
    left.set_xticks([t for t, _ in ticks], [label for _, label in ticks], fontsize=8)
    left.set_ylabel("neurons on the core")
    left.set_title("placement: one bar per core (hatched: relay neurons)", fontsize=9)
    left.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colours[n]) for n in names],
                labels=names, fontsize=7)
    kinds = [("inter-core", "core_spikes_per_s"), ("inter-chip", "chip_spikes_per_s"),
             ("from inputs", "external_spikes_per_s")]
    width = 0.25
    for k, (label, attr) in enumerate(kinds):
        values = [getattr(p, attr) for p in placements.values()]
        right.bar(np.arange(len(placements)) + (k - 1) * width, values, width, label=label)
    right.set_xticks(np.arange(len(placements)), list(placements), fontsize=8)
    right.set_ylabel("packets / s (measured rates)")
    right.set_title("spike traffic", fontsize=9)
    right.legend(fontsize=7)
    fig.tight_layout()
    out = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return out


def plot(report: Report, path: str | Path) -> Path:
    """Rasters (golden and each chip) and per-neuron spike counts chip vs golden."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifhw.io import save_figure

    ok = [r for r in report.results if r.run is not None]
    fig, axes = plt.subplots(1, 2 + len(ok), figsize=(3.2 * (2 + len(ok)), 3.4),
                             squeeze=False)
    runs: list[tuple[str, NetworkRun]] = [("golden", report.golden)]
    runs += [(r.chip, r.run) for r in ok if r.run is not None]
    for ax, (label, run) in zip(axes[0], runs, strict=False):
        trace = whole_trace(run, report.network)
        ax.plot(trace.spike_times, trace.spike_neurons, "|", ms=2, color="k")
        ax.set_title(label)
        ax.set_xlabel("time (s)")
    axes[0][0].set_ylabel("neuron")
    scatter = axes[0][-1]
    golden_counts = whole_trace(report.golden, report.network).spike_counts()
    for res in ok:
        assert res.run is not None
        counts = whole_trace(res.run, report.network).spike_counts()
        scatter.plot(golden_counts, counts, ".", label=res.chip, alpha=0.7)
    top = max(1, int(golden_counts.max(initial=0)))
    scatter.plot([0, top], [0, top], "k--", lw=0.8)
    scatter.set_xlabel("golden spike count")
    scatter.set_ylabel("chip spike count")
    scatter.legend(fontsize=7)
    fig.tight_layout()
    target = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return target
