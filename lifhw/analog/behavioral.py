r"""Behavioural OTA-C LIF netlist: the OTA as a tanh B-source, idealised spike logic.

::

                 vm
    IIN  ->------+-----------+--------------+-------------+
                 |           |              |             |
               Cmem   Bleak: I_b tanh(   Bclamp:      comparator
                 |     kappa(vm-V_L)/2U_T) g_cl*spike   (vm >= V_th)
                 |           |         *(vm-V_reset)      |
                ---         ---             ---        latch q --- timer tm
                 0           0               0            |     (ramps 1/t_ref)
                                                    spike = supply*q (1 ns RC)

The membrane is exactly ``C dv/dt = I_in - I_b tanh(kappa (v - V_L) / 2 U_T)``
(:mod:`lifhw.golden.ota`) until ``vm`` reaches ``V_th``. Then a latch ``q`` (a
10 ns RC state, held by its own feedback) sets, the ``spike`` node goes to the
supply through a ~1 ns RC (without that decoupling two ideal switches in a tight
detect->reset loop can freeze ``vm`` at threshold -- TOOLCHAIN.md), a clamp of
time constant 100 ns pulls ``vm`` to ``V_reset``, and a timer ``tm`` ramps from
0 to 1 V in exactly ``t_ref``; when it arrives the latch clears, the timer
discharges and the membrane integrates again from ``V_reset``. So
``ISI = t_ref + C * integral_{V_reset}^{V_th} dv / (I_in - i_leak(v))`` up to a
few tens of ns. A refractory period of 0 is realised as :data:`MIN_PULSE_S`.

Node contract: ``vm``, ``spike``, ``IIN`` (see :mod:`lifhw.analog.netlist`); this
topology has no supply source, so no energy is reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lifhw.analog import netlist as nl
from lifhw.analog import synapse as syn
from lifhw.analog.params import CircuitSection
from lifhw.analog.topology import AnalogTopology
from lifhw.stimulus import Stimulus

if TYPE_CHECKING:
    from lifhw.analog.network import AnalogNetwork

#: Width (V) of the smooth comparator step around V_th: the effective threshold
#: lies within a few widths of V_th (a 1e-4 relative error for a 50 mV swing).
COMPARATOR_WIDTH_V = 2e-6
#: Width (V) of the timer's expiry step at 1 V; the ramp (1/t_ref V/s) crosses a
#: few widths in nanoseconds, so the refractory time is exact to ~10 ns.
TIMER_WIDTH_V = 1e-6
#: Time constant (s) of the latch state q and of the clamp pulling vm to V_reset.
LATCH_TAU_S = 1e-8
CLAMP_TAU_S = 1e-7
#: Spike width used when refractory = 0 (the clamp needs ~10 time constants).
MIN_PULSE_S = 1e-6
#: Max step = shortest neuron time scale / this (the timer's end is resolved to
#: ~0.7 max step: 1000 keeps the ISI within ~0.1 % at ~0.2 s per 100 ms run).
MAX_STEP_DIVISOR = 1000.0
#: Normalised capacitors of the logic nodes q and tm (F) and the spike RC.
LOGIC_CAP_F = 1e-9
SPIKE_RC = (1e3, 1e-12)


def generate(name: str, circuit: CircuitSection, stimulus: Stimulus, *, source: str = "",
             max_step: float | None = None, spiking: bool = True) -> str:
    """Behavioural netlist of the OTA-C LIF neuron.

    Args:
        name: Design name (safe identifier).
        circuit: Validated ``[circuit]``; ``topology`` should be ``"behavioral"``.
        stimulus: Input current (A) over time (s).
        source: Parameter file path, for the provenance comment.
        max_step: Largest transient step (s); default
            :func:`lifhw.analog.netlist.default_max_step` with
            :data:`MAX_STEP_DIVISOR`.
        spiking: False removes the comparator (the latch never sets), for DC
            characterisation of the leak above threshold.

    Returns:
        ngspice netlist text.
    """
    n = nl.spice_number
    step = (max_step if max_step is not None
            else nl.default_max_step(circuit, stimulus, divisor=MAX_STEP_DIVISOR))
    t_ref = max(circuit.refractory, MIN_PULSE_S)
    synapse_lines, synapse_save = syn.stimulus_synapse_lines(circuit, stimulus)
    lines = [
        *nl.title_lines(name, circuit, source),
        f"* C={n(circuit.membrane_capacitance)} F  I_b={n(circuit.leak_bias_current)} A  "
        f"kappa={n(circuit.kappa)}  T={n(circuit.temperature)} K",
        f"* nominal g_m={n(circuit.g_m)} S  tau_m={n(circuit.tau_m)} s  "
        f"t_ref={n(circuit.refractory)} s",
        f".param cm={n(circuit.membrane_capacitance)} ib={n(circuit.leak_bias_current)} "
        f"kappa={n(circuit.kappa)} ut={n(circuit.thermal_voltage)}",
        f".param vl={n(circuit.v_rest)} vth={n(circuit.v_threshold)} "
        f"vreset={n(circuit.v_reset)} tref={n(t_ref)} vsup={n(circuit.supply)}",
        "",
        *neuron_lines(circuit, spiking=spiking),
        "",
        *nl.stimulus_lines(stimulus, "vm"),
        *synapse_lines,
        "* start at rest (the tanh leak has ~zero slope at 0 V: Newton needs a hint)",
        ".nodeset v(vm)={vl}",
        ".ic v(vm)={vl} v(q)=0 v(tm)=0",
        *nl.analysis_lines(stimulus, max_step=step, save=("v(vm)", "v(spike)", *synapse_save)),
        ".end",
    ]
    return "\n".join(lines) + "\n"


def neuron_lines(circuit: CircuitSection, *, spiking: bool = True, suffix: str = "",
                 values: dict[str, str] | None = None) -> list[str]:
    """The neuron's elements (membrane, leak, latch, timer, spike output, clamp).

    Args:
        circuit: Validated ``[circuit]``.
        spiking: False removes the comparator.
        suffix: Appended to every node and element name (networks: one neuron each).
        values: Text of the parameters ``cm ib kappa ut vl vth vreset tref vsup``;
            default the ``.param`` references ``{cm}`` ... of :func:`generate`.
    """
    n = nl.spice_number
    p = values or {key: f"{{{key}}}" for key in
                   ("cm", "ib", "kappa", "ut", "vl", "vth", "vreset", "tref", "vsup")}
    x = suffix
    g_latch = LOGIC_CAP_F / LATCH_TAU_S
    g_clamp = circuit.membrane_capacitance / CLAMP_TAU_S
    sw = n(COMPARATOR_WIDTH_V)
    comparator = f"(0.5+0.5*tanh((v(vm{x})-{p['vth']})/{sw}))" if spiking else "0"
    tw = n(TIMER_WIDTH_V)
    return [
        "* membrane capacitor and OTA follower leak (current out of vm)",
        f"Cmem{x} vm{x} 0 {p['cm']}",
        f"Bleak{x} vm{x} 0 I={p['ib']}*tanh({p['kappa']}*(v(vm{x})-{p['vl']})/(2*{p['ut']}))",
        "",
        "* comparator + latch q: set when vm >= vth, held by its own feedback,",
        "* cleared when the refractory timer tm reaches 1 V",
        f"Cq{x} q{x} 0 {n(LOGIC_CAP_F)}",
        f"Bq{x} 0 q{x} I={n(g_latch)}*(min(1,{comparator}"
        f"+(0.5+0.5*tanh((v(q{x})-0.5)/0.02))*(0.5-0.5*tanh((v(tm{x})-1)/{tw})))-v(q{x}))",
        "* refractory timer: ramps 0 -> 1 V in tref while q is high; discharges only",
        "* once q is well below the latch's own threshold (hysteresis, no re-latching)",
        f"Ctm{x} tm{x} 0 {n(LOGIC_CAP_F)}",
        f"Btm{x} 0 tm{x} I={n(LOGIC_CAP_F)}/{p['tref']}*(0.5+0.5*tanh((v(q{x})-0.5)/0.02))"
        f"-{n(LOGIC_CAP_F / (10 * LATCH_TAU_S))}*(0.5+0.5*tanh((0.2-v(q{x}))/0.02))*v(tm{x})",
        "* spike output through a 1 ns RC (decouples the detect -> reset loop)",
        f"Bspk{x} spkdrv{x} 0 V={p['vsup']}*v(q{x})",
        f"Rspk{x} spkdrv{x} spike{x} {n(SPIKE_RC[0])}",
        f"Cspk{x} spike{x} 0 {n(SPIKE_RC[1])}",
        "* reset clamp: conductance to vreset once the spike is fully high (gated at",
        "* 90 % of the swing, above the latch's 50 % hold point: a clamp acting on a",
        "* half-set latch would hold vm just below threshold forever)",
        f"Bclamp{x} vm{x} 0 I={n(g_clamp)}*(0.5+0.5*tanh((v(spike{x})/{p['vsup']}-0.9)/0.01))"
        f"*(v(vm{x})-{p['vreset']})",
    ]


def event_pulse_line(circuit: CircuitSection, width: float, suffix: str = "",
                     t_ref: str | None = None) -> str:
    """``Bpulse<suffix>``: node ``pulse<suffix>`` at 1 V for ``width`` (s) from each
    spike (the latch setting), 0 V otherwise -- the event that drives the synapses
    of the neuron's targets. The refractory timer ramps 0 -> 1 V in ``t_ref`` from
    the same instant, so the pulse ends when it passes ``width / t_ref``."""
    n = nl.spice_number
    tref = t_ref if t_ref is not None else n(max(circuit.refractory, MIN_PULSE_S))
    x = suffix
    return (f"Bpulse{x} pulse{x} 0 V=(0.5+0.5*tanh((v(q{x})-0.5)/0.02))"
            f"*(0.5+0.5*tanh(({n(width)}/{tref}-v(tm{x}))/{n(TIMER_WIDTH_V)}))")


def network_netlist(an: AnalogNetwork, *, source: str = "", max_step: float | None = None
                    ) -> str:
    """One netlist of a whole network of behavioural neurons and synapses.

    Neuron ``i`` of population ``p`` has nodes ``vm_<p><i>``, ``spike_<p><i>`` and,
    when it drives synapses, ``pulse_<p><i>`` (:func:`event_pulse_line`); input
    neuron ``j`` of input ``s`` pulses node ``pin_<s><j>``. Only the ``spike``
    nodes are saved (the raw file of a 12-neuron, 0.3 s run is ~15 MB).

    Args:
        an: :class:`lifhw.analog.network.AnalogNetwork`.
        source: Parameter file (provenance comment).
        max_step: Largest transient step (s); default
            :func:`lifhw.analog.network.default_max_step`.
    """
    from lifhw.analog import network as anet

    n = nl.spice_number
    net = an.network
    step = max_step if max_step is not None else anet.default_max_step(an)
    pre_names = {proj.pre for proj in net.projections if np.any(proj.weights)}
    pulse_node: dict[tuple[str, int], str] = {}
    lines = [
        f"{nl.safe_name(an.name)}: analog network of {net.n_neurons} OTA-C LIF neurons, "
        f"topology {an.topology}",
        f"* generated by lifhw from {nl.safe_comment(source) if source else 'parameters in memory'}"
        "; do not edit (regenerate with lifhw netlist --analog)",
    ]
    events = anet.input_event_times(an)
    for (pop, j), times in events.items():
        if pop not in pre_names or not len(times):
            continue
        some = next(iter(an.circuits.values()))
        width = syn.synapse_circuit(some).pulse_width(some)
        node = f"pin_{pop}{j}"
        pulse_node[(pop, j)] = node
        lines += syn.pulse_source_lines(f"VIN_{pop}{j}", node, times, width, 1.0)
    for pop, i, x in an.neurons():
        pulse_node[(pop, i)] = f"pulse{x}"
    ics, nodesets, save = [], [], []
    for pop, i, x in an.neurons():
        circuit = an.circuits[pop]
        t_ref = max(circuit.refractory, MIN_PULSE_S)
        values = {"cm": n(circuit.membrane_capacitance), "ib": n(circuit.leak_bias_current),
                  "kappa": n(circuit.kappa), "ut": n(circuit.thermal_voltage),
                  "vl": n(circuit.v_rest), "vth": n(circuit.v_threshold),
                  "vreset": n(circuit.v_reset), "tref": n(t_ref), "vsup": n(circuit.supply)}
        lines += ["", f"* ---- neuron {pop}[{i}]: C={n(circuit.membrane_capacitance)} F "
                  f"I_b={n(circuit.leak_bias_current)} A V_th={n(circuit.v_threshold)} V",
                  *neuron_lines(circuit, suffix=x, values=values)]
        if pop in pre_names:
            width = syn.synapse_circuit(circuit).pulse_width(circuit)
            lines.append(event_pulse_line(circuit, width, x, t_ref=n(t_ref)))
        bias = float(net.population(pop).bias[i])
        if bias != 0:
            lines.append(f"IB{x} 0 vm{x} PWL(0 0 {n(nl.PWL_EDGE_S)} {n(bias)})")
        branches = anet.synapse_branches(an, pop, i, pulse_node)
        for sign, group in branches.items():
            if group:
                tag = f"{sign[0]}{x}"
                lines += syn.synapse_circuit(circuit).lines(tag, sign, circuit, group, f"vm{x}")
        ics.append(f"v(vm{x})={n(circuit.v_rest)} v(q{x})=0 v(tm{x})=0")
        nodesets.append(f"v(vm{x})={n(circuit.v_rest)}")
        save.append(f"v(spike{x})")
    stop = an.t_stop
    print_step = n(min(net.dt, stop / 1000.0))
    options = " ".join(f"{k}={n(v)}" for k, v in nl.TOLERANCES.items())
    lines += ["", "* start at rest"]
    lines += [f".nodeset {s}" for s in nodesets]
    lines += [f".ic {s}" for s in ics]
    lines += [nl.ANALYSIS_BEGIN, f".options {options}",
              f".tran {print_step} {n(stop)} 0 {n(step)}", ".save " + " ".join(save)]
    lines += [nl.ANALYSIS_END, ".end"]
    return "\n".join(lines) + "\n"


#: The behavioural topology (registered in :mod:`lifhw.analog.topology`). It has no
#: transistors of its own: a layout draws its sky130 counterpart (same C, biases
#: and ``[circuit.sky130]`` sizes).
TOPOLOGY = AnalogTopology(
    name="behavioral",
    summary="tanh B-source OTA leak, idealised spike logic (exact golden match)",
    generate=generate,
    golden="nominal",
    layout_as="sky130",
    options="behavioral",
    synapses=("dpi_behavioral",),
    network=network_netlist,
)
