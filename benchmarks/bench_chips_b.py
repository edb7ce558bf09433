"""Throughput of the TrueNorth, SpiNNaker and BrainScaleS-2 simulators vs the golden model.

Same network, same input spikes, same number of steps, side by side in one run:
``neuron-steps/s = N x T / wall time`` of ``simulate`` (mapping and quantising
excluded, the first call of each simulator is a warm-up for numba). Run:

    .venv/bin/python -m benchmarks.bench_chips_b [--neurons 1024] [--steps 1000]
    .venv/bin/python -m benchmarks.bench_chips_b --figures docs/figures

``--figures`` writes the three documentation figures instead
(``truenorth_modes.png``, ``spinnaker_vs_golden.png``, ``brainscales_calibration.png``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lifhw.chips import brainscales, spinnaker, truenorth
from lifhw.core import LIFParams
from lifhw.golden.network import simulate_network
from lifhw.network import InputPopulation, Network, Population, Projection


def build(n_neurons: int, n_inputs: int, seed: int = 0) -> tuple[Network, Network]:
    """A current-synapse and a delta-synapse version of one feed-forward network."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.25e-9, 0.25e-9, (n_neurons, n_inputs))
    weights[rng.random(weights.shape) > 0.2] = 0.0
    bias = rng.uniform(0.1e-9, 0.3e-9, n_neurons)
    current = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065,
                        t_ref=2e-3, tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    delta = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.050, v_reset=-0.065)
    nets = []
    for neuron, w in ((current, weights), (delta, weights * 1e8 * 5e-3 / 20e-3)):
        nets.append(Network("bench", (InputPopulation("in", n_inputs),),
                            (Population("out", n_neurons, neuron, bias=bias),),
                            (Projection("in", "out", w),), 1e-3))
    return nets[0], nets[1]


