"""Every registered hardware target (the chips and the RTL core) keeps the contract.

One small network -- delta synapses, feed-forward, a two-step delay, a bias and
a refractory period, which every target can run -- goes through map, quantize,
check, simulate, dequantize, resources and energy on each target in
:data:`lifhw.chips.CHIPS`; types, shapes and purity are checked, and the run is
compared with the float golden network (an independent implementation) so that
"conforms" also means "computes the same network".
"""

from __future__ import annotations

import copy
import inspect
import math
from typing import Any

import numpy as np
import pytest

from lifhw.chips import CHIPS
from lifhw.chips.base import (
    ChipRun,
    ChipSpec,
    EnergyEstimate,
    HardwareTarget,
    Resources,
    Violation,
)
from lifhw.chips.placement import ChipResources, Placement, simulate_placed
from lifhw.core import LIFParams
from lifhw.golden.network import simulate_network
from lifhw.network import InputPopulation, Network, NetworkRun, Population, Projection
from lifhw.testing import require_tool

FAST = LIFParams(tau_m=0.01, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065, t_ref=0.002)
SLOW = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065)
N_STEPS = 300


def small_network() -> tuple[Network, np.ndarray]:
    """8 inputs -> 6 LIF (bias) -> 3 LIF (delay 2 steps, mixed-sign weights)."""
    rng = np.random.default_rng(3)
    network = Network(
        "conformance", (InputPopulation("x", 8),),
        (Population("h", 6, SLOW, bias=np.full(6, 5e-11)), Population("o", 3, FAST)),
        (Projection("x", "h", rng.uniform(0.0, 6e-3, (6, 8))),
         Projection("h", "o", rng.uniform(-2e-3, 8e-3, (3, 6)), 2)), dt=1e-3)
    return network, rng.random((N_STEPS, 8)) < 0.1


def _snapshot(network: Network) -> dict[str, Any]:
    return {"pops": [(p.name, p.size, copy.deepcopy(p.neuron), p.bias.copy())
                     for p in network.populations],
            "projs": [(p.pre, p.post, p.weights.copy(), p.delay_steps)
                      for p in network.projections],
            "inputs": network.inputs, "dt": network.dt}


def _simulate(target: Any, config: Any, spikes: np.ndarray, **kw: Any) -> ChipRun:
    if target.NAME == "rtl":
        require_tool("verilator")   # the real Verilog, not its NumPy twin
        kw["sim"] = "verilator"
    run: ChipRun = target.simulate(config, spikes, **kw)
    return run


def test_registry_lists_every_target_once_in_order() -> None:
    assert CHIPS.names() == ["loihi", "truenorth", "spinnaker", "brainscales", "rtl"]
    assert CHIPS.names(kind="chip") == ["loihi", "truenorth", "spinnaker", "brainscales"]
    assert CHIPS.names(kind="core") == ["rtl"] and CHIPS.kind_of("rtl") == "core"


