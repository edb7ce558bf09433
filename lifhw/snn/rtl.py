"""Feed-forward SNNs on lifhw's Verilog population core (:mod:`lifhw.digital.population`).

The core is one time-multiplexed population (``n_neurons`` x ``n_inputs``, both
powers of two, integer weights of ``w_w`` bits and a bias per neuron). A network
runs layer by layer, one core configuration per layer:

* **Mapping** (per LIF population; its incoming projections side by side):
  with ``p = exp(-dt / tau_m)`` the float grid update is
  ``x' = p (x + w/lsb) + (1 - p) r_m I / lsb`` (``x`` = membrane in LSB above
  rest), while the core computes ``x' = leak(x) + w_int + b_int`` (input added
  after the leak). Hence ``w_int = round(p w / lsb)`` and
  ``b_int = round((1 - p) r_m I / lsb)``. The LSB is chosen so that the largest
  ``|p w|`` uses the full weight range (``2^(w_w-1) - 1``):
  ``lsb = max|p w| / (2^(w_w-1) - 1)``, i.e. the threshold sits at
  ``(v_th - v_rest) / lsb`` LSB (it must fit half the ``w_v``-bit range); the
  leak is the multiply leak nearest to ``p`` (:func:`lifhw.golden.fixedpoint.quantize_lif`),
  reset to rest, saturating membrane.
* **Batching**: ``B`` test samples run at once as ``B`` independent copies of
  the layer side by side (block-diagonal weights; samples never interact), ``B``
  limited by the core's weight row (``n_inputs * w_w + w_i <= 8192`` bits).
* **Delays**: the float network's one-step delay is a one-step shift of each
  layer's input array (the core applies inputs in the step they arrive).

``engine="twin"`` runs :func:`lifhw.golden.fixedpoint.population_run`, the core's
bit-exact NumPy twin, instead of the simulator (used to cross-check the RTL).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lifhw.errors import ParamError
from lifhw.network import Network

if TYPE_CHECKING:
    from lifhw.digital.params import CoreSection

#: Widths of the core used for deployment (as Loihi: 8-bit weights).
W_W, W_V, W_I = 8, 16, 12
#: Widest input row the population harness supports (bits).
MAX_ROW_BITS = 8192


def _pow2(n: int) -> int:
    return 1 << max(1, math.ceil(math.log2(max(n, 2))))


@dataclass(frozen=True, eq=False)
class RTLLayer:
    """One LIF population mapped onto the core.

    Args:
        name: Population name.
        sources: Pre populations whose spikes form the input lines, in order.
        weights: Integer weights (size, n_in).
        bias: Integer bias (size,).
        core: ``[core]`` section for one copy (n_neurons/n_inputs set per batch).
        lsb: Membrane LSB (V).
        report: Quantisation facts (clipping, threshold in LSB).
    """

    name: str
    sources: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    core: CoreSection
    lsb: float
    report: dict[str, float]


def map_network(network: Network, *, w_w: int = W_W, w_v: int = W_V, w_i: int = W_I
                ) -> list[RTLLayer]:
    """Integer layers for the population core (see the module docstring).

    Raises:
        ParamError: Current synapses, or a layer whose threshold does not fit.
    """
    from lifhw.digital.params import CoreSection
    from lifhw.digital.population import core_mapping
    from lifhw.golden.fixedpoint import quantize_lif

    layers = []
    w_max_int = (1 << (w_w - 1)) - 1
    v_max = (1 << (w_v - 1)) - 1
    for pop in network.populations:
        if not pop.delta_synapses:
            raise ParamError("the population core has delta synapses only", path=pop.name)
        incoming = network.incoming(pop.name)
        if any(p.delay_steps != 1 for p in incoming):
            raise ParamError("RTL deployment supports delay_steps = 1 only", path=pop.name)
        neuron = pop.neuron
        p = math.exp(-network.dt / neuron.tau_m)
        w_volts = p * np.concatenate(
            [proj.dense_weights(purpose="the RTL population core") for proj in incoming],
            axis=1)
        span = neuron.v_th - neuron.v_rest
        w_peak = float(np.max(np.abs(w_volts))) or span
        v_th_int = span * w_max_int / w_peak
        headroom = min(0.5, v_th_int / v_max)
        q = quantize_lif(neuron, network.dt, w_v=w_v, w_i=w_i, leak="multiply",
                         frac_bits=12, headroom=headroom, rounding="floor", reset="value")
        raw_w = q.volts_to_lsb(w_volts)
        w_int = np.clip(raw_w, -w_max_int - 1, w_max_int)
        b_lim = (1 << (w_i - 1)) - 1
        raw_b = q.current_to_input(pop.bias)
        b_int = np.clip(raw_b, -b_lim - 1, b_lim)
        settings: dict[str, object] = {"kind": "population", "n_neurons": 2, "n_inputs": 2,
                                       "w_w": w_w, "compare": "ge", "overflow": "saturate",
                                       **core_mapping(q)}
        core = CoreSection(**settings)  # type: ignore[arg-type]
        report = {"v_th_lsb": float(q.fixed.v_th), "lsb_v": q.lsb,
                  "weights_clipped": float(np.mean(raw_w != w_int)),
                  "bias_clipped": float(np.mean(raw_b != b_int)),
                  "tau_m_rel_error": float(q.errors["tau_m_rel"])}
        layers.append(RTLLayer(pop.name, tuple(proj.pre for proj in incoming), w_int, b_int,
                               core, q.lsb, report))
    return layers


def run_network(network: Network, x: np.ndarray, *, engine: str = "verilator",
                max_batch: int = 16, build_root: Path | None = None
                ) -> tuple[dict[str, np.ndarray], list[RTLLayer]]:
    """Run a feed-forward network on the population core, layer by layer.

    Args:
        network: Delta-synapse feed-forward network (delays of one step).
        x: Inputs (T, N, n_inputs), the input populations side by side.
        engine: ``verilator``, ``icarus`` or ``twin`` (the bit-exact NumPy model).
        max_batch: Most samples per core run.
        build_root: Where simulator builds are cached (default ``build/rtl``).

    Returns:
        (population name -> spikes (T, N, size) bool, the mapped layers).
    """
    if engine not in ("verilator", "icarus", "twin"):
        raise ParamError(f"unknown engine {engine!r}", path="engine")
    layers = map_network(network)
    n_steps, n_samples = x.shape[:2]
    rasters: dict[str, np.ndarray] = {}
    start = 0
    for src in network.inputs:
        rasters[src.name] = np.asarray(x[..., start:start + src.size], dtype=bool)
        start += src.size
    for layer in layers:
        inputs = np.concatenate([rasters[s] for s in layer.sources], axis=2)
        shifted = np.zeros_like(inputs)
        shifted[1:] = inputs[:-1]          # the one-step synaptic delay
        size, n_in = layer.weights.shape
        widest = 1 << int(math.log2((MAX_ROW_BITS - W_I) // W_W))  # inputs per row
        batch = max(1, min(max_batch, widest // _pow2(n_in)))
        out = np.zeros((n_steps, n_samples, size), dtype=bool)
        for lo in range(0, n_samples, batch):
            chunk = shifted[:, lo:lo + batch]
            b = chunk.shape[1]
            out[:, lo:lo + b] = _run_block(layer, chunk, engine, build_root)
        rasters[layer.name] = out
    return {pop.name: rasters[pop.name] for pop in network.populations}, layers


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Send the simulator's console output (build log, cocotb banner) to a log file.

    The simulator is a child process writing to the inherited file descriptors,
    so redirecting ``sys.stdout`` is not enough; the log is kept in
    ``build/snn_rtl.log`` (overwritten per run) and its tail is printed on failure.
    """
    log_path = Path("build") / "snn_rtl.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    try:
        with open(log_path, "wb") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    except Exception:
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        print("\n".join(["simulator log (tail):", *tail]), file=sys.stderr)
        raise
    finally:
        os.close(saved[0])
        os.close(saved[1])


