"""``lifhw rtl``: generate, lint, test and synthesise the fixed-point LIF cores.

    lifhw rtl generate circuits/lif_core_default.toml -o rtl/lif_core_default
    lifhw rtl lint circuits/lif_core_population.toml
    lifhw rtl test circuits/lif_core_multiply.toml --sim icarus --waves
    lifhw rtl synth circuits/lif_core_default.toml --json
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lifhw import budget
from lifhw.app.options import integer
from lifhw.io import check_output_dir, print_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("rtl", help="fixed-point LIF Verilog: generate, lint, "
                                   "test against the golden model, synthesise")
    sub = parser.add_subparsers(dest="rtl_command", metavar="ACTION", required=True)

    gen = sub.add_parser("generate", help="write the Verilog of a [core] file")
    gen.add_argument("file", help="parameter file with a [core] section")
    gen.add_argument("-o", "--out", required=True, help="output directory")
    gen.set_defaults(func=_cmd_generate)

    lint = sub.add_parser("lint", help="verilator --lint-only -Wall on the generated Verilog")
    lint.add_argument("file")
    lint.set_defaults(func=_cmd_lint)

    test = sub.add_parser("test", help="bit-exact regression (random + directed) on a simulator")
    test.add_argument("file")
    test.add_argument("--sim", choices=("verilator", "icarus", "verilator-binary"),
                      default="verilator",
                      help="simulator (verilator-binary: the harness without cocotb, fastest)")
    test.add_argument("--waves", action="store_true",
                      help="dump waveforms (into --out) for the directed cases")
    test.add_argument("--seed", type=integer(ge=0, le=2**32 - 1), default=None,
                      help="random seed (default: $LIFHW_SEED or fresh; printed)")
    test.add_argument("--updates", type=integer(ge=1, le=10**9), default=10**6,
                      help="random neuron-updates (default 1e6)")
    test.add_argument("-o", "--out", default=None,
                      help="keep stimulus, responses, logs and waves here")
    test.add_argument("--json", action="store_true", help="print the report as JSON")
    test.set_defaults(func=_cmd_test)

    synth = sub.add_parser("synth", help="yosys synthesis: cells and gate equivalents")
    synth.add_argument("file")
    synth.add_argument("--json", action="store_true", help="print the report as JSON")
    synth.set_defaults(func=_cmd_synth)


def _cmd_generate(args: argparse.Namespace) -> int:
    from lifhw.digital.verilog import write_verilog
    from lifhw.params import load

    check_output_dir(args.out, option="-o")
    for path in write_verilog(load(args.file), Path(args.out)):
        print(path)
    return 0


def _cmd_lint(args: argparse.Namespace) -> int:
    from lifhw.digital.lint import lint
    from lifhw.params import load

    warnings = lint(load(args.file))
    for line in warnings:
        print(line)
    print(f"{len(warnings)} warning(s)")
    return 1 if warnings else 0


def _cmd_test(args: argparse.Namespace) -> int:
    from lifhw.digital.regress import RegressionError, regress, seed_from_env
    from lifhw.params import load

    out = check_output_dir(args.out, option="-o") if args.out else None
    budget.check(args.updates * budget.RTL_BYTES_PER_UPDATE,
                 f"{args.updates} random neuron-updates", path="--updates")
    pf = load(args.file)
    seed = args.seed if args.seed is not None else seed_from_env()
    print(f"seed {seed}", flush=True)
    try:
        report = regress(pf, sim=args.sim, seed=seed, updates=args.updates, waves=args.waves,
                         work_dir=out)
    except RegressionError as err:
        print(f"FAIL: {err}")
        return 1
    if args.json:
        print_json(report.__dict__)
    else:
        for line in report.checks:
            print(f"PASS {report.design} on {report.sim}: {line}")
        print(f"{report.updates} updates, {report.spikes} spikes, {report.seconds:.1f} s")
        if args.waves and out is not None:
            print(f"waves under {out}")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from lifhw.digital.synth import synthesize
    from lifhw.params import load

    report = synthesize(load(args.file))
    if args.json:
        print_json(report.as_dict())
    else:
        for key, value in report.as_dict().items():
            if key != "cells":
                print(f"{key}: {value}")
        for cell, count in sorted(report.cells.items()):
            print(f"  {cell}: {count}")
    return 0
