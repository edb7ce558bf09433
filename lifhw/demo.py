"""``lifhw demo`` / ``make demo``: the whole co-design story on embedded defaults.

Each flow provides a stage ``run(out_dir: Path) -> DemoSection`` (listed in
:data:`STAGES`); stages whose module is absent are skipped. The stages' lines are
printed as they finish, their figures are collected, and one self-contained HTML
report is written to ``out/report.html``. A failing stage is reported and the
others still run; the command then exits non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: (key, "module:function") in story order.
STAGES: tuple[tuple[str, str], ...] = (
    ("golden", "lifhw.golden.demo:run"),
    ("analog", "lifhw.analog.demo:run"),
    ("digital", "lifhw.digital.demo:run"),
    ("chips", "lifhw.chips.demo:run"),
    ("theory", "lifhw.golden.theory_demo:run"),
    ("snn", "lifhw.snn.demo:run"),
    ("sweep", "lifhw.sweep.demo:run"),
)


@dataclass
class DemoSection:
    """What one stage contributes to the report.

    Args:
        title: Section heading.
        lines: Short result lines (printed and shown in the report).
        figures: PNG files written under the output directory.
        table: Optional rows (first row = header) shown as a table.
        ok: False when the stage failed.
        seconds: Wall time of the stage.
    """

    title: str
    lines: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    table: list[list[Any]] = field(default_factory=list)
    ok: bool = True
    seconds: float = 0.0


def run_demo(out_dir: Path, only: list[str] | None = None) -> list[DemoSection]:
    """Run the demo stages, print their lines, write ``report.html``."""
    from lifhw.cli import module_exists
    from lifhw.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    sections: list[DemoSection] = []
    for key, target in STAGES:
        if only and key not in only:
            continue
        module, _, func = target.partition(":")
        if not module_exists(module):
            continue
        print(f"== {key} ==", flush=True)
        start = time.perf_counter()
        try:
            section = getattr(importlib.import_module(module), func)(out_dir)
        except Exception as err:  # a stage failure must not hide the others
            tail = traceback.format_exc().splitlines()[-6:]
            section = DemoSection(title=key, ok=False, lines=[f"FAILED: {err!r}", *tail])
        section.seconds = time.perf_counter() - start
        for line in section.lines:
            print("  " + line, flush=True)
        sections.append(section)
    report = write_report(sections, out_dir / "report.html")
    print(f"report: {report.resolve()}")
    return sections


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
