"""Sweep specifications: ``circuits/sweeps/*.toml`` -> a validated list of design points.

A spec names a base parameter file, a backend, the metrics to record and the
axes to vary (dotted paths into the base file)::

    name = "cap_vs_bias"
    base = "../ota_lif_behavioral.toml"     # relative to this spec
    backend = "ngspice"
    metrics = ["rate_hz", "isi_error", "tau_s", "energy_per_spike_j", "area_um2"]
    timeout = "120 s"                        # per point (optional)
    mode = "cartesian"                       # or "zip"
    [axes]
    "circuit.membrane_capacitance" = ["0.5 pF", "1 pF", "2 pF"]
    "circuit.leak_bias_current" = { log = ["1 pA", "100 pA"], n = 5 }
    "stimulus.amplitude" = { lin = ["5 pA", "50 pA"], n = 4 }

An axis is a list of values (unit strings are validated by the field they land
in), ``{log = [a, b], n}`` (geometric) or ``{lin = [a, b], n}`` (linear); the
ends carry units, generated values are SI numbers. ``mode = "cartesian"``
(default) takes every combination; ``"zip"`` walks the axes side by side (all
must have the same length). Every point is validated like a parameter file
before anything runs, so a typo fails at once with the axis and value named.

A point's ``key`` is the hash of its backend and its full resolved, normalised
parameters (:meth:`lifhw.params.ParamFile.to_plain`): the same design evaluated
twice has the same key, which is what makes ``--resume`` exact.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifhw import params as pfile
from lifhw import schema
from lifhw.core import params_hash
from lifhw.errors import ParamError
from lifhw.units import UNIT_SPELLINGS, parse_quantity

#: Largest number of points one spec may expand to (a typo in ``n`` should not
#: silently schedule a billion simulations).
MAX_POINTS = 1_000_000

_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class _SpecHeader:
    name: str = schema.identifier(doc="sweep name (letters, digits, _)")
    base: str = schema.field(doc="base parameter file, relative to the spec")
    backend: str = schema.identifier(doc="golden | ngspice | rtl | loihi | truenorth | "
                                         "spinnaker | brainscales")
    metrics: tuple[str, ...] = schema.field(doc="metric names recorded per point")
    description: str = schema.field("", doc="free text")
    mode: str = schema.choice("cartesian", "zip", default="cartesian",
                              doc="combine axes as a cartesian product or zipped")
    timeout: float = schema.quantity("s", 600.0, gt=0, doc="wall-time limit of one point")
    layout: bool = schema.field(False, doc="write a GDS per point (analog backends)")
    retries: int = schema.integer(1, ge=0, le=10,
                                  doc="extra attempts after a timeout or a worker crash")
    plugins: tuple[str, ...] = schema.field((), doc="modules imported first (they may "
                                            "register extra backends)")


@dataclass(frozen=True)
class Axis:
    """One swept parameter.

    Args:
        path: Dotted path into the base file, e.g. ``circuit.membrane_capacitance``.
        values: The values as they are written into the parameter mapping.
        numeric: SI value of each entry (NaN where not numeric), for plots.
        unit: Canonical unit symbol of the values ("" when unknown).
    """

    path: str
    values: tuple[Any, ...]
    numeric: tuple[float, ...]
    unit: str = ""


@dataclass(frozen=True)
class Point:
    """One design point of a sweep.

    Args:
        key: Hash of backend + resolved parameters (the database primary key).
        index: Position in the sweep (0-based).
        axes: Axis path -> value as written (for display and plots).
        raw: The parameter mapping with the axis values set.
        plain: Normalised resolved parameters (SI numbers), stored as ``params``.
    """

    key: str
    index: int
    axes: Mapping[str, Any]
    raw: Mapping[str, Any]
    plain: Mapping[str, Any]


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep specification.

    Args:
        name: Sweep name.
        description: Free text.
        source: Path of the spec file.
        base_path: Resolved path of the base parameter file.
        base_raw: The base parameter mapping as read.
        backend: Backend name (see :data:`lifhw.sweep.backends.BACKENDS`).
        metrics: Metric names recorded per point.
        mode: ``cartesian`` or ``zip``.
        axes: The axes, in spec order.
        timeout: Wall-time limit of one point (s).
        layout: Write a GDS per point.
        retries: Extra attempts after a timeout or a worker crash.
        plugins: Modules imported before evaluating (extra backends).
    """

    name: str
    description: str
    source: str
    base_path: str
    base_raw: Mapping[str, Any]
    backend: str
    metrics: tuple[str, ...]
    mode: str
    axes: tuple[Axis, ...]
    timeout: float
    layout: bool = False
    retries: int = 1
    plugins: tuple[str, ...] = ()

    @property
    def base_dir(self) -> str:
        """Directory relative paths inside the base file are resolved against."""
        return str(Path(self.base_path).parent)

    def default_db(self) -> Path:
        """``<spec>.sqlite`` next to the spec file."""
        src = Path(self.source)
        return src.with_name(src.name.removesuffix(".toml") + ".sqlite")

    def n_points(self) -> int:
        """Number of points the axes expand to."""
        if not self.axes:
            return 1
        if self.mode == "zip":
            return len(self.axes[0].values)
        return math.prod(len(a.values) for a in self.axes)

    def points(self) -> list[Point]:
        """Expand and validate every point (raises ParamError naming the bad point).

        Refuses a spec whose points would not fit the memory budget
        (:mod:`lifhw.budget`; about 2.5 kB per golden point measured).
        """
        from lifhw import budget

        budget.check(self.n_points() * budget.SWEEP_BYTES_PER_POINT,
                     f"expanding {self.n_points()} sweep points", path="axes",
                     source=self.source)
        combos: Sequence[tuple[Any, ...]]
        if not self.axes:
            combos = [()]
        elif self.mode == "zip":
            combos = list(zip(*(a.values for a in self.axes), strict=True))
        else:
            combos = list(itertools.product(*(a.values for a in self.axes)))
        out = []
        seen: dict[str, int] = {}
        for index, combo in enumerate(combos):
            raw: dict[str, Any] = dict(self.base_raw)
            axes = {}
            for axis, value in zip(self.axes, combo, strict=True):
                raw = pfile.set_dotted(raw, axis.path, value, must_exist=False)
                axes[axis.path] = value
            where = ", ".join(f"{k} = {v!r}" for k, v in axes.items())
            try:
                resolved = pfile.load_mapping(raw, source=self.base_path,
                                              base_dir=self.base_dir)
            except ParamError as err:
                raise ParamError(f"point {index} ({where}): {err}",
                                 source=self.source) from None
            plain = resolved.to_plain()
            key = point_key(self.backend, plain)
            if key in seen:
                raise ParamError(f"points {seen[key]} and {index} resolve to the same "
                                 f"parameters ({where}); remove the duplicate axis value",
                                 source=self.source)
            seen[key] = index
            out.append(Point(key=key, index=index, axes=axes, raw=raw, plain=plain))
        return out


