"""The event-driven golden network engine, the sparse connectors and ``lifhw run``.

The referee for the engine is the dense engine of :mod:`lifhw.golden.network`
(independent code: per-step NumPy routing of dense matrices): rasters and
membranes must agree to the bit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from lifhw.app.cli import main as cli_main
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.event_engine import simulate_events
from lifhw.golden.network import _population_update, simulate_network, synapses_of
from lifhw.network import (
    InputPopulation,
    Network,
    Population,
    Projection,
    load_experiment,
    load_run,
    run_network,
    split_inputs,
)
from lifhw.network.connectors import fixed_indegree, fixed_probability

ROOT = Path(__file__).resolve().parents[1]
EI_SMALL = ROOT / "circuits" / "networks" / "ei_small.toml"
CUBA = ROOT / "circuits" / "networks" / "cuba.toml"


def _neuron(**kw: float) -> LIFParams:
    base = {"tau_m": 20e-3, "r_m": 1e8, "v_rest": -0.065, "v_th": -0.05, "v_reset": -0.07,
            "t_ref": 2e-3}
    base.update(kw)
    return LIFParams(**base)


def _sequential_sum(weights: np.ndarray, active: np.ndarray) -> np.ndarray:
    out = np.zeros(weights.shape[0])
    for column in np.flatnonzero(active):
        out = out + weights[:, column]
    return out


def _dense_sequential(network: Network, spikes: np.ndarray) -> tuple[dict, dict]:
    """The dense engine with columns summed left to right (the documented order)."""
    inputs = split_inputs(network, spikes)
    n_steps = spikes.shape[0]
    records = {p.name: np.zeros((n_steps, p.size)) for p in network.populations}
    updates = {p.name: _population_update(p, network.dt, records[p.name])
               for p in network.populations}
    out, _ = run_network(network, inputs, synapses_of(network), updates,
                         accumulate=_sequential_sum)
    return out, records


def _random_network(seed: int, tau_syn: float, delays: tuple[int, ...] = (1, 3)) -> Network:
    rng = np.random.default_rng(seed)
    neuron = _neuron(tau_syn_exc=tau_syn, tau_syn_inh=tau_syn)
    unit = 1.0 if tau_syn == 0 else 1e-7  # volts or amperes
    w_in = rng.uniform(0.2, 1.0, (30, 12)) * 3e-3 * unit * (rng.random((30, 12)) < 0.5)
    w_ab = rng.uniform(-1.0, 0.7, (30, 30)) * 2e-3 * unit * (rng.random((30, 30)) < 0.3)
    w_ba = rng.uniform(-1.0, 1.0, (10, 30)) * 2e-3 * unit * (rng.random((10, 30)) < 0.4)
    w_bb = -rng.uniform(0, 1.0, (30, 10)) * 2e-3 * unit
    bias = rng.uniform(0, 1.6e-10, 30)
    return Network("r", (InputPopulation("x", 12),),
                   (Population("a", 30, neuron, bias), Population("b", 10, neuron)),
                   (Projection("x", "a", w_in, delays[0]), Projection("a", "a", w_ab, delays[1]),
                    Projection("a", "b", w_ba, delays[0]), Projection("b", "a", w_bb, 2)),
                   dt=1e-4)


@pytest.mark.parametrize("tau_syn", [0.0, 5e-3])
def test_bit_identical_to_the_dense_engine(tau_syn: float) -> None:
    net = _random_network(1, tau_syn)
    spikes = np.random.default_rng(2).random((3000, 12)) < 0.02
    dense, records = _dense_sequential(net, spikes)
    run = simulate_events(net, spikes, record_v=True)
    for pop in ("a", "b"):
        assert np.array_equal(run.spikes[pop].raster(), dense[pop])
        assert np.array_equal(run.states[pop]["v"], records[pop])  # to the bit
    assert run.events["spikes"] > 50
    # Today's dense engine (pairwise column sums): the same rasters.
    today = simulate_network(net, spikes, record_v=True)
    for pop in ("a", "b"):
        assert np.array_equal(run.spikes[pop].raster(), today.spikes[pop])
        assert np.allclose(run.states[pop]["v"], today.states[pop]["v"], rtol=0, atol=1e-15)
    assert run.events == today.events


def test_every_existing_network_file_gives_the_same_run() -> None:
    net, spikes = load_experiment(EI_SMALL)
    today = simulate_network(net, spikes, record_v=True)
    run = simulate_events(net, spikes, record_v=True).to_network_run()
    for pop in ("exc", "inh"):
        assert np.array_equal(run.spikes[pop], today.spikes[pop])
        assert np.allclose(run.states[pop]["v"], today.states[pop]["v"], rtol=0, atol=1e-15)
    assert run.events == today.events


def test_result_does_not_depend_on_threads_or_storage() -> None:
    net = _random_network(3, 5e-3)
    spikes = np.random.default_rng(4).random((2000, 12)) < 0.03
    runs = [simulate_events(net, spikes, record_v=True, threads=t) for t in (1, 2, 3)]
    sparse_net = Network(net.name, net.inputs, net.populations,
                         tuple(Projection(p.pre, p.post, sp.csr_array(p.weights), p.delay_steps)
                               for p in net.projections), dt=net.dt)
    runs.append(simulate_events(sparse_net, spikes, record_v=True))
    for other in runs[1:]:
        for pop in ("a", "b"):
            assert np.array_equal(other.spikes[pop].steps, runs[0].spikes[pop].steps)
            assert np.array_equal(other.spikes[pop].neurons, runs[0].spikes[pop].neurons)
            assert np.array_equal(other.states[pop]["v"], runs[0].states[pop]["v"])


def test_per_synapse_delays_equal_one_projection_per_delay() -> None:
    rng = np.random.default_rng(5)
    neuron = _neuron(tau_syn_exc=3e-3, tau_syn_inh=3e-3)
    w = sp.random_array((20, 15), density=0.4, rng=rng, format="csr") * 6e-10
    delays = rng.integers(1, 6, w.nnz)
    net = Network("d", (InputPopulation("x", 15),), (Population("a", 20, neuron, 1e-10),),
                  (Projection("x", "a", w, 1, delays),), dt=1e-4)
    # The reference: one dense projection per delay value, ascending.
    parts = []
    for d in np.unique(delays):
        sub = sp.csr_array((np.where(delays == d, w.data, 0.0), w.indices, w.indptr),
                           shape=w.shape)
        parts.append(Projection("x", "a", sub.toarray(), int(d)))
    split = Network("s", net.inputs, net.populations, tuple(parts), dt=1e-4)
    spikes = rng.random((2000, 15)) < 0.05
    dense, records = _dense_sequential(split, spikes)
    run = simulate_events(net, spikes, record_v=True)
    assert np.array_equal(run.spikes["a"].raster(), dense["a"])
    assert np.array_equal(run.states["a"]["v"], records["a"])
    assert run.events["spikes"] > 20


def test_initial_membrane_is_used_by_both_engines() -> None:
    neuron = _neuron()
    v0 = np.linspace(-0.07, -0.0501, 8)
    net = Network("v", (InputPopulation("x", 1),),
                  (Population("a", 8, neuron, 1.4e-10, v_init=v0),), (), dt=1e-4)
    spikes = np.zeros((500, 1), dtype=bool)
    dense = simulate_network(net, spikes, record_v=True)
    run = simulate_events(net, spikes, record_v=True)
    assert np.array_equal(run.states["a"]["v"], dense.states["a"]["v"])
    # Closed form of the first step from V(0): v_inf + (v0 - v_inf) exp(-dt/tau).
    v_inf = neuron.v_rest + neuron.r_m * 1.4e-10
    expected = v_inf + (v0 - v_inf) * math.exp(-1e-4 / neuron.tau_m)
    assert np.allclose(run.states["a"]["v"][0], expected, rtol=0, atol=1e-12)


# --- connectors ------------------------------------------------------------------

def test_fixed_indegree_draws_distinct_uniform_sources() -> None:
    rng = np.random.default_rng(0)
    s = fixed_indegree(500, 2000, 40, rng)
    rows = s.indices.reshape(2000, 40)
    assert np.all(np.diff(rows, axis=1) > 0)  # sorted, hence distinct
    # Uniform choice: each source is picked Binomial(2000, 40/500) times.
    counts = np.bincount(s.indices, minlength=500)
    mean, sd = 2000 * 40 / 500, math.sqrt(2000 * 0.08 * 0.92)
    assert abs(counts.mean() - mean) < 1e-9
    assert counts.std() == pytest.approx(sd, rel=0.15)
    dense = fixed_indegree(50, 300, 45, rng, allow_self=False)  # the dense-ish branch
    rows = dense.indices.reshape(300, 45)
    assert np.all(np.diff(rows, axis=1) > 0) and rows.max() < 50
    same = fixed_indegree(50, 50, 49, rng, allow_self=False)
    assert not np.any(same.indices.reshape(50, 49) == np.arange(50)[:, None])


def test_fixed_probability_matches_the_binomial() -> None:
    rng = np.random.default_rng(1)
    n_pre, n_post, p = 3000, 2000, 0.01
    s = fixed_probability(n_pre, n_post, p, rng)
    pairs = n_pre * n_post
    assert abs(s.nnz - p * pairs) < 5 * math.sqrt(pairs * p * (1 - p))
    per_row = np.diff(s.indptr)  # Binomial(n_pre, p) in-degrees
    assert per_row.var() == pytest.approx(n_pre * p * (1 - p), rel=0.1)
    for row in range(0, n_post, 97):
        cols = s.indices[s.indptr[row]:s.indptr[row + 1]]
        assert np.all(np.diff(cols) > 0)
    assert fixed_probability(10, 10, 0.0, rng).nnz == 0
    assert fixed_probability(10, 10, 1.0, rng).nnz == 100
    no_self = fixed_probability(40, 40, 1.0, rng, allow_self=False)
    assert no_self.nnz == 40 * 39


HEAD = """name = "t"
[network]
t_stop = "50 ms"
dt = "0.1 ms"
[network.inputs.x]
size = 20
rate = "100 Hz"
[network.populations.a]
size = 30
[network.populations.a.neuron]
tau_m = "20 ms"
r_m = "100 MOhm"
v_rest = "-65 mV"
v_th = "-50 mV"
v_reset = "-65 mV"
tau_syn_exc = "5 ms"
tau_syn_inh = "5 ms"
"""


def _write(tmp_path: Path, body: str, name: str = "net.toml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body)
    return path


def test_connectors_in_files_build_sparse_projections(tmp_path: Path) -> None:
    np.save(tmp_path / "conns.npy", np.array([[0, 1, 2.0, 3e-4], [5, 29, 1.0, 1e-4]]))
    path = _write(tmp_path, """
