"""sky130 layout of the analog neuron (gdsfactory), for area in sweeps and GDS on request.

The cell is built from the ``sky130`` package's gdsfactory pcells, from the
same device records the netlist is rendered from (the topology record's
``devices``, e.g. :func:`lifhw.analog.sky130.devices`; no netlist text is
parsed): every nfet/pfet record becomes an ``nmos``/``pmos`` pcell with its W
and L (µm), one per multiplier copy, and every capacitor a MIM capacitor
(``mimcap_1``) sized for its value. Routing is not drawn: the area is that of a
placement that obeys the spacing rules between devices, a lower bound of a
routed cell.

**Transistors.** The netlist's nfets have their body on the substrate (node
``0``) and its pfets in an n-well tied to the supply. The ``nmos`` pcell draws
every device in its own deep n-well (64/18) with a p-well resistor marker
(64/13), i.e. an isolated-body device, which is not the simulated one (and
would need 6.3 µm between deep n-wells, dnwell.3): both layers are removed. The
pcell's multi-finger option (``nf``) draws gates in series (contacts only at the
two ends), so a record with ``fingers > 1`` is drawn as that many single-finger
devices of ``W / fingers`` (the SPICE meaning of ``nf``). Devices are packed in
rows, nfets in the substrate and pfets in rows inside one n-well per column;
the offset between neighbours is the smallest one that meets every spacing rule
of the SkyWater sky130 periphery rules (skywater-pdk ``docs/rules/periphery``)
between their layers, measured on per-layer bounding boxes (conservative):

==================  ====================================================  =======
rule                what                                                  µm
==================  ====================================================  =======
difftap.3           diff/tap to diff/tap                                  0.27
difftap.9           n+ diff to n-well                                     0.34
difftap.11          p+ tap to n-well                                      0.13
nwell.1 / 2a        n-well width / spacing (separate wells)               0.84 / 1.27
poly.2 / 4 / 5      poly to poly / field poly to diff / to tap            0.21 / 0.075 / 0.055
licon.2 / 13 / 14   licon to licon / npc to diff licon / licon to diff    0.17 / 0.09 / 0.19
li.3, ct.2, m1.2    li1, mcon, met1 spacing                               0.17, 0.19, 0.14
npc.2               npc to npc                                            0.27
n/psd.2 / 7         implant to same implant / to opposite-doped diff,tap  0.38 / 0.13
==================  ====================================================  =======

(n/psd.8: an implant never overlaps the opposite one.) An n-well holds the
pfet rows of one column as a single rectangle (grown to the 0.84 µm minimum
width); every pfet pcell brings its own n-tap, so each well is contacted
(nwell.4).

**Capacitors over the transistors.** A sky130 MIM capacitor
(``sky130_fd_pr__cap_mim_m3_1``) is a met3 bottom plate, the capm top plate and
met4 on top, connected through via3: it sits above metal 2, so it may cover
transistors. The rules it must keep: the capm plate must not straddle n-well,
diff, tap, poly, li1 or met1 (capm.10; every such shape under a plate is wholly
inside or wholly outside it), capm to capm 0.84 µm (capm.2a), bottom plate to
bottom plate 1.2 µm (capm.2b; also between the squares of an array), met3
enclosure of capm 0.14 µm (capm.3; drawn 0.15-0.16 µm instead of the pcell's
default 0.5 µm: the simulated capacitance depends on the capm plate only). The
placer builds columns of devices, each narrower and shorter than one plate (or
one square of an array) so that the plate covers it whole with its edges in the
channels around it, and finds every plate's position by a Minkowski-sum search
of the positions whose capm edges cross no such shape (KLayout regions); a plate
that fits nowhere above the devices is placed beside them. The cell's footprint then
approaches max(transistors, capacitors) instead of their sum. Layers left for
routing: li1 and met1 between the pcells' own contacts, all of met2 (and via,
via2), met3 outside the bottom plates, met4 outside the top plates, met5.

Checked independently (``tests/test_layout_rules.py``: the GDS read back with
KLayout against the rule values); the SkyWater KLayout DRC deck of efabless
``mpw_precheck`` (``sky130A_mr.drc``) finds no violation between devices or on
the capacitors, only inside single ``sky130`` package transistor pcells (ct.2,
li.3, m1.2, m1.6; the same in a pcell drawn alone).

MIM sizing (the pcell is geometry only) is the one formula of the sky130 model
the netlist simulates, :func:`lifhw.analog.devices.mim_geometry`
(``C = 2 fF/µm² (s + 0.15 µm)²`` per square; an array of equal squares above
:data:`~lifhw.analog.devices.MIM_MAX_SIDE_UM`). The SkyWater documentation's
2.00 fF/µm² + 0.19 fF/µm perimeter (tt) agrees with it to < 1 % from 0.2 pF up
(the independent check of the tests).

gdsfactory, sky130 and KLayout are imported lazily (~1.5 s, once per process).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lifhw.analog import devices as dv
from lifhw.errors import LifhwError, ParamError

#: Largest side (µm) of one MIM square before the capacitor is split into an array.
MIM_MAX_SIDE_UM = dv.MIM_MAX_SIDE_UM
#: Smallest MIM top plate side (µm) drawn.
MIM_MIN_SIDE_UM = dv.MIM_MIN_SIDE_UM
#: Enclosure of the capm plate by metal4 in the ``mimcap_1`` pcell (µm per side).
_CAPM_M4_ENCLOSURE_UM = 0.14
#: Enclosure of the capm plate by the met3 bottom plate (capm.3, µm; the pcell adds
#: 0.01-0.02 µm to it).
MIM_PLATE_ENCLOSURE_UM = 0.14
#: Bottom plate (met3) to bottom plate spacing of MIM capacitors (capm.2b, µm).
MIM_PLATE_SPACING_UM = 1.2
#: Capm to capm spacing (capm.2a, µm).
CAPM_SPACING_UM = 0.84
#: Clearance (µm) kept between a capm edge and the shapes it must not straddle.
CAPM_EDGE_CLEARANCE_UM = 0.01
#: Layout grid (x.1b, µm): every offset is a multiple of it.
GRID_UM = 0.005

#: GDS layers (sky130 layer map) by name.
LAYERS: dict[str, tuple[int, int]] = {
    "dnwell": (64, 18), "pwell_res": (64, 13), "nwell": (64, 20), "diff": (65, 20),
    "tap": (65, 44), "poly": (66, 20), "licon": (66, 44), "li": (67, 20), "mcon": (67, 44),
    "m1": (68, 20), "nsdm": (93, 44), "psdm": (94, 20), "npc": (95, 20), "m3": (70, 20),
    "via3": (70, 44), "m4": (71, 20), "capm": (89, 44),
}
#: Layers of the pcells that are not part of the simulated device (module docstring).
_STRIPPED = ("dnwell", "pwell_res")
#: Layers a capm plate must not straddle (capm.10).
STRADDLE_LAYERS = ("nwell", "diff", "tap", "poly", "li", "m1")

_DIFFTAP = ("ndiff", "pdiff", "ntap", "ptap")
#: Spacing rules between layers of different devices (µm; module docstring). The
#: diffusions are split by doping: n+ diff/p+ tap of an nfet, p+ diff/n+ tap of a pfet.
SPACING_RULES: tuple[tuple[str, str, float], ...] = (
    *((a, b, 0.27) for a, b in itertools.combinations_with_replacement(_DIFFTAP, 2)),
    ("nwell", "ndiff", 0.34), ("nwell", "ptap", 0.13), ("nwell", "nwell", 1.27),
    ("poly", "poly", 0.21), ("poly", "ndiff", 0.075), ("poly", "pdiff", 0.075),
    ("poly", "ntap", 0.055), ("poly", "ptap", 0.055),
    ("licon", "licon", 0.17), ("npc", "licon", 0.09),
    *(("licon", d, 0.19) for d in _DIFFTAP),
    ("li", "li", 0.17), ("mcon", "mcon", 0.19), ("m1", "m1", 0.14), ("npc", "npc", 0.27),
    ("nsdm", "nsdm", 0.38), ("psdm", "psdm", 0.38), ("nsdm", "psdm", 0.0),
    ("nsdm", "pdiff", 0.13), ("nsdm", "ptap", 0.13),
    ("psdm", "ndiff", 0.13), ("psdm", "ntap", 0.13),
)
#: Largest transistor W (all fingers) or L (µm) and capacitor (F) the layout draws.
MAX_FET_UM = 100.0
MAX_CAPACITANCE_F = 1e-9
#: Smallest n-well width (nwell.1, µm).
NWELL_MIN_WIDTH_UM = 0.84

_CELL_NUMBER = itertools.count()
_SPICE_SUFFIX = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3}
_FET_RE = re.compile(
    r"^X\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+sky130_fd_pr__([np])fet_01v8\s+(.*)$", re.I)
_CAP_RE = re.compile(r"^C\S*\s+\S+\s+\S+\s+([0-9.eE+-]+[a-zA-Z]*)\s*$")
_KV_RE = re.compile(r"(\w+)\s*=\s*([0-9.eE+-]+)")

Box = tuple[float, float, float, float]
Outline = dict[str, Box]


@dataclass(frozen=True)
class Device:
    """One transistor of the neuron.

    Args:
        kind: ``nfet`` or ``pfet``.
        w_um: Gate width (µm; the total over the fingers).
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

    :func:`lifhw.analog.devices.mim_geometry` (the netlist's sizing), with the side
    drawn at least :data:`MIM_MIN_SIDE_UM`.
    """
    side, k = dv.mim_geometry(capacitance)
    return max(side * 1e6, MIM_MIN_SIDE_UM), k


def mim_capacitance(side_um: float, squares: int = 1) -> float:
    """Capacitance (F) of ``squares`` MIM squares of side ``side_um`` (µm)."""
    return squares * dv.mim_capacitance(side_um * 1e-6)


def _spice_value(text: str) -> float:
    match = re.match(r"^([0-9.eE+-]+)([a-zA-Z]*)$", text)
    if not match:
        raise ValueError(text)
    suffix = match.group(2).lower()
    scale = 1e6 if suffix.startswith("meg") else _SPICE_SUFFIX.get(suffix[:1], 1.0)
    return float(match.group(1)) * scale


def devices_from_netlist(text: str) -> tuple[tuple[Device, ...], tuple[float, ...]]:
    """Transistors (W/L in µm, sky130 scale) and capacitor values (F) of a netlist.

    For netlists not generated by lifhw (a hand-written or foreign sky130 netlist);
    lifhw's own circuits are laid out from their device records
    (:func:`circuit_devices`).
    """
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


# ---------------------------------------------------------------------------------
# Geometry of the drawn devices: per-layer bounding boxes (µm)


def _snap_up(value: float) -> float:
    return math.ceil(round(value / GRID_UM, 6)) * GRID_UM


def _unit(device: Device) -> Device:
    """The single-finger device drawn for each finger of ``device``."""
    nf = max(device.nf, 1)
    # The pcells' minimum: W >= 0.42 µm, L >= 0.15 µm (sky130 device rules).
    return Device(device.kind, round(max(device.w_um / nf, 0.42), 3),
                  round(max(device.l_um, 0.15), 3))


def _drawn(devices: Iterable[Device]) -> list[Device]:
    """One single-finger :class:`Device` per drawn pcell."""
    return [unit for d in devices for unit in [_unit(d)] * max(d.nf, 1)]


@lru_cache(maxsize=256)
def _fet(device: Device) -> Any:
    """The pcell of a single-finger ``device`` with the isolation layers removed."""
    gf, pcells = _pcells()
    make = pcells.nmos if device.kind == "nfet" else pcells.pmos
    pcell = make(gate_width=device.w_um, gate_length=device.l_um, nf=1)
    name = f"lifhw_{device.kind}_w{device.w_um:g}_l{device.l_um:g}".replace(".", "p")
    comp = gf.Component(name=f"{name}_{next(_CELL_NUMBER)}")
    comp.add_ref(pcell)
    comp.flatten()
    comp.remove_layers([LAYERS[n] for n in _STRIPPED])
    return comp


def _layer_box(comp: Any, layer: tuple[int, int]) -> Box | None:
    box = comp.dbbox(comp.kcl.layer(*layer))
    if box.empty():
        return None
    return (round(box.left, 4), round(box.bottom, 4), round(box.right, 4), round(box.top, 4))


@lru_cache(maxsize=256)
def _fet_outline(device: Device) -> tuple[tuple[str, Box], ...]:
    """Per-layer boxes of a drawn device; diffusions named by doping (``SPACING_RULES``)."""
    comp = _fet(device)
    n = device.kind == "nfet"
    names = {"diff": "ndiff" if n else "pdiff", "tap": "ptap" if n else "ntap"}
    out: list[tuple[str, Box]] = []
    for layer in ("nwell", "diff", "tap", "poly", "licon", "li", "mcon", "m1", "npc",
                  "nsdm", "psdm"):
        box = _layer_box(comp, LAYERS[layer])
        if box is not None:
            out.append((names.get(layer, layer), box))
    straddle = [b for name, b in out
                if name in ("nwell", *_DIFFTAP, "poly", "li", "m1")]
    out.append(("straddle", _bbox(straddle)))
    out.append(("all", _bbox([b for _, b in out])))
    return tuple(out)


def _bbox(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _shift(outline: Outline, dx: float, dy: float) -> Outline:
    return {k: (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy) for k, b in outline.items()}


def _merge(a: Outline, b: Outline) -> Outline:
    out = dict(a)
    for k, box in b.items():
        out[k] = _bbox([out[k], box]) if k in out else box
    return out


def _offset(fixed: Outline, moving: Outline, axis: int, *, shared_well: bool,
            extra: float = 0.0) -> float:
    """Smallest shift of ``moving`` along ``axis`` (0: x, 1: y) that keeps every
    spacing rule against ``fixed`` (``moving`` ends up after it)."""
    best = -math.inf
    for la, lb, space in SPACING_RULES:
        if shared_well and la == lb == "nwell":
            continue
        for first, second in ((la, lb), (lb, la)):
            if first in fixed and second in moving:
                best = max(best, fixed[first][axis + 2] + space - moving[second][axis])
    if extra and "straddle" in fixed and "straddle" in moving:
        best = max(best, fixed["straddle"][axis + 2] + extra - moving["straddle"][axis])
    return _snap_up(best)


# ---------------------------------------------------------------------------------
# Placement: rows -> columns -> devices beside each other, MIM plates on top


@dataclass
class _Block:
    """Placed devices (pcell origin positions, µm), n-well rectangles and the outline."""

    fets: list[tuple[Device, float, float]] = field(default_factory=list)
    wells: list[Box] = field(default_factory=list)
    outline: Outline = field(default_factory=dict)

    def moved(self, dx: float, dy: float) -> _Block:
        return _Block([(d, x + dx, y + dy) for d, x, y in self.fets],
                      [(b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy) for b in self.wells],
                      _shift(self.outline, dx, dy))

    def add(self, other: _Block) -> _Block:
        return _Block(self.fets + other.fets, self.wells + other.wells,
                      _merge(self.outline, other.outline))

    @property
    def width(self) -> float:
        box = self.outline["all"]
        return box[2] - box[0]

    @property
    def height(self) -> float:
        box = self.outline["all"]
        return box[3] - box[1]


def _rows(devices: Sequence[Device], max_width: float) -> list[_Block]:
    """Devices packed left to right, a new row when ``max_width`` (µm) would be exceeded."""
    rows: list[_Block] = []
    row = _Block()
    for device in devices:
        outline = dict(_fet_outline(device))
        if row.fets:
            x = _offset(row.outline, outline, 0, shared_well=True)
            if x + outline["all"][2] - row.outline["all"][0] > max_width:
                rows.append(row)
                row, x = _Block(), 0.0
        else:
            x = 0.0
        row = row.add(_Block([(device, x, 0.0)], [], _shift(outline, x, 0.0)))
    if row.fets:
        rows.append(row)
    return rows


def _stack(blocks: Sequence[_Block], *, shared_well: bool) -> _Block:
    """Blocks stacked bottom to top at the rule spacing."""
    out = _Block()
    for block in blocks:
        if not block.fets:
            continue
        dy = _offset(out.outline, block.outline, 1, shared_well=shared_well) \
            if out.fets else 0.0
        out = out.add(block.moved(0.0, dy))
    return out


def _well(block: _Block) -> _Block:
    """A pfet block inside one n-well rectangle (at least nwell.1 wide)."""
    x0, y0, x1, y1 = block.outline["nwell"]
    grow_x = max(0.0, NWELL_MIN_WIDTH_UM - (x1 - x0)) / 2
    grow_y = max(0.0, NWELL_MIN_WIDTH_UM - (y1 - y0)) / 2
    well = (x0 - grow_x, y0 - grow_y, x1 + grow_x, y1 + grow_y)
    outline = dict(block.outline)
    outline["nwell"] = well
    outline["straddle"] = _bbox([outline["straddle"], well])
    outline["all"] = _bbox([outline["all"], well])
    return _Block(block.fets, [*block.wells, well], outline)


def _column(devices: Sequence[Device], width: float) -> _Block:
    """nfet rows at the bottom, then the pfet rows in one n-well, ``width`` µm wide."""
    nfets = [d for d in devices if d.kind == "nfet"]
    pfets = [d for d in devices if d.kind == "pfet"]
    lower = _stack(_rows(nfets, width), shared_well=False)
    upper = _stack(_rows(pfets, width), shared_well=True)
    if upper.fets:
        upper = _well(upper)
    column = _stack([lower, upper], shared_well=False)
    if column.fets:  # lower-left corner of the outline at the origin
        x0, y0 = column.outline["all"][:2]
        column = column.moved(-x0, -y0)
    return column


def _beside(left: _Block, right: _Block) -> _Block:
    """``right`` to the right of ``left`` at the rule spacing, bottoms aligned; the
    channel leaves room for a capm edge between them."""
    if not left.fets:
        return right
    if not right.fets:
        return left
    extra = 2 * CAPM_EDGE_CLEARANCE_UM + GRID_UM
    dx = _offset(left.outline, right.outline, 0, shared_well=False, extra=extra)
    return left.add(right.moved(dx, left.outline["all"][1] - right.outline["all"][1]))


@dataclass(frozen=True)
class _Mim:
    """One capacitor's plates: bounding box size and the capm and met3 boxes (µm)."""

    capacitance: float
    width: float
    height: float
    capm: tuple[Box, ...]
    plates: tuple[Box, ...]


@lru_cache(maxsize=1024)
def _mim_unit(side_um: float) -> Any:
    _, pcells = _pcells()
    m4 = round(max(side_um - 2 * _CAPM_M4_ENCLOSURE_UM, 0.5), 3)
    return pcells.mimcap_1(m4_length=m4, m4_width=m4,
                           capm_enclosure=(MIM_PLATE_ENCLOSURE_UM, MIM_PLATE_ENCLOSURE_UM))


@lru_cache(maxsize=1024)
def _mim(capacitance: float) -> _Mim:
    side, k = mim_side_um(capacitance)
    unit = _mim_unit(side)
    capm = _layer_box(unit, LAYERS["capm"])
    plate = _layer_box(unit, LAYERS["m3"])
    assert capm is not None and plate is not None
    pitch_x = _snap_up(plate[2] - plate[0] + MIM_PLATE_SPACING_UM)
    pitch_y = _snap_up(plate[3] - plate[1] + MIM_PLATE_SPACING_UM)
    shifts = [(i * pitch_x, j * pitch_y) for i in range(k) for j in range(k)]
    caps = tuple((c[0] + x, c[1] + y, c[2] + x, c[3] + y) for x, y in shifts for c in [capm])
    plates = tuple((p[0] + x, p[1] + y, p[2] + x, p[3] + y) for x, y in shifts for p in [plate])
    box = _bbox(plates)
    return _Mim(capacitance, box[2], box[3], caps, plates)


def _dbu(value: float) -> int:
    return round(value * 1000)


def _region(boxes: Iterable[Box]) -> Any:
    import klayout.db as kdb

    region = kdb.Region()
    for b in boxes:
        region.insert(kdb.Box(_dbu(b[0]), _dbu(b[1]), _dbu(b[2]), _dbu(b[3])))
    return region.merged()


def _place_mims(block: _Block, mims: Sequence[_Mim]) -> list[tuple[float, float]] | None:
    """Positions (µm) of the MIM capacitors, largest first, over or beside ``block``.

    A position is allowed when no capm edge crosses a shape of ``block`` that it
    must not straddle (capm.10, with :data:`CAPM_EDGE_CLEARANCE_UM`) and the plates
    keep capm.2a/2b from the plates already placed; among the allowed positions
    the one that grows the cell's bounding box least is taken (then the lowest,
    leftmost). None when a capacitor fits nowhere.
    """
    boxes = [(x + o[0], y + o[1], x + o[2], y + o[3])
             for d, x, y in block.fets for o in [dict(_fet_outline(d))["straddle"]]]
    straddle = _region([*boxes, *block.wells]).sized(_dbu(CAPM_EDGE_CLEARANCE_UM))
    frame: Box | None = block.outline["all"] if block.fets else None
    plates: list[Box] = []
    caps: list[Box] = []
    positions: dict[int, tuple[float, float]] = {}
    for i in sorted(range(len(mims)), key=lambda k: -mims[k].width * mims[k].height):
        mim = mims[i]
        if frame is None:
            x, y = 0.0, 0.0
        else:
            found = _mim_position(mim, straddle, frame, plates, caps)
            if found is None:
                return None
            x, y = found
        positions[i] = (x, y)
        own = (x, y, x + mim.width, y + mim.height)
        frame = own if frame is None else _bbox([frame, own])
        plates += [(b[0] + x, b[1] + y, b[2] + x, b[3] + y) for b in mim.plates]
        caps += [(b[0] + x, b[1] + y, b[2] + x, b[3] + y) for b in mim.capm]
    return [positions[i] for i in range(len(mims))]


def _mim_position(mim: _Mim, straddle: Any, frame: Box, plates: Sequence[Box],
                  caps: Sequence[Box]) -> tuple[float, float] | None:
    """Lower-left corner (µm) of ``mim``: the allowed one that grows ``frame`` least.

    The positions ``p`` where an edge ``e`` of a capm plate meets a shape ``R``
    are the Minkowski sum ``R + (-e)``; those where a plate comes closer than
    ``s`` to another are ``grow(other, s) + (-plate)``. What remains of the search
    area, first inside ``frame``, then around it, is allowed; its vertices are the
    candidates (all on the 5 nm grid, as every input is).
    """
    import klayout.db as kdb

    forbidden = kdb.Region()
    for c in mim.capm:
        x0, y0, x1, y1 = (_dbu(v) for v in c)
        for edge in (kdb.Edge(-x0, -y0, -x0, -y1), kdb.Edge(-x1, -y0, -x1, -y1),
                     kdb.Edge(-x0, -y0, -x1, -y0), kdb.Edge(-x0, -y1, -x1, -y1)):
            forbidden += straddle.minkowski_sum(edge)
    for others, own, space in ((plates, mim.plates, MIM_PLATE_SPACING_UM),
                               (caps, mim.capm, CAPM_SPACING_UM)):
        if not others:
            continue
        grown = _region(others).sized(_dbu(space))
        for b in own:
            forbidden += grown.minkowski_sum(
                kdb.Box(-_dbu(b[2]), -_dbu(b[3]), -_dbu(b[0]), -_dbu(b[1])))
    fx0, fy0, fx1, fy1 = (_dbu(v) for v in frame)
    w, h = _dbu(mim.width), _dbu(mim.height)
    candidates: list[tuple[int, int]] = []
    if fx1 - fx0 >= w and fy1 - fy0 >= h:
        candidates = _vertices(kdb.Region(kdb.Box(fx0, fy0, fx1 - w, fy1 - h)) - forbidden)
    if not candidates:
        free = kdb.Region(kdb.Box(fx0 - w, fy0 - h, fx1, fy1)) - forbidden
        beside = ((fx1, fy0), (fx0, fy1), (fx0 - w, fy0), (fx0, fy0 - h))
        candidates = _vertices(free) + [
            p for p in beside
            if not free.interacting(kdb.Region(kdb.Box(p[0], p[1], p[0] + 1, p[1] + 1))
                                    ).is_empty()]
    if not candidates:
        return None

    def cost(p: tuple[int, int]) -> tuple[float, int, int]:
        width = max(fx1, p[0] + w) - min(fx0, p[0])
        height = max(fy1, p[1] + h) - min(fy0, p[1])
        return (float(width) * float(height), p[1], p[0])

    best = min(candidates, key=cost)
    return best[0] / 1000, best[1] / 1000


def _vertices(region: Any) -> list[tuple[int, int]]:
    points: list[tuple[int, int]] = []
    for polygon in region.each():
        points += [(p.x, p.y) for p in polygon.each_point_hull()]
        for hole in range(polygon.holes()):
            points += [(p.x, p.y) for p in polygon.each_point_hole(hole)]
    return points


@dataclass(frozen=True)
class Placement:
    """A placed neuron cell: transistor pcell origins, n-wells and MIM positions (µm).

    Attributes:
        fets: ``(device, x, y)`` of every drawn single-finger transistor.
        wells: n-well rectangles ``(x0, y0, x1, y1)``.
        mims: ``(capacitance, x, y)`` of every MIM capacitor (pcell origin).
        box: The cell's bounding box ``(x0, y0, x1, y1)``.
    """

    fets: tuple[tuple[Device, float, float], ...]
    wells: tuple[Box, ...]
    mims: tuple[tuple[float, float, float], ...]
    box: Box

    @property
    def area_um2(self) -> float:
        """Bounding-box area (µm²)."""
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])


