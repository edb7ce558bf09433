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

from lifhw.chips.base import CHIPS
from lifhw.errors import ParamError

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
    parser.add_argument("--seed", type=int, default=0, help="NIR only: input seed")
    parser.set_defaults(func=_cmd_map)


def load_network(path: str | Path, *, dt: str = "1 ms", rate: str = "20 Hz",
                 t_stop: str = "1 s", seed: int = 0) -> tuple[Any, Any]:
    """(Network, input spikes) from a parameter file or a ``.nir`` file."""
    import numpy as np

    from lifhw.units import parse_quantity

    file = Path(path)
    if file.suffix.lower() in (".nir", ".h5", ".hdf5"):
        from lifhw import nir_bridge

        if not file.exists():
            raise ParamError("file not found", source=str(file))
        step = parse_quantity(dt, "s", path="--dt")
        network = nir_bridge.read(file, dt=step)
        hz = parse_quantity(rate, "Hz", path="--rate")
        n_steps = round(parse_quantity(t_stop, "s", path="--t-stop") / step)
        n_in = sum(p.size for p in network.inputs)
        spikes = np.random.default_rng(seed).random((n_steps, n_in)) < min(hz * step, 1.0)
        return network, spikes
    from lifhw.network import load_experiment

    return load_experiment(file)


def _cmd_map(args: argparse.Namespace) -> int:
    from lifhw.chips import report
    from lifhw.io import print_json

    network, spikes = load_network(args.network, dt=args.dt, rate=args.rate,
                                   t_stop=args.t_stop, seed=args.seed)
    chips = report.ALL_CHIPS if args.chip == "all" else (args.chip,)
    if args.export_nir and args.chip == "all":
        raise ParamError("--export-nir needs one --chip (each chip realises its own network)")
    options = _parse_options(args.option)
    if options and args.chip == "all":
        raise ParamError("--option needs one --chip (options differ between chips)")
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
    failed = [r.chip for r in result.results if r.error]
    if failed:
        import sys

        print("lifhw map: failed on " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


def _parse_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings -> keyword options (TOML values: true, 3, 0.5, "x")."""
    import tomllib

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ParamError(f"--option expects KEY=VALUE, got {item!r}")
        try:
            out[key] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = raw  # a bare word is a string
    return out
