"""The golden LIF core against closed forms and relations that must hold."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from lifhw.core import LIFParams
from lifhw.golden import (
    lif_current_for_rate,
    lif_isi,
    lif_rate,
    population_spike_counts,
    simulate,
    simulate_population,
)
from lifhw.stimulus import Stimulus

P = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065, t_ref=0.002)
RHEOBASE = (P.v_th - P.v_rest) / P.r_m  # 150 pA


def _textbook_isi(i: float, p: LIFParams) -> float:
    # T = t_ref + tau ln((R I + V_L - V_r) / (R I + V_L - V_th)), written independently.
    return p.t_ref + p.tau_m * math.log((p.r_m * i + p.v_rest - p.v_reset)
                                        / (p.r_m * i + p.v_rest - p.v_th))


@pytest.mark.parametrize("current", [151e-12, 160e-12, 250e-12, 1e-9, 10e-9])
def test_isi_formula(current: float) -> None:
    assert lif_isi(current, **P.as_kwargs()) == pytest.approx(_textbook_isi(current, P),
                                                              rel=1e-12)
    assert lif_rate(current, **P.as_kwargs()) == pytest.approx(1 / _textbook_isi(current, P),
                                                               rel=1e-12)


@pytest.mark.parametrize("current", [160e-12, 1e-9])
def test_closed_forms_take_the_lifparams_itself(current: float) -> None:
    """lif_isi(i, params) is the textbook ISI, as the keyword form is."""
    assert lif_isi(current, P) == pytest.approx(_textbook_isi(current, P), rel=1e-12)
    assert lif_rate(current, P) == lif_rate(current, **P.as_kwargs())
    rate = 1 / _textbook_isi(current, P)
    assert lif_current_for_rate(rate, P) == pytest.approx(current, rel=1e-7)


def test_closed_forms_refuse_a_neuron_given_twice_or_half() -> None:
    with pytest.raises(TypeError, match="not both"):
        lif_rate(1e-9, P, tau_m=0.01)
    with pytest.raises(TypeError, match="missing neuron values: r_m"):
        lif_rate(1e-9, tau_m=0.02, v_rest=-0.065, v_th=-0.05, v_reset=-0.065)


def test_one_threshold_check_everywhere() -> None:
    """v_th <= v_reset gives the same ParamError from every entry point."""
    from lifhw.errors import ParamError
    from lifhw.golden.ota import OTANeuron
    from lifhw.golden.stochastic import siegert_rate
    from lifhw.params import load_mapping

    bad = {"tau_m": 0.02, "r_m": 1e8, "v_rest": -0.065, "v_th": -0.07, "v_reset": -0.065}
    message = r"v_th \(-70 mV\) must be above v_reset \(-65 mV\)"
    with pytest.raises(ParamError, match=message):
        LIFParams(**bad)
    with pytest.raises(ParamError, match=message):
        lif_rate(1e-9, **bad)
    with pytest.raises(ParamError, match=message):
        siegert_rate(-0.05, 0.005, tau_m=0.02, v_th=-0.07, v_reset=-0.065)
    with pytest.raises(ParamError, match=message):
        OTANeuron(capacitance=1e-12, bias_current=1e-9, kappa=0.7, v_rest=0.2, v_th=-0.07,
                  v_reset=-0.065)
    with pytest.raises(ParamError, match="neuron.v_th: " + message):
        load_mapping({"name": "x", "neuron": {"tau_m": "20 ms", "r_m": "100 MOhm",
                                              "v_rest": "-65 mV", "v_th": "-70 mV",
                                              "v_reset": "-65 mV"}})


def test_stochastic_rates_take_the_lifparams_itself() -> None:
    from lifhw.golden.stochastic import siegert_rate

    kwargs = {"tau_m": P.tau_m, "v_th": P.v_th, "v_reset": P.v_reset, "t_ref": P.t_ref}
    assert siegert_rate(-0.052, 0.004, P) == siegert_rate(-0.052, 0.004, **kwargs)


@settings(max_examples=40, deadline=None)
@given(current=st.floats(min_value=152e-12, max_value=5e-9),
       dt=st.sampled_from([1e-5, 1e-4, 3e-4, 1e-3]))
def test_precise_isi_independent_of_step(current: float, dt: float) -> None:
    stim = Stimulus(kind="constant", amplitude=current, t_stop=0.3, dt=dt)
    trace = simulate(P, stim)
    isi = np.diff(trace.spikes())
    assert len(isi) >= 1
    np.testing.assert_allclose(isi, _textbook_isi(current, P), rtol=1e-9)
    # First spike: from v_rest (= v_reset here) the time to threshold without refractoriness.
    assert trace.spikes()[0] == pytest.approx(_textbook_isi(current, P) - P.t_ref, rel=1e-9)


@pytest.mark.parametrize("dt", [1e-4, 5e-4])
def test_grid_isi_convention(dt: float) -> None:
    current = 300e-12
    trace = simulate(P, Stimulus(kind="constant", amplitude=current, t_stop=0.5, dt=dt),
                     precise=False)
    free = _textbook_isi(current, P) - P.t_ref
    n_ref = round(P.t_ref / dt)
    expected = (n_ref + math.ceil(free / dt - 1e-9)) * dt
    np.testing.assert_allclose(np.diff(trace.spikes()), expected, rtol=1e-9)
    # Grid spikes lie on the grid.
    np.testing.assert_allclose(trace.spikes() / dt, np.round(trace.spikes() / dt), atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(current=st.floats(min_value=-1e-9, max_value=RHEOBASE))
def test_no_spike_at_or_below_rheobase(current: float) -> None:
    assert lif_rate(current, **P.as_kwargs()) == 0.0
    trace = simulate(P, Stimulus(kind="constant", amplitude=current, t_stop=0.5, dt=1e-3))
    assert len(trace.spikes()) == 0
    assert trace.membrane.max() < P.v_th


@settings(max_examples=100, deadline=None)
@given(current=st.floats(min_value=150.001e-12, max_value=1e-6))
def test_inverse_fi(current: float) -> None:
    rate = lif_rate(current, **P.as_kwargs())
    assert lif_current_for_rate(rate, **P.as_kwargs()) == pytest.approx(current, rel=1e-7)


def test_inverse_fi_limits() -> None:
    assert lif_current_for_rate(0.0, **P.as_kwargs()) == pytest.approx(RHEOBASE)
    with pytest.raises(ValueError, match="1/t_ref"):
        lif_current_for_rate(600.0, **P.as_kwargs())
    with pytest.raises(ValueError):
        lif_current_for_rate(-1.0, **P.as_kwargs())


def test_rate_monotone_and_bounded() -> None:
    currents = np.linspace(0, 50e-9, 20001)
    rates = lif_rate(currents, **P.as_kwargs())
    assert np.all(np.diff(rates) >= 0)
    assert rates.max() < 1 / P.t_ref


def test_epsp_amplitude_and_decay() -> None:
    w = 2e-3  # a 2 mV EPSP at 10 ms, then an IPSP of -1 mV at 60 ms
    stim = Stimulus(kind="spikes", t_stop=0.12, dt=1e-4, spike_times=(0.01, 0.06),
                    spike_weights=(w, -1e-3))
    trace = simulate(P, stim)
    t, v = trace.t, trace.membrane
    after = (t > 0.01) & (t < 0.06)
    expected = P.v_rest + w * np.exp(-(t[after] - 0.01) / P.tau_m)
    np.testing.assert_allclose(v[after], expected, atol=1e-12)
    later = t > 0.06
    expected2 = (P.v_rest + w * np.exp(-(t[later] - 0.01) / P.tau_m)
                 - 1e-3 * np.exp(-(t[later] - 0.06) / P.tau_m))
    np.testing.assert_allclose(v[later], expected2, atol=1e-12)
    assert len(trace.spikes()) == 0


def test_current_synapse_psp_closed_form() -> None:
    tau_s = 5e-3
    p = P.replace(tau_syn_exc=tau_s)
    w = 100e-12  # 100 pA current jump at 10 ms
    trace = simulate(p, Stimulus(kind="spikes", t_stop=0.1, dt=1e-4, spike_times=(0.01,),
                                 spike_weights=(w,)))
    s = trace.t[trace.t > 0.01] - 0.01
    # Particular solution of tau_m V' = -(V - E) + R w exp(-t/tau_s):
    expected = P.v_rest + P.r_m * w * tau_s / (tau_s - P.tau_m) * (
        np.exp(-s / tau_s) - np.exp(-s / P.tau_m))
    np.testing.assert_allclose(trace.membrane[trace.t > 0.01], expected, atol=1e-12)


def test_current_synapse_crossing_time_root() -> None:
    tau_s = 5e-3
    p = P.replace(tau_syn_exc=tau_s, t_ref=0.0)
    w = 2e-9
    trace = simulate(p, Stimulus(kind="spikes", t_stop=0.05, dt=1e-3, spike_times=(0.01,),
                                 spike_weights=(w,)))
    # The current is strong enough to fire twice (t_ref = 0): check both crossings
    # against roots of the analytic membrane (v_reset == v_rest, so each episode
    # starts at rest with the synaptic current present at that moment).

    def v_minus_th(s: float, i0: float) -> float:
        return (P.r_m * i0 * tau_s / (tau_s - P.tau_m) * (math.exp(-s / tau_s)
                - math.exp(-s / P.tau_m)) + P.v_rest - P.v_th)

    peak = P.tau_m * tau_s / (P.tau_m - tau_s) * math.log(P.tau_m / tau_s)
    first = brentq(v_minus_th, 0.0, peak, args=(w,), xtol=1e-16)
    i1 = w * math.exp(-first / tau_s)
    second = brentq(v_minus_th, 0.0, peak, args=(i1,), xtol=1e-16)
    np.testing.assert_allclose(trace.spikes(), [0.01 + first, 0.01 + first + second],
                               atol=1e-12)


def test_refractory_clamp_and_discarded_input() -> None:
    # A huge current: after each spike V must sit at v_reset for exactly t_ref.
    current = 50e-9
    trace = simulate(P, Stimulus(kind="constant", amplitude=current, t_stop=0.05, dt=1e-5))
    spikes = trace.spikes()
    for s in spikes[:-1]:
        inside = (trace.t > s + 1e-9) & (trace.t < s + P.t_ref - 1e-9)
        assert inside.sum() > 100
        np.testing.assert_array_equal(trace.membrane[inside], P.v_reset)
    # An input spike during the refractory period is discarded.
    strong = Stimulus(kind="spikes", t_stop=0.05, dt=1e-4, spike_times=(0.01, 0.0105),
                      spike_weights=(0.02, 0.005))
    t2 = simulate(P, strong)
    assert t2.spikes() == pytest.approx([0.01])
    after = t2.t > 0.0125
    np.testing.assert_allclose(t2.membrane[after], P.v_reset, atol=1e-15)


def test_population_counts_match_closed_form() -> None:
    rng = np.random.default_rng(1)
    currents = rng.uniform(0.0, 2e-9, 3000)
    t_stop = 1.0
    counts = simulate_population(P, currents, t_stop=t_stop, dt=1e-4, precise=True)
    first = lif_isi(currents, **P.as_kwargs()) - P.t_ref  # from v_rest == v_reset
    isi = lif_isi(currents, **P.as_kwargs())
    with np.errstate(invalid="ignore"):
        expected = np.where(np.isfinite(isi), np.floor((t_stop - first) / isi) + 1, 0)
    expected = np.where(first > t_stop, 0, expected)
    np.testing.assert_array_equal(counts.spike_counts(), expected.astype(int))


def test_fast_path_equals_general_kernel() -> None:
    rng = np.random.default_rng(2)
    currents = rng.uniform(0.0, 1e-9, 2000)
    fast = population_spike_counts(P, currents, t_stop=0.5, dt=1e-4)
    general = simulate_population(P, currents, t_stop=0.5, dt=1e-4).spike_counts()
    np.testing.assert_array_equal(fast, general)


def test_population_per_step_inputs_match_single_neuron() -> None:
    stim = Stimulus(kind="pulses", amplitude=400e-12, offset=50e-12, period=0.04,
                    width=0.015, t_start=0.01, t_stop=0.3, dt=1e-4)
    single = simulate(P, stim, precise=False)
    pop = simulate_population(P, np.zeros(3), t_stop=0.3, dt=1e-4,
                              i_steps=stim.sample(1e-4), record_v=True)
    for n in range(3):
        np.testing.assert_allclose(pop.spikes(n), single.spikes(), atol=1e-12)
    np.testing.assert_allclose(pop.v[1], single.membrane, atol=1e-12)


def test_stimulus_from_csv(tmp_path) -> None:
    csv = tmp_path / "drive.csv"
    csv.write_text("time_s,current_a\n0,0\n0.05,3e-10\n")
    from lifhw.params import load_mapping

    design = load_mapping({"name": "f", "neuron": {"tau_m": "20 ms", "r_m": "100 MOhm",
                           "v_rest": -0.065, "v_th": -0.05, "v_reset": -0.065},
                           "stimulus": {"kind": "file", "path": "drive.csv",
                                        "t_stop": "0.3 s"}}, base_dir=tmp_path)
    trace = simulate(design.lif, design.stimulus)
    first = 0.05 + P.tau_m * math.log((3e-10 * P.r_m) / (3e-10 * P.r_m - 0.015))
    assert trace.spikes()[0] == pytest.approx(first, rel=1e-9)


def test_chunked_run_equals_single_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # Long runs are split into kernel calls that carry the full state (V, synaptic
    # currents, refractory time) over; the split must not change a single bit.
    import lifhw.golden.lif as lif_module

    p = P.replace(tau_syn_exc=5e-3, tau_syn_inh=10e-3)
    stim = Stimulus(kind="poisson", rate=900.0, weight=8e-11, offset=1.2e-10, t_stop=0.6,
                    dt=1e-4, seed=3)
    whole = simulate(p, stim)
    monkeypatch.setattr(lif_module, "_CHUNK", 777)
    chunked = simulate(p, stim, progress=False)
    assert len(whole.spikes()) > 5
    np.testing.assert_array_equal(whole.spike_times, chunked.spike_times)
    np.testing.assert_array_equal(whole.v, chunked.v)
