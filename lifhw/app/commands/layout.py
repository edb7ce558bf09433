"""``lifhw layout``: the sky130 layout of an analog neuron, its area and its GDS.

::

    lifhw layout circuits/ota_lif_sky130_lp.toml --json
    lifhw layout circuits/ota_lif_sky130_lp.toml -o out/ota_lif_sky130_lp.gds
    lifhw layout circuits/ota_lif_sky130_lp.toml --plot out/ota_lif_sky130_lp.png

The cell of :func:`lifhw.layout.neuron_cell` (transistor pcells at the sky130
spacing rules, MIM capacitors over them; routing not drawn). JSON: the keys of
:func:`lifhw.layout.summary` (``area_um2``, ``width_um``, ``height_um``,
``transistors``, ``transistor_area_um2``, ``capacitors_f``,
``capacitor_plates_um2``, ``mim_over_transistors``), ``gds`` and ``plot`` (the
files written, or null). ``--plot`` renders the cell with KLayout (PNG).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from lifhw.io import check_output_file


def register(subparsers: Any) -> None:
    """Add the ``layout`` subcommand."""
    parser = subparsers.add_parser(
        "layout", help="sky130 layout of a [circuit] (or [neuron]) file: area and GDS")
    parser.add_argument("file", help="parameter file with [circuit] or [neuron]")
    parser.add_argument("-o", "--out", metavar="OUT.gds", help="write the cell's GDS")
    parser.add_argument("--plot", metavar="OUT.png", help="write a picture of the cell")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=_cmd_layout)


def _cmd_layout(args: argparse.Namespace) -> int:
    from lifhw import layout
    from lifhw.errors import ParamError
    from lifhw.params import load

    if args.out:
        check_output_file(args.out, option="-o", inputs=(args.file,), suffixes=(".gds",))
    if args.plot:
        check_output_file(args.plot, option="--plot", inputs=(args.file,), suffixes=(".png",))
    pf = load(args.file)
    if "circuit" not in pf.sections:
        pf.require("neuron")
    try:
        result = layout.summary(pf)
    except ParamError as err:  # a device the circuit's values cannot size
        raise err.located(path_prefix="" if err.path else "circuit", source=args.file) from None
    result["gds"] = str(layout.write_gds(pf, args.out, name=pf.name)) if args.out else None
    result["plot"] = None
    if args.plot:
        with tempfile.TemporaryDirectory() as tmp:
            gds = result["gds"] or layout.write_gds(pf, Path(tmp) / "cell.gds", name=pf.name)
            result["plot"] = str(layout.write_png(gds, args.plot))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{pf.name}: {result['area_um2']:.1f} um^2 ({result['width_um']:.2f} x "
          f"{result['height_um']:.2f} um), {result['transistors']} transistors "
          f"({result['transistor_area_um2']:.1f} um^2 placed alone), capacitor plates "
          f"{result['capacitor_plates_um2']:.1f} um^2"
          f"{' over the transistors' if result['mim_over_transistors'] else ''}")
    for written in (result["gds"], result["plot"]):
        if written:
            print(written)
    return 0
