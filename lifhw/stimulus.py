"""What drives a neuron: a piecewise-constant current plus input spikes.

The ``[stimulus]`` section of a parameter file becomes a :class:`Stimulus`.
Every backend asks it for the same two things -- :meth:`Stimulus.segments`
(current breakpoints) and :meth:`Stimulus.input_spikes` -- and resamples them
as it needs (a PWL source for ngspice, a per-step integer for RTL).

Kinds:
    ``constant``  ``amplitude`` from 0 to ``t_stop``.
    ``step``      ``offset`` until ``t_start``, then ``amplitude``.
    ``pulses``    ``amplitude`` for ``width`` every ``period`` from ``t_start``,
                  ``offset`` otherwise.
    ``spikes``    input spikes at ``spike_times`` with ``spike_weights``
                  (volt jumps for delta synapses, ampere jumps for current synapses;
                  positive = excitatory), on top of a constant ``offset``.
    ``poisson``   Poisson input at ``rate`` with ``weight``, seeded by ``seed``.
    ``file``      a CSV of ``time_s,current_a`` rows (header allowed), held
                  piecewise constant; ``path`` is relative to the parameter file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lifhw.errors import ParamError
from lifhw.schema import choice, field, integer, quantity


@dataclass(frozen=True)
class Stimulus:
    """Input of a single-neuron experiment (see the module docstring for kinds)."""

    kind: str = choice("constant", "step", "pulses", "spikes", "poisson", "file",
                       doc="stimulus shape")
    t_stop: float = quantity("s", gt=0, doc="end of the simulation")
    amplitude: float = quantity("A", 0.0, doc="current during the stimulus")
    offset: float = quantity("A", 0.0, doc="current outside the stimulus")
    t_start: float = quantity("s", 0.0, ge=0, doc="onset of step or pulses")
    dt: float = quantity("s", 1e-4, gt=0, doc="sampling/time step of recorded traces")
    period: float = quantity("s", 0.0, ge=0, doc="pulse period")
    width: float = quantity("s", 0.0, ge=0, doc="pulse width")
    spike_times: tuple[float, ...] = quantity("s", (), doc="input spike times")
    spike_weights: tuple[float, ...] = field((), doc="jump per input spike (V or A)")
    rate: float = quantity("Hz", 0.0, ge=0, doc="Poisson input rate")
    weight: float = field(0.0, doc="jump per Poisson spike (V or A)")
    seed: int = integer(0, ge=0, doc="random seed of Poisson input")
    path: str = field("", doc="CSV file for kind='file', relative to the parameter file")
    base_dir: str = field("", doc="(set by the loader) directory of the parameter file")

    def validate(self) -> None:
        if self.kind == "pulses":
            if self.period <= 0 or self.width <= 0:
                raise ParamError("pulses need period > 0 s and width > 0 s", path="period")
            if self.width > self.period:
                raise ParamError(f"width {self.width:g} s exceeds period {self.period:g} s",
                                 path="width")
        if self.kind == "spikes":
            if len(self.spike_times) != len(self.spike_weights):
                raise ParamError(
                    f"{len(self.spike_times)} spike_times but {len(self.spike_weights)} "
                    "spike_weights", path="spike_weights")
            if any(t < 0 or t > self.t_stop for t in self.spike_times):
                raise ParamError("spike times must lie in [0, t_stop]", path="spike_times")
        if self.kind == "poisson" and self.rate <= 0:
            raise ParamError("poisson input needs rate > 0 Hz", path="rate")
        if self.kind == "file" and not self.path:
            raise ParamError("kind 'file' needs a path to a CSV file", path="path")
        if self.kind == "file":
            read_current_csv(self.csv_path())  # errors now, naming this file and field
        if self.t_start > self.t_stop:
            raise ParamError(f"t_start {self.t_start:g} s is after t_stop {self.t_stop:g} s",
                             path="t_start")
        if self.dt > self.t_stop:
            raise ParamError("dt is longer than the whole simulation", path="dt")

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Piecewise-constant current.

        Returns:
            ``(edges, values)``: ``edges`` (s) has one more element than
            ``values`` (A); the current is ``values[k]`` on ``[edges[k], edges[k+1])``.
            ``edges[0] == 0`` and ``edges[-1] == t_stop``.
        """
        t_stop = self.t_stop
        if self.kind == "constant":
            return np.array([0.0, t_stop]), np.array([self.amplitude])
        if self.kind == "step":
            if self.t_start <= 0:
                return np.array([0.0, t_stop]), np.array([self.amplitude])
            return np.array([0.0, self.t_start, t_stop]), np.array([self.offset, self.amplitude])
        if self.kind == "pulses":
            edges = [0.0]
            values = []
            if self.t_start > 0:
                edges.append(self.t_start)
                values.append(self.offset)
            start = self.t_start
            while start < t_stop:
                end = min(start + self.width, t_stop)
                edges.append(end)
                values.append(self.amplitude)
                nxt = min(start + self.period, t_stop)
                if nxt > end:
                    edges.append(nxt)
                    values.append(self.offset)
                start = nxt
            return np.array(edges), np.array(values)
        if self.kind == "file":
            return self._file_segments()
        return np.array([0.0, t_stop]), np.array([self.offset])

    def csv_path(self) -> Path:
        """The stimulus CSV of kind ``file``, resolved against the parameter file."""
        return Path(self.base_dir) / self.path if self.base_dir else Path(self.path)

    def _file_segments(self) -> tuple[np.ndarray, np.ndarray]:
        times, currents = read_current_csv(self.csv_path())
        keep = times < self.t_stop
        times, currents = times[keep], currents[keep]
        if len(times) == 0 or times[0] > 0:
            times = np.concatenate([[0.0], times])
            currents = np.concatenate([[0.0], currents])
        return np.concatenate([times, [self.t_stop]]), currents

    def expected_input_spikes(self) -> float:
        """Number of input spikes (the mean for Poisson input)."""
        if self.kind == "spikes":
            return float(len(self.spike_times))
        if self.kind == "poisson":
            return self.rate * self.t_stop
        return 0.0

    def input_spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """Input spike times (s, sorted) and their weights (V or A).

        Raises:
            ParamError: Poisson input whose spikes would not fit the memory budget
                (:mod:`lifhw.budget`).
        """
        if self.kind == "poisson":
            from lifhw import budget

            budget.check(self.expected_input_spikes() * budget.GOLDEN_BYTES_PER_INPUT_SPIKE,
                         f"Poisson input ({self.rate:g} Hz for {self.t_stop:g} s)",
                         path="stimulus.rate")
        if self.kind == "spikes":
            order = np.argsort(self.spike_times, kind="stable")
            return (np.asarray(self.spike_times, dtype=float)[order],
                    np.asarray(self.spike_weights, dtype=float)[order])
        if self.kind == "poisson":
            rng = np.random.default_rng(self.seed)
            count = rng.poisson(self.rate * self.t_stop)
            times = np.sort(rng.uniform(0.0, self.t_stop, size=count))
            return times, np.full(count, self.weight)
        return np.array([]), np.array([])

    def sample(self, dt: float | None = None) -> np.ndarray:
        """Current per time step of length ``dt`` (A), value at each step's start."""
        from lifhw import budget

        step = self.dt if dt is None else dt
        budget.check(self.t_stop / step * 32, f"a current sampled in {self.t_stop / step:.3g} "
                     f"steps of {step:g} s", path="stimulus.t_stop")
        n = round(self.t_stop / step)
        edges, values = self.segments()
        starts = np.arange(n) * step
        index = np.searchsorted(edges, starts, side="right") - 1
        return values[np.clip(index, 0, len(values) - 1)]

    @property
    def max_current(self) -> float:
        """Largest current the stimulus injects (A)."""
        return float(np.max(self.segments()[1]))