def point_key(backend: str, plain: Mapping[str, Any]) -> str:
    """Primary key of a point: hash of the backend and the resolved parameters."""
    return params_hash({"backend": backend, "params": plain})


def guess_unit(value: Any) -> str:
    """Canonical unit of a quantity string ("1 pF" -> "F"); "" for plain numbers."""
    if not isinstance(value, str):
        return ""
    for unit in UNIT_SPELLINGS:
        if unit in ("1", "K"):
            continue
        try:
            parse_quantity(value, unit)
        except ParamError:
            continue
        return unit
    if value.strip().endswith(("degC", "°C")):
        return "K"
    return ""


def _si(value: Any, path: str) -> tuple[float, str]:
    if isinstance(value, bool):
        raise ParamError(f"expected a number or a quantity, got {value!r}", path=path)
    if isinstance(value, (int, float)):
        return float(value), ""
    unit = guess_unit(value)
    if not unit:
        raise ParamError(f"cannot read {value!r} as a quantity (e.g. '1 pF', '5 nA')",
                         path=path)
    return parse_quantity(value, unit, path=path), unit


def _range_axis(path: str, spec: Mapping[str, Any]) -> Axis:
    kinds = [k for k in ("log", "lin") if k in spec]
    extra = set(spec) - {"log", "lin", "n"}
    if len(kinds) != 1 or extra:
        raise ParamError("an axis table needs exactly one of log = [a, b] or lin = [a, b], "
                         "and n" + (f"; unknown keys: {sorted(extra)}" if extra else ""),
                         path=path)
    kind = kinds[0]
    ends = spec[kind]
    if not isinstance(ends, (list, tuple)) or len(ends) != 2:
        raise ParamError(f"{kind} needs two ends [a, b]", path=f"{path}.{kind}")
    (lo, unit_lo), (hi, unit_hi) = (_si(e, f"{path}.{kind}") for e in ends)
    if unit_lo != unit_hi:
        raise ParamError(f"the ends {ends[0]!r} and {ends[1]!r} have different units",
                         path=f"{path}.{kind}")
    n = spec.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParamError(f"n must be an integer >= 1, got {n!r}", path=f"{path}.n")
    if n > MAX_POINTS:  # before expanding: n = 1e9 must not allocate first
        raise ParamError(f"n = {n} exceeds the limit of {MAX_POINTS} points", path=f"{path}.n")
    if kind == "log":
        if lo <= 0 or hi <= 0:
            raise ParamError("log axis ends must be > 0", path=f"{path}.log")
        ratio = (hi / lo) ** (1.0 / (n - 1)) if n > 1 else 1.0
        values = [lo * ratio**i for i in range(n)]
    else:
        step = (hi - lo) / (n - 1) if n > 1 else 0.0
        values = [lo + step * i for i in range(n)]
    if n > 1:
        values[-1] = hi  # exact end, no accumulated rounding
    # Round to 12 significant digits so keys do not depend on the last bit of pow().
    values = [float(f"{v:.12g}") for v in values]
    return Axis(path=path, values=tuple(values), numeric=tuple(values), unit=unit_lo)


