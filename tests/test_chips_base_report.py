"""Acceptance of the chip flow: a network from a parameter file and one from NIR
run on all four chips; the report and the ``lifhw map`` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lifhw import nir_bridge
from lifhw.app.cli import main
from lifhw.chips import report
from lifhw.network import load_experiment
from tests.test_nir import snn_graph

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "circuits" / "networks" / "ei_small.toml"


@pytest.fixture(scope="module")
def file_report() -> report.Report:
    network, spikes = load_experiment(EXAMPLE)
    return report.evaluate(network, spikes[:500])


def test_file_network_runs_on_all_four_chips(file_report: report.Report) -> None:
    assert [r.chip for r in file_report.results] == list(report.ALL_CHIPS)
    for res in file_report.results:
        assert res.error == "", res.error
        assert res.metrics is not None and res.resources is not None
        assert res.energy is not None and res.energy.total_j > 0
        assert res.metrics.n_spikes_cand > 0
        # Every chip keeps the network's activity pattern (per-neuron counts).
        assert res.metrics.rate_correlation > 0.8, res.chip
        assert res.resources.fits
        assert not [v for v in res.violations if v.severity == "error"], res.chip


def test_fine_grained_chips_track_golden_closely(file_report: report.Report) -> None:
    by_chip = {r.chip: r for r in file_report.results}
    for chip in ("loihi", "spinnaker"):
        m = by_chip[chip].metrics
        assert m is not None
        assert abs(m.n_spikes_cand - m.n_spikes_ref) <= 0.05 * m.n_spikes_ref
        assert m.rate_correlation > 0.95


def test_tables_and_json(file_report: report.Report) -> None:
    rows = report.table(file_report)
    assert rows[0][0] == "chip" and len(rows) == 5
    params = report.parameter_table(file_report)
    assert any(row[0] == "exc.tau_m" for row in params)
    text = report.format_rows(rows)
    assert "loihi" in text and "energy" in text
    data = json.loads(json.dumps(report.to_dict(file_report), default=float))
    assert set(data["chips"]) == set(report.ALL_CHIPS)
    assert data["chips"]["loihi"]["energy"]["terms"][0]["source"].startswith("Davies")


def test_nir_network_runs_on_all_four_chips(tmp_path: Path) -> None:
    path = tmp_path / "snn.nir"
    import nir

    nir.write(path, snn_graph())
    network = nir_bridge.read(path, dt=1e-3)
    spikes = np.random.default_rng(1).random((400, 6)) < 0.2
    result = report.evaluate(network, spikes)
    for res in result.results:
        assert res.error == "", res.error
        assert res.metrics is not None
        assert math.isfinite(res.energy.total_j if res.energy else math.nan)
    golden_spikes = result.results[0].metrics.n_spikes_ref  # type: ignore[union-attr]
    assert golden_spikes > 10  # the inputs drive the network


def test_cli_map_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "map.png"
    assert main(["map", str(EXAMPLE), "--chip", "loihi", "--json", "--plot", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["chips"]) == ["loihi"]
    assert data["chips"]["loihi"]["resources"]["fits"]
    assert png.stat().st_size > 1000


def test_cli_map_nir_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import nir

    path = tmp_path / "snn.nir"
    nir.write(path, snn_graph())
    assert main(["map", str(path), "--chip", "spinnaker", "--t-stop", "200 ms",
                 "--rate", "100 Hz"]) == 0
    out = capsys.readouterr().out
    assert "spinnaker" in out and "200 steps" in out


def test_cli_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map", str(tmp_path / "missing.toml")]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\n[network]\nt_stop = "1 s"\n')
    assert main(["map", str(bad)]) == 2
    assert "lifhw: error" in capsys.readouterr().err


def test_cli_export_nir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "loihi.nir"
    assert main(["map", str(EXAMPLE), "--chip", "loihi", "--export-nir", str(out)]) == 0
    assert "NIR graph" in capsys.readouterr().out
    realised = nir_bridge.read(out)
    assert [p.name for p in realised.populations] == ["exc", "inh"]
    assert main(["map", str(EXAMPLE), "--chip", "all", "--export-nir", str(out)]) == 2


def test_demo_stage(tmp_path: Path) -> None:
    from lifhw.app.stages import chips as demo

    section = demo.run(tmp_path)
    # 6 comparison lines, then one placement line per chip
    assert section.ok and len(section.lines) == 6 + 4
    assert [line.split(" ")[0] for line in section.lines[6:]] == \
        ["loihi", "truenorth", "spinnaker", "brainscales"]
    assert "96 relay neurons" in section.lines[7]     # TrueNorth: exc reaches 2 axons
    assert len(section.figures) == 3
    assert all(fig.exists() and fig.stat().st_size > 1000 for fig in section.figures)
    assert section.table[0][0] == "chip" and len(section.table) == 5


def test_cli_map_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map", str(EXAMPLE), "--chip", "loihi", "--option", "num_weight_bits=6",
                 "--option", "refractory=true", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["chips"]["loihi"]["error"] == ""
    assert main(["map", str(EXAMPLE), "--chip", "loihi", "--option", "bits=6"]) == 2
    assert "options: vth, num_weight_bits, refractory" in capsys.readouterr().err
    assert main(["map", str(EXAMPLE), "--option", "vth=3"]) == 2
