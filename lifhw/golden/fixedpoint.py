"""Bit-exact integer golden model of the fixed-point LIF cores, and float <-> integer mapping.

Every digital core lifhw generates (the ``lif_neuron`` contract module, the
single-neuron cores with other options, the time-multiplexed population core) is
one instance of the update below, written once here in vectorised NumPy int64
arithmetic. The RTL regression compares simulator output against it bit for bit.

One update of one neuron (signed integers, ``W_V``-bit membrane ``v``)::

    if ref > 0:            ref -= 1                      (v held, input ignored)
    else:
        l   = v - (v >> S)                    leak "shift"     (a = 1 - 2^-S)
            = (v * (2^F - d)) >> F            leak "multiply"  (a = 1 - d / 2^F)
        u   = ovf(l + i)                      ovf: saturate to [-2^(W_V-1), 2^(W_V-1)-1]
                                                   or wrap (two's complement)
        if u >= V_TH  (or u > V_TH):  spike; v = V_RESET  or  v = ovf(u - V_TH);
                                       ref = T_REF
        else:                         v = u

``>>`` rounds toward minus infinity ("floor", Verilog ``>>>``) or toward zero
("zero"). ``rst`` sets ``v = 0, ref = 0``; a step with ``step = 0`` holds
everything and outputs no spike.

Float mapping (:func:`quantize_lif`): with a voltage LSB ``lsb`` (V) and the
step ``dt`` (s), ``x = (V - v_rest) / lsb`` obeys the exact grid update of the
float golden model ``x' = p x + (1 - p) r_m I / lsb`` with ``p = exp(-dt / tau_m)``.
The core realises ``x' = a x + i + e`` with ``a`` the quantised leak factor,
``i = round((1 - a) r_m I / lsb)`` and a per-step rounding error ``e`` in a known
interval (:meth:`FixedLIF.rounding_interval`). :meth:`FixedLIF.dequantize` gives
the :class:`~lifhw.core.LIFParams` the integers realise (``tau_m = -dt / ln a``).

**Stated bound** (tested against :func:`lifhw.golden.population_spike_counts`):
for a constant input ``i`` (reset to value, no saturation, ``v_reset <= 0``,
``>=``), the membrane of the fixed-point neuron stays between the membranes of
two float neurons with the dequantised parameters driven by constant currents
``I_lo, I_hi = (i + e_lo, i + e_hi) lsb / ((1 - a) r_m)``, so over any run its
spike count lies between their float spike counts (:func:`spike_count_bracket`).
With ``e`` in ``[0, 1)`` LSB the rate error is that of a current error below
``lsb / ((1 - a) r_m)``, i.e. below one LSB of steady-state membrane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from lifhw.core import LIFParams
from lifhw.errors import ParamError

#: Closed option sets (shared with the ``[core]`` parameter section).
LEAKS = ("shift", "multiply")
ROUNDINGS = ("floor", "zero")
COMPARES = ("ge", "gt")
OVERFLOWS = ("saturate", "wrap")
RESETS = ("value", "subtract")

MAX_WIDTH = 32
MAX_FRAC_BITS = 24
MAX_T_REF = 65535


def signed_range(width: int) -> tuple[int, int]:
    """(min, max) of a two's-complement integer of ``width`` bits."""
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


