"""The ``[network]`` section of parameter files: a runnable experiment (a
:class:`~lifhw.network.types.Network` plus Poisson input spikes) described in TOML.

Registered in :data:`lifhw.params.SECTIONS` as ``network``; the builder
:meth:`NetworkSection.network` turns the validated tables into the float
network types, :meth:`NetworkSection.input_spikes` draws the seeded inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lifhw.errors import ParamError
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


@dataclass(frozen=True)
class InputSection:
    """``[network.inputs.<name>]``: Poisson spike sources."""

    size: int = integer(ge=1, doc="number of sources")
    rate: float = quantity("Hz", ge=0, doc="Poisson rate of each source")


@dataclass(frozen=True)
class ProjectionSection:
    """``[[network.projections]]``: weights ``scale * M`` with M from a generator,
    an explicit list or a ``.npy`` file.

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
        """The :class:`Network` this section describes."""
        sizes = self._sizes()
        rng = np.random.default_rng([self.seed, 1])
        pops = []
        for pop_name, sec in self.populations.items():
            bias = np.full(sec.size, sec.bias)
            if sec.bias_spread > 0:
                bias = bias * rng.uniform(1 - sec.bias_spread, 1 + sec.bias_spread, sec.size)
            pops.append(Population(pop_name, sec.size, sec.neuron.lif(), bias))
        projs = []
        for i, proj in enumerate(self.projections):
            weights = self._matrix(i, (sizes[proj.post], sizes[proj.pre]))
            delay = max(1, round(proj.delay / self.dt))
            projs.append(Projection(proj.pre, proj.post, weights, delay))
        inputs = tuple(InputPopulation(n, s.size) for n, s in self.inputs.items())
        return Network(name=name, inputs=inputs, populations=tuple(pops),
                       projections=tuple(projs), dt=self.dt)

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


def load_experiment(path: str | Path) -> tuple[Network, np.ndarray]:
    """Network and input spikes of a parameter file with a ``[network]`` section."""
    from lifhw import params

    pf = params.load(path)
    section = pf.section("network", NetworkSection)
    try:
        return section.network(pf.name), section.input_spikes()
    except ParamError as err:  # e.g. a weight file of the wrong shape
        raise err.located(path_prefix="network", source=str(path)) from None
