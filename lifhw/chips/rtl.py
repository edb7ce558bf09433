"""lifhw's RTL population core as a hardware target (``rtl``).

The core (:mod:`lifhw.digital.population`, Verilog from :mod:`lifhw.digital.verilog`)
is one time-multiplexed population: ``n_neurons`` x ``n_inputs`` (powers of two),
integer weights of ``w_w`` bits, a bias per neuron, a multiply leak and reset to
rest. A network runs population by population, one core configuration per
population (sized to it), each run being the generated Verilog on a simulator
through the batch harness (:func:`lifhw.digital.population.run_rtl`). It has
the same shape as the chip models (:mod:`lifhw.chips.base`) and is registered
as ``rtl`` of kind ``core``: it runs the networks its design supports --
delta synapses, feed-forward (populations in topological order) -- and is
named explicitly rather than included in ``--chip all``.

Mapping (per LIF population; its incoming projections side by side as input
lines). With ``p = exp(-dt / tau_m)`` the float grid update of the golden model
(:mod:`lifhw.golden.network`) is ``x' = p (x + w/lsb) + (1 - p) r_m I / lsb``
(``x`` = membrane in LSB above rest), while the core computes
``x' = leak(x) + w_int + b_int`` (input added after the leak). Hence

    w_int = round(p w / lsb)                 (clipped to w_w signed bits)
    b_int = round((1 - p) r_m I / lsb)       (clipped to w_i signed bits)

and the LSB is chosen so that the largest ``|p w|`` uses the full weight range
``2^(w_w-1) - 1``: the threshold target is ``(v_th - v_rest) (2^(w_w-1) - 1) /
max|p w|`` LSB, used as headroom ``min(0.5, target / (2^(w_v-1) - 1))`` of
:func:`lifhw.golden.fixedpoint.quantize_lif` (multiply leak nearest to ``p``
with 12 fraction bits, floor rounding, reset to rest, saturating membrane).
A projection's delay ``d`` is a ``d``-step shift of its input lines (the core
applies inputs in the step they arrive).

Energy: no published per-event figure exists for this core, so :func:`energy`
returns an estimate that is explicitly not available (``available`` False, the
reason in ``note``); its area is what :mod:`lifhw.digital.synth` (yosys)
reports for a ``[core]`` file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lifhw.chips.base import (
    ChipRun,
    ChipSpec,
    EnergyEstimate,
    Resources,
    Rule,
    Violation,
    cap_tau_m,
    projection_key,
    residual_leak,
    run_rules,
    split_inputs,
)
from lifhw.chips.placement import ChipResources, CoreResources, Figure, Placement, place_spec
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.network import Network, Population, Projection

if TYPE_CHECKING:
    from lifhw.digital.params import CoreSection

NAME = "rtl"
#: Default widths of the deployed core (as Loihi: 8-bit weights).
W_W, W_V, W_I = 8, 16, 12
#: Fraction bits of the multiply leak.
FRAC_BITS = 12
#: Widest weight row (``n_inputs * w_w + w_i`` bits) the population harness loads.
MAX_ROW_BITS = 8192
#: Simulator engines: the Verilog on a simulator, or the core's bit-exact NumPy
#: twin (:func:`lifhw.golden.fixedpoint.population_run`).
ENGINES = ("verilator", "icarus", "verilator-binary", "twin")


def pow2(n: int) -> int:
    """The core's size for ``n`` neurons or inputs: the next power of two (>= 2)."""
    return 1 << max(1, math.ceil(math.log2(max(n, 2))))


@dataclass(frozen=True, eq=False)
class RTLLayer:
    """One LIF population mapped onto the core.

    Args:
        name: Population name.
        sources: Pre populations whose spikes form the input lines, in order.
        weights: Integer weights (size, n_in).
        bias: Integer bias (size,).
        core: ``[core]`` section for one copy (n_neurons/n_inputs set per run).
        lsb: Membrane LSB (V).
        report: Quantisation facts (clipping, threshold in LSB).
        delays: Delay (steps) of each source's projection.
    """

    name: str
    sources: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    core: CoreSection
    lsb: float
    report: dict[str, float]
    delays: tuple[int, ...] = ()

    def input_lines(self, rasters: Mapping[str, np.ndarray]) -> np.ndarray:
        """Input lines per step: the sources side by side, each shifted by its delay.

        ``rasters`` hold (T, ..., size) booleans (one sample or a batch on axis 1);
        a spike of source step ``k`` is input of step ``k + d``.
        """
        parts = []
        for source, delay in zip(self.sources, self.delays or (1,) * len(self.sources),
                                 strict=True):
            raster = np.asarray(rasters[source], dtype=bool)
            shifted = np.zeros_like(raster)
            if delay < raster.shape[0]:
                shifted[delay:] = raster[:raster.shape[0] - delay]
            parts.append(shifted)
        return np.concatenate(parts, axis=-1)


