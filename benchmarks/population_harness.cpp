// Pure Verilator C++ harness of the lifhw population core (the anchor of
// benchmarks/bench_digital.py): the same protocol and stimulus as the Verilog
// batch harness (lifhw/digital/harness.py), driven cycle by cycle from C++.
//
//   population_harness WEIGHTS.bin EVENTS.bin MON.bin
//
// WEIGHTS.bin: N rows of ROW_WORDS little-endian uint32 ({bias, w[n_in-1..0]}).
// EVENTS.bin:  uint32 codes: input line index, or STEP_CODE for "run one timestep".
// MON.bin:     uint32 per neuron update: (index << (W_V + 1)) | (spike << W_V) | v.
// Compile-time constants (-D): N_NEURONS, ROW_WORDS, STEP_CODE, W_V, and HARNESS_TOP (the
// Verilated class, e.g. Vlif_core_population) with HARNESS_HEADER.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "verilated.h"
#include HARNESS_HEADER

static std::vector<uint32_t> read_words(const char* path) {
    std::vector<uint32_t> out;
    FILE* f = std::fopen(path, "rb");
    if (!f) return out;
    uint32_t word;
    while (std::fread(&word, sizeof word, 1, f) == 1) out.push_back(word);
    std::fclose(f);
    return out;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s WEIGHTS.bin EVENTS.bin MON.bin\n", argv[0]);
        return 2;
    }
    const std::vector<uint32_t> weights = read_words(argv[1]);
    const std::vector<uint32_t> events = read_words(argv[2]);
    std::vector<uint32_t> mon;
    mon.reserve(events.size() * 64);
    VerilatedContext context;
    HARNESS_TOP top{&context};
    const uint32_t v_mask = (1u << W_V) - 1u;

    auto tick = [&]() {
        top.clk = 0;
        top.eval();
        top.clk = 1;
        top.eval();
        if (top.mon_valid)
            mon.push_back((uint32_t(top.mon_index) << (W_V + 1)) |
                          (uint32_t(top.mon_spike) << W_V) | (uint32_t(top.mon_v) & v_mask));
    };

    top.out_ready = 1;
    top.rst = 1;
    for (int i = 0; i < 3; ++i) tick();
    top.rst = 0;
    // Weight rows (the core clears its state memory first: wait for w_ready).
    for (int n = 0; n < N_NEURONS; ++n) {
        top.w_valid = 1;
        top.w_addr = n;
        for (int k = 0; k < ROW_WORDS; ++k) top.w_data[k] = weights[size_t(n) * ROW_WORDS + k];
        top.eval();
        while (!top.w_ready) { tick(); top.eval(); }
        tick();
    }
    top.w_valid = 0;
    // Events: input spikes of a step, then the step command; wait for step_done.
    for (uint32_t code : events) {
        if (code == STEP_CODE) {
            top.step_valid = 1;
            top.eval();
            while (!top.step_ready) { tick(); top.eval(); }
            tick();
            top.step_valid = 0;
            while (!top.step_done) tick();
        } else {
            top.in_valid = 1;
            top.in_index = code;
            top.eval();
            while (!top.in_ready) { tick(); top.eval(); }
            tick();
            top.in_valid = 0;
        }
    }
    for (int i = 0; i < 4; ++i) tick();
    FILE* f = std::fopen(argv[3], "wb");
    if (!f) return 1;
    std::fwrite(mon.data(), sizeof(uint32_t), mon.size(), f);
    std::fclose(f);
    top.final();
    return 0;
}