def _finish(block: _Block, mims: Sequence[_Mim]) -> Placement | None:
    positions = _place_mims(block, mims)
    if positions is None:
        return None
    boxes = [block.outline["all"]] if block.fets else []
    placed = list(zip(mims, positions, strict=True))
    boxes += [(x, y, x + m.width, y + m.height) for m, (x, y) in placed]
    return Placement(tuple(block.fets), tuple(block.wells),
                     tuple((m.capacitance, x, y) for m, (x, y) in placed), _bbox(boxes))


def _order(devices: Sequence[Device]) -> list[Device]:
    """Longest devices first, so rows of equal length line up."""
    return sorted(devices, key=lambda d: (-d.l_um, -d.w_um))


@lru_cache(maxsize=4096)
def placement(capacitances: tuple[float, ...], devices: tuple[Device, ...]) -> Placement:
    """The smallest placement found of the devices and MIM capacitors (µm).

    Candidates: all devices in one block of a range of widths with the plates
    placed over or beside it; and chains of columns, each narrow and short enough
    to lie wholly under one plate (one square of an array; largest plate first,
    nfets or pfets first), the other devices in a last column beside them, again
    over a range of widths. The one with the smallest bounding box wins.

    Args:
        capacitances: Capacitor values (F).
        devices: Transistors with W/L (µm).
    """
    _check_sizes(capacitances, devices)
    fets = _order(_drawn(devices))
    mims = [_mim(float(f"{c:.6g}")) for c in capacitances]
    candidates: list[Placement] = []

    def sweep(devices: Sequence[Device], base: _Block | None) -> None:
        if not devices:
            if base is not None:
                found = _finish(base, mims)
                if found is not None:
                    candidates.append(found)
            return
        lo = max(b[2] - b[0] for d in devices for b in [dict(_fet_outline(d))["all"]])
        hi = sum(b[2] - b[0] + 0.3 for d in devices for b in [dict(_fet_outline(d))["all"]])
        for k in range(12):
            width = lo + (hi - lo) * (k / 11) ** 2
            block = _column(devices, width)
            found = _finish(block if base is None else _beside(base, block), mims)
            if found is not None:
                candidates.append(found)

    sweep(fets, None)
    # Columns that lie wholly under one plate (square) each, largest plate first.
    under = sorted(mims, key=lambda m: -m.width * m.height)

    def columns(devices: Sequence[Device], base: _Block | None, plates: Sequence[_Mim]
                ) -> None:
        if not devices or not plates:
            return
        capm = plates[0].capm[0]
        room = 2 * CAPM_EDGE_CLEARANCE_UM + 2 * GRID_UM
        side_w, side_h = capm[2] - capm[0] - room, capm[3] - capm[1] - room
        for first in ("nfet", "pfet"):
            ordered = sorted(devices, key=lambda d: d.kind != first)
            count = _fill(ordered, side_w, side_h)
            if not count:
                continue
            column = _column(ordered[:count], side_w)
            joined = column if base is None else _beside(base, column)
            sweep(ordered[count:], joined)
            columns(ordered[count:], joined, plates[1:])

    columns(fets, None, under)
    if not candidates:
        raise LifhwError("no placement of the neuron's devices was found")
    return min(candidates, key=lambda p: (round(p.area_um2, 6), p.box[3] - p.box[1]))