def figures(out_dir: Path) -> list[Path]:
    """The documentation figures of docs/truenorth.md, spinnaker.md, brainscales.md."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifhw.golden.network import simulate_network
    from lifhw.io import save_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    # TrueNorth: the reset modes and leak reversal, from run_core.
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    ticks = 30
    for label, kwargs in (("reset to R", {"reset_mode": truenorth.RESET_TO_R}),
                          ("linear reset", {"reset_mode": truenorth.RESET_LINEAR}),
                          ("no reset", {"reset_mode": truenorth.RESET_NONE})):
        params = truenorth.NeuronParams(n=1, leak=3, alpha=20, **kwargs)
        core = truenorth.Core(np.zeros((1, 1), bool), [0], params)
        v, _ = truenorth.run_core(core, np.zeros((ticks, 1), bool))
        axes[0].step(np.arange(ticks), v[:, 0], where="post", label=label)
    axes[0].axhline(20, color="k", lw=0.5, ls="--")
    axes[0].set(xlabel="tick", ylabel="V (integer)", title="lambda = +3, alpha = 20",
                ylim=(-5, 60))
    axes[0].legend(fontsize=8)
    for (label, eps), color in zip((("leak, eps = 0", False),
                                    ("leak reversal, eps = 1", True)), ("C0", "C3"),
                                   strict=True):
        params = truenorth.NeuronParams(n=2, leak=-4, leak_reversal=eps, alpha=10**5)
        core = truenorth.Core(np.zeros((1, 2), bool), [0], params)
        v, _ = truenorth.run_core(core, np.zeros((ticks, 1), bool), v0=[60, -60])
        axes[1].step(np.arange(ticks), v[:, 0], where="post", color=color, label=label)
        axes[1].step(np.arange(ticks), v[:, 1], where="post", color=color)
    axes[1].set(xlabel="tick", ylabel="V (integer)", title="lambda = -4 from +-60")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    paths.append(save_figure(fig, out_dir / "truenorth_modes.png", dpi=120))
    plt.close(fig)
    # SpiNNaker: one neuron's membrane, s16.15 vs golden, at 1 ms and 0.1 ms.
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    neuron = LIFParams(tau_m=10e-3, r_m=4e7, v_rest=-0.065, v_th=-0.050, v_reset=-0.065,
                       t_ref=2e-3, tau_syn_exc=2e-3, tau_syn_inh=2e-3)
    for ax, dt in zip(axes, (1e-3, 1e-4), strict=True):
        steps = round(0.1 / dt)
        network = Network("one", (InputPopulation("in", 1),),
                          (Population("out", 1, neuron, bias=np.array([0.3e-9])),),
                          (Projection("in", "out", np.array([[2e-9]])),), dt)
        spikes = np.zeros((steps, 1), bool)
        spikes[(np.array([0.01, 0.03, 0.035, 0.06]) / dt).astype(int), 0] = True
        chip = spinnaker.simulate(spinnaker.quantize(spinnaker.map(network)), spikes,
                                  record_states=True)
        ref = simulate_network(network, spikes, record_v=True)
        t = (np.arange(steps) + 1) * dt * 1e3
        ax.plot(t, ref.states["out"]["v"][:, 0] * 1e3, label="golden (exact)")
        ax.plot(t, chip.states["out"]["v"][:, 0] / 2**15, "--", label="SpiNNaker s16.15")
        ax.set(xlabel="t (ms)", title=f"dt = {dt * 1e3:g} ms")
    axes[0].set_ylabel("V (mV)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    paths.append(save_figure(fig, out_dir / "spinnaker_vs_golden.png", dpi=120))
    plt.close(fig)
    # BrainScaleS-2: fixed-pattern noise before and after calibration.
    current, _ = build(256, 64)
    raw = brainscales.quantize(brainscales.map(current, spread=0.2, seed=1, calibrated=False))
    cal = brainscales.calibrate(raw)
    target = raw.spec.populations["out"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for config, label in ((raw, "uncalibrated"), (cal, "calibrated")):
        phys = config.realised("out")
        axes[0].hist((phys["v_th"] - target["v_th"]) * 1e3, bins=40, alpha=0.6, label=label)
        axes[1].hist(phys["tau_m"] / target["tau_m"], bins=40, alpha=0.6, label=label)
    axes[0].set(xlabel="V_th - target (mV, chip)", ylabel="neurons",
                title="threshold, spread 0.2")
    axes[1].set(xlabel="tau_m / target", title="membrane time constant")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    paths.append(save_figure(fig, out_dir / "brainscales_calibration.png", dpi=120))
    plt.close(fig)
    return paths


def _time(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=1024)
    parser.add_argument("--inputs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--figures", type=Path, default=None,
                        help="write the documentation figures to this folder and exit")
    args = parser.parse_args(argv)
    if args.figures is not None:
        for path in figures(args.figures):
            print(path)
        return
    current, delta = build(args.neurons, args.inputs)
    spikes = np.random.default_rng(1).random((args.steps, args.inputs)) < 0.02
    work = args.neurons * args.steps
    rows = []
    cases = [
        ("golden (current synapses)", current, lambda: simulate_network(current, spikes)),
        ("golden (delta synapses)", delta, lambda: simulate_network(delta, spikes)),
    ]
    tn_config = truenorth.quantize(truenorth.map(delta))
    sp_config = spinnaker.quantize(spinnaker.map(current))
    bs_config = brainscales.quantize(brainscales.map(current, spread=0.05))
    cases += [
        ("truenorth", delta, lambda: truenorth.simulate(tn_config, spikes)),
        ("spinnaker", current, lambda: spinnaker.simulate(sp_config, spikes)),
        ("brainscales", current, lambda: brainscales.simulate(bs_config, spikes)),
    ]
    anchor: dict[str, float] = {}
    for name, network, fn in cases:
        fn()  # warm-up (numba compilation, caches)
        seconds = _time(fn, args.repeats)
        rate = work / seconds
        reference = "golden (delta synapses)" if network is delta else \
            "golden (current synapses)"
        anchor.setdefault(name, rate)
        rows.append((name, seconds, rate, rate / anchor.get(reference, rate)))
    print(f"N = {args.neurons} neurons, {args.inputs} inputs, T = {args.steps} steps, "
          f"best of {args.repeats}")
    print(f"{'simulator':28s} {'wall s':>8s} {'neuron-steps/s':>15s} {'vs golden':>10s}")
    for name, seconds, rate, ratio in rows:
        print(f"{name:28s} {seconds:8.3f} {rate:15.3g} {ratio:10.2f}")


if __name__ == "__main__":
    main()
