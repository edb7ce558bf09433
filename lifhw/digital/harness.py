"""Batch test harnesses: stimulus and responses through memory files, not per-cycle Python.

Driving a core from Python every cycle runs at ~10^5 cycles/s; here a generated
Verilog harness reads the whole stimulus with ``$readmemh``, clocks the core from
a Verilog ``always #5`` clock, stores every response in a memory and writes it
with ``$writememh``; cocotb only waits for ``done``. Python packs the stimulus and
unpacks the responses with vectorised NumPy (:func:`pack_hex`, :func:`unpack_hex`)
and compares them with :mod:`lifhw.golden.fixedpoint`.

Two harnesses:

* :func:`neuron_harness` -- ``lanes`` independent copies of a single-neuron core.
  Stimulus word per cycle ``{rst[L], step[L], i_in[L]}``, response word
  ``{spike[L], v[L]}`` recorded after each rising edge.
* :func:`population_harness` -- the population core: loads the weight rows, then
  plays an event list (input events and step commands), records every monitor
  update ``{index, spike, v}`` and every output event ``{step tag, index}``; with
  ``+stall=1`` it withdraws ``out_ready`` pseudo-randomly to exercise back-pressure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lifhw.digital.params import CoreSection
from lifhw.digital.verilog import accumulator_width, clog2
from lifhw.errors import SimulationError
from lifhw.golden.fixedpoint import FixedLIF

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE_WEIGHTS = np.array([8, 4, 2, 1], dtype=np.uint8)

#: Plusargs both harnesses read (file names and counts).
PLUSARGS = ("stim", "resp", "ncycles", "weights", "events", "nevents", "mon", "oev", "counts",
            "stall")


def to_bits(values: np.ndarray, width: int) -> np.ndarray:
    """Two's-complement bits of integers, LSB first: shape (..., width), uint8."""
    v = np.asarray(values, dtype=np.int64) & ((1 << width) - 1) if width < 64 else values
    shifts = np.arange(width, dtype=np.int64)
    return ((np.asarray(v, dtype=np.int64)[..., None] >> shifts) & 1).astype(np.uint8)


def from_bits(bits: np.ndarray, signed: bool) -> np.ndarray:
    """Inverse of :func:`to_bits` (LSB first along the last axis)."""
    width = bits.shape[-1]
    value = (bits.astype(np.int64) << np.arange(width, dtype=np.int64)).sum(axis=-1)
    if signed:
        value = np.where(value >= (1 << (width - 1)), value - (1 << width), value)
    return value


def pack_hex(fields: Sequence[np.ndarray]) -> bytes:
    """``$readmemh`` text of rows whose fields are bit arrays (LSB first).

    Args:
        fields: Bit arrays of shape (rows, width_k), uint8; ``fields[0]`` is the least
            significant field of each word.

    Returns:
        One hex word per line, most significant digit first.
    """
    bits = np.concatenate(fields, axis=1)
    rows, width = bits.shape
    digits = (width + 3) // 4
    padded = np.zeros((rows, digits * 4), dtype=np.uint8)
    padded[:, :width] = bits
    msb_first = padded[:, ::-1].reshape(rows, digits, 4)
    nibbles = msb_first @ _NIBBLE_WEIGHTS
    text = np.empty((rows, digits + 1), dtype=np.uint8)
    text[:, :digits] = _HEX[nibbles]
    text[:, digits] = ord("\n")
    return text.tobytes()


