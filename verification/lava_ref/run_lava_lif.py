"""Run Lava's bit-accurate LIF (lava-nc 0.10, ``PyLifModelBitAcc``) on batches of cases.

Executed with the Python 3.10 interpreter of ``.venv-lava`` (Lava needs Python
< 3.11) by ``verification/test_loihi_lava.py`` and ``benchmarks/bench_chips.py``;
it must not import lifhw. Usage::

    .venv-lava/bin/python run_lava_lif.py CASES.npz RESULT.npz

``CASES.npz`` holds ``n_cases`` and, per case ``i``, arrays prefixed ``c{i}_``:
``a_in`` (T, N) int (dendritic input, fed straight into ``LIF.a_in`` by a
fixed-point ring buffer), ``du``, ``dv``, ``vth`` (scalars), ``bias_mant``,
``bias_exp``, ``u0``, ``v0`` (N,).

Two ways to run a case:

* default: Lava's ``PyLifModelBitAcc`` process model is instantiated and its
  own ``run_spk`` called step by step with stand-in ports (Lava's arithmetic,
  without the multi-process runtime, whose start-up and per-step messaging
  would cost ~2-3 s per case on a 2-core machine);
* ``c{i}_runtime`` present: the full Lava runtime (``LIF`` process, a
  fixed-point ``RingBuffer`` source, ``Monitor`` probes, ``Loihi2SimCfg(
  select_tag="fixed_pt")``), all such cases in one process graph and one
  ``run`` call. Such a case may hold ``spikes`` (T, M) bool plus ``weights``
  (N, M) int, ``weight_exp``, ``num_weight_bits`` instead of ``a_in``: the
  spikes then go through a bit-accurate ``Dense`` into the LIF (Lava's weight
  clipping/truncation, the exponent and the one-step synaptic delay).

``RESULT.npz`` gets ``c{i}_u``, ``c{i}_v``, ``c{i}_s`` (T, N) and the wall
times ``seconds_runtime`` (the ``run`` call) and ``seconds_model``.

A file may also hold one whole network (keys ``net_*``, see :func:`_run_network`):
input ``RingBuffer`` sources, one ``LIF`` per population and one bit-accurate
``Dense`` per projection (recurrent ones included), run in the Lava runtime;
``RESULT.npz`` then gets ``net_<population>_s`` and ``net_<population>_v``.
"""

import sys
import time

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.io.source import RingBuffer
from lava.proc.lif.models import PyLifModelBitAcc
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor


def main(cases_path: str, result_path: str) -> None:
    cases = np.load(cases_path)
    n_cases = int(cases["n_cases"])
    out = {}
    runtime = [i for i in range(n_cases) if f"c{i}_runtime" in cases.files]
    direct = [i for i in range(n_cases) if i not in runtime]
    seconds = _run_group(cases, runtime, out) if runtime else 0.0
    start = time.perf_counter()
    for i in direct:
        _run_model(cases, i, out)
    if "net_populations" in cases.files:
        seconds += _run_network(cases, out)
    out["seconds_runtime"] = np.array(seconds)
    out["seconds_model"] = np.array(time.perf_counter() - start)
    np.savez(result_path, **out)


class _InPort:
    """Stands in for ``PyInPortVectorDense`` with one connected port: the
    received vector is ``zeros(shape, int16) + data`` exactly as Lava's
    ``recv`` reduces its CSP ports (so the dtype promotion is Lava's)."""

    def __init__(self, n):
        self.n = n
        self.data = None

    def recv(self):
        return np.zeros(self.n, np.int16) + self.data


class _OutPort:
    def __init__(self):
        self.sent = None

    def send(self, data):
        self.sent = data


def _run_model(cases, i, out):
    """Step Lava's own ``PyLifModelBitAcc.run_spk`` without the runtime.

    The process model object is built as Lava's runtime builds it, its
    variables set with the dtypes its ``LavaPyType`` declarations give, and its
    ports replaced by in-process stand-ins. The arithmetic is Lava's code.
    """
    def get(name):
        return cases[f"c{i}_{name}"]
    a_in = get("a_in").astype(np.int32)
    n_steps, n = a_in.shape
    model = PyLifModelBitAcc({})
    model.u = get("u0").astype(np.int32)
    model.v = get("v0").astype(np.int32)
    model.du = int(get("du"))
    model.dv = int(get("dv"))
    model.vth = int(get("vth"))
    model.bias_mant = get("bias_mant").astype(np.int16)
    model.bias_exp = get("bias_exp").astype(np.int16)
    model.a_in = _InPort(n)
    model.s_out = _OutPort()
    u = np.zeros((n_steps, n), np.int64)
    v = np.zeros((n_steps, n), np.int64)
    s = np.zeros((n_steps, n), bool)
    for t in range(n_steps):
        model.a_in.data = a_in[t]
        model.run_spk()
        u[t] = model.u
        v[t] = model.v
        s[t] = np.asarray(model.s_out.sent) != 0
    out[f"c{i}_u"], out[f"c{i}_v"], out[f"c{i}_s"] = u, v, s


