"""SpiNNaker: sPyNNaker's ``IF_curr_exp`` in s16.15 fixed point, bit-accurate.

The model reproduces the arithmetic of sPyNNaker's C neuron code (read from
the SpiNNakerManchester/sPyNNaker sources: ``neuron_model_lif_impl.h``,
``synapse_types_exponential_impl.h``, ``exp_synapse_utils.h``, ``decay.h``,
``neuron_impl_standard.h``, ``synapse_row.h``; and the host side
``get_ring_buffer_shifts`` / ``get_weight_scales`` / static synaptic rows).
Units inside the chip are sPyNNaker's: mV, nA, nF, ms, MOhm.

Number formats: ``REAL = accum`` is s16.15 (``x_bits = x * 2**15`` in an int32);
decays are ``UFRACT`` u0.32 (``d_bits = d * 2**32``).

* ``decay_s1615(x, d) = (x_bits * d_bits) >> 32`` (64-bit product, arithmetic
  shift: rounds toward minus infinity).
* ``MULT_ROUND_NEAREST_ACCUM(a, b) = (a_bits * b_bits + 2**14) >> 15``,
  saturated to int32 (spinn_common's ``__stdfix_smul_k_round_nearest``).
* accum additions wrap modulo 2**32 (non-saturating ``accum``).

One time step of one neuron (``neuron_impl_standard.h``), in this order:

1. Ring buffer -> synapse: the 16-bit ring-buffer entry ``r`` of each synapse
   type (the sum of the 16-bit weights of the spikes due this step, saturating
   at 0xFFFF) becomes ``input_bits = r << shift`` and is added as
   ``isyn += decay_s1615(input, init)``.
2. If ``refract_timer <= 0``: ``I = isyn_exc - isyn_inh + I_offset``,
   ``alpha = MULT_RN(I, R) + V_rest``, ``V = alpha - MULT_RN(exp_TC, alpha - V)``;
   else ``refract_timer -= 1``.
3. ``V >= V_thresh`` -> spike, ``V = V_reset``, ``refract_timer = T_refract``.
4. Synapse shaping: ``isyn = decay_s1615(isyn, decay)``.

Constants, computed *on the chip* from the s16.15 values the host writes
(sPyNNaker 7.3: ``decay_and_init`` in ``exp_synapse_utils.h``,
``neuron_model_initialise`` in ``neuron_model_lif_impl.h``, ``kdivk`` in
``maths-util.h``; spinn_common 7.3.0 ``expk``/``expulr`` in ``src/stdfix-exp.c``),
reproduced integer for integer: ``ts = bits(dt_ms)``,
``exp_TC = expk(-kdivk(ts, tau_m))`` (s16.15), ``R = kdivk(tau_m, c_m)`` (MOhm),
``decay = expulr(-kdivk(ts, tau_syn))`` (u0.32),
``init = (kdivk(tau_syn, ts) * (0xFFFFFFFF - decay)) >> 15`` (u0.32),
``T_refract = ceil_accum(kdivk(t_ref_ms, ts))``. ``kdivk`` truncates, and
``expk``/``expulr`` are table-plus-quadratic approximations (``expk`` truncated
to s16.15), so the constants differ from ``exp`` rounded once by up to ~10^5 u0.32
LSB (tau_syn 5 ms, dt 1 ms: decay 3516490311, not 3516421809) -- see
:func:`exp_u3232`.

Weights (host side, ``get_ring_buffer_shifts``, static synapses, constant
delays): per post population and synapse type, ``w_max = max(sum_proj
|w|_max * n_conn_max, max_proj |w|_max)`` (one spike per step per source);
``p = ceil(log2 w_max)`` (>= 0), plus one if ``2**p <= w_max``; weights are
stored as ``rint(|w| * 2**(15 - p))`` in 16 bits, and the C code shifts the
ring-buffer sum left by ``p`` into an s16.15 value, so a stored weight is worth
``2**(p - 15)`` nA. Delta synapses (the float network's ``tau_syn = 0``) use
sPyNNaker's delta synapse type: the input is added to the synaptic buffer
without the init factor and cleared after the step; this module maps a voltage
jump ``dV`` to the current ``dV exp(-dt/tau_m) / (R (1 - exp(-dt/tau_m)))`` so
that V after the step equals the float model's jump decayed over the step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lifhw.chips.base import (
    ChipRun,
    ChipSpec,
    EnergyEstimate,
    EnergyTerm,
    Resources,
    Rule,
    Synapses,
    Violation,
    cap_tau_m,
    power_of_two_scale,
    projection_key,
    residual_leak,
    round_half_away,
    run_network,
    run_rules,
    split_inputs,
)
from lifhw.chips.placement import ChipResources, CoreResources, Figure, Placement, place_spec
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.network import Network, Population, Projection, gather_sum

NAME = "spinnaker"

#: sPyNNaker's machine time steps (s).
TIMESTEPS_S = (1e-3, 1e-4)
#: Neurons per application core: sPyNNaker's default for IF_curr_exp
#: (``IFCurrExpBase._model_based_max_atoms_per_core = 255``, sPyNNaker
#: ``spynnaker/pyNN/models/neuron/builds/if_curr_exp_base.py``).
NEURONS_PER_CORE = 255
#: Application cores per chip: 18 ARM968 cores, one monitor, one spare
#: (Furber et al. 2014, Proc. IEEE 102(5):652).
CORES_PER_CHIP = 16
#: Application cores on one SpiNN-5 board: 48 chips x 16 (of 18) cores.
CORES_PER_BOARD = 48 * CORES_PER_CHIP
#: SDRAM per board (48 chips x 128 MiB).
SDRAM_PER_BOARD = 48 * 128 * 2**20
#: Bytes of one static synaptic word (16-bit weight, delay, type, index).
BYTES_PER_SYNAPSE = 4
#: Ring-buffer delay slots without a delay-extension core.
MAX_NATIVE_DELAY = 16
#: Delays reachable with delay extensions (sPyNNaker: 8 stages x 16 + 16).
MAX_DELAY = 144

ONE_S1615 = 1 << 15
ONE_U032 = 1 << 32
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
WEIGHT_BITS_MAX = 0xFFFF


def to_s1615(x: Any) -> np.ndarray:
    """Encode as s16.15 bits: ``round(x * 2**15)`` (halves away from zero)."""
    return round_half_away(np.asarray(x, dtype=float) * ONE_S1615).astype(np.int64)


def from_s1615(bits: Any) -> np.ndarray:
    """Decode s16.15 bits to floats."""
    return np.asarray(bits, dtype=float) / ONE_S1615


def wrap32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap to int32 (accum addition)."""
    return ((np.asarray(x, dtype=np.int64) + 2**31) & 0xFFFFFFFF) - 2**31