[[network.projections]]
pre = "x"
post = "a"
connector = "fixed_indegree"
indegree = 7
distribution = "uniform"
spread = 0.5
scale = "100 pA"
[[network.projections]]
pre = "a"
post = "a"
connector = "fixed_probability"
p = 0.2
allow_self_connections = false
scale = "-50 pA"
[[network.projections]]
pre = "x"
post = "a"
connector = "file"
path = "conns.npy"
scale = "1 nA"
[[network.projections]]
pre = "a"
post = "a"
connector = "list"
connections = [[0, 1, 0.5], [2, 3, -1.0]]
scale = "10 pA"
delay = "0.3 ms"
[[network.projections]]
pre = "a"
post = "a"
connector = "one_to_one"
scale = "1 pA"
""")
    net, inputs = load_run(path)
    first, rec, listed_file, listed, one = net.projections
    assert all(p.is_sparse for p in net.projections)
    assert np.all(np.diff(first.weights.indptr) == 7)
    assert first.weights.data.min() >= 50e-12 - 1e-24 and first.weights.data.max() <= 150e-12
    assert not np.any(rec.weights.diagonal())
    assert listed_file.weights[1, 0] == pytest.approx(2e-9)
    assert listed_file.synapse_delays.tolist() == [3, 1]  # CSR order: (post 1), (post 29)
    assert listed.weights[3, 2] == pytest.approx(-10e-12) and listed.delay_steps == 3
    assert one.weights.nnz == 30
    # Same draws as the dense raster, as events.
    _, raster = load_experiment(path)
    steps, idx = np.nonzero(raster)
    assert np.array_equal(inputs["x"][0], steps) and np.array_equal(inputs["x"][1], idx)
    run = simulate_events(net, inputs)
    assert run.n_steps == 500


@pytest.mark.parametrize(("body", "match"), [
    ('connector = "fixed_probability"\np = 1.5\nscale = "1 pA"\n', r"p = 1.5 is not a probability"),
    ('connector = "fixed_probability"\np = -0.1\nscale = "1 pA"\n', r"must lie in \[0, 1\]"),
    ('connector = "fixed_indegree"\nindegree = 21\nscale = "1 pA"\n', r"offers 20 distinct"),
    ('connector = "fixed_indgree"\nindegree = 2\nscale = "1 pA"\n',
     r"did you mean 'fixed_indegree'"),
    ('connector = "fixed_probability"\nscale = "1 pA"\n', r"needs p"),
    ('connector = "fixed_indegree"\nindegree = 2\nscale = "1 pA"\ndensity = 0.5\n', r"density"),
    ('connector = "list"\nconnections = [[0, 99]]\nscale = "1 pA"\n', r"post index 99"),
    ('connector = "list"\nconnections = [[0, 1], [0, 1]]\nscale = "1 pA"\n', r"listed twice"),
])
def test_bad_connectors_fail_with_one_clear_error(tmp_path: Path, body: str, match: str) -> None:
    path = _write(tmp_path, '[[network.projections]]\npre = "x"\npost = "a"\n' + body)
    with pytest.raises(ParamError, match=match) as err:
        load_run(path)
    assert "projections[0]" in str(err.value)
    assert cli_main(["run", str(path)]) == 2


def test_memory_budget_refuses_before_allocating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # 10^5 x 10^5 at p = 0.5: 5e9 synapses. Refused from the estimate alone.
    monkeypatch.setenv("LIFHW_MEMORY_BUDGET", "8 GiB")
    body = HEAD.replace("size = 30", "size = 100000").replace("size = 20", "size = 100000")
    path = tmp_path / "huge.toml"
    path.write_text(body + '[[network.projections]]\npre = "x"\npost = "a"\n'
                    'connector = "fixed_probability"\np = 0.5\nscale = "1 pA"\n')
    with pytest.raises(ParamError, match=r"5e\+09 synapses \(fixed_probability\) needs an "
                                         r"estimated 186 GiB, above the memory budget of 8 GiB"):
        load_run(path)
    monkeypatch.delenv("LIFHW_MEMORY_BUDGET")
    assert cli_main(["--memory-budget", "8 GiB", "run", str(path)]) == 2
    assert "memory budget of 8 GiB" in capsys.readouterr().err
    # The dense form of an old-style file is estimated too.
    dense = tmp_path / "dense.toml"
    dense.write_text(body + '[[network.projections]]\npre = "x"\npost = "a"\n'
                     'scale = "1 pA"\ndensity = 0.01\n')
    monkeypatch.setenv("LIFHW_MEMORY_BUDGET", "8 GiB")
    with pytest.raises(ParamError, match=r"dense matrix entries"):
        load_run(dense)


def test_cli_run_json_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["run", str(EI_SMALL), "--json", "--t-stop", "200 ms"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"populations", "seconds", "backend"} <= set(out)
    assert out["backend"] == "golden" and out["t_stop_s"] == pytest.approx(0.2)
    assert set(out["populations"]) == {"exc", "inh"}
    exc = out["populations"]["exc"]
    assert exc["size"] == 48 and exc["rate_hz"] == pytest.approx(exc["spikes"] / 48 / 0.2)
    # The counts are the golden engine's on the same 200 ms.
    net, spikes = load_experiment(EI_SMALL)
    ref = simulate_network(net, spikes[:2000 // 10])
    assert exc["spikes"] == int(ref.spikes["exc"].sum())
    assert cli_main(["run", str(EI_SMALL), "--t-stop", "100 ms"]) == 0
    text = capsys.readouterr().out
    assert "exc" in text and "peak memory" in text and "Hz" in text
    assert cli_main(["run", str(EI_SMALL), "--t-stop", "1 us"]) == 2
    # 10^10 steps: refused from the estimate before anything is allocated.
    assert cli_main(["run", str(EI_SMALL), "--t-stop", "1e7 s"]) == 2
    assert "1e+10 steps" in capsys.readouterr().err


def test_cuba_file_is_sparse_and_self_sustained() -> None:
    net, inputs = load_run(CUBA, t_stop=0.2)
    assert net.n_neurons == 4000 and net.n_synapses == 4000 * 80
    assert all(p.is_sparse and p.delay_steps == 2 for p in net.projections)
    run = simulate_events(net, inputs)
    rate = run.events["spikes"] / 4000 / 0.2
    assert 1.0 < rate < 50.0  # self-sustained asynchronous activity, no silence/explosion


# --- the other consumers of a Network accept sparse projections -------------------

def _sparse_copy(network: Network) -> Network:
    return Network(network.name, network.inputs, network.populations,
                   tuple(Projection(p.pre, p.post, sp.csr_array(p.weights), p.delay_steps)
                         for p in network.projections), dt=network.dt)


@pytest.mark.parametrize("chip", ["loihi", "truenorth", "spinnaker", "brainscales"])
def test_chip_mappers_accept_sparse_projections(chip: str) -> None:
    from lifhw.chips import CHIPS

    net, spikes = load_experiment(EI_SMALL)
    module = CHIPS.get(chip)
    dense_run = module.simulate(module.quantize(module.map(net)), spikes[:300])
    sparse_run = module.simulate(module.quantize(module.map(_sparse_copy(net))), spikes[:300])
    for pop in ("exc", "inh"):
        assert np.array_equal(dense_run.spikes[pop], sparse_run.spikes[pop])


def test_nir_export_of_sparse_projections_small_only() -> None:
    from lifhw.network.types import DENSE_LIMIT
    from lifhw.nir_bridge import to_nir

    net, _ = load_experiment(EI_SMALL)
    dense_graph, sparse_graph = to_nir(net), to_nir(_sparse_copy(net))
    assert set(dense_graph.nodes) == set(sparse_graph.nodes)
    for key, node in dense_graph.nodes.items():
        if hasattr(node, "weight"):
            assert np.array_equal(node.weight, sparse_graph.nodes[key].weight)
    side = math.isqrt(DENSE_LIMIT) + 1
    big = Network("big", (InputPopulation("x", side),), (Population("a", side, _neuron()),),
                  (Projection("x", "a", sp.eye_array(side, format="csr") * 1e-3),), dt=1e-4)
    with pytest.raises(ParamError, match="NIR's dense Affine"):
        to_nir(big)


def test_pynn_arrays_follow_the_nest_conventions(tmp_path: Path) -> None:
    from lifhw.interop.pynn import pynn_arrays, pynn_script

    neuron_exp = _neuron(tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    neuron_delta = _neuron()
    w = np.array([[2e-10, -3e-10], [0.0, 1e-10]])
    net = Network("p", (InputPopulation("x", 2),),
                  (Population("e", 2, neuron_exp), Population("d", 2, neuron_delta)),
                  (Projection("x", "e", w, 3), Projection("x", "d", w * 1e7, 2)), dt=1e-4)
    spikes = np.zeros((10, 2), dtype=bool)
    spikes[0, 0] = spikes[4, 1] = True
    arrays = pynn_arrays(net, spikes)
    # Current synapses: nA, delay (d - 1) dt; negative weights on the inhibitory receptor.
    assert np.allclose(arrays["conn0_excitatory"], [[0, 0, 0.2, 0.2], [1, 1, 0.1, 0.2]])
    assert np.allclose(arrays["conn0_inhibitory"], [[1, 0, -0.3, 0.2]])
    # Delta synapses: mV scaled by exp(-dt / tau_m), delay d dt.
    p22 = math.exp(-1e-4 / 20e-3)
    assert arrays["conn1_excitatory"][0].tolist() == pytest.approx([0, 0, 2.0 * p22, 0.2])
    # The spike of step 0 cannot be emitted by PyNN's NEST back end: left out, counted.
    assert int(arrays["dropped_step0_input_spikes"]) == 1
    assert arrays["input_x_times"].tolist() == pytest.approx([0.5])
    text = pynn_script(net, "p.npz")
    compile(text, "p.py", "exec")
    assert "sim.IF_curr_exp(" in text and "sim.IF_curr_delta(" in text
    assert "tau_refrac=2.0" in text and 'receptor_type="inhibitory"' in text