@dataclass(frozen=True, eq=False)
class RTLConfig:
    """The core's integers for a network: one layer per LIF population (network order)."""

    spec: ChipSpec
    layers: tuple[RTLLayer, ...]

    def layer(self, name: str) -> RTLLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


def core_neuron(neuron: LIFParams, dt: float) -> tuple[LIFParams, bool]:
    """The neuron the core runs: ``tau_m`` capped at its longest leak (s).

    The multiply leak's smallest step is ``d = 1``: ``p = 1 - 2**-F``, ``tau =
    -dt / ln(1 - 2**-F)`` (4095.5 dt at F = 12); a longer membrane (an integrator
    such as NIR's ``IF``) gets that leak with its integration rate kept
    (:func:`lifhw.chips.base.cap_tau_m`; ``residual_leak`` warning).
    """
    return cap_tau_m(neuron, -dt / math.log(1.0 - 2.0**-FRAC_BITS))


def map(network: Network, *, w_w: int = W_W, w_v: int = W_V, w_i: int = W_I) -> ChipSpec:
    """Float targets of the core (see the module docstring); ``network`` is not modified.

    Per population: ``leak`` (``p``), ``v_th`` (threshold target, LSB) and
    ``headroom``; per projection the leak-scaled weight ``p w`` in volts (the
    LSB it is rounded to is fixed by :func:`quantize`).

    Raises:
        ParamError: A population with current synapses (the core has delta synapses only).
    """
    for name, value in (("w_w", w_w), ("w_v", w_v), ("w_i", w_i)):
        if not isinstance(value, int) or value < 2:
            raise ParamError(f"{name} must be an integer >= 2 bits, got {value!r}", path=name)
    w_max_int = (1 << (w_w - 1)) - 1
    v_max = (1 << (w_v - 1)) - 1
    populations: dict[str, dict[str, Any]] = {}
    weights: dict[str, np.ndarray] = {}
    for pop in network.populations:
        if not pop.delta_synapses:
            raise ParamError("the population core has delta synapses only", path=pop.name)
        neuron, capped = core_neuron(pop.neuron, network.dt)
        p = math.exp(-network.dt / neuron.tau_m)
        scaled = [p * proj.weights for proj in network.incoming(pop.name)]
        for proj, w in zip(network.incoming(pop.name), scaled, strict=True):
            weights[projection_key(proj.pre, proj.post)] = w
        span = neuron.v_th - neuron.v_rest
        w_peak = max((float(np.max(np.abs(w))) for w in scaled if w.size), default=0.0) or span
        v_th_target = span * w_max_int / w_peak
        populations[pop.name] = {"leak": p, "v_th": v_th_target,
                                 "headroom": min(0.5, v_th_target / v_max),
                                 "residual_leak": capped, "tau_m_wanted": pop.neuron.tau_m,
                                 "tau_m_effective": neuron.tau_m}
    return ChipSpec(chip=NAME, network=network, dt=network.dt, populations=populations,
                    weights=weights, options={"w_w": w_w, "w_v": w_v, "w_i": w_i},
                    notes=("weights scaled by exp(-dt/tau_m): the core adds input after "
                           "its leak",))


