"""NIR in and out: graphs from snnTorch/Norse/Rockpool/hxtorch <-> :class:`~lifhw.network.Network`.

NIR (the Neuromorphic Intermediate Representation, ``nir`` 1.0; Pedersen et
al. 2024, Nature Communications 15:8122) describes neurons in continuous time:

* ``LIF``:     ``tau dv/dt = (v_leak - v) + r I``; spike when ``v > v_threshold``,
  then ``v = v_reset``;
* ``CubaLIF``: ``tau_syn dI/dt = -I + w_in x``, ``tau_mem dv/dt = (v_leak - v) + r I``;
* ``IF``:      ``dv/dt = r I``;
* ``Affine``/``Linear``: ``x -> W x + b`` / ``W x``; ``Scale``: ``s * x``;
  ``Flatten``: reshape; ``Delay``: ``x(t - d)``; ``Conv2d``: a convolution,
  unrolled into its matrix (weight sharing becomes one synapse per tap and
  output position, :func:`conv2d_matrix`); a chain of these between two
  populations composes into one projection;
* input spikes are Dirac impulses, so a spike through weight ``W`` gives

  - into ``LIF``: a voltage jump ``dv = r W / tau``;
  - into ``CubaLIF``: a current jump ``dI = w_in W / tau_syn``;
  - into ``IF``: ``dv = r W``.

Conversion to lifhw (SI units, taus taken as seconds, potentials as volts):
``tau_m = tau`` (``tau_mem``), ``r_m = r``, ``v_rest = v_leak``, ``v_th =
v_threshold``, ``v_reset = v_reset``; a ``LIF``/``IF`` population gets delta
synapses with weights ``r W / tau`` (V) (``IF``: ``tau_m = 1e4 s`` and ``r_m = r
tau_m`` so that ``r_m / tau_m = r``: no leak within any realistic run);
a ``CubaLIF`` population gets ``tau_syn_exc = tau_syn_inh = tau_syn`` and
current weights ``w_in W / tau_syn`` (A). An ``Affine`` bias ``b`` is a
constant current: ``LIF``: ``b`` (A); ``CubaLIF``: its steady synaptic current
``w_in b``. A ``Delay`` of ``d`` seconds becomes ``delay_steps = 1 + round(d /
dt)`` (lifhw's minimal delay of one step is NIR's zero delay). The time step
``dt`` is not part of NIR: it is an argument.

Export is the inverse, with the populations' float parameters (for a chip, the
dequantised network: what the chip really computes) in the standard nodes and,
when a chip configuration is given, the chip's integers in each node's
``metadata`` (``lifhw_chip``, ``lifhw_int_<name>``). NIR's ``CubaLIF`` has one
``tau_syn``: a population whose inhibitory time constant differs keeps the
excitatory one there and the inhibitory one in ``lifhw_tau_syn_inh``
metadata (read back by lifhw; other tools see one time constant). NIR neurons have no
refractory period: ``t_ref`` travels in ``lifhw_t_ref`` node metadata. The graph's
metadata lists the inputs and populations (``lifhw_inputs``, ``lifhw_populations``), so
an ``Input`` that NIR's type inference adds in front of a population without incoming
projections is dropped on reading, and the population order survives. Heterogeneous per-neuron
parameters inside one NIR node are not representable in a lifhw population and
are rejected.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lifhw.core import LIFParams
from lifhw.errors import LifhwError, ParamError
from lifhw.network import InputPopulation, Network, Population, Projection

#: tau_m given to IF neurons (s): long enough that the leak never matters.
IF_TAU_M = 1e4
_NEURON_KINDS = ("LIF", "CubaLIF", "IF")


def _kind(node: Any) -> str:
    return type(node).__name__


def _uniform(value: Any, name: str, node: str) -> float:
    array = np.asarray(value, dtype=float).ravel()
    if array.size == 0:
        raise ParamError(f"empty parameter {name}", path=f"nir.{node}")
    if not np.allclose(array, array[0], rtol=1e-9, atol=0):
        raise ParamError(f"per-neuron {name} differs within the node; lifhw populations "
                         "share one parameter set", path=f"nir.{node}")
    return float(array[0])


def _size_of(node: Any) -> int:
    for attr in ("tau", "tau_mem", "r", "v_threshold"):
        if hasattr(node, attr):
            return int(np.asarray(getattr(node, attr)).size)
    shape = next(iter(node.output_type.values()))
    return int(np.prod(shape))


def _neuron(node: Any, name: str) -> LIFParams:
    kind = _kind(node)
    t_ref = float((node.metadata or {}).get("lifhw_t_ref", 0.0))
    v_th = _uniform(node.v_threshold, "v_threshold", name)
    v_reset = _uniform(getattr(node, "v_reset", 0.0), "v_reset", name)
    r = _uniform(node.r, "r", name)
    if kind == "IF":
        return LIFParams(tau_m=IF_TAU_M, r_m=r * IF_TAU_M, v_rest=v_reset, v_th=v_th,
                         v_reset=v_reset, t_ref=t_ref)
    v_leak = _uniform(node.v_leak, "v_leak", name)
    if kind == "LIF":
        return LIFParams(tau_m=_uniform(node.tau, "tau", name), r_m=r, v_rest=v_leak,
                         v_th=v_th, v_reset=v_reset, t_ref=t_ref)
    tau_syn = _uniform(node.tau_syn, "tau_syn", name)
    tau_inh = float((node.metadata or {}).get("lifhw_tau_syn_inh", tau_syn))
    return LIFParams(tau_m=_uniform(node.tau_mem, "tau_mem", name), r_m=r, v_rest=v_leak,
                     v_th=v_th, v_reset=v_reset, t_ref=t_ref, tau_syn_exc=tau_syn,
                     tau_syn_inh=tau_inh)


def _input_gain(node: Any, name: str) -> float:
    """lifhw weight per NIR weight for spikes into this neuron node (see module doc)."""
    kind = _kind(node)
    r = _uniform(node.r, "r", name)
    if kind == "IF":
        return r
    if kind == "LIF":
        return r / _uniform(node.tau, "tau", name)
    return _uniform(getattr(node, "w_in", 1.0), "w_in", name) / _uniform(
        node.tau_syn, "tau_syn", name)


def _bias_gain(node: Any, name: str) -> float:
    """lifhw bias current per NIR Affine bias."""
    if _kind(node) == "CubaLIF":
        return _uniform(getattr(node, "w_in", 1.0), "w_in", name)
    if _kind(node) == "IF":
        return 1.0
    return 1.0


def from_nir(graph: Any, *, dt: float = 1e-3, name: str = "nir") -> Network:
    """Import a NIR graph (``nir.NIRGraph`` or a path to a ``.nir`` file).

    Supported: ``Input``, ``Output``, ``LIF``, ``CubaLIF``, ``IF``, ``Affine``,
    ``Linear``, ``Scale``, ``Flatten``, ``Delay``, ``Conv2d`` (unrolled into a
    dense projection, :func:`conv2d_matrix`). Between a source and a neuron
    any chain of linear nodes composes into one projection (``W2 (W1 x + b1) +
    b2``), delays add up, and a source connected straight to a neuron is a
    one-to-one identity projection.

    Args:
        graph: The graph or a file path.
        dt: Time step of the lifhw network (s).
        name: Network name.

    Raises:
        ParamError: Unsupported node, heterogeneous
            parameters, or a branching chain lifhw cannot express.
    """
    import nir

    if isinstance(graph, (str, Path)):
        graph = nir.read(graph)
    nodes: Mapping[str, Any] = dict(graph.nodes)
    meta = graph.metadata or {}
    if "lifhw_inputs" in meta:
        # A lifhw export lists its inputs: any other Input was added by NIR's type
        # inference in front of a population without incoming projections.
        keep = set(_names(meta["lifhw_inputs"]))
        nodes = {k: v for k, v in nodes.items() if _kind(v) != "Input" or k in keep}
    incoming: dict[str, list[str]] = {key: [] for key in nodes}
    for src, dst in graph.edges:
        if src in nodes and dst in nodes:
            incoming[dst].append(src)
    inputs = []
    pops = []
    for key, node in nodes.items():
        kind = _kind(node)
        if kind == "Input":
            inputs.append(InputPopulation(key, int(np.prod(next(iter(node.input_type.values()))))))
        elif kind in _NEURON_KINDS:
            pops.append(key)
        elif kind not in ("Output", "Affine", "Linear", "Scale", "Flatten", "Delay",
                          "Conv2d"):
            raise ParamError(f"NIR node type {kind} is not supported (supported: Input, "
                             "Output, LIF, CubaLIF, IF, Affine, Linear, Scale, Flatten, "
                             "Delay, Conv2d)",
                             path=f"nir.{key}")
    if "lifhw_populations" in meta:  # NIR files keep nodes sorted by name
        order = {name: i for i, name in enumerate(_names(meta["lifhw_populations"]))}
        pops.sort(key=lambda key: order.get(key, len(order)))
    sources = {p.name for p in inputs} | set(pops)
    projections: list[Projection] = []
    bias: dict[str, np.ndarray] = {}
    for post in pops:
        node = nodes[post]
        size = _size_of(node)
        gain = _input_gain(node, post)
        bias[post] = np.zeros(size)
        for first in incoming[post]:
            weights, delay, offset, pre = _trace_back(nodes, incoming, first, post, sources)
            if weights is None:
                weights = np.eye(size, _node_size(nodes[pre]))
            weights = np.asarray(weights, dtype=float)
            if weights.shape[0] != size:
                raise ParamError(f"weight rows {weights.shape[0]} != {size} neurons",
                                 path=f"nir.{first}")
            steps = 1 + round(delay / dt)
            projections.append(Projection(pre, post, weights * gain, steps))
            if offset is not None:
                bias[post] = bias[post] + np.asarray(offset, dtype=float) * _bias_gain(node, post)
        extra = node.metadata.get("lifhw_bias") if node.metadata else None
        if extra is not None:
            bias[post] = bias[post] + np.asarray(extra, dtype=float)
    populations = tuple(Population(key, _size_of(nodes[key]), _neuron(nodes[key], key),
                                   bias[key]) for key in pops)
    return Network(name=name, inputs=tuple(inputs), populations=populations,
                   projections=tuple(projections), dt=dt)


def _names(value: Any) -> list[str]:
    """A list of names from graph metadata (HDF5 gives back bytes)."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(value)]


