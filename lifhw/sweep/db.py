"""The sweep results database: one SQLite file in WAL mode, one row per design point.

Contract (other tools read it; columns are only ever added)::

    CREATE TABLE points (
        key TEXT PRIMARY KEY,      -- hash of backend + full resolved parameters
        params TEXT NOT NULL,      -- JSON, normalised SI parameters of the point
        status TEXT NOT NULL,      -- 'done' or 'failed'
        metrics TEXT,              -- JSON {metric: value}, keys as in the spec (NaN -> null)
        error TEXT,                -- why a point failed (NULL when done)
        seconds REAL,              -- wall time of the evaluation
        lifhw_version TEXT,
        sweep TEXT, backend TEXT, axes TEXT, point_index INTEGER, finished_at REAL,
        worker TEXT
    )

plus ``lifhw_meta`` (what this file is) and ``sweeps`` (the specs run on it).
Only the coordinating process writes, one ``BEGIN IMMEDIATE`` transaction per
finished point, so a crash (even SIGKILL) loses at most the point in flight and
never leaves half a row. Two sweeps writing one file at the same time serialise
on SQLite's lock (``busy_timeout``) and cannot corrupt it.

WAL needs shared memory between the processes that open the file, which network
filesystems (NFS, SMB, sshfs ...) do not provide: such a database is refused.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lifhw import __version__
from lifhw.errors import LifhwError
from lifhw.io import to_json

#: Identifies a lifhw sweep database (``lifhw_meta.format``).
FORMAT = "lifhw-sweep"
SCHEMA_VERSION = 1

#: Filesystem types on which SQLite's WAL mode is unsafe (no shared mmap/locks).
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb2", "smbfs", "fuse.sshfs", "sshfs", "9p", "afs",
    "ceph", "glusterfs", "fuse.glusterfs", "lustre", "gpfs", "fuse.s3fs", "davfs",
    "fuse.rclone", "beegfs", "virtiofs",
})

_COLUMNS = (
    ("key", "TEXT PRIMARY KEY"),
    ("params", "TEXT NOT NULL"),
    ("status", "TEXT NOT NULL CHECK (status IN ('done', 'failed'))"),
    ("metrics", "TEXT"),
    ("error", "TEXT"),
    ("seconds", "REAL"),
    ("lifhw_version", "TEXT"),
    ("sweep", "TEXT"),
    ("backend", "TEXT"),
    ("axes", "TEXT"),
    ("point_index", "INTEGER"),
    ("finished_at", "REAL"),
    ("worker", "TEXT"),
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS lifhw_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points ({", ".join(f"{n} {t}" for n, t in _COLUMNS)});
CREATE TABLE IF NOT EXISTS sweeps (
    name TEXT NOT NULL, spec TEXT NOT NULL, backend TEXT, metrics TEXT, axes TEXT,
    started_at REAL, lifhw_version TEXT
);
CREATE INDEX IF NOT EXISTS points_sweep ON points (sweep, status);
"""


class DatabaseError(LifhwError):
    """The results database cannot be used (corrupt, foreign, read-only, full disk...)."""


def _explain(path: Path, err: BaseException) -> DatabaseError:
    text = str(err)
    code = getattr(err, "sqlite_errorcode", None)
    full = code == getattr(sqlite3, "SQLITE_FULL", 13) or "disk is full" in text \
        or getattr(err, "errno", None) == errno.ENOSPC
    if full:
        return DatabaseError(f"{path}: the disk is full (no space left to write the "
                             "results database); free space and re-run with --resume")
    if "readonly" in text or "read-only" in text or "unable to open" in text \
            or getattr(err, "errno", None) in (errno.EACCES, errno.EROFS, errno.EPERM):
        return DatabaseError(f"{path}: cannot write the results database here ({text}); "
                             "choose a writable location with --db PATH")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return DatabaseError(f"{path}: not a readable SQLite database ({text}); it is "
                             "corrupt or another kind of file -- move it away or use --db")
    if "locked" in text or "busy" in text:
        return DatabaseError(f"{path}: the database stayed locked by another process "
                             f"({text})")
    return DatabaseError(f"{path}: database error: {text}")


