r"""Golden model of the OTA-C LIF circuit: the tanh leak, next to the linear LIF.

A subthreshold OTA wired as a follower to V_L leaks (Mead 1989; Liu et al.,
*Analog VLSI: Circuits and Principles*, 2002, ch. 5)::

    C dv/dt = I_in - I_b tanh(kappa (v - V_L) / (2 U_T)) - I_os

(``I_os`` an output offset current, 0 nominally). Linearised around V_L this is
the LIF leak ``g_m (v - V_L)`` with ``g_m = kappa I_b / (2 U_T)`` and
``tau_m = C / g_m`` (:meth:`OTANeuron.lif`). The linear approximation holds for
``|v - V_L| << 2 U_T / kappa`` (:meth:`OTANeuron.linear_range`, 74 mV at
kappa = 0.7, 27 degC); beyond it the leak saturates at ``I_b``, so

* the rheobase is ``I_b tanh(kappa (V_th - V_L) / 2 U_T) + I_os``, below the
  linear LIF's ``g_m (V_th - V_L)``; no current below it ever fires;
* for constant ``I_in`` the inter-spike interval is, by quadrature,
  ``ISI = t_ref + C * integral_{V_reset}^{V_th} dv / (I_in - i_leak(v))``
  (:func:`ota_isi`, scipy ``quad``). C factors out of the integral, so doubling C
  exactly doubles ``ISI - t_ref``.

:func:`simulate` integrates the same ODE event by event (threshold crossings
located by the ODE solver), returning a :class:`~lifhw.core.Trace` like every
other backend; :func:`linear_range_report` says when the membrane leaves the
OTA's linear range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from lifhw import __version__
from lifhw.core import LIFParams, Trace, check_neuron_values
from lifhw.errors import ParamError
from lifhw.stimulus import Stimulus
from lifhw.units import thermal_voltage

if TYPE_CHECKING:
    from lifhw.analog.params import CircuitSection


def ota_gm(bias_current: float, kappa: float, u_t: float) -> float:
    """Small-signal transconductance ``kappa I_b / (2 U_T)`` (S) of the OTA at V_L.

    Args:
        bias_current: Tail current I_b (A).
        kappa: Subthreshold slope factor.
        u_t: Thermal voltage kT/q (V).
    """
    return kappa * bias_current / (2.0 * u_t)


def ota_linear_range(kappa: float, u_t: float) -> float:
    """Half-width ``2 U_T / kappa`` (V) of the OTA's linear range around V_L."""
    return 2.0 * u_t / kappa


