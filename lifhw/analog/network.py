r"""Analog networks: a ``[network]`` file as one ngspice netlist, run against golden.

A :class:`~lifhw.network.Network` of LIF populations (at most
:data:`MAX_NEURONS` neurons) becomes one netlist of the chosen topology:

* each LIF neuron is that topology's OTA-C neuron realising the population's
  :class:`~lifhw.core.LIFParams` (:func:`circuit_for`: ``C = tau_m / r_m``,
  ``I_b = 2 U_T / (kappa r_m)`` so that ``g_m = 1 / r_m``; voltages shifted so
  ``v_rest`` sits at the analog ``V_L``), with its constant ``bias`` as a current
  source into its ``vm``;
* each input population is one event-pulse source per input neuron (PWL), the
  pulses starting where the golden network delivers the spikes (step
  ``k + delay``);
* each projection is, per postsynaptic neuron and sign, one synapse circuit
  (:mod:`lifhw.analog.synapse`) with one weight branch per presynaptic neuron;
  LIF neurons drive their targets through an event pulse of the synapse's
  width started by their own spike.

Analog options come from an optional ``[analog]`` section (topology, ``V_L``,
kappa, supply, corner, temperature and the ``[analog.behavioral]`` /
``[analog.sky130]`` option tables); ``--topology`` overrides its topology.

The result is a :class:`~lifhw.network.NetworkRun` on the network's time grid
(a spike at ``t`` falls in step ``floor(t / dt)``, stamped at its end, the
golden grid convention), compared with :func:`lifhw.golden.network.simulate_network`
per population (:func:`compare_runs`). Synaptic delays are one step: a LIF
neuron's event starts at its spike, where the golden grid delivers it up to one
step later.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lifhw import __version__
from lifhw.analog import netlist as nl
from lifhw.analog import synapse as syn
from lifhw.analog.params import CORNERS, DEFAULT_TEMPERATURE_K, BehavioralOptions, CircuitSection
from lifhw.analog.sky130_params import Sky130Options
from lifhw.analog.topology import TOPOLOGIES, get_topology
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.network import Network, NetworkRun
from lifhw.schema import choice, quantity
from lifhw.schema import field as schema_field
from lifhw.units import thermal_voltage

#: Largest network one netlist holds (neurons of all LIF populations).
MAX_NEURONS = 64


@dataclass(frozen=True)
class AnalogNetworkSection:
    """``[analog]``: how a ``[network]`` file is realised as an analog netlist."""

    topology: str = choice(*TOPOLOGIES.names(), default="behavioral",
                           doc="analog topology of every neuron and synapse")
    v_rest: float = quantity("V", 0.6, doc="analog V_L where the neurons' v_rest sits")
    kappa: float = quantity("1", 0.7, gt=0, le=1, doc="subthreshold slope factor")
    supply: float = quantity("V", 1.8, gt=0, doc="supply voltage (spike swing)")
    corner: str = choice(*CORNERS, default="tt", doc="sky130 process corner")
    temperature: float = quantity("K", DEFAULT_TEMPERATURE_K, gt=0, doc="temperature")
    design: bool = schema_field(
        True, doc="realise each population's neuron and synapses as `lifhw design` sizes "
                  "and trims them (topologies with a design hook; false: the raw circuit)")
    max_rate: float = quantity(
        "Hz", 0.0, ge=0, doc="highest rate the designed neurons must serve accurately "
                             "(0: a tenth of each population's refractory limit)")
    max_step: float = quantity("s", 0.0, ge=0,
                               doc="largest transient step (0: default_max_step)")
    behavioral: BehavioralOptions = field(default_factory=BehavioralOptions,
                                          metadata={"doc": "behavioural options"})
    sky130: Sky130Options = field(default_factory=Sky130Options,
                                  metadata={"doc": "transistor-level options"})


def circuit_for(neuron: LIFParams, base: AnalogNetworkSection, *,
                topology: str | None = None) -> CircuitSection:
    """The ``[circuit]`` of one OTA-C neuron realising ``neuron``.

    ``g_m = 1 / r_m`` (``I_b = 2 U_T g_m / kappa``), ``C = tau_m g_m``, rest at
    ``base.v_rest`` with threshold and reset at the same distances as in
    ``neuron``; refractory period and synaptic time constants as given.

    Raises:
        ParamError: The shifted voltages leave the supply range.
    """
    u_t = thermal_voltage(base.temperature)
    g_m = 1.0 / neuron.r_m
    shift = base.v_rest - neuron.v_rest
    circuit = CircuitSection(
        topology=topology or base.topology, membrane_capacitance=neuron.tau_m * g_m,
        leak_bias_current=2.0 * u_t * g_m / base.kappa, v_rest=base.v_rest,
        v_threshold=neuron.v_th + shift, v_reset=neuron.v_reset + shift,
        refractory=neuron.t_ref, kappa=base.kappa, supply=base.supply, corner=base.corner,
        temperature=base.temperature, tau_syn_exc=neuron.tau_syn_exc,
        tau_syn_inh=neuron.tau_syn_inh, behavioral=base.behavioral, sky130=base.sky130)
    circuit.validate()
    return circuit


@dataclass(frozen=True, eq=False)
class AnalogNetwork:
    """A network, its input spikes and the circuit of each population.

    Attributes:
        name: Design name.
        network: The float network (the golden's input).
        input_spikes: Boolean (T, n_in), the input populations side by side.
        circuits: Population name -> its neurons' ``[circuit]``.
        topology: Topology of every neuron.
        section: The ``[analog]`` section it was built from.
        designs: Population -> summary of its design (:func:`design_network`);
            empty for circuits as :func:`circuit_for` sizes them.
    """

    name: str
    network: Network
    input_spikes: np.ndarray
    circuits: Mapping[str, CircuitSection]
    topology: str
    section: AnalogNetworkSection = field(default_factory=AnalogNetworkSection)
    designs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def designed(self) -> bool:
        """True when every population's circuit comes from :func:`design_network`."""
        return bool(self.designs) and set(self.designs) == set(self.circuits)

    @property
    def t_stop(self) -> float:
        return self.input_spikes.shape[0] * self.network.dt

    def neurons(self) -> list[tuple[str, int, str]]:
        """``(population, index, suffix)`` of every LIF neuron, in netlist order."""
        return [(pop.name, i, f"_{pop.name}{i}") for pop in self.network.populations
                for i in range(pop.size)]


def build(name: str, network: Network, input_spikes: np.ndarray,
          analog: AnalogNetworkSection | None = None, *, topology: str | None = None
          ) -> AnalogNetwork:
    """Check a network for its analog realisation and size its circuits.

    Raises:
        ParamError: More than :data:`MAX_NEURONS` neurons, a topology without
            synapse circuits, a weight sign without synapse or out of range, an
            event pulse not shorter than the step or a presynaptic refractory
            period, or a delay other than one step between LIF populations.
    """
    base = analog or AnalogNetworkSection()
    chosen = topology or base.topology
    get_topology(chosen)
    if network.n_neurons > MAX_NEURONS:
        raise ParamError(f"the network has {network.n_neurons} neurons; an analog netlist "
                         f"holds at most {MAX_NEURONS}", path="network.populations")
    circuits = {pop.name: circuit_for(pop.neuron, base, topology=chosen)
                for pop in network.populations}
    lif_names = set(circuits)
    for proj in network.projections:
        where = f"projection {proj.pre}->{proj.post}"
        circuit = circuits[proj.post]
        if np.any(proj.weights):
            syn.synapse_circuit(circuit)
        syn.check_weights(circuit, proj.weights, path="network.projections", where=where)
        width = syn.synapse_circuit(circuit).pulse_width(circuit) if np.any(proj.weights) \
            else 0.0
        if width >= network.dt:
            raise ParamError(f"synapse_pulse_width {width:g} s must be shorter than the "
                             f"network step {network.dt:g} s ({where})",
                             path=f"analog.{chosen}.synapse_pulse_width")
        if proj.pre in lif_names:
            pre = network.population(proj.pre).neuron
            if width >= max(pre.t_ref, 0.0) and np.any(proj.weights):
                raise ParamError(f"synapse_pulse_width {width:g} s must be shorter than the "
                                 f"refractory period {pre.t_ref:g} s of {proj.pre!r} "
                                 f"({where})", path=f"analog.{chosen}.synapse_pulse_width")
            if proj.delay_steps != 1:
                raise ParamError(f"{where}: analog synapses between neurons have a delay of "
                                 f"one step ({network.dt:g} s); got {proj.delay_steps}",
                                 path="network.projections.delay")
    return AnalogNetwork(name=name, network=network, input_spikes=np.asarray(input_spikes,
                         dtype=bool), circuits=circuits, topology=chosen, section=base)


def load(path: str | Path, *, topology: str | None = None) -> AnalogNetwork:
    """A ``[network]`` parameter file (with optional ``[analog]``) for the analog flow."""
    from lifhw import params

    pf = params.load(path)
    section = pf.require("network")
    analog = pf.sections.get("analog")
    try:
        network = section.network(pf.name)
        spikes = section.input_spikes()
        return build(pf.name, network, spikes, analog, topology=topology)
    except ParamError as err:
        raise err.located(source=str(path)) from None


# ---------------------------------------------------------------------------------------
# Designed populations: each neuron as `lifhw design` closes it, each synapse as its
# topology's synapse design trims it, each event one-shot trimmed to its width.

#: Format of the cached population designs (raise it when their content changes).
DESIGN_CACHE_FORMAT = 1

#: Synapse circuit -> ``"module:function"`` of its design step, a function
#: ``(name, circuit, *, config) -> (trimmed circuit, characterisation)``.
SYNAPSE_DESIGNS = {"gmc_sky130": "lifhw.analog.sky130_synapse:design_synapse"}

#: Topology -> its neurons' event one-shot width trim (``(name, circuit, *, config)
#: -> (trimmed circuit, measured width s)``), for topologies whose network builder
#: times event pulses with a one-shot.
EVENT_TRIMS = {"sky130": "lifhw.analog.network:trim_event_width"}

#: Relative tolerance of the event-pulse width trim.
EVENT_WIDTH_TOLERANCE = 0.01


def _resolve(reference: str) -> Any:
    import importlib

    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def designable(an: AnalogNetwork) -> bool:
    """True when ``[analog] design`` is on and the topology has a design hook and a
    network builder."""
    record = get_topology(an.topology)
    return an.section.design and record.design is not None and record.network is not None


def design_spec(pop: str, neuron: LIFParams, circuit: CircuitSection,
                max_rate: float = 0.0) -> Any:
    """The ``[design]`` of population ``pop``'s neuron: its LIF parameters at the
    analog voltages of ``circuit`` (:func:`circuit_for`), evaluated at tt.

    Args:
        max_rate: Highest rate to serve (Hz); 0: a tenth of ``1 / t_ref``.

    Raises:
        ParamError: The neuron cannot be designed (no refractory period, or the
            design section refuses it), naming the population.
    """
    from lifhw.analog.design import DesignSection

    where = f"network.populations.{pop}.neuron"
    if not neuron.t_ref > 0:
        raise ParamError("a designed analog neuron needs a refractory period t_ref > 0",
                         path=f"{where}.t_ref")
    rate = max_rate if max_rate > 0 else 0.1 / neuron.t_ref
    spec = DesignSection(
        topology=circuit.topology, tau_m=neuron.tau_m,
        membrane_capacitance=circuit.membrane_capacitance, v_rest=circuit.v_rest,
        v_threshold=circuit.v_threshold, v_reset=circuit.v_reset, refractory=neuron.t_ref,
        max_rate=rate, supply=circuit.supply, corners=("tt",),
        temperature=circuit.temperature, mismatch_samples=0)
    try:
        spec.validate()
    except ParamError as err:
        raise ParamError(f"population {pop!r} cannot be designed: {err.message}",
                         path="analog.max_rate" if err.path == "max_rate" else where) from None
    return spec


def _event_netlist(name: str, circuit: CircuitSection) -> tuple[str, float]:
    """A single neuron with its event one-shot, driven at 3x its rheobase for about
    five spikes; ``v(pulse)`` saved."""
    from lifhw.analog import devices as dv
    from lifhw.analog import sky130
    from lifhw.stimulus import Stimulus

    gap = circuit.v_threshold - circuit.v_rest
    current = 3.0 * circuit.membrane_capacitance / circuit.tau_m * max(gap, 1e-3)
    v_inf = circuit.v_rest + 3.0 * max(gap, 1e-3)
    isi = circuit.refractory + circuit.tau_m * math.log(
        (v_inf - circuit.v_reset) / (v_inf - circuit.v_threshold))
    t_stop = 5.5 * isi
    width = circuit.sky130.synapse_pulse_width
    text = sky130.generate(name, circuit, Stimulus(kind="constant", amplitude=current,
                                                   t_stop=t_stop, dt=t_stop / 1000),
                           max_step=width / 20.0)
    lines = text.splitlines()
    at = next(k for k, line in enumerate(lines) if line.startswith(".nodeset"))
    lines[at:at] = dv.render_blocks(sky130.event_blocks(circuit))
    lines = [line + " v(pulse)" if line.startswith(".save ") else line for line in lines]
    return "\n".join(lines) + "\n", t_stop


def event_width(name: str, circuit: CircuitSection, *, config: Any = None) -> float:
    """Mean width (s) of a sky130 neuron's active-low event pulse (below half the
    supply), measured on the neuron with its one-shot firing at 3x rheobase.

    Raises:
        LifhwError: The neuron made no complete event pulse.
    """
    from lifhw.analog.backends import default_config, get_backend, rising_crossings
    from lifhw.errors import LifhwError

    text, _ = _event_netlist(name, circuit)
    out = get_backend("batch", default_config(circuit, config)).run(text)
    t, pulse = np.asarray(out["time"]), np.asarray(out["v(pulse)"])
    level = 0.5 * circuit.supply
    falls = rising_crossings(t, -pulse, -level)
    rises = rising_crossings(t, pulse, level)
    widths = [float(rises[rises > f][0] - f) for f in falls if np.any(rises > f)]
    if not widths:
        raise LifhwError(f"{name}: the event one-shot made no complete pulse")
    return float(np.mean(widths))


def trim_event_width(name: str, circuit: CircuitSection, *, config: Any = None,
                     iterations: int = 3) -> tuple[CircuitSection, float]:
    """Trim ``synapse_event_trim`` until the one-shot's pulse is ``synapse_pulse_width``
    within :data:`EVENT_WIDTH_TOLERANCE` (a proportional step, then secant steps:
    the width is affine in the one-shot capacitor).

    Returns:
        The trimmed circuit and its measured width (s).
    """
    target = circuit.sky130.synapse_pulse_width
    points: list[tuple[float, float]] = []
    current = circuit
    for _ in range(iterations):
        trim = current.sky130.synapse_event_trim
        width = event_width(name, current, config=config)
        points.append((trim, width))
        if abs(width / target - 1.0) <= EVENT_WIDTH_TOLERANCE:
            return current, width
        if len(points) >= 2 and points[-1][1] != points[-2][1]:
            (t0, w0), (t1, w1) = points[-2], points[-1]
            trim = t1 + (target - w1) * (t1 - t0) / (w1 - w0)
        else:
            trim = trim * target / width
        current = dataclasses.replace(current, sky130=dataclasses.replace(
            current.sky130, synapse_event_trim=max(trim, 1e-3)))
    return current, event_width(name, current, config=config)


def _options_name(circuit: CircuitSection) -> str:
    name = get_topology(circuit.topology).options
    if not name:
        raise ParamError(f"topology {circuit.topology!r} has no options table to design",
                         path="analog.topology")
    return str(name)


def _cache_path(key: str) -> Path:
    from lifhw.analog import models

    return models.cache_dir().parent / "design" / f"network-{key}.json"


def _design_key(spec: Any, circuit: CircuitSection, drives: bool) -> str:
    import hashlib

    options = getattr(circuit, _options_name(circuit))
    synapse = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)
               if f.name.startswith("synapse_")}
    text = repr((DESIGN_CACHE_FORMAT, __version__, spec, circuit.tau_syn_exc,
                 circuit.tau_syn_inh, sorted(synapse.items()), drives))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _load_design(path: Path, circuit: CircuitSection) -> tuple[CircuitSection, dict] | None:
    import json

    try:
        data = json.loads(path.read_text())
        name = _options_name(circuit)
        options = type(getattr(circuit, name))(**data["options"])
        designed = dataclasses.replace(circuit, leak_bias_current=data["leak_bias_current"],
                                       kappa=data["kappa"], corner="tt", **{name: options})
        designed.validate()
        return designed, dict(data["summary"])
    except (OSError, ValueError, KeyError, TypeError, ParamError):
        return None


