"""The ``[core]`` section of parameter files: one fixed-point LIF core.

Two kinds of core:

* ``neuron`` -- one neuron with the ports of the ``lif_neuron`` contract
  (clk, rst, step, i_in, spike, v). With the contract options (shift leak, floor,
  ``>=``, saturate) the generator emits the ``lif_neuron`` module itself, its
  parameter defaults taken from the file; other options give a module named after
  the design with the same ports.
* ``population`` -- ``n_neurons`` time-multiplexed neurons with a weight memory
  (see :mod:`lifhw.digital.verilog`).

Integers are in LSB of the membrane. Optional float fields (``dt``, ``v_lsb``,
``v_rest``, ``r_m``) say what the integers stand for, so that :meth:`CoreSection.lif`
can report the dequantised :class:`~lifhw.core.LIFParams` the core realises::

    name = "lif_core_default"
    [core]
    kind = "neuron"
    w_v = 16
    w_i = 12
    leak = "shift"
    leak_shift = 4
    v_th = 1000
    dt = "1 ms"
    v_lsb = "20 uV"
"""

from __future__ import annotations

from dataclasses import dataclass

from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.fixedpoint import (
    COMPARES,
    LEAKS,
    MAX_FRAC_BITS,
    MAX_T_REF,
    MAX_WIDTH,
    OVERFLOWS,
    RESETS,
    ROUNDINGS,
    FixedLIF,
)
from lifhw.schema import choice, integer, quantity

#: Largest population the generator accepts (a 16-bit neuron index).
MAX_NEURONS = 65536
MAX_INPUTS = 1024
MAX_WEIGHT_WIDTH = 16


@dataclass(frozen=True)
class CoreSection:
    """``[core]``: a fixed-point LIF core (integers in membrane LSB)."""

    kind: str = choice("neuron", "population", default="neuron",
                       doc="single neuron (lif_neuron ports) or time-multiplexed population")
    w_v: int = integer(16, ge=2, le=MAX_WIDTH, doc="membrane width (bits, signed)")
    w_i: int = integer(12, ge=2, le=MAX_WIDTH,
                       doc="input width (neuron) / bias width (population) (bits, signed)")
    leak: str = choice(*LEAKS, default="shift", doc="leak by arithmetic shift or multiply")
    leak_shift: int = integer(4, ge=0, doc="shift leak: v - (v >> leak_shift)")
    frac_bits: int = integer(8, ge=1, le=MAX_FRAC_BITS, doc="multiply leak: fraction bits F")
    leak_d: int = integer(16, ge=0, doc="multiply leak: v * (2^F - leak_d) >> F")
    rounding: str = choice(*ROUNDINGS, default="floor", doc="leak rounding: floor or zero")
    compare: str = choice(*COMPARES, default="ge", doc="fire when u >= v_th (ge) or u > v_th")
    overflow: str = choice(*OVERFLOWS, default="saturate", doc="saturate or wrap at W_V")
    reset: str = choice(*RESETS, default="value", doc="reset to v_reset or subtract v_th")
    v_th: int = integer(1000, doc="threshold (LSB)")
    v_reset: int = integer(0, doc="reset value (LSB)")
    t_ref: int = integer(0, ge=0, le=MAX_T_REF, doc="refractory steps after a spike")
    n_neurons: int = integer(1024, ge=2, le=MAX_NEURONS,
                             doc="population: neurons (power of two)")
    n_inputs: int = integer(32, ge=2, le=MAX_INPUTS, doc="population: input lines (power of two)")
    w_w: int = integer(8, ge=2, le=MAX_WEIGHT_WIDTH, doc="population: weight width (bits)")
    dt: float | None = quantity("s", None, gt=0, doc="time step the core stands for")
    v_lsb: float | None = quantity("V", None, gt=0, doc="membrane LSB")
    v_rest: float = quantity("V", 0.0, doc="potential that integer 0 stands for")
    r_m: float = quantity("Ohm", 1e8, gt=0, doc="membrane resistance to read inputs as currents")

    def fixed(self) -> FixedLIF:
        """The integer neuron parameters (validated)."""
        return FixedLIF(w_v=self.w_v, w_i=self.w_i, leak=self.leak,
                        leak_shift=self.leak_shift, frac_bits=self.frac_bits,
                        leak_d=self.leak_d, rounding=self.rounding, compare=self.compare,
                        overflow=self.overflow, reset=self.reset, v_th=self.v_th,
                        v_reset=self.v_reset, t_ref=self.t_ref)

    def validate(self) -> None:
        self.fixed().check()
        if self.kind == "population":
            for name in ("n_neurons", "n_inputs"):
                value = getattr(self, name)
                if value & (value - 1):
                    raise ParamError(f"must be a power of two, got {value}", path=name)
            if self.n_inputs * self.w_w + self.w_i > 8192:
                raise ParamError("a weight row (n_inputs * w_w + w_i bits) wider than "
                                 "8192 bits is not supported", path="n_inputs")

    @property
    def is_contract(self) -> bool:
        """True when this core is emitted as the ``lif_neuron`` contract module."""
        return self.kind == "neuron" and self.fixed().is_contract

    def lif(self) -> LIFParams:
        """The dequantised LIF neuron this core realises (needs ``dt`` and ``v_lsb``)."""
        if self.dt is None or self.v_lsb is None:
            raise ParamError("give dt (s) and v_lsb (V) to read the core as a float neuron",
                             path="dt" if self.dt is None else "v_lsb")
        return self.fixed().dequantize(lsb=self.v_lsb, dt=self.dt, v_rest=self.v_rest,
                                       r_m=self.r_m)
