"""NIR bridge: formulas, round trips (in memory and through files), chip metadata."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nir
import numpy as np
import pytest

from lifhw import nir_bridge
from lifhw.chips import loihi
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.network import simulate_network
from lifhw.network import InputPopulation, Network, Population, Projection, load_experiment

ROOT = Path(__file__).resolve().parents[1]


def snn_graph() -> nir.NIRGraph:
    """A two-layer CubaLIF graph as snnTorch/Norse export them (Affine -> CubaLIF)."""
    rng = np.random.default_rng(0)
    n_in, n_hid, n_out = 6, 8, 3

    def cuba(n: int) -> nir.CubaLIF:
        return nir.CubaLIF(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 20e-3),
                           r=np.full(n, 1e8), v_leak=np.full(n, -0.065),
                           v_threshold=np.full(n, -0.05), v_reset=np.full(n, -0.065),
                           w_in=np.ones(n))

    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc1": nir.Affine(weight=rng.uniform(0, 2e-12, (n_hid, n_in)),
                          bias=np.full(n_hid, 5e-11)),
        "lif1": cuba(n_hid),
        "fc2": nir.Linear(weight=rng.uniform(0, 3e-12, (n_out, n_hid))),
        "lif2": cuba(n_out),
        "output": nir.Output(output_type={"output": np.array([n_out])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
             ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_import_applies_the_documented_formulas() -> None:
    graph = snn_graph()
    net = nir_bridge.from_nir(graph, dt=1e-3)
    lif1 = net.population("lif1")
    assert lif1.neuron.tau_syn_exc == 5e-3 and lif1.neuron.tau_m == 20e-3
    # Current jump per spike = w_in W / tau_syn (A); Affine bias -> current w_in b.
    fc1 = graph.nodes["fc1"]
    assert np.allclose(net.projections[0].weights, fc1.weight / 5e-3)
    assert np.allclose(lif1.bias, 5e-11)
    assert [p.delay_steps for p in net.projections] == [1, 1]


def test_lif_spike_jump_is_r_w_over_tau() -> None:
    # NIR LIF: tau dv/dt = (v_leak - v) + r x with x a Dirac spike through W:
    # the jump is r W / tau. Check it on the golden simulation of the import.
    w, r, tau = 2e-13, 1e8, 0.01
    graph = nir.NIRGraph(
        nodes={"i": nir.Input(input_type={"input": np.array([1])}),
               "w": nir.Linear(weight=np.array([[w]])),
               "n": nir.LIF(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([0.0]),
                            v_threshold=np.array([1.0]), v_reset=np.array([0.0])),
               "o": nir.Output(output_type={"output": np.array([1])})},
        edges=[("i", "w"), ("w", "n"), ("n", "o")])
    net = nir_bridge.from_nir(graph, dt=1e-4)
    spikes = np.zeros((3, 1), dtype=bool)
    spikes[0, 0] = True
    run = simulate_network(net, spikes, record_v=True)
    # Arrives at step 1 as a jump, then decays over that step.
    assert run.states["n"]["v"][1, 0] == pytest.approx(r * w / tau * np.exp(-1e-4 / tau))


def test_network_round_trip_in_memory_and_file(tmp_path: Path) -> None:
    net, _ = load_experiment(ROOT / "circuits" / "networks" / "ei_small.toml")
    back = nir_bridge.from_nir(nir_bridge.to_nir(net), dt=net.dt)
    path = nir_bridge.write(tmp_path / "ei.nir", net)
    again = nir_bridge.read(path)
    for other in (back, again):
        assert other.dt == net.dt
        for a, b in zip(net.populations, other.populations, strict=True):
            assert a.name == b.name and a.neuron == pytest.approx(b.neuron)
            assert np.allclose(a.bias, b.bias, rtol=1e-12, atol=0)
        assert len(other.projections) == len(net.projections)
        by_pair = {(p.pre, p.post): p for p in other.projections}
        for a in net.projections:
            b = by_pair[(a.pre, a.post)]
            assert a.delay_steps == b.delay_steps
            assert np.allclose(a.weights, b.weights, rtol=1e-12, atol=0)


def test_delta_network_round_trip_with_bias_without_inputs() -> None:
    neuron = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.07, v_th=-0.05, v_reset=-0.07)
    net = Network("d", (InputPopulation("x", 2),),
                  (Population("a", 2, neuron, [1e-10, 2e-10]),
                   Population("b", 1, neuron, 3e-10)),
                  (Projection("x", "a", np.array([[1e-3, 0], [0, 2e-3]]), 3),), dt=1e-3)
    back = nir_bridge.from_nir(nir_bridge.to_nir(net), dt=1e-3)
    assert np.allclose(back.population("b").bias, 3e-10)  # kept in metadata
    assert np.allclose(back.population("a").bias, [1e-10, 2e-10])
    assert back.projections[0].delay_steps == 3
    assert np.allclose(back.projections[0].weights, net.projections[0].weights)


def test_chip_integers_go_into_metadata(tmp_path: Path) -> None:
    net = nir_bridge.from_nir(snn_graph(), dt=1e-3)
    config = loihi.quantize(loihi.map(net))
    realised = loihi.dequantize(config)
    path = nir_bridge.write(tmp_path / "loihi.nir", realised, config=config)
    graph = nir.read(path)
    meta = graph.nodes["lif1"].metadata
    assert str(meta["lifhw_chip"]) == "loihi"
    assert int(meta["lifhw_int_dv"]) == config.population("lif1").dv
    w_node = next(k for k in graph.nodes if k.startswith("w0_"))
    assert np.array_equal(graph.nodes[w_node].metadata["lifhw_int_weights"],
                          config.projections[0].weights)
    # The standard nodes hold the dequantised floats.
    back = nir_bridge.read(path)
    assert back.population("lif1").neuron.tau_m == pytest.approx(
        realised.population("lif1").neuron.tau_m)


def test_rejects_what_lifhw_cannot_express() -> None:
    graph = snn_graph()
    graph.nodes["lif1"].tau_mem[0] = 0.03
    with pytest.raises(ParamError, match="per-neuron"):
        nir_bridge.from_nir(graph)
    bad = nir.NIRGraph(nodes={"i": nir.Input(input_type={"input": np.array([1])}),
                              "t": nir.Threshold(threshold=np.array([1.0]))},
                       edges=[("i", "t")])
    with pytest.raises(ParamError, match="not supported"):
        nir_bridge.from_nir(bad)


@pytest.mark.parametrize("chip", ["loihi", "truenorth", "spinnaker", "brainscales"])
def test_every_chip_exports_integers(chip: str, tmp_path: Path) -> None:
    from lifhw.chips import CHIPS

    net, _ = load_experiment(ROOT / "circuits" / "networks" / "ei_small.toml")
    module = CHIPS.get(chip)
    config = module.quantize(module.map(net))
    path = nir_bridge.write(tmp_path / f"{chip}.nir", module.dequantize(config), config=config)
    graph = nir.read(path)
    for pop in net.populations:
        meta = graph.nodes[pop.name].metadata
        assert str(meta["lifhw_chip"]) == chip
        assert any(k.startswith("lifhw_int_") for k in meta)
    back = nir_bridge.read(path)
    realised = module.dequantize(config)
    for pop in realised.populations:
        assert back.population(pop.name).neuron == pytest.approx(pop.neuron)


def test_distinct_inhibitory_tau_survives_the_round_trip() -> None:
    neuron = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.07, v_th=-0.05, v_reset=-0.07,
                       tau_syn_exc=5e-3, tau_syn_inh=8e-3)
    net = Network("d", (InputPopulation("x", 1),), (Population("a", 2, neuron),),
                  (Projection("x", "a", np.array([[1e-10], [-2e-10]])),), dt=1e-3)
    back = nir_bridge.from_nir(nir_bridge.to_nir(net), dt=1e-3)
    assert back.population("a").neuron.tau_syn_inh == 8e-3
    assert np.allclose(back.projections[0].weights, net.projections[0].weights)


def test_if_node_integrates_without_leak() -> None:
    # NIR IF: dv/dt = r x, so a spike through W adds r W and stays.
    graph = nir.NIRGraph(
        nodes={"i": nir.Input(input_type={"input": np.array([1])}),
               "w": nir.Linear(weight=np.array([[0.25]])),
               "n": nir.IF(r=np.array([2.0]), v_threshold=np.array([1.2]),
                           v_reset=np.array([0.0])),
               "o": nir.Output(output_type={"output": np.array([1])})},
        edges=[("i", "w"), ("w", "n"), ("n", "o")])
    net = nir_bridge.from_nir(graph, dt=1e-3)
    spikes = np.zeros((20, 1), dtype=bool)
    spikes[[0, 5, 10], 0] = True
    run = simulate_network(net, spikes, record_v=True)
    v = run.states["n"]["v"][:, 0]
    assert v[3] == pytest.approx(0.5, rel=1e-6) and v[8] == pytest.approx(1.0, rel=1e-6)
    assert run.spikes["n"][11, 0]  # the third jump crosses 1.2


def test_linear_chains_compose_into_one_projection() -> None:
    rng = np.random.default_rng(3)
    w1, s, w2, b2 = (rng.normal(size=(5, 4)), rng.uniform(0.5, 2, 5),
                     rng.normal(size=(3, 5)), rng.normal(size=3))
    lif = nir.LIF(tau=np.full(3, 0.01), r=np.full(3, 2.0), v_leak=np.zeros(3),
                  v_threshold=np.ones(3), v_reset=np.zeros(3))
    graph = nir.NIRGraph(
        nodes={"i": nir.Input(input_type={"input": np.array([4])}),
               "l1": nir.Linear(weight=w1), "sc": nir.Scale(scale=s),
               "d": nir.Delay(delay=np.full(5, 3e-3)),
               "a2": nir.Affine(weight=w2, bias=b2), "n": lif,
               "o": nir.Output(output_type={"output": np.array([3])})},
        edges=[("i", "l1"), ("l1", "sc"), ("sc", "d"), ("d", "a2"), ("a2", "n"), ("n", "o")])
    net = nir_bridge.from_nir(graph, dt=1e-3)
    (proj,) = net.projections
    # LIF gain r / tau = 200 V per unit weight.
    assert np.allclose(proj.weights, 200 * (w2 @ np.diag(s) @ w1))
    assert proj.delay_steps == 4
    assert np.allclose(net.population("n").bias, b2)


def _assert_same_field(a: object, b: object, where: str) -> None:
    """Equal names/ints/tuples, floats and arrays to 1e-12 relative (the documented bound)."""
    if isinstance(a, (float, np.ndarray)) or isinstance(b, np.ndarray):
        assert np.allclose(a, b, rtol=1e-12, atol=0), where
        assert np.shape(a) == np.shape(b), where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _assert_same_field(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    else:
        assert a == b, where


def assert_same_network(a: Network, b: Network) -> None:
    """Every field of every input, population (with its neuron) and projection."""
    _assert_same_field(a.dt, b.dt, "dt")
    _assert_same_field(a.name, b.name, "name")
    assert len(a.inputs) == len(b.inputs), [p.name for p in b.inputs]
    for x, y in zip(a.inputs, b.inputs, strict=True):
        _assert_same_field(x, y, f"inputs.{x.name}")
    assert len(a.populations) == len(b.populations)
    for x, y in zip(a.populations, b.populations, strict=True):
        _assert_same_field(x, y, f"populations.{x.name}")
    assert len(a.projections) == len(b.projections), [(p.pre, p.post) for p in b.projections]
    by_pair = {(p.pre, p.post): p for p in b.projections}
    for x in a.projections:
        _assert_same_field(x, by_pair[(x.pre, x.post)], f"projections.{x.pre}->{x.post}")


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    """t_ref, a population without incoming projections, distinct tau_syn, biases,
    delays: the network read back equals the one written, field by field."""
    current = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.07,
                        t_ref=2e-3, tau_syn_exc=5e-3, tau_syn_inh=8e-3)
    delta = LIFParams(tau_m=0.01, r_m=2e8, v_rest=-0.07, v_th=-0.052, v_reset=-0.068,
                      t_ref=1e-3)
    rng = np.random.default_rng(3)
    net = Network("every_field", (InputPopulation("stim", 3),),
                  (Population("free", 2, current, [1e-10, 3e-10]),  # no incoming projection
                   Population("cur", 4, current, rng.uniform(0, 1e-10, 4)),
                   Population("dlt", 2, delta)),
                  (Projection("stim", "cur", rng.uniform(-1e-10, 1e-10, (4, 3)), 1),
                   Projection("cur", "dlt", rng.uniform(0, 1e-3, (2, 4)), 3),
                   Projection("free", "cur", rng.uniform(0, 1e-10, (4, 2)), 2)),
                  dt=5e-4)
    assert_same_network(net, nir_bridge.from_nir(nir_bridge.to_nir(net), dt=net.dt,
                                                 name=net.name))
    assert_same_network(net, nir_bridge.read(nir_bridge.write(tmp_path / "n.nir", net)))
    # NIR itself sees the refractory period nowhere else: it rides in metadata.
    graph = nir.read(tmp_path / "n.nir")
    assert float(graph.nodes["dlt"].metadata["lifhw_t_ref"]) == 1e-3


def test_round_trip_adds_no_input_for_a_population_without_projections() -> None:
    neuron = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                       tau_syn_exc=5e-3, tau_syn_inh=5e-3)
    net = Network("lonely", (InputPopulation("x", 1),),
                  (Population("alone", 2, neuron, 2e-10),), (), dt=1e-3)
    back = nir_bridge.from_nir(nir_bridge.to_nir(net), dt=1e-3, name="lonely")
    assert [p.name for p in back.inputs] == ["x"]
    assert back.projections == ()
    assert_same_network(net, back)


def test_unreadable_nir_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nir"
    bad.write_text("not hdf5")
    with pytest.raises(ParamError, match=r"bad\.nir: cannot read as a NIR graph"):
        nir_bridge.read(bad)


def test_write_over_a_directory_fails_cleanly(tmp_path: Path) -> None:
    from lifhw.errors import LifhwError

    net, _ = load_experiment(ROOT / "circuits" / "networks" / "ei_small.toml")
    (tmp_path / "out.nir").mkdir()
    with pytest.raises(LifhwError, match="cannot write"):
        nir_bridge.write(tmp_path / "out.nir", net)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nir"]  # no .tmp left
