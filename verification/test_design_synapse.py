"""``lifhw design`` with synapses: the designed neurons' synapses against their specs.

The specs are checked in: ``circuits/design_sky130_lp_synapse.toml`` (the low-power
neuron of ``design_sky130_lp.toml`` with a 5 ms excitatory and a 10 ms inhibitory
synapse of +-0.5 pA; the design the example ``circuits/ota_lif_synapse_sky130_lp.toml``
was generated from) and ``circuits/design_sky130_synapse.toml`` (a sky130 neuron, tau
1 ms, C 2 pF, with 2 ms / 4 ms synapses of +-20 pA). The designed circuit is re-measured
outside the design loop:

* tau_syn and the jump per weight from the synapse's own characterisation (one event,
  ``vm`` held at ``V_L``), against the spec's tau_syn and weight;
* the PSP peaks of the written parameter file through ``lifhw compare``'s PSP metrics
  (:func:`lifhw.analog.flow.psp_metrics`) against the file's nominal golden (the
  designed file's nominal ``[circuit]`` is the spec's neuron, so the golden is the tanh
  neuron with the spec's C, tau, V_L and current synapses), and the linear closed form
  ``w r_m tau_s / (tau_s - tau_m) (exp(-t*/tau_s) - exp(-t*/tau_m))``.

Acceptance (issue 14): tau_syn within 3 %, PSP amplitude within 5 % of the spec.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lifhw.analog import design as d
from lifhw.analog.backends import RunConfig
from lifhw.analog.sky130_synapse import characterise_synapse
from lifhw.params import load
from lifhw.testing import require_tool
from verification.test_analog_synapse import against_nominal

ROOT = Path(__file__).resolve().parents[1]
SPECS = ("design_sky130_lp_synapse.toml", "design_sky130_synapse.toml")


@pytest.fixture(scope="module", params=SPECS)
def designed(request, tmp_path_factory):
    require_tool("ngspice")
    pf = load(ROOT / "circuits" / request.param)
    result = d.design(pf.require("design"), name=pf.name, workers=2, log=print)
    out = tmp_path_factory.mktemp("design_synapse")
    return result, d.write_design(result, out)


def test_designed_synapses_meet_tau_syn_and_jump(designed):
    result, _ = designed
    spec = result.spec
    ch = characterise_synapse("check", result.circuit,
                              weights={"exc": spec.weight_exc, "inh": -spec.weight_inh},
                              config=RunConfig(timeout_s=600))
    for sign, tau in (("exc", spec.tau_syn_exc), ("inh", spec.tau_syn_inh)):
        print(sign, ch.summary())
        assert abs(ch.tau_s[sign] / tau - 1) < 0.03, ch.summary()
        assert abs(ch.jump_per_weight[sign] - 1) < 0.05, ch.summary()
        if spec.topology == "sky130_lp":
            # pA biases at 0.8 V: a few fJ per event, tens of pW static (measured 1.7 fJ,
            # 13 pW); the bounds only guard the order of magnitude.
            assert 0 < ch.energy_per_event_j[sign] < 10e-15
            assert 0 < ch.static_power_w[sign] < 50e-12


def test_designed_file_reproduces_the_spec_psps(designed):
    result, paths = designed
    spec = result.spec
    pf = load(paths["circuit_file"])
    assert pf.stimulus.kind == "spikes"
    assert (pf.circuit.tau_syn_exc, pf.circuit.tau_syn_inh) == (spec.tau_syn_exc,
                                                                 spec.tau_syn_inh)
    _, psps = against_nominal(pf.name, pf.circuit, pf.stimulus)
    r_m = spec.tau_m / spec.membrane_capacitance
    for sign, weight, tau_s in (("exc", spec.weight_exc, spec.tau_syn_exc),
                                ("inh", spec.weight_inh, spec.tau_syn_inh)):
        psp = psps[sign]
        print(sign, psp)
        # The closed form, written out here from the spec.
        if math.isclose(tau_s, spec.tau_m):
            closed = weight * r_m / math.e
        else:
            t_star = spec.tau_m * tau_s * math.log(tau_s / spec.tau_m) / (tau_s - spec.tau_m)
            closed = weight * r_m * tau_s / (tau_s - spec.tau_m) * (
                math.exp(-t_star / tau_s) - math.exp(-t_star / spec.tau_m))
        assert psp["peak_closed_form_v"] == pytest.approx(closed, rel=1e-3)
        assert abs(psp["peak_error"]) < 0.05, psp
        assert abs(psp["peak_v"] / closed - 1) < 0.05, psp
        # The free-membrane decay of the synaptic current (the transconductor's output
        # conductance on vm included): within the 3 % too with the 8 um synapse OTAs.
        assert abs(psp["tau_syn_error"]) < 0.03, psp
    report = json.loads(Path(paths["json"]).read_text())
    assert set(report["synapse"]["signs"]) == {"exc", "inh"}
    assert report["synapse"]["failures"] == []
