"""Sweep specs, the results database and the local engine (golden and plugin backends).

The reliability cases of issue 8 are here: a hung point killed at its timeout
with its child process, a crashing worker, a failing point, SIGKILL of the
sweep then ``--resume`` (nothing lost, nothing duplicated), corrupt and foreign
databases, two writers on one database, a read-only directory, a full disk and
a network filesystem.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lifhw.app.cli import main as cli
from lifhw.errors import LifhwError, ParamError
from lifhw.golden.fi import lif_rate
from lifhw.sweep import db as dbmod
from lifhw.sweep.db import DatabaseError, ResultsDB
from lifhw.sweep.engine import run_sweep
from lifhw.sweep.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]

BASE = """
name = "sweep_base"
[neuron]
tau_m = "20 ms"
r_m = "100 MOhm"
v_rest = "-65 mV"
v_th = "-50 mV"
v_reset = "-65 mV"
t_ref = "2 ms"
[stimulus]
kind = "constant"
amplitude = "250 pA"
t_stop = "200 ms"
dt = "0.1 ms"
"""

#: The LIF of BASE, for closed-form expectations.
LIF = {"tau_m": 0.02, "r_m": 1e8, "v_rest": -0.065, "v_th": -0.05, "v_reset": -0.065,
       "t_ref": 0.002}


def write_spec(tmp: Path, body: str, name: str = "spec.toml") -> Path:
    (tmp / "base.toml").write_text(BASE)
    spec = tmp / name
    spec.write_text('base = "base.toml"\nplugins = ["tests.test_sweep_plugin"]\n' + body)
    return spec


GOLDEN_SPEC = """
name = "golden_small"
backend = "golden"
metrics = ["rate_hz", "isi_error", "tau_s"]
[axes]
"neuron.tau_m" = ["10 ms", "20 ms"]
"stimulus.amplitude" = { lin = ["200 pA", "400 pA"], n = 3 }
"""


# -- spec -----------------------------------------------------------------------------

def test_spec_expands_cartesian_log_lin_and_zip(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, """
name = "s"
backend = "golden"
metrics = ["rate_hz"]
[axes]
"neuron.tau_m" = ["10 ms", "20 ms", "40 ms"]
"neuron.r_m" = { log = ["10 MOhm", "1 GOhm"], n = 5 }
"stimulus.amplitude" = { lin = ["5 pA", "50 pA"], n = 4 }
"""))
    assert spec.n_points() == 3 * 5 * 4
    r_axis = spec.axes[1]
    assert r_axis.values == pytest.approx([1e7, 10**7.5, 1e8, 10**8.5, 1e9])
    assert spec.axes[2].values == pytest.approx([5e-12, 20e-12, 35e-12, 50e-12])
    points = spec.points()
    assert len({p.key for p in points}) == 60
    assert points[0].plain["neuron"]["tau_m"] == pytest.approx(0.01)
    assert points[-1].plain["stimulus"]["amplitude"] == pytest.approx(50e-12)
    zipped = load_spec(write_spec(tmp_path, """
