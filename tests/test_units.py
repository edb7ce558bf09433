"""Unit strings become SI floats; anything else is a clear error."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifhw.errors import ParamError
from lifhw.units import format_quantity, parse_quantity, thermal_voltage


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("1 pF", "F", 1e-12),
        ("20 ms", "s", 20e-3),
        ("-65 mV", "V", -65e-3),
        ("3.5 nA", "A", 3.5e-9),
        ("5pA", "A", 5e-12),
        ("100 MOhm", "Ohm", 100e6),
        ("10 nS", "S", 10e-9),
        ("2 um", "m", 2e-6),
        ("4 um2", "m2", 4e-12),
        ("2 fF/um2", "F/m2", 2e-3),
        ("27 degC", "K", 300.15),
        ("300 K", "K", 300.0),
        ("1e3 Hz", "Hz", 1e3),
        (1.5e-12, "F", 1.5e-12),
        (7, "s", 7.0),
        ("0.7", "1", 0.7),
    ],
)
def test_parse(text: object, unit: str, expected: float) -> None:
    assert parse_quantity(text, unit) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "unit"),
    [("1 pA", "F"), ("20 mV", "s"), ("abc", "V"), ("1 xF", "F"), (True, "F"), ("nan", "V"),
     ([1], "V"), ("1 pF; .control", "F")],
)
def test_parse_rejects(text: object, unit: str) -> None:
    with pytest.raises(ParamError) as info:
        parse_quantity(text, unit, path="circuit.x")
    assert "circuit.x" in str(info.value)


def test_error_names_expected_unit() -> None:
    with pytest.raises(ParamError, match="expected farad"):
        parse_quantity("1 pA", "F")


def test_thermal_voltage_at_27_degc() -> None:
    # k_B = 8.617333262e-5 eV/K (CODATA 2018), so U_T = k_B T in volts.
    assert thermal_voltage(300.15) == pytest.approx(8.617333262e-5 * 300.15, rel=1e-9)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda x: x != 0))
def test_format_parse_roundtrip(value: float) -> None:
    text = format_quantity(value * 1e-9, "A", digits=17)
    assert math.isclose(parse_quantity(text, "A"), value * 1e-9, rel_tol=1e-12)
