"""TrueNorth neuron and mapper against hand-derived cases of Cassidy et al. 2013.

Every expected membrane sequence below is worked out by hand from the paper's
equations (synaptic integration, leak, threshold/fire/reset) and written as a
literal; the stochastic modes are checked against their closed-form
probabilities and against the documented PRNG keys.
"""

from __future__ import annotations

import numpy as np
import pytest

from lifhw.chips import truenorth as tn

BIG = tn.THRESHOLD_MAX


def _one_neuron(**kwargs: object) -> tn.Core:
    params = tn.NeuronParams(n=1, **kwargs)  # type: ignore[arg-type]
    return tn.Core(crossbar=np.ones((1, 1), bool), axon_type=np.zeros(1, int), neurons=params)


def _run(core: tn.Core, ticks: int, v0: int = 0, seed: int = 0,
         spikes: np.ndarray | None = None) -> tuple[list[int], list[int]]:
    axons = np.zeros((ticks, core.crossbar.shape[0]), bool) if spikes is None else spikes
    v, s = tn.run_core(core, axons, seed=seed, v0=v0)
    return v[:, 0].tolist(), np.flatnonzero(s[:, 0]).tolist()


def test_deterministic_synapses_four_axon_types() -> None:
    # Axons 0..3 have types 0..3; neuron weights s = (3, -2, 5, 7); axon 3 not connected.
    params = tn.NeuronParams(n=1, weights=[3, -2, 5, 7], alpha=BIG)
    core = tn.Core(crossbar=np.array([[1], [1], [1], [0]], bool), axon_type=[0, 1, 2, 3],
                   neurons=params)
    spikes = np.array([[1, 1, 1, 1], [0, 1, 0, 0], [1, 0, 1, 0]], bool)
    v, _ = _run(core, 3, spikes=spikes)
    assert v == [6, 4, 12]        # 3-2+5 (+0 for the unconnected axon); -2; +3+5


def test_leak_plain_and_reversal() -> None:
    # epsilon = 0: V += lambda every tick.
    assert _run(_one_neuron(leak=-2, alpha=BIG), 4, v0=10)[0] == [8, 6, 4, 2]
    # epsilon = 1, lambda < 0: toward 0: 10 -> 7 -> 4 -> 1 -> -2 -> 1 -> -2.
    assert _run(_one_neuron(leak=-3, leak_reversal=True, alpha=BIG), 6, v0=10)[0] == \
        [7, 4, 1, -2, 1, -2]
    # epsilon = 1, lambda > 0: away from 0 on both sides; sgn(0) = 0 stops it.
    assert _run(_one_neuron(leak=2, leak_reversal=True, alpha=BIG), 3, v0=1)[0] == [3, 5, 7]
    assert _run(_one_neuron(leak=2, leak_reversal=True, alpha=BIG), 3, v0=-1)[0] == \
        [-3, -5, -7]
    assert _run(_one_neuron(leak=2, leak_reversal=True, alpha=BIG), 2, v0=0)[0] == [0, 0]


def test_reset_modes_positive_threshold() -> None:
    # lambda = +2, alpha = 5, from V = 0: 2, 4, 6 >= 5 spike ...
    to_r = _run(_one_neuron(leak=2, alpha=5, reset=1, reset_mode=tn.RESET_TO_R), 7)
    assert to_r == ([2, 4, 1, 3, 1, 3, 1], [2, 4, 6])
    linear = _run(_one_neuron(leak=2, alpha=5, reset_mode=tn.RESET_LINEAR), 8)
    assert linear == ([2, 4, 1, 3, 0, 2, 4, 1], [2, 4, 7])
    none = _run(_one_neuron(leak=2, alpha=5, reset_mode=tn.RESET_NONE), 5)
    assert none == ([2, 4, 6, 8, 10], [2, 3, 4])


def test_negative_threshold_modes() -> None:
    # lambda = -3, beta = 4, from 0: -3, then -6 < -4 triggers the negative branch.
    sat = _run(_one_neuron(leak=-3, alpha=BIG, beta=4, kappa=True), 4)[0]
    assert sat == [-3, -4, -4, -4]                       # saturate at -beta
    to_r = _run(_one_neuron(leak=-3, alpha=BIG, beta=4, kappa=False, reset=1,
                            reset_mode=tn.RESET_TO_R), 5)[0]
    assert to_r == [-3, -1, -4, -1, -4]                  # -> -R; -4 is not < -4
    linear = _run(_one_neuron(leak=-3, alpha=BIG, beta=4, kappa=False,
                              reset_mode=tn.RESET_LINEAR), 5)[0]
    assert linear == [-3, -2, -1, -4, -3]                # -6+4, -5+4, ..., -7+4
    none = _run(_one_neuron(leak=-3, alpha=BIG, beta=4, kappa=False,
                            reset_mode=tn.RESET_NONE), 3)[0]
    assert none == [-3, -6, -9]


def test_membrane_saturates_at_20_bits() -> None:
    v, _ = _run(_one_neuron(leak=255, alpha=BIG, reset_mode=tn.RESET_NONE), 2,
                v0=tn.V_MAX - 100)
    assert v == [tn.V_MAX, tn.V_MAX]