def mult_round_nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``MULT_ROUND_NEAREST_ACCUM``: ``(a * b + 2**14) >> 15``, saturated to int32."""
    product = (np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64) + (1 << 14)) >> 15
    return np.clip(product, INT32_MIN, INT32_MAX)


def decay_s1615(x: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """``decay_s1615``: ``(x_bits * d_bits) >> 32`` (floor)."""
    return (np.asarray(x, dtype=np.int64) * np.asarray(decay, dtype=np.int64)) >> 32


# ------------------------------------------------------------------------------
# On-chip constants. sPyNNaker 7.3 (neural_modelling ``maths-util.h``,
# ``exp_synapse_utils.h::decay_and_init``, ``neuron_model_lif_impl.h::
# neuron_model_initialise``) computes the decays, R and T_refract on the chip from
# the s16.15 parameters the host wrote, with spinn_common 7.3.0's fixed-point
# routines (``src/stdfix-exp.c``: ``expk``, ``expulr``, added 2024-03-21;
# ``include/utils.h``: ``scale64``/``round64``; unchanged through tag 7.4.1).

#: ``exp(z) * 2**32`` for z = -13 .. 0 (spinn_common's integer-part table, rounded).
_EXP_INT_U3232 = tuple(round(math.exp(z) * 2**32) for z in range(-13, 1))
#: ``(1 - exp(-k/16)) * 2**32``, k = 0..15 (spinn_common's 1/16 steps, rounded).
_EXPM1_SIXTEENTH_U032 = tuple(round(-math.expm1(-k / 16) * 2**32) for k in range(16))
#: spinn_common's quadratic for ``(1 - exp(-x/2**15)) * 2**32``, x in [0, 2**11):
#: coefficients (c0, c1, c2) as published in ``src/stdfix-exp.c`` (``__exp_series``).
_EXP_SERIES = (5294, 4293434720, 2081624032)


def kdivk(a_bits: int, b_bits: int) -> int:
    """sPyNNaker's ``kdivk`` (``maths-util.h``): ``floor((a << 15) / b)`` on s16.15 bits
    (non-negative operands, an unsigned 64-bit division; truncates)."""
    if a_bits < 0 or b_bits <= 0:
        raise ParamError("kdivk needs a >= 0 and b > 0 (time constants and steps)")
    return ((a_bits << 15) // b_bits) & 0xFFFFFFFF


def _round_high_word(x: int) -> int:
    """spinn_common ``round64``: the high word, plus one if the low word >= 2**31 - 1."""
    return (x >> 32) + (1 if (x & 0xFFFFFFFF) >= 0x7FFFFFFF else 0)


def _scale_u032(x: int, y: int) -> int:
    """spinn_common ``scale64``: ``x * y / 2**32`` for a 64-bit x and u0.32 y."""
    return _round_high_word((x & 0xFFFFFFFF) * y) + (x >> 32) * y


def _exp_series(y: int) -> int:
    """The quadratic ``c0 + y (c1 - c2 y / 2**32) / 2**32`` in 32-bit unsigned steps."""
    c0, c1, c2 = _EXP_SERIES
    inner = (c1 - ((c2 * y) >> 32)) & 0xFFFFFFFF
    return (((inner * y) >> 32) + c0) & 0xFFFFFFFF


def exp_u3232(n: int) -> int:
    """``exp(n / 2**15) * 2**32`` as spinn_common computes it for an s16.15 ``n <= 0``.

    ``n = 2**15 z - f`` with integer ``z <= 0`` and ``0 <= f < 2**15``:
    ``e^z`` from the table, times ``1 - (1 - e^{-(f >> 11)/16})``, times
    ``1 - (1 - e^{-(f mod 2**11)/2**15})`` (the quadratic), each product by
    ``scale64`` (rounded high word).
    """
    if n > 0:
        raise ParamError("only decays (exp of a non-positive argument) are modelled")
    z = n >> 15
    frac = n - (z << 15)
    if frac == 0:
        return _EXP_INT_U3232[13 + z]
    z += 1
    frac = 32768 - frac
    value = _EXP_INT_U3232[13 + z]
    value -= _scale_u032(value, _EXPM1_SIXTEENTH_U032[frac >> 11])
    value -= _scale_u032(value, _exp_series((frac & 0x7FF) << 17))
    return value


def expk(n: int) -> int:
    """spinn_common ``expk`` of s16.15 bits ``n <= 0``: ``exp_u3232(n) >> 17`` (truncated),
    0 below ``-340695`` (saturation)."""
    return 0 if n < -340695 else exp_u3232(n) >> 17


def expulr(n: int) -> int:
    """spinn_common ``expulr`` of s16.15 bits ``n <= 0``: the u0.32 bits of ``exp_u3232``
    (exactly ``2**32`` for n = 0 wraps to 0 in 32 bits, as on the chip)."""
    return 0 if n < -340695 else exp_u3232(n) & 0xFFFFFFFF


def timestep_bits(dt_ms: float) -> int:
    """The time step as the host writes it: s16.15 bits of dt in ms (0.1 ms -> 3277)."""
    return int(to_s1615(dt_ms))


def exp_decay_u032(dt: float, tau: float) -> int:
    """Synaptic decay as ``decay_and_init`` computes it on the chip (u0.32 bits).

    ``expulr(-kdivk(ts, tau))`` with ``ts``, ``tau`` the s16.15 bits of dt and tau
    (ms); 0 for tau = 0 (a delta synapse, cleared every step). For tau_syn 5 ms
    and dt 1 ms this is 3516490311, not ``round(e^-0.2 2**32)`` = 3516421809.

    Args:
        dt: Time step (ms).
        tau: Synaptic time constant (ms).
    """
    if tau <= 0:
        return 0
    return expulr(-kdivk(timestep_bits(dt), int(to_s1615(tau))))


def init_u032(dt: float, tau: float) -> int:
    """Synaptic input scale as ``decay_and_init`` computes it on the chip (u0.32 bits).

    ``decay_s1615_to_u032(kdivk(tau, ts), 1.0ulr - decay)`` =
    ``(kdivk(tau, ts) * (0xFFFFFFFF - decay)) >> 15``: ``tau/dt (1 - e^{-dt/tau})``.
    ``1.0ulr`` does not fit u0.32; GCC saturates the literal to ``0xFFFFFFFF``
    (an assumption about the toolchain; it moves ``init`` by at most 1 LSB).

    Args:
        dt: Time step (ms).
        tau: Synaptic time constant (ms).
    """
    decay = exp_decay_u032(dt, tau)
    tau_over_ts = kdivk(int(to_s1615(tau)), timestep_bits(dt))
    return ((tau_over_ts * (0xFFFFFFFF - decay)) >> 15) & 0xFFFFFFFF


def exp_tc_s1615(dt: float, tau_m: float) -> int:
    """``exp_TC = expk(-kdivk(ts, tau_m))`` (``neuron_model_initialise``), s16.15 bits.

    Args:
        dt: Time step (ms).
        tau_m: Membrane time constant (ms).
    """
    return expk(-kdivk(timestep_bits(dt), int(to_s1615(tau_m))))


def r_membrane_s1615(tau_m: float, c_m: float) -> int:
    """``R = kdivk(tau_m, c_m)`` (MOhm, s16.15 bits; ms / nF), truncated as on the chip."""
    return kdivk(int(to_s1615(tau_m)), int(to_s1615(c_m)))


def t_refract_steps(t_ref: float, dt: float) -> int:
    """``T_refract = lif_ceil_accum(kdivk(T_refract_ms, ts))`` (time steps).

    Args:
        t_ref: Refractory period (ms).
        dt: Time step (ms).
    """
    bits = kdivk(int(to_s1615(t_ref)), timestep_bits(dt))
    return (bits >> 15) + (1 if bits & 0x7FFF else 0)


def ring_buffer_shift(max_weight: float) -> int:
    """sPyNNaker's ring-buffer left shift for a synapse type's largest summed weight.

    ``p = ceil(log2 w)`` clipped at 0 (0 for w <= 0), plus one when ``2**p <= w``
    (the range is 0 .. just under ``2**p``).
    """
    if max_weight <= 0:
        return 0
    power = math.ceil(max(0.0, math.log2(max_weight)))
    if 2.0**power <= max_weight:
        power += 1
    return power


@dataclass(frozen=True, eq=False)
class NeuronParams:
    """Programmed ``IF_curr_exp`` parameters of n neurons (integers; arrays or scalars).

    Args:
        n: Number of neurons.
        v_rest, v_reset, v_thresh: s16.15 bits (mV).
        r_membrane: s16.15 bits (MOhm).
        exp_tc: s16.15 bits of ``exp(-dt/tau_m)``.
        i_offset: s16.15 bits (nA).
        t_refract: Refractory steps.
        exc_decay, exc_init, inh_decay, inh_init: u0.32 bits.
        exc_delta, inh_delta: Delta synapse type (no init factor, cleared each step).
    """

    n: int
    v_rest: Any
    v_reset: Any
    v_thresh: Any
    r_membrane: Any
    exp_tc: Any
    i_offset: Any = 0
    t_refract: Any = 0
    exc_decay: Any = 0
    exc_init: Any = 0
    inh_decay: Any = 0
    inh_init: Any = 0
    exc_delta: bool = False
    inh_delta: bool = False

    def __post_init__(self) -> None:
        for name in ("v_rest", "v_reset", "v_thresh", "r_membrane", "exp_tc", "i_offset",
                     "t_refract", "exc_decay", "exc_init", "inh_decay", "inh_init"):
            value = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.int64),
                                    (self.n,)).copy()
            object.__setattr__(self, name, value)


@dataclass
class State:
    """Mutable per-neuron state: V, refractory timer, synaptic currents (bits)."""

    v: np.ndarray
    refract_timer: np.ndarray
    isyn_exc: np.ndarray
    isyn_inh: np.ndarray

    @classmethod
    def initial(cls, params: NeuronParams, v0: Any = None) -> State:
        v = params.v_rest.copy() if v0 is None else np.broadcast_to(
            np.asarray(v0, dtype=np.int64), (params.n,)).copy()
        zeros = np.zeros(params.n, dtype=np.int64)
        return cls(v=v, refract_timer=zeros.copy(), isyn_exc=zeros.copy(),
                   isyn_inh=zeros.copy())


def _add_input(isyn: np.ndarray, ring: np.ndarray, shift: int, init: np.ndarray,
               delta: bool) -> np.ndarray:
    ring = np.minimum(np.asarray(ring, dtype=np.int64), WEIGHT_BITS_MAX)
    value = ring << shift
    return wrap32(isyn + (value if delta else decay_s1615(value, init)))


def step(state: State, params: NeuronParams, ring_exc: np.ndarray, ring_inh: np.ndarray,
         shift_exc: int, shift_inh: int) -> np.ndarray:
    """Advance every neuron by one time step (see the module docstring), in place.

    Args:
        state: Neuron states (modified).
        params: Neuron parameters.
        ring_exc, ring_inh: Ring-buffer sums of the 16-bit weights due now, (n,)
            (saturated at 0xFFFF here, as the C accumulation does).
        shift_exc, shift_inh: Ring-buffer left shifts.

    Returns:
        Spike flags (n,).
    """
    state.isyn_exc = _add_input(state.isyn_exc, ring_exc, shift_exc, params.exc_init,
                                params.exc_delta)
    state.isyn_inh = _add_input(state.isyn_inh, ring_inh, shift_inh, params.inh_init,
                                params.inh_delta)
    active = state.refract_timer <= 0
    current = wrap32(state.isyn_exc - state.isyn_inh + params.i_offset)
    alpha = wrap32(mult_round_nearest(current, params.r_membrane) + params.v_rest)
    v_new = wrap32(alpha - mult_round_nearest(params.exp_tc, wrap32(alpha - state.v)))
    state.v = np.where(active, v_new, state.v)
    timer = np.where(active, state.refract_timer, state.refract_timer - 1)
    spike = state.v >= params.v_thresh
    state.v = np.where(spike, params.v_reset, state.v)
    state.refract_timer = np.where(spike, params.t_refract, timer)
    state.isyn_exc = (np.zeros_like(state.isyn_exc) if params.exc_delta
                      else decay_s1615(state.isyn_exc, params.exc_decay))
    state.isyn_inh = (np.zeros_like(state.isyn_inh) if params.inh_delta
                      else decay_s1615(state.isyn_inh, params.inh_decay))
    return spike


# --------------------------------------------------------------------------------------
# Mapping
# --------------------------------------------------------------------------------------


#: Largest s16.15 magnitude a voltage-like value may take (mV): ``alpha - V`` in the
#: update must not saturate, so half of the 2**16 range.
V_LIMIT_MV = 2.0**15
#: Smallest threshold swing kept without rescaling (mV): 2**12 LSBs of s16.15.
MIN_SWING_MV = 2.0**-3
#: ``exp_TC`` of the longest leak the chip computes below 1. At ``exp_TC = 1``
#: exactly sPyNNaker's closed form ``V = alpha - exp_TC (alpha - V)`` returns ``V``
#: unchanged: the neuron ignores its input. The chip computes
#: ``exp_TC = expk(-kdivk(ts, tau_m))`` (:func:`exp_tc_s1615`): the smallest non-zero
#: exponent is one LSB (``tau_m`` up to ``2**15 dt``), and spinn_common's ``expk``
#: of ``-2**-15`` truncates to ``1 - 2 * 2**-15`` (32766), not ``1 - 2**-15``.
LONGEST_EXP_TC = 1.0 - 2.0 * 2.0**-15


def longest_tau_m(dt: float) -> float:
    """The longest membrane time constant ``IF_curr_exp`` realises (s): ``16383.5 dt``.

    The chip's leak is ``exp_TC``, at most :data:`LONGEST_EXP_TC` below 1, so the
    longest effective time constant is ``-dt / ln(LONGEST_EXP_TC)``. The ``tau_m``
    parameter that makes the chip compute that ``exp_TC`` is :func:`tau_m_parameter`.
    """
    return -dt / math.log(LONGEST_EXP_TC)


def tau_m_parameter(tau_m: float, dt: float) -> float:
    """The ``tau_m`` (s) to load so that the chip's ``exp_TC`` realises ``tau_m``.

    Equal to ``tau_m`` except at the longest leak, where the chip needs an exponent
    of one LSB, ``kdivk(ts, tau) = 1``: any parameter in ``(2**14 dt, 2**15 dt]``;
    ``32767 dt`` is used (the s16.15 rounding stays clear of both ends).
    """
    return 32767.0 * dt if tau_m >= longest_tau_m(dt) * (1 - 1e-9) else tau_m


def effective_neuron(neuron: LIFParams, dt: float) -> tuple[LIFParams, bool]:
    """The neuron ``IF_curr_exp`` runs: :func:`lifhw.chips.base.cap_tau_m` at
    :func:`longest_tau_m`; returns (neuron, whether it was capped).

    sPyNNaker's non-leaky ``IFTruncDelta`` (``neuron_model_if_trunc.h``) is not
    used for integrators: it truncates ``V`` at ``V_reset`` from below, which
    changes what negative input does.
    """
    return cap_tau_m(neuron, longest_tau_m(dt))


def _unit_scales(network: Network, pop: Population, neuron: LIFParams,
                 peak_drive: float | None) -> tuple[float, float]:
    """(mV per V, nA per A) for one population: sPyNNaker's units times powers of two.

    Voltages: :func:`lifhw.chips.base.power_of_two_scale` with ``magnitude`` =
    the largest of ``|v_rest|, |v_th|, |v_reset|`` plus the largest ``|alpha -
    v_rest| = |I R|`` the input can produce (``limit`` :data:`V_LIMIT_MV`,
    ``min_swing`` :data:`MIN_SWING_MV`). ``|I R|`` is bounded by the bias plus,
    per sign, every incoming synapse active at once (delta synapses: ``dV
    exp_TC / (1 - exp_TC)``; current synapses: ``w R tau_syn / dt``) or, with
    ``peak_drive`` (V per step, from data), that drive through the same gain.
    Currents: nA unless ``R`` then lies outside [2**-4, 2**12] MOhm, where the
    resistance loses bits or ``c_m = tau_m / R`` overflows; then the scale that
    puts ``R`` in [2, 4) MOhm.
    """
    dt = network.dt
    decay = math.exp(-dt / neuron.tau_m)
    gain = decay / (1.0 - decay)
    r_mohm = neuron.r_m * 1e-6
    positive = np.zeros(pop.size)
    negative = np.zeros(pop.size)
    for proj in network.incoming(pop.name):
        w = np.asarray(proj.weights, dtype=float)
        delta = _delta_sign(neuron, w)
        tau = np.where(w >= 0, neuron.tau_syn_exc, neuron.tau_syn_inh)
        volts = np.where(delta, w * gain, w * neuron.r_m * np.maximum(tau, dt) / dt)
        positive += np.clip(volts, 0, None).sum(axis=1)
        negative += np.clip(-volts, 0, None).sum(axis=1)
    drive = np.maximum(positive, negative)
    if peak_drive is not None:
        drive = np.minimum(drive, peak_drive * gain)
    bias_v = np.abs(np.asarray(pop.bias, dtype=float)) * neuron.r_m
    input_mv = float(np.max(drive + bias_v, initial=0.0)) * 1e3
    potentials = max(abs(neuron.v_rest), abs(neuron.v_th), abs(neuron.v_reset)) * 1e3
    swing = (neuron.v_th - min(neuron.v_rest, neuron.v_reset)) * 1e3
    k = power_of_two_scale(potentials + input_mv, V_LIMIT_MV, swing, MIN_SWING_MV)
    mv_per_v = 1e3 * 2.0**k
    r_chip = r_mohm * 2.0**k
    na_per_a = 1e9
    if not 2.0**-4 <= r_chip <= 2.0**12:
        na_per_a = 1e9 * 2.0 ** (math.floor(math.log2(r_chip)) - 1)
    return mv_per_v, na_per_a


def _current_weights_na(network: Network, proj: Projection, neuron: LIFParams,
                        mv_per_v: float, na_per_a: float) -> np.ndarray:
    """Weights in chip current units (delta synapses: see module docstring)."""
    w = proj.weights
    decay = math.exp(-network.dt / neuron.tau_m)
    r_chip = _r_chip(neuron.r_m, mv_per_v, na_per_a)
    delta = _delta_sign(neuron, w)
    return np.where(delta, w * mv_per_v * decay / (r_chip * (1.0 - decay)), w * na_per_a)


def _r_chip(r_m: float, mv_per_v: float, na_per_a: float) -> float:
    """``R`` in chip units (MOhm at the native scales; the factors are 1 there)."""
    return r_m * 1e-6 * (mv_per_v / 1e3) / (na_per_a / 1e9)


def _delta_sign(neuron: LIFParams, w: np.ndarray) -> np.ndarray:
    """Per weight: does its sign's synapse have tau_syn = 0 (a delta synapse)?"""
    return np.where(w >= 0, neuron.tau_syn_exc <= 0, neuron.tau_syn_inh <= 0)


