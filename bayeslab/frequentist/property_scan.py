r"""Who is affected, as the field does it: every level against the rest, with corrections.

For level :math:`l` of property :math:`p`, with unpooled effects (treatment minus control,
absolute) :math:`\hat d_{pl}` and :math:`\hat d_{p,-l}` (the rest of the population) and their
standard errors,

.. math::

    z_{pl} = \frac{\hat d_{pl} - \hat d_{p,-l}}{\sqrt{s_{pl}^2 + s_{p,-l}^2}}, \qquad
    p_{pl} = 2\,\Phi(-|z_{pl}|),

(the two groups hold different units, so the two estimates are independent). The :math:`m`
p-values of all levels of all properties are adjusted together: Bonferroni
(:math:`\min(m p, 1)`, family-wise error) and Benjamini-Hochberg (false discovery rate); a level
is flagged when its adjusted p-value is below ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL
from bayeslab.frequentist.segments import benjamini_hochberg
from bayeslab.kernels.distributions import norm_ppf, norm_sf


@dataclass(frozen=True)
class LevelTests:
    """Each level against the rest: raw effects, differences, p-values and flags.

    Attributes
    ----------
    levels : list of (str, str)
    n : numpy.ndarray
        Units per level.
    effect, lower, upper : numpy.ndarray
        The level's unpooled effect and its interval.
    difference, difference_se : numpy.ndarray
        Level minus rest, and its standard error.
    p_value, bonferroni, bh : numpy.ndarray
        Raw and adjusted two-sided p-values.
    flagged_bonferroni, flagged_bh : numpy.ndarray of bool
    alpha, interval : float
    """

    metric: str
    levels: list
    n: np.ndarray
    effect: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    difference: np.ndarray
    difference_se: np.ndarray
    p_value: np.ndarray
    bonferroni: np.ndarray
    bh: np.ndarray
    flagged_bonferroni: np.ndarray
    flagged_bh: np.ndarray
    alpha: float
    interval: float

    @property
    def flagged(self) -> np.ndarray:
        """The Bonferroni flags (family-wise error over every level of every property)."""
        return self.flagged_bonferroni

    def summary(self):
        """One row per level (a DataFrame)."""
        import pandas as pd

        return pd.DataFrame({
            "property": [p for p, _ in self.levels], "level": [lv for _, lv in self.levels],
            "n": self.n.astype(int), "effect": self.effect, "lower": self.lower,
            "upper": self.upper, "difference": self.difference, "p_value": self.p_value,
            "bonferroni": self.bonferroni, "bh": self.bh,
            "flagged_bonferroni": self.flagged_bonferroni, "flagged_bh": self.flagged_bh})

    def to_dict(self) -> dict:
        """JSON-safe form."""
        rows = [{"property": p, "level": lv, "n": int(self.n[i]),
                 "estimate": float(self.effect[i]), "lower": float(self.lower[i]),
                 "upper": float(self.upper[i]), "difference": float(self.difference[i]),
                 "p_value": float(self.p_value[i]), "bonferroni": float(self.bonferroni[i]),
                 "bh": float(self.bh[i]), "flagged": bool(self.flagged_bonferroni[i]),
                 "flagged_bh": bool(self.flagged_bh[i])}
                for i, (p, lv) in enumerate(self.levels)]
        return {"method": "level vs rest z-test", "metric": self.metric, "alpha": self.alpha,
                "interval": self.interval, "levels": rows}

    def __str__(self) -> str:
        from bayeslab.core import format as fmt

        return (f"level-vs-rest tests of {self.metric}: {len(self.levels)} levels, "
                f"{int(self.flagged_bonferroni.sum())} flagged (Bonferroni), "
                f"{int(self.flagged_bh.sum())} (BH), alpha {fmt.number(self.alpha, 3)}")


@dataclass(frozen=True)
class LevelVersusRest:
    """Each level of each property against the rest of the population (z-tests).

    Parameters
    ----------
    alpha : float
        Level of the adjusted tests (default 0.05).
    interval : float
        Level of each level's effect interval (default 0.95).

    Raises
    ------
    ModelError
        ``alpha`` or ``interval`` outside (0, 1).

    See Also
    --------
    bayeslab.bayes.property_scan.PropertyScan : the hierarchical model of the same levels.
    """

    alpha: float = 0.05
    interval: float = DEFAULT_LEVEL

    def __post_init__(self):
        for name in ("alpha", "interval"):
            if not 0 < float(getattr(self, name)) < 1:
                raise ModelError(f"{name} must be in (0, 1), got {getattr(self, name)!r}")

    def fit(self, stats) -> LevelTests:
        """Test every level of :class:`~bayeslab.data.scan_properties.PropertyStats`."""
        e = stats.effects()
        diff = e["level"] - e["rest"]
        se = np.hypot(e["level_se"], e["rest_se"])
        p = np.array([2 * norm_sf(abs(v)) for v in diff / se])
        m = len(p)
        bonf = np.minimum(p * m, 1.0)
        bh = benjamini_hochberg(p)
        q = norm_ppf(0.5 + self.interval / 2)
        return LevelTests(metric=stats.metric, levels=list(stats.levels), n=stats.units,
                          effect=e["level"], lower=e["level"] - q * e["level_se"],
                          upper=e["level"] + q * e["level_se"], difference=diff,
                          difference_se=se, p_value=p, bonferroni=bonf, bh=bh,
                          flagged_bonferroni=bonf < self.alpha, flagged_bh=bh < self.alpha,
                          alpha=float(self.alpha), interval=float(self.interval))