def _store_design(path: Path, circuit: CircuitSection, summary: Mapping[str, Any]) -> None:
    import contextlib

    from lifhw.errors import LifhwError
    from lifhw.io import atomic_write_text, to_json

    options = getattr(circuit, _options_name(circuit))
    data = {"options": dataclasses.asdict(options),
            "leak_bias_current": circuit.leak_bias_current, "kappa": circuit.kappa,
            "summary": summary}
    with contextlib.suppress(LifhwError):  # a read-only cache only costs time
        atomic_write_text(path, to_json(data, indent=1))


def design_population(name: str, spec: Any, circuit: CircuitSection, *, drives: bool,
                      config: Any = None, workers: int = 2, cache: bool = True,
                      log: Any = None) -> tuple[CircuitSection, dict[str, Any]]:
    """One population's circuit as designed: the neuron ``lifhw design`` closes for
    ``spec`` (tt), its synapses trimmed by the synapse circuit's design step, and
    -- when it ``drives`` synapses -- its event one-shot trimmed to the pulse width.

    The designed neuron's options are the design's (candidate and trims; other
    options at their defaults); the ``synapse_*`` options come from ``circuit``.
    Cached per user (``~/.cache/lifhw/design/network-*.json``) by spec, synapse
    options and lifhw version; the neuron design's simulations are cached too.

    Returns:
        The designed circuit (corner tt) and a JSON-ready summary.
    """
    from lifhw.analog import design as ds

    say = log or (lambda _line: None)
    path = _cache_path(_design_key(spec, circuit, drives))
    if cache:
        hit = _load_design(path, circuit)
        if hit is not None:
            say(f"{name}: design from the cache ({path.name})")
            return hit[0], {**hit[1], "cached": True}
    start = time.perf_counter()
    say(f"{name}: designing the neuron (lifhw design, topology {circuit.topology})")
    result = ds.design(spec, name=name, workers=workers, corners=False, mismatch=False,
                       cache=cache, log=lambda line: say(f"  {line}"))
    options_name = _options_name(circuit)
    mine = getattr(circuit, options_name)
    synapse = {f.name: getattr(mine, f.name) for f in dataclasses.fields(mine)
               if f.name.startswith("synapse_")}
    options = dataclasses.replace(getattr(result.circuit, options_name), **synapse)
    designed = dataclasses.replace(result.circuit, tau_syn_exc=circuit.tau_syn_exc,
                                   tau_syn_inh=circuit.tau_syn_inh,
                                   **{options_name: options})
    designed.validate()
    summary: dict[str, Any] = {
        "neuron": {"realised": result.realised, "errors": result.loop.errors,
                   "candidate": result.candidate, "trim": result.summary()["trim"],
                   "energy_per_spike_j": result.energy_per_spike_j,
                   "simulations": result.simulations, "cache_hits": result.cache_hits}}
    if designed.synapse_signs:
        kind = syn.synapse_circuit(designed)
        reference = getattr(kind, "design", None) or SYNAPSE_DESIGNS.get(kind.name)
        if reference is None:
            raise ParamError(f"synapse circuit {kind.name!r} has no design step",
                             path="analog.design")
        design_synapse = _resolve(reference) if isinstance(reference, str) else reference
        say(f"{name}: designing the synapses ({kind.name})")
        designed, characterisation = design_synapse(name, designed, config=config)
        summary["synapse"] = characterisation.summary()
    if drives and designed.topology in EVENT_TRIMS:
        say(f"{name}: trimming the event one-shot")
        designed, width = _resolve(EVENT_TRIMS[designed.topology])(name, designed,
                                                                   config=config)
        summary["event_width_s"] = width
    summary["seconds"] = time.perf_counter() - start
    if cache:
        _store_design(path, designed, summary)
    return designed, {**summary, "cached": False}


