"""BrainScaleS-2: the membrane floor, where the emulation leaves the golden model.

With zero fixed-pattern noise the emulation equals ``simulate_network(dequantize(config))``
spike for spike *while the membrane stays inside the window*; when inhibition drives it
to ``V_MIN`` it clips there (the float LIF has no floor). The run reports those steps
(``meta['clipped_steps']``) and the ``membrane_headroom`` rule warns beforehand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lifhw.chips import brainscales as bs
from lifhw.core import LIFParams
from lifhw.golden.network import simulate_network
from lifhw.network import InputPopulation, Network, Population, Projection, load_experiment

ROOT = Path(__file__).resolve().parents[1]


def _run_both(network: Network, spikes: np.ndarray) -> tuple[bool, int, bool]:
    config = bs.quantize(bs.map(network, spread=0.0, calibrated=False))
    run = bs.simulate(config, spikes)
    golden = simulate_network(bs.dequantize(config), spikes)
    equal = all(np.array_equal(run.spikes[k], golden.spikes[k]) for k in run.spikes)
    warned = any(v.rule == "membrane_headroom" for v in bs.check(config))
    return equal, sum(run.meta["clipped_steps"].values()), warned


def test_ei_small_clips_and_is_reported() -> None:
    network, spikes = load_experiment(ROOT / "circuits" / "networks" / "ei_small.toml")
    equal, clipped, warned = _run_both(network, spikes)
    assert not equal  # the documented exception
    assert clipped > 0
    assert warned


def _random_network(seed: int) -> tuple[Network, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_exc, n_inh, n_in = (int(x) for x in rng.integers((10, 4, 10), (40, 16, 40)))
    neuron = LIFParams(tau_m=float(rng.uniform(10e-3, 30e-3)), r_m=1e8, v_rest=-0.065,
                       v_th=-0.050, v_reset=float(rng.uniform(-0.070, -0.060)),
                       t_ref=2e-3, tau_syn_exc=float(rng.uniform(2e-3, 8e-3)),
                       tau_syn_inh=float(rng.uniform(2e-3, 8e-3)))
    inh_gain = float(rng.uniform(0.0, 0.6))  # from negligible to strong inhibition
    projections = (
        Projection("in", "exc", rng.uniform(0, 0.6e-9, (n_exc, n_in))),
        Projection("in", "inh", rng.uniform(0, 0.6e-9, (n_inh, n_in))),
        Projection("exc", "inh", rng.uniform(0, 0.4e-9, (n_inh, n_exc))),
        Projection("inh", "exc", -inh_gain * rng.uniform(0, 0.5e-9, (n_exc, n_inh))),
    )
    network = Network(
        f"random{seed}", (InputPopulation("in", n_in),),
        (Population("exc", n_exc, neuron, bias=rng.uniform(0.05e-9, 0.15e-9, n_exc)),
         Population("inh", n_inh, neuron)), projections, 1e-3)
    spikes = rng.random((500, n_in)) < 0.03
    return network, spikes


def test_random_networks_equal_golden_unless_clipped() -> None:
    outcomes = [_run_both(*_random_network(seed)) for seed in range(30)]
    differ = [o for o in outcomes if not o[0]]
    # Every run that differs from the golden model clipped, and said so.
    assert all(clipped > 0 for _, clipped, _ in differ)
    # Both kinds occur in this sample (the test would be empty otherwise).
    assert 0 < len(differ) < 30
    assert any(equal and clipped == 0 for equal, clipped, _ in outcomes)
    # The static rule flags every network whose membrane reached the floor by a volley
    # it can see; it never stays silent on all of the clipping ones.
    assert any(warned for _, clipped, warned in outcomes if clipped > 0)
