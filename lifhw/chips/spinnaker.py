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

Constants (``decay_and_init`` in ``exp_synapse_utils.h``,
``neuron_model_initialise``): ``exp_TC = expk(-dt/tau_m)`` (s16.15),
``R = tau_m / c_m`` (MOhm), ``decay = expulr(-dt/tau_syn)`` (u0.32),
``init = decay_s1615_to_u032(tau_syn/dt, 1 - decay)`` = ``tau/dt (1 - exp(-dt/tau))``
as ``(bits(tau/dt) * bits(1 - decay)) >> 15``, ``T_refract = ceil(t_ref / dt)``.
On the chip ``expk``/``kdivk`` are spinn_common's fixed-point routines; this
model evaluates them in double precision and rounds to nearest (they are
specified accurate to about 1 LSB, so a constant may differ from a real board
in its last bit).

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
    projection_key,
    round_half_away,
    run_network,
    run_rules,
    split_inputs,
)
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.network import Network, Population, Projection, gather_sum

NAME = "spinnaker"

#: sPyNNaker's machine time steps (s).
TIMESTEPS_S = (1e-3, 1e-4)
#: Neurons per application core (sPyNNaker's default for IF_curr_exp).
NEURONS_PER_CORE = 256
#: Application cores on one SpiNN-5 board: 48 chips x 16 (of 18) cores.
CORES_PER_BOARD = 48 * 16
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


def exp_decay_u032(dt: float, tau: float) -> int:
    """``expulr(-dt/tau)`` as u0.32 bits (0 for tau = 0, i.e. cleared every step)."""
    if tau <= 0:
        return 0
    return min(round(math.exp(-dt / tau) * ONE_U032), ONE_U032 - 1)


def init_u032(dt: float, tau: float) -> int:
    """``decay_s1615_to_u032(kdivk(tau, dt), 1 - decay)``: ``tau/dt (1 - exp(-dt/tau))``.

    ``(bits_s1615(tau/dt) * bits_u032(1 - decay)) >> 15``, in u0.32.
    """
    decay = exp_decay_u032(dt, tau)
    tau_over_ts = int(to_s1615(tau / dt))
    return min((tau_over_ts * (ONE_U032 - decay)) >> 15, ONE_U032 - 1)


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


def _mv(volts: Any) -> Any:
    return np.asarray(volts, dtype=float) * 1e3


def _current_weights_na(network: Network, proj: Projection) -> np.ndarray:
    """Weights in nA as the chip sees them (delta synapses: see module docstring)."""
    p = network.population(proj.post).neuron
    w = proj.weights
    decay = math.exp(-network.dt / p.tau_m)
    r_mohm = p.r_m * 1e-6
    delta = _delta_sign(p, w)
    return np.where(delta, _mv(w) * decay / (r_mohm * (1.0 - decay)), w * 1e9)


def _delta_sign(neuron: LIFParams, w: np.ndarray) -> np.ndarray:
    """Per weight: does its sign's synapse have tau_syn = 0 (a delta synapse)?"""
    return np.where(w >= 0, neuron.tau_syn_exc <= 0, neuron.tau_syn_inh <= 0)


