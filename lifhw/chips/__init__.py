"""Chip mappers: a float LIF :class:`~lifhw.network.Network` on neuromorphic chips.

One module per chip, all with the same shape (see :mod:`lifhw.chips.base`):
``map -> quantize -> check / simulate / dequantize / resources / energy``.
Chips are reachable by name through :data:`CHIPS` (lazy imports, "did you mean").

    >>> from lifhw.chips import CHIPS
    >>> loihi = CHIPS.get("loihi")
    >>> config = loihi.quantize(loihi.map(network))
    >>> run = loihi.simulate(config, input_spikes)
"""

from __future__ import annotations

from lifhw.chips.base import CHIPS, ChipRun, ChipSpec, EnergyEstimate, Resources, Violation

__all__ = ["CHIPS", "ChipRun", "ChipSpec", "EnergyEstimate", "Resources", "Violation"]


def __getattr__(name: str) -> object:
    # Chip modules are imported on first use (CHIPS paths are "lifhw.chips:<chip>").
    import importlib

    if name in CHIPS:
        return importlib.import_module(f"lifhw.chips.{name}")
    raise AttributeError(f"module 'lifhw.chips' has no attribute {name!r}")
