"""cocotb test of the batch harnesses: wait for ``done`` (the harness does the rest).

The harness clocks itself and moves stimulus and responses through files, so
Python is idle during the run -- that is what makes the regression fast. The wait
is bounded by ``LIFHW_TIMEOUT_NS`` of simulated time, so a hung design fails
instead of hanging the test session.
"""

from __future__ import annotations

import os
from typing import Any

import cocotb
from cocotb.triggers import RisingEdge, with_timeout


@cocotb.test()
async def run_batch(dut: Any) -> None:
    """Wait until the harness raises ``done``."""
    timeout_ns = int(os.environ.get("LIFHW_TIMEOUT_NS", str(10**9)))
    if int(dut.done.value) == 0:
        await with_timeout(RisingEdge(dut.done), timeout_ns, "ns")
