"""Sweep worker processes: evaluate design points in a persistent child process.

A worker is ``python -m lifhw.sweep.worker``, started in its own session and
process group, reading one JSON task per line on stdin and writing one JSON
result per line on a private copy of stdout (the real fd 1 is pointed at stderr,
so a simulator or library printing to stdout cannot corrupt the protocol). It
lives for many points, so a backend's expensive state -- loaded sky130 models,
compiled numba kernels, imported gdsfactory -- is paid once per worker.

Nothing is ever orphaned:

* a point that exceeds its timeout is ended by killing the worker's whole
  process group (the worker and every simulator it started), then a fresh
  worker takes the next point;
* a lifeline thread in the worker watches stdin: when the coordinator dies,
  even by SIGKILL, the pipe closes and the worker kills its own process group;
  ``PR_SET_PDEATHSIG`` is a second line of defence for the worker itself.

:class:`WorkerProcess` is the coordinator's handle; the local engine runs one
per thread, a Dask worker keeps one per thread (:func:`dask_evaluate`).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Literal

#: Seconds a fresh worker may take to import lifhw and report ready.
STARTUP_GRACE_S = 60.0


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to evaluate one design point (nothing to look up).

    Sent to the worker as one JSON line (:meth:`to_json`); the field names are
    the keys of that line.

    Args:
        key: The point's database key (:func:`lifhw.sweep.spec.point_key`).
        raw: The parameter mapping with the axis values set.
        source: Path of the base parameter file (for error messages).
        base_dir: Directory relative paths in the file are resolved against.
        backend: Name of the sweep backend (evaluator) in
            :data:`lifhw.sweep.backends.BACKENDS`.
        metrics: Metric names to return.
        plugins: Modules to import first (they may register backends).
        gds_dir: Write the point's GDS there (None: no layout).
        index: Position of the point in the sweep.
    """

    key: str
    raw: Mapping[str, Any]
    source: str
    base_dir: str
    backend: str
    metrics: tuple[str, ...]
    plugins: tuple[str, ...] = ()
    gds_dir: str | None = None
    index: int = 0

    def to_json(self) -> str:
        """One protocol line (without the newline)."""
        return json.dumps({**asdict(self), "raw": dict(self.raw),
                           "metrics": list(self.metrics), "plugins": list(self.plugins)})

    @classmethod
    def from_json(cls, text: str | bytes) -> PointTask:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        return cls(key=str(data["key"]), raw=data["raw"], source=str(data.get("source", "")),
                   base_dir=str(data.get("base_dir", "")), backend=str(data["backend"]),
                   metrics=tuple(data["metrics"]), plugins=tuple(data.get("plugins", ())),
                   gds_dir=data.get("gds_dir"), index=int(data.get("index", 0)))


Status = Literal["done", "failed"]


