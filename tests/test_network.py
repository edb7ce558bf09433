"""Network parameter files and the float golden network simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifhw import params
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.lif import simulate_population
from lifhw.golden.network import simulate_network
from lifhw.network import InputPopulation, Network, Population, Projection, load_experiment

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "circuits" / "networks" / "ei_small.toml"

NEURON_TOML = """
[network.populations.a.neuron]
tau_m = "20 ms"
r_m = "100 MOhm"
v_rest = "-65 mV"
v_th = "-50 mV"
v_reset = "-65 mV"
"""


def _file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "net.toml"
    path.write_text('name = "t"\n[network]\nt_stop = "100 ms"\n[network.inputs.x]\nsize = 2\n'
                    'rate = "50 Hz"\n[network.populations.a]\nsize = 3\n' + NEURON_TOML + body)
    return path


def test_example_file_builds_a_runnable_experiment() -> None:
    net, spikes = load_experiment(EXAMPLE)
    assert [p.name for p in net.populations] == ["exc", "inh"]
    assert spikes.shape == (1000, 40) and spikes.dtype == bool
    # Poisson inputs at 20 Hz: mean count 20 per source per second.
    assert spikes.sum(axis=0).mean() == pytest.approx(20, rel=0.15)
    exc_in = net.incoming("exc")[0].weights
    assert 0.4 < np.mean(exc_in != 0) < 0.6  # density 0.5
    nz = exc_in[exc_in != 0]
    assert nz.min() >= 60e-12 - 1e-18 and nz.max() <= 180e-12 + 1e-18  # 120 pA +- 50 %
    assert net.incoming("exc")[1].delay_steps == 2
    # Deterministic: same seeds, same network.
    again, spikes2 = load_experiment(EXAMPLE)
    assert np.array_equal(again.incoming("exc")[0].weights, exc_in)
    assert np.array_equal(spikes, spikes2)


def test_list_and_file_weights(tmp_path: Path) -> None:
    np.save(tmp_path / "w.npy", np.full((3, 3), 2e-3))
    path = _file(tmp_path, """
