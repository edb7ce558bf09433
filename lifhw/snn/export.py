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


# -- convolutional networks ------------------------------------------------------------


def dense_layers(model: Any) -> list[np.ndarray]:
    """The layers of a :class:`lifhw.snn.model.ConvSNN` (or ``SNN``) as dense matrices.

    Convolutions are unrolled by :func:`lifhw.nir_bridge.conv2d_matrix` (stride
    1, the model's zero padding) on the flattened (C, H, W) spikes, C-major --
    the order in which ``ConvSNN`` flattens before its dense layers.
    """
    from lifhw.nir_bridge import conv2d_matrix

    shape = tuple(getattr(model, "in_shape", (model.weights[0].shape[1],)))
    out = []
    for w in model.weights:
        w = np.asarray(w, dtype=float)
        if w.ndim == 4:
            matrix = conv2d_matrix(w, (shape[0], shape[1], shape[2]), padding=model.padding)
            side = matrix.shape[0] // w.shape[0]
            h = shape[1] + 2 * model.padding - w.shape[2] + 1
            shape = (w.shape[0], h, side // h)
        else:
            matrix = w
            shape = (w.shape[0],)
        out.append(matrix)
    return out


def dense_biases(model: Any) -> list[np.ndarray]:
    """Per layer bias drives per unit (a convolution's per-channel bias repeated)."""
    layers = dense_layers(model)
    return [np.repeat(np.asarray(c, dtype=float), m.shape[0] // np.asarray(c).size)
            for c, m in zip(model.biases, layers, strict=True)]


def conv_to_network(model: Any, *, name: str = "snn_conv", v_rest: float = V_REST,
                    v_th: float = V_TH, r_m: float = R_M) -> Network:
    """A trained :class:`lifhw.snn.model.ConvSNN` as a float :class:`Network`.

    Weight sharing is unrolled (:func:`dense_layers`): each convolution becomes
    one dense projection whose rows hold the kernel taps of one output unit
    (``C_in k_h k_w`` non-zeros at most). Neuron, units and biases as
    :func:`to_network`.
    """
    return to_network(dense_layers(model), dense_biases(model), tau_m=model.neuron.tau_m,
                      dt=model.neuron.dt, theta=model.neuron.theta, name=name,
                      v_rest=v_rest, v_th=v_th, r_m=r_m)


def conv_to_nir(model: Any, *, name: str = "snn_conv", v_rest: float = V_REST,
                v_th: float = V_TH, r_m: float = R_M) -> Any:
    """A :class:`lifhw.snn.model.ConvSNN` as a NIR graph with ``Conv2d`` nodes.

    ``Input`` (C, H, W) -> per convolution ``Conv2d`` (stride 1, the model's
    padding, bias = the bias current per channel) -> ``LIF`` of shape
    (C_out, H', W') -> ``Flatten`` -> per dense layer ``Affine`` -> ``LIF``, and an
    ``Output``. The physical neuron is that of :func:`to_network`; NIR's ``LIF``
    turns a weight ``W`` into the jump ``r W / tau``, so the NIR weights are the
    network's volts times ``tau_m / r_m`` (:mod:`lifhw.nir_bridge`). Read back
    with :func:`lifhw.nir_bridge.from_nir` (convolutions unrolled) or
    :func:`conv_from_nir` (the ``ConvSNN``).
    """
    import nir

    network = conv_to_network(model, name=name, v_rest=v_rest, v_th=v_th, r_m=r_m)
    scale = (v_th - v_rest) / model.neuron.theta
    neuron = network.populations[0].neuron
    to_nir_weight = scale * neuron.tau_m / neuron.r_m
    names = layer_names(len(model.weights))
    shape = tuple(model.in_shape)
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(shape)})}
    edges: list[tuple[str, str]] = []
    pre = "input"
    for index, (w, layer) in enumerate(zip(model.weights, names, strict=True)):
        w = np.asarray(w, dtype=float)
        current = network.populations[index].bias
        if w.ndim == 4:
            h = shape[1] + 2 * model.padding - w.shape[2] + 1
            wd = shape[2] + 2 * model.padding - w.shape[3] + 1
            per_channel = current.reshape(w.shape[0], h * wd)[:, 0]
            nodes[f"conv{index}"] = nir.Conv2d(
                input_shape=(shape[1], shape[2]), weight=w * to_nir_weight, stride=1,
                padding=model.padding, dilation=1, groups=1, bias=per_channel)
            edges.append((pre, f"conv{index}"))
            pre, shape = f"conv{index}", (w.shape[0], h, wd)
        else:
            if len(shape) == 3:
                nodes[f"flatten{index}"] = nir.Flatten(input_type={"input": np.array(shape)},
                                                       start_dim=0)
                edges.append((pre, f"flatten{index}"))
                pre = f"flatten{index}"
            nodes[f"fc{index}"] = nir.Affine(weight=w * to_nir_weight, bias=current)
            edges.append((pre, f"fc{index}"))
            pre, shape = f"fc{index}", (w.shape[0],)
        full = np.ones(shape)
        nodes[layer] = nir.LIF(tau=neuron.tau_m * full, r=neuron.r_m * full,
                               v_leak=neuron.v_rest * full, v_threshold=neuron.v_th * full,
                               v_reset=neuron.v_reset * full)
        edges.append((pre, layer))
        pre = layer
    nodes["output_out"] = nir.Output(output_type={"output": np.array(shape)})
    edges.append((pre, "output_out"))
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={"lifhw_dt": model.neuron.dt, "lifhw_name": name})