def _check_sizes(capacitances: Sequence[float], devices: Sequence[Device]) -> None:
    """Refuse what the layout cannot draw in reasonable time (one clear error)."""
    for c in capacitances:
        if not (math.isfinite(c) and 0 < c <= MAX_CAPACITANCE_F):
            raise ParamError(f"capacitor {c:g} F: the layout draws capacitors in "
                             f"(0, {MAX_CAPACITANCE_F:g}] F")
    for d in devices:
        if d.kind not in ("nfet", "pfet") or d.nf < 1:
            raise ParamError(f"transistor {d}: kind must be nfet or pfet, nf >= 1")
        for name, value in (("W", d.w_um), ("L", d.l_um)):
            if not (math.isfinite(value) and 0 < value <= MAX_FET_UM):
                raise ParamError(f"{d.kind} {name} = {value:g} um: the layout draws "
                                 f"transistors with 0 < W, L <= {MAX_FET_UM:g} um")


def _fill(devices: Sequence[Device], width: float, height: float) -> int:
    """How many of ``devices`` (in order) fit in a column ``width`` x ``height`` µm."""
    lo, hi = 0, len(devices)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        column = _column(devices[:mid], width)
        if column.width <= width and column.height <= height:
            lo = mid
        else:
            hi = mid - 1
    return lo


