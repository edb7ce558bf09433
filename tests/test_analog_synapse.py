"""Synapse circuits and analog networks without a simulator: netlist text,
branch assignment, the behavioural drive against an independent ODE solution,
the golden tanh model with synapses against the closed-form PSP, and the bad
inputs of the issue (one clear error each, exit 2)."""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from lifhw.analog import netlist as nl
from lifhw.analog import network as anet
from lifhw.analog import synapse as syn
from lifhw.analog.flow import psp_closed_form
from lifhw.app.cli import main
from lifhw.errors import ParamError
from lifhw.golden import lif, ota
from lifhw.params import load, load_mapping
from lifhw.stimulus import Stimulus

ROOT = Path(__file__).resolve().parents[1]
NETWORK = ROOT / "circuits" / "networks" / "ei_analog.toml"


def _circuit(**changes: object):
    base = load(ROOT / "circuits" / "ota_lif_behavioral.toml").circuit
    return dataclasses.replace(base, **{"tau_syn_exc": 5e-3, "tau_syn_inh": 10e-3,
                                        **changes})


def _spikes(times, weights, t_stop=0.1) -> Stimulus:
    return Stimulus(kind="spikes", spike_times=tuple(times), spike_weights=tuple(weights),
                    t_stop=t_stop)


def test_behavioral_drive_reproduces_the_decayed_jump() -> None:
    # Independent check: integrate dx/dt = -x/tau + a over the pulse numerically.
    from scipy.integrate import solve_ivp

    w, tau, width = 3e-12, 5e-3, 10e-6
    a = syn.behavioral_drive(w, tau, width)
    sol = solve_ivp(lambda _, x: [-x[0] / tau + a], (0, width), [0.0], rtol=1e-12,
                    atol=1e-24)
    assert sol.y[0, -1] == pytest.approx(w * math.exp(-width / tau), rel=1e-9)


def test_spike_stimulus_netlist_has_pulse_sources_and_synapses() -> None:
    circuit = _circuit()
    stim = _spikes([0.01, 0.02, 0.05], [2e-12, 2e-12, -1e-12])
    text = nl.generate("psp", circuit, stim)
    width = circuit.behavioral.synapse_pulse_width
    # One excitatory branch (same weight, not overlapping), one inhibitory.
    assert len(re.findall(r"^VPE\d+ ", text, re.M)) == 1
    assert len(re.findall(r"^VPI\d+ ", text, re.M)) == 1
    gain = float(re.search(r"^GW_e_0 0 syn_e pe0 0 (\S+)$", text, re.M).group(1))
    expected = syn.STATE_CAP_F * 2e-12 / (5e-3 * math.expm1(width / 5e-3)) / syn.I_UNIT
    assert gain == pytest.approx(expected, rel=1e-11)
    assert "VISYN_E isyn_e vm 0" in text and "VISYN_I isyn_i vm 0" in text
    assert "i(visyn_e)" in text and "i(visyn_i)" in text
    # A current stimulus: the synapses are part of the neuron, without events.
    step = Stimulus(kind="step", amplitude=20e-12, t_stop=0.1)
    text = nl.generate("step", circuit, step)
    assert "VISYN_E" in text and "VISYN_I" in text
    assert not re.search(r"^(VP|GW_)", text, re.M)
    # Without synapses (tau_syn = 0) the netlist has none.
    bare = nl.generate("step", _circuit(tau_syn_exc=0.0, tau_syn_inh=0.0), step)
    assert "VISYN" not in bare


def test_pulse_sources_have_the_pulse_area() -> None:
    lines = syn.pulse_source_lines("VP", "p", [1e-3, 2e-3], 10e-6, 1.0)
    words = " ".join(line.lstrip("+ ") for line in lines[1:]).replace(")", " ").split()
    points = np.array([float(w) for w in words]).reshape(-1, 2)
    area = np.trapezoid(points[:, 1], points[:, 0])
    assert area == pytest.approx(2 * 10e-6, rel=1e-9)


def test_overlapping_events_go_to_separate_branches() -> None:
    times = np.array([1e-3, 1.000005e-3, 3e-3, 3e-3])
    weights = np.array([1e-12, 1e-12, 1e-12, 2e-12])
    branches = syn.assign_branches(times, weights, 10e-6)
    assert [(w, len(t)) for w, t in branches] == [(1e-12, 2), (1e-12, 1), (2e-12, 1)]


