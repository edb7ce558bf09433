"""IBM TrueNorth: the Cassidy et al. 2013 neuron on 256x256 crossbar cores, bit-accurate.

The neuron (A. S. Cassidy et al., "Cognitive computing building block: a
versatile and efficient digital neuron model for neurosynaptic cores", IJCNN
2013, eqs. 1-5; the same model runs on the TrueNorth chip, P. A. Merolla et al.,
Science 345:668, 2014) updates once per 1 ms tick ``t``, in three phases, on an
integer membrane ``V_j``:

1. **Synaptic integration** over the 256 axons ``i`` of the core::

       V_j += sum_i A_i(t) w_ij [ (1 - b_j^G) s_j^G + b_j^G F(s_j^G, rho_ij) sgn(s_j^G) ]

   with ``A_i(t)`` the axon's spike, ``w_ij`` the binary crossbar bit,
   ``G = G_i`` the axon's type (one of 4), ``s_j^G`` the neuron's signed 9-bit
   weight for that type, ``b_j^G`` the stochastic-synapse flag, and
   ``F(s, rho) = 1 if |s| >= rho else 0`` with ``rho`` an 8-bit random number:
   a stochastic synapse adds ``sgn(s)`` with probability ``(|s| + 1) / 256``.
2. **Leak** with optional reversal ``epsilon`` and stochastic mode ``c``::

       Omega = (1 - epsilon) + epsilon sgn(V_j)
       V_j += Omega [ (1 - c) lambda_j + c F(lambda_j, rho) sgn(lambda_j) ]

   (with ``epsilon = 1`` and ``lambda < 0`` the leak pulls V toward 0.)
3. **Threshold, fire, reset** with ``eta = rho & M`` (``M = 2**TM - 1``, the
   threshold mask; ``TM = 0`` is the deterministic threshold)::

       if V_j >= alpha + eta:  spike;  V_j = R (gamma=0) | V_j - (alpha + eta) (gamma=1)
                                            | V_j (gamma=2)
       elif V_j < -(beta kappa + (beta + eta)(1 - kappa)):
           V_j = -beta (kappa=1, saturate) | -R (gamma=0) | V_j + (beta + eta) (gamma=1)
                 | V_j (gamma=2)

Register widths, as described for the TrueNorth neuron (Cassidy et al. 2013;
F. Akopyan et al., IEEE TCAD 34:1537, 2015): weights ``s`` and leak ``lambda``
signed 9-bit (here two's complement -256..255), thresholds ``alpha``/``beta``
18-bit unsigned, ``TM`` 0..17, membrane 20-bit signed; ``R`` is taken as 18-bit
signed (an assumption). What happens on membrane overflow is not published:
this model **saturates** V at the 20-bit range after each phase (and a design
rule reports when the range could be reached).

**Pseudo-random numbers.** The chip draws from a per-core linear-feedback shift
register whose polynomial and consumption order are not published, so no
model can reproduce its exact random sequence. This module uses a documented,
counter-based generator instead: every draw is ``mix(seed, stream, tick, a, b)``
where ``mix`` chains the SplitMix64 finaliser (Steele, Lea & Flood, OOPSLA 2014)
over the key words, ``stream`` is 0 for synapses (``a`` = axon, ``b`` = neuron),
1 for leaks and 2 for thresholds (``a`` = neuron); ``rho`` is the low 8 bits and
``eta`` the low bits under the mask. A draw depends only on its key, so runs
are reproducible from ``seed`` regardless of evaluation order or vectorisation
(the hardware's consumption order would be an LFSR step per use; the
statistics -- uniform 8-bit draws -- are the same).

**Weight modes.** ``full``: each source neuron drives ``axon_copies`` (2 or 4)
axons of every core holding its targets; the axon types are positive/negative
(2) or strong/weak positive/negative (4), and each post neuron's
``s_j^G`` levels are fitted to its incoming float weights (a 1-D k-means per
neuron, zero included as the "no synapse" level). ``ternary``: weights in
{-1, 0, +1} on a +1 axon and a -1 axon per source, the trinary weights of
TrueNorth deep networks (S. K. Esser et al., PNAS 113:11441, 2016).

**Fan-out.** A TrueNorth neuron sends its spike to exactly one axon. A source
that must reach ``F`` axons (target cores x axon copies) is realised by ``F``
identical copies of the neuron (a "splitter"); the copies are counted in the
resources and bound the neurons per core, and the simulator computes one copy
(identical inputs and deterministic modes give identical spikes).

Mapping a float network (formulas in :func:`map`): potentials relative to
``v_rest`` in an integer unit ``u`` per population; the exponential leak
becomes a linear leak toward rest (leak reversal), constant bias currents
become a positive leak that reproduces the float model's f-I rate, current
synapses become voltage jumps of equal charge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
    is_non_leaky,
    projection_key,
    round_half_away,
    run_network,
    run_rules,
    split_inputs,
)
from lifhw.chips.placement import (
    ChipResources,
    CoreResources,
    Edge,
    Figure,
    connectivity,
    lines_of,
    place_edges,
    signs_used,
)
from lifhw.chips.placement import Placement as NetworkPlacement
from lifhw.errors import ParamError
from lifhw.network import Network, Population, Projection, gather_sum

NAME = "truenorth"


#: Chip geometry (Merolla et al. 2014): 4096 cores of 256 axons x 256 neurons.
AXONS_PER_CORE = 256
NEURONS_PER_CORE = 256
CORES_PER_CHIP = 4096
N_AXON_TYPES = 4
#: The global tick (s).
TICK_S = 1e-3
#: Register ranges (see module docstring).
WEIGHT_MIN, WEIGHT_MAX = -256, 255
LEAK_MIN, LEAK_MAX = -256, 255
THRESHOLD_MAX = 2**18 - 1
RESET_MIN, RESET_MAX = -(2**17), 2**17 - 1
V_MIN, V_MAX = -(2**19), 2**19 - 1
MASK_BITS_MAX = 17
#: Axon delays the chip can program (ticks).
DELAY_MIN, DELAY_MAX = 1, 15

#: Reset modes gamma.
RESET_TO_R, RESET_LINEAR, RESET_NONE = 0, 1, 2

#: PRNG streams.
STREAM_SYNAPSE, STREAM_LEAK, STREAM_THRESHOLD = 0, 1, 2

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (a bijection of 64-bit words with full avalanche)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def prng(seed: int, stream: int, tick: int, a: Any, b: Any = 0) -> np.ndarray:
    """Counter-based random words: ``mix(...mix(mix(seed) + stream) + tick ...)``.

    Each key word ``x`` is folded in as ``z = mix64(z + golden + x)`` (64-bit
    wrap-around), with ``golden = 0x9E3779B97F4A7C15``; ``a`` and ``b``
    broadcast against each other.

    Args:
        seed: Run seed (>= 0).
        stream: 0 synapse, 1 leak, 2 threshold.
        tick: Tick index.
        a: First index (axon for synapses, neuron otherwise), int array.
        b: Second index (neuron for synapses), int array.

    Returns:
        uint64 array of the broadcast shape of ``a`` and ``b``.
    """
    with np.errstate(over="ignore"):
        z = _mix64(np.asarray(int(seed) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64) + _GOLDEN)
        for word in (stream, tick):
            z = _mix64(z + _GOLDEN + np.uint64(int(word) & 0xFFFFFFFFFFFFFFFF))
        a_arr = np.asarray(a, dtype=np.int64).astype(np.uint64)
        b_arr = np.asarray(b, dtype=np.int64).astype(np.uint64)
        z = _mix64(z + _GOLDEN + a_arr)
        z = _mix64(z + _GOLDEN + b_arr)
    return np.asarray(z & _M64, dtype=np.uint64)


def _rho8(words: np.ndarray) -> np.ndarray:
    """The 8-bit random number rho in 0..255 from a draw."""
    return (words & np.uint64(0xFF)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class NeuronParams:
    """Programmed parameters of ``n`` TrueNorth neurons (arrays of length n).

    Scalars broadcast to every neuron. Names follow Cassidy et al. 2013.

    Args:
        weights: ``s_j^G``, shape (n, 4), signed 9-bit.
        stochastic_synapse: ``b_j^G``, shape (n, 4).
        leak: ``lambda_j``, signed 9-bit.
        leak_reversal: ``epsilon_j``.
        stochastic_leak: ``c_j^lambda``.
        alpha: Positive threshold (18-bit unsigned).
        beta: Negative threshold magnitude (18-bit unsigned).
        mask_bits: ``TM``: the threshold mask is ``M = 2**TM - 1`` (0..17).
        kappa: Negative-threshold saturation flag.
        reset_mode: ``gamma``: 0 reset to R, 1 linear, 2 none.
        reset: ``R``.
    """

    n: int
    weights: Any = 0
    stochastic_synapse: Any = False
    leak: Any = 0
    leak_reversal: Any = False
    stochastic_leak: Any = False
    alpha: Any = 1
    beta: Any = THRESHOLD_MAX
    mask_bits: Any = 0
    kappa: Any = True
    reset_mode: Any = RESET_TO_R
    reset: Any = 0

    def __post_init__(self) -> None:
        n = self.n
        for name, dtype in (("leak", np.int64), ("leak_reversal", bool),
                            ("stochastic_leak", bool), ("alpha", np.int64),
                            ("beta", np.int64), ("mask_bits", np.int64), ("kappa", bool),
                            ("reset_mode", np.int64), ("reset", np.int64)):
            value = np.broadcast_to(np.asarray(getattr(self, name), dtype=dtype), (n,)).copy()
            object.__setattr__(self, name, value)
        for name, dtype in (("weights", np.int64), ("stochastic_synapse", bool)):
            value = np.asarray(getattr(self, name), dtype=dtype)
            if value.ndim == 1 and value.shape == (N_AXON_TYPES,):
                value = value[None, :]
            value = np.broadcast_to(value, (n, N_AXON_TYPES)).copy()
            object.__setattr__(self, name, value)
        if np.any(~np.isin(self.reset_mode, (RESET_TO_R, RESET_LINEAR, RESET_NONE))):
            raise ParamError("reset_mode must be 0 (to R), 1 (linear) or 2 (none)",
                             path="reset_mode")
        if np.any((self.mask_bits < 0) | (self.mask_bits > MASK_BITS_MAX)):
            raise ParamError(f"mask_bits must be in 0..{MASK_BITS_MAX}", path="mask_bits")

    @property
    def mask(self) -> np.ndarray:
        """Threshold mask ``M = 2**TM - 1`` per neuron."""
        return (np.int64(1) << self.mask_bits) - 1


def _saturate(v: np.ndarray) -> np.ndarray:
    return np.clip(v, V_MIN, V_MAX)


def synaptic_input(
    active_axons: np.ndarray,
    crossbar: np.ndarray,
    axon_type: np.ndarray,
    params: NeuronParams,
    rho: np.ndarray | None = None,
) -> np.ndarray:
    """Phase 1: the summed synaptic input of one tick (Cassidy eq. 1).

    Args:
        active_axons: Indices of the axons spiking this tick, shape (k,).
        crossbar: Binary crossbar, shape (n_axons, n_neurons).
        axon_type: Type ``G_i`` of each axon (0..3), shape (n_axons,).
        params: The neurons.
        rho: 8-bit random numbers for the (k, n) active synapses; needed when any
            synapse is stochastic.

    Returns:
        Integer input per neuron, shape (n,).
    """
    active = np.asarray(active_axons, dtype=np.int64)
    if active.size == 0:
        return np.zeros(params.n, dtype=np.int64)
    bits = crossbar[active].astype(np.int64)                      # (k, n)
    s = params.weights[:, axon_type[active]].T                    # (k, n)
    b = params.stochastic_synapse[:, axon_type[active]].T         # (k, n)
    deterministic = bits * np.where(b, 0, s)
    total = deterministic.sum(axis=0)
    if b.any():
        if rho is None:
            raise ValueError("stochastic synapses need rho")
        fire = np.abs(s) >= rho
        total = total + (bits * np.where(b & fire, np.sign(s), 0)).sum(axis=0)
    return total


def leak_fire_reset(
    v: np.ndarray,
    params: NeuronParams,
    rho_leak: np.ndarray,
    eta_word: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Phases 2-3: leak, then threshold/fire/reset (Cassidy eqs. 2-5).

    Args:
        v: Membrane after synaptic integration, shape (n,).
        params: The neurons.
        rho_leak: 8-bit random numbers for stochastic leaks, shape (n,).
        eta_word: Random words whose masked low bits give ``eta``, shape (n,).

    Returns:
        (membrane after reset, spike flags), shape (n,) each.
    """
    lam = params.leak
    omega = np.where(params.leak_reversal, np.sign(v), 1)
    stochastic = np.where(np.abs(lam) >= rho_leak, np.sign(lam), 0)
    v = _saturate(v + omega * np.where(params.stochastic_leak, stochastic, lam))
    eta = (np.asarray(eta_word).astype(np.uint64) & params.mask.astype(np.uint64)).astype(
        np.int64)
    alpha_eff = params.alpha + eta
    spike = v >= alpha_eff
    mode = params.reset_mode
    v_pos = np.where(mode == RESET_TO_R, params.reset,
                     np.where(mode == RESET_LINEAR, v - alpha_eff, v))
    floor = np.where(params.kappa, params.beta, params.beta + eta)
    below = (~spike) & (v < -floor)
    v_neg = np.where(params.kappa, -params.beta,
                     np.where(mode == RESET_TO_R, -params.reset,
                              np.where(mode == RESET_LINEAR, v + params.beta + eta, v)))
    v = np.where(spike, v_pos, np.where(below, v_neg, v))
    return _saturate(v), spike