[[network.projections]]
pre = "x"
post = "a"
distribution = "list"
scale = "1 mV"
weights = [[1, 2], [3, 4], [5, 6]]
[[network.projections]]
pre = "a"
post = "a"
distribution = "file"
path = "w.npy"
""")
    net, _ = load_experiment(path)
    assert net.projections[0].weights[2, 1] == pytest.approx(6e-3)
    assert net.projections[1].weights[0, 0] == pytest.approx(2e-3)


@pytest.mark.parametrize(("body", "match"), [
    ('[[network.projections]]\npre = "nope"\npost = "a"\nscale = "1 mV"\n', "unknown population"),
    ('[[network.projections]]\npre = "x"\npost = "a"\n', "weight scale"),
    ('[[network.projections]]\npre = "x"\npost = "a"\nscale = "1 nA"\n', "volt"),
    ('[[network.projections]]\npre = "x"\npost = "a"\nscale = "1 mV"\ndensity = 2\n', "<= 1"),
    ('[[network.projections]]\npre = "x"\npost = "a"\ndistribution = "list"\n'
     'weights = [[1, 2]]\n', "3 rows"),
])
def test_bad_files_fail_with_the_field_path(tmp_path: Path, body: str, match: str) -> None:
    with pytest.raises(ParamError, match=match) as err:
        load_experiment(_file(tmp_path, body))
    assert "network" in str(err.value)


def test_unknown_key_is_reported(tmp_path: Path) -> None:
    path = _file(tmp_path, "[network.inputs.y]\nsize = 1\nrat = '1 Hz'\n")
    with pytest.raises(ParamError, match="rate"):
        params.load(path)


# --- golden network simulator ---------------------------------------------------

def _neuron(**kw: float) -> LIFParams:
    base = {"tau_m": 20e-3, "r_m": 1e8, "v_rest": -0.065, "v_th": -0.05, "v_reset": -0.07,
            "t_ref": 2e-3}
    base.update(kw)
    return LIFParams(**base)


@pytest.mark.parametrize("tau_syn", [0.0, 5e-3])
def test_feedforward_equals_single_population_golden(tau_syn: float) -> None:
    # With no recurrence the network simulator must reproduce the single-
    # population golden model fed with the same per-step jumps (grid mode).
    rng = np.random.default_rng(4)
    neuron = _neuron(tau_syn_exc=tau_syn, tau_syn_inh=tau_syn)
    scale = 4e-3 if tau_syn == 0 else 4e-10
    w = rng.uniform(-0.5, 1.0, (6, 5)) * scale
    bias = rng.uniform(0, 2e-10, 6)
    net = Network("n", (InputPopulation("x", 5),), (Population("a", 6, neuron, bias),),
                  (Projection("x", "a", w, delay_steps=2),), dt=1e-4)
    spikes = rng.random((3000, 5)) < 0.05
    run = simulate_network(net, spikes, record_v=True)
    jumps = np.zeros((3000, 6))
    jumps[2:] = spikes[:-2].astype(float) @ w.T
    kwargs = {"dv_jump": jumps} if tau_syn == 0 else {"syn_jump": jumps}
    ref = simulate_population(neuron, bias, t_stop=0.3, dt=1e-4, record_v=True, **kwargs)
    assert np.array_equal(run.spike_counts("a"), ref.spike_counts())
    assert np.allclose(run.states["a"]["v"], ref.v[:, 1:].T, atol=1e-12)
    assert run.spike_counts("a").sum() > 20


def test_recurrent_inhibition_lowers_rate() -> None:
    neuron = _neuron()
    bias = np.linspace(2e-10, 4e-10, 10)  # desynchronised, so inhibition is not refractory
    free = Network("n", (InputPopulation("x", 1),), (Population("a", 10, neuron, bias),), (),
                   dt=1e-4)
    inhibited = Network("n", free.inputs, free.populations,
                        (Projection("a", "a", -np.full((10, 10), 2e-3)),), dt=1e-4)
    no_input = np.zeros((5000, 1), dtype=bool)
    assert (simulate_network(inhibited, no_input).spike_counts("a").sum()
            < simulate_network(free, no_input).spike_counts("a").sum())


def test_to_trace_stamps_step_ends() -> None:
    neuron = _neuron(t_ref=0.0)
    net = Network("n", (InputPopulation("x", 1),), (Population("a", 1, neuron, 1e-9),), (),
                  dt=1e-3)
    run = simulate_network(net, np.zeros((100, 1), dtype=bool))
    trace = run.to_trace("a")
    steps = np.flatnonzero(run.spikes["a"][:, 0])
    assert np.allclose(trace.spike_times, (steps + 1) * 1e-3)
    assert trace.t_stop == pytest.approx(0.1)


def test_batch_referee_equals_one_sample_at_a_time_on_a_recurrent_current_network() -> None:
    """simulate_network_batch on a network outside its vectorised path (E-I loop with
    current synapses, from circuits/networks/ei_small.toml) == simulate_network per sample."""
    from lifhw.golden.network import simulate_network_batch

    net, spikes = load_experiment(EXAMPLE)
    rng = np.random.default_rng(3)
    batch = np.stack([spikes[:300], rng.random((300, spikes.shape[1])) < 0.05], axis=1)
    out = simulate_network_batch(net, batch)
    assert out["exc"].shape == (300, 2, net.population("exc").size)
    for b in range(2):
        run = simulate_network(net, batch[:, b])
        for pop in net.populations:
            assert np.array_equal(out[pop.name][:, b], run.spikes[pop.name])
    assert out["exc"].any()


def test_batch_referee_rejects_a_wrong_input_width() -> None:
    from lifhw.golden.network import simulate_network_batch

    net, _ = load_experiment(EXAMPLE)
    with pytest.raises(ParamError, match="expected"):
        simulate_network_batch(net, np.zeros((10, 3)))


def test_network_package_keeps_its_documented_names() -> None:
    """docs/chips.md and docs/benchmarks.md use these names of lifhw.network."""
    import lifhw.network as network
    from lifhw.network import routing, section, types

    assert network.Network is types.Network and network.NetworkRun is types.NetworkRun
    assert network.run_network is routing.route_spikes
    assert network.gather_sum is routing.gather_sum
    assert network.load_experiment is section.load_experiment
    assert params.SECTIONS.get("network") is section.NetworkSection
