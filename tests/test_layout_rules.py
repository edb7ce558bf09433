"""The placed neuron cells read back from their GDS and checked against sky130 rules.

Independent of the placement code: each GDS is read with KLayout, the layers are
those of the sky130 GDS layer map and every rule value is typed here from the
SkyWater sky130 periphery rules (skywater-pdk ``docs/rules/periphery``), by name.
Checked: the spacings between different transistors (shapes inside one pcell are
the ``sky130`` package's own), the wells, the MIM capacitors (capm.1/2a/2b/3/10),
the area reported against the GDS bounding box, and the issue-13 target of the
sky130_lp example (<= 400 µm², capacitors included).
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import klayout.db as kdb
import pytest

from lifhw import layout
from lifhw.params import load, load_mapping

CIRCUITS = Path(__file__).resolve().parent.parent / "circuits"
#: The two example files, and the sky130 one at 2.5 pF (a 2x2 MIM array).
EXAMPLES = ("ota_lif_sky130_lp.toml", "ota_lif_sky130.toml", "ota_lif_sky130.toml@2.5 pF")

NWELL, DNWELL, PWELL_RES = (64, 20), (64, 18), (64, 13)
DIFF, TAP, POLY, LICON = (65, 20), (65, 44), (66, 20), (66, 44)
LI, MCON, MET1, NPC = (67, 20), (67, 44), (68, 20), (95, 20)
NSDM, PSDM, MET3, CAPM = (93, 44), (94, 20), (70, 20), (89, 44)


def um(value: float) -> int:
    """µm in database units (1 nm)."""
    return round(value * 1000)


@dataclass
class Cell:
    name: str
    pf: Any
    layout: Any
    top: Any

    def region(self, layer: tuple[int, int], cell: Any = None) -> Any:
        index = self.layout.find_layer(*layer)
        if index is None:
            return kdb.Region()
        return kdb.Region((cell or self.top).begin_shapes_rec(index)).merged()

    def instance_region(self, inst: Any, layer: tuple[int, int]) -> Any:
        return self.region(layer, inst.cell).transformed(inst.cplx_trans)

    def transistors(self) -> list[Any]:
        return [i for i in self.top.each_inst() if not self.region(POLY, i.cell).is_empty()]


@pytest.fixture(scope="module", params=EXAMPLES)
def cell(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Cell:
    name, _, capacitance = request.param.partition("@")
    if capacitance:
        data = tomllib.loads((CIRCUITS / name).read_text())
        data["circuit"]["membrane_capacitance"] = capacitance
        pf = load_mapping(data)
    else:
        pf = load(CIRCUITS / name)
    gds = layout.write_gds(pf, tmp_path_factory.mktemp("gds") / "neuron.gds")
    lay = kdb.Layout()
    lay.read(str(gds))
    assert lay.dbu == pytest.approx(0.001)
    return Cell(request.param, pf, lay, lay.top_cells()[0])


def test_reported_area_is_the_gds_bounding_box(cell: Cell) -> None:
    box = cell.top.dbbox()
    assert box.width() * box.height() == pytest.approx(layout.area_from_circuit(cell.pf),
                                                       rel=1e-9)
    # every capacitor plate lies in the cell, and the drawn capm realises C
    # (2.00 fF/um^2 + 0.19 fF/um perimeter, SkyWater MIM documentation, tt)
    capm = cell.region(CAPM)
    assert (capm - kdb.Region(cell.top.bbox())).is_empty()
    drawn = 2.00e-15 * capm.area() * 1e-6 + 0.19e-15 * capm.perimeter() * 1e-3
    assert drawn == pytest.approx(sum(layout.circuit_devices(cell.pf)[1]), rel=0.01)


def test_lp_example_meets_the_area_target(cell: Cell) -> None:
    if cell.name != "ota_lif_sky130_lp.toml":
        return
    box = cell.top.dbbox()
    assert box.width() * box.height() <= 400.0
    # the membrane plate covers transistors (MIM above metal 2), and both capacitors
    # of the netlist (membrane, refractory) are drawn
    assert not (cell.region(CAPM) & cell.region(DIFF)).is_empty()
    assert cell.region(CAPM).count() == 2


def test_one_pcell_per_transistor_and_substrate_nfets(cell: Cell) -> None:
    from lifhw.analog.topology import get_topology

    circuit = cell.pf.circuit
    make_records = get_topology(circuit.topology).devices
    assert make_records is not None
    records = make_records(circuit)
    expected = sum(d.multiplier for d in records if d.is_fet)
    gates = (cell.region(POLY) & cell.region(DIFF)).merged()
    assert len(cell.transistors()) == gates.count() == expected
    # the nfets sit in the substrate as simulated: no deep n-well, no p-well marker
    assert cell.region(DNWELL).is_empty() and cell.region(PWELL_RES).is_empty()


def test_no_two_transistors_overlap(cell: Cell) -> None:
    # bounding boxes of every layer but the n-well (which pfets in a row share)
    boxes = []
    for inst in cell.transistors():
        shapes = kdb.Region()
        for layer in (DIFF, TAP, POLY, LICON, LI, MCON, MET1, NPC, NSDM, PSDM):
            shapes += cell.instance_region(inst, layer)
        boxes.append(shapes.bbox())
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), f"{a} overlaps {b}"


#: Spacing between shapes of two different transistors (periphery rules, µm).
BETWEEN_DEVICES = (
    ("difftap.3", (DIFF, TAP), (DIFF, TAP), 0.27),
    ("poly.2", (POLY,), (POLY,), 0.21),
    ("poly.4", (POLY,), (DIFF,), 0.075),
    ("licon.2", (LICON,), (LICON,), 0.17),
    ("li.3", (LI,), (LI,), 0.17),
    ("ct.2", (MCON,), (MCON,), 0.19),
    ("m1.2", (MET1,), (MET1,), 0.14),
    ("npc.2", (NPC,), (NPC,), 0.27),
)


def _union(cell: Cell, inst: Any, layers: tuple[tuple[int, int], ...]) -> Any:
    out = kdb.Region()
    for layer in layers:
        out += cell.instance_region(inst, layer)
    return out.merged()


def test_transistors_keep_the_spacing_rules(cell: Cell) -> None:
    fets = cell.transistors()
    near = [(a, b) for a, b in itertools.combinations(fets, 2)
            if a.bbox().enlarged(um(1.5), um(1.5)).overlaps(b.bbox())]
    assert near  # the devices are packed, not spread out
    for a, b in near:
        for rule, layers_a, layers_b, space in BETWEEN_DEVICES:
            for first, second in ((a, b), (b, a)):
                ra, rb = _union(cell, first, layers_a), _union(cell, second, layers_b)
                assert (ra & rb).is_empty(), f"{rule}: shapes of two devices overlap"
                assert ra.separation_check(rb, um(space)).is_empty(), rule


def test_implants(cell: Cell) -> None:
    nsdm, psdm = cell.region(NSDM), cell.region(PSDM)
    difftap = cell.region(DIFF) + cell.region(TAP)
    assert nsdm.space_check(um(0.38)).is_empty()  # n/psd.2 (merged where closer)
    assert psdm.space_check(um(0.38)).is_empty()
    assert (nsdm & psdm & difftap).is_empty()  # n/psd.8
    # n/psd.7: an implant keeps 0.13 um from diffusion of the opposite doping
    assert nsdm.separation_check(difftap & psdm, um(0.13)).is_empty()
    assert psdm.separation_check(difftap & nsdm, um(0.13)).is_empty()
    # every diffusion has its implant (n/psd.9)
    assert (difftap - nsdm - psdm).is_empty()


def test_wells(cell: Cell) -> None:
    nwell = cell.region(NWELL)
    diff, tap, licon = cell.region(DIFF), cell.region(TAP), cell.region(LICON)
    nsdm, psdm = cell.region(NSDM), cell.region(PSDM)
    ndiff, pdiff, ntap, ptap = diff & nsdm, diff & psdm, tap & nsdm, tap & psdm
    assert not nwell.is_empty()
    assert nwell.width_check(um(0.84)).is_empty()  # nwell.1
    assert nwell.space_check(um(1.27)).is_empty()  # nwell.2a
    assert (ndiff & nwell).is_empty() and (ptap & nwell).is_empty()
    assert ndiff.separation_check(nwell, um(0.34)).is_empty()  # difftap.9
    assert ptap.separation_check(nwell, um(0.13)).is_empty()  # difftap.11
    assert (pdiff - nwell).is_empty() and (ntap - nwell).is_empty()
    assert nwell.enclosing_check(pdiff, um(0.18)).is_empty()  # difftap.8
    assert nwell.enclosing_check(ntap, um(0.18)).is_empty()  # difftap.10
    # nwell.4: every well holds a contacted tap
    assert nwell.not_interacting(ntap & licon).is_empty()


def test_mim_plates(cell: Cell) -> None:
    capm = cell.region(CAPM)
    plates = cell.region(MET3).interacting(capm)
    assert capm.width_check(um(1.0)).is_empty()  # capm.1
    assert capm.space_check(um(0.84)).is_empty()  # capm.2a
    assert plates.space_check(um(1.2)).is_empty()  # capm.2b
    assert plates.enclosing_check(capm, um(0.14)).is_empty()  # capm.3
    # capm.10: no capm edge crosses (or touches) nwell, diff, tap, poly, li1 or met1
    below = kdb.Region()
    for layer in (NWELL, DIFF, TAP, POLY, LI, MET1):
        below += cell.region(layer)
    assert capm.edges().interacting(below.merged()).is_empty()
