"""Parameter files: valid files load into frozen SI objects; every mistake is one
clear message with the file, the field path and the expected unit, exit status 2."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import lifhw
from lifhw.app.cli import main
from lifhw.errors import ParamError
from lifhw.params import load_mapping, set_dotted

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
name = "n1"
[neuron]
tau_m = "20 ms"
r_m = "100 MOhm"
v_rest = "-65 mV"
v_th = "-50 mV"
v_reset = "-65 mV"
t_ref = "2 ms"
[stimulus]
kind = "step"
amplitude = "250 pA"
t_stop = "200 ms"
"""


def test_good_file_is_frozen_si(tmp_path: Path) -> None:
    file = tmp_path / "n1.toml"
    file.write_text(GOOD)
    design = lifhw.load(file)
    assert design.name == "n1"
    lif = design.lif
    assert lif.tau_m == pytest.approx(0.02)
    assert lif.c_m == pytest.approx(0.02 / 100e6)
    assert design.stimulus.amplitude == pytest.approx(250e-12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        design.neuron.v_th = 0.0  # type: ignore[misc]


def test_two_of_three_membrane_constants() -> None:
    data = {"name": "x", "neuron": {"capacitance": "200 pF", "r_m": "100 MOhm",
                                    "v_rest": -0.065, "v_th": -0.05, "v_reset": -0.065}}
    assert load_mapping(data).lif.tau_m == pytest.approx(0.02)


BAD = {
    "unknown key": (GOOD.replace('t_ref = "2 ms"', 't_reff = "2 ms"'),
                    ["neuron.t_reff", "did you mean 't_ref'"]),
    "wrong unit": (GOOD.replace('tau_m = "20 ms"', 'tau_m = "20 mV"'),
                   ["neuron.tau_m", "second"]),
    "negative capacitance": (GOOD.replace('tau_m = "20 ms"', 'capacitance = "-1 pF"'),
                             ["neuron.capacitance", "> 0"]),
    "threshold below reset": (GOOD.replace('v_th = "-50 mV"', 'v_th = "-70 mV"'),
                              ["neuron.v_th", "v_reset"]),
    "missing key": (GOOD.replace('v_rest = "-65 mV"\n', ""), ["neuron.v_rest", "volt"]),
    "not a number": (GOOD.replace('amplitude = "250 pA"', 'amplitude = "lots"'),
                     ["stimulus.amplitude", "ampere"]),
    "unknown stimulus kind": (GOOD.replace('kind = "step"', 'kind = "stpe"'),
                              ["stimulus.kind", "did you mean 'step'"]),
    "unknown section": (GOOD + "\n[nuron]\nx = 1\n", ["nuron", "did you mean 'neuron'"]),
    "bad name": (GOOD.replace('name = "n1"', 'name = "a b; .control"'), ["name", "valid name"]),
    "invalid toml": (GOOD.replace('name = "n1"', "name = "), ["invalid TOML"]),
    "negative refractory": (GOOD.replace('t_ref = "2 ms"', 't_ref = "-2 ms"'),
                            ["neuron.t_ref", ">= 0"]),
    "over-determined membrane": (GOOD.replace('t_ref = "2 ms"', 'capacitance = "1 pF"'),
                                 ["neuron.tau_m", "exactly two"]),
    "boolean quantity": (GOOD.replace('t_stop = "200 ms"', "t_stop = true"),
                         ["stimulus.t_stop", "boolean"]),
    "zero duration": (GOOD.replace('t_stop = "200 ms"', 't_stop = "0 s"'),
                      ["stimulus.t_stop", "> 0"]),
    "pulse wider than period": (
        GOOD.replace('kind = "step"', 'kind = "pulses"\nperiod = "10 ms"\nwidth = "20 ms"'),
        ["stimulus.width", "exceeds period"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_exit_2(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, fragments = BAD[case]
    file = tmp_path / "bad.toml"
    file.write_text(text)
    assert main(["check", str(file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lifhw: error: ")
    assert str(file) in err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_console_script_no_traceback(tmp_path: Path) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(BAD["wrong unit"][0])
    proc = subprocess.run([sys.executable, "-m", "lifhw", "golden", str(file)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "neuron.tau_m" in proc.stderr


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "/nonexistent/x.toml"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_set_dotted_requires_existing_path() -> None:
    raw = {"name": "x", "neuron": {"v_th": -0.05}}
    assert set_dotted(raw, "neuron.v_th", -0.04)["neuron"]["v_th"] == -0.04
    assert raw["neuron"]["v_th"] == -0.05  # the original is not modified
    with pytest.raises(ParamError, match="not in the base file"):
        set_dotted(raw, "neuron.v_thh", 1)
    with pytest.raises(ParamError, match="no table"):
        set_dotted(raw, "circuit.c", 1)


def test_committed_examples_validate() -> None:
    files = sorted((ROOT / "circuits").glob("*.toml"))
    assert files
    for file in files:
        lifhw.load(file)


def test_typed_section_access() -> None:
    import tomllib

    from lifhw.params import NeuronSection
    from lifhw.stimulus import Stimulus

    pf = load_mapping(tomllib.loads(GOOD), source="n1.toml")
    neuron = pf.section("neuron", NeuronSection)
    assert neuron.tau_m == pytest.approx(20e-3) and neuron.v_th == pytest.approx(-50e-3)
    assert pf.section("stimulus", Stimulus).amplitude == pytest.approx(250e-12)
    with pytest.raises(ParamError, match=r"n1.toml: this file has no \[network\] section"):
        pf.section("network", NeuronSection)
    with pytest.raises(TypeError, match="section \\[neuron\\] is a NeuronSection, not a Stimulus"):
        pf.section("neuron", Stimulus)
