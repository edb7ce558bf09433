"""Validation of parameter mappings into frozen dataclasses.

A parameter section is a frozen dataclass whose fields say what they accept:

    @dataclass(frozen=True)
    class Circuit:
        membrane_capacitance: float = quantity("F", gt=0, doc="membrane capacitor C")
        topology: str = choice("behavioral", "sky130")

:func:`build` turns a mapping (from TOML) into such an object, checking unknown
keys ("did you mean ..."), missing keys, units, bounds, closed sets and name
patterns, and raising :class:`~lifhw.errors.ParamError` with the dotted field
path. Cross-field rules live in a ``validate(self)`` method that raises
``ParamError(..., path="field")``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from lifhw.errors import ParamError
from lifhw.units import UNIT_NAMES, parse_quantity

T = TypeVar("T")

#: Names that end up in netlists or Verilog: letters, digits, underscore; starts
#: with a letter; short. Nothing else can reach a generated artifact.
IDENTIFIER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def quantity(
    unit: str,
    default: Any = dataclasses.MISSING,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    doc: str = "",
) -> Any:
    """A float field read with :func:`~lifhw.units.parse_quantity` in ``unit``."""
    meta = {"unit": unit, "gt": gt, "ge": ge, "lt": lt, "le": le, "doc": doc}
    return dataclasses.field(default=default, metadata=meta)


def integer(
    default: Any = dataclasses.MISSING,
    *,
    ge: int | None = None,
    le: int | None = None,
    doc: str = "",
) -> Any:
    """An integer field with optional inclusive bounds."""
    return dataclasses.field(default=default, metadata={"int": True, "ge": ge, "le": le,
                                                        "doc": doc})


def choice(*options: str, default: Any = dataclasses.MISSING, doc: str = "") -> Any:
    """A string field restricted to a closed set (the first option is not a default)."""
    return dataclasses.field(default=default, metadata={"choices": options, "doc": doc})


def identifier(default: Any = dataclasses.MISSING, *, doc: str = "") -> Any:
    """A name safe to embed in generated text (see :data:`IDENTIFIER_RE`)."""
    return dataclasses.field(default=default, metadata={"identifier": True, "doc": doc})


def field(default: Any = dataclasses.MISSING, *, doc: str = "", **meta: Any) -> Any:
    """A plain field (type from the annotation) with a description."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple or default_factory for mutable defaults")
    return dataclasses.field(default=default, metadata={"doc": doc, **meta})


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_bounds(value: float, meta: Mapping[str, Any], path: str, unit: str) -> None:
    unit_txt = "" if unit in ("", "1") else f" {unit}"
    if meta.get("gt") is not None and not value > meta["gt"]:
        raise ParamError(f"must be > {meta['gt']:g}{unit_txt}, got {value:g}{unit_txt}",
                         path=path)
    if meta.get("ge") is not None and not value >= meta["ge"]:
        raise ParamError(f"must be >= {meta['ge']:g}{unit_txt}, got {value:g}{unit_txt}",
                         path=path)
    if meta.get("lt") is not None and not value < meta["lt"]:
        raise ParamError(f"must be < {meta['lt']:g}{unit_txt}, got {value:g}{unit_txt}",
                         path=path)
    if meta.get("le") is not None and not value <= meta["le"]:
        raise ParamError(f"must be <= {meta['le']:g}{unit_txt}, got {value:g}{unit_txt}",
                         path=path)


def _convert(value: Any, tp: Any, meta: Mapping[str, Any], path: str) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], meta, path)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, Mapping):
            raise ParamError(f"expected a table [{path}], got {type(value).__name__}",
                             path=path)
        return build(tp, value, path=path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ParamError(f"expected a list, got {type(value).__name__}", path=path)
        elem = get_args(tp)[0]
        items = [_convert(v, elem, meta, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ParamError(f"expected a table, got {type(value).__name__}", path=path)
        _, vt = get_args(tp)
        return {str(k): _convert(v, vt, meta, f"{path}.{k}") for k, v in value.items()}
    if "unit" in meta:
        number = parse_quantity(value, meta["unit"], path=path)
        _check_bounds(number, meta, path, meta["unit"])
        return number
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"expected a number, got {value!r}", path=path)
        number = float(value)
        _check_bounds(number, meta, path, "")
        return number
    if tp is int or meta.get("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ParamError(f"expected an integer, got {value!r}", path=path)
        _check_bounds(value, meta, path, "")
        return int(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamError(f"expected true or false, got {value!r}", path=path)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ParamError(f"expected a string, got {value!r}", path=path)
        if "choices" in meta and value not in meta["choices"]:
            opts = ", ".join(repr(c) for c in meta["choices"])
            raise ParamError(
                f"{value!r} is not one of {opts}{_suggest(value, list(meta['choices']))}",
                path=path,
            )
        if meta.get("identifier") and not IDENTIFIER_RE.match(value):
            raise ParamError(
                f"{value!r} is not a valid name: use letters, digits and '_', "
                "starting with a letter, at most 64 characters",
                path=path,
            )
        return value
    if tp is Any or tp is object:
        return value
    raise TypeError(f"schema: unsupported field type {tp!r} at {path}")


def build(cls: type[T], data: Mapping[str, Any], *, path: str = "") -> T:
    """Validate ``data`` into a frozen dataclass ``cls``.

    Args:
        cls: A dataclass built with the field helpers of this module.
        data: Mapping read from a parameter file.
        path: Dotted path of ``data`` inside the file (for error messages).

    Raises:
        ParamError: Unknown or missing key, wrong type, unit or bound, or a failed
            cross-field check from ``cls.validate``.
    """
    if not isinstance(data, Mapping):
        raise ParamError(f"expected a table, got {type(data).__name__}", path=path)
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    prefix = f"{path}." if path else ""
    for key in data:
        if key not in fields:
            raise ParamError(
                f"unknown key{_suggest(str(key), list(fields))}; allowed: "
                + ", ".join(sorted(fields)),
                path=prefix + str(key),
            )
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        sub = prefix + name
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], f.metadata, sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            unit = f.metadata.get("unit")
            what = f" (a quantity in {UNIT_NAMES[unit]})" if unit else ""
            raise ParamError(f"missing required key{what}", path=sub)
    try:
        obj = cls(**kwargs)
    except ParamError as err:
        raise err.located(path_prefix=path) from None
    validate: Callable[[], None] | None = getattr(obj, "validate", None)
    if validate is not None:
        try:
            validate()
        except ParamError as err:
            raise err.located(path_prefix=path) from None
    return obj


def describe(cls: type) -> list[tuple[str, str, str, str]]:
    """(name, unit, default, doc) rows for documentation and ``lifhw check``."""
    rows = []
    for f in dataclasses.fields(cls):
        unit = f.metadata.get("unit", "")
        default = "" if f.default is dataclasses.MISSING else repr(f.default)
        rows.append((f.name, unit, default, f.metadata.get("doc", "")))
    return rows


def to_plain(obj: Any) -> Any:
    """A JSON-ready copy of a (nested) parameter dataclass, SI floats as numbers."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    return obj
