"""sky130 layout of the analog neuron (gdsfactory), for area in sweeps and GDS on request.

The cell is built from the ``sky130`` package's gdsfactory pcells: every
``sky130_fd_pr__nfet_01v8`` / ``pfet_01v8`` instance of the transistor-level
netlist (:func:`lifhw.analog.sky130.device_lines`) becomes an ``nmos``/``pmos``
pcell with the netlist's W and L (µm), and every capacitor becomes a MIM
capacitor (``mimcap_1``) sized for its value. Devices are placed in rows (nfets,
pfets, capacitors) with a fixed spacing; routing is not drawn, so the area is
that of a compact placement, a lower bound of a routed cell (~ +30-50 % for
routing in hand layouts of this size).

MIM sizing (the pcell is geometry only): the sky130 MIM capacitor
(``sky130_fd_pr__cap_mim_m3_1``) has 2.00 fF/µm² of area capacitance plus
0.19 fF/µm of perimeter (fringe) capacitance in the tt corner (1.778-2.231
fF/µm² over corners; SkyWater PDK documentation, "MiM capacitor"). A square top
plate of side ``s`` (µm) gives ``C = 2.00 s² + 0.19 * 4 s`` fF, solved for ``s``;
above :data:`MIM_MAX_SIDE_UM` the capacitor is an array of equal squares.

gdsfactory and sky130 are imported lazily (~1.5 s, once per process).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lifhw.errors import LifhwError, ParamError

#: MIM area capacitance (F/µm²) and perimeter (fringe) capacitance (F/µm), tt corner.
MIM_AREA_F_PER_UM2 = 2.00e-15
MIM_FRINGE_F_PER_UM = 0.19e-15
#: Largest side (µm) of one MIM square before the capacitor is split into an array.
MIM_MAX_SIDE_UM = 30.0
#: Smallest MIM top plate side (µm) drawn.
MIM_MIN_SIDE_UM = 2.0
#: Spacing (µm) between placed devices (well/diffusion spacing with margin).
SPACING_UM = 1.0
#: Enclosure of the capm plate by metal4 in the ``mimcap_1`` pcell (µm per side).
_CAPM_M4_ENCLOSURE_UM = 0.14

_FET_RE = re.compile(
    r"^X\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+sky130_fd_pr__([np])fet_01v8\s+(.*)$", re.I)
_CAP_RE = re.compile(r"^C\S*\s+\S+\s+\S+\s+([0-9.eE+-]+[a-zA-Z]*)\s*$")
_KV_RE = re.compile(r"(\w+)\s*=\s*([0-9.eE+-]+)")
_CELL_NUMBER = itertools.count()
_SPICE_SUFFIX = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3}


@dataclass(frozen=True)
class Device:
    """One transistor of the neuron.

    Args:
        kind: ``nfet`` or ``pfet``.
        w_um: Gate width (µm).
        l_um: Gate length (µm).
        nf: Number of fingers.
    """

    kind: str
    w_um: float
    l_um: float
    nf: int = 1


#: The neuron's devices when no transistor-level netlist is available: a 5-transistor
#: OTA leak, a 5-transistor comparator, two inverters and the reset switch (the
#: geometry of the sky130 topology's defaults).
DEFAULT_DEVICES: tuple[Device, ...] = (
    *(Device("nfet", 2.0, 4.0) for _ in range(4)), *(Device("pfet", 2.0, 4.0) for _ in range(2)),
    *(Device("nfet", 2.0, 4.0) for _ in range(2)), *(Device("nfet", 1.0, 1.0) for _ in range(2)),
    *(Device("pfet", 2.0, 4.0) for _ in range(2)),
    *(Device("nfet", 0.5, 0.5) for _ in range(2)), *(Device("pfet", 1.0, 0.5) for _ in range(2)),
    Device("nfet", 1.0, 0.15),
)


def mim_side_um(capacitance: float) -> tuple[float, int]:
    """Top-plate side (µm) and squares per row of a MIM capacitor of ``capacitance`` (F).

    Solves ``k² (a s² + 4 f s) = C`` for the side ``s`` of ``k × k`` equal squares,
    with the smallest ``k`` that keeps ``s <= MIM_MAX_SIDE_UM``.
    """
    if not (math.isfinite(capacitance) and capacitance > 0):
        raise ParamError(f"capacitance must be > 0 F, got {capacitance!r}")
    a, f = MIM_AREA_F_PER_UM2, MIM_FRINGE_F_PER_UM
    k = 1
    while True:
        per_square = capacitance / (k * k)
        side = (-4 * f + math.sqrt(16 * f * f + 4 * a * per_square)) / (2 * a)
        if side <= MIM_MAX_SIDE_UM:
            return max(side, MIM_MIN_SIDE_UM), k
        k += 1


def mim_capacitance(side_um: float, squares: int = 1) -> float:
    """Capacitance (F) of ``squares`` MIM squares of side ``side_um`` (µm)."""
    return squares * (MIM_AREA_F_PER_UM2 * side_um**2 + MIM_FRINGE_F_PER_UM * 4 * side_um)


def _spice_value(text: str) -> float:
    match = re.match(r"^([0-9.eE+-]+)([a-zA-Z]*)$", text)
    if not match:
        raise ValueError(text)
    suffix = match.group(2).lower()
    scale = 1e6 if suffix.startswith("meg") else _SPICE_SUFFIX.get(suffix[:1], 1.0)
    return float(match.group(1)) * scale


def devices_from_netlist(text: str) -> tuple[tuple[Device, ...], tuple[float, ...]]:
    """Transistors (W/L in µm, sky130 scale) and capacitor values (F) of a netlist."""
    fets: list[Device] = []
    caps: list[float] = []
    for raw in text.splitlines():
        line = raw.strip()
        match = _FET_RE.match(line)
        if match:
            values = {k.lower(): float(v) for k, v in _KV_RE.findall(match.group(2))}
            if "w" not in values or "l" not in values:
                continue
            count = int(values.get("m", 1))
            device = Device("nfet" if match.group(1).lower() == "n" else "pfet",
                            values["w"], values["l"], int(values.get("nf", 1)))
            fets.extend([device] * count)
            continue
        match = _CAP_RE.match(line)
        if match:
            try:
                caps.append(_spice_value(match.group(1)))
            except ValueError:
                continue
    return tuple(fets), tuple(caps)


def _pcells() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import gdsfactory as gf
        import sky130.pcells as pcells
    return gf, pcells


def _mim(gf: Any, pcells: Any, capacitance: float) -> Any:
    side, k = mim_side_um(capacitance)
    m4 = round(max(side - 2 * _CAPM_M4_ENCLOSURE_UM, 0.5), 3)
    unit = pcells.mimcap_1(m4_length=m4, m4_width=m4)
    if k == 1:
        return unit
    array = gf.Component()
    pitch_x = unit.size_info.width + SPACING_UM
    pitch_y = unit.size_info.height + SPACING_UM
    for i in range(k):
        for j in range(k):
            ref = array.add_ref(unit)
            ref.move((i * pitch_x, j * pitch_y))
    return array


def _fet(pcells: Any, device: Device) -> Any:
    # The pcells' minimum: W >= 0.42 µm, L >= 0.15 µm (sky130 device rules).
    w = round(max(device.w_um, 0.42), 3)
    length = round(max(device.l_um, 0.15), 3)
    make = pcells.nmos if device.kind == "nfet" else pcells.pmos
    return make(gate_width=w, gate_length=length, nf=device.nf)


def neuron_cell(capacitances: Sequence[float], devices: Sequence[Device] = DEFAULT_DEVICES,
                name: str = "lif_neuron") -> Any:
    """One gdsfactory component: the neuron's transistors and MIM capacitors, placed.

    Args:
        capacitances: Capacitor values (F): the membrane capacitor first.
        devices: Transistors with W/L (µm).
        name: Cell name.

    Returns:
        A ``gdsfactory.Component`` (rows: nfets, pfets, then the capacitors).
    """
    gf, pcells = _pcells()
    # Cell names must be unique in gdsfactory's global layout: number them.
    cell = gf.Component(name=f"{name}_{next(_CELL_NUMBER)}")
    rows: list[list[Any]] = [
        [_fet(pcells, d) for d in devices if d.kind == "nfet"],
        [_fet(pcells, d) for d in devices if d.kind == "pfet"],
        [_mim(gf, pcells, c) for c in capacitances],
    ]
    y = 0.0
    for row in rows:
        if not row:
            continue
        x = 0.0
        height = 0.0
        for comp in row:
            ref = cell.add_ref(comp)
            ref.move((x - ref.xmin, y - ref.ymin))
            x += comp.size_info.width + SPACING_UM
            height = max(height, comp.size_info.height)
        y += height + SPACING_UM
    return cell


@lru_cache(maxsize=4096)
def _area(capacitances: tuple[float, ...], devices: tuple[Device, ...]) -> float:
    cell = neuron_cell(capacitances, devices, name="lif_neuron")
    return float(cell.size_info.width * cell.size_info.height)


def neuron_area_um2(capacitance: float, devices: Sequence[Device] = DEFAULT_DEVICES,
                    extra_capacitances: Sequence[float] = ()) -> float:
    """Bounding-box area (µm²) of the placed neuron cell.

    Args:
        capacitance: Membrane capacitance (F).
        devices: Transistors (default: :data:`DEFAULT_DEVICES`).
        extra_capacitances: Other capacitors (F), e.g. the refractory one.
    """
    caps = tuple(float(f"{c:.6g}") for c in (capacitance, *extra_capacitances))
    return _area(caps, tuple(devices))


def circuit_devices(pf: Any) -> tuple[tuple[Device, ...], tuple[float, ...]]:
    """Devices and capacitors of a parameter file's ``[circuit]`` at transistor level.

    A behavioural circuit is laid out as its sky130 counterpart (same C, biases
    and ``[circuit.sky130]`` sizes). Without the sky130 generator the
    :data:`DEFAULT_DEVICES` and the membrane capacitor are used.
    """
    circuit = pf.require("circuit")
    try:
        from lifhw.analog.sky130 import device_lines
    except ImportError:
        return DEFAULT_DEVICES, (circuit.membrane_capacitance,)
    sky = dataclasses.replace(circuit, topology="sky130")
    fets, caps = devices_from_netlist("\n".join(device_lines(sky)))
    if not caps:
        caps = (circuit.membrane_capacitance,)
    return fets or DEFAULT_DEVICES, caps


def area_from_circuit(pf: Any) -> float:
    """Layout area (µm²) of a parameter file's analog neuron (``[circuit]`` or ``[neuron]``)."""
    if "circuit" in pf.sections:
        fets, caps = circuit_devices(pf)
        return neuron_area_um2(caps[0], fets, caps[1:])
    return neuron_area_um2(pf.lif.c_m)


def write_point_gds(pf: Any, directory: str | Path, key: str) -> Path:
    """Write the neuron cell of one design point to ``<directory>/<key>.gds`` (atomically)."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", key):
        raise ParamError(f"not a point key: {key!r}")
    if "circuit" in pf.sections:
        fets, caps = circuit_devices(pf)
    else:
        fets, caps = DEFAULT_DEVICES, (pf.lif.c_m,)
    cell = neuron_cell(caps, fets, name=f"lif_{key}")
    target = Path(directory) / f"{key}.gds"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.gds")
        cell.write_gds(tmp)
        os.replace(tmp, target)
    except OSError as err:
        raise LifhwError(f"cannot write {target}: {err.strerror or err}") from None
    return target
