"""``[circuit.sky130]``: transistor-level options of the sky130 OTA-C LIF neuron.

Owned by the sky130 generator; the behavioural topology ignores this table.
Geometries are in metres (parameter files may write ``"2 um"``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lifhw.schema import integer, quantity


@dataclass(frozen=True)
class Sky130Options:
    """Sizing and Monte-Carlo options of the transistor-level neuron."""

    mismatch_seed: int = integer(0, ge=0, doc="seed of the mismatch (mc) corner sample")
    ota_w: float = quantity("m", 2e-6, gt=0, doc="OTA input-pair width")
    ota_l: float = quantity("m", 4e-6, gt=0, doc="OTA input-pair length")
