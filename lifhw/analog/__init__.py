"""Analog flow: OTA-and-capacitor LIF neurons as ngspice netlists.

The pieces, in the order data flows through them:

* :mod:`lifhw.analog.params` -- the ``[circuit]`` section (:class:`CircuitSection`).
* :mod:`lifhw.analog.netlist` -- shared netlist text helpers, the node contract every
  topology follows and the :data:`~lifhw.analog.netlist.TOPOLOGIES` registry.
* :mod:`lifhw.analog.behavioral` -- the behavioural topology (tanh B-source OTA);
  :mod:`lifhw.analog.sky130` -- the transistor-level one.
* :mod:`lifhw.analog.backends` -- ngspice batch and PySpice shared-library backends,
  turning netlist text into vectors and a :class:`~lifhw.core.Trace`.
* :mod:`lifhw.analog.characterise` -- g_m, kappa, offset, tau and threshold measured on
  the circuit itself, calibrating :mod:`lifhw.golden.ota`.

The commands (``lifhw netlist``, ``lifhw simulate``, ``lifhw compare``) live in
:mod:`lifhw.app.commands.analog`.

Nothing here imports PySpice or starts ngspice at import time.
"""
