"""BrainScaleS-2: analog LIF neurons in accelerated time, CapMem parameters, 6-bit synapses.

BrainScaleS-2 (HICANN-X; J. Schemmel et al.; C. Pehle et al., Front. Neurosci.
16:795876, 2022; S. Billaudelle et al., "An accurate and flexible analog
emulation of AdEx neuron dynamics in silicon", ICECS 2022) emulates LIF
dynamics physically on membrane capacitors, 1000x faster than biology. One chip
has 512 neuron circuits and a 256-row x 512-column synapse array; each row is
driven by one source and is either excitatory or inhibitory, so a signed
connection uses a pair of rows. Synapse weights are 6-bit (0..63). Analog
parameters come from the on-chip capacitive memory (CapMem): 10-bit cells
(codes 0..1022) giving voltages or bias currents.

**The emulation is the golden model in chip time.** Each neuron obeys
``tau_m dV/dt = -(V - V_leak) + I_syn / g_L`` with current synapses; this
module integrates it with the golden model's exact propagator
(:func:`lifhw.golden.kernels._v_after`, the same closed form as
:mod:`lifhw.golden.network`) at the chip step ``dt / 1000`` with chip-time
constants ``tau / 1000``, per neuron (every circuit has its own parameters).
The membrane is clipped to the supply-limited window [``V_MIN``, ``V_MAX``].
With zero fixed-pattern noise, and as long as the membrane stays above the
floor, it reproduces :func:`lifhw.golden.network.simulate_network` on
:func:`dequantize`'s network spike for spike. Strong inhibition drives the
membrane to ``V_MIN``, which the float LIF has no counterpart for: the run then
differs (``ei_small`` does). :func:`simulate` counts those clipped steps
(``meta['clipped_steps']``) and :func:`membrane_headroom` warns before a run.

**Assumed CapMem calibration map** (nominal, before fixed-pattern noise; the
shapes follow the circuits described by Billaudelle et al. 2022 and the calix
calibration library's parameter ranges, the constants are this module's
assumptions -- replace them with a measured calibration when available):

* voltages (``V_leak``, ``V_reset``, ``V_th``): ``V = code * 1.2 V / 1022``;
* ``tau_m = C_m / g_L`` with ``g_L`` proportional to the leak bias code:
  ``tau_m = 1 us * 1022 / code`` (1 us .. ~1 ms chip time);
* ``tau_syn = 1 us * 1022 / code`` (synaptic input OTA bias), same form;
* synaptic drive per weight LSB (the jump of ``I_syn / g_L`` for weight 1):
  ``d = code * 100 uV``.

**Fixed-pattern noise** (seeded, spread ``sigma`` set by the user): per neuron,
voltage offsets ``N(0, (sigma * 0.1 V)^2)`` on the three potentials and
log-normal gains ``exp(sigma xi)`` on ``tau_m``, both ``tau_syn`` and the
synaptic drive. **Calibration** (:func:`calibrate`) measures each neuron's
parameters through its readout -- potentials with the 8-bit CADC
(1.2 V / 256 LSB), time constants and drive to 0.5 % -- at two codes (voltages:
offset) or one code (gains), and picks the code that hits the target for that
neuron; what remains is the readout and 10-bit code resolution.

Mapping a float network (formulas in :func:`map`): potentials are scaled
linearly into the window; a constant bias current ``I`` is a per-neuron shift of
the leak potential (``V_leak = v_rest + r_m I``, exact for the LIF equation);
weights become 6-bit magnitudes of a per-population drive step; delta synapses
become the shortest synaptic time constant with equal charge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from lifhw.chips.base import (
    ChipRun,
    ChipSpec,
    EnergyEstimate,
    EnergyTerm,
    Resources,
    Rule,
    Synapses,
    Violation,
    cap_tau_m,
    projection_key,
    residual_leak,
    round_half_away,
    run_network,
    run_rules,
    split_inputs,
)
from lifhw.chips.placement import (
    ChipResources,
    CoreResources,
    Figure,
    Placement,
    check_cores,
    place_spec,
)
from lifhw.core import LIFParams
from lifhw.errors import ParamError
from lifhw.golden.kernels import _v_after
from lifhw.network import Network, Population, Projection, gather_sum

NAME = "brainscales"

#: Speed-up of chip time over biological time.
ACCELERATION = 1000.0
N_NEURONS = 512
N_ROWS = 256
#: Two hemispheres per chip, each 256 neuron circuits under its own synapse
#: array of 256 rows x 256 columns (Pehle et al. 2022, Front. Neurosci. 16:795876).
HEMISPHERES = 2
NEURONS_PER_HEMISPHERE = N_NEURONS // HEMISPHERES
WEIGHT_MAX = 63
CAPMEM_MAX = 1022
#: CapMem voltage full scale (V) and the usable membrane window (V).
CAPMEM_V_FULL = 1.2
V_MIN, V_MAX = 0.2, 1.0
#: tau(code) = TAU_CODE_S * CAPMEM_MAX / code (chip seconds).
TAU_CODE_S = 1e-6
#: Synaptic drive per weight LSB per CapMem code (V).
DRIVE_PER_CODE_V = 100e-6
#: Readout resolution assumed by calibration.
CADC_LSB_V = 1.2 / 256
GAIN_RESOLUTION = 0.005
#: Offset scale of the voltage fixed-pattern noise per unit spread (V).
OFFSET_SCALE_V = 0.1

_VOLTAGES = ("v_leak", "v_reset", "v_th")
_GAINS = ("tau_m", "tau_syn_exc", "tau_syn_inh", "drive")
#: Column of each parameter in the per-neuron noise matrix.
_NOISE_COLUMN = {name: i for i, name in enumerate(_VOLTAGES + _GAINS)}


def voltage_code(volts: Any) -> np.ndarray:
    """Nominal CapMem code of a potential: ``round(V * 1022 / 1.2 V)`` (clipped)."""
    codes = round_half_away(np.asarray(volts, dtype=float) * CAPMEM_MAX / CAPMEM_V_FULL)
    return np.clip(codes, 0, CAPMEM_MAX).astype(np.int64)


def tau_code(tau_chip: Any) -> np.ndarray:
    """Nominal code of a time constant: ``round(1 us * 1022 / tau)`` (clipped to 1..1022)."""
    tau = np.asarray(tau_chip, dtype=float)
    codes = round_half_away(TAU_CODE_S * CAPMEM_MAX / np.where(tau > 0, tau, np.inf))
    return np.clip(codes, 1, CAPMEM_MAX).astype(np.int64)


def drive_code(drive_v: Any) -> np.ndarray:
    """Nominal code of the drive per weight LSB: ``round(d / 100 uV)`` (1..1022)."""
    codes = round_half_away(np.asarray(drive_v, dtype=float) / DRIVE_PER_CODE_V)
    return np.clip(codes, 1, CAPMEM_MAX).astype(np.int64)


def nominal(parameter: str, code: Any) -> np.ndarray:
    """The nominal (noise-free) physical value of a code (V or chip seconds)."""
    c = np.asarray(code, dtype=float)
    if parameter in _VOLTAGES:
        return c * CAPMEM_V_FULL / CAPMEM_MAX
    if parameter == "drive":
        return c * DRIVE_PER_CODE_V
    return TAU_CODE_S * CAPMEM_MAX / np.maximum(c, 1.0)


def physical(parameter: str, code: Any, noise: np.ndarray, spread: float) -> np.ndarray:
    """What a neuron circuit realises for a code, with its fixed-pattern noise.

    Args:
        parameter: ``v_leak``, ``v_reset``, ``v_th``, ``tau_m``, ``tau_syn_exc``,
            ``tau_syn_inh`` or ``drive``.
        code: CapMem codes per neuron.
        noise: Standard normals per neuron (the column of this parameter).
        spread: Fixed-pattern spread sigma.
    """
    value = nominal(parameter, code)
    if parameter in _VOLTAGES:
        return value + spread * OFFSET_SCALE_V * noise
    return value * np.exp(spread * noise)


def _inverse(parameter: str, value: Any) -> np.ndarray:
    if parameter in _VOLTAGES:
        return voltage_code(value)
    if parameter == "drive":
        return drive_code(value)
    return tau_code(value)


# --------------------------------------------------------------------------------------
# Mapping
# --------------------------------------------------------------------------------------


def longest_tau_m() -> float:
    """The longest membrane time constant (biological s): CapMem code 1, ``1022 us`` chip."""
    return float(nominal("tau_m", 1)) * ACCELERATION


def effective_neuron(neuron: LIFParams) -> tuple[LIFParams, bool]:
    """The neuron the chip can emulate: :func:`lifhw.chips.base.cap_tau_m` at
    :func:`longest_tau_m`; returns (neuron, whether it was capped)."""
    return cap_tau_m(neuron, longest_tau_m())


def _drives(network: Network, proj: Projection, scale: float) -> tuple[np.ndarray, bool]:
    """Weights as synaptic drive steps (V, chip) and whether delta synapses were converted.

    Current synapse: the jump of ``I_syn / g_L`` is ``r_m w`` bio volts, times the
    voltage scale. Delta synapse (jump ``dV``): equal charge through the shortest
    synapse ``tau_s``: ``r_m w = dV tau_m / tau_s`` (bio time constants).
    """
    p = effective_neuron(network.population(proj.post).neuron)[0]
    w = proj.weights
    delta = _delta_sign(p, w)
    tau_s = TAU_CODE_S * ACCELERATION
    drive = np.where(delta, w * p.tau_m / tau_s, w * p.r_m) * scale
    return drive, bool(np.any(delta & (w != 0)))


def _delta_sign(neuron: LIFParams, w: np.ndarray) -> np.ndarray:
    """Per weight: does its sign's synapse have tau_syn = 0 (a delta synapse)?"""
    return np.where(w >= 0, neuron.tau_syn_exc <= 0, neuron.tau_syn_inh <= 0)


