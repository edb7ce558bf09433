"""The digits task: scikit-learn's 8x8 handwritten digits, encoded into spikes.

``sklearn.datasets.load_digits`` ships inside scikit-learn (1797 images of
8x8 pixels with intensities 0..16, ten classes; no download). Pixels are
scaled to ``x`` in [0, 1] and encoded over ``T`` steps:

* ``rate`` (deterministic, regular): pixel ``j`` spikes at step ``t`` when
  ``floor((t + 1) x_j) > floor(t x_j)``, i.e. ``x_j`` spikes per step, evenly
  spaced. Deterministic so that every backend sees the same input.
* ``poisson``: Bernoulli spikes with probability ``x_j`` per step (seeded).
* ``latency``: one spike per pixel at step ``round((1 - x_j) (T - 1))``;
  brighter pixels fire earlier, blank pixels (x = 0) never fire.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifhw.errors import ParamError

ENCODINGS = ("rate", "poisson", "latency")


@dataclass(frozen=True, eq=False)
class Digits:
    """Train/test split of the digits data, pixels in [0, 1].

    Args:
        x_train, x_test: (N, 64) float32.
        y_train, y_test: (N,) int labels 0..9.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load(test_fraction: float = 0.25, seed: int = 0) -> Digits:
    """Load and split the digits (stratified, seeded)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, data.target, test_size=test_fraction,
                                              random_state=seed, stratify=data.target)
    return Digits(x_tr, y_tr.astype(np.int64), x_te, y_te.astype(np.int64))


def encode(x: np.ndarray, n_steps: int, method: str = "rate", seed: int = 0) -> np.ndarray:
    """Encode intensities into spike trains.

    Args:
        x: (N, n_in) intensities in [0, 1].
        n_steps: Number of time steps T.
        method: ``rate``, ``poisson`` or ``latency``.
        seed: Seed of the ``poisson`` generator.

    Returns:
        (T, N, n_in) float32 spikes (0/1).
    """
    if method not in ENCODINGS:
        raise ParamError(f"unknown encoding {method!r}; one of {ENCODINGS}", path="encoding")
    if n_steps < 1:
        raise ParamError("n_steps must be >= 1", path="n_steps")
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    t = np.arange(n_steps + 1, dtype=np.float64)[:, None, None]
    if method == "rate":
        phase = np.floor(t * x[None] + 1e-9)
        return (np.diff(phase, axis=0) > 0).astype(np.float32)
    if method == "poisson":
        rng = np.random.default_rng(seed)
        return (rng.random((n_steps, *x.shape)) < x[None]).astype(np.float32)
    step = np.rint((1.0 - x) * (n_steps - 1)).astype(int)
    out = np.zeros((n_steps, *x.shape), dtype=np.float32)
    rows, cols = np.nonzero(x > 0)
    out[step[rows, cols], rows, cols] = 1.0
    return out
