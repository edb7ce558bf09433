"""Placement onto cores and chips (lifhw.chips.placement and each target's ``place``).

Every resource table here is checked against numbers worked out by hand from
the declared per-core figures (written next to each assertion), two small
cases per target; TrueNorth's relay neurons are checked against the time-shift
property they must have; Loihi and SpiNNaker placed runs against their unplaced
runs; the digits MLP on BrainScaleS-2 across hemispheres.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from lifhw.chips import CHIPS, brainscales, loihi, rtl, spinnaker, truenorth
from lifhw.chips.placement import (
    Edge,
    connectivity,
    lines_of,
    place_edges,
    place_network,
    relay_name,
    simulate_placed,
)
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.network import InputPopulation, Network, Population, Projection

DELTA = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065)
CURRENT = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                    tau_syn_exc=0.005, tau_syn_inh=0.005)


def dense_net(n_in: int, n: int, w: float = 1e-3, *, neuron: LIFParams = DELTA) -> Network:
    return Network("dense", (InputPopulation("x", n_in),), (Population("h", n, neuron),),
                   (Projection("x", "h", np.full((n, n_in), w)),))


def by_kind(placement, kind: str = "neurons") -> list:   # type: ignore[no-untyped-def]
    return [c for c in placement.cores if c.kind == kind]


# -- Loihi: 1024 compartments and 128 KiB / num_weight_bits synapses per core, 128 cores

def test_loihi_splits_by_compartments() -> None:
    # 2500 neurons: ceil(2500 / 1024) = 3 cores (1024, 1024, 452); 4 inputs each.
    placement = loihi.place(loihi.map(dense_net(4, 2500)))
    cores = by_kind(placement)
    assert [c.count for c in cores] == [1024, 1024, 452]
    assert [c.synapses for c in cores] == [4096, 4096, 1808]
    assert placement.chips_used == 1
    # every input spike goes to the 3 cores (inputs arrive from off chip), 1 Hz each
    assert placement.external_spikes_per_s == pytest.approx(4 * 3)
    assert placement.core_spikes_per_s == 0.0


def test_loihi_splits_by_synapse_memory_and_chips() -> None:
    # 8-bit weights: 131072 synapses per core; 1000 inputs per neuron -> 131 neurons
    # per core (131 000 <= 131 072 < 132 000): 300 neurons -> 131, 131, 38.
    net = Network("mem", (InputPopulation("x", 1000),),
                  (Population("h", 300, DELTA), Population("o", 10, DELTA)),
                  (Projection("x", "h", np.full((300, 1000), 1e-3)),
                   Projection("h", "o", np.full((10, 300), 1e-3))))
    placement = loihi.place(loihi.map(net), rates_hz={"h": 5.0})
    assert [c.count for c in by_kind(placement)] == [131, 131, 38, 10]
    # h -> o: each h spike is one packet to o's core; 300 neurons at 5 Hz.
    assert placement.core_spikes_per_s == pytest.approx(300 * 5.0)
    # 4-bit weights double the synapses per core: 262 neurons (262 000 <= 262 144).
    half = loihi.place(loihi.map(net, num_weight_bits=4))
    assert [c.count for c in by_kind(half)] == [262, 38, 10]
    # 129 cores of 1024 compartments: chip 1 holds the 129th core.
    spec = loihi.map(dense_net(1, 129 * 1024))
    big = loihi.place(spec)
    assert big.cores_used == 129 and big.chips_used == 2
    assert big.cores[-1].chip == 1 and big.cores[-2].chip == 0
    # beyond one chip: placed on two, a warning (not an error) of fits_chip
    fits = [v for v in loihi.check(loihi.quantize(spec)) if v.rule == "fits_chip"]
    assert [v.severity for v in fits] == ["warning"] and "2 chips" in fits[0].message


# -- TrueNorth: 256 neurons, 256 axons per core, relay neurons for fan-out

def test_truenorth_packs_cores_by_distinct_axons() -> None:
    # neuron i listens to inputs 50 i .. 50 i + 99 (positive weights: one axon per
    # source). Axons per core: 100, 150, 200, 250, then 300 > 256 -> new core.
    w = np.zeros((8, 500))
    for i in range(8):
        w[i, 50 * i:50 * i + 100] = 1e-3
    net = Network("band", (InputPopulation("x", 500),), (Population("h", 8, DELTA),),
                  (Projection("x", "h", w),))
    placement = truenorth.place(truenorth.map(net))
    cores = by_kind(placement)
    assert [(c.first, c.count, c.lines, c.synapses) for c in cores] == \
        [(0, 4, 250, 400), (4, 4, 250, 400)]
    # inputs 200..249 feed neuron 3 (core 0) and 4 (core 1): 2 packets, the other
    # 400 used inputs 1 packet: 450 + 50 = 500 per second at 1 Hz.
    assert placement.external_spikes_per_s == pytest.approx(500)
    assert not placement.relays


def relay_network() -> Network:
    """2 inputs -> h (3) -> o1 (2, positive) and o2 (2, signs per source below)."""
    w_o2 = np.array([[1.0, -1.0, 1.0],
                     [1.0, -1.0, -1.0]]) * 4e-3
    return Network("relay", (InputPopulation("x", 2),),
                   (Population("h", 3, DELTA), Population("o1", 2, DELTA),
                    Population("o2", 2, DELTA)),
                   (Projection("x", "h", np.full((3, 2), 9e-3)),
                    Projection("h", "o1", np.full((2, 3), 4e-3)),
                    Projection("h", "o2", w_o2)))


def test_truenorth_relay_neurons_by_hand() -> None:
    placement = truenorth.place(truenorth.map(relay_network()))
    # Axons each h neuron must reach: o1's core 1 (positive) + o2's core: h0 one
    # positive, h1 one negative, h2 both -> F = (2, 2, 3), 7 relay neurons, one core.
    relay = placement.relays["h"]
    assert list(relay.fan_out) == [2, 2, 3] and relay.neurons == 7 and relay.depth == 1
    assert [(c.population, c.kind, c.count, c.lines) for c in placement.cores] == [
        ("h", "neurons", 3, 2), ("o1", "neurons", 2, 3), ("o2", "neurons", 2, 4),
        ("h", "relay", 7, 3)]
    # one packet to the relay core plus one per relay: 3 + 3 + 4 = 10 per second
    assert placement.core_spikes_per_s == pytest.approx(10)
    assert placement.extra_delay_steps == {"h->o1": 1, "h->o2": 1}
    assert placement.extra_latency_s == pytest.approx(1e-3)      # one 1 ms tick
    placed = placement.placed_network()
    assert relay_name("h") in [p.name for p in placed.populations]
    assert {(p.pre, p.post) for p in placed.projections} == {
        ("x", "h"), ("h", relay_name("h")), (relay_name("h"), "o1"), (relay_name("h"), "o2")}


def test_truenorth_relays_delay_spikes_by_one_tick() -> None:
    """A relay copies each spike one tick later: o's raster is the unplaced one shifted.

    The post populations start at rest without bias, so their dynamics are
    time-invariant: input delayed by a tick gives output delayed by a tick.
    """
    network = relay_network()
    rng = np.random.default_rng(1)
    spikes = rng.random((400, 2)) < 0.3
    spec = truenorth.map(network)
    unplaced = truenorth.simulate(truenorth.quantize(spec), spikes)
    placed = simulate_placed(spec, truenorth.place(spec), spikes)
    assert np.array_equal(placed.spikes["h"], unplaced.spikes["h"])
    for name in ("o1", "o2"):
        assert unplaced.spikes[name].sum() > 5
        assert not placed.spikes[name][0].any()
        assert np.array_equal(placed.spikes[name][1:], unplaced.spikes[name][:-1])
    # the relays themselves fire exactly when h fired, one tick later
    assert placed.meta["relays"] == ["h"]


# -- SpiNNaker: 255 neurons per core (sPyNNaker IF_curr_exp), spike sources on cores

def test_spinnaker_cores_sources_and_packets() -> None:
    # 600 neurons -> 255, 255, 90; 300 sources -> 255, 45: 5 cores, one chip.
    placement = spinnaker.place(spinnaker.map(dense_net(300, 600, 1e-9, neuron=CURRENT)))
    assert [(c.kind, c.count) for c in placement.cores] == [
        ("source", 255), ("source", 45), ("neurons", 255), ("neurons", 255), ("neurons", 90)]
    assert [c.synapses for c in by_kind(placement)] == [255 * 300, 255 * 300, 90 * 300]
    # each source spike: one packet to each of the 3 neuron cores; 300 sources at 1 Hz
    assert placement.core_spikes_per_s == pytest.approx(900)
    assert placement.external_spikes_per_s == 0.0
    # static power: 5 cores x 0.034 W x 2 s; packets 900/s x 2 s x 1 nJ
    energy = placement.energy(2.0)
    assert {t.event: t.joules for t in energy.terms} == pytest.approx(
        {"core_static": 5 * 0.034 * 2, "core_packets": 900 * 2 * 1e-9, "chip_packets": 0.0})


def test_spinnaker_seventeen_cores_span_two_chips() -> None:
    # 1 source core + 16 x 255 neurons = 17 cores; 16 application cores per chip.
    placement = spinnaker.place(spinnaker.map(dense_net(1, 16 * 255, 1e-9, neuron=CURRENT)))
    assert placement.cores_used == 17 and placement.chips_used == 2
    # the source (chip 0) reaches 16 cores, one of them on chip 1
    assert placement.core_spikes_per_s == pytest.approx(16)
    assert placement.chip_spikes_per_s == pytest.approx(1)


# -- BrainScaleS-2: hemispheres of 256 neurons and 256 rows (one per source and sign)

@pytest.fixture(scope="module")
def digits_mlp() -> Network:
    from lifhw.snn import convert, data

    digits = data.load()
    ann = convert.train_ann(digits.x_train, digits.y_train)
    return convert.convert(ann, digits.x_train).network


def test_digits_mlp_fits_brainscales_by_hemispheres(digits_mlp: Network) -> None:
    sizes = [(p.name, p.size) for p in digits_mlp.populations]
    assert sizes == [("hidden1", 128), ("output", 10)]   # 64-128-10
    config = brainscales.quantize(brainscales.map(digits_mlp))
    # one chip's rows counted together: 64 x 2 + 128 x 2 = 384 > 256
    assert brainscales.resources(config).extra["rows"][0] == 384
    assert not [v for v in brainscales.check(config) if v.rule == "chip_capacity"]
    placement = brainscales.place(config.spec)
    # hidden on hemisphere 0 (64 inputs x 2 signs = 128 rows), output on hemisphere
    # 1 (128 hidden x 2 signs = 256 rows): one chip, no violation
    assert [(c.population, c.count, c.lines) for c in placement.cores] == [
        ("hidden1", 128, 128), ("output", 10, 256)]
    assert placement.fits and placement.chips_used == 1
    # each hidden spike crosses to hemisphere 1: 128 neurons at 1 Hz
    assert placement.core_spikes_per_s == pytest.approx(128)


def test_brainscales_three_hemispheres_and_a_neuron_too_wide() -> None:
    # 600 neurons, 100 positive inputs: 100 rows, 256 neurons per hemisphere ->
    # 256, 256, 88 on 3 hemispheres = 2 chips (a warning, not an error).
    placement = brainscales.place(brainscales.map(dense_net(100, 600, 1e-3)))
    assert [c.count for c in placement.cores] == [256, 256, 88]
    assert placement.chips_used == 2 and placement.fits
    assert placement.external_spikes_per_s == pytest.approx(100 * 3)
    config = brainscales.quantize(brainscales.map(dense_net(100, 600, 1e-3)))
    capacity = [v for v in brainscales.check(config) if v.rule == "chip_capacity"]
    assert [v.severity for v in capacity] == ["warning"]
    # neuron 0 takes 300 excitatory rows on its own (> 256): an error; neurons 1
    # and 2 take 100 rows each (one sign per input: 50 exc + 50 inh) and share a hemisphere
    w = np.zeros((3, 300))
    w[0] = 1e-3
    w[1:, :100] = np.where(np.arange(100) % 2 == 0, 1e-3, -1e-3)
    wide = Network("wide", (InputPopulation("x", 300),), (Population("h", 3, DELTA),),
                   (Projection("x", "h", w),))
    config = brainscales.quantize(brainscales.map(wide))
    errors = [v for v in brainscales.check(config) if v.rule == "chip_capacity"]
    assert errors and all(v.severity == "error" for v in errors)
    assert len(errors) == 1 and "neuron 0 needs 300 input lines" in errors[0].message
    assert [(c.first, c.count, c.lines) for c in brainscales.place(config.spec).cores] == [
        (0, 1, 300), (1, 2, 100)]


# -- RTL core: one core per population, input lines bounded by the harness row

def test_rtl_row_limit() -> None:
    # 8-bit weights, 12-bit bias: 512 x 8 + 12 = 4108 <= 8192 < 1024 x 8 + 12.
    assert rtl.RESOURCES.core.input_lines is not None
    assert rtl.RESOURCES.core.input_lines.value == 512
    placement = rtl.place(rtl.map(dense_net(500, 700)))
    assert [c.count for c in placement.cores] == [700] and placement.fits


def test_rtl_splits_where_inputs_exceed_the_row() -> None:
    # 4 neurons with 300 disjoint inputs each: 300 + 300 > 512 -> one core each.
    w = np.zeros((4, 1200))
    for i in range(4):
        w[i, 300 * i:300 * (i + 1)] = 1e-3
    net = Network("rows", (InputPopulation("x", 1200),), (Population("h", 4, DELTA),),
                  (Projection("x", "h", w),))
    placement = rtl.place(rtl.map(net))
    assert [(c.count, c.lines) for c in placement.cores] == [(1, 300)] * 4
    assert placement.external_spikes_per_s == pytest.approx(1200)


# -- placed == unplaced where the chip hides placement

@pytest.mark.parametrize("name", ["loihi", "spinnaker", "brainscales"])
def test_placement_is_invisible_on_synchronous_chips(name: str) -> None:
    target = CHIPS.get(name)
    rng = np.random.default_rng(5)
    neuron = CURRENT if name == "spinnaker" else DELTA
    scale = 3e-10 if name == "spinnaker" else 3e-3
    net = Network("two", (InputPopulation("x", 40),),
                  (Population("h", 1300, neuron), Population("o", 20, neuron)),
                  (Projection("x", "h", rng.uniform(0, scale, (1300, 40))),
                   Projection("h", "o", rng.uniform(-scale / 4, scale / 2, (20, 1300)))))
    spikes = rng.random((60, 40)) < 0.2
    spec = target.map(net)
    placement = target.place(spec)
    assert placement.cores_used >= 3 and not placement.relays
    assert placement.placed_network() is net
    unplaced = target.simulate(target.quantize(spec), spikes)
    placed = simulate_placed(spec, placement, spikes)
    assert sum(int(s.sum()) for s in unplaced.spikes.values()) > 0
    for pop in net.populations:
        assert np.array_equal(placed.spikes[pop.name], unplaced.spikes[pop.name])


# -- sparse connectivity and the engine on its own

def test_sparse_edges_count_non_zeros_without_densifying() -> None:
    w = sparse.random_array((5000, 4000), density=0.001, format="csr", random_state=1)
    mask = connectivity(w)
    assert isinstance(mask, sparse.csr_array) and mask.nnz == w.nnz
    net = Network("s", (InputPopulation("x", 4000),), (Population("h", 5000, DELTA),), ())
    edge = Edge("x", "h", lines_of(w, "one"), mask)
    placement = place_edges(loihi.RESOURCES, net, [edge])
    assert sum(c.synapses for c in placement.cores) == w.nnz
    assert [c.count for c in placement.cores] == [1024] * 4 + [904]


# -- lifhw map --place

def test_cli_map_place_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from pathlib import Path

    from lifhw.app.cli import main

    example = Path(__file__).resolve().parents[1] / "circuits" / "networks" / "ei_small.toml"
    assert main(["map", str(example), "--chip", "spinnaker", "--place", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    placed = data["chips"]["spinnaker"]["placement"]
    # ei_small: 40 sources (1 core), 48 exc, 16 inh (1 core each, <= 255)
    assert placed["cores_used"] == 3 and placed["chips_used"] == 1
    assert [row["population"] for row in placed["populations"]] == ["stim", "exc", "inh"]
    assert placed["rates"] == "measured"
    figures = placed["resources"]["figures"]
    assert figures["neurons_per_core"]["value"] == 255
    assert "sPyNNaker" in figures["neurons_per_core"]["source"]
    terms = {t["event"]: t for t in placed["energy"]["terms"]}
    # 3 cores x 1 s x 0.034 W
    assert terms["core_static"]["joules"] == pytest.approx(3 * 1.0 * 0.034)
    assert main(["map", str(example), "--chip", "truenorth", "--place"]) == 0
    text = capsys.readouterr().out
    assert "placement on truenorth:" in text and "relay" in text and "exc->exc +1" in text


# -- a 20 000-neuron sparse network on every target

@pytest.fixture(scope="module")
def sparse_20k():  # type: ignore[no-untyped-def]
    from benchmarks.bench_place import sparse_network

    return sparse_network(20_000, 100, seed=3)


@pytest.mark.parametrize("name", CHIPS.names())
def test_sparse_20k_network_placed_on_every_target(name: str, sparse_20k) -> None:  # type: ignore[no-untyped-def]
    from benchmarks.bench_place import place_on

    network, weights = sparse_20k
    placement, _ = place_on(name, network, weights)
    res = placement.resources
    assert placement.fits
    neurons = [c for c in placement.cores if c.kind == "neurons"]
    assert sum(c.count for c in neurons) == 20_000
    assert sum(c.synapses for c in neurons) == sum(w.nnz for w in weights.values())
    for limit, values in ((res.core.neurons, [c.count for c in placement.cores]),
                          (res.core.input_lines, [c.lines for c in neurons]),
                          (res.core.synapses, [c.synapses for c in neurons])):
        if limit is not None:
            assert max(values) <= limit.value
    # at least ceil(size / neurons per core) cores per population; chips in order
    if res.core.neurons is not None:
        per_core = int(res.core.neurons.value)
        assert len(neurons) >= -(-16_000 // per_core) + -(-4_000 // per_core)
    per_chip = res.cores_per_chip
    if per_chip is not None:
        assert placement.chips_used == -(-placement.cores_used // int(per_chip.value))
    # every neuron has 100 sources: each spike reaches at least one other core
    assert placement.core_spikes_per_s + placement.external_spikes_per_s > 0


# -- neuron order: reverse Cuthill-McKee where the numbering hides locality

def ring_network(n: int, k: int, permutation: np.ndarray) -> Network:
    """A ring: neuron i excites its k neighbours on each side; indices permuted."""
    idx = np.arange(n)
    w = np.zeros((n, n))
    for d in range(1, k + 1):
        w[(idx + d) % n, idx] = 1e-4
        w[(idx - d) % n, idx] = 1e-4
    w = w[np.ix_(permutation, permutation)]
    first = np.zeros((n, 1))
    first[0, 0] = 1e-3
    return Network("ring", (InputPopulation("x", 1),), (Population("ring", n, DELTA),),
                   (Projection("x", "ring", first), Projection("ring", "ring", w)))


def test_rcm_order_recovers_locality_hidden_by_the_numbering() -> None:
    n, k = 4096, 8
    ordered = loihi.place(loihi.map(ring_network(n, k, np.arange(n))))
    # numbered along the ring: 4 cores of 1024 contiguous neighbours; only the k
    # neurons each side of the 4 core boundaries reach another core: 4 x 2 x 8 = 64
    assert ordered.core_spikes_per_s == pytest.approx(64)
    shuffled = ring_network(n, k, np.random.default_rng(0).permutation(n))
    by_index = loihi.place(loihi.map(shuffled))
    by_graph = loihi.place(loihi.map(shuffled), order="rcm")
    assert [c.count for c in by_graph.cores] == [1024] * 4
    # shuffled: each neuron's 16 targets spread over the 4 cores (~3 other cores)
    assert by_index.core_spikes_per_s > 2.5 * n
    # the graph order finds contiguous arcs again: boundary neurons only
    assert by_graph.core_spikes_per_s < 0.05 * by_index.core_spikes_per_s
    # core_of maps every neuron, and each core holds exactly its count
    assert np.bincount(by_graph.core_of["ring"]).tolist() == [1024] * 4
    with pytest.raises(ParamError):
        loihi.place(loihi.map(shuffled), order="metis")


@pytest.mark.parametrize("name", CHIPS.names())
def test_place_network_without_mapping_matches_place_of_the_spec(name: str) -> None:
    # the float weights have the mapped weights' non-zero pattern and signs here
    network = relay_network()
    target = CHIPS.get(name)
    direct = place_network(name, network)
    mapped = target.place(target.map(network))
    assert [(c.population, c.kind, c.count, c.lines, c.synapses) for c in direct.cores] == \
        [(c.population, c.kind, c.count, c.lines, c.synapses) for c in mapped.cores]
    assert direct.core_spikes_per_s == mapped.core_spikes_per_s