def map(network: Network, *, spread: float = 0.05, seed: int = 0,
        calibrated: bool = True) -> ChipSpec:
    """Chip-time targets of every analog parameter (pure).

    Per population, with ``lo = min(v_rest, v_reset, v_rest + r_m min(bias))`` and
    ``top = max(v_th, v_rest + r_m max(bias))``: voltage scale
    ``g = (V_MAX - V_MIN) / (2 (top - lo))`` and
    ``V_hw(v) = V_MIN + 0.3 (V_MAX - V_MIN) + (v - lo) g`` (``lo`` at 30 % of the
    window, ``top`` at 80 %: room below for inhibition, the leak potential of
    driven neurons inside the window); ``V_leak = V_hw(v_rest + r_m bias)`` per neuron;
    ``tau_chip = tau / 1000``; refractory steps ``round(t_ref / dt)``; drive per
    LSB ``d = max|drive| / 63`` with ``drive = g r_m w`` (see :func:`_drives`), and
    weights ``drive / d`` in LSB.

    Args:
        network: The float network (not modified).
        spread: Fixed-pattern noise sigma (0 = ideal circuits).
        seed: Seed of the fixed-pattern noise (one chip sample).
        calibrated: Run :func:`calibrate` in :func:`quantize`.

    Returns:
        The :class:`ChipSpec` (potentials in V, time constants in chip seconds).
    """
    if spread < 0:
        raise ParamError("spread must be >= 0", path="spread")
    populations: dict[str, dict[str, Any]] = {}
    weights: dict[str, np.ndarray] = {}
    notes: list[str] = []
    window = V_MAX - V_MIN
    for pop in network.populations:
        p, capped = effective_neuron(pop.neuron)
        leak_bio = p.v_rest + p.r_m * pop.bias
        lo = min(p.v_rest, p.v_reset, float(leak_bio.min()))
        top = max(p.v_th, float(leak_bio.max()))
        scale = window / (2.0 * (top - lo))
        base = V_MIN + 0.3 * window - lo * scale
        incoming = list(network.incoming(pop.name))
        drives = [_drives(network, proj, scale) for proj in incoming]
        peak = max((float(np.abs(d).max()) for d, _ in drives if d.size), default=0.0)
        lsb = peak / WEIGHT_MAX if peak > 0 else DRIVE_PER_CODE_V
        tau_syn_min = TAU_CODE_S
        populations[pop.name] = {
            "scale": scale, "base": base,
            "v_leak": base + leak_bio * scale,
            "v_reset": base + p.v_reset * scale,
            "v_th": base + p.v_th * scale,
            "tau_m": p.tau_m / ACCELERATION,
            "tau_syn_exc": (p.tau_syn_exc / ACCELERATION if p.tau_syn_exc > 0
                            else tau_syn_min),
            "tau_syn_inh": (p.tau_syn_inh / ACCELERATION if p.tau_syn_inh > 0
                            else tau_syn_min),
            "drive": lsb,
            "v_start": base + p.v_rest * scale,
            "n_ref": round(p.t_ref / network.dt),
            "residual_leak": capped, "tau_m_wanted": pop.neuron.tau_m,
            "tau_m_effective": p.tau_m,
        }
        for proj, (drive, converted) in zip(incoming, drives, strict=True):
            weights[projection_key(proj.pre, proj.post)] = drive / lsb
            if converted:
                notes.append(f"{proj.pre}->{proj.post}: delta synapse mapped to the "
                             "shortest synaptic time constant with equal charge")
    return ChipSpec(chip=NAME, network=network, dt=network.dt, populations=populations,
                    weights=weights,
                    options={"spread": spread, "seed": seed, "calibrated": calibrated},
                    notes=tuple(notes))