@dataclass(frozen=True)
class FixedLIF:
    """Integer parameters of one fixed-point LIF neuron (all options real cores differ on).

    Args:
        w_v: Membrane width (bits, signed).
        w_i: Input width (bits, signed) of the single-neuron core; the bias width of
            the population core.
        leak: ``shift`` (``v - (v >> leak_shift)``) or ``multiply``
            (``(v * (2^frac_bits - leak_d)) >> frac_bits``).
        leak_shift: Shift of the shift leak (steps of 1/2^S).
        frac_bits: Fraction bits F of the multiply leak.
        leak_d: Leak numerator d of the multiply leak (a = 1 - d / 2^F).
        rounding: Rounding of the leak: ``floor`` or toward ``zero``.
        compare: Firing test ``ge`` (u >= V_TH) or ``gt`` (u > V_TH).
        overflow: ``saturate`` or ``wrap`` at the W_V range.
        reset: ``value`` (v = V_RESET) or ``subtract`` (v = u - V_TH).
        v_th: Threshold (LSB).
        v_reset: Reset value (LSB), used when ``reset == "value"``.
        t_ref: Refractory steps after a spike.
    """

    w_v: int = 16
    w_i: int = 12
    leak: str = "shift"
    leak_shift: int = 4
    frac_bits: int = 8
    leak_d: int = 16
    rounding: str = "floor"
    compare: str = "ge"
    overflow: str = "saturate"
    reset: str = "value"
    v_th: int = 1000
    v_reset: int = 0
    t_ref: int = 0

    def check(self, prefix: str = "") -> FixedLIF:
        """Validate every value a generator would embed; return self.

        Raises:
            ParamError: With the field path (``prefix`` + field name).
        """

        def fail(name: str, message: str) -> ParamError:
            return ParamError(message, path=prefix + name)

        for name in ("w_v", "w_i"):
            width = getattr(self, name)
            if not 2 <= width <= MAX_WIDTH:
                raise fail(name, f"width must be 2..{MAX_WIDTH} bits, got {width}")
        for name, options in (("leak", LEAKS), ("rounding", ROUNDINGS), ("compare", COMPARES),
                              ("overflow", OVERFLOWS), ("reset", RESETS)):
            if getattr(self, name) not in options:
                raise fail(name, f"{getattr(self, name)!r} is not one of {options}")
        if self.leak == "shift" and not 1 <= self.leak_shift < self.w_v:
            raise fail("leak_shift", f"shift must be 1..w_v-1 = {self.w_v - 1}, got "
                       f"{self.leak_shift} (a shift >= W_V removes no leak at all)")
        if self.leak == "multiply":
            if not 1 <= self.frac_bits <= MAX_FRAC_BITS:
                raise fail("frac_bits", f"must be 1..{MAX_FRAC_BITS}, got {self.frac_bits}")
            if not 0 <= self.leak_d <= (1 << self.frac_bits):
                raise fail("leak_d", f"must be 0..2^frac_bits = {1 << self.frac_bits}, "
                           f"got {self.leak_d}")
        lo, hi = signed_range(self.w_v)
        if not lo <= self.v_th <= hi:
            raise fail("v_th", f"threshold {self.v_th} does not fit a signed {self.w_v}-bit "
                       f"membrane [{lo}, {hi}]")
        if not lo <= self.v_reset <= hi:
            raise fail("v_reset", f"reset {self.v_reset} does not fit a signed {self.w_v}-bit "
                       f"membrane [{lo}, {hi}]")
        if self.compare == "gt" and self.v_th == hi:
            raise fail("v_th", f"u > {hi} can never hold in {self.w_v} bits: the neuron "
                       "would never fire")
        if self.reset == "value" and not self.v_reset < self.v_th:
            raise fail("v_reset", f"reset {self.v_reset} must be below threshold {self.v_th}")
        if self.reset == "subtract" and self.v_th <= 0:
            raise fail("v_th", "reset by subtraction needs a positive threshold")
        if not 0 <= self.t_ref <= MAX_T_REF:
            raise fail("t_ref", f"must be 0..{MAX_T_REF} steps, got {self.t_ref}")
        return self

    @property
    def leak_factor(self) -> float:
        """Per-step decay ``a`` of the membrane (ignoring rounding)."""
        if self.leak == "shift":
            return 1.0 - 2.0 ** -self.leak_shift
        return 1.0 - self.leak_d / 2.0 ** self.frac_bits

    @property
    def is_contract(self) -> bool:
        """True when the ``lif_neuron`` contract module realises these options."""
        return (self.leak == "shift" and self.rounding == "floor" and self.compare == "ge"
                and self.overflow == "saturate")

    def rounding_interval(self) -> tuple[float, float]:
        """Interval (LSB) of the per-step error ``e`` in ``x' = a x + i + e``.

        Shift floor: ``v - floor(v/2^S) = a v + frac`` with frac in [0, 1 - 2^-S];
        multiply floor: ``floor(a v) = a v - frac``; toward zero: either sign.
        """
        if self.leak == "shift":
            top = 1.0 - 2.0 ** -self.leak_shift
            return (0.0, top) if self.rounding == "floor" else (-top, top)
        top = 1.0 - 2.0 ** -self.frac_bits
        return (-top, 0.0) if self.rounding == "floor" else (-top, top)

    def dequantize(self, *, lsb: float, dt: float, v_rest: float = 0.0,
                   r_m: float = 1.0) -> LIFParams:
        """The float LIF these integers realise.

        Args:
            lsb: Membrane LSB (V).
            dt: Time step (s).
            v_rest: Resting potential (V) that integer 0 stands for.
            r_m: Membrane resistance (Ohm) used to read input integers as currents.
        """
        a = self.leak_factor
        if not 0.0 < a < 1.0:
            raise ParamError(f"leak factor {a:g} is not in (0, 1): no finite tau_m",
                             path="leak")
        v_th = self.v_th + (1 if self.compare == "gt" else 0)
        return LIFParams(tau_m=-dt / math.log(a), r_m=r_m, v_rest=v_rest,
                         v_th=v_rest + v_th * lsb, v_reset=v_rest + self.v_reset * lsb,
                         t_ref=self.t_ref * dt)

    def current_to_input(self, current: ArrayLike, *, lsb: float, r_m: float) -> np.ndarray:
        """Integer per-step input for a constant current (A): ``round((1-a) r_m I / lsb)``."""
        scale = (1.0 - self.leak_factor) * r_m / lsb
        return np.rint(np.asarray(current, dtype=float) * scale).astype(np.int64)

    def input_to_current(self, i_in: ArrayLike, *, lsb: float, r_m: float) -> np.ndarray:
        """Float current (A) whose exact grid update adds ``i_in`` LSB per step."""
        return np.asarray(i_in, dtype=float) * lsb / ((1.0 - self.leak_factor) * r_m)


