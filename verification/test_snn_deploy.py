"""Digits SNNs (surrogate-trained and ANN-converted) on the chip mappers and the RTL core.

The referee is the float network run by :func:`lifhw.snn.export.simulate_network`
(itself checked spike-for-spike against lifhw.golden.lif in tests/test_snn.py).
A chip quantises weights, leaks and thresholds, so single spikes may differ;
what must survive is the classification: accuracy and per-sample agreement
with the float decisions within a tolerance per chip (TrueNorth has the
coarsest weights: a few levels per neuron and a linear leak).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

from lifhw.snn import data, deploy, export, model, rtl, task
from lifhw.testing import require_tool

N_SAMPLES = 100

#: Chip modules present in this tree (the mappers land independently).
CHIPS = [c for c in deploy.CHIP_TARGETS if importlib.util.find_spec(f"lifhw.chips.{c}")]

#: Minimum agreement with the float decisions, per chip.
AGREEMENT = {"loihi": 0.9, "truenorth": 0.85, "spinnaker": 0.9, "brainscales": 0.85}


@pytest.fixture(scope="module")
def nets() -> dict[str, Any]:
    digits = data.load()
    out = {}
    for method in ("surrogate", "convert"):
        network, info = task.build(method, digits=digits)
        x = task.encoded_test_set(network, info, digits)[:, :N_SAMPLES]
        reference = deploy.run_float(network, x, digits.y_test[:N_SAMPLES])
        out[method] = (network, x, digits.y_test[:N_SAMPLES], reference)
    return out


@pytest.mark.parametrize("method", ["surrogate", "convert"])
@pytest.mark.parametrize("chip", CHIPS)
def test_chip_keeps_the_classification(nets: dict[str, Any], method: str, chip: str) -> None:
    network, x, labels, reference = nets[method]
    ref_pred = model.predict(export.simulate_network(network, x)["output"])
    result = deploy.run_chip(chip, network, x, labels, ref_pred)
    assert result.accuracy is not None, result.note  # it ran
    assert result.n_samples == N_SAMPLES
    assert result.agreement is not None and result.agreement >= AGREEMENT[chip]
    assert result.accuracy is not None and result.accuracy >= reference.accuracy - 0.08
    # the same network runs: spike and event counts of the same order as float
    assert result.spikes is not None and reference.spikes is not None
    assert 0.5 * reference.spikes <= result.spikes <= 2.0 * reference.spikes
    assert result.energy_j is not None and result.energy_j > 0


def test_nir_round_trip_keeps_every_spike(nets: dict[str, Any]) -> None:
    for network, x, _, _ in nets.values():
        back = deploy.nir_roundtrip(network)
        a, b = export.simulate_network(network, x), export.simulate_network(back, x)
        assert all(np.array_equal(a[k], b[k]) for k in a)


def test_rtl_twin_keeps_the_classification(nets: dict[str, Any]) -> None:
    """The population core's bit-exact NumPy twin on all samples (fast)."""
    for method in ("surrogate", "convert"):
        network, x, labels, reference = nets[method]
        ref_pred = model.predict(export.simulate_network(network, x)["output"])
        result = deploy.run_rtl(network, x, labels, ref_pred, engine="twin")
        assert result.agreement is not None and result.agreement >= 0.9, method
        assert result.accuracy is not None and result.accuracy >= reference.accuracy - 0.05


def test_rtl_on_verilator_equals_its_twin(nets: dict[str, Any]) -> None:
    """The generated Verilog, run by Verilator, spike for spike against the twin."""
    require_tool("verilator")
    network, x, _, _ = nets["surrogate"]
    x = x[:, :8]   # one core run per layer and batch: 3 simulator runs
    on_rtl, layers = rtl.run_on_rtl(network, x, engine="verilator")
    on_twin, _ = rtl.run_on_rtl(network, x, engine="twin")
    assert all(layer.report["weights_clipped"] == 0 for layer in layers)
    for name in on_rtl:
        assert on_rtl[name].any()
        assert np.array_equal(on_rtl[name], on_twin[name]), name


def test_deploy_table_has_every_target_running(nets: dict[str, Any]) -> None:
    """The whole `lifhw snn deploy` path: NIR round trip, every chip, the RTL core."""
    require_tool("verilator")
    network, x, labels, _ = nets["surrogate"]
    x, labels = x[:, :8], labels[:8]   # same RTL builds as the Verilator test
    results = deploy.deploy(network, x, labels, rtl_samples=8)
    assert [r.target for r in results] == list(deploy.TARGETS)
    for r in results:
        assert r.accuracy is not None, (r.target, r.note)
        assert r.n_samples == 8
    assert "spikes identical" in results[0].note
    rows = deploy.table(results)
    assert rows[0] == deploy.HEADER and len(rows) == len(deploy.TARGETS) + 1