def quantize(spec: ChipSpec) -> RTLConfig:
    """The core's integers: the neuron by :func:`lifhw.golden.fixedpoint.quantize_lif`,
    weights and bias by :func:`lifhw.digital.population.layer_integers` (formulas in
    the module docstring)."""
    from lifhw.digital.params import CoreSection
    from lifhw.digital.population import core_mapping, layer_integers
    from lifhw.golden.fixedpoint import quantize_lif

    network = spec.network
    w_w, w_v, w_i = (int(spec.options[k]) for k in ("w_w", "w_v", "w_i"))
    layers = []
    for pop in network.populations:
        incoming = network.incoming(pop.name)
        target = spec.populations[pop.name]
        w_volts = (np.concatenate([spec.weights[projection_key(p.pre, p.post)]
                                   for p in incoming], axis=1)
                   if incoming else np.zeros((pop.size, 0)))
        q = quantize_lif(core_neuron(pop.neuron, network.dt)[0], network.dt, w_v=w_v,
                         w_i=w_i, leak="multiply", frac_bits=FRAC_BITS,
                         headroom=target["headroom"], rounding="floor", reset="value")
        w_int, b_int, raw_w, raw_b = layer_integers(q, w_volts, pop.bias, w_w=w_w, w_i=w_i)
        settings: dict[str, object] = {"kind": "population", "n_neurons": 2, "n_inputs": 2,
                                       "w_w": w_w, "compare": "ge", "overflow": "saturate",
                                       **core_mapping(q)}
        core = CoreSection(**settings)  # type: ignore[arg-type]
        report = {"v_th_lsb": float(q.fixed.v_th), "lsb_v": q.lsb,
                  "weights_clipped": float(np.mean(raw_w != w_int)) if raw_w.size else 0.0,
                  "bias_clipped": float(np.mean(raw_b != b_int)),
                  "tau_m_rel_error": float(q.errors["tau_m_rel"])}
        layers.append(RTLLayer(pop.name, tuple(p.pre for p in incoming), w_int, b_int, core,
                               q.lsb, report, tuple(p.delay_steps for p in incoming)))
    return RTLConfig(spec=spec, layers=tuple(layers))


# ---------------------------------------------------------------- design rules


def feed_forward(config: RTLConfig) -> list[Violation]:
    """Each population's sources are inputs or earlier populations (runs layer by layer)."""
    network = config.spec.network
    done = {src.name for src in network.inputs}
    out = []
    for layer in config.layers:
        late = [s for s in layer.sources if s not in done]
        if late:
            out.append(Violation("feed_forward", f"input from {', '.join(late)}, which runs "
                                 "later or is recurrent: the core runs populations one after "
                                 "another", where=layer.name))
        done.add(layer.name)
    return out


def weights_clipped(config: RTLConfig) -> list[Violation]:
    """Weights beyond ``w_w`` signed bits are clipped (the network runs, altered)."""
    return [Violation("weights_clipped",
                      f"{100 * layer.report['weights_clipped']:.1f} % of weights clipped to "
                      f"{layer.core.w_w} bits", where=layer.name, severity="warning")
            for layer in config.layers if layer.report["weights_clipped"] > 0]


def bias_clipped(config: RTLConfig) -> list[Violation]:
    """Biases beyond ``w_i`` signed bits are clipped."""
    return [Violation("bias_clipped",
                      f"{100 * layer.report['bias_clipped']:.1f} % of biases clipped to "
                      f"{layer.core.w_i} bits", where=layer.name, severity="warning")
            for layer in config.layers if layer.report["bias_clipped"] > 0]


def row_width(config: RTLConfig) -> list[Violation]:
    """A neuron's weight row (``n_inputs * w_w + w_i`` bits) fits the harness (8192 bits)."""
    out = []
    for layer in config.layers:
        bits = pow2(layer.weights.shape[1]) * layer.core.w_w + layer.core.w_i
        if bits > MAX_ROW_BITS:
            out.append(Violation("row_width", f"weight row of {bits} bits, the harness loads "
                                 f"at most {MAX_ROW_BITS}", where=layer.name))
    return out


def residual_leak_rule(config: RTLConfig) -> list[Violation]:
    """A membrane longer than the multiply leak holds runs with the longest leak."""
    return residual_leak(config.spec, "leak d = 1, the longest of the multiply leak")


RULES: tuple[Rule, ...] = (feed_forward, weights_clipped, bias_clipped, residual_leak_rule,
                           row_width)


def check(config: RTLConfig) -> list[Violation]:
    """All design rules (:data:`RULES`)."""
    return run_rules(RULES, config)


# ---------------------------------------------------------------- simulation


def block_core(layer: RTLLayer, chunk: np.ndarray
               ) -> tuple[CoreSection, np.ndarray, np.ndarray, np.ndarray]:
    """``b`` copies of one layer side by side on one core: (core, weights, bias, spikes).

    ``chunk`` holds the input lines (T, b, n_in); copies never interact
    (block-diagonal weights).
    """
    n_steps, b, n_in = chunk.shape
    size = layer.weights.shape[0]
    n_neurons, n_inputs = pow2(b * size), pow2(b * n_in)
    weights = np.zeros((n_neurons, n_inputs), dtype=np.int64)
    bias = np.zeros(n_neurons, dtype=np.int64)
    spikes = np.zeros((n_steps, n_inputs), dtype=bool)
    for k in range(b):
        weights[k * size:(k + 1) * size, k * n_in:(k + 1) * n_in] = layer.weights
        bias[k * size:(k + 1) * size] = layer.bias
        spikes[:, k * n_in:(k + 1) * n_in] = chunk[:, k]
    core = dataclasses.replace(layer.core, n_neurons=n_neurons, n_inputs=n_inputs)
    return core, weights, bias, spikes


