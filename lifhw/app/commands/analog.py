"""``lifhw netlist``, ``lifhw simulate`` and ``lifhw compare`` for ``[circuit]`` files.

::

    lifhw netlist circuits/ota_lif_behavioral.toml -o netlists
    lifhw simulate circuits/ota_lif_behavioral.toml --json [--backend shared]
    lifhw compare circuits/ota_lif_behavioral.toml --json --plot out/compare.png
    lifhw netlist circuits/networks/ei_analog.toml --analog --topology behavioral -o netlists
    lifhw simulate circuits/networks/ei_analog.toml --analog --json --plot out/raster.png

``simulate`` JSON: ``rate_hz``, ``spike_times_s``, ``n_spikes``, ``tau_s`` (measured
by a leak step response on the same netlist) and, where the topology has a supply,
``energy_per_spike_j``. ``compare`` JSON: see :meth:`lifhw.analog.flow.FlowResult.summary`.

A file with a ``[network]`` section (and an optional ``[analog]``) is an analog
network with ``--analog``: ``netlist`` writes its one netlist
(:mod:`lifhw.analog.network`), ``simulate`` runs it in ngspice and the golden
network side by side; JSON: ``populations`` (per population: golden and analog
rates, ``rate_error``, per-neuron rates, rate dispersion, spike-time metrics;
see :func:`lifhw.analog.network.compare_runs`), ``sim_seconds`` and
``seconds_per_neuron_second``. ``--topology`` overrides the file's topology.
On a topology with a design hook (sky130) and ``[analog] design`` on (the
default), every population is first designed
(:func:`lifhw.analog.network.design_network`: ``lifhw design`` for the neuron,
the synapse design step, the event one-shot trim; cached per user, progress on
stderr), the golden network runs on the file's own parameters (``"golden":
"spec"``) and the JSON adds ``designs`` (per population: realised neuron,
design errors, synapse characterisation, event width).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lifhw.app.options import MAX_TIMEOUT_S, quantity
from lifhw.errors import ParamError
from lifhw.io import check_figure_path, check_output_dir, check_output_file

#: Default per-simulation timeout (s), and that of an analog network's one run (a
#: transistor-level network of 8 neurons takes minutes on a loaded 2-core machine).
TIMEOUT_S = 300.0
NETWORK_TIMEOUT_S = 1800.0


def register(subparsers: Any) -> None:
    """Add the analog subcommands."""
    netlist = subparsers.add_parser(
        "netlist", help="write the ngspice netlist of a [circuit] parameter file")
    netlist.add_argument("file", help="parameter file with [circuit] and [stimulus]")
    netlist.add_argument("-o", "--out", default="netlists",
                         help="output directory (default: netlists)")
    _analog_args(netlist)
    netlist.set_defaults(func=_cmd_netlist)

    simulate = subparsers.add_parser(
        "simulate", help="simulate a [circuit] parameter file with ngspice")
    simulate.add_argument("file")
    simulate.add_argument("--json", action="store_true", help="print JSON")
    _backend_args(simulate)
    simulate.add_argument("--no-tau", action="store_true",
                          help="skip the leak step response that measures tau")
    simulate.add_argument("--save", metavar="TRACE.npz", help="also save the trace")
    simulate.add_argument("--plot", metavar="OUT.png",
                          help="networks: rasters of golden and ngspice side by side")
    _analog_args(simulate)
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


def _analog_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--analog", action="store_true",
                        help="a [network] file as an analog network netlist (the default "
                             "for [circuit] files)")
    parser.add_argument("--topology", metavar="T",
                        help="analog topology, overriding the file's (e.g. behavioral, "
                             "sky130)")


def _is_network(path: str, args: argparse.Namespace) -> bool:
    """A [network] file run as an analog network (``--analog``); error otherwise."""
    from lifhw.params import load

    pf = load(path)
    if "network" not in pf.sections:
        return False
    if not args.analog:
        raise ParamError(f"{path} describes a [network]: add --analog to realise it as an "
                         "analog network netlist")
    return True


def _backend_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("batch", "shared"), default="batch",
                        help="ngspice in batch mode (default) or PySpice's shared library")
    parser.add_argument("--timeout", type=quantity("s", gt=0, le=MAX_TIMEOUT_S),
                        default=None,
                        help="per-simulation timeout, e.g. '60 s' or 60 (default "
                             f"{TIMEOUT_S:g} s; {NETWORK_TIMEOUT_S:g} s for an analog "
                             "network's run)")


def _load(path: str, topology: str | None = None) -> tuple[str, Any, Any, str]:
    import dataclasses

    from lifhw.analog.topology import get_topology
    from lifhw.params import load

    pf = load(path)
    circuit = pf.require("circuit")
    stimulus = pf.require("stimulus")
    if topology:
        try:
            get_topology(topology)
        except ParamError as err:
            raise ParamError(f"--topology: {err.message}") from None
        circuit = dataclasses.replace(circuit, topology=topology)
    return pf.name, circuit, stimulus, str(path)


def _config(args: argparse.Namespace, circuit: Any) -> Any:
    import dataclasses

    from lifhw.analog.backends import default_config

    return dataclasses.replace(default_config(circuit), timeout_s=args.timeout or TIMEOUT_S)


def _cmd_netlist(args: argparse.Namespace) -> int:
    from lifhw.analog import netlist as nl

    check_output_dir(args.out, option="-o")
    if _is_network(args.file, args):
        from lifhw.analog import network as anet

        an = _load_network(args.file, args.topology, getattr(args, "timeout", None) or TIMEOUT_S)
        text = anet.generate(an, source=args.file)
        circuit = next(iter(an.circuits.values()))
        print(nl.write_netlist(text, nl.netlist_path(args.out, an.name), circuit=circuit))
        return 0
    name, circuit, stimulus, source = _load(args.file, args.topology)
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
    if _is_network(args.file, args):
        return _simulate_network(args)
    name, circuit, stimulus, source = _load(args.file, args.topology)
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


def _load_network(path: str, topology: str | None, timeout: float = 300.0) -> Any:
    """The analog network of ``path``; designed (:func:`lifhw.analog.network.design_network`,
    progress on stderr) when its topology has a design hook and ``[analog] design`` is on."""
    import dataclasses
    import sys

    from lifhw.analog import network as anet
    from lifhw.analog.backends import default_config

    if topology:
        from lifhw.analog.topology import get_topology

        try:
            get_topology(topology)
        except ParamError as err:
            raise ParamError(f"--topology: {err.message}") from None
    an = anet.load(path, topology=topology)
    if not anet.designable(an):
        return an
    config = dataclasses.replace(default_config(next(iter(an.circuits.values()))),
                                 timeout_s=timeout)
    try:
        return anet.design_network(an, config=config,
                                   log=lambda line: print(line, file=sys.stderr))
    except ParamError as err:
        raise err.located(source=err.source or path) from None


def _simulate_network(args: argparse.Namespace) -> int:
    import dataclasses

    from lifhw.analog import network as anet
    from lifhw.golden.network import simulate_network
    from lifhw.io import print_json


    if args.backend != "batch":
        raise ParamError("analog networks run on the batch backend (--backend batch)")
    an = _load_network(args.file, args.topology, args.timeout or TIMEOUT_S)
    config = dataclasses.replace(_config(args, next(iter(an.circuits.values()))),
                                 timeout_s=args.timeout or NETWORK_TIMEOUT_S)
    from lifhw.analog.topology import get_topology

    run = anet.simulate(an, config=config, source=args.file)
    # A designed network meets the file's parameters (the spec): its golden runs on
    # them. Otherwise as lifhw compare's --golden auto: the file's parameters for
    # behavioural netlists, those extracted from each population's raw circuit at
    # transistor level.
    kind = "spec" if an.designed else get_topology(an.topology).golden
    params = anet.calibrated_params(an, config=config) if kind == "calibrated" else None
    golden = simulate_network(anet.golden_network(an, params), an.input_spikes)
    populations = anet.compare_runs(golden, run)
    if args.plot:
        anet.plot_rasters(golden, run, Path(args.plot),
                          title=f"{an.name}: {an.network.n_neurons} neurons, {an.topology}")
    data: dict[str, Any] = {
        "name": an.name, "topology": an.topology, "n_neurons": an.network.n_neurons,
        "golden": kind,
        "t_stop_s": an.t_stop, "populations": populations,
        "sim_seconds": run.meta["sim_seconds"],
        "seconds_per_neuron_second": run.meta["seconds_per_neuron_second"],
        "corner": next(iter(an.circuits.values())).corner,
    }
    if an.designed:
        data["designs"] = an.designs
    if args.plot:
        data["plot"] = str(args.plot)
    if args.json:
        print_json(data)
        return 0
    print(f"{an.name} ({an.topology}, {an.network.n_neurons} neurons, ngspice "
          f"{data['sim_seconds']:.1f} s) vs golden network:")
    for pop, r in populations.items():
        print(f"  {pop}: {r['rate_analog_hz']:.2f} Hz (golden {r['rate_golden_hz']:.2f} Hz), "
              f"rate error {r['rate_error'] * 100:+.2f} %, dispersion "
              f"{r['dispersion_analog']:.3f} (golden {r['dispersion_golden']:.3f})")
    if args.plot:
        print(f"  figure: {args.plot}")
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
    for sign, psp in summary.get("psp", {}).items():
        print(f"  {sign} PSP of {psp['weight_a'] * 1e12:+.3g} pA: peak "
              f"{psp['peak_v'] * 1e3:+.4g} mV (golden {psp['peak_golden_v'] * 1e3:+.4g} mV, "
              f"{psp['peak_error'] * 100:+.2f} %; closed form "
              f"{psp['peak_error_closed_form'] * 100:+.2f} %), tau_syn "
              f"{psp.get('tau_syn_s', float('nan')) * 1e3:.4g} ms")
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