@dataclass(frozen=True, eq=False)
class BrainScaleSConfig:
    """The configured chip.

    Args:
        spec: What ``map`` decided.
        codes: Population -> parameter -> CapMem codes per neuron.
        weights: ``"pre->post"`` -> signed 6-bit weights (post, pre); the sign
            selects the excitatory or inhibitory row of the source's row pair.
        noise: Population -> standard normals (size, 7): this chip sample's
            fixed-pattern noise (columns in ``_NOISE_COLUMN`` order).
        calibrated: Whether the codes come from :func:`calibrate`.
    """

    spec: ChipSpec
    codes: Mapping[str, Mapping[str, np.ndarray]]
    weights: Mapping[str, np.ndarray]
    noise: Mapping[str, np.ndarray]
    calibrated: bool = False

    @property
    def spread(self) -> float:
        return float(self.spec.options["spread"])

    def realised(self, population: str) -> dict[str, np.ndarray]:
        """Physical per-neuron parameters (V, chip s) this chip sample realises."""
        codes = self.codes[population]
        noise = self.noise[population]
        return {name: physical(name, codes[name], noise[:, column], self.spread)
                for name, column in _NOISE_COLUMN.items()}


def _noise(network: Network, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {pop.name: rng.standard_normal((pop.size, len(_NOISE_COLUMN)))
            for pop in network.populations}


def quantize(spec: ChipSpec) -> BrainScaleSConfig:
    """Nominal CapMem codes and 6-bit weights; calibrated when the spec asks for it.

    Codes: :func:`voltage_code`, :func:`tau_code`, :func:`drive_code` of the
    targets (the nominal map, blind to this chip's noise). Weights:
    ``round_half_away`` of the LSB targets, clipped to -63..63.
    """
    network = spec.network
    codes: dict[str, dict[str, np.ndarray]] = {}
    for pop in network.populations:
        t = spec.populations[pop.name]
        codes[pop.name] = {
            name: np.broadcast_to(_inverse(name, t[name]), (pop.size,)).copy()
            for name in _NOISE_COLUMN
        }
    weights = {key: np.clip(round_half_away(w), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int64)
               for key, w in spec.weights.items()}
    config = BrainScaleSConfig(spec=spec, codes=codes, weights=weights,
                               noise=_noise(network, int(spec.options["seed"])))
    return calibrate(config) if spec.options["calibrated"] else config


def _measure(config: BrainScaleSConfig, population: str, parameter: str,
             code: np.ndarray) -> np.ndarray:
    """Readout of a parameter at a code: CADC-quantised potentials, 0.5 % gains."""
    column = config.noise[population][:, _NOISE_COLUMN[parameter]]
    value = physical(parameter, code, column, config.spread)
    if parameter in _VOLTAGES:
        return np.round(value / CADC_LSB_V) * CADC_LSB_V
    return np.exp(np.round(np.log(value) / GAIN_RESOLUTION) * GAIN_RESOLUTION)


def calibrate(config: BrainScaleSConfig) -> BrainScaleSConfig:
    """Per-neuron codes that hit the targets on this chip sample (calix-style).

    Potentials: measure at codes 256 and 768, estimate the neuron's offset as the
    mean of ``measured - nominal``, choose ``code = voltage_code(target - offset)``.
    Time constants and drive: measure at the nominal code, estimate the gain
    ``measured / nominal``, choose the code of ``target / gain``.
    """
    codes: dict[str, dict[str, np.ndarray]] = {}
    for pop in config.spec.network.populations:
        t = config.spec.populations[pop.name]
        out = {}
        for name in _VOLTAGES:
            probes = [np.full(pop.size, c) for c in (256, 768)]
            offset = np.mean([_measure(config, pop.name, name, c) - nominal(name, c)
                              for c in probes], axis=0)
            out[name] = voltage_code(np.asarray(t[name]) - offset)
        for name in _GAINS:
            code = config.codes[pop.name][name]
            gain = _measure(config, pop.name, name, code) / nominal(name, code)
            out[name] = _inverse(name, np.asarray(t[name]) / gain)
        codes[pop.name] = {k: np.broadcast_to(v, (pop.size,)).copy() for k, v in out.items()}
    return replace(config, codes=codes, calibrated=True)


# --------------------------------------------------------------------------------------
# Design rules
# --------------------------------------------------------------------------------------


def chip_capacity(config: BrainScaleSConfig) -> list[Violation]:
    """The network placed on hemispheres (256 neurons, 256 rows each, two per chip).

    An error when a neuron needs more than 256 synapse rows (one per source and
    sign) on its own; a warning when the placement needs more than one chip
    (the simulation then assumes spikes between chips arrive like on-chip ones).
    """
    return [replace(v, rule="chip_capacity") for v in check_cores(place(config.spec))]


def weight_range(config: BrainScaleSConfig) -> list[Violation]:
    """Weights beyond 6 bits were clipped; non-zero weights lost to rounding."""
    out = []
    for key, target in config.spec.weights.items():
        clipped = int(np.count_nonzero(np.abs(target) > WEIGHT_MAX + 0.5))
        lost = int(np.count_nonzero((target != 0) & (config.weights[key] == 0)))
        if clipped:
            out.append(Violation("weight_range", f"{clipped} weights clipped to 63", key))
        if lost:
            out.append(Violation("weight_range", f"{lost} non-zero weights round to 0 "
                                 "(6-bit resolution)", key, "warning"))
    return out


def capmem_range(config: BrainScaleSConfig) -> list[Violation]:
    """Targets outside what the CapMem map reaches (codes 0..1022)."""
    out = []
    for name, t in config.spec.populations.items():
        for parameter in _NOISE_COLUMN:
            value = np.asarray(t[parameter], dtype=float)
            ends = (float(nominal(parameter, 1)), float(nominal(parameter, CAPMEM_MAX)))
            lo = 0.0 if parameter in _VOLTAGES else min(ends)
            hi = max(ends)
            if np.any((value < lo * 0.999) | (value > hi * 1.001)):
                out.append(Violation("capmem_range", f"{parameter} target "
                                     f"{float(value.min()):.3g}..{float(value.max()):.3g} "
                                     f"outside {lo:.3g}..{hi:.3g}", name))
    return out


def residual_leak_rule(config: BrainScaleSConfig) -> list[Violation]:
    """A membrane longer than the CapMem reaches runs with the longest leak."""
    return residual_leak(config.spec, "tau_m code 1, the longest leak of the CapMem map")


def membrane_range(config: BrainScaleSConfig) -> list[Violation]:
    """Potentials (leak, reset, threshold) must lie in the supply-limited window."""
    out = []
    for name, t in config.spec.populations.items():
        values = np.concatenate([np.atleast_1d(np.asarray(t[k], dtype=float))
                                 for k in _VOLTAGES])
        if values.min() < V_MIN or values.max() > V_MAX:
            out.append(Violation("membrane_range", f"potentials {values.min():.3f}.."
                                 f"{values.max():.3f} V outside the {V_MIN}..{V_MAX} V "
                                 "window: the membrane clips there", name, "warning"))
    return out


def _psp_peak(tau_m: np.ndarray, tau_s: np.ndarray) -> np.ndarray:
    """Peak of ``V(t) = tau_s/(tau_s - tau_m) (e^{-t/tau_s} - e^{-t/tau_m})``, the
    membrane response to a unit jump of ``I_syn/g_L`` decaying with ``tau_s``
    (``1/e`` when the two are equal)."""
    tau_m = np.asarray(tau_m, dtype=float)
    tau_s = np.asarray(tau_s, dtype=float)
    ratio = np.where(np.isclose(tau_m, tau_s), 1.0 + 1e-9, tau_s / tau_m)
    # t* = tau_m r ln(1/r) / (1 - r); peak = r^(r/(1-r)) (with r = tau_s/tau_m).
    return ratio ** (ratio / (1.0 - ratio))


def membrane_headroom(config: BrainScaleSConfig) -> list[Violation]:
    """The membrane must not reach the window floor ``V_MIN``: there it clips and the
    run stops being the golden model of :func:`dequantize`'s network.

    Static estimate per neuron: one synchronous volley of all its inhibitory inputs
    (realised drive x |weight| x the PSP peak factor of :func:`_psp_peak`) starting
    from the lower of its leak and reset potentials. Sustained inhibition can clip
    with smaller volleys; :func:`simulate` counts the clipped steps of a run
    (``meta['clipped_steps']``).
    """
    out = []
    for pop in config.spec.network.populations:
        phys = config.realised(pop.name)
        inh = np.zeros(pop.size)
        for proj in config.spec.network.incoming(pop.name):
            w = config.weights[projection_key(proj.pre, proj.post)]
            inh += np.clip(-w, 0, None).sum(axis=1)
        excursion = inh * phys["drive"] * _psp_peak(phys["tau_m"], phys["tau_syn_inh"])
        start = np.minimum(phys["v_leak"], phys["v_reset"])
        low = start - excursion
        bad = int(np.count_nonzero(low < V_MIN))
        if bad:
            out.append(Violation(
                "membrane_headroom", f"{bad} neurons: one volley of their inhibitory inputs "
                f"reaches {float(low.min()):.3f} V, below the {V_MIN} V floor: the membrane "
                "clips and the run differs from the golden model (scale the potentials "
                "up in the window or weaken inhibition)", pop.name, "warning"))
    return out


def synapse_model(config: BrainScaleSConfig) -> list[Violation]:
    """Delta synapses and programmable delays do not exist on the chip."""
    out = []
    for pop in config.spec.network.populations:
        if pop.neuron.tau_syn_exc == 0 or pop.neuron.tau_syn_inh == 0:
            out.append(Violation("synapse_model", "delta synapses emulated with the "
                                 "shortest current synapse", pop.name, "warning"))
    for proj in config.spec.network.projections:
        if proj.delay_steps > 1:
            out.append(Violation("synapse_model", f"delay {proj.delay_steps} steps: "
                                 "BrainScaleS-2 has no programmable axonal delay",
                                 projection_key(proj.pre, proj.post), "warning"))
    return out


RULES: tuple[Rule, ...] = (chip_capacity, weight_range, capmem_range, residual_leak_rule,
                           membrane_range, membrane_headroom, synapse_model)


def check(config: BrainScaleSConfig) -> list[Violation]:
    """All design-rule violations of a configuration."""
    return run_rules(RULES, config)


# --------------------------------------------------------------------------------------
# Emulation
# --------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _step(v, ie, ii, ref, v_leak, ie_jump, ii_jump, v_th, v_reset, n_ref, tau_m, tau_e,
          tau_i, decay_e, decay_i, dt, v_min, v_max, spikes, clipped):  # pragma: no cover
    """One chip step with per-neuron parameters (golden grid convention, r_m = 1:
    currents are drives in volts; the bias is inside ``v_leak``). ``clipped[n]``
    counts the steps whose free membrane fell below ``v_min`` (only the floor
    changes the outcome: above ``v_max >= v_th`` the neuron fires either way)."""
    for n in range(v.shape[0]):
        ie[n] += ie_jump[n]
        ii[n] += ii_jump[n]
        if ref[n] > 0:
            ref[n] -= 1
            v[n] = v_reset[n]
            spikes[n] = False
        else:
            x = _v_after(dt, v[n], ie[n], ii[n], 0.0, v_leak[n], 1.0, tau_m[n], tau_e[n],
                         tau_i[n])
            if x < v_min:
                clipped[n] += 1
            x = min(max(x, v_min), v_max)
            if x >= v_th[n]:
                spikes[n] = True
                v[n] = v_reset[n]
                ref[n] = n_ref
            else:
                spikes[n] = False
                v[n] = x
        ie[n] *= decay_e[n]
        ii[n] *= decay_i[n]


