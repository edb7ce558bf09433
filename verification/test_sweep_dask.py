"""Sweeps on Dask: a LocalCluster, and a hand-started scheduler + 2 workers on 127.0.0.1.

The second case SIGKILLs one Dask worker mid-run: the scheduler moves its
points to the other worker, the sweep finishes, ``--resume`` finds nothing left,
and no point is lost or stored twice; the killed worker's evaluation process
does not survive it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lifhw.app.cli import main as cli
from lifhw.golden.fi import lif_rate
from lifhw.sweep.db import ResultsDB
from lifhw.sweep.engine import run_sweep
from tests.test_sweep import GOLDEN_SPEC, LIF, ROOT, _alive, write_spec


def test_local_cluster_runs_sweep_and_kills_hung_point(tmp_path: Path, monkeypatch) -> None:
    from distributed import LocalCluster

    monkeypatch.setenv("LIFHW_TEST_PIDDIR", str(tmp_path))
    spec = write_spec(tmp_path, GOLDEN_SPEC)
    hang = write_spec(tmp_path, """
name = "hang"
backend = "hang"
metrics = ["rate_hz"]
timeout = "5 s"
retries = 0
[axes]
"stimulus.amplitude" = ["200 pA", "400 pA"]
""", "hang.toml")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        summary = run_sweep(spec, dask_address=cluster.scheduler_address, progress=False)
        assert (summary.done, summary.failed) == (6, 0)
        hung = run_sweep(hang, dask_address=cluster.scheduler_address, progress=False)
        assert (hung.done, hung.failed) == (1, 1)
        assert "timed out after 5 s" in hung.errors[0]
    with ResultsDB(tmp_path / "spec.sqlite", create=False) as store:
        for row in store.rows():
            params = row["params"]
            expected = lif_rate(params["stimulus"]["amplitude"],
                                **{**LIF, "tau_m": params["neuron"]["tau_m"]})
            assert row["metrics"]["rate_hz"] == pytest.approx(expected, rel=1e-9)
    for pid_file in tmp_path.glob("*.pid"):
        assert not _alive(int(pid_file.stem))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "wb"),
                            cwd=ROOT, env=env, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=20)


def test_hand_started_cluster_survives_worker_sigkill(tmp_path: Path) -> None:
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIFHW_TEST_POINT_SLEEP": "0.3"}
    procs = [_start([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--no-dashboard"], tmp_path / "scheduler.log", env)]
    try:
        for i in range(2):
            procs.append(_start([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                                 "--no-dashboard", "--name", f"w{i}"],
                                tmp_path / f"worker{i}.log", env))
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=90)
        spec = write_spec(tmp_path, """
name = "dask_kill"
backend = "slow"
metrics = ["rate_hz"]
[axes]
"stimulus.amplitude" = { lin = ["200 pA", "400 pA"], n = 20 }
""")
        db = tmp_path / "spec.sqlite"
        sweep_log = (tmp_path / "s.log").open("wb")
        sweep = subprocess.Popen([sys.executable, "-m", "lifhw", "sweep", str(spec),
                                  "--dask", address, "-q"], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=sweep_log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sweep.poll() is None:
            if _done(db) >= 4:
                break
            time.sleep(0.05)
        assert sweep.poll() is None, (tmp_path / "s.log").read_text()
        victim = procs[1]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=20)
        out, _ = sweep.communicate(timeout=180)
        sweep_log.close()
        assert sweep.returncode == 0, (tmp_path / "s.log").read_text()
        assert b"20 done" in out or b"done" in out
        with contextlib.closing(sqlite3.connect(db)) as conn:
            first = dict(conn.execute("SELECT key, finished_at FROM points "
                                      "WHERE status = 'done'").fetchall())
        assert len(first) == 20
        assert cli(["sweep", str(spec), "--dask", address, "--resume", "-q"]) == 0
        with contextlib.closing(sqlite3.connect(db)) as conn:
            rows = conn.execute("SELECT key, finished_at, worker FROM points").fetchall()
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert len(rows) == len({r[0] for r in rows}) == 20
        assert {r[0]: r[1] for r in rows} == first  # resume re-ran nothing
        # Evaluation processes of the killed worker died with it.
        pids = {int(r[2].rsplit(":", 1)[1]) for r in rows}
        deadline = time.monotonic() + 20
        alive_worker_children = {p for p in pids if _alive(p)}
        while time.monotonic() < deadline and len(alive_worker_children) > 1:
            time.sleep(0.2)
            alive_worker_children = {p for p in pids if _alive(p)}
        assert len(alive_worker_children) <= 1  # only the surviving worker's child
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _done(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
            return int(conn.execute(
                "SELECT COUNT(*) FROM points WHERE status = 'done'").fetchone()[0])
    except sqlite3.Error:
        return 0
