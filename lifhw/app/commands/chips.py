"""``lifhw map NETWORK --chip loihi|truenorth|spinnaker|brainscales|rtl|all``.

NETWORK is a parameter file with a ``[network]`` section (which also defines
the input spikes) or a ``.nir`` graph (then the inputs are Poisson sources at
``--rate`` for ``--t-stop``, seeded by ``--seed``). Prints the comparison
table of :mod:`lifhw.chips.report` (``--json`` for the full report) and writes
a raster/count figure with ``--plot``. ``--export-nir`` (one chip) writes
the network the chip effectively realises as a NIR graph, with the chip's
integers in each node's metadata. ``--place`` adds each chip's placement:
neurons onto cores and chips, the resource table (cores, chips, synapses
per core) and the spike traffic between cores and chips at the rates the
chip's run measured. The choices are the registered hardware
targets (:data:`lifhw.chips.CHIPS`); ``all`` runs the chips, ``rtl`` (lifhw's
population core: delta synapses, feed-forward) is named explicitly.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lifhw.app.options import integer
from lifhw.chips.base import CHIPS
from lifhw.errors import ParamError
from lifhw.io import check_figure_path, check_output_file

CHOICES = (*CHIPS.names(), "all")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "map", help="map a float LIF network onto neuromorphic chips and compare with golden",
        description=__doc__.replace("``", "").replace(":mod:", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="parameter file with [network], or a .nir file")
    parser.add_argument("--chip", default="all", choices=CHOICES, help="target chip")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--plot", metavar="PNG", help="write rasters and counts to this file")
    parser.add_argument("--export-nir", metavar="NIR",
                        help="with one --chip: write the network the chip realises as NIR "
                             "(dequantised floats, chip integers in metadata)")
    parser.add_argument("--place", action="store_true",
                        help="also place the network on cores and chips: resource table "
                             "and inter-core / inter-chip traffic per chip")
    parser.add_argument("--place-order", default="index", choices=("index", "rcm"),
                        help="with --place: fill cores in neuron-index order or in "
                             "reverse Cuthill-McKee order of the network graph")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="keyword option of the chip's map (one --chip), e.g. "
                             "refractory=true for loihi; repeatable")
    parser.add_argument("--dt", default="1 ms", help="NIR only: time step (default 1 ms)")
    parser.add_argument("--rate", default="20 Hz", help="NIR only: Poisson input rate")
    parser.add_argument("--t-stop", default="1 s", help="NIR only: duration")
    parser.add_argument("--seed", type=integer(ge=0), default=0, help="NIR only: input seed")
    parser.set_defaults(func=_cmd_map)


def load_network(path: str | Path, *, dt: str = "1 ms", rate: str = "20 Hz",
                 t_stop: str = "1 s", seed: int = 0, n_chips: int = 1) -> tuple[Any, Any]:
    """(Network, input spikes) from a parameter file or a ``.nir`` file.

    Raises:
        ParamError: A bad file or option, or an experiment whose estimated memory on
            golden and ``n_chips`` chips exceeds the budget (:mod:`lifhw.budget`).
    """
    import numpy as np

    from lifhw import budget
    from lifhw.units import parse_quantity

    file = Path(path)
    if file.suffix.lower() in (".nir", ".h5", ".hdf5"):
        from lifhw import nir_bridge

        if not file.exists():
            raise ParamError("file not found", source=str(file))
        step = parse_quantity(dt, "s", path="--dt")
        if not step > 0:
            raise ParamError("must be > 0 s", path="--dt")
        hz = parse_quantity(rate, "Hz", path="--rate")
        if hz < 0:
            raise ParamError("must be >= 0 Hz", path="--rate")
        duration = parse_quantity(t_stop, "s", path="--t-stop")
        if not duration >= step:
            raise ParamError("must be at least one --dt", path="--t-stop")
        network = nir_bridge.read(file, dt=step)
        n_steps = round(duration / step)
        n_in = sum(p.size for p in network.inputs)
        budget.check(budget.network_bytes(
            n_steps, n_in, [p.size for p in network.populations],
            [p.weights.shape for p in network.projections], n_chips),
            f"{network.n_neurons} neurons for {n_steps} steps on {n_chips} chip(s)",
            path="--t-stop", source=str(file))
        spikes = np.random.default_rng(seed).random((n_steps, n_in)) < min(hz * step, 1.0)
        return network, spikes
    from lifhw import params
    from lifhw.network import load_experiment

    section = params.load(file).require("network")
    sizes = {name: s.size for name, s in (*section.inputs.items(),
                                          *section.populations.items())}
    populations = [s.size for s in section.populations.values()]
    budget.check(budget.network_bytes(
        section.n_steps, sum(s.size for s in section.inputs.values()), populations,
        [(sizes[p.post], sizes[p.pre]) for p in section.projections], n_chips),
        f"{sum(populations)} neurons for {section.n_steps} steps on {n_chips} chip(s)",
        path="network", source=str(file))
    return load_experiment(file)


def _cmd_map(args: argparse.Namespace) -> int:
    from lifhw.chips import report
    from lifhw.io import print_json

    chips = report.ALL_CHIPS if args.chip == "all" else (args.chip,)
    if args.export_nir and args.chip == "all":
        raise ParamError("--export-nir needs one --chip (each chip realises its own network)")
    options = _parse_options(args.option, args.chip)
    if args.plot:
        check_figure_path(args.plot, option="--plot", inputs=(args.network,))
    if args.export_nir:
        check_output_file(args.export_nir, option="--export-nir", inputs=(args.network,))
    network, spikes = load_network(args.network, dt=args.dt, rate=args.rate,
                                   t_stop=args.t_stop, seed=args.seed, n_chips=len(chips))
    result = report.evaluate(network, spikes, chips,
                             options={args.chip: options} if options else None)
    if args.export_nir and result.results[0].config is not None:
        from lifhw import nir_bridge
        from lifhw.chips import CHIPS

        config = result.results[0].config
        realised = CHIPS.get(args.chip).dequantize(config)
        nir_bridge.write(args.export_nir, realised, config=config)
    if args.plot:
        report.plot(result, args.plot)
    placements = report.place(result, spikes, order=args.place_order) if args.place else {}
    duration = spikes.shape[0] * network.dt
    if args.json:
        data = report.to_dict(result)
        for chip, placement in placements.items():
            data["chips"][chip]["placement"] = {
                **placement.as_dict(), "energy": placement.energy(duration).as_dict()}
        print_json(data)
    else:
        print(f"network {network.name}: {network.n_neurons} neurons, {network.n_synapses} "
              f"synapses, {spikes.shape[0]} steps of {network.dt * 1e3:g} ms")
        print(report.format_rows(report.table(result)))
        print()
        print("quantisation error per parameter (relative):")
        print(report.format_rows(report.parameter_table(result)))
        for res in result.results:
            for violation in res.violations:
                print(f"{res.chip}: {violation}")
        for chip, placement in placements.items():
            print()
            print(f"placement on {chip}:")
            print(report.format_rows(report.placement_rows(placement)))
            for line in report.placement_summary(placement, duration):
                print(f"  {line}")
        if args.plot:
            print(f"figure: {args.plot}")
        if args.export_nir:
            print(f"NIR graph: {args.export_nir}")
    return _map_status(args.network, result)


def _map_status(network_file: str, result: Any) -> int:
    """Exit status of ``map`` after the report is printed.

    2 when the input is what fails -- a chip's design rules say it cannot run this
    network as given (severity ``error``), or mapping refused a parameter --: one line
    on stderr naming the file, the chip and the first broken rule. 1 when a chip raised
    for another reason (a fault of lifhw or of a missing simulator). 0 otherwise.
    """
    import sys

    broken = [(r.chip, v) for r in result.results if not r.error
              for v in r.violations if v.severity == "error"]
    raised = [r.chip for r in result.results if r.error]
    if broken:
        chip, first = broken[0]
        more = f" (+{len(broken) - 1} more, see the report)" if len(broken) > 1 else ""
        print(f"lifhw: error: {network_file}: the network breaks {chip}'s design rules "
              f"(design-rule error): {first}{more}", file=sys.stderr)
    if raised:
        print("lifhw map: failed (a chip raised) on " + ", ".join(raised), file=sys.stderr)
    input_errors = [r for r in result.results
                    if r.error and r.error.startswith(("ParamError", "LifhwError"))]
    if raised and len(input_errors) < len(raised):
        return 1
    return 2 if broken or raised else 0


def _parse_options(items: list[str], chip: str) -> dict[str, Any]:
    """``KEY=VALUE`` strings -> keyword options of ``<chip>.map``, typed by its signature.

    A boolean option takes ``true`` or ``false``, an integer one an integer, a
    float one a finite number; an unknown key or value is an error.
    """
    import inspect
    import typing

    from lifhw.app.options import typed_value
    from lifhw.chips import CHIPS

    if not items:
        return {}
    if chip == "all":
        raise ParamError("--option needs one --chip (options differ between chips)")
    mapper = CHIPS.get(chip).map
    hints = typing.get_type_hints(mapper)
    allowed = {name: p for name, p in inspect.signature(mapper).parameters.items()
               if p.kind is inspect.Parameter.KEYWORD_ONLY}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ParamError(f"--option expects KEY=VALUE, got {item!r}")
        if key not in allowed:
            raise ParamError(f"{chip} has no map option {key!r}; options: "
                             + (", ".join(allowed) or "none"), path="--option")
        kinds = [t for t in typing.get_args(hints.get(key)) if t is not type(None)] \
            or [hints.get(key, str)]
        out[key] = typed_value(raw, kinds[0], name=f"--option {key}")
    return out