def conv_from_nir(graph: Any) -> Any:
    """Read a graph written by :func:`conv_to_nir` back into a ``ConvSNN``.

    The inverse of the export's formulas: normalised weights ``W_nir r / (tau s)``
    with ``s = v_th - v_rest`` (threshold 1), bias drives ``I (1 - beta) r / s``,
    ``tau_m`` from the ``LIF`` nodes and ``dt`` from the graph's ``lifhw_dt``.

    Raises:
        ParamError: A graph that is not a chain Input -> (Conv2d -> LIF)* ->
            Flatten -> (Affine -> LIF)+ of stride-1 convolutions with one padding.
    """
    from lifhw.snn.model import ConvSNN, NeuronConfig

    nodes = graph.nodes
    following: dict[str, list[str]] = {key: [] for key in nodes}
    for src, dst in graph.edges:
        following[src].append(dst)
    key = next((k for k, n in nodes.items() if type(n).__name__ == "Input"), None)
    if key is None:
        raise ParamError("graph has no Input node", path="nir")
    in_shape = tuple(int(v) for v in np.asarray(nodes[key].input_type["input"]).ravel())
    if len(in_shape) != 3:
        raise ParamError(f"Input shape {in_shape} is not (C, H, W)", path=f"nir.{key}")
    dt = float(graph.metadata.get("lifhw_dt", 1e-3))
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    pending: tuple[np.ndarray, np.ndarray] | None = None
    paddings: set[int] = set()
    tau = None
    while following[key]:
        if len(following[key]) != 1:
            raise ParamError("the graph branches; a ConvSNN is a chain", path=f"nir.{key}")
        key = following[key][0]
        node = nodes[key]
        kind = type(node).__name__
        if kind == "Conv2d":
            stride = np.broadcast_to(np.asarray(node.stride), (2,))
            pad = np.broadcast_to(np.asarray(node.padding), (2,))
            if np.any(stride != 1) or pad[0] != pad[1] or int(np.asarray(node.groups)) != 1:
                raise ParamError("ConvSNN convolutions have stride 1, one padding, groups 1",
                                 path=f"nir.{key}")
            paddings.add(int(pad[0]))
            pending = (np.asarray(node.weight, dtype=float),
                       np.asarray(node.bias, dtype=float).ravel())
        elif kind == "Affine":
            pending = (np.asarray(node.weight, dtype=float),
                       np.asarray(node.bias, dtype=float).ravel())
        elif kind == "LIF":
            if pending is None:
                raise ParamError("LIF without a Conv2d/Affine before it", path=f"nir.{key}")
            tau = float(np.asarray(node.tau).ravel()[0])
            r = float(np.asarray(node.r).ravel()[0])
            s = float(np.asarray(node.v_threshold).ravel()[0]
                      - np.asarray(node.v_leak).ravel()[0])
            beta = math.exp(-dt / tau)
            weights.append((pending[0] * r / (tau * s)).astype(np.float32))
            bias = pending[1] * (1.0 - beta) * r / s
            biases.append(bias.astype(np.float32))
            pending = None
        elif kind not in ("Flatten", "Output"):
            raise ParamError(f"{kind} node is not part of a ConvSNN", path=f"nir.{key}")
    if tau is None or len(paddings) > 1:
        raise ParamError("no LIF layers, or convolutions with different paddings", path="nir")
    neuron = NeuronConfig(tau_m=tau, dt=dt)
    return ConvSNN(weights, biases, neuron, in_shape=(in_shape[0], in_shape[1], in_shape[2]),
                   padding=paddings.pop() if paddings else 0)