def test_golden_tanh_psp_matches_the_closed_form() -> None:
    # A 0.3 mV PSP stays in the tanh's linear part: the ODE and the closed form agree.
    neuron = ota.OTANeuron(capacitance=1e-12, bias_current=5e-12, kappa=0.7, v_rest=0.6,
                           v_th=0.65, v_reset=0.6, t_ref=2e-3, tau_syn_exc=5e-3)
    stim = Stimulus(kind="spikes", spike_times=(0.01,), spike_weights=(0.1e-12,),
                    t_stop=0.06, dt=1e-5)
    trace = ota.simulate(neuron, stim)
    peak, t_peak = psp_closed_form(0.1e-12, 1 / neuron.g_m, neuron.tau_m, 5e-3)
    assert float(np.max(trace.v) - 0.6) == pytest.approx(peak, rel=2e-4)
    assert float(trace.t[np.argmax(trace.v)] - 0.01) == pytest.approx(t_peak, abs=2e-5)
    linear = lif.simulate(neuron.lif(), stim)
    assert float(np.max(linear.v) - 0.6) == pytest.approx(peak, rel=1e-6)


def test_golden_tanh_refuses_a_sign_without_synapse() -> None:
    neuron = ota.OTANeuron(capacitance=1e-12, bias_current=5e-12, kappa=0.7, v_rest=0.6,
                           v_th=0.65, v_reset=0.6, tau_syn_exc=5e-3)
    with pytest.raises(ParamError, match="no inhibitory synapse"):
        ota.simulate(neuron, _spikes([0.01], [-1e-12]))


def test_spikes_without_a_synapse_of_that_sign() -> None:
    circuit = _circuit(tau_syn_inh=0.0)
    with pytest.raises(ParamError, match="no inhibitory synapse") as err:
        nl.generate("x", circuit, _spikes([0.01], [-1e-12]))
    assert err.value.path == "circuit.tau_syn_inh"


def test_weight_out_of_range() -> None:
    circuit = _circuit()
    _, high = syn.synapse_circuit(circuit).weight_range(circuit, "exc")
    assert high == pytest.approx(circuit.supply * circuit.membrane_capacitance / 5e-3)
    with pytest.raises(ParamError, match="outside the range") as err:
        nl.generate("x", circuit, _spikes([0.01], [2 * high]))
    assert err.value.path == "stimulus.spike_weights"
    poisson = Stimulus(kind="poisson", rate=100.0, weight=2 * high, t_stop=0.1)
    with pytest.raises(ParamError, match="outside the range") as err:
        nl.generate("x", circuit, poisson)
    assert err.value.path == "stimulus.weight"


def test_network_circuits_realise_the_lif_parameters() -> None:
    an = anet.load(NETWORK)
    for pop in an.network.populations:
        circuit = an.circuits[pop.name]
        assert circuit.tau_m == pytest.approx(pop.neuron.tau_m, rel=1e-12)
        assert 1 / circuit.g_m == pytest.approx(pop.neuron.r_m, rel=1e-12)
        assert circuit.v_threshold - circuit.v_rest == pytest.approx(
            pop.neuron.v_th - pop.neuron.v_rest)
        assert circuit.tau_syn_exc == pop.neuron.tau_syn_exc


def test_network_netlist_has_one_neuron_per_lif_and_one_branch_per_synapse() -> None:
    an = anet.load(NETWORK)
    text = anet.generate(an, source="ei_analog.toml")
    assert text.count("\nCmem_") == an.network.n_neurons == 12
    events = anet.input_event_times(an)
    firing = {key for key, times in events.items() if len(times)}
    assert len(re.findall(r"^VIN_", text, re.M)) == len(firing)
    expected = 0
    for proj in an.network.projections:
        for _post, pre in zip(*np.nonzero(proj.weights), strict=True):
            if proj.pre in {p.name for p in an.network.inputs} and \
                    (proj.pre, int(pre)) not in firing:
                continue
            expected += 1
    assert len(re.findall(r"^GW_", text, re.M)) == expected
    # Input events arrive where the golden network delivers them (step k + 1).
    column = anet.input_event_times(an)[("stim", 0)]
    steps = np.flatnonzero(an.input_spikes[:, 0])
    assert np.allclose(column, (steps + 1) * an.network.dt)