def design_network(an: AnalogNetwork, *, config: Any = None, workers: int = 2,
                   cache: bool = True, log: Any = None) -> AnalogNetwork:
    """``an`` with every population's circuit designed (:func:`design_population`);
    ``an`` unchanged when it is not :func:`designable`.

    Populations are designed at tt and then placed at the network's corner (and
    mismatch seed): at a ``*_mm`` corner every device of every neuron draws its own
    sample, so the run shows what mismatch does to the designed circuits.
    """
    if not designable(an):
        return an
    net = an.network
    drivers = {proj.pre for proj in net.projections if np.any(proj.weights)}
    circuits: dict[str, CircuitSection] = {}
    designs: dict[str, dict[str, Any]] = {}
    for pop in net.populations:
        base = an.circuits[pop.name]
        spec = design_spec(pop.name, pop.neuron, base, an.section.max_rate)
        designed, summary = design_population(
            f"{an.name}_{pop.name}", spec, base, drives=pop.name in drivers, config=config,
            workers=workers, cache=cache, log=log)
        name = _options_name(base)
        options = dataclasses.replace(getattr(designed, name),
                                      mismatch_seed=getattr(base, name).mismatch_seed)
        circuits[pop.name] = dataclasses.replace(designed, corner=base.corner,
                                                 **{name: options})
        designs[pop.name] = summary
    return dataclasses.replace(an, circuits=circuits, designs=designs)


