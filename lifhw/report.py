"""Self-contained HTML report: figures inlined as base64 PNG, no external files."""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lifhw import __version__
from lifhw.io import atomic_write_text

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
img{max-width:100%;border:1px solid #ddd;margin:.4em 0}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.2em .6em}
.fail{color:#b00}
"""


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def _table(rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>"
        for row in rows[1:]
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_report(sections: Sequence[Any], path: Path,
                 title: str = "lifhw co-design report") -> Path:
    """Write the HTML report of demo sections (objects with title/lines/figures/table/ok)."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>lifhw {__version__}, {time.strftime('%Y-%m-%d %H:%M:%S')}</p>",
    ]
    for section in sections:
        cls = "" if section.ok else " class='fail'"
        parts.append(f"<h2{cls}>{html.escape(section.title)}"
                     f" <small>({section.seconds:.1f} s)</small></h2>")
        if section.lines:
            parts.append("<pre>" + html.escape("\n".join(section.lines)) + "</pre>")
        parts.append(_table(section.table))
        for figure in section.figures:
            if Path(figure).exists():
                parts.append(_image(Path(figure)))
    parts.append("</body></html>")
    return atomic_write_text(path, "\n".join(parts))
