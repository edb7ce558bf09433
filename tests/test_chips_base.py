"""The shared chip-mapper shape: records, registry, spike routing, deviations."""

from __future__ import annotations

import numpy as np
import pytest

from lifhw.chips import CHIPS
from lifhw.chips.base import (
    EnergyEstimate,
    EnergyTerm,
    Resources,
    Synapses,
    Violation,
    parameter_deviations,
    round_half_away,
    run_network,
    run_rules,
    split_inputs,
)
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.network import InputPopulation, Network, Population, Projection

NEURON = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065)


def _net(delay: int = 1) -> Network:
    return Network("n", (InputPopulation("x", 2), InputPopulation("y", 1)),
                   (Population("a", 3, NEURON),),
                   (Projection("x", "a", np.ones((3, 2)) * 1e-3, delay),), dt=1e-3)


def test_registry_knows_the_four_chips_and_suggests() -> None:
    # Registration order; the RTL core is the fifth target, of kind "core".
    assert CHIPS.names(kind="chip") == ["loihi", "truenorth", "spinnaker", "brainscales"]
    assert CHIPS.names() == ["loihi", "truenorth", "spinnaker", "brainscales", "rtl"]
    with pytest.raises(ParamError, match="did you mean 'loihi'"):
        CHIPS.get("lohi")
    assert CHIPS.get("loihi").NAME == "loihi"


def test_violation_and_rules() -> None:
    def always(config: object) -> list[Violation]:
        return [Violation("always", "broken", "a", "warning")]

    def never(config: object) -> list[Violation]:
        return []

    found = run_rules([always, never], None)
    assert len(found) == 1 and str(found[0]) == "warning: always [a]: broken"


def test_resources_fit_and_energy_total() -> None:
    assert Resources(1, 2, 3, 4, 5, 6).fits
    assert not Resources(1, 2, 3, 4, 5, 6, extra={"axons": (9, 8)}).fits
    est = EnergyEstimate("x", (EnergyTerm("a", 10, 2e-12, "s"), EnergyTerm("b", 3, 1e-12, "s")))
    assert est.total_j == pytest.approx(23e-12)
    assert est.as_dict()["terms"][0]["joules"] == pytest.approx(20e-12)


def test_split_inputs_orders_columns_and_checks_shapes() -> None:
    net = _net()
    raster = np.zeros((4, 3), dtype=bool)
    raster[1, 2] = True
    parts = split_inputs(net, raster)
    assert parts["x"].shape == (4, 2) and parts["y"][1, 0]
    with pytest.raises(ParamError):
        split_inputs(net, np.zeros((4, 2), dtype=bool))
    with pytest.raises(ParamError):
        split_inputs(net, {"x": np.zeros((4, 2), dtype=bool)})


@pytest.mark.parametrize("delay", [1, 3])
def test_run_network_delivers_after_delay(delay: int) -> None:
    net = _net(delay)
    raster = np.zeros((8, 3), dtype=bool)
    raster[2, 0] = True  # one input spike in step 2
    received: list[tuple[int, float]] = []

    def update(step: int, summed: dict) -> np.ndarray:
        total = float(summed["all"].sum())
        if total:
            received.append((step, total))
        return np.zeros(3, dtype=bool)

    syn = [Synapses("x", "a", np.ones((3, 2)), delay)]
    _, events = run_network(net, split_inputs(net, raster), syn, {"a": update})
    assert received == [(2 + delay, 3.0)]
    assert events["synaptic_events"] == 3 and events["neuron_updates"] == 24


def test_parameter_deviations_zero_for_identical_and_relative() -> None:
    net = _net()
    assert all(d.error == 0 for d in parameter_deviations(net, net))
    other = Network("n", net.inputs, (Population("a", 3, NEURON.replace(tau_m=0.022)),),
                    (Projection("x", "a", np.ones((3, 2)) * 1.1e-3),), dt=1e-3)
    devs = {(d.where, d.parameter): d for d in parameter_deviations(net, other)}
    assert devs[("a", "tau_m")].error == pytest.approx(0.1)
    assert devs[("x->a", "weights")].error == pytest.approx(0.1)


def test_round_half_away() -> None:
    assert round_half_away(np.array([0.5, 1.5, -0.5, -2.5, 2.4])).tolist() == \
        [1, 2, -1, -3, 2]


def test_a_network_without_inputs_is_rejected_clearly() -> None:
    net = Network("n", (), (Population("a", 1, NEURON),), (), dt=1e-3)
    with pytest.raises(ParamError, match="no input population"):
        split_inputs(net, np.zeros((10, 0), dtype=bool))
