"""Atomic writes: complete or absent, never partial; normal permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lifhw.errors import LifhwError
from lifhw.io import atomic_open, atomic_write_text


def test_failure_leaves_old_file_and_no_temporaries(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "a.cir", "old\n")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("generator failed mid-way")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.cir"]


def test_permissions_follow_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "report.html", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(LifhwError, match="cannot write"):
        atomic_write_text(blocker / "out.txt", "x")