def neuron_cell(capacitances: Sequence[float], devices: Sequence[Device] = DEFAULT_DEVICES,
                name: str = "lif_neuron") -> Any:
    """One gdsfactory component: the neuron's transistors and MIM capacitors, placed.

    Args:
        capacitances: Capacitor values (F): the membrane capacitor first.
        devices: Transistors with W/L (µm).
        name: Cell name.

    Returns:
        A ``gdsfactory.Component`` of the :func:`placement`: one pcell instance per
        drawn transistor, the n-well rectangles, one MIM instance (or array) per
        capacitor.
    """
    gf, _ = _pcells()
    plan = placement(tuple(float(f"{c:.6g}") for c in capacitances), tuple(devices))
    # Cell names must be unique in gdsfactory's global layout: number them.
    cell = gf.Component(name=f"{name}_{next(_CELL_NUMBER)}")
    for device, x, y in plan.fets:
        cell.add_ref(_fet(device)).move((x, y))
    for well in plan.wells:
        cell.add_polygon([(well[0], well[1]), (well[2], well[1]), (well[2], well[3]),
                          (well[0], well[3])], layer=LAYERS["nwell"])
    for capacitance, x, y in plan.mims:
        mim = _mim(capacitance)
        side, _ = mim_side_um(capacitance)
        unit = _mim_unit(side)
        origin = _layer_box(unit, LAYERS["m3"])
        assert origin is not None
        for plate in mim.plates:
            cell.add_ref(unit).move((x + plate[0] - origin[0], y + plate[1] - origin[1]))
    return cell


