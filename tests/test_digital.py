"""Fast tests of the digital flow (no simulators): golden fixed-point model, [core]
validation, generators against the committed reference RTL, file packing, mapping."""

from __future__ import annotations

import itertools
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from lifhw.digital import harness, verilog
from lifhw.digital.params import CoreSection
from lifhw.errors import ParamError
from lifhw.golden import fixedpoint as fp
from lifhw.params import load, load_mapping

ROOT = Path(__file__).resolve().parents[1]
CORES = sorted((ROOT / "circuits").glob("lif_core_*.toml"))


# ----------------------------------------------------------------- golden model


def _reference_step(p: fp.FixedLIF, v: int, ref: int, i: int) -> tuple[int, int, bool]:
    """Scalar transcription of the spec (issue 4), independent of the NumPy code."""
    lo, hi = -(2 ** (p.w_v - 1)), 2 ** (p.w_v - 1) - 1

    def div(x: int, d: int) -> int:  # floor or toward zero, in exact integers
        q = x // d
        if p.rounding == "zero" and x < 0 and q * d != x:
            q += 1
        return q

    def ovf(x: int) -> int:
        if p.overflow == "saturate":
            return min(max(x, lo), hi)
        return (x - lo) % 2**p.w_v + lo

    if ref > 0:
        return v, ref - 1, False
    if p.leak == "shift":
        leaked = v - div(v, 2**p.leak_shift)
    else:
        leaked = div(v * (2**p.frac_bits - p.leak_d), 2**p.frac_bits)
    u = ovf(leaked + i)
    fire = u >= p.v_th if p.compare == "ge" else u > p.v_th
    if not fire:
        return u, 0, False
    after = p.v_reset if p.reset == "value" else ovf(u - p.v_th)
    return after, p.t_ref, True


@pytest.mark.parametrize(("leak", "rounding", "v", "expected"), [
    ("shift", "floor", 1000, 938),     # 1000 - floor(62.5)
    ("shift", "floor", -1000, -937),   # -1000 - floor(-62.5) = -1000 + 63
    ("shift", "zero", -1000, -938),    # -1000 - trunc(-62.5) = -1000 + 62
    ("multiply", "floor", 1000, 949),  # floor(1000 * 243 / 256 = 949.2)
    ("multiply", "floor", -1000, -950),
    ("multiply", "zero", -1000, -949),
])
def test_leak_hand_values(leak: str, rounding: str, v: int, expected: int) -> None:
    p = fp.FixedLIF(leak=leak, rounding=rounding, leak_shift=4, frac_bits=8, leak_d=13)
    assert int(fp.leak(p, np.array([v]))[0]) == expected


def test_contract_example_by_hand() -> None:
    # W_V=16, LEAK_SHIFT=4, V_TH=1000: constant input 100 from v=0.
    p = fp.FixedLIF()
    run = fp.run(p, np.full(3, 100))
    assert run.v[:, 0].tolist() == [100, 194, 282]  # 100; 100-6+100; 194-12+100
    sat = fp.run(p, np.full(40, -2048))
    assert sat.v.min() >= -32768
    top = fp.FixedLIF(w_v=8, w_i=8, leak_shift=4, v_th=127, reset="subtract")
    out = fp.run(top, np.full(2, 127))
    # u = 127 >= 127 fires; subtract: 0. Then u = 127 again.
    assert out.v[:, 0].tolist() == [0, 0] and out.spike[:, 0].all()


OPTION_GRID = list(itertools.product(fp.LEAKS, fp.ROUNDINGS, fp.COMPARES, fp.OVERFLOWS,
                                     fp.RESETS))


@pytest.mark.parametrize(("leak", "rounding", "compare", "overflow", "reset"), OPTION_GRID)
def test_golden_matches_scalar_spec(leak: str, rounding: str, compare: str, overflow: str,
                                    reset: str) -> None:
    seed = 1234
    rng = np.random.default_rng(seed)
    p = fp.FixedLIF(w_v=10, w_i=9, leak=leak, leak_shift=3, frac_bits=6, leak_d=5,
                    rounding=rounding, compare=compare, overflow=overflow, reset=reset,
                    v_th=300, v_reset=-20, t_ref=2).check()
    steps, lanes = 300, 8
    i_in = rng.integers(-256, 256, size=(steps, lanes))
    step = rng.random((steps, lanes)) < 0.9
    rst = rng.random((steps, lanes)) < 0.01
    got = fp.run(p, i_in, step=step, rst=rst)
    for lane in range(lanes):
        v, ref = 0, 0
        for k in range(steps):
            spike = False
            if rst[k, lane]:
                v, ref = 0, 0
            elif step[k, lane]:
                v, ref, spike = _reference_step(p, v, ref, int(i_in[k, lane]))
            assert (got.v[k, lane], got.spike[k, lane]) == (v, spike), (
                f"seed={seed} lane={lane} cycle={k}")


