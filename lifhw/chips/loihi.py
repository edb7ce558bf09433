"""Intel Loihi: Lava's bit-accurate CUBA LIF, 8-bit weights, multi-compartment trees.

The neuron is Lava's ``PyLifModelBitAcc`` (lava-nc 0.10,
``lava/proc/lif/models.py``), re-implemented here (not copied) and checked
bit-for-bit against lava-nc itself in ``verification/test_loihi_lava.py``.
Per step ``t`` and compartment, with integers and ``trunc0`` = rounding toward
zero (``sign(x) * (|x| >> 12)``)::

    u[t] = wrap24( trunc0(u[t-1] * (4096 - (du + 1)) / 4096) + (a_in[t] << 6) )
    v[t] = sat24 ( trunc0(v[t-1] * (4096 - dv) / 4096) + u[t] + (bias_mant << bias_exp) )
    s[t] = v[t] > (vth << 6);   v[t] = 0 where s[t]

* ``du``, ``dv``: 12-bit decays; the ``+ 1`` on ``du`` is Loihi 1's 1-bit
  ``ds_offset`` register (Lava sets ``ds_offset = 1``, ``dm_offset = 0``), so
  ``du = 4095`` clears u every step (a delta synapse).
* ``wrap24``: Lava wraps u once: ``x > 2**23 -> x - 2**24``, then
  ``x <= -2**23 -> x + 2**24`` (so exactly ``+2**23`` is kept, ``-2**23`` becomes
  ``+2**23``). ``sat24`` clips v to ``[-(2**23 - 1), 2**23 - 1]``.
* ``bias_exp < 0`` shifts right (arithmetic), as Lava's ``scale_bias`` does.
* ``(a_in << 6)`` and its sum with the decayed u are int32 in Lava and wrap
  there (reached only for ``|a_in| >= 2**25``); so they do here.
* Synapses (Lava ``PyDenseModelBitAcc``): weights are cast to int32, clipped
  (``clip_weights``: mixed sign ``[-256, 255]``, one sign ``[0, 255]`` in
  magnitude), then their ``8 - num_weight_bits + mixed`` least significant bits
  are cleared with an arithmetic shift (``truncate_weights``; mixed-sign weights
  are therefore even). The dendritic sum is ``(W @ s) << weight_exp`` (or ``>>
  -weight_exp``, flooring). Dense sends the sum of step ``t`` at step ``t + 1``:
  the one-step synaptic delay (``delay_steps = 1`` of :mod:`lifhw.network`).
  Longer delays use Loihi's synaptic delay (up to 62 steps in Loihi 1).

Conversions from the float network (:func:`map`), with ``h = dt``. Sources:
Lava's float LIF (``lava/proc/lif/process.py``: ``u[t] = u[t-1] (1 - du) +
a_in``, ``v[t] = v[t-1] (1 - dv) + u[t] + bias``) and its fixed-point twin
above, whose factor ``(4096 - d)/4096`` makes the integer ``d = 4096 d_float``;
the exact per-step decay of a first-order system, ``1 - d_float =
exp(-h / tau)`` (Rotter & Diesmann 1999, Biol. Cybern. 81:381, exact
integration); the steady-state gains below follow from ``v_inf = b / (1 -
a_v)`` of the update ``v <- a_v v + b`` against ``V_inf = r_m I`` of the float
neuron.

* ``dv = round(4096 (1 - exp(-h / tau_m)))`` so ``(4096 - dv)/4096 ~ exp(-h/tau_m)``.
* ``du = round(4096 (1 - exp(-h / tau_syn))) - 1`` (Lava's decay offset), at
  most 4094 for a current synapse, and ``du = 4095`` for a delta synapse
  (``tau_syn = 0``).
* Voltage scale: potentials are stored relative to ``v_rest`` in units of
  ``v_lsb = (v_th - v_rest) / (64 vth)``; ``vth`` (17-bit) is the largest value
  for which every bias and weight still fits its mantissa/exponent range.
* Bias: a constant current ``I`` adds ``r_m I (1 - a_v)`` per step to V at steady
  state, ``a_v = (4096 - dv)/4096``: ``bias = r_m I (1 - a_v) / v_lsb`` (with
  ``dv = 0``: ``h I / C / v_lsb``), split into a 13-bit mantissa and 3-bit exponent.
* Weights, matched to the golden model's sampled trajectory (the golden model
  applies a spike at the start of its step and integrates exactly; Loihi adds
  the step's input after the decay): a delta weight ``w`` (V) becomes
  ``a_in = a_v w / (64 v_lsb)`` (the jump has decayed for one step when it is
  sampled); a current weight ``w`` (A) becomes ``a_in = r_m F w / (64 v_lsb)``
  with ``F = tau_s/(tau_s - tau_m) (exp(-h/tau_s) - exp(-h/tau_m))`` the exact
  propagator of a unit current into V over one step (Rotter & Diesmann 1999),
  after which ``u`` decays like the synaptic current. With these, the integer
  recursion is the golden recursion up to rounding. Each
  projection gets one exponent: the smallest ``weight_exp`` in ``[-8, 7]``
  (Loihi 1's range) with ``max |a_in| / 2**weight_exp`` within the 8-bit range,
  mantissas rounded half away from zero (to even values for mixed sign).

Loihi cannot express ``v_reset != v_rest`` (reset is to 0) or separate
excitatory and inhibitory synaptic time constants, and Lava's bit-accurate
model has no refractory period: these become design-rule warnings and
:func:`dequantize` shows what the chip runs instead. ``map(...,
refractory=True)`` adds a refractory counter (v held at 0 for ``round(t_ref /
dt)`` steps after a spike while u integrates: Lava's float ``LIFRefractory``
semantics, Loihi's refractory delay) -- an extension outside Lava's bit-accurate
model, so only its ``t_ref = 0`` behaviour is verified against lava-nc.

Multi-compartment neurons (:func:`run_multicompartment`): Loihi's dendritic
trees (Davies et al. 2018, "Loihi: A Neuromorphic Manycore Processor with
On-Chip Learning", IEEE Micro 38(1):82-99, section on the neuron model:
compartments form a tree, and a configurable *join* operation combines a
compartment's state with its children's). The paper names the operations but
not their integer semantics; this module defines them as follows (tested
against these equations): each compartment runs the u/v arithmetic above, and
a parent replaces its u in the v update by ``J(u, children)`` with
``ADD: u + sum(v_child)``, ``MAX: max(u, v_child...)``, ``MIN: min(...)``,
``PASS: u if any child spiked this step else 0``, ``BLOCK: 0 if any child
spiked else u``. Children are updated before their parent in the same step.

Resources and energy: Loihi 1 has 128 neuromorphic cores of 1024 compartments
and about 130 million synapses per chip (Davies et al. 2018, Table 1 / text).
Energy per event from Davies et al. 2018, IEEE Micro 38(1):82-99, Table 2
(measured at nominal 0.75 V): synaptic spike operation 23.6 pJ (row "synaptic
spike op"); neuron update 81 pJ *active* / 52 pJ *inactive* (row "neuron update
(active/inactive)"); within-tile spike 1.7 pJ (row "within-tile spike energy").
Every simulated neuron-step is charged as an active update (81 pJ): an LIF
compartment with a decaying current or membrane is active, and the idle ones
cost 52 pJ, so the neuron term is an upper bound by at most 29 pJ per idle
update. What the estimate includes: the neurocores' dynamic energy per event
only -- no static/leakage power, no cross-tile hops (only the within-tile spike
figure), no x86 management cores, no barrier synchronisation, no off-chip I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numba
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
from lifhw.chips.placement import (
    ChipResources,
    CoreResources,
    Figure,
    Placement,
    check_cores,
    place_spec,
)
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.network import Network, Population, Projection

NAME = "loihi"

#: Bit widths and ranges of Lava's bit-accurate LIF (lava-nc 0.10).
UV_BITS = 24
UV_MAX = 2 ** (UV_BITS - 1)
DECAY_BITS = 12
DECAY_UNITY = 2 ** DECAY_BITS
ACT_SHIFT = 6
VTH_SHIFT = 6
VTH_MAX = 2 ** 17 - 1
BIAS_MANT_MAX = 2 ** 12 - 1
BIAS_EXP_MAX = 7
WEIGHT_EXP_MIN, WEIGHT_EXP_MAX = -8, 7
MAX_DELAY_STEPS = 62
#: Loihi 1 chip (Davies et al. 2018).
CORES_PER_CHIP = 128
COMPARTMENTS_PER_CORE = 1024
SYNAPSES_PER_CHIP = 130_000_000
#: 16 MB of synaptic memory over 128 cores (Davies et al. 2018).
SYNAPTIC_MEMORY_BITS_PER_CORE = 128 * 1024 * 8
#: Energy per event, Davies et al. 2018, IEEE Micro 38(1), Table 2.
E_SYNAPTIC_OP_J = 23.6e-12
E_NEURON_UPDATE_J = 81e-12  # active update; inactive is 52 pJ
E_NEURON_UPDATE_INACTIVE_J = 52e-12
E_SPIKE_J = 1.7e-12
#: Mesh hop energy (E/W), Davies et al. 2018 Table 2 lists tile-hop energies;
#: the value here is to be re-checked against the table (used as an assumption).
E_HOP_J = 3.0e-12
_ENERGY_SOURCE = "Davies et al. 2018, IEEE Micro 38(1):82-99, Table 2"


# ---------------------------------------------------------------------------
# The bit-accurate neuron
# ---------------------------------------------------------------------------

@numba.njit(cache=True, inline="always")
def _wrap32(x):  # pragma: no cover
    """Two's-complement wrap of an int64 to int32 range."""
    return ((x + 2 ** 31) & (2 ** 32 - 1)) - 2 ** 31