def _input_columns(net: Network) -> dict[str, int]:
    start, out = 0, {}
    for pop in net.inputs:
        out[pop.name] = start
        start += pop.size
    return out


def generate(an: AnalogNetwork, *, source: str = "", max_step: float | None = None) -> str:
    """The network's ngspice netlist (pure: text out).

    Args:
        an: From :func:`build` / :func:`load`.
        source: Parameter file (provenance comment).
        max_step: Largest transient step (s); default :func:`default_max_step`.
    """
    topo = get_topology(an.topology)
    if topo.network is None:
        raise ParamError(f"topology {an.topology!r} has no network builder",
                         path="analog.topology")
    return nl.check_safe(topo.network(an, source=source, max_step=max_step))


def default_max_step(an: AnalogNetwork) -> float:
    """``[analog] max_step`` if set; else a quarter of the shortest event pulse and
    1/400 of the shortest neuron or synapse time constant (the behavioural neuron's
    spike timing is then within ~0.2 %: :func:`lifhw.analog.netlist.default_max_step`)."""
    if an.section.max_step > 0:
        return an.section.max_step
    scales: list[float] = []
    for circuit in an.circuits.values():
        scales += [circuit.tau_m] + [t for t in (circuit.tau_syn_exc, circuit.tau_syn_inh)
                                      if t > 0]
        if circuit.refractory > 0:
            scales.append(circuit.refractory)
    step = min(scales) / 400.0
    for circuit in an.circuits.values():
        if circuit.synapse_signs:
            step = min(step, syn.synapse_circuit(circuit).pulse_width(circuit) / 4.0)
    return step


