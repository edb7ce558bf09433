"""Per-cycle cocotb bench of a single-neuron core (the classic cocotb style).

Drives lane 0 of the batch harness ``tb_lanes`` (started with ``+ncycles=0``, so the
harness leaves the lane alone) from Python one cycle at a time and checks every
cycle against :func:`lifhw.golden.fixedpoint.update`. Inputs are driven at the
falling edge and outputs read at the next falling edge, which Verilator and Icarus
agree on. Environment: ``LIFHW_CORE`` (parameter file), ``LIFHW_SEED``,
``LIFHW_CYCLES``. Slow by design (~10^4 cycles/s); the batch harness does the volume.
"""

from __future__ import annotations

import os
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from lifhw.golden import fixedpoint as fp
from lifhw.params import load


@cocotb.test()
async def lif_neuron_per_cycle(dut: Any) -> None:
    """Random input, step and reset per cycle; every output compared."""
    p = load(os.environ["LIFHW_CORE"]).core.fixed()
    seed = int(os.environ.get("LIFHW_SEED", "1"))
    cycles = int(os.environ.get("LIFHW_CYCLES", "2000"))
    rng = np.random.default_rng(seed)
    lo, hi = fp.signed_range(p.w_i)
    lane = dut.lane[0]
    v = np.zeros(1, np.int64)
    ref = np.zeros(1, np.int64)
    await FallingEdge(dut.clk)
    for cycle in range(cycles):
        rst = cycle == 0 or rng.random() < 0.01
        step = rng.random() < 0.9
        i_in = int(rng.integers(lo, hi + 1)) if rng.random() < 0.3 else int(
            rng.integers(0, max(2, p.v_th // 4)))
        word = (int(rst) << (p.w_i + 1)) | (int(step) << p.w_i) | (i_in & ((1 << p.w_i) - 1))
        lane.s.value = word
        v_new, ref_new, fire = fp.update(p, v, ref, np.array([i_in], np.int64))
        if rst:
            v, ref, spike = np.zeros(1, np.int64), np.zeros(1, np.int64), False
        elif step:
            v, ref, spike = v_new, ref_new, bool(fire[0])
        else:
            spike = False
        await FallingEdge(dut.clk)
        got_v = lane.vv.value.to_signed()
        got_spike = int(lane.sp.value)
        assert (got_v, got_spike) == (int(v[0]), int(spike)), (
            f"cycle {cycle}: rtl v={got_v} spike={got_spike}, golden v={int(v[0])} "
            f"spike={int(spike)}; i_in={i_in} step={int(step)} rst={int(rst)}; "
            f"seed={seed} (set LIFHW_SEED to reproduce)")
