"""Loihi mapper: the bit-accurate LIF against hand-derived integer cases, the
multi-compartment joins against their equations, Lava's weight rules against
worked values, and the mapped network against the float golden model.

(Bit-exactness against lava-nc itself is in verification/test_loihi_lava.py.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lifhw.chips import loihi
from lifhw.chips.base import parameter_deviations
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.network import InputPopulation, Network, Population, Projection


def _trunc0(x: int) -> int:
    """Rounding toward zero of x / 4096, written independently of the module."""
    q = abs(x) // 4096
    return q if x >= 0 else -q


def test_integrator_spikes_every_k_steps() -> None:
    # du = 4095 clears u each step (u = a << 6); dv = 0: no leak. v grows by 64a
    # per step and spikes when v > 64 vth, i.e. after floor(vth / a) + 1 steps.
    a, vth = 7, 50
    u, v, s = loihi.run_lif(np.full((40, 1), a), du=4095, dv=0, vth=vth, bias_mant=0,
                            bias_exp=0)
    period = vth // a + 1
    assert np.all(u == 64 * a)
    assert list(np.flatnonzero(s[:, 0]) + 1) == list(range(period, 41, period))
    assert v[period - 2, 0] == 64 * a * (period - 1)
    assert v[period - 1, 0] == 0  # reset to 0


def test_threshold_is_strict() -> None:
    # v reaches exactly vth << 6 and must not spike; one more LSB does.
    _, v, s = loihi.run_lif(np.zeros((2, 2), dtype=int), du=4095, dv=0, vth=10,
                            bias_mant=[640, 641], bias_exp=0)
    assert not s[0, 0] and s[0, 1]
    assert v[0, 0] == 640 and v[0, 1] == 0


def test_decay_rounds_toward_zero() -> None:
    # dv = 2048 halves v: -3 -> trunc(-1.5) = -1 (floor would give -2).
    v0 = [2 ** 20, -3, 3, -4097]
    _, v, _ = loihi.run_lif(np.zeros((3, 4), dtype=int), du=4095, dv=2048, vth=2 ** 16,
                            bias_mant=0, bias_exp=0, v0=v0)
    expected = []
    for start in v0:
        row, x = [], start
        for _ in range(3):
            x = _trunc0(x * 2048)
            row.append(x)
        expected.append(row)
    assert v.T.tolist() == expected
    assert v[0, 1] == -1


def test_current_decay_has_offset_and_wraps() -> None:
    # du = 0 still decays u by (4096 - 1)/4096 (Lava's ds_offset = 1).
    u0 = 2 ** 23 - 1
    u, _, _ = loihi.run_lif(np.array([[100], [0]]), du=0, dv=0, vth=2 ** 17 - 1,
                            bias_mant=0, bias_exp=0, u0=u0)
    first = _trunc0(u0 * 4095) + 6400
    assert first > 2 ** 23
    assert u[0, 0] == first - 2 ** 24  # wrapped
    assert u[1, 0] == _trunc0((first - 2 ** 24) * 4095)


def test_voltage_saturates() -> None:
    _, v, s = loihi.run_lif(np.zeros((3, 1), dtype=int), du=4095, dv=0, vth=2 ** 17 - 1,
                            bias_mant=4095, bias_exp=7, v0=2 ** 23 - 100)
    assert v[0, 0] == 2 ** 23 - 1 or s[0, 0]
    _, v, _ = loihi.run_lif(np.zeros((1, 1), dtype=int), du=4095, dv=0, vth=2 ** 17 - 1,
                            bias_mant=-4096, bias_exp=7, v0=-(2 ** 23) + 5)
    assert v[0, 0] == -(2 ** 23) + 1


def test_bias_exponent() -> None:
    _, v, _ = loihi.run_lif(np.zeros((2, 2), dtype=int), du=4095, dv=0, vth=2 ** 16,
                            bias_mant=[3, -3], bias_exp=[4, 2])
    assert v[:, 0].tolist() == [48, 96]
    assert v[:, 1].tolist() == [-12, -24]
    assert loihi.effective_bias(-5, -1) == -3  # arithmetic right shift floors


def test_run_lif_rejects_bad_input() -> None:
    with pytest.raises(ParamError):
        loihi.run_lif(np.zeros((3, 2)), du=0, dv=0, vth=1, bias_mant=0, bias_exp=0)
    with pytest.raises(ParamError):
        loihi.run_lif(np.zeros((3, 2), dtype=int), du=4096, dv=0, vth=1, bias_mant=0,
                      bias_exp=0)


# --- multi-compartment: the join equations of the module docstring ------------

def _two_compartment_reference(a_dend: np.ndarray, a_soma: np.ndarray, join: str,
                               dend: loihi.Compartment, soma: loihi.Compartment) -> tuple:
    """Plain-Python evaluation of the documented equations (one neuron)."""
    ud = vd = us = vs = 0
    out_vs, out_ss = [], []
    for ad, asoma in zip(a_dend, a_soma, strict=True):
        ud = _trunc0(ud * (4096 - dend.du - 1)) + (int(ad) << 6)
        vd = _trunc0(vd * (4096 - dend.dv)) + ud
        sd = vd > dend.vth << 6
        vd = 0 if sd else vd
        us = _trunc0(us * (4096 - soma.du - 1)) + (int(asoma) << 6)
        joined = {"ADD": us + vd, "MAX": max(us, vd), "MIN": min(us, vd),
                  "PASS": us if sd else 0, "BLOCK": 0 if sd else us}[join]
        vs = _trunc0(vs * (4096 - soma.dv)) + joined
        ss = vs > soma.vth << 6
        vs = 0 if ss else vs
        out_vs.append(vs)
        out_ss.append(ss)
    return np.array(out_vs), np.array(out_ss)


@pytest.mark.parametrize("join", loihi.JOIN_OPS)
def test_two_compartment_joins_follow_equations(join: str) -> None:
    rng = np.random.default_rng(5)
    steps = 300
    a = rng.integers(-20, 60, (steps, 3, 2))
    dend = loihi.Compartment(du=3000, dv=300, vth=400, parent=1)
    soma = loihi.Compartment(du=2000, dv=200, vth=900, join=join)
    _, v, s = loihi.run_multicompartment(a, [dend, soma])
    for n in range(3):
        ref_v, ref_s = _two_compartment_reference(a[:, n, 0], a[:, n, 1], join, dend, soma)
        assert np.array_equal(v[:, n, 1], ref_v)
        assert np.array_equal(s[:, n, 1], ref_s)
    assert s[:, :, 0].any()  # the dendrite spikes, so PASS/BLOCK gate something


def test_add_join_sums_a_passive_dendrite() -> None:
    # Passive dendrite (no leak, never spikes) integrates 64 a per step; the soma
    # (no own input, no leak) adds the dendrite's v every step: a triangular sum.
    a = np.zeros((10, 1, 2), dtype=int)
    a[:, 0, 0] = 1
    comps = [loihi.Compartment(du=4095, dv=0, vth=2 ** 17 - 1, parent=1),
             loihi.Compartment(du=4095, dv=0, vth=2 ** 17 - 1, join="ADD")]
    _, v, _ = loihi.run_multicompartment(a, comps)
    t = np.arange(1, 11)
    assert np.array_equal(v[:, 0, 0], 64 * t)
    assert np.array_equal(v[:, 0, 1], 64 * t * (t + 1) // 2)


def test_single_compartment_tree_equals_run_lif() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(-50, 80, (200, 4))
    comp = loihi.Compartment(du=100, dv=300, vth=500, bias_mant=7, bias_exp=2)
    u1, v1, s1 = loihi.run_multicompartment(a[:, :, None], [comp])
    u2, v2, s2 = loihi.run_lif(a, du=100, dv=300, vth=500, bias_mant=7, bias_exp=2)
    assert np.array_equal(u1[:, :, 0], u2) and np.array_equal(v1[:, :, 0], v2)
    assert np.array_equal(s1[:, :, 0], s2)


# --- Lava's weight rules ------------------------------------------------------

def test_effective_weights_worked_values() -> None:
    # Mixed sign: clip to [-256, 255], then clear 1 LSB with an arithmetic shift.
    assert loihi.effective_weights(np.array([3, -3, 300, -300])).tolist() == \
        [2, -4, 254, -256]
    # Excitatory, 6 bits: clip to [0, 255], clear 2 LSBs.
    assert loihi.effective_weights(np.array([7, 255, 400]), 6).tolist() == [4, 252, 252]
    # Inhibitory: negate, clip, truncate, negate back.
    assert loihi.effective_weights(np.array([-7, -300]), 6).tolist() == [-4, -252]
    # Float weights are truncated toward zero first (astype(int32)).
    assert loihi.effective_weights(np.array([2.9, 1.2])).tolist() == [2, 1]


def test_dendritic_sum_exponent() -> None:
    w = np.array([[3], [-3]])
    spikes = np.array([True])
    assert loihi.dendritic_sum(w, spikes, 2).tolist() == [12, -12]
    assert loihi.dendritic_sum(w, spikes, -1).tolist() == [1, -2]  # floor


def test_quantize_weights_are_fixed_points_of_lava() -> None:
    rng = np.random.default_rng(3)
    for mixed in (True, False):
        target = rng.normal(0 if mixed else 5, 3, (20, 30)) * 50
        if not mixed:
            target = np.abs(target)
        for bits in (8, 6):
            ints, exp = loihi.quantize_weights(target, bits)
            assert np.array_equal(loihi.effective_weights(ints, bits), ints)
            assert loihi.WEIGHT_EXP_MIN <= exp <= loihi.WEIGHT_EXP_MAX
            err = np.abs(ints * 2.0 ** exp - target).max()
            assert err <= 2 ** (8 - bits + int(mixed)) * 2.0 ** exp / 2 + 1e-9


# --- mapping ------------------------------------------------------------------

def _neuron(**kw: float) -> LIFParams:
    base = {"tau_m": 20e-3, "r_m": 1e8, "v_rest": -0.065, "v_th": -0.05, "v_reset": -0.065}
    base.update(kw)
    return LIFParams(**base)


def test_decay_conversions() -> None:
    net = Network("n", (InputPopulation("x", 1),),
                  (Population("a", 2, _neuron(tau_syn_exc=5e-3, tau_syn_inh=5e-3)),
                   Population("b", 2, _neuron())),
                  (Projection("x", "a", np.ones((2, 1)) * 1e-10),
                   Projection("x", "b", np.ones((2, 1)) * 1e-3)), dt=1e-3)
    config = loihi.quantize(loihi.map(net))
    a, b = config.populations
    assert a.dv == round(4096 * (1 - math.exp(-1 / 20)))  # 199.75 -> 200
    assert a.du == round(4096 * (1 - math.exp(-1 / 5))) - 1  # Lava's offset of 1
    assert b.du == 4095  # delta synapse: u cleared every step
    real = loihi.dequantize(config)
    assert real.population("a").neuron.tau_m == pytest.approx(20e-3, rel=2e-3)
    assert real.population("a").neuron.tau_syn_exc == pytest.approx(5e-3, rel=2e-3)
    assert real.population("b").neuron.tau_syn_exc == 0.0
    assert real.population("a").neuron.v_th == pytest.approx(-0.05, abs=1e-6)


def test_map_is_pure_and_deviations_small() -> None:
    net = Network("n", (InputPopulation("x", 3),), (Population("a", 4, _neuron(), 1e-10),),
                  (Projection("x", "a", np.arange(12.0).reshape(4, 3) * 1e-4),), dt=1e-3)
    before = net.projections[0].weights.copy()
    config = loihi.quantize(loihi.map(net))
    assert np.array_equal(net.projections[0].weights, before)
    devs = {(d.where, d.parameter): d.error for d in
            parameter_deviations(net, loihi.dequantize(config))}
    assert devs[("x->a", "weights")] < 0.01
    assert devs[("a", "bias")] < 1e-3
    assert devs[("a", "tau_m")] < 2e-3


def test_rules_flag_what_loihi_cannot_do() -> None:
    net = Network("n", (InputPopulation("x", 1),),
                  (Population("a", 1, _neuron(v_reset=-0.07, t_ref=2e-3, tau_syn_exc=5e-3,
                                              tau_syn_inh=10e-3)),),
                  (Projection("x", "a", np.ones((1, 1)) * 1e-10, delay_steps=70),), dt=1e-3)
    rules = {v.rule for v in loihi.check(loihi.quantize(loihi.map(net)))}
    assert {"reset_is_rest", "no_refractory", "one_synaptic_tau", "delay_range"} <= rules


def test_network_run_equals_run_lif_with_one_step_delay() -> None:
    rng = np.random.default_rng(2)
    w = rng.uniform(0, 2e-3, (5, 4))
    net = Network("n", (InputPopulation("x", 4),), (Population("a", 5, _neuron()),),
                  (Projection("x", "a", w),), dt=1e-3)
    config = loihi.quantize(loihi.map(net))
    spikes = rng.random((200, 4)) < 0.3
    run = loihi.simulate(config, spikes, record_states=True)
    proj, pop = config.projections[0], config.populations[0]
    a_in = np.zeros((200, 5), dtype=np.int64)
    for t in range(1, 200):
        a_in[t] = loihi.dendritic_sum(proj.weights, spikes[t - 1], proj.weight_exp)
    _u, v, s = loihi.run_lif(a_in, du=pop.du, dv=pop.dv, vth=pop.vth,
                            bias_mant=pop.bias_mant, bias_exp=pop.bias_exp)
    assert np.array_equal(run.spikes["a"], s)
    assert np.array_equal(run.states["a"]["v"], v)
    assert run.events["synaptic_events"] == int((spikes[:-1].astype(int) @ (w != 0).T).sum())


def test_constant_drive_rate_matches_discrete_theory_and_golden() -> None:
    # Uncoupled neurons with bias b per step, no leak of u: v_n = v_inf (1 - a^n)
    # with a = (4096 - dv)/4096 and v_inf = b / (1 - a); a spike at the first n
    # with v_n > 64 vth, then v = 0: the ISI is that n (in steps).
    from lifhw.golden.fi import lif_rate

    neuron = _neuron(tau_m=20e-3)
    currents = np.linspace(0.2e-9, 0.6e-9, 5)
    net = Network("n", (InputPopulation("x", 1),), (Population("a", 5, neuron, currents),),
                  (), dt=1e-4)
    config = loihi.quantize(loihi.map(net))
    pop = config.populations[0]
    steps = 20000
    run = loihi.simulate(config, np.zeros((steps, 1), dtype=bool))
    decay = (4096 - pop.dv) / 4096
    bias = loihi.effective_bias(pop.bias_mant, pop.bias_exp).astype(float)
    v_inf = bias / (1 - decay)
    isi = np.ceil(np.log(1 - 64 * pop.vth / v_inf) / np.log(decay))
    # Exactly one step off at most (integer truncation of v near threshold).
    assert np.all(np.abs(run.spike_counts("a") - steps // isi) <= steps // isi / isi + 1)
    # And the float neuron: within the rounding of dv (2 % at dt = 0.1 ms).
    expected = np.array([lif_rate(i, **neuron.as_kwargs()) for i in currents])
    assert run.rates_hz("a") == pytest.approx(expected, rel=0.05)


def test_resources_and_energy() -> None:
    net = Network("n", (InputPopulation("x", 1),), (Population("a", 1500, _neuron()),),
                  (Projection("x", "a", np.ones((1500, 1)) * 1e-3),), dt=1e-3)
    config = loihi.quantize(loihi.map(net))
    res = loihi.resources(config)
    assert res.cores_used == 2 and res.neurons_used == 1500 and res.synapses_used == 1500
    run = loihi.simulate(config, np.ones((10, 1), dtype=bool))
    est = loihi.energy(config, run)
    by_event = {t.event: t for t in est.terms}
    assert by_event["synaptic_events"].count == 1500 * 9
    assert est.total_j == pytest.approx(sum(t.count * t.joules_each for t in est.terms))
    assert all("Davies" in t.source for t in est.terms)


@pytest.mark.parametrize("bits", [8, 6])
def test_auto_vth_fits_large_weights_and_bias(bits: int) -> None:
    # A weight of twice the threshold swing and a bias of 3x rheobase must both fit
    # their mantissa/exponent ranges without clipping.
    neuron = _neuron()
    net = Network("n", (InputPopulation("x", 2),),
                  (Population("a", 2, neuron, 3 * neuron.rheobase),),
                  (Projection("x", "a", np.array([[30e-3, -10e-3], [1e-3, 0.0]])),), dt=1e-3)
    config = loihi.quantize(loihi.map(net, num_weight_bits=bits))
    assert not [v for v in loihi.check(config) if v.rule in ("weight_range", "bias_range")]
    devs = {(d.where, d.parameter): d.error for d in
            parameter_deviations(net, loihi.dequantize(config))}
    assert devs[("x->a", "weights")] < 2 ** (8 - bits) / 100
    assert devs[("a", "bias")] < 1e-3


def test_no_leak_neuron_keeps_bias_and_current_weights() -> None:
    # tau_m = 100 s: dv rounds to 0 (a perfect integrator); bias and current
    # weights must still dequantise through C, not through r_m.
    neuron = _neuron(tau_m=100.0, r_m=1e11, tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    net = Network("n", (InputPopulation("x", 1),), (Population("a", 1, neuron, 2e-12),),
                  (Projection("x", "a", np.array([[1e-11]])),), dt=1e-3)
    config = loihi.quantize(loihi.map(net))
    assert config.populations[0].dv == 0
    devs = {(d.where, d.parameter): d.error for d in
            parameter_deviations(net, loihi.dequantize(config))}
    assert devs[("a", "bias")] < 1e-3
    assert devs[("x->a", "weights")] < 1e-2


@pytest.mark.parametrize("tau_syn", [0.0, 5e-3])
def test_integer_trajectory_equals_golden_on_realised_parameters(tau_syn: float) -> None:
    # With the weight gains of the module docstring the integer recursion is the
    # golden model's exact recursion on the realised (dequantised) parameters,
    # up to integer rounding: compare the sampled membranes below threshold.
    from lifhw.golden.network import simulate_network

    rng = np.random.default_rng(8)
    neuron = _neuron(v_th=0.0, tau_syn_exc=tau_syn, tau_syn_inh=tau_syn)  # never reached
    scale = 1e-3 if tau_syn == 0 else 1e-10
    net = Network("n", (InputPopulation("x", 6),),
                  (Population("a", 4, neuron, rng.uniform(0, 1e-10, 4)),),
                  (Projection("x", "a", rng.uniform(-1, 2, (4, 6)) * scale),), dt=1e-3)
    spikes = rng.random((400, 6)) < 0.1
    config = loihi.quantize(loihi.map(net))
    chip = loihi.simulate(config, spikes, record_states=True)
    realised = loihi.dequantize(config)
    golden = simulate_network(realised, spikes, record_v=True)
    pop = config.populations[0]
    v_chip = neuron.v_rest + chip.states["a"]["v"] * pop.v_lsb
    swing = neuron.v_th - neuron.v_rest
    assert not chip.spikes["a"].any()
    assert np.abs(v_chip - golden.states["a"]["v"]).max() < 1e-4 * swing
    # And the swing is large: the comparison is not trivially small.
    assert np.abs(golden.states["a"]["v"] - neuron.v_rest).max() > 0.05 * swing


def test_refractory_extension_adds_dead_steps() -> None:
    # map(refractory=True): after a spike v is held at 0 for round(t_ref/dt) steps,
    # so the ISI is those steps plus the free integration time of the discrete
    # theory (see the constant-drive test); the rate then follows the f-I curve
    # with t_ref.
    from lifhw.golden.fi import lif_rate

    neuron = _neuron(t_ref=2e-3)
    currents = np.array([0.25e-9, 0.5e-9])
    net = Network("n", (InputPopulation("x", 1),), (Population("a", 2, neuron, currents),),
                  (), dt=1e-4)
    plain = loihi.quantize(loihi.map(net))
    config = loihi.quantize(loihi.map(net, refractory=True))
    pop = config.populations[0]
    assert pop.refractory_steps == 20 and plain.populations[0].refractory_steps == 0
    assert "no_refractory" not in {v.rule for v in loihi.check(config)}
    assert "no_refractory" in {v.rule for v in loihi.check(plain)}
    run = loihi.simulate(config, np.zeros((20000, 1), dtype=bool))
    decay = (4096 - pop.dv) / 4096
    v_inf = loihi.effective_bias(pop.bias_mant, pop.bias_exp) / (1 - decay)
    free = np.ceil(np.log(1 - 64 * pop.vth / v_inf) / np.log(decay))
    for n in range(2):
        isi = np.diff(np.flatnonzero(run.spikes["a"][:, n]))
        assert np.all(np.abs(isi - (free[n] + pop.refractory_steps)) <= 1)
    expected = np.array([lif_rate(i, **neuron.as_kwargs()) for i in currents])
    assert run.rates_hz("a") == pytest.approx(expected, rel=0.05)
    assert loihi.dequantize(config).population("a").neuron.t_ref == pytest.approx(2e-3)


def test_options_for_drive_cap_vth_below_the_wrap_of_u() -> None:
    # One population, v_th - v_rest = 15 mV, largest per-step input 1 V: u = a_in << 6
    # with a_in = d vth / 15 mV must stay within half of the 24-bit range (2^22):
    # vth <= 2^23 * 0.015 / (2 * 64 * 1.0) = 983.04 -> 983.
    net = Network("w", (InputPopulation("x", 2),), (Population("a", 2, _neuron()),),
                  (Projection("x", "a", np.full((2, 2), 1e-3)),), dt=1e-3)
    default = int(loihi.map(net).populations["a"]["vth"])
    assert default > 983
    assert loihi.options_for_drive(net, {"a": 1.0}) == {"vth": 983}
    a_in = 1.0 * 983 / 0.015
    assert a_in * 2 ** loihi.ACT_SHIFT <= 2 ** 22 < (a_in + 1.0 / 0.015) * 2 ** loihi.ACT_SHIFT
    # No drive, or a drive the default already tolerates: the mapper's default.
    assert loihi.options_for_drive(net, {"a": 0.0}) == {}
    assert loihi.options_for_drive(net, {}) == {}
    assert loihi.options_for_drive(net, {"a": 1e-9}) == {}
