"""``lifhw design`` without a simulator: the spec, its golden model, the fits, the outputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lifhw.analog import design as d
from lifhw.analog import netlist as nl
from lifhw.analog import sky130_design
from lifhw.analog.backends import SimOutput
from lifhw.errors import ParamError
from lifhw.golden.ota import OTANeuron, ota_isi
from lifhw.params import load_mapping

SPEC = {"topology": "sky130", "tau_m": "75 us", "membrane_capacitance": "1 pF",
        "v_rest": "0.6 V", "v_threshold": "0.65 V", "v_reset": "0.6 V",
        "refractory": "10 us", "max_rate": "20 kHz", "supply": "1.8 V"}


def spec_of(**changes):
    return load_mapping({"name": "fast_neuron", "design": {**SPEC, **changes}}).design


def test_spec_section_parses_units_and_defaults():
    spec = spec_of(temperature="27 degC", corners=["tt", "ss"])
    assert spec.tau_m == pytest.approx(75e-6)
    assert spec.max_rate == pytest.approx(20e3)
    assert spec.corners == ("tt", "ss")
    assert spec.temperature == pytest.approx(300.15)
    assert spec_of().corners == ("tt",)
    assert spec_of().mismatch_samples == 0


@pytest.mark.parametrize(("changes", "words"), [
    ({"tau": "75 us"}, "did you mean 'tau_m'"),
    ({"tau_m": "75 pF"}, "design.tau_m"),
    ({"corners": ["tt", "sss"]}, "did you mean 'ss'"),
    ({"max_rate": "200 kHz"}, "refractory period"),
    ({"v_threshold": "0.5 V"}, "design.v_threshold"),
    ({"topology": "sky13"}, "did you mean 'sky130'"),
])
def test_spec_errors_name_the_field(changes, words):
    with pytest.raises(ParamError, match=words.replace("(", r"\(")):
        spec_of(**changes)


def test_spec_golden_is_built_from_the_spec_alone():
    spec = spec_of()
    neuron = d.spec_neuron(spec)
    # g_m = C / tau and I_b = 2 U_T g_m / kappa with U_T = kT/q at 300.15 K (25.865 mV).
    u_t = 1.380649e-23 * 300.15 / 1.602176634e-19
    assert neuron.bias_current == pytest.approx(2 * u_t * 1e-12 / 75e-6 / 0.7, rel=1e-12)
    assert neuron.tau_m == pytest.approx(75e-6, rel=1e-12)
    assert neuron.rheobase == pytest.approx(
        neuron.bias_current * math.tanh(0.7 * 0.05 / (2 * u_t)), rel=1e-12)
    assert (neuron.v_th, neuron.v_reset) == (0.65, 0.6)
    assert neuron.t_ref == pytest.approx(10e-6, rel=1e-12)


def test_acceptance_currents_include_the_max_rate_current():
    spec = spec_of()
    currents = d.acceptance_currents(spec)
    neuron = d.spec_neuron(spec)
    assert list(currents) == ["1.5x", "3x", "10x", "max_rate"]
    assert currents["3x"] == pytest.approx(3 * neuron.rheobase)
    assert float(ota_isi(currents["max_rate"], neuron)) == pytest.approx(1 / 20e3, rel=1e-8)


def test_threshold_and_refractory_fit_recovers_a_known_neuron():
    spec_golden = d.spec_neuron(spec_of())
    truth = spec_golden.replace(v_th=0.6523, t_ref=13.7e-6)
    currents = [m * spec_golden.rheobase for m in (1.5, 3, 10, 2.7)]
    isis = [float(ota_isi(i, truth)) for i in currents]
    for dead in (None, 13.7e-6):
        v_th, t_ref = d.fit_threshold_and_refractory(spec_golden, currents, isis, dead)
        assert v_th == pytest.approx(0.6523, abs=2e-6)
        assert t_ref == pytest.approx(13.7e-6, rel=2e-3)
    # held at the direct measurement, the threshold alone is fitted
    v_th, t_ref = d.fit_threshold_and_refractory(spec_golden, currents, isis, 13.7e-6,
                                                 fixed=True)
    assert (v_th, t_ref) == (pytest.approx(0.6523, abs=2e-6), 13.7e-6)
    # a wrong direct measurement (2.7 us off) barely moves what the ISIs determine
    v_th, t_ref = d.fit_threshold_and_refractory(spec_golden, currents, isis, 11e-6)
    assert v_th == pytest.approx(0.6523, abs=0.1e-3)
    assert t_ref == pytest.approx(13.7e-6, rel=0.02)


def test_dead_time_runs_from_threshold_crossing_to_release():
    _spec, circuit = _sky130_circuit()
    t = np.linspace(0, 300e-6, 300_001)
    vm = np.full_like(t, 0.6)
    spike = np.zeros_like(t)
    # three cycles of 100 us: ramp crosses 0.65 V at 20 us, spike 23-33 us
    for start in (0.0, 100e-6, 200e-6):
        ramp = (t >= start) & (t < start + 23e-6)
        vm[ramp] = 0.6 + (t[ramp] - start) * 2.5e3
        spike[(t >= start + 23e-6) & (t < start + 33e-6)] = 1.8
    dead = d.dead_times(_output(t, vm, spike), circuit, 0.65)
    assert len(dead) == 2  # the first cycle starts from the initial condition
    assert dead == pytest.approx([13e-6, 13e-6], abs=2e-9)


def test_refractory_scale_update_solves_a_fixed_plus_inverse_pulse():
    # width = w0 + k / scale: two points give the exact scale for the target.
    w0, k = 2e-6, 6e-6
    pulses = [(1.0, w0 + k / 1.0), (1.5, w0 + k / 1.5)]
    scale = d._next_refractory_scale(pulses, 5e-6)
    assert w0 + k / scale == pytest.approx(5e-6, rel=1e-9)
    # one point: proportional
    assert d._next_refractory_scale(pulses[:1], 4e-6) == pytest.approx(8e-6 / 4e-6)


def test_leak_scale_update_follows_a_weak_power_law():
    # tau = 1e-3 * scale**-0.4 (a bias near the leakage floor): the secant hits 0.5 ms.
    def tau(scale):
        return 1e-3 * scale**-0.4

    points = [(1.0, tau(1.0)), (2.0, tau(2.0))]
    assert tau(d._next_leak_scale(points, 0.5e-3)) == pytest.approx(0.5e-3, rel=1e-9)
    # one point: tau ~ 1/scale
    assert d._next_leak_scale(points[:1], 0.5e-3) == pytest.approx(2.0)


def test_acceptance_failures_name_requirement_and_size():
    ok = {"tau": 0.01, "refractory": 0.05, "refractory_s": 0.4e-6, "threshold_v": 0.5e-3,
          "isi": {"1.5x": 0.01, "3x": -0.019}}
    assert d.acceptance_failures(ok) == []  # refractory within 0.5 us
    bad = {**ok, "tau": -0.031, "isi": {"1.5x": 0.025, "3x": 0.0}}
    failures = d.acceptance_failures(bad)
    assert any("tau off by -3.10 %" in f for f in failures)
    assert any("ISI at 1.5x off by +2.50 %" in f for f in failures)
    assert d.acceptance_failures(ok, scale=0.75) != []  # 1.9 % > 1.5 %


def _sky130_circuit(**knobs):
    spec = spec_of()
    candidate = sky130_design.DESIGN.candidates(spec)[0]
    return spec, sky130_design.DESIGN.circuit(spec, candidate, d.Knobs(**knobs), "tt", 0)


def test_sky130_knobs_reach_the_netlist_and_back():
    from lifhw.stimulus import Stimulus

    spec, circuit = _sky130_circuit(leak_scale=1.1, offset_current=-3e-11,
                                    parasitic_capacitance=5e-15, threshold_offset=-2e-3,
                                    refractory_scale=0.5, reset_offset=1e-3)
    assert sky130_design.DESIGN.knobs(circuit) == d.Knobs(
        leak_scale=1.1, offset_current=-3e-11, parasitic_capacitance=5e-15,
        threshold_offset=-2e-3, refractory_scale=0.5, reset_offset=1e-3)
    text = nl.generate("x", circuit, Stimulus(kind="constant", amplitude=1e-9, t_stop=1e-4,
                                              dt=1e-6))
    lines = text.splitlines()
    neuron = d.spec_neuron(spec)
    assert f"IBL vdd nbl DC {nl.spice_number(neuron.bias_current * 1.1)}" in lines
    assert f"IOS vm 0 DC {nl.spice_number(-3e-11)}" in lines
    assert f"CM vm 0 {nl.spice_number(1e-12 - 5e-15)}" in lines
    assert f"VTH vth 0 DC {nl.spice_number(0.648)}" in lines
    assert f"VRST vrst 0 DC {nl.spice_number(0.601)}" in lines


def test_designed_file_round_trips_through_the_loader():
    spec, circuit = _sky130_circuit(leak_scale=1.0123456789, offset_current=3.5e-11,
                                    threshold_offset=1.5e-3, refractory_scale=0.61)
    stimulus = d.stimulus_for(spec)
    text = d.circuit_toml("fast_neuron", circuit, stimulus, header=["designed"])
    import tomllib

    pf = load_mapping(tomllib.loads(text))
    assert pf.name == "fast_neuron"
    back = pf.circuit
    import dataclasses

    for f in dataclasses.fields(circuit.sky130):
        value = getattr(circuit.sky130, f.name)
        assert getattr(back.sky130, f.name) == (
            pytest.approx(value, rel=1e-10) if isinstance(value, float) else value), f.name
    # and the netlists agree
    assert nl.generate("x", back, stimulus) == nl.generate("x", circuit, stimulus)
    for key in ("membrane_capacitance", "leak_bias_current", "v_threshold", "refractory",
                "temperature"):
        assert getattr(back, key) == pytest.approx(getattr(circuit, key), rel=1e-10)
    # the stimulus is 3x the spec's rheobase
    assert pf.stimulus.amplitude == pytest.approx(3 * d.spec_neuron(spec).rheobase, rel=1e-10)
    assert pf.stimulus.kind == "step"


def test_area_counts_gates_and_capacitors():
    from lifhw.analog.devices import Device

    devices = [Device("M1", "nfet", ("a", "b", "c", "0"), model="n", w=2e-6, l=4e-6),
               Device("M2", "pfet", ("a", "b", "c", "0"), model="p", w=0.5e-6, l=0.15e-6,
                      multiplier=2),
               Device("CM", "capacitor", ("vm", "0"), value=1e-12),
               Device("CR", "mim", ("rc", "0"), model="m", w=10e-6, l=10e-6, squares=2),
               Device("IOS", "idc", ("vm", "0"), value=1e-11)]
    # 8 + 0.15 um^2 of gates; 1 pF at 2 fF/um^2 = 500 um^2; 4 plates of 100 um^2
    assert d.device_area_um2(devices) == pytest.approx(908.15)


def _output(t, vm, spike):
    return SimOutput(plotname="Transient Analysis",
                     vectors={"time": np.asarray(t), "v(vm)": np.asarray(vm),
                              "v(spike)": np.asarray(spike)})


def test_refractory_check_measures_latency_plus_pulse():
    _spec, circuit = _sky130_circuit()
    t = np.linspace(0, 100e-6, 100_001)
    vm = np.full_like(t, 0.6)
    spike = np.zeros_like(t)
    # vm crosses 0.65 V at 20 us; spike high from 23 us to 33 us: 3 us + 10 us = 13 us.
    vm[(t > 10e-6) & (t < 23e-6)] = 0.6 + (t[(t > 10e-6) & (t < 23e-6)] - 10e-6) * 5e3
    spike[(t >= 23e-6) & (t < 33e-6)] = 1.8
    line = d.refractory_check(_output(t, vm, spike), circuit)
    assert line is not None
    assert "13 us" in line and "3 us" in line and "run lifhw design" in line
    # 9.7 us in the file would be within 5 % of 10 us: a 10 us total passes
    spike[(t >= 30e-6)] = 0.0
    spike[(t >= 23e-6) & (t < 30e-6)] = 1.8
    assert d.refractory_check(_output(t, vm, spike), circuit) is None


def test_limits_refuse_a_leak_below_the_floor_with_numbers():
    spec = spec_of(tau_m="50 ms", membrane_capacitance="0.2 pF", refractory="5 ms",
                   max_rate="50 Hz")
    refused = sky130_design.DESIGN.limits(spec)
    assert len(refused) == 1
    assert "tau" in refused[0] and "0.296 pA" in refused[0]
    with pytest.raises(d.DesignInfeasible, match="junction leakage"):
        d.design(spec, corners=False, mismatch=False)


def test_spec_golden_matches_ota_neuron_isi():
    # The acceptance ISIs come from the golden quadrature, unchanged by the design code.
    spec = spec_of()
    neuron = d.spec_neuron(spec)
    reference = OTANeuron(capacitance=1e-12, bias_current=neuron.bias_current, kappa=0.7,
                          v_rest=0.6, v_th=0.65, v_reset=0.6, t_ref=10e-6)
    for i in d.acceptance_currents(spec).values():
        assert float(d.golden_isi(i, neuron)) == pytest.approx(float(ota_isi(i, reference)),
                                                         rel=1e-9)


def test_a_spec_the_topology_cannot_meet_is_refused_with_numbers(tmp_path, capsys):
    from lifhw.app.cli import main

    path = tmp_path / "too_slow.toml"
    path.write_text("\n".join([
        'name = "too_slow"', "[design]", 'topology = "sky130"', 'tau_m = "50 ms"',
        'membrane_capacitance = "0.2 pF"', 'v_rest = "0.6 V"', 'v_threshold = "0.65 V"',
        'v_reset = "0.6 V"', 'refractory = "5 ms"', 'max_rate = "50 Hz"']) + "\n")
    assert main(["design", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "tau" in err and "0.296 pA" in err and "1 pA floor" in err
    assert not (tmp_path / "out" / "too_slow.toml").exists()


LP_SPEC = {"topology": "sky130_lp", "tau_m": "10 ms", "membrane_capacitance": "0.2 pF",
           "v_rest": "0.3 V", "v_threshold": "0.35 V", "v_reset": "0.3 V",
           "refractory": "2 ms", "max_rate": "300 Hz", "supply": "0.8 V"}


def _lp_spec(**changes):
    return load_mapping({"name": "lp", "design": {**LP_SPEC, **changes}}).design


def test_sky130_lp_record_has_a_design_hook():
    from lifhw.analog import sky130_lp_design

    assert d.design_hook("sky130_lp") is sky130_lp_design.DESIGN
    found = sky130_lp_design.DESIGN.candidates(_lp_spec())
    # the pA comparator first (rising power), then the fast (0.42/0.15 um) comparator
    # at nA tails; the example's 2 ms leaves room for all of them
    assert [c["comparator_ratio"] for c in found[:3]] == [4.0, 8.0, 16.0]
    assert all("comparator_l" not in c for c in found[:3])
    assert all(c["comparator_l"] == 0.15e-6 for c in found[3:])
    assert [c["comparator_ratio"] for c in found] == sorted(c["comparator_ratio"]
                                                            for c in found)
    # 0.1 ms at tau = 50 ms: only nA comparators fit the 80 us latency budget, and
    # the reset clamp widens to settle 1 pF within t_ref / 40 at a 25x weaker corner
    # (25 x 90 MOhm x 0.42 um x 1 pF / 2.5 us = 378 um)
    short = sky130_lp_design.DESIGN.candidates(_lp_spec(
        tau_m="50 ms", membrane_capacitance="1 pF", refractory="0.1 ms", max_rate="100 Hz"))
    bias = d.spec_neuron(_lp_spec(tau_m="50 ms", membrane_capacitance="1 pF")).bias_current
    assert [round(c["comparator_ratio"] * bias * 1e9, 3) for c in short] == [1.6, 6.4]
    assert all(c["switch_w"] == pytest.approx(900 * 0.42e-6) for c in short)
    # the example (0.2 pF, 2 ms): 25 x 90 MOhm x 0.42 um x 0.2 pF / 50 us = 3.78 um
    assert all(c["switch_w"] == pytest.approx(9 * 0.42e-6) for c in found)


def test_sky130_lp_knobs_reach_the_netlist_and_back():
    from lifhw.analog import sky130_lp_design
    from lifhw.stimulus import Stimulus

    hook = sky130_lp_design.DESIGN
    spec = _lp_spec()
    knobs = d.Knobs(leak_scale=1.1, offset_current=-3e-14, parasitic_capacitance=5e-15,
                    threshold_offset=-2e-3, refractory_scale=0.5, reset_offset=1e-3)
    circuit = hook.circuit(spec, hook.candidates(spec)[1], knobs, "tt", 0)
    assert hook.knobs(circuit) == knobs
    assert circuit.sky130_lp.comparator_ratio == 8.0
    lines = nl.generate("x", circuit, Stimulus(kind="constant", amplitude=3e-12,
                                               t_stop=1e-2, dt=1e-5)).splitlines()
    rr = circuit.sky130_lp.reference_ratio
    bias = d.spec_neuron(spec).bias_current
    # I_b = 2 U_T (C / tau) / 0.7 = 1.48 pA at 27 degC
    assert bias == pytest.approx(1.476e-12, rel=2e-3)
    assert f"IBL vdd_leak nbl DC {nl.spice_number(bias * 1.1 / rr)}" in lines
    assert f"IOS vm 0 DC {nl.spice_number(-3e-14)}" in lines
    assert f"VTH vth 0 DC {nl.spice_number(0.348)}" in lines
    assert f"VRST vrst 0 DC {nl.spice_number(0.301)}" in lines
    trims = hook.trims(circuit)
    assert trims["comparator_bias_current_a"] == pytest.approx(8 * bias)
    # C_ref V_det / t_ref x scale = 10 fF x 0.2 V / 2 ms x 0.5
    assert trims["refractory_charge_current_a"] == pytest.approx(0.5e-12)


def test_sky130_lp_limits_refuse_with_numbers():
    from lifhw.analog import sky130_lp_design

    hook = sky130_lp_design.DESIGN
    assert hook.limits(_lp_spec()) == []
    # 0.2 pF / 50 ms needs 0.296 pA of leak bias
    refused = hook.limits(_lp_spec(tau_m="50 ms", max_rate="50 Hz"))
    assert len(refused) == 1 and "0.296 pA" in refused[0]
    # the corners of the contract's box: tau 1-50 ms, refractory 0.1-5 ms
    for tau, c in (("1 ms", "0.2 pF"), ("50 ms", "1 pF")):
        for t_ref, rate in (("0.1 ms", "100 Hz"), ("5 ms", "50 Hz")):
            assert hook.limits(_lp_spec(tau_m=tau, membrane_capacitance=c,
                                        refractory=t_ref, max_rate=rate)) == [], (tau, t_ref)
    # below: the 6.4 nA comparator's latency at tau = 50 ms (32 us x (1.5 / 6.4)^0.7
    # = 11.6 us, over the 0.8 margin) plus the 20 us shortest pulse
    refused = hook.limits(_lp_spec(tau_m="50 ms", membrane_capacitance="1 pF",
                                   refractory="30 us", max_rate="100 Hz"))
    assert len(refused) == 1 and "34.5 us" in refused[0]


# ---------------------------------------------------------------------------------------
# Synapses in the spec

SYN = {"tau_syn_exc": "5 ms", "tau_syn_inh": "10 ms", "weight_exc": "0.5 pA",
       "weight_inh": "-0.5 pA"}


def test_spec_synapse_keys_parse_with_units():
    spec = _lp_spec(**SYN)
    assert spec.synapse_weights == {"exc": pytest.approx(0.5e-12), "inh": pytest.approx(-0.5e-12)}
    assert (spec.tau_syn_exc, spec.tau_syn_inh) == (pytest.approx(5e-3), pytest.approx(10e-3))
    assert _lp_spec().synapse_weights == {}
    assert _lp_spec(tau_syn_exc="5 ms", weight_exc="1 pA").synapse_weights == {
        "exc": pytest.approx(1e-12)}


@pytest.mark.parametrize(("changes", "words", "path"), [
    ({"tau_syn_exc": "5 ms"}, "give its PSP spec", "design.weight_exc"),
    ({"weight_inh": "-1 pA"}, "set tau_syn_inh", "design.tau_syn_inh"),
    ({"tau_syn_inh": "5 ms", "weight_inh": "1 pA"}, "inhibitory weights are < 0",
     "design.weight_inh"),
    ({"tau_syn_exc": "5 ms", "weight_exc": "-1 pA"}, "excitatory weights are > 0",
     "design.weight_exc"),
    ({"weight_exc": "1 nF"}, "A", "design.weight_exc"),
    ({"synapse_pulse_width": "10 us"}, "without a synapse", "design.synapse_pulse_width"),
    ({"tau_syn": "5 ms"}, "did you mean", "design"),
])
def test_spec_synapse_errors_name_the_field(changes, words, path):
    with pytest.raises(ParamError, match=words) as err:
        _lp_spec(**changes)
    assert path in str(err.value)


def _lp_synapse_circuit(**changes):
    from lifhw.analog import sky130_lp_design

    spec = _lp_spec(**{**SYN, **changes})
    hook = sky130_lp_design.DESIGN
    return spec, d.with_synapses(hook.circuit(spec, hook.candidates(spec)[0], d.Knobs(),
                                              "tt", 0), spec, {})


def test_golden_psp_of_a_small_weight_matches_the_closed_form():
    # 0.1 pA: a 1.25 mV EPSP, inside the tanh's linear part, so the golden tanh neuron's
    # peak (ODE) and the linear closed form agree; independent formula:
    # V* = w r_m tau_s / (tau_s - tau_m) (exp(-t*/tau_s) - exp(-t*/tau_m)).
    spec = _lp_spec(**{**SYN, "weight_exc": "0.1 pA", "weight_inh": "-0.1 pA"})
    psp = d.golden_psp(spec)
    r_m = spec.tau_m / spec.membrane_capacitance
    t_s, t_m = 5e-3, 10e-3
    t_star = t_m * t_s * math.log(t_s / t_m) / (t_s - t_m)
    closed = 0.1e-12 * r_m * t_s / (t_s - t_m) * (math.exp(-t_star / t_s)
                                                  - math.exp(-t_star / t_m))
    assert psp["exc"]["closed_form_v"] == pytest.approx(closed, rel=1e-12)
    assert psp["exc"]["peak_v"] == pytest.approx(closed, rel=5e-3)
    # tau_s = tau_m: V* = w r_m / e, negative for inhibition
    assert psp["inh"]["peak_v"] == pytest.approx(-0.1e-12 * r_m / math.e, rel=5e-3)


def test_psp_stimulus_isolates_one_event_per_sign():
    spec = _lp_spec(**SYN)
    stim = d.psp_stimulus(spec)
    window = 6 * 10e-3
    assert stim.kind == "spikes"
    assert stim.spike_times == pytest.approx((0.2 * window, 1.2 * window))
    assert stim.spike_weights == pytest.approx((0.5e-12, -0.5e-12))
    assert stim.t_stop == pytest.approx(2.2 * window)


def test_synapse_sizing_follows_the_closed_forms():
    from lifhw.analog import sky130_synapse as gmc

    _, circuit = _lp_synapse_circuit()
    opts = circuit.sky130_lp
    # 0.5 pA is at most half the largest weight 0.3 I_o = 1.5 pA: the defaults stay.
    sizing, refused = gmc.size_synapse(circuit, {"exc": 0.5e-12, "inh": 0.5e-12})
    assert refused == []
    assert sizing == {"synapse_output_current": opts.synapse_output_current,
                      "synapse_capacitance": opts.synapse_capacitance,
                      "synapse_pulse_width": opts.synapse_pulse_width}
    # 1.2 pA needs I_o = 1.2 pA / (0.5 x 0.3) = 8 pA.
    sizing, _ = gmc.size_synapse(circuit, {"exc": 1.2e-12})
    assert sizing["synapse_output_current"] == pytest.approx(8e-12)
    # tau_syn = 200 ms: C_syn = 0.5 pA x 0.7 x 0.2 s / (2 U_T) = 1.353 pF.
    _, slow = _lp_synapse_circuit(tau_syn_inh="200 ms")
    sizing, _ = gmc.size_synapse(slow, {"inh": 0.5e-12})
    u_t = slow.thermal_voltage
    assert sizing["synapse_capacitance"] == pytest.approx(0.5e-12 * 0.7 * 0.2 / (2 * u_t))
    # tau_syn = 0.4 ms: the 50 us pulse is shortened to 5 % of it.
    _, fast = _lp_synapse_circuit(tau_syn_exc="0.4 ms")
    assert gmc.size_synapse(fast, {"exc": 0.5e-12})[0]["synapse_pulse_width"] == \
        pytest.approx(20e-6)


def test_synapse_limits_refuse_with_numbers():
    spec, circuit = _lp_synapse_circuit()
    assert d.synapse_limits(spec, circuit) == []
    # 2 nA needs a 13.3 nA tail (above the 10 nA weak-inversion ceiling).
    spec, circuit = _lp_synapse_circuit(weight_exc="2 nA")
    refused = d.synapse_limits(spec, circuit)
    assert any("13.3 nA" in r.replace("1.33e-08 A", "13.3 nA") and "1.3x" in r
               for r in refused), refused
    # 4 pA: EPSP 0.25 x 4 pA x 50 GOhm = 50 mV, above 0.8 of the 50 mV gap.
    spec, circuit = _lp_synapse_circuit(weight_exc="4 pA")
    refused = d.synapse_limits(spec, circuit)
    assert len(refused) == 1 and "fire the neuron" in refused[0] and "1.2x" in refused[0]
    # 10 fA: EPSP 0.125 mV, below the 1 mV verified.
    spec, circuit = _lp_synapse_circuit(weight_exc="10 fA")
    refused = d.synapse_limits(spec, circuit)
    assert len(refused) == 1 and "raise weight_exc by 8" in refused[0]
    # tau_syn 20 s needs 135 pF of state capacitor.
    spec, circuit = _lp_synapse_circuit(tau_syn_inh="20 s")
    assert any("135 pF" in r and "10 pF allowed" in r for r in d.synapse_limits(spec, circuit))


def test_an_unreachable_synapse_spec_exits_2_with_one_line(tmp_path, capsys):
    from lifhw.app.cli import main

    lines = ['name = "strong"', "[design]"] + [f'{k} = "{v}"' for k, v in
                                                {**LP_SPEC, **SYN, "weight_exc": "4 pA"}.items()]
    path = tmp_path / "strong.toml"
    path.write_text("\n".join(lines) + "\n")
    assert main(["design", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot design this neuron" in err
    assert "weight_exc" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_designed_file_with_synapses_round_trips_through_the_loader(tmp_path):
    spec, circuit = _lp_synapse_circuit()
    circuit = d.with_synapses(circuit, spec, {"synapse_leak_current_exc": 1.3e-12,
                                              "synapse_weight_scale_inh": 1.25,
                                              "synapse_offset_trim_inh": -1.7e-3})
    stimulus = d.psp_stimulus(spec)
    path = tmp_path / "s.toml"
    path.write_text(d.circuit_toml("s", circuit, stimulus))
    pf = load_mapping(__import__("tomllib").loads(path.read_text()), source=str(path))
    assert (pf.circuit.tau_syn_exc, pf.circuit.tau_syn_inh) == (5e-3, 10e-3)
    for key in ("synapse_leak_current_exc", "synapse_weight_scale_inh",
                "synapse_offset_trim_inh", "synapse_pulse_width", "synapse_capacitance"):
        assert getattr(pf.circuit.sky130_lp, key) == pytest.approx(
            getattr(circuit.sky130_lp, key), rel=1e-11)
    assert pf.stimulus.spike_times == pytest.approx(stimulus.spike_times)
    assert pf.stimulus.spike_weights == pytest.approx(stimulus.spike_weights)
    # The synapse devices are rendered alike (neuron lines carry 12-digit round-off).
    import re

    def synapse_lines(text):
        return [line for line in text.splitlines()
                if re.match(r"(ILK|IOB|IW|VSR|VASYN|VISYN|VP[EI]|XMW)", line)]

    back = synapse_lines(nl.generate("x", pf.circuit, pf.stimulus))
    assert back and back == synapse_lines(nl.generate("x", circuit, stimulus))


def test_a_corner_that_cannot_be_measured_misses_every_requirement():
    # a mismatch sample that no longer fires at 1.5x rheobase is a failed sample
    errors = d._failed_errors(["1.5x", "3x", "10x", "max_rate"])
    failures = d.acceptance_failures(errors)
    assert len(failures) == 3 + 4
    assert not d._isi_yield(errors)

