"""snnTorch side of benchmarks/bench_snn.py -- run inside .venv-snntorch only.

Reads the encoded digits and hyper-parameters from an .npz written by
bench_snn, trains the same 64-128-10 LIF network with the same loss, optimiser,
batch size and epochs, and prints one JSON line: training seconds, test accuracy.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import snntorch as snn
import torch
from snntorch import surrogate


def main(path: str, threads: int) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    d = np.load(path)
    cfg = json.loads(str(d["config"]))
    x_train = torch.from_numpy(d["x_train"])   # (T, N, 64)
    y_train = torch.from_numpy(d["y_train"])
    x_test = torch.from_numpy(d["x_test"])
    y_test = torch.from_numpy(d["y_test"])
    beta, kappa = cfg["beta"], cfg["kappa"]
    grad = surrogate.fast_sigmoid(slope=cfg["scale"])

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(64, cfg["hidden"])
            self.lif1 = snn.Leaky(beta=beta, spike_grad=grad, reset_mechanism="zero")
            self.fc2 = torch.nn.Linear(cfg["hidden"], 10)
            self.lif2 = snn.Leaky(beta=beta, spike_grad=grad, reset_mechanism="zero")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem1 = self.lif1.init_leaky()
            mem2 = self.lif2.init_leaky()
            out = []
            for t in range(x.shape[0]):
                spk1, mem1 = self.lif1(self.fc1(x[t]), mem1)
                spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
                out.append(spk2)
            return torch.stack(out)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x_train.shape[1]
    start = time.perf_counter()
    for _ in range(cfg["epochs"]):
        order = torch.randperm(n)
        for lo in range(0, n, cfg["batch"]):
            idx = order[lo:lo + cfg["batch"]]
            counts = net(x_train[:, idx]).sum(0)
            loss = loss_fn(kappa * counts, y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        pred = net(x_test).sum(0).argmax(1)
    acc = float((pred == y_test).float().mean())
    print(json.dumps({"seconds": seconds, "test_accuracy": acc,
                      "torch": torch.__version__, "snntorch": snn.__version__}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
