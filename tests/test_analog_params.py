"""[circuit] section: the issue's contract loads; every bad input is one clear error,
exit status 2 from the CLI, and no file is left behind."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lifhw.analog.params import CircuitSection
from lifhw.app.cli import main
from lifhw.errors import ParamError
from lifhw.params import load, load_mapping

ROOT = Path(__file__).resolve().parents[1]

CONTRACT = """
name = "ota_lif_demo"
[circuit]
topology = "behavioral"          # or "sky130"
membrane_capacitance = "1 pF"
leak_bias_current = "5 pA"       # OTA tail current I_b
kappa = 0.7                      # behavioural only; sky130 extracts it
v_rest = "0.6 V"
v_threshold = "0.65 V"
v_reset = "0.6 V"
refractory = "2 ms"
supply = "1.8 V"                 # sky130
corner = "tt"                    # sky130
temperature = "27 degC"          # optional; default 27 °C as in ngspice; U_T = kT/q
[stimulus]
kind = "step"                    # constant/step current into the membrane
amplitude = "20 pA"
t_stop = "300 ms"
"""

# Physical constants written out here (CODATA 2018 exact), independent of lifhw.units.
K_B = 1.380649e-23
Q_E = 1.602176634e-19


def _write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    file = tmp_path / name
    file.write_text(text)
    return file


def test_contract_example_loads_to_si(tmp_path: Path) -> None:
    pf = load(_write(tmp_path, CONTRACT))
    c = pf.circuit
    assert isinstance(c, CircuitSection)
    assert c.membrane_capacitance == pytest.approx(1e-12)
    assert c.leak_bias_current == pytest.approx(5e-12)
    assert c.temperature == pytest.approx(300.15)
    assert (c.v_rest, c.v_threshold, c.v_reset) == pytest.approx((0.6, 0.65, 0.6))
    assert c.refractory == pytest.approx(2e-3)
    assert c.corner == "tt"
    assert pf.stimulus.amplitude == pytest.approx(20e-12)


def test_lif_realised_by_the_circuit(tmp_path: Path) -> None:
    pf = load(_write(tmp_path, CONTRACT))
    u_t = K_B * 300.15 / Q_E  # 25.865 mV
    g_m = 0.7 * 5e-12 / (2 * u_t)
    lif = pf.lif  # ParamFile.lif falls back to the [circuit] section's lif()
    assert lif.tau_m == pytest.approx(1e-12 / g_m, rel=1e-12)
    assert lif.r_m == pytest.approx(1 / g_m, rel=1e-12)
    assert lif.tau_m == pytest.approx(14.78e-3, rel=1e-3)
    assert (lif.v_rest, lif.v_th, lif.v_reset, lif.t_ref) == pytest.approx(
        (0.6, 0.65, 0.6, 2e-3))
    assert pf.circuit.linear_range == pytest.approx(2 * u_t / 0.7)


def test_temperature_default_is_27_degc() -> None:
    pf = load_mapping({"name": "a", "circuit": {
        "topology": "behavioral", "membrane_capacitance": "1 pF",
        "leak_bias_current": "5 pA", "v_rest": "0.6 V", "v_threshold": "0.65 V",
        "v_reset": "0.6 V"}})
    assert pf.circuit.temperature == pytest.approx(273.15 + 27)
    assert math.isclose(pf.circuit.kappa, 0.7)


@pytest.mark.parametrize("old,new,path,words", [
    ('topology = "behavioral"          # or "sky130"', 'topology = "behavioural"',
     "circuit.topology", ["did you mean 'behavioral'"]),
    ('leak_bias_current = "5 pA"       # OTA tail current I_b', "",
     "circuit.leak_bias_current", ["missing", "ampere"]),
    ('membrane_capacitance = "1 pF"', 'membrane_capacitance = "1 pA"',
     "circuit.membrane_capacitance", ["does not match", "farad"]),
    ('v_threshold = "0.65 V"', 'v_threshold = "0.55 V"', "circuit.v_threshold",
     ["above v_rest"]),
    ('kappa = 0.7 ', 'kappa = 1.5 ', "circuit.kappa", ["<= 1"]),
    ('membrane_capacitance = "1 pF"', 'membrane_capacitance = "-1 pF"',
     "circuit.membrane_capacitance", ["> 0"]),
    ('corner = "tt"', 'corner = "tt\\n.control\\nshell rm -rf /\\n.endc"', "circuit.corner",
     ["is not one of"]),
    ('name = "ota_lif_demo"', 'name = "x\\n.control"', "name", ["not a valid name"]),
    ('name = "ota_lif_demo"', 'name = "shell rm"', "name", ["not a valid name"]),
    ('v_rest = "0.6 V"', 'v_rest = "0.6 V"\nv_rset = "1 V"', "circuit.v_rset",
     ["unknown key"]),
    ('v_reset = "0.6 V"', 'v_reset = "0.7 V"', "circuit.v_threshold", ["above v_reset"]),
    ('supply = "1.8 V"', 'supply = "0.62 V"', "circuit.v_threshold", ["supply"]),
])
def test_bad_input_is_one_clear_error(tmp_path: Path, old: str, new: str, path: str,
                                      words: list[str]) -> None:
    assert old in CONTRACT
    file = _write(tmp_path, CONTRACT.replace(old, new))
    with pytest.raises(ParamError) as info:
        load(file)
    message = str(info.value)
    assert str(file) in message
    assert path in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("command", ["netlist", "simulate", "compare"])
def test_cli_bad_file_exits_2_without_output(tmp_path: Path, capsys: pytest.CaptureFixture,
                                             command: str) -> None:
    bad = _write(tmp_path, CONTRACT.replace('v_threshold = "0.65 V"',
                                            'v_threshold = "0.5 V"'))
    out = tmp_path / "out"
    argv = [command, str(bad)] + (["-o", str(out)] if command == "netlist" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "circuit.v_threshold" in err
    assert not out.exists() or not any(out.iterdir())


def test_committed_examples_load() -> None:
    for name in ("ota_lif_behavioral", "ota_lif_sky130"):
        pf = load(ROOT / "circuits" / f"{name}.toml")
        assert pf.name == name
        assert pf.circuit.topology in name


@pytest.mark.parametrize("command", ["simulate", "compare"])
def test_cli_without_ngspice_one_line_with_apt_get(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   command: str) -> None:
    good = _write(tmp_path, CONTRACT)
    plot = tmp_path / "out.png"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    argv = [command, str(good)] + (["--plot", str(plot)] if command == "compare" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "ngspice is not installed" in err and "apt-get install -y ngspice" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]
