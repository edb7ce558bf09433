"""Export a sweep database to CSV or Parquet: one row per point, one column per axis/metric."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from lifhw.errors import LifhwError
from lifhw.io import atomic_open, atomic_write_text, refuse_input_as_output
from lifhw.sweep.db import ResultsDB

#: Fixed leading columns; then ``axis:<path>`` and ``metric:<name>`` columns, then params.
BASE_COLUMNS = ("key", "sweep", "backend", "status", "error", "seconds", "lifhw_version",
                "point_index", "worker")


def table(db: str | Path, sweep: str | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """Flattened rows of a database: (column names, rows)."""
    with ResultsDB(db, create=False) as store:
        rows = store.rows(sweep)
    axes: dict[str, None] = {}
    metrics: dict[str, None] = {}
    for row in rows:
        axes.update(dict.fromkeys(row.get("axes") or {}))
        metrics.update(dict.fromkeys(row.get("metrics") or {}))
    columns = [*BASE_COLUMNS, *(f"axis:{a}" for a in axes), *(f"metric:{m}" for m in metrics),
               "params"]
    flat = []
    for row in rows:
        item: dict[str, Any] = {c: row.get(c) for c in BASE_COLUMNS}
        for a in axes:
            item[f"axis:{a}"] = _scalar((row.get("axes") or {}).get(a))
        for m in metrics:
            item[f"metric:{m}"] = (row.get("metrics") or {}).get(m)
        item["params"] = json.dumps(row.get("params"), sort_keys=True)
        flat.append(item)
    return columns, flat


def _scalar(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) or value is None else json.dumps(value)


def export(db: str | Path, out: str | Path, fmt: str, sweep: str | None = None
           ) -> tuple[Path, int]:
    """Write the database as ``csv`` or ``parquet`` (atomically); returns (path, rows).

    Raises:
        LifhwError: ``out`` is the database itself (or its WAL/shared-memory file).
    """
    base = str(db)
    refuse_input_as_output(out, base, base + "-wal", base + "-shm")
    columns, rows = table(db, sweep)
    target = Path(out)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(target, buffer.getvalue())
    elif fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise LifhwError("Parquet export needs pyarrow: pip install pyarrow") from None
        arrow = pa.table({c: _arrow_column(pa, [r.get(c) for r in rows]) for c in columns})
        with atomic_open(target, "wb") as handle:
            pq.write_table(arrow, handle)
    else:
        raise LifhwError(f"unknown export format {fmt!r}; use csv or parquet")
    return target, len(rows)


def _arrow_column(pa: Any, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in present):
        if all(isinstance(v, int) for v in present):
            return pa.array(values, type=pa.int64())
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())