#: Largest stimulus CSV read (bytes): a current waveform, not a data set.
MAX_CSV_BYTES = 256 * 2**20


def read_current_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``time_s,current_a`` of a stimulus CSV (one header line and ``#`` comments allowed).

    Errors name the file, the line and the column, never the cell's text (the
    file may not be meant to be shown).

    Raises:
        ParamError: Unreadable, not a regular file, a cell that is not a finite
            number, a row without two columns, no rows, or times that do not
            start at >= 0 and increase; the field is ``path``.
    """
    def fail(message: str) -> ParamError:
        return ParamError(f"stimulus file {path}: {message}", path="path")

    try:
        if not path.is_file():
            raise fail("not found" if not path.exists() else "not a regular file")
        if path.stat().st_size > MAX_CSV_BYTES:
            raise fail(f"larger than {MAX_CSV_BYTES // 2**20} MiB")
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as err:
        raise fail(f"cannot read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise fail("not a UTF-8 text file") from None
    header = _first_data_line(lines)
    rows: list[tuple[float, float]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        cells = [c.strip() for c in text.split(",")]
        if len(cells) != 2:
            raise fail(f"line {number}: expected 2 columns 'time_s,current_a', "
                       f"got {len(cells)}")
        try:
            values = (float(cells[0]), float(cells[1]))
        except ValueError:
            if number == header:
                continue
            raise fail(f"line {number}: a cell is not a number") from None
        for column, value in enumerate(values, start=1):
            if not np.isfinite(value):
                raise fail(f"line {number}, column {column}: not a finite number")
        rows.append(values)
    if not rows:
        raise fail("no rows 'time_s,current_a'")
    data = np.asarray(rows)
    times, currents = data[:, 0], data[:, 1]
    if np.any(np.diff(times) <= 0) or times[0] < 0:
        raise fail("times must start >= 0 and increase")
    return times, currents


def _first_data_line(lines: list[str]) -> int:
    """1-based number of the first line that is neither blank nor a comment."""
    for number, line in enumerate(lines, start=1):
        if line.strip() and not line.strip().startswith("#"):
            return number
    return 0