def _node_size(node: Any) -> int:
    if _kind(node) == "Input":
        return int(np.prod(next(iter(node.input_type.values()))))
    return _size_of(node)


def _trace_back(nodes: Mapping[str, Any], incoming: Mapping[str, list[str]], start: str,
                post: str, sources: set[str]) -> tuple[Any, float, Any, str]:
    """Walk from a neuron's input edge back to its source population.

    Linear maps on the way compose: ``Affine``/``Linear`` (``W x + b``),
    ``Conv2d`` (unrolled by :func:`conv2d_matrix`, bias per output channel),
    ``Scale`` (``s * x``) and ``Flatten`` (identity on the flat vector) fold into
    one matrix and offset, ``x -> W x + b``; ``Delay`` nodes add up.

    Returns (weights or None for identity, total delay (s), offset or None,
    source name).
    """
    weights: np.ndarray | None = None  # composed map from here to the neuron
    offset: np.ndarray | None = None
    delay = 0.0
    key = start
    while key not in sources:
        node = nodes[key]
        kind = _kind(node)
        if kind in ("Affine", "Linear", "Scale", "Conv2d"):
            if kind == "Conv2d":
                local, local_bias = _conv_as_matrix(node, key)
            elif kind == "Scale":
                local = np.diag(np.asarray(node.scale, dtype=float).ravel())
                local_bias = None
            else:
                local = np.asarray(node.weight, dtype=float)
                if local.ndim != 2:
                    raise ParamError(f"{kind} weight must be 2-D, got {local.shape}",
                                     path=f"nir.{key}")
                local_bias = np.asarray(node.bias, dtype=float) if kind == "Affine" else None
            # Downstream map M, c composed with this one: M (W x + b) + c.
            if local_bias is not None:
                shifted = local_bias if weights is None else weights @ local_bias
                offset = shifted if offset is None else offset + shifted
            weights = local if weights is None else weights @ local
        elif kind == "Delay":
            delay += _uniform(node.delay, "delay", key)
        elif kind != "Flatten":
            raise ParamError(f"{kind} node between populations is not supported",
                             path=f"nir.{key}")
        if len(incoming[key]) != 1:
            raise ParamError(f"a {kind} node must have exactly one input", path=f"nir.{key}")
        key = incoming[key][0]
    return weights, delay, offset, key


