"""The ``lifhw`` command.

Each flow contributes its subcommands through a module with a
``register(subparsers)`` function (listed in :data:`COMMAND_MODULES`); modules
that are not present are skipped. User errors (:class:`~lifhw.errors.LifhwError`)
print one line to stderr and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from lifhw import __version__
from lifhw.errors import LifhwError

#: Modules that add subcommands, in help order.
COMMAND_MODULES = (
    "lifhw.golden.cli",
    "lifhw.golden.theory_cli",
    "lifhw.analog.cli",
    "lifhw.digital.cli",
    "lifhw.chips.cli",
    "lifhw.snn.cli",
    "lifhw.sweep.cli",
    "lifhw.demo",
)


def module_exists(name: str) -> bool:
    """True when ``name`` can be imported (a missing parent package counts as absent)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifhw",
        description="Co-design leaky integrate-and-fire neuron hardware: golden model, "
        "ngspice netlists, fixed-point Verilog, chip mappers, sweeps.",
    )
    parser.add_argument("--version", action="version", version=f"lifhw {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if not module_exists(name):
            continue
        importlib.import_module(name).register(subparsers)
    return parser


def print_json(data: Any) -> None:
    """Print a JSON document (NaN/inf become null)."""
    print(json.dumps(_clean(data), indent=2, sort_keys=False))


def _clean(value: Any) -> Any:
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


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
