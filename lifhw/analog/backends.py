"""ngspice backends: netlist text in, vectors and a :class:`~lifhw.core.Trace` out.

One small interface, two classes::

    backend = get_backend("batch", RunConfig(timeout_s=60))   # or "shared"
    output = backend.run(netlist_text)        # -> SimOutput (vectors by name)
    trace = to_trace(output, circuit)          # -> Trace (backend "ngspice")

    trace = simulate("demo", circuit, stimulus)   # generate + run + to_trace
    outputs = run_many([text1, text2, ...], workers=2)   # parallel batch sweep

* :class:`NgspiceBatch` runs ``ngspice -b -r out.raw netlist.cir`` in a fresh
  directory, in its own process group, with a per-simulation timeout and
  ``RunConfig.retries`` retries (a timeout or a crash is retried; a convergence
  failure is deterministic and raised at once as :class:`SimulationError`). Its
  command line is plain data (:meth:`NgspiceBatch.command`) so it is testable
  without ngspice. The binary raw file is parsed by :func:`read_raw`.
* :class:`PySpiceShared` runs the netlist in this process through PySpice's
  libngspice binding (``NgSpiceShared``; the "Unsupported Ngspice version 39"
  message is harmless). libngspice holds one circuit per process: parallel
  sweeps must use one worker process per point or per worker, never threads.

Vector names are normalised on both backends to lower case ``time``,
``v(<node>)``, ``i(<source>)`` (e.g. ``v(vm)``, ``v(spike)``, ``i(vdd)``) and, for
DC sweeps, the sweep variable under its source name (e.g. ``v-sweep``) as well as
``sweep``.

``RunConfig.spiceinit`` lines (``set ...`` commands such as
``set ngbehavior=hsa`` for sky130) go into a ``.spiceinit`` next to the batch
netlist, or are executed before loading the circuit in shared mode;
``set num_threads=1`` is always included so process-parallel sweeps do not
oversubscribe the cores (Debian's ngspice uses OpenMP).

``RunConfig.support_files`` (:class:`SupportFile`: e.g. the trimmed sky130 model
library a netlist includes by bare name) are copied into the run directory next
to the batch netlist; in shared mode they are placed in a temporary directory
that ngspice searches (``set sourcepath``). A topology's needs come from its
record: :func:`default_config` / ``AnalogTopology.run_config``.

Missing ngspice raises :class:`~lifhw.errors.ToolMissingError` naming the
apt-get command.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lifhw import __version__, tools
from lifhw.analog import netlist as nl
from lifhw.analog.params import CircuitSection
from lifhw.core import Trace
from lifhw.errors import ParamError, SimulationError, ToolMissingError
from lifhw.stimulus import Stimulus

#: Log lines that mean the analysis itself failed (not worth a retry). gmin/source
#: stepping failures are not among them: ngspice then tries a transient operating
#: point, which often succeeds.
CONVERGENCE_PATTERNS = (
    "timestep too small",
    "time step too small",
    "iteration limit reached",
    "simulation(s) aborted",
    "doanalyses",
    "no convergence",
)
#: Log lines that mean the netlist is wrong.
NETLIST_ERROR_PATTERNS = ("error on line", "unknown subckt", "could not find",
                          "unable to find definition", "no such file", "fatal error",
                          "syntax error", "unknown model")

_SET_RE = re.compile(r"^set [A-Za-z_][A-Za-z0-9_]*(=[A-Za-z0-9_.+-]+)?$")


@dataclass(frozen=True)
class SupportFile:
    """A file a netlist includes by bare name, placed next to it before a run.

    Args:
        name: File name the netlist uses (no directory).
        path: Where its content is (e.g. the per-user model cache).
    """

    name: str
    path: Path

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*", self.name):
            raise ParamError(f"support file name {self.name!r} must be a bare file name",
                             path="support_files")

    def place(self, directory: str | Path) -> Path:
        """Copy the file into ``directory`` (atomically; kept if already equal)."""
        from lifhw.io import atomic_write_bytes

        target = Path(directory) / self.name
        data = Path(self.path).read_bytes()
        if not (target.is_file() and target.read_bytes() == data):
            atomic_write_bytes(target, data)
        return target


@dataclass(frozen=True)
class RunConfig:
    """How to run one simulation (frozen; pass a new one rather than mutating).

    Args:
        timeout_s: Wall-time limit of one attempt (s).
        retries: Extra attempts after a timeout or crash.
        work_dir: Directory for netlist, raw file and log; default a fresh temporary
            directory, removed afterwards. When given, the files are kept there.
        spiceinit: ngspice ``set ...`` commands run before the circuit loads.
        ngspice: Name or path of the ngspice executable (batch backend).
        support_files: Files the netlist includes by name, placed in the run
            directory before simulating.
    """

    timeout_s: float = 120.0
    retries: int = 1
    work_dir: Path | None = None
    spiceinit: tuple[str, ...] = ()
    ngspice: str = "ngspice"
    support_files: tuple[SupportFile, ...] = ()

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ParamError("timeout must be > 0 s", path="timeout_s")
        if self.retries < 0:
            raise ParamError("retries must be >= 0", path="retries")
        for line in self.spiceinit:
            if not _SET_RE.match(line):
                raise ParamError(f"spiceinit line {line!r} is not a plain 'set name=value'",
                                 path="spiceinit")

    def init_lines(self) -> list[str]:
        """``set`` commands for ``.spiceinit`` (always single-threaded)."""
        lines = ["set num_threads=1"]
        lines += [line for line in self.spiceinit if line not in lines]
        return lines


@dataclass(frozen=True, eq=False)
class SimOutput:
    """Vectors of one analysis.

    Attributes:
        plotname: ngspice's plot name, e.g. ``Transient Analysis``, ``DC transfer
            characteristic``.
        vectors: Normalised name -> 1-D float array (see the module docstring).
        log: ngspice's stdout/stderr.
        seconds: Wall time of the successful attempt (s).
        backend: ``batch`` or ``shared``.
        attempts: Number of attempts used.
    """

    plotname: str
    vectors: Mapping[str, np.ndarray]
    log: str = ""
    seconds: float = 0.0
    backend: str = ""
    attempts: int = 1

    def __getitem__(self, name: str) -> np.ndarray:
        key = name.lower()
        if key not in self.vectors:
            raise SimulationError(
                f"ngspice output has no vector {name!r}; it has "
                + ", ".join(sorted(self.vectors)))
        return self.vectors[key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.vectors


def normalise_vector_name(name: str, kind: str = "") -> str:
    """``V(vm)``/``vm`` -> ``v(vm)``; ``vdd#branch``/``i(VDD)`` -> ``i(vdd)``."""
    key = name.strip().lower()
    if key.endswith("#branch"):
        return f"i({key[:-7]})"
    if key.startswith(("v(", "i(")) or key in ("time", "frequency", "sweep"):
        return key
    if kind == "voltage" or kind == "":
        return f"v({key})"
    return key


