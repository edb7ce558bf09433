"""Run single-neuron cores on a simulator in batch and read back every cycle.

:func:`run_neurons` is the bit-exact counterpart of
:func:`lifhw.golden.fixedpoint.run`: the same (T, lanes) inputs, the same
(T, lanes) membranes and spikes, produced by the generated Verilog of a ``[core]``
file running in ``lanes`` parallel copies under Verilator or Icarus.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lifhw.core import Trace
from lifhw.digital import harness, verilog
from lifhw.digital.params import CoreSection
from lifhw.digital.sim import RtlRunConfig, default_build_root, get_simulator
from lifhw.errors import ParamError
from lifhw.golden.fixedpoint import NeuronRun
from lifhw.io import atomic_write_bytes
from lifhw.params import ParamFile


def contract_parameters(core: CoreSection) -> dict[str, int]:
    """Verilog parameter overrides of ``lif_neuron`` for a contract core."""
    p = core.fixed()
    return {"W_V": p.w_v, "W_I": p.w_i, "LEAK_SHIFT": p.leak_shift, "V_TH": p.v_th,
            "V_RESET": p.v_reset, "RESET_MODE": int(p.reset == "subtract"), "T_REF": p.t_ref}


def neuron_config(pf: ParamFile, *, sim: str, waves: bool = False,
                  build_root: Path | None = None) -> RtlRunConfig:
    """The build/run configuration of a single-neuron core's batch harness."""
    core: CoreSection = pf.require("core")
    if core.kind != "neuron":
        raise ParamError("this file describes a population core", path="core.kind",
                         source=pf.source)
    sources = dict(verilog.generate(pf, source=pf.source or pf.name))
    top = verilog.module_name(pf)
    # The contract module is instantiated with explicit parameters, so the
    # regression also proves the parameter overrides work.
    params = contract_parameters(core) if core.is_contract else None
    # Lanes and cycle depth of the harness are facts of the simulator class (one
    # build per core and simulator).
    simulator = get_simulator(sim)
    sources["tb_lanes.v"] = harness.neuron_harness(top, core.fixed(), lanes=simulator.lanes,
                                                   depth=simulator.depth, parameters=params)
    return RtlRunConfig(toplevel="tb_lanes", sources=sources, design=pf.name, waves=waves,
                     build_root=build_root or default_build_root())


def run_neurons(pf: ParamFile, i_in: np.ndarray, *, step: np.ndarray | None = None,
                rst: np.ndarray | None = None, sim: str = "verilator", waves: bool = False,
                build_root: Path | None = None, work_dir: Path | None = None) -> NeuronRun:
    """Clock ``lanes`` copies of a single-neuron core through T cycles on a simulator.

    Args:
        pf: A ``kind = "neuron"`` parameter file.
        i_in: Input per cycle and lane (LSB), shape (T, lanes); at most
            ``get_simulator(sim).lanes`` lanes and ``.depth`` cycles.
        step: Step enable (T, lanes); default all 1.
        rst: Synchronous reset (T, lanes); default 0. Cycle 0 always resets (the
            registers start undefined), which matches the golden model's zero start.
        sim: ``verilator`` or ``icarus``.
        waves: Dump waveforms (kept in ``work_dir``).
        build_root: Where builds are cached.
        work_dir: Where stimulus, responses and logs go (default: a temporary dir).

    Returns:
        Membranes and spikes after each cycle (unused lanes dropped).
    """
    core: CoreSection = pf.require("core")
    p = core.fixed()
    inputs = np.asarray(i_in, dtype=np.int64)
    n_steps, used = inputs.shape
    simulator = get_simulator(sim)   # unknown names: ParamError with a suggestion
    lanes = simulator.lanes
    if used > lanes or n_steps > simulator.depth:
        raise ValueError(f"at most {lanes} lanes and {simulator.depth} cycles per run on "
                         f"{sim}, got {inputs.shape}")
    lo, hi = -(1 << (p.w_i - 1)), (1 << (p.w_i - 1)) - 1
    if inputs.min() < lo or inputs.max() > hi:
        raise ValueError(f"inputs must fit {p.w_i} signed bits [{lo}, {hi}]")
    full = np.zeros((n_steps, lanes), np.int64)
    full[:, :used] = inputs
    steps = np.ones((n_steps, lanes), bool)
    resets = np.zeros((n_steps, lanes), bool)
    if step is not None:
        steps[:, :used] = step
    if rst is not None:
        resets[:, :used] = rst
    resets[0, :] = True
    cfg = neuron_config(pf, sim=sim, waves=waves, build_root=build_root)
    with _work_dir(work_dir) as work:
        stim, resp = work / "stim.hex", work / "resp.hex"
        atomic_write_bytes(stim, harness.neuron_stimulus(full, steps, resets, p.w_i))
        run_cfg = RtlRunConfig(**{**cfg.__dict__, "plusargs": (
            f"+stim={stim}", f"+resp={resp}", f"+ncycles={n_steps}"),
            "timeout_ns": 20 * (n_steps + 10)})
        get_simulator(sim).run(run_cfg, work)
        v, spike = harness.neuron_response(resp, p, lanes, n_steps)
    return NeuronRun(v=v[:, :used], spike=spike[:, :used], ref=np.zeros((0, 0), np.int64))