def synapse_branches(an: AnalogNetwork, pop_name: str, index: int,
                     pulse_node: Mapping[tuple[str, int], str]
                     ) -> dict[str, list[syn.Branch]]:
    """Weight branches of neuron ``index`` of ``pop_name``, per sign.

    Args:
        pulse_node: ``(pre population, pre index) -> node`` of its event pulses
            (presynaptic neurons without one never fire and get no branch).
    """
    out: dict[str, list[syn.Branch]] = {"exc": [], "inh": []}
    for proj in an.network.incoming(pop_name):
        row = proj.weights[index]
        for j in np.flatnonzero(row):
            if (proj.pre, int(j)) not in pulse_node:  # a silent input neuron
                continue
            w = float(row[j])
            sign = "exc" if w > 0 else "inh"
            out[sign].append(syn.Branch(pulse=pulse_node[(proj.pre, int(j))], weight=w,
                                        name=f"{proj.pre}{j}"))
    return out


def input_event_times(an: AnalogNetwork) -> dict[tuple[str, int], np.ndarray]:
    """Arrival times (s) of each input neuron's spikes: step ``k + 1`` of a spike in
    step ``k`` (inputs reach LIF neurons with the projection's delay; projections
    from one input population must share it)."""
    net = an.network
    delays: dict[str, int] = {}
    input_names = {p.name for p in net.inputs}
    for proj in net.projections:
        if (proj.pre in input_names
                and delays.setdefault(proj.pre, proj.delay_steps) != proj.delay_steps):
            raise ParamError(f"projections from input {proj.pre!r} have different "
                                 "delays; the analog netlist has one source per input",
                                 path="network.projections.delay")
    out = {}
    columns = _input_columns(net)
    for pop in net.inputs:
        d = delays.get(pop.name, 1)
        for j in range(pop.size):
            steps = np.flatnonzero(an.input_spikes[:, columns[pop.name] + j])
            times = (steps + d) * net.dt
            out[(pop.name, j)] = times[times < an.t_stop]
    return out