def conv2d_matrix(weight: np.ndarray, in_shape: tuple[int, int, int], *,
                  stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> np.ndarray:
    """A 2-D convolution (cross-correlation, ``groups = 1``) as a dense matrix.

    ``y[o, i, j] = sum_{c,u,v} W[o, c, u, v] x[c, i s_h - p_h + u d_h, j s_w - p_w + v d_w]``
    (zero outside the input; NIR's and PyTorch's ``Conv2d``), flattened in
    C-major order on both sides: the result ``M`` has shape
    ``(C_out H_out W_out, C_in H W)`` and ``y.ravel() = M @ x.ravel()``, with
    ``H_out = (H + 2 p_h - d_h (k_h - 1) - 1) // s_h + 1`` (and ``W_out`` alike).
    Weight sharing is unrolled: every kernel tap appears once per output position.

    Args:
        weight: Kernels (C_out, C_in, k_h, k_w).
        in_shape: Input (C_in, H, W).
        stride, padding, dilation: An int or an (h, w) pair each.
    """
    w = np.asarray(weight, dtype=float)
    c_out, c_in, kh, kw = w.shape
    c, h, wd = in_shape
    if c != c_in:
        raise ParamError(f"kernel has {c_in} input channels, input has {c}", path="conv")
    sh, sw = (int(v) for v in np.broadcast_to(np.asarray(stride), (2,)))
    ph, pw = (int(v) for v in np.broadcast_to(np.asarray(padding), (2,)))
    dh, dw = (int(v) for v in np.broadcast_to(np.asarray(dilation), (2,)))
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ParamError("kernel larger than the padded input", path="conv")
    matrix = np.zeros((c_out, h_out, w_out, c_in, h, wd))
    rows, cols = np.arange(h_out), np.arange(w_out)
    for u in range(kh):
        iy = rows * sh - ph + u * dh
        ok_y = (iy >= 0) & (iy < h)
        for v in range(kw):
            ix = cols * sw - pw + v * dw
            ok_x = (ix >= 0) & (ix < wd)
            out_y, out_x = np.meshgrid(rows[ok_y], cols[ok_x], indexing="ij")
            in_y, in_x = np.meshgrid(iy[ok_y], ix[ok_x], indexing="ij")
            # each (output, input) pair is reached by one tap only: plain assignment
            matrix[:, out_y, out_x, :, in_y, in_x] = w[:, :, u, v]
    return matrix.reshape(c_out * h_out * w_out, c_in * h * wd)


def _conv_as_matrix(node: Any, key: str) -> tuple[np.ndarray, np.ndarray]:
    """A NIR ``Conv2d`` node as (matrix, offset) on flattened vectors."""
    weight = np.asarray(node.weight, dtype=float)
    if weight.ndim != 4:
        raise ParamError(f"Conv2d weight must be 4-D, got {weight.shape}", path=f"nir.{key}")
    if int(np.asarray(node.groups)) != 1:
        raise ParamError("Conv2d with groups != 1 is not supported", path=f"nir.{key}")
    if isinstance(node.padding, str) or node.input_shape is None:
        raise ParamError("Conv2d needs numeric padding and its input_shape",
                         path=f"nir.{key}")
    h, w = (int(v) for v in np.asarray(node.input_shape).ravel()[-2:])
    matrix = conv2d_matrix(weight, (weight.shape[1], h, w), stride=node.stride,
                           padding=node.padding, dilation=node.dilation)
    per_channel = matrix.shape[0] // weight.shape[0]
    bias = np.broadcast_to(np.asarray(node.bias, dtype=float).ravel(), (weight.shape[0],))
    return matrix, np.repeat(bias, per_channel)


def to_nir(network: Network, *, config: Any = None) -> Any:
    """Export a network as a ``nir.NIRGraph`` (the inverse of :func:`from_nir`).

    Args:
        network: Float network (for a chip: ``chip.dequantize(config)``).
        config: Optional chip configuration whose integers go into node metadata
            (``lifhw_chip`` and ``lifhw_int_<field>`` per population/projection).
    """
    import nir

    ints = chip_integers(config) if config is not None else {}
    chip = str(getattr(config, "chip", None)
               or getattr(getattr(config, "spec", None), "chip", "") or "")
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    for src in network.inputs:
        nodes[src.name] = nir.Input(input_type={"input": np.array([src.size])})
    first_in: dict[str, str] = {}
    for pop in network.populations:
        n = pop.neuron
        size = pop.size
        meta = _meta(chip, ints.get(pop.name, {}))
        if n.t_ref:
            # NIR neurons have no refractory period: lifhw reads it back from here.
            meta["lifhw_t_ref"] = n.t_ref
        if pop.delta_synapses:
            node = nir.LIF(tau=np.full(size, n.tau_m), r=np.full(size, n.r_m),
                           v_leak=np.full(size, n.v_rest), v_threshold=np.full(size, n.v_th),
                           v_reset=np.full(size, n.v_reset), metadata=meta)
        else:
            if n.tau_syn_inh != n.tau_syn_exc:
                # NIR's CubaLIF has one tau_syn: keep the excitatory one there and
                # the inhibitory one in metadata, so lifhw reads it back exactly.
                meta["lifhw_tau_syn_inh"] = n.tau_syn_inh
            node = nir.CubaLIF(tau_syn=np.full(size, n.tau_syn_exc),
                               tau_mem=np.full(size, n.tau_m), r=np.full(size, n.r_m),
                               v_leak=np.full(size, n.v_rest),
                               v_threshold=np.full(size, n.v_th),
                               v_reset=np.full(size, n.v_reset), w_in=np.ones(size),
                               metadata=meta)
        nodes[pop.name] = node
        # Every population is also a graph output: recurrent graphs need an exit
        # for NIR's type inference, and users usually want all spikes.
        out_name = f"{pop.name}_out"
        nodes[out_name] = nir.Output(output_type={"output": np.array([size])})
        edges.append((pop.name, out_name))
    for index, proj in enumerate(network.projections):
        post = network.population(proj.post)
        node = nodes[proj.post]
        gain = _input_gain(node, proj.post)
        key = f"w{index}_{proj.pre}_{proj.post}"
        weights = proj.weights / gain
        meta = _meta(chip, ints.get(f"{proj.pre}->{proj.post}", {}))
        if proj.post not in first_in and np.any(post.bias):
            first_in[proj.post] = key
            nodes[key] = nir.Affine(weight=weights, bias=post.bias / _bias_gain(node, proj.post),
                                    metadata=meta)
        else:
            nodes[key] = nir.Linear(weight=weights, metadata=meta)
        edges.append((proj.pre, key))
        if proj.delay_steps > 1:
            delay_key = f"d{index}_{proj.pre}_{proj.post}"
            nodes[delay_key] = nir.Delay(delay=np.full(post.size,
                                                       (proj.delay_steps - 1) * network.dt))
            edges += [(key, delay_key), (delay_key, proj.post)]
        else:
            edges.append((key, proj.post))
    for pop in network.populations:
        if np.any(pop.bias) and pop.name not in first_in:
            nodes[pop.name].metadata["lifhw_bias"] = pop.bias.copy()
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={"lifhw_dt": network.dt, "lifhw_name": network.name,
                                  "lifhw_inputs": [src.name for src in network.inputs],
                                  "lifhw_populations": [p.name for p in network.populations]})