@dataclass(frozen=True, eq=False)
class Core:
    """One programmed TrueNorth core.

    Args:
        crossbar: Binary crossbar ``w_ij``, shape (n_axons <= 256, n_neurons <= 256).
        axon_type: ``G_i`` per axon (0..3).
        neurons: The neurons' parameters.
    """

    crossbar: Any
    axon_type: Any
    neurons: NeuronParams

    def __post_init__(self) -> None:
        crossbar = np.asarray(self.crossbar).astype(bool)
        axon_type = np.asarray(self.axon_type, dtype=np.int64)
        if crossbar.ndim != 2 or crossbar.shape[1] != self.neurons.n:
            raise ParamError(f"crossbar shape {crossbar.shape} does not match "
                             f"{self.neurons.n} neurons", path="crossbar")
        if axon_type.shape != (crossbar.shape[0],) or np.any((axon_type < 0) | (axon_type > 3)):
            raise ParamError("axon_type must give a type 0..3 per axon", path="axon_type")
        object.__setattr__(self, "crossbar", crossbar)
        object.__setattr__(self, "axon_type", axon_type)


def run_core(
    core: Core,
    axon_spikes: np.ndarray,
    *,
    seed: int = 0,
    v0: Any = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate one core tick by tick, bit-accurately.

    Args:
        core: The programmed core.
        axon_spikes: Boolean (T, n_axons): ``A_i(t)``.
        seed: PRNG seed (see module docstring).
        v0: Initial membrane (integer, per neuron or scalar).

    Returns:
        (membrane after each tick's reset (T, n) int64, spikes (T, n) bool).
    """
    spikes_in = np.asarray(axon_spikes).astype(bool)
    params = core.neurons
    n = params.n
    v = np.broadcast_to(np.asarray(v0, dtype=np.int64), (n,)).copy()
    neuron_index = np.arange(n)
    stochastic_syn = bool(params.stochastic_synapse.any())
    v_out = np.zeros((spikes_in.shape[0], n), dtype=np.int64)
    s_out = np.zeros((spikes_in.shape[0], n), dtype=bool)
    for t in range(spikes_in.shape[0]):
        active = np.flatnonzero(spikes_in[t])
        rho = (_rho8(prng(seed, STREAM_SYNAPSE, t, active[:, None], neuron_index[None, :]))
               if stochastic_syn and active.size else None)
        v = _saturate(v + synaptic_input(active, core.crossbar, core.axon_type, params, rho))
        v, fired = leak_fire_reset(
            v, params, _rho8(prng(seed, STREAM_LEAK, t, neuron_index)),
            prng(seed, STREAM_THRESHOLD, t, neuron_index))
        v_out[t] = v
        s_out[t] = fired
    return v_out, s_out


# --------------------------------------------------------------------------------------
# Mapping a float network
# --------------------------------------------------------------------------------------

WEIGHT_MODES = ("full", "ternary", "stochastic")
AXON_TYPE_MODES = ("projection", "sign")


def _voltage_weights(network: Network, proj: Projection) -> tuple[np.ndarray, bool]:
    """Weights of a projection as voltage jumps (V) and whether it was converted.

    A current synapse jump ``w`` (A) decaying with ``tau_s`` deposits the charge
    ``w tau_s``; on a non-leaky membrane that is the jump ``dV = w r_m tau_s / tau_m``
    (charge / C with C = tau_m / r_m). TrueNorth has no synaptic current, so this
    equal-charge jump is what it can realise.
    """
    p = network.population(proj.post).neuron
    w = proj.weights
    tau = np.where(w >= 0, p.tau_syn_exc, p.tau_syn_inh)
    converted = bool(np.any((tau > 0) & (w != 0)))
    # A sign whose tau_syn is 0 is a delta synapse: its weight is already a jump.
    return np.where(tau > 0, w * p.r_m * tau / p.tau_m, w), converted


def _incoming(network: Network, name: str) -> tuple[list[Projection], np.ndarray]:
    """Incoming projections of a population and their volt weights side by side."""
    projections = list(network.incoming(name))
    if not projections:
        return projections, np.zeros((network.population(name).size, 0))
    return projections, np.hstack([_voltage_weights(network, p)[0] for p in projections])


def map(
    network: Network,
    *,
    weight_mode: str = "full",
    axon_types: str = "projection",
    axon_copies: int = 2,
    threshold_mask_bits: int = 0,
    seed: int = 0,
) -> ChipSpec:
    """Float targets of the TrueNorth registers for ``network`` (pure).

    Per LIF population; potentials are counted from a per-neuron origin
``o = v_rest + r_m I_bias`` (the float neuron's equilibrium; ``o = v_rest`` for
neurons driven above rheobase) and ``Delta = v_th - o``:

    * Unit ``u`` (V per membrane integer): ``full``:
      ``u = max(max|W_V| / 255, max Delta / (2**18 - 1), (v_th - v_reset) dt / (ISI_min 255))``
      so the largest incoming weight uses the full 9-bit range, ``alpha`` fits
      18 bits and the fastest bias ramp (below) fits the 9-bit leak; ``ternary``:
      ``u = mean |W_V|`` over non-zero weights (a typical weight becomes 1; the
      threshold carries the scale, Esser et al. 2016); ``stochastic``:
      ``u = max|W_V|`` (the largest weight is an increment of 1 with probability 1).
      ``W_V`` are the weights as
      voltage jumps (current synapses: ``w r_m tau_s / tau_m``, equal charge).
    * ``alpha = Delta / u``; ``R = (v_reset - o) / u``; ``beta = 2**18 - 1``
      with ``kappa = 1`` (the float model has no lower bound; saturate far away).
    * Leak. Without suprathreshold bias: leak reversal (``epsilon = 1``) and
      ``lambda = -(Delta / 2) (dt / tau_m) / u``, the exponential leak's rate
      ``(V - o) / tau_m`` at mid-range ``V - o = Delta / 2``, applied toward the
      equilibrium ``o`` (so a sub-rheobase bias is kept as the origin shift).
      With a bias current ``I > rheobase``: ``epsilon = 0`` and
      ``lambda = (alpha - R) dt / ISI(I)``, so the linear ramp fires at the float
      model's rate, ``ISI`` from :func:`lifhw.golden.fi.lif_isi`.
    * Integrators (:func:`lifhw.chips.base.is_non_leaky`, e.g. NIR ``IF``):
      ``o = v_rest``, ``epsilon = 0`` and ``lambda = r_m I dt / (tau_m u)``, the
      bias's linear drift per tick (signed; 0 without bias: no leak at all), and
      ``u`` also covers ``max |lambda| <= 255``.
    * Stochastic threshold (``threshold_mask_bits = TM > 0``): ``eta`` is uniform
      on 0..2**TM - 1 with mean ``(2**TM - 1) / 2``, so ``alpha`` is lowered by
      that mean to keep the average threshold.

    Args:
        network: The float network (not modified).
        weight_mode: ``full`` (per-neuron 9-bit levels), ``ternary`` ({-1, 0, 1})
            or ``stochastic`` (stochastic synapses: +-1 with a probability that
            carries the weight, 8-bit resolution).
        axon_types: ``full`` mode: ``projection`` gives every (incoming projection,
            sign) its own axon type, so each neuron has one level per source
            population and sign (when a population has at most 4 such groups;
            otherwise, and with ``sign``, the levels are fitted per sign).
        axon_copies: Axons per source and core with sign levels: 2 (one positive,
            one negative level per neuron) or 4 (two of each). ``ternary`` uses 2.
        threshold_mask_bits: ``TM`` of every neuron (0 = deterministic threshold).
        seed: PRNG seed of the stochastic modes.

    Returns:
        The :class:`ChipSpec` (float register targets, weights in membrane units).
    """
    if weight_mode not in WEIGHT_MODES:
        raise ParamError(f"weight_mode must be one of {WEIGHT_MODES}", path="weight_mode")
    if axon_copies not in (2, 4):
        raise ParamError("axon_copies must be 2 or 4", path="axon_copies")
    if axon_types not in AXON_TYPE_MODES:
        raise ParamError(f"axon_types must be one of {AXON_TYPE_MODES}", path="axon_types")
    if weight_mode == "ternary":
        axon_copies = 2
    if not 0 <= threshold_mask_bits <= MASK_BITS_MAX:
        raise ParamError(f"threshold_mask_bits must be in 0..{MASK_BITS_MAX}",
                         path="threshold_mask_bits")
    from lifhw.golden.fi import lif_isi

    dt = network.dt
    populations: dict[str, dict[str, Any]] = {}
    weights: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for pop in network.populations:
        p = pop.neuron
        projections, w_volts = _incoming(network, pop.name)
        nonzero = np.abs(w_volts[w_volts != 0])
        integrator = is_non_leaky(p.tau_m, dt)
        if integrator:
            # No leak: the bias is a linear drift r_m I dt / tau_m per tick, which
            # TrueNorth's leak lambda (epsilon = 0) realises exactly.
            drift = np.broadcast_to(p.r_m * np.asarray(pop.bias, dtype=float) * dt / p.tau_m,
                                    (pop.size,))
            isi = np.full(pop.size, np.inf)
            driven = np.ones(pop.size, dtype=bool)
            origin = np.full(pop.size, p.v_rest)
            ramp_unit = float(np.max(np.abs(drift), initial=0.0)) / LEAK_MAX
        else:
            isi = np.asarray(lif_isi(pop.bias, **p.as_kwargs()), dtype=float)
            driven = np.isfinite(isi)
            # Origin of the integer membrane: the neuron's equilibrium (leak reversal
            # pulls V toward 0); driven neurons keep v_rest and ramp instead.
            origin = np.where(driven, p.v_rest, p.v_rest + p.r_m * pop.bias)
            # The fastest driven neuron needs lambda = (v_th - v_reset) dt / (ISI u) <= 255.
            ramp_unit = ((p.v_th - p.v_reset) * dt / (float(isi[driven].min()) * LEAK_MAX)
                         if driven.any() else 0.0)
        delta = p.v_th - origin
        if weight_mode == "ternary":
            unit = (float(nonzero.mean()) if nonzero.size
                    else max(float(delta.max()) / 64.0, ramp_unit))
        elif weight_mode == "stochastic":
            unit = max(float(nonzero.max()) if nonzero.size else 0.0,
                       float(delta.max()) / THRESHOLD_MAX, ramp_unit)
        else:
            unit = max(float(nonzero.max()) / WEIGHT_MAX if nonzero.size else 0.0,
                       float(delta.max()) / THRESHOLD_MAX, ramp_unit)
        alpha = delta / unit
        reset = (p.v_reset - origin) / unit
        mask_mean = ((1 << threshold_mask_bits) - 1) / 2.0
        ramp = (drift / unit if integrator
                else np.where(driven, (alpha - reset) * dt / np.where(driven, isi, 1.0), 0.0))
        decay = -(delta / 2.0) * (dt / p.tau_m) / unit
        populations[pop.name] = {
            "unit_v": unit,
            "origin_v": origin,
            "alpha": alpha - mask_mean,
            "reset": reset,
            "beta": float(THRESHOLD_MAX),
            "leak": np.where(driven, ramp, decay),
            "leak_reversal": ~driven,
            "mask_bits": threshold_mask_bits,
            "integrator": integrator,
        }
        for proj in projections:
            w, converted = _voltage_weights(network, proj)
            weights[projection_key(proj.pre, proj.post)] = w / unit
            if converted:
                notes.append(f"{proj.pre}->{proj.post}: current synapse mapped to an "
                             "equal-charge voltage jump")
    return ChipSpec(
        chip=NAME, network=network, dt=dt, populations=populations, weights=weights,
        options={"weight_mode": weight_mode, "axon_types": axon_types,
                 "axon_copies": axon_copies,
                 "threshold_mask_bits": threshold_mask_bits, "seed": seed},
        notes=tuple(notes),
    )


def options_for_drive(network: Network, peak_drive: Mapping[str, float]) -> dict[str, Any]:
    """Mapper options for a deployment (:func:`lifhw.snn.deploy.chip_options`).

    With one incoming projection per population, ``axon_types="projection"``
    leaves each neuron one weight level per sign; when every population's
    sources fit a core four times over (``4 n_pre <= 256`` axons), two levels
    per sign (``axon_types="sign"``, ``axon_copies=4``) halve the weight error,
    for four splitter copies per source neuron. ``peak_drive`` is not used.
    """
    del peak_drive
    fan_in = max((sum(network.size_of(p.pre) for p in network.incoming(pop.name))
                  for pop in network.populations), default=0)
    if 0 < fan_in * 4 <= AXONS_PER_CORE:
        return {"axon_types": "sign", "axon_copies": 4}
    return {}


def fit_levels(w: np.ndarray, n_levels: int, iterations: int = 20) -> np.ndarray:
    """Per-row levels of one sign: 1-D k-means with zero as an extra fixed level.

    Args:
        w: Magnitudes (n, m) >= 0 (0 = no synapse of this sign).
        n_levels: Levels per row (1 or 2).
        iterations: Lloyd iterations.

    Returns:
        Levels (n, n_levels), sorted descending; 0 where a row has no synapse.
    """
    n = w.shape[0]
    present = w > 0
    data = np.where(present, w, np.nan)
    has = np.asarray(present.any(axis=1), dtype=bool)
    safe = np.where(has[:, None], data, 0.0)
    qs = np.linspace(0.75, 0.25, n_levels) if n_levels > 1 else np.array([0.5])
    with np.errstate(all="ignore"):
        levels = np.stack([np.nanquantile(np.where(has[:, None], safe, 0.0), q, axis=1)
                           for q in qs], axis=1) if w.shape[1] else np.zeros((n, n_levels))
    levels = np.nan_to_num(levels)
    for _ in range(iterations):
        candidates = np.concatenate([np.zeros((n, 1)), levels], axis=1)    # (n, L+1)
        choice = np.argmin(np.abs(w[:, :, None] - candidates[:, None, :]), axis=2)
        new = levels.copy()
        for level in range(n_levels):
            members = present & (choice == level + 1)
            count = members.sum(axis=1)
            mean = np.where(members, w, 0.0).sum(axis=1) / np.maximum(count, 1)
            new[:, level] = np.where(count > 0, mean, levels[:, level])
        if np.allclose(new, levels):
            break
        levels = new
    return -np.sort(-levels, axis=1)


@dataclass(frozen=True, eq=False)
class Placement:
    """Where a population lives: cores and splitter copies.

    Args:
        fan_out: Axons each neuron must reach (target cores x axon copies).
        neurons_per_core: Source neurons (each with its copies) per core.
        cores: Cores used.
        axons_per_core: Axons its cores need (fan-in, all incoming sources x copies).
    """

    fan_out: int
    neurons_per_core: int
    cores: int
    axons_per_core: int


@dataclass(frozen=True, eq=False)
class TrueNorthConfig:
    """The programmed chip: per-population neurons, per-projection crossbar choice.

    Args:
        spec: What ``map`` decided.
        neurons: Population -> :class:`NeuronParams`.
        synapse_type: ``"pre->post"`` -> int8 (post, pre): the axon type whose
            crossbar bit is set for that synapse, -1 for none.
        weights: ``"pre->post"`` -> int64 (post, pre): the integer each input
            spike adds, ``s_j^G`` of the chosen type (0 for none).
        delays: ``"pre->post"`` -> delay (ticks).
        placement: Population -> :class:`Placement`.
        seed: PRNG seed.
    """

    spec: ChipSpec
    neurons: Mapping[str, NeuronParams]
    synapse_type: Mapping[str, np.ndarray]
    weights: Mapping[str, np.ndarray]
    delays: Mapping[str, int]
    placement: Mapping[str, Placement]
    seed: int = 0
    clipped: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _place(network: Network, copies: Mapping[str, int]) -> dict[str, Placement]:
    """Cores per population with splitter copies (fixed point over fan-out).

    ``copies``: axons per source and target core of each projection.
    """
    cores = {pop.name: math.ceil(pop.size / NEURONS_PER_CORE) for pop in network.populations}
    fan: dict[str, int] = {}
    for _ in range(20):
        fan = {name: 0 for name in [p.name for p in network.inputs]
               + [p.name for p in network.populations]}
        for proj in network.projections:
            fan[proj.pre] += cores[proj.post] * copies[projection_key(proj.pre, proj.post)]
        new = {}
        for pop in network.populations:
            per_core = max(1, NEURONS_PER_CORE // max(fan[pop.name], 1))
            new[pop.name] = math.ceil(pop.size / per_core)
        if new == cores:
            break
        cores = new
    out = {}
    for pop in network.populations:
        axons = sum(network.size_of(p.pre) * copies[projection_key(p.pre, p.post)]
                    for p in network.incoming(pop.name))
        per_core = max(1, NEURONS_PER_CORE // max(fan[pop.name], 1))
        out[pop.name] = Placement(fan_out=fan[pop.name], neurons_per_core=per_core,
                                  cores=cores[pop.name], axons_per_core=axons)
    return out


def encode_level(level: Any, mode: str) -> np.ndarray:
    """Register ``s`` (magnitude) of a level: ``round(l)`` or, for stochastic
    synapses, ``round(256 l) - 1`` (expected increment ``(s + 1) / 256 = l``)."""
    values = np.asarray(level, dtype=float)
    if mode == "stochastic":
        return np.clip(round_half_away(256.0 * values) - 1, 0, None).astype(np.int64)
    return round_half_away(values).astype(np.int64)


def decode_level(s: Any, mode: str) -> np.ndarray:
    """Mean increment of a register magnitude ``s`` (inverse of :func:`encode_level`)."""
    values = np.asarray(s, dtype=float)
    return (values + 1.0) / 256.0 if mode == "stochastic" else values


def _realised(s: np.ndarray, part: np.ndarray) -> np.ndarray:
    """The integer each synapse adds: ``s_j^G`` of its chosen type, 0 for none."""
    chosen = np.take_along_axis(s, np.clip(part, 0, None).astype(np.int64), axis=1)
    return np.where(part >= 0, chosen, 0)


def _group_levels(spec: ChipSpec, size: int, keys: list[str], groups: list[tuple[str, int]],
                  mode: str) -> tuple[np.ndarray, dict[str, np.ndarray], bool]:
    """One axon type per (projection, sign): one level per neuron and group.

    The level is :func:`fit_levels` with one level (the mean of the weights it
    keeps); a synapse uses its group's type when the level is nearer than 0.
    """
    s = np.zeros((size, N_AXON_TYPES), dtype=np.int64)
    parts = {key: np.full(spec.weights[key].shape, -1, dtype=np.int8) for key in keys}
    too_big = False
    for g, (key, sign) in enumerate(groups):
        magnitude = np.clip(sign * spec.weights[key], 0, None)
        level = fit_levels(magnitude, 1)[:, 0]
        limit = WEIGHT_MAX if sign > 0 else -WEIGHT_MIN
        code = encode_level(level, mode)
        too_big = too_big or bool(np.any(code > limit))
        s[:, g] = sign * np.clip(code, 0, limit)
        realised = np.where(level > 0, decode_level(np.abs(s[:, g]), mode), 0.0)[:, None]
        take = (magnitude > 0) & (realised > 0) & (np.abs(magnitude - realised) < magnitude)
        parts[key][take] = g
    return s, parts, too_big


def _sign_levels(spec: ChipSpec, size: int, keys: list[str], mode: str,
                 per_sign: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Levels per sign over all incoming weights side by side (see :func:`quantize`)."""
    w_all = np.hstack([spec.weights[k] for k in keys]) if keys else np.zeros((size, 0))
    if mode == "ternary":
        pos_levels = np.ones((size, 1))
        neg_levels = np.ones((size, 1))
    else:
        pos_levels = fit_levels(np.clip(w_all, 0, None), per_sign)
        neg_levels = fit_levels(np.clip(-w_all, 0, None), per_sign)
    pos_code, neg_code = encode_level(pos_levels, mode), encode_level(neg_levels, mode)
    pos_int = np.clip(pos_code, 0, WEIGHT_MAX)
    neg_int = np.clip(neg_code, 0, -WEIGHT_MIN)
    s = np.zeros((size, N_AXON_TYPES), dtype=np.int64)
    s[:, :per_sign] = pos_int
    s[:, per_sign:2 * per_sign] = -neg_int
    too_big = bool(np.any(pos_code > WEIGHT_MAX) or np.any(neg_code > -WEIGHT_MIN))
    # Each synapse: nearest of {0, levels of its sign} (their mean increments).
    means = np.concatenate([np.where(pos_levels > 0, decode_level(pos_int, mode), 0.0),
                            -np.where(neg_levels > 0, decode_level(neg_int, mode), 0.0)],
                           axis=1)
    candidates = np.concatenate([np.zeros((size, 1)), means], axis=1)
    choice = np.argmin(np.abs(w_all[:, :, None] - candidates[:, None, :]), axis=2) - 1
    return s, choice, too_big


def quantize(spec: ChipSpec) -> TrueNorthConfig:
    """Round the targets to TrueNorth registers.

    * ``axon_types="projection"`` (and at most 4 (projection, sign) groups into
      the population): each group is an axon type with one level per neuron
      (:func:`_group_levels`); a source needs one axon per sign it uses.
    * Otherwise levels per post neuron and sign: :func:`fit_levels` on its
      incoming weights (all projections side by side, since ``s_j^G`` is shared
      by every axon of type G), 1 level per sign with 2 axon copies, 2 with 4;
      each synapse takes the nearest level or none. ``ternary``: levels +1 / -1,
      each weight rounds to {-1, 0, +1}.
    * ``stochastic``: levels ``l`` (<= 1, in units of the largest weight) become
      stochastic synapses ``s = round(256 l) - 1`` whose expected increment
      ``(|s| + 1) / 256`` is the level (Cassidy eq. 1 with ``b = 1``).
    * Integers: ``round_half_away`` then clip to the register range
      (clipping is recorded and reported by the rules).
    """
    network = spec.network
    mode = spec.options["weight_mode"]
    copies = int(spec.options["axon_copies"])
    per_sign = copies // 2
    neurons: dict[str, NeuronParams] = {}
    synapse_type: dict[str, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {}
    delays: dict[str, int] = {}
    clipped: dict[str, tuple[str, ...]] = {}
    axons_per_source: dict[str, int] = {}
    for pop in network.populations:
        target = spec.populations[pop.name]
        projections = list(network.incoming(pop.name))
        keys = [projection_key(p.pre, p.post) for p in projections]
        for proj, key in zip(projections, keys, strict=True):
            delays[key] = proj.delay_steps
        groups = [(key, sign) for key in keys for sign in (1, -1)
                  if np.any(sign * spec.weights[key] > 0)]
        flags = []
        if (mode != "ternary"
                and spec.options.get("axon_types", "projection") == "projection"
                and len(groups) <= N_AXON_TYPES):
            s, parts, too_big = _group_levels(spec, pop.size, keys, groups, mode)
            if too_big:
                flags.append("weights")
            for key in keys:
                synapse_type[key] = parts[key]
                weights[key] = _realised(s, parts[key])
                axons_per_source[key] = sum(1 for k, _ in groups if k == key) or 1
        else:
            s, choice, too_big = _sign_levels(spec, pop.size, keys, mode, per_sign)
            if too_big:
                flags.append("weights")
            start = 0
            for proj, key in zip(projections, keys, strict=True):
                width = network.size_of(proj.pre)
                part = choice[:, start:start + width].astype(np.int8)
                start += width
                synapse_type[key] = part
                weights[key] = _realised(s, part)
                axons_per_source[key] = copies
        alpha_t = np.asarray(target["alpha"], dtype=float)
        alpha = np.clip(round_half_away(alpha_t), 0, THRESHOLD_MAX).astype(np.int64)
        reset_t = np.asarray(target["reset"], dtype=float)
        reset = np.clip(round_half_away(reset_t), RESET_MIN, RESET_MAX).astype(np.int64)
        leak_t = np.asarray(target["leak"], dtype=float)
        leak = np.clip(round_half_away(leak_t), LEAK_MIN, LEAK_MAX).astype(np.int64)
        if np.any(alpha_t > THRESHOLD_MAX + 0.5) or np.any(alpha_t < -0.5):
            flags.append("alpha")
        if np.any((reset_t < RESET_MIN - 0.5) | (reset_t > RESET_MAX + 0.5)):
            flags.append("reset")
        if np.any((leak_t < LEAK_MIN - 0.5) | (leak_t > LEAK_MAX + 0.5)):
            flags.append("leak")
        clipped[pop.name] = tuple(flags)
        neurons[pop.name] = NeuronParams(
            n=pop.size, weights=s, stochastic_synapse=mode == "stochastic",
            leak=leak, leak_reversal=target["leak_reversal"],
            alpha=alpha, beta=int(target["beta"]), mask_bits=int(target["mask_bits"]),
            kappa=True, reset_mode=RESET_TO_R, reset=reset)
    return TrueNorthConfig(spec=spec, neurons=neurons, synapse_type=synapse_type,
                           weights=weights, delays=delays,
                           placement=_place(network, axons_per_source),
                           seed=int(spec.options["seed"]), clipped=clipped)


# --------------------------------------------------------------------------------------
# Design rules
# --------------------------------------------------------------------------------------


def tick(config: TrueNorthConfig) -> list[Violation]:
    """The network step must be TrueNorth's 1 ms tick."""
    dt = config.spec.network.dt
    if math.isclose(dt, TICK_S, rel_tol=1e-9):
        return []
    return [Violation("tick", f"network dt = {dt * 1e3:g} ms, TrueNorth ticks every 1 ms: "
                      f"time runs {TICK_S / dt:g}x slower", severity="warning")]


def register_range(config: TrueNorthConfig) -> list[Violation]:
    """Targets outside a register's range were clipped."""
    return [Violation("register_range", f"{name} target outside its register range; "
                      "clipped", where=pop)
            for pop, names in config.clipped.items() for name in names]


def axons_per_core(config: TrueNorthConfig) -> list[Violation]:
    """A neuron's inputs must all arrive on its core's 256 axons."""
    out = []
    for pop, place in config.placement.items():
        if place.axons_per_core > AXONS_PER_CORE:
            out.append(Violation(
                "axons_per_core", f"needs {place.axons_per_core} axons "
                f"(sources x axon copies) on each of its cores, a core has "
                f"{AXONS_PER_CORE}", where=pop))
    return out


def fan_out(config: TrueNorthConfig) -> list[Violation]:
    """A neuron drives one axon; more targets cost splitter neurons."""
    out = []
    for pop, place in config.placement.items():
        if place.fan_out > 1:
            out.append(Violation(
                "fan_out", f"each neuron must reach {place.fan_out} axons: "
                f"{place.fan_out - 1} splitter copies per neuron, "
                f"{place.neurons_per_core} neurons per core", where=pop, severity="warning"))
        if place.fan_out > NEURONS_PER_CORE:
            out.append(Violation("fan_out", f"fan-out {place.fan_out} exceeds a core's "
                                 f"{NEURONS_PER_CORE} neurons", where=pop))
    return out


def axon_delay(config: TrueNorthConfig) -> list[Violation]:
    """Axon delays are 1..15 ticks."""
    return [Violation("axon_delay", f"delay {d} ticks outside {DELAY_MIN}..{DELAY_MAX}",
                      where=key)
            for key, d in config.delays.items() if not DELAY_MIN <= d <= DELAY_MAX]


def neuron_model(config: TrueNorthConfig) -> list[Violation]:
    """What the TrueNorth neuron cannot express: refractoriness, synaptic currents."""
    out = []
    for pop in config.spec.network.populations:
        if pop.neuron.t_ref > 0:
            out.append(Violation("neuron_model", f"t_ref = {pop.neuron.t_ref * 1e3:g} ms "
                                 "dropped (no refractory period)", where=pop.name,
                                 severity="warning"))
        if not pop.delta_synapses:
            out.append(Violation("neuron_model", "current synapses become equal-charge "
                                 "voltage jumps", where=pop.name, severity="warning"))
    return out


def membrane_range(config: TrueNorthConfig) -> list[Violation]:
    """Threshold plus the largest one-tick input must fit the 20-bit membrane."""
    out = []
    for pop in config.spec.network.populations:
        params = config.neurons[pop.name]
        total = np.zeros(pop.size, dtype=np.int64)
        for proj in config.spec.network.incoming(pop.name):
            w = config.weights[projection_key(proj.pre, proj.post)]
            if config.spec.options["weight_mode"] == "stochastic":
                w = np.sign(w)
            total = total + np.clip(w, 0, None).sum(axis=1)
        peak = params.alpha + params.mask + total + np.abs(params.leak)
        if np.any(peak > V_MAX):
            out.append(Violation("membrane_range", f"threshold + input reaches "
                                 f"{int(peak.max())} > {V_MAX} (20-bit): saturates",
                                 where=pop.name, severity="warning"))
    return out


RULES: tuple[Rule, ...] = (tick, register_range, axons_per_core, fan_out, axon_delay,
                           neuron_model, membrane_range)


def check(config: TrueNorthConfig) -> list[Violation]:
    """All design-rule violations of a configuration."""
    return run_rules(RULES, config)


# --------------------------------------------------------------------------------------
# Simulation, dequantisation, resources, energy
# --------------------------------------------------------------------------------------


def simulate(config: TrueNorthConfig, input_spikes: Any, *,
             record_states: bool = False) -> ChipRun:
    """Run the programmed network tick by tick (bit-accurate neuron arithmetic).

    Synaptic input per tick is ``sum_i A_i s_j^{G_ij}`` in integers. For a
    population with stochastic synapses the spikes are routed per axon type
    (channel ``type<G>`` counts the active synapses ``n_G`` of each neuron) and
    :func:`stochastic_input` draws each one. Every population then runs
    :func:`leak_fire_reset` with its PRNG streams keyed by the population's
    index (``neuron key = index << 32 | neuron``).

    Args:
        config: From :func:`quantize`.
        input_spikes: (T, n_in) bool or name -> (T, size) (see ``split_inputs``).
        record_states: Record the membrane integers ``v`` (T, size).

    Returns:
        The :class:`ChipRun` (spikes per population, events).
    """
    network = config.spec.network
    inputs = split_inputs(network, input_spikes)
    n_steps = next(iter(inputs.values())).shape[0] if inputs else 0
    synapses: list[Synapses] = []
    for proj in network.projections:
        key = projection_key(proj.pre, proj.post)
        if config.neurons[proj.post].stochastic_synapse.any():
            kind = config.synapse_type[key]
            synapses.extend(Synapses(proj.pre, proj.post, (kind == g).astype(np.int64),
                                     proj.delay_steps, f"type{g}")
                            for g in range(N_AXON_TYPES) if np.any(kind == g))
        else:
            synapses.append(Synapses(proj.pre, proj.post, config.weights[key],
                                     proj.delay_steps))
    states: dict[str, dict[str, np.ndarray]] = {}
    updates = {}
    for index, pop in enumerate(network.populations):
        params = config.neurons[pop.name]
        record = np.zeros((n_steps, pop.size), dtype=np.int64) if record_states else None
        if record is not None:
            states[pop.name] = {"v": record}
        updates[pop.name] = _population_update(params, config.seed, index, record)
    spikes, events = run_network(network, inputs, synapses, updates,
                                 accumulate=gather_sum)
    return ChipRun(backend=NAME, dt=network.dt, spikes=spikes, states=states, events=events,
                   meta={"seed": config.seed, **dict(config.spec.options)})


def stochastic_input(counts: np.ndarray, params: NeuronParams, seed: int, tick: int,
                     neuron_key: np.ndarray) -> np.ndarray:
    """Synaptic input from per-type counts of active synapses (Cassidy eq. 1).

    Deterministic types add ``s_j^G n_G``; each of the ``n_G`` active stochastic
    synapses adds ``sgn(s)`` when ``|s| >= rho``. At network level a draw is
    keyed by ``(seed, 0, tick, neuron key, G << 20 | k)`` for the k-th active
    synapse of type G (the routing sums spikes per type, so the axon index of
    :func:`run_core`'s key is not available; the statistics are the same).

    Args:
        counts: Active synapses per type and neuron, shape (4, n).
        params: The neurons.
        seed: PRNG seed.
        tick: Tick index.
        neuron_key: Per-neuron key words, shape (n,).
    """
    total = np.zeros(params.n, dtype=np.int64)
    for g in range(N_AXON_TYPES):
        n_g = counts[g]
        if not n_g.any():
            continue
        s_g = params.weights[:, g]
        b_g = params.stochastic_synapse[:, g]
        total += np.where(b_g, 0, s_g * n_g)
        if not b_g.any():
            continue
        for k in range(int(n_g[b_g].max())):
            rho = _rho8(prng(seed, STREAM_SYNAPSE, tick, neuron_key, (g << 20) + k))
            hit = b_g & (k < n_g) & (np.abs(s_g) >= rho)
            total += np.where(hit, np.sign(s_g), 0)
    return total


def _population_update(params: NeuronParams, seed: int, index: int,
                       record: np.ndarray | None) -> Any:
    v = np.zeros(params.n, dtype=np.int64)
    neuron_index = np.arange(params.n) + (index << 32)
    stochastic = bool(params.stochastic_leak.any())
    stochastic_syn = bool(params.stochastic_synapse.any())
    masked = bool(params.mask_bits.any())
    zeros_word = np.zeros(params.n, dtype=np.uint64)
    zeros_rho = np.zeros(params.n, dtype=np.int64)

    def update(k: int, summed: Mapping[str, np.ndarray]) -> np.ndarray:
        nonlocal v
        total = np.asarray(summed.get("all", 0), dtype=np.int64)
        if stochastic_syn:
            counts = np.stack([np.asarray(summed.get(f"type{g}", zeros_rho), dtype=np.int64)
                               for g in range(N_AXON_TYPES)])
            total = total + stochastic_input(counts, params, seed, k, neuron_index)
        v = _saturate(v + total)
        rho = _rho8(prng(seed, STREAM_LEAK, k, neuron_index)) if stochastic else zeros_rho
        eta = prng(seed, STREAM_THRESHOLD, k, neuron_index) if masked else zeros_word
        v, fired = leak_fire_reset(v, params, rho, eta)
        if record is not None:
            record[k] = v
        return fired

    return update


def dequantize(config: TrueNorthConfig) -> Network:
    """The float network the integers realise (inverse of :func:`map`'s formulas).

    ``v_th = median(o + (alpha + mean eta) u)``, ``v_reset = median(o + R u)``;
    decaying neurons: ``tau_m = median((alpha u / 2) dt / (|lambda| u))`` (1e9 s
    when lambda = 0) and the bias that puts their equilibrium ``(alpha + mean eta) u``
    below the threshold; driven neurons: the bias whose float rate equals the
    realised rate ``1 / (ceil((alpha - R)/lambda) dt)``; weights ``W_int u``
    (stochastic synapses: the expected increment ``sgn(s) (|s| + 1) / 256 u``)
    (volts; current synapses back to amperes by the inverse of the equal-charge
    formula); ``t_ref = 0``. Integrators keep their ``tau_m`` and get the bias
    ``lambda u tau_m / (r_m dt)`` (the drift per tick).
    """
    from lifhw.golden.fi import lif_current_for_rate

    network = config.spec.network
    dt = network.dt
    populations = []
    for pop in network.populations:
        params = config.neurons[pop.name]
        target = config.spec.populations[pop.name]
        unit = float(target["unit_v"])
        origin = np.broadcast_to(np.asarray(target["origin_v"], dtype=float), (pop.size,))
        p = pop.neuron
        mask_mean = params.mask / 2.0
        thresholds = origin + (params.alpha + mask_mean) * unit
        v_th = float(np.median(thresholds))
        v_reset = float(np.median(origin + params.reset * unit))
        if not v_th > v_reset:
            v_th = v_reset + unit
        decaying = params.leak_reversal & (params.leak < 0)
        if decaying.any():
            depth = (params.alpha + mask_mean)[decaying] * unit
            tau_m = float(np.median(depth / 2.0 * dt / (np.abs(params.leak[decaying]) * unit)))
        else:
            tau_m = 1e9
        neuron = replace(p, v_th=v_th, v_reset=v_reset, t_ref=0.0, tau_m=tau_m)
        # Decaying neurons: equilibrium (alpha + mean eta) u below the threshold.
        equilibrium = v_th - (params.alpha + mask_mean) * unit
        bias = np.where(params.leak_reversal, (equilibrium - p.v_rest) / p.r_m, 0.0)
        driven = (~params.leak_reversal) & (params.leak > 0)
        if target.get("integrator"):
            # No leak: lambda u per tick is the drift r_m I dt / tau_m of the bias.
            neuron = replace(neuron, tau_m=p.tau_m)
            bias = params.leak * unit * p.tau_m / (p.r_m * dt)
        elif driven.any():
            ticks = np.ceil((params.alpha - params.reset) / np.maximum(params.leak, 1))
            rate = 1.0 / (np.maximum(ticks, 1) * dt)
            kwargs = neuron.as_kwargs()
            bias = np.where(driven, np.asarray(lif_current_for_rate(rate, **kwargs)), bias)
        populations.append(Population(pop.name, pop.size, neuron, bias))
    lookup = {pop.name: pop for pop in populations}
    projections = []
    for proj in network.projections:
        post = network.population(proj.post)
        unit = float(config.spec.populations[proj.post]["unit_v"])
        w_int = config.weights[projection_key(proj.pre, proj.post)]
        if config.spec.options["weight_mode"] == "stochastic":
            present = config.synapse_type[projection_key(proj.pre, proj.post)] >= 0
            w = np.where(present, np.sign(w_int) * decode_level(np.abs(w_int), "stochastic"),
                         0.0) * unit
        else:
            w = w_int * unit
        p = post.neuron
        tau = np.where(w >= 0, p.tau_syn_exc, p.tau_syn_inh)
        w = np.where(tau > 0, w * p.tau_m / (p.r_m * np.where(tau > 0, tau, 1.0)), w)
        projections.append(Projection(proj.pre, proj.post, w, proj.delay_steps))
    del lookup
    return Network(network.name, network.inputs, tuple(populations), tuple(projections), dt)


def resources(config: TrueNorthConfig) -> Resources:
    """Cores, neurons (with splitter copies), crossbar bits and axons used."""
    network = config.spec.network
    cores = sum(p.cores for p in config.placement.values())
    neurons = sum(pop.size * max(config.placement[pop.name].fan_out, 1)
                  for pop in network.populations)
    bits = int(sum(np.count_nonzero(t >= 0) for t in config.synapse_type.values()))
    axons = sum(p.cores * p.axons_per_core for p in config.placement.values())
    return Resources(
        cores_used=cores, cores_available=CORES_PER_CHIP,
        neurons_used=neurons, neurons_available=CORES_PER_CHIP * NEURONS_PER_CORE,
        synapses_used=bits,
        synapses_available=CORES_PER_CHIP * AXONS_PER_CORE * NEURONS_PER_CORE,
        extra={"axons": (axons, CORES_PER_CHIP * AXONS_PER_CORE),
               "max_axons_per_core": (max((p.axons_per_core
                                           for p in config.placement.values()), default=0),
                                      AXONS_PER_CORE)},
    )


#: Merolla et al. 2014 (Science 345:668): 26 pJ per synaptic event. We read it as
#: the chip's total energy (active and passive) divided by its synaptic events at
#: the operating point of their benchmark networks (real time, 0.775 V) -- the
#: same measurement as the ~70 mW chip power. Adding that power prorated per core
#: on top (as an earlier version did) counted the static energy twice.
ENERGY_PER_SYNAPTIC_EVENT_J = 26e-12
#: Merolla et al. 2014: ~70 mW whole-chip power running a network in real time;
#: kept for reference (not added to the estimate, see above).
CHIP_POWER_W = 70e-3
POWER_PER_CORE_W = CHIP_POWER_W / CORES_PER_CHIP


#: Per-core and per-chip resources (Merolla et al. 2014, Science 345:668; Akopyan
#: et al. 2015, IEEE TCAD 34:1537).
RESOURCES = ChipResources(
    target=NAME, core_name="core",
    core=CoreResources(
        neurons=Figure(NEURONS_PER_CORE, "Merolla et al. 2014: 256 neurons per core"),
        input_lines=Figure(AXONS_PER_CORE, "Merolla et al. 2014: 256 axons per core "
                           "(256 x 256 crossbar)"),
        synapses=Figure(AXONS_PER_CORE * NEURONS_PER_CORE,
                        "Merolla et al. 2014: 256 x 256 binary crossbar per core")),
    cores_per_chip=Figure(CORES_PER_CHIP, "Merolla et al. 2014: 4096 cores per chip"),
    line_mode="copies", relay_fan_out=True, relay_delay_steps=1,
    static_power_per_core_w=Figure(POWER_PER_CORE_W, "Merolla et al. 2014: ~70 mW chip "
                                   "power in real time, prorated over 4096 cores",
                                   published=False),
    energy_relation="alternative",
    notes=("a neuron drives one axon: fan-out beyond one axon goes through relay "
           "(splitter) neurons, one tick each (Merolla et al. 2014; Akopyan et al. 2015)",
           "spike routing energy is inside the 26 pJ per synaptic event; no separate "
           "per-packet or inter-chip figure is published",
           "a neuron with more than 256 input axons cannot be placed (no dendritic "
           "splitting: partial sums would be re-encoded as spikes)"))


def place(spec: ChipSpec, *, rates_hz: Mapping[str, Any] | None = None,
          order: str = "index") -> NetworkPlacement:
    """Neurons onto 256 x 256 cores with relay neurons for fan-out.

    Input lines per source and core are the axons :func:`quantize` gives it:
    with ``axon_types="projection"`` (at most 4 (projection, sign) groups into
    the population) one axon per sign the projection uses, otherwise
    ``axon_copies``. A core holds at most 256 neurons whose distinct input
    axons number at most 256. Every neuron of a population with a neuron that
    must reach more than one axon sends its spike to relay neurons (one per
    axon it must reach), so all its projections arrive one tick later
    (:meth:`~lifhw.chips.placement.Placement.placed_network` inserts the relays,
    which the simulator runs as TrueNorth neurons).
    """
    network = spec.network
    copies = int(spec.options.get("axon_copies", 2))
    by_sign = (spec.options.get("weight_mode") != "ternary"
               and spec.options.get("axon_types", "projection") == "projection")
    edges = []
    for pop in network.populations:
        projections = list(network.incoming(pop.name))
        keys = [projection_key(p.pre, p.post) for p in projections]
        groups = [(k, s) for k in keys for s in signs_used(spec.weights[k])]
        sign_mode = by_sign and len(groups) <= N_AXON_TYPES
        for proj, key in zip(projections, keys, strict=True):
            w = spec.weights[key]
            lines = lines_of(w, "sign") if sign_mode else lines_of(w, "copies", copies)
            edges.append(Edge(proj.pre, proj.post, lines, connectivity(w), proj.delay_steps))
    rank = {(p.pre, p.post): i for i, p in enumerate(network.projections)}
    edges.sort(key=lambda e: rank[(e.pre, e.post)])
    return place_edges(RESOURCES, network, edges, rates_hz=rates_hz, order=order)


def energy(config: TrueNorthConfig, run: ChipRun) -> EnergyEstimate:
    """Energy from the published per-event figure (the term cites its source).

    Includes: everything the chip draws, at the activity of Merolla et al.'s
    benchmarks (26 pJ is total chip energy per synaptic event there). Not modelled:
    the static power's share at other activity levels -- a sparse run spends more
    per event on leakage, so this underestimates it (at most 70 mW x the run's
    wall time x the fraction of the chip's 4096 cores in use).
    """
    del config
    return EnergyEstimate(NAME, (
        EnergyTerm("synaptic_events", float(run.events.get("synaptic_events", 0)),
                   ENERGY_PER_SYNAPTIC_EVENT_J,
                   "Merolla et al. 2014, Science 345:668: 26 pJ per synaptic event, total "
                   "chip energy at the benchmark activity (static share not re-added)"),
    ))


if TYPE_CHECKING:  # mypy checks this module against the HardwareTarget protocol
    from lifhw.chips import truenorth as _module
    from lifhw.chips.base import HardwareTarget

    _conforms: HardwareTarget = _module