def read_raw(data: bytes) -> SimOutput:
    """Parse an ngspice raw file (binary or ASCII, real data); the last plot wins.

    Raises:
        SimulationError: The file is truncated or not a raw file.
    """
    plots: list[SimOutput] = []
    pos = 0
    while pos < len(data):
        header: dict[str, str] = {}
        names: list[tuple[str, str]] = []
        mode = ""
        while pos < len(data):
            end = data.find(b"\n", pos)
            if end < 0:
                raise SimulationError("ngspice raw file is truncated (header)")
            line = data[pos:end].decode("ascii", "replace")
            pos = end + 1
            if line.strip() in ("Binary:", "Values:"):
                mode = line.strip()
                break
            if line.startswith("\t") and "Variables" in header:
                parts = line.split()
                names.append((parts[1], parts[2] if len(parts) > 2 else ""))
                continue
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
        if not mode:
            break
        try:
            n_vars = int(header["No. Variables"])
        except (KeyError, ValueError):
            raise SimulationError("ngspice raw file has no variable count") from None
        if "complex" in header.get("Flags", "").lower():
            raise SimulationError("complex raw data is not supported")
        if len(names) != n_vars:
            raise SimulationError("ngspice raw file: variable list is incomplete")
        n_points = int(header.get("No. Points", "0") or 0)
        if mode == "Binary:":
            available = (len(data) - pos) // (8 * n_vars)
            count = min(n_points, available) if n_points else available
            values = np.frombuffer(data, dtype="<f8", count=count * n_vars, offset=pos)
            pos += count * n_vars * 8
            matrix = values.reshape(count, n_vars)
        else:
            rows: list[list[float]] = []
            text = data[pos:].decode("ascii", "replace").split()
            index = 0
            while index + n_vars < len(text) + 1 and len(rows) < (n_points or 10**12):
                try:
                    rows.append([float(text[index + 1 + k]) for k in range(n_vars)])
                except (ValueError, IndexError):
                    break
                index += n_vars + 1
            pos = len(data)
            matrix = np.array(rows, dtype=float).reshape(-1, n_vars)
        vectors: dict[str, np.ndarray] = {}
        for k, (name, kind) in enumerate(names):
            column = np.array(matrix[:, k], dtype=float)
            normal = normalise_vector_name(name, kind)
            vectors[normal] = column
            if k == 0 and normal not in ("time", "frequency"):
                vectors["sweep"] = column
        plots.append(SimOutput(plotname=header.get("Plotname", ""), vectors=vectors))
        if not data[pos:pos + 16].lstrip().startswith((b"Title", b"Plotname")):
            break  # end of file, or the partial last row of an interrupted run
    if not plots:
        raise SimulationError("ngspice raw file contains no data")
    return plots[-1]