def options_for_drive(network: Network, peak_drive: Mapping[str, float]) -> dict[str, Any]:
    """Mapper options from the largest per-step input (V) of each population in a
    float run on the data it will see (:func:`lifhw.snn.deploy.chip_options`): the
    voltage scale then covers that drive instead of all synapses at once."""
    return {"peak_drive": dict(peak_drive)}


def map(network: Network, *, timestep: float | None = None,
        peak_drive: Mapping[str, float] | None = None) -> ChipSpec:
    """Float targets of the ``IF_curr_exp`` parameters in chip units (pure).

    Per population a unit scale (:func:`_unit_scales`): ``V``'s in ``mv_per_v``
    times volts (sPyNNaker's mV, ``1e3``, whenever the population fits s16.15),
    currents in ``na_per_a`` times amperes (nA, ``1e9``, unless ``R`` would lose
    bits), ``R = r_m mv_per_v / na_per_a``, ``c_m = tau_m / R``, ``tau`` in ms,
    weights as currents (current synapses ``na_per_a w``; delta synapses see the
    module docstring), ``T_refract`` as the chip computes it
    (:func:`t_refract_steps`). A membrane longer than
    :func:`longest_tau_m` gets that leak (:func:`effective_neuron`) and a
    ``residual_leak`` warning.

    Args:
        network: The float network (not modified).
        timestep: Machine time step (s); default the network's ``dt``. sPyNNaker
            runs 1 ms or 0.1 ms (other values are reported by ``timestep_rule``).
        peak_drive: Largest per-step input (V) per population on the data to be
            run (:func:`options_for_drive`); default all synapses at once.

    Returns:
        The :class:`ChipSpec`.
    """
    dt = network.dt if timestep is None else float(timestep)
    if not math.isclose(dt, network.dt, rel_tol=1e-9):
        raise ParamError("the machine time step must equal the network dt "
                         f"({network.dt:g} s); resample the network first", path="timestep")
    populations: dict[str, dict[str, Any]] = {}
    weights: dict[str, np.ndarray] = {}
    notes: list[str] = []
    dt_ms = dt * 1e3
    peaks = dict(peak_drive or {})
    for pop in network.populations:
        p, capped = effective_neuron(pop.neuron, dt)
        mv, na = _unit_scales(network, pop, p, peaks.get(pop.name))
        # R = tau / c_m is kept when the loaded tau differs from the realised one.
        tau_param = tau_m_parameter(p.tau_m, dt)
        populations[pop.name] = {
            "v_rest": p.v_rest * mv, "v_reset": p.v_reset * mv,
            "v_thresh": p.v_th * mv, "tau_m": tau_param * 1e3,
            "c_m": p.c_m * 1e9 * (na / 1e9) / (mv / 1e3) * (tau_param / p.tau_m),
            "i_offset": pop.bias * na, "t_refract": t_refract_steps(p.t_ref * 1e3, dt_ms),
            "tau_syn_exc": p.tau_syn_exc * 1e3, "tau_syn_inh": p.tau_syn_inh * 1e3,
            "dt_ms": dt_ms, "delta": pop.delta_synapses, "mv_per_v": mv, "na_per_a": na,
            "residual_leak": capped, "tau_m_wanted": pop.neuron.tau_m,
            "tau_m_effective": p.tau_m,
        }
        if pop.delta_synapses:
            notes.append(f"{pop.name}: delta synapses use sPyNNaker's delta synapse type "
                         "(current for one step, V matched at the end of the step)")
        if mv != 1e3 or na != 1e9:
            notes.append(f"{pop.name}: unit scale {mv:g} chip-mV per V, {na:g} chip-nA per A")
        for proj in network.incoming(pop.name):
            weights[projection_key(proj.pre, proj.post)] = _current_weights_na(
                network, proj, p, mv, na)
    return ChipSpec(chip=NAME, network=network, dt=dt, populations=populations,
                    weights=weights, options={"timestep": dt, "peak_drive": peaks},
                    notes=tuple(notes))


