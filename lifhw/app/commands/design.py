"""``lifhw design``: size and bias a transistor-level neuron until it realises a spec.

::

    lifhw design circuits/design_fast_neuron.toml -o out/design [--json] [--workers 2]

Writes ``DIR/<name>.toml`` (an ordinary analog parameter file), ``DIR/<name>.cir``,
``DIR/<name>_design.json`` and ``DIR/<name>_design.html`` (per-corner table and
figures). ``--json`` prints ``circuit_file``, ``netlist``, ``realised`` (``tau_s``,
``t_ref_s``, ``v_threshold_v``, ``latency_s``), ``energy_per_spike_j``, ``area_um2``,
``corners``, ``iterations`` and ``seconds``. A spec the topology cannot meet exits 2
naming each failing requirement and by how much; nothing is written then.
The engine is :mod:`lifhw.analog.design`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifhw.errors import ParamError


def register(subparsers: Any) -> None:
    """Add ``lifhw design``."""
    design = subparsers.add_parser(
        "design", help="size and bias a transistor-level neuron until it realises a "
                       "[design] spec (tau, C, threshold, refractory, max rate)")
    design.add_argument("file", help="parameter file with a [design] section")
    design.add_argument("-o", "--out", required=True, metavar="DIR",
                        help="output directory: <name>.toml, <name>.cir, <name>_design.json "
                             "and <name>_design.html")
    design.add_argument("--json", action="store_true", help="print JSON")
    design.add_argument("--workers", type=int, default=2,
                        help="concurrent ngspice processes (default 2)")
    design.set_defaults(func=_cmd_design)


@dataclass
class _Section:
    title: str
    lines: list[str]
    table: list[list[Any]]
    figures: list[Path] = field(default_factory=list)
    ok: bool = True
    seconds: float = 0.0


def write_html(result: Any, paths: dict[str, Path], out_dir: Path) -> Path:
    """The design report page: realised values, the per-corner table, the figures."""
    from lifhw.analog.design import corner_table, summary_lines
    from lifhw.app.report import write_report

    section = _Section(f"{result.name}: designed {result.spec.topology} neuron",
                       summary_lines(result), corner_table(result),
                       [p for k, p in paths.items() if k.startswith("figure")],
                       seconds=result.seconds)
    return write_report([section], out_dir / f"{result.name}_design.html",
                        title=f"lifhw design: {result.name}")


def _cmd_design(args: argparse.Namespace) -> int:
    from lifhw.analog.design import design, write_design
    from lifhw.io import print_json
    from lifhw.params import load

    if args.workers < 1:
        raise ParamError("--workers must be >= 1")
    pf = load(args.file)
    spec = pf.require("design")

    def log(line: str) -> None:
        if not args.json:
            print(line, file=sys.stderr)

    result = design(spec, name=pf.name, workers=args.workers, log=log)
    out = Path(args.out)
    paths = write_design(result, out)
    paths["html"] = write_html(result, paths, out)
    summary = result.summary()
    data = {"circuit_file": str(paths["circuit_file"]), "netlist": str(paths["netlist"]),
            "realised": summary["realised"],
            "energy_per_spike_j": summary["energy_per_spike_j"],
            "area_um2": summary["area_um2"], "corners": summary["corners"],
            "iterations": summary["iterations"], "seconds": summary["seconds"],
            "simulations": summary["simulations"], "report": str(paths["html"]),
            **({"synapse": summary["synapse"]} if "synapse" in summary else {})}
    if args.json:
        print_json(data)
        return 0
    r = summary["realised"]
    print(f"{pf.name}: tau {r['tau_s'] * 1e6:.5g} us, t_ref {r['t_ref_s'] * 1e6:.5g} us "
          f"(latency {r['latency_s'] * 1e6:.3g} us), V_th {r['v_threshold_v'] * 1e3:.3f} mV; "
          f"{summary['energy_per_spike_j'] * 1e12:.4g} pJ/spike, "
          f"{summary['area_um2']:.4g} um^2")
    for key in ("circuit_file", "netlist", "json", "html"):
        print(f"  {paths[key]}")
    return 0
