"""Characterisation maths without a simulator: tanh fit, threshold solving, the
characterisation netlists (generic through the node contract)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lifhw.analog import characterise as ch
from lifhw.golden.ota import OTANeuron, ota_isi
from lifhw.params import load

ROOT = Path(__file__).resolve().parents[1]
U_T = 1.380649e-23 * 300.15 / 1.602176634e-19


def test_fit_tanh_recovers_parameters() -> None:
    v = np.linspace(0.38, 0.82, 121)
    rng = np.random.default_rng(1)
    ib, kappa, ios = 7.3e-12, 0.63, 0.21e-12
    current = ib * np.tanh(kappa * (v - 0.6) / (2 * U_T)) + ios
    noisy = current + rng.normal(0, 1e-16, len(v))
    fit = ch.fit_tanh(v, noisy, 0.6, U_T)
    assert fit.bias_current == pytest.approx(ib, rel=1e-3)
    assert fit.kappa == pytest.approx(kappa, rel=1e-3)
    assert fit.offset_current == pytest.approx(ios, abs=1e-15)
    assert fit.g_m == pytest.approx(kappa * ib / (2 * U_T), rel=2e-3)
    assert fit.rms_residual < 3e-16


def test_solve_threshold_inverts_the_isi() -> None:
    neuron = OTANeuron(capacitance=1e-12, bias_current=5e-12, kappa=0.7, v_rest=0.6,
                       v_th=0.65, v_reset=0.6, t_ref=2e-3)
    for v_true in (0.62, 0.647, 0.66):
        isi = ota_isi(20e-12, neuron.replace(v_th=v_true))
        assert ch.solve_threshold(isi, 20e-12, neuron) == pytest.approx(v_true, abs=1e-8)
    # An ISI shorter than the refractory time cannot be matched.
    assert math.isnan(ch.solve_threshold(1e-3, 20e-12, neuron))


def test_transfer_netlist_forces_vm_and_sweeps() -> None:
    pf = load(ROOT / "circuits" / "ota_lif_behavioral.toml")
    text = ch.transfer_netlist(pf.name, pf.circuit, 0.4, 0.8, points=41)
    lines = text.splitlines()
    assert "VFORCE vm 0 DC 0.4" in lines
    assert not any(line.startswith("IIN") for line in lines)
    assert ".dc VFORCE 0.4 0.8 0.01" in lines
    assert ".save i(VFORCE)" in lines
    assert not any(line.startswith(".tran") for line in lines)
    # Spiking disabled: the comparator term is gone from the latch.
    assert not any("v(vm)-{vth}" in line for line in lines)


def test_characterisation_builds_calibrated_models() -> None:
    pf = load(ROOT / "circuits" / "ota_lif_behavioral.toml")
    result = ch.Characterisation(
        topology="behavioral", bias_current_a=5.1e-12, kappa=0.69, offset_current_a=1e-14,
        g_m_s=0.69 * 5.1e-12 / (2 * U_T), tau_s=0.015, capacitance_f=1.0e-12,
        v_threshold_eff_v=0.648, t_ref_s=2.01e-3, fit_rms_a=0.0, temperature_k=300.15)
    neuron = result.neuron(pf.circuit)
    assert (neuron.v_th, neuron.t_ref, neuron.kappa) == (0.648, 2.01e-3, 0.69)
    assert result.neuron(pf.circuit, calibrated_threshold=False).v_th == 0.65
    lif = result.lif(pf.circuit)
    assert lif.tau_m == 0.015 and lif.r_m == pytest.approx(1 / result.g_m_s)
    assert result.summary()["kappa"] == 0.69


def test_topology_characterisers_are_registered() -> None:
    from lifhw.analog import sky130
    from lifhw.analog.topology import get_topology

    assert get_topology("sky130").characterise is sky130.characterise
    assert callable(get_topology("sky130").characterise)
    assert get_topology("behavioral").characterise is None  # uses the generic characterise()


def test_fit_exponential_recovers_a_relaxation() -> None:
    # Closed form v(t) = v_inf + (v_0 - v_inf) exp(-t / tau), sampled like a trace.
    t = np.linspace(0.0, 40e-3, 400)
    v = 0.68 + (0.6 - 0.68) * np.exp(-t / 12.5e-3)
    free = ch.fit_exponential(t, v)
    assert free.tau == pytest.approx(12.5e-3, rel=1e-6)
    assert (free.v_start, free.v_final) == pytest.approx((0.6, 0.68), abs=1e-9)
    fixed = ch.fit_exponential(t, v, v_start=0.6, tau_guess=5e-3)
    assert fixed.tau == pytest.approx(12.5e-3, rel=1e-6)
    with pytest.raises(ValueError):
        ch.fit_exponential(t, np.full_like(t, np.nan))