@dataclass(frozen=True, eq=False)
class SpiNNakerConfig:
    """The programmed machine.

    Args:
        spec: What ``map`` decided.
        neurons: Population -> :class:`NeuronParams`.
        shifts: Population -> (exc shift, inh shift).
        weights_exc, weights_inh: ``"pre->post"`` -> uint16 magnitudes (post, pre).
        max_weight: Population -> (exc, inh) largest summed weight (nA) the
            shift was chosen for.
    """

    spec: ChipSpec
    neurons: Mapping[str, NeuronParams]
    shifts: Mapping[str, tuple[int, int]]
    weights_exc: Mapping[str, np.ndarray]
    weights_inh: Mapping[str, np.ndarray]
    max_weight: Mapping[str, tuple[float, float]]


def _max_summed_weight(matrices: list[np.ndarray]) -> float:
    """sPyNNaker's bound: ``max(sum_proj w_max n_conn_max, max_proj w_max)``."""
    total = 0.0
    biggest = 0.0
    for w in matrices:
        if not w.size or not np.any(w):
            continue
        w_max = float(w.max())
        n_conn = int(np.count_nonzero(w, axis=1).max())
        total += w_max * n_conn
        biggest = max(biggest, w_max)
    return max(total, biggest)


def quantize(spec: ChipSpec) -> SpiNNakerConfig:
    """sPyNNaker's host-side encoding of the targets.

    Parameters: ``to_s1615`` (round to nearest); ``R``, ``exp_TC``, decays and
    inits as the chip derives them from those s16.15 values
    (:func:`r_membrane_s1615`, :func:`exp_tc_s1615`, :func:`exp_decay_u032`,
    :func:`init_u032`). Weights: :func:`ring_buffer_shift` per synapse type from
    :func:`_max_summed_weight`, stored ``rint(|w| 2**(15 - p))`` (NumPy ``rint``,
    as sPyNNaker's synaptic-row code) and masked to 16 bits.
    """
    network = spec.network
    dt_ms = spec.dt * 1e3
    neurons: dict[str, NeuronParams] = {}
    shifts: dict[str, tuple[int, int]] = {}
    w_exc: dict[str, np.ndarray] = {}
    w_inh: dict[str, np.ndarray] = {}
    max_weight: dict[str, tuple[float, float]] = {}
    for pop in network.populations:
        t = spec.populations[pop.name]
        neurons[pop.name] = NeuronParams(
            n=pop.size, v_rest=to_s1615(t["v_rest"]), v_reset=to_s1615(t["v_reset"]),
            v_thresh=to_s1615(t["v_thresh"]),
            r_membrane=np.int64(r_membrane_s1615(t["tau_m"], t["c_m"])),
            exp_tc=np.int64(exp_tc_s1615(dt_ms, t["tau_m"])),
            i_offset=to_s1615(t["i_offset"]), t_refract=int(t["t_refract"]),
            exc_decay=exp_decay_u032(dt_ms, t["tau_syn_exc"]),
            exc_init=init_u032(dt_ms, t["tau_syn_exc"]) if t["tau_syn_exc"] > 0 else 0,
            inh_decay=exp_decay_u032(dt_ms, t["tau_syn_inh"]),
            inh_init=init_u032(dt_ms, t["tau_syn_inh"]) if t["tau_syn_inh"] > 0 else 0,
            exc_delta=t["tau_syn_exc"] <= 0, inh_delta=t["tau_syn_inh"] <= 0,
        )
        keys = [projection_key(p.pre, p.post) for p in network.incoming(pop.name)]
        exc = [np.clip(spec.weights[k], 0, None) for k in keys]
        inh = [np.clip(-spec.weights[k], 0, None) for k in keys]
        max_weight[pop.name] = (_max_summed_weight(exc), _max_summed_weight(inh))
        shift_e = ring_buffer_shift(max_weight[pop.name][0])
        shift_i = ring_buffer_shift(max_weight[pop.name][1])
        shifts[pop.name] = (shift_e, shift_i)
        for key, we, wi in zip(keys, exc, inh, strict=True):
            w_exc[key] = (np.rint(we * 2.0 ** (15 - shift_e)).astype(np.int64)
                          & WEIGHT_BITS_MAX)
            w_inh[key] = (np.rint(wi * 2.0 ** (15 - shift_i)).astype(np.int64)
                          & WEIGHT_BITS_MAX)
    return SpiNNakerConfig(spec=spec, neurons=neurons, shifts=shifts, weights_exc=w_exc,
                           weights_inh=w_inh, max_weight=max_weight)


