"""Smoke test of the theory figure code (small inputs; the full demo runs in `make demo`)."""

from __future__ import annotations

from pathlib import Path

from lifhw.app.stages import theory as theory_demo


def test_siegert_and_estimate_figures(tmp_path: Path) -> None:
    rows = [{"mu_mv": mu, "sigma_mv": sigma, "siegert_hz": rate, "bridge_bias": 0.001,
             "bridge_se": 0.002, "plain_bias": -0.05, "plain_se": 0.002}
            for mu, sigma, rate, _, _ in theory_demo.REFERENCE]
    out = theory_demo.figure_siegert(rows, tmp_path / "theory_siegert.png")
    assert out.stat().st_size > 10_000
    sweep = theory_demo.estimation_sweep(noise_mv=(0.5,), seeds=2)
    assert sweep[0]["runs"] == 2 and abs(sweep[0]["vth_bias_mv"]) < 1.0
    fig = theory_demo.figure_estimate(tmp_path / "theory_estimate.png", {"10 kHz": sweep})
    assert fig.stat().st_size > 10_000
