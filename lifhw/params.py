"""Parameter files: TOML in ``circuits/`` -> validated, frozen objects.

A parameter file has a ``name``, an optional ``description`` and sections. Each
section name maps to a frozen dataclass (see :data:`SECTIONS`); flows add their
own sections (``circuit`` for analog, ``core`` for digital, ``network`` for the
chip mappers) by registering the dotted path of their dataclass, imported only
when a file uses that section.

    name = "lif_demo"
    [neuron]
    tau_m = "20 ms"
    r_m = "100 MOhm"
    ...
    [stimulus]
    kind = "step"
    amplitude = "250 pA"
    t_stop = "500 ms"

Every mistake gives one :class:`~lifhw.errors.ParamError` naming the file, the
dotted field path and the expected unit.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import importlib
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lifhw import schema
from lifhw.core import LIFParams, check_neuron_values, params_hash
from lifhw.errors import ParamError
from lifhw.registry import Registry
from lifhw.schema import identifier, quantity


@dataclass(frozen=True)
class NeuronSection:
    """``[neuron]``: the abstract LIF neuron. Give two of tau_m, r_m, capacitance."""

    v_rest: float = quantity("V", doc="resting potential")
    v_th: float = quantity("V", doc="firing threshold")
    v_reset: float = quantity("V", doc="reset potential")
    tau_m: float | None = quantity("s", None, gt=0, doc="membrane time constant")
    r_m: float | None = quantity("Ohm", None, gt=0, doc="membrane resistance")
    capacitance: float | None = quantity("F", None, gt=0, doc="membrane capacitance")
    t_ref: float = quantity("s", 0.0, ge=0, doc="absolute refractory period")
    tau_syn_exc: float = quantity("s", 0.0, ge=0, doc="excitatory synapse tau (0 = delta)")
    tau_syn_inh: float = quantity("s", 0.0, ge=0, doc="inhibitory synapse tau (0 = delta)")

    def validate(self) -> None:
        given = [n for n in ("tau_m", "r_m", "capacitance") if getattr(self, n) is not None]
        if len(given) != 2:
            raise ParamError(
                "give exactly two of tau_m (s), r_m (Ohm) and capacitance (F); got "
                + (", ".join(given) or "none"),
                path="tau_m",
            )
        check_neuron_values(v_rest=self.v_rest, v_th=self.v_th, v_reset=self.v_reset)

    def lif(self) -> LIFParams:
        """The :class:`~lifhw.core.LIFParams` this section describes."""
        tau_m, r_m, cap = self.tau_m, self.r_m, self.capacitance
        if tau_m is None:
            assert r_m is not None and cap is not None
            tau_m = r_m * cap
        if r_m is None:
            assert cap is not None
            r_m = tau_m / cap
        return LIFParams(
            tau_m=tau_m, r_m=r_m, v_rest=self.v_rest, v_th=self.v_th,
            v_reset=self.v_reset, t_ref=self.t_ref, tau_syn_exc=self.tau_syn_exc,
            tau_syn_inh=self.tau_syn_inh,
        )


#: Section name -> dataclass (dotted path, imported on first use).
SECTIONS: Registry[type] = Registry("parameter-file section")
SECTIONS.add("neuron", "lifhw.params:NeuronSection")
SECTIONS.add("stimulus", "lifhw.stimulus:Stimulus")
SECTIONS.add("circuit", "lifhw.analog.params:CircuitSection")
SECTIONS.add("core", "lifhw.digital.params:CoreSection")
SECTIONS.add("network", "lifhw.network.section:NetworkSection")
SECTIONS.add("design", "lifhw.analog.design:DesignSection")
SECTIONS.add("analog", "lifhw.analog.network:AnalogNetworkSection")


_Section = TypeVar("_Section")


@dataclass(frozen=True)
class _Header:
    name: str = identifier(doc="design name (letters, digits, _)")
    description: str = schema.field("", doc="free text, never emitted into artifacts")


@dataclass(frozen=True, eq=False)
class ParamFile:
    """A validated parameter file.

    Attributes:
        name: Design name (a safe identifier).
        description: Free text.
        sections: Section name -> validated frozen object.
        source: Path of the file ("" when built from a mapping).
        raw: The mapping as read (for sweeps, which override dotted paths).
    """

    name: str
    description: str
    sections: Mapping[str, Any]
    source: str
    raw: Mapping[str, Any]

    def __getattr__(self, item: str) -> Any:
        # Untyped shorthand (pf.neuron, pf.stimulus, ...; None when absent) for
        # scripts; typed code uses section(name, cls).
        if item.startswith("_") or item not in SECTIONS:
            raise AttributeError(item)
        return self.sections.get(item)

    def require(self, section: str) -> Any:
        """Return a section or raise a ParamError saying the file lacks it."""
        if section not in self.sections:
            raise ParamError(f"this file has no [{section}] section, which is needed here",
                             source=self.source)
        return self.sections[section]

    def section(self, name: str, cls: type[_Section]) -> _Section:
        """A section as its dataclass, typed for mypy.

        Args:
            name: Section name, e.g. ``"network"``.
            cls: Its dataclass, e.g. :class:`lifhw.network.NetworkSection`.

        Raises:
            ParamError: The file has no such section.
            TypeError: The section is not a ``cls`` (a programming error).
        """
        value = self.require(name)
        if not isinstance(value, cls):
            raise TypeError(f"section [{name}] is a {type(value).__name__}, "
                            f"not a {cls.__name__}")
        return value

    @property
    def lif(self) -> LIFParams:
        """The abstract neuron: from ``[neuron]``, or the LIF a circuit/core realises."""
        if "neuron" in self.sections:
            return self.sections["neuron"].lif()
        for section in self.sections.values():
            effective = getattr(section, "lif", None)
            if callable(effective):
                return effective()
        raise ParamError("this file describes no neuron", source=self.source)

    def digest(self) -> str:
        """Hash of the normalised parameters (provenance of traces and sweep points)."""
        return params_hash({"name": self.name, **{k: v for k, v in self.sections.items()}})

    def to_plain(self) -> dict[str, Any]:
        """Normalised parameters (SI floats) as a JSON-ready mapping."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        for key, value in self.sections.items():
            plain = schema.to_plain(value)
            if isinstance(plain, dict):
                plain.pop("base_dir", None)
            out[key] = plain
        return out


