"""Property-based test of the ``lifhw`` command: malformed and extreme input for every subcommand.

Hypothesis mutates working parameter files (a value replaced by NaN, infinity, a
huge or negative number, the wrong unit, the wrong type, random text; a key
removed or added; the whole file replaced by junk) and draws option values the
same way. Every run must

* exit with status 0 or 2 -- never 1: status 1 means a command ran on valid input
  and found a negative result (lint warnings, a failed chip, failed sweep points or
  deployment targets), so a 1 here is input that should have been refused,
* print no traceback,
* write nothing outside its output directory (``out/`` under a fresh working
  directory; the inputs under ``in/`` stay as they were).

The examples are derandomised (the same ones every run, so CI is stable) and few
per subcommand; simulator-backed commands get short stimuli and short timeouts
and a memory budget of 256 MiB, so the whole file runs in about a minute. Set
``LIFHW_FUZZ_EXAMPLES=N`` to draw N examples per subcommand with fresh randomness.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import sqlite3
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifhw.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
FUZZ_EXAMPLES = int(os.environ.get("LIFHW_FUZZ_EXAMPLES", "0"))

# -- TOML -------------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_value(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """TOML text of a mapping (tables as [headers], lists of tables as [[headers]])."""
    lines = []
    tables = []
    for key, value in data.items():
        name = json.dumps(str(key))
        if isinstance(value, dict):
            tables.append((name, value, False))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append((name, value, True))
        else:
            lines.append(f"{name} = {_value(value)}")
    out = "\n".join(lines) + "\n"
    for name, value, array in tables:
        header = f"{prefix}.{name}" if prefix else name
        if array:
            for item in value:
                out += f"\n[[{header}]]\n" + to_toml(item, header)
        else:
            out += f"\n[{header}]\n" + to_toml(value, header)
    return out


# -- strategies -------------------------------------------------------------------------

EXTREMES: list[Any] = [
    math.nan, math.inf, -math.inf, 0, -1, 1e308, -1e308, 10**30, 1e-300, "", "abc", "nan",
    "inf", "1e400 s", "-5 ms", "1 fs", "1e6 s", "5 V", "1e9 Hz", "-1 pA", "1e-300 V",
    "0 ohm", "10 MOhm", "∞", "1e3 GHz", True, False, [], {}, [1, "a"], {"x": 1},
    "a" * 300,
]

bad_values = st.one_of(
    st.sampled_from(EXTREMES),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(data, dict):
        out: list[tuple[Any, ...]] = []
        for key, value in data.items():
            out.append((*path, key))
            out.extend(_leaves(value, (*path, key)))
        return out
    if isinstance(data, list):
        out = []
        for i, value in enumerate(data):
            out.extend(_leaves(value, (*path, i)))
        return out
    return []


def _set(data: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_QUANTITY = re.compile(r"^\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")
factors = st.sampled_from([0.0, -1.0, 1e-30, 1e-6, 0.5, 2.0, 10.0, 1e3, 1e30])


def _nearby(draw: st.DrawFn, value: Any) -> Any:
    """The same kind of value, scaled to something extreme (same unit): often still valid."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        scaled = value * draw(factors)
        return int(scaled) if isinstance(value, int) and abs(scaled) < 2**62 else scaled
    match = _QUANTITY.match(value) if isinstance(value, str) else None
    if match is None:
        return draw(bad_values)
    return f"{float(match.group(1)) * draw(factors):g} {match.group(2)}".strip()


@st.composite
def mutated_text(draw: st.DrawFn, base: dict[str, Any], invalid_only: bool = False) -> str:
    """TOML text of ``base`` with one to three mutations (or junk in its place)."""
    if not invalid_only and draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(st.text(max_size=80),
                              st.just("a = " + "[" * 5000 + "]" * 5000),
                              st.just('x = "unterminated')))
    data = json.loads(json.dumps(base))  # deep copy, plain types
    mutations = draw(st.sampled_from([1, 1, 1, 2, 3]))
    for _ in range(mutations):
        leaves = _leaves(data)
        kind = draw(st.sampled_from(["value", "nearby", "nearby", "delete", "add"] if leaves
                                    else ["add"]))
        if kind == "add":
            data[draw(st.sampled_from(["bogus", "neuron", "tau_m", "x y"]))] = \
                draw(bad_values)
            continue
        path = draw(st.sampled_from(leaves))
        if kind == "delete" and isinstance(path[-1], str):
            _set(data, path, None, delete=True)
        elif kind == "nearby":
            node = data
            for part in path:
                node = node[part]
            _set(data, path, _nearby(draw, node))
        else:
            _set(data, path, draw(bad_values))
    if invalid_only:
        data["surely_not_a_key"] = 1
    return to_toml(data)


