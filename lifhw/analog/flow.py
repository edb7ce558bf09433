"""Analog versus golden: simulate a circuit, characterise it, compare, plot.

:func:`compare_circuit` is what ``lifhw compare`` and the demo run:

1. simulate the circuit's netlist under its stimulus (ngspice) -> analog trace;
2. characterise the circuit (:mod:`lifhw.analog.characterise`, or the topology's
   own characterisation where it registers one): measured tau,
   fitted I_b/kappa/offset, calibrated threshold and refractory time;
3. simulate the tanh golden model (:mod:`lifhw.golden.ota`) twice -- with the
   nominal parameters of the file and with the extracted ones -- and compare
   each with :func:`lifhw.compare.compare` (rate, ISI, spike-time errors,
   membrane RMSE over aligned traces); tau error is measured tau against the
   nominal ``C / g_m``;
4. a few f-I points simulated at multiples of the rheobase, to lie on the
   golden f-I curve in the figure (:func:`plot_comparison`).

The golden the headline metrics use is the topology record's ``golden``:
``nominal`` for the behavioural topology (the netlist is meant to realise the
file exactly) and ``calibrated`` for transistor-level ones (whose kappa, offset
and threshold are only known after measuring them); both sets are always
reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lifhw.analog.backends import RunConfig, simulate
from lifhw.analog.characterise import Characterisation, characterise_topology, isi_at
from lifhw.analog.params import CircuitSection
from lifhw.analog.topology import get_topology
from lifhw.compare import Metrics, compare
from lifhw.core import Trace
from lifhw.golden import ota
from lifhw.stimulus import Stimulus

#: f-I points simulated by default, in multiples of the nominal tanh rheobase.
FI_MULTIPLES = (1.5, 3.0, 6.0, 12.0)


@dataclass(frozen=True, eq=False)
class FlowResult:
    """Everything ``lifhw compare`` reports."""

    name: str
    circuit: CircuitSection
    stimulus: Stimulus
    backend: str
    netlist: str
    analog: Trace
    golden: Trace
    golden_kind: str
    metrics: Metrics
    metrics_nominal: Metrics
    metrics_calibrated: Metrics | None
    characterisation: Characterisation | None
    tau_nominal_s: float
    tau_measured_s: float
    nominal: ota.OTANeuron
    calibrated: ota.OTANeuron | None
    fi_currents_a: tuple[float, ...] = ()
    fi_rates_hz: tuple[float, ...] = ()
    linear_range: ota.LinearRangeReport | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tau_error(self) -> float:
        """(measured - nominal) / nominal tau."""
        return self.tau_measured_s / self.tau_nominal_s - 1.0

    def summary(self) -> dict[str, Any]:
        """JSON-ready result."""
        def short(m: Metrics | None) -> dict[str, Any] | None:
            if m is None:
                return None
            return {"rate_error": m.rate_error, "isi_error": m.isi_error,
                    "spike_time_error_s": m.spike_time_error_s, "v_rmse_v": m.v_rmse_v,
                    "n_spikes_golden": m.n_spikes_ref, "n_spikes_analog": m.n_spikes_cand}

        m = self.metrics
        out: dict[str, Any] = {
            "name": self.name, "topology": self.circuit.topology, "backend": self.backend,
            "golden": self.golden_kind,
            "rate_hz": self.analog.rate_hz(), "rate_golden_hz": self.golden.rate_hz(),
            "rate_error": m.rate_error, "isi_error": m.isi_error,
            "tau_s": self.tau_measured_s, "tau_nominal_s": self.tau_nominal_s,
            "tau_error": self.tau_error,
            "spike_time_error_s": m.spike_time_error_s,
            "spike_time_max_error_s": m.spike_time_max_error_s,
            "v_rmse_v": m.v_rmse_v, "v_rmse_subthreshold_v": m.v_rmse_subthreshold_v,
            "v_rmse_aligned_v": aligned_rmse(self.golden, self.analog),
            "n_spikes": m.n_spikes_cand, "n_spikes_golden": m.n_spikes_ref,
            "vs_nominal": short(self.metrics_nominal),
            "vs_calibrated": short(self.metrics_calibrated),
            "metrics": m.to_dict(),
        }
        if "energy_per_spike_j" in self.analog.meta:
            out["energy_per_spike_j"] = self.analog.meta["energy_per_spike_j"]
        if self.characterisation is not None:
            out["characterisation"] = self.characterisation.summary()
        if self.linear_range is not None:
            out["linear_range"] = self.linear_range.lines()
        if "psp" in self.extra:
            out["psp"] = self.extra["psp"]
        out["fi"] = {"currents_a": list(self.fi_currents_a), "rate_hz": list(self.fi_rates_hz),
                     "rate_golden_hz": [float(ota.ota_rate(i, self.reference_neuron))
                                        for i in self.fi_currents_a]}
        return out

    @property
    def reference_neuron(self) -> ota.OTANeuron:
        """The golden model of the headline metrics."""
        if self.golden_kind == "calibrated" and self.calibrated is not None:
            return self.calibrated
        return self.nominal


def aligned_rmse(reference: Trace, candidate: Trace) -> float:
    """Membrane RMSE (V) with every inter-spike interval aligned at its opening spike.

    Whole-run RMSE grows with accumulated spike-time drift (a 1 % ISI error puts the
    25th spike a quarter ISI off), so each candidate interval k is shifted onto the
    reference interval k (both starting at their k-th spike) and compared over the
    shorter of the two with :func:`lifhw.compare.compare`; the result is the
    duration-weighted RMS. The stretch before the first spike is aligned at t = 0.
    Falls back to the whole-run RMSE when there are no spikes.
    """
    ref_spikes, cand_spikes = reference.spikes(), candidate.spikes()
    n = min(len(ref_spikes), len(cand_spikes))
    if n == 0:
        return compare(reference, candidate).v_rmse_v
    starts_ref = np.concatenate([[0.0], ref_spikes[:n]])
    starts_cand = np.concatenate([[0.0], cand_spikes[:n]])
    ends_ref = np.concatenate([ref_spikes[:n], [reference.t_stop]])
    ends_cand = np.concatenate([cand_spikes[:n], [candidate.t_stop]])
    total, weight = 0.0, 0.0
    for a_r, b_r, a_c, b_c in zip(starts_ref, ends_ref, starts_cand, ends_cand, strict=True):
        length = min(b_r - a_r, b_c - a_c)
        if length <= 0:
            continue
        pieces = []
        for trace, start in ((reference, a_r), (candidate, a_c)):
            mask = (trace.t >= start) & (trace.t < start + length)
            pieces.append(Trace(t=trace.t[mask] - start, v=trace.membrane[mask],
                                spike_times=np.array([]), t_stop=length))
        if len(pieces[0].t) < 2 or len(pieces[1].t) < 2:
            continue
        rmse = compare(pieces[0], pieces[1], spike_window=0.0).v_rmse_v
        if math.isfinite(rmse):
            total += rmse**2 * length
            weight += length
    return math.sqrt(total / weight) if weight > 0 else math.nan


def golden_trace(neuron: ota.OTANeuron, stimulus: Stimulus, *, tau_s: float,
                 isi_hint: float | None = None, v0: float | None = None) -> Trace:
    """Golden tanh-model trace sampled finely enough for membrane comparisons.

    Args:
        neuron: The golden model.
        stimulus: The input.
        tau_s: Reference time constant recorded in ``meta["tau_s"]`` (s).
        isi_hint: Expected ISI (s), to choose the sampling interval.
        v0: Initial membrane (V): the circuit's own v(0), so both start alike (a
            netlist may hold vm at V_L with ``.ic`` while an offset moves the
            model's equilibrium).
    """
    dt = stimulus.dt
    if isi_hint is not None and math.isfinite(isi_hint):
        dt = min(dt, isi_hint / 400.0)
    dt = max(dt, stimulus.t_stop / 200_000)
    return ota.simulate(neuron, stimulus, dt=dt, v0=v0).with_meta(tau_s=tau_s)


def psp_closed_form(weight: float, r_m: float, tau_m: float, tau_s: float
                    ) -> tuple[float, float]:
    """Peak (V) and its time (s) of the current-synapse PSP of the linear LIF.

    A jump ``w`` decaying with ``tau_s`` into a membrane ``(r_m, tau_m)`` at rest
    gives ``V(t) = w r_m tau_s / (tau_s - tau_m) (exp(-t/tau_s) - exp(-t/tau_m))``,
    peaking at ``t* = tau_m tau_s ln(tau_s / tau_m) / (tau_s - tau_m)``
    (``t* = tau``, ``V = w r_m / e`` when the two are equal).
    """
    if math.isclose(tau_m, tau_s, rel_tol=1e-9):
        return weight * r_m / math.e, tau_m
    t_peak = tau_m * tau_s * math.log(tau_s / tau_m) / (tau_s - tau_m)
    peak = weight * r_m * tau_s / (tau_s - tau_m) * (math.exp(-t_peak / tau_s)
                                                     - math.exp(-t_peak / tau_m))
    return peak, t_peak


def _window_peak(trace: Trace, start: float, stop: float, sign: float) -> float:
    mask = (trace.t >= start) & (trace.t <= stop)
    if mask.sum() < 3:
        return math.nan
    base = float(np.interp(start, trace.t, trace.membrane))
    excursion = (trace.membrane[mask] - base) * sign
    return float(sign * np.max(excursion))


def fit_event_response(t: np.ndarray, current: np.ndarray, t_event: float,
                       tau_guess: float, *, stop: float = 3.0) -> tuple[float, float]:
    """``(A, tau)`` of ``A exp(-(t - t_event) / tau)`` fitted to a synaptic current.

    Log-linear least squares over ``t_event + 0.2 tau_guess`` to ``t_event + stop
    tau_guess`` (after the output transconductor has settled, while the current is
    well above the solver's noise). ``A`` is the jump at the event that the golden
    current synapse would need to produce the same decay.
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(current, dtype=float)
    mask = (t >= t_event + 0.2 * tau_guess) & (t <= t_event + stop * tau_guess) & (y > 0)
    if mask.sum() < 5:
        return math.nan, math.nan
    slope, intercept = np.polyfit(t[mask] - t_event, np.log(y[mask]), 1)
    if slope >= 0:
        return math.nan, math.nan
    return float(math.exp(intercept)), float(-1.0 / slope)


def psp_metrics(analog: Trace, golden: Trace, stimulus: Stimulus, circuit: CircuitSection,
                vectors: Any, neuron: ota.OTANeuron) -> dict[str, Any]:
    """PSP peak and synaptic decay of the first isolated event of each sign.

    An event is isolated when no other input event and no output spike of either
    run falls within ``6 max(tau_syn, tau_m)`` after it. Reported per sign
    (``exc``/``inh``): the PSP peak of ngspice and golden (relative to the
    membrane at the event), the linear-LIF closed form (:func:`psp_closed_form`
    with the golden's ``r_m = 1 / g_m``, ``tau_m = C / g_m``), their errors, and
    the decay time constant of the synaptic current ``i(visyn_<e|i>)`` against
    the nominal ``tau_syn`` and the jump it extrapolates to at the event
    (:func:`fit_event_response`).
    """
    from lifhw.analog import synapse as syn

    times, weights = stimulus.input_spikes()
    spikes = np.concatenate([analog.spikes(), golden.spikes()])
    out: dict[str, Any] = {}
    for sign, factor in syn.SIGNS.items():
        tau_s = syn.tau_of(circuit, sign)
        if tau_s <= 0:
            continue
        window = 6.0 * max(tau_s, neuron.tau_m)
        for k in np.flatnonzero(weights * factor > 0):
            start = float(times[k])
            stop = start + window
            others = np.delete(times, k)
            if (stop > stimulus.t_stop or np.any((others >= start) & (others < stop))
                    or np.any((spikes >= start) & (spikes < stop))):
                continue
            peak_a = _window_peak(analog, start, stop, factor)
            peak_g = _window_peak(golden, start, stop, factor)
            closed, t_peak = psp_closed_form(float(weights[k]), 1.0 / neuron.g_m,
                                             neuron.tau_m, tau_s)
            entry: dict[str, Any] = {
                "t_event_s": start, "weight_a": float(weights[k]),
                "peak_v": peak_a, "peak_golden_v": peak_g, "peak_closed_form_v": closed,
                "t_peak_closed_form_s": t_peak,
                "peak_error": peak_a / peak_g - 1.0,
                "peak_error_closed_form": peak_a / closed - 1.0,
                "tau_syn_nominal_s": tau_s,
            }
            key = f"i(visyn_{sign[0]})"
            if key in vectors:
                t = np.asarray(vectors["time"])
                current = np.asarray(vectors[key])
                base = float(np.interp(start - 0.01 * tau_s, t, current))
                # Up to 1.5 tau: the current stays > 20 % of the jump, so a baseline
                # that moves with the membrane (tens of fA on transistor netlists)
                # cannot bend the log-fit.
                jump, tau = fit_event_response(t, factor * (current - base), start, tau_s,
                                               stop=1.5)
                entry["tau_syn_s"] = tau
                entry["tau_syn_error"] = tau / tau_s - 1.0
                entry["jump_a"] = factor * jump
            out[sign] = entry
            break
    return out


def fi_points(name: str, circuit: CircuitSection, currents: Sequence[float], *,
              backend: str = "batch", config: RunConfig | None = None,
              **options: Any) -> tuple[float, ...]:
    """Simulated firing rates (Hz, from the mean ISI) at constant currents (A)."""
    rates = []
    for current in currents:
        isi, _, _ = isi_at(name, circuit, current, backend=backend, config=config, **options)
        rates.append(1.0 / isi)
    return tuple(rates)


def compare_circuit(name: str, circuit: CircuitSection, stimulus: Stimulus, *,
                    source: str = "", backend: str = "batch", golden: str = "auto",
                    fi_multiples: Sequence[float] = FI_MULTIPLES,
                    config: RunConfig | None = None, **options: Any) -> FlowResult:
    """Simulate, characterise and compare a circuit with the golden tanh model.

    Args:
        name: Design name.
        circuit: The ``[circuit]`` section.
        stimulus: The ``[stimulus]`` section (current kinds only).
        source: Parameter file path (netlist provenance).
        backend: ``batch`` or ``shared``.
        golden: ``nominal``, ``calibrated`` or ``auto`` (nominal for behavioural).
        fi_multiples: f-I points to simulate, in multiples of the nominal rheobase.
        config: Run configuration.
        **options: Passed to the topology generator.
    """
    sim = simulate(name, circuit, stimulus, backend=backend, config=config, source=source,
                   **options)
    ch = characterise_topology(name, circuit, backend=backend, config=config, **options)
    nominal = ota.OTANeuron.from_circuit(circuit)
    calibrated = ch.neuron(circuit, calibrated_threshold=True)
    analog = sim.trace.with_meta(tau_s=ch.tau_s)
    isi_hint = float(np.mean(np.diff(analog.spike_times))) if len(analog.spike_times) > 1 \
        else None
    tau_nominal = circuit.tau_m
    v0 = float(analog.membrane[0])
    gold_nominal = golden_trace(nominal, stimulus, tau_s=tau_nominal, isi_hint=isi_hint,
                                v0=v0)
    gold_calibrated = golden_trace(calibrated, stimulus, tau_s=tau_nominal, isi_hint=isi_hint,
                                   v0=v0)
    metrics_nominal = compare(gold_nominal, analog)
    metrics_calibrated = compare(gold_calibrated, analog)
    kind = golden if golden != "auto" else get_topology(circuit.topology).golden
    currents = tuple(m * nominal.rheobase for m in fi_multiples)
    rates = fi_points(name, circuit, currents, backend=backend, config=config, **options)
    i_mean = float(np.mean(stimulus.segments()[1]))
    extra: dict[str, Any] = {}
    if stimulus.kind in ("spikes", "poisson"):
        reference = nominal if kind == "nominal" else calibrated
        gold = gold_nominal if kind == "nominal" else gold_calibrated
        extra["psp"] = psp_metrics(analog, gold, stimulus, circuit, sim.output, reference)
    return FlowResult(
        name=name, circuit=circuit, stimulus=stimulus, backend=backend, netlist=sim.netlist,
        analog=analog, golden=gold_nominal if kind == "nominal" else gold_calibrated,
        golden_kind=kind,
        metrics=metrics_nominal if kind == "nominal" else metrics_calibrated,
        metrics_nominal=metrics_nominal, metrics_calibrated=metrics_calibrated,
        characterisation=ch, tau_nominal_s=tau_nominal, tau_measured_s=ch.tau_s,
        nominal=nominal, calibrated=calibrated, fi_currents_a=currents, fi_rates_hz=rates,
        linear_range=ota.linear_range_report(nominal, i_mean if i_mean > 0 else None),
        extra={**extra, "validity_warning": _validity(sim.output, circuit)})


def _validity(output: Any, circuit: CircuitSection) -> str | None:
    """Warning line when a transistor-level circuit's refractory period left its file's."""
    if circuit.topology == "behavioral":
        return None
    from lifhw.analog.design import refractory_check

    return refractory_check(output, circuit)


def plot_comparison(result: FlowResult, path: str | Path, *, window_isis: int = 5) -> Path:
    """One figure: both membrane traces, their difference, the f-I curves.

    Args:
        result: From :func:`compare_circuit`.
        path: Output image (PNG/SVG/PDF by suffix), written atomically.
        window_isis: How many golden ISIs of the traces to show.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifhw.io import save_figure

    analog, gold = result.analog, result.golden
    isi = result.metrics.isi_ref_s
    t_end = gold.t_stop
    if math.isfinite(isi):
        first = gold.spikes()[0] if len(gold.spikes()) else 0.0
        t_end = min(gold.t_stop, first + window_isis * isi)
    fig, axes = plt.subplots(3, 1, figsize=(8, 9), constrained_layout=True)
    ax = axes[0]
    mask_g = gold.t <= t_end
    mask_a = analog.t <= t_end
    ax.plot(gold.t[mask_g] * 1e3, gold.membrane[mask_g] * 1e3, lw=2.2, color="0.7",
            label=f"golden tanh model ({result.golden_kind})")
    ax.plot(analog.t[mask_a] * 1e3, analog.membrane[mask_a] * 1e3, lw=1.0, color="C0",
            label=f"ngspice, {result.circuit.topology}")
    ax.axhline(result.reference_neuron.v_th * 1e3, color="C3", lw=0.8, ls=":",
               label=f"V_th of the golden ({result.reference_neuron.v_th * 1e3:.2f} mV)")
    ax.set_ylabel("v_m (mV)")
    ax.set_xlabel("t (ms)")
    m = result.metrics
    ax.set_title(f"{result.name}: ISI error {m.isi_error * 100:+.3f} %, tau error "
                 f"{result.tau_error * 100:+.3f} %, rate {m.rate_cand_hz:.2f} Hz")
    ax.legend(loc="lower right", fontsize=8)
    ax = axes[1]
    diff = np.interp(gold.t[mask_g], analog.t, analog.membrane) - gold.membrane[mask_g]
    ax.plot(gold.t[mask_g] * 1e3, diff * 1e3, color="C1", lw=0.8)
    ax.set_ylabel("analog - golden (mV)")
    ax.set_xlabel("t (ms)")
    ax.set_title(f"membrane RMSE {m.v_rmse_v * 1e3:.3f} mV (run), "
                 f"{aligned_rmse(gold, analog) * 1e3:.3f} mV (ISI-aligned); spike times "
                 f"±{m.spike_time_error_s * 1e6:.1f} us", fontsize=10)
    ax = axes[2]
    neuron = result.reference_neuron
    top = max([*result.fi_currents_a, 4 * neuron.rheobase])
    grid = np.linspace(0.0, 1.1 * top, 300)
    ax.plot(grid * 1e12, ota.ota_rate(grid, neuron), color="0.5", lw=2,
            label="golden tanh model")
    from lifhw.golden.fi import lif_rate

    ax.plot(grid * 1e12, lif_rate(grid - neuron.offset_current, neuron.lif()),
            color="0.5", ls="--", lw=1, label="linear LIF (same g_m)")
    ax.plot(np.array(result.fi_currents_a) * 1e12, result.fi_rates_hz, "o", color="C0",
            label="ngspice")
    ax.set_xlabel("input current (pA)")
    ax.set_ylabel("rate (Hz)")
    ax.set_title("f-I curve")
    ax.legend(fontsize=8)
    out = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return out
