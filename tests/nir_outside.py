"""A digits network built the way a user outside lifhw builds one (issue 16).

A ReLU multilayer perceptron trained with scikit-learn's ``MLPClassifier`` on
the digits, converted by data-based normalisation (Rueckauer et al. 2017,
Front. Neurosci. 11:682: ``lambda_l`` = 99.9th percentile of layer ``l``'s
activations on the training set, ``W_l <- W_l lambda_{l-1} / lambda_l``,
``b_l <- b_l / lambda_l``) into a graph of unitless NIR ``IF`` neurons
(``r = 1``, threshold 1, reset 0, no leak) written with the ``nir`` package
itself -- not with :mod:`lifhw.nir_bridge`. NIR's ``IF`` integrates
``dv/dt = r I``: a Dirac spike through weight ``w`` is a jump of ``w``, an
``Affine`` bias ``b`` a slope ``b`` per second, so the per-step bias ``b_l`` of
the conversion is written as ``b_l / dt`` for the step ``dt`` it will run at.

Used by tests/test_nir_units.py and verification/test_snn_deploy.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: Step the graph's biases are written for (s) -- the ``lifhw snn deploy`` default.
DT = 1e-3
#: Hidden layer of the scikit-learn network.
HIDDEN = (64,)
#: Percentile of the data-based normalisation.
PERCENTILE = 99.9


def train_mlp(x: np.ndarray, y: np.ndarray, seed: int = 0) -> Any:
    """scikit-learn ReLU MLP on the digits (pixels in [0, 1])."""
    from sklearn.neural_network import MLPClassifier

    mlp = MLPClassifier(hidden_layer_sizes=HIDDEN, activation="relu", max_iter=600,
                        random_state=seed)
    return mlp.fit(x, y)


def normalised_layers(mlp: Any, x_train: np.ndarray
                      ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W (n_out, n_in), b per step) per layer after data-based normalisation."""
    layers = []
    a = x_train
    lam_prev = 1.0  # an intensity of 1 is one spike per step
    n = len(mlp.coefs_)
    for index, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_, strict=True)):
        z = a @ w + b
        a = np.maximum(z, 0.0) if index < n - 1 else z
        lam = float(np.percentile(np.maximum(z, 0.0), PERCENTILE))
        layers.append((w.T * lam_prev / lam, b / lam))
        lam_prev = lam
    return layers


def outside_graph(layers: list[tuple[np.ndarray, np.ndarray]], dt: float = DT) -> Any:
    """The normalised layers as a ``nir.NIRGraph`` of unitless ``IF`` neurons."""
    import nir

    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([64])})}
    edges = []
    pre = "input"
    names = [f"hidden{i + 1}" for i in range(len(layers) - 1)] + ["output"]
    for index, ((w, b), name) in enumerate(zip(layers, names, strict=True)):
        size = w.shape[0]
        nodes[f"fc{index}"] = nir.Affine(weight=w, bias=b / dt)
        nodes[name] = nir.IF(r=np.ones(size), v_threshold=np.ones(size),
                             v_reset=np.zeros(size))
        edges += [(pre, f"fc{index}"), (f"fc{index}", name)]
        pre = name
    nodes["out"] = nir.Output(output_type={"output": np.array([layers[-1][0].shape[0]])})
    edges.append((pre, "out"))
    return nir.NIRGraph(nodes=nodes, edges=edges)


def write_outside_graph(path: str | Path, seed: int = 0) -> tuple[Path, float]:
    """Train, convert and write the graph; returns (path, the MLP's test accuracy)."""
    import nir

    from lifhw.snn import data

    digits = data.load()
    mlp = train_mlp(digits.x_train, digits.y_train, seed)
    graph = outside_graph(normalised_layers(mlp, digits.x_train))
    target = Path(path)
    nir.write(target, graph)
    return target, float(mlp.score(digits.x_test, digits.y_test))