def neuron_area_um2(capacitance: float, devices: Sequence[Device] = DEFAULT_DEVICES,
                    extra_capacitances: Sequence[float] = ()) -> float:
    """Bounding-box area (µm²) of the placed neuron cell (:func:`placement`).

    Args:
        capacitance: Membrane capacitance (F).
        devices: Transistors (default: :data:`DEFAULT_DEVICES`).
        extra_capacitances: Other capacitors (F), e.g. the refractory one.
    """
    caps = tuple(float(f"{c:.6g}") for c in (capacitance, *extra_capacitances))
    return placement(caps, tuple(devices)).area_um2


def compact_area_um2(capacitance: float, devices: Sequence[Device] = DEFAULT_DEVICES,
                     extra_capacitances: Sequence[float] = ()) -> float:
    """Layout area (µm²) of the neuron cell: :func:`neuron_area_um2` (one placement,
    the smallest found; the name is kept for callers)."""
    return neuron_area_um2(capacitance, devices, extra_capacitances)


def from_records(records: Sequence[dv.Device]) -> tuple[tuple[Device, ...], tuple[float, ...]]:
    """Transistor footprints (µm) and capacitor values (F) of device records.

    A record with ``multiplier`` m gives m devices (the netlist's ``m=`` copies,
    drawn as they are).
    """
    fets: list[Device] = []
    caps: list[float] = []
    for record in records:
        if record.is_fet:
            fets.extend([Device(record.kind, round(record.w * 1e6, 6),
                                round(record.l * 1e6, 6), record.fingers)]
                        * record.multiplier)
        elif record.is_capacitor:
            caps.append(record.value)
    return tuple(fets), tuple(caps)