def test_population_golden_is_weighted_fan_in() -> None:
    p = fp.FixedLIF(v_th=10_000)
    weights = np.array([[1, 2], [-3, 4]])
    spikes = np.array([[True, False], [True, True]])
    run = fp.population_run(p, weights, spikes, bias=np.array([10, 0]))
    # neuron 0: input 11, then 13 -> v = 11, 11 - 0 + 13 = 24
    # neuron 1: input -3, then 1 -> v = -3, -3 - floor(-3/16) + 1 = -3 + 1 + 1 = -1
    assert run.v.tolist() == [[11, -3], [24, -1]]


# ----------------------------------------------------------------- float <-> integer


def test_dequantize_of_default_core() -> None:
    pf = load(ROOT / "circuits/lif_core_default.toml")
    lif = pf.lif
    assert lif.tau_m == pytest.approx(-1e-3 / math.log(1 - 2**-4), rel=1e-12)
    assert lif.v_th == pytest.approx(-70e-3 + 1000 * 20e-6)
    assert lif.v_reset == pytest.approx(-70e-3)


@pytest.mark.parametrize("leak", ["shift", "multiply"])
def test_quantisation_errors_reported(leak: str) -> None:
    from lifhw.core import LIFParams

    params = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-70e-3, v_th=-50e-3, v_reset=-70e-3,
                       t_ref=2e-3)
    q = fp.quantize_lif(params, 1e-3, leak=leak, frac_bits=12)
    # Threshold exact by construction of the LSB; tau error bounded by the leak grid.
    assert q.errors["v_th_abs"] == pytest.approx(0.0, abs=1e-12)
    assert q.realised.t_ref == pytest.approx(2e-3)
    bound = 0.25 if leak == "shift" else 0.01
    assert abs(q.errors["tau_m_rel"]) < bound
    assert q.errors["membrane_bound_lsb"] > 0


@pytest.mark.parametrize(("leak", "rounding"), [("shift", "floor"), ("multiply", "floor"),
                                                ("multiply", "zero"), ("shift", "zero")])
def test_fixed_point_within_stated_bound_of_float_golden(leak: str, rounding: str) -> None:
    """Fixed-point spike counts lie between the float golden model's counts at the
    bracketing currents (the stated bound in lifhw.golden.fixedpoint)."""
    from lifhw.core import LIFParams

    params = LIFParams(tau_m=20e-3, r_m=1e8, v_rest=-70e-3, v_th=-50e-3, v_reset=-70e-3,
                       t_ref=2e-3)
    q = fp.quantize_lif(params, 1e-4, w_v=16, leak=leak, frac_bits=14, rounding=rounding)
    n_steps = 20_000
    i_levels = np.arange(1, 400, 7)
    fixed = fp.run(q.fixed, np.broadcast_to(i_levels, (n_steps, len(i_levels))))
    counts = fixed.spike.sum(axis=0)
    lower, upper = fp.spike_count_bracket(q, i_levels, n_steps)
    assert np.all(lower <= counts) and np.all(counts <= upper), (lower, counts, upper)
    # And the bracket is tight away from rheobase (where one LSB of drive moves
    # the rate a lot): at most 3 % of the count (or 4 spikes) wide.
    firing = lower >= 30
    assert firing.sum() > 20
    assert np.all((upper - lower)[firing] <= np.maximum(4, 0.03 * upper[firing]))
    assert counts.max() > 50  # the test exercises firing neurons


# ----------------------------------------------------------------- [core] validation


@pytest.mark.parametrize(("core", "path", "message"), [
    ({"v_th": 40000}, "core.v_th", "does not fit a signed 16-bit"),
    ({"leak_shift": 16}, "core.leak_shift", "shift must be"),
    ({"w_v": 33}, "core.w_v", "must be <= 32"),
    ({"w_i": 40}, "core.w_i", "must be <= 32"),
    ({"v_reset": 2000}, "core.v_reset", "below threshold"),
    ({"compare": "gt", "v_th": 32767}, "core.v_th", "never"),
    ({"reset": "subtract", "v_th": -5, "v_reset": -10}, "core.v_th", "positive threshold"),
    ({"leak": "multiply", "frac_bits": 4, "leak_d": 17}, "core.leak_d", "2^frac_bits"),
    ({"kind": "population", "n_neurons": 1000}, "core.n_neurons", "power of two"),
    ({"leek": "shift"}, "core.leek", "did you mean 'leak'"),
    ({"overflow": "clip"}, "core.overflow", "not one of"),
])
def test_core_validation_errors(core: dict, path: str, message: str) -> None:
    with pytest.raises(ParamError) as err:
        load_mapping({"name": "bad", "core": core})
    assert err.value.path == path
    assert message in err.value.message


