"""The ``[network]`` section of parameter files: a runnable experiment (a
:class:`~lifhw.network.types.Network` plus Poisson input spikes) described in TOML.

Registered in :data:`lifhw.params.SECTIONS` as ``network``; the builder
:meth:`NetworkSection.network` turns the validated tables into the float
network types, :meth:`NetworkSection.input_spikes` draws the seeded inputs
(:meth:`NetworkSection.input_events` the same spikes as events, for large runs).
A projection that names a ``connector`` is drawn in sparse form by
:mod:`lifhw.network.connectors`; one without keeps the dense ``scale * M`` form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lifhw import budget
from lifhw.errors import ParamError
from lifhw.network.connectors import CONNECTORS, check_budget, connect
from lifhw.network.types import InputPopulation, Network, Population, Projection
from lifhw.params import NeuronSection
from lifhw.schema import IDENTIFIER_RE, choice, integer, quantity
from lifhw.schema import field as schema_field
from lifhw.units import parse_quantity


@dataclass(frozen=True)
class PopulationSection:
    """``[network.populations.<name>]``: LIF neurons sharing one ``[...neuron]`` table."""

    neuron: NeuronSection = field(metadata={"doc": "the neuron (as in [neuron])"})
    size: int = integer(ge=1, doc="number of neurons")
    bias: float = quantity("A", 0.0, doc="constant input current of every neuron")
    bias_spread: float = schema_field(0.0, ge=0, doc="relative spread of the bias "
                                      "(uniform in bias*(1 +- spread), seeded)")
    v_init_min: float | None = quantity("V", None, doc="initial V: uniform in "
                                        "[v_init_min, v_init_max] (seeded); default v_rest")
    v_init_max: float | None = quantity("V", None, doc="upper end of the initial V range")


@dataclass(frozen=True)
class InputSection:
    """``[network.inputs.<name>]``: Poisson spike sources."""

    size: int = integer(ge=1, doc="number of sources")
    rate: float = quantity("Hz", ge=0, doc="Poisson rate of each source")


@dataclass(frozen=True)
class ProjectionSection:
    """``[[network.projections]]``: weights ``scale * M`` with M from a generator,
    an explicit list or a ``.npy`` file (dense), or -- with ``connector`` -- drawn
    directly in sparse form by a PyNN connector (``distribution`` then gives the
    per-synapse values; ``path`` names the connection file of ``connector = "file"``).

    ``scale`` is a quantity in volts (post with delta synapses) or amperes
    (current synapses); for ``weights``/``path`` it defaults to 1 SI unit.
    """

    pre: str = schema_field(doc="source population (input or LIF)")
    post: str = schema_field(doc="target LIF population")
    distribution: str = choice("constant", "uniform", "normal", "list", "file",
                               default="constant", doc="where M comes from")
    scale: str = schema_field("", doc="weight unit/scale, e.g. '0.5 mV' or '50 pA'")
    spread: float = schema_field(0.0, ge=0, doc="uniform: M in 1 +- spread; normal: sd")
    density: float = schema_field(1.0, gt=0, le=1, doc="probability that a synapse exists")
    seed: int = integer(0, ge=0, doc="seed of this projection's generator")
    weights: tuple[tuple[float, ...], ...] = schema_field((), doc="M for 'list' (post x pre)")
    path: str = schema_field("", doc="M for 'file': a .npy (post x pre), relative to the file")
    delay: float = quantity("s", 0.0, ge=0, doc="synaptic delay (rounded to steps, >= 1 step)")
    connector: str = choice(*CONNECTORS, default="",
                            doc="PyNN connector drawn in sparse form (see "
                                "lifhw.network.connectors); unset: the dense M above")
    p: float | None = schema_field(None, doc="fixed_probability: connection probability")
    indegree: int | None = integer(None, doc="fixed_indegree: sources per target")
    allow_self_connections: bool = schema_field(True, doc="a population onto itself: "
                                                "may a neuron connect to itself")
    connections: tuple[tuple[float, ...], ...] = schema_field(
        (), doc="connector 'list': rows (pre, post[, weight[, delay_s]]); weight x scale")


@dataclass(frozen=True)
class NetworkSection:
    """``[network]``: a whole runnable experiment (network + input spikes).

        [network]
        dt = "1 ms"
        t_stop = "1 s"
        seed = 3
        [network.inputs.stim]
        size = 20
        rate = "30 Hz"
        [network.populations.exc]
        size = 40
        [network.populations.exc.neuron]
        tau_m = "20 ms"  ...
        [[network.projections]]
        pre = "stim"
        post = "exc"
        distribution = "uniform"
        scale = "2 mV"
        spread = 0.5
        density = 0.3
    """

    inputs: dict[str, InputSection] = field(metadata={"doc": "spike sources by name"})
    populations: dict[str, PopulationSection] = field(
        metadata={"doc": "LIF populations by name"})
    t_stop: float = quantity("s", gt=0, doc="duration of the experiment")
    dt: float = quantity("s", 1e-3, gt=0, doc="simulation step")
    seed: int = integer(0, ge=0, doc="seed of the input spikes and bias spreads")
    projections: tuple[ProjectionSection, ...] = schema_field((), doc="connections")
    base_dir: str = schema_field("", doc="(set by the loader) directory of the file")

    def validate(self) -> None:
        for kind, table in (("inputs", self.inputs), ("populations", self.populations)):
            for key in table:
                if not IDENTIFIER_RE.match(key):
                    raise ParamError(f"{key!r} is not a valid name", path=f"{kind}.{key}")
        if not self.populations:
            raise ParamError("a network needs at least one population", path="populations")
        if not self.inputs:
            raise ParamError("a network needs at least one input (rate = '0 Hz' is allowed)",
                             path="inputs")
        names = set(self.inputs) | set(self.populations)
        if len(names) != len(self.inputs) + len(self.populations):
            raise ParamError("input and population names must differ", path="inputs")
        if self.dt > self.t_stop:
            raise ParamError("dt is longer than t_stop", path="dt")
        for i, proj in enumerate(self.projections):
            where = f"projections[{i}]"
            if proj.pre not in names:
                raise ParamError(f"unknown population {proj.pre!r}", path=f"{where}.pre")
            if proj.post not in self.populations:
                raise ParamError(f"{proj.post!r} is not a LIF population",
                                 path=f"{where}.post")
            if proj.connector or proj.p is not None or proj.indegree is not None:
                self._validate_connector(i)
                self._scale(i)
                continue
            if proj.distribution == "list" and not proj.weights:
                raise ParamError("distribution 'list' needs weights", path=f"{where}.weights")
            if proj.distribution == "list":
                sizes = self._sizes()
                rows = {len(row) for row in proj.weights}
                if len(proj.weights) != sizes[proj.post] or rows != {sizes[proj.pre]}:
                    raise ParamError(f"weights must be {sizes[proj.post]} rows (post) of "
                                     f"{sizes[proj.pre]} numbers (pre)", path=f"{where}.weights")
            if proj.distribution == "file" and not proj.path:
                raise ParamError("distribution 'file' needs a path", path=f"{where}.path")
            if proj.distribution in ("constant", "uniform", "normal") and not proj.scale:
                raise ParamError("give the weight scale, e.g. '0.5 mV' or '50 pA'",
                                 path=f"{where}.scale")
            self._scale(i)

    def _validate_connector(self, index: int) -> None:
        proj = self.projections[index]
        where = f"projections[{index}]"
        kind = proj.connector
        if not kind:
            raise ParamError("p and indegree belong to a connector: set connector = "
                             "'fixed_probability' or 'fixed_indegree'", path=f"{where}.connector")
        if proj.density != 1.0:
            raise ParamError("density belongs to the dense form; with a connector use "
                             "connector = 'fixed_probability' and p", path=f"{where}.density")
        if proj.distribution in ("list", "file") or proj.weights:
            raise ParamError(f"distribution {proj.distribution!r} / weights give a dense "
                             "matrix; with a connector give per-synapse values by "
                             "distribution constant/uniform/normal or in the connection list",
                             path=f"{where}.distribution")
        if kind == "fixed_probability":
            if proj.p is None:
                raise ParamError("fixed_probability needs p", path=f"{where}.p")
            if not 0.0 <= proj.p <= 1.0:
                raise ParamError(f"p = {proj.p:g} is not a probability: it must lie in [0, 1]",
                                 path=f"{where}.p")
        elif proj.p is not None:
            raise ParamError(f"p is only for fixed_probability, not {kind!r}", path=f"{where}.p")
        if kind == "fixed_indegree":
            if proj.indegree is None:
                raise ParamError("fixed_indegree needs indegree", path=f"{where}.indegree")
            n_pre = self._sizes()[proj.pre]
            pool = n_pre - (1 if proj.pre == proj.post and not proj.allow_self_connections
                            else 0)
            if not 0 <= proj.indegree <= pool:
                raise ParamError(f"indegree {proj.indegree} does not fit: the source "
                                 f"population {proj.pre!r} offers {pool} distinct sources",
                                 path=f"{where}.indegree")
        elif proj.indegree is not None:
            raise ParamError(f"indegree is only for fixed_indegree, not {kind!r}",
                             path=f"{where}.indegree")
        if kind == "list" and not proj.connections:
            raise ParamError("connector 'list' needs connections = [[pre, post, weight], ...]",
                             path=f"{where}.connections")
        if kind != "list" and proj.connections:
            raise ParamError(f"connections are for connector 'list', not {kind!r}",
                             path=f"{where}.connections")
        if kind == "file" and not proj.path:
            raise ParamError("connector 'file' needs a path", path=f"{where}.path")
        if kind in ("all_to_all", "fixed_probability", "fixed_indegree", "one_to_one") \
                and not proj.scale:
            raise ParamError("give the weight scale, e.g. '0.5 mV' or '50 pA'",
                             path=f"{where}.scale")

    def _scale(self, index: int) -> float:
        proj = self.projections[index]
        post = self.populations[proj.post].neuron
        delta = post.tau_syn_exc == 0 and post.tau_syn_inh == 0
        unit = "V" if delta else "A"
        if not proj.scale:
            return 1.0
        return parse_quantity(proj.scale, unit, path=f"projections[{index}].scale")

    def _sizes(self) -> dict[str, int]:
        sizes = {name: s.size for name, s in self.inputs.items()}
        sizes.update({name: s.size for name, s in self.populations.items()})
        return sizes

    def _matrix(self, index: int, shape: tuple[int, int]) -> np.ndarray:
        proj = self.projections[index]
        where = f"projections[{index}]"
        rng = np.random.default_rng([proj.seed, index])
        if proj.distribution == "constant":
            base = np.ones(shape)
        elif proj.distribution == "uniform":
            base = rng.uniform(1.0 - proj.spread, 1.0 + proj.spread, size=shape)
        elif proj.distribution == "normal":
            base = rng.normal(1.0, proj.spread, size=shape)
        elif proj.distribution == "list":
            base = np.asarray(proj.weights, dtype=float)
        else:
            file = Path(self.base_dir) / proj.path if self.base_dir else Path(proj.path)
            try:
                base = np.load(file, allow_pickle=False)
            except (OSError, ValueError) as err:
                raise ParamError(f"cannot read {file}: {err}", path=f"{where}.path") from None
            base = np.asarray(base, dtype=float)
        if base.shape != shape:
            raise ParamError(f"weights have shape {base.shape}, expected {shape} (post, pre)",
                             path=where)
        if proj.density < 1.0:
            base = base * (rng.random(shape) < proj.density)
        return base * self._scale(index)

    def network(self, name: str = "network") -> Network:
        """The :class:`Network` this section describes.

        Args:
            name: Network name.

        Raises:
            ParamError: A projection whose estimated memory exceeds the budget
                (estimated before anything is allocated), or a bad connection file.
        """
        sizes = self._sizes()
        rng = np.random.default_rng([self.seed, 1])
        v_rng = np.random.default_rng([self.seed, 2])
        pops = []
        for pop_name, sec in self.populations.items():
            bias = np.full(sec.size, sec.bias)
            if sec.bias_spread > 0:
                bias = bias * rng.uniform(1 - sec.bias_spread, 1 + sec.bias_spread, sec.size)
            lif = sec.neuron.lif()
            v_init = None
            if sec.v_init_min is not None or sec.v_init_max is not None:
                low = lif.v_rest if sec.v_init_min is None else sec.v_init_min
                high = low if sec.v_init_max is None else sec.v_init_max
                if high < low:
                    raise ParamError("v_init_max is below v_init_min",
                                     path=f"populations.{pop_name}.v_init_max")
                v_init = v_rng.uniform(low, high, sec.size)
            pops.append(Population(pop_name, sec.size, lif, bias, v_init))
        projs = []
        for i, proj in enumerate(self.projections):
            delay = max(1, round(proj.delay / self.dt))
            shape = (sizes[proj.post], sizes[proj.pre])
            if proj.connector:
                weights, delays = connect(
                    proj, n_pre=shape[1], n_post=shape[0],
                    same_population=proj.pre == proj.post, scale=self._scale(i), dt=self.dt,
                    base_dir=self.base_dir, rng=np.random.default_rng([proj.seed, i]),
                    where=f"projections[{i}]")
                projs.append(Projection(proj.pre, proj.post, weights, delay, delays))
                continue
            # The dense form: post x pre floats, plus the generator's draws.
            check_budget(float(shape[0]) * shape[1], where=f"projections[{i}]",
                         bytes_per_synapse=24, what="dense matrix entries (post x pre)")
            weights = self._matrix(i, shape)
            projs.append(Projection(proj.pre, proj.post, weights, delay))
        inputs = tuple(InputPopulation(n, s.size) for n, s in self.inputs.items())
        return Network(name=name, inputs=inputs, populations=tuple(pops),
                       projections=tuple(projs), dt=self.dt)

    def check_run_budget(self) -> None:
        """Refuse, before allocating, a run whose neurons, steps or input spikes alone
        exceed the memory budget (the projections are checked one by one when drawn).

        Per neuron about 160 B (parameters and the event engine's state and buffers),
        per step 32 B (event-log offsets, input pointers), per input spike 40 B.
        """
        neurons = sum(s.size for s in self.populations.values())
        steps = self.t_stop / self.dt
        spikes = sum(s.size * min(s.rate * self.dt, 1.0) for s in self.inputs.values()) * steps
        estimate = 160.0 * neurons + 32.0 * steps + 40.0 * spikes
        budget.check(estimate, f"a run of {neurons:.3g} neurons, {steps:.3g} steps and "
                     f"{spikes:.3g} expected input spikes", path="t_stop")

    @property
    def n_steps(self) -> int:
        return round(self.t_stop / self.dt)

    def input_spikes(self) -> np.ndarray:
        """Poisson input spikes (T, n_in), the inputs side by side in file order.

        Each source spikes in a step with probability ``min(rate dt, 1)``
        (Bernoulli approximation of a Poisson process on the grid), seeded by
        ``seed``.
        """
        rng = np.random.default_rng([self.seed, 0])
        columns = [rng.random((self.n_steps, s.size)) < min(s.rate * self.dt, 1.0)
                   for s in self.inputs.values()]
        if not columns:
            return np.zeros((self.n_steps, 0), dtype=bool)
        return np.concatenate(columns, axis=1)


    def input_events(self, chunk_steps: int = 4096) -> dict[str, Any]:
        """The same Poisson input spikes as :meth:`input_spikes`, as events.

        Returns ``{"n_steps": T, name: (steps, indices), ...}`` (the input form of
        :func:`lifhw.golden.event_engine.simulate_events`), drawn in blocks of
        steps so that no (T, n_in) array is allocated.
        """
        rng = np.random.default_rng([self.seed, 0])
        out: dict[str, Any] = {"n_steps": self.n_steps}
        for name, s in self.inputs.items():
            prob = min(s.rate * self.dt, 1.0)
            steps_parts, idx_parts = [], []
            for start in range(0, self.n_steps, chunk_steps):
                rows = min(chunk_steps, self.n_steps - start)
                st, idx = np.nonzero(rng.random((rows, s.size)) < prob)
                steps_parts.append(st.astype(np.int64) + start)
                idx_parts.append(idx.astype(np.int64))
            out[name] = (np.concatenate(steps_parts) if steps_parts else np.zeros(0, np.int64),
                         np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64))
        return out


def load_experiment(path: str | Path) -> tuple[Network, np.ndarray]:
    """Network and input spikes of a parameter file with a ``[network]`` section."""
    from lifhw import params

    pf = params.load(path)
    section = pf.section("network", NetworkSection)
    try:
        return section.network(pf.name), section.input_spikes()
    except ParamError as err:  # e.g. a weight file of the wrong shape
        raise err.located(path_prefix="network", source=str(path)) from None


def load_run(path: str | Path, *,
             t_stop: float | None = None) -> tuple[Network, dict[str, Any]]:
    """Network and input spikes *as events* of a ``[network]`` file, for large runs.

    Args:
        path: Parameter file with a ``[network]`` section.
        t_stop: Override the file's ``t_stop`` (s).

    Returns:
        (network, input events ``{"n_steps": T, name: (steps, indices)}``).
    """
    import dataclasses

    from lifhw import params

    pf = params.load(path)
    section = pf.section("network", NetworkSection)
    try:
        if t_stop is not None:
            if not t_stop >= section.dt:
                raise ParamError(f"t_stop {t_stop:g} s is shorter than one step "
                                 f"({section.dt:g} s)", path="t_stop")
            section = dataclasses.replace(section, t_stop=t_stop)
        section.check_run_budget()
        network = section.network(pf.name)
        return network, section.input_events()
    except ParamError as err:
        raise err.located(path_prefix="network", source=str(path)) from None