def _meta(chip: str, integers: Mapping[str, Any]) -> dict[str, Any]:
    if not chip:
        return {}
    out: dict[str, Any] = {"lifhw_chip": chip}
    out.update({f"lifhw_int_{k}": v for k, v in integers.items()})
    return out


def chip_integers(config: Any) -> dict[str, dict[str, Any]]:
    """Integer fields of a chip configuration, by population name or ``pre->post``.

    Walks the configuration dataclass and collects integer scalars and integer
    arrays from the two layouts chip modules use: tuples of records with a
    ``name`` (population) or ``pre``/``post`` (projection), and mappings keyed by
    population name or ``"pre->post"`` whose values are records, integers,
    integer arrays, tuples of integers or mappings of those (named
    ``<field>_<key>``).
    """
    out: dict[str, dict[str, Any]] = {}
    if not dataclasses.is_dataclass(config):
        return out
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, tuple):
            for item in value:
                if not dataclasses.is_dataclass(item):
                    continue
                if hasattr(item, "name"):
                    key = str(item.name)
                elif hasattr(item, "pre") and hasattr(item, "post"):
                    key = f"{item.pre}->{item.post}"
                else:
                    continue
                _collect(out.setdefault(key, {}), "", item)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                _collect(out.setdefault(str(key), {}), f.name, item)
    return {k: v for k, v in out.items() if v}


