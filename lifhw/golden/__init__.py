"""The golden model: NumPy/SciPy referee of every lifhw realisation.

Deterministic core (:mod:`lifhw.golden.lif`, :mod:`lifhw.golden.fi`), the
network referee (:mod:`lifhw.golden.network`) plus the theory modules added
by other flows. Names are imported lazily so that ``import lifhw.golden`` does
not compile numba kernels.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "lif_rate": "lifhw.golden.fi",
    "lif_isi": "lifhw.golden.fi",
    "lif_current_for_rate": "lifhw.golden.fi",
    "simulate": "lifhw.golden.lif",
    "simulate_population": "lifhw.golden.lif",
    "population_spike_counts": "lifhw.golden.lif",
    "simulate_network": "lifhw.golden.network",
    "simulate_network_batch": "lifhw.golden.network",
    "siegert_rate": "lifhw.golden.stochastic",
    "fokker_planck_stationary": "lifhw.golden.stochastic",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lifhw.golden' has no attribute {name!r}")
