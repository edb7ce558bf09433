"""Physical quantities: the one place where unit strings become SI floats.

Parameter files may write ``"1 pF"``, ``"20 ms"``, ``"-65 mV"``, ``"3.5 nA"``,
``"27 degC"``, ``"2 um"`` or a plain number (taken as SI). Everything inside
lifhw is SI: farad, ampere, volt, second, hertz, ohm, siemens, kelvin, metre,
joule, watt.

>>> parse_quantity("1 pF", "F")
1e-12
>>> parse_quantity("-65 mV", "V")
-0.065
"""

from __future__ import annotations

import math
import re

from lifhw.errors import ParamError

#: SI prefixes accepted in front of a unit symbol.
PREFIXES: dict[str, float] = {
    "a": 1e-18,
    "f": 1e-15,
    "p": 1e-12,
    "n": 1e-9,
    "u": 1e-6,
    "µ": 1e-6,
    "μ": 1e-6,
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
}

#: Unit symbols, canonical symbol -> accepted spellings (without prefix).
UNIT_SPELLINGS: dict[str, tuple[str, ...]] = {
    "F": ("F",),
    "A": ("A",),
    "V": ("V",),
    "s": ("s", "sec"),
    "Hz": ("Hz",),
    "Ohm": ("Ohm", "ohm", "Ω", "Ω"),
    "S": ("S", "siemens"),
    "K": ("K",),
    "m": ("m",),
    "m2": ("m2", "m^2", "m²"),
    "J": ("J",),
    "W": ("W",),
    "F/m2": ("F/m2", "F/m^2", "F/m²"),
    "1": ("",),
}

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY_RE = re.compile(rf"^\s*({_NUMBER})\s*([^\s\d+-][^\s]*)?\s*$")

UNIT_NAMES: dict[str, str] = {
    "F": "farad (e.g. '1 pF')",
    "A": "ampere (e.g. '5 nA')",
    "V": "volt (e.g. '-65 mV')",
    "s": "second (e.g. '20 ms')",
    "Hz": "hertz (e.g. '10 Hz')",
    "Ohm": "ohm (e.g. '100 MOhm')",
    "S": "siemens (e.g. '10 nS')",
    "K": "kelvin, or degC (e.g. '27 degC')",
    "m": "metre (e.g. '2 um')",
    "m2": "square metre (e.g. '100 um2')",
    "J": "joule (e.g. '1 pJ')",
    "W": "watt (e.g. '1 uW')",
    "F/m2": "farad per square metre (e.g. '2 fF/um2')",
    "1": "a dimensionless number",
}

ZERO_CELSIUS_K = 273.15


def _split_prefix(symbol: str, unit: str) -> float | None:
    """Return the prefix factor if ``symbol`` is ``unit`` with an SI prefix, else None."""
    for spelling in UNIT_SPELLINGS[unit]:
        if unit == "1":
            return 1.0 if symbol == "" else None
        if unit in ("m2", "F/m2"):
            # Area units: the prefix applies to the length, so it is squared.
            base = spelling if unit == "m2" else spelling.split("/")[1]
            if unit == "m2":
                for prefix, factor in PREFIXES.items():
                    if symbol == prefix + base:
                        return factor**2
            else:
                for cprefix, cfactor in PREFIXES.items():
                    for lprefix, lfactor in PREFIXES.items():
                        if symbol == f"{cprefix}F/{lprefix}{base}":
                            return cfactor / lfactor**2
            continue
        if not symbol.endswith(spelling):
            continue
        prefix = symbol[: len(symbol) - len(spelling)]
        if prefix in PREFIXES:
            # "m" alone is metre, not milli-nothing; "ms" is milli-second.
            return PREFIXES[prefix]
    return None


def parse_quantity(value: object, unit: str, *, path: str = "") -> float:
    """Convert a unit string or a plain number to an SI float.

    Args:
        value: ``"1 pF"``, ``"20ms"``, ``3.5e-9`` (already SI), or ``"27 degC"``
            for temperatures.
        unit: Canonical symbol of the expected unit (a key of :data:`UNIT_SPELLINGS`).
        path: Field path used in error messages.

    Returns:
        The value in SI units (kelvin for temperatures).

    Raises:
        ParamError: Not a number, or a unit other than the expected one.
    """
    if unit not in UNIT_SPELLINGS:
        raise KeyError(f"unknown unit {unit!r}")
    expected = UNIT_NAMES[unit]
    if isinstance(value, bool):
        raise ParamError(f"expected a quantity in {expected}, got a boolean", path=path)
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        match = _QUANTITY_RE.match(value)
        if not match:
            raise ParamError(
                f"cannot read {value!r} as a quantity; expected {expected}", path=path
            )
        number = float(match.group(1))
        symbol = match.group(2) or ""
        if unit == "K" and symbol in ("degC", "°C", "C"):
            number = number + ZERO_CELSIUS_K
        elif symbol == "" and unit != "1":
            pass  # a bare number in a string is taken as SI, like a bare number
        else:
            factor = _split_prefix(symbol, unit)
            if factor is None:
                raise ParamError(
                    f"unit {symbol!r} in {value!r} does not match: expected {expected}",
                    path=path,
                )
            number *= factor
    else:
        raise ParamError(
            f"expected a quantity in {expected}, got {type(value).__name__}", path=path
        )
    if not math.isfinite(number):
        raise ParamError(f"value {value!r} is not finite; expected {expected}", path=path)
    return number


def format_quantity(value: float, unit: str, digits: int = 4) -> str:
    """Format an SI value with an engineering prefix, e.g. ``1e-12, "F" -> "1 pF"``."""
    if unit == "K":
        return f"{value - ZERO_CELSIUS_K:.{digits}g} degC"
    if unit == "1":
        return f"{value:.{digits}g}"
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    exponent = int(math.floor(math.log10(abs(value)) / 3) * 3)
    exponent = max(-18, min(9, exponent))
    symbols = {-18: "a", -15: "f", -12: "p", -9: "n", -6: "u", -3: "m", 0: "", 3: "k",
               6: "M", 9: "G"}
    scaled = value / 10.0**exponent
    return f"{scaled:.{digits}g} {symbols[exponent]}{unit}"


#: Boltzmann constant (J/K) and elementary charge (C), CODATA 2018 exact values.
BOLTZMANN = 1.380649e-23
ELEMENTARY_CHARGE = 1.602176634e-19


def thermal_voltage(temperature_k: float) -> float:
    """U_T = k T / q in volts (25.85 mV at 27 degC)."""
    return BOLTZMANN * temperature_k / ELEMENTARY_CHARGE
