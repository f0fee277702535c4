"""What both propensity sides share: the design matrix, separation errors, effect rows.

Neutral ground for :mod:`bayeslab.bayes.propensity` and :mod:`bayeslab.frequentist.propensity`.
"""

from __future__ import annotations

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.core.estimates import Estimate


def design(units) -> np.ndarray:
    """Intercept plus standardized confounders of ``units`` (a :class:`UnitData`)."""
    Z, _, _ = units.standardized()
    return np.column_stack([np.ones(units.n), Z])


def raise_separation(units, coef):
    """Raise a DataError naming the confounder that drives separation (largest coefficient)."""
    worst = int(np.argmax(np.abs(coef[1:])))
    column = units.sources[worst]
    raise DataError(
        f"the propensity model separates the arms (perfect or quasi-complete separation), "
        f"driven by confounder {column!r} (design column {units.names[worst]!r}, standardized "
        f"coefficient {coef[1 + worst]:+.3g}): some units are certain to be treated or not, so "
        "they have no comparison; restrict the rows to the common support or drop the column",
        column=column)


def effect_estimates(side, eff_rows, level, *, bayes=False) -> list[Estimate]:
    """Absolute and relative :class:`Estimate` entries for each effect row (both sides)."""
    out = []
    for r in eff_rows:
        common = {"estimand": r.estimand, "control_mean": r.control_mean,
                  "treatment_mean": r.treatment_mean, "n": r.n, **r.extra}
        if not bayes:
            common.update(se=r.se, ci=r.ci)
        kw = {} if bayes else {"p_value": r.p_value}
        kw_abs = {"prob_positive": r.prob_positive, "expected_loss": r.expected_loss} if bayes \
            else {}
        # Bayesian rows carry the Monte Carlo standard errors of their sampled numbers
        mc = r.mcse if bayes else {}
        out.append(Estimate(side=side, method=r.method, effect="absolute", estimate=r.diff,
                            lower=r.lower, upper=r.upper, level=level,
                            extra=common | ({"mcse": mc["absolute"]} if mc else {}),
                            **kw, **kw_abs))
        out.append(Estimate(side=side, method=r.method, effect="relative", estimate=r.rel,
                            lower=r.rel_lower, upper=r.rel_upper, level=level,
                            extra=common | ({"mcse": mc["relative"]} if mc else {}), **kw))
    return out
