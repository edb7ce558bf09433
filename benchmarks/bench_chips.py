"""Loihi's bit-accurate LIF vs lava-nc, and the Loihi network simulator vs golden.

Three side-by-side measurements in one run (neuron-steps/s = N x T / wall time):

1. ``lifhw.chips.loihi.run_lif`` (numba, vectorised over compartments) against
   lava-nc 0.10's ``PyLifModelBitAcc`` on the same work (N = 1024 compartments,
   random dendritic input), both through the full Lava runtime (``LIF`` process
   fed by a ``RingBuffer``, ``Loihi2SimCfg(select_tag="fixed_pt")``, wall time of
   ``run`` alone) and through Lava's process model stepped directly (Lava's
   arithmetic without the runtime). Target: >= 100x Lava at N = 1024.
2. The mapped Loihi network (``loihi.simulate``: routing + Dense + LIF) against
   the float golden network (``lifhw.golden.network.simulate_network``) on the
   same feed-forward network and inputs.

Run (Lava's part needs ``make lava``; skipped with a note otherwise)::

    .venv/bin/python -m benchmarks.bench_chips [--neurons 1024] [--lava-steps 300]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from lifhw.chips import loihi
from lifhw.core import LIFParams
from lifhw.golden.network import simulate_network
from lifhw.network import InputPopulation, Network, Population, Projection

ROOT = Path(__file__).resolve().parents[1]
LAVA_PYTHON = ROOT / ".venv-lava" / "bin" / "python"
LAVA_SCRIPT = ROOT / "verification" / "lava_ref" / "run_lava_lif.py"


def _best(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def lif_case(n: int, steps: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"a_in": rng.integers(-100, 300, (steps, n)), "du": np.array(300),
            "dv": np.array(200), "vth": np.array(2000),
            "bias_mant": rng.integers(0, 200, n), "bias_exp": np.full(n, 2),
            "u0": np.zeros(n, dtype=np.int64), "v0": np.zeros(n, dtype=np.int64)}


def bench_run_lif(n: int, steps: int) -> float:
    case = lif_case(n, steps)
    kwargs = {k: case[k] for k in ("du", "dv", "vth", "bias_mant", "bias_exp", "u0", "v0")}
    loihi.run_lif(case["a_in"][:10], **kwargs)  # numba warm-up
    seconds = _best(lambda: loihi.run_lif(case["a_in"], **kwargs))
    return n * steps / seconds


def bench_lava(n: int, steps: int) -> tuple[float, float] | None:
    """(runtime, process-model) neuron-steps/s of lava-nc, or None without Lava."""
    if not LAVA_PYTHON.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        case = lif_case(n, steps)
        blob: dict[str, np.ndarray] = {"n_cases": np.array(2)}
        for i in range(2):
            blob.update({f"c{i}_{k}": v for k, v in case.items()})
        blob["c0_runtime"] = np.array(1)
        np.savez(Path(tmp) / "cases.npz", **blob)
        subprocess.run([str(LAVA_PYTHON), str(LAVA_SCRIPT), "cases.npz", "result.npz"],
                       cwd=tmp, check=True, capture_output=True, timeout=900)
        with np.load(Path(tmp) / "result.npz") as data:
            runtime = float(data["seconds_runtime"])
            model = float(data["seconds_model"])
    return n * steps / runtime, n * steps / model


def feedforward(n: int, n_in: int = 100, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.25e-9, 0.25e-9, (n, n_in)) * (rng.random((n, n_in)) < 0.2)
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                       tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    return Network("bench", (InputPopulation("in", n_in),),
                   (Population("out", n, neuron, rng.uniform(0.1e-9, 0.3e-9, n)),),
                   (Projection("in", "out", weights),), 1e-3)


def bench_network(n: int, steps: int) -> tuple[float, float]:
    net = feedforward(n)
    spikes = np.random.default_rng(1).random((steps, 100)) < 0.02
    config = loihi.quantize(loihi.map(net))
    loihi.simulate(config, spikes[:10])
    simulate_network(net, spikes[:10])
    chip = _best(lambda: loihi.simulate(config, spikes))
    golden = _best(lambda: simulate_network(net, spikes))
    return n * steps / chip, n * steps / golden


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=20000, help="steps for run_lif")
    parser.add_argument("--lava-steps", type=int, default=300, help="steps for lava-nc")
    args = parser.parse_args(argv)
    n = args.neurons
    ours = bench_run_lif(n, args.steps)
    print(f"loihi.run_lif        N={n}: {ours:.3g} neuron-steps/s")
    lava = bench_lava(n, args.lava_steps)
    if lava is None:
        print("lava-nc: no .venv-lava (run `make lava`); comparison skipped")
    else:
        runtime, model = lava
        print(f"lava-nc runtime      N={n}: {runtime:.3g} neuron-steps/s  -> lifhw is "
              f"{ours / runtime:.0f}x faster")
        print(f"lava-nc model only   N={n}: {model:.3g} neuron-steps/s  -> lifhw is "
              f"{ours / model:.0f}x faster")
    chip, golden = bench_network(n, 2000)
    print(f"loihi.simulate network N={n}: {chip:.3g} neuron-steps/s; golden network "
          f"{golden:.3g} neuron-steps/s (ratio {chip / golden:.2f})")


if __name__ == "__main__":
    main()