@dataclass(frozen=True)
class OTANeuron:
    """The tanh-leak LIF neuron of an OTA-C circuit (SI units).

    Args:
        capacitance: Membrane capacitance C (F).
        bias_current: OTA tail current I_b (A).
        kappa: Subthreshold slope factor (0, 1].
        v_rest: Follower reference V_L (V).
        v_th: Threshold (V).
        v_reset: Reset potential (V).
        t_ref: Refractory period (s).
        temperature: Temperature (K), sets U_T = kT/q.
        offset_current: Output offset current I_os (A) of the OTA (adds to the leak).
        tau_syn_exc: Excitatory synaptic time constant (s); 0: no excitatory synapse.
        tau_syn_inh: Inhibitory synaptic time constant (s); 0: no inhibitory synapse.
    """

    capacitance: float
    bias_current: float
    kappa: float
    v_rest: float
    v_th: float
    v_reset: float
    t_ref: float = 0.0
    temperature: float = 300.15
    offset_current: float = 0.0
    tau_syn_exc: float = 0.0
    tau_syn_inh: float = 0.0

    def __post_init__(self) -> None:
        for name in ("capacitance", "bias_current", "temperature"):
            if not getattr(self, name) > 0:
                raise ParamError(f"must be > 0, got {getattr(self, name)!r}", path=name)
        if not 0 < self.kappa <= 1:
            raise ParamError(f"kappa must be in (0, 1], got {self.kappa!r}", path="kappa")
        check_neuron_values(v_rest=self.v_rest, v_th=self.v_th, v_reset=self.v_reset,
                            t_ref=self.t_ref)
        for name in ("tau_syn_exc", "tau_syn_inh"):
            if not getattr(self, name) >= 0:
                raise ParamError("must be >= 0 s", path=name)
        if abs(self.offset_current) >= self.bias_current:
            raise ParamError("|offset_current| must be below bias_current",
                             path="offset_current")

    @classmethod
    def from_circuit(cls, circuit: CircuitSection) -> OTANeuron:
        """The nominal model of a ``[circuit]`` section."""
        c = circuit
        return cls(capacitance=c.membrane_capacitance, bias_current=c.leak_bias_current,
                   kappa=c.kappa, v_rest=c.v_rest, v_th=c.v_threshold, v_reset=c.v_reset,
                   t_ref=c.refractory, temperature=c.temperature,
                   tau_syn_exc=c.tau_syn_exc, tau_syn_inh=c.tau_syn_inh)

    @property
    def u_t(self) -> float:
        """Thermal voltage kT/q (V)."""
        return thermal_voltage(self.temperature)

    @property
    def g_m(self) -> float:
        """Small-signal transconductance kappa I_b / (2 U_T) (S)."""
        return ota_gm(self.bias_current, self.kappa, self.u_t)

    @property
    def tau_m(self) -> float:
        """Small-signal membrane time constant C / g_m (s)."""
        return self.capacitance / self.g_m

    @property
    def linear_range(self) -> float:
        """Half-width 2 U_T / kappa (V) of the OTA's linear range around V_L."""
        return ota_linear_range(self.kappa, self.u_t)

    @property
    def v_equilibrium(self) -> float:
        """Membrane potential (V) where the leak (with offset) is zero."""
        return self.v_rest - self.linear_range * math.atanh(
            self.offset_current / self.bias_current)

    def leak_current(self, v: ArrayLike) -> np.ndarray:
        """Leak current (A) out of the membrane at potential ``v`` (V)."""
        x = np.asarray(v, dtype=float) - self.v_rest
        return self.bias_current * np.tanh(x / self.linear_range) + self.offset_current

    @property
    def rheobase(self) -> float:
        """Smallest constant current (A) that fires: the leak at threshold."""
        return float(self.leak_current(self.v_th))

    def lif(self) -> LIFParams:
        """The linearised neuron: ``tau_m = C/g_m``, ``r_m = 1/g_m``."""
        return LIFParams(tau_m=self.tau_m, r_m=1.0 / self.g_m, v_rest=self.v_rest,
                         v_th=self.v_th, v_reset=self.v_reset, t_ref=self.t_ref,
                         tau_syn_exc=self.tau_syn_exc, tau_syn_inh=self.tau_syn_inh)

    def replace(self, **changes: float) -> OTANeuron:
        """A copy with some fields changed."""
        import dataclasses

        return dataclasses.replace(self, **changes)


def _isi_one(neuron: OTANeuron, current: float) -> float:
    from scipy.integrate import quad

    if not current > neuron.rheobase:
        return math.inf
    # The leak is monotone in v, so the integrand 1/(I - leak) is largest at V_th.
    lo = min(neuron.v_reset, neuron.v_th)
    if current <= float(neuron.leak_current(lo)):
        return math.inf

    def integrand(v: float) -> float:
        return 1.0 / (current - float(neuron.leak_current(v)))

    value, _ = quad(integrand, neuron.v_reset, neuron.v_th, epsabs=0.0, epsrel=1e-11,
                    limit=200)
    return neuron.t_ref + neuron.capacitance * value


def ota_isi(i_in: ArrayLike, neuron: OTANeuron) -> np.ndarray | float:
    """Inter-spike interval (s) for constant input ``i_in`` (A), by quadrature.

    Infinite at and below the rheobase. Vectorised over ``i_in``.
    """
    currents = np.asarray(i_in, dtype=float)
    out = np.array([_isi_one(neuron, float(c)) for c in currents.ravel()])
    out = out.reshape(currents.shape)
    return float(out) if out.ndim == 0 else out


def ota_rate(i_in: ArrayLike, neuron: OTANeuron) -> np.ndarray | float:
    """Firing rate (Hz) for constant input ``i_in`` (A); 0 at and below rheobase."""
    isi = np.asarray(ota_isi(i_in, neuron))
    rate = np.where(np.isfinite(isi), 1.0 / np.where(np.isfinite(isi), isi, 1.0), 0.0)
    return float(rate) if rate.ndim == 0 else rate


