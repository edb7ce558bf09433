"""Typed command-line option values: one place for every ``--number`` of the ``lifhw`` command.

Each helper returns an ``argparse`` ``type=`` callable. A bad value becomes
argparse's one-line ``argument --x: ...`` error with exit status 2, never a
traceback and never a silently odd run: integers are written as integers
(``16``, not ``1e8`` or ``16.0``), numbers must be finite, bounds are checked,
and quantities go through :func:`lifhw.units.parse_quantity` (``"10 s"`` or a
plain SI number). The same strict reading serves ``KEY=VALUE`` options
(:func:`typed_value`).
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from typing import Any

from lifhw.errors import ParamError
from lifhw.units import parse_quantity

_INT_RE = re.compile(r"^[+-]?\d+$")

#: Longest timeout (s) accepted for a simulation or a sweep point: one year.
MAX_TIMEOUT_S = 365 * 86400.0


def _bounds(value: float, gt: float | None, ge: float | None, le: float | None,
            unit: str = "") -> None:
    txt = f" {unit}" if unit else ""
    if gt is not None and not value > gt:
        raise argparse.ArgumentTypeError(f"must be > {gt:g}{txt}, got {value:g}{txt}")
    if ge is not None and not value >= ge:
        raise argparse.ArgumentTypeError(f"must be >= {ge:g}{txt}, got {value:g}{txt}")
    if le is not None and not value <= le:
        raise argparse.ArgumentTypeError(f"must be <= {le:g}{txt}, got {value:g}{txt}")


def parse_int(text: str) -> int:
    """An integer written as one (``"12"``, ``"-3"``); raises ValueError otherwise."""
    if not _INT_RE.match(text.strip()):
        raise ValueError(f"expected an integer, got {text!r}")
    return int(text)


def parse_bool(text: str) -> bool:
    """``true``/``false`` (any case); raises ValueError for anything else."""
    word = text.strip().lower()
    if word in ("true", "false"):
        return word == "true"
    raise ValueError(f"expected true or false, got {text!r}")


def parse_float(text: str) -> float:
    """A finite number; raises ValueError for words, NaN and infinities."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def integer(*, ge: int | None = None, le: int | None = None) -> Callable[[str], int]:
    """``type=`` for an integer option with inclusive bounds."""

    def convert(text: str) -> int:
        try:
            value = parse_int(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        _bounds(value, None, ge, le)
        return value

    convert.__name__ = "integer"
    return convert


def number(*, gt: float | None = None, ge: float | None = None,
           le: float | None = None) -> Callable[[str], float]:
    """``type=`` for a finite float option with bounds."""

    def convert(text: str) -> float:
        try:
            value = parse_float(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        _bounds(value, gt, ge, le)
        return value

    convert.__name__ = "number"
    return convert


def quantity(unit: str, *, gt: float | None = None, ge: float | None = None,
             le: float | None = None) -> Callable[[str], float]:
    """``type=`` for a quantity option (``"10 s"``, ``"1 ms"`` or a plain SI number)."""

    def convert(text: str) -> float:
        try:
            value = parse_quantity(text, unit)
        except ParamError as err:
            raise argparse.ArgumentTypeError(err.message) from None
        _bounds(value, gt, ge, le, unit)
        return value

    convert.__name__ = "quantity"
    return convert


def typed_value(text: str, like: Any, *, name: str) -> Any:
    """Read ``text`` as a value of the type of ``like`` (a default or annotation).

    Booleans accept only ``true``/``false``, integers only integers, floats only
    finite numbers; strings are taken as written.

    Raises:
        ParamError: Naming ``name`` and the expected type.
    """
    kind = like if isinstance(like, type) else type(like)
    readers: dict[type, Callable[[str], Any]] = {bool: parse_bool, int: parse_int,
                                                 float: parse_float}
    reader = readers.get(kind)
    if reader is None:
        return text
    try:
        return reader(text)
    except ValueError as err:
        raise ParamError(str(err), path=name) from None