def _first_match(log: str, patterns: tuple[str, ...]) -> str:
    for line in log.splitlines():
        low = line.lower()
        if any(p in low for p in patterns):
            return line.strip()
    return ""


def check_log(log: str) -> None:
    """Raise SimulationError when ngspice's output reports a failed analysis."""
    bad = _first_match(log, NETLIST_ERROR_PATTERNS)
    if bad:
        raise SimulationError(f"ngspice rejected the netlist: {bad}")
    bad = _first_match(log, CONVERGENCE_PATTERNS)
    if bad:
        raise SimulationError(
            f"ngspice failed to converge: {bad} (try a smaller max step, or check the "
            "circuit's operating point)")


class Backend(ABC):
    """A way of running an ngspice netlist."""

    name: ClassVar[str]

    def __init__(self, config: RunConfig | None = None) -> None:
        self.config = config or RunConfig()

    @abstractmethod
    def run(self, netlist: str) -> SimOutput:
        """Simulate netlist text; raise SimulationError on failure."""


class NgspiceBatch(Backend):
    """``ngspice -b`` in a subprocess (robust; what a user re-runs by hand)."""

    name = "batch"
    NETLIST = "circuit.cir"
    RAW = "circuit.raw"

    def command(self, netlist_path: str | Path, raw_path: str | Path,
                executable: str | None = None) -> list[str]:
        """The command line, as plain data."""
        return [executable or self.config.ngspice, "-b", "-r", str(raw_path),
                str(netlist_path)]

    def environment(self) -> dict[str, str]:
        """Process environment: single-threaded OpenMP, no user spinit surprises."""
        env = dict(os.environ)
        env["OMP_NUM_THREADS"] = "1"
        return env

    def run(self, netlist: str) -> SimOutput:
        executable = self._executable()
        nl.check_safe(netlist)
        if self.config.work_dir is not None:
            work = Path(self.config.work_dir)
            work.mkdir(parents=True, exist_ok=True)
            return self._run_in(work, netlist, executable)
        with tempfile.TemporaryDirectory(prefix="lifhw-ngspice-") as tmp:
            return self._run_in(Path(tmp), netlist, executable)

    def _executable(self) -> str:
        exe = self.config.ngspice
        if os.sep in exe:
            if not Path(exe).exists():
                raise ToolMissingError(f"ngspice not found at {exe}; install it with: "
                                       + tools.INSTALL_HINTS["ngspice"])
            return exe
        if exe == "ngspice":
            return tools.which("ngspice")
        found = shutil.which(exe)
        if found is None:
            raise ToolMissingError(f"{exe} is not installed; install it with: "
                                   + tools.INSTALL_HINTS["ngspice"])
        return found

    def _run_in(self, work: Path, netlist: str, executable: str) -> SimOutput:
        netlist_path = work / self.NETLIST
        raw_path = work / self.RAW
        netlist_path.write_text(netlist)
        (work / ".spiceinit").write_text("\n".join(self.config.init_lines()) + "\n")
        for support in self.config.support_files:
            support.place(work)
        cmd = self.command(self.NETLIST, self.RAW, executable)
        problems: list[str] = []
        for attempt in range(1, self.config.retries + 2):
            with contextlib.suppress(FileNotFoundError):
                raw_path.unlink()
            start = time.perf_counter()
            log, code, timed_out = self._spawn(cmd, work)
            seconds = time.perf_counter() - start
            (work / "ngspice.log").write_text(log)
            if timed_out:
                problems.append(f"attempt {attempt}: timed out after "
                                f"{self.config.timeout_s:g} s")
                continue
            check_log(log)
            if not raw_path.exists() or raw_path.stat().st_size == 0:
                problems.append(f"attempt {attempt}: exit status {code}, no output; "
                                + (_last_lines(log) or "no message"))
                continue
            output = read_raw(raw_path.read_bytes())
            if not any(len(v) for v in output.vectors.values()):
                # Header only: the operating point (or the first step) never converged.
                raise SimulationError("ngspice failed to converge: no data points; "
                                      + (_last_lines(log) or "no message"))
            return SimOutput(plotname=output.plotname, vectors=output.vectors, log=log,
                             seconds=seconds, backend=self.name, attempts=attempt)
        raise SimulationError("ngspice batch simulation failed: " + "; ".join(problems))

    def _spawn(self, cmd: list[str], cwd: Path) -> tuple[str, int, bool]:
        # Own process group: a timeout kills ngspice and anything it started.
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=self.environment(), start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=self.config.timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            return out.decode("utf-8", "replace"), -9, True
        return out.decode("utf-8", "replace"), proc.returncode, False