def load_mapping(data: Mapping[str, Any], *, source: str = "",
                 base_dir: str | Path = "") -> ParamFile:
    """Validate an in-memory parameter mapping (as read from TOML).

    Args:
        data: The mapping.
        source: File name used in error messages.
        base_dir: Directory that relative paths inside the file are resolved against.
    """
    header = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    try:
        head = schema.build(_Header, header)
        sections: dict[str, Any] = {}
        for key, table in tables.items():
            if key not in SECTIONS:
                raise ParamError(
                    f"unknown section [{key}]{SECTIONS.suggest(key)}; known: "
                    + ", ".join(SECTIONS.names()),
                    path=key,
                )
            cls = SECTIONS.get(key)
            table = dict(table)
            if "base_dir" in {f for f in getattr(cls, "__dataclass_fields__", {})}:
                if "base_dir" in table:
                    raise ParamError("base_dir is set by lifhw, not by the file",
                                     path=f"{key}.base_dir")
                table["base_dir"] = str(base_dir)
            sections[key] = schema.build(cls, table, path=key)
        if not sections:
            raise ParamError("no sections: expected [neuron], [circuit], [core] or [network]")
    except ParamError as err:
        raise err.located(source=source) from None
    return ParamFile(name=head.name, description=head.description, sections=sections,
                     source=source, raw=copy.deepcopy(dict(data)))


#: Deepest nesting of tables and arrays a parameter file may have (real files use ~4).
MAX_NESTING = 32


def _depth(value: Any) -> int:
    """Nesting depth of tables/arrays, without recursion (a hostile file may be deep)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning I/O and syntax errors into ParamError.

    Only regular files are read (a FIFO or a device would block or never end), and
    tables/arrays nested deeper than :data:`MAX_NESTING` are refused.
    """
    file = Path(path)
    try:
        if file.exists() and not file.is_dir() and not file.is_file():
            raise ParamError("not a regular file (a pipe or device?), expected a .toml file",
                             source=str(file))
        with open(file, "rb") as handle:
            data = tomllib.load(handle)
    except RecursionError:
        raise ParamError(f"tables or arrays nested too deeply (limit {MAX_NESTING})",
                         source=str(file)) from None
    except FileNotFoundError:
        raise ParamError("file not found", source=str(file)) from None
    except IsADirectoryError:
        raise ParamError("is a directory, expected a .toml file", source=str(file)) from None
    except OSError as err:
        raise ParamError(f"cannot read: {err.strerror}", source=str(file)) from None
    except tomllib.TOMLDecodeError as err:
        raise ParamError(f"invalid TOML: {err}", source=str(file)) from None
    except UnicodeDecodeError:
        raise ParamError("not a UTF-8 text file", source=str(file)) from None
    if _depth(data) > MAX_NESTING:
        raise ParamError(f"tables or arrays nested too deeply (limit {MAX_NESTING})",
                         source=str(file))
    return data


