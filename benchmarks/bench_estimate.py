"""Accuracy of ``lifhw estimate`` over seeds, and the information bound on tau_m (issue 17).

Recordings come from the independent generator ``tests/lif_ou_reference.py`` (exact
OU steps of dt/20, Brownian-bridge threshold crossings), 10 kHz, t_ref 3 ms:

* noise-driven: tau 10 ms, V_inf -52.5 mV, V_th -50, V_r -60, input SD 4 mV (~37 Hz);
* drift-driven: tau 20 ms, V_inf -45 mV, V_th -50, V_r -65, input SD 1 mV (~33 Hz).

For each seed the estimator runs on the noisy recording; the summary gives the bias
and SD over seeds of V_th and tau_m, how many 95 % intervals hold the true value,
and the refusals.

``--oracle`` measures what the data can give at best: the maximum-likelihood tau_m
of an *oracle* that sees the latent membrane itself at every sample (no measurement
noise), the true crossing times and V_th, and uses the exact likelihood of the
discretely observed killed OU process (Gaussian transitions times the
Brownian-bridge survival ``1 - exp(-2 (th - v)(th - v') / s^2)``, Gobet 2000, and
the crossing probability of the last interval). Its spread over seeds bounds from
below the spread of any estimator working on the noisy recording (the noisy
recording is a function of the oracle's data plus independent noise), and its mean
observed information is the Cramer-Rao bound. The same oracle without the bridge
and crossing terms shows the bias a Gaussian likelihood has when the samples near
threshold enter unconditioned. This code shares nothing with
``lifhw.golden.estimate``.

Run: ``.venv/bin/python -m benchmarks.bench_estimate [--regime noise|drift]
[--seeds 10-19] [--t-stop 20] [--noise 0.5e-3] [--oracle 100-199]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import optimize

from lifhw.errors import ParamError
from lifhw.golden.estimate import estimate_lif_parameters
from tests.lif_ou_reference import (
    killed_ou_nll,
    lif_ou_recording,
    oracle_information,
    oracle_transitions,
)

REGIMES = {
    "noise": dict(tau=0.010, mu=-0.0525, sigma=0.004, v_th=-0.050, v_reset=-0.060,
                  t_ref=0.003),
    "drift": dict(tau=0.020, mu=-0.045, sigma=0.001, v_th=-0.050, v_reset=-0.065,
                  t_ref=0.003),
}
DT = 1e-4


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def estimator_study(regime: str, seeds: list[int], t_stop: float, noise: float) -> None:
    true = REGIMES[regime]
    rows = []
    refused = 0
    print(f"{regime}-driven, {t_stop:g} s, noise {noise * 1e3:g} mV, seeds "
          f"{seeds[0]}-{seeds[-1]}")
    for seed in seeds:
        t, v, spikes = lif_ou_recording(**true, t_stop=t_stop, dt=DT, noise=noise, seed=seed)
        start = time.perf_counter()
        try:
            est = estimate_lif_parameters(t, v)
        except ParamError as err:
            refused += 1
            print(f"  seed {seed}: refused: {err}")
            continue
        seconds = time.perf_counter() - start
        tau_err = est.tau_m / true["tau"] - 1
        half = 0.5 * (est.tau_m_ci[1] - est.tau_m_ci[0]) / true["tau"]
        row = (est.v_th - true["v_th"], est.v_th_ci[0] <= true["v_th"] <= est.v_th_ci[1],
               tau_err, half, est.tau_m_ci[0] <= true["tau"] <= est.tau_m_ci[1],
               est.t_ref, est.v_rest - true["mu"],
               est.v_rest_ci[0] <= true["mu"] <= est.v_rest_ci[1])
        rows.append(row)
        print(f"  seed {seed}: {spikes.size} spikes, V_th {row[0] * 1e3:+.3f} mV, tau "
              f"{tau_err * 100:+.1f} % (95 % CI {(est.tau_m_ci[0] / true['tau'] - 1) * 100:+.1f}"
              f" .. {(est.tau_m_ci[1] / true['tau'] - 1) * 100:+.1f} %), V_inf "
              f"{row[6] * 1e3:+.3f} mV, t_ref {est.t_ref * 1e3:.2f} ms ({seconds:.1f} s)",
              flush=True)
    if not rows:
        print("  every run refused")
        return
    a = np.array(rows, dtype=float)
    n = len(rows)
    print(f"  V_th error {a[:, 0].mean() * 1e3:+.3f} +/- {a[:, 0].std(ddof=1) * 1e3:.3f} mV, "
          f"in CI {int(a[:, 1].sum())}/{n}, max |error| {np.abs(a[:, 0]).max() * 1e3:.3f} mV")
    print(f"  tau error {a[:, 2].mean() * 100:+.1f} +/- {a[:, 2].std(ddof=1) * 100:.1f} %, "
          f"mean 95 % half-width {a[:, 3].mean() * 100:.1f} %, in CI {int(a[:, 4].sum())}/{n}, "
          f"within 5 %: {int(np.sum(np.abs(a[:, 2]) < 0.05))}/{n}")
    print(f"  V_inf error {a[:, 6].mean() * 1e3:+.3f} +/- {a[:, 6].std(ddof=1) * 1e3:.3f} mV, "
          f"in CI {int(a[:, 7].sum())}/{n}")
    print(f"  t_ref {a[:, 5].min() * 1e3:.2f}-{a[:, 5].max() * 1e3:.2f} ms, "
          f"refused {refused}/{len(seeds)}")


def _oracle_objective(x: np.ndarray, data: tuple[np.ndarray, np.ndarray, np.ndarray],
                      killed: bool) -> float:
    return killed_ou_nll(x, *data, dt=DT, killed=killed)


def oracle_study(regime: str, seeds: list[int], t_stop: float) -> None:
    true = REGIMES[regime]
    x_true = np.array([math.log(true["tau"]), (true["v_th"] - true["mu"]) * 1e3,
                       math.log(true["sigma"] * 1e3)])
    result: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    info = []
    for seed in seeds:
        _, v, spikes = lif_ou_recording(**true, t_stop=t_stop, dt=DT, noise=0.0, seed=seed)
        data = oracle_transitions(v, spikes, v_th=true["v_th"], t_ref=true["t_ref"], dt=DT)
        for killed in (True, False):
            fit = optimize.minimize(_oracle_objective, x_true, args=(data, killed),
                                    method="Nelder-Mead",
                                    options={"xatol": 1e-6, "fatol": 1e-5, "maxiter": 4000})
            result[killed].append((math.exp(fit.x[0]) / true["tau"] - 1,
                                   true["v_th"] * 1e3 - fit.x[1]))
        # Observed information at the true parameters: its mean over seeds is the
        # Fisher information, whose inverse's (tau, tau) entry is the bound.
        info.append(oracle_information(x_true, data, dt=DT))
    bound = math.sqrt(np.linalg.inv(np.mean(info, axis=0))[0, 0])
    print(f"oracle ({regime}-driven, {t_stop:g} s, latent membrane at every sample, no "
          f"measurement noise, seeds {seeds[0]}-{seeds[-1]}):")
    for killed, label in ((True, "killed-OU likelihood"), (False, "Gaussian, unconditioned")):
        a = np.array(result[killed])
        print(f"  {label}: tau {a[:, 0].mean() * 100:+.2f} +/- {a[:, 0].std(ddof=1) * 100:.2f} %"
              f" (mean +/- SD), V_inf {a[:, 1].mean() - true['mu'] * 1e3:+.3f} +/- "
              f"{a[:, 1].std(ddof=1):.3f} mV")
    print(f"  Cramer-Rao bound on tau (SD): {bound * 100:.2f} %; a 95 % interval of +/-5 % "
          f"needs ~{t_stop * (1.96 * bound / 0.05) ** 2:.0f} s of recording")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regime", choices=sorted(REGIMES), action="append")
    parser.add_argument("--seeds", default="10-19")
    parser.add_argument("--t-stop", type=float, default=20.0)
    parser.add_argument("--noise", type=float, default=0.5e-3, help="measurement noise (V)")
    parser.add_argument("--oracle", default=None, help="seed range of the oracle study")
    args = parser.parse_args(argv)
    for regime in args.regime or ["noise", "drift"]:
        if args.oracle:
            oracle_study(regime, _seeds(args.oracle), args.t_stop)
        else:
            estimator_study(regime, _seeds(args.seeds), args.t_stop, args.noise)


if __name__ == "__main__":
    main()