def _last_lines(log: str, n: int = 3) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return " | ".join(lines[-n:])


class PySpiceShared(Backend):
    """libngspice in this process through PySpice (no process start per run).

    One circuit per process: do not use it from several threads.
    """

    name = "shared"
    _instance: ClassVar[Any] = None

    @classmethod
    def _ngspice(cls) -> Any:
        if cls._instance is None:
            tools.which("ngspice")  # same install hint when ngspice is absent
            try:
                import logging

                from PySpice.Spice.NgSpice.Shared import NgSpiceShared
            except ImportError as err:  # pragma: no cover - dependency of lifhw
                raise ToolMissingError(f"PySpice is not importable: {err}") from None
            # PySpice logs "Unsupported Ngspice version 39" -- harmless (TOOLCHAIN.md).
            logging.getLogger("PySpice").setLevel(logging.CRITICAL)
            class _Shared(NgSpiceShared):
                @staticmethod
                def _background_thread_running(is_running: bool, ngspice_id: int,
                                               user_data: Any) -> int:
                    # PySpice 1.5's callback returns None, which cffi reports on every
                    # bg_run ("an integer is required"); the state is polled instead.
                    return 0

            try:
                cls._instance = _Shared(ngspice_id=0, send_data=False)
            except OSError as err:
                raise ToolMissingError(
                    f"libngspice cannot be loaded ({err}); install it with: "
                    + tools.INSTALL_HINTS["ngspice"]) from None
        return cls._instance

    def run(self, netlist: str) -> SimOutput:
        nl.check_safe(netlist)
        ng = self._ngspice()
        if not self.config.support_files:
            return self._run(ng, netlist)
        with tempfile.TemporaryDirectory(prefix="lifhw-ngspice-") as tmp:
            for support in self.config.support_files:
                support.place(tmp)
            # ngspice looks up a relative .include in sourcepath (the process's
            # working directory is shared, so it is not changed).
            ng.exec_command(f"set sourcepath=( {tmp} )")
            try:
                return self._run(ng, netlist)
            finally:
                ng.exec_command("unset sourcepath")

    def _run(self, ng: Any, netlist: str) -> SimOutput:
        from PySpice.Spice.NgSpice.Shared import NgSpiceCommandError

        problems: list[str] = []
        for attempt in range(1, self.config.retries + 2):
            start = time.perf_counter()
            for line in self.config.init_lines():
                ng.exec_command(line)
            ng.destroy()
            try:
                ng.load_circuit(netlist)
            except Exception as err:  # PySpice raises NgSpiceCircuitError/NameError
                raise SimulationError(
                    f"ngspice rejected the netlist: {err} {_last_lines(ng.stdout)}") from None
            # Background thread + polling the C API's ngSpice_running() gives a timeout;
            # PySpice's own is_running flag comes from a callback that fails under
            # ngspice 39 ("an integer is required") and would be read too early.
            # PySpice flags bg_run as failed when the simulation thread has already
            # printed an error (a fast non-convergence races the command's return).
            # The run's own log is checked below and gives the real message.
            with contextlib.suppress(NgSpiceCommandError):
                ng.exec_command("bg_run")
            deadline = start + self.config.timeout_s
            # The thread may not have started when we first look: wait for its plot
            # (created when the analysis starts) or for a short grace period.
            grace = time.perf_counter() + 2.0
            while (not _running(ng) and not _has_plot(ng)
                   and time.perf_counter() < min(grace, deadline)):
                time.sleep(0.001)
            while _running(ng) and time.perf_counter() < deadline:
                time.sleep(0.002)
            seconds = time.perf_counter() - start
            log = ng.stdout + ng.stderr
            if _running(ng):
                ng.exec_command("bg_halt")
                while _running(ng):
                    time.sleep(0.01)
                ng.remove_circuit()
                problems.append(f"attempt {attempt}: timed out after "
                                f"{self.config.timeout_s:g} s")
                continue
            try:
                check_log(log)
            except SimulationError:
                ng.remove_circuit()  # keep the shared instance clean for the next run
                raise
            plot_name = _current_plot(ng)
            plot = ng.plot(None, plot_name)
            vectors: dict[str, np.ndarray] = {}
            for vec_name, vector in plot.items():
                kind = "voltage" if vector.is_voltage_node else ""
                key = normalise_vector_name(vec_name, kind)
                vectors[key] = np.array(np.real(vector._data), dtype=float)
            scale = _scale_name(vectors)
            if scale and "sweep" not in vectors and scale != "time":
                vectors["sweep"] = vectors[scale]
            ng.remove_circuit()
            if not vectors:
                problems.append(f"attempt {attempt}: no output vectors")
                continue
            return SimOutput(plotname=plot_name, vectors=vectors, log=log, seconds=seconds,
                             backend=self.name, attempts=attempt)
        raise SimulationError("ngspice shared simulation failed: " + "; ".join(problems))


