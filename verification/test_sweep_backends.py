"""RTL and chip points through the sweep engine.

RTL: the generated Verilog is bit-exact, so the spike count stored for a point
must equal the fixed-point golden model's (:func:`lifhw.golden.fixedpoint.run`)
on the same integer inputs; its yosys area is the digital flow's synthesis.
Chips: the stored metrics are the chip flow's own comparison with the float
golden network, and more bias gives more spikes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifhw.golden import fixedpoint
from lifhw.params import load_mapping, read_toml
from lifhw.sweep.backends import _sample_current
from lifhw.sweep.db import ResultsDB
from lifhw.sweep.engine import run_sweep
from lifhw.testing import require_tool
from tests.test_sweep import ROOT


def test_rtl_points_are_bit_exact_with_fixed_point_golden(tmp_path: Path) -> None:
    require_tool("verilator")
    require_tool("yosys")
    base = read_toml(ROOT / "circuits" / "lif_core_default.toml")
    base["stimulus"] = {"kind": "constant", "amplitude": "300 pA", "t_stop": "200 ms"}
    (tmp_path / "core.toml").write_text(_toml(base))
    spec = tmp_path / "rtl.toml"
    spec.write_text("""
name = "rtl"
base = "core.toml"
backend = "rtl"
metrics = ["n_spikes", "rate_hz", "isi_error", "gate_equivalents", "cells"]
timeout = "900 s"
[axes]
"stimulus.amplitude" = ["250 pA", "400 pA"]
""")
    summary = run_sweep(spec, workers=1, progress=False)
    assert (summary.done, summary.failed) == (2, 0), summary.errors
    with ResultsDB(tmp_path / "rtl.sqlite", create=False) as store:
        rows = store.rows()
    for row in rows:
        raw = dict(base)
        raw["stimulus"] = {**base["stimulus"], "amplitude": row["axes"]["stimulus.amplitude"]}
        pf = load_mapping(raw)
        core = pf.core
        p = core.fixed()
        n_steps = round(pf.stimulus.t_stop / core.dt)
        current = _sample_current(pf.stimulus, core.dt, n_steps)
        lo, hi = -(1 << (p.w_i - 1)), (1 << (p.w_i - 1)) - 1
        i_in = np.clip(np.asarray(p.current_to_input(current, lsb=core.v_lsb, r_m=core.r_m)),
                       lo, hi).astype(np.int64).reshape(-1, 1)
        expected = int(np.asarray(fixedpoint.run(p, i_in).spike).sum())
        assert row["metrics"]["n_spikes"] == expected > 0
        assert abs(row["metrics"]["isi_error"]) < 0.1
    # yosys area of the core: what the digital flow's synthesis reports; the 16-bit
    # shift-leak datapath is a few hundred NAND2 equivalents (TOOLCHAIN.md: ~400).
    from lifhw.digital.synth import synthesize

    area = synthesize(load_mapping(base))
    for row in rows:
        assert row["metrics"]["gate_equivalents"] == pytest.approx(area.gate_equivalents)
        assert 100 < row["metrics"]["gate_equivalents"] < 2000
        assert row["metrics"]["cells"] == area.logic_cells + area.flip_flops


def _toml(data: dict) -> str:
    lines = []
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {_value(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {_value(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_chip_points_match_the_chip_flow(tmp_path: Path) -> None:
    from lifhw.chips.report import evaluate_chip
    from lifhw.golden.network import simulate_network

    base = ROOT / "circuits" / "networks" / "ei_small.toml"
    spec = tmp_path / "chip.toml"
    spec.write_text(f"""
name = "chip"
base = "{base}"
backend = "loihi"
metrics = ["n_spikes", "rate_correlation", "energy_per_spike_j", "cores_used",
           "core_spikes_per_s"]
[axes]
"network.populations.exc.bias" = ["40 pA", "80 pA"]
""")
    summary = run_sweep(spec, workers=2, progress=False)
    assert (summary.done, summary.failed) == (2, 0), summary.errors
    with ResultsDB(tmp_path / "chip.sqlite", create=False) as store:
        rows = {r["axes"]["network.populations.exc.bias"]: r["metrics"] for r in store.rows()}
    assert rows["80 pA"]["n_spikes"] > rows["40 pA"]["n_spikes"] > 0
    raw = read_toml(base)
    raw["network"]["populations"]["exc"]["bias"] = "80 pA"
    pf = load_mapping(raw, base_dir=base.parent)
    network, spikes = pf.network.network(pf.name), pf.network.input_spikes()
    direct = evaluate_chip("loihi", network, spikes, simulate_network(network, spikes))
    assert direct.metrics is not None and direct.energy is not None
    assert rows["80 pA"]["n_spikes"] == direct.metrics.n_spikes_cand
    assert rows["80 pA"]["rate_correlation"] == pytest.approx(direct.metrics.rate_correlation)
    assert rows["80 pA"]["energy_per_spike_j"] == pytest.approx(
        direct.energy.total_j / direct.metrics.n_spikes_cand)
    # ei_small on Loihi: exc (48) and inh (16) on one neuro-core each; exc->exc stays
    # on its core, so every other spike (exc->inh, inh->exc) is one inter-core packet
    assert rows["80 pA"]["cores_used"] == 2
    assert direct.run is not None
    assert rows["80 pA"]["core_spikes_per_s"] == pytest.approx(
        direct.metrics.n_spikes_cand / direct.run.t_stop)
