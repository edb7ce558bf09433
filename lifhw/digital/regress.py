"""Regression of generated cores against the golden model: random and directed stimulus.

Used by the ``verification/`` tests and by ``lifhw rtl test``. Every check runs
the core in batch (:mod:`lifhw.digital.harness`) and compares every cycle with
:mod:`lifhw.golden.fixedpoint` in NumPy; a mismatch raises :class:`RegressionError`
naming the seed, the cycle, the lane/neuron, the stimulus and both values.

Directed neuron cases (:func:`directed_neuron_stimulus`), one or more lanes each:
saturation at the top and at the bottom, landing exactly on the threshold (and one
below it), refractory countdown under strong input, reset in mid-run (also during
refractory), ``step = 0`` holds. :func:`coverage` proves from the golden run that
each corner really happened.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lifhw.digital import harness
from lifhw.digital.params import CoreSection
from lifhw.errors import ParamError
from lifhw.golden import fixedpoint as fp
from lifhw.params import ParamFile

if TYPE_CHECKING:
    from lifhw.digital.population import PopulationResult


class RegressionError(AssertionError):
    """RTL and golden model disagree (the message has the seed and the first mismatch)."""


def seed_from_env(default: int | None = None) -> int:
    """``$LIFHW_SEED`` or a fresh random seed (printed with every failure).

    Raises:
        ParamError: ``$LIFHW_SEED`` is not an integer in [0, 2**32).
    """
    if "LIFHW_SEED" in os.environ:
        text = os.environ["LIFHW_SEED"].strip()
        if not text.isdigit() or int(text) >= 2**32:
            raise ParamError(f"expected an integer in [0, 2**32), got {text!r}",
                             path="LIFHW_SEED")
        return int(text)
    if default is not None:
        return default
    return int.from_bytes(os.urandom(4), "little")


@dataclass
class LaneStimulus:
    """Per-cycle stimulus of RTL neuron lanes, (T, lanes) arrays (integer inputs;
    not the physical :class:`lifhw.stimulus.Stimulus`)."""

    i_in: np.ndarray
    step: np.ndarray
    rst: np.ndarray
    labels: list[str] = field(default_factory=list)


def _input_range(p: fp.FixedLIF) -> tuple[int, int]:
    return fp.signed_range(p.w_i)


def random_neuron_stimulus(p: fp.FixedLIF, n_steps: int, lanes: int, seed: int) -> LaneStimulus:
    """Seeded random stimulus: per-lane drive levels from silent to saturating.

    Each lane draws inputs around its own mean (uniform over the input range for a
    quarter of the lanes, so saturation and wrap-around happen), with 5 % of steps
    skipped (step = 0) and rare resets.
    """
    rng = np.random.default_rng(seed)
    lo, hi = _input_range(p)
    a = p.leak_factor
    # Mean input that holds the membrane near threshold: (1 - a) * V_TH.
    near = max(1.0, (1.0 - a) * max(p.v_th, 1))
    means = near * rng.uniform(0.0, 2.5, size=lanes)
    spread = np.maximum(1.0, means * rng.uniform(0.2, 2.0, size=lanes))
    i_in = rng.normal(means, spread, size=(n_steps, lanes))
    wide = rng.random(lanes) < 0.25
    i_in[:, wide] = rng.uniform(lo, hi + 1, size=(n_steps, int(wide.sum())))
    i_in = np.clip(np.rint(i_in), lo, hi).astype(np.int64)
    step = rng.random((n_steps, lanes)) >= 0.05
    rst = rng.random((n_steps, lanes)) < 2e-4
    rst[0] = True
    return LaneStimulus(i_in=i_in, step=step, rst=rst, labels=["random"] * lanes)


def directed_neuron_stimulus(p: fp.FixedLIF, n_steps: int = 256) -> LaneStimulus:
    """Corner cases of the single-neuron update (see the module docstring)."""
    lo, hi = _input_range(p)
    cols: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    ones = np.ones(n_steps, bool)
    zeros = np.zeros(n_steps, bool)

    def lane(label: str, i_in: np.ndarray, step: np.ndarray = ones,
             rst: np.ndarray = zeros) -> None:
        r = rst.copy()
        r[0] = True
        cols.append((label, np.asarray(i_in, np.int64), step, r))

    lane("saturate_top", np.full(n_steps, hi))
    lane("saturate_bottom", np.full(n_steps, lo))
    # Climb to the top, then slam to the bottom: both ends in one lane.
    both = np.full(n_steps, hi)
    both[n_steps // 2:] = lo
    lane("saturate_both", both)
    for offset, label in ((0, "threshold_equal"), (-1, "threshold_minus_1"),
                          (1, "threshold_plus_1")):
        lane(label, _land_on(p, p.v_th + offset, n_steps))
    lane("refractory_strong", np.full(n_steps, min(hi, max(p.v_th, 1))))
    mid = np.zeros(n_steps, bool)
    mid[n_steps // 3] = mid[n_steps // 3 + 1] = mid[2 * n_steps // 3] = True
    lane("rst_mid_run", np.full(n_steps, min(hi, max(1, p.v_th // 3))), rst=mid)
    # Reset while refractory: fire every few steps, reset right after a spike.
    after = _first_spike_step(p, np.full(n_steps, hi))
    rst_ref = np.zeros(n_steps, bool)
    if after is not None and after + 2 < n_steps:
        rst_ref[after + 1] = True
    lane("rst_in_refractory", np.full(n_steps, hi), rst=rst_ref)
    gaps = np.ones(n_steps, bool)
    gaps[5::3] = False
    lane("step_gaps", np.full(n_steps, min(hi, max(1, p.v_th // 4))), step=gaps)
    lane("step_gaps_strong", np.full(n_steps, hi), step=gaps)
    lane("negative_leak", np.where(np.arange(n_steps) < n_steps // 4, lo, 0))
    lane("zero", np.zeros(n_steps, np.int64))
    labels = [c[0] for c in cols]
    return LaneStimulus(i_in=np.stack([c[1] for c in cols], axis=1),
                    step=np.stack([c[2] for c in cols], axis=1),
                    rst=np.stack([c[3] for c in cols], axis=1), labels=labels)


def _land_on(p: fp.FixedLIF, target: int, n_steps: int) -> np.ndarray:
    """Inputs that bring u exactly to ``target`` (greedy, from v = 0), then repeat.

    Cycle 0 of every directed lane is a reset, so the climb starts at cycle 1.
    """
    lo, hi = _input_range(p)
    out = np.zeros(n_steps, np.int64)
    v = np.zeros(1, np.int64)
    ref = np.zeros(1, np.int64)
    for k in range(1, n_steps):
        need = int(target - fp.leak(p, v)[0])
        i = int(np.clip(need, lo, hi)) if ref[0] == 0 else 0
        out[k] = i
        v, ref, _ = fp.update(p, v, ref, np.array([i], np.int64))
    return out


def _first_spike_step(p: fp.FixedLIF, i_in: np.ndarray) -> int | None:
    rst = np.zeros(len(i_in), bool)
    rst[0] = True
    spikes = fp.run(p, i_in[:, None], rst=rst).spike[:, 0]
    hits = np.flatnonzero(spikes)
    return int(hits[0]) if hits.size else None


def coverage(p: fp.FixedLIF, stim: LaneStimulus) -> dict[str, int]:
    """How often each corner happened in the golden run of ``stim``."""
    lo, hi = fp.signed_range(p.w_v)
    steps, lanes = stim.i_in.shape
    v = np.zeros(lanes, np.int64)
    ref = np.zeros(lanes, np.int64)
    cov = dict.fromkeys(("spikes", "u_at_threshold", "u_at_max", "u_at_min", "out_of_range",
                         "refractory_steps", "rst_mid_run", "rst_in_refractory",
                         "held_by_step0"), 0)
    for k in range(steps):
        raw = fp.leak(p, v) + stim.i_in[k]
        u = fp._overflow(raw, p.w_v, p.overflow)
        go = stim.step[k] & ~stim.rst[k]
        active = go & (ref == 0)
        cov["u_at_threshold"] += int(np.sum(active & (u == p.v_th)))
        cov["u_at_max"] += int(np.sum(active & (raw >= hi)))
        cov["u_at_min"] += int(np.sum(active & (raw <= lo)))
        cov["out_of_range"] += int(np.sum(active & ((raw > hi) | (raw < lo))))
        cov["refractory_steps"] += int(np.sum(go & (ref > 0)))
        if k > 0:
            cov["rst_mid_run"] += int(np.sum(stim.rst[k] & (v != 0)))
            cov["rst_in_refractory"] += int(np.sum(stim.rst[k] & (ref > 0)))
        cov["held_by_step0"] += int(np.sum(~stim.step[k] & ~stim.rst[k]))
        v_new, ref_new, fire = fp.update(p, v, ref, stim.i_in[k])
        cov["spikes"] += int(np.sum(go & fire))
        v = np.where(stim.rst[k], 0, np.where(go, v_new, v))
        ref = np.where(stim.rst[k], 0, np.where(go, ref_new, ref))
    return cov


def compare_neurons(p: fp.FixedLIF, stim: LaneStimulus, got: fp.NeuronRun, *, seed: int | None,
                    what: str) -> fp.NeuronRun:
    """Raise RegressionError at the first cycle where RTL and golden differ."""
    want = fp.run(p, stim.i_in, step=stim.step, rst=stim.rst)
    for name in ("v", "spike"):
        a, b = getattr(got, name), getattr(want, name)
        if not np.array_equal(a, b):
            k, lane = (int(x) for x in np.argwhere(a != b)[0])
            label = stim.labels[lane] if lane < len(stim.labels) else "?"
            lo = max(0, k - 3)
            raise RegressionError(
                f"{what}: {name} differs at cycle {k}, lane {lane} ({label}), seed={seed}: "
                f"rtl={a[k, lane]} golden={b[k, lane]}; i_in[{lo}:{k + 1}]="
                f"{stim.i_in[lo:k + 1, lane].tolist()} "
                f"step={stim.step[lo:k + 1, lane].astype(int).tolist()} "
                f"rst={stim.rst[lo:k + 1, lane].astype(int).tolist()} "
                f"golden v[{lo}:{k + 1}]={want.v[lo:k + 1, lane].tolist()} "
                f"(re-run with LIFHW_SEED={seed})")
    return want


@dataclass
class Report:
    """Outcome of a regression run."""

    design: str
    sim: str
    seed: int
    updates: int
    spikes: int
    seconds: float
    checks: list[str] = field(default_factory=list)


def regress_neuron(pf: ParamFile, *, sim: str, seed: int, updates: int = 10**6,
                   waves: bool = False, build_root: Path | None = None,
                   work_dir: Path | None = None) -> Report:
    """Random (``updates`` neuron-updates) and directed regression of a single-neuron core."""
    from lifhw.digital.run import run_neurons
    from lifhw.digital.sim import get_simulator

    core: CoreSection = pf.require("core")
    p = core.fixed()
    start = time.perf_counter()
    checks = []
    directed = directed_neuron_stimulus(p)
    got = run_neurons(pf, directed.i_in, step=directed.step, rst=directed.rst, sim=sim,
                      waves=waves, build_root=build_root,
                      work_dir=None if work_dir is None else work_dir / "directed")
    compare_neurons(p, directed, got, seed=None, what=f"{pf.name} directed on {sim}")
    checks.append(f"directed: {len(directed.labels)} corner lanes bit-exact")
    simulator = get_simulator(sim)
    lanes = simulator.lanes
    n_steps = min(simulator.depth, -(-updates // lanes))
    stim = random_neuron_stimulus(p, n_steps, lanes, seed)
    got = run_neurons(pf, stim.i_in, step=stim.step, rst=stim.rst, sim=sim, waves=False,
                      build_root=build_root,
                      work_dir=None if work_dir is None else work_dir / "random")
    want = compare_neurons(p, stim, got, seed=seed, what=f"{pf.name} random on {sim}")
    checks.append(f"random: {n_steps * lanes} neuron-updates bit-exact (seed {seed})")
    return Report(design=pf.name, sim=sim, seed=seed, updates=n_steps * lanes,
                  spikes=int(want.spike.sum()), seconds=time.perf_counter() - start,
                  checks=checks)


def random_population(core: CoreSection, n_steps: int, seed: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded random weights (N, n_in), bias (N,) and input spikes (T, n_in).

    Input rates and weight signs vary per line so that some neurons stay silent,
    some fire often, and the sums reach the saturation/wrap limits now and then.
    """
    rng = np.random.default_rng(seed)
    n, n_in = core.n_neurons, core.n_inputs
    w_lo, w_hi = fp.signed_range(core.w_w)
    b_lo, b_hi = fp.signed_range(core.w_i)
    weights = rng.integers(w_lo, w_hi + 1, size=(n, n_in))
    excit = rng.random(n) < 0.5
    weights[excit] = np.minimum(np.abs(weights[excit]), w_hi)
    bias = rng.integers(b_lo, b_hi + 1, size=n) // rng.choice([1, 4, 64], size=n)
    rates = rng.uniform(0.02, 0.6, size=n_in)
    spikes = rng.random((n_steps, n_in)) < rates
    return weights.astype(np.int64), bias.astype(np.int64), spikes


