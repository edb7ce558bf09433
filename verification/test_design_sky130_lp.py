"""``lifhw design`` of the low-power neuron (sky130_lp) against the spec's golden model.

The spec is the checked-in ``circuits/design_sky130_lp.toml`` (tau 10 ms, C 0.2 pF,
t_ref 2 ms, 50 mV threshold, 0.8 V, accurate up to 300 Hz), the design the example
``circuits/ota_lif_sky130_lp.toml`` was generated from. As in
``verification/test_design.py`` the designed circuit is re-measured with the
characterisation code, not with the design loop's own measurements: tau from the leak
step (:func:`lifhw.analog.characterise.leak_step`), ISIs from
:func:`lifhw.analog.characterise.isi_at` at 1.5x, 3x, 10x the spec's rheobase and at
the max-rate current, threshold and refractory period as the acceptance defines them
(least squares over the four currents, :func:`lifhw.analog.sky130_lp.fit_threshold_and_delay`,
the fit of the sky130_lp characterisation), against an
:class:`~lifhw.golden.ota.OTANeuron` written out from the spec alone.
Acceptance (issue 12): tau 2 %, refractory 2 % or 0.5 us, threshold 1 mV, ISI 2 %; and
the topology's energy target, <= 200 fJ per spike at 100 Hz with static power included
(:func:`lifhw.analog.sky130_lp.energy_budget`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifhw.analog import backends, characterise, models, sky130, sky130_lp
from lifhw.analog import design as d
from lifhw.analog import netlist as nl
from lifhw.golden.ota import ota_isi
from lifhw.params import load
from lifhw.stimulus import Stimulus
from lifhw.testing import require_tool
from verification.test_design import referee

ROOT = Path(__file__).resolve().parents[1]
SPEC_FILE = ROOT / "circuits" / "design_sky130_lp.toml"
CONFIG = backends.RunConfig(timeout_s=600.0, retries=1, spiceinit=models.SPICEINIT_COMMANDS)


@pytest.fixture(scope="module")
def designed():
    require_tool("ngspice")
    pf = load(SPEC_FILE)
    return d.design(pf.require("design"), name=pf.name, workers=2, log=print)


def test_designed_sky130_lp_realises_the_spec(designed):
    spec, circuit, name = designed.spec, designed.circuit, designed.name
    gold = referee(spec)
    tau, _, _ = characterise.leak_step(name, circuit)
    lines = [f"{name}: tau {tau * 1e3:.5g} ms vs {spec.tau_m * 1e3:.5g} ms "
             f"({(tau / spec.tau_m - 1) * 100:+.2f} %)"]
    currents = {f"{m:g}x": m * gold.rheobase for m in (1.5, 3.0, 10.0)}
    currents["max_rate"] = d.max_rate_current(gold, spec.max_rate)
    isis, widths = {}, []
    for label, current in currents.items():
        expected = float(ota_isi(current, gold))
        isi, width, _ = characterise.isi_at(name, circuit, current, n_isi=3,
                                            isi_guess=expected, max_step=expected / 1000,
                                            config=CONFIG)
        isis[label] = isi
        widths.append(width)
        lines.append(f"  ISI {label}: {isi * 1e3:.5g} ms vs golden {expected * 1e3:.5g} ms "
                     f"({(isi / expected - 1) * 100:+.2f} %)")
    # The acceptance's definition (docs/design.md): least squares of the relative ISI
    # errors over the four currents (the sky130_lp characterisation's fit).
    v_th, t_ref = sky130_lp.fit_threshold_and_delay(
        gold, list(currents.values()), list(isis.values()), sum(widths) / len(widths))
    # For comparison, the two-current calibration (exact at 1.5x and 10x) weights the
    # extremes of the comparator's slope-dependent latency: reported, not asserted.
    v_two, t_two = sky130.calibrate_threshold_and_delay(
        gold, [currents["1.5x"], currents["10x"]], [isis["1.5x"], isis["10x"]],
        sum(widths) / len(widths))
    lines.append(f"  two-current calibration: V_th,eff {v_two * 1e3:.3f} mV, "
                 f"t_ref {t_two * 1e3:.5g} ms ({(t_two / spec.refractory - 1) * 100:+.2f} %)")
    lines.append(f"  V_th,eff {v_th * 1e3:.3f} mV, t_ref {t_ref * 1e3:.5g} ms "
                 f"({(t_ref / spec.refractory - 1) * 100:+.2f} %, four-current fit); "
                 f"comparator ratio {circuit.sky130_lp.comparator_ratio:g}; "
                 f"{designed.energy_per_spike_j * 1e15:.4g} fJ/spike at 3x rheobase, "
                 f"{designed.area_um2:.4g} um^2, {designed.simulations} simulations, "
                 f"{designed.seconds:.0f} s")
    print("\n" + "\n".join(lines))
    assert tau == pytest.approx(spec.tau_m, rel=0.02)
    for label, current in currents.items():
        assert isis[label] == pytest.approx(float(ota_isi(current, gold)), rel=0.02), label
    assert abs(v_th - spec.v_threshold) <= 1e-3
    assert abs(t_ref - spec.refractory) <= max(0.02 * spec.refractory, 0.5e-6)


def test_designed_sky130_lp_spends_at_most_200_fj_per_spike_at_100_hz(designed):
    circuit = designed.circuit
    gold = referee(designed.spec)
    current = d.max_rate_current(gold, 100.0)
    stimulus = Stimulus(kind="constant", amplitude=current, t_stop=0.085, dt=0.085 / 500)
    text = nl.generate("vlp_designed", circuit, stimulus)
    out = backends.get_backend("batch", backends.default_config(circuit, CONFIG)).run(text)
    spikes = backends.rising_crossings(out["time"], out["v(spike)"], nl.spike_level(circuit))
    assert len(spikes) >= 6
    rate = 1.0 / np.mean(np.diff(spikes[1:]))
    budget = sky130_lp.energy_budget(out, circuit, spikes[1], spikes[-1])
    per_spike = {k: v / (len(spikes) - 2) for k, v in budget.items()}
    print(f"\n100 Hz: {rate:.2f} Hz; energy per spike (fJ): "
          + ", ".join(f"{k} {v * 1e15:.2f}" for k, v in per_spike.items()))
    # the designed neuron fires at the golden model's 100 Hz (ISI 2 %)
    assert rate == pytest.approx(100.0, rel=0.02)
    assert per_spike["supply"] <= 200e-15