def circuit_devices(pf: Any) -> tuple[tuple[Device, ...], tuple[float, ...]]:
    """Devices and capacitors of a parameter file's ``[circuit]`` at transistor level.

    From the device records of the circuit's topology record; a topology without
    its own devices (the behavioural one) is laid out as its ``layout_as``
    counterpart (same C, biases and ``[circuit.sky130]`` sizes).
    """
    from lifhw.analog.topology import get_topology

    circuit = pf.require("circuit")
    topology = get_topology(circuit.topology)
    if topology.devices is None:
        circuit = dataclasses.replace(circuit, topology=topology.layout_as)
        topology = get_topology(topology.layout_as)
    if topology.devices is None:
        raise LifhwError(f"topology {topology.name!r} has no device records to lay out")
    fets, caps = from_records(topology.devices(circuit))
    if not caps:
        caps = (circuit.membrane_capacitance,)
    return fets or DEFAULT_DEVICES, caps


def records_area_um2(records: Sequence[dv.Device]) -> float:
    """Layout area (µm²) of device records: transistors and capacitors placed."""
    fets, caps = from_records(records)
    if not caps:
        raise LifhwError("the device records have no capacitor to lay out")
    return neuron_area_um2(caps[0], fets or DEFAULT_DEVICES, caps[1:])