@pytest.mark.parametrize("name", CHIPS.names())
def test_target_module_has_the_protocol_shape(name: str) -> None:
    target = CHIPS.get(name)
    assert isinstance(target, HardwareTarget)
    assert name == target.NAME
    assert target.RULES and all(callable(rule) for rule in target.RULES)
    # map: the network, then keyword-only options with defaults (no **kwargs).
    params = list(inspect.signature(target.map).parameters.values())
    assert params[0].name == "network"
    for p in params[1:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not p.empty, p
    simulate = inspect.signature(target.simulate).parameters
    assert simulate["record_states"].kind is inspect.Parameter.KEYWORD_ONLY
    assert simulate["record_states"].default is False
    with pytest.raises(TypeError):
        target.map(small_network()[0], no_such_option=1)


@pytest.fixture(scope="module")
def golden() -> NetworkRun:
    network, spikes = small_network()
    return simulate_network(network, spikes)


@pytest.mark.parametrize("name", CHIPS.names())
def test_target_runs_the_small_network(name: str, golden: NetworkRun) -> None:
    target = CHIPS.get(name)
    network, spikes = small_network()
    before = _snapshot(network)

    spec = target.map(network)
    assert isinstance(spec, ChipSpec) and spec.chip == name and spec.network is network
    # map is pure: the float network is unchanged, value for value.
    after = _snapshot(network)
    for (n0, s0, neuron0, b0), (n1, s1, neuron1, b1) in zip(before["pops"], after["pops"],
                                                            strict=True):
        assert (n0, s0, neuron0) == (n1, s1, neuron1) and np.array_equal(b0, b1)
    for (a0, p0, w0, d0), (a1, p1, w1, d1) in zip(before["projs"], after["projs"],
                                                  strict=True):
        assert (a0, p0, d0) == (a1, p1, d1) and np.array_equal(w0, w1)
    assert before["inputs"] == after["inputs"] and before["dt"] == after["dt"]

    config = target.quantize(spec)
    assert config.spec is spec

    violations = target.check(config)
    assert isinstance(violations, list)
    rule_names = {rule.__name__ for rule in target.RULES}
    for v in violations:
        assert isinstance(v, Violation) and v.rule in rule_names
        assert v.severity == "warning", str(v)   # every target can run this network

    run = _simulate(target, config, spikes)
    assert isinstance(run, NetworkRun) and run.backend == name
    assert run.dt == pytest.approx(network.dt)
    assert set(run.spikes) == {p.name for p in network.populations}
    for pop in network.populations:
        raster = run.spikes[pop.name]
        assert raster.dtype == bool and raster.shape == (N_STEPS, pop.size)
    n_spikes = int(sum(s.sum() for s in run.spikes.values()))
    assert run.events["spikes"] == n_spikes > 0
    assert run.events["neuron_updates"] == N_STEPS * network.n_neurons
    assert run.events["synaptic_events"] > 0
    # The same network: spike counts per population within 20 % of the float golden
    # run (quantisation moves single spikes, not the activity).
    for pop in network.populations:
        want = int(golden.spikes[pop.name].sum())
        got = int(run.spikes[pop.name].sum())
        assert abs(got - want) <= 0.2 * want, (pop.name, got, want)

    states = _simulate(target, config, spikes, record_states=True)
    for pop in network.populations:
        assert np.array_equal(states.spikes[pop.name], run.spikes[pop.name])
        assert states.states[pop.name]
        for value in states.states[pop.name].values():
            assert value.shape == (N_STEPS, pop.size)

    realised = target.dequantize(config)
    assert isinstance(realised, Network)
    assert [(p.name, p.size) for p in realised.populations] == \
        [(p.name, p.size) for p in network.populations]
    assert [(p.pre, p.post, p.weights.shape) for p in realised.projections] == \
        [(p.pre, p.post, p.weights.shape) for p in network.projections]

    resources = target.resources(config)
    assert isinstance(resources, Resources) and resources.fits
    assert resources.neurons_used >= network.n_neurons
    assert 0 < resources.synapses_used <= resources.synapses_available

    # place: every neuron on a core of the declared size, synapses counted once.
    placement = target.place(spec)
    assert isinstance(placement, Placement) and placement.target == name
    assert placement.fits and placement.chips_used == 1
    assert isinstance(target.RESOURCES, ChipResources) and target.RESOURCES.target == name
    for figure in target.RESOURCES.figures().values():
        assert figure.source
    for pop in network.populations:
        assert np.all(placement.core_of[pop.name] >= 0)
    neuron_cores = [c for c in placement.cores if c.kind == "neurons"]
    assert sum(c.count for c in neuron_cores) == network.n_neurons
    assert sum(c.synapses for c in neuron_cores) == network.n_synapses
    limit = target.RESOURCES.core.neurons
    assert limit is None or max(c.count for c in placement.cores) <= limit.value
    # placed run: the same spikes, later by the relay delay where relays are inserted
    placed = simulate_placed(spec, placement, spikes) if name != "rtl" else None
    if placed is not None and not placement.relays:
        for pop in network.populations:
            assert np.array_equal(placed.spikes[pop.name], run.spikes[pop.name])

    estimate = target.energy(config, run)
    assert isinstance(estimate, EnergyEstimate) and estimate.chip == name
    if estimate.available:
        assert math.isfinite(estimate.total_j) and estimate.total_j > 0
        assert all(term.source for term in estimate.terms)
    else:   # said so explicitly, with the reason
        assert math.isnan(estimate.total_j) and estimate.note.startswith("not available")
        assert estimate.as_dict()["total_j"] is None


def test_every_chip_is_a_sweep_backend_with_metrics() -> None:
    from lifhw.sweep.backends import BACKENDS, METRICS

    for name in CHIPS.names(kind="chip"):
        assert name in BACKENDS and "energy_per_spike_j" in METRICS[name]
        assert BACKENDS.get(name).__name__ == f"evaluate_{name}"
    # ``rtl`` as a sweep backend is the point's own [core] (area metrics too).
    assert "gate_equivalents" in METRICS["rtl"]


def test_cli_and_deploy_offer_every_target() -> None:
    from lifhw.app.commands import chips as cli
    from lifhw.chips import report
    from lifhw.snn import deploy

    assert (*CHIPS.names(), "all") == cli.CHOICES
    assert tuple(CHIPS.names(kind="chip")) == report.ALL_CHIPS
    assert ("float", *CHIPS.names()) == deploy.TARGETS
    assert tuple(CHIPS.names(kind="chip")) == deploy.CHIP_TARGETS
