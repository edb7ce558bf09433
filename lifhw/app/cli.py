"""The ``lifhw`` command (also ``python -m lifhw``).

Each flow's subcommands live in a module of :mod:`lifhw.app.commands` with a
``register(subparsers)`` function (listed in :data:`COMMAND_MODULES`). The
command modules call the flows' plain functions; no flow imports this layer.
User errors (:class:`~lifhw.errors.LifhwError`) print one line to stderr and exit
with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from lifhw import __version__
from lifhw.errors import LifhwError

#: Modules that add subcommands, in help order.
COMMAND_MODULES = (
    "lifhw.app.commands.golden",
    "lifhw.app.commands.theory",
    "lifhw.app.commands.analog",
    "lifhw.app.commands.digital",
    "lifhw.app.commands.chips",
    "lifhw.app.commands.snn",
    "lifhw.app.commands.sweep",
    "lifhw.app.commands.run",
    "lifhw.app.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifhw",
        description="Co-design leaky integrate-and-fire neuron hardware: golden model, "
        "ngspice netlists, fixed-point Verilog, chip mappers, sweeps.",
    )
    parser.add_argument("--version", action="version", version=f"lifhw {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        result = args.func(args)
    except LifhwError as err:
        print(f"lifhw: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("lifhw: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
