"""Characterisation: g_m, kappa, offset, tau and threshold measured on the circuit.

Works on any topology through the node contract of :mod:`lifhw.analog.netlist`
(membrane ``vm``, output ``spike``, input ``IIN`` and the marked stimulus and
analysis blocks), so the behavioural and the sky130 netlists are measured the
same way. Each measurement generates the topology's netlist, swaps the marked
blocks (:func:`lifhw.analog.netlist.replace_block`) and runs it on a backend.

API (all values SI)::

    ch = characterise("demo", circuit)                 # -> Characterisation
    ch = characterise_topology("demo", circuit)        # the topology record's own, if any
    ch.kappa, ch.bias_current_a, ch.offset_current_a, ch.g_m_s, ch.tau_s,
    ch.capacitance_f, ch.v_threshold_eff_v, ch.t_ref_s
    ch.neuron(circuit)   # calibrated lifhw.golden.ota.OTANeuron (tanh model)
    ch.lif(circuit)      # calibrated linear LIFParams

    v, i = ota_transfer("demo", circuit)      # DC: leak current i(v) with vm forced
    fit = fit_tanh(v, i, v_rest, u_t)         # -> (I_b, kappa, I_os, rms)
    tau, t, v = leak_step("demo", circuit)    # small step below rheobase, exp. fit
    fit = fit_exponential(t, v)               # the one exponential fit (also sweeps)
    thr = effective_threshold("demo", circuit, currents, neuron=...)  # from the ISI

Method:

* **OTA transfer curve** (DC): the stimulus block becomes a voltage source
  ``VFORCE vm 0`` swept over ``V_L +- 3*2U_T/kappa`` with the spike logic
  disabled (generator option ``spiking=False``); the leak is ``-i(VFORCE)``.
  Fitted to ``I_b tanh(kappa (v - V_L)/2U_T) + I_os`` (least squares, scipy); the
  small-signal ``g_m = kappa I_b / 2U_T``.
* **Leak step response** (transient): a current step ``0.02 I_b`` (a 1.5 mV
  response at kappa = 0.7, where tanh is linear to 1e-4) from rest; ``v(t)`` after
  the step is fitted to ``v_0 + A (1 - exp(-(t - t_0)/tau))``. ``C = tau g_m``.
* **Effective threshold**: transients at constant currents above rheobase; the
  mean ISI is matched by the tanh golden model (with the extracted I_b, kappa,
  I_os, C and the measured refractory time = width of the ``spike`` pulse) by
  solving for V_th (brentq). This absorbs comparator offset and latency, which
  move with input current at transistor level (TOOLCHAIN.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lifhw.analog import netlist as nl
from lifhw.analog.backends import RunConfig, SimOutput, default_config, get_backend
from lifhw.analog.params import CircuitSection
from lifhw.analog.topology import get_topology
from lifhw.core import LIFParams
from lifhw.errors import SimulationError
from lifhw.golden.ota import OTANeuron, ota_gm, ota_isi
from lifhw.stimulus import Stimulus
from lifhw.units import thermal_voltage

#: Step amplitude of the leak step response, relative to I_b.
STEP_FRACTION = 0.02


def _run(text: str, circuit: CircuitSection, backend: str,
         config: RunConfig | None) -> SimOutput:
    return get_backend(backend, default_config(circuit, config)).run(text)


def transfer_netlist(name: str, circuit: CircuitSection, v_start: float, v_stop: float,
                     points: int = 121, **options: Any) -> str:
    """The topology's netlist with ``vm`` forced by ``VFORCE`` and a DC sweep."""
    quiet = Stimulus(kind="constant", amplitude=0.0, t_stop=1e-3, dt=1e-5)
    text = nl.generate(name, circuit, quiet, **{**options, "spiking": False})
    n = nl.spice_number
    step = (v_stop - v_start) / (points - 1)
    text = nl.replace_block(text, nl.STIMULUS_BEGIN, nl.STIMULUS_END,
                            [f"VFORCE vm 0 DC {n(v_start)}"])
    analysis = [".options " + " ".join(f"{k}={n(v)}" for k, v in nl.TOLERANCES.items()),
                f".dc VFORCE {n(v_start)} {n(v_stop)} {n(step)}"]
    if get_topology(circuit.topology).supply:
        analysis.append(".save i(VFORCE) i(VDD)")
    else:
        analysis.append(".save i(VFORCE)")
    return nl.replace_block(text, nl.ANALYSIS_BEGIN, nl.ANALYSIS_END, analysis)