def run_block(layer: RTLLayer, chunk: np.ndarray, engine: str, build_root: Path | None,
              *, record: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Run ``b`` copies of one layer (input lines (T, b, n_in)) on one core.

    Returns:
        Spikes (T, b, size) and, with ``record``, membranes (T, b, size) in LSB.
    """
    n_steps, b, _ = chunk.shape
    size = layer.weights.shape[0]
    core, weights, bias, spikes = block_core(layer, chunk)
    v: np.ndarray | None = None
    if engine == "twin":
        from lifhw.golden.fixedpoint import population_run

        twin = population_run(core.fixed(), weights, spikes, bias)
        result, v = twin.spike, twin.v
    elif engine in ENGINES:
        from lifhw.digital.population import simulate_rtl

        with quiet(build_root):
            run = simulate_rtl(core, weights, spikes, bias=bias, sim=engine, record=record,
                               build_root=build_root)
        result, v = run.spikes, run.v
    else:
        raise ParamError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}",
                         path="engine")
    out = np.asarray(result, dtype=bool)[:, :b * size].reshape(n_steps, b, size)
    if not record or v is None:
        return out, None
    return out, np.asarray(v, dtype=np.int64)[:, :b * size].reshape(n_steps, b, size)


def simulate(config: RTLConfig, input_spikes: Any, *, record_states: bool = False,
             sim: str = "verilator", build_root: Path | None = None) -> ChipRun:
    """The generated Verilog of each layer's core on a simulator, population by population.

    Args:
        config: From :func:`quantize`.
        input_spikes: (T, n_in) bool, or a mapping input name -> (T, size).
        record_states: Keep the membrane ``v`` (LSB) of every population and step.
        sim: ``verilator``, ``icarus``, ``verilator-binary`` or ``twin`` (the bit-exact
            NumPy model of the core, no simulator).
        build_root: Where simulator builds are cached (default ``build/rtl``).

    Raises:
        ParamError: The network is not feed-forward (:func:`feed_forward`).
    """
    errors = feed_forward(config)
    if errors:
        raise ParamError(str(errors[0]), path=errors[0].where)
    network = config.spec.network
    rasters: dict[str, np.ndarray] = dict(split_inputs(network, input_spikes))
    n_steps = next(iter(rasters.values())).shape[0]
    states: dict[str, dict[str, np.ndarray]] = {}
    synaptic_events = 0
    for layer in config.layers:
        lines = layer.input_lines(rasters)
        spikes, v = run_block(layer, lines[:, None, :], sim, build_root, record=record_states)
        rasters[layer.name] = spikes[:, 0]
        if v is not None:
            states[layer.name] = {"v": v[:, 0]}
        fan_out = np.count_nonzero(layer.weights, axis=0)
        synaptic_events += int(np.sum(lines.sum(axis=0) * fan_out))
    out = {pop.name: rasters[pop.name] for pop in network.populations}
    events = {"spikes": int(sum(int(s.sum()) for s in out.values())),
              "synaptic_events": synaptic_events,
              "neuron_updates": n_steps * network.n_neurons}
    return ChipRun(backend=NAME, dt=config.spec.dt, spikes=out, states=states, events=events,
                   meta={"engine": sim})


@contextlib.contextmanager
def quiet(build_root: Path | None = None) -> Iterator[None]:
    """Send the simulator's console output (build log, cocotb banner) to a log file.

    The simulator is a child process writing to the inherited file descriptors,
    so redirecting ``sys.stdout`` is not enough; the log is kept in
    ``snn_rtl.log`` in the build root (``$LIFHW_BUILD_DIR/rtl`` unless given;
    overwritten per run) and its tail is printed on failure.
    """
    from lifhw.digital.sim import default_build_root

    log_path = (build_root if build_root is not None else default_build_root()) / "snn_rtl.log"
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


# ---------------------------------------------------------------- what it realises, costs


def dequantize(config: RTLConfig) -> Network:
    """The float network the core realises (same names and shapes).

    Neuron: :attr:`Quantization.realised` of the layer's integers
    (``tau_m = -dt / ln(1 - d / 2^F)``, ``v_th = v_rest + V_TH lsb``, ...).
    Weights ``w = w_int lsb / p_r`` and bias ``I = b_int lsb / ((1 - p_r) r_m)``
    with the realised leak factor ``p_r = 1 - d / 2^F`` (inverting the mapping).
    """
    network = config.spec.network
    populations, projections = [], []
    for pop in network.populations:
        layer = config.layer(pop.name)
        fixed = layer.core.fixed()
        neuron = core_neuron(pop.neuron, network.dt)[0]
        realised = fixed.dequantize(lsb=layer.lsb, dt=network.dt, v_rest=neuron.v_rest,
                                    r_m=neuron.r_m)
        p_r = fixed.leak_factor
        bias = fixed.input_to_current(layer.bias, lsb=layer.lsb, r_m=neuron.r_m)
        populations.append(Population(pop.name, pop.size, realised, bias))
        start = 0
        for proj in network.incoming(pop.name):
            width = network.size_of(proj.pre)
            w = layer.weights[:, start:start + width] * layer.lsb / p_r
            projections.append(Projection(proj.pre, proj.post, w, proj.delay_steps))
            start += width
    order = {(p.pre, p.post): i for i, p in enumerate(network.projections)}
    projections.sort(key=lambda p: order[(p.pre, p.post)])
    return Network(name=network.name, inputs=network.inputs, populations=tuple(populations),
                   projections=tuple(projections), dt=network.dt)


def resources(config: RTLConfig) -> Resources:
    """Cores generated (one per population, sized to it) and what they hold.

    Neurons and synapses are counted against the generated cores' slots
    (``n_neurons`` and ``n_neurons x n_inputs``, powers of two); ``row_bits`` is
    the widest weight row against what the harness loads (:data:`MAX_ROW_BITS`).
    """
    layers = config.layers
    slots = [(pow2(layer.weights.shape[0]), pow2(layer.weights.shape[1])) for layer in layers]
    rows = [n_in * layer.core.w_w + layer.core.w_i
            for layer, (_, n_in) in zip(layers, slots, strict=True)]
    return Resources(
        cores_used=len(layers), cores_available=len(layers),
        neurons_used=int(sum(layer.weights.shape[0] for layer in layers)),
        neurons_available=int(sum(n for n, _ in slots)),
        synapses_used=int(sum(np.count_nonzero(layer.weights) for layer in layers)),
        synapses_available=int(sum(n * n_in for n, n_in in slots)),
        extra={"row_bits": (max(rows, default=0), MAX_ROW_BITS)})


def _max_inputs(w_w: int, w_i: int) -> int:
    """Widest power-of-two input count whose weight row fits :data:`MAX_ROW_BITS`."""
    n = 2
    while 2 * n * w_w + w_i <= MAX_ROW_BITS:
        n *= 2
    return n


#: The generated core is sized to its population (no fixed neuron count); its
#: inputs are bounded by the row the population harness loads.
RESOURCES = ChipResources(
    target=NAME, core_name="population core",
    core=CoreResources(
        neurons=None,
        input_lines=Figure(_max_inputs(W_W, W_I), "lifhw population harness: a weight "
                           "row of n_inputs x w_w + w_i <= 8192 bits (this project)",
                           published=False)),
    cores_per_chip=None,
    notes=("one generated core per population (sized to it); no chip, routing or "
           "energy figures exist for lifhw's RTL core",))


def place(spec: ChipSpec, *, rates_hz: Mapping[str, Any] | None = None,
          order: str = "index") -> Placement:
    """One core per population, split where its input lines exceed the harness row."""
    w_w = int(spec.options.get("w_w", W_W))
    w_i = int(spec.options.get("w_i", W_I))
    lines = RESOURCES.core.input_lines
    resources = dataclasses.replace(RESOURCES, core=dataclasses.replace(
        RESOURCES.core, input_lines=Figure(_max_inputs(w_w, w_i),
                                           lines.source if lines else "", published=False)))
    return place_spec(spec, resources, rates_hz=rates_hz, order=order)


def energy(config: RTLConfig, run: ChipRun) -> EnergyEstimate:
    """Not available: no published per-event energy exists for this core.

    The run's event counts are kept in the note so a figure (e.g. from a
    post-layout power analysis of the synthesised core) can be applied later.
    """
    counts = ", ".join(f"{k}={v}" for k, v in run.events.items())
    return EnergyEstimate(chip=NAME, terms=(),
                          note="not available: no published per-event energy figure for "
                               f"lifhw's RTL core ({counts})")


if TYPE_CHECKING:  # mypy checks this module against the HardwareTarget protocol
    from lifhw.chips import rtl as _module
    from lifhw.chips.base import HardwareTarget

    _conforms: HardwareTarget = _module
