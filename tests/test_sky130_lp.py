"""Fast checks of the low-power sky130 generator (no simulator)."""

from __future__ import annotations

import re

import pytest

from lifhw.analog import devices as dv
from lifhw.analog import netlist as nl
from lifhw.analog import sky130_lp
from lifhw.analog.backends import default_config
from lifhw.analog.topology import get_topology
from lifhw.errors import ParamError
from lifhw.params import load_mapping

CIRCUIT = {
    "topology": "sky130_lp", "membrane_capacitance": "0.2 pF", "leak_bias_current": "1.5 pA",
    "v_rest": "0.3 V", "v_threshold": "0.35 V", "v_reset": "0.3 V",
    "refractory": "2 ms", "supply": "0.8 V", "corner": "tt",
}


def _load(circuit: dict | None = None, stimulus: dict | None = None):
    data = {"name": "lp130",
            "circuit": {**CIRCUIT, **(circuit or {})},
            "stimulus": stimulus or {"kind": "constant", "amplitude": "3 pA",
                                     "t_stop": "50 ms"}}
    pf = load_mapping(data)
    return pf.sections["circuit"], pf.sections["stimulus"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFHW_CACHE_DIR", str(tmp_path / "cache"))


def test_record_is_registered():
    record = get_topology("sky130_lp")
    assert record.supply and record.options == "sky130_lp"
    assert record.characterise is sky130_lp.characterise
    assert record.golden == "calibrated"


def test_node_contract_and_supply_blocks():
    circuit, stimulus = _load()
    lines = nl.generate("lp130", circuit, stimulus).splitlines()
    assert not lines[0].startswith(".")
    assert "VDD vdd 0 DC 0.8" in lines
    assert any(re.match(r"IIN 0 vm PWL\(", line) for line in lines)
    assert "CM vm 0 2e-13" in lines
    assert any(re.match(r"XMR vm spike vrst 0 sky130_fd_pr__nfet_01v8 ", ln) for ln in lines)
    # every block hangs from vdd through a zero-volt ammeter; VDD's current is their sum
    for block in sky130_lp.BLOCKS:
        assert f"VA{block.upper()} vdd vdd_{block} DC 0" in lines
    assert all("vdd" not in ln.split()[1:5] for ln in lines if ln.startswith("XM"))
    # gmin outside the analysis block (the DC sweeps of the characterisation keep it)
    analysis = lines.index(nl.ANALYSIS_BEGIN)
    assert lines.index(".options gmin=1e-15") < analysis
    assert lines[-1] == ".end"


def test_bias_currents_follow_the_leak_bias():
    circuit, stimulus = _load({"sky130_lp": {"comparator_ratio": 6, "reference_ratio": 3}})
    text = nl.generate("lp130", circuit, stimulus)
    n = nl.spice_number
    # references carry 1/reference_ratio of their copies
    assert f"IBL vdd_leak nbl DC {n(1.5e-12 / 3)}" in text
    assert f"IBC nbc 0 DC {n(6 * 1.5e-12 / 3)}" in text
    assert sky130_lp.comparator_current(circuit) == pytest.approx(9e-12)
    assert re.search(r"XMLT tl nbl 0 0 \S+ W=0.42 L=2 m=3$", text, re.M)
    assert re.search(r"XMCT tc nbc vdd_cmp vdd_cmp \S+ W=0.42 L=2 m=3$", text, re.M)


def test_refractory_current_follows_formula():
    circuit, _ = _load()
    o = circuit.sky130_lp
    assert sky130_lp.refractory_current(circuit) == pytest.approx(
        o.refractory_capacitance * o.detector_trip_voltage / 2e-3)
    zero, _ = _load({"refractory": "0 s"})
    assert sky130_lp.refractory_current(zero) == pytest.approx(
        o.refractory_capacitance * o.detector_trip_voltage / o.refractory_min)
    low, stimulus = _load({"supply": "0.4 V", "sky130_lp": {"detector_trip_voltage": "0.5 V"}})
    with pytest.raises(ParamError, match="detector_trip_voltage"):
        nl.generate("lp130", low, stimulus)


def test_spiking_off_ties_reference_to_supply():
    circuit, stimulus = _load()
    text = sky130_lp.generate("lp130", circuit, stimulus, spiking=False)
    assert "VTH vth 0 DC 0.8" in text
    assert ".ic" not in text
    # the latch is held at rest (spike = 0, reset clamp off) by a zero-volt source
    assert "VHOLD vdd_logic spkn DC 0" in text
    assert "VHOLD" not in sky130_lp.generate("lp130", circuit, stimulus)


def test_feedback_can_be_removed():
    circuit, stimulus = _load({"sky130_lp": {"feedback_ratio": 0}})
    text = nl.generate("lp130", circuit, stimulus)
    assert "XMPM " not in text and "XMPMS " not in text
    with_feedback, _ = _load()
    assert "XMPM pm pd vdd_logic vdd_logic" in nl.generate("lp130", with_feedback, stimulus)
    # the gain is a width ratio, never below the logic width
    weak, _ = _load({"sky130_lp": {"feedback_ratio": 0.5}})
    strong, _ = _load({"sky130_lp": {"feedback_ratio": 2}})
    text = nl.generate("lp130", weak, stimulus)
    assert re.search(r"XMPD pd pd vdd_logic vdd_logic \S+ W=0.84 L=1$", text, re.M)
    assert re.search(r"XMPM pm pd vdd_logic vdd_logic \S+ W=0.42 L=1$", text, re.M)
    text = nl.generate("lp130", strong, stimulus)
    assert re.search(r"XMPD pd pd vdd_logic vdd_logic \S+ W=0.42 L=1$", text, re.M)
    assert re.search(r"XMPM pm pd vdd_logic vdd_logic \S+ W=0.84 L=1$", text, re.M)


@pytest.mark.parametrize("bad", [
    {"sky130_lp": {"comparator_ratio": 0}},
    {"sky130_lp": {"reference_ratio": 0}},
    {"sky130_lp": {"logic_l": "0.1 um"}},
    {"sky130_lp": {"mirror_w": "0.2 um"}},
    {"sky130_lp": {"refractory_capacitance": "1 V"}},
    {"sky130_lp": {"bogus": 1}},
])
def test_bad_options_rejected(bad):
    with pytest.raises(ParamError):
        _load(bad)


def test_mim_and_model_file():
    circuit, stimulus = _load({"sky130_lp": {"capacitor": "mim"}})
    text = nl.generate("lp130", circuit, stimulus)
    (support,) = default_config(circuit).support_files
    assert f'.include "{support.name}"' in text
    assert "cap_mim_m3_1" in support.path.read_text()
    records = sky130_lp.devices(circuit)
    membrane = next(d for d in records if d.name == "CM")
    assert membrane.kind == "mim"
    assert dv.mim_capacitance(membrane.w, membrane.squares) == pytest.approx(0.2e-12, rel=1e-9)


def test_layout_and_netlist_share_device_records():
    circuit, _ = _load()
    records = sky130_lp.devices(circuit)
    text = "\n".join(sky130_lp.device_lines(circuit))
    for record in records:
        for line in dv.render(record):
            assert line in text
    fets = [d for d in records if d.is_fet]
    assert len(fets) == 34
    # no minimum-length pfet: a 0.15 um pfet leaks picoamperes at V_sg = 0
    assert all(d.l >= 1e-6 for d in fets if d.kind == "pfet")


def test_fit_recovers_threshold_and_delay():
    from lifhw.golden.ota import OTANeuron, ota_isi

    truth = OTANeuron(capacitance=0.2e-12, bias_current=1.6e-12, kappa=0.7, v_rest=0.3,
                      v_th=0.3512, v_reset=0.3, t_ref=2.1e-3)
    currents = [m * truth.rheobase for m in sky130_lp.CALIBRATION_MULTIPLES]
    isis = [float(ota_isi(i, truth)) for i in currents]
    start = truth.replace(v_th=0.35, t_ref=2e-3)
    v_th, t_ref = sky130_lp.fit_threshold_and_delay(start, currents, isis, 2e-3)
    assert v_th == pytest.approx(0.3512, abs=1e-6)
    assert t_ref == pytest.approx(2.1e-3, rel=1e-4)


def test_design_trims_reach_netlist():
    circuit, stimulus = _load({"sky130_lp": {
        "leak_bias_scale": 0.8, "offset_current": "0.02 pA", "threshold_offset": "-2 mV",
        "reset_offset": "1 mV", "refractory_current_scale": 1.5,
        "membrane_parasitic_capacitance": "5 fF"}})
    lines = nl.generate("lp130", circuit, stimulus).splitlines()
    n = nl.spice_number
    rr = circuit.sky130_lp.reference_ratio
    assert f"IBL vdd_leak nbl DC {n(1.5e-12 * 0.8 / rr)}" in lines
    assert f"IOS vm 0 DC {n(0.02e-12)}" in lines
    assert f"VTH vth 0 DC {n(0.35 - 0.002)}" in lines
    assert f"VRST vrst 0 DC {n(0.3 + 0.001)}" in lines
    assert f"CM vm 0 {n(0.2e-12 - 5e-15)}" in lines
    o = circuit.sky130_lp
    i_ref = o.refractory_capacitance * o.detector_trip_voltage / 2e-3 * 1.5
    assert f"IBR nbr 0 DC {n(i_ref / rr)}" in lines
    with pytest.raises(ParamError, match="membrane_parasitic_capacitance"):
        big, _ = _load({"sky130_lp": {"membrane_parasitic_capacitance": "1 pF"}})
        nl.generate("lp130", big, stimulus)
