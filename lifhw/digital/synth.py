"""Area of a generated core: yosys synthesis to generic gates, cells and NAND2 equivalents.

The core is synthesised by yosys (``proc; opt; memory -nomap; techmap; abc -g ...``)
into yosys's generic gate library. Memories (the population core's state and
weight memories) are kept as ``$mem`` blocks and reported in bits -- on a chip
they become SRAM macros, not gates. Gate equivalents weight each generic cell by
the area of its usual static-CMOS realisation relative to a 2-input NAND (4
transistors): NOT 0.67, NAND/NOR 1, AND/OR/ANDNOT/ORNOT 1.33, XOR/XNOR/MUX 2.33,
flip-flop 4.67 (+1 with enable or synchronous reset) -- the ratios of common
standard-cell libraries (e.g. the NanGate 45 nm open cell library), good for
comparing design points in sweeps, not for sign-off.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lifhw import tools
from lifhw.digital.verilog import generate, module_name
from lifhw.errors import SimulationError
from lifhw.params import ParamFile

#: NAND2-equivalent area of yosys's generic cells (see the module docstring).
GATE_EQUIVALENTS = {
    "$_NOT_": 0.67, "$_BUF_": 0.67, "$_NAND_": 1.0, "$_NOR_": 1.0, "$_AND_": 1.33,
    "$_OR_": 1.33, "$_ANDNOT_": 1.33, "$_ORNOT_": 1.33, "$_XOR_": 2.33, "$_XNOR_": 2.33,
    "$_MUX_": 2.33,
}
FLIP_FLOP_GE = 4.67
ABC_GATES = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"


@dataclass
class AreaReport:
    """Synthesis result.

    Attributes:
        design: Top module.
        cells: Generic cell type -> count (memories excluded).
        logic_cells: Combinational cells.
        flip_flops: Flip-flops.
        gate_equivalents: NAND2 equivalents of cells and flip-flops.
        memory_bits: Bits held in ``$mem`` blocks (SRAM on a chip).
        memories: (width, depth) of each memory.
    """

    design: str
    cells: dict[str, int]
    logic_cells: int
    flip_flops: int
    gate_equivalents: float
    memory_bits: int = 0
    memories: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"design": self.design, "logic_cells": self.logic_cells,
                "flip_flops": self.flip_flops,
                "total_cells": self.logic_cells + self.flip_flops,
                "gate_equivalents": round(self.gate_equivalents, 1),
                "memory_bits": self.memory_bits,
                "memories": [list(m) for m in self.memories], "cells": dict(self.cells)}


def yosys_script(files: list[Path], top: str, json_out: Path) -> str:
    """The yosys script (data, testable without the tool)."""
    reads = "\n".join(f"read_verilog {f}" for f in files)
    return (f"{reads}\nhierarchy -top {top}\nproc; opt; memory -nomap; opt -full\n"
            f"techmap; opt -fast\nabc -g {ABC_GATES}\nopt_clean\nwrite_json {json_out}\n")


def area_from_json(data: dict, top: str) -> AreaReport:
    """Count cells of the yosys JSON netlist of ``top``."""
    module = data["modules"][top]
    cells: dict[str, int] = {}
    memories: list[tuple[int, int]] = []
    for cell in module["cells"].values():
        kind = cell["type"]
        if kind.startswith("$mem"):
            params = cell["parameters"]
            memories.append((int(params["WIDTH"], 2), int(params["SIZE"], 2)))
            continue
        cells[kind] = cells.get(kind, 0) + 1
    flops = {k: n for k, n in cells.items() if "DFF" in k or "DLATCH" in k}
    logic = {k: n for k, n in cells.items() if k not in flops}
    unknown = [k for k in logic if k not in GATE_EQUIVALENTS]
    if unknown:
        raise SimulationError(f"yosys left cells without an area weight: {unknown}")
    ge = sum(GATE_EQUIVALENTS[k] * n for k, n in logic.items())
    for kind, n in flops.items():
        # $_DFFE_ / $_SDFF_ / $_SDFFE_: enable and synchronous reset cost a gate each.
        extra = ("E" in kind.split("_")[1][3:]) + kind.startswith("$_SDFF")
        ge += (FLIP_FLOP_GE + extra) * n
    return AreaReport(design=top, cells=cells, logic_cells=sum(logic.values()),
                      flip_flops=sum(flops.values()), gate_equivalents=ge,
                      memory_bits=sum(w * d for w, d in memories), memories=memories)


def synthesize(pf: ParamFile, *, timeout_s: float = 600.0) -> AreaReport:
    """Synthesise the core of ``pf`` with yosys and report its area."""
    yosys = tools.which("yosys")
    top = module_name(pf)
    with tempfile.TemporaryDirectory(prefix="lifhw-synth-") as tmp:
        files = []
        for name, text in generate(pf).items():
            path = Path(tmp) / name
            path.write_text(text)
            files.append(path)
        json_out = Path(tmp) / "netlist.json"
        script = Path(tmp) / "synth.ys"
        script.write_text(yosys_script(files, top, json_out))
        try:
            proc = subprocess.run([yosys, "-q", "-s", str(script)], capture_output=True,
                                  text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise SimulationError(f"yosys timed out after {timeout_s:g} s") from None
        if proc.returncode != 0 or not json_out.exists():
            raise SimulationError("yosys failed: " + (proc.stderr or proc.stdout)[-500:])
        return area_from_json(json.loads(json_out.read_text()), top)