# --------------------------------------------------------------------------------------
# Design rules
# --------------------------------------------------------------------------------------


def timestep_rule(config: SpiNNakerConfig) -> list[Violation]:
    """sPyNNaker runs with a 1 ms or 0.1 ms machine time step."""
    dt = config.spec.dt
    if any(math.isclose(dt, ts, rel_tol=1e-9) for ts in TIMESTEPS_S):
        return []
    return [Violation("timestep_rule", f"dt = {dt * 1e3:g} ms; sPyNNaker supports 1 ms and "
                      "0.1 ms", severity="warning")]


def fixed_point_range(config: SpiNNakerConfig) -> list[Violation]:
    """Parameters must fit s16.15 (|x| < 65536) and keep resolution."""
    out = []
    for name, t in config.spec.populations.items():
        for key in ("v_rest", "v_reset", "v_thresh", "tau_m", "c_m"):
            if abs(float(t[key])) >= 2**16:
                out.append(Violation("fixed_point_range", f"{key} = {t[key]:g} does not "
                                     "fit s16.15", where=name))
        bias = np.abs(np.asarray(t["i_offset"], dtype=float))
        if bias.size and bias.max() >= 2**16:
            out.append(Violation("fixed_point_range", "I_offset does not fit s16.15",
                                 where=name))
        if float(t["tau_m"] / t["c_m"]) >= 2**16:
            out.append(Violation("fixed_point_range", "R = tau_m / c_m >= 65536 MOhm",
                                 where=name))
        if 0 < float(t["c_m"]) < 2**-12:
            out.append(Violation("fixed_point_range", f"c_m = {t['c_m']:g} nF has fewer "
                                 "than 3 significant bits in s16.15", where=name,
                                 severity="warning"))
    return out


