"""SpiNNaker IF_curr_exp arithmetic against hand-derived cases of sPyNNaker's equations.

The parameters are chosen so that every intermediate value is an exact
integer in s16.15 / u0.32 and the expected sequences can be worked out on
paper (written below as literals, with the derivation in comments).
"""

from __future__ import annotations

import math

import numpy as np

from lifhw.chips import spinnaker as sp
from lifhw.core import LIFParams
from lifhw.network import InputPopulation, Network, Population, Projection

TAU_HALF_MS = 1.0 / math.log(2.0)   # exp(-1 ms / tau) = 1/2


def test_fixed_point_primitives() -> None:
    assert sp.to_s1615(1.0) == 32768 and sp.to_s1615(-0.5) == -16384
    # round to nearest in MULT_ROUND_NEAREST_ACCUM: 1.5 * 0.5 = 0.75 exactly
    assert sp.mult_round_nearest(np.array(49152), np.array(16384)) == 24576
    # (3 * 1) + 2**14 >> 15 = 0 for 3 LSB * 1 LSB; half an LSB rounds up
    assert sp.mult_round_nearest(np.array(1), np.array(16384)) == 1
    # decay_s1615 floors: -3 * 0.5 = -1.5 -> -2
    assert sp.decay_s1615(np.array(-3), np.array(2**31)) == -2
    assert sp.wrap32(np.array(2**31)) == -(2**31)


def test_decay_and_init_factors() -> None:
    # The chip derives them from s16.15 inputs (tests/test_spinnaker_constants.py has
    # the step-by-step derivation): tau = 5 ms, dt = 1 ms gives decay 3516490311,
    # not round(exp(-0.2) 2**32) = 3516421809. tau/dt = 5 is exactly 5 * 2**15, so
    # init = (5 * 2**15 * (0xFFFFFFFF - decay)) >> 15 = 5 (2**32 - 1 - decay).
    decay = sp.exp_decay_u032(1.0, 5.0)
    assert decay == 3516490311
    assert round(math.exp(-0.2) * 2**32) == 3516421809
    assert sp.init_u032(1.0, 5.0) == 5 * (2**32 - 1 - decay)
    # the init factor is tau/dt (1 - exp(-dt/tau)) to the chip's exp accuracy (~2e-5
    # relative in the decay, 5x that in tau/dt (1 - decay))
    assert abs(sp.init_u032(1.0, 5.0) / 2**32 - 5 * (1 - math.exp(-0.2))) < 1e-4
    assert abs(sp.exp_decay_u032(1.0, TAU_HALF_MS) - 2**31) < 2e-5 * 2**32


def test_ring_buffer_shift_rule() -> None:
    # p = ceil(log2 w) clipped at 0, plus one when 2**p <= w
    assert sp.ring_buffer_shift(0.0) == 0
    assert sp.ring_buffer_shift(0.3) == 0
    assert sp.ring_buffer_shift(1.0) == 1
    assert sp.ring_buffer_shift(3.0) == 2
    assert sp.ring_buffer_shift(4.0) == 3
    assert sp.ring_buffer_shift(100.0) == 7


def _neuron(**kwargs: object) -> sp.NeuronParams:
    base = dict(n=1, v_rest=0, v_reset=0, v_thresh=sp.to_s1615(6.5),
                r_membrane=sp.to_s1615(8.0), exp_tc=sp.to_s1615(0.5),
                i_offset=sp.to_s1615(1.0), t_refract=2)
    base.update(kwargs)
    return sp.NeuronParams(**base)  # type: ignore[arg-type]


def test_membrane_closed_form_threshold_and_refractory() -> None:
    # I = 1 nA, R = 8 MOhm: alpha = 8 mV; exp_TC = 1/2: V -> 8 - (8 - V)/2:
    # 0 -> 4 -> 6 -> 7 (>= 6.5: spike, V = 0, timer 2) -> 0 (timer 1) -> 0 (timer 0)
    # -> 4 -> 6 -> 7 (spike) ...
    params = _neuron()
    state = sp.State.initial(params)
    zeros = np.zeros(1, dtype=np.int64)
    v, spikes = [], []
    for _k in range(8):
        spikes.append(bool(sp.step(state, params, zeros, zeros, 0, 0)[0]))
        v.append(int(state.v[0]))
    assert v == [4 * 32768, 6 * 32768, 0, 0, 0, 4 * 32768, 6 * 32768, 0]
    assert [k for k, s in enumerate(spikes) if s] == [2, 7]


