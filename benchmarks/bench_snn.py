"""Digits SNN training time: lifhw.snn (NumPy BPTT) vs snnTorch, side by side (issue 7).

Work: the 64-128-10 LIF network (tau_m 20 ms, dt 1 ms, reset to zero,
fast-sigmoid surrogate slope 5), 16-step deterministic rate code of
scikit-learn's digits (1347 training images), spike-count cross-entropy
(logit scale 0.5), Adam lr 2e-3, batch 32, 15 epochs. Both sides train on the
same encoded arrays (written once to a temporary .npz). snnTorch runs in its own
venv (``.venv-snntorch``: torch 2.13.0 CPU, snnTorch 1.0) as a subprocess.
Timed: the training loop only (no data loading, no evaluation), best of
``--repeat`` runs, with 1 and 2 threads (BLAS threads for NumPy,
``torch.set_num_threads`` for PyTorch).

Differences that do not change the work: lifhw's layers have a one-step
synaptic delay (the chips' convention) and ``V = beta (U + W x) + c``;
snnTorch's ``Leaky`` has none and ``V = beta U + W x + b``. snnTorch's
fast-sigmoid derivative is ``2/k`` times lifhw's (Adam is invariant to that scale).

Run: ``.venv/bin/python -m benchmarks.bench_snn`` (``--quick``: one repeat, one
thread count).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SNNTORCH_PY = ROOT / ".venv-snntorch" / "bin" / "python"
INSTALL = ("python3 -m venv .venv-snntorch && .venv-snntorch/bin/pip install "
           "torch==2.13.0 snntorch numpy scikit-learn")


def run_lifhw(threads: int, repeat: int) -> dict[str, float]:
    from lifhw.snn import data, train

    digits = data.load()
    best = None
    for _ in range(repeat):
        result = train.train(train.TrainConfig(threads=threads), digits)
        if best is None or result.seconds < best.seconds:
            best = result
    assert best is not None
    return {"seconds": best.seconds, "test_accuracy": best.test_accuracy}


def run_snntorch(threads: int, repeat: int, workdir: Path) -> dict[str, float] | str:
    from lifhw.snn import data, train

    if not SNNTORCH_PY.exists():
        return f"snnTorch venv missing ({INSTALL})"
    cfg = train.TrainConfig()
    digits = data.load()
    path = workdir / "digits.npz"
    if not path.exists():
        np.savez(path, x_train=data.encode(digits.x_train, cfg.n_steps),
                 y_train=digits.y_train, x_test=data.encode(digits.x_test, cfg.n_steps, seed=1),
                 y_test=digits.y_test,
                 config=np.array(json.dumps({
                     "beta": cfg.neuron().beta, "kappa": cfg.kappa, "scale": cfg.scale,
                     "hidden": cfg.hidden[0], "lr": cfg.lr, "epochs": cfg.epochs,
                     "batch": cfg.batch})))
    best: dict[str, float] | None = None
    for _ in range(repeat):
        proc = subprocess.run([str(SNNTORCH_PY), str(Path(__file__).with_name(
            "snntorch_digits.py")), str(path), str(threads)], capture_output=True, text=True,
            timeout=900, check=False)
        if proc.returncode != 0:
            return "snnTorch run failed: " + proc.stderr.strip().splitlines()[-1]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    thread_counts = (1,) if args.quick else (1, 2)
    print("| threads | lifhw.snn train (s) | acc. | snnTorch train (s) | acc. | "
          "snnTorch / lifhw |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for threads in thread_counts:
            ours = run_lifhw(threads, repeat)
            theirs = run_snntorch(threads, repeat, Path(tmp))
            if isinstance(theirs, str):
                print(f"| {threads} | {ours['seconds']:.2f} | {100 * ours['test_accuracy']:.1f} % "
                      f"| - | - | {theirs} |")
                continue
            ratio = theirs["seconds"] / ours["seconds"]
            print(f"| {threads} | {ours['seconds']:.2f} | {100 * ours['test_accuracy']:.1f} % | "
                  f"{theirs['seconds']:.2f} | {100 * theirs['test_accuracy']:.1f} % | "
                  f"{ratio:.1f} |", flush=True)


if __name__ == "__main__":
    main()
