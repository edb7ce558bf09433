"""Run single-neuron cores on a simulator in batch and read back every cycle.

:func:`run_neurons` is the bit-exact counterpart of
:func:`lifhw.golden.fixedpoint.run`: the same (T, lanes) inputs, the same
(T, lanes) membranes and spikes, produced by the generated Verilog of a ``[core]``
file running in ``lanes`` parallel copies under Verilator or Icarus.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from lifhw.digital import harness, verilog
from lifhw.digital.params import CoreSection
from lifhw.digital.sim import RunConfig, default_build_root, get_simulator
from lifhw.errors import ParamError
from lifhw.golden.fixedpoint import NeuronRun
from lifhw.io import atomic_write_bytes
from lifhw.params import ParamFile

#: Lanes and cycle depth of the neuron harness per simulator (one build per core
#: and simulator). Icarus pays per event, so it gets many lanes and few cycles;
#: Verilator's build time grows with the lanes it inlines, its run time barely
#: with the cycles.
LANES = {"icarus": 64, "verilator": 16, "verilator-binary": 16}
DEPTH = {"icarus": 16384, "verilator": 65536, "verilator-binary": 65536}
MAX_LANES = max(LANES.values())


def contract_parameters(core: CoreSection) -> dict[str, int]:
    """Verilog parameter overrides of ``lif_neuron`` for a contract core."""
    p = core.fixed()
    return {"W_V": p.w_v, "W_I": p.w_i, "LEAK_SHIFT": p.leak_shift, "V_TH": p.v_th,
            "V_RESET": p.v_reset, "RESET_MODE": int(p.reset == "subtract"), "T_REF": p.t_ref}


def neuron_config(pf: ParamFile, *, sim: str, waves: bool = False,
                  build_root: Path | None = None) -> RunConfig:
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
    sources["tb_lanes.v"] = harness.neuron_harness(top, core.fixed(), lanes=LANES[sim],
                                                   depth=DEPTH[sim], parameters=params)
    return RunConfig(toplevel="tb_lanes", sources=sources, design=pf.name, waves=waves,
                     build_root=build_root or default_build_root())


def run_neurons(pf: ParamFile, i_in: np.ndarray, *, step: np.ndarray | None = None,
                rst: np.ndarray | None = None, sim: str = "verilator", waves: bool = False,
                build_root: Path | None = None, work_dir: Path | None = None) -> NeuronRun:
    """Clock ``lanes`` copies of a single-neuron core through T cycles on a simulator.

    Args:
        pf: A ``kind = "neuron"`` parameter file.
        i_in: Input per cycle and lane (LSB), shape (T, lanes); at most
            ``LANES[sim]`` lanes and ``DEPTH[sim]`` cycles.
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
    if sim not in LANES:
        raise ParamError(f"unknown simulator {sim!r}; known: {', '.join(sorted(LANES))}",
                         path="sim")
    lanes = LANES[sim]
    if used > lanes or n_steps > DEPTH[sim]:
        raise ValueError(f"at most {lanes} lanes and {DEPTH[sim]} cycles per run on {sim}, "
                         f"got {inputs.shape}")
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
        run_cfg = RunConfig(**{**cfg.__dict__, "plusargs": (
            f"+stim={stim}", f"+resp={resp}", f"+ncycles={n_steps}"),
            "timeout_ns": 20 * (n_steps + 10)})
        get_simulator(sim).run(run_cfg, work)
        v, spike = harness.neuron_response(resp, p, lanes, n_steps)
    return NeuronRun(v=v[:, :used], spike=spike[:, :used], ref=np.zeros((0, 0), np.int64))


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