def area_from_circuit(pf: Any) -> float:
    """Layout area (µm²) of a parameter file's analog neuron (``[circuit]`` or ``[neuron]``)."""
    if "circuit" in pf.sections:
        fets, caps = circuit_devices(pf)
        return neuron_area_um2(caps[0], fets, caps[1:])
    return neuron_area_um2(pf.lif.c_m)


def summary(pf: Any) -> dict[str, Any]:
    """The layout of a parameter file's neuron as JSON-ready data.

    Keys: ``area_um2``, ``width_um``, ``height_um`` (bounding box), ``transistors``
    (pcells drawn), ``transistor_area_um2`` (the transistors placed alone),
    ``capacitors_f``, ``capacitor_plates_um2`` (capm area), ``mim_over_transistors``
    (a capm plate covers a transistor).
    """
    if "circuit" in pf.sections:
        fets, caps = circuit_devices(pf)
    else:
        fets, caps = DEFAULT_DEVICES, (pf.lif.c_m,)
    caps = tuple(float(f"{c:.6g}") for c in caps)
    plan = placement(caps, tuple(fets))
    x0, y0, x1, y1 = plan.box
    capm = [(b[0] + x, b[1] + y, b[2] + x, b[3] + y)
            for c, x, y in plan.mims for b in _mim(c).capm]
    bodies = [(x + o[0], y + o[1], x + o[2], y + o[3])
              for d, x, y in plan.fets for o in [dict(_fet_outline(d))["straddle"]]]
    over = any(c[0] <= b[0] and b[2] <= c[2] and c[1] <= b[1] and b[3] <= c[3]
               for c in capm for b in bodies)
    return {"area_um2": plan.area_um2, "width_um": x1 - x0, "height_um": y1 - y0,
            "transistors": len(plan.fets),
            "transistor_area_um2": placement((), tuple(fets)).area_um2 if fets else 0.0,
            "capacitors_f": list(caps),
            "capacitor_plates_um2": sum((c[2] - c[0]) * (c[3] - c[1]) for c in capm),
            "mim_over_transistors": over}