def _to_run(an: AnalogNetwork, times: Mapping[tuple[str, int], np.ndarray], *,
            seconds: float, meta: Mapping[str, Any]) -> NetworkRun:
    net = an.network
    n_steps = an.input_spikes.shape[0]
    spikes = {}
    spike_times: dict[str, list[list[float]]] = {}
    for pop in net.populations:
        raster = np.zeros((n_steps, pop.size), dtype=bool)
        spike_times[pop.name] = []
        for i in range(pop.size):
            t = np.asarray(times[(pop.name, i)])
            steps = np.floor(t / net.dt).astype(int)
            steps = steps[(steps >= 0) & (steps < n_steps)]
            raster[steps, i] = True
            spike_times[pop.name].append([float(x) for x in t])
        spikes[pop.name] = raster
    total = int(sum(int(r.sum()) for r in spikes.values()))
    return NetworkRun(backend="ngspice", dt=net.dt, spikes=spikes,
                      events={"spikes": total, "neuron_updates": n_steps * net.n_neurons},
                      meta={"lifhw_version": __version__, "topology": an.topology,
                            "sim_seconds": seconds, "spike_times_s": spike_times,
                            **dict(meta)})


def simulate(an: AnalogNetwork, *, config: Any = None, source: str = "",
             max_step: float | None = None) -> NetworkRun:
    """Run the network netlist in ngspice (batch) and return its :class:`NetworkRun`.

    ``meta`` holds ``spike_times_s`` (population -> per-neuron spike times, s),
    ``sim_seconds`` and ``seconds_per_neuron_second`` (wall time per simulated
    neuron-second).
    """
    from lifhw.analog.backends import NgspiceBatch, rising_crossings

    text = generate(an, source=source, max_step=max_step)
    circuit = next(iter(an.circuits.values()))
    run_config = get_topology(an.topology).run_config(circuit, config)
    start = time.perf_counter()
    output = NgspiceBatch(run_config).run(text)
    seconds = time.perf_counter() - start
    t = output["time"]
    times = {}
    for pop, i, suffix in an.neurons():
        level = nl.spike_level(an.circuits[pop])
        times[(pop, i)] = rising_crossings(t, output[f"v(spike{suffix})"], level)
    neuron_seconds = an.network.n_neurons * an.t_stop
    return _to_run(an, times, seconds=seconds,
                   meta={"seconds_per_neuron_second": seconds / neuron_seconds,
                         "n_points": len(t)})


