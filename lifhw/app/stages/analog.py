"""Demo stage of the analog flow: an OTA-C LIF netlist in ngspice against the golden.

Embedded defaults (the issue's contract example): C = 1 pF, I_b = 5 pA,
kappa = 0.7, V_L = V_reset = 0.6 V, V_th = 0.65 V, t_ref = 2 ms, 20 pA step.
The behavioural netlist is simulated, characterised and compared with the
golden tanh model (figure ``analog_compare.png``). Then both transistor-level
topologies side by side as ``lifhw design`` made them (:data:`DESIGNED_EXAMPLES`:
``circuits/ota_lif_sky130_fast.toml`` and ``circuits/ota_lif_sky130_lp.toml``), each
simulated from its file against the golden model of its spec: ISI, tau, energy per
spike and layout area.
Then the synapses: the PSP of one excitatory and one inhibitory event on the
behavioural netlist against the closed form, and the 12-neuron E/I network of
``circuits/networks/ei_analog.toml`` as one behavioural netlist against the
golden network (figure
``analog_network_raster.png``: both rasters side by side), then the transistor-level
network ``circuits/networks/ei_sky130.toml`` (populations designed by ``lifhw design``,
cached per user) over :data:`SKY130_NETWORK_T_STOP` against the golden
network of its own parameters (``analog_network_sky130_raster.png``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lifhw.app.demo import DemoSection

DEFAULTS: dict[str, Any] = {
    "name": "ota_lif_demo",
    "circuit": {
        "topology": "behavioral", "membrane_capacitance": "1 pF",
        "leak_bias_current": "5 pA", "kappa": 0.7, "v_rest": "0.6 V",
        "v_threshold": "0.65 V", "v_reset": "0.6 V", "refractory": "2 ms",
        "supply": "1.8 V", "corner": "tt", "temperature": "27 degC",
    },
    "stimulus": {"kind": "step", "amplitude": "20 pA", "t_stop": "100 ms"},
}

def run(out_dir: Path) -> DemoSection:
    """Compare the behavioural netlist with the golden model; write the figure."""
    from lifhw.analog import netlist as nl
    from lifhw.analog.flow import compare_circuit, plot_comparison
    from lifhw.params import load_mapping

    pf = load_mapping(DEFAULTS, source="lifhw.app.stages.analog")
    circuit, stimulus = pf.require("circuit"), pf.require("stimulus")
    nl.write_netlist(nl.generate(pf.name, circuit, stimulus, source="lifhw.app.stages.analog"),
                     out_dir / "analog" / f"{pf.name}.cir", circuit=circuit)
    result = compare_circuit(pf.name, circuit, stimulus)
    figure = plot_comparison(result, out_dir / "analog_compare.png")
    s = result.summary()
    lines = [
        f"behavioural OTA-C LIF (C = 1 pF, I_b = 5 pA, tau_m = {circuit.tau_m * 1e3:.2f} ms) "
        f"in ngspice: {s['n_spikes']} spikes at {s['rate_hz']:.2f} Hz",
        f"vs golden tanh model: ISI error {s['isi_error'] * 100:+.3f} %, rate error "
        f"{s['rate_error'] * 100:+.3f} %, tau error {s['tau_error'] * 100:+.3f} % "
        f"(measured {s['tau_s'] * 1e3:.3f} ms)",
        f"spike-time error {s['spike_time_error_s'] * 1e6:.1f} us mean; membrane RMSE "
        f"{s['v_rmse_aligned_v'] * 1e3:.3f} mV with each ISI aligned",
        *s["linear_range"],
    ]
    table: list[list[Any]] = [["I_in (pA)", "ngspice rate (Hz)", "golden rate (Hz)",
                               "error (%)"]]
    for current, rate, gold in zip(s["fi"]["currents_a"], s["fi"]["rate_hz"],
                                   s["fi"]["rate_golden_hz"], strict=True):
        table.append([f"{current * 1e12:.2f}", f"{rate:.3f}", f"{gold:.3f}",
                      f"{(rate / gold - 1) * 100:+.3f}"])
    designed_lines, designed_table = _designed_lines()
    lines += designed_lines
    figures = [figure]
    lines += _synapse_lines(pf)
    for network in (_network_lines, _sky130_network_lines):
        network_lines, raster = network(out_dir)
        lines += network_lines
        if raster is not None:
            figures.append(raster)
    return DemoSection(title="Analog: OTA-C LIF netlists in ngspice vs golden", lines=lines,
                       figures=figures, table=designed_table, tables=[table])


def _synapse_lines(pf: Any) -> list[str]:
    """PSPs of the behavioural DPI synapses against the closed form."""
    import dataclasses

    from lifhw.analog.flow import compare_circuit
    from lifhw.stimulus import Stimulus

    circuit = dataclasses.replace(pf.circuit, tau_syn_exc=5e-3, tau_syn_inh=10e-3)
    stimulus = Stimulus(kind="spikes", spike_times=(0.01, 0.11), spike_weights=(2e-12, -2e-12),
                        t_stop=0.21)
    psp = compare_circuit("ota_lif_demo_psp", circuit, stimulus, fi_multiples=()).extra["psp"]
    out = []
    for sign, word in (("exc", "EPSP"), ("inh", "IPSP")):
        p = psp[sign]
        out.append(f"behavioural {word} of a {p['weight_a'] * 1e12:+.0f} pA jump: peak "
                   f"{p['peak_v'] * 1e3:+.3f} mV (closed form {p['peak_closed_form_v'] * 1e3:+.3f}"
                   f" mV, {p['peak_error_closed_form'] * 100:+.2f} %), tau_syn "
                   f"{p['tau_syn_s'] * 1e3:.3f} ms ({p['tau_syn_error'] * 100:+.3f} %)")
    return out


def _network_lines(out_dir: Path) -> tuple[list[str], Path | None]:
    """The E/I network in ngspice against the golden network, rasters side by side."""
    from lifhw.analog import network as anet
    from lifhw.analog.backends import RunConfig
    from lifhw.golden.network import simulate_network

    path = Path(__file__).resolve().parents[3] / "circuits" / "networks" / "ei_analog.toml"
    if not path.is_file():
        return [], None
    an = anet.load(path, topology="behavioral")
    run = anet.simulate(an, config=RunConfig(timeout_s=900))
    golden = simulate_network(an.network, an.input_spikes)
    result = anet.compare_runs(golden, run)
    figure = anet.plot_rasters(golden, run, out_dir / "analog_network_raster.png",
                               title=f"{an.name}: {an.network.n_neurons} OTA-C neurons with "
                                     "DPI synapses (behavioural) vs golden network")
    lines = [f"E/I network ({an.network.n_neurons} neurons, {an.t_stop * 1e3:.0f} ms) as one "
             f"behavioural netlist: ngspice {run.meta['sim_seconds']:.1f} s "
             f"({run.meta['seconds_per_neuron_second']:.1f} s per neuron-second)"]
    for pop, r in result.items():
        lines.append(f"  {pop}: {r['rate_analog_hz']:.2f} Hz vs golden {r['rate_golden_hz']:.2f}"
                     f" Hz ({r['rate_error'] * 100:+.2f} %)")
    return lines, figure


def _sky130_network_lines(out_dir: Path) -> tuple[list[str], Path | None]:
    """The transistor-level E/I network (populations designed by ``lifhw design``,
    cached) over :data:`SKY130_NETWORK_T_STOP`, against the golden network of
    the file's own parameters; rasters side by side."""
    from lifhw import params
    from lifhw.analog import network as anet
    from lifhw.analog.backends import RunConfig
    from lifhw.errors import LifhwError
    from lifhw.golden.network import simulate_network

    path = Path(__file__).resolve().parents[3] / "circuits" / "networks" / "ei_sky130.toml"
    if not path.is_file():
        return [], None
    config = RunConfig(timeout_s=1800)
    try:
        with params.overrides([f"network.t_stop={SKY130_NETWORK_T_STOP}"]):
            an = anet.load(path, topology="sky130")
        an = anet.design_network(an, config=config)
        run = anet.simulate(an, config=config)
    except (LifhwError, ImportError) as err:
        return [f"sky130 network not simulated: {err}"], None
    golden = simulate_network(an.network, an.input_spikes)
    result = anet.compare_runs(golden, run)
    figure = anet.plot_rasters(golden, run, out_dir / "analog_network_sky130_raster.png",
                               title=f"{an.name}: {an.network.n_neurons} sky130 neurons and "
                                     "synapses (designed) vs golden network")
    lines = [f"sky130 E/I network (circuits/networks/ei_sky130.toml, {an.network.n_neurons} "
             f"neurons and their synapses designed by lifhw design, accelerated time), "
             f"{an.t_stop * 1e3:.1f} ms as one transistor-level netlist: ngspice "
             f"{run.meta['sim_seconds']:.0f} s; against the golden network of the file's "
             "parameters (verification/test_analog_network_sky130.py asserts 5 %):"]
    for pop, r in result.items():
        lines.append(f"  {pop}: {r['rate_analog_hz']:.0f} Hz vs golden {r['rate_golden_hz']:.0f}"
                     f" Hz ({r['rate_error'] * 100:+.2f} %)")
    return lines, figure