def test_stochastic_synapse_extremes_and_rate() -> None:
    # |s| = 255 >= rho always: a stochastic synapse then adds sgn(s) = +-1 every spike.
    params = tn.NeuronParams(n=2, weights=[[255, 0, 0, 0], [-255, 0, 0, 0]],
                             stochastic_synapse=[True, False, False, False], alpha=BIG)
    core = tn.Core(crossbar=np.ones((1, 2), bool), axon_type=[0], neurons=params)
    v, _ = tn.run_core(core, np.ones((5, 1), bool), seed=7)
    assert v[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert v[:, 1].tolist() == [-1, -2, -3, -4, -5]
    # |s| = 63: +1 with probability (63 + 1) / 256 = 1/4 per spike.
    n, ticks = 64, 400
    params = tn.NeuronParams(n=n, weights=[63, 0, 0, 0],
                             stochastic_synapse=[True, False, False, False], alpha=BIG)
    core = tn.Core(crossbar=np.ones((1, n), bool), axon_type=[0], neurons=params)
    v, _ = tn.run_core(core, np.ones((ticks, 1), bool), seed=3)
    mean = v[-1].mean() / ticks
    sigma = np.sqrt(0.25 * 0.75 / (ticks * n))
    assert abs(mean - 0.25) < 5 * sigma


def test_stochastic_synapse_follows_documented_prng() -> None:
    s = 100
    params = tn.NeuronParams(n=3, weights=[s, 0, 0, 0],
                             stochastic_synapse=[True, False, False, False], alpha=BIG)
    core = tn.Core(crossbar=np.ones((2, 3), bool), axon_type=[0, 0], neurons=params)
    spikes = np.array([[1, 1], [0, 1], [1, 0]], bool)
    v, _ = tn.run_core(core, spikes, seed=11)
    expected = np.zeros(3, dtype=np.int64)
    for t in range(3):
        for axon in np.flatnonzero(spikes[t]):
            for j in range(3):
                rho = int(tn.prng(11, tn.STREAM_SYNAPSE, t, axon, j)) & 0xFF
                expected[j] += 1 if s >= rho else 0
        assert v[t].tolist() == expected.tolist()


def test_stochastic_leak_rate() -> None:
    # lambda = 64, c = 1: +1 with probability 65/256 per tick.
    n, ticks = 50, 400
    core = tn.Core(crossbar=np.zeros((1, n), bool), axon_type=[0],
                   neurons=tn.NeuronParams(n=n, leak=64, stochastic_leak=True, alpha=BIG))
    v, _ = tn.run_core(core, np.zeros((ticks, 1), bool), seed=5)
    p = 65 / 256
    assert abs(v[-1].mean() / ticks - p) < 5 * np.sqrt(p * (1 - p) / (ticks * n))
    assert np.all(np.diff(v, axis=0) >= 0) and np.all(np.diff(v, axis=0) <= 1)


def test_stochastic_leak_with_reversal() -> None:
    # |lambda| = 255 >= rho always: each tick adds Omega sgn(lambda) = -sgn(V).
    core = tn.Core(crossbar=np.zeros((1, 2), bool), axon_type=[0],
                   neurons=tn.NeuronParams(n=2, leak=-255, stochastic_leak=True,
                                           leak_reversal=True, alpha=BIG))
    v, _ = tn.run_core(core, np.zeros((4, 1), bool), seed=1, v0=[3, -2])
    assert v[:, 0].tolist() == [2, 1, 0, 0]
    assert v[:, 1].tolist() == [-1, 0, 0, 0]


def test_stochastic_threshold_mask() -> None:
    # No reset, V held at alpha + 3: spike iff eta = rho & 7 <= 3, probability 1/2.
    n, ticks, alpha = 40, 300, 100
    core = tn.Core(crossbar=np.zeros((1, n), bool), axon_type=[0],
                   neurons=tn.NeuronParams(n=n, alpha=alpha, mask_bits=3,
                                           reset_mode=tn.RESET_NONE))
    v, s = tn.run_core(core, np.zeros((ticks, 1), bool), seed=9, v0=alpha + 3)
    assert np.all(v == alpha + 3)
    assert abs(s.mean() - 0.5) < 5 * np.sqrt(0.25 / (n * ticks))
    for t in range(5):   # exactly the documented draws
        eta = tn.prng(9, tn.STREAM_THRESHOLD, t, np.arange(n)).astype(np.int64) & 7
        assert s[t].tolist() == (eta <= 3).tolist()


def test_stochastic_negative_threshold_without_saturation() -> None:
    # kappa = 0: the floor is -(beta + eta); linear mode adds beta + eta back.
    core = tn.Core(crossbar=np.zeros((1, 1), bool), axon_type=[0],
                   neurons=tn.NeuronParams(n=1, alpha=BIG, beta=10, kappa=False,
                                           mask_bits=2, reset_mode=tn.RESET_LINEAR))
    v, _ = tn.run_core(core, np.zeros((1, 1), bool), seed=2, v0=-20)
    eta = int(tn.prng(2, tn.STREAM_THRESHOLD, 0, 0)) & 3
    assert v[0, 0] == -20 + 10 + eta


def test_prng_is_keyed_not_sequential() -> None:
    a = tn.prng(1, 0, 5, np.arange(10)[:, None], np.arange(4)[None, :])
    b = np.array([[int(tn.prng(1, 0, 5, i, j)) for j in range(4)] for i in range(10)],
                 dtype=np.uint64)
    assert np.array_equal(a.astype(np.uint64), b.astype(np.uint64))
    assert len(np.unique(a)) == 40
    assert not np.array_equal(tn.prng(1, 0, 5, 0), tn.prng(2, 0, 5, 0))


def test_parameter_validation() -> None:
    with pytest.raises(Exception, match="reset_mode"):
        tn.NeuronParams(n=1, reset_mode=3)
    with pytest.raises(Exception, match="mask_bits"):
        tn.NeuronParams(n=1, mask_bits=18)
