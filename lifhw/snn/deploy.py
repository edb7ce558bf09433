"""Run a trained or converted network on every backend and tabulate the result.

Targets:

* ``float`` -- :func:`lifhw.snn.export.simulate_network`, the float golden
  reference (grid convention);
* every hardware target registered in :data:`lifhw.chips.CHIPS`, in
  registration order:

  - the chips (``loihi``, ``truenorth``, ``spinnaker``, ``brainscales``):
    ``quantize(map(network))``, design-rule ``check``, bit-accurate ``simulate``
    one test sample at a time, ``energy`` from the chips' published per-event
    figures;
  - ``rtl`` -- lifhw's Verilog population core under Verilator: the target's
    ``map``/``quantize``/``check`` (:mod:`lifhw.chips.rtl`), run batched
    (:mod:`lifhw.snn.rtl`);
* ``rtl_twin`` (on request) -- the core's bit-exact NumPy twin, for all samples.

Per target the table gives the test accuracy, the agreement of its class
decisions with the float reference, spikes and synaptic events per inference,
the energy estimate per inference and the design-rule warnings. A target
whose module is not installed, or that cannot run the network, gets a row
with the reason instead of numbers: the table always has every target.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lifhw.chips.base import CHIPS
from lifhw.network import Network
from lifhw.snn import export, model

TARGETS = ("float", *CHIPS.names())
#: Also accepted: the RTL core's bit-exact NumPy twin (no simulator, all samples).
ALL_TARGETS = (*TARGETS, "rtl_twin")
#: The chip models (targets that run any network), one bit-accurate run per sample.
CHIP_TARGETS = tuple(CHIPS.names(kind="chip"))
#: Default number of test samples run on the RTL core.
RTL_SAMPLES = 32
#: Start of the ``note`` of a target that raised instead of running.
FAILED = "failed:"


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

    @property
    def failed(self) -> bool:
        """The target raised instead of running (the reason is in ``note``)."""
        return self.note.startswith(FAILED)

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
    """Deliveries to non-zero synapses (the counting rule of lifhw.network.route_spikes)."""
    rasters = {**inputs, **spikes}
    total = 0.0
    for proj in network.projections:
        pre = rasters[proj.pre]
        delivered = pre[:max(pre.shape[0] - proj.delay_steps, 0)]
        fan_out = np.count_nonzero(proj.weights, axis=0)
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
        chip = CHIPS.get(name)
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


def chip_options(name: str, network: Network, x: np.ndarray) -> dict[str, Any]:
    """Mapper options chosen from the network and its data (empty: the mapper's defaults).

    A target whose mapping depends on the input it will see provides
    ``options_for_drive(network, peak_drive)``, ``peak_drive`` being the largest
    per-step input (V, delta synapses) of each LIF population in the float
    reference run on these data, ``max |sum_pre W s_pre[t]|``. Loihi uses it to
    keep its wrapping current register from overflowing
    (:func:`lifhw.chips.loihi.options_for_drive`), SpiNNaker to size its unit
    scale to the drive that occurs (:func:`lifhw.chips.spinnaker.options_for_drive`),
    TrueNorth to choose two weight levels per sign where the fan-in allows
    (:func:`lifhw.chips.truenorth.options_for_drive`).
    """
    hook = getattr(CHIPS.get(name), "options_for_drive", None)
    if hook is None:
        return {}
    spikes = export.simulate_network(network, x)
    rasters = {**_split(network, x), **{k: v.astype(float) for k, v in spikes.items()}}
    peak: dict[str, float] = {}
    for pop in network.populations:
        drive = np.zeros((x.shape[0], x.shape[1], pop.size))
        for proj in network.incoming(pop.name):
            drive += rasters[proj.pre] @ proj.weights.T
        peak[pop.name] = float(np.max(np.abs(drive)))
    options: dict[str, Any] = hook(network, peak)
    return options


def run_rtl(network: Network, x: np.ndarray, labels: np.ndarray, reference: np.ndarray,
            *, engine: str = "verilator", build_root: Path | None = None) -> DeployResult:
    """lifhw's Verilog population core, layer by layer, many samples per simulator run.

    Mapping and design rules are the ``rtl`` target's (:mod:`lifhw.chips.rtl`);
    the batched run is :func:`lifhw.snn.rtl.run_config`. The energy column stays
    empty: the target has no published per-event energy figure
    (:func:`lifhw.chips.rtl.energy`).
    """
    from lifhw.snn import rtl

    start = time.perf_counter()
    try:
        from lifhw.chips import rtl as core
    except ImportError as err:
        return DeployResult("rtl", note=f"RTL target not available ({err.name})")
    config = core.quantize(core.map(network))
    warnings = [str(v) for v in core.check(config)]
    spikes = rtl.run_config(config, x, engine=engine, build_root=build_root)
    pred = model.predict(spikes["output"])
    n = x.shape[1]
    events = 0.0
    rasters = {**_split(network, x), **spikes}
    for layer in config.layers:
        lines = layer.input_lines(rasters)
        events += float(np.sum(lines.sum(axis=(0, 1)) * np.count_nonzero(layer.weights, axis=0)))
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
           rtl_samples: int | None = RTL_SAMPLES, via_nir: bool = True,
           build_root: Path | None = None) -> list[DeployResult]:
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
        build_root: Simulator builds and their log for the ``rtl`` target
            (default ``$LIFHW_BUILD_DIR/rtl``).

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
                                                        reference[:m], build_root=build_root))
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
        return DeployResult(target, note=f"{FAILED} {type(err).__name__}: {err}"[:200])
    return result
