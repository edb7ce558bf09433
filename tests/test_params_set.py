"""``--set dotted.path=VALUE``: one field of a parameter file overridden, validated like it."""

from __future__ import annotations

import pytest

from lifhw import params
from lifhw.errors import ParamError

BEHAVIORAL = "circuits/ota_lif_behavioral.toml"


def test_override_changes_one_field_with_units():
    base = params.load(BEHAVIORAL)
    pf = params.load(BEHAVIORAL, overrides=["stimulus.amplitude=3 nA",
                                            'stimulus.t_stop="2 ms"'])
    assert pf.stimulus.amplitude == pytest.approx(3e-9)
    assert pf.stimulus.t_stop == pytest.approx(2e-3)
    assert pf.circuit == base.circuit


def test_override_values_are_read_as_toml_where_they_are():
    assert params.parse_override("circuit.kappa=0.65") == ("circuit.kappa", 0.65)
    assert params.parse_override('design.corners=["tt", "ss"]') == ("design.corners",
                                                                    ["tt", "ss"])
    assert params.parse_override("stimulus.amplitude = 3 nA") == ("stimulus.amplitude",
                                                                  "3 nA")


def test_override_makes_missing_tables():
    pf = params.load("circuits/ota_lif_sky130.toml",
                     overrides=["circuit.sky130.comparator_bias_current=20 nA"])
    assert pf.circuit.sky130.comparator_bias_current == pytest.approx(20e-9)


@pytest.mark.parametrize(("item", "words"), [
    ("stimulus.amplitude=3 pF", "stimulus.amplitude"),
    ("stimulus.amplitud=3 nA", "did you mean 'amplitude'"),
    ("stimulus.amplitude", "expected dotted.path=VALUE"),
    ("stimulus..x=1", "expected dotted.path=VALUE"),
    ("stimulus.kind.x=1", "is a value, not a table"),
    ("stimulus=1", "is a table"),
])
def test_bad_overrides_name_the_field(item, words):
    with pytest.raises(ParamError, match=words) as info:
        params.load(BEHAVIORAL, overrides=[item])
    assert BEHAVIORAL in str(info.value) or "--set" in str(info.value)


def test_cli_set_reaches_the_netlist_and_bad_values_exit_2(tmp_path, capsys):
    from lifhw.app.cli import main

    out = tmp_path / "n"
    assert main(["netlist", BEHAVIORAL, "-o", str(out), "--set", "stimulus.amplitude=3 nA",
                 "--set", "stimulus.t_stop=2 ms"]) == 0
    text = next(out.glob("*.cir")).read_text()
    assert "3e-09" in text
    capsys.readouterr()
    assert main(["netlist", BEHAVIORAL, "-o", str(out),
                 "--set", "stimulus.amplitude=3 pF"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stimulus.amplitude" in err[0]
    # outside the CLI nothing is overridden
    assert params.load(BEHAVIORAL).stimulus.amplitude != pytest.approx(3e-9)