def _network_file(tmp_path: Path, change) -> Path:
    data = tomllib.loads(NETWORK.read_text())
    change(data)
    lines = []

    def emit(prefix: str, table: dict) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, (dict, list))}
        if prefix:
            lines.append(f"[{prefix}]")
        for key, value in scalars.items():
            lines.append(f"{key} = {_toml(value)}")
        for key, value in table.items():
            if isinstance(value, dict):
                emit(f"{prefix}.{key}" if prefix else key, value)
            elif isinstance(value, list):
                for item in value:
                    lines.append(f"[[{prefix}.{key}]]")
                    for k, v in item.items():
                        lines.append(f"{k} = {_toml(v)}")

    emit("", data)
    path = tmp_path / "net.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def test_cli_network_errors_exit_2(tmp_path: Path, capsys) -> None:
    def too_many(data: dict) -> None:
        data["network"]["populations"]["exc"]["size"] = 61

    def too_strong(data: dict) -> None:
        data["network"]["projections"][0]["scale"] = "1 uA"

    def no_inhibitory(data: dict) -> None:
        data["network"]["populations"]["exc"]["neuron"]["tau_syn_inh"] = "0 ms"

    for change, message in ((too_many, "at most 64"), (too_strong, "outside the range"),
                            (no_inhibitory, "no inhibitory synapse")):
        path = _network_file(tmp_path, change)
        code = main(["netlist", str(path), "--analog", "-o", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert code == 2, err
        assert message in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_cli_spike_file_without_synapse_exits_2(tmp_path: Path, capsys) -> None:
    text = (ROOT / "circuits" / "ota_lif_behavioral.toml").read_text().replace(
        '[stimulus]\nkind = "step"\namplitude = "20 pA"',
        '[stimulus]\nkind = "spikes"\nspike_times = ["10 ms"]\nspike_weights = [1e-12]')
    path = tmp_path / "spk.toml"
    path.write_text(text)
    code = main(["netlist", str(path), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "no excitatory synapse" in err and "tau_syn_exc" in err


def test_cli_writes_the_network_netlist(tmp_path: Path, capsys) -> None:
    code = main(["netlist", str(NETWORK), "--analog", "--topology", "behavioral",
                 "-o", str(tmp_path)])
    assert code == 0
    written = Path(capsys.readouterr().out.strip())
    assert written.name == "ei_analog.cir" and written.read_text().count("\nCmem_") == 12


def test_analog_section_defaults() -> None:
    pf = load_mapping({"name": "n", "analog": {}})
    assert pf.analog.topology == "behavioral" and pf.analog.v_rest == 0.6


def _sky130(**changes: object):
    base = load(ROOT / "circuits" / "ota_lif_sky130.toml").circuit
    return dataclasses.replace(base, **{"tau_syn_exc": 5e-3, "tau_syn_inh": 10e-3, **changes})


def test_sky130_synapse_netlist_biases_from_the_closed_forms() -> None:
    circuit = _sky130()
    text = nl.generate("s", circuit, _spikes([0.01, 0.05], [2e-12, -2e-12]))
    u_t = circuit.thermal_voltage
    opts = circuit.sky130
    # I_lk = 2 U_T C_syn / (kappa tau_syn); I_w = w C_syn / (g_o t_p), g_o = kappa I_o / 2U_T.
    leak = float(re.search(r"^ILK_e vdd nlk_e DC (\S+)$", text, re.M).group(1))
    assert leak == pytest.approx(2 * u_t * opts.synapse_capacitance / (0.7 * 5e-3), rel=1e-9)
    g_o = 0.7 * opts.synapse_output_current / (2 * u_t)
    i_w = float(re.search(r"^IW_e_0 vw_e_0 0 DC (\S+)$", text, re.M).group(1))
    assert i_w == pytest.approx(2e-12 * opts.synapse_capacitance
                                / (g_o * opts.synapse_pulse_width), rel=1e-9)
    # Active-low event pulses: idle at the supply, 0 V during the event.
    pwl = re.search(r"^VPE0 pe0 0 PWL\(\n\+ 0 1.8 ", text, re.M)
    assert pwl is not None
    # The state-side switch has its bulk on its source (no junction leak to the well).
    assert re.search(r"^XMWS_e_0 vsyn_e pe0 xw_e_0 xw_e_0 ", text, re.M)
    assert "VISYN_E isyn_e vm DC 0" in text and "VISYN_I isyn_i vm DC 0" in text


def test_sky130_weight_out_of_range() -> None:
    circuit = _sky130()
    _, high = syn.synapse_circuit(circuit).weight_range(circuit, "exc")
    g_o = 0.7 * circuit.sky130.synapse_output_current / (2 * circuit.thermal_voltage)
    assert high == pytest.approx(g_o * 0.3 * circuit.linear_range)
    with pytest.raises(ParamError, match="gmc_sky130"):
        nl.generate("s", circuit, _spikes([0.01], [1.5 * high]))


def test_sky130_network_netlist() -> None:
    an = anet.load(NETWORK, topology="sky130")
    text = anet.generate(an)
    assert len(re.findall(r"^VDD_(exc|inh)\d+ ", text, re.M)) == 12
    # Every LIF population drives synapses here: one one-shot per neuron.
    assert len(re.findall(r"^CEV_", text, re.M)) == 12
    # Input events are active low (idle at the supply).
    assert re.search(r"^VIN_stim\d+ pin_stim\d+ 0 PWL\(\n\+ 0 1.8 ", text, re.M)
    # A branch from neuron exc2 onto a synapse switches on exc2's own pulse node.
    assert re.search(r"^XMWS_\w+ vsyn_\w+ pulse_exc\d+ ", text, re.M)
    assert '.include "sky130_tt.spice"' in text


def test_cli_sky130_network_netlist_has_its_model_file(tmp_path: Path, capsys) -> None:
    code = main(["netlist", str(NETWORK), "--analog", "--topology", "sky130",
                 "-o", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    written = Path(capsys.readouterr().out.strip())
    assert (tmp_path / "sky130_tt.spice").is_file() and (tmp_path / ".spiceinit").is_file()
    assert written.read_text().count("\nVDD_") == 12


def test_sky130_network_refuses_a_latching_comparator() -> None:
    an = anet.load(NETWORK, topology="sky130")
    circuits = {p: dataclasses.replace(c, sky130=dataclasses.replace(c.sky130,
                                                                     hysteresis_ratio=0.25))
                for p, c in an.circuits.items()}
    with pytest.raises(ParamError, match="latch in reset") as err:
        anet.generate(dataclasses.replace(an, circuits=circuits))
    assert err.value.path == "sky130.hysteresis_ratio"


# ---------------------------------------------------------------------------------------
# sky130_lp: the gated low-power synapse


def _sky130_lp(**changes: object):
    base = load(ROOT / "circuits" / "ota_lif_sky130_lp.toml").circuit
    return dataclasses.replace(base, **{"tau_syn_exc": 5e-3, "tau_syn_inh": 10e-3, **changes})


def test_sky130_lp_record_names_its_synapse() -> None:
    from lifhw.analog.topology import get_topology

    assert get_topology("sky130_lp").synapses == ("gmc_sky130_lp",)
    assert syn.synapse_circuit(_sky130_lp()).name == "gmc_sky130_lp"


def test_sky130_lp_synapse_netlist_biases_from_the_closed_forms() -> None:
    circuit = _sky130_lp()
    text = nl.generate("s", circuit, _spikes([0.01, 0.05], [0.5e-12, -0.5e-12]))
    u_t = circuit.thermal_voltage
    opts = circuit.sky130_lp
    r = opts.reference_ratio
    # Each reference diode carries 1/r of its tail: I_lk = 2 U_T C_syn / (kappa tau_syn).
    leak = float(re.search(r"^ILK_e vdd_syne nlk_e DC (\S+)$", text, re.M).group(1))
    assert leak * r == pytest.approx(2 * u_t * opts.synapse_capacitance / (0.7 * 5e-3),
                                     rel=1e-9)
    g_o = 0.7 * opts.synapse_output_current / (2 * u_t)
    i_w = float(re.search(r"^IW_e_0 vw_e_0 0 DC (\S+)$", text, re.M).group(1))
    assert i_w * r == pytest.approx(0.5e-12 * opts.synapse_capacitance
                                    / (g_o * opts.synapse_pulse_width), rel=1e-9)
    assert re.search(rf"^XMLKeT tLKe nlk_e 0 0 \S+ W=\S+ L=\S+ m={r}$", text, re.M)
    # The synapse draws its supply through its own ammeter, saved for its energy.
    assert "VASYN_E vdd vdd_syne DC 0" in text and "VASYN_I vdd vdd_syni DC 0" in text
    assert "i(vasyn_e)" in text and "i(visyn_i)" in text
    # Gated pump: WG (gate: the active-low pulse) feeds the mirror output only during an
    # event; the state switch is an nfet on the inverted pulse; WD holds the node at V_L.
    assert re.search(r"^XMWG_e_0 sw_e_0 pe0 vdd_syne vdd_syne ", text, re.M)
    assert re.search(r"^XMW_e_0 xw_e_0 vw_e_0 sw_e_0 vdd_syne \S+ W=\S+ L=\S+ m=4$", text,
                     re.M)
    assert re.search(r"^XMWS_e_0 vsyn_e pb_e_0 xw_e_0 0 sky130_fd_pr__nfet_01v8 ", text, re.M)
    assert re.search(r"^XMWD_e_0 vl pe0 xw_e_0 0 ", text, re.M)
    # Event pulses idle at the 0.8 V supply.
    assert re.search(r"^VPE0 pe0 0 PWL\(\n\+ 0 0.8 ", text, re.M)
    # A current stimulus: both synapses stay in the neuron, without pumps.
    step = nl.generate("s", circuit, Stimulus(kind="step", amplitude=2e-12, t_stop=0.05))
    assert "VISYN_E" in step and "VISYN_I" in step and "XMWG_" not in step


def test_sky130_lp_spikes_without_a_synapse_of_that_sign() -> None:
    with pytest.raises(ParamError, match="no inhibitory synapse") as err:
        nl.generate("x", _sky130_lp(tau_syn_inh=0.0), _spikes([0.01], [-0.5e-12]))
    assert err.value.path == "circuit.tau_syn_inh"


def test_sky130_lp_weight_out_of_range() -> None:
    circuit = _sky130_lp()
    _, high = syn.synapse_circuit(circuit).weight_range(circuit, "exc")
    # The largest weight moves the state by 0.3 of the OTA linear range: 0.3 I_o.
    assert high == pytest.approx(0.3 * circuit.sky130_lp.synapse_output_current)
    with pytest.raises(ParamError, match="gmc_sky130_lp") as err:
        nl.generate("s", circuit, _spikes([0.01], [1.5 * high]))
    assert err.value.path == "stimulus.spike_weights"
    poisson = Stimulus(kind="poisson", rate=100.0, weight=-2 * high, t_stop=0.1)
    with pytest.raises(ParamError, match="outside the range") as err:
        nl.generate("s", circuit, poisson)
    assert err.value.path == "stimulus.weight"


@pytest.mark.parametrize(("stimulus", "message"), [
    ('kind = "spikes"\nspike_times = ["10 ms"]\nspike_weights = [-0.5e-12]',
     "no inhibitory synapse"),
    ('kind = "spikes"\nspike_times = ["10 ms"]\nspike_weights = [3e-12]', "outside the range"),
    ('kind = "poisson"\nrate = "100 Hz"\nweight = 5e-12', "outside the range"),
])
def test_cli_sky130_lp_bad_synapse_input_exits_2(tmp_path: Path, capsys, stimulus,
                                                 message) -> None:
    text = (ROOT / "circuits" / "ota_lif_synapse_sky130_lp.toml").read_text()
    text = text.replace('tau_syn_inh = "10 ms"', 'tau_syn_inh = "0 s"')
    head = text[:text.index("[stimulus]")]
    path = tmp_path / "lp.toml"
    path.write_text(head + f'[stimulus]\n{stimulus}\nt_stop = "50 ms"\n')
    for command in (["netlist", str(path), "-o", str(tmp_path / "out")],
                    ["simulate", str(path)], ["compare", str(path)]):
        code = main(command)
        err = capsys.readouterr().err.strip()
        assert code == 2, err
        assert message in err and "Traceback" not in err
        assert len(err.splitlines()) == 1
