"""``lifhw demo`` / ``make demo``: the whole co-design story on embedded defaults.

Each stage is a module of :mod:`lifhw.app.stages` with
``run(out_dir: Path) -> DemoSection`` (listed in :data:`STAGES`); it calls the
flows' plain functions and turns their results into lines, tables and figures. The stages' lines are
printed as they finish, their figures are collected, and one self-contained HTML
report is written to ``out/report.html``. A failing stage is reported and the
others still run; the command then exits non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: (key, "module:function") in story order.
STAGES: tuple[tuple[str, str], ...] = (
    ("golden", "lifhw.app.stages.golden:run"),
    ("analog", "lifhw.app.stages.analog:run"),
    ("digital", "lifhw.app.stages.digital:run"),
    ("chips", "lifhw.app.stages.chips:run"),
    ("theory", "lifhw.app.stages.theory:run"),
    ("snn", "lifhw.app.stages.snn:run"),
    ("sweep", "lifhw.app.stages.sweep:run"),
)


@dataclass
class DemoSection:
    """What one stage contributes to the report.

    Args:
        title: Section heading.
        lines: Short result lines (printed and shown in the report).
        figures: PNG files written under the output directory.
        table: Optional rows (first row = header) shown as a table.
        tables: Further tables (each a list of rows, first row = header) shown after it.
        ok: False when the stage failed.
        seconds: Wall time of the stage.
    """

    title: str
    lines: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    table: list[list[Any]] = field(default_factory=list)
    tables: list[list[list[Any]]] = field(default_factory=list)
    ok: bool = True
    seconds: float = 0.0


#: Wall-time budget of the whole demo on 2 cores (s); stages over their share are named.
BUDGET_S = 600.0

#: What each stage shows, in story order (the report's overview).
STORY = {
    "golden": "the golden model: exact LIF trace and f-I curve (the referee)",
    "analog": "parameter files -> netlists -> ngspice (behavioural and sky130) vs golden",
    "digital": "fixed-point RTL -> cocotb bench vs golden, yosys area",
    "chips": "chip mappers: Loihi, TrueNorth, SpiNNaker, BrainScaleS vs golden",
    "theory": "theory figures (circuits, channels, stochastic LIF)",
    "snn": "spiking networks on the same neurons",
    "sweep": "a small design-space sweep and its Pareto front",
}


def _run_stage(key: str, target: str, out_dir: Path) -> DemoSection:
    module, _, func = target.partition(":")
    start = time.perf_counter()
    try:
        section = getattr(importlib.import_module(module), func)(out_dir)
    except Exception as err:  # a stage failure must not hide the others
        section = DemoSection(title=key, ok=False,
                              lines=[f"FAILED: {err!r}",
                                     *traceback.format_exc().splitlines()[-6:]])
    section.seconds = time.perf_counter() - start
    return section


def run_demo(out_dir: Path, only: list[str] | None = None) -> list[DemoSection]:
    """Run the demo stages in story order, print their lines, write ``report.html``.

    Args:
        out_dir: Output directory (figures per stage, databases, ``report.html``).
        only: Stage keys to run (default: all present).

    Returns:
        The sections, in order; the last one is the overview of stage times.
    """
    from lifhw.app.report import write_report
    from lifhw.errors import LifhwError

    try:  # fail at once, not after minutes of simulation, when out/ is not writable
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".lifhw-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise LifhwError(f"cannot write the demo output to {out_dir}: "
                         f"{err.strerror or err}; choose another directory with -o") from None
    began = time.perf_counter()
    sections: list[DemoSection] = []
    keys: list[str] = []
    for key, target in STAGES:
        if only and key not in only:
            continue
        print(f"== {key}: {STORY.get(key, '')} ==", flush=True)
        section = _run_stage(key, target, out_dir)
        for line in section.lines:
            print("  " + line, flush=True)
        print(f"  ({section.seconds:.1f} s{'' if section.ok else ', FAILED'})", flush=True)
        sections.append(section)
        keys.append(key)
    total = time.perf_counter() - began
    overview = _overview(keys, sections, total)
    report = write_report([overview, *sections], out_dir / "report.html")
    for line in overview.lines:
        print(line)
    print(f"report: {report.resolve()}", flush=True)
    return sections


def _overview(keys: list[str], sections: list[DemoSection], total: float) -> DemoSection:
    table: list[list[Any]] = [["stage", "what it shows", "status", "seconds"]]
    for key, section in zip(keys, sections, strict=True):
        table.append([key, STORY.get(key, section.title), "ok" if section.ok else "FAILED",
                      round(section.seconds, 1)])
    table.append(["total", "", "", round(total, 1)])
    lines = [f"{sum(s.ok for s in sections)} of {len(sections)} stages ok in {total:.0f} s "
             f"(budget {BUDGET_S:.0f} s on 2 cores)"]
    if total > BUDGET_S:
        slow = sorted(zip(keys, sections, strict=True), key=lambda ks: -ks[1].seconds)[:3]
        lines.append("over budget; slowest stages: "
                     + ", ".join(f"{k} {s.seconds:.0f} s" for k, s in slow))
    return DemoSection(title="Overview: the co-design story", lines=lines, table=table,
                       seconds=total)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the co-design demo and write out/report.html")
    parser.add_argument("-o", "--out", default="out", help="output directory (default: out)")
    parser.add_argument("--only", action="append", choices=[k for k, _ in STAGES],
                        help="run only this stage (repeatable)")
    parser.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    sections = run_demo(Path(args.out), args.only)
    failed = [s.title for s in sections if not s.ok]
    if failed:
        print("failed stages: " + ", ".join(failed))
        return 1
    return 0
