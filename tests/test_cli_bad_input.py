"""Bad input on the command line: one error line naming the file or option, exit status 2,
nothing written or lost (the regression cases of the bad-input audit)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lifhw.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "circuits" / "lif_demo.toml"
CORE = ROOT / "circuits" / "lif_core_default.toml"
NETWORK = ROOT / "circuits" / "networks" / "ei_small.toml"
OTA = ROOT / "circuits" / "ota_lif_behavioral.toml"

NEURON = """
[neuron]
tau_m = "20 ms"
r_m = "100 MOhm"
v_rest = "-65 mV"
v_th = "-50 mV"
v_reset = "-65 mV"
t_ref = "2 ms"
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``lifhw argv`` (in-process)."""
    try:
        code = main(list(argv))
    except SystemExit as stop:  # argparse
        code = stop.code if isinstance(stop.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys: pytest.CaptureFixture[str], *argv: str, names: str) -> str:
    """Assert the usage/user error contract and return the error line."""
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert names in lines[0], lines[0]
    return lines[0]


def golden_file(tmp_path: Path, stimulus: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'name = "p"\n{NEURON}\n[stimulus]\n{stimulus}\n')
    return path


def spec_file(tmp_path: Path, name: str = "sw", axis: str = 'lin = ["100 pA", "400 pA"], n = 2',
              extra: str = "", file: str = "sw.toml") -> Path:
    base = golden_file(tmp_path, 'kind = "step"\namplitude = "200 pA"\nt_stop = "20 ms"',
                       name="base.toml")
    path = tmp_path / file
    path.write_text(f'name = "{name}"\nbase = "{base.name}"\nbackend = "golden"\n'
                    f'metrics = ["rate_hz"]\n{extra}\n[axes]\n'
                    f'"stimulus.amplitude" = {{ {axis} }}\n')
    return path


# -- sweeps ----------------------------------------------------------------------------


def make_db(path: Path) -> Path:
    from lifhw.sweep.db import ResultsDB

    with ResultsDB(path) as store:
        store.record_sweep("sw", "/elsewhere/sw.toml", "golden", ["rate_hz"], {})
        store.record(key="k1", params={"a": 1}, status="done", metrics={"rate_hz": 5.0},
                     error=None, seconds=0.1, sweep="sw", backend="golden",
                     axes={"stimulus.amplitude": 1e-10}, point_index=0)
    return path


def test_export_refuses_to_overwrite_its_database(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    db = make_db(tmp_path / "r.sqlite")
    before = db.read_bytes()
    refused(capsys, "sweep", "export", str(db), "--csv", "-o", str(db), names=str(db))
    refused(capsys, "sweep", "export", str(db), "--csv", "-o", f"{db}-wal", names="-wal")
    assert db.read_bytes() == before
    with sqlite3.connect(db) as conn:  # still a database
        assert conn.execute("SELECT count(*) FROM points").fetchone()[0] == 1


@pytest.mark.parametrize("value", ["nan", "0", "-1", "inf", "-inf", "ten", "1e400"])
def test_timeouts_must_be_finite_and_positive(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path, value: str) -> None:
    spec = spec_file(tmp_path)
    refused(capsys, "sweep", str(spec), "--timeout", value, names="--timeout")
    refused(capsys, "simulate", str(OTA), "--timeout", value, names="--timeout")
    assert not (tmp_path / "sw.sqlite").exists()


def test_sweep_timeout_accepts_a_duration(tmp_path: Path) -> None:
    from lifhw.app.options import quantity

    assert quantity("s", gt=0)("90 s") == 90.0
    assert quantity("s", gt=0)("2 ms") == 2e-3


def test_run_sweep_refuses_a_nan_timeout(tmp_path: Path) -> None:
    from lifhw.errors import LifhwError
    from lifhw.sweep.engine import run_sweep

    with pytest.raises(LifhwError, match="timeout"):
        run_sweep(spec_file(tmp_path), timeout=float("nan"), progress=False)
    assert not (tmp_path / "sw.sqlite").exists()


def test_axis_count_is_checked_before_expansion(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    spec = spec_file(tmp_path, axis='lin = ["100 pA", "400 pA"], n = 1000000000')
    refused(capsys, "sweep", str(spec), names="axes.stimulus.amplitude.n")
    # Two axes within the limit each, over it together: refused at the second axis.
    text = spec.read_text().replace("n = 1000000000", "n = 2000") \
        + '"neuron.tau_m" = { lin = ["10 ms", "20 ms"], n = 1000 }\n'
    spec.write_text(text)
    refused(capsys, "sweep", str(spec), names="2000000 points")


def test_dask_address_is_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    refused(capsys, "sweep", str(spec_file(tmp_path)), "--dask", "not a url",
            "--db", str(tmp_path / "d.sqlite"), names="--dask")


def test_workers_must_be_positive(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    refused(capsys, "sweep", str(spec_file(tmp_path)), "--workers", "0", names="--workers")


def test_resume_with_another_sweep_name_is_refused(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    db = make_db(tmp_path / "r.sqlite")
    other = spec_file(tmp_path, name="other")
    line = refused(capsys, "sweep", str(other), "--resume", "--db", str(db), "-q",
                   names="--resume")
    assert "'other'" in line and "sw" in line
    # The same name from another spec file would merge with it in plots.
    same = spec_file(tmp_path, name="sw", file="sw2.toml")
    refused(capsys, "sweep", str(same), "--db", str(db), "-q", names="already holds sweep 'sw'")


def test_no_plugins_refuses_a_spec_with_plugins(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    (tmp_path / "evil_plugin.py").write_text(
        "from pathlib import Path\nPath('imported').write_text('ran')\n")
    spec = spec_file(tmp_path, extra='plugins = ["evil_plugin"]')
    refused(capsys, "sweep", str(spec), "--no-plugins", "--db", str(tmp_path / "x.sqlite"),
            names="plugins")
    assert not (tmp_path / "imported").exists()
    assert not Path("imported").exists()


def test_tampered_database_json_names_point_and_column(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    db = make_db(tmp_path / "r.sqlite")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE points SET metrics = '{not json'")
    refused(capsys, "sweep", "export", str(db), "--csv", "-o", str(tmp_path / "o.csv"),
            names="column 'metrics'")
    refused(capsys, "plot", str(db), "-o", str(tmp_path / "plots"), names="'k1'")
    assert not (tmp_path / "o.csv").exists()


# -- memory budget -----------------------------------------------------------------------


@pytest.mark.parametrize("stimulus", [
    'kind = "step"\namplitude = "200 pA"\nt_stop = "1e6 s"',
    'kind = "step"\namplitude = "200 pA"\nt_stop = "1 s"\ndt = "1 fs"',
    'kind = "poisson"\nrate = "1e9 Hz"\nweight = 1e-3\nt_stop = "1 s"',
])
def test_golden_refuses_a_huge_allocation(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          stimulus: str) -> None:
    path = golden_file(tmp_path, stimulus)
    line = refused(capsys, "golden", str(path), names=str(path))
    assert "memory budget of 4 GiB" in line and "needs an estimated" in line
    assert "stimulus." in line


def test_budget_is_configurable(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = golden_file(tmp_path, 'kind = "step"\namplitude = "200 pA"\nt_stop = "1 s"')
    monkeypatch.setenv("LIFHW_MEMORY_BUDGET", "64 KiB")
    line = refused(capsys, "golden", str(path), names="memory budget of 64 KiB")
    assert "LIFHW_MEMORY_BUDGET" in line
    monkeypatch.setenv("LIFHW_MEMORY_BUDGET", "lots")
    refused(capsys, "golden", str(path), names="LIFHW_MEMORY_BUDGET")
    monkeypatch.setenv("LIFHW_MEMORY_BUDGET", "16 MiB")
    assert run(capsys, "golden", str(path))[0] == 0
    refused(capsys, "--memory-budget", "1 KiB", "golden", str(path), names="1 KiB")
    refused(capsys, "--memory-budget", "x", "golden", str(path), names="--memory-budget")


def test_budget_sizes() -> None:
    from lifhw.budget import parse_size

    assert parse_size("4 GiB") == 4 * 2**30
    assert parse_size("8G") == 8 * 2**30
    assert parse_size("2 GB") == 2 * 10**9
    assert parse_size("1e6") == 10**6
    assert parse_size("none") == 0


def test_map_refuses_a_huge_population(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text(NETWORK.read_text().replace("size = 48\n", "size = 10000000\n"))
    line = refused(capsys, "map", str(path), "--chip", "loihi", names=str(path))
    assert "10000016 neurons" in line and "memory budget" in line


def test_rtl_test_refuses_a_huge_regression(capsys: pytest.CaptureFixture[str]) -> None:
    refused(capsys, "rtl", "test", str(CORE), "--updates", "1000000000", names="--updates")


def test_snn_train_refuses_huge_layers(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    refused(capsys, "snn", "train", "--hidden", "100000000", names="memory budget")
    refused(capsys, "snn", "train", "--steps", "100000000", names="memory budget")
    assert list(tmp_path.iterdir()) == []


# -- parameter files ---------------------------------------------------------------------


def test_fifo_parameter_file_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "lifhw", "check", str(fifo)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert proc.returncode == 2
    assert "not a regular file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_toml(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                            depth: int) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * depth + "]" * depth + "\n")
    refused(capsys, "check", str(path), names="nested too deeply")


def test_nan_in_stimulus_csv_is_refused(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    (tmp_path / "i.csv").write_text("t,i\n0,1e-10\n0.01,nan\n0.02,2e-10\n")
    path = golden_file(tmp_path, 'kind = "file"\npath = "i.csv"\nt_stop = "50 ms"')
    line = refused(capsys, "golden", str(path), names=str(path))
    assert "stimulus.path" in line and "i.csv" in line and "line 3, column 2" in line


def test_stimulus_csv_errors_do_not_echo_the_file(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    (tmp_path / "i.csv").write_text("t,i\n0,hunter2-secret\n")
    path = golden_file(tmp_path, 'kind = "file"\npath = "i.csv"\nt_stop = "50 ms"')
    line = refused(capsys, "golden", str(path), names="stimulus.path")
    assert "hunter2" not in line and "line 2" in line


def test_stimulus_csv_still_reads_header_and_comments(tmp_path: Path) -> None:
    from lifhw.stimulus import read_current_csv

    path = tmp_path / "i.csv"
    path.write_text("# a comment\ntime_s,current_a\n0,1e-10\n\n0.01,2e-10\n")
    times, currents = read_current_csv(path)
    assert times.tolist() == [0.0, 0.01] and currents.tolist() == [1e-10, 2e-10]


# -- options -----------------------------------------------------------------------------


def test_map_options_are_typed_strictly(capsys: pytest.CaptureFixture[str]) -> None:
    from lifhw.app.commands.chips import _parse_options

    assert _parse_options(["refractory=False"], "loihi") == {"refractory": False}
    assert _parse_options(["refractory=true"], "loihi") == {"refractory": True}
    assert _parse_options(["num_weight_bits=6", "vth=100"], "loihi") == {
        "num_weight_bits": 6, "vth": 100}
    assert _parse_options(["spread=0.1"], "brainscales") == {"spread": 0.1}
    for bad in ("refractory=yes", "refractory=1", "vth=1.5", "num_weight_bits=nan",
                "bogus=1"):
        refused(capsys, "map", str(NETWORK), "--chip", "loihi", "--option", bad,
                names="--option")


@pytest.mark.parametrize("argv", [
    ("rtl", "test", str(CORE), "--updates", "0"),
    ("rtl", "test", str(CORE), "--updates", "-5"),
    ("rtl", "test", str(CORE), "--seed", "-1"),
    ("rtl", "test", str(CORE), "--seed", "1.5"),
    ("snn", "train", "--hidden", "0"),
    ("snn", "train", "--hidden", "-5"),
    ("snn", "train", "--steps", "0"),
    ("snn", "train", "--steps", "1e8"),
    ("snn", "train", "--lr", "nan"),
    ("snn", "train", "--lr", "-1"),
    ("snn", "train", "--epochs", "-1"),
    ("snn", "deploy", "--samples", "-1"),
    ("snn", "deploy", "--dt", "0"),
    ("map", str(NETWORK), "--seed", "-1"),
])
def test_numeric_options_are_checked(capsys: pytest.CaptureFixture[str],
                                     argv: tuple[str, ...]) -> None:
    refused(capsys, *argv, names=f"argument {argv[-2]}")


def test_bad_lifhw_seed(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIFHW_SEED", "abc")
    refused(capsys, "rtl", "test", str(CORE), "--updates", "10", names="LIFHW_SEED")
    assert list(tmp_path.iterdir()) == []


def test_siegert_with_tiny_sigma_reports_instead_of_tracing_back(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "siegert", "--mu", "15 mV", "--sigma", "1e-300 V", "--json")
    assert code == 0 and "Traceback" not in err
    assert '"rate_hz": 0.0' in out and "too small for the grid solver" in out


# -- output paths ------------------------------------------------------------------------


def test_output_paths_that_cannot_be_written(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    existing = tmp_path / "a_file"
    existing.write_text("keep me")
    folder = tmp_path / "a_dir.nir"
    folder.mkdir()
    db = make_db(tmp_path / "r.sqlite")
    refused(capsys, "rtl", "generate", str(CORE), "-o", str(existing), names="-o")
    refused(capsys, "rtl", "test", str(CORE), "-o", str(existing), names="-o")
    refused(capsys, "plot", str(db), "-o", str(existing), names="-o")
    refused(capsys, "netlist", str(OTA), "-o", str(existing / "sub"), names="is a file")
    refused(capsys, "golden", str(DEMO), "--plot", str(tmp_path / "out.xyz"), names=".xyz")
    refused(capsys, "golden", str(DEMO), "--plot", str(folder), names="is a directory")
    refused(capsys, "map", str(NETWORK), "--chip", "loihi", "--export-nir", str(folder),
            names="--export-nir")
    refused(capsys, "snn", "train", "-o", str(folder), names="-o")
    assert existing.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir.nir", "a_file", "r.sqlite"]
    assert list(folder.iterdir()) == []


def test_non_hdf5_nir_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "net.nir"
    bad.write_text("not a graph")
    refused(capsys, "map", str(bad), "--chip", "loihi", names=str(bad))


def test_tampered_snn_model_names_file_and_field(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    import json

    from lifhw.snn import export

    weights = [np.full((3, 4), 0.1), np.full((2, 3), 0.2)]
    net = export.to_network(weights, [np.zeros(3), np.zeros(2)], tau_m=0.02, dt=1e-3)
    good = export.save_model(tmp_path / "m.npz", net, {"n_steps": 4, "encoding": "rate"})
    with np.load(good) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(str(arrays["header"]))
    header["populations"][0][2]["tau_m"] = "fast"
    np.savez(tmp_path / "bad_header.npz", **{**arrays, "header": np.array(json.dumps(header))})
    line = refused(capsys, "snn", "deploy", str(tmp_path / "bad_header.npz"),
                   names="bad_header.npz")
    assert "header.populations" in line
    np.savez(tmp_path / "nan.npz", **{**arrays, "weights_0": np.full((3, 4), np.nan)})
    refused(capsys, "snn", "deploy", str(tmp_path / "nan.npz"), names="weights_0")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    refused(capsys, "snn", "deploy", str(tmp_path / "junk.npz"), names="junk.npz")


def test_a_nan_network_is_not_saved(tmp_path: Path) -> None:
    from lifhw.errors import ParamError
    from lifhw.snn import export

    net = export.to_network([np.full((2, 3), np.nan)], [np.zeros(2)], tau_m=0.02, dt=1e-3)
    with pytest.raises(ParamError, match="NaN or infinite weights"):
        export.save_model(tmp_path / "m.npz", net, {})
    assert not (tmp_path / "m.npz").exists()


# -- silent wrong results ----------------------------------------------------------------


def test_deploy_status_is_nonzero_when_a_target_fails(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    from lifhw.app.commands.snn import _exit_status
    from lifhw.snn.deploy import DeployResult, _guard

    def broken() -> DeployResult:
        raise RuntimeError("simulator missing")

    failed = _guard("loihi", broken)
    assert failed.failed and not DeployResult("float", accuracy=0.9).failed
    assert _exit_status([DeployResult("float", accuracy=0.9), failed]) == 1
    assert "failed on loihi" in capsys.readouterr().err
    assert _exit_status([DeployResult("float", accuracy=0.9)]) == 0


def test_map_fails_on_a_design_rule_error(capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from lifhw.chips import loihi
    from lifhw.chips.base import Violation

    real = loihi.check
    monkeypatch.setattr(loihi, "check", lambda config: [
        *real(config), Violation("synapse_memory", "too many synapses", severity="error")])
    code, out, err = run(capsys, "map", str(NETWORK), "--chip", "loihi")
    assert code == 2 and "error: synapse_memory" in out
    assert "design-rule error" in err and str(NETWORK) in err
    assert err.count("\n") == 1


def test_rtl_log_goes_to_the_build_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    from lifhw.chips import rtl

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIFHW_BUILD_DIR", str(tmp_path / "b"))
    with rtl.quiet(None):
        pass
    with rtl.quiet(tmp_path / "given"):
        pass
    assert (tmp_path / "b" / "rtl" / "snn_rtl.log").exists()
    assert (tmp_path / "given" / "snn_rtl.log").exists()
    assert not (tmp_path / "build").exists()


def test_siegert_far_above_threshold_is_the_refractory_limit(
        capsys: pytest.CaptureFixture[str]) -> None:
    """mu -> infinity: the free time vanishes and the rate tends to 1 / t_ref (was NaN)."""
    code, out, err = run(capsys, "siegert", "--mu", "1e300 V", "--sigma", "5 mV",
                         "--t-ref", "2 ms", "--json")
    assert code == 0 and "Traceback" not in err
    assert '"rate_hz": 500.0' in out


@pytest.mark.parametrize("t_ref", ["1e300 s", "1e30 s"])
def test_refractory_longer_than_the_run_holds_to_the_end(
        t_ref: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A refractory period whose step count overflows an integer: the neuron fires at
    most once (the first crossing) and stays reset, no traceback (found by the fuzz test)."""
    text = (ROOT / "circuits" / "lif_demo.toml").read_text()
    text = re.sub(r'(?m)^t_ref = .*$', f't_ref = "{t_ref}"', text)
    path = tmp_path / "long_ref.toml"
    path.write_text(text)
    code, out, err = run(capsys, "golden", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["n_spikes"] <= 1


def test_layout_of_an_absurd_capacitor_is_one_error_not_a_hang(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A MIM capacitor of 1e300 F: the array size was counted up one square at a time
    (a hang); it is now solved in closed form and refused above 1 uF."""
    text = (ROOT / "circuits" / "ota_lif_sky130_lp.toml").read_text()
    text = re.sub(r'(?m)^membrane_capacitance = .*$', 'membrane_capacitance = "1e300 F"', text)
    path = tmp_path / "huge_c.toml"
    path.write_text(text)
    code, _out, err = run(capsys, "layout", str(path))
    assert code == 2 and str(path) in err and "MIM" in err
    assert err.count("\n") == 1


def test_mim_array_size_is_the_smallest_that_fits() -> None:
    """Closed-form array size against the definition: the smallest k whose squares
    k^2 ca (s + dw)^2 = C have s <= the largest side."""
    import math

    from lifhw.analog import devices as dv

    for c in np.geomspace(1e-15, 1e-6, 997):
        side, k = dv.mim_geometry(float(c))
        side_um = side * 1e6
        assert side_um <= dv.MIM_MAX_SIDE_UM + 1e-9
        assert math.isclose(k * k * dv.MIM_DENSITY_F_PER_UM2 * (side_um + dv.MIM_GROWTH_UM) ** 2,
                            c, rel_tol=1e-12)
        if k > 1:
            wider = math.sqrt(c / (k - 1) ** 2 / dv.MIM_DENSITY_F_PER_UM2) - dv.MIM_GROWTH_UM
            assert wider > dv.MIM_MAX_SIDE_UM