@numba.njit(cache=True, nogil=True)
def _lif_steps(a_in, du, dv, vth6, bias, u, v, s_out, u_out, v_out, record,
               ref_steps, ref_left):  # pragma: no cover
    """Advance compartments over the rows of ``a_in``; u, v, ref_left updated in place.

    ``ref_steps`` (per compartment) is 0 for Lava's bit-accurate LIF; > 0 holds
    v at 0 for that many steps after a spike (the refractory extension).
    """
    n_steps, n = a_in.shape
    for t in range(n_steps):
        for i in range(n):
            x = u[i] * (DECAY_UNITY - du[i] - 1)
            # Division by 4096 rounding toward zero without a branch: add 4095
            # to negative values before the arithmetic shift (x >> 63 is -1 or 0).
            x = (x + ((x >> 63) & (DECAY_UNITY - 1))) >> DECAY_BITS
            # Lava shifts and adds a_in in int32: wrap like it (only matters for
            # |a_in| >= 2**25, far outside Loihi's 16-bit dendritic input).
            x += _wrap32(np.int64(a_in[t, i]) << ACT_SHIFT)
            x = _wrap32(x)
            if x > UV_MAX:
                x -= 2 * UV_MAX
            elif x <= -UV_MAX:
                x += 2 * UV_MAX
            u[i] = x
            if ref_left[i] > 0:
                # Refractory (extension): u integrates, v stays at its reset 0.
                ref_left[i] -= 1
                v[i] = 0
                s_out[t, i] = False
                if record:
                    u_out[t, i] = x
                    v_out[t, i] = 0
                continue
            y = v[i] * (DECAY_UNITY - dv[i])
            y = (y + ((y >> 63) & (DECAY_UNITY - 1))) >> DECAY_BITS
            y += x + bias[i]
            if y > UV_MAX - 1:
                y = UV_MAX - 1
            elif y < -UV_MAX + 1:
                y = -UV_MAX + 1
            spike = y > vth6[i]
            if spike:
                y = 0
                ref_left[i] = ref_steps[i]
            v[i] = y
            s_out[t, i] = spike
            if record:
                u_out[t, i] = x
                v_out[t, i] = y


def effective_bias(bias_mant: Any, bias_exp: Any) -> np.ndarray:
    """``bias_mant << bias_exp`` (``>> -bias_exp`` when negative), as Lava's ``scale_bias``."""
    mant = np.asarray(bias_mant, dtype=np.int64)
    exp = np.asarray(bias_exp, dtype=np.int64)
    return np.where(exp >= 0, mant << np.maximum(exp, 0), mant >> np.maximum(-exp, 0))