def golden_network(an: AnalogNetwork,
                   params: Mapping[str, LIFParams] | None = None) -> Network:
    """The float network the golden simulates: ``an.network`` with, optionally,
    population parameters replaced (e.g. those extracted from a transistor-level
    neuron)."""
    if not params:
        return an.network
    pops = tuple(dataclasses.replace(pop, neuron=params.get(pop.name, pop.neuron))
                 for pop in an.network.populations)
    return dataclasses.replace(an.network, populations=pops)


def calibrated_params(an: AnalogNetwork, *, config: Any = None) -> dict[str, LIFParams]:
    """Per population, the linear LIF extracted from its circuit (the topology's
    characterisation: tau, g_m, offset, effective threshold and refractory time),
    for a golden network of what the transistors realise (``golden_network``)."""
    from lifhw.analog.characterise import characterise_topology

    out = {}
    for pop, circuit in an.circuits.items():
        ch = characterise_topology(f"{an.name}_{pop}", circuit, config=config)
        out[pop] = ch.lif(circuit)
    return out


def compare_runs(golden: NetworkRun, analog: NetworkRun) -> dict[str, Any]:
    """Per-population rates, their errors and spike-time metrics (JSON-ready).

    For each population: mean rate of golden and analog (Hz), the relative rate
    error, per-neuron rates, the rate dispersion across neurons (standard
    deviation / mean, both runs) and :func:`lifhw.compare.compare` of the two
    population traces (count error, rate correlation, paired spike-time error).
    """
    from lifhw.compare import compare

    out: dict[str, Any] = {}
    for pop in golden.spikes:
        g_rates = golden.rates_hz(pop)
        a_rates = analog.rates_hz(pop)
        m = compare(golden.to_trace(pop), analog.to_trace(pop))
        g_mean, a_mean = float(np.mean(g_rates)), float(np.mean(a_rates))
        out[pop] = {
            "rate_golden_hz": g_mean, "rate_analog_hz": a_mean,
            "rate_error": (a_mean / g_mean - 1.0) if g_mean > 0 else math.nan,
            "rates_golden_hz": [float(r) for r in g_rates],
            "rates_analog_hz": [float(r) for r in a_rates],
            "dispersion_golden": float(np.std(g_rates) / g_mean) if g_mean > 0 else math.nan,
            "dispersion_analog": float(np.std(a_rates) / a_mean) if a_mean > 0 else math.nan,
            "count_error": m.count_error, "rate_correlation": m.rate_correlation,
            "spike_time_error_s": m.spike_time_error_s,
        }
    return out


def plot_rasters(golden: NetworkRun, analog: NetworkRun, path: str | Path, *,
                 title: str = "") -> Path:
    """Rasters of the golden and the analog run side by side (one row per neuron)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifhw.io import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, constrained_layout=True)
    for ax, run, label in ((axes[0], golden, "golden (float network)"),
                           (axes[1], analog, f"ngspice, {analog.meta.get('topology', '')}")):
        row = 0
        for k, (pop, raster) in enumerate(run.spikes.items()):
            spike_times = run.meta.get("spike_times_s", {}).get(pop)
            for i in range(raster.shape[1]):
                t = (np.asarray(spike_times[i]) if spike_times is not None
                     else (np.flatnonzero(raster[:, i]) + 1) * run.dt)
                ax.plot(t * 1e3, np.full(len(t), row), "|", color=f"C{k}", ms=6)
                row += 1
            ax.plot([], [], "|", color=f"C{k}", label=f"{pop} "
                    f"({float(np.mean(run.rates_hz(pop))):.1f} Hz)")
        ax.set_xlabel("t (ms)")
        ax.set_title(label)
        ax.legend(loc="upper right", fontsize=8)
    axes[0].set_ylabel("neuron")
    if title:
        fig.suptitle(title)
    out = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return out
