"""Feed-forward SNNs on lifhw's Verilog population core, many test samples per run.

The core is the ``rtl`` hardware target (:mod:`lifhw.chips.rtl`): its ``map`` and
``quantize`` give one integer layer per LIF population (the mapping and its
formulas are documented there), and its ``simulate`` runs one sample. For a
test set this module runs the same layers batched:

* **Batching**: ``B`` test samples run at once as ``B`` independent copies of
  the layer side by side (block-diagonal weights; samples never interact), ``B``
  limited by the core's weight row (``n_inputs * w_w + w_i <= 8192`` bits).
* **Delays**: a projection's delay ``d`` is a ``d``-step shift of its input
  lines (the core applies inputs in the step they arrive).

``engine="twin"`` runs :func:`lifhw.golden.fixedpoint.population_run`, the core's
bit-exact NumPy twin, instead of the simulator (used to cross-check the RTL).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from lifhw.chips import rtl as target
from lifhw.chips.rtl import MAX_ROW_BITS, W_I, W_V, W_W, RTLConfig, RTLLayer
from lifhw.errors import ParamError
from lifhw.network import Network

__all__ = ["MAX_ROW_BITS", "W_I", "W_V", "W_W", "RTLLayer", "map_network", "run_config",
           "run_on_rtl"]


def map_network(network: Network, *, w_w: int = W_W, w_v: int = W_V, w_i: int = W_I
                ) -> list[RTLLayer]:
    """Integer layers for the population core (``quantize(map(network))`` of the target).

    Raises:
        ParamError: Current synapses.
    """
    return list(target.quantize(target.map(network, w_w=w_w, w_v=w_v, w_i=w_i)).layers)


def run_on_rtl(network: Network, x: np.ndarray, *, engine: str = "verilator",
                max_batch: int = 16, build_root: Path | None = None
                ) -> tuple[dict[str, np.ndarray], list[RTLLayer]]:
    """Run a feed-forward network on the population core, layer by layer.

    Args:
        network: Delta-synapse feed-forward network.
        x: Inputs (T, N, n_inputs), the input populations side by side.
        engine: ``verilator``, ``icarus`` or ``twin`` (the bit-exact NumPy model).
        max_batch: Most samples per core run.
        build_root: Where simulator builds (and ``snn_rtl.log``) go (default
            ``$LIFHW_BUILD_DIR/rtl``, else ``build/rtl``).

    Returns:
        (population name -> spikes (T, N, size) bool, the mapped layers).
    """
    config = target.quantize(target.map(network))
    spikes = run_config(config, x, engine=engine, max_batch=max_batch, build_root=build_root)
    return spikes, list(config.layers)


def run_config(config: RTLConfig, x: np.ndarray, *, engine: str = "verilator",
               max_batch: int = 16, build_root: Path | None = None
               ) -> dict[str, np.ndarray]:
    """Run the target's layers on inputs (T, N, n_inputs), ``max_batch`` samples per core run.

    Returns:
        Population name -> spikes (T, N, size) bool.

    Raises:
        ParamError: Unknown engine, or a network that is not feed-forward.
    """
    if engine not in ("verilator", "icarus", "twin"):
        raise ParamError(f"unknown engine {engine!r}", path="engine")
    errors = target.feed_forward(config)
    if errors:
        raise ParamError(str(errors[0]), path=errors[0].where)
    network = config.spec.network
    n_steps, n_samples = x.shape[:2]
    rasters: dict[str, np.ndarray] = {}
    start = 0
    for src in network.inputs:
        rasters[src.name] = np.asarray(x[..., start:start + src.size], dtype=bool)
        start += src.size
    for layer in config.layers:
        lines = layer.input_lines(rasters)
        size, n_in = layer.weights.shape
        w_w, w_i = layer.core.w_w, layer.core.w_i
        widest = 1 << int(math.log2((MAX_ROW_BITS - w_i) // w_w))  # inputs per row
        batch = max(1, min(max_batch, widest // target.pow2(n_in)))
        out = np.zeros((n_steps, n_samples, size), dtype=bool)
        for lo in range(0, n_samples, batch):
            chunk = lines[:, lo:lo + batch]
            b = chunk.shape[1]
            out[:, lo:lo + b] = target.run_block(layer, chunk, engine, build_root)[0]
        rasters[layer.name] = out
    return {pop.name: rasters[pop.name] for pop in network.populations}
