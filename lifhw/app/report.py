"""Self-contained HTML report: figures inlined as base64 PNG, no external files.

One file that opens anywhere (mail it, attach it to CI): a contents list with
each section's status and time, then per section its result lines, an optional
table and its figures. Used by ``lifhw demo`` (``out/report.html``) and by
``lifhw plot`` (``summary.html``).
"""

from __future__ import annotations

import base64
import html
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lifhw import __version__
from lifhw.io import atomic_write_text

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;
padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;white-space:pre-wrap}
img{max-width:100%;border:1px solid #ddd;margin:.4em 0;display:block}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
.fail{color:#b00}.ok{color:#070}nav ol{columns:2}
.figs{display:flex;flex-wrap:wrap;gap:.6em}.figs img{max-width:540px}
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


def _anchor(index: int, title: str) -> str:
    return f"s{index}-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]


def write_report(sections: Sequence[Any], path: Path, title: str = "lifhw co-design report"
                 ) -> Path:
    """Write the HTML report of sections (objects with title/lines/figures/table/ok/seconds).

    Args:
        sections: The sections in order (e.g. :class:`lifhw.demo.DemoSection`).
        path: Output file (written atomically).
        title: Page title.

    Returns:
        ``path``.
    """
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>lifhw {html.escape(__version__)}, {time.strftime('%Y-%m-%d %H:%M:%S')}</p>",
    ]
    if len(sections) > 1:
        items = []
        for i, section in enumerate(sections):
            state = "<span class='ok'>ok</span>" if section.ok else \
                "<span class='fail'>FAILED</span>"
            items.append(f"<li><a href='#{_anchor(i, section.title)}'>"
                         f"{html.escape(section.title)}</a> {state} "
                         f"({section.seconds:.1f} s)</li>")
        parts.append("<nav><ol>" + "".join(items) + "</ol></nav>")
    for i, section in enumerate(sections):
        cls = "" if section.ok else " class='fail'"
        parts.append(f"<h2 id='{_anchor(i, section.title)}'{cls}>{html.escape(section.title)}"
                     f" <small>({section.seconds:.1f} s)</small></h2>")
        if section.lines:
            parts.append("<pre>" + html.escape("\n".join(section.lines)) + "</pre>")
        parts.append(_table(section.table))
        for rows in getattr(section, "tables", ()):
            parts.append(_table(rows))
        figures = [Path(f) for f in section.figures if Path(f).exists()]
        if figures:
            parts.append("<div class='figs'>" + "".join(_image(f) for f in figures) + "</div>")
    parts.append("</body></html>")
    return atomic_write_text(path, "\n".join(parts))