def held_current(stimulus: Any, dt: float, n_steps: int) -> np.ndarray:
    """Stimulus current (A) held over each step ``[k dt, (k+1) dt)``: shape (n_steps,)."""
    edges, values = stimulus.segments()
    starts = np.arange(n_steps) * dt
    index = np.clip(np.searchsorted(edges, starts, side="right") - 1, 0, len(values) - 1)
    return np.asarray(values[index], dtype=float)


def stimulus_trace(pf: ParamFile, *, sim: str = "verilator",
                   build_root: Path | None = None) -> Trace:
    """The file's ``[core]`` neuron, driven by its ``[stimulus]``, run as RTL: a Trace.

    The stimulus current is held over each core step ``[k dt, (k+1) dt)``,
    converted to integer input LSBs (:meth:`FixedLIF.current_to_input`,
    saturated to ``w_i`` bits) and clocked through the generated Verilog in one
    lane. The trace is in SI units: membrane ``v_rest + v * v_lsb`` after each
    step, a spike stamped at the end of its step (the grid convention of
    :mod:`lifhw.golden.lif`); ``meta["tau_s"]`` is the tau the core realises.

    Raises:
        ParamError: More steps than the simulator's harness holds.
    """
    core: CoreSection = pf.require("core")
    stimulus = pf.require("stimulus")
    fixed = core.fixed()
    tau_s = core.lif().tau_m   # ParamError naming the field when dt or v_lsb is missing
    dt, lsb = core.dt, core.v_lsb
    assert dt is not None and lsb is not None
    n_steps = round(stimulus.t_stop / dt)
    depth = get_simulator(sim).depth
    if n_steps + 1 > depth:
        raise ParamError(f"stimulus.t_stop / core.dt = {n_steps} steps exceeds the RTL "
                         f"harness depth {depth}", path="stimulus.t_stop")
    current = held_current(stimulus, dt, n_steps)
    lo, hi = -(1 << (fixed.w_i - 1)), (1 << (fixed.w_i - 1)) - 1
    i_in = np.clip(np.asarray(fixed.current_to_input(current, lsb=lsb, r_m=core.r_m)),
                   lo, hi)
    # The harness resets in cycle 0 (registers start undefined): one extra reset
    # cycle in front, dropped from the outputs, so step k sees the input of step k.
    column = np.concatenate([[0], i_in]).astype(np.int64).reshape(-1, 1)
    run = run_neurons(pf, column, sim=sim, build_root=build_root)
    spike = np.asarray(run.spike)[1:, 0]
    steps = np.flatnonzero(spike)
    t = np.arange(1, n_steps + 1) * dt
    return Trace(t=t, v=core.v_rest + np.asarray(run.v)[1:, 0] * lsb,
                 spike_times=(steps + 1) * dt, t_stop=stimulus.t_stop, backend="rtl",
                 meta={"tau_s": tau_s})


class _work_dir:
    """A given directory, or a temporary one removed afterwards."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            return self.path.resolve()
        self._tmp = tempfile.TemporaryDirectory(prefix="lifhw-rtl-")
        return Path(self._tmp.name)

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