#: Overrides (``dotted.path=VALUE``) that :func:`load` applies: the CLI's ``--set``.
_OVERRIDES: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "lifhw_param_overrides", default=())


def parse_override(item: str) -> tuple[str, Any]:
    """``"stimulus.amplitude=3 nA"`` -> ``("stimulus.amplitude", "3 nA")``.

    The value is read as a TOML value where it is one (``2``, ``true``, ``"3 nA"``,
    ``["tt", "ss"]``), else taken as the string itself (``3 nA``), so shells that
    strip the quotes still work.

    Raises:
        ParamError: Not ``dotted.path=VALUE``.
    """
    path, sep, text = item.partition("=")
    path = path.strip()
    parts = path.split(".")
    if not sep or not path or any(not p.strip() for p in parts) or not text.strip():
        raise ParamError(f"--set {item!r}: expected dotted.path=VALUE, e.g. "
                         "stimulus.amplitude=\"3 nA\"")
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    return path, value


def apply_overrides(data: Mapping[str, Any], items: Sequence[str]) -> dict[str, Any]:
    """Copy of a raw mapping with each ``dotted.path=VALUE`` set (tables made as needed).

    The result is validated like the file (unknown keys get "did you mean", values
    their units), by :func:`load_mapping`.
    """
    out = copy.deepcopy(dict(data))
    for item in items:
        path, value = parse_override(item)
        parts = path.split(".")
        node: Any = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ParamError(f"--set {path}: {'.'.join(parts[: i + 1])} is a value, "
                                 "not a table", path=path)
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise ParamError(f"--set {path}: is a table; set one of its keys", path=path)
        node[parts[-1]] = value
    return out


@contextlib.contextmanager
def overrides(items: Sequence[str]) -> Iterator[None]:
    """Within the block, :func:`load` applies ``items`` (``dotted.path=VALUE``) to every
    file it reads (the CLI's ``--set``); their syntax is checked on entry."""
    parsed = tuple(items)
    for item in parsed:
        parse_override(item)
    token = _OVERRIDES.set(parsed)
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


def load(path: str | Path, *, overrides: Sequence[str] | None = None) -> ParamFile:
    """Load and validate a parameter file.

    Args:
        path: The TOML file.
        overrides: ``dotted.path=VALUE`` items applied before validation; default
            those of the active :func:`overrides` block (none outside one).

    Raises:
        ParamError: With the file name, the field path and the expected unit.
    """
    file = Path(path)
    data = read_toml(file)
    items = tuple(overrides) if overrides is not None else _OVERRIDES.get()
    if items:
        try:
            data = apply_overrides(data, items)
        except ParamError as err:
            raise err.located(source=str(file)) from None
    return load_mapping(data, source=str(file), base_dir=file.parent)


def set_dotted(data: Mapping[str, Any], dotted: str, value: Any, *,
               must_exist: bool = True) -> dict[str, Any]:
    """Copy of a raw mapping with ``a.b.c`` set to ``value`` (for sweeps).

    Raises:
        ParamError: ``must_exist`` and the path is not in ``data``.
    """
    out = copy.deepcopy(dict(data))
    node: Any = out
    parts = dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        if part not in node or not isinstance(node[part], dict):
            raise ParamError(f"no table {'.'.join(parts[: i + 1])!r} in the base file",
                             path=dotted)
        node = node[part]
    if must_exist and parts[-1] not in node:
        raise ParamError(f"key {parts[-1]!r} is not in the base file", path=dotted)
    node[parts[-1]] = value
    return out


def import_object(dotted: str) -> Any:
    """Import ``package.module:attribute``."""
    module, _, attribute = dotted.partition(":")
    return getattr(importlib.import_module(module), attribute)
