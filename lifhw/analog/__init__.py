"""Analog flow: OTA-and-capacitor LIF neurons as ngspice netlists.

The pieces, in the order data flows through them:

* :mod:`lifhw.analog.topology` -- one frozen :class:`AnalogTopology` record per
  topology and the :data:`~lifhw.analog.topology.TOPOLOGIES` registry.
* :mod:`lifhw.analog.params` -- the ``[circuit]`` section (:class:`CircuitSection`).
* :mod:`lifhw.analog.netlist` -- shared netlist text helpers, the node contract every
  topology follows, and the writing step (netlist plus support files).
* :mod:`lifhw.analog.devices` -- device records that netlist text and layout render from.
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