def simulate(config: BrainScaleSConfig, input_spikes: Any, *,
             record_states: bool = False) -> ChipRun:
    """Emulate the configured chip in chip time (golden propagators, per neuron).

    Args:
        config: From :func:`quantize` (or :func:`calibrate`).
        input_spikes: (T, n_in) bool or name -> (T, size), biological steps.
        record_states: Record the membrane ``v`` (chip volts) per step.

    Returns:
        The :class:`ChipRun` (biological time steps; ``meta['chip_dt_s']`` is the
        chip step; ``meta['clipped_steps']``: population -> neuron-steps whose
        membrane hit the floor ``V_MIN``, where the run leaves the golden model).
    """
    network = config.spec.network
    inputs = split_inputs(network, input_spikes)
    n_steps = next(iter(inputs.values())).shape[0] if inputs else 0
    dt_chip = network.dt / ACCELERATION
    synapses = []
    for proj in network.projections:
        key = projection_key(proj.pre, proj.post)
        w = config.weights[key]
        synapses.append(Synapses(proj.pre, proj.post, np.clip(w, 0, None), proj.delay_steps,
                                 "exc"))
        synapses.append(Synapses(proj.pre, proj.post, np.clip(-w, 0, None), proj.delay_steps,
                                 "inh"))
    states: dict[str, dict[str, np.ndarray]] = {}
    updates = {}
    clipped: dict[str, np.ndarray] = {}
    for pop in network.populations:
        record = np.zeros((n_steps, pop.size)) if record_states else None
        if record is not None:
            states[pop.name] = {"v": record}
        clipped[pop.name] = np.zeros(pop.size, dtype=np.int64)
        updates[pop.name] = _population_update(config, pop, dt_chip, record,
                                               clipped[pop.name])
    spikes, events = run_network(network, inputs, synapses, updates,
                                 accumulate=gather_sum)
    return ChipRun(backend=NAME, dt=network.dt, spikes=spikes, states=states, events=events,
                   meta={"chip_dt_s": dt_chip, "spread": config.spread,
                         "calibrated": config.calibrated,
                         "clipped_steps": {k: int(c.sum()) for k, c in clipped.items()}})