def base(name: str) -> dict[str, Any]:
    with open(ROOT / "circuits" / name, "rb") as handle:
        return tomllib.load(handle)


GOLDEN = base("lif_demo.toml")
GOLDEN["stimulus"]["t_stop"] = "20 ms"
GOLDEN["stimulus"]["t_start"] = "5 ms"
CIRCUIT = base("ota_lif_behavioral.toml")
CIRCUIT["stimulus"]["t_stop"] = "1 ms"
CORE = base("lif_core_default.toml")
NETWORK = base("networks/ei_small.toml")
DESIGN = base("design_fast_neuron.toml")
NETWORK["network"]["t_stop"] = "50 ms"
SPEC = {"name": "fz", "base": "p.toml", "backend": "golden", "metrics": ["rate_hz"],
        "timeout": "20 s", "axes": {"stimulus.amplitude": {"lin": ["100 pA", "300 pA"],
                                                           "n": 2}}}

quantity_option = st.one_of(st.sampled_from(
    ["15 mV", "5 mV", "0 V", "-1 mV", "nan", "inf", "1e-300 V", "1e300 V", "5 s", "", "x",
     "20 ms", "2 ms", "-2 ms", "1e9 Hz", "20 Hz"]), st.text(max_size=8))
int_option = st.one_of(st.sampled_from(["0", "-5", "1", "2", "1e8", "1.5", "nan", "x", "",
                                        "99999999999999999999"]), st.integers(-3, 3).map(str))


# -- the cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """How to draw one command line: ``build(draw, root) -> argv`` writes inputs under
    ``root/in`` and points outputs at ``root/out``."""

    build: Callable[[st.DrawFn, Path], list[str]]
    examples: int = 6


def _param(draw: st.DrawFn, root: Path, data: dict[str, Any], invalid_only: bool = False,
           name: str = "p.toml") -> str:
    path = root / "in" / name
    path.write_text(draw(mutated_text(data, invalid_only)))
    return str(path)


def _junk_file(draw: st.DrawFn, root: Path, name: str) -> str:
    path = root / "in" / name
    path.write_bytes(draw(st.binary(max_size=64)))
    return str(path)


def _database(draw: st.DrawFn, root: Path) -> str:
    """A sweep database: junk, another program's SQLite file, or tampered JSON columns."""
    from lifhw.sweep.db import ResultsDB

    path = root / "in" / "r.sqlite"
    kind = draw(st.sampled_from(["junk", "foreign", "tampered", "fine"]))
    if kind == "junk":
        path.write_bytes(draw(st.binary(max_size=64)))
        return str(path)
    if kind == "foreign":
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("CREATE TABLE t (x)")
            conn.commit()
        return str(path)
    with ResultsDB(path) as store:
        store.record_sweep("fz", "/x/fz.toml", "golden", ["rate_hz"], {})
        store.record(key="k", params={"a": 1}, status="done", metrics={"rate_hz": 1.0},
                     error=None, seconds=0.0, sweep="fz", backend="golden",
                     axes={"stimulus.amplitude": 1e-10}, point_index=0)
    if kind == "tampered":
        column = draw(st.sampled_from(["params", "metrics", "axes"]))
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute(f"UPDATE points SET {column} = ?", (draw(st.text(max_size=10)),))
            conn.commit()
    # The WAL and shared-memory files belong to the input: checkpoint them away.
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    return str(path)


