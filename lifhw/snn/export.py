"""Trained feed-forward SNNs as :class:`lifhw.network.Network`, and their model files.

The normalised neuron of :mod:`lifhw.snn.model` (rest 0, threshold ``theta``,
bias drive ``c`` per step) becomes physical LIF parameters with a voltage
scale ``s = (v_th - v_rest) / theta`` (V per normalised unit):

* weights (delta synapses, volts): ``w_V = s w``;
* bias current (A) from the grid update ``V' = v_inf + (V - v_inf) beta`` with
  ``v_inf = v_rest + r_m I``: a drive ``c`` per step is
  ``(1 - beta) r_m I = s c``, so ``I = s c / ((1 - beta) r_m)``;
* ``v_reset = v_rest`` (reset to zero), ``t_ref = 0``, projections with
  ``delay_steps = 1``, ``dt`` of the model.

The float referee of such networks (a batch of inputs at once) is
:func:`lifhw.golden.network.simulate_network_batch`, re-exported here as
:data:`simulate_network`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.network import simulate_network_batch
from lifhw.network import InputPopulation, Network, Population, Projection

#: Physical neuron of exported networks (SI): rest, threshold 20 mV above it.
V_REST = -65e-3
V_TH = -45e-3
R_M = 100e6


def layer_names(n_layers: int) -> list[str]:
    """Population names: ``hidden1``, ``hidden2``, ..., ``output``."""
    return [f"hidden{i + 1}" for i in range(n_layers - 1)] + ["output"]


def to_network(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], *,
               tau_m: float, dt: float, theta: float = 1.0,
               bias_currents: Sequence[np.ndarray] | None = None,
               name: str = "snn", v_rest: float = V_REST, v_th: float = V_TH,
               r_m: float = R_M) -> Network:
    """A normalised feed-forward SNN as a float :class:`Network`.

    Args:
        weights: Per layer (n_out, n_in), normalised units.
        biases: Per layer bias drive per step (n_out,), normalised units.
        tau_m: Membrane time constant (s).
        dt: Time step (s).
        theta: Normalised threshold.
        bias_currents: Per layer bias currents (A) overriding ``biases`` (as
            computed by :mod:`lifhw.snn.convert` from the inverse f-I curve).
        name: Network name.
        v_rest: Resting and reset potential (V).
        v_th: Threshold (V).
        r_m: Membrane resistance (Ohm).
    """
    scale = (v_th - v_rest) / theta
    beta = math.exp(-dt / tau_m)
    neuron = LIFParams(tau_m=tau_m, r_m=r_m, v_rest=v_rest, v_th=v_th, v_reset=v_rest)
    names = layer_names(len(weights))
    pops, projs = [], []
    pre = "input"
    for index, (w, c) in enumerate(zip(weights, biases, strict=True)):
        current = (np.asarray(bias_currents[index], dtype=float) if bias_currents is not None
                   else scale * np.asarray(c, dtype=float) / ((1.0 - beta) * r_m))
        pops.append(Population(names[index], w.shape[0], neuron, current))
        projs.append(Projection(pre, names[index], scale * np.asarray(w, dtype=float), 1))
        pre = names[index]
    return Network(name, (InputPopulation("input", weights[0].shape[1]),), tuple(pops),
                   tuple(projs), dt=dt)


#: The batched float referee, which lives in :mod:`lifhw.golden.network`; this
#: name is kept because docs/snn.md names ``lifhw.snn.export.simulate_network``.
simulate_network = simulate_network_batch


# -- model files -------------------------------------------------------------

_FORMAT = "lifhw-snn-1"


def save_model(path: str | Path, network: Network, info: Mapping[str, Any]) -> Path:
    """Write a network and its task metadata (encoding, steps...) as one ``.npz``.

    Args:
        path: Output file (written atomically).
        network: Feed-forward network from :func:`to_network` or the converter.
        info: JSON-able metadata (``encoding``, ``n_steps``, accuracies...).
    """
    import io
    import json

    from lifhw.io import atomic_write_bytes

    for i, proj in enumerate(network.projections):
        if not np.all(np.isfinite(proj.weights)):
            raise ParamError(f"projection {proj.pre}->{proj.post} has NaN or infinite "
                             "weights (training diverged: lower --lr); nothing written",
                             path=f"weights_{i}", source=str(path))

    header = {"format": _FORMAT, "name": network.name, "dt": network.dt,
              "inputs": [[p.name, p.size] for p in network.inputs],
              "populations": [[p.name, p.size, dataclasses.asdict(p.neuron)]
                              for p in network.populations],
              "projections": [[p.pre, p.post, p.delay_steps] for p in network.projections],
              "info": dict(info)}
    arrays: dict[str, Any] = {"header": np.array(json.dumps(header))}
    arrays.update({f"bias_{i}": p.bias for i, p in enumerate(network.populations)})
    arrays.update({f"weights_{i}": p.weights for i, p in enumerate(network.projections)})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def load_model(path: str | Path) -> tuple[Network, dict[str, Any]]:
    """Read a file written by :func:`save_model`.

    Raises:
        ParamError: Not such a file, a different format, a damaged header (naming the
            field) or non-finite arrays.
    """
    import json

    source = str(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(str(npz["header"]))
            arrays = {k: npz[k] for k in npz.files if k != "header"}
    except FileNotFoundError:
        raise ParamError("cannot read: file not found", source=source) from None
    except (OSError, ValueError, KeyError, EOFError, RecursionError) as err:
        what = "no 'header' array" if isinstance(err, KeyError) else type(err).__name__
        raise ParamError(f"cannot read as an SNN model file (.npz from `lifhw snn train -o`): "
                         f"{what}", source=source) from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise ParamError(f"not a {_FORMAT} model file (header.format)", source=source)
    for name, array in arrays.items():
        if array.dtype.kind not in "biuf" or not np.all(np.isfinite(array)):
            raise ParamError("holds non-numeric, NaN or infinite values", path=name,
                             source=source)
    field = "header"
    try:
        field = "header.inputs"
        inputs = tuple(InputPopulation(n, int(s)) for n, s in header["inputs"])
        field = "header.populations"
        pops = tuple(Population(n, int(s), LIFParams(**neuron), arrays[f"bias_{i}"])
                     for i, (n, s, neuron) in enumerate(header["populations"]))
        field = "header.projections"
        projs = tuple(Projection(pre, post, arrays[f"weights_{i}"], int(d))
                      for i, (pre, post, d) in enumerate(header["projections"]))
        field = "header"
        network = Network(header["name"], inputs, pops, projs, dt=float(header["dt"]))
        info = dict(header["info"])
    except ParamError as err:
        raise err.located(path_prefix=field, source=source) from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise ParamError(f"damaged model file ({type(err).__name__}: {err})", path=field,
                         source=source) from None
    return network, info