name = "z"
backend = "golden"
metrics = ["rate_hz"]
mode = "zip"
[axes]
"neuron.tau_m" = ["10 ms", "20 ms"]
"stimulus.amplitude" = ["100 pA", "300 pA"]
""", "zip.toml"))
    assert [p.axes for p in zipped.points()] == [
        {"neuron.tau_m": "10 ms", "stimulus.amplitude": "100 pA"},
        {"neuron.tau_m": "20 ms", "stimulus.amplitude": "300 pA"}]
    assert zipped.default_db() == tmp_path / "zip.sqlite"


@pytest.mark.parametrize(("body", "needle"), [
    ('"neuron.tau" = ["1 ms"]', "did you mean 'tau_m'"),
    ('"circuit.membrane_capacitance" = ["1 pF"]', "no table 'circuit'"),
    ('"neuron.tau_m" = ["1 pF"]', "neuron.tau_m"),
    ('"neuron.tau_m" = { log = ["1 ms", "0 ms"], n = 3 }', "log axis ends must be > 0"),
    ('"neuron.tau_m" = { lin = ["1 ms", "2 pA"], n = 3 }', "different units"),
    ('"neuron.tau_m" = { lin = ["1 ms", "2 ms"] }', "n must be an integer"),
    ('"neuron.tau_m" = ["10 ms", "10 ms"]', "same parameters"),
    ('"neuron.tau_m" = []', "at least one value"),
])
def test_spec_errors_name_the_axis(tmp_path: Path, body: str, needle: str) -> None:
    path = write_spec(tmp_path, 'name = "bad"\nbackend = "golden"\nmetrics = ["rate_hz"]\n'
                      "[axes]\n" + body + "\n")
    with pytest.raises(ParamError) as info:
        load_spec(path).points()
    assert needle in str(info.value)
    assert "spec.toml" in str(info.value) or "base.toml" in str(info.value)


def test_spec_header_errors(tmp_path: Path) -> None:
    cases = {
        'backend = "goldn"\nmetrics = ["rate_hz"]': "did you mean 'golden'",
        'backend = "golden"\nmetrics = ["rate"]': "has no metric 'rate'",
        'backend = "golden"\nmetrics = ["rate_hz"]\nmode = "diagonal"': "mode",
        'backend = "golden"\nmetrics = ["rate_hz"]\nbogus = 1': "bogus",
    }
    for body, needle in cases.items():
        path = write_spec(tmp_path, f'name = "h"\n{body}\n[axes]\n"neuron.tau_m" = ["1 ms"]\n')
        with pytest.raises(ParamError, match=needle):
            load_spec(path)
    zip_bad = write_spec(tmp_path, 'name = "h"\nbackend = "golden"\nmetrics = ["rate_hz"]\n'
                         'mode = "zip"\n[axes]\n"neuron.tau_m" = ["1 ms", "2 ms"]\n'
                         '"stimulus.amplitude" = ["1 pA"]\n')
    with pytest.raises(ParamError, match="equal length"):
        load_spec(zip_bad)


def test_checked_in_specs_load() -> None:
    for path in sorted((ROOT / "circuits" / "sweeps").glob("*.toml")):
        spec = load_spec(path)
        assert spec.n_points() >= 1
        spec.points()


# -- engine ---------------------------------------------------------------------------

def test_task_and_result_cross_the_worker_pipe_unchanged(tmp_path: Path) -> None:
    """PointTask/PointResult survive their JSON line; an inline evaluation of a
    task read back from JSON gives the closed-form rate (Lapicque f-I curve)."""
    from lifhw.sweep.engine import evaluate_inline, make_task
    from lifhw.sweep.worker import PointResult, PointTask, evaluate_task

    spec = load_spec(write_spec(tmp_path, GOLDEN_SPEC))
    point = spec.points()[0]
    task = make_task(spec, point, gds_dir=None)
    again = PointTask.from_json(task.to_json())
    assert again == task and again.metrics == ("rate_hz", "isi_error", "tau_s")
    result = evaluate_task(again)
    assert result.status == "done" and result.error is None
    amplitude = 200e-12
    expected = lif_rate(amplitude, **{**LIF, "tau_m": 0.01})
    assert result.metrics["rate_hz"] == pytest.approx(expected, rel=2e-3)
    assert math.isnan(PointResult.from_json(
        PointResult("k", "done", {"x": math.nan}).to_json()).metrics["x"])
    assert PointResult.from_json(result.to_json()) == result
    assert evaluate_inline(spec, [point])[0].metrics.keys() == result.metrics.keys()
    failed = PointResult.failed("k", "timed out after 1 s")
    assert failed.retryable and not PointResult.failed("k", "ValueError: x").retryable
    with pytest.raises(ValueError, match="status"):
        PointResult.from_dict({"key": "k", "status": "maybe"})


def test_a_metric_that_is_not_a_number_fails_the_point(tmp_path: Path) -> None:
    from lifhw.sweep.backends import register_backend
    from lifhw.sweep.engine import make_task
    from lifhw.sweep.worker import evaluate_task

    register_backend("words", lambda pf, metrics: {"rate_hz": "fast"}, ["rate_hz"])
    spec = load_spec(write_spec(tmp_path, GOLDEN_SPEC.replace('"golden"', '"words"')
                                .replace(', "isi_error", "tau_s"', "")))
    result = evaluate_task(make_task(spec, spec.points()[0]))
    assert result.status == "failed" and "not a number: 'fast'" in str(result.error)


def test_golden_sweep_matches_closed_form_and_resume_skips(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, GOLDEN_SPEC)
    summary = run_sweep(spec, workers=2, progress=False)
    assert (summary.done, summary.failed, summary.total) == (6, 0, 6)
    with ResultsDB(tmp_path / "spec.sqlite", create=False) as store:
        rows = store.rows()
    assert len(rows) == 6
    for row in rows:
        params = row["params"]
        expected = lif_rate(params["stimulus"]["amplitude"],
                            **{**LIF, "tau_m": params["neuron"]["tau_m"]})
        assert row["status"] == "done" and row["error"] is None
        assert row["metrics"]["rate_hz"] == pytest.approx(expected, rel=1e-9)
        assert set(row["metrics"]) == {"rate_hz", "isi_error", "tau_s"}
        assert row["lifhw_version"] and row["seconds"] > 0
    again = run_sweep(spec, workers=2, progress=False, resume=True)
    assert (again.skipped, again.done) == (6, 0)


def test_failed_hung_and_crashing_points_are_stored_and_killed(tmp_path: Path,
                                                               monkeypatch) -> None:
    monkeypatch.setenv("LIFHW_TEST_PIDDIR", str(tmp_path))
    for backend, needle in (("boom", "ValueError: boom"), ("hang", "timed out after 5 s"),
                            ("crash", "worker process died (exit status 3)")):
        spec = write_spec(tmp_path, f"""
