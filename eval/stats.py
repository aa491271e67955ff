"""Uncertainty of eval means: percentile bootstrap confidence intervals, and when two overlap.

A mean over 30 questions moves by several points between two runs that differ only in noise;
an interval says how far. The bootstrap is seeded, so the same items give the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

BOOTSTRAP_RESAMPLES = 2000
LEVEL = 0.95


def bootstrap_ci(
    values: Iterable[float | None], *, resamples: int = BOOTSTRAP_RESAMPLES, level: float = LEVEL, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of the values that are not None.

    Returns None for fewer than 2 values (no spread to resample); a constant sample gives a
    zero-width interval, which is honest: the data show no variation, not certainty.
    """
    import numpy as np

    kept = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if kept.size < 2:
        return None
    rng = np.random.default_rng(seed)
    means = rng.choice(kept, size=(resamples, kept.size), replace=True).mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return round(float(lo), 4), round(float(hi), 4)


def overlap(a: tuple[float, float] | list[float] | None, b: tuple[float, float] | list[float] | None) -> bool | None:
    """Whether two intervals overlap (None when either is missing)."""
    if not a or not b:
        return None
    return a[0] <= b[1] and b[0] <= a[1]
