"""SpiNNaker's on-chip constants, derived by hand from the sources of a named release.

Sources (read, not copied): sPyNNaker 7.3 ``neural_modelling/src/common/maths-util.h``
(``kdivk(a, b) = kbits(udiv64(bitsk(a) << 15, bitsk(b)))``, a truncating division),
``neuron/synapse_types/exp_synapse_utils.h::decay_and_init`` (``decay =
expulr(-kdivk(ts, tau))``, ``init = decay_s1615_to_u032(kdivk(tau, ts), 1.0ulr -
decay)``), ``neuron/models/neuron_model_lif_impl.h::neuron_model_initialise``
(``exp_TC = expk(-kdivk(ts, tau_m))``, ``R = kdivk(tau_m, c_m)``, ``T_refract =
lif_ceil_accum(kdivk(T_refract_ms, ts))``); spinn_common 7.3.0 ``src/stdfix-exp.c``
(``expk``/``expulr``: integer part from a table of ``e^z 2**32``, the fraction as
``(1 - m_k)(1 - s(x))`` with ``m_k = 1 - e^{-k/16}`` and a quadratic ``s``, products
by ``scale64``) and ``include/utils.h`` (``scale64``, ``round64``).

Every expected integer below was worked out step by step from those definitions
(intermediate values in the comments), independently of ``lifhw.chips.spinnaker``.
"""

from __future__ import annotations

import math

import mpmath
import pytest

import lifhw.chips.spinnaker as sp


def test_tables_match_the_published_entries() -> None:
    # spinn_common src/stdfix-exp.c: __exp_hi[12] = 1580030169 (e^-1), [13] = 2**32;
    # __expm1_mid[1] = 260218914, [3] = 734314346, [15] = 2613033936 ((1 - e^-k/16) 2**32).
    assert sp._EXP_INT_U3232[12] == 1580030169
    assert sp._EXP_INT_U3232[13] == 4294967296
    assert sp._EXPM1_SIXTEENTH_U032[1] == 260218914
    assert sp._EXPM1_SIXTEENTH_U032[3] == 734314346
    assert sp._EXPM1_SIXTEENTH_U032[15] == 2613033936
    assert sp._EXP_SERIES == (5294, 4293434720, 2081624032)


def test_synaptic_decay_5ms_at_1ms_step_by_step() -> None:
    # ts = bits(1.0) = 32768, tau = bits(5.0) = 163840.
    # kdivk(ts, tau) = floor(32768 * 2**15 / 163840) = floor(6553.6) = 6553.
    assert sp.kdivk(32768, 163840) == 6553
    # exp(-6553 / 2**15): z = -1, f = 26215 -> z = 0, f = 32768 - 26215 = 6553.
    # e^0 = 2**32; k = 6553 >> 11 = 3: 2**32 - scale64(2**32, 734314346) = 3560652950.
    # x = 6553 & 0x7FF = 409, y = 409 << 17 = 53608448;
    # quadratic: inner = 4293434720 - floor(2081624032 y / 2**32) = 4267452536,
    # s = floor(inner y / 2**32) + 5294 = 53270311;
    # scale64(3560652950, 53270311) = 44162639 (rounded high word);
    # 3560652950 - 44162639 = 3516490311.
    assert sp.exp_u3232(-6553) == 3516490311
    assert sp.exp_decay_u032(1.0, 5.0) == 3516490311
    # The double-precision value rounded once is 3516421809: 68502 LSB away.
    assert round(math.exp(-0.2) * 2**32) == 3516421809
    # init = (kdivk(tau, ts) * (0xFFFFFFFF - decay)) >> 15, kdivk(163840, 32768) = 5 * 2**15.
    assert sp.init_u032(1.0, 5.0) == (5 * 2**15 * (0xFFFFFFFF - 3516490311)) >> 15


def test_membrane_constants_step_by_step() -> None:
    # tau_m = 20 ms, dt = 1 ms: kdivk(32768, 655360) = floor(1638.4) = 1638;
    # f = 1638, k = 0 (no 1/16 step), y = 1638 << 17 = 214695936, s = 209423100,
    # 2**32 - 209423100 = 4085544196; expk = 4085544196 >> 17 = 31170.
    assert sp.exp_tc_s1615(1.0, 20.0) == 31170
    # dt = 0.1 ms is written as bits(0.1) = round(3276.8) = 3277 (0.100006 ms):
    # kdivk(3277, 655360) = floor(163.85) = 163; y = 163 << 17 = 21364736,
    # s = 21310898, 2**32 - 21310898 = 4273656398 >> 17 = 32605.
    assert sp.timestep_bits(0.1) == 3277
    assert sp.exp_tc_s1615(0.1, 20.0) == 32605
    # R = kdivk(tau_m, c_m): 20 ms / 0.3 nF, bits(0.3) = 9830:
    # floor(655360 * 2**15 / 9830) = 2184622 (66.6693 MOhm, not 66.6667 rounded).
    assert sp.r_membrane_s1615(20.0, 0.3) == 2184622
    # T_refract: 2 ms at 0.1 ms: kdivk(65536, 3277) = 655320 = 19.9988 -> ceil 20;
    # 0.3 ms at 0.1 ms: kdivk(9830, 3277) = 98294 = 2.9997 -> ceil 3.
    assert sp.t_refract_steps(2.0, 0.1) == 20
    assert sp.t_refract_steps(0.3, 0.1) == 3


@pytest.mark.parametrize("n", [-1, -163, -1638, -6553, -22713, -32768, -50000, -200000])
def test_chip_exp_is_close_to_mpmath(n: int) -> None:
    # An independent bound: spinn_common's exp is a table-plus-quadratic approximation,
    # good to ~2e-5 relative (not correctly rounded, which is why the constants differ).
    exact = mpmath.exp(mpmath.mpf(n) / 2**15) * 2**32
    assert abs(sp.exp_u3232(n) - exact) / exact < 3e-5


def test_quantize_uses_the_chip_constants() -> None:
    from lifhw.core import LIFParams
    from lifhw.network import InputPopulation, Network, Population

    neuron = LIFParams(tau_m=0.020, r_m=2e7, v_rest=-0.065, v_th=-0.050, v_reset=-0.065,
                       t_ref=0.002, tau_syn_exc=0.005, tau_syn_inh=0.005)
    network = Network("one", (InputPopulation("in", 1),), (Population("p", 1, neuron),), (),
                      1e-3)
    config = sp.quantize(sp.map(network))
    params = config.neurons["p"]
    assert int(params.exc_decay[0]) == 3516490311
    assert int(params.exp_tc[0]) == 31170
