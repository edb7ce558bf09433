"""Output in one place: atomic files (complete or absent, never half written) and JSON.

JSON written by lifhw (CLI ``--json`` output, sweep database columns, design
reports) goes through :func:`to_json`: NaN and infinities become ``null`` so every
document is strict JSON, numpy scalars become Python numbers.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from lifhw.errors import LifhwError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fail(path: Path, err: OSError) -> LifhwError:
    reason = err.strerror or str(err)
    return LifhwError(f"cannot write {path}: {reason}")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file next to ``path``; rename it over ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
    except OSError as err:
        raise _fail(target, err) from None
    try:
        # mkstemp creates 0600 files; give the result the permissions a plain
        # open() would (0666 less the umask) so reports and netlists stay readable.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _fail(target, err) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def refuse_input_as_output(output: str | Path, *inputs: str | Path,
                           option: str = "-o") -> None:
    """Raise LifhwError when ``output`` names one of the ``inputs`` (or the same file).

    Writing a result over the file it was computed from loses the input, so every
    command that takes ``-o`` checks this before it reads or writes anything.
    """
    out = Path(output)
    for source in inputs:
        src = Path(source)
        same = out.resolve() == src.resolve()
        if not same and out.exists() and src.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(out, src)
        if same:
            raise LifhwError(f"{option} {output}: is the input file {source}; "
                             "choose another output path")


def _blocking_parent(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a directory, if any."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def check_output_file(path: str | Path, *, option: str, inputs: tuple[str | Path, ...] = (),
                      suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse, before any work, an output file that cannot be written as asked.

    Args:
        path: The output file.
        option: Its option name for the message (``--plot``, ``-o`` ...).
        inputs: Input files it must not overwrite.
        suffixes: Accepted suffixes (lower case, with the dot); empty: any.

    Raises:
        LifhwError: ``path`` is a directory, lies under a file, is an input, or has
            a suffix outside ``suffixes``.
    """
    target = Path(path)
    if target.is_dir():
        raise LifhwError(f"{option} {path}: is a directory, expected a file name")
    blocker = _blocking_parent(target)
    if blocker is not None:
        raise LifhwError(f"{option} {path}: {blocker} is a file, not a directory")
    if suffixes and target.suffix.lower() not in suffixes:
        raise LifhwError(f"{option} {path}: unsupported file type "
                         f"{target.suffix or '(none)'!r}; use one of {', '.join(suffixes)}")
    refuse_input_as_output(target, *inputs, option=option)
    return target


def check_output_dir(path: str | Path, *, option: str) -> Path:
    """Refuse, before any work, an output directory that is a file or lies under one.

    Raises:
        LifhwError: Naming ``option`` and the file in the way.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise LifhwError(f"{option} {path}: is a file, expected a directory")
    blocker = _blocking_parent(target)
    if blocker is not None:
        raise LifhwError(f"{option} {path}: {blocker} is a file, not a directory")
    return target


#: Figure formats :func:`save_figure` writes (matplotlib's Agg, PDF, PS and SVG backends).
FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".svgz", ".eps", ".ps", ".jpg", ".jpeg",
                   ".tif", ".tiff", ".webp")


def check_figure_path(path: str | Path, *, option: str,
                      inputs: tuple[str | Path, ...] = ()) -> Path:
    """:func:`check_output_file` for a figure (suffix in :data:`FIGURE_SUFFIXES`, or
    none: PNG)."""
    suffixes = FIGURE_SUFFIXES if Path(path).suffix else ()
    return check_output_file(path, option=option, inputs=inputs, suffixes=suffixes)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def save_figure(fig: object, path: str | Path, **kwargs: object) -> Path:
    """Save a matplotlib figure atomically (format from the suffix)."""
    target = Path(path)
    fmt = target.suffix.lstrip(".") or "png"
    with atomic_open(target, "wb") as handle:
        fig.savefig(handle, format=fmt, **kwargs)  # type: ignore[attr-defined]
    return target


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf as None, numpy scalars as Python numbers, keys as strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value


def to_json(value: Any, *, indent: int | None = None, sort_keys: bool = True) -> str:
    """Strict JSON text of ``value`` (see :func:`json_safe`); unknown objects via str()."""
    return json.dumps(json_safe(value), indent=indent, sort_keys=sort_keys, allow_nan=False,
                      default=str)


def print_json(data: Any) -> None:
    """Print a JSON document for ``--json`` output (keys in insertion order)."""
    print(to_json(data, indent=2, sort_keys=False))