def _population_update(config: BrainScaleSConfig, pop: Population, dt_chip: float,
                       record: np.ndarray | None, clipped: np.ndarray) -> Any:
    phys = config.realised(pop.name)
    v_leak = np.ascontiguousarray(phys["v_leak"])
    v_th = np.ascontiguousarray(phys["v_th"])
    v_reset = np.ascontiguousarray(phys["v_reset"])
    tau_m = np.ascontiguousarray(phys["tau_m"])
    tau_e = np.ascontiguousarray(phys["tau_syn_exc"])
    tau_i = np.ascontiguousarray(phys["tau_syn_inh"])
    drive = phys["drive"]
    decay_e = np.exp(-dt_chip / tau_e)
    decay_i = np.exp(-dt_chip / tau_i)
    n_ref = int(config.spec.populations[pop.name]["n_ref"])
    # Start at rest (as the golden model does); the leak offsets act from step 0.
    v = np.full(pop.size, float(config.spec.populations[pop.name]["v_start"]))
    ie = np.zeros(pop.size)
    ii = np.zeros(pop.size)
    ref = np.zeros(pop.size, dtype=np.int64)
    spikes = np.zeros(pop.size, dtype=np.bool_)
    zeros = np.zeros(pop.size)

    def update(k: int, summed: Mapping[str, np.ndarray]) -> np.ndarray:
        exc = np.asarray(summed.get("exc", zeros), dtype=float) * drive
        inh = -np.asarray(summed.get("inh", zeros), dtype=float) * drive
        _step(v, ie, ii, ref, v_leak, exc, inh, v_th, v_reset, n_ref, tau_m, tau_e, tau_i,
              decay_e, decay_i, dt_chip, V_MIN, V_MAX, spikes, clipped)
        if record is not None:
            record[k] = v
        return spikes.copy()

    return update


