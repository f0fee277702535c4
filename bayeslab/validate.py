"""Checks that both sides use: interval levels and counts.

Neutral ground for :mod:`bayeslab.bayes` and :mod:`bayeslab.frequentist`, which never import each
other.
"""

from __future__ import annotations

import numpy as np

from bayeslab.errors import DataError, ModelError


def check_interval(interval: float) -> float:
    """Raise ModelError unless ``0 < interval < 1``."""
    if not 0 < interval < 1:
        raise ModelError(f"interval must be between 0 and 1, got {interval!r}")
    return float(interval)


def check_counts(n, conversions, arms=None):
    """Validate units and conversions per arm; returns ``(arm labels, n, conversions)``.

    Raises :class:`~bayeslab.errors.DataError` for unequal lengths, fewer than two arms, negative
    or fractional counts, conversions above units, or an arm without units.
    """
    arms = tuple(str(a) for a in (arms if arms is not None else range(len(np.ravel(n)))))
    n = np.asarray(n, dtype=float)
    x = np.asarray(conversions, dtype=float)
    if n.shape != x.shape or n.ndim != 1 or len(n) < 2:
        raise DataError("n and conversions must be 1-d sequences of equal length, >= 2 arms")
    if len(arms) != len(n):
        raise DataError(f"{len(arms)} arm labels for {len(n)} arms")
    for name, v in (("n", n), ("conversions", x)):
        bad = ~np.isfinite(v) | (v < 0) | (v != np.floor(v))
        if bad.any():
            raise DataError(f"{name} must be non-negative whole numbers; arm "
                            f"{arms[int(np.argmax(bad))]!r} has {v[bad][0]!r}", column=name)
    if (x > n).any():
        k = int(np.argmax(x > n))
        raise DataError(f"arm {arms[k]!r} has {x[k]:.0f} conversions out of {n[k]:.0f} units",
                        column="conversions")
    if (n == 0).any():
        raise DataError(f"arm {arms[int(np.argmax(n == 0))]!r} has no units", column="n")
    return arms, n, x
