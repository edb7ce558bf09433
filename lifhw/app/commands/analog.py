"""``lifhw netlist``, ``lifhw simulate`` and ``lifhw compare`` for ``[circuit]`` files.

::

    lifhw netlist circuits/ota_lif_behavioral.toml -o netlists
    lifhw simulate circuits/ota_lif_behavioral.toml --json [--backend shared]
    lifhw compare circuits/ota_lif_behavioral.toml --json --plot out/compare.png

``simulate`` JSON: ``rate_hz``, ``spike_times_s``, ``n_spikes``, ``tau_s`` (measured
by a leak step response on the same netlist) and, where the topology has a supply,
``energy_per_spike_j``. ``compare`` JSON: see :meth:`lifhw.analog.flow.FlowResult.summary`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lifhw.app.options import MAX_TIMEOUT_S, quantity
from lifhw.errors import ParamError
from lifhw.io import check_figure_path, check_output_dir, check_output_file


def register(subparsers: Any) -> None:
    """Add the analog subcommands."""
    netlist = subparsers.add_parser(
        "netlist", help="write the ngspice netlist of a [circuit] parameter file")
    netlist.add_argument("file", help="parameter file with [circuit] and [stimulus]")
    netlist.add_argument("-o", "--out", default="netlists",
                         help="output directory (default: netlists)")
    netlist.set_defaults(func=_cmd_netlist)

    simulate = subparsers.add_parser(
        "simulate", help="simulate a [circuit] parameter file with ngspice")
    simulate.add_argument("file")
    simulate.add_argument("--json", action="store_true", help="print JSON")
    _backend_args(simulate)
    simulate.add_argument("--no-tau", action="store_true",
                          help="skip the leak step response that measures tau")
    simulate.add_argument("--save", metavar="TRACE.npz", help="also save the trace")
    simulate.set_defaults(func=_cmd_simulate)

    comp = subparsers.add_parser(
        "compare", help="compare a [circuit] simulation with the golden tanh model")
    comp.add_argument("file")
    comp.add_argument("--json", action="store_true", help="print JSON")
    comp.add_argument("--plot", metavar="OUT.png", help="write the comparison figure")
    comp.add_argument("--golden", choices=("auto", "nominal", "calibrated"), default="auto",
                      help="golden parameters of the headline metrics (auto: nominal for "
                           "behavioral, calibrated for transistor level)")
    _backend_args(comp)
    comp.set_defaults(func=_cmd_compare)


def _backend_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("batch", "shared"), default="batch",
                        help="ngspice in batch mode (default) or PySpice's shared library")
    parser.add_argument("--timeout", type=quantity("s", gt=0, le=MAX_TIMEOUT_S),
                        default=300.0,
                        help="per-simulation timeout, e.g. '60 s' or 60 (default 300 s)")


def _load(path: str) -> tuple[str, Any, Any, str]:
    from lifhw.params import load

    pf = load(path)
    circuit = pf.require("circuit")
    stimulus = pf.require("stimulus")
    return pf.name, circuit, stimulus, str(path)


def _config(args: argparse.Namespace, circuit: Any) -> Any:
    import dataclasses

    from lifhw.analog.backends import default_config

    return dataclasses.replace(default_config(circuit), timeout_s=args.timeout)


def _cmd_netlist(args: argparse.Namespace) -> int:
    from lifhw.analog import netlist as nl

    check_output_dir(args.out, option="-o")
    name, circuit, stimulus, source = _load(args.file)
    try:
        text = nl.generate(name, circuit, stimulus, source=source)
    except ParamError as err:  # e.g. a value the netlist cannot hold: name the file
        raise err.located(source=err.source or source) from None
    path = nl.write_netlist(text, nl.netlist_path(args.out, name), circuit=circuit)
    print(path)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from lifhw.analog.backends import simulate
    from lifhw.analog.characterise import leak_step
    from lifhw.io import print_json

    if args.save:
        check_output_file(args.save, option="--save", inputs=(args.file,))
    name, circuit, stimulus, source = _load(args.file)
    config = _config(args, circuit)
    sim = simulate(name, circuit, stimulus, backend=args.backend, config=config,
                   source=source)
    _warn_validity(sim.output, circuit)
    trace = sim.trace
    if not args.no_tau:
        tau, _, _ = leak_step(name, circuit, backend=args.backend, config=config)
        trace = trace.with_meta(tau_s=tau)
    if args.save:
        trace.save(args.save)
    summary = trace.summary()
    data: dict[str, Any] = {
        "name": name, "topology": circuit.topology, "backend": args.backend,
        "rate_hz": summary["rate_hz"], "n_spikes": summary["n_spikes"],
        "spike_times_s": summary["spike_times_s"],
        "tau_s": trace.meta.get("tau_s"), "tau_nominal_s": circuit.tau_m,
        "t_stop_s": stimulus.t_stop, "sim_seconds": trace.meta.get("sim_seconds"),
    }
    if "energy_per_spike_j" in trace.meta:
        data["energy_per_spike_j"] = trace.meta["energy_per_spike_j"]
        data["supply_power_w"] = trace.meta.get("supply_power_w")
    if args.json:
        print_json(data)
    else:
        print(f"{name} ({circuit.topology}, ngspice {args.backend}): "
              f"{data['n_spikes']} spikes, {data['rate_hz']:.4g} Hz")
        if data["tau_s"] is not None:
            print(f"tau measured {data['tau_s'] * 1e3:.4g} ms "
                  f"(nominal C/g_m {circuit.tau_m * 1e3:.4g} ms)")
        if data.get("energy_per_spike_j") is not None:
            print(f"energy per spike {data['energy_per_spike_j'] * 1e12:.4g} pJ")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from lifhw.analog.flow import compare_circuit, plot_comparison
    from lifhw.io import print_json

    if args.plot:
        check_figure_path(args.plot, option="--plot", inputs=(args.file,))
    name, circuit, stimulus, source = _load(args.file)
    result = compare_circuit(name, circuit, stimulus, source=source, backend=args.backend,
                             golden=args.golden, config=_config(args, circuit))
    if result.extra.get("validity_warning"):
        import sys

        print(result.extra["validity_warning"], file=sys.stderr)
    if args.plot:
        plot_comparison(result, Path(args.plot))
    summary = result.summary()
    if args.plot:
        summary["plot"] = str(args.plot)
    if args.json:
        print_json(summary)
        return 0
    print(f"{name} ({circuit.topology}) vs golden tanh model ({result.golden_kind}):")
    print(f"  rate {summary['rate_hz']:.4g} Hz (golden {summary['rate_golden_hz']:.4g} Hz), "
          f"rate error {summary['rate_error'] * 100:+.3f} %, "
          f"ISI error {summary['isi_error'] * 100:+.3f} %")
    print(f"  tau {summary['tau_s'] * 1e3:.4g} ms vs nominal {summary['tau_nominal_s'] * 1e3:.4g}"
          f" ms ({summary['tau_error'] * 100:+.3f} %)")
    print(f"  spike-time error {summary['spike_time_error_s'] * 1e6:.3g} us mean, "
          f"membrane RMSE {summary['v_rmse_v'] * 1e3:.3g} mV")
    for line in summary.get("linear_range", []):
        print("  " + line)
    if args.plot:
        print(f"  figure: {args.plot}")
    return 0


def _warn_validity(output: Any, circuit: Any) -> None:
    import sys

    from lifhw.analog.design import refractory_check

    if circuit.topology == "behavioral":
        return
    line = refractory_check(output, circuit)
    if line:
        print(line, file=sys.stderr)
