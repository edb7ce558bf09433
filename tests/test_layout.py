"""sky130 neuron layout: MIM sizing from C, devices from the netlist, GDS and area.

The MIM check is independent of the sizing code: the capacitor plate (capm,
GDS layer 89/44) is read back from the written GDS with KLayout and its area
and perimeter are put through the PDK's 2.00 fF/µm² + 0.19 fF/µm.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lifhw import layout
from lifhw.errors import ParamError
from lifhw.params import load_mapping

CAPM = (89, 44)
POLY = (66, 20)
LP_EXAMPLE = Path(__file__).resolve().parent.parent / "circuits" / "ota_lif_sky130_lp.toml"

CIRCUIT = {
    "name": "layout_test",
    "circuit": {"topology": "behavioral", "membrane_capacitance": "1 pF",
                "leak_bias_current": "5 pA", "v_rest": "0.6 V", "v_threshold": "0.65 V",
                "v_reset": "0.6 V", "refractory": "2 ms"},
    "stimulus": {"kind": "constant", "amplitude": "20 pA", "t_stop": "10 ms"},
}


def _read_layer(path: Path, layer: tuple[int, int]) -> tuple[float, float, int]:
    import klayout.db as kdb

    lay = kdb.Layout()
    lay.read(str(path))
    top = lay.top_cells()[0]
    region = kdb.Region(top.begin_shapes_rec(lay.layer(*layer))).merged()
    return region.area() * lay.dbu**2, region.perimeter() * lay.dbu, region.count()


@pytest.mark.parametrize("capacitance", [0.2e-12, 1e-12, 2e-12])
def test_mim_plate_drawn_in_gds_realises_c(tmp_path: Path, capacitance: float) -> None:
    pf = load_mapping({**CIRCUIT, "circuit": {**CIRCUIT["circuit"],
                                              "membrane_capacitance": capacitance}})
    gds = layout.write_point_gds(pf, tmp_path, "0123456789abcdef")
    area, perimeter, count = _read_layer(gds, CAPM)
    # Two capacitors (membrane + the sky130 topology's refractory capacitor).
    caps = layout.circuit_devices(pf)[1]
    assert count == sum(layout.mim_side_um(c)[1] ** 2 for c in caps)  # squares drawn
    drawn = 2.00e-15 * area + 0.19e-15 * perimeter
    assert drawn == pytest.approx(sum(caps), rel=0.01)


def test_mim_sizing_formula_and_array_split() -> None:
    # The sky130 model the netlist simulates: C = 2 fF/um^2 (s + 0.15 um)^2 per square
    # (parameters_cap_nom.spice); the PDK documentation's 2.00 fF/um^2 + 0.19 fF/um
    # perimeter agrees to 1 %.
    side, k = layout.mim_side_um(1e-12)
    assert k == 1
    assert 2.00 * (side + 0.15) ** 2 == pytest.approx(1000.0)  # fF
    assert 2.00 * side**2 + 0.19 * 4 * side == pytest.approx(1000.0, rel=0.01)
    side, k = layout.mim_side_um(20e-12)
    assert k >= 2 and side <= layout.MIM_MAX_SIDE_UM
    assert k * k * 2.00 * (side + 0.15) ** 2 == pytest.approx(20_000.0)
    assert k * k * (2.00 * side**2 + 0.76 * side) == pytest.approx(20_000.0, rel=0.01)
    with pytest.raises(ValueError):
        layout.mim_side_um(-1.0)


def test_devices_from_netlist() -> None:
    text = """title
