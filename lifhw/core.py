"""The shared vocabulary of lifhw: the abstract neuron, a trace, a network.

Every realisation -- golden model, ngspice netlist, Verilog core, chip mapper --
is built *from* a :class:`LIFParams` and produces a :class:`Trace`; networks are
described once as a :class:`Network` of float parameters. Comparison, sweeps
and reports only ever see these types.

The neuron (SI units throughout)::

    tau_m dV/dt = -(V - v_rest) + r_m I(t)          while not refractory
    V >= v_th  ->  spike, V <- v_reset, clamp for t_ref
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from lifhw import schema
from lifhw.errors import ParamError


@dataclass(frozen=True)
class LIFParams:
    """The abstract leaky integrate-and-fire neuron, in SI units.

    Args:
        tau_m: Membrane time constant (s), ``C / g_L``.
        r_m: Membrane resistance (Ohm), ``1 / g_L``.
        v_rest: Resting (leak reversal) potential (V).
        v_th: Firing threshold (V).
        v_reset: Reset potential (V).
        t_ref: Absolute refractory period (s).
        tau_syn_exc: Excitatory current-synapse time constant (s); 0 = delta synapse
            (a spike makes V jump).
        tau_syn_inh: Inhibitory current-synapse time constant (s); 0 = delta synapse.
    """

    tau_m: float
    r_m: float
    v_rest: float
    v_th: float
    v_reset: float
    t_ref: float = 0.0
    tau_syn_exc: float = 0.0
    tau_syn_inh: float = 0.0

    def __post_init__(self) -> None:
        check_neuron_values(tau_m=self.tau_m, r_m=self.r_m, v_rest=self.v_rest,
                            v_th=self.v_th, v_reset=self.v_reset, t_ref=self.t_ref,
                            tau_syn_exc=self.tau_syn_exc, tau_syn_inh=self.tau_syn_inh)

    @property
    def c_m(self) -> float:
        """Membrane capacitance (F) = tau_m / r_m."""
        return self.tau_m / self.r_m

    @property
    def g_l(self) -> float:
        """Leak conductance (S) = 1 / r_m."""
        return 1.0 / self.r_m

    @property
    def rheobase(self) -> float:
        """Smallest constant current (A) that eventually makes the neuron fire."""
        return (self.v_th - self.v_rest) / self.r_m

    def replace(self, **changes: float) -> LIFParams:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def as_kwargs(self) -> LIFKwargs:
        """Keyword arguments of :func:`lifhw.golden.lif_rate` and friends (which
        also take the ``LIFParams`` itself: ``lif_rate(i, params)``)."""
        return {
            "tau_m": self.tau_m,
            "r_m": self.r_m,
            "v_rest": self.v_rest,
            "v_th": self.v_th,
            "v_reset": self.v_reset,
            "t_ref": self.t_ref,
        }

    def digest(self) -> str:
        """Short stable hash of the parameters (for provenance)."""
        return params_hash(dataclasses.asdict(self))


_POSITIVE = ("tau_m", "r_m")
_NON_NEGATIVE = ("t_ref", "tau_syn_exc", "tau_syn_inh")
_POTENTIALS = ("v_rest", "v_th", "v_reset")


class LIFKwargs(TypedDict):
    """The keyword form of a neuron taken by the golden closed forms."""

    tau_m: float
    r_m: float
    v_rest: float
    v_th: float
    v_reset: float
    t_ref: float


def check_neuron_values(*, tau_m: float | None = None, r_m: float | None = None,
                        v_rest: float | None = None, v_th: float | None = None,
                        v_reset: float | None = None, t_ref: float | None = None,
                        tau_syn_exc: float | None = None, tau_syn_inh: float | None = None,
                        path_prefix: str = "") -> None:
    """The one check of LIF neuron values (those given; None = not checked).

    ``tau_m`` (s) and ``r_m`` (Ohm) finite and > 0; ``t_ref`` and the synapse
    taus (s) finite and >= 0; potentials (V) finite; ``v_th > v_reset``. Used by
    :class:`LIFParams`, the ``[neuron]`` section, the golden closed forms
    (:mod:`lifhw.golden.fi`, :mod:`lifhw.golden.stochastic`) and the OTA neuron.

    Args:
        path_prefix: Prepended to the field name in the error (e.g. ``neuron``).

    Raises:
        ParamError: (a ValueError) naming the first bad field.
    """
    values = {"tau_m": tau_m, "r_m": r_m, "v_rest": v_rest, "v_th": v_th,
              "v_reset": v_reset, "t_ref": t_ref, "tau_syn_exc": tau_syn_exc,
              "tau_syn_inh": tau_syn_inh}

    def where(name: str) -> str:
        return f"{path_prefix}.{name}" if path_prefix else name

    for name, value in values.items():
        if value is None:
            continue
        if name in _POSITIVE and not (math.isfinite(value) and value > 0):
            raise ParamError(f"must be > 0, got {value!r}", path=where(name))
        if name in _NON_NEGATIVE and not (math.isfinite(value) and value >= 0):
            raise ParamError(f"must be >= 0 s, got {value!r}", path=where(name))
        if name in _POTENTIALS and not math.isfinite(value):
            raise ParamError(f"must be finite, got {value!r}", path=where(name))
    if v_th is not None and v_reset is not None and not v_th > v_reset:
        raise ParamError(f"v_th ({v_th * 1e3:g} mV) must be above v_reset "
                         f"({v_reset * 1e3:g} mV)", path=where("v_th"))


def neuron_values(neuron: LIFParams | None, names: Sequence[str],
                  given: Mapping[str, float | None]) -> dict[str, float]:
    """The named neuron values from a :class:`LIFParams` or from keywords, checked.

    The golden functions take a ``LIFParams`` (preferred) or the same values as
    keywords (a convenience); this resolves either into one mapping.

    Args:
        neuron: The neuron, or None to use ``given``.
        names: The values the caller needs, e.g. ``("tau_m", "v_th", "v_reset", "t_ref")``.
        given: The caller's keyword values (None = not given); a missing
            ``t_ref`` means 0 s.

    Raises:
        TypeError: Both a neuron and keyword values, or a needed keyword missing.
        ParamError: A value fails :func:`check_neuron_values`.
    """
    passed = {k: v for k, v in given.items() if v is not None}
    if neuron is not None:
        if passed:
            raise TypeError("give either a LIFParams or neuron keywords, not both "
                            f"(got {', '.join(sorted(passed))})")
        return {name: float(getattr(neuron, name)) for name in names}
    if "t_ref" in names:
        passed.setdefault("t_ref", 0.0)
    missing = [name for name in names if name not in passed]
    if missing:
        raise TypeError("missing neuron values: " + ", ".join(missing)
                        + " (or pass a LIFParams)")
    out = {name: float(passed[name]) for name in names}
    check_neuron_values(tau_m=out.get("tau_m"), r_m=out.get("r_m"), v_rest=out.get("v_rest"),
                        v_th=out.get("v_th"), v_reset=out.get("v_reset"),
                        t_ref=out.get("t_ref"))
    return out


def params_hash(data: Any) -> str:
    """SHA-256 (16 hex digits) of a JSON-able value with sorted keys."""
    blob = json.dumps(schema.to_plain(data), sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _as_float_array(values: Any, ndim: int) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != ndim:
        raise ValueError(f"expected a {ndim}-D array, got shape {array.shape}")
    return array


@dataclass(frozen=True, eq=False)
class Trace:
    """A simulated (or recorded) run of one neuron or a population.

    Args:
        t: Sample times (s), shape (T,).
        v: Membrane potential (V), shape (T,) for one neuron or (N, T); may be
            empty (shape (0,)) when membrane recording was off.
        spike_times: Spike times (s), flat, sorted by time within each neuron.
        spike_neurons: Neuron index of each spike (same length); None for one neuron.
        n_neurons: Number of neurons.
        t_stop: End of the simulated interval (s).
        backend: Which realisation produced it: ``golden``, ``ngspice``, ``rtl``,
            ``loihi``, ...
        meta: Provenance and measured extras (``params_hash``, ``lifhw_version``,
            ``tau_s``, ``energy_per_spike_j``, ...).
    """

    t: np.ndarray
    v: np.ndarray
    spike_times: np.ndarray
    t_stop: float
    spike_neurons: np.ndarray | None = None
    n_neurons: int = 1
    backend: str = "golden"
    meta: Mapping[str, Any] = field(default_factory=dict)

    def spikes(self, neuron: int = 0) -> np.ndarray:
        """Spike times (s) of one neuron, sorted."""
        if self.spike_neurons is None:
            if neuron != 0:
                raise IndexError("single-neuron trace has only neuron 0")
            return np.sort(np.asarray(self.spike_times, dtype=float))
        mask = self.spike_neurons == neuron
        return np.sort(np.asarray(self.spike_times, dtype=float)[mask])

    def spike_counts(self) -> np.ndarray:
        """Spike count per neuron, shape (N,)."""
        if self.spike_neurons is None:
            return np.array([len(self.spike_times)])
        return np.bincount(self.spike_neurons, minlength=self.n_neurons)

    def isi(self, neuron: int = 0) -> np.ndarray:
        """Inter-spike intervals (s) of one neuron."""
        return np.diff(self.spikes(neuron))

    def rate_hz(self, neuron: int = 0) -> float:
        """Firing rate (Hz): inverse mean ISI when there are >= 2 spikes, else count/t_stop.

        The inverse mean ISI is the steady-state rate and does not depend on the
        transient before the first spike, which is what f-I comparisons need.
        """
        spikes = self.spikes(neuron)
        if len(spikes) >= 2:
            return float(1.0 / np.mean(np.diff(spikes)))
        return float(len(spikes) / self.t_stop) if self.t_stop > 0 else 0.0

    @property
    def membrane(self) -> np.ndarray:
        """Membrane potential of neuron 0 (V), shape (T,)."""
        return self.v if self.v.ndim == 1 else self.v[0]

    def with_meta(self, **extra: Any) -> Trace:
        """A copy with more provenance/measurement entries."""
        return dataclasses.replace(self, meta={**self.meta, **extra})

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: rate, spike times, count, provenance."""
        out: dict[str, Any] = {
            "backend": self.backend,
            "n_neurons": self.n_neurons,
            "t_stop_s": self.t_stop,
        }
        if self.n_neurons == 1:
            spikes = self.spikes()
            out.update(
                rate_hz=self.rate_hz(),
                n_spikes=len(spikes),
                spike_times_s=[float(s) for s in spikes],
            )
        else:
            counts = self.spike_counts()
            out.update(
                n_spikes=int(counts.sum()),
                mean_rate_hz=float(counts.mean() / self.t_stop) if self.t_stop else 0.0,
            )
        out.update({k: v for k, v in self.meta.items() if _jsonable(v)})
        return out

    def save(self, path: str | Path) -> None:
        """Write the trace as ``.npz`` (atomically)."""
        import io

        from lifhw.io import atomic_write_bytes

        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            t=self.t,
            v=self.v,
            spike_times=self.spike_times,
            spike_neurons=(np.array([], dtype=int) if self.spike_neurons is None
                           else self.spike_neurons),
            has_neurons=self.spike_neurons is not None,
            t_stop=self.t_stop,
            n_neurons=self.n_neurons,
            backend=self.backend,
            meta=json.dumps({k: v for k, v in self.meta.items() if _jsonable(v)}),
        )
        atomic_write_bytes(Path(path), buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            return cls(
                t=data["t"],
                v=data["v"],
                spike_times=data["spike_times"],
                spike_neurons=data["spike_neurons"] if bool(data["has_neurons"]) else None,
                t_stop=float(data["t_stop"]),
                n_neurons=int(data["n_neurons"]),
                backend=str(data["backend"]),
                meta=json.loads(str(data["meta"])),
            )


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