def dequantize(config: BrainScaleSConfig) -> Network:
    """The float (biological) network this chip sample realises.

    Inverse of :func:`map`'s scaling on the realised physical values: potentials
    ``v = (V_hw - base) / g`` (population medians for ``v_th``/``v_reset``),
    per-neuron bias ``(v_leak - v_rest) / r_m`` (absorbs leak offsets),
    ``tau = 1000 tau_chip`` (medians), weights ``W_lsb d / (g r_m)`` with the
    median drive (delta synapses: the inverse equal-charge formula).
    """
    network = config.spec.network
    populations = []
    for pop in network.populations:
        t = config.spec.populations[pop.name]
        phys = config.realised(pop.name)
        scale, base = float(t["scale"]), float(t["base"])
        p = effective_neuron(pop.neuron)[0]

        def bio(values: np.ndarray, scale: float = scale, base: float = base) -> np.ndarray:
            return (np.asarray(values) - base) / scale

        v_th = float(np.median(bio(phys["v_th"])))
        v_reset = float(np.median(bio(phys["v_reset"])))
        if not v_th > v_reset:
            v_th = v_reset + 1e-6
        neuron = replace(
            p, v_th=v_th, v_reset=v_reset,
            tau_m=float(np.median(phys["tau_m"])) * ACCELERATION,
            tau_syn_exc=(float(np.median(phys["tau_syn_exc"])) * ACCELERATION
                         if p.tau_syn_exc > 0 else 0.0),
            tau_syn_inh=(float(np.median(phys["tau_syn_inh"])) * ACCELERATION
                         if p.tau_syn_inh > 0 else 0.0),
            t_ref=int(t["n_ref"]) * network.dt)
        bias = (bio(phys["v_leak"]) - p.v_rest) / p.r_m
        populations.append(Population(pop.name, pop.size, neuron, bias))
    projections = []
    for proj in network.projections:
        t = config.spec.populations[proj.post]
        post = network.population(proj.post)
        post = replace(post, neuron=effective_neuron(post.neuron)[0])
        drive = float(np.median(config.realised(proj.post)["drive"]))
        w = config.weights[projection_key(proj.pre, proj.post)] * drive / float(t["scale"])
        w = np.where(_delta_sign(post.neuron, w),
                     w * TAU_CODE_S * ACCELERATION / post.neuron.tau_m, w / post.neuron.r_m)
        projections.append(Projection(proj.pre, proj.post, w, proj.delay_steps))
    return Network(network.name, network.inputs, tuple(populations), tuple(projections),
                   network.dt)


