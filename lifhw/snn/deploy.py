"""Run a trained or converted network on every backend and tabulate the result.

Targets:

* ``float`` -- :func:`lifhw.snn.export.simulate_network`, the float golden
  reference (grid convention);
* ``loihi``, ``truenorth``, ``spinnaker``, ``brainscales`` -- the chip mappers
  (:mod:`lifhw.chips`): ``quantize(map(network))``, design-rule ``check``,
  bit-accurate ``simulate`` one test sample at a time, ``energy`` from the
  chips' published per-event figures;
* ``rtl`` -- lifhw's Verilog population core under Verilator
  (:mod:`lifhw.snn.rtl`, :mod:`lifhw.digital.population`);
* ``rtl_twin`` (on request) -- the core's bit-exact NumPy twin, for all samples.

Per target the table gives the test accuracy, the agreement of its class
decisions with the float reference, spikes and synaptic events per inference,
the energy estimate per inference and the design-rule warnings. A target
whose module is not installed, or that cannot run the network, gets a row
with the reason instead of numbers: the table always has every target.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lifhw.network import Network
from lifhw.network.types import fan_out as network_fan_out
from lifhw.snn import export, model

TARGETS = ("float", "loihi", "truenorth", "spinnaker", "brainscales", "rtl")
#: Also accepted: the RTL core's bit-exact NumPy twin (no simulator, all samples).
ALL_TARGETS = (*TARGETS, "rtl_twin")
CHIP_TARGETS = ("loihi", "truenorth", "spinnaker", "brainscales")
#: Default number of test samples run on the RTL core.
RTL_SAMPLES = 32


@dataclass
class DeployResult:
    """One row of the deployment table.

    Args:
        target: Backend name.
        accuracy: Test accuracy (fraction), None when the target did not run.
        agreement: Fraction of samples classified as the float reference does.
        spikes: Spikes per inference (all LIF populations).
        synaptic_events: Synaptic events per inference.
        energy_j: Energy estimate per inference (J), None when not available.
        warnings: Design-rule violations (strings).
        seconds: Wall time of mapping and simulation (s).
        note: Why a target did not run, or other remarks.
        n_samples: Test samples run.
    """

    target: str
    accuracy: float | None = None
    agreement: float | None = None
    spikes: float | None = None
    synaptic_events: float | None = None
    energy_j: float | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""
    n_samples: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


HEADER = ["target", "samples", "accuracy %", "agree w/ float %", "spikes/inf", "syn. events/inf",
          "energy/inf (J)", "rule warnings", "note"]


def table(results: Sequence[DeployResult]) -> list[list[Any]]:
    """Rows (header first) for reports and the CLI."""
    rows: list[list[Any]] = [list(HEADER)]
    for r in results:
        rows.append([r.target, r.n_samples,
                     _fmt(r.accuracy, 100, ".1f"), _fmt(r.agreement, 100, ".1f"),
                     _fmt(r.spikes, 1, ".0f"), _fmt(r.synaptic_events, 1, ".0f"),
                     _fmt(r.energy_j, 1, ".3g"), len(r.warnings), r.note])
    return rows


def _fmt(value: float | None, scale: float, spec: str) -> str:
    return "-" if value is None else format(value * scale, spec)


def _synaptic_events(network: Network, spikes: dict[str, np.ndarray],
                     inputs: dict[str, np.ndarray]) -> float:
    """Deliveries to non-zero synapses (the counting rule of lifhw.chips.base.run_network)."""
    rasters = {**inputs, **spikes}
    total = 0.0
    for proj in network.projections:
        pre = rasters[proj.pre]
        delivered = pre[:max(pre.shape[0] - proj.delay_steps, 0)]
        fan_out = network_fan_out(proj.weights)
        total += float(np.sum(delivered.sum(axis=(0, 1)) * fan_out))
    return total


def _split(network: Network, x: np.ndarray) -> dict[str, np.ndarray]:
    out, start = {}, 0
    for src in network.inputs:
        out[src.name] = x[..., start:start + src.size]
        start += src.size
    return out


def run_float(network: Network, x: np.ndarray, labels: np.ndarray,
              spikes: dict[str, np.ndarray] | None = None) -> DeployResult:
    """The float reference on inputs (T, N, n_inputs) (``spikes``: its run, if done)."""
    start = time.perf_counter()
    spikes = export.simulate_network(network, x) if spikes is None else spikes
    pred = model.predict(spikes["output"])
    n = x.shape[1]
    return DeployResult("float", float(np.mean(pred == labels)), 1.0,
                        float(sum(s.sum() for s in spikes.values())) / n,
                        _synaptic_events(network, spikes, _split(network, x)) / n,
                        None, [], time.perf_counter() - start, "reference", n)


def run_chip(name: str, network: Network, x: np.ndarray, labels: np.ndarray,
             reference: np.ndarray) -> DeployResult:
    """One chip mapper on inputs (T, N, n_inputs); one bit-accurate run per sample."""
    start = time.perf_counter()
    try:
        chip = importlib.import_module(f"lifhw.chips.{name}")
    except ImportError as err:
        return DeployResult(name, note=f"mapper not available ({err.name})")
    options = chip_options(name, network, x)
    config = chip.quantize(chip.map(network, **options))
    warnings = [str(v) for v in chip.check(config)]
    predictions, spikes, events, energy = [], 0.0, 0.0, 0.0
    for i in range(x.shape[1]):
        run = chip.simulate(config, x[:, i].astype(bool))
        predictions.append(int(np.argmax(run.spikes["output"].sum(axis=0))))
        spikes += run.events.get("spikes", 0)
        events += run.events.get("synaptic_events", 0)
        energy += chip.energy(config, run).total_j
    n = x.shape[1]
    pred = np.array(predictions)
    note = ", ".join(f"{k}={v}" for k, v in options.items())
    return DeployResult(name, float(np.mean(pred == labels)), float(np.mean(pred == reference)),
                        spikes / n, events / n, energy / n, warnings,
                        time.perf_counter() - start, note, n)


#: Loihi's synaptic current register u: 24-bit, wrapping (Lava's bit-accurate LIF).
LOIHI_U_BITS = 24


def chip_options(name: str, network: Network, x: np.ndarray) -> dict[str, Any]:
    """Mapper options chosen from the network and its data (empty: the mapper's defaults).

    Loihi: the mapper's default threshold mantissa ``vth`` is the largest at which
    every weight and bias fits; but the dendritic sum of one step lands in the
    24-bit *wrapping* current register ``u = a_in << 6`` with ``a_in = w vth /
    (v_th - v_rest)`` (delta synapses), so a dense layer whose inputs fire
    together can wrap u and flip the sign of the input. ``vth`` is therefore
    capped so that the largest per-step input of the float reference run on
    these data, ``d_max`` (V), uses at most half of u's range:
    ``vth <= 2^(24-1) (v_th - v_rest) / (2 * 64 * d_max)``.
    """
    if name != "loihi":
        return {}
    from lifhw.chips import loihi

    spikes = export.simulate_network(network, x)
    rasters = {**_split(network, x), **{k: v.astype(float) for k, v in spikes.items()}}
    cap = None
    for pop in network.populations:
        drive = np.zeros((x.shape[0], x.shape[1], pop.size))
        for proj in network.incoming(pop.name):
            drive += rasters[proj.pre] @ proj.dense_weights(purpose="deployment").T
        d_max = float(np.max(np.abs(drive)))
        if d_max == 0:
            continue
        span = pop.neuron.v_th - pop.neuron.v_rest
        limit = int(2 ** (LOIHI_U_BITS - 1) * span / (2 * 64 * d_max))
        cap = limit if cap is None else min(cap, limit)
    default = min(int(p["vth"]) for p in loihi.map(network).populations.values())
    if cap is None or cap >= default:
        return {}
    return {"vth": max(cap, 1)}


def run_rtl(network: Network, x: np.ndarray, labels: np.ndarray, reference: np.ndarray,
            *, engine: str = "verilator") -> DeployResult:
    """lifhw's Verilog population core (:mod:`lifhw.snn.rtl`), layer by layer.

    The energy column stays empty: the digital flow has no published per-event
    energy figure for this core.
    """
    from lifhw.snn import rtl

    start = time.perf_counter()
    try:
        importlib.import_module("lifhw.digital.population")
    except ImportError:
        return DeployResult("rtl", note="lifhw.digital.population not available")
    spikes, layers = rtl.run_network(network, x, engine=engine)
    pred = model.predict(spikes["output"])
    n = x.shape[1]
    warnings = [f"{layer.name}: {100 * layer.report['weights_clipped']:.1f} % of weights "
                "clipped" for layer in layers if layer.report["weights_clipped"] > 0]
    events = 0.0
    rasters = {**_split(network, x), **spikes}
    for layer in layers:
        pre = np.concatenate([rasters[s] for s in layer.sources], axis=2)[:-1]
        events += float(np.sum(pre.sum(axis=(0, 1)) * np.count_nonzero(layer.weights, axis=0)))
    return DeployResult("rtl" if engine != "twin" else "rtl_twin",
                        float(np.mean(pred == labels)), float(np.mean(pred == reference)),
                        float(sum(s.sum() for s in spikes.values())) / n, events / n, None,
                        warnings, time.perf_counter() - start,
                        f"{engine}, no energy model", n)


def nir_roundtrip(network: Network) -> Network:
    """The network exported to NIR and imported back (:mod:`lifhw.nir_bridge`).

    This is the path a network trained elsewhere (snnTorch, Norse, ...) takes;
    deploying the re-imported network shows that nothing is lost on the way.
    """
    from lifhw import nir_bridge

    return nir_bridge.from_nir(nir_bridge.to_nir(network), dt=network.dt, name=network.name)


def deploy(network: Network, x: np.ndarray, labels: np.ndarray,
           targets: Sequence[str] = TARGETS, log: bool = False,
           rtl_samples: int | None = RTL_SAMPLES, via_nir: bool = True
           ) -> list[DeployResult]:
    """Run ``network`` on the targets.

    Args:
        network: A feed-forward network with an ``output`` population.
        x: Encoded inputs (T, N, n_inputs) (see :func:`lifhw.snn.task.encoded_test_set`).
        labels: (N,) classes.
        targets: Subset of :data:`TARGETS`.
        log: Print a line per finished target.
        rtl_samples: Samples for the ``rtl`` target (first ones; None = all). Each
            simulator run costs a process start (seconds), so the RTL row
            defaults to fewer samples; its ``n_samples`` says how many.
        via_nir: Deploy the network after a NIR export/import round trip
            (:func:`nir_roundtrip`); the float row then notes whether the
            round trip changed any spike.

    Returns:
        One result per target, in the order asked.
    """
    from lifhw.errors import ParamError

    unknown = [t for t in targets if t not in ALL_TARGETS]
    if unknown:
        raise ParamError(f"unknown deployment target(s) {unknown}; choose from {ALL_TARGETS}")
    nir_note = ""
    spikes = export.simulate_network(network, x)
    if via_nir:
        original = spikes
        network = nir_roundtrip(network)
        spikes = export.simulate_network(network, x)
        same = all(np.array_equal(original[k], spikes[k]) for k in original)
        nir_note = "; via NIR: " + ("spikes identical" if same else "SPIKES CHANGED")
    reference_run = run_float(network, x, labels, spikes)
    reference_run.note += nir_note
    reference = model.predict(spikes["output"])
    results = []
    for target in targets:
        if target == "float":
            result = reference_run
        elif target == "rtl":
            m = x.shape[1] if rtl_samples is None else min(rtl_samples, x.shape[1])
            result = _guard(target, lambda m=m: run_rtl(network, x[:, :m], labels[:m],
                                                        reference[:m]))
        elif target == "rtl_twin":
            result = _guard(target, lambda: run_rtl(network, x, labels, reference,
                                                    engine="twin"))
        else:
            result = _guard(target, lambda t=target: run_chip(t, network, x, labels, reference))
        results.append(result)
        if log:
            acc = "-" if result.accuracy is None else f"{100 * result.accuracy:.1f} %"
            print(f"  {target}: {acc} {result.note}", flush=True)
    return results


def _guard(target: str, call: Any) -> DeployResult:
    # A backend that cannot run this network must not hide the other rows; the
    # reason goes into the table. Tests assert that the installed ones do run.
    try:
        result: DeployResult = call()
    except Exception as err:
        return DeployResult(target, note=f"failed: {type(err).__name__}: {err}"[:200])
    return result