def residual_leak_rule(config: SpiNNakerConfig) -> list[Violation]:
    """A membrane longer than ``IF_curr_exp`` holds runs with the longest leak."""
    return residual_leak(config.spec, "exp_TC = 1 - 2**-15, the longest leak of s16.15")


def weight_resolution(config: SpiNNakerConfig) -> list[Violation]:
    """Non-zero float weights that round to 0 in 16 bits (lost synapses)."""
    out = []
    for proj in config.spec.network.projections:
        key = projection_key(proj.pre, proj.post)
        target = config.spec.weights[key]
        stored = config.weights_exc[key] + config.weights_inh[key]
        lost = int(np.count_nonzero((target != 0) & (stored == 0)))
        if lost:
            out.append(Violation("weight_resolution", f"{lost} non-zero weights round to "
                                 "0 with this ring-buffer shift", where=key,
                                 severity="warning"))
    return out


def delay_range(config: SpiNNakerConfig) -> list[Violation]:
    """Delays up to 16 steps are native; up to 144 with delay extensions."""
    out = []
    for proj in config.spec.network.projections:
        key = projection_key(proj.pre, proj.post)
        if proj.delay_steps > MAX_DELAY:
            out.append(Violation("delay_range", f"delay {proj.delay_steps} > {MAX_DELAY} "
                                 "steps", where=key))
        elif proj.delay_steps > MAX_NATIVE_DELAY:
            out.append(Violation("delay_range", f"delay {proj.delay_steps} needs a delay "
                                 "extension core", where=key, severity="warning"))
    return out


