"""Statistics derived from the sufficient statistics, which both sides read.

Per-arm moments and dispersion of an outcome, moments centered on shared means, and the list of
funnel rates. Neutral ground for :mod:`bayeslab.bayes` and :mod:`bayeslab.frequentist`.
"""

from __future__ import annotations

import warnings
from math import comb

import numpy as np
import pandas as pd

from bayeslab.core.errors import DataError, StatisticalWarning
from bayeslab.data.funnel import FunnelStats
from bayeslab.data.moments import MOMENT_COLUMNS
from bayeslab.data.stats import ArmStats


def arm_moments(stats: ArmStats) -> pd.DataFrame:
    """Per arm: ``n``, ``mean`` and sample variance ``var`` (ddof 1) of the outcome.

    Raises
    ------
    DataError
        If an arm has fewer than two units (no variance).
    """
    t = stats.by_arm()
    n = t["n"].to_numpy(float)
    if np.any(n < 2):
        small = [a for a, k in zip(stats.arms, n, strict=True) if k < 2]
        raise DataError(f"arm {small[0]!r} has fewer than 2 units: a variance needs 2",
                        column=stats.arm)
    mean = t["sum"].to_numpy(float) / n
    var = np.maximum((t["sum_sq"].to_numpy(float) - n * mean**2) / (n - 1), 0.0)
    return pd.DataFrame({"arm": list(stats.arms), "n": n, "mean": mean, "var": var})


def dispersion(stats: ArmStats) -> np.ndarray:
    """Index of dispersion (sample variance over mean) of the per-unit counts, per arm."""
    m = arm_moments(stats)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (m["var"] / m["mean"]).to_numpy()


def warn_overdispersion(stats: ArmStats, limit: float = 1.5) -> np.ndarray:
    """Emit a StatisticalWarning when counts are overdispersed; return the dispersion per arm."""
    disp = dispersion(stats)
    if np.nanmax(disp) > limit:
        warnings.warn(f"counts of {stats.metric!r} are overdispersed (variance/mean up to "
                      f"{np.nanmax(disp):.3g}, Poisson assumes 1): the Poisson intervals are too "
                      "narrow; prefer Welch / the Normal model for the mean",
                      StatisticalWarning, stacklevel=3)
    return disp


def centered_moments(stats: ArmStats, *, dy: float | None = None,
                     dx: float | None = None) -> tuple[dict, float, float]:
    r"""Per-arm moments :math:`\sum (y - d_y)^p (x - d_x)^q` around shared centers.

    Returns
    -------
    (dict, float, float)
        ``{(p, q): array over arms}`` for every moment available in the table, and the centers
        (the pooled means of outcome and covariate unless given).
    """
    t = stats.by_arm()
    raw = {pq: t[name].to_numpy(float) for name, pq in MOMENT_COLUMNS.items()
           if name in t.columns}
    n_all = raw[(0, 0)].sum()
    dy = raw[(1, 0)].sum() / n_all if dy is None else dy
    if dx is None:
        dx = raw[(0, 1)].sum() / n_all if (0, 1) in raw else 0.0
    out = {}
    for (p, q) in raw:
        total = np.zeros_like(raw[(0, 0)])
        for i in range(p + 1):
            for j in range(q + 1):
                total = total + (comb(p, i) * comb(q, j) * (-dy) ** (p - i) * (-dx) ** (q - j)
                                 * raw[(i, j)])
        out[(p, q)] = total
    return out, dy, dx


def funnel_rates(fs: FunnelStats, names=None):
    """List the rates of a funnel: each step (stage over previous) and each stage over users.

    Returns
    -------
    list of (name, numerator_index, denominator_index)
        Index 0 is users, ``j`` is stage ``j``. Two stages give ``ctr, pcvr, cvr``.
    """
    k = len(fs.stages)
    labels = ("users", *fs.stages)
    if names is None and k == 2:
        names = {(1, 0): "ctr", (2, 1): "pcvr", (2, 0): "cvr"}
    out = []
    for j in range(1, k + 1):
        for i in sorted({j - 1, 0}, reverse=True):
            name = (names or {}).get((j, i), f"{labels[j]}/{labels[i]}")
            out.append((name, j, i))
    return out