def _running(ng: Any) -> bool:
    return bool(ng._ngspice_shared.ngSpice_running())


def _has_plot(ng: Any) -> bool:
    return any(name != "const" for name in ng.plot_names)


def _current_plot(ng: Any) -> str:
    from PySpice.Spice.NgSpice.Shared import ffi

    name = ng._ngspice_shared.ngSpice_CurPlot()
    current = ffi.string(name).decode() if name != ffi.NULL else ""
    if current and current != "const":
        return str(current)
    names = [n for n in ng.plot_names if n != "const"]
    if not names:
        raise SimulationError("ngspice produced no output plot")
    return str(names[0])


def _scale_name(vectors: Mapping[str, np.ndarray]) -> str:
    for name in ("time", "v(v-sweep)", "v-sweep", "i-sweep"):
        if name in vectors:
            return name
    return ""


def run_many(netlists: Sequence[str], *, workers: int = 2, config: RunConfig | None = None,
             progress: bool = False) -> list[SimOutput]:
    """Run many netlists with the batch backend, ``workers`` ngspice processes at a time.

    Each point is its own ``ngspice -b`` process (so the threads here only wait);
    ``set num_threads=1`` keeps one core per process. The first failure is raised
    after the running points finish.

    Args:
        netlists: Netlist texts.
        workers: Concurrent ngspice processes (2 on the project's machine).
        config: Run configuration shared by all points (``work_dir`` must be None).
        progress: Show a tqdm progress bar.
    """
    from concurrent.futures import ThreadPoolExecutor

    run_config = config or RunConfig()
    if run_config.work_dir is not None:
        raise ParamError("run_many needs a fresh directory per point: leave work_dir unset",
                         path="work_dir")
    backend = NgspiceBatch(run_config)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(backend.run, text) for text in netlists]
        if progress:
            from tqdm import tqdm

            for future in tqdm(futures, desc="ngspice", unit="point"):
                future.exception()  # wait for it (errors are raised below, in order)
        return [future.result() for future in futures]


#: Backend name -> class.
BACKENDS: dict[str, type[Backend]] = {"batch": NgspiceBatch, "shared": PySpiceShared}