def board_capacity(config: SpiNNakerConfig) -> list[Violation]:
    """The network must fit one SpiNN-5 board (cores and SDRAM)."""
    res = resources(config)
    out = []
    if res.cores_used > res.cores_available:
        out.append(Violation("board_capacity", f"{res.cores_used} cores > "
                             f"{res.cores_available} on a 48-chip board"))
    used, available = res.extra["sdram_bytes"]
    if used > available:
        out.append(Violation("board_capacity", f"synaptic matrices need {used} B of SDRAM "
                             f"> {available} B"))
    return out


RULES: tuple[Rule, ...] = (timestep_rule, fixed_point_range, residual_leak_rule,
                           weight_resolution, delay_range,
                           board_capacity)


def check(config: SpiNNakerConfig) -> list[Violation]:
    """All design-rule violations of a configuration."""
    return run_rules(RULES, config)


# --------------------------------------------------------------------------------------
# Simulation, dequantisation, resources, energy
# --------------------------------------------------------------------------------------


def simulate(config: SpiNNakerConfig, input_spikes: Any, *,
             record_states: bool = False) -> ChipRun:
    """Run the programmed network step by step (bit-accurate, vectorised over neurons).

    Args:
        config: From :func:`quantize`.
        input_spikes: (T, n_in) bool or name -> (T, size).
        record_states: Record ``v``, ``isyn_exc``, ``isyn_inh`` (s16.15 bits) per step.

    Returns:
        The :class:`ChipRun`.
    """
    network = config.spec.network
    inputs = split_inputs(network, input_spikes)
    n_steps = next(iter(inputs.values())).shape[0] if inputs else 0
    synapses = []
    for proj in network.projections:
        key = projection_key(proj.pre, proj.post)
        synapses.append(Synapses(proj.pre, proj.post, config.weights_exc[key],
                                 proj.delay_steps, "exc"))
        synapses.append(Synapses(proj.pre, proj.post, config.weights_inh[key],
                                 proj.delay_steps, "inh"))
    states: dict[str, dict[str, np.ndarray]] = {}
    updates = {}
    for pop in network.populations:
        params = config.neurons[pop.name]
        record = None
        if record_states:
            record = {name: np.zeros((n_steps, pop.size), dtype=np.int64)
                      for name in ("v", "isyn_exc", "isyn_inh")}
            states[pop.name] = record
        updates[pop.name] = _population_update(params, config.shifts[pop.name], record)
    spikes, events = run_network(network, inputs, synapses, updates,
                                 accumulate=gather_sum)
    # exc and inh matrices are disjoint, so run_network counts each synapse once.
    return ChipRun(backend=NAME, dt=config.spec.dt, spikes=spikes, states=states,
                   events=events, meta={"timestep_s": config.spec.dt})


def _population_update(params: NeuronParams, shifts: tuple[int, int],
                       record: dict[str, np.ndarray] | None) -> Any:
    state = State.initial(params)
    zeros = np.zeros(params.n, dtype=np.int64)

    def update(k: int, summed: Mapping[str, np.ndarray]) -> np.ndarray:
        spike = step(state, params, summed.get("exc", zeros), summed.get("inh", zeros),
                     shifts[0], shifts[1])
        if record is not None:
            record["v"][k] = state.v
            record["isyn_exc"][k] = state.isyn_exc
            record["isyn_inh"][k] = state.isyn_inh
        return spike

    return update


def _tau_from_u032(decay: int, dt: float) -> float:
    if decay <= 0:
        return 0.0
    return -dt / math.log(decay / ONE_U032)


def dequantize(config: SpiNNakerConfig) -> Network:
    """The float network the integers realise (SI units).

    ``tau_m = -dt / ln(exp_TC)``, ``r_m = R na_per_a / mv_per_v``, potentials
    ``bits / 2**15 / mv_per_v``, ``tau_syn = -dt / ln(decay)``, ``t_ref =
    T_refract dt``, weights ``stored 2**(p - 15) / na_per_a`` (delta synapses back
    to volts by the inverse of the map formula); the unit scales are the spec's.
    """
    network = config.spec.network
    dt = config.spec.dt
    populations = []
    scales = {}
    for pop in network.populations:
        q = config.neurons[pop.name]
        target = config.spec.populations[pop.name]
        mv = float(target.get("mv_per_v", 1e3))
        na = float(target.get("na_per_a", 1e9))
        scales[pop.name] = (mv, na)
        exp_tc = float(from_s1615(q.exp_tc[0]))
        tau_m = -dt / math.log(exp_tc) if 0 < exp_tc < 1 else 1e9
        r_m = float(from_s1615(q.r_membrane[0])) * 1e6 * (na / 1e9) / (mv / 1e3)
        neuron = LIFParams(
            tau_m=tau_m, r_m=r_m, v_rest=float(from_s1615(q.v_rest[0])) * 1e-3 / (mv / 1e3),
            v_th=float(from_s1615(q.v_thresh[0])) * 1e-3 / (mv / 1e3),
            v_reset=float(from_s1615(q.v_reset[0])) * 1e-3 / (mv / 1e3),
            t_ref=int(q.t_refract[0]) * dt,
            tau_syn_exc=0.0 if q.exc_delta else _tau_from_u032(int(q.exc_decay[0]), dt),
            tau_syn_inh=0.0 if q.inh_delta else _tau_from_u032(int(q.inh_decay[0]), dt),
        )
        populations.append(Population(pop.name, pop.size, neuron,
                                      from_s1615(q.i_offset) * 1e-9 / (na / 1e9)))
    realised = {p.name: p for p in populations}
    projections = []
    for proj in network.projections:
        key = projection_key(proj.pre, proj.post)
        shift_e, shift_i = config.shifts[proj.post]
        mv, na = scales[proj.post]
        w_na = (config.weights_exc[key] * 2.0 ** (shift_e - 15)
                - config.weights_inh[key] * 2.0 ** (shift_i - 15))
        post = realised[proj.post]
        decay = math.exp(-dt / post.neuron.tau_m)
        r_chip = _r_chip(post.neuron.r_m, mv, na)
        w = np.where(_delta_sign(post.neuron, w_na),
                     w_na * r_chip * (1.0 - decay) / decay * 1e-3 / (mv / 1e3),
                     w_na * 1e-9 / (na / 1e9))
        projections.append(Projection(proj.pre, proj.post, w, proj.delay_steps))
    return Network(network.name, network.inputs, tuple(populations), tuple(projections), dt)