def resources(config: BrainScaleSConfig) -> Resources:
    """Neuron circuits, synapse rows (a pair per signed source) and synapses."""
    network = config.spec.network
    rows = 0
    for source in [p.name for p in network.inputs] + [p.name for p in network.populations]:
        outgoing = [config.weights[projection_key(p.pre, p.post)]
                    for p in network.projections if p.pre == source]
        if not outgoing:
            continue
        stacked = np.vstack(outgoing)
        rows += int(np.any(stacked > 0, axis=0).sum() + np.any(stacked < 0, axis=0).sum())
    synapses = int(sum(np.count_nonzero(w) for w in config.weights.values()))
    return Resources(
        cores_used=1, cores_available=1,
        neurons_used=network.n_neurons, neurons_available=N_NEURONS,
        synapses_used=synapses, synapses_available=N_ROWS * N_NEURONS,
        extra={"rows": (rows, N_ROWS)},
    )


#: Assumed energy per synaptic event of the analog synapse array: an order of
#: magnitude for accelerated analog synapses (100 pJ; cf. the wafer-scale
#: BrainScaleS estimates, Schemmel et al., ISCAS 2010). Not a measured BSS-2 figure.
ENERGY_PER_SYNAPTIC_EVENT_J = 100e-12


#: Per-core (hemisphere) and per-chip resources (Pehle et al. 2022, Front.
#: Neurosci. 16:795876: 512 neurons and 131 072 synapses in two hemispheres).
RESOURCES = ChipResources(
    target=NAME, core_name="hemisphere",
    core=CoreResources(
        neurons=Figure(NEURONS_PER_HEMISPHERE, "Pehle et al. 2022: 256 neuron circuits "
                       "per hemisphere (512 per chip)"),
        input_lines=Figure(N_ROWS, "Pehle et al. 2022: 256 synapse rows per hemisphere; a "
                           "row is excitatory or inhibitory"),
        synapses=Figure(N_ROWS * NEURONS_PER_HEMISPHERE, "Pehle et al. 2022: 256 x 256 "
                        "synapses per hemisphere (131 072 per chip)")),
    cores_per_chip=Figure(HEMISPHERES, "Pehle et al. 2022: two hemispheres per chip"),
    line_mode="sign",
    notes=("no published per-hemisphere static power or inter-chip spike energy",
           "inter-chip routing (FPGA links of multi-chip systems) is counted, not timed"))