def test_exponential_synapse_sequence() -> None:
    # tau = 1/ln 2 ms: bits(tau) = 47274, kdivk(tau, 1 ms) = 47274; the chip's decay
    # is 2147487414 (~1/2 + 9e-7; test_spinnaker_constants.py), so
    # init = (47274 * (0xFFFFFFFF - 2147487414)) >> 15 = (47274 * 2147479881) >> 15.
    # A ring-buffer sum of 1000 with shift 1 is 2000 LSB; isyn = floor(2000 * init / 2**32)
    #   = floor(1442.67) = 1442, then halves (floor, decay exactly 1/2 here): 721, 360, 180.
    init = sp.init_u032(1.0, TAU_HALF_MS)
    assert init == (47274 * 2147479881) >> 15
    params = _neuron(i_offset=0, r_membrane=0, exc_decay=2**31, exc_init=init)
    state = sp.State.initial(params)
    zeros = np.zeros(1, dtype=np.int64)
    seen = []
    for k in range(4):
        ring = np.array([1000 if k == 0 else 0])
        sp.step(state, params, ring, zeros, 1, 0)
        seen.append(int(state.isyn_exc[0]))
    assert seen == [721, 360, 180, 90]


def test_synaptic_current_drives_membrane() -> None:
    # isyn_inh = 2 nA held (decay ~1, a delta-free check of the sign): I = 1 - 2 = -1 nA,
    # alpha = -8 mV: V = -8 + 8/2 = -4 mV after one step from 0.
    params = _neuron(inh_decay=2**32 - 1, inh_init=2**32 - 1)
    state = sp.State.initial(params)
    state.isyn_inh = np.array([sp.to_s1615(2.0)])
    sp.step(state, params, np.zeros(1, int), np.zeros(1, int), 0, 0)
    assert int(state.v[0]) == -4 * 32768


def test_ring_buffer_saturates_at_16_bits() -> None:
    params = _neuron(i_offset=0, r_membrane=0, exc_delta=True)
    state = sp.State.initial(params)
    sp.step(state, params, np.array([70000]), np.zeros(1, int), 0, 0)
    # delta synapse: the value is used then cleared; check through the current it gave
    state2 = sp.State.initial(params)
    added = sp._add_input(state2.isyn_exc, np.array([70000]), 0, params.exc_init, True)
    assert int(added[0]) == 0xFFFF


def test_weight_encoding_and_shift_from_network() -> None:
    # exc: w_max = 0.5 nA, 2 connections -> 1.0 -> shift 1, scale 2**14:
    #   0.5 -> 8192, 0.25 -> 4096; inh: 0.3 nA, 1 connection -> shift 0, scale 2**15:
    #   0.3 * 32768 = 9830.4 -> 9830.
    neuron = LIFParams(tau_m=10e-3, r_m=4e7, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                       tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    network = Network("w", (InputPopulation("in", 3),), (Population("out", 1, neuron),),
                      (Projection("in", "out", np.array([[0.5e-9, 0.25e-9, -0.3e-9]])),),
                      1e-3)
    config = sp.quantize(sp.map(network))
    assert config.shifts["out"] == (1, 0)
    assert config.weights_exc["in->out"].tolist() == [[8192, 4096, 0]]
    assert config.weights_inh["in->out"].tolist() == [[0, 0, 9830]]
    realised = sp.dequantize(config)
    assert np.allclose(realised.projections[0].weights,
                       [[0.5e-9, 0.25e-9, -9830 / 32768 * 1e-9]], rtol=1e-12, atol=0)
    # R = tau_m / c_m = 10 ms / 0.25 nF = 40 MOhm
    assert int(config.neurons["out"].r_membrane[0]) == 40 * 32768
    assert int(config.neurons["out"].exp_tc[0]) == round(math.exp(-0.1) * 32768)


def test_refractory_steps_use_ceil() -> None:
    neuron = LIFParams(tau_m=10e-3, r_m=4e7, v_rest=0.0, v_th=0.01, v_reset=0.0,
                       t_ref=1.5e-3, tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    network = Network("r", (InputPopulation("in", 1),), (Population("out", 1, neuron),),
                      (), 1e-3)
    assert sp.quantize(sp.map(network)).neurons["out"].t_refract.tolist() == [2]