XM1 d g s b sky130_fd_pr__nfet_01v8 W=2 L=4
xm2 d g s b sky130_fd_pr__pfet_01v8 W=1.5 L=0.15 nf=2 m=3
R1 a b 1k
CM vm 0 1p
CREF rc 0 2e-13
"""
    fets, caps = layout.devices_from_netlist(text)
    assert fets == (layout.Device("nfet", 2.0, 4.0),
                    *([layout.Device("pfet", 1.5, 0.15, 2)] * 3))
    assert caps == pytest.approx((1e-12, 2e-13))


def test_area_grows_with_c_and_devices() -> None:
    small = layout.neuron_area_um2(0.5e-12)
    large = layout.neuron_area_um2(4e-12)
    assert large > small > 0
    # The MIM alone (about C / 2 fF/µm²) is a lower bound of the cell.
    assert large > 4e-12 / 2.0e-15
    wide = tuple(layout.Device(d.kind, d.w_um * 4, d.l_um) for d in layout.DEFAULT_DEVICES)
    assert layout.neuron_area_um2(0.5e-12, wide) > small


def test_layout_draws_the_netlists_device_records() -> None:
    from lifhw.analog import sky130

    pf = load_mapping({**CIRCUIT, "circuit": {**CIRCUIT["circuit"], "topology": "sky130",
                                              "sky130": {"ota_w": "3 um"}}})
    fets, caps = layout.circuit_devices(pf)
    records = sky130.devices(pf.circuit)
    assert len(fets) == sum(d.is_fet for d in records) == 33
    assert layout.Device("nfet", 3.0, 4.0) in fets  # the OTA pair's W from the options
    assert caps == (1e-12, pf.circuit.sky130.refractory_capacitance)
    # a behavioural circuit is laid out as its sky130 counterpart
    behavioral = load_mapping(CIRCUIT)
    assert layout.circuit_devices(behavioral)[1] == caps


def test_gds_has_every_transistor(tmp_path: Path) -> None:
    pf = load_mapping(CIRCUIT)
    fets, _ = layout.circuit_devices(pf)
    gds = layout.write_point_gds(pf, tmp_path, "fedcba9876543210")
    _, _, gates = _read_layer(gds, POLY)
    assert gates >= len(fets) > 10
    assert layout.area_from_circuit(pf) > 0
    with pytest.raises(Exception, match="not a point key"):
        layout.write_point_gds(pf, tmp_path, "../evil")


def test_capacitors_sit_over_the_transistors() -> None:
    # The lp example: the cell is smaller than its transistors placed alone plus the
    # MIM plates beside them (the membrane plate covers a column of devices).
    from lifhw.params import load

    fets, caps = layout.circuit_devices(load(LP_EXAMPLE))
    cell = layout.placement(caps, fets).area_um2
    alone = layout.placement((), fets).area_um2
    # even with only the capm plates' own area (C / 2 fF/um^2, less than drawn) beside
    plates = sum(c / 2.0e-15 for c in caps)
    assert alone < cell < alone + plates
    # lower bounds: the membrane capm plate (C / 2 fF/um^2) and the transistors alone
    assert cell > caps[0] / 2.0e-15


def test_placement_keeps_every_device_once() -> None:
    fets = (*layout.DEFAULT_DEVICES, layout.Device("nfet", 3.0, 1.0, nf=3))
    plan = layout.placement((1e-12, 0.2e-12), fets)
    drawn = sorted((d.kind, d.w_um, d.l_um) for d, _, _ in plan.fets)
    # a 3-finger 3 um device is drawn as three 1 um devices (the pcell's nf is a series stack)
    expected = sorted([(d.kind, max(d.w_um, 0.42), d.l_um) for d in layout.DEFAULT_DEVICES]
                      + [("nfet", 1.0, 1.0)] * 3)
    assert drawn == expected
    assert len(plan.mims) == 2


def test_layout_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from lifhw.app.cli import main

    gds, png = tmp_path / "lp.gds", tmp_path / "lp.png"
    assert main(["layout", str(LP_EXAMPLE), "--json", "-o", str(gds), "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["gds"] == str(gds) and gds.stat().st_size > 0
    assert out["plot"] == str(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out["area_um2"] == pytest.approx(out["width_um"] * out["height_um"])
    assert out["area_um2"] <= 400.0 and out["mim_over_transistors"] is True
    from lifhw.analog import sky130_lp
    from lifhw.params import load

    records = sky130_lp.devices(load(LP_EXAMPLE).circuit)
    assert out["transistors"] == sum(d.multiplier for d in records if d.is_fet)
    assert main(["layout", str(LP_EXAMPLE), "-o", str(tmp_path / "lp.txt")]) == 2
    assert "unsupported file type" in capsys.readouterr().err


def test_sizes_the_layout_cannot_draw_are_refused() -> None:
    with pytest.raises(ParamError, match="capacitor"):
        layout.neuron_area_um2(1.0)
    with pytest.raises(ParamError, match="W = 1e\\+06 um"):
        layout.neuron_area_um2(1e-12, (layout.Device("nfet", 1e6, 1.0),))
