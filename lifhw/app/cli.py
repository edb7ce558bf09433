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
import typing
from collections.abc import Sequence

from lifhw import __version__, params
from lifhw.errors import LifhwError

#: Modules that add subcommands, in help order.
COMMAND_MODULES = (
    "lifhw.app.commands.golden",
    "lifhw.app.commands.theory",
    "lifhw.app.commands.analog",
    "lifhw.app.commands.layout",
    "lifhw.app.commands.design",
    "lifhw.app.commands.digital",
    "lifhw.app.commands.chips",
    "lifhw.app.commands.snn",
    "lifhw.app.commands.sweep",
    "lifhw.app.commands.run",
    "lifhw.app.demo",
)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error (exit status 2), like every other lifhw error."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lifhw",
        description="Co-design leaky integrate-and-fire neuron hardware: golden model, "
        "ngspice netlists, fixed-point Verilog, chip mappers, sweeps.",
    )
    parser.add_argument("--version", action="version", version=f"lifhw {__version__}")
    parser.add_argument("--memory-budget", metavar="SIZE",
                        help="refuse work whose estimated allocation exceeds SIZE, e.g. "
                             "'16 GiB' or 'none' (default: $LIFHW_MEMORY_BUDGET or 4 GiB)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for command in subparsers.choices.values():
        if any(action.dest == "file" for action in command._actions):
            command.add_argument(
                "--set", action="append", default=[], metavar="PATH=VALUE",
                help="override one field of the parameter file, validated like the file "
                     "(repeatable), e.g. --set stimulus.amplitude=\"3 nA\"")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        if args.memory_budget is not None:
            from lifhw import budget

            budget.parse_size(args.memory_budget, name="--memory-budget")
            os.environ[budget.ENV] = args.memory_budget  # sweep workers inherit it
        with params.overrides(getattr(args, "set", None) or ()):
            result = args.func(args)
    except LifhwError as err:
        print(f"lifhw: error: {err}", file=sys.stderr)
        return err.exit_code
    except MemoryError:
        print("lifhw: error: out of memory (the estimate of lifhw.budget allowed it: "
              "lower LIFHW_MEMORY_BUDGET or shrink the problem)", file=sys.stderr)
        return 2
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