def map(network: Network, *, timestep: float | None = None) -> ChipSpec:
    """Float targets of the ``IF_curr_exp`` parameters (sPyNNaker units) (pure).

    ``V``'s in mV (``1e3 x`` volts), ``c_m`` in nF, ``tau`` in ms, ``I_offset``
    in nA (``1e9 x`` the bias), weights in nA (current synapses ``1e9 w``; delta
    synapses see the module docstring), ``T_refract = ceil(t_ref / dt)``.

    Args:
        network: The float network (not modified).
        timestep: Machine time step (s); default the network's ``dt``. sPyNNaker
            runs 1 ms or 0.1 ms (other values are reported by ``timestep_rule``).

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
    for pop in network.populations:
        p = pop.neuron
        populations[pop.name] = {
            "v_rest": float(_mv(p.v_rest)), "v_reset": float(_mv(p.v_reset)),
            "v_thresh": float(_mv(p.v_th)), "tau_m": p.tau_m * 1e3, "c_m": p.c_m * 1e9,
            "i_offset": pop.bias * 1e9, "t_refract": math.ceil(p.t_ref / dt - 1e-9),
            "tau_syn_exc": p.tau_syn_exc * 1e3, "tau_syn_inh": p.tau_syn_inh * 1e3,
            "dt_ms": dt_ms, "delta": pop.delta_synapses,
        }
        if pop.delta_synapses:
            notes.append(f"{pop.name}: delta synapses use sPyNNaker's delta synapse type "
                         "(current for one step, V matched at the end of the step)")
    for proj in network.projections:
        weights[projection_key(proj.pre, proj.post)] = _current_weights_na(network, proj)
    return ChipSpec(chip=NAME, network=network, dt=dt, populations=populations,
                    weights=weights, options={"timestep": dt}, notes=tuple(notes))


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

    Parameters: ``to_s1615`` (round to nearest); ``R = tau_m / c_m``,
    ``exp_TC = exp(-dt/tau_m)``, decays/inits by :func:`exp_decay_u032` /
    :func:`init_u032`. Weights: :func:`ring_buffer_shift` per synapse type from
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
            r_membrane=to_s1615(t["tau_m"] / t["c_m"]),
            exp_tc=to_s1615(math.exp(-dt_ms / t["tau_m"])),
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


RULES: tuple[Rule, ...] = (timestep_rule, fixed_point_range, weight_resolution, delay_range,
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

    ``tau_m = -dt / ln(exp_TC)``, ``r_m = R`` (MOhm), potentials ``bits / 2**15``
    mV, ``tau_syn = -dt / ln(decay)``, ``t_ref = T_refract dt``, weights
    ``stored 2**(p - 15)`` nA (delta synapses back to volts by the inverse of the
    map formula).
    """
    network = config.spec.network
    dt = config.spec.dt
    populations = []
    for pop in network.populations:
        q = config.neurons[pop.name]
        exp_tc = float(from_s1615(q.exp_tc[0]))
        tau_m = -dt / math.log(exp_tc) if 0 < exp_tc < 1 else 1e9
        r_m = float(from_s1615(q.r_membrane[0])) * 1e6
        neuron = LIFParams(
            tau_m=tau_m, r_m=r_m, v_rest=float(from_s1615(q.v_rest[0])) * 1e-3,
            v_th=float(from_s1615(q.v_thresh[0])) * 1e-3,
            v_reset=float(from_s1615(q.v_reset[0])) * 1e-3,
            t_ref=int(q.t_refract[0]) * dt,
            tau_syn_exc=0.0 if q.exc_delta else _tau_from_u032(int(q.exc_decay[0]), dt),
            tau_syn_inh=0.0 if q.inh_delta else _tau_from_u032(int(q.inh_decay[0]), dt),
        )
        populations.append(Population(pop.name, pop.size, neuron,
                                      from_s1615(q.i_offset) * 1e-9))
    realised = {p.name: p for p in populations}
    projections = []
    for proj in network.projections:
        key = projection_key(proj.pre, proj.post)
        shift_e, shift_i = config.shifts[proj.post]
        w_na = (config.weights_exc[key] * 2.0 ** (shift_e - 15)
                - config.weights_inh[key] * 2.0 ** (shift_i - 15))
        post = realised[proj.post]
        decay = math.exp(-dt / post.neuron.tau_m)
        w = np.where(_delta_sign(post.neuron, w_na),
                     w_na * (post.neuron.r_m * 1e-6) * (1.0 - decay) / decay * 1e-3,
                     w_na * 1e-9)
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
#: synaptic event of the cortical microcircuit on SpiNNaker, 5.9 uJ (0.1 ms
#: steps, slowed down 20x, all power including idle).
ENERGY_PER_SYNAPTIC_EVENT_J = 5.9e-6


def energy(config: SpiNNakerConfig, run: ChipRun) -> EnergyEstimate:
    """Energy from the published system-level figure (cited in the term)."""
    return EnergyEstimate(NAME, (
        EnergyTerm("synaptic_events", float(run.events.get("synaptic_events", 0)),
                   ENERGY_PER_SYNAPTIC_EVENT_J,
                   "van Albada et al. 2018, Front. Neurosci. 12:291 (5.9 uJ per synaptic "
                   "event, whole system)"),
    ))


if TYPE_CHECKING:  # mypy checks this module against the HardwareTarget protocol
    from lifhw.chips import spinnaker as _module
    from lifhw.chips.base import HardwareTarget

    _conforms: HardwareTarget = _module