def test_generators_validate_before_emitting() -> None:
    with pytest.raises(ParamError, match="v_th"):
        verilog.lif_neuron_module(fp.FixedLIF(w_v=8, v_th=200))
    with pytest.raises(ParamError, match="leak_shift"):
        verilog.neuron_module("x", fp.FixedLIF(leak_shift=16))


# ----------------------------------------------------------------- generators


def test_lif_neuron_has_the_contract_interface() -> None:
    text = verilog.lif_neuron_module(fp.FixedLIF())
    flat = " ".join(re.sub(r"//[^\n]*", "", text).split())
    assert ("module lif_neuron #(parameter integer W_V = 16, W_I = 12, LEAK_SHIFT = 4, "
            "V_TH = 1000, V_RESET = 0, RESET_MODE = 0, T_REF = 0) (input clk, input rst, "
            "input step, input signed [W_I-1:0] i_in, output reg spike, "
            "output reg signed [W_V-1:0] v);") in flat


def test_contract_options_give_lif_neuron_others_a_named_module() -> None:
    names = {pf.name: verilog.module_name(pf) for pf in map(load, CORES)}
    assert names["lif_core_default"] == "lif_neuron"
    assert names["lif_core_subtract_refractory"] == "lif_neuron"
    assert names["lif_core_multiply"] == "lif_core_multiply"


@pytest.mark.parametrize("path", CORES, ids=lambda p: p.stem)
def test_generated_rtl_matches_reference(path: Path) -> None:
    """rtl/ is regenerated and diffed; LIFHW_REGEN=1 accepts a deliberate change."""
    pf = load(path)
    files = verilog.generate(pf, source=verilog.reference_source(path))
    assert len(files) >= 1
    for name, text in files.items():
        assert text.startswith(f"// generated by lifhw from circuits/{path.name}; do not edit")
        ref = ROOT / "rtl" / pf.name / name
        if os.environ.get("LIFHW_REGEN") == "1":
            ref.parent.mkdir(parents=True, exist_ok=True)
            ref.write_text(text)
        assert ref.exists(), f"missing reference {ref}; run with LIFHW_REGEN=1"
        assert ref.read_text() == text, f"{ref} differs from the generator output"


def test_population_module_ports() -> None:
    core = load(ROOT / "circuits/lif_core_population.toml").core
    text = verilog.population_module("pop", core)
    for port in ("w_valid", "w_ready", "in_valid", "in_ready", "in_index", "step_valid",
                 "step_ready", "step_done", "out_valid", "out_ready", "out_index",
                 "mon_valid", "mon_index", "mon_v", "mon_spike"):
        assert re.search(rf"\b{port}\b", text.split(");")[0]), port
    assert "reg [17:0] state_mem [0:1023]" in text  # 16-bit v + 2-bit refractory counter


# ----------------------------------------------------------------- files and commands


def test_hex_pack_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    values = rng.integers(-2048, 2048, size=(50, 3))
    bits = harness.to_bits(values.reshape(-1), 12).reshape(50, 36)
    path = tmp_path / "x.hex"
    path.write_bytes(b"// 0x00000000\n" + harness.pack_hex([bits]))
    back = harness.unpack_hex(path, 36, 50)
    assert np.array_equal(harness.from_bits(back.reshape(50, 3, 12), signed=True), values)


def test_unpack_reports_x(tmp_path: Path) -> None:
    from lifhw.errors import SimulationError

    path = tmp_path / "x.hex"
    path.write_text("01\nxx\n")
    with pytest.raises(SimulationError, match="X/Z in word 1"):
        harness.unpack_hex(path, 8, 2)


