"""lifhw: co-design of leaky integrate-and-fire neuron hardware.

One abstract neuron (:class:`lifhw.core.LIFParams`), realised as ngspice
netlists (:mod:`lifhw.analog`), fixed-point Verilog (:mod:`lifhw.digital`) and
chip configurations (:mod:`lifhw.chips`), each judged against the NumPy/SciPy
golden model (:mod:`lifhw.golden`). Importing lifhw starts no simulator and
imports no heavy dependency.
"""

from __future__ import annotations

__version__ = "0.1.0"

from lifhw.core import LIFParams, Trace
from lifhw.params import ParamFile, load

__all__ = ["LIFParams", "ParamFile", "Trace", "__version__", "load"]
