"""One frozen record per analog topology, registered once.

Everything the analog flow needs to know about a topology lives in its
:class:`AnalogTopology` record, defined in the topology's own module next to
its generator (``TOPOLOGY = AnalogTopology(...)``), and registered here by one
line (a lazy ``"module:attr"`` path, so ``import lifhw`` stays light)::

    TOPOLOGIES.add("sky130", "lifhw.analog.sky130:TOPOLOGY")

Adding a topology is one new file (generator + record) and one such line. The
``[circuit] topology`` choice, the netlist generator, the run configuration
(``.spiceinit`` commands, support files such as the trimmed model library), the
supply (energy per spike), the characterisation, the device records a layout is
drawn from and the default golden model of ``lifhw compare`` are all read from
the record; nothing else dispatches on the topology's name.

The record is data, so it can be tested and listed (``TOPOLOGIES.names()``)
without a simulator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lifhw.errors import ParamError
from lifhw.registry import Registry

if TYPE_CHECKING:
    from lifhw.analog.backends import RunConfig, SupportFile
    from lifhw.analog.characterise import Characterisation
    from lifhw.analog.devices import Device
    from lifhw.analog.params import CircuitSection
    from lifhw.stimulus import Stimulus


class Generator(Protocol):
    """A topology's netlist generator: pure, keyword parameters, text out.

    Every generator accepts at least ``source`` (provenance comment),
    ``max_step`` (s, None for its default) and ``spiking`` (False disables the
    spike logic for DC characterisation); topology-specific options are further
    explicit keywords. Unknown keywords are a TypeError, reported by
    :func:`lifhw.analog.netlist.generate` as a ParamError naming the option.
    """

    def __call__(self, name: str, circuit: CircuitSection, stimulus: Stimulus, *,
                 source: str = "", max_step: float | None = None,
                 spiking: bool = True) -> str: ...


@dataclass(frozen=True)
class AnalogTopology:
    """What the analog flow knows about one topology.

    Args:
        name: The ``[circuit] topology`` value.
        summary: One line for listings and docs.
        generate: Netlist generator (:class:`Generator`).
        supply: The netlist has a ``VDD`` source driving ``vdd`` (energy per spike
            is measured on it; characterisation saves its current).
        options: Name of the ``[circuit.<options>]`` table the topology reads (a
            field of :class:`~lifhw.analog.params.CircuitSection`), or None.
        spiceinit: ngspice ``set`` commands its netlists need before parsing
            (written to ``.spiceinit`` by the runner and by ``lifhw netlist``).
        support_files: ``(circuit) -> SupportFile``\\ s the netlist includes by bare
            file name (e.g. the trimmed model library); the runner places them in
            the run directory, :func:`lifhw.analog.netlist.write_netlist` next to
            the written netlist. None: self-contained netlists.
        characterise: The topology's own characterisation (signature of
            :func:`lifhw.analog.characterise.characterise`), or None for the
            generic one.
        golden: Golden parameters of ``lifhw compare``'s headline metrics with
            ``--golden auto``: ``nominal`` (the netlist realises the file exactly)
            or ``calibrated`` (extracted from the circuit first).
        devices: ``(circuit) -> tuple[Device, ...]``: the device records the
            netlist is rendered from, used by :mod:`lifhw.layout`. None: laid out
            as the topology named by ``layout_as``.
        layout_as: Topology whose devices stand in for this one's in a layout.
        design: Slot for the ``lifhw design`` hook (sizing from a target neuron);
            None where the topology has none yet.
        synapses: Names of the synapse circuits the topology can attach to ``vm``
            (:data:`lifhw.analog.synapse.SYNAPSES`); the first one is used.
        network: ``(analog_network, *, source, max_step) -> netlist text`` of a whole
            network of this topology's neurons and synapses
            (:mod:`lifhw.analog.network`), or None.
    """

    name: str
    summary: str
    generate: Generator
    supply: bool = False
    options: str | None = None
    spiceinit: tuple[str, ...] = ()
    support_files: Callable[[CircuitSection], tuple[SupportFile, ...]] | None = None
    characterise: Callable[..., Characterisation] | None = None
    golden: str = "nominal"
    devices: Callable[[CircuitSection], tuple[Device, ...]] | None = None
    layout_as: str = ""
    design: Callable[..., Any] | None = None
    synapses: tuple[str, ...] = ()
    network: Callable[..., str] | None = None

    def __post_init__(self) -> None:
        if self.golden not in ("nominal", "calibrated"):
            raise ValueError(f"golden must be 'nominal' or 'calibrated', not {self.golden!r}")
        if self.devices is None and not self.layout_as:
            raise ValueError(f"topology {self.name!r}: give devices or layout_as")

    def files(self, circuit: CircuitSection) -> tuple[SupportFile, ...]:
        """Support files of ``circuit``'s netlist (empty for self-contained ones)."""
        return self.support_files(circuit) if self.support_files is not None else ()

    def run_config(self, circuit: CircuitSection, config: RunConfig | None = None
                   ) -> RunConfig:
        """``config`` (default :class:`~lifhw.analog.backends.RunConfig`) plus what
        this topology's netlists need: its ``spiceinit`` commands and support files."""
        from lifhw.analog.backends import RunConfig

        base = config or RunConfig()
        spiceinit = (*base.spiceinit, *(c for c in self.spiceinit if c not in base.spiceinit))
        have = {f.name for f in base.support_files}
        files = (*base.support_files, *(f for f in self.files(circuit) if f.name not in have))
        return dataclasses.replace(base, spiceinit=spiceinit, support_files=files)


#: Topology name -> its record (``"module:attr"``, imported on first use).
TOPOLOGIES: Registry[AnalogTopology] = Registry("circuit topology")
TOPOLOGIES.add("behavioral", "lifhw.analog.behavioral:TOPOLOGY")
TOPOLOGIES.add("sky130", "lifhw.analog.sky130:TOPOLOGY")
TOPOLOGIES.add("sky130_lp", "lifhw.analog.sky130_lp:TOPOLOGY")


def get_topology(name: str) -> AnalogTopology:
    """The record of topology ``name``.

    Raises:
        ParamError: Unknown name (with "did you mean ..." and the known names).
    """
    try:
        record = TOPOLOGIES.get(name)
    except ParamError as err:
        raise ParamError(err.message, path="topology") from None
    if record.name != name:
        raise ValueError(f"topology registered as {name!r} calls itself {record.name!r}")
    return record
