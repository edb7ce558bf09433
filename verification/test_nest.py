"""The golden network engine against NEST 3.10 and a PyNN export run on pyNN.nest.

NEST (``iaf_psc_exp`` / ``iaf_psc_delta``, exact integration on the grid) is an
independent implementation of the same model: with the delay and refractory
conventions of :mod:`lifhw.interop.nest` the spike rasters must be identical.
NEST is the ``lifhw[nest]`` extra that ``make test`` installs: missing in CI is
a failure, elsewhere a skip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lifhw.app.cli import main as cli_main
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.event_engine import EventRun, simulate_events
from lifhw.network import InputPopulation, Network, Population, Projection, load_experiment
from lifhw.network.section import load_run
from lifhw.testing import IN_CI

ROOT = Path(__file__).resolve().parents[1]
EI_SMALL = ROOT / "circuits" / "networks" / "ei_small.toml"
CUBA = ROOT / "circuits" / "networks" / "cuba.toml"


@pytest.fixture(scope="module")
def run_nest():  # type: ignore[no-untyped-def]
    from lifhw.errors import ToolMissingError
    from lifhw.interop.nest import import_nest, run_nest

    try:
        import_nest()  # (starts numba's OpenMP pool before NEST's, see there)
    except ToolMissingError as err:
        if IN_CI:
            pytest.fail(f"CI must have NEST: {err}")
        pytest.skip(str(err))

    return run_nest


def _same_raster(a: EventRun, b: EventRun, pops: tuple[str, ...]) -> None:
    for pop in pops:
        assert b.spikes[pop].steps.size == a.spikes[pop].steps.size, pop
        assert np.array_equal(a.spikes[pop].steps, b.spikes[pop].steps), pop
        assert np.array_equal(a.spikes[pop].neurons, b.spikes[pop].neurons), pop


def _with_delay(network: Network, steps: int) -> Network:
    return Network(network.name, network.inputs, network.populations,
                   tuple(Projection(p.pre, p.post, p.weights, max(steps, p.delay_steps))
                         for p in network.projections), dt=network.dt)


def test_current_synapse_network_raster_equals_nest(run_nest) -> None:  # type: ignore[no-untyped-def]
    net, spikes = load_experiment(EI_SMALL)
    net = _with_delay(net, 2)  # NEST's minimum delay is one step: d >= 2 here
    golden = simulate_events(net, spikes)
    nest_run = run_nest(net, spikes)
    assert nest_run.backend == "nest" and nest_run.meta["delay_shifted_synapses"] == 0
    _same_raster(golden, nest_run, ("exc", "inh"))
    assert golden.events["spikes"] > 1000


def test_delta_synapse_network_raster_equals_nest(run_nest) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.07,
                       t_ref=2e-3)
    w_in = rng.uniform(0.2, 1.0, (30, 20)) * 2e-3 * (rng.random((30, 20)) < 0.5)
    w_rec = rng.uniform(-1.0, 0.6, (30, 30)) * 1e-3 * (rng.random((30, 30)) < 0.3)
    v0 = rng.uniform(-0.07, -0.05, 30)
    net = Network("d", (InputPopulation("x", 20),),
                  (Population("a", 30, neuron, rng.uniform(0, 1.6e-10, 30), v_init=v0),),
                  (Projection("x", "a", w_in, 1), Projection("a", "a", w_rec, 3)), dt=1e-4)
    spikes = rng.random((5000, 20)) < 0.01
    golden = simulate_events(net, spikes)
    _same_raster(golden, run_nest(net, spikes), ("a",))
    assert golden.events["spikes"] > 300


def test_cuba_raster_equals_nest(run_nest) -> None:  # type: ignore[no-untyped-def]
    net, inputs = load_run(CUBA, t_stop=0.3)
    golden = simulate_events(net, inputs)
    _same_raster(golden, run_nest(net, inputs), ("exc", "inh"))
    assert golden.events["spikes"] > 4000


def test_one_step_delays_are_shifted_and_counted(run_nest) -> None:  # type: ignore[no-untyped-def]
    net, spikes = load_experiment(EI_SMALL)
    one_step = sum(p.n_synapses for p in net.projections if p.delay_steps == 1)
    assert one_step > 0
    assert run_nest(net, spikes[:100]).meta["delay_shifted_synapses"] == one_step


def test_mixed_synapses_are_refused(run_nest) -> None:  # type: ignore[no-untyped-def]
    neuron = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.07,
                       tau_syn_exc=5e-3)
    net = Network("m", (InputPopulation("x", 1),), (Population("a", 2, neuron),), (),
                  dt=1e-4)
    with pytest.raises(ParamError, match="no LIF model with one delta"):
        run_nest(net, np.zeros((10, 1), dtype=bool))


def test_cli_nest_backend(run_nest, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli_main(["run", str(CUBA), "--backend", "nest", "--json", "--t-stop", "100 ms"]) == 0
    nest_out = json.loads(capsys.readouterr().out)
    assert cli_main(["run", str(CUBA), "--json", "--t-stop", "100 ms"]) == 0
    golden_out = json.loads(capsys.readouterr().out)
    assert nest_out["backend"] == "nest"
    assert nest_out["populations"] == golden_out["populations"]


def test_pynn_export_runs_on_pynn_nest(run_nest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = EI_SMALL.read_text().replace('delay = "2 ms"\n', "")
    text = text.replace("\nseed = 1\n", '\nseed = 1\ndelay = "2 ms"\n')
    for seed in (2, 3, 4):
        text = text.replace(f"\nseed = {seed}\n", f'\nseed = {seed}\ndelay = "2 ms"\n')
    source = tmp_path / "ei.toml"
    source.write_text(text)
    script = tmp_path / "net.py"
    assert cli_main(["export", "pynn", str(source), "-o", str(script)]) == 0
    out = tmp_path / "spikes.npz"
    proc = subprocess.run([sys.executable, str(script), "--spikes", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={"PYNEST_QUIET": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "exc: 48 neurons" in proc.stdout
    # The golden run on the same inputs (PyNN cannot emit the spikes of step 0).
    net, inputs = load_run(source)
    steps, idx = inputs["stim"]
    inputs["stim"] = (steps[steps > 0], idx[steps > 0])
    golden = simulate_events(net, inputs)
    recorded = np.load(out)
    for pop in ("exc", "inh"):
        step = np.rint(recorded[f"{pop}_times"] / (net.dt * 1e3)).astype(np.int64) - 1
        neuron = recorded[f"{pop}_neurons"].astype(np.int64)
        order = np.lexsort((neuron, step))
        assert np.array_equal(step[order], golden.spikes[pop].steps)
        assert np.array_equal(neuron[order], golden.spikes[pop].neurons)
