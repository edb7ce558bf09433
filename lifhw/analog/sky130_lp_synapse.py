r"""Synapse of the low-power sky130 neuron (``sky130_lp``): a gated subthreshold Gm-C low pass.

::

     VDD --VASYN_<T>-- vdd_syn<t>   (ammeter: the synapse's own supply current)

     CHARGE PUMP (per branch)           SYNAPSE NODE           OUTPUT TRANSCONDUCTOR
     vdd_syn  vdd_syn                   vsyn                   (5T OTA, output into vm)
       |        |                        |
     WB ]|-+  WG ]|-- pulse (low: on)   C_syn   LEAK: 5T OTA   exc: out-of-vm current
       |   |    |                        |      follower to V_L  I_o tanh(k (v_r - v_s)/2U_T)
      vw --+- W ]|  (r copies)           |      (tail I_lk)    inh: inputs swapped
       |        |                        |      REPLICA follower v_r -> V_L + trim
      I_w/r     xw --+-- WS (pfet, gate pulse) -- vsyn
                     +-- WD (nfet, gate pulse) -- V_L

The circuit and its equation are those of the sky130 synapse
(:mod:`lifhw.analog.sky130_synapse`, the DPI's first-order low pass of
Bartolozzi & Indiveri 2007, eqs. 14-16, realised with the 5-transistor OTA of
Mead 1989): ``tau_syn = 2 U_T C_syn / (kappa I_lk)``, jump
``w = g_o I_w t_p / C_syn`` with ``g_o = kappa I_o / 2 U_T``. Three changes make
it a picowatt circuit at the 0.8 V supply of the low-power neuron:

* **Gated weight current.** The sky130 pump steers ``I_w`` into ``V_L`` between
  events, so it flows all the time; here a pfet ``WG`` in the source of the
  mirror output cuts it between events (``WD`` still holds the pump node at
  ``V_L``, so the idle state-side switch sees ~0 V and leaks nothing onto
  ``C_syn``). An event then costs the charge ``C_syn w / g_o`` from the supply,
  and only the weight reference (``I_w / r``) flows at rest.
* **Reference ratio.** Every bias diode carries ``1/r`` of the tail it sets
  (``r = reference_ratio`` of ``[circuit.sky130_lp]``, as the neuron's references).
* **pA biases.** ``C_syn = 100 fF`` and ``I_o = 5 pA`` by default: at
  ``tau_syn = 5 ms`` the leak tail is ~1.5 pA; the largest weight is ``0.3 I_o``
  (1.5 pA, a state step of 0.3 of the OTA's linear range), above the low-power
  neuron's ~1 pA rheobase.

Each synapse draws its supply through its own zero-volt source ``VASYN_<T>``
(saved), so a run reports the synapse's static power and energy per event
(:func:`lifhw.analog.sky130_synapse.characterise_synapse`). Trims
(``synapse_leak_current_*``, ``synapse_weight_scale_*``,
``synapse_offset_trim_*`` in ``[circuit.sky130_lp]``) are set by
:func:`lifhw.analog.sky130_synapse.design_synapse`, which serves both topologies
(it reads the options table of the circuit's topology).
"""

from __future__ import annotations

from collections.abc import Sequence

from lifhw.analog import devices as dv
from lifhw.analog import sky130_synapse as gmc
from lifhw.analog import synapse as syn
from lifhw.analog.params import CircuitSection


def supply_node(tag: str) -> str:
    """The node synapse ``tag`` draws its supply from (behind ``VASYN_<TAG>``)."""
    return f"vdd_syn{tag}"


def synapse_blocks(tag: str, sign: str, circuit: CircuitSection,
                   branches: Sequence[syn.Branch], membrane: str) -> tuple[dv.Block, ...]:
    """Device records of one low-power synapse: its ammeter and the gated Gm-C circuit."""
    node = supply_node(tag)
    ammeter = dv.Block(f"synapse {tag}: supply ammeter (energy per event and static)",
                       (dv.Device(f"VASYN_{tag.upper()}", "vdc", ("vdd", node), value=0.0),))
    return (ammeter, *gmc.gmc_blocks(tag, sign, circuit, branches, membrane, supply=node,
                                     reference_ratio=circuit.sky130_lp.reference_ratio,
                                     gated=True, gate_length=circuit.sky130_lp.logic_l))


def synapse_lines(tag: str, sign: str, circuit: CircuitSection,
                  branches: Sequence[syn.Branch], membrane: str) -> list[str]:
    """Netlist lines of one synapse (:func:`synapse_blocks` rendered)."""
    return dv.render_blocks(synapse_blocks(tag, sign, circuit, branches, membrane))


#: The low-power synapse (registered as ``gmc_sky130_lp``).
SKY130_LP_GMC = syn.SynapseCircuit(
    name="gmc_sky130_lp",
    summary="gated subthreshold Gm-C low pass at pA bias (weight current only per event)",
    lines=synapse_lines,
    weight_range=gmc.weight_range,
    pulse_width=lambda circuit: circuit.sky130_lp.synapse_pulse_width,
    pulse_level=lambda circuit: 0.0,
    pulse_idle=lambda circuit: circuit.supply,
    save=lambda tag: (f"i(visyn_{tag})", f"i(vasyn_{tag})"),
    size=gmc.size_synapse,
    design=gmc.design_synapse,
    trims=gmc.trim_settings,
    characterise=gmc.characterise_synapse,
)
