"""Parameter estimation from synthetic recordings with known LIF parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifhw.app.cli import main
from lifhw.errors import ParamError
from lifhw.golden.estimate import (
    detect_spikes,
    estimate_lif_parameters,
    load_trace,
    synthetic_recording,
)

TRUE = {"v_th": -0.050, "v_reset": -0.065, "t_ref": 0.002, "tau_m": 0.02}

# (sample_dt, filter_tau): plain 10 kHz, coarse 2 kHz, 5 kHz through a 0.2 ms filter.
SETUPS = [(1e-4, 0.0), (5e-4, 0.0), (2e-4, 2e-4)]


@pytest.mark.parametrize(("sample_dt", "filter_tau"), SETUPS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recovers_threshold_and_reset_within_1mv(sample_dt: float, filter_tau: float,
                                                 seed: int) -> None:
    t, v, true_spikes = synthetic_recording(t_stop=1.5, sample_dt=sample_dt,
                                            noise_std=0.5e-3, filter_tau=filter_tau,
                                            seed=seed)
    assert len(true_spikes) >= 50
    est = estimate_lif_parameters(t, v, filter_tau=filter_tau)
    assert est.n_spikes >= 45
    assert abs(est.v_th - TRUE["v_th"]) < 1e-3
    assert abs(est.v_reset - TRUE["v_reset"]) < 1e-3
    # In practice much better than the 1 mV requirement; the SEs are honest.
    assert abs(est.v_th - TRUE["v_th"]) < 5 * est.v_th_se + 2e-4
    assert abs(est.t_ref - TRUE["t_ref"]) < 0.5e-3
    assert est.noise_std == pytest.approx(0.5e-3, rel=0.15)


def test_filtered_recording_fools_the_naive_reading() -> None:
    t, v, _ = synthetic_recording(t_stop=1.5, sample_dt=2e-4, filter_tau=2e-4, seed=4)
    est = estimate_lif_parameters(t, v, filter_tau=2e-4)
    assert abs(est.naive_v_reset - TRUE["v_reset"]) > 5e-3  # the filter smears the reset
    assert abs(est.v_reset - TRUE["v_reset"]) < 0.5e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_coarse_filtered_steep_approach(seed: int) -> None:
    # 1 kHz through a 0.3 ms filter, drive 50 mV: V rises ~1.5 mV per sample at threshold.
    t, v, _ = synthetic_recording(t_stop=1.0, sample_dt=1e-3, drive=0.05, filter_tau=3e-4,
                                  seed=seed)
    est = estimate_lif_parameters(t, v, filter_tau=3e-4, require_tau=False)
    assert abs(est.v_th - TRUE["v_th"]) < 1e-3
    assert abs(est.v_reset - TRUE["v_reset"]) < 1e-3
    assert abs(est.naive_v_th - TRUE["v_th"]) > 1.5e-3  # the sample before is well below


def test_membrane_time_constant_and_asymptote() -> None:
    t, v, _ = synthetic_recording(t_stop=3.0, sample_dt=1e-4, seed=5)
    est = estimate_lif_parameters(t, v)
    assert est.tau_m == pytest.approx(TRUE["tau_m"], rel=0.15)
    assert est.v_rest == pytest.approx(-0.070 + 0.025, abs=1.5e-3)  # V_inf = rest + drive


def test_spike_detection_counts() -> None:
    t, v, true_spikes = synthetic_recording(t_stop=1.0, seed=6)
    found = detect_spikes(v)
    assert len(found) == len(true_spikes)
    # Each detected index is the first sample after the true crossing.
    np.testing.assert_array_equal(found, np.searchsorted(t, true_spikes))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), noise=st.floats(0.1e-3, 0.8e-3))
def test_errors_stay_below_1mv_over_seeds_and_noise(seed: int, noise: float) -> None:
    t, v, _ = synthetic_recording(t_stop=1.3, noise_std=noise, seed=seed)
    est = estimate_lif_parameters(t, v)
    assert abs(est.v_th - TRUE["v_th"]) < 1e-3
    assert abs(est.v_reset - TRUE["v_reset"]) < 1e-3


def test_bad_input() -> None:
    t = np.linspace(0, 1, 1000)
    with pytest.raises(ParamError):
        estimate_lif_parameters(t, np.zeros(999))
    with pytest.raises(ParamError):
        estimate_lif_parameters(t**2, np.zeros(1000))  # non-uniform
    with pytest.raises(ParamError):
        estimate_lif_parameters(t, np.sin(t))  # no spikes


def test_load_trace_and_cli(tmp_path, capsys) -> None:
    t, v, _ = synthetic_recording(t_stop=1.2, seed=7)
    csv_path = tmp_path / "trace.csv"
    lines = ["# synthetic", "t,v_mV"] + [f"{a:.6f},{b * 1e3:.5f}" for a, b in zip(t, v,
                                                                                   strict=True)]
    csv_path.write_text("\n".join(lines) + "\n")
    t2, v2 = load_trace(csv_path)
    np.testing.assert_allclose(t2, t, atol=1e-6)
    np.testing.assert_allclose(v2, v, atol=1e-8)
    npy_path = tmp_path / "trace.npy"
    np.save(npy_path, np.stack([t, v]))
    assert main(["estimate", str(npy_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert abs(data["v_th"] - TRUE["v_th"]) < 1e-3
    assert main(["estimate", str(csv_path)]) == 0
    assert "V_th" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("time_ms,volts\n1,2\n")
    assert main(["estimate", str(bad)]) == 2
    assert main(["estimate", str(tmp_path / "missing.csv")]) == 2


def test_siegert_cli(capsys) -> None:
    assert main(["siegert", "--mu", "15 mV", "--sigma", "5 mV", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rate_hz"] == pytest.approx(9.461, rel=1e-3)
    assert data["fokker_planck_rate_hz"] == pytest.approx(data["rate_hz"], rel=1e-6)
    assert main(["siegert", "--mu", "15 furlongs", "--sigma", "5 mV"]) == 2


@pytest.mark.parametrize(("text", "where"), [
    ("sk-SECRET-1,token-SECRET-2\n1,2\n", "line 1: the header row names no a time column"),
    ("# comment\nt,v\n0.0001,-0.05\n0.0002,SECRET-VALUE\n", "line 4: column 'v' is not a"),
    ("t,v\n0.0001,-0.05\n0.0002\n", "line 3: column 'v' is missing"),
    ("t,v_mv\n0.0001,nan\n", "line 2: column 'v_mv' is not a finite number"),
    ("t,v\nSECRET-T,-0.05\n0.0002,-0.05\n", "line 2: column 't' is not a finite number"),
])
def test_trace_errors_name_file_line_and_column_not_contents(tmp_path, capsys, text: str,
                                                             where: str) -> None:
    path = tmp_path / "rec.csv"
    path.write_text(text)
    with pytest.raises(ParamError, match=where):
        load_trace(path)
    assert main(["estimate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and where in err
    assert "SECRET" not in err
    assert "Traceback" not in err


def test_binary_and_nan_traces_are_refused_without_echo(tmp_path, capsys) -> None:
    binary = tmp_path / "rec.csv"
    binary.write_bytes(b"t,v\n\xff\xfeSECRET\n")
    assert main(["estimate", str(binary)]) == 2
    err = capsys.readouterr().err
    assert "not a text (UTF-8) CSV file" in err and "SECRET" not in err
    npy = tmp_path / "rec.npy"
    np.save(npy, np.array([[0.0, 1e-4, 2e-4], [-0.05, np.nan, -0.05]]))
    assert main(["estimate", str(npy)]) == 2
    assert "sample 1 is not a finite number" in capsys.readouterr().err
    fake = tmp_path / "fake.npy"
    fake.write_text("SECRET not numpy")
    assert main(["estimate", str(fake)]) == 2
    err = capsys.readouterr().err
    assert "not a readable numeric .npy array" in err and "SECRET" not in err