name = "{backend}"
backend = "{backend}"
metrics = ["rate_hz"]
timeout = "5 s"
retries = 0
[axes]
"stimulus.amplitude" = ["200 pA", "400 pA", "300 pA"]
""", f"{backend}.toml")
        summary = run_sweep(spec, workers=2, progress=False)
        assert (summary.done, summary.failed) == (2, 1), backend
        with ResultsDB(tmp_path / f"{backend}.sqlite", create=False) as store:
            failed = [r for r in store.rows() if r["status"] == "failed"]
        assert len(failed) == 1 and needle in failed[0]["error"], failed
        assert failed[0]["axes"] == {"stimulus.amplitude": "400 pA"}
    # The hung point's simulator child died with its worker (no orphan).
    pids = [int(p.stem) for p in tmp_path.glob("*.pid")]
    assert pids
    for pid in pids:
        assert not _alive(pid), f"orphaned child {pid}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead: it only waits for its (init) parent to reap it.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return False
    return True


def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, """
name = "killme"
backend = "slow"
metrics = ["rate_hz", "n_spikes"]
[axes]
"stimulus.amplitude" = { lin = ["200 pA", "400 pA"], n = 24 }
""")
    db = tmp_path / "spec.sqlite"
    env = {**os.environ, "LIFHW_TEST_POINT_SLEEP": "0.25", "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "sweep.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "lifhw", "sweep", str(spec),
                             "--workers", "2", "-q"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists() and _count(db) >= 6:
                break
            time.sleep(0.05)
        assert proc.poll() is None, (tmp_path / "sweep.log").read_text()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    before = _snapshot(db)
    assert 6 <= len(before) < 24, "the sweep must be killed mid-run"
    workers = {int(r[0].rsplit(":", 1)[1]) for r in before.values()}
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "workers outlived the killed sweep"
    assert cli(["sweep", str(spec), "--resume", "--workers", "2", "-q"]) == 0
    after = _snapshot(db)
    assert len(after) == 24
    for key, row in before.items():
        assert after[key] == row, "a finished point was re-run or changed by --resume"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM points").fetchone() \
            == (24, 24)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _count(db: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
            return int(conn.execute(
                "SELECT COUNT(*) FROM points WHERE status = 'done'").fetchone()[0])
    except sqlite3.Error:
        return 0


def _snapshot(db: Path) -> dict[str, tuple]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return {r[0]: r[1:] for r in conn.execute(
            "SELECT key, worker, finished_at, metrics, status FROM points "
            "WHERE status = 'done'")}


# -- database -------------------------------------------------------------------------

def test_database_contract_and_wal(tmp_path: Path) -> None:
    with ResultsDB(tmp_path / "r.sqlite") as store:
        store.record(key="k1", params={"a": 1.0}, status="done",
                     metrics={"rate_hz": 3.0, "isi_error": math.nan}, error=None, seconds=0.5)
        store.record(key="k1", params={"a": 1.0}, status="failed", metrics={}, error="late",
                     seconds=0.1)  # never downgrades a done point
    with contextlib.closing(sqlite3.connect(tmp_path / "r.sqlite")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {r[1]: (r[2], r[5]) for r in conn.execute("PRAGMA table_info(points)")}
        for name, kind in (("key", "TEXT"), ("params", "TEXT"), ("status", "TEXT"),
                           ("metrics", "TEXT"), ("error", "TEXT"), ("seconds", "REAL"),
                           ("lifhw_version", "TEXT")):
            assert columns[name][0] == kind
        assert columns["key"][1] == 1  # primary key
        row = conn.execute("SELECT status, metrics, error FROM points").fetchone()
    assert row[0] == "done" and row[2] is None
    assert json.loads(row[1]) == {"isi_error": None, "rate_hz": 3.0}


def test_corrupt_foreign_and_missing_databases(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseError, match="not a readable SQLite database"):
        ResultsDB(corrupt)
    foreign = tmp_path / "foreign.sqlite"
    with contextlib.closing(sqlite3.connect(foreign)) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
        conn.commit()
    with pytest.raises(DatabaseError, match="not a lifhw sweep database"):
        ResultsDB(foreign)
    with pytest.raises(DatabaseError, match="no such database"):
        ResultsDB(tmp_path / "absent.sqlite", create=False)
    assert cli(["plot", str(corrupt)]) == 2
    assert cli(["sweep", "export", str(foreign), "--csv"]) == 2


def _writer(path: str, prefix: str, n: int) -> None:
    with ResultsDB(path) as store:
        for i in range(n):
            store.record(key=f"{prefix}{i}", params={"i": i}, status="done",
                         metrics={"x": float(i)}, error=None, seconds=0.0, sweep=prefix)
            store.record(key=f"shared{i}", params={"i": i}, status="done",
                         metrics={"by": prefix}, error=None, seconds=0.0, sweep=prefix)


def test_two_writers_on_one_database(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")  # both create it: the WAL switch must not race
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, p, 150)) for p in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    with ResultsDB(path, create=False) as store:
        assert store.integrity_ok()
        rows = store.rows()
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys)) == 450


def test_read_only_directory_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    original = locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: use a read-only mount
            ro = _readonly_mount(tmp_path)
            if ro is not None:
                locked = ro
            else:  # root without mount rights (containers): SQLite's own refusal
                def refuse(*args: object, **kwargs: object) -> None:
                    raise sqlite3.OperationalError("unable to open database file")

                monkeypatch.setattr(dbmod.sqlite3, "connect", refuse)
        spec = write_spec(tmp_path, GOLDEN_SPEC)
        with pytest.raises(DatabaseError, match="cannot write the results database"):
            run_sweep(spec, db=locked / "r.sqlite", progress=False)
        assert cli(["sweep", str(spec), "--db", str(locked / "r.sqlite"), "-q"]) == 2
    finally:
        original.chmod(0o755)
        _unmount(tmp_path / "romnt")


def _readonly_mount(tmp: Path) -> Path | None:
    target = tmp / "romnt"
    target.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(target)],
                          capture_output=True)
    return target if done.returncode == 0 else None


def _unmount(target: Path) -> None:
    if target.exists() and os.path.ismount(target):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_full_disk_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    mount = tmp_path / "tiny"
    mount.mkdir()
    real = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)],
                          capture_output=True).returncode == 0
    try:
        if real:
            # Fill the tiny filesystem with one point per row until it is full.
            with pytest.raises(DatabaseError, match="disk is full"), \
                    ResultsDB(mount / "full.sqlite") as store:
                for i in range(100_000):
                    store.record(key=f"k{i}", params={"pad": "x" * 2000}, status="done",
                                 metrics={}, error=None, seconds=0.0)
        else:  # not allowed to mount: make SQLite's write fail like a full disk
            class Full:
                def __init__(self, *a, **k) -> None:
                    raise sqlite3.OperationalError("database or disk is full")

            monkeypatch.setattr(dbmod.sqlite3, "connect", Full)
            with pytest.raises(DatabaseError, match="disk is full"):
                ResultsDB(tmp_path / "x.sqlite")
    finally:
        _unmount(mount)


def test_network_filesystem_is_refused(tmp_path: Path, monkeypatch) -> None:
    assert dbmod.filesystem_type(tmp_path) != ""
    monkeypatch.setattr(dbmod, "filesystem_type", lambda path: "nfs4")
    with pytest.raises(DatabaseError, match="network filesystem"):
        ResultsDB(tmp_path / "n.sqlite")


# -- CLI ------------------------------------------------------------------------------

def test_cli_sweep_export_and_plot(tmp_path: Path, capsys) -> None:
    spec = write_spec(tmp_path, GOLDEN_SPEC)
    assert cli(["sweep", str(spec), "--workers", "1", "-q"]) == 0
    db = tmp_path / "spec.sqlite"
    assert cli(["sweep", "export", str(db), "--csv"]) == 0
    lines = (tmp_path / "spec.csv").read_text().splitlines()
    assert len(lines) == 7 and "metric:rate_hz" in lines[0] and "axis:neuron.tau_m" in lines[0]
    assert cli(["sweep", "export", str(db), "--parquet", "-o", str(tmp_path / "p.parquet")]) == 0
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "p.parquet")
    assert table.num_rows == 6 and "metric:rate_hz" in table.column_names
    assert cli(["plot", str(db), "-o", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "summary.html").stat().st_size > 10_000
    assert (tmp_path / "plots" / "fi_family.png").exists()
    assert cli(["sweep", str(tmp_path / "missing.toml")]) == 2
    with pytest.raises(LifhwError):
        run_sweep(spec, workers=0, progress=False)


def test_pareto_front_and_categorical_axes(tmp_path: Path) -> None:
    import numpy as np

    from lifhw.sweep.plots import pareto_mask, plot_rows

    # Hand-checked: (1, 5) and (2, 2) and (5, 1) trade off; (3, 3) is dominated by
    # (2, 2); (2, 2) duplicated stays (neither is strictly better); NaN never wins.
    points = np.array([[1, 5], [2, 2], [3, 3], [5, 1], [2, 2], [np.nan, 0]], dtype=float)
    assert pareto_mask(points).tolist() == [True, True, False, True, True, False]
    rows = [{"status": "done", "axes": {"circuit.corner": c, "stimulus.amplitude": a},
             "metrics": {"rate_hz": r, "energy_per_spike_j": e, "isi_error": -r / 1e3,
                         "area_um2": 100.0}, "point_index": i}
            for i, (c, a, r, e) in enumerate([("tt", "10 pA", 5.0, 1e-12),
                                              ("ss", "10 pA", 4.0, 2e-12),
                                              ("tt", "20 pA", 9.0, 3e-12),
                                              ("ss", "20 pA", 8.0, 4e-12)])]
    summary = plot_rows(rows, tmp_path / "plots")
    names = {p.name for p in summary.figures}
    assert {"heat_rate_hz.png", "pareto.png", "fi_family.png"} <= names
    assert summary.counts == {"done": 4, "failed": 0}
    # energy, |ISI error|, area: point 0 (least energy) and 1 (least error) form the
    # front; 2 is dominated by 0 and 1, 3 by 1.
    assert [row[:2] for row in summary.pareto[1:]] == [["tt", "10 pA"], ["ss", "10 pA"]]


def test_missing_tool_fails_before_any_point(tmp_path: Path, monkeypatch) -> None:
    from lifhw import tools
    from lifhw.errors import ToolMissingError

    def missing(tool: str) -> str:
        raise ToolMissingError(f"{tool} is not installed; install it with: apt-get ...")

    monkeypatch.setattr(tools, "which", missing)
    spec = write_spec(tmp_path, """