def place(spec: ChipSpec, *, rates_hz: Mapping[str, Any] | None = None,
          order: str = "index") -> Placement:
    """Neurons onto hemispheres: 256 neurons and 256 synapse rows each, two per chip.

    A source takes one row per sign it uses toward a hemisphere. The emulation
    is the same network whatever the hemisphere (the placed network is the
    network); inter-chip spikes are counted as traffic.
    """
    return place_spec(spec, RESOURCES, rates_hz=rates_hz, order=order)


def energy(config: BrainScaleSConfig, run: ChipRun) -> EnergyEstimate:
    """Energy estimate (the term's source says it is an assumption).

    An assumed 100 pJ per synaptic event of the analog array, nothing else: no
    CapMem refresh, no neuron static bias currents, no FPGA/host or the embedded
    processors, no ADC readout. It is an order of magnitude for comparison, not
    a figure from a BrainScaleS-2 measurement.
    """
    return EnergyEstimate(NAME, (
        EnergyTerm("synaptic_events", float(run.events.get("synaptic_events", 0)),
                   ENERGY_PER_SYNAPTIC_EVENT_J,
                   "assumed order of magnitude (100 pJ) for accelerated analog synapses, "
                   "cf. Schemmel et al. ISCAS 2010; no published BSS-2 per-event figure "
                   "used"),
    ))


def lif_of(config: BrainScaleSConfig, population: str) -> LIFParams:
    """The dequantised neuron of one population (convenience for reports)."""
    return dequantize(config).population(population).neuron


if TYPE_CHECKING:  # mypy checks this module against the HardwareTarget protocol
    from lifhw.chips import brainscales as _module
    from lifhw.chips.base import HardwareTarget

    _conforms: HardwareTarget = _module
