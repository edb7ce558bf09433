"""Demo stage: train, convert and deploy a digits SNN on every backend.

Embedded defaults (about a minute): the 64-128-10 network trained with
surrogate-gradient BPTT (15 epochs) and with the three-factor rule (8 epochs),
a spiking-convolution network trained with BPTT (:data:`lifhw.snn.train.CONV_CONFIG`,
about 2 s), a ReLU ANN converted to a rate-coded LIF network, then both deployed on the
float reference, the four chip mappers and the RTL population core on the
first :data:`DEPLOY_SAMPLES` test digits (:data:`RTL_SAMPLES` on the RTL core).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: Test samples per target in the demo (the full test set has 450).
DEPLOY_SAMPLES = 100
#: Of which on the RTL core (each simulator run starts a process: ~1-3 s each).
RTL_SAMPLES = 8


def run(out_dir: Path) -> Any:
    from lifhw.app.demo import DemoSection
    from lifhw.snn import data, deploy, model, task, train

    digits = data.load()
    lines: list[str] = []
    nets: dict[str, Any] = {}
    histories: dict[str, list[float]] = {}
    for method, cfg in (("surrogate", train.TrainConfig()),
                        ("eprop", train.TrainConfig(rule="eprop", epochs=8))):
        result = train.train(cfg, digits)
        histories[method] = result.history
        lines.append(f"{method}: test accuracy {100 * result.test_accuracy:.1f} % "
                     f"(trained in {result.seconds:.1f} s, {cfg.epochs} epochs, "
                     f"{cfg.n_steps} steps)")
        if method == "surrogate":
            from lifhw.snn import export

            m = result.model
            trained_info: dict[str, Any] = {"encoding": cfg.encoding, "n_steps": cfg.n_steps}
            nets[method] = (export.to_network(m.weights, m.biases, tau_m=m.neuron.tau_m,
                                              dt=m.neuron.dt, name="digits_surrogate"),
                            trained_info)
            x = data.encode(digits.x_train[:128], cfg.n_steps)
            record = m.forward(x)
            _, g = model.count_loss(record.output, digits.y_train[:128], cfg.kappa)
            cos = model.cosine(m.backward(record, g), m.eprop(record, g))
            lines.append("three-factor vs BPTT gradient (trained net), cosine per layer: "
                         + ", ".join(f"{c:.3f}" for c in cos))
            raster = record
    lines.append(_conv_line(digits))
    conv_result = train.train(train.CONV_CONFIG, digits)
    lines.append(f"conv surrogate (8x(3x3) spiking conv -> 10): test accuracy "
                 f"{100 * conv_result.test_accuracy:.1f} % (trained in "
                 f"{conv_result.seconds:.1f} s, {train.CONV_CONFIG.epochs} epochs)")
    network, info = task.build("convert", digits=digits)
    nets["converted"] = (network, info)
    lines.append(f"converted: ANN {100 * info['ann_test_accuracy']:.1f} % -> SNN "
                 f"{100 * info['test_accuracy']:.1f} % ({info['n_steps']} steps)")
    table: list[list[Any]] = []
    results_by_net = {}
    for name, (net, net_info) in nets.items():
        x = task.encoded_test_set(net, net_info, digits)[:, :DEPLOY_SAMPLES]
        # Verilator builds one core per layer configuration (~15 s each): the
        # trained net runs on the RTL, the converted one on the core's bit-exact twin.
        rtl_target = "rtl" if name == "surrogate" else "rtl_twin"
        targets = [t for t in deploy.TARGETS if t != "rtl"] + [rtl_target]
        results = deploy.deploy(net, x, digits.y_test[:DEPLOY_SAMPLES], targets,
                                rtl_samples=RTL_SAMPLES,
                                build_root=out_dir / "build" / "rtl")
        results_by_net[name] = results
        rows = deploy.table(results)
        if not table:
            table.append(["network", *rows[0]])
        table.extend([name, *row] for row in rows[1:])
    lines.append(f"deployed on {DEPLOY_SAMPLES} test digits ({RTL_SAMPLES} on the RTL core, "
                 "all on its NumPy twin for the converted net), "
                 "after a NIR export/import round trip: see the table")
    for name, results in results_by_net.items():
        cells = [f"{r.target} {100 * r.accuracy:.0f} %" for r in results
                 if r.accuracy is not None]
        lines.append(f"{name}: " + ", ".join(cells))
        lines.extend(f"{name} on {r.target}: not run ({r.note})" for r in results
                     if r.accuracy is None)
    figures = [_figure(out_dir / "snn_digits.png", histories, raster, results_by_net)]
    return DemoSection(title="Spiking networks: digits, trained, converted, deployed",
                       lines=lines, figures=figures, table=table)


def _conv_line(digits: Any) -> str:
    """A spiking convolution over digit spike trains, both implementations."""
    from lifhw.snn import data
    from lifhw.snn.layers import SpikingConv2d, SynapseKernel

    rng = np.random.default_rng(0)
    conv = SpikingConv2d(kernel=SynapseKernel("exp", tau_syn=5e-3, dt=1e-3), beta=0.95,
                         weights=rng.normal(0.1, 0.3, (4, 1, 3, 3)), padding=1)
    x = data.encode(digits.x_test[:16], 16).reshape(16, 16, 1, 8, 8)
    dense, _ = conv.run_dense(x)
    events, _ = conv.run_events(x)
    return (f"spiking conv 4x(3x3), exp synapse, 16 digits: {int(dense.sum())} spikes; "
            f"time-stepped == event-driven: {bool(np.array_equal(dense, events))}")


def _figure(path: Path, histories: dict[str, list[float]], record: Any,
            results_by_net: dict[str, Any]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifhw.io import save_figure

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for name, hist in histories.items():
        axes[0].plot(np.arange(1, len(hist) + 1), hist, marker="o", ms=3, label=name)
    axes[0].set(xlabel="epoch", ylabel="spike-count cross-entropy", title="training")
    axes[0].legend()
    hidden = record.s[0][:, 0]
    out = record.s[1][:, 0]
    t_h, n_h = np.nonzero(hidden)
    t_o, n_o = np.nonzero(out)
    axes[1].scatter(t_h, n_h, s=3, c="tab:gray", label="hidden")
    axes[1].scatter(t_o, 130 + 4 * n_o, s=10, c="tab:red", label="output (x4 + 130)")
    axes[1].set(xlabel="step", ylabel="neuron", title="one digit, trained net")
    axes[1].legend(loc="upper left", fontsize=7)
    width = 0.8 / max(len(results_by_net), 1)
    targets: list[str] = []
    for results in results_by_net.values():
        targets += [r.target for r in results if r.target not in targets]
    for k, (name, results) in enumerate(results_by_net.items()):
        by_target = {r.target: 100 * (r.accuracy or 0.0) for r in results}
        acc = [by_target.get(t, 0.0) for t in targets]
        axes[2].bar(np.arange(len(targets)) + k * width, acc, width, label=name)
    axes[2].set_xticks(np.arange(len(targets)) + width * (len(results_by_net) - 1) / 2)
    axes[2].set_xticklabels(targets, rotation=30, fontsize=8)
    axes[2].set(ylabel="test accuracy (%)", ylim=(50, 100), title="deployed (0 = not run)")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path