def resources(config: SpiNNakerConfig) -> Resources:
    """Application cores (neurons and spike sources), synapses and SDRAM."""
    network = config.spec.network
    neuron_cores = sum(math.ceil(p.size / NEURONS_PER_CORE) for p in network.populations)
    source_cores = sum(math.ceil(p.size / NEURONS_PER_CORE) for p in network.inputs)
    delay_cores = sum(math.ceil(network.size_of(p.pre) / NEURONS_PER_CORE)
                      for p in network.projections if p.delay_steps > MAX_NATIVE_DELAY)
    synapses = int(sum(np.count_nonzero(config.weights_exc[k] + config.weights_inh[k])
                       for k in config.weights_exc))
    cores = neuron_cores + source_cores + delay_cores
    return Resources(
        cores_used=cores, cores_available=CORES_PER_BOARD,
        neurons_used=network.n_neurons, neurons_available=CORES_PER_BOARD * NEURONS_PER_CORE,
        synapses_used=synapses, synapses_available=SDRAM_PER_BOARD // BYTES_PER_SYNAPSE,
        extra={"sdram_bytes": (synapses * BYTES_PER_SYNAPSE, SDRAM_PER_BOARD),
               "spike_source_cores": (source_cores, CORES_PER_BOARD),
               "delay_extension_cores": (delay_cores, CORES_PER_BOARD)},
    )


#: van Albada et al. 2018 (Front. Neurosci. 12:291): whole-system energy per
#: synaptic event of the cortical microcircuit (77k neurons, 0.3 G synapses) on
#: SpiNNaker, 5.9 uJ -- measured at 0.1 ms steps, running 20x slower than real
#: time, all board power including idle. Mostly static power x wall time, so it
#: is not a per-event cost of the chip.
ENERGY_PER_SYNAPTIC_EVENT_J = 5.9e-6
#: The configuration of that measurement.
MEASURED_DT_S = 1e-4


#: spinn_machine (SpiNNakerManchester/SpiNNMachine,
#: ``spinn_machine/version/version_spin1.py``): active overhead per core
#: measured on a 48-chip board (31.88 W idle, 59.38 W with 806 cores active).
POWER_PER_ACTIVE_CORE_W = 0.034
#: Same file: 25 pJ per router bit x 40-bit spike packet (Painkras et al. 2013,
#: IEEE JSSC 48(8):1943).
ENERGY_PER_PACKET_J = 1e-9

#: Per-core and per-chip resources, with sources.
RESOURCES = ChipResources(
    target=NAME, core_name="ARM core",
    core=CoreResources(
        neurons=Figure(NEURONS_PER_CORE, "sPyNNaker if_curr_exp_base.py: "
                       "_model_based_max_atoms_per_core = 255 (IF_curr_exp)"),
        synapses=Figure(SDRAM_PER_BOARD // 48 // CORES_PER_CHIP // BYTES_PER_SYNAPSE,
                        "128 MiB SDRAM per chip shared by 16 application cores, 4 bytes "
                        "per static synaptic word (derived; sPyNNaker synapse_row.h)",
                        published=False)),
    cores_per_chip=Figure(CORES_PER_CHIP, "Furber et al. 2014, Proc. IEEE 102(5):652: 18 "
                          "cores per chip, 16 for applications"),
    inputs_on_cores=True,
    energy_relation="alternative",
    static_power_per_core_w=Figure(POWER_PER_ACTIVE_CORE_W, "spinn_machine "
                                   "version_spin1.py: 0.034 W active overhead per core "
                                   "(measured, 48-chip board)"),
    energy_per_core_packet_j=Figure(ENERGY_PER_PACKET_J, "spinn_machine version_spin1.py: "
                                    "1 nJ per spike packet (25 pJ/bit x 40 bits, Painkras "
                                    "et al. 2013)"),
    energy_per_chip_packet_j=Figure(ENERGY_PER_PACKET_J, "one more router traversal of "
                                    "1 nJ per inter-chip packet (one hop assumed)",
                                    published=False),
    notes=("idle chip power (0.35 W per chip, spinn_machine) is in the system-level "
           "5.9 uJ per synaptic event, not added again",
           "spike sources run on cores of their own; delay-extension cores are counted "
           "by resources(), not placed"))


def place(spec: ChipSpec, *, rates_hz: Mapping[str, Any] | None = None,
          order: str = "index") -> Placement:
    """Neurons and spike sources onto ARM cores (255 per core), 16 cores per chip.

    Every core runs the same integer update on its slice and receives every
    spike of its presynaptic sources through the router within the same time
    step, so placement leaves the spikes unchanged (the placed network is the
    network).
    """
    return place_spec(spec, RESOURCES, rates_hz=rates_hz, order=order)


def energy(config: SpiNNakerConfig, run: ChipRun) -> EnergyEstimate:
    """Energy from the published whole-system figure (cited in the term).

    Applied per synaptic event as measured; it is an assumption for any other
    configuration: the figure is dominated by the boards' static power over the
    20x-slowed wall time of a 0.1 ms run, which changes with the time step, the
    slowdown and the network size. At any other dt the term says so.
    """
    source = ("van Albada et al. 2018, Front. Neurosci. 12:291: 5.9 uJ per synaptic event, "
              "whole system, cortical microcircuit at 0.1 ms steps and 20x slowdown")
    if not math.isclose(run.dt, MEASURED_DT_S, rel_tol=1e-9):
        source += (f"; this run uses dt = {run.dt * 1e3:g} ms, where the figure is an "
                   "assumption (not the measured configuration)")
    del config
    return EnergyEstimate(NAME, (
        EnergyTerm("synaptic_events", float(run.events.get("synaptic_events", 0)),
                   ENERGY_PER_SYNAPTIC_EVENT_J, source),
    ))


if TYPE_CHECKING:  # mypy checks this module against the HardwareTarget protocol
    from lifhw.chips import spinnaker as _module
    from lifhw.chips.base import HardwareTarget

    _conforms: HardwareTarget = _module
