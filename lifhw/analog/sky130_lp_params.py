"""``[circuit.sky130_lp]``: options of the low-power sky130 LIF neuron.

Owned by the ``sky130_lp`` generator (:mod:`lifhw.analog.sky130_lp`); other
topologies ignore this table. Geometries are in metres (parameter files may
write ``"2 um"``). Every field has a default, so an empty table (or none) gives
the reference design of ``docs/analog_sky130_lp.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lifhw.analog.sky130_params import check_fet_sizes
from lifhw.schema import choice, integer, quantity


@dataclass(frozen=True)
class Sky130LpOptions:
    """Sizing and bias ratios of the low-power neuron (all currents follow I_b)."""

    mismatch_seed: int = integer(0, ge=0, doc="seed of the mismatch (mc) corner sample")
    capacitor: str = choice(
        "ideal", "mim", default="ideal",
        doc="membrane and refractory capacitors: ideal, or sky130 MIM (cap_mim_m3_1)")
    comparator_ratio: float = quantity(
        "1", 4.0, gt=0,
        doc="comparator tail current / leak_bias_current (sets the detection latency)")
    reference_ratio: int = integer(
        4, ge=1, doc="copies per bias reference: each reference diode carries 1/ratio of "
                     "its mirror output (static power of the references)")
    feedback_ratio: float = quantity(
        "1", 1.0, ge=0,
        doc="gain of the exponential positive feedback into the comparator output: "
            "W(PM) / W(PD) (0: none; more trips earlier at a lower effective threshold)")
    refractory_capacitance: float = quantity(
        "F", 10e-15, gt=0, doc="refractory timer capacitor C_ref")
    detector_trip_voltage: float = quantity(
        "V", 0.2, gt=0,
        doc="voltage of the refractory timer at which its detector fires (tt, 27 degC), "
            "used to size I_ref = C_ref V_det / t_ref; the realised period is measured")
    refractory_min: float = quantity(
        "s", 20e-6, gt=0, doc="shortest pulse realised (used when refractory is 0)")
    leak_bias_scale: float = quantity(
        "1", 1.0, gt=0,
        doc="programmed leak tail current / leak_bias_current: a design trim that "
            "absorbs the pA bias mirror's error")
    offset_current: float = quantity(
        "A", 0.0,
        doc="trim current drawn out of vm (negative: into vm) that cancels the leak's "
            "output offset")
    threshold_offset: float = quantity(
        "V", 0.0, doc="comparator reference = v_threshold + threshold_offset (trim of the "
                      "comparator's effective threshold)")
    reset_offset: float = quantity(
        "V", 0.0, doc="reset reference = v_reset + reset_offset (trim of the charge the "
                      "reset clamp injects into vm when it opens)")
    refractory_current_scale: float = quantity(
        "1", 1.0, gt=0,
        doc="refractory charging current / (C_ref V_det / t_ref): a design trim that makes "
            "pulse width + detection latency equal the refractory period")
    membrane_parasitic_capacitance: float = quantity(
        "F", 0.0, ge=0,
        doc="capacitance the vm node's devices add; subtracted from the drawn membrane "
            "capacitor so the node totals membrane_capacitance")
    ota_w: float = quantity("m", 1e-6, gt=0, doc="leak OTA input-pair width")
    ota_l: float = quantity("m", 2e-6, gt=0, doc="leak OTA input-pair length")
    mirror_w: float = quantity("m", 0.42e-6, gt=0, doc="width of bias mirrors and OTA loads")
    mirror_l: float = quantity("m", 2e-6, gt=0, doc="length of bias mirrors and OTA loads")
    comparator_w: float = quantity("m", 0.42e-6, gt=0,
                                   doc="comparator pair and load width (small: fast output)")
    comparator_l: float = quantity("m", 1e-6, gt=0, doc="comparator pair and load length")
    logic_w: float = quantity("m", 0.42e-6, gt=0, doc="width of the logic devices")
    logic_l: float = quantity("m", 1e-6, gt=0,
                              doc="length of the logic devices (>= 1 um: pA off-currents)")
    switch_w: float = quantity("m", 0.42e-6, gt=0, doc="width of the reset clamp")
    switch_l: float = quantity("m", 0.15e-6, gt=0,
                               doc="length of the reset clamp and the fast set devices")
    # Synapse circuits (lifhw.analog.sky130_lp_synapse), used where [circuit]
    # tau_syn_exc / tau_syn_inh > 0; the same field names as [circuit.sky130].
    synapse_pulse_width: float = quantity(
        "s", 50e-6, gt=0, doc="width of the input event pulse that switches a synapse's "
                              "weight current onto its capacitor")
    synapse_capacitance: float = quantity("F", 100e-15, gt=0,
                                          doc="state capacitor C_syn of each synapse")
    synapse_output_current: float = quantity(
        "A", 5e-12, gt=0, doc="tail current I_o of the synapse's output transconductor "
                              "(g_o = kappa I_o / 2U_T; largest weight 0.3 I_o)")
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
    synapse_ota_w: float = quantity("m", 0.5e-6, gt=0,
                                    doc="input-pair width of the synapse OTAs")
    synapse_ota_l: float = quantity(
        "m", 8e-6, gt=0, doc="input-pair length of the synapse OTAs (long: the output "
                             "conductance of the transconductor, a conductance on vm, "
                             "bent the free-membrane synaptic decay by -4 to -7 % at 1 um)")
    synapse_switch_w: float = quantity("m", 0.42e-6, gt=0,
                                       doc="width of the event switches")
    synapse_switch_l: float = quantity("m", 0.15e-6, gt=0,
                                       doc="length of the event switches")

    def validate(self) -> None:
        """Device-rule checks (minimum width and length of 1.8 V FETs)."""
        check_fet_sizes(self)