#: The designed transistor-level examples the demo shows side by side, with the spec
#: each was designed from by ``lifhw design``.
DESIGNED_EXAMPLES = (("sky130", "ota_lif_sky130_fast.toml", "design_fast_neuron.toml"),
                     ("sky130_lp", "ota_lif_sky130_lp.toml", "design_sky130_lp.toml"))

#: How much of circuits/networks/ei_sky130.toml the demo runs at transistor level: all
#: of it (4 ms, ~3-4 min of ngspice with a core to itself), the run the verification
#: judges; its first 2 ms alone hold too few spikes per population for a 5 % rate
#: comparison (2 ms: inh -5.7 %, one spike of 35 is 2.9 %).
SKY130_NETWORK_T_STOP = "4 ms"


def _area_um2(circuit: Any) -> float | None:
    """Layout area (µm²) of a transistor-level circuit, None without gdsfactory."""
    try:
        from lifhw import layout
        from lifhw.analog.topology import get_topology

        record = get_topology(circuit.topology)
        if record.devices is None:
            return None
        fets, caps = layout.from_records(record.devices(circuit))
        return layout.neuron_area_um2(caps[0], fets, caps[1:])
    except ImportError:
        return None


def _designed_lines() -> tuple[list[str], list[list[Any]]]:
    """Both transistor-level topologies as ``lifhw design`` made them, side by side:
    each checked-in example simulated from its file and judged against the golden
    model of the spec it was designed for (nominal parameters, nothing calibrated)."""
    from lifhw.analog.flow import compare_circuit
    from lifhw.errors import LifhwError
    from lifhw.params import load

    circuits = Path(__file__).resolve().parents[3] / "circuits"
    table: list[list[Any]] = [["topology", "spec (tau, C, t_ref, supply)", "rate (Hz)",
                               "ISI vs spec golden (%)", "tau error (%)",
                               "energy / spike", "area (um2)"]]
    lines = []
    for topology, example, spec in DESIGNED_EXAMPLES:
        if not (circuits / example).is_file():
            continue
        pf = load(circuits / example)
        c = pf.require("circuit")
        try:
            result = compare_circuit(pf.name, c, pf.require("stimulus"), fi_multiples=())
        except (LifhwError, ImportError) as err:
            lines.append(f"{topology} netlist not simulated: {err}")
            continue
        s = result.summary()
        energy = s.get("energy_per_spike_j")
        area = _area_um2(c)
        table.append([
            topology,
            f"{c.tau_m * 1e3:.3g} ms, {c.membrane_capacitance * 1e12:.3g} pF, "
            f"{c.refractory * 1e3:.3g} ms, {c.supply:.2g} V",
            f"{s['rate_hz']:.1f}", f"{s['vs_nominal']['isi_error'] * 100:+.2f}",
            f"{s['tau_error'] * 100:+.2f}",
            "-" if energy is None else (f"{energy * 1e15:.0f} fJ" if energy < 1e-12
                                        else f"{energy * 1e12:.2f} pJ"),
            "-" if area is None else f"{area:.0f}"])
        lines.append(f"{topology}: circuits/{example}, designed by `lifhw design "
                     f"circuits/{spec}`; {s['n_spikes']} spikes at 3x rheobase, ISI "
                     f"{s['vs_nominal']['isi_error'] * 100:+.2f} % against the spec's golden "
                     "model (design tolerance 2 %)")
    return lines, table
