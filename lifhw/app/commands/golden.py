"""``lifhw check`` and ``lifhw golden``: validate a parameter file, run the referee."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from lifhw import params
from lifhw.errors import ParamError
from lifhw.io import check_figure_path


def register(subparsers: Any) -> None:
    check = subparsers.add_parser(
        "check", help="validate a parameter file and print its normalised SI parameters")
    check.add_argument("file", help="parameter file (.toml)")
    check.set_defaults(func=_cmd_check)

    golden = subparsers.add_parser(
        "golden", help="simulate a parameter file's neuron and stimulus with the golden model")
    golden.add_argument("file", help="parameter file (.toml) with a neuron (or circuit/core)")
    golden.add_argument("--json", action="store_true", help="print the result as JSON")
    golden.add_argument("--plot", metavar="PNG", help="write a figure: trace and f-I curve")
    golden.add_argument("--grid", action="store_true",
                        help="grid spike times instead of exact off-grid crossings")
    golden.set_defaults(func=_cmd_golden)


def _cmd_check(args: argparse.Namespace) -> int:
    design = params.load(args.file)
    plain = design.to_plain()
    plain["params_hash"] = design.digest()
    try:
        lif = design.lif
    except ParamError:
        lif = None
    if lif is not None:
        plain["effective_lif"] = {
            **lif.as_kwargs(), "c_m": lif.c_m, "rheobase_a": lif.rheobase,
        }
    print(json.dumps(plain, indent=2))
    return 0


def run_golden(design: params.ParamFile, *, precise: bool = True) -> dict[str, Any]:
    """Golden simulation of a design's neuron under its stimulus, as a JSON-ready dict."""
    from lifhw.golden import lif_rate, simulate

    lif = design.lif
    stimulus = design.require("stimulus")
    try:
        trace = simulate(lif, stimulus, precise=precise)
    except ParamError as err:  # e.g. the memory budget: name the file
        raise err.located(source=design.source) from None
    summary = trace.summary()
    summary["name"] = design.name
    summary["theory_rate_hz"] = lif_rate(stimulus.max_current, lif)
    summary["rheobase_a"] = lif.rheobase
    return {"trace": trace, "summary": summary}


def _cmd_golden(args: argparse.Namespace) -> int:
    from lifhw.io import print_json

    if args.plot:
        check_figure_path(args.plot, option="--plot", inputs=(args.file,))
    design = params.load(args.file)
    result = run_golden(design, precise=not args.grid)
    summary = result["summary"]
    if args.plot:
        plot_golden(design, result["trace"], Path(args.plot))
        summary["plot"] = str(args.plot)
    if args.json:
        print_json(summary)
    else:
        print(f"{design.name}: {summary['n_spikes']} spikes in {summary['t_stop_s']:g} s, "
              f"rate {summary['rate_hz']:.4g} Hz (closed-form f-I: "
              f"{summary['theory_rate_hz']:.4g} Hz at the stimulus maximum)")
        if args.plot:
            print(f"figure: {args.plot}")
    return 0


def plot_golden(design: params.ParamFile, trace: Any, path: Path) -> Path:
    """Figure: membrane trace with spikes and threshold; f-I curve with the operating point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from lifhw.golden import lif_rate
    from lifhw.io import save_figure

    lif = design.lif
    stimulus = design.require("stimulus")
    fig, (ax_v, ax_f) = plt.subplots(1, 2, figsize=(11, 3.8),
                                     gridspec_kw={"width_ratios": [2, 1]})
    ax_v.plot(trace.t * 1e3, trace.membrane * 1e3, lw=1, label="V (golden)")
    ax_v.axhline(lif.v_th * 1e3, color="r", ls="--", lw=0.8, label="threshold")
    for s in trace.spikes():
        ax_v.axvline(s * 1e3, color="k", alpha=0.15, lw=0.8)
    ax_v.set_xlabel("time (ms)")
    ax_v.set_ylabel("membrane (mV)")
    ax_v.set_title(f"{design.name}: {len(trace.spikes())} spikes")
    ax_v.legend(loc="lower right", fontsize=8)
    i_max = max(stimulus.max_current, lif.rheobase) * 2.0
    currents = np.linspace(0, i_max, 400)
    ax_f.plot(currents * 1e12, lif_rate(currents, lif), label="closed form")
    ax_f.plot([stimulus.max_current * 1e12], [trace.rate_hz()], "o", label="simulated")
    ax_f.set_xlabel("current (pA)")
    ax_f.set_ylabel("rate (Hz)")
    ax_f.set_title("f-I curve")
    ax_f.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
