"""Opsin kernel: a refractory period shorter than the step loses no time.

References: the closed-form LIF interval under a constant conductance
``T = t_ref + tau_eff ln((V_inf - V_r)/(V_inf - V_th))`` (``conductance_rate`` is the
same formula; here it is written out again) and a 1e-7 s run for the desensitising case.
"""

from __future__ import annotations

import math

import numpy as np

from lifhw.core import LIFParams
from lifhw.golden.biophys import optogenetic_desensitisation


def _closed_form_isi(p: LIFParams, g: float, e: float) -> float:
    g_tot = p.g_l + g
    v_inf = (p.g_l * p.v_rest + g * e) / g_tot
    tau_eff = p.c_m / g_tot
    return p.t_ref + tau_eff * math.log((v_inf - p.v_reset) / (v_inf - p.v_th))


def test_short_refractory_period_is_exact_under_constant_light() -> None:
    # t_ref = 0.2 ms < dt = 1 ms: the old kernel dropped the rest of the spike's step
    # (ISI +0.085 ms here); the constant conductance makes every step exact.
    p = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065,
                  t_ref=0.2e-3)
    expected = _closed_form_isi(p, 5e-9, 0.0)
    for dt in (1e-3, 5e-4, 1e-4):
        run = optogenetic_desensitisation(p, 0.0, 1.0, t_stop=1.0, dt=dt, g_floor=5e-9)
        np.testing.assert_allclose(np.diff(run.spike_times), expected, rtol=1e-10)


def test_several_spikes_in_one_step() -> None:
    # ISI ~1.08 ms with a 5 ms step and no refractory period.
    p = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065, t_ref=0.0)
    expected = _closed_form_isi(p, 50e-9, 0.0)
    assert expected < 5e-3 / 4
    run = optogenetic_desensitisation(p, 0.0, 1.0, t_stop=0.1, dt=5e-3, g_floor=50e-9)
    assert run.spike_times.size == math.floor(0.1 / expected)  # one per interval
    np.testing.assert_allclose(np.diff(run.spike_times), expected, rtol=1e-10)


def test_desensitising_light_converges_to_the_fine_step_reference() -> None:
    p = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065,
                  t_ref=0.3e-3)
    reference = optogenetic_desensitisation(p, 8e-9, 0.2, t_stop=0.5, dt=1e-7).spike_times
    for dt, tol in ((1e-3, 5e-5), (5e-4, 2e-5)):
        coarse = optogenetic_desensitisation(p, 8e-9, 0.2, t_stop=0.5, dt=dt).spike_times
        assert coarse.size == reference.size
        assert np.max(np.abs(coarse - reference)) < tol