def _list_axis(path: str, values: Sequence[Any]) -> Axis:
    if len(values) == 0:
        raise ParamError("an axis needs at least one value", path=path)
    numeric = []
    units = set()
    for value in values:
        try:
            number, unit = _si(value, path)
        except ParamError:
            number, unit = math.nan, ""
        numeric.append(number)
        units.add(unit)
    unit = units.pop() if len(units) == 1 else ""
    return Axis(path=path, values=tuple(values), numeric=tuple(numeric), unit=unit)


def _check_path(base: Mapping[str, Any], path: str) -> None:
    """An axis path must exist in the base file (or be a field of a section it has)."""
    parts = path.split(".")
    if len(parts) < 2 or not all(parts):
        raise ParamError("an axis is a dotted path 'section.field'", path=f"axes.{path}")
    node: Any = base
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node, Mapping) or part not in node \
                or not isinstance(node[part], Mapping):
            have = sorted(k for k, v in node.items() if isinstance(v, Mapping)) \
                if isinstance(node, Mapping) else []
            raise ParamError(f"no table {'.'.join(parts[: i + 1])!r} in the base file; "
                             f"it has: {', '.join(have) or 'none'}", path=f"axes.{path}")
        node = node[part]
    if parts[-1] in node:
        return
    # A field left at its default is still a field of the section's dataclass.
    fields = _section_fields(parts[:-1])
    if parts[-1] in fields:
        return
    import difflib

    options = sorted(set(node) | set(fields))
    close = difflib.get_close_matches(parts[-1], options, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ParamError(f"{path!r} does not exist in the base file{hint}", path=f"axes.{path}")


def _section_fields(parts: Sequence[str]) -> set[str]:
    if parts[0] not in pfile.SECTIONS:
        return set()
    try:
        cls: Any = pfile.SECTIONS.get(parts[0])
    except ImportError:
        return set()
    import typing

    for part in parts[1:]:
        hints = typing.get_type_hints(cls)
        if part not in hints:
            return set()
        tp = hints[part]
        args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
        cls = args[0]
    if not dataclasses.is_dataclass(cls):
        return set()
    return {f.name for f in dataclasses.fields(cls) if f.name != "base_dir"}


def load_spec_mapping(data: Mapping[str, Any], *, source: str, spec_dir: Path,
                      allow_plugins: bool = True) -> SweepSpec:
    """Validate an in-memory sweep spec (as read from TOML).

    ``plugins`` are Python modules imported from the spec's directory, the current
    directory or ``PYTHONPATH``: a spec with plugins runs code, so only trusted
    specs may have them; ``allow_plugins=False`` refuses such a spec.
    """
    from lifhw.sweep.backends import BACKENDS, check_metrics

    data = dict(data)
    axes_raw = data.pop("axes", {})
    if not isinstance(axes_raw, Mapping):
        raise ParamError("[axes] must be a table", path="axes", source=source)
    try:
        head = schema.build(_SpecHeader, data)
        if head.plugins and not allow_plugins:
            raise ParamError("this spec imports Python plugins, which are disabled "
                             "(--no-plugins)", path="plugins")
        if head.plugins:
            # Plugins live next to the spec, in the current directory or on PYTHONPATH.
            for folder in (str(Path.cwd()), str(spec_dir.resolve())):
                if folder not in sys.path:
                    sys.path.append(folder)
        for i, plugin in enumerate(head.plugins):
            if not _MODULE_RE.match(plugin):
                raise ParamError(f"not a module name: {plugin!r}", path=f"plugins[{i}]")
            try:
                importlib.import_module(plugin)
            except ImportError as err:
                raise ParamError(f"cannot import plugin {plugin!r}: {err}",
                                 path=f"plugins[{i}]") from None
        if head.backend not in BACKENDS:
            raise ParamError(f"unknown backend {head.backend!r}"
                             f"{BACKENDS.suggest(head.backend)}; known: "
                             + ", ".join(BACKENDS.names()), path="backend")
        if not head.metrics:
            raise ParamError("list at least one metric", path="metrics")
        check_metrics(head.backend, head.metrics)
        base_path = (spec_dir / head.base).resolve()
        base_raw = pfile.read_toml(base_path)
        # The base must be valid on its own: errors there name the base file.
        pfile.load_mapping(base_raw, source=str(base_path), base_dir=base_path.parent)
        axes = []
        for path, value in axes_raw.items():
            _check_path(base_raw, path)
            if isinstance(value, Mapping):
                axes.append(_range_axis(f"axes.{path}", value))
            elif isinstance(value, (list, tuple)):
                axes.append(_list_axis(f"axes.{path}", value))
            else:
                raise ParamError("an axis is a list of values or {log|lin = [a, b], n}",
                                 path=f"axes.{path}")
            axes[-1] = dataclasses.replace(axes[-1], path=path)
            count = math.prod(len(a.values) for a in axes)
            if head.mode == "cartesian" and count > MAX_POINTS:
                raise ParamError(f"the axes expand to {count} points (limit {MAX_POINTS})",
                                 path=f"axes.{path}")
        if head.mode == "zip" and len({len(a.values) for a in axes}) > 1:
            sizes = ", ".join(f"{a.path}: {len(a.values)}" for a in axes)
            raise ParamError(f"mode 'zip' needs axes of equal length ({sizes})", path="mode")
    except ParamError as err:
        raise err.located(source=err.source or source) from None
    spec = SweepSpec(name=head.name, description=head.description, source=source,
                     base_path=str(base_path), base_raw=base_raw, backend=head.backend,
                     metrics=head.metrics, mode=head.mode, axes=tuple(axes),
                     timeout=head.timeout, layout=head.layout, retries=head.retries,
                     plugins=head.plugins)
    if spec.n_points() > MAX_POINTS:
        raise ParamError(f"the axes expand to {spec.n_points()} points (limit {MAX_POINTS})",
                         path="axes", source=source)
    return spec


def load_spec(path: str | Path, *, allow_plugins: bool = True) -> SweepSpec:
    """Load and validate a sweep spec file (see :func:`load_spec_mapping` on plugins).

    Raises:
        ParamError: With the spec (or base) file name and the offending key.
    """
    file = Path(path)
    return load_spec_mapping(pfile.read_toml(file), source=str(file), spec_dir=file.parent,
                             allow_plugins=allow_plugins)