def _shift_right(x: np.ndarray, bits: int, rounding: str) -> np.ndarray:
    if rounding == "floor":
        return x >> bits
    # Toward zero: add 2^bits - 1 to negative values before the floor shift.
    return (x + np.where(x < 0, (1 << bits) - 1, 0)) >> bits


def _overflow(x: np.ndarray, width: int, mode: str) -> np.ndarray:
    lo, hi = signed_range(width)
    if mode == "saturate":
        return np.clip(x, lo, hi)
    span = 1 << width
    return ((x - lo) % span) + lo


def leak(p: FixedLIF, v: np.ndarray) -> np.ndarray:
    """The leaked membrane ``l`` (before input), int64, same shape as ``v``."""
    if p.leak == "shift":
        return v - _shift_right(v, p.leak_shift, p.rounding)
    return _shift_right(v * ((1 << p.frac_bits) - p.leak_d), p.frac_bits, p.rounding)


def update(p: FixedLIF, v: np.ndarray, ref: np.ndarray, i_in: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of all neurons (every neuron steps).

    Args:
        p: Parameters.
        v: Membranes (LSB), int64.
        ref: Refractory counters, int64.
        i_in: Inputs (LSB), int64 (any width: the sum is exact before overflow).

    Returns:
        (new v, new ref, spike) arrays.
    """
    active = ref == 0
    u = _overflow(leak(p, v) + i_in, p.w_v, p.overflow)
    fire = active & ((u >= p.v_th) if p.compare == "ge" else (u > p.v_th))
    if p.reset == "value":
        after = np.full_like(u, p.v_reset)
    else:
        after = _overflow(u - p.v_th, p.w_v, p.overflow)
    v_new = np.where(active, np.where(fire, after, u), v)
    ref_new = np.where(active, np.where(fire, p.t_ref, 0), ref - 1)
    return v_new, ref_new, fire


@dataclass
class NeuronRun:
    """Cycle-by-cycle outputs of a batch of neurons.

    Attributes:
        v: Membrane after each cycle (LSB), int64, shape (T, N).
        spike: Spike output after each cycle, bool, shape (T, N).
        ref: Refractory counter after each cycle, int64, shape (T, N).
    """

    v: np.ndarray
    spike: np.ndarray
    ref: np.ndarray = field(repr=False)


def run(p: FixedLIF, i_in: ArrayLike, *, step: ArrayLike | None = None,
        rst: ArrayLike | None = None, v0: ArrayLike | None = None,
        ref0: ArrayLike | None = None) -> NeuronRun:
    """Clock N independent single-neuron cores for T cycles (the ``lif_neuron`` contract).

    Args:
        p: Parameters.
        i_in: Input per cycle (LSB), shape (T, N) or (T,).
        step: Step enable per cycle, bool, same shape; default all 1.
        rst: Synchronous reset per cycle (priority over step), bool; default all 0.
        v0: Initial membranes (LSB); default 0 (the state after reset).
        ref0: Initial refractory counters; default 0.

    Returns:
        The outputs after each rising edge.
    """
    inputs = np.asarray(i_in, dtype=np.int64)
    if inputs.ndim == 1:
        inputs = inputs[:, None]
    n_steps, n = inputs.shape
    steps = (np.ones_like(inputs, dtype=bool) if step is None
             else np.broadcast_to(np.asarray(step, dtype=bool).reshape(n_steps, -1),
                                  inputs.shape))
    resets = (np.zeros_like(inputs, dtype=bool) if rst is None
              else np.broadcast_to(np.asarray(rst, dtype=bool).reshape(n_steps, -1),
                                   inputs.shape))
    v = np.zeros(n, np.int64) if v0 is None else np.array(v0, dtype=np.int64).reshape(n)
    ref = np.zeros(n, np.int64) if ref0 is None else np.array(ref0, dtype=np.int64).reshape(n)
    out_v = np.empty((n_steps, n), np.int64)
    out_s = np.empty((n_steps, n), bool)
    out_r = np.empty((n_steps, n), np.int64)
    for k in range(n_steps):
        v_new, ref_new, fire = update(p, v, ref, inputs[k])
        go = steps[k] & ~resets[k]
        v = np.where(resets[k], 0, np.where(go, v_new, v))
        ref = np.where(resets[k], 0, np.where(go, ref_new, ref))
        out_v[k], out_s[k], out_r[k] = v, go & fire, ref
    return NeuronRun(v=out_v, spike=out_s, ref=out_r)


def population_input(weights: ArrayLike, input_spikes: ArrayLike,
                     bias: ArrayLike | None = None) -> np.ndarray:
    """Per-step synaptic input of the population core: ``bias + W @ s`` (exact int64).

    Args:
        weights: Integer weights, shape (N, n_in) (row = target neuron).
        input_spikes: Input spikes, bool, shape (T, n_in).
        bias: Integer bias per neuron, shape (N,); default 0.

    Returns:
        Input per step and neuron, int64, shape (T, N).
    """
    w = np.asarray(weights, dtype=np.int64)
    s = np.asarray(input_spikes, dtype=np.int64)
    total = s @ w.T
    if bias is not None:
        total = total + np.asarray(bias, dtype=np.int64)[None, :]
    return total


def population_run(p: FixedLIF, weights: ArrayLike, input_spikes: ArrayLike,
                   bias: ArrayLike | None = None) -> NeuronRun:
    """Bit-exact twin of the RTL population core (and of
    :func:`lifhw.digital.population.run_rtl`): every neuron steps every timestep.

    Args:
        p: Neuron parameters of the core.
        weights: Integer weights (N, n_in), each within the core's weight width.
        input_spikes: Input spikes, bool, shape (T, n_in); spikes of step t act in step t.
        bias: Integer bias per neuron (N,) (the core's ``w_i`` bits); default 0.

    Returns:
        Membranes and output spikes per step, shape (T, N).
    """
    return run(p, population_input(weights, input_spikes, bias))


# ---------------------------------------------------------------- float <-> integer


@dataclass(frozen=True)
class Quantization:
    """Result of mapping a float LIF onto integers.

    Attributes:
        fixed: The integer parameters.
        lsb: Membrane LSB (V).
        dt: Time step (s).
        v_rest: Resting potential (V) that integer 0 stands for.
        r_m: Membrane resistance (Ohm) of the source neuron.
        realised: The dequantised LIFParams the integers realise.
        errors: Relative (``tau_m``, ``t_ref``) and absolute-in-V (``v_th``, ``v_reset``)
            quantisation errors; ``membrane_bound_lsb``: largest steady-state membrane
            offset from leak rounding (LSB).
    """

    fixed: FixedLIF
    lsb: float
    dt: float
    v_rest: float
    r_m: float
    realised: LIFParams
    errors: dict[str, float]

    def current_to_input(self, current: ArrayLike) -> np.ndarray:
        """Integer per-step input (LSB) for a current (A)."""
        return self.fixed.current_to_input(current, lsb=self.lsb, r_m=self.r_m)

    def input_to_current(self, i_in: ArrayLike) -> np.ndarray:
        """Current (A) an integer input (LSB) stands for."""
        return self.fixed.input_to_current(i_in, lsb=self.lsb, r_m=self.r_m)

    def volts_to_lsb(self, volts: ArrayLike) -> np.ndarray:
        """Integer voltage jump (e.g. a delta-synapse weight in V) in LSB, rounded."""
        return np.rint(np.asarray(volts, dtype=float) / self.lsb).astype(np.int64)


def quantize_lif(params: LIFParams, dt: float, *, w_v: int = 16, w_i: int = 12,
                 leak: str = "shift", frac_bits: int = 12, headroom: float = 0.5,
                 rounding: str = "floor", reset: str = "value") -> Quantization:
    """Map a float LIF onto a fixed-point core.

    The LSB puts the threshold at ``headroom`` of the positive membrane range
    (``v_th - v_rest = headroom * (2^(W_V-1) - 1) * lsb``, leaving room for input
    overshoot). The leak is the nearest shift ``S = round(-log2(1 - p))`` or the
    nearest multiplier ``d = round((1 - p) 2^F)`` with ``p = exp(-dt/tau_m)``; the
    refractory period is ``round(t_ref / dt)`` steps (as in the float grid model).

    Args:
        params: The float neuron.
        dt: Time step (s).
        w_v: Membrane width (bits).
        w_i: Input width (bits).
        leak: ``shift`` or ``multiply``.
        frac_bits: F of the multiply leak.
        headroom: Fraction of the positive range below threshold, in (0, 1].
        rounding: Leak rounding.
        reset: ``value`` or ``subtract``.

    Returns:
        The integers, the realised LIFParams and the quantisation errors.
    """
    if not 0 < headroom <= 1:
        raise ParamError(f"headroom must be in (0, 1], got {headroom}", path="headroom")
    if not dt > 0:
        raise ParamError("dt must be > 0 s", path="dt")
    p = math.exp(-dt / params.tau_m)
    v_max = (1 << (w_v - 1)) - 1
    span = params.v_th - params.v_rest
    if span <= 0:
        raise ParamError("v_th must be above v_rest to map onto integers", path="v_th")
    v_th = max(1, math.floor(headroom * v_max))
    lsb = span / v_th
    v_reset = round((params.v_reset - params.v_rest) / lsb)
    t_ref = round(params.t_ref / dt)
    if leak == "shift":
        shift = min(max(1, round(-math.log2(1.0 - p))), w_v - 1)
        fixed = FixedLIF(w_v=w_v, w_i=w_i, leak="shift", leak_shift=shift, rounding=rounding,
                         reset=reset, v_th=v_th, v_reset=v_reset, t_ref=t_ref)
    else:
        d = min(max(1, round((1.0 - p) * (1 << frac_bits))), (1 << frac_bits) - 1)
        fixed = FixedLIF(w_v=w_v, w_i=w_i, leak="multiply", frac_bits=frac_bits, leak_d=d,
                         rounding=rounding, reset=reset, v_th=v_th, v_reset=v_reset,
                         t_ref=t_ref)
    fixed.check()
    realised = fixed.dequantize(lsb=lsb, dt=dt, v_rest=params.v_rest, r_m=params.r_m)
    e_lo, e_hi = fixed.rounding_interval()
    errors = {
        "tau_m_rel": realised.tau_m / params.tau_m - 1.0,
        "v_th_abs": realised.v_th - params.v_th,
        "v_reset_abs": realised.v_reset - params.v_reset,
        "t_ref_abs": realised.t_ref - params.t_ref,
        "membrane_bound_lsb": max(abs(e_lo), abs(e_hi)) / (1.0 - fixed.leak_factor),
        "current_lsb_a": lsb / ((1.0 - fixed.leak_factor) * params.r_m),
    }
    return Quantization(fixed=fixed, lsb=lsb, dt=dt, v_rest=params.v_rest, r_m=params.r_m,
                        realised=realised, errors=errors)


def spike_count_bracket(q: Quantization, i_in: ArrayLike, n_steps: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Float golden spike counts that bracket the fixed-point counts (the stated bound).

    The fixed-point membrane under constant input ``i`` is ``x' = a x + i + e`` with
    ``e`` in :meth:`FixedLIF.rounding_interval`; it is squeezed between the float
    neurons (dequantised parameters, grid convention) driven with ``i + e_lo`` and
    ``i + e_hi``. Valid for reset to value, ``v_reset <= 0`` and no saturation.

    Args:
        q: The quantisation.
        i_in: Constant integer inputs (LSB), shape (N,).
        n_steps: Number of steps.

    Returns:
        (lower, upper) float spike counts, shape (N,).
    """
    from lifhw.golden.lif import population_spike_counts

    e_lo, e_hi = q.fixed.rounding_interval()
    inputs = np.asarray(i_in, dtype=float)
    # A hair of slack for the float rounding of exp/log in the float model.
    slack = 1e-9 * (1.0 + np.abs(inputs))
    out = []
    for e in (e_lo - slack, e_hi + slack):
        current = q.input_to_current(inputs + e)
        out.append(population_spike_counts(q.realised, current, t_stop=n_steps * q.dt,
                                           dt=q.dt))
    return out[0], out[1]
