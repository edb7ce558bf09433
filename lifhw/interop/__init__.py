"""Bridges from a lifhw :class:`~lifhw.network.Network` to other simulators.

* :mod:`lifhw.interop.nest` -- run a network on NEST 3.x (the engine for networks
  that outgrow one machine: NEST runs the same model under MPI).
* :mod:`lifhw.interop.pynn` -- write a PyNN script of a network (``pyNN.nest``,
  sPyNNaker, BrainScaleS-2's ``pynn_brainscales``).

Both are optional extras (``pip install 'lifhw[nest]'``) and imported lazily.
"""
