"""Memory budget: estimate a large allocation before making it and refuse it above a limit.

A parameter file with ``t_stop = "1e6 s"``, a 10⁷-neuron population or
``--hidden 100000000`` should fail at once with the estimate, not after
minutes of swapping or with a ``MemoryError`` traceback. The estimators here
are upper-bound-ish models of the dominant arrays of each flow, calibrated by
``tracemalloc`` peaks measured on this project's machine (numbers below); they
are deliberately simple: the point is the order of magnitude.

The budget is 4 GiB unless ``$LIFHW_MEMORY_BUDGET`` (or ``lifhw
--memory-budget``, which sets it) says otherwise, e.g. ``"16 GiB"``,
``"512 MiB"``, ``"8G"`` or a plain number of bytes; ``0`` or ``"none"``
switches the check off.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Sequence

from lifhw.errors import ParamError

#: Environment variable holding the budget.
ENV = "LIFHW_MEMORY_BUDGET"
#: Budget when the variable is not set (bytes).
DEFAULT_BUDGET = 4 * 2**30

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*([KMGT]?)(i?B?)\s*$",
                      re.IGNORECASE)

# Calibration (peak traced bytes, lifhw.golden.simulate, 1e6 steps of 0.1 ms): 121 MB
# with exact spike times, 73 MB on the grid; Poisson input at 2 kHz for 100 s added
# 27 MB for 2e5 input spikes.
GOLDEN_BYTES_PER_STEP = 128
GOLDEN_BYTES_PER_INPUT_SPIKE = 160
# Calibration (lifhw map, ei_small scaled x10: 640 neurons, 400 inputs, 5.8e5 dense
# weight entries, 1000 steps, all four chips): peak 110 MB, of which loading 9 MB.
MAP_BYTES_PER_WEIGHT = 16
MAP_BYTES_PER_WEIGHT_PER_CHIP = 48
MAP_BYTES_PER_NEURON_STEP = 8
MAP_BYTES_PER_INPUT_STEP = 16
# Counted, not measured: the single-neuron RTL regression keeps about ten int64 values
# per neuron-update (stimulus, step/reset flags, golden and simulator responses).
RTL_BYTES_PER_UPDATE = 128
# Calibration (SweepSpec.points of a golden spec, 2e4 points): 2.5 kB per point.
SWEEP_BYTES_PER_POINT = 4096


def parse_size(text: str, *, name: str = ENV) -> int:
    """``"4 GiB"``, ``"512M"``, ``"1e9"`` (bytes) -> bytes; ``"none"``/``0`` -> 0 (no limit).

    Raises:
        ParamError: Naming ``name``.
    """
    if text.strip().lower() in ("none", "off", "0"):
        return 0
    match = _SIZE_RE.match(text)
    if not match:
        raise ParamError(f"cannot read {text!r} as a memory size; use e.g. '4 GiB', "
                         "'512 MiB' or a number of bytes ('none' for no limit)", path=name)
    number = float(match.group(1))
    prefix = match.group(2).upper()
    binary = match.group(3).lower().startswith("i") or not match.group(3)
    base = 1024 if binary else 1000
    factor = base ** " KMGT".index(prefix) if prefix else 1
    value = number * factor
    if not math.isfinite(value) or value < 0:
        raise ParamError(f"memory size {text!r} is not a finite size", path=name)
    return int(value)


def memory_budget() -> int:
    """The budget in bytes (0: no limit), from ``$LIFHW_MEMORY_BUDGET`` or the default."""
    text = os.environ.get(ENV)
    return DEFAULT_BUDGET if text is None else parse_size(text)


def format_bytes(count: float) -> str:
    """``3.2 GiB``-style text."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(count) < 1024 or unit == "PiB":
            return f"{count:.3g} {unit}"
        count /= 1024
    return f"{count:.3g} PiB"  # pragma: no cover - loop always returns


def check(estimate: float, what: str, *, path: str = "", source: str = "") -> None:
    """Refuse an allocation whose estimate exceeds the budget.

    Args:
        estimate: Estimated bytes.
        what: What would be allocated, with the numbers that drive it.
        path: Field or option responsible (for the message).
        source: File responsible (for the message).

    Raises:
        ParamError: With the estimate, the budget and how to change it.
    """
    budget = memory_budget()
    if budget and not estimate <= budget:
        raise ParamError(f"{what} needs an estimated {format_bytes(estimate)}, above the "
                         f"memory budget of {format_bytes(budget)} (raise it with {ENV} "
                         "or lifhw --memory-budget)", path=path, source=source)


def golden_bytes(t_stop: float, dt: float, input_spikes: float = 0.0) -> float:
    """Golden single-neuron simulation: per time step and per input spike."""
    return (t_stop / dt + 1) * GOLDEN_BYTES_PER_STEP \
        + input_spikes * GOLDEN_BYTES_PER_INPUT_SPIKE


def network_bytes(n_steps: int, n_inputs: int, population_sizes: Sequence[int],
                  projection_shapes: Sequence[tuple[int, int]], n_chips: int = 1) -> float:
    """Building a network experiment and running it on golden and ``n_chips`` chips."""
    dense = sum(post * pre for post, pre in projection_shapes)
    neurons = sum(population_sizes)
    return (dense * (MAP_BYTES_PER_WEIGHT + n_chips * MAP_BYTES_PER_WEIGHT_PER_CHIP)
            + n_steps * neurons * MAP_BYTES_PER_NEURON_STEP * (n_chips + 1)
            + n_steps * n_inputs * MAP_BYTES_PER_INPUT_STEP)


def snn_bytes(widths: Sequence[int], n_steps: int, n_samples: int, batch: int) -> float:
    """Training or running a feed-forward SNN of layer ``widths`` (inputs first).

    Weights with their Adam moments and gradient (4 float64 copies), the encoded
    samples (float64, T x N x inputs) and the per-step state of a batch kept for
    back-propagation (about five float64 arrays per neuron and step).
    """
    weights = sum(a * b for a, b in itertools.pairwise(widths))
    return (4 * 8 * weights + 8 * n_steps * n_samples * widths[0]
            + 5 * 8 * n_steps * batch * sum(widths[1:]))