def _integer(value: Any) -> Any:
    """``value`` as int64 if it is an integer scalar/array (not bool), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value.astype(np.int64)
    if (isinstance(value, tuple) and value
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                    for v in value)):
        return np.asarray(value, dtype=np.int64)
    return None


def _collect(entry: dict[str, Any], prefix: str, item: Any) -> None:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        for sub in dataclasses.fields(item):
            _collect(entry, sub.name, getattr(item, sub.name))
        return
    if isinstance(item, Mapping):
        for key, sub in item.items():
            _collect(entry, f"{prefix}_{key}" if prefix else str(key), sub)
        return
    number = _integer(item)
    if number is not None and prefix:
        entry[prefix] = number


def read(path: str | Path, *, dt: float | None = None) -> Network:
    """Read a ``.nir`` file into a Network (``dt`` from lifhw metadata or 1 ms).

    Raises:
        ParamError: Naming the file: missing, not a NIR (HDF5) file, or a graph
            lifhw cannot express (with the node).
    """
    import nir

    source = str(path)
    if not Path(path).is_file():
        raise ParamError("file not found" if not Path(path).exists() else "not a file",
                         source=source)
    try:
        graph = nir.read(path)
        step = dt if dt is not None else float(graph.metadata.get("lifhw_dt", 1e-3))
        name = str(graph.metadata.get("lifhw_name", Path(path).stem))
        return from_nir(graph, dt=step, name=name)
    except ParamError as err:
        raise err.located(source=source) from None
    except (OSError, KeyError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise ParamError(f"cannot read as a NIR graph (HDF5 written by nir.write): "
                         f"{type(err).__name__}: {str(err)[:120]}", source=source) from None


def write(path: str | Path, network: Network, *, config: Any = None) -> Path:
    """Write a Network (and optionally a chip config's integers) as a ``.nir`` file."""
    return write_graph(path, to_nir(network, config=config))


def write_graph(path: str | Path, graph: Any) -> Path:
    """Write a ``nir.NIRGraph`` atomically (a temporary file, then a rename)."""
    import nir

    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        nir.write(tmp, graph)
        tmp.replace(target)  # atomic, like lifhw.io
    except OSError as err:
        raise LifhwError(f"cannot write {target}: {err.strerror or err}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target
