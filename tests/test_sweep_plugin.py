"""Sweep backends for the engine's own tests, loaded through a spec's ``plugins`` key.

They misbehave on purpose, selected by the point's stimulus amplitude:

* ``slow``: the golden model plus ``LIFHW_TEST_POINT_SLEEP`` seconds of wall time;
* ``hang``: above 350 pA starts a ``sleep`` child (pid written to
  ``$LIFHW_TEST_PIDDIR``) and waits on it forever -- a hung simulator;
* ``crash``: above 350 pA the worker process dies (``os._exit``);
* ``boom``: above 350 pA the backend raises.

The module also tests that plugins register and are listed.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lifhw.sweep.backends import BACKENDS, evaluate_golden, register_backend

HANG_ABOVE_A = 350e-12


def _amplitude(pf: Any) -> float:
    return float(pf.require("stimulus").amplitude)


def slow(pf: Any, metrics: Sequence[str]) -> dict[str, float]:
    time.sleep(float(os.environ.get("LIFHW_TEST_POINT_SLEEP", "0.2")))
    return evaluate_golden(pf, metrics)


def hang(pf: Any, metrics: Sequence[str]) -> dict[str, float]:
    if _amplitude(pf) > HANG_ABOVE_A:
        child = subprocess.Popen(["sleep", "600"])
        piddir = Path(os.environ.get("LIFHW_TEST_PIDDIR", "/tmp"))
        (piddir / f"{child.pid}.pid").write_text(str(child.pid))
        child.wait()
    return evaluate_golden(pf, metrics)


def crash(pf: Any, metrics: Sequence[str]) -> dict[str, float]:
    if _amplitude(pf) > HANG_ABOVE_A:
        os._exit(3)
    return evaluate_golden(pf, metrics)


def boom(pf: Any, metrics: Sequence[str]) -> dict[str, float]:
    if _amplitude(pf) > HANG_ABOVE_A:
        raise ValueError("boom: this point is broken on purpose")
    return evaluate_golden(pf, metrics)


_GOLDEN_METRICS = ("rate_hz", "n_spikes", "isi_error", "tau_s")
for _name, _func in (("slow", slow), ("hang", hang), ("crash", crash), ("boom", boom)):
    register_backend(_name, _func, _GOLDEN_METRICS)


def test_plugins_are_registered() -> None:
    assert {"slow", "hang", "crash", "boom", "golden", "ngspice"} <= set(BACKENDS.names())
