"""The digital flow: fixed-point LIF Verilog generators, simulator backends, synthesis.

``[core]`` parameter files (:mod:`lifhw.digital.params`) become Verilog-2005 text
(:mod:`lifhw.digital.verilog`), which runs on Verilator or Icarus through cocotb
(:mod:`lifhw.digital.sim`) against the bit-exact golden model
:mod:`lifhw.golden.fixedpoint`, and synthesises with yosys
(:mod:`lifhw.digital.synth`). Networks run on the population core through
:func:`lifhw.digital.population.run_rtl`.
"""