def get_backend(name: str = "batch", config: RunConfig | None = None) -> Backend:
    """A backend by name (``batch`` or ``shared``)."""
    if name not in BACKENDS:
        raise ParamError(f"unknown ngspice backend {name!r}; known: "
                         + ", ".join(sorted(BACKENDS)), path="backend")
    return BACKENDS[name](config)


def rising_crossings(t: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    """Times (s) where ``y`` crosses ``level`` upwards, linearly interpolated."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(t) < 2:
        return np.array([])
    above = y >= level
    index = np.nonzero(~above[:-1] & above[1:])[0]
    y0, y1 = y[index], y[index + 1]
    frac = (level - y0) / np.where(y1 != y0, y1 - y0, 1.0)
    return t[index] + frac * (t[index + 1] - t[index])


def supply_energy(output: SimOutput, supply: float) -> float | None:
    """Energy (J) the ``VDD`` source delivered over the run, or None without one."""
    if "i(vdd)" not in output:
        return None
    t = output["time"]
    # ngspice's branch current flows into the source's + terminal: delivery is negative.
    return float(-supply * np.trapezoid(output["i(vdd)"], t))


def to_trace(output: SimOutput, circuit: CircuitSection, *, t_stop: float | None = None,
             meta: Mapping[str, Any] | None = None) -> Trace:
    """A transient :class:`SimOutput` as a single-neuron :class:`Trace`.

    Spikes are rising crossings of :func:`~lifhw.analog.netlist.spike_level` on
    node ``spike``; ``meta`` gets ``energy_per_spike_j`` (J) and
    ``supply_power_w`` (W) when the netlist has a ``VDD`` source.
    """
    t = output["time"]
    v = output["v(vm)"]
    spikes = rising_crossings(t, output["v(spike)"], nl.spike_level(circuit))
    stop = float(t[-1]) if t_stop is None else t_stop
    extra: dict[str, Any] = {"lifhw_version": __version__, "ngspice_backend": output.backend,
                             "sim_seconds": output.seconds, "n_points": len(t)}
    energy = supply_energy(output, circuit.supply)
    if energy is not None:
        extra["supply_energy_j"] = energy
        extra["supply_power_w"] = energy / stop if stop > 0 else None
        extra["energy_per_spike_j"] = energy / len(spikes) if len(spikes) else None
    extra.update(meta or {})
    return Trace(t=np.asarray(t), v=np.asarray(v), spike_times=spikes, t_stop=stop,
                 backend="ngspice", meta=extra)


@dataclass(frozen=True)
class Simulation:
    """What :func:`simulate` ran: the netlist text and its trace."""

    netlist: str
    trace: Trace
    output: SimOutput = field(repr=False)


def simulate(name: str, circuit: CircuitSection, stimulus: Stimulus, *,
             backend: str = "batch", config: RunConfig | None = None, source: str = "",
             **options: Any) -> Simulation:
    """Generate the netlist of ``circuit``, run it, and return its trace.

    Args:
        name: Design name (safe identifier).
        circuit: Validated ``[circuit]``.
        stimulus: Validated ``[stimulus]``.
        backend: ``batch`` or ``shared``.
        config: Run configuration (timeout, retries, ...); the topology's needs
            (:func:`default_config`) are added to it.
        source: Parameter file path (provenance comment).
        **options: Passed to the topology generator.
    """
    from lifhw.core import params_hash

    text = nl.generate(name, circuit, stimulus, source=source, **options)
    output = get_backend(backend, default_config(circuit, config)).run(text)
    trace = to_trace(output, circuit, t_stop=stimulus.t_stop,
                     meta={"params_hash": params_hash({"circuit": circuit,
                                                       "stimulus": stimulus}),
                           "topology": circuit.topology})
    return Simulation(netlist=text, trace=trace, output=output)


def default_config(circuit: CircuitSection, config: RunConfig | None = None) -> RunConfig:
    """``config`` (default: a plain :class:`RunConfig`) plus what the circuit's
    topology needs to run: its ``.spiceinit`` commands and support files (sky130:
    ``ngbehavior=hsa``, no model check, the trimmed model library)."""
    from lifhw.analog.topology import get_topology

    return get_topology(circuit.topology).run_config(circuit, config)
