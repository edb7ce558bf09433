"""Run networks on the RTL population core (Verilator or Icarus) -- the deployment API.

:func:`run_rtl` takes integer weights and input spikes, runs the generated
population core cycle-accurately, and returns the output spikes; its bit-exact
twin is :func:`lifhw.golden.fixedpoint.population_run`. :func:`quantize_layer`
maps a float layer (a :class:`~lifhw.network.Population` with delta synapses and
one incoming :class:`~lifhw.network.Projection`) onto the integers.

Mapping a float network (delta synapses, weights in volts, step ``dt``)::

    q = quantize_lif(pop.neuron, dt, w_v=core.w_v, leak=core.leak, ...)
    W_int   = round(W_volts / q.lsb)                      (clipped to w_w bits)
    bias    = round((1 - a) r_m I_bias / q.lsb)          (clipped to w_i bits)
    V_TH    = round((v_th - v_rest) / q.lsb), V_RESET likewise, T_REF = round(t_ref/dt)

The core's parameter file must carry the same ``leak``/``v_th``/``t_ref`` integers
(use :func:`core_mapping` to write them). A spike of input line ``j`` at step
``t`` adds ``W[n, j]`` to neuron ``n``'s input in the same step ``t`` (the float
network's one-step delay is the caller's shift of the input array). Layers wider
than ``n_inputs`` or ``n_neurons`` must be tiled by the caller; recurrent
connections are routed by feeding output spikes of step ``t`` back as inputs of
step ``t + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lifhw.digital import harness, verilog
from lifhw.digital.params import CoreSection
from lifhw.digital.run import _work_dir
from lifhw.digital.sim import RtlRunConfig, default_build_root, get_simulator
from lifhw.errors import ParamError
from lifhw.golden.fixedpoint import Quantization, quantize_lif
from lifhw.io import atomic_write_bytes
from lifhw.params import ParamFile, load

#: Response-memory words of a harness build: every run of up to
#: MONITOR_WORDS / N timesteps shares one (cached) build; longer runs get a larger
#: power-of-two build of their own.
MONITOR_WORDS = 1 << 20


@dataclass
class PopulationResult:
    """Cycle-accurate result of a population-core run.

    Attributes:
        spikes: Output spikes per step and neuron (from the (valid, index) event
            port), bool, shape (T, N).
        v: Membrane after each step (from the monitor port), int64, shape (T, N);
            None when the run only kept the monitor signature.
        monitor_spikes: Spikes seen on the monitor port, shape (T, N) (or None).
        monitor_signature: 64-bit signature of the whole monitor stream
            (:func:`lifhw.digital.harness.signature` of ``{index, spike, v}`` words).
    """

    spikes: np.ndarray
    v: np.ndarray | None
    monitor_spikes: np.ndarray | None
    monitor_signature: int = 0


def _config_of(config: ParamFile | CoreSection | str | Path) -> tuple[str, CoreSection, str]:
    if isinstance(config, (str, Path)):
        config = load(config)
    if isinstance(config, ParamFile):
        core: CoreSection = config.require("core")
        name, source = config.name, config.source or config.name
    else:
        core, name, source = config, "population_core", "population_core"
    if core.kind != "population":
        raise ParamError("run_rtl needs a [core] with kind = \"population\"", path="core.kind")
    return name, core, source


def population_config(config: ParamFile | CoreSection | str | Path, *, max_steps: int,
                      waves: bool = False, build_root: Path | None = None) -> RtlRunConfig:
    """Build/run configuration of the population harness for ``max_steps`` timesteps."""
    name, core, source = _config_of(config)
    header = verilog.HEADER.format(source=source)
    sources = {f"{name}.v": header + verilog.population_module(name, core),
               "tb_population.v": harness.population_harness(name, core, max_steps=max_steps)}
    return RtlRunConfig(toplevel="tb_population", sources=sources, design=name, waves=waves,
                     build_root=build_root or default_build_root())


def simulate_rtl(config: ParamFile | CoreSection | str | Path, weights: np.ndarray,
                 input_spikes: np.ndarray, *, bias: np.ndarray | None = None,
                 sim: str = "verilator", stall: bool = False, waves: bool = False,
                 record: bool = True, build_root: Path | None = None,
                 work_dir: Path | None = None) -> PopulationResult:
    """Run the population core and return spikes and membranes of every step.

    Args:
        config: A parameter file (path or loaded) or a ``[core]`` section with
            ``kind = "population"``.
        weights: Integer weights, shape (N, n_in), within ``w_w`` signed bits
            (row = target neuron, column = input line).
        input_spikes: Input spikes per step, bool, shape (T, n_in).
        bias: Integer bias per neuron (N,), within ``w_i`` signed bits; default 0.
        sim: ``verilator``, ``icarus`` (four-state) or ``verilator-binary`` (fastest).
        stall: Withdraw ``out_ready`` pseudo-randomly (exercises back-pressure).
        waves: Dump waveforms into ``work_dir``.
        record: Return every membrane; False keeps only the monitor signature (the
            fast path: no per-update file traffic).
        build_root: Where builds are cached (default ``./build/rtl``).
        work_dir: Where stimulus, responses and logs go (default: temporary).

    Returns:
        The :class:`PopulationResult`.
    """
    _, core, _ = _config_of(config)
    n, n_in = core.n_neurons, core.n_inputs
    w = np.asarray(weights, dtype=np.int64)
    s = np.asarray(input_spikes, dtype=bool)
    b = np.zeros(n, np.int64) if bias is None else np.asarray(bias, dtype=np.int64)
    if w.shape != (n, n_in):
        raise ValueError(f"weights have shape {w.shape}, the core needs ({n}, {n_in})")
    if s.ndim != 2 or s.shape[1] != n_in:
        raise ValueError(f"input_spikes have shape {s.shape}, the core needs (T, {n_in})")
    if b.shape != (n,):
        raise ValueError(f"bias has shape {b.shape}, the core needs ({n},)")
    harness.check_population_ranges(core, w, b)
    n_steps = s.shape[0]
    max_steps = max(1, MONITOR_WORDS // n)
    while max_steps < n_steps:
        max_steps *= 2
    cfg = population_config(config, max_steps=max_steps, waves=waves, build_root=build_root)
    with _work_dir(work_dir) as work:
        files = {k: work / f"{k}.hex" for k in ("weights", "events", "mon", "oev")}
        counts = work / "counts.txt"
        for path in (files["mon"], files["oev"], counts):
            path.unlink(missing_ok=True)
        atomic_write_bytes(files["weights"], harness.population_weight_rows(core, w, b))
        events, n_events = harness.population_events(core, s)
        atomic_write_bytes(files["events"], events)
        plusargs = (*(f"+{k}={v}" for k, v in files.items()), f"+counts={counts}",
                    f"+nevents={n_events}", f"+stall={int(stall)}", f"+record={int(record)}")
        # Bound: clear + weight load + per step (events + N updates, x4 for stalls).
        cycles = 3 * n + 4 * (n_events + n_steps * (n + 8)) + 100
        run_cfg = RtlRunConfig(**{**cfg.__dict__, "plusargs": plusargs,
                               "timeout_ns": 10 * cycles})
        get_simulator(sim).run(run_cfg, work)
        mon_index, mon_spike, mon_v, events_out, n_mon, mon_hash = (
            harness.population_responses(core, files["mon"], files["oev"], counts,
                                         record=record))
    if n_mon != n * n_steps:
        raise _protocol(f"{n_mon} monitor updates, expected {n * n_steps}")
    expected_index = np.tile(np.arange(n), n_steps)
    if record and not np.array_equal(mon_index, expected_index):
        bad = int(np.flatnonzero(mon_index != expected_index)[0])
        raise _protocol(f"monitor update {bad} was neuron {mon_index[bad]}, expected "
                        f"{expected_index[bad]} (neurons must be swept in order)")
    spikes = np.zeros((n_steps, n), bool)
    if len(events_out):
        tags, idx = events_out[:, 0] - 1, events_out[:, 1]
        if tags.min() < 0 or tags.max() >= n_steps:
            raise _protocol("an output event carries a step outside the run")
        if np.any(spikes[tags, idx]):
            raise _protocol("an output event was delivered twice")
        spikes[tags, idx] = True
        order = tags * n + idx
        if np.any(np.diff(order) <= 0):
            raise _protocol("output events are not in (step, index) order")
    if not record:
        return PopulationResult(spikes=spikes, v=None, monitor_spikes=None,
                                monitor_signature=mon_hash)
    return PopulationResult(spikes=spikes, v=mon_v.reshape(n_steps, n),
                            monitor_spikes=mon_spike.reshape(n_steps, n),
                            monitor_signature=mon_hash)


def _protocol(message: str) -> Exception:
    from lifhw.errors import SimulationError

    return SimulationError("population core protocol: " + message)


def run_rtl(config: ParamFile | CoreSection | str | Path, weights: np.ndarray,
            input_spikes: np.ndarray, *, bias: np.ndarray | None = None,
            sim: str = "verilator", build_root: Path | None = None) -> np.ndarray:
    """Output spikes of the RTL population core for a run of input spikes.

    Bit-exact twin: ``lifhw.golden.fixedpoint.population_run(core.fixed(), weights,
    input_spikes, bias).spike``. See the module docstring for mapping a float network.

    Args:
        config: Parameter file (path or loaded) or ``[core]`` section (population).
        weights: Integer weights (N, n_in) within ``w_w`` signed bits.
        input_spikes: Bool (T, n_in).
        bias: Integer bias (N,) within ``w_i`` signed bits.
        sim: ``verilator`` (cocotb), ``icarus`` (cocotb, four-state) or
            ``verilator-binary`` (the same harness without cocotb, ~3x faster).
        build_root: Build cache directory.

    Returns:
        Bool spikes, shape (T, N).
    """
    return simulate_rtl(config, weights, input_spikes, bias=bias, sim=sim, record=False,
                        build_root=build_root).spikes


def quantize_layer(core: CoreSection, neuron_params: object, weights_volts: np.ndarray,
                   bias_amps: np.ndarray | None, dt: float) -> tuple[Quantization, np.ndarray,
                                                                    np.ndarray, dict[str, float]]:
    """Map one float delta-synapse layer onto the core's integers.

    Args:
        core: The target population core (its widths, leak kind, rounding, reset).
        neuron_params: The float :class:`~lifhw.core.LIFParams` of the layer.
        weights_volts: Float weights (N, n_in) in volts (delta synapses).
        bias_amps: Bias current per neuron (A), shape (N,), or None.
        dt: Time step (s).

    Returns:
        (quantisation, integer weights, integer bias, report) where the report has
        the largest weight rounding error (V), the fraction of weights clipped and
        the quantisation errors of the neuron.
    """
    from lifhw.core import LIFParams

    if not isinstance(neuron_params, LIFParams):
        raise TypeError("neuron_params must be a LIFParams")
    q = quantize_lif(neuron_params, dt, w_v=core.w_v, w_i=core.w_i, leak=core.leak,
                     frac_bits=core.frac_bits, rounding=core.rounding, reset=core.reset)
    w_int, b_int, raw, b_raw = layer_integers(q, weights_volts, bias_amps, w_w=core.w_w,
                                              w_i=core.w_i)
    report = dict(q.errors)
    report["weight_max_error_v"] = float(np.max(np.abs(w_int * q.lsb - weights_volts))
                                         if w_int.size else 0.0)
    report["weights_clipped_fraction"] = float(np.mean(raw != w_int)) if raw.size else 0.0
    report["bias_clipped_fraction"] = float(np.mean(b_raw != b_int)) if b_raw.size else 0.0
    return q, w_int, b_int, report


def layer_integers(q: Quantization, weights_volts: np.ndarray, bias_amps: np.ndarray | None,
                   *, w_w: int, w_i: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The float-to-integer conversion of a delta-synapse layer's weights and bias.

    ``W_int = clip(round(W / lsb), w_w bits)`` (:meth:`Quantization.volts_to_lsb`)
    and ``b_int = clip(round((1 - a) r_m I / lsb), w_i bits)``
    (:meth:`Quantization.current_to_input`), both saturating to the signed range.
    Used by :func:`quantize_layer` and by the ``rtl`` hardware target
    (:mod:`lifhw.chips.rtl`, which passes weights already scaled by its leak).

    Returns:
        (integer weights, integer bias, weights before clipping, bias before clipping).
    """
    lo, hi = -(1 << (w_w - 1)), (1 << (w_w - 1)) - 1
    raw_w = q.volts_to_lsb(weights_volts)
    w_int = np.clip(raw_w, lo, hi)
    n = w_int.shape[0]
    b_lo, b_hi = -(1 << (w_i - 1)), (1 << (w_i - 1)) - 1
    raw_b = (q.current_to_input(bias_amps) if bias_amps is not None
             else np.zeros(n, np.int64))
    b_int = np.clip(raw_b, b_lo, b_hi)
    return w_int, b_int, raw_w, raw_b


def core_mapping(q: Quantization) -> dict[str, object]:
    """``[core]`` keys that make a population core realise ``q`` (merge into a file)."""
    p = q.fixed
    out: dict[str, object] = {"leak": p.leak, "rounding": p.rounding, "reset": p.reset,
                              "v_th": p.v_th, "v_reset": p.v_reset, "t_ref": p.t_ref,
                              "w_v": p.w_v, "w_i": p.w_i}
    if p.leak == "shift":
        out["leak_shift"] = p.leak_shift
    else:
        out.update(frac_bits=p.frac_bits, leak_d=p.leak_d)
    return out
