"""An ngspice sweep of the behavioural OTA-C neuron through the engine.

The stored rates must rise with the input current (a relation every LIF obeys)
and agree with the golden LIF the circuit nominally realises within the
behavioural netlist's tanh-leak deviation (a few percent at these drives); the
leak-step tau is C / g_m (g_m = kappa I_b / 2 U_T); the GDS of each point is
written on request and the area grows with C.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lifhw.golden.fi import lif_rate
from lifhw.params import load_mapping
from lifhw.sweep.db import ResultsDB
from lifhw.sweep.engine import run_sweep
from lifhw.testing import require_tool
from tests.test_sweep import ROOT


def test_behavioural_ngspice_sweep(tmp_path: Path) -> None:
    require_tool("ngspice")
    base = ROOT / "circuits" / "ota_lif_behavioral.toml"
    spec = tmp_path / "ng.toml"
    spec.write_text(f"""
name = "ng"
base = "{base}"
backend = "ngspice"
metrics = ["rate_hz", "isi_error", "tau_s", "area_um2", "tau_step_s"]
timeout = "120 s"
[axes]
"circuit.membrane_capacitance" = ["1 pF", "2 pF"]
"stimulus.amplitude" = ["15 pA", "30 pA"]
""")
    summary = run_sweep(spec, workers=2, progress=False, gds=True)
    assert (summary.done, summary.failed) == (4, 0), summary.errors
    with ResultsDB(tmp_path / "ng.sqlite", create=False) as store:
        rows = store.rows()
    by_axes = {(r["axes"]["circuit.membrane_capacitance"], r["axes"]["stimulus.amplitude"]):
               r for r in rows}
    for cap in ("1 pF", "2 pF"):
        low, high = by_axes[(cap, "15 pA")], by_axes[(cap, "30 pA")]
        assert high["metrics"]["rate_hz"] > low["metrics"]["rate_hz"] > 0
        assert by_axes[("2 pF", "15 pA")]["metrics"]["area_um2"] > \
            by_axes[("1 pF", "15 pA")]["metrics"]["area_um2"]
    for row in rows:
        pf = load_mapping(_raw(row["params"]))
        expected = float(lif_rate(pf.stimulus.amplitude, **pf.lif.as_kwargs()))
        assert row["metrics"]["rate_hz"] == pytest.approx(expected, rel=0.08)
        assert abs(row["metrics"]["isi_error"]) < 0.08
        assert (tmp_path / "ng_gds" / f"{row['key']}.gds").stat().st_size > 10_000
        # The behavioural leak is the ideal tanh OTA: small-signal tau = C / g_m.
        assert row["metrics"]["tau_step_s"] == pytest.approx(pf.circuit.tau_m, rel=0.01)


def _raw(plain: dict) -> dict:
    """A stored (normalised, SI) parameter set back into a loadable mapping."""
    out = {"name": plain["name"]}
    for section in ("circuit", "stimulus"):
        table = {k: v for k, v in plain[section].items() if v is not None}
        out[section] = table
    return out
