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

import pytest

from lifhw.snn import data, deploy, export, model, task

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
    assert result.note == "", result.note
    assert result.n_samples == N_SAMPLES
    assert result.agreement is not None and result.agreement >= AGREEMENT[chip]
    assert result.accuracy is not None and result.accuracy >= reference.accuracy - 0.08
    # the same network runs: spike and event counts of the same order as float
    assert result.spikes is not None and reference.spikes is not None
    assert 0.5 * reference.spikes <= result.spikes <= 2.0 * reference.spikes
    assert result.energy_j is not None and result.energy_j > 0