def _synaptic_jumps(neuron: OTANeuron, stimulus: Stimulus
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input spike times (s) and their excitatory / inhibitory current jumps (A).

    Raises:
        ParamError: A spike of a sign whose synapse is absent (tau_syn = 0).
    """
    times, weights = stimulus.input_spikes()
    exc = np.where(weights > 0, weights, 0.0)
    inh = np.where(weights < 0, weights, 0.0)
    for sign, jumps, tau in (("excitatory", exc, neuron.tau_syn_exc),
                             ("inhibitory", inh, neuron.tau_syn_inh)):
        if np.any(jumps) and tau <= 0:
            key = "tau_syn_exc" if sign == "excitatory" else "tau_syn_inh"
            raise ParamError(f"the stimulus has {sign} input spikes but the neuron has no "
                             f"{sign} synapse ({key} = 0)", path=key)
    return times, exc, inh


def simulate(neuron: OTANeuron, stimulus: Stimulus, *, dt: float | None = None,
             v0: float | None = None, rtol: float = 1e-10) -> Trace:
    """Integrate the tanh-leak neuron under a piecewise-constant current and input spikes.

    ``C dv/dt = I_in(t) + I_e(t) + I_i(t) - i_leak(v)``. Input spikes (kinds
    ``spikes``/``poisson``) are current synapses: a spike of weight ``w`` (A)
    makes ``I_e`` (``w > 0``) or ``I_i`` (``w < 0``) jump by ``w``; they decay with
    ``tau_syn_exc`` / ``tau_syn_inh`` and keep flowing (and jumping) during the
    refractory period, as in :mod:`lifhw.golden.lif`. Threshold crossings are
    located by the ODE solver's event detection (DOP853), then the membrane is
    held at ``v_reset`` for ``t_ref``.

    Args:
        neuron: The model.
        stimulus: Input current (A) and input spikes; ``t_stop`` (s) and sampling
            ``dt`` (s).
        dt: Sampling interval of the recorded membrane (s); default ``stimulus.dt``.
        v0: Initial membrane (V); default the leak's equilibrium.
        rtol: Relative tolerance of the ODE solver.

    Raises:
        ParamError: Input spikes of a sign the neuron has no synapse for.
    """
    from scipy.integrate import solve_ivp

    step = stimulus.dt if dt is None else dt
    edges, values = stimulus.segments()
    spike_t, jump_e, jump_i = _synaptic_jumps(neuron, stimulus)
    t_stop = stimulus.t_stop
    grid = np.arange(0.0, t_stop + 0.5 * step, step)
    grid = grid[grid <= t_stop]
    v_grid = np.full(len(grid), np.nan)
    spikes: list[float] = []
    # Breakpoints: current edges and input spikes (jumps applied on arrival).
    breaks = np.unique(np.concatenate([edges, spike_t, [t_stop]]))
    breaks = breaks[(breaks > 0) & (breaks <= t_stop)]
    t = 0.0
    v = neuron.v_equilibrium if v0 is None else v0
    syn = np.zeros(2)  # excitatory, inhibitory current (A)
    decay = np.array([1.0 / neuron.tau_syn_exc if neuron.tau_syn_exc > 0 else 0.0,
                      1.0 / neuron.tau_syn_inh if neuron.tau_syn_inh > 0 else 0.0])
    n_applied = 0
    refractory_until = -math.inf
    atol_v = 1e-9 * max(neuron.v_th - neuron.v_reset, 1e-3)
    scale_i = max(float(np.max(np.abs(np.concatenate([jump_e, jump_i, [0.0]])))),
                  neuron.bias_current)
    atol = [atol_v, 1e-10 * scale_i, 1e-10 * scale_i]

    def apply_arrivals(until: float) -> None:
        nonlocal n_applied
        while n_applied < len(spike_t) and spike_t[n_applied] <= until:
            syn[0] += jump_e[n_applied]
            syn[1] += jump_i[n_applied]
            n_applied += 1

    def fill(t_a: float, t_b: float, func: object) -> None:
        mask = (grid >= t_a) & (grid < t_b)
        if mask.any():
            v_grid[mask] = func(grid[mask])  # type: ignore[operator]

    def advance_synapses(t_a: float, t_b: float) -> None:
        syn[:] = syn * np.exp(-(t_b - t_a) * decay)

    apply_arrivals(0.0)
    while t < t_stop:
        k = int(np.searchsorted(breaks, t, side="right"))
        next_break = float(breaks[k]) if k < len(breaks) else t_stop
        if t < refractory_until:
            end = min(refractory_until, next_break, t_stop)
            fill(t, end, lambda x: np.full(len(x), neuron.v_reset))
            advance_synapses(t, end)
            t, v = end, neuron.v_reset
            apply_arrivals(t)
            continue
        j = int(np.searchsorted(edges, t, side="right") - 1)
        j = min(max(j, 0), len(values) - 1)
        current = float(values[j])
        if v >= neuron.v_th:  # arrived at/above threshold (e.g. v0): fire now
            spikes.append(t)
            refractory_until = t + neuron.t_ref
            v = neuron.v_reset
            if neuron.t_ref == 0:
                t = math.nextafter(t, math.inf)
            continue

        def rhs(_: float, y: np.ndarray, i_in: float = current) -> list[float]:
            return [(i_in + y[1] + y[2] - float(neuron.leak_current(y[0])))
                    / neuron.capacitance, -y[1] * decay[0], -y[2] * decay[1]]

        def crossing(_: float, y: np.ndarray) -> float:
            return float(y[0] - neuron.v_th)

        crossing.terminal = True  # type: ignore[attr-defined]
        crossing.direction = 1  # type: ignore[attr-defined]
        sol = solve_ivp(rhs, (t, next_break), [v, syn[0], syn[1]], method="DOP853",
                        rtol=rtol, atol=atol, events=crossing, dense_output=True)
        dense = sol.sol
        if sol.t_events[0].size:
            t_spike = float(sol.t_events[0][0])
            fill(t, t_spike, lambda x, d=dense: d(x)[0])
            advance_synapses(t, t_spike)
            spikes.append(t_spike)
            refractory_until = t_spike + neuron.t_ref
            t, v = t_spike, neuron.v_reset
            if neuron.t_ref == 0:
                fill(t, math.nextafter(t, math.inf),
                     lambda x: np.full(len(x), neuron.v_reset))
                t = math.nextafter(t, math.inf)
        else:
            fill(t, next_break, lambda x, d=dense: d(x)[0])
            advance_synapses(t, next_break)
            t, v = next_break, float(sol.y[0, -1])
            apply_arrivals(t)
    if np.isnan(v_grid[-1]):
        v_grid[-1] = v
    return Trace(t=grid, v=v_grid, spike_times=np.array(spikes), t_stop=t_stop,
                 backend="golden", meta={"model": "ota_tanh", "lifhw_version": __version__,
                                         "tau_s": neuron.tau_m})


@dataclass(frozen=True)
class LinearRangeReport:
    """Where the membrane sits relative to the OTA's linear range.

    Attributes:
        linear_range_v: Half-width 2 U_T / kappa (V).
        max_excursion_v: Largest |v - V_L| the neuron reaches below threshold (V).
        ratio: ``max_excursion_v / linear_range_v``.
        leaves_linear_range: ``ratio > 1``.
        leak_deficit: ``1 - tanh(x)/x`` at the largest excursion: how much weaker
            the real leak is there than the linear model's.
        rheobase_tanh_a: Rheobase of the tanh model (A).
        rheobase_linear_a: Rheobase of the linearised LIF (A).
        isi_ratio: ISI of the tanh model over the linear LIF at ``i_in`` (if given).
    """

    linear_range_v: float
    max_excursion_v: float
    ratio: float
    leaves_linear_range: bool
    leak_deficit: float
    rheobase_tanh_a: float
    rheobase_linear_a: float
    isi_ratio: float | None = None

    def lines(self) -> list[str]:
        """Human-readable summary."""
        out = [
            f"OTA linear range +-{self.linear_range_v * 1e3:.1f} mV; the membrane reaches "
            f"{self.max_excursion_v * 1e3:.1f} mV from V_L ({self.ratio:.2f}x)"
            + (" -- OUTSIDE the linear range" if self.leaves_linear_range else ""),
            f"leak at the largest excursion is {self.leak_deficit * 100:.1f} % below linear; "
            f"rheobase tanh {self.rheobase_tanh_a:.4g} A vs linear "
            f"{self.rheobase_linear_a:.4g} A",
        ]
        if self.isi_ratio is not None:
            out.append(f"ISI tanh / linear LIF = {self.isi_ratio:.4f}")
        return out


def linear_range_report(neuron: OTANeuron, i_in: float | None = None) -> LinearRangeReport:
    """Report whether threshold and reset lie inside the OTA's linear range.

    Args:
        neuron: The model.
        i_in: Optional constant input (A) for the tanh-vs-linear ISI ratio.
    """
    from lifhw.golden.fi import lif_isi

    excursion = max(abs(neuron.v_th - neuron.v_rest), abs(neuron.v_reset - neuron.v_rest))
    x = excursion / neuron.linear_range
    deficit = 1.0 - (math.tanh(x) / x if x > 0 else 1.0)
    lif = neuron.lif()
    ratio = None
    if i_in is not None:
        tanh_isi = float(ota_isi(i_in, neuron))
        lin_isi = float(lif_isi(i_in - neuron.offset_current, lif))
        ratio = tanh_isi / lin_isi if math.isfinite(lin_isi) else math.inf
    return LinearRangeReport(
        linear_range_v=neuron.linear_range, max_excursion_v=excursion,
        ratio=excursion / neuron.linear_range, leaves_linear_range=x > 1.0,
        leak_deficit=deficit, rheobase_tanh_a=neuron.rheobase,
        rheobase_linear_a=lif.rheobase + neuron.offset_current, isi_ratio=ratio)
