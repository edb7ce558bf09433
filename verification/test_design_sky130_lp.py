"""``lifhw design`` of the low-power neuron (sky130_lp) against the spec's golden model.

Specs: the checked-in ``circuits/design_sky130_lp.toml`` (tau 10 ms, C 0.2 pF, t_ref
2 ms, 50 mV threshold, 0.8 V, accurate up to 300 Hz), the design the example
``circuits/ota_lif_sky130_lp.toml`` was generated from, and two opposite corners of the
topology's box tau in [1 ms, 50 ms] x refractory in [0.1 ms, 5 ms] (1 ms with 0.1 ms,
50 ms with 5 ms; the other two take 2-4 min each and are measured in
docs/analog_sky130_lp.md). As in ``verification/test_design.py`` the
designed circuit is re-measured with the characterisation code, not with the design
loop's own measurements, and with the same estimators: tau from the leak step
(:func:`lifhw.analog.characterise.leak_step`), ISIs from
:func:`lifhw.analog.characterise.isi_at` at 1.5x, 3x, 10x the spec's rheobase and at
the max-rate current, threshold and refractory period from the two-current calibration
(:func:`lifhw.analog.sky130.calibrate_threshold_and_delay`, exact at 1.5x and 10x), or
from the waveform where the refractory period is below 1 % of every ISI; against an
:class:`~lifhw.golden.ota.OTANeuron` written out from the spec alone. The least-squares
fit over the four currents (the definition in docs/design.md,
:func:`lifhw.analog.design.fit_threshold_and_refractory`) must hold too.
Acceptance (issue 12): tau 2 %, refractory 2 % or 0.5 us, threshold 1 mV, ISI 2 %; and
the topology's energy target, <= 200 fJ per spike at 100 Hz with static power included
(:func:`lifhw.analog.sky130_lp.energy_budget`), on the example.
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
from verification.test_design import dead_time, referee

ROOT = Path(__file__).resolve().parents[1]
SPEC_FILE = ROOT / "circuits" / "design_sky130_lp.toml"
CONFIG = backends.RunConfig(timeout_s=600.0, retries=1, spiceinit=models.SPICEINIT_COMMANDS)

#: Spec files: the example's and two opposite corners of the topology's box, the two
#: that design fastest (tau = 1 ms, C = 0.2 pF, t_ref = 0.1 ms up to 2 kHz: ~30 s;
#: tau = 50 ms, C = 1 pF, t_ref = 5 ms up to 50 Hz: ~60 s).
SPECS = {"example": SPEC_FILE,
         "box_1ms_100us": ROOT / "circuits" / "design_sky130_lp_box_1ms_100us.toml",
         "box_50ms_5ms": ROOT / "circuits" / "design_sky130_lp_box_50ms_5ms.toml"}

_RESULTS: dict[str, d.DesignResult] = {}


def designed(name: str) -> d.DesignResult:
    if name not in _RESULTS:
        require_tool("ngspice")
        pf = load(SPECS[name])
        _RESULTS[name] = d.design(pf.require("design"), name=pf.name, workers=2, log=print)
    return _RESULTS[name]


@pytest.mark.parametrize("name", list(SPECS))
def test_designed_sky130_lp_realises_the_spec(name):
    result = designed(name)
    spec, circuit, name = result.spec, result.circuit, result.name
    gold = referee(spec)
    tau, _, _ = characterise.leak_step(name, circuit)
    lines = [f"{name}: tau {tau * 1e3:.5g} ms vs {spec.tau_m * 1e3:.5g} ms "
             f"({(tau / spec.tau_m - 1) * 100:+.2f} %)"]
    currents = {f"{m:g}x": m * gold.rheobase for m in (1.5, 3.0, 10.0)}
    currents["max_rate"] = d.max_rate_current(gold, spec.max_rate)
    isis, widths, outs = {}, [], {}
    for label, current in currents.items():
        expected = float(ota_isi(current, gold))
        isi, width, out = characterise.isi_at(name, circuit, current, n_isi=3,
                                              isi_guess=expected, max_step=expected / 1000,
                                              config=CONFIG)
        isis[label] = isi
        widths.append(width)
        outs[label] = out
        lines.append(f"  ISI {label}: {isi * 1e3:.5g} ms vs golden {expected * 1e3:.5g} ms "
                     f"({(isi / expected - 1) * 100:+.2f} %)")
    shortest = min(float(ota_isi(i, gold)) for i in currents.values())
    if spec.refractory >= d.RESOLVABLE_REFRACTORY * shortest:
        # The estimator of verification/test_design.py: two currents, 1.5x and 10x.
        v_th, t_ref = sky130.calibrate_threshold_and_delay(
            gold, [currents["1.5x"], currents["10x"]], [isis["1.5x"], isis["10x"]],
            sum(widths) / len(widths))
        how = "two-current calibration"
    else:
        t_ref = float(np.mean([dead_time(outs[k], circuit, spec.v_threshold)
                               for k in currents]))
        v_th = float(np.mean([characterise.solve_threshold(isis[k], currents[k],
                                                           gold.replace(t_ref=t_ref))
                              for k in currents]))
        how = "waveform"
    # The definition of docs/design.md: least squares over the four currents.
    v_fit, t_fit = d.fit_threshold_and_refractory(gold, list(currents.values()),
                                                  list(isis.values()))
    lines.append(f"  V_th,eff {v_th * 1e3:.3f} mV, t_ref {t_ref * 1e3:.5g} ms "
                 f"({(t_ref / spec.refractory - 1) * 100:+.2f} %, {how}); four-current fit "
                 f"{v_fit * 1e3:.3f} mV, {t_fit * 1e3:.5g} ms "
                 f"({(t_fit / spec.refractory - 1) * 100:+.2f} %); candidate "
                 f"{result.candidate}; {result.energy_per_spike_j * 1e15:.4g} fJ/spike at 3x "
                 f"rheobase, {result.area_um2:.4g} um^2, {result.simulations} simulations, "
                 f"{result.seconds:.0f} s")
    print("\n" + "\n".join(lines))
    tolerance_t = max(0.02 * spec.refractory, 0.5e-6)
    assert tau == pytest.approx(spec.tau_m, rel=0.02)
    for label, current in currents.items():
        assert isis[label] == pytest.approx(float(ota_isi(current, gold)), rel=0.02), label
    assert abs(v_th - spec.v_threshold) <= 1e-3
    assert abs(t_ref - spec.refractory) <= tolerance_t
    assert abs(v_fit - spec.v_threshold) <= 1e-3
    assert abs(t_fit - spec.refractory) <= tolerance_t


def test_designed_sky130_lp_spends_at_most_200_fj_per_spike_at_100_hz():
    result = designed("example")
    circuit = result.circuit
    gold = referee(result.spec)
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
