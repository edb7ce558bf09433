"""Shared netlist text helpers and the node contract of every analog topology.

Each topology is one record in :mod:`lifhw.analog.topology`; its generator is a
pure function::

    generate(name: str, circuit: CircuitSection, stimulus: Stimulus, *,
             source: str = "", max_step: float | None = None,
             spiking: bool = True, <topology options>) -> str

It returns the complete ngspice netlist text (no file writes, no simulator calls,
no machine paths: support files such as a model library are included by bare
file name). Writing is :func:`write_netlist` (which also places the support
files next to the netlist); simulating is :mod:`lifhw.analog.backends`.

Node contract (every topology follows it, so backends, characterisation and
comparison work on any of them):

==========  ===============================================================
``vm``      the membrane node (capacitor top plate), volts against ground ``0``
``spike``   logic output: ~0 V at rest, ~``circuit.supply`` while the neuron
            spikes and is refractory; a spike is a rising crossing of
            ``supply / 2`` (:func:`spike_level`)
``IIN``     the input current source, ``IIN 0 vm ...``: positive current flows
            *into* ``vm``. It is emitted by :func:`stimulus_lines` between the
            markers ``* lifhw:stimulus begin`` / ``* lifhw:stimulus end``
``VDD``     where the topology has a supply: the source ``VDD vdd 0 DC <supply>``
            driving node ``vdd``. Energy per spike is ``supply x (charge it
            delivers) / n_spikes`` (:mod:`lifhw.analog.backends`).
analysis    ``.options``/``.tran``/``.save`` lines from :func:`analysis_lines`,
            between ``* lifhw:analysis begin`` / ``* lifhw:analysis end``
==========  ===============================================================

Every generator also accepts ``max_step`` (s) and ``spiking`` (bool, default
True; False disables the spike logic so a DC sweep can force ``vm`` anywhere,
above threshold included); an option it does not know is a ParamError.

The markers let :mod:`lifhw.analog.characterise` swap the stimulus for a DC
voltage forcing source and the transient for a DC sweep without knowing the
topology (:func:`replace_block`).

Safety: values reach the text only as numbers formatted by :func:`spice_number`
(finite floats, exponent notation, so no SPICE suffix ambiguity like ``1M`` vs
``1m``), names only after :func:`safe_name`, free text only after
:func:`safe_comment`; :func:`check_safe` rejects any netlist with control
characters, non-ASCII text or a ``.control`` command outside a short allow list
(so ``shell``/``source`` can never be emitted).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from lifhw.analog.params import CircuitSection
from lifhw.errors import ParamError
from lifhw.io import atomic_write_text
from lifhw.schema import IDENTIFIER_RE
from lifhw.stimulus import Stimulus

#: ngspice tolerances that reproduce the golden ISI (TOOLCHAIN.md: with the default
#: reltol=1e-3 the ISI came out 10 % short).
TOLERANCES = {"reltol": 1e-4, "abstol": 1e-15, "vntol": 1e-7}

STIMULUS_BEGIN = "* lifhw:stimulus begin"
STIMULUS_END = "* lifhw:stimulus end"
ANALYSIS_BEGIN = "* lifhw:analysis begin"
ANALYSIS_END = "* lifhw:analysis end"

#: Commands allowed inside a ``.control`` block of a generated netlist.
CONTROL_ALLOWED = frozenset({
    "set", "unset", "option", "options", "run", "tran", "op", "dc", "write", "wrdata",
    "quit", "exit", "let", "echo", "print", "save", "destroy", "alter", "altermod",
    "reset", "meas", "measure", "remcirc", "setplot", "linearize",
})

#: Edge time (s) of the PWL current source between piecewise-constant segments.
PWL_EDGE_S = 1e-9


def spice_number(value: float) -> str:
    """Format a float for a netlist: 12 significant digits, exponent notation.

    Raises:
        ParamError: The value is not finite (NaN/inf cannot reach a netlist).
    """
    number = float(value)
    if not math.isfinite(number):
        raise ParamError(f"cannot write the non-finite value {value!r} into a netlist")
    text = f"{number:.12g}"
    return "0" if text in ("0", "-0") else text


def safe_name(name: str) -> str:
    """Return ``name`` if it is a safe identifier, else raise ParamError."""
    if not isinstance(name, str) or not IDENTIFIER_RE.match(name):
        raise ParamError(
            f"{name!r} is not a valid name: use letters, digits and '_', starting with "
            "a letter, at most 64 characters", path="name")
    return name


_COMMENT_UNSAFE = re.compile(r"[^A-Za-z0-9_./+=:,() -]")


def safe_comment(text: str, limit: int = 200) -> str:
    """Free text (e.g. a file path) reduced to a harmless one-line comment."""
    return _COMMENT_UNSAFE.sub("?", str(text))[:limit]


def spike_level(circuit: CircuitSection) -> float:
    """Voltage (V) on node ``spike`` whose rising crossing marks a spike."""
    return 0.5 * circuit.supply


def title_lines(name: str, circuit: CircuitSection, source: str = "") -> list[str]:
    """Line 1 (the SPICE title, never a statement) and a provenance comment."""
    origin = safe_comment(source) if source else "parameters in memory"
    return [
        f"{safe_name(name)}: OTA-C LIF neuron, topology {circuit.topology}",
        f"* generated by lifhw from {origin}; do not edit (regenerate with lifhw netlist)",
    ]


def stimulus_lines(stimulus: Stimulus, node: str = "vm") -> list[str]:
    """The input current source ``IIN 0 <node> PWL(...)`` between its markers.

    Piecewise-constant segments become a PWL with :data:`PWL_EDGE_S` edges; the
    current starts from 0 A at t = 0 (DC operating point at rest).

    Input spikes (kinds ``spikes``/``poisson``) are not currents: their constant
    ``offset`` is emitted here, the spikes drive the synapse circuits
    (:func:`lifhw.analog.synapse.stimulus_synapse_lines`).
    """
    edges, values = stimulus.segments()
    # The source starts at 0 A and reaches the first value after one edge, so the
    # DC operating point is the resting state (a supra-rheobase DC current has no
    # operating point at all: the OTA leak saturates at I_b).
    points: list[tuple[float, float]] = [(0.0, 0.0), (PWL_EDGE_S, float(values[0]))]
    for k in range(1, len(values)):
        start = float(edges[k])
        if values[k] == values[k - 1]:
            continue
        points.append((start, float(values[k - 1])))
        points.append((start + PWL_EDGE_S, float(values[k])))
    points.append((float(edges[-1]), float(values[-1])))
    pairs = [f"{spice_number(t)} {spice_number(i)}" for t, i in points]
    lines = [STIMULUS_BEGIN, f"IIN 0 {safe_name(node)} PWL("]
    for start in range(0, len(pairs), 4):
        lines.append("+ " + " ".join(pairs[start:start + 4]))
    lines.append("+ )")
    lines.append(STIMULUS_END)
    return lines


def default_max_step(circuit: CircuitSection, stimulus: Stimulus, *,
                     divisor: float = 400.0) -> float:
    """A max time step (s) fine enough for sub-percent spike timing.

    The shortest time scale of the ideal neuron is the charging time from reset
    to threshold at the largest input, ``C (V_th - V_reset) / I_max``; a step of
    1/``divisor`` of it (and of tau_m and t_ref) keeps the ISI error well below
    1 % (0.15 % at 400 on the behavioural netlist, where spike-width errors are
    ~0.7 max step; 0.06 % at 1000).
    """
    i_max = max(abs(stimulus.max_current), 1e-30)
    charge_time = circuit.membrane_capacitance * (circuit.v_threshold - circuit.v_reset) / i_max
    scales = [charge_time, circuit.tau_m]
    if circuit.refractory > 0:
        scales.append(circuit.refractory)
    return min(min(scales) / divisor, stimulus.t_stop / 2000.0)


def analysis_lines(stimulus: Stimulus, *, max_step: float, save: Iterable[str],
                   extra_options: str = "") -> list[str]:
    """``.options``, ``.tran`` and ``.save`` between the analysis markers.

    Args:
        stimulus: Provides ``t_stop`` (s).
        max_step: Largest internal time step (s).
        save: Vectors to keep, e.g. ``("v(vm)", "v(spike)", "i(VDD)")``.
        extra_options: More ``.options`` words (e.g. ``"method=gear"``), from a closed
            set chosen by the generator, never from a parameter file.
    """
    options = " ".join(f"{k}={spice_number(v)}" for k, v in TOLERANCES.items())
    if extra_options:
        options += " " + extra_options
    print_step = spice_number(min(max_step, stimulus.t_stop / 1000.0))
    return [
        ANALYSIS_BEGIN,
        f".options {options}",
        f".tran {print_step} {spice_number(stimulus.t_stop)} 0 {spice_number(max_step)}",
        ".save " + " ".join(save),
        ANALYSIS_END,
    ]


def replace_block(netlist: str, begin: str, end: str, lines: Iterable[str]) -> str:
    """Replace the marked block (markers included) with ``lines`` (markers kept).

    Raises:
        ValueError: The netlist does not contain exactly one such block.
    """
    text = netlist.splitlines()
    starts = [i for i, line in enumerate(text) if line.strip() == begin]
    stops = [i for i, line in enumerate(text) if line.strip() == end]
    if len(starts) != 1 or len(stops) != 1 or stops[0] < starts[0]:
        raise ValueError(f"netlist does not follow the node contract: no single "
                         f"{begin!r} ... {end!r} block")
    new = [*text[: starts[0] + 1], *lines, *text[stops[0]:]]
    return "\n".join(new) + "\n"


def check_safe(netlist: str) -> str:
    """Reject text that could do more than describe a circuit; returns it unchanged.

    Raises:
        ParamError: Non-ASCII or control characters, or a ``.control`` command
            outside :data:`CONTROL_ALLOWED` (``shell``, ``source``, ...).
    """
    in_control = False
    for number, line in enumerate(netlist.splitlines(), start=1):
        if any((ord(ch) < 32 and ch != "\t") or ord(ch) > 126 for ch in line):
            raise ParamError(f"generated netlist line {number} contains a control or "
                             "non-ASCII character")
        word = line.strip().split(" ", 1)[0].lower()
        if word == ".control":
            in_control = True
            continue
        if word == ".endc":
            in_control = False
            continue
        if in_control and word and not word.startswith("*") and word not in CONTROL_ALLOWED:
            raise ParamError(f"generated netlist line {number}: command {word!r} is not "
                             "allowed in a .control block")
        if word in ("shell", ".shell", "source", ".source"):
            raise ParamError(f"generated netlist line {number}: {word!r} is not allowed")
    return netlist


def generate(name: str, circuit: CircuitSection, stimulus: Stimulus, *, source: str = "",
             **options: Any) -> str:
    """Netlist text of ``circuit`` driven by ``stimulus``, by its topology's generator.

    Args:
        name: Design name (a safe identifier; the parameter file's ``name``).
        circuit: The validated ``[circuit]`` section.
        stimulus: The validated ``[stimulus]`` section.
        source: Path of the parameter file (for the provenance comment).
        **options: Keyword parameters of the topology generator (``max_step``,
            ``spiking``, topology-specific ones).

    Raises:
        ParamError: Unknown topology ("did you mean ..."), or an option the
            topology's generator does not have.
    """
    from lifhw.analog.synapse import check_stimulus
    from lifhw.analog.topology import get_topology

    generator = get_topology(circuit.topology).generate
    check_stimulus(circuit, stimulus)
    known = inspect.signature(generator).parameters
    for option in options:
        if option not in known or option in ("name", "circuit", "stimulus"):
            allowed = [p for p in known if p not in ("name", "circuit", "stimulus",
                                                      "source")]
            raise ParamError(f"topology {circuit.topology!r} has no generator option "
                             f"{option!r}; its options: {', '.join(allowed)}", path=option)
    return check_safe(generator(safe_name(name), circuit, stimulus, source=source, **options))


def netlist_path(out_dir: str | Path, name: str) -> Path:
    """Where :func:`write_netlist` puts the netlist of design ``name``."""
    return Path(out_dir) / f"{safe_name(name)}.cir"


def write_netlist(text: str, path: str | Path, *, circuit: CircuitSection | None = None
                  ) -> Path:
    """Write netlist text atomically (complete or absent, never partial).

    Args:
        text: Netlist text.
        path: Target file.
        circuit: The netlist's circuit: when given, the support files its topology
            needs (:func:`write_support_files`) are written next to the netlist, so
            ``ngspice -b <file>`` run in that directory works by hand.
    """
    written = atomic_write_text(path, check_safe(text))
    if circuit is not None:
        write_support_files(Path(path).parent, circuit)
    return written


def write_support_files(directory: str | Path, circuit: CircuitSection) -> list[Path]:
    """Place the support files of ``circuit``'s topology into ``directory``.

    The files the netlist includes by name (e.g. the trimmed sky130 model
    library) and, when the topology needs ``set`` commands before parsing, a
    ``.spiceinit`` with them. Nothing is written for self-contained topologies.

    Returns:
        The paths written.
    """
    from lifhw.analog.topology import get_topology

    topology = get_topology(circuit.topology)
    directory = Path(directory)
    written = []
    for support in topology.files(circuit):
        written.append(support.place(directory))
    if topology.spiceinit:
        lines = ["* written by lifhw: ngspice settings the netlists here need before "
                 "parsing", *topology.spiceinit]
        written.append(atomic_write_text(directory / ".spiceinit", "\n".join(lines) + "\n"))
    return written


_INCLUDE_RE = re.compile(r'^(\.include|\.lib)\s+"?([^"\s]+)"?(.*)$', re.IGNORECASE)


def normalise(text: str) -> str:
    """Netlist text for reference diffs.

    Drops the provenance comment and trailing blanks, and replaces the directory
    of ``.include``/``.lib`` files by ``<models>`` (generated netlists include bare
    file names; this keeps older references and hand-edited paths comparable).
    """
    out = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("* generated by lifhw from"):
            continue
        match = _INCLUDE_RE.match(line)
        if match:
            line = f'{match.group(1)} "<models>/{Path(match.group(2)).name}"{match.group(3)}'
        out.append(line)
    return "\n".join(out).strip() + "\n"


def pwl_points(netlist: str) -> np.ndarray:
    """The ``(t, i)`` points of the ``IIN`` PWL source, shape (n, 2) (for tests)."""
    text = netlist.splitlines()
    start = text.index(STIMULUS_BEGIN)
    stop = text.index(STIMULUS_END)
    words = " ".join(line.lstrip("+ ") for line in text[start + 2:stop]).replace(")", " ")
    values = [float(w) for w in words.split()]
    return np.array(values).reshape(-1, 2)
