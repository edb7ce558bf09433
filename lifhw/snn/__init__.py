"""Spiking neural networks on lifhw's neurons: layers, training, conversion, deployment.

* :mod:`lifhw.snn.layers` -- dense and 2-D convolutional spiking layers with
  causal synaptic kernels; time-stepped and event-driven, bitwise equal.
* :mod:`lifhw.snn.surrogate`, :mod:`lifhw.snn.model`, :mod:`lifhw.snn.train` --
  surrogate-gradient BPTT (dense and convolutional) and a three-factor
  (e-prop-style) rule in NumPy.
* :mod:`lifhw.snn.convert` -- ReLU ANN -> rate-coded LIF network.
* :mod:`lifhw.snn.data` -- scikit-learn's 8x8 digits, spike-encoded.
* :mod:`lifhw.snn.export` -- trained nets as :class:`lifhw.network.Network`,
  a batched float simulator of such networks, NIR round trip.
* :mod:`lifhw.snn.deploy` -- the same nets on the chip mappers and the RTL core.

See docs/snn.md.
"""
