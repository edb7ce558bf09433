"""Hardware targets: a float LIF :class:`~lifhw.network.Network` on neuromorphic chips
and on lifhw's own RTL population core.

One module per target, all with the same shape (the
:class:`~lifhw.chips.base.HardwareTarget` protocol, see :mod:`lifhw.chips.base`):
``map -> quantize -> check / simulate / dequantize / resources / energy``.
Targets are reachable by name through :data:`CHIPS` (lazy imports, "did you mean").

    >>> from lifhw.chips import CHIPS
    >>> loihi = CHIPS.get("loihi")
    >>> config = loihi.quantize(loihi.map(network))
    >>> run = loihi.simulate(config, input_spikes)
"""

from __future__ import annotations

from lifhw.chips.base import (
    CHIPS,
    ChipRun,
    ChipSpec,
    EnergyEstimate,
    HardwareTarget,
    Resources,
    Violation,
)

__all__ = ["CHIPS", "ChipRun", "ChipSpec", "EnergyEstimate", "HardwareTarget", "Resources",
           "Violation"]


def __getattr__(name: str) -> object:
    # Target modules are imported on first use (CHIPS paths are "lifhw.chips:<name>").
    import importlib

    if name in CHIPS:
        return importlib.import_module(f"lifhw.chips.{name}")
    raise AttributeError(f"module 'lifhw.chips' has no attribute {name!r}")
