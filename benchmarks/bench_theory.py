"""Siegert rate throughput and accuracy vs a scipy.integrate.quad loop (issue 6).

Work: 10^5 random (mu, sigma) points (seed 0), mu uniform in [-10, 40] mV, sigma
log-uniform in [0.5, 10] mV; tau_m = 20 ms, V_th = 20 mV, V_reset = 10 mV,
t_ref = 2 ms. Measured in one run:

* ``lifhw.golden.siegert_rate`` on all 10^5 points (one vectorised call);
* the straightforward alternative: a Python loop calling ``scipy.integrate.quad``
  on the integrand ``erfcx(-u)`` (already the overflow-safe form; the textbook
  ``exp(u^2)(1 + erf u)`` is wrong outright below u ~ -5.9) for each point. The
  loop is timed on the first ``--quad-points`` points and extrapolated linearly
  to 10^5 (it is per-point work, so this is exact up to timer noise);
* accuracy of both against a 40-digit mpmath quadrature of the textbook integrand
  on the first ``--mp-points`` points (relative error; rates that underflow
  double precision, < 1e-300 Hz, are skipped and counted).

Run: ``.venv/bin/python -m benchmarks.bench_theory`` (``--quick`` for a smaller run).
"""

from __future__ import annotations

import argparse
import math
import time

import mpmath as mp
import numba
import numpy as np
from scipy import integrate, special

from lifhw.golden import siegert_rate

NEURON = {"tau_m": 0.02, "v_th": 0.020, "v_reset": 0.010, "t_ref": 0.002}


def points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-0.010, 0.040, n)
    sigma = 10 ** rng.uniform(math.log10(0.5e-3), math.log10(10e-3), n)
    return mu, sigma


def quad_rate(mu: float, sigma: float) -> float:
    """The straightforward per-point quadrature (erfcx integrand, scipy defaults)."""
    a = (NEURON["v_reset"] - mu) / sigma
    b = (NEURON["v_th"] - mu) / sigma
    value, _ = integrate.quad(lambda u: special.erfcx(-u), a, b)
    return 1.0 / (NEURON["t_ref"] + NEURON["tau_m"] * math.sqrt(math.pi) * value)


def mp_rate(mu: float, sigma: float) -> mp.mpf:
    with mp.workdps(40):
        a = mp.mpf(NEURON["v_reset"] - mu) / mp.mpf(sigma)
        b = mp.mpf(NEURON["v_th"] - mu) / mp.mpf(sigma)
        pts = [a, b]
        if a < 0 < b:
            pts = [a, mp.mpf(0), b]
        if b > 3:
            pts = [*pts[:-1], b - 3 / b, b - 1 / b, b]
        integral = mp.quad(lambda u: mp.exp(u * u) * mp.erfc(-u), pts)
        return 1 / (NEURON["t_ref"] + NEURON["tau_m"] * mp.sqrt(mp.pi) * integral)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--quad-points", type=int, default=2000)
    parser.add_argument("--mp-points", type=int, default=400)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.quad_points, args.mp_points = 10_000, 300, 60
    mu, sigma = points(args.n)

    siegert_rate(mu[:100], sigma[:100], **NEURON)  # warm-up (compiled kernel cache)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        rates = siegert_rate(mu, sigma, **NEURON)
        best = min(best, time.perf_counter() - start)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    best_1 = math.inf
    for _ in range(3):
        start = time.perf_counter()
        siegert_rate(mu, sigma, **NEURON)
        best_1 = min(best_1, time.perf_counter() - start)
    numba.set_num_threads(threads)
    n_quad = min(args.quad_points, args.n)
    start = time.perf_counter()
    quad_rates = np.array([quad_rate(float(m), float(s)) for m, s in
                           zip(mu[:n_quad], sigma[:n_quad], strict=True)])
    quad_time = (time.perf_counter() - start) / n_quad * args.n

    err_fast: list[float] = []
    err_quad: list[float] = []
    skipped = 0
    for k in range(min(args.mp_points, args.n)):
        ref = mp_rate(float(mu[k]), float(sigma[k]))
        if ref < mp.mpf("1e-300"):
            skipped += 1
            continue
        err_fast.append(float(abs(mp.mpf(rates[k]) - ref) / ref))
        if k < n_quad:
            err_quad.append(float(abs(mp.mpf(quad_rates[k]) - ref) / ref))

    print(f"points: {args.n}  (quad timed on {n_quad}, mpmath reference on "
          f"{len(err_fast)}; {skipped} underflow < 1e-300 Hz skipped)")
    print("| method | time for all points | evaluations/s | max rel. error | median |")
    print("|---|---|---|---|---|")
    print(f"| lifhw siegert_rate ({threads} threads) | {best:.3f} s | {args.n / best:.3g} | "
          f"{max(err_fast):.1e} | {np.median(err_fast):.1e} |")
    print(f"| lifhw siegert_rate (1 thread) | {best_1:.3f} s | {args.n / best_1:.3g} | "
          f"same | same |")
    print(f"| scipy quad loop (extrapolated) | {quad_time:.1f} s | {args.n / quad_time:.3g} | "
          f"{max(err_quad):.1e} | {np.median(err_quad):.1e} |")
    print(f"speed-up: {quad_time / best:.0f}x ({threads} threads), "
          f"{quad_time / best_1:.0f}x (1 thread)")


if __name__ == "__main__":
    main()
