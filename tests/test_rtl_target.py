"""The RTL population core as the ``rtl`` hardware target (:mod:`lifhw.chips.rtl`).

Mapping numbers are derived by hand from the formulas of the module docstring;
runs are checked against the core's NumPy twin (an independent implementation
of the core, itself tested against the Verilog in tests/test_digital.py), the
golden float network, and closed-form delay shifts.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from lifhw.app.cli import main
from lifhw.chips import rtl
from lifhw.chips.report import Report, evaluate_chip, table
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.fixedpoint import population_run
from lifhw.golden.network import simulate_network
from lifhw.network import InputPopulation, Network, Population, Projection
from lifhw.snn import rtl as snn_rtl
from lifhw.testing import require_tool
from tests.test_targets_conformance import small_network

NEURON = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065)


def one_neuron(weight: float = 3e-3, bias: float = 5e-11, delay: int = 1) -> Network:
    return Network("one", (InputPopulation("x", 1),),
                   (Population("n", 1, NEURON, bias=np.array([bias])),),
                   (Projection("x", "n", np.array([[weight]]), delay),), dt=1e-3)


def test_mapping_of_one_neuron_by_hand() -> None:
    # p = exp(-1/20) = 0.951229; the largest |p w| = 2.853688 mV must use the full
    # 8-bit range 127: threshold target 15 mV * 127 / 2.853688 mV = 667.55 LSB,
    # headroom 667.55 / 32767, so V_TH = floor(667.55) = 667, lsb = 15 mV / 667.
    # Weight round(2.853688 / 0.022489) = round(126.89) = 127; leak
    # d = round((1 - p) 4096) = round(199.77) = 200; bias with the realised leak
    # p_r = 1 - 200/4096: round(0.048828 * 1e8 * 50 pA / lsb) = round(10.856) = 11.
    spec = rtl.map(one_neuron())
    assert spec.populations["n"]["v_th"] == pytest.approx(667.55, abs=0.01)
    config = rtl.quantize(spec)
    layer = config.layer("n")
    assert layer.core.v_th == 667 and layer.lsb == pytest.approx(0.015 / 667, rel=1e-12)
    assert layer.weights.tolist() == [[127]] and layer.bias.tolist() == [11]
    assert layer.core.leak == "multiply" and layer.core.leak_d == 200
    assert layer.core.frac_bits == 12 and layer.core.w_w == 8
    assert rtl.check(config) == []


def test_dequantize_inverts_the_mapping() -> None:
    realised = rtl.dequantize(rtl.quantize(rtl.map(one_neuron())))
    p_r = 1 - 200 / 4096
    neuron = realised.population("n").neuron
    assert neuron.tau_m == pytest.approx(-1e-3 / math.log(p_r), rel=1e-9)   # 19.98 ms
    assert neuron.v_th - neuron.v_rest == pytest.approx(0.015, rel=1e-9)
    lsb = 0.015 / 667
    assert realised.projections[0].weights[0, 0] == pytest.approx(127 * lsb / p_r, rel=1e-9)
    assert realised.population("n").bias[0] == pytest.approx(
        11 * lsb / ((1 - p_r) * 1e8), rel=1e-9)


def test_clipped_bias_is_a_warning() -> None:
    # 20 nA: round(0.048828 * 1e8 * 20 nA / (15 mV / 667)) = 4343 > 2047 (12 bits).
    config = rtl.quantize(rtl.map(one_neuron(bias=2e-8)))
    assert config.layer("n").bias.tolist() == [2047]
    found = rtl.check(config)
    assert [(v.rule, v.severity, v.where) for v in found] == [("bias_clipped", "warning", "n")]


def test_network_it_cannot_run_is_refused_with_the_population_named() -> None:
    current = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.065, v_th=-0.05, v_reset=-0.065,
                        tau_syn_exc=0.005)
    net = Network("cur", (InputPopulation("x", 1),), (Population("c", 1, current),),
                  (Projection("x", "c", np.ones((1, 1)) * 1e-10),), dt=1e-3)
    with pytest.raises(ParamError, match="delta synapses only") as err:
        rtl.map(net)
    assert err.value.path == "c"
    recurrent = Network("rec", (InputPopulation("x", 1),), (Population("a", 2, NEURON),),
                        (Projection("x", "a", np.ones((2, 1)) * 1e-3),
                         Projection("a", "a", np.ones((2, 2)) * 1e-3)), dt=1e-3)
    config = rtl.quantize(rtl.map(recurrent))
    [violation] = rtl.check(config)
    assert (violation.rule, violation.severity, violation.where) == ("feed_forward", "error",
                                                                      "a")
    with pytest.raises(ParamError, match="feed_forward"):
        rtl.simulate(config, np.zeros((5, 1), bool), sim="twin")


def test_delay_is_a_shift_of_the_input_lines() -> None:
    spikes = np.zeros((40, 1), bool)
    spikes[[3, 4, 5, 6, 20, 38]] = True
    for d in (1, 4):
        config = rtl.quantize(rtl.map(one_neuron(delay=d)))
        run = rtl.simulate(config, spikes, record_states=True, sim="twin")
        # By hand: the core (2 x 2 at least) with the input line shifted by d steps.
        layer = config.layer("n")
        shifted = np.zeros((40, 2), bool)
        shifted[d:, 0] = spikes[:-d, 0]
        weights = np.zeros((2, 2), np.int64)
        weights[0, 0] = layer.weights[0, 0]
        core = dataclasses.replace(layer.core, n_neurons=2, n_inputs=2)
        want = population_run(core.fixed(), weights, shifted, np.array([layer.bias[0], 0]))
        assert np.array_equal(run.states["n"]["v"][:, 0], want.v[:, 0]), d
        assert np.array_equal(run.spikes["n"][:, 0], want.spike[:, 0]), d
        # A spike of step k is delivered in step k + d < T: the one at 38 only for d = 1.
        assert run.events["synaptic_events"] == (6 if d == 1 else 5)


def test_the_verilog_equals_its_twin_and_tracks_golden() -> None:
    require_tool("verilator")
    network, spikes = small_network()
    config = rtl.quantize(rtl.map(network))
    on_rtl = rtl.simulate(config, spikes, record_states=True)
    twin = rtl.simulate(config, spikes, record_states=True, sim="twin")
    for pop in network.populations:
        assert np.array_equal(on_rtl.spikes[pop.name], twin.spikes[pop.name])
        assert np.array_equal(on_rtl.states[pop.name]["v"], twin.states[pop.name]["v"])
    assert on_rtl.events == twin.events
    golden = simulate_network(network, spikes)
    result = evaluate_chip("rtl", network, spikes, golden)
    assert result.error == "" and result.metrics is not None
    assert result.metrics.rate_correlation > 0.95
    assert result.energy is not None and not result.energy.available
    assert result.resources is not None and result.resources.extra["row_bits"] == (8 * 8 + 12,
                                                                                     8192)
    row = table(Report(network=network, golden=golden, results=[result]))[1]
    assert row[0] == "rtl" and row[-1] == "n/a"


def test_batched_deployment_equals_one_sample_at_a_time() -> None:
    network, _ = small_network()
    x = np.random.default_rng(5).random((120, 7, 8)) < 0.1
    batched, layers = snn_rtl.run_on_rtl(network, x, engine="twin", max_batch=3)
    config = rtl.quantize(rtl.map(network))
    assert [layer.name for layer in layers] == [layer.name for layer in config.layers]
    for i in range(x.shape[1]):
        one = rtl.simulate(config, x[:, i], sim="twin")
        for name, raster in one.spikes.items():
            assert np.array_equal(batched[name][:, i], raster), (name, i)


def test_cli_map_chip_rtl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("verilator")
    path = tmp_path / "ff.toml"
    path.write_text("""
name = "ff"
[network]
dt = "1 ms"
t_stop = "300 ms"
seed = 2
[network.inputs.stim]
size = 8
rate = "100 Hz"
[network.populations.h]
size = 6
[network.populations.h.neuron]
tau_m = "20 ms"
r_m = "100 MOhm"
v_rest = "-65 mV"
v_th = "-50 mV"
v_reset = "-65 mV"
[[network.projections]]
pre = "stim"
post = "h"
distribution = "uniform"
scale = "3 mV"
spread = 0.9
seed = 1
""")
    assert main(["map", str(path), "--chip", "rtl", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    entry = data["chips"]["rtl"]
    assert entry["error"] == "" and entry["metrics"]["rate_correlation"] > 0.9
    assert entry["energy"]["available"] is False and entry["energy"]["total_j"] is None
    assert entry["resources"]["fits"] is True
