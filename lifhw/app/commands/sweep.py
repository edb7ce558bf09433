"""``lifhw sweep SPEC``, ``lifhw sweep export DB``, ``lifhw plot DB``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifhw.app.options import MAX_TIMEOUT_S, integer, quantity
from lifhw.errors import LifhwError
from lifhw.io import check_output_dir

if TYPE_CHECKING:
    from lifhw.sweep.plots import PlotSummary


def register(subparsers: Any) -> None:
    """Add the sweep commands to the ``lifhw`` parser."""
    sweep = subparsers.add_parser(
        "sweep", help="run a design-space sweep (or: sweep export DB --csv|--parquet)",
        description="Run a design-space sweep spec (circuits/sweeps/*.toml) and store every "
        "point in an SQLite database, or export such a database: "
        "`lifhw sweep export DB --csv|--parquet [-o FILE]`.")
    sweep.add_argument("target", nargs="+", metavar="SPEC",
                       help="sweep spec file, or: export DB")
    sweep.add_argument("--db", help="results database (default: <spec>.sqlite next to it)")
    sweep.add_argument("--workers", type=integer(ge=1), default=None,
                       help="local worker processes (default: number of cores)")
    sweep.add_argument("--resume", action="store_true",
                       help="skip points already done in the database")
    sweep.add_argument("--dask", metavar="ADDRESS",
                       help="run on an existing Dask scheduler, e.g. tcp://host:8786")
    sweep.add_argument("--timeout", type=quantity("s", gt=0, le=MAX_TIMEOUT_S), default=None,
                       help="wall-time limit of one point, e.g. '90 s' or 90 "
                            "(default: from the spec)")
    sweep.add_argument("--gds", action="store_true",
                       help="write a GDS layout per point next to the database")
    sweep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--no-plugins", action="store_true",
                       help="refuse a spec that imports Python plugins (plugins run code: "
                            "use them only with specs you trust)")
    fmt = sweep.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="(export) write CSV")
    fmt.add_argument("--parquet", action="store_true", help="(export) write Parquet")
    sweep.add_argument("-o", "--output", help="(export) output file")
    sweep.set_defaults(func=_cmd_sweep)

    plot = subparsers.add_parser("plot", help="plots and an HTML summary of a sweep database")
    plot.add_argument("db", help="results database (.sqlite)")
    plot.add_argument("-o", "--out", help="output directory (default: <db>_plots)")
    plot.add_argument("--sweep", help="sweep name inside the database (default: the latest)")
    plot.set_defaults(func=_cmd_plot)


def _cmd_sweep(args: argparse.Namespace) -> int:
    target = args.target
    if target[0] == "export" and len(target) == 2 and not target[1].endswith(".toml"):
        return _cmd_export(Path(target[1]), args)
    if len(target) != 1:
        raise LifhwError("usage: lifhw sweep SPEC [options] | lifhw sweep export DB "
                         "--csv|--parquet")
    if args.csv or args.parquet or args.output:
        raise LifhwError("--csv/--parquet/-o belong to `lifhw sweep export DB`")
    from lifhw.sweep.engine import run_sweep
    from lifhw.sweep.spec import load_spec

    spec = load_spec(target[0], allow_plugins=not args.no_plugins)
    summary = run_sweep(spec, db=args.db, workers=args.workers, resume=args.resume,
                        dask_address=args.dask, progress=not args.quiet,
                        timeout=args.timeout, gds=True if args.gds else None)
    print(summary.line())
    for error in summary.errors:
        print("  " + error)
    return 0 if summary.done + summary.skipped > 0 or summary.total == 0 else 1


def _cmd_export(db: Path, args: argparse.Namespace) -> int:
    from lifhw.sweep.export import export

    if not (args.csv or args.parquet):
        raise LifhwError("lifhw sweep export DB needs --csv or --parquet")
    fmt = "csv" if args.csv else "parquet"
    out = Path(args.output) if args.output else db.with_suffix(f".{fmt}")
    path, rows = export(db, out, fmt)
    print(f"{rows} points -> {path}")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from lifhw.sweep.plots import plot_database

    db = Path(args.db)
    out = check_output_dir(args.out if args.out else db.with_name(db.stem + "_plots"),
                           option="-o")
    summary = plot_database(db, out, sweep=args.sweep)
    for figure in summary.figures:
        print(figure)
    print(f"summary: {write_summary(summary, out / 'summary.html').resolve()}")
    return 0


def write_summary(summary: PlotSummary, path: Path) -> Path:
    """``summary.html`` of a sweep: counts, failures, the Pareto table, every figure."""
    from lifhw.app.demo import DemoSection
    from lifhw.app.report import write_report

    lines = [f"{summary.counts.get('done', 0)} points done, "
             f"{summary.counts.get('failed', 0)} failed"]
    lines += [f"failed point {index}: {error}" for index, error in summary.failures]
    sections = [DemoSection(title=summary.title, lines=lines, figures=list(summary.figures),
                            table=summary.pareto)]
    return write_report(sections, path, title=f"lifhw sweep: {summary.title}")