def _run_group(cases, indices, out):
    lifs, monitors = [], []
    n_steps = None
    for i in indices:
        def get(name, i=i):
            return cases[f"c{i}_{name}"]
        n = get("bias_mant").shape[0]
        lif = LIF(shape=(n,), du=int(get("du")), dv=int(get("dv")), vth=int(get("vth")),
                  bias_mant=get("bias_mant").astype(np.int32),
                  bias_exp=get("bias_exp").astype(np.int32),
                  u=get("u0").astype(np.int32), v=get("v0").astype(np.int32))
        if f"c{i}_spikes" in cases.files:
            spikes = get("spikes").astype(np.int32)
            steps = spikes.shape[0]
            source = RingBuffer(data=spikes.T.copy())
            dense = Dense(weights=get("weights").astype(np.int32),
                          weight_exp=int(get("weight_exp")),
                          num_weight_bits=int(get("num_weight_bits")))
            source.s_out.connect(dense.s_in)
            dense.a_out.connect(lif.a_in)
        else:
            a_in = get("a_in").astype(np.int32)
            steps = a_in.shape[0]
            source = RingBuffer(data=a_in.T.copy())
            source.s_out.connect(lif.a_in)
        if n_steps is None:
            n_steps = steps
        assert steps == n_steps, "all cases must have the same number of steps"
        if lifs:
            # A zero-weight Dense from the previous case joins the cases into one
            # process graph (one run() call); it adds exactly 0 to a_in.
            link = Dense(weights=np.zeros((n, lifs[-1].s_out.shape[0]), dtype=np.int32))
            lifs[-1].s_out.connect(link.s_in)
            link.a_out.connect(lif.a_in)
        # One Monitor per variable: a Monitor with several probes fails to
        # compile when several Monitors exist (lava-nc 0.10).
        probes = {}
        for var in (lif.u, lif.v, lif.s_out):
            monitor = Monitor()
            monitor.probe(var, n_steps)
            probes[var.name] = monitor
        lifs.append(lif)
        monitors.append(probes)
    start = time.perf_counter()
    lifs[0].run(condition=RunSteps(num_steps=n_steps),
                run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    seconds = time.perf_counter() - start
    for i, lif, probes in zip(indices, lifs, monitors, strict=True):
        for var, key in (("u", "u"), ("v", "v"), ("s_out", "s")):
            data = np.asarray(probes[var].get_data()[lif.name][var])
            out[f"c{i}_{key}"] = data != 0 if key == "s" else data.astype(np.int64)
    lifs[0].stop()
    return seconds


def _run_network(cases, out):
    """A whole mapped network in the Lava runtime.

    Keys: ``net_inputs`` / ``net_populations`` (names), per input
    ``net_in_<name>`` spikes (T, size); per population ``net_pop_<name>``
    = [du, dv, vth] and ``net_bias_mant_<name>``, ``net_bias_exp_<name>``; per
    projection ``k``: ``net_proj_<k>`` = "pre,post" and ``net_w_<k>`` (post,
    pre), ``net_wexp_<k>``, ``net_bits_<k>``. Every delay is one step (Dense).
    """
    inputs = [str(x) for x in cases["net_inputs"]]
    pops = [str(x) for x in cases["net_populations"]]
    ports = {}
    n_steps = None
    for name in inputs:
        spikes = cases[f"net_in_{name}"].astype(np.int32)
        n_steps = spikes.shape[0]
        source = RingBuffer(data=spikes.T.copy())
        ports[name] = source.s_out
    lifs = {}
    for name in pops:
        du, dv, vth = (int(x) for x in cases[f"net_pop_{name}"])
        mant = cases[f"net_bias_mant_{name}"].astype(np.int32)
        lif = LIF(shape=(mant.shape[0],), du=du, dv=dv, vth=vth, bias_mant=mant,
                  bias_exp=cases[f"net_bias_exp_{name}"].astype(np.int32))
        lifs[name] = lif
        ports[name] = lif.s_out
    k = 0
    while f"net_proj_{k}" in cases.files:
        pre, post = str(cases[f"net_proj_{k}"]).split(",")
        dense = Dense(weights=cases[f"net_w_{k}"].astype(np.int32),
                      weight_exp=int(cases[f"net_wexp_{k}"]),
                      num_weight_bits=int(cases[f"net_bits_{k}"]))
        ports[pre].connect(dense.s_in)
        dense.a_out.connect(lifs[post].a_in)
        k += 1
    monitors = {}
    for name, lif in lifs.items():
        mon_s, mon_v = Monitor(), Monitor()
        mon_s.probe(lif.s_out, n_steps)
        mon_v.probe(lif.v, n_steps)
        monitors[name] = (mon_s, mon_v)
    first = next(iter(lifs.values()))
    start = time.perf_counter()
    first.run(condition=RunSteps(num_steps=n_steps),
              run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    seconds = time.perf_counter() - start
    for name, lif in lifs.items():
        mon_s, mon_v = monitors[name]
        out[f"net_{name}_s"] = np.asarray(mon_s.get_data()[lif.name]["s_out"]) != 0
        out[f"net_{name}_v"] = np.asarray(mon_v.get_data()[lif.name]["v"]).astype(np.int64)
    first.stop()
    return seconds


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
