"""Device records: what a transistor-level generator builds, before it is text.

A generator describes its circuit as a tuple of frozen :class:`Device` records
(grouped into commented :class:`Block`\\ s); the netlist text
(:func:`render`) and the layout (:mod:`lifhw.layout`) are both drawn from the
same records, so a size can never differ between what is simulated and what is
laid out. All dimensions are SI (metres, farads, volts, amperes); rendering
converts FET and MIM geometry to the micrometres of the sky130 library (which
sets ``scale=1e-6``).

Kinds:

==============  ======================================  =========================
``nfet/pfet``   ``X<name> d g s b <model> W= L=``       ``nodes`` = (d, g, s, b)
``capacitor``   ``<name> a b <value>`` (ideal)          ``nodes`` = (a, b)
``mim``         ``X<name> a b <model> W= L=`` per        ``nodes`` = (a, b);
                square, ``squares`` x ``squares``       :func:`mim_geometry`
``vdc/idc``     ``<name> a b DC <value>``               ideal sources
==============  ======================================  =========================

MIM capacitor (``sky130_fd_pr__cap_mim_m3_1``): the sky130 model computes
``C = ca (W + dw) (L + dw)`` with ``ca = 2 fF/um^2`` and the plate growth
``dw = 0.15 um`` (``sw_cap_mim_ca``, ``sw_cap_mim_dw`` in the PDK's
``parameters_cap_nom.spice``, tt). :func:`mim_geometry` solves it for square
plates, split into a ``k x k`` array of equal squares above
:data:`MIM_MAX_SIDE_UM`; the netlist instantiates exactly those squares and the
layout draws them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from lifhw.errors import ParamError

#: MIM model constants (sky130 parameters_cap_nom.spice, tt): area capacitance
#: (F/um^2) of the plate grown by ``MIM_GROWTH_UM`` in width and length.
MIM_DENSITY_F_PER_UM2 = 2e-15
MIM_GROWTH_UM = 0.15
#: Largest side (um) of one MIM square before the capacitor becomes an array.
MIM_MAX_SIDE_UM = 30.0
#: Smallest MIM plate side (um) a netlist may instantiate (sky130 capm min width).
MIM_MIN_SIDE_UM = 1.0
#: Largest MIM capacitor (F) sized at all: 1 uF is already a 0.5 cm^2 array.
MIM_MAX_CAPACITANCE_F = 1e-6

KINDS = ("nfet", "pfet", "capacitor", "mim", "vdc", "idc")


@dataclass(frozen=True)
class Device:
    """One circuit element (SI units).

    Args:
        name: Instance name; subcircuit instances (FETs, MIM) render with an ``X``
            prefix (``ML1`` -> ``XML1``), sources and ideal capacitors as named.
        kind: One of :data:`KINDS`.
        nodes: Terminal nodes in SPICE order.
        model: Subcircuit name (FETs, MIM).
        w: Gate or plate width (m).
        l: Gate or plate length (m).
        value: Capacitance (F) of a capacitor or MIM; DC value (V or A) of a source.
        multiplier: Parallel copies (FETs).
        fingers: Gate fingers (FETs; layout only).
        squares: MIM array size: ``squares x squares`` plates of ``w x l``.
    """

    name: str
    kind: str
    nodes: tuple[str, ...]
    model: str = ""
    w: float = 0.0
    l: float = 0.0
    value: float = 0.0
    multiplier: int = 1
    fingers: int = 1
    squares: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown device kind {self.kind!r}")

    @property
    def is_fet(self) -> bool:
        """An nfet or pfet."""
        return self.kind in ("nfet", "pfet")

    @property
    def is_capacitor(self) -> bool:
        """An ideal or MIM capacitor."""
        return self.kind in ("capacitor", "mim")


@dataclass(frozen=True)
class Block:
    """Devices under one netlist comment line."""

    comment: str
    devices: tuple[Device, ...]


def mim_geometry(capacitance: float) -> tuple[float, int]:
    """Side (m) and squares per row ``k`` of a MIM capacitor of ``capacitance`` (F).

    Solves ``k^2 ca (s + dw)^2 = C`` (the sky130 model, module docstring) with the
    smallest ``k`` that keeps ``s <= MIM_MAX_SIDE_UM``.

    Raises:
        ParamError: ``capacitance`` is not a positive finite number, or is above
            :data:`MIM_MAX_CAPACITANCE_F`.
    """
    if not (math.isfinite(capacitance) and capacitance > 0):
        raise ParamError(f"capacitance must be > 0 F, got {capacitance!r}")
    if capacitance > MIM_MAX_CAPACITANCE_F:
        raise ParamError(f"{capacitance:g} F is beyond a MIM capacitor array "
                         f"(at most {MIM_MAX_CAPACITANCE_F:g} F)")
    # k (s + dw) = sqrt(C / ca): the smallest k with s <= MIM_MAX_SIDE_UM, in closed
    # form (a count-up loop hangs for absurd values such as 1e300 F).
    span_um = math.sqrt(capacitance / MIM_DENSITY_F_PER_UM2)
    k = max(1, math.ceil(span_um / (MIM_MAX_SIDE_UM + MIM_GROWTH_UM)))
    while k > 1 and span_um / (k - 1) - MIM_GROWTH_UM <= MIM_MAX_SIDE_UM:
        k -= 1  # rounding of the division
    side_um = span_um / k - MIM_GROWTH_UM
    if side_um > MIM_MAX_SIDE_UM:
        k += 1
        side_um = span_um / k - MIM_GROWTH_UM
    return side_um * 1e-6, k


def mim_capacitance(side: float, squares: int = 1) -> float:
    """Capacitance (F) of ``squares x squares`` MIM plates of side ``side`` (m)."""
    return squares * squares * MIM_DENSITY_F_PER_UM2 * (side * 1e6 + MIM_GROWTH_UM) ** 2


def mim(name: str, plus: str, minus: str, capacitance: float, model: str) -> Device:
    """A MIM capacitor record sized by :func:`mim_geometry`.

    Raises:
        ParamError: The plate would be below :data:`MIM_MIN_SIDE_UM`.
    """
    side, squares = mim_geometry(capacitance)
    if side * 1e6 < MIM_MIN_SIDE_UM:
        raise ParamError(f"{capacitance:g} F is below a {MIM_MIN_SIDE_UM:g} um x "
                         f"{MIM_MIN_SIDE_UM:g} um MIM plate; use capacitor = 'ideal'",
                         path="sky130.capacitor")
    return Device(name, "mim", (plus, minus), model=model, w=side, l=side,
                  value=capacitance, squares=squares)


def _number(value: float) -> str:
    from lifhw.analog.netlist import spice_number

    return spice_number(value)


def _um(value_m: float) -> str:
    return _number(round(value_m * 1e6, 6))


def render(device: Device) -> list[str]:
    """Netlist line(s) of one device (a MIM array gives one line per square)."""
    nodes = " ".join(device.nodes)
    if device.is_fet:
        extra = f" m={device.multiplier}" if device.multiplier != 1 else ""
        return [f"X{device.name} {nodes} {device.model} W={_um(device.w)} "
                f"L={_um(device.l)}{extra}"]
    if device.kind == "mim":
        count = device.squares * device.squares
        names = [f"X{device.name}"] + [f"X{device.name}_{k}" for k in range(2, count + 1)]
        return [f"{name} {nodes} {device.model} W={_um(device.w)} L={_um(device.l)}"
                for name in names]
    if device.kind == "capacitor":
        return [f"{device.name} {nodes} {_number(device.value)}"]
    return [f"{device.name} {nodes} DC {_number(device.value)}"]


def render_blocks(blocks: Iterable[Block]) -> list[str]:
    """Netlist lines of commented blocks of devices."""
    lines: list[str] = []
    for block in blocks:
        lines.append(f"* {block.comment}")
        for device in block.devices:
            lines.extend(render(device))
    return lines


def flatten(blocks: Iterable[Block]) -> tuple[Device, ...]:
    """All devices of the blocks, in netlist order."""
    return tuple(device for block in blocks for device in block.devices)