def unpack_hex(path: Path, width: int, rows: int) -> np.ndarray:
    """Read ``rows`` words of ``width`` bits written by ``$writememh``: bits LSB first.

    Raises:
        SimulationError: Missing file, too few words, or X/Z digits (an
            uninitialised value reached the output -- Icarus shows it, Verilator cannot).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SimulationError(f"the simulator wrote no response file {path}") from None
    # Icarus writes "// 0x..." address comments; both may write "@addr" lines.
    data = re.sub(rb"//[^\n]*", b"", data)
    words = [w for w in data.split() if not w.startswith(b"@")]
    if len(words) < rows:
        raise SimulationError(f"{path.name}: {len(words)} words, expected {rows}")
    digits = (width + 3) // 4
    words = words[:rows]
    blob = b"".join(words)
    if len(blob) != rows * digits:  # some simulator dropped leading zeros
        blob = b"".join(w.rjust(digits, b"0")[-digits:] for w in words)
    chars = np.frombuffer(blob, dtype=np.uint8).reshape(rows, digits)
    lookup = np.full(256, 255, dtype=np.uint8)
    lookup[_HEX] = np.arange(16, dtype=np.uint8)
    lookup[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)
    nibbles = lookup[chars]
    if (nibbles == 255).any():
        row = int(np.argwhere(nibbles == 255)[0, 0])
        raise SimulationError(f"{path.name}: X/Z in word {row}: "
                              f"{blob[row * digits:(row + 1) * digits].decode(errors='replace')}"
                              " (uninitialised state)")
    bits = ((nibbles[..., None] >> np.array([3, 2, 1, 0], dtype=np.uint8)) & 1)
    return bits.reshape(rows, digits * 4)[:, ::-1][:, :width].astype(np.uint8)


# ------------------------------------------------------------------- neuron lanes


def neuron_harness(top: str, p: FixedLIF, *, lanes: int, depth: int,
                   parameters: dict[str, int] | None = None) -> str:
    """Verilog harness clocking ``lanes`` copies of a single-neuron core from a memory.

    Stimulus and response memories hold one narrow word per lane and cycle, lane
    after lane (address ``lane * ncycles + cycle``); each lane reads and writes its
    own words. (Driving the lanes from slices of one wide word per cycle made Icarus
    re-evaluate every slice on every change: 8x slower.)

    Args:
        top: Module name of the core (``lif_neuron`` or a generated name).
        p: Its parameters (widths).
        lanes: Number of independent neurons.
        depth: Largest number of cycles per run.
        parameters: Verilog parameter overrides of each instance (contract module).
    """
    w_i, w_v = p.w_i, p.w_v
    override = ""
    if parameters:
        override = " #(" + ", ".join(f".{k}({v})" for k, v in parameters.items()) + ")"
    size = lanes * depth
    return f"""\
`timescale 1ns / 1ps
// Batch harness: {lanes} lanes of {top}, stimulus and responses through memories.
module tb_lanes;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg done /*verilator public_flat_rd*/ = 1'b0;  // the only signal cocotb reads
    reg [{w_i + 1}:0] stim [0:{size - 1}];        // {{rst, step, i_in}}
    reg [{w_v}:0] resp [0:{size - 1}];            // {{spike, v}}
    reg [8*1024-1:0] stim_file;
    reg [8*1024-1:0] resp_file;
    integer ncycles;
    integer k = 0;

    initial begin
        if (!$value$plusargs("stim=%s", stim_file)) $display("tb_lanes: +stim= missing");
        if (!$value$plusargs("resp=%s", resp_file)) $display("tb_lanes: +resp= missing");
        if (!$value$plusargs("ncycles=%d", ncycles)) ncycles = 0;
        // ncycles = 0: the lanes are left to a per-cycle cocotb bench.
        if (ncycles > 0)
            $readmemh(stim_file, stim, 0, {lanes} * ncycles - 1);
    end

    genvar g;
    generate
        for (g = 0; g < {lanes}; g = g + 1) begin : lane
            reg [{w_i + 1}:0] s = {{{w_i + 2}{{1'b0}}}};
            integer kk = 0;
            wire sp;
            wire [{w_v - 1}:0] vv;
            {top}{override} dut (.clk(clk), .rst(s[{w_i + 1}]), .step(s[{w_i}]),
                .i_in(s[{w_i - 1}:0]), .spike(sp), .v(vv));
            // Drive on the falling edge, record what the rising edge produced.
            always @(negedge clk) begin
                if (kk > 0 && kk <= ncycles)
                    resp[g * ncycles + kk - 1] = {{sp, vv}};
                if (kk < ncycles)
                    s = stim[g * ncycles + kk];
                kk = kk + 1;
            end
        end
    endgenerate

`ifdef LIFHW_FINISH_ON_DONE
    always @(posedge done) $finish;  // stand-alone (Verilator --binary) runs