def _check(draw: st.DrawFn, root: Path) -> list[str]:
    data = draw(st.sampled_from([GOLDEN, CIRCUIT, CORE, NETWORK, DESIGN]))
    return ["check", _param(draw, root, data)]


def _golden(draw: st.DrawFn, root: Path) -> list[str]:
    argv = ["golden", _param(draw, root, GOLDEN), "--json"]
    if draw(st.booleans()):
        argv += ["--plot", str(root / "out" / draw(st.sampled_from(
            ["g.png", "g.xyz", "g", "d/g.svg"])))]
    return argv + draw(st.sampled_from([[], ["--grid"]]))


def _estimate(draw: st.DrawFn, root: Path) -> list[str]:
    path = root / "in" / "trace.csv"
    rows = draw(st.lists(st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)),
                         max_size=40))
    header = draw(st.sampled_from(["t,v\n", "t,v_mv\n", "", "a,b,c\n"]))
    path.write_text(header + "".join(f"{t},{v}\n" for t, v in rows))
    if draw(st.integers(0, 4)) == 0:
        path = Path(_junk_file(draw, root, draw(st.sampled_from(["t.csv", "t.npy"]))))
    argv = ["estimate", str(path), "--json"]
    if draw(st.booleans()):
        argv += ["--filter-tau", draw(quantity_option)]
    if draw(st.booleans()):
        argv += ["--t-ref", draw(quantity_option)]
    return argv


def _siegert(draw: st.DrawFn, root: Path) -> list[str]:
    argv = ["siegert", "--mu", draw(quantity_option), "--sigma", draw(quantity_option),
            "--json"]
    for option in ("--tau", "--v-th", "--v-reset", "--t-ref"):
        if draw(st.booleans()):
            argv += [option, draw(quantity_option)]
    return argv


def _netlist(draw: st.DrawFn, root: Path) -> list[str]:
    return ["netlist", _param(draw, root, CIRCUIT), "-o", str(root / "out" / "nl")]


def _layout(draw: st.DrawFn, root: Path) -> list[str]:
    argv = ["layout", _param(draw, root, CIRCUIT), *draw(st.sampled_from([[], ["--json"]]))]
    if draw(st.booleans()):
        argv += ["-o", str(root / "out" / draw(st.sampled_from(["n.gds", "n.txt", "d/n.gds"])))]
    if draw(st.booleans()):
        argv += ["--plot", str(root / "out" / draw(st.sampled_from(["n.png", "n.svg"])))]
    return argv


def _simulate(draw: st.DrawFn, root: Path) -> list[str]:
    argv = ["simulate", _param(draw, root, CIRCUIT), "--json", "--no-tau",
            "--timeout", draw(st.sampled_from(["5", "0", "nan", "-1", "inf", "x"]))]
    if draw(st.booleans()):
        argv += ["--save", str(root / "out" / "t.npz")]
    return argv


def _compare(draw: st.DrawFn, root: Path) -> list[str]:
    return ["compare", _param(draw, root, CIRCUIT, invalid_only=True), "--json",
            "--timeout", "5", "--plot", str(root / "out" / "c.png")]


def _design(draw: st.DrawFn, root: Path) -> list[str]:
    # A valid spec runs a whole design (minutes of ngspice): the [design] section is
    # fuzzed through `check`; here the file is mutated and --workers is always bad, so
    # the command must refuse cleanly before it simulates.
    return ["design", _param(draw, root, DESIGN), "-o", str(root / "out" / "design"),
            "--workers", draw(st.sampled_from(["0", "-1", "x", "nan", ""])),
            *draw(st.sampled_from([[], ["--json"]]))]


def _rtl(action: str, invalid_only: bool) -> Callable[[st.DrawFn, Path], list[str]]:
    def build(draw: st.DrawFn, root: Path) -> list[str]:
        argv = ["rtl", action, _param(draw, root, CORE, invalid_only=invalid_only)]
        if action == "generate":
            argv += ["-o", str(root / "out" / "rtl")]
        if action == "test":
            argv += ["--sim", "icarus", "--updates", draw(int_option), "--seed",
                     draw(int_option), "-o", str(root / "out" / "t")]
        return argv
    return build