@dataclass(frozen=True)
class PointResult:
    """What evaluating one point gave (never an exception: failures are results).

    Args:
        key: The point's key.
        status: ``done`` or ``failed``.
        metrics: Metric name -> SI value (None where not a finite number is
            stored as NULL later); empty when failed.
        error: Why it failed (None when done).
        seconds: Wall time of the evaluation (s).
        worker: ``host:pid`` of the worker process ("" when none ran it).
    """

    key: str
    status: Status
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    worker: str = ""

    @classmethod
    def failed(cls, key: str, error: str, seconds: float = 0.0,
               worker: str = "") -> PointResult:
        """A failed point."""
        return cls(key=key, status="failed", metrics={}, error=error, seconds=seconds,
                   worker=worker)

    @property
    def retryable(self) -> bool:
        """Whether another attempt may succeed (a timeout or a lost worker)."""
        return self.status == "failed" and str(self.error or "").startswith(
            ("timed out", "worker process died"))

    def to_json(self) -> str:
        """One protocol line (NaN written as ``NaN``, as Python's json reads it back)."""
        return json.dumps({**asdict(self), "metrics": dict(self.metrics)}, allow_nan=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> PointResult:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PointResult:
        """From a decoded protocol line."""
        status = data.get("status")
        if status not in ("done", "failed"):
            raise ValueError(f"status must be 'done' or 'failed', got {status!r}")
        metrics = data.get("metrics") or {}
        return cls(key=str(data["key"]), status=status,
                   metrics={str(k): None if v is None else float(v) for k, v in metrics.items()},
                   error=data.get("error"), seconds=float(data.get("seconds") or 0.0),
                   worker=str(data.get("worker") or ""))


def _set_parent_death_signal() -> None:
    # Linux only: the kernel sends SIGKILL to this process when its parent dies.
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1


def _kill_own_group() -> None:
    with contextlib.suppress(OSError):
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(1)


_WARM: set[str] = set()


def prepare(task: PointTask) -> None:
    """Import plugins and warm the backend up (once per worker, outside the timeout)."""
    from lifhw.sweep.backends import warm_up

    if task.backend in _WARM:
        return
    for plugin in task.plugins:
        importlib.import_module(plugin)
    warm_up(task.backend, task.metrics)
    _WARM.add(task.backend)


def evaluate_task(task: PointTask) -> PointResult:
    """Evaluate one point in this process; never raises (failures are results)."""
    from lifhw.params import load_mapping
    from lifhw.sweep.backends import BACKENDS

    start = time.perf_counter()
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        for plugin in task.plugins:
            importlib.import_module(plugin)
        pf = load_mapping(task.raw, source=task.source, base_dir=task.base_dir)
        evaluate = BACKENDS.get(task.backend)
        metrics = dict(evaluate(pf, task.metrics))
        if task.gds_dir:
            from lifhw.layout import write_point_gds

            write_point_gds(pf, task.gds_dir, task.key)
        values = {m: _number(metrics.get(m)) for m in task.metrics}
    except Exception as err:
        tail = traceback.format_exc(limit=-3).strip().splitlines()
        detail = tail[-2].strip() if len(tail) >= 2 else ""
        message = f"{type(err).__name__}: {err}"
        if detail and not detail.startswith(type(err).__name__):
            message += f" [{detail}]"
        return PointResult.failed(task.key, message, time.perf_counter() - start, worker)
    return PointResult(key=task.key, status="done", metrics=values, error=None,
                       seconds=time.perf_counter() - start, worker=worker)


class NotANumberError(TypeError):
    """A backend returned a metric value that is not a number."""


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NotANumberError(f"backend returned a value that is not a number: "
                              f"{value!r}") from None


def main() -> None:
    """Entry point of a worker process (protocol in the module docstring)."""
    _set_parent_death_signal()
    results: IO[str] = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints go to stderr, never into the result stream
    sys.stdout = sys.stderr
    tasks: list[str] = []
    ready = threading.Condition()

    def lifeline() -> None:
        for line in sys.stdin:
            with ready:
                tasks.append(line)
                ready.notify()
        _kill_own_group()  # coordinator gone: take every child with us

    threading.Thread(target=lifeline, daemon=True, name="lifeline").start()
    import lifhw.params
    import lifhw.sweep.backends  # noqa: F401

    results.write(json.dumps({"ready": os.getpid()}) + "\n")
    while True:
        with ready:
            while not tasks:
                ready.wait()
            line = tasks.pop(0)
        task = PointTask.from_json(line)
        with contextlib.suppress(Exception):  # evaluate_task reports the same cause
            prepare(task)
        results.write(json.dumps({"started": task.key}) + "\n")
        results.write(evaluate_task(task).to_json() + "\n")


class WorkerProcess:
    """Coordinator-side handle of one worker process (restarted after a timeout/crash).

    Args:
        env: Extra environment variables of the worker.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = {**os.environ, **(env or {})}
        # Workers must import the same code as the coordinator (plugins in the cwd too).
        path = [os.getcwd(), *[p for p in sys.path if p]]
        entries = path + self._env.get("PYTHONPATH", "").split(os.pathsep)
        self._env["PYTHONPATH"] = os.pathsep.join(p for p in dict.fromkeys(entries) if p)
        self._env.setdefault("OMP_NUM_THREADS", "1")
        self.proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._ready = False
        self._stderr: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in kill())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lifhw.sweep.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, env=self._env,
            start_new_session=True,  # own process group: one killpg ends all children
        )
        self._buffer = b""
        self._ready = False

    def _stderr_tail(self) -> str:
        if not self._stderr:
            return ""
        with contextlib.suppress(OSError):
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 600))
            text = self._stderr.read().decode(errors="replace").strip()
            return text.splitlines()[-1] if text else ""
        return ""

    def kill(self) -> None:
        """Kill the worker and every process in its group; reap it."""
        if self.proc is None:
            return
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        self.proc = None

    def _read_line(self, deadline: float) -> dict[str, Any] | str:
        """Next JSON line, or "timeout" / "died"."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout"
                if not sel.select(min(remaining, 1.0)):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return "died"
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        parsed: dict[str, Any] = json.loads(line)
        return parsed

    def evaluate(self, task: PointTask, timeout: float) -> PointResult:
        """Run one point with a wall-time limit (s); a hung or crashed worker is replaced.

        Returns:
            The result (``status`` ``done`` or ``failed``), never raises for a
            point's own failure.
        """
        if self.proc is None or self.proc.poll() is not None:
            self.kill()
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        start = time.monotonic()
        if not self._ready:
            reply = self._read_line(start + STARTUP_GRACE_S)
            if not isinstance(reply, dict):
                tail = self._stderr_tail()
                self.kill()
                return _failed(task, f"worker process failed to start ({reply})"
                               + (f": {tail}" if tail else ""), time.monotonic() - start)
            self._ready = True
            start = time.monotonic()
        try:
            self.proc.stdin.write((task.to_json() + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            self.kill()
            return _failed(task, "worker process died before the point started", 0.0)
        reply = self._read_line(start + STARTUP_GRACE_S)
        if isinstance(reply, dict) and "started" in reply:
            start = time.monotonic()  # warm-up done: the point's own clock starts now
            reply = self._read_line(start + timeout)
        if reply == "timeout":
            self.kill()
            return _failed(task, f"timed out after {timeout:g} s (worker and its child "
                           "processes killed)", time.monotonic() - start)
        if reply == "died":
            code = self.proc.wait()
            tail = self._stderr_tail()
            self.kill()
            how = f"signal {-code}" if code < 0 else f"exit status {code}"
            return _failed(task, f"worker process died ({how})" + (f": {tail}" if tail else ""),
                           time.monotonic() - start)
        assert isinstance(reply, dict)
        return PointResult.from_dict(reply)


def _failed(task: PointTask, error: str, seconds: float) -> PointResult:
    return PointResult.failed(task.key, error, seconds)


_LOCAL = threading.local()


def dask_evaluate(task: PointTask, timeout: float) -> PointResult:
    """Evaluate a point on a Dask worker, in a persistent per-thread child process.

    The child keeps models loaded between points and can be killed (with its
    simulators) at the timeout without harming the Dask worker itself.
    """
    handle: WorkerProcess | None = getattr(_LOCAL, "worker", None)
    if handle is None:
        handle = WorkerProcess()
        _LOCAL.worker = handle
    return handle.evaluate(task, timeout)


if __name__ == "__main__":
    main()
