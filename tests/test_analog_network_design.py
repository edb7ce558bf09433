"""Designed analog networks without a simulator: spec mapping, options, cache, netlist.

The ngspice side (designing the populations, running the network against the
golden) is ``verification/test_analog_network_sky130.py``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lifhw.analog import network as anet
from lifhw.analog.sky130_params import Sky130Options
from lifhw.errors import ParamError
from lifhw.params import load_mapping

ROOT = Path(__file__).resolve().parents[1]
SKY130_NETWORK = ROOT / "circuits" / "networks" / "ei_sky130.toml"
BEHAVIOURAL_NETWORK = ROOT / "circuits" / "networks" / "ei_analog.toml"


def test_ei_sky130_is_a_designable_8_neuron_ei_network() -> None:
    an = anet.load(SKY130_NETWORK)
    assert an.topology == "sky130" and anet.designable(an) and not an.designed
    assert an.network.n_neurons == 8 and set(an.circuits) == {"exc", "inh"}
    # The raw file realises the LIF parameters with rest at V_L = 0.6 V.
    exc = an.circuits["exc"]
    assert exc.v_threshold == pytest.approx(0.62) and exc.v_reset == pytest.approx(0.58)
    assert exc.tau_m == pytest.approx(100e-6, rel=1e-9)
    assert anet.default_max_step(an) == pytest.approx(0.2e-6)


def test_ei_analog_stays_the_raw_circuit() -> None:
    an = anet.load(BEHAVIOURAL_NETWORK, topology="sky130")
    assert not anet.designable(an)
    assert anet.design_network(an) is an


def test_behavioral_topology_is_not_designable() -> None:
    an = anet.load(SKY130_NETWORK, topology="behavioral")
    assert not anet.designable(an)


def test_design_spec_is_the_population_lif_at_the_analog_voltages() -> None:
    an = anet.load(SKY130_NETWORK)
    pop = an.network.population("exc")
    spec = anet.design_spec("exc", pop.neuron, an.circuits["exc"])
    assert spec.topology == "sky130" and spec.corners == ("tt",)
    assert spec.tau_m == pytest.approx(100e-6) and spec.membrane_capacitance == pytest.approx(1e-12)
    assert (spec.v_rest, spec.v_threshold, spec.v_reset) == pytest.approx((0.6, 0.62, 0.58))
    assert spec.refractory == pytest.approx(10e-6)
    assert spec.max_rate == pytest.approx(0.1 / 10e-6)  # default: a tenth of 1/t_ref
    assert anet.design_spec("exc", pop.neuron, an.circuits["exc"], 5e3).max_rate == 5e3


def test_design_spec_refuses_a_rate_beyond_the_refractory_limit() -> None:
    an = anet.load(SKY130_NETWORK)
    with pytest.raises(ParamError) as err:
        anet.design_spec("exc", an.network.population("exc").neuron, an.circuits["exc"], 2e5)
    assert err.value.path == "analog.max_rate" and "'exc'" in err.value.message


def test_analog_section_design_options_parse_units() -> None:
    pf = load_mapping({"name": "n", "analog": {"design": False, "max_rate": "5 kHz",
                                               "max_step": "0.5 us"}})
    assert pf.analog.design is False
    assert pf.analog.max_rate == 5e3 and pf.analog.max_step == pytest.approx(0.5e-6)
    with pytest.raises(ParamError) as err:
        load_mapping({"name": "n", "analog": {"design": "yes"}})
    assert "analog.design" in str(err.value)


def test_design_cache_round_trip(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LIFHW_CACHE_DIR", str(tmp_path))
    an = anet.load(SKY130_NETWORK)
    base = an.circuits["exc"]
    spec = anet.design_spec("exc", an.network.population("exc").neuron, base)
    key = anet._design_key(spec, base, True)
    assert key != anet._design_key(spec, base, False)
    options = dataclasses.replace(base.sky130, threshold_offset=4e-3, synapse_event_trim=0.8)
    designed = dataclasses.replace(base, sky130=options, leak_bias_current=7e-10)
    path = anet._cache_path(key)
    anet._store_design(path, designed, {"neuron": {"errors": {"tau": 1e-3}}})
    assert path.parent == tmp_path / "design"
    hit = anet._load_design(path, base)
    assert hit is not None
    loaded, summary = hit
    assert loaded.sky130 == options and loaded.leak_bias_current == 7e-10
    assert summary["neuron"]["errors"]["tau"] == 1e-3
    # A different synapse option is a different design.
    other = dataclasses.replace(base, sky130=dataclasses.replace(
        base.sky130, synapse_output_current=2e-9))
    assert anet._design_key(spec, other, True) != key
    # A corrupt entry is a miss, not an error.
    path.write_text("{")
    assert anet._load_design(path, base) is None


def test_designed_network_netlist_uses_the_designed_trims() -> None:
    an = anet.load(SKY130_NETWORK)
    options = Sky130Options(threshold_offset=5e-3, comparator_bias_current=1e-8,
                            synapse_pulse_width=1e-6, synapse_output_current=1e-9)
    circuits = {p: dataclasses.replace(c, sky130=options) for p, c in an.circuits.items()}
    designed = dataclasses.replace(an, circuits=circuits,
                                   designs={p: {} for p in circuits})
    assert designed.designed
    text = anet.generate(designed)
    assert "VTH_exc0 vth_exc0 0 DC 0.625" in text
    assert ".tran 2e-06 0.004 0 2e-07" in text
