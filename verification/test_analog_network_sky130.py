"""The E/I network of ``circuits/networks/ei_sky130.toml`` at transistor level against golden.

Issue 14: an 8-16 neuron E/I network on sky130 with per-population rates within
5 % of the golden network. Every population's neuron is the circuit ``lifhw
design`` closes for its parameters and every synapse the one the synapse design
trims (:func:`lifhw.analog.network.design_network`, cached per user); the referee
is :func:`lifhw.golden.network.simulate_network` on the file's own parameters (the
spec), never on parameters measured on the circuit.

With the ``tt_mm`` corner every device of every neuron draws its own mismatch
sample: the designed (tt-trimmed) neurons then fire at rates that scatter around
the golden's, and the run reports that dispersion against the golden network's.

Each network run is one ngspice process of 8 neurons for 4 ms (~3 min on the
shared 2-core machine; the mismatch run takes the first 1.5 ms); designing the two
populations from a cold cache adds ~1.5 min (they share one design: same neuron,
same synapses).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from lifhw.analog import network as anet
from lifhw.analog.backends import RunConfig
from lifhw.golden.network import simulate_network
from lifhw.testing import require_tool

ROOT = Path(__file__).resolve().parents[1]
NETWORK = ROOT / "circuits" / "networks" / "ei_sky130.toml"
CONFIG = RunConfig(timeout_s=1800, retries=1)


@pytest.fixture(scope="module")
def designed() -> anet.AnalogNetwork:
    require_tool("ngspice")
    an = anet.load(NETWORK, topology="sky130")
    return anet.design_network(an, config=CONFIG)


def _run(an: anet.AnalogNetwork) -> dict:
    run = anet.simulate(an, config=CONFIG)
    golden = simulate_network(an.network, an.input_spikes)
    return anet.compare_runs(golden, run)


def test_designed_populations_meet_their_spec(designed) -> None:
    assert designed.designed and designed.network.n_neurons == 8
    for pop, summary in designed.designs.items():
        neuron = designed.network.population(pop).neuron
        errors = summary["neuron"]["errors"]
        # lifhw design's acceptance: tau 2 %, threshold 1 mV, ISI 2 % vs the spec's golden.
        assert abs(errors["tau"]) < 0.02, (pop, errors)
        assert abs(errors["threshold_v"]) < 1e-3, (pop, errors)
        assert max(abs(e) for e in errors["isi"].values()) < 0.02, (pop, errors)
        # Synapses: tau_syn within 3 %, jump within 5 % (issue 14's design contract).
        syn = summary["synapse"]
        for sign, tau in (("exc", neuron.tau_syn_exc), ("inh", neuron.tau_syn_inh)):
            assert abs(syn["tau_syn_s"][sign] / tau - 1) < 0.03, (pop, syn)
            assert abs(syn["jump_per_weight"][sign] - 1) < 0.05, (pop, syn)
        circuit = designed.circuits[pop]
        assert abs(summary["event_width_s"] / circuit.sky130.synapse_pulse_width - 1) < 0.02


def test_sky130_ei_network_rates_within_five_percent_of_golden(designed) -> None:
    result = _run(designed)
    for pop, r in result.items():
        assert r["rate_golden_hz"] > 1000, (pop, r)
        assert abs(r["rate_error"]) < 0.05, (pop, r)
    # The same neurons are the active ones (inputs and weights are shared).
    exc = result["exc"]
    assert np.corrcoef(exc["rates_golden_hz"], exc["rates_analog_hz"])[0, 1] > 0.9, exc


def test_sky130_ei_network_mismatch_dispersion(designed, tmp_path) -> None:
    # The tt design placed at tt_mm (sample 0): every neuron's devices draw their own
    # offsets. The golden network is the same as at tt; the analog rates scatter.
    # The first 1.5 ms of the file (~10 spikes per neuron at 5-9 kHz) keep CI short;
    # the designs are the cached ones of the full file (same neurons and synapses).
    short = tmp_path / "ei_sky130_short.toml"
    short.write_text(NETWORK.read_text().replace('t_stop = "4 ms"', 't_stop = "1.5 ms"'))
    base = anet.design_network(anet.load(short, topology="sky130"), config=CONFIG)
    assert base.t_stop == pytest.approx(1.5e-3)
    assert base.circuits == designed.circuits
    circuits = {pop: dataclasses.replace(c, corner="tt_mm")
                for pop, c in base.circuits.items()}
    mm = dataclasses.replace(base, circuits=circuits)
    text = anet.generate(mm)
    assert ".option seed=1" in text
    result = _run(mm)
    exc = result["exc"]
    for pop, r in result.items():
        assert np.isfinite(r["dispersion_analog"]) and np.isfinite(r["dispersion_golden"])
        assert r["rate_analog_hz"] > 0, (pop, r)
    # Mismatch moves individual neurons: some exc neuron is off its golden rate by more
    # than the tt network's 5 % population bound.
    deviation = np.abs(np.asarray(exc["rates_analog_hz"]) / np.asarray(exc["rates_golden_hz"])
                       - 1)
    assert deviation.max() > 0.05, exc
    # ... and the spread across the population grows beyond the golden's (whose only
    # spread is the bias spread and the random connectivity).
    assert exc["dispersion_analog"] > exc["dispersion_golden"], exc
