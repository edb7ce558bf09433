"""Run a lifhw network on NEST 3.x with the golden engine's conventions.

Mapping (NEST units: ms, mV, pA, pF; NEST models ``iaf_psc_exp`` and
``iaf_psc_delta``, which integrate exactly on the grid like the golden engine):

* A population with current synapses is ``iaf_psc_exp`` with ``C_m = tau_m / r_m``,
  ``E_L = v_rest``, ``V_th``, ``V_reset``, ``tau_syn_ex/in``, ``I_e = bias`` per
  neuron and ``t_ref = round(t_ref / dt) dt`` (NEST counts ``t_ref / dt`` frozen
  steps after a spike, as the golden engine does). A population with delta
  synapses (both synaptic taus 0) is ``iaf_psc_delta`` (input during the
  refractory period discarded, NEST's default ``refractory_input = False``).
  One delta and one current synapse on the same neuron has no NEST model and is
  refused.
* Delays. The golden engine applies a spike of step ``s`` sent with
  ``delay_steps = d`` at the *start* of step ``s + d``; NEST applies a spike
  stamped ``(s + 1) dt`` with delay ``D`` at the *end* of step ``s + D``.
  - Current synapses: the start of step ``s + d`` is the end of ``s + d - 1``,
    so ``D = (d - 1) dt`` and the currents are the same on the grid. NEST's
    minimum delay is one step: ``d = 1`` is sent with ``D = dt`` (one step
    later than golden) and counted in ``meta["delay_shifted_synapses"]``.
  - Delta synapses: golden adds the jump ``w`` and then lets V decay over the
    step; NEST adds the jump after the decay. With ``D = d dt`` and weight
    ``w exp(-dt / tau_m)`` V is the same at every step end (the only place
    either checks the threshold).
* Input populations are ``spike_generator`` nodes (one per source) emitting
  at ``(step + 1) dt``, the stamp of a spike of that step.

Rasters agree with the golden engine up to floating-point summation order: a
neuron whose V ends a step within rounding (~1e-15 V) of threshold may differ.

Large networks and clusters: NEST distributes the same script over MPI ranks
(``mpirun -np 64 python net.py``); see ``docs/networks.md`` for the command.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from lifhw.errors import ParamError, ToolMissingError
from lifhw.golden.event_engine import (
    EventRun,
    SpikeEvents,
    csr_and_delays,
    input_events,
)
from lifhw.network.types import Network, Population

INSTALL = "pip install 'lifhw[nest]' (NEST 3.10: pip install nest-simulator==3.10.0)"


def import_nest() -> Any:
    """The ``nest`` module, quiet; ToolMissingError naming the install command."""
    # NEST prints a banner on import unless told not to (it would corrupt --json).
    os.environ.setdefault("PYNEST_QUIET", "1")
    # NEST's wheel bundles its own OpenMP runtime. Starting numba's OpenMP thread
    # pool (the golden engine's) after NEST is loaded crashes the process; started
    # first, both live side by side.
    import numba

    numba.get_num_threads()
    try:
        import nest
    except ImportError as err:
        raise ToolMissingError(f"NEST is not installed ({err}); {INSTALL}") from None
    return nest


def model_of(pop: Population) -> str:
    """NEST model name of a population (see the module docstring)."""
    p = pop.neuron
    if pop.delta_synapses:
        return "iaf_psc_delta"
    if p.tau_syn_exc > 0 and p.tau_syn_inh > 0:
        return "iaf_psc_exp"
    raise ParamError("NEST has no LIF model with one delta and one current synapse "
                     f"(tau_syn_exc {p.tau_syn_exc:g} s, tau_syn_inh {p.tau_syn_inh:g} s)",
                     path=f"populations.{pop.name}")


def neuron_params(pop: Population, dt: float) -> dict[str, Any]:
    """NEST parameters (ms, mV, pF) shared by a population (bias and V_m go per neuron)."""
    p = pop.neuron
    params = {
        "C_m": p.tau_m / p.r_m * 1e12,
        "tau_m": p.tau_m * 1e3,
        "E_L": p.v_rest * 1e3,
        "V_th": p.v_th * 1e3,
        "V_reset": p.v_reset * 1e3,
        "t_ref": round(p.t_ref / dt) * dt * 1e3,
    }
    if model_of(pop) == "iaf_psc_exp":
        params["tau_syn_ex"] = p.tau_syn_exc * 1e3
        params["tau_syn_in"] = p.tau_syn_inh * 1e3
    return params


def synapse_arrays(network: Network, proj: Any) -> dict[str, np.ndarray]:
    """Pre/post indices, NEST weights and delays (ms) of one projection.

    Returns:
        ``pre``, ``post`` (indices in their populations), ``weight`` (pA or mV),
        ``delay`` (ms), and ``shifted`` (bool: asked for less than NEST's minimum).
    """
    dt = network.dt
    post = network.population(proj.post)
    csr, delays = csr_and_delays(proj)
    rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    steps = np.full(csr.nnz, proj.delay_steps, dtype=np.int64) if delays is None else delays
    if model_of(post) == "iaf_psc_delta":
        weight = csr.data * 1e3 * math.exp(-dt / post.neuron.tau_m)
        nest_steps = steps
        shifted = np.zeros(csr.nnz, dtype=bool)
    else:
        weight = csr.data * 1e12
        shifted = steps < 2
        nest_steps = np.maximum(steps - 1, 1)
    return {"pre": csr.indices.astype(np.int64), "post": rows, "weight": weight,
            "delay": nest_steps * dt * 1e3, "shifted": shifted}


def run_nest(network: Network, input_spikes: Any, *, threads: int = 2,
             v_init: Mapping[str, np.ndarray] | None = None, record: bool = True,
             ) -> EventRun:
    """Simulate a network on NEST (in this process; the kernel is reset first).

    Args:
        network: The network (dense or sparse projections).
        input_spikes: As for :func:`lifhw.golden.event_engine.simulate_events`.
        threads: NEST's ``local_num_threads``.
        v_init: Initial V per population (V); default ``Population.v_init`` or v_rest.
        record: Record spikes (a ``spike_recorder`` per population).

    Returns:
        An :class:`~lifhw.golden.event_engine.EventRun` with backend ``nest``;
        ``meta`` holds the NEST version, build and simulation seconds.
    """
    nest = import_nest()
    dt = network.dt
    in_steps, in_idx, n_steps = input_events(network, input_spikes)
    started = time.perf_counter()
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": dt * 1e3, "local_num_threads": int(threads),
                          "print_time": False})
    nodes: dict[str, Any] = {}
    first_id: dict[str, int] = {}
    start = 0
    for src in network.inputs:
        sel = (in_idx >= start) & (in_idx < start + src.size)
        times = np.round((in_steps[sel] + 1) * dt * 1e3, 9)
        idx = in_idx[sel] - start
        order = np.argsort(idx, kind="stable")
        bounds = np.searchsorted(idx[order], np.arange(src.size + 1))
        gens = nest.Create("spike_generator", src.size)
        per = [{"spike_times": times[order][bounds[i]:bounds[i + 1]].tolist()}
               for i in range(src.size)]
        if per:
            gens.set(per)
        nodes[src.name] = gens
        first_id[src.name] = int(gens.tolist()[0])
        start += src.size
    recorders = {}
    for pop in network.populations:
        model = model_of(pop)
        cells = nest.Create(model, pop.size, params=neuron_params(pop, dt))
        v0 = pop.v_init if v_init is None or pop.name not in v_init else v_init[pop.name]
        v0 = np.full(pop.size, pop.neuron.v_rest) if v0 is None else np.asarray(v0, float)
        cells.set({"I_e": (pop.bias * 1e12).tolist(), "V_m": (v0 * 1e3).tolist()})
        nodes[pop.name] = cells
        first_id[pop.name] = int(cells.tolist()[0])
        if record:
            rec = nest.Create("spike_recorder")
            nest.Connect(cells, rec)
            recorders[pop.name] = rec
    shifted = 0
    for proj in network.projections:
        syn = synapse_arrays(network, proj)
        if syn["pre"].size == 0:
            continue
        shifted += int(syn["shifted"].sum())
        nest.Connect(syn["pre"] + first_id[proj.pre], syn["post"] + first_id[proj.post],
                     conn_spec="one_to_one",
                     syn_spec={"synapse_model": "static_synapse",
                               "weight": syn["weight"], "delay": syn["delay"]})
    built = time.perf_counter()
    nest.Simulate(n_steps * dt * 1e3)
    finished = time.perf_counter()
    spikes = {}
    for pop in network.populations:
        if pop.name not in recorders:
            continue
        ev = recorders[pop.name].get("events")
        steps = np.rint(np.asarray(ev["times"]) / (dt * 1e3)).astype(np.int64) - 1
        neurons = np.asarray(ev["senders"], dtype=np.int64) - first_id[pop.name]
        order = np.lexsort((neurons, steps))
        spikes[pop.name] = SpikeEvents(steps[order], neurons[order], pop.size, n_steps)
    n_spikes = int(sum(s.steps.size for s in spikes.values()))
    return EventRun(dt=dt, n_steps=n_steps, spikes=spikes, backend="nest",
                    events={"spikes": n_spikes,
                            "neuron_updates": n_steps * network.n_neurons},
                    seconds=finished - built,
                    meta={"nest_version": nest.__version__, "build_seconds": built - started,
                          "threads": int(threads), "delay_shifted_synapses": shifted,
                          "convention": "grid"})