def _map(draw: st.DrawFn, root: Path) -> list[str]:
    if draw(st.integers(0, 3)) == 0:
        network = _junk_file(draw, root, "n.nir")
    else:
        network = _param(draw, root, NETWORK)
    argv = ["map", network, "--chip", draw(st.sampled_from(["loihi", "spinnaker", "x"]))]
    if draw(st.booleans()):
        argv += ["--option", draw(st.sampled_from(
            ["refractory=False", "refractory=yes", "vth=1.5", "timestep=nan", "=", "a=b",
             "num_weight_bits=-3", "calibrated=true"]))]
    if draw(st.booleans()):
        argv += ["--export-nir", str(root / "out" / "e.nir")]
    if network.endswith(".nir"):
        argv += ["--t-stop", draw(quantity_option), "--dt", draw(quantity_option)]
    return argv


def _run(draw: st.DrawFn, root: Path) -> list[str]:
    argv = ["run", _param(draw, root, NETWORK)]
    if draw(st.booleans()):
        argv += ["--t-stop", draw(quantity_option)]
    if draw(st.booleans()):
        argv += ["--threads", draw(st.sampled_from(["0", "-1", "1", "2", "x"]))]
    if draw(st.booleans()):
        argv.append("--json")
    return argv


def _export_pynn(draw: st.DrawFn, root: Path) -> list[str]:
    return ["export", "pynn", _param(draw, root, NETWORK), "-o", str(root / "out" / "net.py")]


def _snn_train(draw: st.DrawFn, root: Path) -> list[str]:
    argv = ["snn", "train", "--epochs", draw(st.sampled_from(["0", "0", "-1", "x", "1.5"])),
            "--hidden", draw(st.sampled_from(["0", "-5", "1", "3", "3", "100000000", "x"])),
            "--method", draw(st.sampled_from(["surrogate", "eprop"]))]
    for option in ("--steps", "--seed"):
        if draw(st.booleans()):
            argv += [option, draw(st.sampled_from(["0", "-1", "2", "1e8", "100000000", "x"]))]
    for option in ("--lr", "--scale"):
        if draw(st.booleans()):
            argv += [option, draw(st.sampled_from(["nan", "inf", "-1", "0", "1e-3", "x"]))]
    if draw(st.booleans()):
        argv += ["-o", str(root / "out" / "m.npz")]
    return argv


def _snn_deploy(draw: st.DrawFn, root: Path) -> list[str]:
    model = _junk_file(draw, root, draw(st.sampled_from(["m.npz", "m.nir"])))
    argv = ["snn", "deploy", model, "--targets", draw(st.sampled_from(["float", "x", ""]))]
    for option in ("--samples", "--steps", "--rtl-samples"):
        if draw(st.booleans()):
            argv += [option, draw(int_option)]
    if draw(st.booleans()):
        argv += ["--dt", draw(quantity_option)]
    return argv


def _sweep(draw: st.DrawFn, root: Path) -> list[str]:
    if draw(st.booleans()):
        _param(draw, root, GOLDEN)
    else:
        (root / "in" / "p.toml").write_text(to_toml(GOLDEN))
    spec = _param(draw, root, SPEC, name="fz.toml")
    argv = ["sweep", spec, "-q", "--db", str(root / "out" / "s.sqlite"), "--workers", "1"]
    if draw(st.booleans()):
        argv += ["--timeout", draw(st.sampled_from(["nan", "0", "-1", "inf", "10", "1 ms"]))]
    return argv + draw(st.sampled_from([[], ["--resume"], ["--no-plugins"]]))


def _sweep_export(draw: st.DrawFn, root: Path) -> list[str]:
    db = _database(draw, root)
    out = draw(st.sampled_from([str(root / "out" / "e.csv"), db, str(root / "out")]))
    return ["sweep", "export", db, draw(st.sampled_from(["--csv", "--parquet"])), "-o", out]


def _plot(draw: st.DrawFn, root: Path) -> list[str]:
    which = draw(st.sampled_from([[], ["--sweep", "fz"], ["--sweep", "nope"]]))
    return ["plot", _database(draw, root), "-o", str(root / "out" / "plots"), *which]


