"""Demo stage and documentation figures of the golden theory (issue 6).

``run(out_dir)`` is the ``theory`` stage of ``lifhw demo``: the Siegert rate at
the reference points against Monte Carlo with and without the Brownian-bridge
correction, the Fokker–Planck cross-check, the biophysical extensions and the
parameter estimation, with figures ``theory_*.png`` (about 30-60 s).

``python -m lifhw.app.stages.theory docs/figures`` regenerates the figures of
docs/theory.md (the same code, larger Monte-Carlo runs with ``--full``).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lifhw.app.demo import DemoSection
from lifhw.core import LIFParams

NEURON: dict[str, Any] = {"tau_m": 0.02, "v_th": 0.020, "v_reset": 0.010, "t_ref": 0.002}
#: (mu mV, sigma mV, Siegert reference Hz, neurons, seconds) for the demo Monte Carlo.
REFERENCE = [
    (25.0, 2.0, 42.85, 400, 0.6),
    (19.0, 5.0, 23.43, 1000, 1.5),
    (15.0, 5.0, 9.461, 1000, 3.0),
    (10.0, 5.0, 0.8819, 2000, 20.0),
    (15.0, 2.0, 0.1220, 8000, 25.0),
]
#: The cell of the biophysics examples: tau 20 ms, R 100 MOhm (g_L 10 nS, C 200 pF).
CELL = LIFParams(tau_m=0.02, r_m=1e8, v_rest=-0.070, v_th=-0.050, v_reset=-0.065,
                 t_ref=0.002, tau_syn_exc=0.002, tau_syn_inh=0.005)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def monte_carlo_table(scale: float = 1.0, seed: int = 2024) -> list[dict[str, float]]:
    """Siegert vs Monte Carlo (dt = 0.1 ms, bridge on/off) at the reference points."""
    from lifhw.golden.stochastic import siegert_rate, simulate_ou_population

    rows = []
    for mu, sigma, _, n, t_stop in REFERENCE:
        theory = float(siegert_rate(mu * 1e-3, sigma * 1e-3, **NEURON))
        row = {"mu_mv": mu, "sigma_mv": sigma, "siegert_hz": theory}
        for bridge in (True, False):
            mc = simulate_ou_population(mu * 1e-3, sigma * 1e-3, n_neurons=int(n * scale),
                                        t_stop=t_stop, t_warmup=0.1, dt=1e-4, bridge=bridge,
                                        seed=seed, **NEURON)
            key = "bridge" if bridge else "plain"
            row[f"{key}_bias"] = mc.rate_hz / theory - 1
            row[f"{key}_se"] = mc.rate_se_hz / theory
        rows.append(row)
    return rows


def figure_siegert(rows: list[dict[str, float]], path: Path) -> Path:
    from lifhw.golden.stochastic import fokker_planck_stationary, siegert_rate
    from lifhw.io import save_figure

    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    mu = np.linspace(0.0, 0.03, 400)
    for sigma in (0.0, 1e-3, 2e-3, 5e-3, 8e-3):
        axes[0].semilogy(mu * 1e3, np.maximum(siegert_rate(mu, sigma, **NEURON), 1e-4),
                         label=f"σ = {sigma * 1e3:g} mV" + (" (f–I)" if sigma == 0 else ""))
    for r in rows:
        axes[0].plot(r["mu_mv"], r["siegert_hz"] * (1 + r["bridge_bias"]), "ko", ms=4)
    axes[0].set(xlabel="μ (mV)", ylabel="rate (Hz)", ylim=(1e-2, 300),
                title="Siegert rate (dots: Monte Carlo + bridge)")
    axes[0].legend(fontsize=8)
    x = np.arange(len(rows))
    labels = [f"{r['mu_mv']:g}/{r['sigma_mv']:g}" for r in rows]
    for offset, key, name in ((-0.18, "bridge", "with bridge"), (0.18, "plain", "grid only")):
        axes[1].bar(x + offset, [100 * r[f"{key}_bias"] for r in rows], 0.34,
                    yerr=[200 * r[f"{key}_se"] for r in rows], label=name, capsize=3)
    axes[1].axhspan(-1, 1, color="0.85", zorder=0, label="±1 %")
    axes[1].set_xticks(x, labels)
    axes[1].set(xlabel="μ/σ (mV)", ylabel="Monte Carlo / Siegert − 1 (%)",
                title="dt = 0.1 ms, exact OU steps (bars: ±2 SE)")
    axes[1].legend(fontsize=8)
    for mu_mv, sigma_mv in ((25, 2), (15, 5), (10, 5), (15, 2)):
        fp = fokker_planck_stationary(mu_mv * 1e-3, sigma_mv * 1e-3, **NEURON)
        axes[2].plot(fp.v * 1e3, fp.density / 1e3,
                     label=f"μ={mu_mv}, σ={sigma_mv}: {fp.rate_hz:.4g} Hz")
    axes[2].axvline(NEURON["v_reset"] * 1e3, color="0.6", ls=":")
    axes[2].set(xlim=(-5, 21), xlabel="V (mV)", ylabel="P(V) (1/mV)",
                title="stationary Fokker–Planck density")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    out = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return out


def figure_biophys(path: Path) -> tuple[Path, dict[str, float]]:
    from lifhw.golden import biophys
    from lifhw.io import save_figure

    plt = _plt()
    numbers: dict[str, float] = {}
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    g = np.linspace(0, 15e-9, 300)
    g_star = biophys.trpv1_critical_conductance(CELL)
    numbers["trpv1_g_star_ns"] = g_star * 1e9
    ax = axes[0, 0]
    ax.plot(g * 1e9, biophys.trpv1_rate(CELL, g))
    ax.axvline(g_star * 1e9, color="r", ls="--", label=f"g* = {g_star * 1e9:.2f} nS (V∞ = V_th)")
    ax2 = ax.twinx()
    v_inf = [biophys.effective_neuron(CELL, gg, 0.0).v_inf * 1e3 for gg in g]
    ax2.plot(g * 1e9, v_inf, color="0.5", ls=":")
    ax2.set_ylabel("V∞ (mV, dotted)")
    ax.set(xlabel="g_TRPV (nS)", ylabel="rate (Hz)", title="TRPV1 (E = 0 mV)")
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[0, 1]
    gh = np.linspace(8e-9, 25e-9, 200)
    ax.plot(gh * 1e9, [biophys.hcn_rate(CELL, x) for x in gh], label="constant g_h")
    result = biophys.hcn_channelopathy(CELL, 15e-9, 0.2)
    numbers.update(hcn_rate_before_hz=result.rate_before, hcn_rate_after_hz=result.rate_after,
                   hcn_g_crit_ns=result.g_critical * 1e9)
    ax.plot([15, 12], [result.rate_before, result.rate_after], "o-", color="r",
            label=f"−20 % g_h: {result.rate_before:.1f} → {result.rate_after:.1f} Hz")
    ax.axvline(result.g_critical * 1e9, color="0.5", ls="--",
               label=f"silent below {result.g_critical * 1e9:.1f} nS")
    ax.set(xlabel="g_h (nS)", ylabel="spontaneous rate (Hz)",
           title="HCN channelopathy (E_h = −30 mV)")
    ax.legend(fontsize=8)

    ax = axes[1, 0]
    opto = biophys.optogenetic_desensitisation(CELL, 20e-9, 0.2, t_stop=0.5)
    ax.plot(opto.isi_mid * 1e3, opto.rate_inst, "o", ms=3, label="simulated 1/ISI")
    ax.plot(opto.isi_mid * 1e3, opto.rate_adiabatic, "-", label="adiabatic f–I prediction")
    ax.axvline(opto.t_silent * 1e3, color="0.5", ls="--",
               label=f"t* = τ_d ln(g0/g*) = {opto.t_silent * 1e3:.0f} ms")
    numbers["opto_t_silent_ms"] = opto.t_silent * 1e3
    ax.set(xlabel="time after light onset (ms)", ylabel="rate (Hz)",
           title="opsin desensitisation g0 e^(−t/τ_d), g0 = 20 nS, τ_d = 200 ms")
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    w_exc, w_inh = 3.5e-9, 2e-9
    deltas = np.linspace(-0.08, 0.02, 300)
    peaks = [biophys.relay_peak_depolarisation(CELL, d, w_exc=w_exc, w_inh=w_inh)
             for d in deltas]
    lo, hi = biophys.relay_gating_window(CELL, w_exc=w_exc, w_inh=w_inh)
    numbers.update(relay_window_lo_ms=lo * 1e3, relay_window_hi_ms=hi * 1e3)
    ax.plot(deltas * 1e3, np.array(peaks) * 1e3)
    ax.axhline(CELL.v_th * 1e3, color="r", ls="--", label="V_th")
    ax.axvspan(lo * 1e3, hi * 1e3, color="0.85",
               label=f"veto window [{lo * 1e3:.1f}, {hi * 1e3:.1f}] ms")
    ax.set(xlabel="Δ = t_GPi − t_cortex (ms)", ylabel="peak V (mV)",
           title="thalamic relay gating (EPSC 3.5 nA, IPSC 2 nA)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return out, numbers


def figure_homeostasis(path: Path) -> tuple[Path, dict[str, float]]:
    from lifhw.golden import biophys
    from lifhw.io import save_figure

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    numbers: dict[str, float] = {}
    for w0, name in ((0.0, "from above (w0 = 0)"), (4e-3, "from below (w0 = 4 mV)")):
        res = biophys.homeostatic_inhibition(CELL, w0=w0, target_hz=10.0, t_stop=30.0,
                                             n_neurons=40, seed=3)
        axes[0].plot(res.t, res.rate, label=f"{name}: last 10 s {res.final_rate_hz:.2f} Hz")
        axes[1].plot(res.t, res.weight * 1e3, label=name)
        numbers["final_above_hz" if w0 == 0 else "final_below_hz"] = res.final_rate_hz
    w_mf = biophys.homeostatic_fixed_point(CELL, target_hz=10.0)
    numbers["w_meanfield_mv"] = w_mf * 1e3
    axes[0].axhline(10.0, color="k", ls="--", label="r* = 10 Hz")
    axes[0].axhspan(9.5, 10.5, color="0.9", zorder=0)
    axes[0].set(xlabel="t (s)", ylabel="rate (Hz, 40 neurons, 1 s bins)",
                title="Δw = η (r − r*) x: rate converges to r*")
    axes[0].legend(fontsize=8)
    axes[1].axhline(w_mf * 1e3, color="k", ls="--", label="mean-field (Siegert) fixed point")
    axes[1].set(xlabel="t (s)", ylabel="mean inhibitory weight (mV)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    out = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return out, numbers


def estimation_sweep(noise_mv: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 1.5),
                     seeds: int = 8, sample_dt: float = 1e-4,
                     filter_tau: float = 0.0) -> list[dict[str, float]]:
    """Bias and spread of the V_th / V_reset estimates vs measurement noise (~50 spikes each)."""
    from lifhw.errors import ParamError
    from lifhw.golden.estimate import estimate_lif_parameters, synthetic_recording

    rows = []
    for noise in noise_mv:
        th, rs, nth, nrs, failed = [], [], [], [], 0
        for seed in range(seeds):
            t, v, _ = synthetic_recording(t_stop=1.5, noise_std=noise * 1e-3, seed=100 + seed,
                                          sample_dt=sample_dt, filter_tau=filter_tau)
            try:
                est = estimate_lif_parameters(t, v, filter_tau=filter_tau)
            except ParamError:
                failed += 1
                continue
            th.append(est.v_th + 0.050)
            rs.append(est.v_reset + 0.065)
            nth.append(est.naive_v_th + 0.050)
            nrs.append(est.naive_v_reset + 0.065)
        rows.append({
            "noise_mv": noise, "runs": len(th), "failed": failed,
            "vth_bias_mv": 1e3 * float(np.mean(th)) if th else math.nan,
            "vth_sd_mv": 1e3 * float(np.std(th, ddof=1)) if len(th) > 1 else math.nan,
            "vreset_bias_mv": 1e3 * float(np.mean(rs)) if rs else math.nan,
            "vreset_sd_mv": 1e3 * float(np.std(rs, ddof=1)) if len(rs) > 1 else math.nan,
            "naive_vth_bias_mv": 1e3 * float(np.mean(nth)) if nth else math.nan,
            "naive_vreset_bias_mv": 1e3 * float(np.mean(nrs)) if nrs else math.nan,
        })
    return rows


def figure_estimate(path: Path, sweeps: dict[str, list[dict[str, float]]]) -> Path:
    from lifhw.golden.estimate import estimate_lif_parameters, synthetic_recording
    from lifhw.io import save_figure

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    t, v, _ = synthetic_recording(t_stop=0.3, sample_dt=2e-4, filter_tau=2e-4, seed=4)
    est = estimate_lif_parameters(*synthetic_recording(t_stop=1.5, sample_dt=2e-4,
                                                       filter_tau=2e-4, seed=4)[:2],
                                  filter_tau=2e-4)
    axes[0].plot(t * 1e3, v * 1e3, lw=0.7, label="recording (5 kHz, 0.2 ms filter, 0.5 mV)")
    for value, name, color in ((est.v_th, "V_th", "r"), (est.v_reset, "V_reset", "g")):
        axes[0].axhline(value * 1e3, color=color, ls="--", label=f"estimated {name} "
                        f"{value * 1e3:.2f} mV")
    axes[0].axhline(est.naive_v_reset * 1e3, color="g", ls=":",
                    label=f"naive first sample after spike {est.naive_v_reset * 1e3:.1f} mV")
    axes[0].set(xlabel="t (ms)", ylabel="V (mV)", title="true V_th −50 mV, V_reset −65 mV")
    axes[0].legend(fontsize=7, loc="lower right")
    for name, rows in sweeps.items():
        noise = [r["noise_mv"] for r in rows]
        axes[1].errorbar(noise, [r["vth_bias_mv"] for r in rows],
                         yerr=[r["vth_sd_mv"] for r in rows], marker="o", capsize=3,
                         label=f"V_th ({name})")
        axes[1].errorbar(noise, [r["vreset_bias_mv"] for r in rows],
                         yerr=[r["vreset_sd_mv"] for r in rows], marker="s", capsize=3,
                         label=f"V_reset ({name})")
    axes[1].axhspan(-1, 1, color="0.9", zorder=0)
    axes[1].set(xscale="log", xlabel="measurement noise (mV)",
                ylabel="estimate − truth (mV, bars: SD over seeds)",
                title="~50 spikes per recording")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    out = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return out


def write_figures(out_dir: Path, *, full: bool = False) -> tuple[list[Path], list[str],
                                                                 list[list[Any]]]:
    """Compute everything, write ``theory_*.png`` into ``out_dir``; return figures, lines, table."""
    from lifhw.golden.stochastic import fokker_planck_stationary

    out_dir = Path(out_dir)
    rows = monte_carlo_table(scale=4.0 if full else 1.0)
    figures = [figure_siegert(rows, out_dir / "theory_siegert.png")]
    fig_bio, bio = figure_biophys(out_dir / "theory_biophys.png")
    fig_homeo, homeo = figure_homeostasis(out_dir / "theory_homeostasis.png")
    # The likelihood estimator costs ~5 s a recording: the demo shows 3 seeds, the docs
    # figure (--full) 20.
    seeds = 20 if full else 3
    sweeps = {"10 kHz": estimation_sweep(seeds=seeds),
              "5 kHz + 0.2 ms filter": estimation_sweep(seeds=seeds, sample_dt=2e-4,
                                                        filter_tau=2e-4)}
    figures += [fig_bio, fig_homeo, figure_estimate(out_dir / "theory_estimate.png", sweeps)]
    bridge = [r["bridge_bias"] for r in rows]
    worst_se = max(r["bridge_se"] for r in rows)
    plain = [r["plain_bias"] for r in rows]
    fp = fokker_planck_stationary(0.015, 0.005, **NEURON)
    at_half = next(r for r in sweeps["10 kHz"] if r["noise_mv"] == 0.5)
    lines = [
        f"Monte Carlo (dt 0.1 ms) / Siegert − 1 at 5 reference points: with bridge "
        f"{100 * min(bridge):+.2f} … {100 * max(bridge):+.2f} % (SE ≤ {100 * worst_se:.2f} %), "
        f"grid only {100 * min(plain):.1f} … {100 * max(plain):.1f} %",
        f"mu=15 mV, sigma=5 mV: Siegert {rows[2]['siegert_hz']:.4f} Hz, Fokker–Planck flux "
        f"{fp.rate_hz:.4f} Hz, MFPT {fp.rate_mfpt_hz:.4f} Hz",
        f"TRPV1 tonic firing from g* = {bio['trpv1_g_star_ns']:.2f} nS; HCN −20 %: "
        f"{bio['hcn_rate_before_hz']:.1f} → {bio['hcn_rate_after_hz']:.1f} Hz "
        f"(silent below {bio['hcn_g_crit_ns']:.1f} nS)",
        f"relay veto window Δ ∈ [{bio['relay_window_lo_ms']:.1f}, "
        f"{bio['relay_window_hi_ms']:.1f}] ms; opsin silent after {bio['opto_t_silent_ms']:.0f} ms",
        f"homeostasis → {homeo['final_above_hz']:.2f} / {homeo['final_below_hz']:.2f} Hz "
        f"(target 10 Hz) from above / below",
        f"estimate at 0.5 mV noise: V_th bias {at_half['vth_bias_mv']:+.2f} ± "
        f"{at_half['vth_sd_mv']:.2f} mV, V_reset {at_half['vreset_bias_mv']:+.2f} ± "
        f"{at_half['vreset_sd_mv']:.2f} mV",
    ]
    table: list[list[Any]] = [["μ (mV)", "σ (mV)", "Siegert (Hz)", "MC+bridge", "MC grid"]]
    for r in rows:
        table.append([r["mu_mv"], r["sigma_mv"], f"{r['siegert_hz']:.4g}",
                      f"{100 * r['bridge_bias']:+.2f} % ± {100 * r['bridge_se']:.2f}",
                      f"{100 * r['plain_bias']:+.2f} % ± {100 * r['plain_se']:.2f}"])
    return figures, lines, table


def run(out_dir: Path) -> DemoSection:
    """Demo stage: headline numbers and figures of the stochastic/biophysical theory."""
    figures, lines, table = write_figures(Path(out_dir))
    return DemoSection(title="Theory: noisy LIF, ion channels, circuits, estimation",
                       lines=lines, figures=figures, table=table)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/figures")
    figs, text, rows_out = write_figures(target, full="--full" in sys.argv)
    print("\n".join(text))
    for row in rows_out:
        print(" | ".join(str(x) for x in row))
    for f in figs:
        print(f)
