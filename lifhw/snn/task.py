"""The digits task end to end: train or convert a network, return it as a
:class:`lifhw.network.Network` with the metadata needed to run it again.

Each builder returns ``(network, info)``; ``info`` holds the encoding, the
number of steps and the accuracies measured while building (JSON-able), and
is what :func:`lifhw.snn.export.save_model` stores next to the network.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from lifhw.golden.network import simulate_network_batch
from lifhw.network import Network
from lifhw.snn import convert, data, export, model, train

METHODS = ("surrogate", "eprop", "convert")

#: Steps of the rate code for converted networks (rates need more steps than
#: the trained nets, which learn to use few spikes).
CONVERT_STEPS = 64


def build(method: str = "surrogate", *, digits: data.Digits | None = None,
          config: train.TrainConfig | None = None, convert_steps: int = CONVERT_STEPS,
          bias_mode: str = "current", seed: int = 0) -> tuple[Network, dict[str, Any]]:
    """Train (``surrogate``/``eprop``) or convert (``convert``) a digits network.

    Args:
        method: ``surrogate`` (BPTT), ``eprop`` (three-factor rule) or ``convert``.
        digits: Data split (loaded when None).
        config: Training hyper-parameters (``rule`` is set from ``method``).
        convert_steps: Steps of the rate code of a converted network.
        bias_mode: Bias of a converted network: ``current`` or ``neuron``.
        seed: Seed (ANN training; the SNN seed is ``config.seed``).
    """
    from lifhw.errors import ParamError

    if method not in METHODS:
        raise ParamError(f"unknown method {method!r}; one of {METHODS}", path="method")
    digits = digits or data.load()
    if method in ("surrogate", "eprop"):
        return train_network(method, config=config, digits=digits)[1:]
    start = time.perf_counter()
    ann = convert.train_ann(digits.x_train, digits.y_train, seed=seed)
    conv = convert.convert(ann, digits.x_train, bias_mode=bias_mode, name="digits_converted")
    seconds = time.perf_counter() - start
    info = {"method": method, "encoding": "rate", "n_steps": convert_steps,
            "train_seconds": seconds, "ann_test_accuracy": ann.accuracy(digits.x_test,
                                                                        digits.y_test),
            "bias_mode": bias_mode, "percentile": 99.9, "scales": conv.scales}
    info["test_accuracy"] = accuracy(conv.network, info, digits)
    return conv.network, info


def train_network(method: str = "surrogate", *, config: train.TrainConfig | None = None,
                  digits: data.Digits | None = None
                  ) -> tuple[model.SNN, Network, dict[str, Any]]:
    """Train (``surrogate``/``eprop``) and return (model, network, info).

    The model (``SNN``, or ``ConvSNN`` when ``config.conv``) is what exports
    needing more than the Network take (:func:`lifhw.snn.export.conv_to_nir`);
    a convolution's weight sharing is unrolled in the network
    (:func:`lifhw.snn.export.conv_to_network`).
    """
    from dataclasses import replace

    digits = digits or data.load()
    cfg = replace(config or train.TrainConfig(), rule="bptt" if method == "surrogate"
                  else "eprop")
    result = train.train(cfg, digits)
    m = result.model
    if cfg.conv:
        # weight sharing unrolled into dense projections (export.conv_to_network)
        network = export.conv_to_network(m, name=f"digits_{method}_conv")
    else:
        network = export.to_network(m.weights, m.biases, tau_m=m.neuron.tau_m,
                                    dt=m.neuron.dt, name=f"digits_{method}")
    info = {"method": method, "encoding": cfg.encoding, "n_steps": cfg.n_steps,
            "train_seconds": result.seconds, "train_accuracy": result.train_accuracy,
            "test_accuracy": result.test_accuracy, "epochs": cfg.epochs,
            "surrogate": cfg.surrogate, "scale": cfg.scale, "hidden": list(cfg.hidden),
            "conv": list(cfg.conv)}
    return m, network, info


def encoded_test_set(network: Network, info: dict[str, Any], digits: data.Digits
                ) -> np.ndarray:
    """Encoded test set in the network's input columns, (T, N, n_inputs)."""
    x = data.encode(digits.x_test, int(info["n_steps"]), str(info["encoding"]), seed=1)
    return convert.input_raster(network, x)


def accuracy(network: Network, info: dict[str, Any], digits: data.Digits) -> float:
    """Test accuracy of ``network`` under the float referee (:mod:`lifhw.golden.network`)."""
    out = simulate_network_batch(network, encoded_test_set(network, info, digits))["output"]
    return float(np.mean(model.predict(out) == digits.y_test))