def write_gds(pf: Any, target: str | Path, name: str = "lif_neuron") -> Path:
    """Write the neuron cell of a parameter file to ``target`` (a ``.gds``, atomically)."""
    if "circuit" in pf.sections:
        fets, caps = circuit_devices(pf)
    else:
        fets, caps = DEFAULT_DEVICES, (pf.lif.c_m,)
    cell = neuron_cell(caps, fets, name=name)
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.gds")
        cell.write_gds(tmp)
        os.replace(tmp, target)
    except OSError as err:
        raise LifhwError(f"cannot write {target}: {err.strerror or err}") from None
    return target


def write_png(gds: str | Path, target: str | Path, *, width_px: int = 1400,
              height_px: int = 700) -> Path:
    """Render a GDS file to a PNG picture (KLayout's layout view, every layer).

    Args:
        gds: The GDS file.
        target: The ``.png`` to write (atomically).
        width_px: Picture width (pixels).
        height_px: Picture height (pixels).
    """
    import klayout.lay as lay

    view = lay.LayoutView()
    view.load_layout(str(gds))
    view.max_hier()
    view.zoom_fit()
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.png")
        view.save_image(str(tmp), width_px, height_px)
        os.replace(tmp, target)
    except OSError as err:
        raise LifhwError(f"cannot write {target}: {err.strerror or err}") from None
    return target


def write_point_gds(pf: Any, directory: str | Path, key: str) -> Path:
    """Write the neuron cell of one design point to ``<directory>/<key>.gds`` (atomically)."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", key):
        raise ParamError(f"not a point key: {key!r}")
    return write_gds(pf, Path(directory) / f"{key}.gds", name=f"lif_{key}")
