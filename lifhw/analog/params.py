"""The ``[circuit]`` section: an OTA-and-capacitor LIF neuron, validated.

A parameter file describes the circuit in its own terms (capacitor, OTA tail
current, subthreshold slope factor, rest/threshold/reset voltages, refractory
time, supply, process corner, temperature)::

    [circuit]
    topology = "behavioral"          # or "sky130"
    membrane_capacitance = "1 pF"
    leak_bias_current = "5 pA"       # OTA tail current I_b
    kappa = 0.7
    v_rest = "0.6 V"
    v_threshold = "0.65 V"
    v_reset = "0.6 V"
    refractory = "2 ms"
    supply = "1.8 V"
    corner = "tt"
    temperature = "27 degC"

The leak is an OTA wired as a follower to ``v_rest`` (= V_L), so
``i_leak = I_b tanh(kappa (v - V_L) / 2 U_T)``; linearised around V_L this is the
LIF leak with ``g_m = kappa I_b / (2 U_T)``, ``r_m = 1/g_m`` and
``tau_m = C / g_m`` (see :meth:`CircuitSection.lif`). U_T = k T / q at
``temperature``. The formulas live once, in :mod:`lifhw.golden.ota`
(:func:`~lifhw.golden.ota.ota_gm`, :class:`~lifhw.golden.ota.OTANeuron`); the
properties here apply them to the file's nominal values.

The ``topology`` names come from the registry of topology records
(:data:`lifhw.analog.topology.TOPOLOGIES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lifhw.analog.sky130_lp_params import Sky130LpOptions
from lifhw.analog.sky130_params import Sky130Options
from lifhw.analog.topology import TOPOLOGIES
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.ota import OTANeuron, ota_gm, ota_linear_range
from lifhw.schema import choice, quantity
from lifhw.units import thermal_voltage


@dataclass(frozen=True)
class BehavioralOptions:
    """``[circuit.behavioral]``: options of the behavioural netlist."""

    synapse_pulse_width: float = quantity(
        "s", 1e-6, gt=0,
        doc="width of the input event pulse that drives a synapse circuit (shorter than "
            "tau_syn and, in networks, than the refractory period)")


#: Topologies a ``[circuit]`` may name: the registered topology records.
TOPOLOGY_NAMES = tuple(TOPOLOGIES.names())

#: Process corners of the sky130 model library: the five global corners and their
#: mismatch (``_mm``, Monte-Carlo) variants. The behavioural topology ignores it.
CORNERS = ("tt", "ss", "ff", "sf", "fs", "tt_mm", "ss_mm", "ff_mm", "sf_mm", "fs_mm", "mc")

#: ngspice's default temperature (27 degC), in kelvin.
DEFAULT_TEMPERATURE_K = 300.15


@dataclass(frozen=True)
class CircuitSection:
    """``[circuit]``: one OTA-C LIF neuron (all values SI after loading)."""

    topology: str = choice(*TOPOLOGY_NAMES, doc="netlist generator")
    membrane_capacitance: float = quantity("F", gt=0, doc="membrane capacitor C")
    leak_bias_current: float = quantity("A", gt=0, doc="OTA tail current I_b")
    v_rest: float = quantity("V", doc="leak reversal V_L (OTA follower reference)")
    v_threshold: float = quantity("V", doc="spike threshold")
    v_reset: float = quantity("V", doc="reset potential")
    refractory: float = quantity("s", 0.0, ge=0, doc="refractory period t_ref")
    kappa: float = quantity("1", 0.7, gt=0, le=1,
                            doc="subthreshold slope factor (behavioural; sky130 extracts it)")
    supply: float = quantity("V", 1.8, gt=0, doc="supply voltage (spike swing)")
    corner: str = choice(*CORNERS, default="tt", doc="sky130 process corner")
    temperature: float = quantity("K", DEFAULT_TEMPERATURE_K, gt=0,
                                  doc="temperature (e.g. '27 degC'); U_T = kT/q")
    tau_syn_exc: float = quantity("s", 0.0, ge=0,
                                  doc="excitatory synapse time constant (0: no excitatory "
                                      "synapse circuit)")
    tau_syn_inh: float = quantity("s", 0.0, ge=0,
                                  doc="inhibitory synapse time constant (0: no inhibitory "
                                      "synapse circuit)")
    behavioral: BehavioralOptions = field(default_factory=lambda: BehavioralOptions(),
                                          metadata={"doc": "behavioural-netlist options"})
    sky130: Sky130Options = field(default_factory=Sky130Options,
                                  metadata={"doc": "transistor-level options"})
    sky130_lp: Sky130LpOptions = field(default_factory=Sky130LpOptions,
                                       metadata={"doc": "options of the low-power "
                                                        "transistor-level topology"})

    def validate(self) -> None:
        """Cross-field rules (raise ParamError with the field path)."""
        if not self.v_threshold > self.v_rest:
            raise ParamError(
                f"v_threshold ({self.v_threshold:g} V) must be above v_rest "
                f"({self.v_rest:g} V): the OTA leak pulls the membrane to v_rest",
                path="v_threshold")
        if not self.v_threshold > self.v_reset:
            raise ParamError(
                f"v_threshold ({self.v_threshold:g} V) must be above v_reset "
                f"({self.v_reset:g} V)", path="v_threshold")
        for key in ("v_rest", "v_threshold", "v_reset"):
            value = getattr(self, key)
            if not 0.0 <= value <= self.supply:
                raise ParamError(
                    f"{value:g} V lies outside the supply range [0, {self.supply:g}] V",
                    path=key)

    @property
    def thermal_voltage(self) -> float:
        """U_T = k T / q (V) at :attr:`temperature`."""
        return thermal_voltage(self.temperature)

    @property
    def g_m(self) -> float:
        """Nominal small-signal OTA transconductance kappa I_b / (2 U_T) (S)."""
        return ota_gm(self.leak_bias_current, self.kappa, self.thermal_voltage)

    @property
    def tau_m(self) -> float:
        """Nominal membrane time constant C / g_m (s)."""
        return self.membrane_capacitance / self.g_m

    @property
    def linear_range(self) -> float:
        """Half-width 2 U_T / kappa (V) of the OTA's linear range around v_rest."""
        return ota_linear_range(self.kappa, self.thermal_voltage)

    @property
    def synapse_signs(self) -> tuple[str, ...]:
        """``"exc"`` and/or ``"inh"``: the synapse circuits this neuron has (tau > 0)."""
        return tuple(sign for sign, tau in (("exc", self.tau_syn_exc),
                                            ("inh", self.tau_syn_inh)) if tau > 0)

    def lif(self) -> LIFParams:
        """The linear LIF neuron this circuit nominally realises.

        ``tau_m = C / g_m``, ``r_m = 1 / g_m`` with ``g_m = kappa I_b / (2 U_T)``;
        rest, threshold, reset and refractory period as given (the linearisation
        of the nominal :class:`~lifhw.golden.ota.OTANeuron`).
        """
        return OTANeuron.from_circuit(self).lif()