def _demo(draw: st.DrawFn, root: Path) -> list[str]:
    (root / "in" / "f").write_text("a file")
    only = draw(st.sampled_from([[], ["--only", "nope"], ["--only", ""]]))
    return ["demo", "-o", str(root / "in" / "f"), *only]


CASES = {
    "check": Case(_check, 25),
    "golden": Case(_golden, 25),
    "estimate": Case(_estimate, 15),
    "siegert": Case(_siegert, 15),
    "netlist": Case(_netlist, 15),
    "layout": Case(_layout, 6),
    "simulate": Case(_simulate, 8),
    "compare": Case(_compare, 3),
    "design": Case(_design, 5),
    "rtl generate": Case(_rtl("generate", False), 15),
    "rtl lint": Case(_rtl("lint", False), 8),
    "rtl test": Case(_rtl("test", True), 4),
    "rtl synth": Case(_rtl("synth", True), 3),
    "map": Case(_map, 15),
    "run": Case(_run, 12),
    "export pynn": Case(_export_pynn, 8),
    "snn train": Case(_snn_train, 10),
    "snn deploy": Case(_snn_deploy, 4),
    "sweep": Case(_sweep, 12),
    "sweep export": Case(_sweep_export, 10),
    "plot": Case(_plot, 10),
    "demo": Case(_demo, 3),
}


def test_every_subcommand_is_covered() -> None:
    from lifhw.app.cli import build_parser

    parser = build_parser()
    commands = set()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in action.choices.items():
            actions = [a for a in sub._actions if a.__class__.__name__ == "_SubParsersAction"]
            if actions:
                commands |= {f"{name} {child}" for child in actions[0].choices}
            else:
                commands.add(name)
    commands.add("sweep export")
    assert commands == set(CASES)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def run_in(root: Path, argv: list[str]) -> tuple[int, str, str]:
    """Run ``lifhw argv`` in ``root`` with outputs and builds confined to ``root/out``."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.update({"LIFHW_BUILD_DIR": str(root / "out" / "build"),
                       "LIFHW_MEMORY_BUDGET": "256 MiB", "MPLBACKEND": "Agg"})
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 2
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", sorted(CASES))
def test_bad_input_exits_cleanly(command: str, tmp_path_factory: pytest.TempPathFactory
                                 ) -> None:
    case = CASES[command]
    parent = tmp_path_factory.mktemp("fuzz")

    @settings(max_examples=FUZZ_EXAMPLES or case.examples, deadline=None,
              derandomize=not FUZZ_EXAMPLES, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        root = Path(tempfile.mkdtemp(dir=parent))
        (root / "in").mkdir()
        (root / "out").mkdir()
        argv = case.build(data.draw, root)
        before = _snapshot(root)
        code, out, err = run_in(root, argv)
        allowed = (0, 2)
        assert code in allowed, (argv, code, out[-500:], err[-1500:])
        assert "Traceback" not in err and "Traceback" not in out, (argv, err[-1500:])
        after = _snapshot(root)
        for name, stamp in before.items():
            if name.startswith("in"):
                assert after.get(name) == stamp, f"{argv}: input {name} changed or removed"
        # SQLite keeps a WAL database's -wal/-shm files next to it, also for readers:
        # they belong to the input database, not to the command's output.
        outside = sorted(n for n in after
                         if not n.startswith("out") and before.get(n) != after[n]
                         and not (n.endswith(("-wal", "-shm")) and n[:-4] in before))
        assert not outside, f"{argv}: wrote {outside} outside out/"

    check()


def test_fuzz_helpers_round_trip() -> None:
    """The TOML writer is what the mutations go through: it must reproduce its input."""
    for data in (GOLDEN, CIRCUIT, CORE, NETWORK, SPEC):
        assert tomllib.loads(to_toml(data)) == data
    odd = {"a": [math.inf, -1e308, "x\ny"], "t": {"k": {"z": [1, {"q": True}]}}}
    assert tomllib.loads(to_toml(odd)) == odd
    assert np.isnan(tomllib.loads(to_toml({"n": math.nan}))["n"])