def _run_block(layer: RTLLayer, chunk: np.ndarray, engine: str,
               build_root: Path | None) -> np.ndarray:
    """``b`` copies of one layer side by side on one core; returns (T, b, size)."""
    n_steps, b, n_in = chunk.shape
    size = layer.weights.shape[0]
    n_neurons, n_inputs = _pow2(b * size), _pow2(b * n_in)
    weights = np.zeros((n_neurons, n_inputs), dtype=np.int64)
    bias = np.zeros(n_neurons, dtype=np.int64)
    spikes = np.zeros((n_steps, n_inputs), dtype=bool)
    for k in range(b):
        weights[k * size:(k + 1) * size, k * n_in:(k + 1) * n_in] = layer.weights
        bias[k * size:(k + 1) * size] = layer.bias
        spikes[:, k * n_in:(k + 1) * n_in] = chunk[:, k]
    core = dataclasses.replace(layer.core, n_neurons=n_neurons, n_inputs=n_inputs)
    if engine == "twin":
        from lifhw.golden.fixedpoint import population_run

        result = population_run(core.fixed(), weights, spikes, bias).spike
    else:
        from lifhw.digital.population import run_rtl

        with _quiet():
            result = run_rtl(core, weights, spikes, bias=bias, sim=engine,
                             build_root=build_root)
    out = np.asarray(result, dtype=bool)[:, :b * size]
    return out.reshape(n_steps, b, size)