def test_simulator_commands_are_data() -> None:
    from lifhw.digital.sim import RtlRunConfig, get_simulator
    from lifhw.digital.synth import yosys_script

    cfg = RtlRunConfig(toplevel="tb", sources={"a.v": "module tb; endmodule\n"}, design="d",
                    build_root=Path("/tmp/x"))
    args = get_simulator("verilator").build_args(cfg)
    assert "--timing" in args and "-std=c++20" in args
    assert get_simulator("icarus").build_dir(cfg).name == "icarus"
    binary = get_simulator("verilator-binary")
    command = binary.build_command(cfg, Path("/tmp/x/out"), [Path("a.v")])  # type: ignore[attr-defined]
    assert "--binary" in command and "-DLIFHW_FINISH_ON_DONE" in command
    # Absolute: Verilator runs in the build directory, so a relative source or -Mdir
    # would only resolve from the directory the command was started in.
    assert command[-1] == str(Path("a.v").resolve())
    assert command[command.index("-Mdir") + 1] == str(Path("/tmp/x/out").resolve())
    assert cfg.design_dir.name.startswith("d-")
    with pytest.raises(ParamError, match="did you mean 'icarus'"):
        get_simulator("icarsu")
    script = yosys_script([Path("a.v")], "top", Path("n.json"))
    assert "memory -nomap" in script and "abc -g" in script


def test_area_from_json_counts_cells() -> None:
    from lifhw.digital.synth import area_from_json

    netlist = {"modules": {"t": {"cells": {
        "a": {"type": "$_NAND_", "parameters": {}},
        "b": {"type": "$_XOR_", "parameters": {}},
        "c": {"type": "$_DFF_P_", "parameters": {}},
        "m": {"type": "$mem_v2", "parameters": {"WIDTH": "1000", "SIZE": "100"}},
    }}}}
    report = area_from_json(netlist, "t")
    assert report.logic_cells == 2 and report.flip_flops == 1
    assert report.gate_equivalents == pytest.approx(1 + 2.33 + 4.67)
    assert report.memory_bits == 8 * 4


def test_cli_generate_and_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lifhw.app.cli import main

    assert main(["rtl", "generate", str(ROOT / "circuits/lif_core_multiply.toml"),
                 "-o", str(tmp_path)]) == 0
    assert (tmp_path / "lif_core_multiply.v").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[core]\nv_th = 99999\n')
    assert main(["rtl", "generate", str(bad), "-o", str(tmp_path)]) == 2
    assert "core.v_th" in capsys.readouterr().err


def test_population_mapping_of_a_float_layer() -> None:
    from lifhw.core import LIFParams
    from lifhw.digital.population import core_mapping, quantize_layer

    core = load(ROOT / "circuits/lif_core_population.toml").core
    params = LIFParams(tau_m=30e-3, r_m=1e8, v_rest=-65e-3, v_th=-50e-3, v_reset=-65e-3)
    weights = np.array([[50e-6, -80e-6], [20e-6, 0.0]])
    q, w_int, b_int, report = quantize_layer(core, params, weights, np.array([1e-10, 0.0]),
                                             1e-3)
    assert np.allclose(w_int * q.lsb, weights, atol=q.lsb / 2 + 1e-15)
    assert report["weights_clipped_fraction"] == 0.0
    mapped = core_mapping(q)
    CoreSection(**{**mapped, "kind": "population"}).validate()
    assert b_int[0] == round((1 - q.fixed.leak_factor) * 1e8 * 1e-10 / q.lsb)


def test_monitor_signature_matches_sequential_definition() -> None:
    rng = np.random.default_rng(3)
    words = rng.integers(0, 2**27, size=500).astype(np.uint64)
    expected = 0
    for w in words.tolist():
        expected = (expected * harness.HASH_BASE + w) % 2**64
    assert harness.signature(words) == expected
    words[123] ^= np.uint64(1 << 5)
    assert harness.signature(words) != expected


def test_harness_lanes_and_depth_are_simulator_facts() -> None:
    from lifhw.digital.run import run_neurons
    from lifhw.digital.sim import SIMULATORS, get_simulator

    # Icarus pays per event: more lanes, fewer cycles than Verilator.
    icarus, verilator = get_simulator("icarus"), get_simulator("verilator")
    assert (icarus.lanes, icarus.depth) == (64, 16384)
    assert (verilator.lanes, verilator.depth) == (16, 65536)
    for name in SIMULATORS.names():
        sim = get_simulator(name)
        assert sim.lanes >= 1 and sim.depth >= 1024
    pf = load(ROOT / "circuits/lif_core_default.toml")
    with pytest.raises(ValueError, match="at most 16 lanes and 65536 cycles"):
        run_neurons(pf, np.zeros((10, 17), np.int64), sim="verilator")
