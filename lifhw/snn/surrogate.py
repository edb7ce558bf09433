"""Surrogate derivatives of the spike non-linearity.

A LIF unit spikes when its membrane crosses threshold, ``S = H(V - theta)``:
the Heaviside step has zero derivative almost everywhere (no learning signal,
"dead neurons") and an infinite one at threshold. Surrogate-gradient training
(Neftci, Mostafa & Zenke 2019, IEEE Signal Process. Mag. 36:51) keeps ``H``
in the forward pass and uses the derivative of a smooth step backward.

Each surrogate here is *the exact derivative* of a smooth step ``sigma_k(x)``
(x = V - theta, slope/scale k > 0) that rises from 0 to 1, so it integrates to
one; with ``smooth=True`` the forward pass uses ``sigma_k`` itself and the
backward pass is then the true gradient (that is how the gradient check works):

=============  ===================================  ===================================
name           smooth step sigma_k(x)               derivative (the surrogate)
=============  ===================================  ===================================
sigmoid        1 / (1 + exp(-k x))                  k s (1 - s),  s = sigma_k(x)
fast_sigmoid   (1 + k x / (1 + k |x|)) / 2          k / (2 (1 + k |x|)^2)
arctan         1/2 + arctan(pi k x / 2) / pi        (k / 2) / (1 + (pi k x / 2)^2)
=============  ===================================  ===================================

``sigmoid`` and ``arctan`` equal snnTorch's ``surrogate.sigmoid(slope=k)`` and
``surrogate.atan(alpha=k)``; snnTorch's ``fast_sigmoid`` is ``2/k`` times ours
(it is SuperSpike's unnormalised ``1/(1 + k|x|)^2``, Zenke & Ganguli 2018).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifhw.errors import ParamError

#: Names of the available surrogates.
SURROGATES = ("sigmoid", "fast_sigmoid", "arctan")


@dataclass(frozen=True)
class Surrogate:
    """A smooth step and its derivative.

    Args:
        name: One of :data:`SURROGATES`.
        scale: Slope k (1/V in normalised units: per unit of threshold).
    """

    name: str = "fast_sigmoid"
    scale: float = 10.0

    def __post_init__(self) -> None:
        if self.name not in SURROGATES:
            import difflib

            close = difflib.get_close_matches(self.name, SURROGATES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; one of {SURROGATES}"
            raise ParamError(f"unknown surrogate {self.name!r}{hint}", path="surrogate")
        if not self.scale > 0:
            raise ParamError(f"scale must be > 0, got {self.scale!r}", path="surrogate.scale")

    def smooth(self, x: np.ndarray) -> np.ndarray:
        """The smooth step sigma_k(x) whose derivative is :meth:`grad`."""
        k = self.scale
        if self.name == "sigmoid":
            return _sigmoid(k * x)
        if self.name == "fast_sigmoid":
            return 0.5 * (1.0 + k * x / (1.0 + k * np.abs(x)))
        return 0.5 + np.arctan(0.5 * np.pi * k * x) / np.pi

    def grad(self, x: np.ndarray) -> np.ndarray:
        """The surrogate derivative d sigma_k / dx at ``x``."""
        k = self.scale
        if self.name == "sigmoid":
            s = _sigmoid(k * x)
            return k * s * (1.0 - s)
        if self.name == "fast_sigmoid":
            return k / (2.0 * np.square(1.0 + k * np.abs(x)))
        return (0.5 * k) / (1.0 + np.square(0.5 * np.pi * k * x))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a non-positive argument only: no overflow warnings for large |z|.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(z, np.float32))
