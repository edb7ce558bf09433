"""Golden tanh-leak OTA neuron against closed forms and the linear LIF.

The quadrature ISI is checked against the antiderivative

    integral dx / (A - B tanh x) = (A x + B ln(A cosh x - B sinh x)) / (A^2 - B^2),

(differentiate the right side: (A^2 - B^2) cosh x / (A cosh x - B sinh x)), an
implementation independent of :func:`lifhw.golden.ota.ota_isi`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lifhw.golden.fi import lif_isi
from lifhw.golden.ota import OTANeuron, linear_range_report, ota_isi, ota_rate, simulate
from lifhw.stimulus import Stimulus

U_T_27C = 1.380649e-23 * 300.15 / 1.602176634e-19


def _neuron(**changes: float) -> OTANeuron:
    base = OTANeuron(capacitance=1e-12, bias_current=5e-12, kappa=0.7, v_rest=0.6,
                     v_th=0.65, v_reset=0.6, t_ref=2e-3)
    return base.replace(**changes) if changes else base


def closed_form_isi(current: float, n: OTANeuron) -> float:
    a = n.kappa / (2 * U_T_27C)  # x = a (v - V_L)
    big_a, big_b = current - n.offset_current, n.bias_current

    def anti(x: float) -> float:
        return (big_a * x + big_b * math.log(big_a * math.cosh(x) - big_b * math.sinh(x))) / (
            big_a**2 - big_b**2)

    x0, x1 = a * (n.v_reset - n.v_rest), a * (n.v_th - n.v_rest)
    return n.t_ref + n.capacitance / a * (anti(x1) - anti(x0))


@pytest.mark.parametrize("multiple", [1.001, 1.05, 1.5, 3.0, 20.0, 200.0])
def test_quadrature_matches_closed_form(multiple: float) -> None:
    n = _neuron()
    current = multiple * n.rheobase
    assert ota_isi(current, n) == pytest.approx(closed_form_isi(current, n), rel=1e-9)


def test_quadrature_with_offset_and_reset_below_rest() -> None:
    n = _neuron(offset_current=0.3e-12, v_reset=0.55)
    current = 4 * n.rheobase
    assert ota_isi(current, n) == pytest.approx(closed_form_isi(current, n), rel=1e-9)


def test_nominal_quantities() -> None:
    n = _neuron()
    g_m = 0.7 * 5e-12 / (2 * U_T_27C)
    assert n.g_m == pytest.approx(g_m, rel=1e-12)
    assert n.tau_m == pytest.approx(1e-12 / g_m, rel=1e-12)
    assert n.linear_range == pytest.approx(2 * U_T_27C / 0.7, rel=1e-12)
    assert n.rheobase == pytest.approx(5e-12 * math.tanh(0.7 * 0.05 / (2 * U_T_27C)))


def test_below_rheobase_never_fires() -> None:
    n = _neuron()
    assert math.isinf(ota_isi(0.999 * n.rheobase, n))
    assert ota_rate(0.999 * n.rheobase, n) == 0.0
    trace = simulate(n, Stimulus(kind="constant", amplitude=0.99 * n.rheobase, t_stop=0.3))
    assert len(trace.spike_times) == 0
    # It settles where the leak equals the input (atanh of the tanh model).
    v_inf = 0.6 + n.linear_range * math.atanh(0.99 * n.rheobase / 5e-12)
    assert trace.membrane[-1] == pytest.approx(v_inf, abs=2e-5)


def test_doubling_c_doubles_isi_minus_tref_exactly() -> None:
    n = _neuron()
    for current in (4e-12, 20e-12, 60e-12):
        one = ota_isi(current, n) - n.t_ref
        two = ota_isi(current, n.replace(capacitance=2e-12)) - n.t_ref
        assert two == pytest.approx(2 * one, rel=1e-10)


def test_doubling_ib_halves_tau() -> None:
    n = _neuron()
    assert n.replace(bias_current=10e-12).tau_m == pytest.approx(n.tau_m / 2, rel=1e-12)


def test_fi_monotone_and_saturating() -> None:
    n = _neuron()
    currents = np.linspace(0, 100e-12, 400)
    rates = ota_rate(currents, n)
    assert np.all(np.diff(rates) >= 0)
    assert rates[-1] < 1 / n.t_ref


def test_small_excursion_reduces_to_the_linear_lif() -> None:
    # Threshold 0.5 mV above rest: tanh is linear to 1e-5 there.
    n = _neuron(v_th=0.6005)
    lif = n.lif()
    for multiple in (1.2, 3.0, 10.0):
        current = multiple * lif.rheobase
        assert ota_isi(current, n) == pytest.approx(lif_isi(current, **lif.as_kwargs()),
                                                    rel=1e-4)


def test_event_simulation_matches_quadrature() -> None:
    n = _neuron()
    for current in (3.5e-12, 20e-12):
        isi = ota_isi(current, n)
        trace = simulate(n, Stimulus(kind="constant", amplitude=current, t_stop=6.5 * isi,
                                     dt=1e-5))
        assert np.allclose(np.diff(trace.spike_times), isi, rtol=1e-7)
        # From rest (= reset here) the first spike comes after ISI - t_ref.
        assert trace.spike_times[0] == pytest.approx(isi - n.t_ref, rel=1e-7)
        assert trace.meta["tau_s"] == pytest.approx(n.tau_m)


def test_step_stimulus_and_refractory_clamp() -> None:
    n = _neuron()
    stim = Stimulus(kind="step", amplitude=20e-12, t_start=10e-3, t_stop=40e-3, dt=1e-5)
    trace = simulate(n, stim)
    first = trace.spike_times[0]
    assert first == pytest.approx(10e-3 + ota_isi(20e-12, n) - n.t_ref, rel=1e-7)
    during = (trace.t > first + 1e-5) & (trace.t < first + n.t_ref - 1e-5)
    assert np.all(trace.membrane[during] == n.v_reset)


def test_linear_range_report() -> None:
    inside = linear_range_report(_neuron(), 20e-12)
    assert not inside.leaves_linear_range
    x = 0.05 / inside.linear_range_v
    assert inside.leak_deficit == pytest.approx(1 - math.tanh(x) / x)
    assert inside.rheobase_tanh_a < inside.rheobase_linear_a
    assert inside.isi_ratio is not None and inside.isi_ratio < 1.0
    outside = linear_range_report(_neuron(v_th=0.75))
    assert outside.leaves_linear_range and outside.ratio == pytest.approx(
        0.15 / outside.linear_range_v)
    assert any("OUTSIDE" in line for line in outside.lines())


def test_invalid_model_values() -> None:
    from lifhw.errors import ParamError

    for bad in ({"kappa": 0.0}, {"capacitance": -1.0}, {"v_th": 0.5},
                {"offset_current": 6e-12}):
        with pytest.raises(ParamError):
            _neuron(**bad)