def regress_population(pf: ParamFile, *, sim: str, seed: int, updates: int = 10**6,
                       stall: bool = False, build_root: Path | None = None,
                       work_dir: Path | None = None, waves: bool = False) -> Report:
    """Random regression of the population core: every membrane, spike and event."""
    from lifhw.digital.population import MONITOR_WORDS

    core: CoreSection = pf.require("core")
    p = core.fixed()
    start = time.perf_counter()
    n_steps = max(1, -(-updates // core.n_neurons))
    # Stay within one harness build (no rebuild for a few extra steps).
    n_steps = min(n_steps, max(1, MONITOR_WORDS // core.n_neurons))
    weights, bias, spikes = random_population(core, n_steps, seed)
    verify_population(pf, weights, spikes, bias, sim=sim, stall=stall, waves=waves,
                      build_root=build_root, work_dir=work_dir, seed=seed)
    want_spikes = fp.population_run(p, weights, spikes, bias).spike
    checks = [f"random: {n_steps} steps x {core.n_neurons} neurons bit-exact "
              f"(events exact, membranes by signature; stall={stall}; seed {seed})"]
    return Report(design=pf.name, sim=sim, seed=seed, updates=n_steps * core.n_neurons,
                  spikes=int(want_spikes.sum()), seconds=time.perf_counter() - start,
                  checks=checks)


def verify_population(pf: ParamFile, weights: np.ndarray, spikes: np.ndarray,
                      bias: np.ndarray, *, sim: str = "verilator", stall: bool = False,
                      waves: bool = False, build_root: Path | None = None,
                      work_dir: Path | None = None, seed: int | None = None) -> fp.NeuronRun:
    """Run the population core and prove it bit-exact against the golden twin.

    The fast path the regression and the benchmark use: output events are compared
    exactly and every membrane through the 64-bit signature of the monitor stream
    (no per-update file traffic); the golden model runs in a thread while the
    simulator runs. On any difference the run is repeated recording every membrane,
    and the first wrong value is named.

    Returns:
        The golden run (membranes and spikes), already proven equal to the RTL.

    Raises:
        RegressionError: RTL and golden model differ.
    """
    from concurrent.futures import ThreadPoolExecutor

    from lifhw.digital.population import simulate_rtl

    core: CoreSection = pf.require("core")
    p = core.fixed()

    def golden() -> tuple[fp.NeuronRun, int]:
        run = fp.population_run(p, weights, spikes, bias)
        return run, harness.signature(harness.monitor_words(core, run.v, run.spike))

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(golden)
        got = simulate_rtl(pf, weights, spikes, bias=bias, sim=sim, stall=stall, waves=waves,
                           record=False, build_root=build_root, work_dir=work_dir)
        want, expected_sig = future.result()
    if got.monitor_signature != expected_sig or not np.array_equal(got.spikes, want.spike):
        got = simulate_rtl(pf, weights, spikes, bias=bias, sim=sim, stall=stall,
                           record=True, build_root=build_root, work_dir=work_dir)
        _compare_population(pf.name, sim, seed, got, want,
                            fp.population_input(weights, spikes, bias))
        raise RegressionError(f"{pf.name} on {sim}: monitor signature differs but the "
                              f"recorded run matches (seed={seed}): nondeterminism?")
    return want


def _compare_population(name: str, sim: str, seed: int | None, got: PopulationResult,
                        want: fp.NeuronRun, i_in: np.ndarray) -> None:
    """Raise RegressionError at the first differing membrane/spike/event."""
    assert got.v is not None and got.monitor_spikes is not None
    for what, a, b in (("v", got.v, want.v), ("monitor spike", got.monitor_spikes, want.spike),
                       ("output events", got.spikes, want.spike)):
        if not np.array_equal(a, b):
            k, n = (int(x) for x in np.argwhere(a != b)[0])
            raise RegressionError(
                f"{name} on {sim}: {what} differs at step {k}, neuron {n}, seed={seed}: "
                f"rtl={a[k, n]} golden={b[k, n]}; input={i_in[max(0, k - 3):k + 1, n].tolist()} "
                f"golden v={want.v[max(0, k - 3):k + 1, n].tolist()} "
                f"(re-run with LIFHW_SEED={seed})")


def regress(pf: ParamFile, *, sim: str, seed: int, updates: int = 10**6,
            waves: bool = False, build_root: Path | None = None,
            work_dir: Path | None = None) -> Report:
    """The regression of any ``[core]`` file."""
    core: CoreSection = pf.require("core")
    if core.kind == "population":
        return regress_population(pf, sim=sim, seed=seed, updates=updates, stall=True,
                                  waves=waves, build_root=build_root, work_dir=work_dir)
    return regress_neuron(pf, sim=sim, seed=seed, updates=updates, waves=waves,
                          build_root=build_root, work_dir=work_dir)
