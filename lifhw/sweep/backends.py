"""Sweep backends: one function per realisation, ``evaluate(param_file, metrics) -> dict``.

A backend receives a validated :class:`~lifhw.params.ParamFile` (one design
point) and the metric names the spec asks for, and returns ``{metric: value}``
with SI floats (NaN when a metric cannot be computed for this point, e.g. the
ISI of a neuron that never fired). It runs inside a sweep worker process, so it
may keep expensive state (loaded models, compiled kernels) in module globals
between points. Errors are raised, not returned: the engine stores the point as
``failed`` with the message and goes on.

Metrics common to the backends (relative errors are signed,
``(candidate - golden) / golden``, from :func:`lifhw.compare.compare`):

==================== =====================================================
``rate_hz``          steady firing rate (inverse mean ISI) of the point
``n_spikes``         spike count
``isi_error``        mean-ISI error vs the golden model (golden: vs the
                     closed-form f-I ISI :func:`lifhw.golden.lif_isi`)
``rate_error``       rate error, same reference
``tau_s``            membrane time constant the point realises
``tau_error``        tau error vs the golden/intended tau
``tau_step_s``       (ngspice) small-signal tau from a leak step response
                     (:func:`lifhw.analog.characterise.leak_step`)
``tau_step_error``   (ngspice) ``tau_step_s / (C / g_m) - 1``, nominal g_m
``energy_per_spike_j`` energy drawn per spike (analog: supply energy / spikes)
``area_um2``         sky130 layout area of the neuron cell (:mod:`lifhw.layout`)
``gate_equivalents`` yosys NAND2-equivalents (digital points)
==================== =====================================================

Backends provided by other flows are imported when a point first needs them;
a missing flow or tool gives one clear error naming what to install.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from lifhw.chips.base import CHIPS
from lifhw.errors import LifhwError, ParamError
from lifhw.registry import Registry

if TYPE_CHECKING:
    from lifhw.core import Trace
    from lifhw.params import ParamFile


class Evaluator(Protocol):
    """A sweep backend: ``evaluate(param_file, metrics) -> {metric: SI value}``.

    Called in a worker process with one validated point and the metric names
    the spec asks for; returns a value (NaN when it cannot be computed) for each
    name it knows; raises to fail the point. May carry a ``warm_up()``
    attribute, called once per worker before the first point's timeout starts.
    """

    def __call__(self, param_file: ParamFile, metrics: Sequence[str], /) -> Mapping[str, float]:
        ...


#: Backend name -> its :class:`Evaluator` (imported on first use).
BACKENDS: Registry[Evaluator] = Registry("sweep backend")
BACKENDS.add("golden", "lifhw.sweep.backends:evaluate_golden")
BACKENDS.add("ngspice", "lifhw.sweep.backends:evaluate_ngspice")
BACKENDS.add("rtl", "lifhw.sweep.backends:evaluate_rtl")

#: Synthesis metrics of digital points (yosys, :mod:`lifhw.digital.synth`).
_AREA_METRICS = ("gate_equivalents", "cells", "flip_flops", "memory_bits")
_TRACE_METRICS = ("rate_hz", "n_spikes", "isi_error", "rate_error", "tau_s", "tau_error")
#: From the chip's placement (lifhw.chips.placement) at the rates of its run.
_PLACEMENT_METRICS = ("cores_used", "chips_used", "core_spikes_per_s", "chip_spikes_per_s")

#: Backend name -> metric names it can compute (checked when a spec is loaded).
METRICS: dict[str, tuple[str, ...]] = {
    "golden": (*_TRACE_METRICS, "area_um2", "capacitor_energy_j"),
    "ngspice": (*_TRACE_METRICS, "energy_per_spike_j", "area_um2", "tau_step_s",
                "tau_step_error"),
    "rtl": (*_TRACE_METRICS, "gate_equivalents", "cells", "flip_flops", "memory_bits"),
    **{chip: (*_TRACE_METRICS, "energy_per_spike_j", "rate_correlation", "count_error",
              *_PLACEMENT_METRICS)
       for chip in CHIPS.names(kind="chip")},
}


def check_metrics(backend: str, metrics: Sequence[str]) -> None:
    """Raise ParamError if ``backend`` cannot compute one of ``metrics``."""
    known = METRICS.get(backend)
    if known is None:  # a plugin backend without a declared list: trust it
        return
    import difflib

    for name in metrics:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParamError(f"backend {backend!r} has no metric {name!r}{hint}; it provides: "
                             + ", ".join(known), path="metrics")


def register_backend(name: str, evaluate: str | Evaluator,
                     metrics: Sequence[str] | None = None) -> None:
    """Add a backend (plugins listed in a spec's ``plugins`` call this on import).

    Args:
        name: Backend name used in specs.
        evaluate: The function or its ``"module:function"`` path.
        metrics: Metric names it computes (None = not checked).
    """
    BACKENDS.add(name, evaluate)
    if metrics is not None:
        METRICS[name] = tuple(metrics)


def preflight(backend: str, metrics: Sequence[str]) -> None:
    """Fail at once, with the install command, when a local backend's tool is missing."""
    from lifhw import tools

    needs = {"ngspice": ["ngspice"], "rtl": ["verilator"]}.get(backend, [])
    if backend == "rtl" and set(_AREA_METRICS) & set(metrics):
        needs.append("yosys")
    for tool in needs:
        tools.which(tool)
    BACKENDS.get(backend)


def warm_up(backend: str, metrics: Sequence[str] = ()) -> None:
    """Pay one-off costs before the first point's timeout starts.

    Imports the backend, loads the golden kernels (every backend compares with
    the golden model), imports gdsfactory when ``area_um2`` is wanted and calls
    the backend's own ``warm_up`` attribute if any.
    """
    from lifhw.core import LIFParams
    from lifhw.golden.lif import simulate
    from lifhw.stimulus import Stimulus

    evaluate = BACKENDS.get(backend)
    lif = LIFParams(tau_m=0.01, r_m=1e8, v_rest=0.0, v_th=0.01, v_reset=0.0)
    simulate(lif, Stimulus(kind="constant", t_stop=0.01, amplitude=2e-10, dt=1e-3))
    if "area_um2" in metrics:
        from lifhw.layout import neuron_area_um2

        neuron_area_um2(1e-12)
    hook = getattr(evaluate, "warm_up", None)
    if callable(hook):
        hook()


def _golden_trace(pf: ParamFile) -> Trace:
    from lifhw.golden.lif import simulate
    from lifhw.stimulus import Stimulus

    return simulate(pf.lif, pf.section("stimulus", Stimulus))


def _final_current(stimulus: Any) -> float:
    _, values = stimulus.segments()
    return float(values[-1])


def trace_metrics(pf: ParamFile, candidate: Any, metrics: Sequence[str],
                  reference: Any | None = None) -> dict[str, float]:
    """Trace metrics of a candidate trace against the golden model of the same file.

    Args:
        pf: The point's parameter file (its ``lif`` is the intended neuron).
        candidate: The realisation's :class:`~lifhw.core.Trace`.
        metrics: Wanted names (others are ignored).
        reference: Golden trace (simulated when None).
    """
    from lifhw.compare import compare

    out: dict[str, float] = {}
    if "rate_hz" in metrics:
        out["rate_hz"] = candidate.rate_hz()
    if "n_spikes" in metrics:
        out["n_spikes"] = float(len(candidate.spike_times))
    wanted = {"isi_error", "rate_error", "tau_error", "tau_s"} & set(metrics)
    if wanted:
        ref = _golden_trace(pf) if reference is None else reference
        result = compare(ref, candidate)
        if "isi_error" in metrics:
            out["isi_error"] = result.isi_error
        if "rate_error" in metrics:
            out["rate_error"] = result.rate_error
        if "tau_s" in metrics:
            out["tau_s"] = result.tau_cand_s
        if "tau_error" in metrics:
            out["tau_error"] = result.tau_error
    return out


def fit_tau(trace: Any, t_ref: float = 0.0) -> float:
    """Effective membrane time constant (s) fitted to the trace's first full ISI.

    Between two spikes under constant drive the LIF membrane follows
    ``V(t) = V_inf + (V_0 - V_inf) exp(-t / tau)``; the segment after the first
    spike (refractory period and 10 % margins skipped) is fitted for ``V_inf``,
    ``V_0`` and ``tau`` (:func:`lifhw.analog.characterise.fit_exponential`). For a
    nonlinear (tanh-OTA) leak this is the linear LIF that best matches the
    charging curve. NaN without two spikes or membrane data.
    """
    import numpy as np

    from lifhw.analog.characterise import fit_exponential

    spikes = np.sort(np.asarray(trace.spike_times, dtype=float))
    t, v = np.asarray(trace.t), np.asarray(trace.membrane) if len(trace.v) else np.zeros(0)
    if len(spikes) < 2 or len(v) != len(t) or len(t) < 10:
        return math.nan
    start, stop = spikes[0] + t_ref, spikes[1]
    span = stop - start
    sel = (t > start + 0.1 * span) & (t < stop - 0.1 * span)
    if sel.sum() < 8:
        return math.nan
    try:
        tau = fit_exponential(t[sel] - t[sel][0], v[sel]).tau
    except ValueError:
        return math.nan
    return tau if math.isfinite(tau) and tau > 0 else math.nan


def evaluate_golden(pf: ParamFile, metrics: Sequence[str]) -> dict[str, float]:
    """The golden model of the point (exact integration, precise spike times).

    ``isi_error``/``rate_error`` compare the simulated steady ISI with the
    closed-form f-I ISI at the stimulus' final current level (a check of the
    integrator, ~1e-12); ``area_um2`` is the sky130 layout of a neuron whose MIM
    capacitor realises the neuron's C; ``capacitor_energy_j`` is
    ``C (v_th - v_reset)^2 / 2``, the least energy the membrane swing costs.
    """
    from lifhw.golden.fi import lif_isi

    lif = pf.lif
    trace = _golden_trace(pf)
    out: dict[str, float] = {}
    if "rate_hz" in metrics:
        out["rate_hz"] = trace.rate_hz()
    if "n_spikes" in metrics:
        out["n_spikes"] = float(len(trace.spike_times))
    if "tau_s" in metrics:
        out["tau_s"] = lif.tau_m
    if "tau_error" in metrics:
        out["tau_error"] = 0.0
    if {"isi_error", "rate_error"} & set(metrics):
        isi = trace.isi()
        theory = float(lif_isi(_final_current(pf.require("stimulus")), lif))
        measured = float(isi[-1]) if len(isi) else math.nan
        err = (measured - theory) / theory if math.isfinite(theory) and len(isi) else math.nan
        if "isi_error" in metrics:
            out["isi_error"] = err
        if "rate_error" in metrics:
            out["rate_error"] = (1 / (1 + err) - 1) if math.isfinite(err) else math.nan
    if "area_um2" in metrics:
        from lifhw.layout import neuron_area_um2

        out["area_um2"] = neuron_area_um2(capacitance=lif.c_m)
    if "capacitor_energy_j" in metrics:
        out["capacitor_energy_j"] = 0.5 * lif.c_m * (lif.v_th - lif.v_reset) ** 2
    return out


def _flow_missing(flow: str, module: str, err: ImportError) -> LifhwError:
    return LifhwError(f"the {flow} backend is not available in this installation "
                      f"({module} cannot be imported: {err})")


def evaluate_ngspice(pf: ParamFile, metrics: Sequence[str]) -> dict[str, float]:
    """ngspice simulation of the point's ``[circuit]`` (behavioural or sky130 topology).

    The analog flow's backend runs ngspice in its own process group with a
    timeout; the trimmed sky130 model file is generated once per worker and
    reused. ``energy_per_spike_j`` comes from the supply current the backend
    integrates; ``area_um2`` from :func:`lifhw.layout.area_from_circuit`.
    """
    try:
        from lifhw.analog import backends as analog
    except ImportError as err:
        raise _flow_missing("ngspice", "lifhw.analog.backends", err) from None
    circuit = pf.require("circuit")
    trace = analog.simulate(pf.name, circuit, pf.require("stimulus"), source=pf.source).trace
    if {"tau_s", "tau_error"} & set(metrics) and "tau_s" not in trace.meta:
        trace = trace.with_meta(tau_s=fit_tau(trace, circuit.refractory))
    out = trace_metrics(pf, trace, metrics)
    if {"tau_step_s", "tau_step_error"} & set(metrics):
        # The analog flow's small-signal measurement: response to a step of 2 % of I_b.
        from lifhw.analog.characterise import leak_step

        tau_step = leak_step(pf.name, circuit)[0]
        if "tau_step_s" in metrics:
            out["tau_step_s"] = tau_step
        if "tau_step_error" in metrics:
            out["tau_step_error"] = tau_step / circuit.tau_m - 1.0
    if "energy_per_spike_j" in metrics:
        out["energy_per_spike_j"] = float(trace.meta.get("energy_per_spike_j", math.nan))
    if "area_um2" in metrics:
        from lifhw.layout import area_from_circuit

        out["area_um2"] = area_from_circuit(pf)
    return out


def _sample_current(stimulus: Any, dt: float, n_steps: int) -> Any:
    """Stimulus current (A) held over each step ``[k dt, (k+1) dt)`` (the RTL flow's sampling)."""
    from lifhw.digital.run import held_current

    return held_current(stimulus, dt, n_steps)


def _warm_ngspice() -> None:
    """Find ngspice and write the trimmed sky130 model file (tt) once per worker."""
    from lifhw import tools

    tools.which("ngspice")
    try:
        from lifhw.analog import models
    except ImportError:
        return
    models.trimmed_model_path("tt")


evaluate_ngspice.warm_up = _warm_ngspice  # type: ignore[attr-defined]


def evaluate_rtl(pf: ParamFile, metrics: Sequence[str]) -> dict[str, float]:
    """The point's fixed-point ``[core]`` simulated as RTL (Verilator), vs the golden LIF.

    The ``[stimulus]`` current is sampled once per core step (``core.dt``) and
    converted to integer input LSBs (:meth:`FixedLIF.current_to_input`, saturated
    to ``w_i`` bits); the spikes of the generated Verilog make the candidate trace
    (spike at the end of its step), compared with the golden model of the LIF the
    core realises (``core.lif()``, dequantised). ``gate_equivalents``/``cells``
    come from the digital flow's yosys synthesis.
    """
    try:
        from lifhw.digital import run as rtl_run
    except ImportError as err:
        raise _flow_missing("rtl", "lifhw.digital.run", err) from None
    out: dict[str, float] = {}
    trace_wanted = set(metrics) - set(_AREA_METRICS)
    if trace_wanted:
        trace = rtl_run.stimulus_trace(pf)
        out.update(trace_metrics(pf, trace, metrics))
        if "tau_error" in metrics:
            out["tau_error"] = 0.0  # the reference is the LIF the core realises
    if set(_AREA_METRICS) & set(metrics):
        try:
            synth = importlib.import_module("lifhw.digital.synth")
        except ImportError as err:
            raise _flow_missing("rtl area", "lifhw.digital.synth", err) from None
        area = synth.synthesize(pf)
        values = {"gate_equivalents": float(area.gate_equivalents),
                  "cells": float(area.logic_cells + area.flip_flops),
                  "flip_flops": float(area.flip_flops),
                  "memory_bits": float(area.memory_bits)}
        out.update({name: values[name] for name in _AREA_METRICS if name in metrics})
    return out


def _evaluate_chip(chip: str, pf: ParamFile, metrics: Sequence[str]) -> dict[str, float]:
    """Map, simulate and compare a ``[network]`` on one chip (:mod:`lifhw.chips.report`).

    ``rate_hz``/``isi_error``/``rate_error``/``n_spikes`` compare the whole
    network's trace with the float golden network on the same input spikes;
    ``tau_s``/``tau_error`` are the realised membrane tau of the first population
    and the largest relative tau deviation; ``energy_per_spike_j`` is the chip's
    published-figure energy estimate divided by the spikes it fired;
    ``cores_used``/``chips_used``/``core_spikes_per_s``/``chip_spikes_per_s``
    come from the chip's ``place`` at the rates its run measured.
    """
    try:
        from lifhw.chips.report import evaluate_chip
        from lifhw.golden.network import simulate_network
    except ImportError as err:
        raise _flow_missing(chip, "lifhw.chips.report", err) from None
    section = pf.require("network")
    network, spikes = section.network(pf.name), section.input_spikes()
    golden = simulate_network(network, spikes)
    result = evaluate_chip(chip, network, spikes, golden)
    if result.metrics is None:
        raise LifhwError(f"{chip}: {result.error}")
    m = result.metrics
    taus = [d for d in result.deviations if d.parameter == "tau_m"]
    values = {
        "rate_hz": m.rate_cand_hz, "n_spikes": float(m.n_spikes_cand),
        "isi_error": m.isi_error, "rate_error": m.rate_error,
        "tau_s": float(taus[0].realised) if taus else math.nan,
        "tau_error": max((float(d.error) for d in taus), default=math.nan),
        "energy_per_spike_j": (result.energy.total_j / m.n_spikes_cand
                               if result.energy is not None and m.n_spikes_cand else math.nan),
        "rate_correlation": m.rate_correlation, "count_error": m.count_error,
    }
    if any(name in _PLACEMENT_METRICS for name in metrics) and result.config is not None \
            and result.run is not None:
        from lifhw.chips.placement import rates_of
        from lifhw.network import split_inputs

        placement = CHIPS.get(chip).place(
            result.config.spec,
            rates_hz=rates_of(result.run, split_inputs(network, spikes)))
        values.update({"cores_used": float(placement.cores_used),
                       "chips_used": float(placement.chips_used),
                       "core_spikes_per_s": placement.core_spikes_per_s,
                       "chip_spikes_per_s": placement.chip_spikes_per_s})
    return {name: values[name] for name in metrics if name in values}


def chip_backend(chip: str) -> Evaluator:
    """The sweep backend of a chip target: :func:`_evaluate_chip` bound to ``chip``."""
    def evaluate(pf: ParamFile, metrics: Sequence[str]) -> dict[str, float]:
        return _evaluate_chip(chip, pf, metrics)

    evaluate.__name__ = evaluate.__qualname__ = f"evaluate_{chip}"
    evaluate.__doc__ = f"Bit-accurate {chip} simulation of the point's ``[network]``."
    return evaluate


# One backend per chip target (the ``rtl`` backend is the point's own ``[core]``).
for _name in CHIPS.names(kind="chip"):
    BACKENDS.add(_name, chip_backend(_name))
