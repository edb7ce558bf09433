"""``lifhw estimate`` and ``lifhw siegert``: the theory tools on the command line.

``lifhw estimate TRACE.csv|TRACE.npy [--filter-tau 0.2ms] [--t-ref 2ms] [--json]``
estimates V_th, V_reset, t_ref, tau_m and V_inf with 95 % intervals from a
recorded membrane trace, or exits 2 with the reason when the data cannot support
an estimate (CSV columns ``t`` in s and ``v`` in V, or ``v_mv`` in mV; see
:func:`lifhw.golden.estimate.load_trace`).

``lifhw siegert --mu 15mV --sigma 5mV [--tau 20ms --v-th 20mV --v-reset 10mV --t-ref 2ms]``
prints the stationary rate of the noisy LIF neuron (Siegert formula) and the
Fokker–Planck / mean-first-passage-time cross-checks.
"""

from __future__ import annotations

import argparse
from typing import Any

from lifhw.errors import ParamError
from lifhw.units import parse_quantity


def register(subparsers: Any) -> None:
    est = subparsers.add_parser(
        "estimate", help="estimate V_th, V_reset, t_ref, tau_m from a recorded membrane trace",
        description="Estimate LIF parameters from a sampled membrane trace with spikes. "
        "CSV: header with 't' (s) and 'v' (V) or 'v_mv' (mV); NPY: array (2, N) of t, v.")
    est.add_argument("trace", help="CSV or .npy file")
    est.add_argument("--filter-tau", default="0 s",
                     help="time constant of the recording's first-order low-pass, e.g. '0.2 ms'")
    est.add_argument("--t-ref", default=None, help="known refractory period (else estimated)")
    est.add_argument("--json", action="store_true", help="print JSON (SI units)")
    est.set_defaults(func=_cmd_estimate)

    sieg = subparsers.add_parser(
        "siegert", help="stationary rate of the noisy LIF neuron (Siegert / Fokker-Planck)")
    sieg.add_argument("--mu", required=True, help="mean drive as a potential, e.g. '15 mV'")
    sieg.add_argument("--sigma", required=True, help="noise amplitude, e.g. '5 mV'")
    sieg.add_argument("--tau", default="20 ms", help="membrane time constant")
    sieg.add_argument("--v-th", default="20 mV", help="threshold")
    sieg.add_argument("--v-reset", default="10 mV", help="reset")
    sieg.add_argument("--t-ref", default="2 ms", help="refractory period")
    sieg.add_argument("--json", action="store_true", help="print JSON")
    sieg.set_defaults(func=_cmd_siegert)


def _quantity(text: str, unit: str, name: str) -> float:
    try:
        return float(parse_quantity(text, unit))
    except ParamError as err:
        raise ParamError(str(err), path=name) from None


def _cmd_estimate(args: argparse.Namespace) -> int:
    from lifhw.golden.estimate import estimate_lif_parameters, load_trace
    from lifhw.io import print_json

    t, v = load_trace(args.trace)
    filter_tau = _quantity(args.filter_tau, "s", "--filter-tau")
    t_ref = None if args.t_ref is None else _quantity(args.t_ref, "s", "--t-ref")
    result = estimate_lif_parameters(t, v, filter_tau=filter_tau, t_ref=t_ref)
    if args.json:
        print_json(result.as_dict())
        return 0
    def row(name: str, value: float, ci: tuple[float, float], scale: float, unit: str) -> None:
        print(f"{name:15s} {value * scale:8.3f} {unit}  95% CI [{ci[0] * scale:.3f}, "
              f"{ci[1] * scale:.3f}]")

    print(f"spikes used     {result.n_spikes}")
    row("V_th", result.v_th, result.v_th_ci, 1e3, "mV")
    row("V_reset", result.v_reset, result.v_reset_ci, 1e3, "mV")
    row("t_ref", result.t_ref, result.t_ref_ci, 1e3, "ms")
    row("tau_m", result.tau_m, result.tau_m_ci, 1e3, "ms")
    row("V_inf (rest+RI)", result.v_rest, result.v_rest_ci, 1e3, "mV")
    print(f"input sigma     {result.input_sigma * 1e3:8.3f} mV")
    print(f"noise           {result.noise_std * 1e3:8.3f} mV")
    print(f"likelihood      {result.likelihood} (tau_m, V_inf)")
    print(f"naive V_th / V_reset (samples next to the spike): "
          f"{result.naive_v_th * 1e3:.3f} / {result.naive_v_reset * 1e3:.3f} mV")
    return 0


def _cmd_siegert(args: argparse.Namespace) -> int:
    from lifhw.golden.stochastic import fokker_planck_stationary, siegert_rate
    from lifhw.io import print_json

    neuron = {
        "tau_m": _quantity(args.tau, "s", "--tau"),
        "v_th": _quantity(args.v_th, "V", "--v-th"),
        "v_reset": _quantity(args.v_reset, "V", "--v-reset"),
        "t_ref": _quantity(args.t_ref, "s", "--t-ref"),
    }
    mu = _quantity(args.mu, "V", "--mu")
    sigma = _quantity(args.sigma, "V", "--sigma")
    try:
        rate = siegert_rate(mu, sigma, tau_m=neuron["tau_m"], v_th=neuron["v_th"],
                            v_reset=neuron["v_reset"], t_ref=neuron["t_ref"])
    except ValueError as err:
        raise ParamError(str(err)) from None
    fp, note = None, ""
    if sigma > 0:
        try:
            fp = fokker_planck_stationary(mu, sigma, tau_m=neuron["tau_m"],
                                          v_th=neuron["v_th"], v_reset=neuron["v_reset"],
                                          t_ref=neuron["t_ref"])
        except ValueError as err:  # the cross-check's grid cannot resolve this case
            note = f"no Fokker-Planck cross-check: {err}"
    out: dict[str, Any] = {"rate_hz": rate,
                           "fokker_planck_rate_hz": fp.rate_hz if fp else None,
                           "mfpt_rate_hz": fp.rate_mfpt_hz if fp else None}
    if note:
        out["note"] = note
    if args.json:
        print_json(out)
    else:
        for key, value in out.items():
            print(f"{key:24s} {value!s}")
    return 0