def _per_neuron(value: Any, n: int, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "iub" and not np.all(np.equal(np.mod(array, 1), 0)):
        raise ParamError(f"{name} must be integers")
    array = np.broadcast_to(array.astype(np.int64), (n,))
    return np.ascontiguousarray(array)


def run_lif(
    a_in: Any,
    *,
    du: Any,
    dv: Any,
    vth: Any,
    bias_mant: Any,
    bias_exp: Any,
    u0: Any = 0,
    v0: Any = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run N Loihi compartments for T steps, bit-for-bit as Lava's ``PyLifModelBitAcc``.

    Args:
        a_in: Dendritic input per step before the ``<< 6`` (integers), shape (T, N).
        du: Current decay, 12-bit (0..4095), scalar or (N,).
        dv: Voltage decay, 12-bit (0..4095), scalar or (N,).
        vth: Threshold mantissa, 17-bit (spike when ``v > vth << 6``), scalar or (N,).
        bias_mant: Bias mantissa (13-bit signed), scalar or (N,).
        bias_exp: Bias exponent, scalar or (N,).
        u0: Initial current (24-bit), scalar or (N,).
        v0: Initial voltage (24-bit), scalar or (N,).

    Returns:
        ``(u, v, s)``: int32 ``u`` and ``v`` after each step (v after reset) and
        boolean spikes, each (T, N).
    """
    drive = np.asarray(a_in)
    if drive.ndim != 2:
        raise ParamError(f"a_in must be (T, N), got shape {drive.shape}")
    if drive.dtype.kind not in "iub":
        raise ParamError("a_in must be an integer array")
    # int32 input/output halve the memory traffic (the kernel is memory-bound);
    # all values fit: a_in is at most 16-bit, u and v 24-bit.
    if drive.dtype not in (np.int32, np.int64):
        drive = drive.astype(np.int64)
    drive = np.ascontiguousarray(drive)
    n_steps, n = drive.shape
    du_a = _per_neuron(du, n, "du")
    dv_a = _per_neuron(dv, n, "dv")
    if np.any((du_a < 0) | (du_a > 4095)) or np.any((dv_a < 0) | (dv_a > 4095)):
        raise ParamError("du and dv must lie in 0..4095 (12 bits)")
    vth6 = _per_neuron(vth, n, "vth") << VTH_SHIFT
    bias = effective_bias(_per_neuron(bias_mant, n, "bias_mant"),
                          _per_neuron(bias_exp, n, "bias_exp"))
    u = _per_neuron(u0, n, "u0").copy()
    v = _per_neuron(v0, n, "v0").copy()
    s = np.empty((n_steps, n), dtype=np.bool_)
    u_out = np.empty((n_steps, n), dtype=np.int32)
    v_out = np.empty((n_steps, n), dtype=np.int32)
    no_ref = np.zeros(n, dtype=np.int64)
    _lif_steps(drive, du_a, dv_a, vth6, np.ascontiguousarray(bias), u, v, s, u_out, v_out,
               True, no_ref, no_ref.copy())
    return u_out, v_out, s


# ---------------------------------------------------------------------------
# Multi-compartment neurons
# ---------------------------------------------------------------------------

JOIN_OPS = ("ADD", "MIN", "MAX", "PASS", "BLOCK")


@dataclass(frozen=True)
class Compartment:
    """One compartment of a Loihi dendritic tree (see the module docstring).

    Args:
        du, dv, vth, bias_mant, bias_exp: As in :func:`run_lif`.
        parent: Index of the parent compartment (-1 for the root/soma); parents
            come after their children in the list.
        join: How this compartment combines its children: ``ADD``, ``MIN``,
            ``MAX``, ``PASS`` or ``BLOCK`` (ignored without children).
    """

    du: int
    dv: int
    vth: int
    bias_mant: int = 0
    bias_exp: int = 0
    parent: int = -1
    join: str = "ADD"


def run_multicompartment(
    a_in: Any, compartments: Sequence[Compartment]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run N multi-compartment neurons (same tree) for T steps.

    Args:
        a_in: Dendritic input per step and compartment, integers (T, N, C).
        compartments: The C compartments, children before parents.

    Returns:
        ``(u, v, s)`` each (T, N, C): u, v (after reset) and spikes per compartment.
    """
    drive = np.asarray(a_in)
    if drive.ndim != 3 or drive.shape[2] != len(compartments):
        raise ParamError(f"a_in must be (T, N, {len(compartments)}), got {drive.shape}")
    for index, comp in enumerate(compartments):
        if comp.join not in JOIN_OPS:
            raise ParamError(f"join {comp.join!r} is not one of {JOIN_OPS}",
                             path=f"compartments[{index}].join")
        if comp.parent != -1 and not index < comp.parent < len(compartments):
            raise ParamError("a parent must come after its child", path=f"compartments[{index}]")
    n_steps, n, n_comp = drive.shape
    drive = drive.astype(np.int64)
    u = np.zeros((n, n_comp), dtype=np.int64)
    v = np.zeros((n, n_comp), dtype=np.int64)
    u_out = np.zeros((n_steps, n, n_comp), dtype=np.int64)
    v_out = np.zeros_like(u_out)
    s_out = np.zeros((n_steps, n, n_comp), dtype=bool)
    children = [[k for k, c in enumerate(compartments) if c.parent == i]
                for i in range(n_comp)]
    for t in range(n_steps):
        for i, comp in enumerate(compartments):
            x = _decay(u[:, i], DECAY_UNITY - comp.du - 1) + (drive[t, :, i] << ACT_SHIFT)
            x = ((x + 2 ** 31) & (2 ** 32 - 1)) - 2 ** 31  # int32 arithmetic, as in Lava
            x = np.where(x > UV_MAX, x - 2 * UV_MAX, x)
            x = np.where(x <= -UV_MAX, x + 2 * UV_MAX, x)
            u[:, i] = x
            joined = x
            kids = children[i]
            if kids:
                kid_v = v[:, kids]
                kid_s = s_out[t][:, kids].any(axis=1)
                if comp.join == "ADD":
                    joined = x + kid_v.sum(axis=1)
                elif comp.join == "MAX":
                    joined = np.maximum(x, kid_v.max(axis=1))
                elif comp.join == "MIN":
                    joined = np.minimum(x, kid_v.min(axis=1))
                elif comp.join == "PASS":
                    joined = np.where(kid_s, x, 0)
                else:  # BLOCK
                    joined = np.where(kid_s, 0, x)
            bias = int(effective_bias(comp.bias_mant, comp.bias_exp))
            y = _decay(v[:, i], DECAY_UNITY - comp.dv) + joined + bias
            y = np.clip(y, -UV_MAX + 1, UV_MAX - 1)
            spike = y > (comp.vth << VTH_SHIFT)
            y = np.where(spike, 0, y)
            v[:, i] = y
            u_out[t, :, i] = x
            v_out[t, :, i] = y
            s_out[t, :, i] = spike
    return u_out, v_out, s_out


def _decay(x: np.ndarray, factor: int) -> np.ndarray:
    """``trunc0(x * factor / 4096)``: Lava's decay, rounding toward zero."""
    product = x * factor
    return np.sign(product) * (np.abs(product) >> DECAY_BITS)


# ---------------------------------------------------------------------------
# Synapses (Lava's Dense, bit-accurate)
# ---------------------------------------------------------------------------

def sign_mode(weights: np.ndarray) -> str:
    """Lava's ``determine_sign_mode``: ``excitatory`` (all >= 0), ``inhibitory``
    (all <= 0) or ``mixed``."""
    if np.min(weights, initial=0) >= 0:
        return "excitatory"
    if np.max(weights, initial=0) <= 0:
        return "inhibitory"
    return "mixed"


def effective_weights(weights: Any, num_weight_bits: int = 8,
                      mode: str | None = None) -> np.ndarray:
    """The integer weights Lava's bit-accurate Dense actually uses.

    Lava (``lava/utils/weightutils.py``): cast to int32 (toward zero), clip
    (``clip_weights``, 8 bits: mixed ``[-256, 255]``, single sign magnitude
    ``[0, 255]``), then clear ``8 - num_weight_bits + (mode == mixed)`` low bits
    with an arithmetic shift (``truncate_weights``; inhibitory weights are
    negated around it).

    Args:
        weights: Weight matrix (post, pre).
        num_weight_bits: Lava's ``num_weight_bits``.
        mode: Sign mode; default from the weights (:func:`sign_mode`).
    """
    w = np.asarray(weights).astype(np.int64)
    if w.dtype.kind == "f":  # pragma: no cover - astype above already truncates
        w = np.trunc(w).astype(np.int64)
    mode = mode or sign_mode(w)
    mixed = mode == "mixed"
    if mode == "inhibitory":
        w = -w
    w = np.clip(w, -256 if mixed else 0, 255)
    drop = 8 - num_weight_bits + int(mixed)
    w = (w >> drop) << drop
    return -w if mode == "inhibitory" else w


def dendritic_sum(weights: np.ndarray, spikes: np.ndarray, weight_exp: int) -> np.ndarray:
    """Lava Dense's ``(W @ s) << weight_exp`` (``>> -weight_exp``, flooring, if negative)."""
    # Sum only the columns of sources that spiked: exact, and much faster than
    # an integer matrix product (NumPy has no integer BLAS) at sparse activity.
    total = weights[:, np.flatnonzero(spikes)].sum(axis=1, dtype=np.int64)
    return total << weight_exp if weight_exp > 0 else total >> (-weight_exp)


# ---------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class PopulationConfig:
    """Integers of one LIF population (one Lava LIF process)."""

    name: str
    size: int
    du: int
    dv: int
    vth: int
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    v_lsb: float
    refractory_steps: int = 0


@dataclass(frozen=True, eq=False)
class ProjectionConfig:
    """Integers of one projection (one Lava Dense process)."""

    pre: str
    post: str
    weights: np.ndarray
    weight_exp: int
    num_weight_bits: int
    delay_steps: int


@dataclass(frozen=True, eq=False)
class LoihiConfig:
    """What would be written to the chip: per population and projection integers."""

    spec: ChipSpec
    populations: tuple[PopulationConfig, ...]
    projections: tuple[ProjectionConfig, ...]

    @property
    def chip(self) -> str:
        return NAME

    def population(self, name: str) -> PopulationConfig:
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise KeyError(name)


def _voltage_gain(neuron: LIFParams, dv: float, dt: float) -> float:
    """V change per step (V) per ampere of constant current at steady state:
    ``r_m (1 - a_v)`` with ``a_v = (4096 - dv)/4096``, or ``dt / C`` without leak."""
    if dv <= 0:
        return dt / neuron.c_m
    return neuron.r_m * dv / DECAY_UNITY


def _realised(neuron: LIFParams, dv: int, du: int, dt: float) -> tuple[float, float, float]:
    """(tau_m, r_m, tau_syn) that the integer decays realise (s, Ohm, s).

    ``tau = -dt / ln(keep / 4096)`` with ``keep = 4096 - dv`` (``4096 - du - 1``
    for the current); ``dv = 0`` is a perfect integrator, represented by
    ``tau_m = 1e9 s`` and ``r_m = tau_m / C`` (the capacitance is kept).
    """
    tau_m = 1e9 if dv == 0 else -dt / math.log((DECAY_UNITY - dv) / DECAY_UNITY)
    r_m = neuron.r_m if dv else tau_m / neuron.c_m
    keep = DECAY_UNITY - du - 1
    tau_syn = 0.0 if keep == 0 else -dt / math.log(keep / DECAY_UNITY)
    return tau_m, r_m, tau_syn


def _weight_gain(delta: bool, dv: int, tau_m: float, r_m: float, tau_syn: float,
                 dt: float) -> float:
    """V added to the membrane by the end of the step in which a unit weight arrives.

    The golden model applies a spike at the start of its step and integrates
    exactly over the step; Loihi adds the step's input after the decay. Equal
    sampled trajectories need (``V_{k+1} = P V_k + g w`` against ``v_t = a_v
    v_{t-1} + u_t``):

    * delta synapse (w in V): ``g = a_v = (4096 - dv)/4096`` -- the jump decays
      for one step before it is sampled;
    * current synapse (w in A): ``g = r_m F(dt)`` with ``F`` the exact propagator
      of a unit current into V over one step (:func:`lifhw.golden.kernels._syn_factor`),
      after which ``u`` decays like the synaptic current.
    """
    if delta:
        return (DECAY_UNITY - dv) / DECAY_UNITY
    from lifhw.golden.kernels import _syn_factor

    return r_m * float(_syn_factor(dt, tau_m, tau_syn))


def map(network: Network, *, vth: int | None = None, num_weight_bits: int = 8,
        refractory: bool = False) -> ChipSpec:
    """Float network -> Loihi targets (floats in chip units, before rounding).

    Args:
        network: The float network (not modified).
        vth: Threshold mantissa (17-bit); default the largest value at which all
            biases and weights fit (see the module docstring).
        num_weight_bits: Weight precision Lava keeps (1..8).
        refractory: Emulate ``t_ref`` as ``round(t_ref / dt)`` steps with v held
            at 0 (u keeps integrating) after a spike -- the semantics of Lava's
            float ``LIFRefractory`` and of Loihi's refractory delay, which Lava's
            bit-accurate model lacks. Off by default so that the simulation stays
            bit-exact to Lava's ``PyLifModelBitAcc``.

    Returns:
        A :class:`~lifhw.chips.base.ChipSpec` whose population entries are
        ``du``, ``dv`` (floats), ``vth`` (int), ``v_lsb`` (V), ``bias`` (per
        neuron, LSB per step) and whose weights are ``a_in`` per spike.
    """
    if not 1 <= num_weight_bits <= 8:
        raise ParamError("num_weight_bits must lie in 1..8", path="num_weight_bits")
    dt = network.dt
    populations: dict[str, dict[str, Any]] = {}
    # Everything below is proportional to vth: compute it per unit vth first.
    per_vth_bias: dict[str, np.ndarray] = {}
    per_vth_weight: dict[str, np.ndarray] = {}
    for pop in network.populations:
        neuron = pop.neuron
        dv = DECAY_UNITY * (1.0 - math.exp(-dt / neuron.tau_m))
        tau_syn = neuron.tau_syn_exc
        du = (DECAY_UNITY - 1.0 if tau_syn == 0
              else DECAY_UNITY * (1.0 - math.exp(-dt / tau_syn)) - 1.0)
        # A current synapse keeps at least one LSB of u between steps (du <= 4094).
        du = float(np.clip(du, 0.0, 4095.0 if pop.delta_synapses else 4094.0))
        dv = float(np.clip(dv, 0.0, 4095.0))
        dv_int, du_int = int(round_half_away(dv)), int(round_half_away(du))
        swing = neuron.v_th - neuron.v_rest
        bias_gain = _voltage_gain(neuron, dv_int, dt)
        # bias (LSB/step) = gain I / v_lsb, v_lsb = swing / (64 vth)
        per_vth_bias[pop.name] = bias_gain * pop.bias * 64.0 / swing
        tau_m, r_m, tau_s = _realised(neuron, dv_int, du_int, dt)
        populations[pop.name] = {
            "du": du, "dv": dv,
            "gain": _weight_gain(pop.delta_synapses, dv_int, tau_m, r_m, tau_s, dt)}
    for proj in network.projections:
        post = network.population(proj.post)
        swing = post.neuron.v_th - post.neuron.v_rest
        scale = populations[proj.post]["gain"]
        # a_in = gain w / (64 v_lsb) = gain w vth / swing
        per_vth_weight[projection_key(proj.pre, proj.post)] = scale * proj.weights / swing
    if vth is None:
        limit = float(VTH_MAX)
        for values in per_vth_bias.values():
            peak = float(np.max(np.abs(values), initial=0.0))
            if peak > 0:
                limit = min(limit, BIAS_MANT_MAX * 2 ** BIAS_EXP_MAX / peak)
        for values in per_vth_weight.values():
            peak = float(np.max(np.abs(values), initial=0.0))
            top = _top_mantissa(sign_mode(values) == "mixed", num_weight_bits)
            if peak > 0:
                limit = min(limit, top * 2 ** WEIGHT_EXP_MAX / peak)
        vth = max(1, math.floor(limit))
    if not 0 < vth <= VTH_MAX:
        raise ParamError(f"vth must lie in 1..{VTH_MAX}", path="vth")
    for pop in network.populations:
        swing = pop.neuron.v_th - pop.neuron.v_rest
        entry = populations[pop.name]
        entry.update(vth=vth, v_lsb=swing / (64.0 * vth), bias=per_vth_bias[pop.name] * vth)
        del entry["gain"]
    weights = {key: values * vth for key, values in per_vth_weight.items()}
    notes = []
    for pop in network.populations:
        populations[pop.name]["refractory_steps"] = (
            round(pop.neuron.t_ref / dt) if refractory else 0)
    if any(p.neuron.t_ref > 0 for p in network.populations):
        notes.append("t_ref emulated (refractory extension, not in Lava's bit-accurate LIF)"
                     if refractory else
                     "Lava's bit-accurate LIF has no refractory period: t_ref is dropped")
    return ChipSpec(chip=NAME, network=network, dt=dt, populations=populations,
                    weights=weights, options={"vth": vth, "num_weight_bits": num_weight_bits,
                                              "refractory": refractory},
                    notes=tuple(notes))


def split_bias(bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bias (LSB/step) -> (13-bit mantissa, 3-bit exponent), per neuron.

    The smallest exponent ``e`` in 0..7 with ``|bias| / 2**e <= 4095``, mantissa
    ``round_half_away(bias / 2**e)`` (clipped to the 13-bit range).
    """
    magnitude = np.abs(np.asarray(bias, dtype=float))
    exp = np.zeros(magnitude.shape, dtype=np.int64)
    for e in range(BIAS_EXP_MAX, -1, -1):
        exp = np.where(magnitude / 2 ** e <= BIAS_MANT_MAX + 0.5, e, exp)
    mant = round_half_away(np.asarray(bias, dtype=float) / 2.0 ** exp)
    return np.clip(mant, -BIAS_MANT_MAX - 1, BIAS_MANT_MAX).astype(np.int64), exp


def _top_mantissa(mixed: bool, num_weight_bits: int) -> int:
    """Largest weight magnitude Lava keeps: 255 (one sign) or 254 (mixed), on the
    grid of ``2**(8 - num_weight_bits + mixed)``."""
    step = 2 ** (8 - num_weight_bits + int(mixed))
    top = 254 if mixed else 255
    return top - top % step


def options_for_drive(network: Network, peak_drive: Mapping[str, float]) -> dict[str, Any]:
    """``map`` options for data whose largest per-step input per population is known.

    The default threshold mantissa ``vth`` is the largest at which every weight and
    bias fits; but the dendritic sum of one step lands in the ``UV_BITS``-bit
    *wrapping* current register ``u = a_in << ACT_SHIFT`` with ``a_in = w vth /
    (v_th - v_rest)`` (delta synapses), so a dense layer whose inputs fire together
    can wrap u and flip the sign of its input. ``vth`` is therefore capped so that
    the largest per-step input ``d_max`` (V) uses at most half of u's range:
    ``vth <= 2^(UV_BITS-1) (v_th - v_rest) / (2 * 2^ACT_SHIFT * d_max)``.

    Args:
        network: The float network.
        peak_drive: LIF population name -> ``max |sum_pre W s_pre[t]|`` (V) over the
            data (missing or 0: no constraint).

    Returns:
        ``{"vth": cap}`` when the cap is below the default, else ``{}``.
    """
    cap = None
    for pop in network.populations:
        d_max = float(peak_drive.get(pop.name, 0.0))
        if d_max == 0:
            continue
        span = pop.neuron.v_th - pop.neuron.v_rest
        limit = int(UV_MAX * span / (2 * (1 << ACT_SHIFT) * d_max))
        cap = limit if cap is None else min(cap, limit)
    default = min(int(p["vth"]) for p in map(network).populations.values())
    if cap is None or cap >= default:
        return {}
    return {"vth": max(cap, 1)}


def quantize_weights(a_in: np.ndarray, num_weight_bits: int = 8) -> tuple[np.ndarray, int]:
    """Float ``a_in`` per spike -> (Lava integer weights, weight_exp).

    ``weight_exp`` is the smallest in [-8, 7] with the mantissas in range
    (127 for mixed sign, whose Lava representation is ``2 * mantissa``
    after truncation, i.e. values up to 254; 255 for a single sign), mantissa
    ``round_half_away(a_in / 2**weight_exp)`` on the ``2**(8 - bits + mixed)``
    grid Lava keeps, so :func:`effective_weights` leaves them unchanged.
    """
    values = np.asarray(a_in, dtype=float)
    mode = sign_mode(values)
    mixed = mode == "mixed"
    peak = float(np.max(np.abs(values), initial=0.0))
    step = 2 ** (8 - num_weight_bits + int(mixed))
    top = _top_mantissa(mixed, num_weight_bits)
    exp = WEIGHT_EXP_MAX
    for e in range(WEIGHT_EXP_MIN, WEIGHT_EXP_MAX + 1):
        if peak / 2.0 ** e <= top + step / 2:
            exp = e
            break
    ints = step * round_half_away(values / 2.0 ** exp / step)
    low = -256 if mixed else (-top if mode == "inhibitory" else 0)
    high = top if mode != "inhibitory" else 0
    return np.clip(ints, low, high).astype(np.int64), exp


def quantize(spec: ChipSpec) -> LoihiConfig:
    """Round the targets of :func:`map` to Loihi's integers (formulas in the module doc)."""
    network = spec.network
    bits = int(spec.options.get("num_weight_bits", 8))
    pops = []
    for pop in network.populations:
        entry = spec.populations[pop.name]
        mant, exp = split_bias(entry["bias"])
        pops.append(PopulationConfig(
            name=pop.name, size=pop.size,
            du=int(np.clip(round_half_away(entry["du"]), 0, 4095)),
            dv=int(np.clip(round_half_away(entry["dv"]), 0, 4095)),
            vth=int(entry["vth"]), bias_mant=mant, bias_exp=exp, v_lsb=float(entry["v_lsb"]),
            refractory_steps=int(entry.get("refractory_steps", 0))))
    projs = []
    for proj in network.projections:
        ints, wexp = quantize_weights(spec.weights[projection_key(proj.pre, proj.post)], bits)
        projs.append(ProjectionConfig(pre=proj.pre, post=proj.post, weights=ints,
                                      weight_exp=wexp, num_weight_bits=bits,
                                      delay_steps=proj.delay_steps))
    return LoihiConfig(spec=spec, populations=tuple(pops), projections=tuple(projs))


# ---------------------------------------------------------------------------
# Design rules
# ---------------------------------------------------------------------------

def reset_is_rest(config: LoihiConfig) -> list[Violation]:
    """Loihi resets v to 0 = v_rest; a different v_reset is not expressible."""
    return [Violation("reset_is_rest", f"v_reset {p.neuron.v_reset * 1e3:g} mV != v_rest "
                      f"{p.neuron.v_rest * 1e3:g} mV; the chip resets to v_rest",
                      p.name, "warning")
            for p in config.spec.network.populations if p.neuron.v_reset != p.neuron.v_rest]


def one_synaptic_tau(config: LoihiConfig) -> list[Violation]:
    """A compartment has one current u: excitatory and inhibitory tau must match."""
    return [Violation("one_synaptic_tau", f"tau_syn_exc {p.neuron.tau_syn_exc:g} s != "
                      f"tau_syn_inh {p.neuron.tau_syn_inh:g} s; tau_syn_exc is used",
                      p.name, "warning")
            for p in config.spec.network.populations
            if p.neuron.tau_syn_exc != p.neuron.tau_syn_inh]


def no_refractory(config: LoihiConfig) -> list[Violation]:
    """Lava's bit-accurate LIF has no refractory period (``map(refractory=True)``
    emulates it, outside Lava's bit-accurate model)."""
    return [Violation("no_refractory", f"t_ref {p.neuron.t_ref * 1e3:g} ms is dropped "
                      "(map(..., refractory=True) emulates it)", p.name, "warning")
            for p, cfg in zip(config.spec.network.populations, config.populations, strict=True)
            if p.neuron.t_ref > 0 and cfg.refractory_steps == 0]


def decay_range(config: LoihiConfig) -> list[Violation]:
    """``du``/``dv`` targets must fit 12 bits (time constants not far below dt)."""
    out = []
    for name, entry in config.spec.populations.items():
        dv_target = entry["dv"]
        pop = config.population(name)
        if pop.dv == 0 and dv_target > 0:
            out.append(Violation("decay_range", "tau_m so long that dv rounds to 0 (no leak)",
                                 name, "warning"))
        if pop.dv >= 4095:
            out.append(Violation("decay_range", "tau_m <= dt: v forgets everything each step",
                                 name, "warning"))
    return out


def bias_range(config: LoihiConfig) -> list[Violation]:
    """The bias must fit a 13-bit mantissa with exponent <= 7."""
    out = []
    for pop in config.populations:
        target = np.asarray(config.spec.populations[pop.name]["bias"], dtype=float)
        if np.any(np.abs(target) > (BIAS_MANT_MAX + 0.5) * 2 ** BIAS_EXP_MAX):
            out.append(Violation("bias_range", "bias exceeds 4095 << 7 LSB/step (clipped)",
                                 pop.name))
    return out


def weight_range(config: LoihiConfig) -> list[Violation]:
    """Weights must fit 8-bit mantissas with exponent in [-8, 7]; flags lost synapses."""
    out = []
    for proj in config.projections:
        key = projection_key(proj.pre, proj.post)
        target = np.asarray(config.spec.weights[key], dtype=float)
        realised = proj.weights * 2.0 ** proj.weight_exp
        peak = float(np.max(np.abs(target), initial=0.0))
        if peak > 0 and float(np.max(np.abs(realised))) < 0.5 * peak:
            out.append(Violation("weight_range", "weights exceed 8 bits << 7 (clipped)", key))
        lost = int(np.count_nonzero((target != 0) & (proj.weights == 0)))
        if lost:
            out.append(Violation("weight_range", f"{lost} non-zero weights round to 0", key,
                                 "warning"))
    return out


def delay_range(config: LoihiConfig) -> list[Violation]:
    """Loihi 1 synaptic delays reach 62 steps."""
    return [Violation("delay_range", f"delay {p.delay_steps} > {MAX_DELAY_STEPS} steps",
                      projection_key(p.pre, p.post))
            for p in config.projections if p.delay_steps > MAX_DELAY_STEPS]


def dendrite_accumulator(config: LoihiConfig) -> list[Violation]:
    """The summed input of one step should fit Lava's 16-bit ``a_out`` precision."""
    out = []
    for pop in config.populations:
        worst = np.zeros(pop.size)
        for proj in config.projections:
            if proj.post != pop.name:
                continue
            scale = 2.0 ** proj.weight_exp
            worst = worst + np.abs(proj.weights).sum(axis=1) * scale
        if worst.size and float(worst.max()) >= 2 ** 15:
            out.append(Violation("dendrite_accumulator",
                                 f"all inputs at once sum to {worst.max():.0f} >= 2**15",
                                 pop.name, "warning"))
    return out


def fits_chip(config: LoihiConfig) -> list[Violation]:
    """The network placed on neuro-cores (:func:`place`): multi-chip is a warning.

    An error only when a compartment's synapses exceed one core's synaptic
    memory; a network larger than one chip is placed over several chips
    (Loihi systems connect chips in a mesh) and reported as a warning.
    """
    return [replace(v, rule="fits_chip")
            for v in check_cores(place(config.spec))]


RULES: tuple[Rule, ...] = (reset_is_rest, one_synaptic_tau, no_refractory, decay_range,
                           bias_range, weight_range, delay_range, dendrite_accumulator,
                           fits_chip)


def check(config: LoihiConfig) -> list[Violation]:
    """All design rules of :data:`RULES`."""
    return run_rules(RULES, config)


# ---------------------------------------------------------------------------
# Simulation, dequantisation, resources, energy
# ---------------------------------------------------------------------------

def simulate(config: LoihiConfig, input_spikes: Any, *,
             record_states: bool = False) -> ChipRun:
    """Bit-accurate run of the configured network (Lava's LIF + Dense semantics).

    Args:
        config: From :func:`quantize`.
        input_spikes: Boolean (T, n_in) or mapping name -> (T, size).
        record_states: Also return ``u`` and ``v`` (chip integers) per population.
    """
    network = config.spec.network
    inputs = split_inputs(network, input_spikes)
    n_steps = next(iter(inputs.values())).shape[0] if inputs else 0
    states: dict[str, dict[str, np.ndarray]] = {}
    updates = {}
    for pop in config.populations:
        u = np.zeros(pop.size, dtype=np.int64)
        v = np.zeros(pop.size, dtype=np.int64)
        du = np.full(pop.size, pop.du, dtype=np.int64)
        dv = np.full(pop.size, pop.dv, dtype=np.int64)
        vth6 = np.full(pop.size, pop.vth << VTH_SHIFT, dtype=np.int64)
        bias = np.ascontiguousarray(effective_bias(pop.bias_mant, pop.bias_exp))
        if record_states:
            states[pop.name] = {"u": np.zeros((n_steps, pop.size), dtype=np.int64),
                                "v": np.zeros((n_steps, pop.size), dtype=np.int64)}
        ref = np.full(pop.size, pop.refractory_steps, dtype=np.int64)
        updates[pop.name] = _make_update(u, v, du, dv, vth6, bias, ref,
                                         states.get(pop.name), record_states)
    synapses = [Synapses(pre=p.pre, post=p.post,
                         weights=effective_weights(p.weights, p.num_weight_bits),
                         delay_steps=p.delay_steps, accumulate=_shifter(p.weight_exp))
                for p in config.projections]
    spikes, events = run_network(network, inputs, synapses, updates)
    return ChipRun(backend=NAME, dt=config.spec.dt, spikes=spikes, states=states,
                   events=events, meta={"chip": NAME})


def _shifter(weight_exp: int) -> Any:
    def accumulate(weights: np.ndarray, active: np.ndarray) -> np.ndarray:
        return dendritic_sum(weights, active, weight_exp)
    return accumulate


def _make_update(u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray,
                 vth6: np.ndarray, bias: np.ndarray, ref_steps: np.ndarray,
                 record: Mapping[str, np.ndarray] | None, recording: bool) -> Any:
    size = u.shape[0]
    ref_left = np.zeros(size, dtype=np.int64)
    row = np.zeros((1, size), dtype=np.int64)
    spikes = np.zeros((1, size), dtype=np.bool_)
    u_row = np.zeros((1, size), dtype=np.int64)
    v_row = np.zeros((1, size), dtype=np.int64)

    def update(step: int, summed: Mapping[str, np.ndarray]) -> np.ndarray:
        row[0] = summed.get("all", 0)
        _lif_steps(row, du, dv, vth6, bias, u, v, spikes, u_row, v_row, recording, ref_steps,
                   ref_left)
        if record is not None:
            record["u"][step] = u_row[0]
            record["v"][step] = v_row[0]
        return spikes[0].copy()

    return update


def dequantize(config: LoihiConfig) -> Network:
    """The float network Loihi effectively runs (inverse of the formulas of :func:`map`).

    ``tau_m = -dt / ln((4096 - dv)/4096)`` (``dv = 0``: 1e9 s, no leak, with
    ``r_m = tau_m / C`` so the capacitance is kept);
    ``tau_syn = -dt / ln((4096 - du - 1)/4096)`` (0 for ``du = 4095``);
    ``v_th = v_rest + (64 vth + 1) v_lsb`` (strictly greater than ``vth << 6``);
    ``v_reset = v_rest``; ``t_ref = 0``; biases and weights by the inverse gains.
    """
    network = config.spec.network
    dt = config.spec.dt
    pops = []
    for pop, cfg in zip(network.populations, config.populations, strict=True):
        n = pop.neuron
        tau_m, r_m, tau_syn = _realised(n, cfg.dv, cfg.du, dt)
        neuron = LIFParams(tau_m=tau_m, r_m=r_m, v_rest=n.v_rest,
                           v_th=n.v_rest + (64 * cfg.vth + 1) * cfg.v_lsb, v_reset=n.v_rest,
                           t_ref=cfg.refractory_steps * dt, tau_syn_exc=tau_syn,
                           tau_syn_inh=tau_syn)
        gain = _voltage_gain(neuron, cfg.dv, dt)
        bias = effective_bias(cfg.bias_mant, cfg.bias_exp) * cfg.v_lsb / gain
        pops.append(Population(pop.name, pop.size, neuron, bias))
    realised = {p.name: p for p in pops}
    projs = []
    for proj, wcfg in zip(network.projections, config.projections, strict=True):
        post = realised[proj.post]
        pcfg = config.population(proj.post)
        a_in = effective_weights(wcfg.weights, wcfg.num_weight_bits) * 2.0 ** wcfg.weight_exp
        n = post.neuron
        gain = _weight_gain(post.delta_synapses, pcfg.dv, n.tau_m, n.r_m, n.tau_syn_exc, dt)
        weights = a_in * 64.0 * pcfg.v_lsb / gain
        projs.append(Projection(proj.pre, proj.post, weights, proj.delay_steps))
    return Network(name=network.name, inputs=network.inputs, populations=tuple(pops),
                   projections=tuple(projs), dt=dt)


def resources(config: LoihiConfig) -> Resources:
    """Cores (each population on its own cores, 1024 compartments each), synapses."""
    cores = sum(math.ceil(p.size / COMPARTMENTS_PER_CORE) for p in config.populations)
    synapses = int(sum(np.count_nonzero(p.weights) for p in config.projections))
    return Resources(cores_used=cores, cores_available=CORES_PER_CHIP,
                     neurons_used=sum(p.size for p in config.populations),
                     neurons_available=CORES_PER_CHIP * COMPARTMENTS_PER_CORE,
                     synapses_used=synapses, synapses_available=SYNAPSES_PER_CHIP)


#: Per-core and per-chip resources (Davies et al. 2018, IEEE Micro 38(1):82-99).
RESOURCES = ChipResources(
    target=NAME, core_name="neuro-core",
    core=CoreResources(
        neurons=Figure(COMPARTMENTS_PER_CORE, "Davies et al. 2018: 1024 compartments per "
                       "neuromorphic core"),
        synapses=Figure(SYNAPTIC_MEMORY_BITS_PER_CORE // 8,
                        "Davies et al. 2018: 16 MB of synaptic memory over 128 cores = "
                        "128 KiB per core; one synapse = num_weight_bits bits (dense "
                        "format without index: this project's rule)", published=False)),
    cores_per_chip=Figure(CORES_PER_CHIP, "Davies et al. 2018: 128 neuromorphic cores "
                          "per chip"),
    energy_per_core_packet_j=Figure(E_HOP_J, _ENERGY_SOURCE + ": mesh (tile) hop energy, "
                                    "E/W; the 3.0 pJ value is to be re-checked against "
                                    "the table; one hop per inter-core packet assumed",
                                    published=False),
    notes=("no published static power per core or inter-chip packet energy",
           "fan-in axon limits per core are not modelled"))


def place(spec: ChipSpec, *, rates_hz: Mapping[str, Any] | None = None,
          order: str = "index") -> Placement:
    """Compartments onto neuro-cores (:func:`lifhw.chips.placement.place_spec`).

    Synapses per core: the 128 KiB synaptic memory over ``num_weight_bits``
    bits per synapse. Loihi's barrier-synchronised time step makes placement
    invisible to the spikes: the placed network is the network.
    """
    bits = int(spec.options.get("num_weight_bits", 8))
    resources = replace(RESOURCES, core=replace(RESOURCES.core, synapses=Figure(
        SYNAPTIC_MEMORY_BITS_PER_CORE // bits, RESOURCES.core.synapses.source
        if RESOURCES.core.synapses else "", published=False)))
    return place_spec(spec, resources, rates_hz=rates_hz, order=order)


def energy(config: LoihiConfig, run: ChipRun) -> EnergyEstimate:
    """Dynamic energy from event counts and Davies et al. 2018 Table 2 per-event figures
    (no static power, no cross-tile hops; see the module docstring)."""
    events = run.events
    return EnergyEstimate(chip=NAME, terms=(
        EnergyTerm("synaptic_events", events.get("synaptic_events", 0), E_SYNAPTIC_OP_J,
                   _ENERGY_SOURCE + ": synaptic spike op"),
        EnergyTerm("neuron_updates", events.get("neuron_updates", 0), E_NEURON_UPDATE_J,
                   _ENERGY_SOURCE + ": neuron update, active (81 pJ; inactive 52 pJ), "
                   "every neuron-step charged as active (upper bound)"),
        EnergyTerm("spikes", events.get("spikes", 0), E_SPIKE_J,
                   _ENERGY_SOURCE + ": within-tile spike energy"),
    ))


__all__ = ["NAME", "RESOURCES", "RULES", "Compartment", "LoihiConfig", "check", "dequantize",
           "effective_weights", "energy", "map", "place", "quantize", "resources", "run_lif",
           "run_multicompartment", "simulate"]


if TYPE_CHECKING:  # mypy checks this module against the HardwareTarget protocol
    from lifhw.chips import loihi as _module
    from lifhw.chips.base import HardwareTarget

    _conforms: HardwareTarget = _module
