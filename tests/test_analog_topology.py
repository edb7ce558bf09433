"""The analog topology records: one registry, helpful errors, one line to add one,
and reference netlists free of machine paths."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from lifhw.analog import behavioral, topology
from lifhw.analog import characterise as ch
from lifhw.analog import netlist as nl
from lifhw.analog.backends import RunConfig, SupportFile, default_config
from lifhw.analog.params import TOPOLOGY_NAMES, CircuitSection
from lifhw.errors import ParamError
from lifhw.params import load, load_mapping
from lifhw.registry import Registry

ROOT = Path(__file__).resolve().parents[1]


def _example():
    return load(ROOT / "circuits" / "ota_lif_behavioral.toml")


def test_every_registered_topology_is_a_complete_record() -> None:
    fields = {f.name for f in dataclasses.fields(CircuitSection)}
    assert set(TOPOLOGY_NAMES) == set(topology.TOPOLOGIES.names()) >= {"behavioral", "sky130"}
    for name in TOPOLOGY_NAMES:
        record = topology.get_topology(name)
        assert record.name == name and record.summary
        assert callable(record.generate)
        assert record.options is None or record.options in fields
        assert record.devices is not None or record.layout_as in TOPOLOGY_NAMES
    assert topology.get_topology("sky130").supply
    assert not topology.get_topology("behavioral").supply


def test_unknown_topology_gets_did_you_mean() -> None:
    with pytest.raises(ParamError, match="did you mean 'sky130'") as err:
        topology.get_topology("sky13O")
    assert err.value.path == "topology"
    # from a parameter file: file, field and suggestion
    data = {"name": "x", "circuit": {"topology": "behavoral", "membrane_capacitance": "1 pF",
                                     "leak_bias_current": "5 pA", "v_rest": "0.6 V",
                                     "v_threshold": "0.65 V", "v_reset": "0.6 V"},
            "stimulus": {"kind": "constant", "amplitude": "20 pA", "t_stop": "10 ms"}}
    with pytest.raises(ParamError, match=r"circuit\.topology.*did you mean 'behavioral'"):
        load_mapping(data)


def test_adding_a_topology_is_one_registration(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A new record plus one ``TOPOLOGIES.add`` line reaches every consumer."""
    model = tmp_path / "toy_models.spice"
    model.write_text("* toy model library\n")
    calls = []

    def toy_generate(name: str, circuit: CircuitSection, stimulus, *, source: str = "",
                     max_step: float | None = None, spiking: bool = True) -> str:
        text = behavioral.generate(name, circuit, stimulus, source=source,
                                   max_step=max_step, spiking=spiking)
        lines = text.splitlines()
        return "\n".join([lines[0], '.include "toy_models.spice"', *lines[1:]]) + "\n"

    def toy_characterise(name: str, circuit: CircuitSection, **kwargs):
        calls.append(name)
        return "measured"

    record = topology.AnalogTopology(
        name="toy", summary="behavioural neuron with a toy support file",
        generate=toy_generate, supply=False, spiceinit=("set ngbehavior=hsa",),
        support_files=lambda circuit: (SupportFile("toy_models.spice", model),),
        characterise=toy_characterise, golden="calibrated", layout_as="sky130")
    registry: Registry[topology.AnalogTopology] = Registry("circuit topology")
    for name in topology.TOPOLOGIES.names():
        registry.add(name, topology.TOPOLOGIES.get(name))
    monkeypatch.setattr(topology, "TOPOLOGIES", registry)
    registry.add("toy", record)  # the one registration line

    pf = _example()
    circuit = dataclasses.replace(pf.circuit, topology="toy")
    text = nl.generate("t1", circuit, pf.stimulus)
    assert '.include "toy_models.spice"' in text
    config = default_config(circuit, RunConfig(timeout_s=5.0))
    assert config.timeout_s == 5.0 and "set ngbehavior=hsa" in config.spiceinit
    assert [f.name for f in config.support_files] == ["toy_models.spice"]
    assert ch.characterise_topology("t1", circuit) == "measured" and calls == ["t1"]
    transfer = ch.transfer_netlist("t1", circuit, 0.5, 0.7, points=3)
    assert ".save i(VFORCE)" in transfer.splitlines()  # no supply on this record
    nl.write_netlist(text, tmp_path / "out" / "t1.cir", circuit=circuit)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".spiceinit", "t1.cir", "toy_models.spice"]
    with pytest.raises(ParamError, match="no generator option 'model_file'"):
        nl.generate("t1", circuit, pf.stimulus, model_file="x.spice")


def test_record_checks_its_own_fields() -> None:
    with pytest.raises(ValueError, match="golden"):
        topology.AnalogTopology(name="x", summary="", generate=behavioral.generate,
                                golden="auto", layout_as="sky130")
    with pytest.raises(ValueError, match="devices or layout_as"):
        topology.AnalogTopology(name="x", summary="", generate=behavioral.generate)
    with pytest.raises(ParamError, match="bare file name"):
        SupportFile("../models.spice", Path("/dev/null"))


@pytest.mark.parametrize("reference", sorted((ROOT / "netlists").glob("*.cir")),
                         ids=lambda p: p.name)
def test_reference_netlists_have_no_machine_path(reference: Path) -> None:
    text = reference.read_text()
    assert not re.search(r"/root/|/home/|/Users/|~/", text)
    for line in text.splitlines():
        if re.match(r"^\.(include|lib)\b", line, flags=re.IGNORECASE):
            target = line.split('"')[1] if '"' in line else line.split()[1]
            assert "/" not in target and ":" not in target, line  # a bare support file name