name = "ng"
backend = "ngspice"
metrics = ["rate_hz"]
[axes]
"stimulus.amplitude" = ["1 pA"]
""")
    (tmp_path / "base.toml").write_text((ROOT / "circuits" / "ota_lif_behavioral.toml")
                                        .read_text())
    with pytest.raises(ToolMissingError, match="ngspice is not installed"):
        run_sweep(spec, progress=False)
    assert not (tmp_path / "spec.sqlite").exists()


def test_two_sweep_processes_share_one_database(tmp_path: Path) -> None:
    first = write_spec(tmp_path, GOLDEN_SPEC, "first.toml")
    second = write_spec(tmp_path, GOLDEN_SPEC.replace('"golden_small"', '"golden_other"')
                        .replace('["10 ms", "20 ms"]', '["30 ms", "40 ms"]'), "second.toml")
    db = tmp_path / "both.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "lifhw", "sweep", str(spec), "--db",
                               str(db), "--workers", "1", "-q"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for spec in (first, second)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    with ResultsDB(db, create=False) as store:
        assert store.integrity_ok()
        rows = store.rows()
        assert [s["name"] for s in store.sweeps()].count("golden_small") == 1
    assert len(rows) == 12 and len({r["key"] for r in rows}) == 12
    assert {r["sweep"] for r in rows} == {"golden_small", "golden_other"}
    assert all(r["status"] == "done" for r in rows)