`endif

    // One falling edge after the lanes' last write, dump the responses.
    always @(negedge clk) begin
        if (!done) begin
            if (k == ncycles + 1) begin
                if (ncycles > 0)
                    $writememh(resp_file, resp, 0, {lanes} * ncycles - 1);
                done = 1'b1;
            end
            k = k + 1;
        end
    end
endmodule
"""


def neuron_stimulus(i_in: np.ndarray, step: np.ndarray, rst: np.ndarray, w_i: int) -> bytes:
    """Stimulus file of :func:`neuron_harness` from (T, lanes) arrays (lane-major)."""
    n_steps, lanes = i_in.shape
    order = (lanes * n_steps,)
    return pack_hex([to_bits(np.asarray(i_in).T.reshape(order), w_i),
                     np.asarray(step, dtype=np.uint8).T.reshape((*order, 1)),
                     np.asarray(rst, dtype=np.uint8).T.reshape((*order, 1))])


def neuron_response(path: Path, p: FixedLIF, lanes: int, n_steps: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(v, spike) arrays of shape (T, lanes) from a response file."""
    bits = unpack_hex(path, p.w_v + 1, lanes * n_steps)
    v = from_bits(bits[:, : p.w_v], signed=True).reshape(lanes, n_steps).T
    spike = bits[:, p.w_v].astype(bool).reshape(lanes, n_steps).T
    return v, spike


# ------------------------------------------------------------------- population


def population_harness(top: str, core: CoreSection, *, max_steps: int) -> str:
    """Verilog harness playing weights and an event list into the population core.

    Args:
        top: Module name of the core.
        core: Its section.
        max_steps: Largest number of timesteps per run (sizes the response memories).
    """
    n, n_in = core.n_neurons, core.n_inputs
    nw, iw = clog2(n), clog2(n_in)
    w_row = core.w_i + n_in * core.w_w
    depth = n * max_steps
    ev_depth = max_steps * (n_in + 1)
    mw = nw + 1 + core.w_v
    tw = 24
    ow = tw + nw
    return f"""\
`timescale 1ns / 1ps
// Batch harness of {top}: weight rows and an event list in, monitor and events out.
module tb_population;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1;
    reg done /*verilator public_flat_rd*/ = 1'b0;  // the only signal cocotb reads

    reg [{w_row - 1}:0] wmem [0:{n - 1}];
    reg [{iw + 1}:0] ev [0:{ev_depth - 1}];       // {{kind, index}}: kind 0 input, 1 step
    reg [{mw - 1}:0] mon [0:{depth - 1}];          // {{index, spike, v}}
    reg [{ow - 1}:0] oev [0:{depth - 1}];          // {{step tag, index}}
    reg [8*1024-1:0] weights_file, events_file, mon_file, oev_file, counts_file;
    integer nevents, stall, record, fd;
    // Signature of the whole monitor stream: hash = hash * B + word (mod 2^64).
    reg [63:0] mon_hash = 64'd0;
    integer ei = 0;
    integer wi = 0;
    integer n_mon = 0;
    integer n_oev = 0;
    integer rst_cycles = 0;
    integer drain = 0;
    reg [{tw - 1}:0] step_tag = {tw}'d0;
    reg [15:0] lfsr = 16'hace1;
    reg [1:0] phase = 2'd0;                        // 0 weights, 1 events, 2 wait, 3 drain

    reg w_valid = 1'b0;
    reg [{nw - 1}:0] w_addr = {nw}'d0;
    reg [{w_row - 1}:0] w_data = {w_row}'d0;
    reg in_valid = 1'b0;
    reg [{iw - 1}:0] in_index = {iw}'d0;
    reg step_valid = 1'b0;
    wire w_ready, in_ready, step_ready, step_done, out_valid, mon_valid, mon_spike;
    wire [{nw - 1}:0] out_index, mon_index;
    wire signed [{core.w_v - 1}:0] mon_v;
    wire out_ready = (stall == 0) | lfsr[0] | lfsr[3];

    {top} dut (.clk(clk), .rst(rst), .w_valid(w_valid), .w_ready(w_ready), .w_addr(w_addr),
        .w_data(w_data), .in_valid(in_valid), .in_ready(in_ready), .in_index(in_index),
        .step_valid(step_valid), .step_ready(step_ready), .step_done(step_done),
        .out_valid(out_valid), .out_ready(out_ready), .out_index(out_index),
        .mon_valid(mon_valid), .mon_index(mon_index), .mon_v(mon_v), .mon_spike(mon_spike));

    initial begin
        if (!$value$plusargs("weights=%s", weights_file)) $display("tb: +weights= missing");
        if (!$value$plusargs("events=%s", events_file)) $display("tb: +events= missing");
        if (!$value$plusargs("mon=%s", mon_file)) $display("tb: +mon= missing");
        if (!$value$plusargs("oev=%s", oev_file)) $display("tb: +oev= missing");
        if (!$value$plusargs("counts=%s", counts_file)) $display("tb: +counts= missing");
        if (!$value$plusargs("nevents=%d", nevents)) nevents = 0;
        if (!$value$plusargs("stall=%d", stall)) stall = 0;
        if (!$value$plusargs("record=%d", record)) record = 1;
        $readmemh(weights_file, wmem);
        if (nevents > 0)
            $readmemh(events_file, ev, 0, nevents - 1);
    end

