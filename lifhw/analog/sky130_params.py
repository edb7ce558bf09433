"""``[circuit.sky130]``: transistor-level options of the sky130 OTA-C LIF neuron.

Owned by the sky130 generator (:mod:`lifhw.analog.sky130`); the behavioural
topology ignores this table. Geometries are in metres (parameter files may write
``"2 um"``); the generator converts them to the micrometres the sky130 library
expects (it sets ``scale=1e-6``). Every field has a default, so an empty table
(or none) gives the reference design documented in ``docs/analog_sky130.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lifhw.errors import ParamError
from lifhw.schema import choice, integer, quantity

#: Smallest drawn width / length of a 1.8 V sky130 FET (m): the device rules.
MIN_W = 0.42e-6
MIN_L = 0.15e-6


@dataclass(frozen=True)
class Sky130Options:
    """Sizing, bias and Monte-Carlo options of the transistor-level neuron."""

    mismatch_seed: int = integer(0, ge=0, doc="seed of the mismatch (mc) corner sample")
    capacitor: str = choice(
        "ideal", "mim", default="ideal",
        doc="membrane and refractory capacitors: ideal, or sky130 MIM (cap_mim_m3_1, "
            "square plates sized for the value; corner-dependent, mismatched in *_mm)")
    ota_w: float = quantity("m", 2e-6, gt=0, doc="OTA input-pair width")
    ota_l: float = quantity("m", 4e-6, gt=0, doc="OTA input-pair length")
    mirror_w: float = quantity("m", 2e-6, gt=0,
                               doc="width of the bias mirrors, tails and OTA pfet loads")
    mirror_l: float = quantity("m", 4e-6, gt=0,
                               doc="length of the bias mirrors, tails and OTA pfet loads "
                                   "(long: small DIBL, so I_b is copied exactly)")
    comparator_w: float = quantity("m", 1e-6, gt=0,
                                   doc="comparator input-pair width (its gate loads vm)")
    comparator_l: float = quantity("m", 1e-6, gt=0, doc="comparator input-pair length")
    comparator_bias_current: float = quantity(
        "A", 2e-9, gt=0, doc="comparator tail current (sets its latency)")
    hysteresis_ratio: float = quantity(
        "1", 0.25, gt=0, lt=1,
        doc="positive-feedback current / comparator tail current; < 1 so the reset "
            "always wins (hysteresis = 2U_T/kappa * atanh(ratio))")
    logic_current: float = quantity(
        "A", 10e-9, gt=0,
        doc="current limit of the starved inverters (bounds short-circuit energy)")
    refractory_capacitance: float = quantity(
        "F", 200e-15, gt=0, doc="pulse-extender capacitor C_ref")
    inverter_trip_voltage: float = quantity(
        "V", 0.68, gt=0,
        doc="switching point of the pulse-extender inverter (tt, 27 degC) used to size "
            "I_ref; the realised refractory period is measured, not assumed")
    refractory_min: float = quantity(
        "s", 1e-6, gt=0, doc="shortest pulse realised (used when refractory is 0)")
    leak_bias_scale: float = quantity(
        "1", 1.0, gt=0,
        doc="programmed leak tail current / leak_bias_current: a design trim that "
            "absorbs the bias mirror's error (copies high at pA)")
    offset_current: float = quantity(
        "A", 0.0,
        doc="trim current drawn out of vm (negative: into vm) that cancels the leak's "
            "output offset (junction leakage and systematic OTA offset)")
    threshold_offset: float = quantity(
        "V", 0.0, doc="comparator reference = v_threshold + threshold_offset (trim of the "
                      "comparator's trip-point offset)")
    reset_offset: float = quantity(
        "V", 0.0, doc="reset reference = v_reset + reset_offset (trim of the charge the "
                      "reset clamp injects into vm when it opens)")
    refractory_current_scale: float = quantity(
        "1", 1.0, gt=0,
        doc="pulse-extender sink current / C_ref (V_dd - V_trip) / t_ref: a design trim "
            "that makes pulse width + detection latency equal the refractory period")
    membrane_parasitic_capacitance: float = quantity(
        "F", 0.0, ge=0,
        doc="capacitance the vm node's devices add; subtracted from the drawn membrane "
            "capacitor so the node totals membrane_capacitance")
    switch_w: float = quantity("m", 1e-6, gt=0, doc="width of the reset clamp and switches")
    switch_l: float = quantity("m", 0.15e-6, gt=0, doc="length of the reset clamp")
    logic_l: float = quantity("m", 0.5e-6, gt=0, doc="length of the inverter devices")
    synapse_pulse_width: float = quantity(
        "s", 10e-6, gt=0, doc="width of the input event pulse that switches a synapse's "
                              "weight current onto its capacitor")
    synapse_capacitance: float = quantity("F", 1e-12, gt=0,
                                          doc="state capacitor C_syn of each synapse")
    synapse_output_current: float = quantity(
        "A", 20e-12, gt=0, doc="tail current I_o of the synapse's output transconductor "
                               "(g_o = kappa I_o / 2U_T; its systematic offset, a few % of "
                               "I_o, flows into vm)")
    synapse_leak_current_exc: float = quantity(
        "A", 0.0, ge=0, doc="tail of the excitatory synapse's leak OTA (0: from tau_syn_exc "
                            "with the file's kappa; lifhw's synapse design trims it)")
    synapse_leak_current_inh: float = quantity(
        "A", 0.0, ge=0, doc="tail of the inhibitory synapse's leak OTA (0: from tau_syn_inh)")
    synapse_weight_scale_exc: float = quantity(
        "1", 1.0, gt=0, doc="trim of the excitatory weight currents (jump per weight)")
    synapse_weight_scale_inh: float = quantity(
        "1", 1.0, gt=0, doc="trim of the inhibitory weight currents (jump per weight)")
    synapse_offset_trim_exc: float = quantity(
        "V", 0.0, doc="reference of the excitatory transconductor relative to V_L (trims "
                      "its systematic offset; set by lifhw's synapse design)")
    synapse_offset_trim_inh: float = quantity(
        "V", 0.0, doc="reference of the inhibitory transconductor relative to V_L")
    synapse_ota_w: float = quantity(
        "m", 0.5e-6, gt=0, doc="input-pair width of the synapse OTAs (small: their gate "
                               "leakage loads the state node)")
    synapse_ota_l: float = quantity("m", 1e-6, gt=0, doc="input-pair length of the synapse OTAs")
    synapse_event_trim: float = quantity(
        "1", 1.0, gt=0, doc="scale of the one-shot capacitor that times a neuron's event "
                            "pulse in networks (trimmed from the measured width)")
    synapse_switch_w: float = quantity("m", 0.42e-6, gt=0, doc="width of the event switch")
    synapse_switch_l: float = quantity(
        "m", 0.15e-6, gt=0, doc="length of the event switches (short: the gate leakage of "
                                "the idle switch flows onto the state node)")

    def validate(self) -> None:
        """Device-rule checks (minimum width and length of 1.8 V FETs)."""
        check_fet_sizes(self)


def check_fet_sizes(options: object) -> None:
    """Every ``*_w`` field of a topology's options at least :data:`MIN_W` and every
    ``*_l`` field at least :data:`MIN_L` (the 1.8 V FET rules of sky130)."""
    import dataclasses

    for item in dataclasses.fields(options):  # type: ignore[arg-type]
        value = getattr(options, item.name)
        if item.name.endswith("_w") and value < MIN_W:
            raise ParamError(f"below the sky130 minimum width {MIN_W * 1e6:g} um",
                             path=item.name)
        if item.name.endswith("_l") and value < MIN_L:
            raise ParamError(f"below the sky130 minimum length {MIN_L * 1e6:g} um",
                             path=item.name)