def filesystem_type(path: str | Path) -> str:
    """Type of the filesystem holding ``path`` (from /proc/mounts; "" if unknown)."""
    try:
        target = os.path.realpath(Path(path).parent if not Path(path).is_dir() else path)
        with open("/proc/mounts", encoding="utf-8", errors="replace") as handle:
            mounts = [line.split() for line in handle]
    except OSError:
        return ""
    best, fstype = "", ""
    for fields in mounts:
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype = mount, fields[2]
    return fstype


def check_local_filesystem(path: str | Path) -> None:
    """Refuse a database on a network filesystem (WAL needs local shared memory)."""
    fstype = filesystem_type(path)
    if fstype in NETWORK_FILESYSTEMS or fstype.startswith("nfs"):
        raise DatabaseError(
            f"{path} is on a network filesystem ({fstype}); SQLite's WAL mode is not safe "
            "there -- put the database on a local disk with --db PATH")


class ResultsDB:
    """An open sweep database.

    Args:
        path: The SQLite file (created when absent, with its directory).
        create: Create the file and tables if missing (False: must exist, read-only use).
        busy_timeout: How long (s) a write waits for another writer before failing.
    """

    def __init__(self, path: str | Path, *, create: bool = True, busy_timeout: float = 60.0):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise DatabaseError(f"{self.path}: no such database")
        if self.path.is_dir():
            raise DatabaseError(f"{self.path} is a directory, expected a database file")
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise _explain(self.path, err) from None
        check_local_filesystem(self.path)
        try:
            if create:
                self._conn = sqlite3.connect(self.path, timeout=busy_timeout,
                                             isolation_level=None)
            else:
                uri = f"file:{self.path.resolve()}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout,
                                             isolation_level=None)
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._setup(create)
        except sqlite3.Error as err:
            with contextlib.suppress(Exception):
                self._conn.close()
            raise _explain(self.path, err) from None

    def _setup(self, create: bool) -> None:
        conn = self._conn
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "lifhw_meta" not in tables:
            raise DatabaseError(
                f"{self.path} is an SQLite database but not a lifhw sweep database "
                f"(tables: {', '.join(sorted(tables))}); use another --db path")
        if "lifhw_meta" in tables:
            meta = dict(conn.execute("SELECT name, value FROM lifhw_meta"))
            if meta.get("format") != FORMAT:
                raise DatabaseError(f"{self.path}: lifhw_meta does not describe a lifhw "
                                    "sweep database")
            if int(meta.get("schema_version", "0")) > SCHEMA_VERSION:
                raise DatabaseError(f"{self.path} was written by a newer lifhw (schema "
                                    f"{meta['schema_version']}); upgrade lifhw")
        if not create:
            return
        # Switching to WAL needs a moment without other connections (a reader polling
        # a brand-new file, a second sweep starting): retry instead of failing.
        deadline = time.monotonic() + 30.0
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                mode = "busy"
            if str(mode).lower() == "wal" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if str(mode).lower() != "wal":
            raise DatabaseError(f"{self.path}: cannot switch to WAL mode (got {mode}); "
                                "is it on a network or read-only filesystem?")
        # NORMAL in WAL mode: a commit survives a process crash (SIGKILL); only an
        # OS crash/power loss may roll back the last transactions.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                conn.execute(statement)
            have = {row[1] for row in conn.execute("PRAGMA table_info(points)")}
            for name, decl in _COLUMNS:  # older files: add new columns, never rename
                if name not in have:
                    conn.execute(f"ALTER TABLE points ADD COLUMN {name} "
                                 f"{decl.split(' CHECK')[0].replace(' PRIMARY KEY', '')}")
            conn.execute("INSERT OR IGNORE INTO lifhw_meta VALUES ('format', ?)", (FORMAT,))
            conn.execute("INSERT OR IGNORE INTO lifhw_meta VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))
            conn.execute("INSERT OR IGNORE INTO lifhw_meta VALUES ('created_by', ?)",
                         (f"lifhw {__version__}",))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    # -- writing -------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise _explain(self.path, err) from None
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise _explain(self.path, err) from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise

    def record_sweep(self, name: str, spec: str, backend: str, metrics: Any,
                     axes: Any) -> None:
        """Note that a sweep (spec) was started on this database."""
        with self._write() as conn:
            conn.execute("INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (name, spec, backend, to_json(list(metrics)), to_json(axes),
                          time.time(), __version__))

    def record(self, *, key: str, params: Mapping[str, Any], status: str,
               metrics: Mapping[str, Any] | None, error: str | None, seconds: float,
               sweep: str = "", backend: str = "", axes: Mapping[str, Any] | None = None,
               point_index: int | None = None, worker: str = "") -> None:
        """Store one finished point in its own ``BEGIN IMMEDIATE`` transaction.

        A point already ``done`` is never downgraded to ``failed`` by a concurrent or
        repeated run; otherwise the newer result replaces the older.
        """
        if status not in ("done", "failed"):
            raise ValueError(f"status must be 'done' or 'failed', got {status!r}")
        row = (key, to_json(params), status, to_json(dict(metrics or {})), error,
               float(seconds), __version__, sweep, backend, to_json(dict(axes or {})),
               point_index, time.time(), worker)
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO points ({', '.join(n for n, _ in _COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))}) "
                "ON CONFLICT(key) DO UPDATE SET "
                + ", ".join(f"{n} = excluded.{n}" for n, _ in _COLUMNS[1:])
                + " WHERE points.status != 'done' OR excluded.status = 'done'",
                row,
            )

    # -- reading -------------------------------------------------------------------

    def done_keys(self) -> set[str]:
        """Keys of points already ``done``."""
        try:
            return {r[0] for r in self._conn.execute(
                "SELECT key FROM points WHERE status = 'done'")}
        except sqlite3.Error as err:
            raise _explain(self.path, err) from None

    def rows(self, sweep: str | None = None) -> list[dict[str, Any]]:
        """All points (optionally of one sweep) as dicts with JSON fields decoded."""
        query = "SELECT * FROM points"
        args: tuple[Any, ...] = ()
        if sweep:
            query += " WHERE sweep = ?"
            args = (sweep,)
        query += " ORDER BY sweep, point_index, key"
        try:
            cursor = self._conn.execute(query, args)
            names = [d[0] for d in cursor.description]
            out = []
            for values in cursor:
                row = dict(zip(names, values, strict=True))
                for field in ("params", "metrics", "axes"):
                    if row.get(field):
                        row[field] = self._decode(row, field)
                out.append(row)
            return out
        except sqlite3.Error as err:
            raise _explain(self.path, err) from None

    def _decode(self, row: Mapping[str, Any], field: str) -> Any:
        """A JSON column of ``row``; a value that does not parse names the point and column."""
        try:
            return json.loads(row[field])
        except (TypeError, ValueError, RecursionError):
            raise DatabaseError(f"{self.path}: point {row.get('key')!r}: column {field!r} "
                                "is not valid JSON (the database was modified by hand or "
                                "is damaged)") from None

    def sweeps(self) -> list[dict[str, Any]]:
        """The specs run on this database, oldest first."""
        try:
            cursor = self._conn.execute("SELECT * FROM sweeps ORDER BY started_at")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, v, strict=True)) for v in cursor]
        except sqlite3.Error as err:
            raise _explain(self.path, err) from None

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check."""
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        """Close the connection (checkpointing the WAL when last)."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def __enter__(self) -> ResultsDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
