"""``lifhw snn``: train or convert a digits SNN, deploy it on the chips and the RTL core.

    lifhw snn train --method surrogate -o build/snn/surrogate.npz
    lifhw snn train --method convert -o build/snn/converted.npz
    lifhw snn train --conv 8 --epochs 10 --nir build/snn/conv.nir
    lifhw snn deploy build/snn/surrogate.npz --samples 200
    lifhw snn deploy --method convert --targets float,loihi --json

``deploy`` without a model file builds one first (embedded defaults).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lifhw import budget
from lifhw.app.options import integer, number, quantity
from lifhw.errors import ParamError
from lifhw.io import check_output_file

#: The digits task (scikit-learn's 8x8 digits): inputs, classes, samples.
DIGITS_INPUTS, DIGITS_CLASSES, DIGITS_SAMPLES = 64, 10, 1797


def register(subparsers: Any) -> None:
    from lifhw.snn.deploy import ALL_TARGETS, TARGETS
    from lifhw.snn.surrogate import SURROGATES
    from lifhw.snn.task import METHODS

    snn = subparsers.add_parser("snn", help="spiking networks: train, convert, deploy (digits)")
    sub = snn.add_subparsers(dest="snn_command", metavar="ACTION")

    tr = sub.add_parser("train", help="train (surrogate BPTT / three-factor) or convert an ANN")
    tr.add_argument("--method", choices=METHODS, default="surrogate")
    tr.add_argument("--epochs", type=integer(ge=0), default=15, help="training epochs (default 15)")
    tr.add_argument("--steps", type=integer(ge=1), default=None,
                    help="time steps per sample (default 16; 64 for convert)")
    tr.add_argument("--hidden", type=integer(ge=1), nargs="*", default=None,
                    help="hidden (dense) layer sizes (default 128; none after --conv)")
    tr.add_argument("--conv", type=integer(ge=1), nargs="+", default=[],
                    help="surrogate: output channels of 3x3 spiking convolutions (padding "
                    "1) before the dense layers, e.g. --conv 8")
    tr.add_argument("--encoding", choices=("rate", "poisson", "latency"), default="rate")
    tr.add_argument("--surrogate", choices=SURROGATES, default="fast_sigmoid")
    tr.add_argument("--scale", type=number(gt=0), default=5.0, help="surrogate slope (default 5)")
    tr.add_argument("--lr", type=number(gt=0), default=2e-3, help="Adam learning rate")
    tr.add_argument("--no-detach-reset", action="store_true",
                    help="back-propagate through the reset too")
    tr.add_argument("--bias", choices=("current", "neuron"), default="current",
                    help="convert: biases as inverse f-I currents or a bias neuron")
    tr.add_argument("--seed", type=integer(ge=0), default=0)
    tr.add_argument("-o", "--out", help="write the network (.npz) here")
    tr.add_argument("--nir", help="also export the network as a NIR graph (.nir) here")
    tr.add_argument("--json", action="store_true", help="print the result as JSON")
    tr.set_defaults(func=_cmd_train)

    de = sub.add_parser("deploy", help="run a network on float, the chips and the RTL core")
    de.add_argument("model", nargs="?",
                    help="network file from `lifhw snn train -o` (.npz) or a NIR graph (.nir)")
    de.add_argument("--method", choices=METHODS, default="surrogate",
                    help="without a model file: build this one first")
    de.add_argument("--targets", default=",".join(TARGETS),
                    help=f"comma-separated subset of {','.join(ALL_TARGETS)} "
                    f"(default {','.join(TARGETS)})")
    de.add_argument("--samples", type=integer(ge=0), default=200,
                    help="test samples to run (default 200; 0 = all 450)")
    de.add_argument("--rtl-samples", type=integer(ge=0), default=None,
                    help="samples for the RTL core (default 32; each run starts a simulator)")
    de.add_argument("--steps", type=integer(ge=2), default=16, help="NIR input: steps per sample")
    de.add_argument("--encoding", choices=("rate", "poisson", "latency"), default="rate",
                    help="NIR input: spike encoding")
    de.add_argument("--dt", type=quantity("s", gt=0), default=1e-3,
                    help="NIR input: time step, e.g. '1 ms' (default 1 ms)")
    de.add_argument("--no-nir", action="store_true",
                    help="deploy the network as is, without the NIR round trip")
    de.add_argument("--json", action="store_true", help="print the table as JSON")
    de.set_defaults(func=_cmd_deploy)
    snn.set_defaults(func=lambda _args: snn.print_help() or 0)


def _cmd_train(args: argparse.Namespace) -> int:
    from lifhw.io import print_json
    from lifhw.snn import export, task, train

    if args.out:
        check_output_file(args.out, option="-o")
    if args.nir:
        check_output_file(args.nir, option="--nir")
    steps = args.steps
    if args.conv and args.method != "surrogate":
        raise ParamError("--conv trains with --method surrogate only")
    hidden = args.hidden if args.hidden is not None else ([] if args.conv else [128])
    n_steps = 16 if steps is None else steps
    convert_steps = task.CONVERT_STEPS if steps is None else steps
    config = train.TrainConfig(hidden=tuple(hidden), conv=tuple(args.conv), n_steps=n_steps,
                               encoding=args.encoding, epochs=args.epochs, lr=args.lr,
                               surrogate=args.surrogate, scale=args.scale,
                               detach_reset=not args.no_detach_reset, seed=args.seed)
    budget.check(budget.snn_bytes([DIGITS_INPUTS, *config.hidden, DIGITS_CLASSES],
                                  convert_steps if args.method == "convert" else n_steps,
                                  DIGITS_SAMPLES, config.batch),
                 f"training a {[DIGITS_INPUTS, *config.hidden, DIGITS_CLASSES]} network",
                 path="--hidden/--steps")
    trained = None
    if args.conv:
        trained, network, info = task.train_network(args.method, config=config)
    else:
        network, info = task.build(args.method, config=config, bias_mode=args.bias,
                                   convert_steps=convert_steps, seed=args.seed)
    if args.out:
        export.save_model(Path(args.out), network, info)
        info["file"] = str(args.out)
    if args.nir:
        from lifhw import nir_bridge

        if trained is not None:  # Conv2d nodes, not the unrolled projections
            nir_bridge.write_graph(Path(args.nir),
                                   export.conv_to_nir(trained, name=network.name))
        else:
            nir_bridge.write(Path(args.nir), network)
        info["nir"] = str(args.nir)
    if args.json:
        print_json(info)
        return 0
    line = (f"{args.method}: test accuracy {100 * info['test_accuracy']:.1f} % "
            f"({info['n_steps']} steps, {info['encoding']} code), "
            f"trained in {info['train_seconds']:.2f} s")
    if "ann_test_accuracy" in info:
        line += f"; ANN {100 * info['ann_test_accuracy']:.1f} %"
    print(line)
    if args.out:
        print(f"network: {args.out}")
    return 0


def _cmd_deploy(args: argparse.Namespace) -> int:
    from lifhw.io import print_json
    from lifhw.snn import data, deploy, export, task

    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in targets if t not in deploy.ALL_TARGETS]
    if unknown:  # before any training
        raise ParamError(f"unknown deployment target(s) {unknown}; choose from "
                         f"{', '.join(deploy.ALL_TARGETS)}")
    digits = data.load()
    if args.model and Path(args.model).suffix == ".nir":
        from lifhw import nir_bridge

        network = nir_bridge.read(Path(args.model), dt=args.dt)
        info = {"n_steps": args.steps, "encoding": args.encoding}
        _check_digits_network(network)
    elif args.model:
        network, info = export.load_model(Path(args.model))
    else:
        network, info = task.build(args.method, digits=digits)
    n = args.samples or len(digits.y_test)
    widths = [sum(p.size for p in network.inputs), *(p.size for p in network.populations)]
    budget.check(budget.snn_bytes(widths, int(info["n_steps"]), n, n),
                 f"running {n} samples of {info['n_steps']} steps through {widths}",
                 path="--steps", source=str(args.model or ""))
    x = task.encoded_test_set(network, info, digits)[:, :n]
    rtl_samples = deploy.RTL_SAMPLES if args.rtl_samples is None else args.rtl_samples
    results = deploy.deploy(network, x, digits.y_test[:n], targets, log=not args.json,
                            rtl_samples=rtl_samples, via_nir=not args.no_nir)
    if args.json:
        print_json({"network": network.name, "info": info,
                    "results": [r.as_dict() for r in results]})
        return _exit_status(results)
    rows = deploy.table(results)
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]) - 1)]
    print(f"{network.name}: {n} test samples, {info['n_steps']} steps")
    for row in rows:
        cells = [str(c).rjust(w) for c, w in zip(row[:-1], widths, strict=True)]
        print("  ".join(cells) + ("  " + str(row[-1]) if row[-1] else ""))
    for r in results:
        for warning in r.warnings:
            print(f"{r.target}: {warning}")
    return _exit_status(results)


def _exit_status(results: list[Any]) -> int:
    """1 (and the failed targets on stderr) when a target raised instead of running."""
    import sys

    failed = [r.target for r in results if r.failed]
    if failed:
        print("lifhw snn deploy: failed on " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


def _check_digits_network(network: Any) -> None:
    """A network from elsewhere must fit the digits task: 64 inputs, 10 outputs."""
    names = [p.name for p in network.populations]
    if sum(p.size for p in network.inputs) not in (64, 65) or "output" not in names:
        raise ParamError("a digits network needs 64 input neurons and an 'output' "
                         f"population of 10; got inputs {[p.size for p in network.inputs]}, "
                         f"populations {names}")
    if network.population("output").size != 10:
        raise ParamError("the 'output' population must have 10 neurons")