def ota_transfer(name: str, circuit: CircuitSection, *, v_start: float | None = None,
                 v_stop: float | None = None, points: int = 121, backend: str = "batch",
                 config: RunConfig | None = None,
                 **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Leak current (A) out of ``vm`` versus forced ``vm`` (V), by a DC sweep.

    Args:
        name: Design name.
        circuit: The circuit.
        v_start: Lowest forced voltage (V); default ``V_L - 3 * 2U_T/kappa`` (>= 0).
        v_stop: Highest (V); default ``V_L + 3 * 2U_T/kappa`` (<= supply). The
            spike logic is disabled (``spiking=False``) during the sweep.
        points: Number of sweep points.
        backend: ``batch`` or ``shared``.
        config: Run configuration.
        **options: Passed to the topology generator.
    """
    lo = max(0.0, circuit.v_rest - 3.0 * circuit.linear_range) if v_start is None else v_start
    hi = (min(circuit.supply, circuit.v_rest + 3.0 * circuit.linear_range)
          if v_stop is None else v_stop)
    out = _run(transfer_netlist(name, circuit, lo, hi, points, **options), circuit,
               backend, config)
    v = out["sweep"]
    current = -out["i(vforce)"]
    return np.asarray(v), np.asarray(current)


@dataclass(frozen=True)
class TanhFit:
    """``I_b tanh(kappa (v - V_L) / 2U_T) + I_os`` fitted to a transfer curve."""

    bias_current: float
    kappa: float
    offset_current: float
    rms_residual: float
    u_t: float

    @property
    def g_m(self) -> float:
        """Small-signal transconductance kappa I_b / 2U_T (S)."""
        return ota_gm(self.bias_current, self.kappa, self.u_t)


def fit_tanh(v: np.ndarray, current: np.ndarray, v_rest: float, u_t: float, *,
             kappa_guess: float = 0.7) -> TanhFit:
    """Least-squares fit of the OTA transfer curve.

    Args:
        v: Forced membrane voltages (V).
        current: Leak currents (A).
        v_rest: Follower reference V_L (V).
        u_t: Thermal voltage (V).
        kappa_guess: Starting value of kappa.
    """
    from scipy.optimize import least_squares

    scale = max(float(np.max(np.abs(current))), 1e-30)
    x = np.asarray(v, dtype=float) - v_rest
    y = np.asarray(current, dtype=float) / scale

    def residual(p: np.ndarray) -> np.ndarray:
        ib, kappa, ios = p
        return ib * np.tanh(kappa * x / (2.0 * u_t)) + ios - y

    result = least_squares(residual, x0=[1.0, kappa_guess, 0.0],
                           bounds=([1e-6, 1e-3, -1.0], [1e3, 1.5, 1.0]),
                           xtol=1e-14, ftol=1e-14, gtol=1e-14)
    ib, kappa, ios = result.x
    rms = float(np.sqrt(np.mean(result.fun**2))) * scale
    return TanhFit(bias_current=float(ib) * scale, kappa=float(kappa),
                   offset_current=float(ios) * scale, rms_residual=rms, u_t=u_t)


@dataclass(frozen=True)
class ExpFit:
    """``v(t) = v_start + (v_final - v_start) (1 - exp(-t / tau))``, t from 0 (SI)."""

    tau: float
    v_start: float
    v_final: float


def fit_exponential(t: np.ndarray, v: np.ndarray, *, v_start: float | None = None,
                    tau_guess: float | None = None) -> ExpFit:
    """Least-squares fit of a single exponential relaxation (the one fit of lifhw).

    Used for the leak step response (:func:`leak_step`, ``v_start`` known from the
    resting membrane) and for the charging curve between two spikes in sweeps
    (:func:`lifhw.sweep.backends.fit_tau`, all three free).

    Args:
        t: Times (s) from the start of the relaxation.
        v: Membrane voltages (V).
        v_start: Known starting voltage (V), held fixed; None fits it too.
        tau_guess: Starting value of tau (s); default the span of ``t``.

    Raises:
        ValueError: The fit did not converge or the data cannot be fitted.
    """
    from scipy.optimize import curve_fit

    t = np.asarray(t, dtype=float)
    v = np.asarray(v, dtype=float)
    guess = tau_guess if tau_guess is not None else max(float(t[-1] - t[0]), 1e-12)
    try:
        if v_start is not None:
            v0 = float(v_start)

            def fixed(tt: np.ndarray, amplitude: float, tau: float) -> np.ndarray:
                return v0 + amplitude * -np.expm1(-tt / tau)

            popt, _ = curve_fit(fixed, t, v, p0=[float(v[-1] - v0), guess], maxfev=5000)
            amplitude, tau = float(popt[0]), float(popt[1])
        else:
            def free(tt: np.ndarray, start: float, amplitude: float, tau: float
                     ) -> np.ndarray:
                return start + amplitude * -np.expm1(-tt / tau)

            # Initial final value: the last sample pushed one more span along.
            amp_guess = 2.0 * float(v[-1] - v[0])
            popt, _ = curve_fit(free, t, v, p0=[float(v[0]), amp_guess, guess], maxfev=5000)
            v0, amplitude, tau = float(popt[0]), float(popt[1]), float(popt[2])
    except RuntimeError as err:  # scipy: no convergence within maxfev
        raise ValueError(f"exponential fit did not converge: {err}") from None
    return ExpFit(tau=tau, v_start=v0, v_final=v0 + amplitude)


def leak_step_netlist(name: str, circuit: CircuitSection, *, delta_i: float | None = None,
                      **options: Any) -> tuple[str, float]:
    """Netlist of the leak step response and the step time ``t_on`` (s).

    The step (``STEP_FRACTION * I_b`` unless ``delta_i`` is given) starts at half
    the nominal tau and lasts eight nominal taus.
    """
    step = STEP_FRACTION * circuit.leak_bias_current if delta_i is None else delta_i
    tau_guess = circuit.tau_m
    t_on = 0.5 * tau_guess
    stimulus = Stimulus(kind="step", amplitude=step, t_start=t_on,
                        t_stop=t_on + 8.0 * tau_guess, dt=tau_guess / 100)
    return nl.generate(name, circuit, stimulus, max_step=tau_guess / 400, **options), t_on


def fit_leak_step(out: SimOutput, t_on: float, tau_guess: float
                  ) -> tuple[float, np.ndarray, np.ndarray]:
    """Fit the step response of :func:`leak_step_netlist`; ``(tau_s, t, v)``."""
    t, v = np.asarray(out["time"]), np.asarray(out["v(vm)"])
    before = v[(t > 0.5 * t_on) & (t < t_on)]
    v0 = float(np.mean(before)) if len(before) else float(v[0])
    after = t > t_on + nl.PWL_EDGE_S
    try:
        fit = fit_exponential(t[after] - t_on, v[after], v_start=v0, tau_guess=tau_guess)
    except ValueError as err:
        raise SimulationError(f"leak step response could not be fitted: {err}") from None
    return fit.tau, t, v


def leak_step(name: str, circuit: CircuitSection, *, delta_i: float | None = None,
              backend: str = "batch", config: RunConfig | None = None,
              **options: Any) -> tuple[float, np.ndarray, np.ndarray]:
    """Membrane time constant (s) from the response to a small current step.

    Returns:
        ``(tau_s, t, v)``: the fitted time constant and the simulated response.
    """
    text, t_on = leak_step_netlist(name, circuit, delta_i=delta_i, **options)
    return fit_leak_step(_run(text, circuit, backend, config), t_on, circuit.tau_m)


def spike_widths(out: SimOutput, circuit: CircuitSection) -> np.ndarray:
    """Durations (s) of the ``spike`` pulses (rising to falling crossing)."""
    from lifhw.analog.backends import rising_crossings

    t = out["time"]
    s = out["v(spike)"]
    level = nl.spike_level(circuit)
    rises = rising_crossings(t, s, level)
    falls = rising_crossings(t, -s, -level)
    widths = []
    for r in rises:
        later = falls[falls > r]
        if len(later):
            widths.append(later[0] - r)
    return np.array(widths)


@dataclass(frozen=True)
class ThresholdResult:
    """Effective threshold from ISIs at constant currents."""

    currents_a: tuple[float, ...]
    isi_s: tuple[float, ...]
    v_threshold_eff_v: tuple[float, ...]
    t_ref_s: float

    @property
    def mean_threshold_v(self) -> float:
        """Mean effective threshold over the currents (V)."""
        values = [v for v in self.v_threshold_eff_v if math.isfinite(v)]
        return float(np.mean(values)) if values else math.nan


def isi_at(name: str, circuit: CircuitSection, current: float, *, n_isi: int = 3,
           isi_guess: float | None = None, backend: str = "batch",
           config: RunConfig | None = None,
           **options: Any) -> tuple[float, float, SimOutput]:
    """Mean ISI (s) and spike width (s) at a constant current, from a transient."""
    from lifhw.analog.backends import rising_crossings

    guess = isi_guess if isi_guess is not None else float(
        ota_isi(current, OTANeuron.from_circuit(circuit)))
    if not math.isfinite(guess):
        guess = 20.0 * circuit.tau_m
    t_stop = (n_isi + 1.3) * guess
    for _ in range(2):
        stimulus = Stimulus(kind="constant", amplitude=current, t_stop=t_stop,
                            dt=t_stop / 1000)
        out = _run(nl.generate(name, circuit, stimulus, **options), circuit, backend, config)
        spikes = rising_crossings(out["time"], out["v(spike)"], nl.spike_level(circuit))
        if len(spikes) >= n_isi + 1:
            break
        # The circuit fires slower than the nominal model predicts: look longer once.
        t_stop *= 4.0
    if len(spikes) < 2:
        raise SimulationError(f"fewer than 2 spikes at {current:g} A in {t_stop:g} s; "
                              "cannot measure an ISI")
    widths = spike_widths(out, circuit)
    width = float(np.mean(widths)) if len(widths) else circuit.refractory
    return float(np.mean(np.diff(spikes))), width, out


def solve_threshold(isi: float, current: float, neuron: OTANeuron) -> float:
    """The V_th (V) for which the tanh model's ISI at ``current`` equals ``isi``."""
    from scipy.optimize import brentq

    def gap(v_th: float) -> float:
        value = float(ota_isi(current, neuron.replace(v_th=v_th)))
        return (value if math.isfinite(value) else 1e6) - isi

    lo = max(neuron.v_reset, neuron.v_rest) + 1e-6
    hi = neuron.v_th + 2.0 * (neuron.v_th - lo)
    # The ISI grows monotonically with V_th and is infinite (1e6 s here) beyond the
    # silent limit, so [lo, hi] brackets the root whenever the ISI is achievable.
    if gap(lo) > 0 or gap(hi) < 0:
        return math.nan
    return float(brentq(gap, lo, hi, xtol=1e-9))


def effective_threshold(name: str, circuit: CircuitSection, currents: Sequence[float], *,
                        neuron: OTANeuron, backend: str = "batch",
                        config: RunConfig | None = None,
                        **options: Any) -> ThresholdResult:
    """Calibrated threshold: the V_th that makes ``neuron`` reproduce each simulated ISI.

    ``neuron`` supplies the extracted leak (I_b, kappa, I_os, C); its t_ref is
    replaced by the measured spike width.
    """
    isis, widths = [], []
    for current in currents:
        isi, width, _ = isi_at(name, circuit, current, backend=backend, config=config,
                               **options)
        isis.append(isi)
        widths.append(width)
    t_ref = float(np.mean(widths))
    model = neuron.replace(t_ref=t_ref)
    thresholds = tuple(solve_threshold(isi, i, model) for isi, i in zip(isis, currents,
                                                                         strict=True))
    return ThresholdResult(currents_a=tuple(currents), isi_s=tuple(isis),
                           v_threshold_eff_v=thresholds, t_ref_s=t_ref)


@dataclass(frozen=True, eq=False)
class Characterisation:
    """What the circuit itself says about its neuron (SI units).

    Attributes:
        topology: Which netlist was measured.
        bias_current_a: Fitted I_b (A).
        kappa: Fitted slope factor.
        offset_current_a: Fitted output offset I_os (A).
        g_m_s: kappa I_b / 2U_T from the fit (S).
        tau_s: Leak step-response time constant (s).
        capacitance_f: Effective membrane capacitance tau g_m (F).
        v_threshold_eff_v: Calibrated threshold (V), NaN when not measured.
        t_ref_s: Measured refractory time (spike width, s), NaN when not measured.
        fit_rms_a: RMS residual of the tanh fit (A).
        temperature_k: Temperature (K).
        threshold: Per-current threshold details (None when not measured).
        transfer_v: Forced voltages of the DC sweep (V).
        transfer_i: Leak currents of the DC sweep (A).
    """

    topology: str
    bias_current_a: float
    kappa: float
    offset_current_a: float
    g_m_s: float
    tau_s: float
    capacitance_f: float
    v_threshold_eff_v: float
    t_ref_s: float
    fit_rms_a: float
    temperature_k: float
    threshold: ThresholdResult | None = None
    transfer_v: np.ndarray = field(default_factory=lambda: np.array([]), repr=False)
    transfer_i: np.ndarray = field(default_factory=lambda: np.array([]), repr=False)

    def neuron(self, circuit: CircuitSection, *, calibrated_threshold: bool = True
               ) -> OTANeuron:
        """The tanh golden model with the extracted parameters.

        Args:
            circuit: Supplies V_L, V_reset and the nominal V_th / t_ref used when
                they were not measured.
            calibrated_threshold: Use the calibrated threshold (else the nominal one).
        """
        v_th = circuit.v_threshold
        if calibrated_threshold and math.isfinite(self.v_threshold_eff_v):
            v_th = self.v_threshold_eff_v
        t_ref = self.t_ref_s if math.isfinite(self.t_ref_s) else circuit.refractory
        return OTANeuron(capacitance=self.capacitance_f, bias_current=self.bias_current_a,
                         kappa=self.kappa, v_rest=circuit.v_rest, v_th=v_th,
                         v_reset=circuit.v_reset, t_ref=t_ref,
                         temperature=self.temperature_k,
                         offset_current=self.offset_current_a,
                         tau_syn_exc=circuit.tau_syn_exc, tau_syn_inh=circuit.tau_syn_inh)

    def lif(self, circuit: CircuitSection, *, calibrated_threshold: bool = True) -> LIFParams:
        """The linear LIF with the extracted tau and g_m."""
        neuron = self.neuron(circuit, calibrated_threshold=calibrated_threshold)
        return LIFParams(tau_m=self.tau_s, r_m=1.0 / self.g_m_s, v_rest=neuron.v_equilibrium,
                         v_th=neuron.v_th, v_reset=neuron.v_reset, t_ref=neuron.t_ref,
                         tau_syn_exc=neuron.tau_syn_exc, tau_syn_inh=neuron.tau_syn_inh)

    def summary(self) -> dict[str, float | str]:
        """JSON-ready numbers."""
        return {"topology": self.topology, "bias_current_a": self.bias_current_a,
                "kappa": self.kappa, "offset_current_a": self.offset_current_a,
                "g_m_s": self.g_m_s, "tau_s": self.tau_s, "capacitance_f": self.capacitance_f,
                "v_threshold_eff_v": self.v_threshold_eff_v, "t_ref_s": self.t_ref_s,
                "fit_rms_a": self.fit_rms_a}


def characterise(name: str, circuit: CircuitSection, *,
                 threshold_currents: Sequence[float] | None = None,
                 with_threshold: bool = True, transfer_span: float = 3.0,
                 backend: str = "batch", config: RunConfig | None = None,
                 **options: Any) -> Characterisation:
    """Measure the circuit: DC transfer fit, leak step tau, effective threshold.

    Args:
        name: Design name.
        circuit: The circuit (any topology following the node contract).
        threshold_currents: Currents (A) for the threshold calibration; default 2x
            and 6x the rheobase of the tanh model with the extracted leak.
        with_threshold: Run the (longer) spiking transients for the threshold.
        transfer_span: Half-width of the DC sweep around V_L, in units of the nominal
            linear range 2U_T/kappa (a transistor OTA follows tanh best near V_L).
        backend: ``batch`` or ``shared``.
        config: Run configuration (default per topology).
        **options: Passed to the topology generator.
    """
    u_t = thermal_voltage(circuit.temperature)
    half = transfer_span * circuit.linear_range
    v, i = ota_transfer(name, circuit, v_start=max(0.0, circuit.v_rest - half),
                        v_stop=min(circuit.supply, circuit.v_rest + half), backend=backend,
                        config=config, **options)
    fit = fit_tanh(v, i, circuit.v_rest, u_t, kappa_guess=circuit.kappa)
    tau, _, _ = leak_step(name, circuit, backend=backend, config=config, **options)
    capacitance = tau * fit.g_m
    threshold = None
    v_th_eff = math.nan
    t_ref = math.nan
    if with_threshold:
        base = OTANeuron(capacitance=capacitance, bias_current=fit.bias_current,
                         kappa=fit.kappa, v_rest=circuit.v_rest, v_th=circuit.v_threshold,
                         v_reset=circuit.v_reset, t_ref=circuit.refractory,
                         temperature=circuit.temperature,
                         offset_current=fit.offset_current)
        currents = (tuple(threshold_currents) if threshold_currents is not None
                    else (2.0 * base.rheobase, 6.0 * base.rheobase))
        threshold = effective_threshold(name, circuit, currents, neuron=base,
                                        backend=backend, config=config, **options)
        v_th_eff = threshold.mean_threshold_v
        t_ref = threshold.t_ref_s
    return Characterisation(
        topology=circuit.topology, bias_current_a=fit.bias_current, kappa=fit.kappa,
        offset_current_a=fit.offset_current, g_m_s=fit.g_m, tau_s=tau,
        capacitance_f=capacitance, v_threshold_eff_v=v_th_eff, t_ref_s=t_ref,
        fit_rms_a=fit.rms_residual, temperature_k=circuit.temperature,
        threshold=threshold, transfer_v=v, transfer_i=i)


def characterise_topology(name: str, circuit: CircuitSection, **kwargs: Any
                          ) -> Characterisation:
    """:func:`characterise`, or the topology record's own characterisation."""
    own = get_topology(circuit.topology).characterise
    return (own or characterise)(name, circuit, **kwargs)
