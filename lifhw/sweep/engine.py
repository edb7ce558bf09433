"""The sweep engine: evaluate a spec's points in parallel and store each as it finishes.

Two executors, one protocol (:mod:`lifhw.sweep.worker`):

* **local** (default): ``workers`` threads in this process, each driving one
  persistent worker process; the number defaults to the usable cores;
* **Dask**: ``dask_address`` of an existing ``distributed`` scheduler (or a
  ``LocalCluster``'s address); each Dask worker thread keeps its own worker
  process, so the timeout kill never takes the Dask worker down.

In both cases only this (coordinating) process writes the database, one
transaction per finished point, as results arrive. Killing it (SIGKILL
included) loses only the points in flight; ``resume=True`` then skips every key
already ``done`` and re-runs the rest (failed points included).
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifhw.errors import LifhwError
from lifhw.sweep.db import ResultsDB
from lifhw.sweep.spec import Point, SweepSpec, load_spec
from lifhw.sweep.worker import PointResult, PointTask, WorkerProcess, dask_evaluate


@dataclass
class SweepSummary:
    """What a sweep run did.

    Args:
        db: Database path.
        total: Points in the spec.
        skipped: Points already ``done`` (with ``resume``).
        done: Points that finished in this run.
        failed: Points stored as ``failed`` in this run.
        seconds: Wall time of the run (s).
        errors: First few failure messages.
    """

    db: Path
    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.done} done, {self.failed} failed, {self.skipped} skipped of "
                f"{self.total} points in {self.seconds:.1f} s -> {self.db}")


def default_workers() -> int:
    """Usable cores of this process (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def make_task(spec: SweepSpec, point: Point, gds_dir: str | None = None) -> PointTask:
    """The task a worker evaluates (everything it needs, nothing it must look up)."""
    return PointTask(key=point.key, raw=point.raw, source=spec.base_path,
                     base_dir=spec.base_dir, backend=spec.backend, metrics=tuple(spec.metrics),
                     plugins=tuple(spec.plugins), gds_dir=gds_dir, index=point.index)


def _run_local(tasks: list[PointTask], workers: int, timeout: float, retries: int,
               results: queue.Queue[PointResult | None]) -> Callable[[], None]:
    """Start ``workers`` threads evaluating ``tasks``; returns a stop function."""
    todo: queue.Queue[PointTask | None] = queue.Queue()
    for task in tasks:
        todo.put(task)
    stop = threading.Event()
    handles: list[WorkerProcess] = []
    lock = threading.Lock()

    def loop() -> None:
        handle = WorkerProcess()
        with lock:
            handles.append(handle)
        try:
            while not stop.is_set():
                try:
                    task = todo.get_nowait()
                except queue.Empty:
                    break
                assert task is not None
                result = handle.evaluate(task, timeout)
                for _ in range(retries):  # wall-time outliers on shared machines
                    if not result.retryable:
                        break
                    result = handle.evaluate(task, timeout)
                results.put(result)
        finally:
            handle.kill()
            results.put(None)

    threads = [threading.Thread(target=loop, daemon=True, name=f"sweep-worker-{i}")
               for i in range(workers)]
    for thread in threads:
        thread.start()

    def shutdown() -> None:
        stop.set()
        with lock:
            for handle in handles:
                handle.kill()
        for thread in threads:
            thread.join(timeout=15)

    return shutdown


def _run_dask(address: Any, tasks: list[PointTask], timeout: float,
              results: queue.Queue[PointResult | None]) -> Callable[[], None]:
    """Submit ``tasks`` to a Dask scheduler; a thread forwards results as they arrive."""
    try:
        from distributed import Client, as_completed
    except ImportError as err:
        raise LifhwError(f"--dask needs the 'distributed' package ({err}); "
                         "pip install 'dask[distributed]'") from None
    if isinstance(address, str):
        from distributed.comm.addressing import get_address_host_port

        try:
            get_address_host_port(address)
        except ValueError as err:
            raise LifhwError(f"--dask {address!r}: not a scheduler address ({err}); "
                             "expected e.g. tcp://host:8786") from None
    try:
        client = Client(address, timeout="30s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise LifhwError(f"cannot connect to the Dask scheduler at {address}: {err}") from None
    token = os.urandom(4).hex()
    futures = {}
    for task in tasks:
        future = client.submit(dask_evaluate, task, timeout, pure=False,
                               key=f"lifhw-sweep-{task.key}-{token}")
        futures[future.key] = (future, task)
    stop = threading.Event()

    def forward() -> None:
        try:
            for future in as_completed([f for f, _ in futures.values()], loop=client.loop):
                if stop.is_set():
                    break
                task = futures[future.key][1]
                try:
                    result = future.result()
                except Exception as err:  # worker lost too often, cancelled, ...
                    result = PointResult.failed(task.key, f"dask: {type(err).__name__}: {err}",
                                                worker="dask")
                results.put(result)
        finally:
            results.put(None)

    thread = threading.Thread(target=forward, daemon=True, name="sweep-dask")
    thread.start()

    def shutdown() -> None:
        stop.set()
        with contextlib.suppress(Exception):
            client.cancel([f for f, _ in futures.values()])
        with contextlib.suppress(Exception):
            client.close(timeout=10)
        thread.join(timeout=15)

    return shutdown


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    # In a log file (CI, nohup) a redrawn bar is noise: update it rarely there.
    interactive = sys.stderr.isatty()
    return tqdm(total=total, unit="pt", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1, mininterval=0.2 if interactive else 30.0,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, "
                           "{rate_fmt}{postfix}]")


def run_sweep(spec: SweepSpec | str | Path, *, db: str | Path | None = None,
              workers: int | None = None, resume: bool = False,
              dask_address: Any = None, progress: bool = True,
              timeout: float | None = None, retries: int | None = None,
              gds: bool | None = None,
              on_point: Callable[[PointResult], None] | None = None) -> SweepSummary:
    """Run a sweep and store every point in the results database.

    Args:
        spec: A spec or the path of its TOML file.
        db: Database path (default ``<spec>.sqlite`` next to the spec).
        workers: Local worker processes (default: usable cores). Ignored with Dask.
        resume: Skip points whose key is already ``done`` in the database.
        dask_address: Address of a Dask scheduler (``tcp://host:port``).
        progress: Show a progress bar (stderr) with ETA and failures so far.
        timeout: Wall-time limit of one point (s); default from the spec.
        retries: Extra attempts after a timeout or a worker crash (default: spec).
        gds: Write a GDS per point (default: the spec's ``layout``).
        on_point: Called with each result as it is stored.

    Returns:
        A :class:`SweepSummary`.
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    limit = spec.timeout if timeout is None else timeout
    if not 0 < limit < math.inf:
        raise LifhwError(f"timeout must be a finite number of seconds > 0, got {limit!r}")
    start = time.perf_counter()
    db_path = Path(db) if db is not None else spec.default_db()
    points = spec.points()
    n_workers = workers if workers is not None else default_workers()
    if n_workers < 1:
        raise LifhwError(f"--workers must be >= 1, got {n_workers}")
    if dask_address is None:  # Dask workers may have tools this machine lacks
        from lifhw.sweep.backends import preflight

        preflight(spec.backend, spec.metrics)
    attempts = spec.retries if retries is None else retries
    with ResultsDB(db_path) as store:
        _check_identity(store, spec, resume)
        store.record_sweep(spec.name, str(Path(spec.source).resolve()), spec.backend,
                           spec.metrics, {a.path: list(a.values) for a in spec.axes})
        done = store.done_keys() if resume else set()
        todo = [p for p in points if p.key not in done]
        summary = SweepSummary(db=db_path, total=len(points), skipped=len(points) - len(todo))
        want_gds = spec.layout if gds is None else gds
        gds_dir = str(db_path.parent / f"{spec.name}_gds") if want_gds else None
        by_key = {p.key: p for p in todo}
        tasks = [make_task(spec, p, gds_dir) for p in todo]
        if not tasks:
            summary.seconds = time.perf_counter() - start
            return summary
        results: queue.Queue[PointResult | None] = queue.Queue()
        if dask_address is not None:
            shutdown = _run_dask(dask_address, tasks, limit, results)
            producers = 1
        else:
            producers = min(n_workers, len(tasks))
            shutdown = _run_local(tasks, producers, limit, attempts, results)
        bar = _progress(len(tasks), progress)
        try:
            finished = 0
            while finished < producers:
                result = results.get()
                if result is None:
                    finished += 1
                    continue
                point = by_key.get(result.key)
                if point is None:  # not ours (cannot happen; keep the DB clean anyway)
                    continue
                _store(store, spec, point, result)
                if result.status == "done":
                    summary.done += 1
                else:
                    summary.failed += 1
                    if len(summary.errors) < 5:
                        summary.errors.append(f"point {point.index}: {result.error}")
                bar.update(1)
                bar.set_postfix_str(f"failed={summary.failed}", refresh=False)
                if on_point is not None:
                    on_point(result)
        finally:
            bar.close()
            shutdown()
    summary.seconds = time.perf_counter() - start
    return summary


def _check_identity(store: ResultsDB, spec: SweepSpec, resume: bool) -> None:
    """A database holds each sweep name for one spec file; ``--resume`` needs that name.

    Otherwise two specs of one name would merge in the plots, and resuming with
    another spec would mark its points done by someone else's sweep as skipped
    (points are keyed by their parameters, not by the sweep).
    """
    source = str(Path(spec.source).resolve())
    earlier = store.sweeps()
    for row in earlier:
        if row["name"] == spec.name and row["spec"] != source:
            raise LifhwError(f"{store.path} already holds sweep {spec.name!r} from "
                             f"{row['spec']}; give {spec.source} another name or use "
                             "another --db")
    names = sorted({str(row["name"]) for row in earlier})
    if resume and earlier and spec.name not in names:
        raise LifhwError(f"--resume: {store.path} holds sweep(s) {', '.join(names)}, not "
                         f"{spec.name!r}; resume with the spec that started it, or run "
                         "without --resume / with another --db")


def _store(store: ResultsDB, spec: SweepSpec, point: Point, result: PointResult) -> None:
    store.record(key=point.key, params=point.plain, status=result.status,
                 metrics=result.metrics, error=result.error, seconds=result.seconds,
                 sweep=spec.name, backend=spec.backend, axes=point.axes,
                 point_index=point.index, worker=result.worker)


def evaluate_inline(spec: SweepSpec, points: Iterable[Point]) -> list[PointResult]:
    """Evaluate points in this process, no workers (benchmarks and debugging)."""
    from lifhw.sweep.worker import evaluate_task

    return [evaluate_task(make_task(spec, p)) for p in points]