`ifdef LIFHW_FINISH_ON_DONE
    always @(posedge done) $finish;  // stand-alone (Verilator --binary) runs
`endif

    always @(posedge clk) begin
        lfsr <= {{lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]}};
        if (rst_cycles < 3) begin
            rst_cycles <= rst_cycles + 1;
        end else begin
            rst <= 1'b0;
        end
        if (mon_valid) begin
            if (record != 0)
                mon[n_mon] <= {{mon_index, mon_spike, mon_v}};
            mon_hash <= mon_hash * 64'h{HASH_BASE:x}
                        + {{{64 - mw}'d0, mon_index, mon_spike, mon_v}};
            n_mon <= n_mon + 1;
        end
        if (out_valid && out_ready) begin
            oev[n_oev] <= {{step_tag, out_index}};
            n_oev <= n_oev + 1;
        end
        if (step_valid && step_ready)
            step_tag <= step_tag + {tw}'d1;
        if (!rst && !done) begin
            case (phase)
                2'd0: begin  // weight rows, one per two cycles
                    if (w_valid && w_ready) begin
                        w_valid <= 1'b0;
                        if (wi == {n - 1})
                            phase <= 2'd1;
                        wi = wi + 1;
                    end else if (!w_valid) begin
                        w_valid <= 1'b1;
                        w_addr <= wi[{nw - 1}:0];
                        w_data <= wmem[wi];
                    end
                end
                2'd1: begin  // events
                    if ((in_valid && in_ready) || (step_valid && step_ready))
                        ei = ei + 1;
                    in_valid <= 1'b0;
                    step_valid <= 1'b0;
                    if (step_valid && step_ready) begin
                        phase <= 2'd2;
                    end else if (ei < nevents) begin
                        if (ev[ei][{iw + 1}:{iw}] == 2'd1)
                            step_valid <= 1'b1;
                        else begin
                            in_valid <= 1'b1;
                            in_index <= ev[ei][{iw - 1}:0];
                        end
                    end else begin
                        phase <= 2'd3;
                    end
                end
                2'd2: begin  // wait for the timestep to finish
                    if (step_done)
                        phase <= 2'd1;
                end
                default: begin  // drain the last output event, then write the files
                    drain = drain + 1;
                    if (!out_valid && drain > 2) begin
                        fd = $fopen(counts_file, "w");
                        $fdisplay(fd, "%0d %0d %h", n_mon, n_oev, mon_hash);
                        $fclose(fd);
                        if (n_mon > 0 && record != 0) $writememh(mon_file, mon, 0, n_mon - 1);
                        if (n_oev > 0) $writememh(oev_file, oev, 0, n_oev - 1);
                        done <= 1'b1;
                    end
                end
            endcase
        end
    end
endmodule
"""


#: Odd multiplier of the monitor signature (the 64-bit FNV prime): a single wrong
#: word always changes the signature (its difference times an odd power of B).
HASH_BASE = 0x100000001B3


def monitor_words(core: CoreSection, v: np.ndarray, spike: np.ndarray) -> np.ndarray:
    """Monitor words ``{index, spike, v}`` in update order, uint64, from (T, N) arrays."""
    n_steps, n = v.shape
    index = np.broadcast_to(np.arange(n, dtype=np.uint64), (n_steps, n))
    vbits = (np.asarray(v, dtype=np.int64) & ((1 << core.w_v) - 1)).astype(np.uint64)
    word = ((index << np.uint64(core.w_v + 1))
            | (np.asarray(spike, dtype=np.uint64) << np.uint64(core.w_v)) | vbits)
    return word.reshape(-1)


def signature(words: np.ndarray) -> int:
    """``hash = hash * HASH_BASE + word`` over the words, mod 2^64 (as the harness)."""
    m = words.size
    if m == 0:
        return 0
    # hash = sum_k word_k * B^(m-1-k): powers by a wrapping uint64 cumulative product.
    powers = np.cumprod(np.full(m, HASH_BASE, dtype=np.uint64))[::-1]
    powers = np.concatenate([powers[1:], np.ones(1, dtype=np.uint64)])
    return int(np.sum(words.astype(np.uint64) * powers, dtype=np.uint64))


def population_weight_rows(core: CoreSection, weights: np.ndarray, bias: np.ndarray) -> bytes:
    """``$readmemh`` text of the weight rows ``{bias, w[n_in-1], ..., w[0]}``."""
    n, n_in = core.n_neurons, core.n_inputs
    return pack_hex([to_bits(weights, core.w_w).reshape(n, n_in * core.w_w),
                     to_bits(bias, core.w_i)])


def population_events(core: CoreSection, input_spikes: np.ndarray) -> tuple[bytes, int]:
    """Event list (input events of each step, then a step command) and its length."""
    iw = clog2(core.n_inputs)
    codes: list[np.ndarray] = []
    step_code = 1 << iw
    for row in np.asarray(input_spikes, dtype=bool):
        codes.append(np.flatnonzero(row))
        codes.append(np.array([step_code]))
    words = np.concatenate(codes).astype(np.int64)
    return pack_hex([to_bits(words, iw + 2)]), len(words)


def population_responses(core: CoreSection, mon_path: Path, oev_path: Path, counts: Path,
                         *, record: bool = True
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Harness outputs: (mon_index, mon_spike, mon_v, out events (tag, index), number of
    monitor updates, monitor signature). Without ``record`` the monitor arrays are empty."""
    try:
        n_mon_s, n_oev_s, hash_s = counts.read_text().split()
        n_mon, n_oev, mon_hash = int(n_mon_s), int(n_oev_s), int(hash_s, 16)
    except (FileNotFoundError, ValueError):
        raise SimulationError(f"the simulator wrote no valid counts file {counts}") from None
    nw = clog2(core.n_neurons)
    mw = nw + 1 + core.w_v
    if n_mon and record:
        bits = unpack_hex(mon_path, mw, n_mon)
        mon_v = from_bits(bits[:, : core.w_v], signed=True)
        mon_spike = bits[:, core.w_v].astype(bool)
        mon_index = from_bits(bits[:, core.w_v + 1:], signed=False)
    else:
        mon_v = np.zeros(0, np.int64)
        mon_spike = np.zeros(0, bool)
        mon_index = np.zeros(0, np.int64)
    if n_oev:
        ebits = unpack_hex(oev_path, 24 + nw, n_oev)
        events = np.stack([from_bits(ebits[:, nw:], signed=False),
                           from_bits(ebits[:, :nw], signed=False)], axis=1)
    else:
        events = np.zeros((0, 2), np.int64)
    return mon_index, mon_spike, mon_v, events, n_mon, mon_hash


def check_population_ranges(core: CoreSection, weights: np.ndarray, bias: np.ndarray) -> None:
    """Raise ValueError when weights or bias do not fit the core's widths."""
    for name, values, width in (("weights", weights, core.w_w), ("bias", bias, core.w_i)):
        lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
        if values.size and (values.min() < lo or values.max() > hi):
            raise ValueError(f"{name} must lie in [{lo}, {hi}] ({width}-bit signed), got "
                             f"[{values.min()}, {values.max()}]")
    _ = accumulator_width(core)
