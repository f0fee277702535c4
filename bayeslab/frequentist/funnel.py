r"""Frequentist ratio and funnel metrics with delta-method intervals.

A ratio metric :math:`R = \sum_i u_i / \sum_i w_i` (clicks per user, conversions per click) is
randomized by user, so its variance must come from user-level sums. With
:math:`\bar w = \sum w / n` the delta method gives

.. math::

    \widehat{var}(R) = \frac{1}{n \bar w^2}\, \frac{\sum_i (u_i - R w_i)^2}{n - 1}
    = \frac{S_{uu} - 2 R S_{uw} + R^2 S_{ww}}{(n - 1)\, n\, \bar w^2},

from the per-arm sums :math:`n, \sum u, \sum w, \sum u^2, \sum w^2, \sum u w`
(:func:`bayeslab.data.stats.sufficient_stats` with ``metric=numerator, covariate=denominator``).
Differences get a normal interval on :math:`\sqrt{var_T + var_C}`; relative lifts an interval on
the log ratio. For a funnel of nested 0/1 stages (users -> clicked -> converted) the same formula
gives CTR = clicked / users, PCVR = converted / clicked, CVR = converted / users, and the point
estimates satisfy CVR = CTR x PCVR exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import DataError
from bayeslab.core.estimates import Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.funnel import FunnelStats
from bayeslab.data.stats import ArmStats
from bayeslab.data.summaries import funnel_rates


def ratio_delta(n, s_num, s_den, s_nn, s_dd, s_nd):
    """Vectorized ratio and its delta-method variance from user-level sums.

    Returns
    -------
    (ratio, variance) : arrays
    """
    n, s_num, s_den, s_nn, s_dd, s_nd = (np.asarray(a, float)
                                         for a in (n, s_num, s_den, s_nn, s_dd, s_nd))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = s_num / s_den
        v = np.maximum(s_nn - 2 * r * s_nd + r * r * s_dd, 0.0) / (n - 1)
        return r, v * n / s_den**2


def compare_ratios(r1, v1, r0, v0, *, interval=0.95) -> dict:
    """Vectorized treatment-minus-control comparison of two independent ratio estimates.

    Returns
    -------
    dict of arrays
        ``estimate, se, lower, upper, p_value, rel_estimate, rel_lower, rel_upper``.
    """
    z = st.norm.ppf(0.5 + interval / 2)
    d = r1 - r0
    se = np.sqrt(v1 + v0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(r1 / r0)
        lse = np.sqrt(v1 / r1**2 + v0 / r0**2)
        p = 2 * st.norm.sf(np.abs(d / se))
    return {"estimate": d, "se": se, "lower": d - z * se, "upper": d + z * se, "p_value": p,
            "rel_estimate": np.expm1(lr), "rel_lower": np.expm1(lr - z * lse),
            "rel_upper": np.expm1(lr + z * lse)}


@dataclass(frozen=True)
class RatioResult(EstimatesMixin):
    """Delta-method comparison of one or more ratio metrics.

    Attributes
    ----------
    arms : tuple of str
    per_arm : pandas.DataFrame
        ``rate, arm, numerator, denominator, n, estimate, se``.
    comparisons : pandas.DataFrame
        ``rate, arm, estimate, se, lower, upper, p_value, rel_estimate, rel_lower, rel_upper``.
    interval : float
    rows : RowAccount, optional
    """

    arms: tuple[str, ...]
    per_arm: pd.DataFrame
    comparisons: pd.DataFrame
    interval: float
    rows: RowAccount | None = None

    _title = "Delta-method ratio metrics"

    @property
    def control(self) -> str:
        """Control label."""
        return self.arms[0]

    def estimates(self, rate: str | None = None) -> list[Estimate]:
        """Absolute and relative effects per rate and treatment arm (``extra["rate"]``)."""
        out = []
        for r in self.comparisons.itertuples():
            if rate is not None and r.rate != rate:
                continue
            extra = {"rate": r.rate, "se": r.se}
            out.append(Estimate("frequentist", "delta", "absolute", r.estimate, r.lower,
                                r.upper, self.interval, arm=r.arm, p_value=r.p_value,
                                extra=extra))
            out.append(Estimate("frequentist", "delta", "relative", r.rel_estimate, r.rel_lower,
                                r.rel_upper, self.interval, arm=r.arm, p_value=r.p_value,
                                extra={"rate": r.rate}))
        return out

    def _extra_dict(self):
        return {"per_arm": self.per_arm.to_dict("records"),
                "rows": self.rows.to_dict() if self.rows else None}


def _build(rates, arms, interval, rows):
    per_arm, comps = [], []
    for name, _num, den, n, sn, sd, snn, sdd, snd in rates:
        r, v = ratio_delta(n, sn, sd, snn, sdd, snd)
        if np.any(~np.isfinite(r)):
            raise DataError(f"rate {name!r}: an arm has a zero denominator ({den})")
        for i, a in enumerate(arms):
            per_arm.append({"rate": name, "arm": a, "numerator": sn[i], "denominator": sd[i],
                            "n": n[i], "estimate": r[i], "se": np.sqrt(v[i])})
        for i in range(1, len(arms)):
            k = compare_ratios(r[i], v[i], r[0], v[0], interval=interval)
            comps.append({"rate": name, "arm": arms[i], **{key: float(x) for key, x in k.items()}})
    return RatioResult(arms=tuple(arms), per_arm=pd.DataFrame(per_arm),
                       comparisons=pd.DataFrame(comps), interval=interval, rows=rows)


def ratio_metric(stats: ArmStats, *, name: str | None = None,
                 interval: float = 0.95) -> RatioResult:
    """Delta-method comparison of a user-level ratio metric sum(numerator) / sum(denominator).

    Parameters
    ----------
    stats : ArmStats
        ``sufficient_stats(source, metric=numerator, covariate=denominator, kind="count")``.
    name : str, optional
        Name of the rate (default ``"numerator/denominator"``).
    interval : float
        Confidence level.

    Returns
    -------
    RatioResult

    Raises
    ------
    DataError
        Without the denominator sums, or with an arm whose denominator sums to zero.

    See Also
    --------
    funnel : nested 0/1 stages; bayeslab.bayes.funnel.funnel : Bayesian counterpart.
    """
    interval = check_interval(interval)
    if stats.covariate is None:
        raise DataError("a ratio metric needs the denominator as the covariate column: "
                        "sufficient_stats(..., metric=numerator, covariate=denominator)")
    t = stats.by_arm()
    cols = [t[c].to_numpy(float) for c in ("n", "sum", "sum_x", "sum_sq", "sum_xx", "sum_xy")]
    label = name or f"{stats.metric}/{stats.covariate}"
    return _build([(label, stats.metric, stats.covariate, *cols)], stats.arms, interval,
                  stats.rows)


def funnel(fs: FunnelStats, *, interval: float = 0.95) -> RatioResult:
    """Delta-method comparison of every funnel rate (CTR, PCVR, CVR for a two-stage funnel).

    Parameters
    ----------
    fs : FunnelStats
        From :func:`bayeslab.data.moments.funnel_stats` or ``FunnelStats.from_counts``.
    interval : float
        Confidence level.

    Returns
    -------
    RatioResult

    Raises
    ------
    DataError
        If a rate has an arm with a zero denominator.

    See Also
    --------
    bayeslab.bayes.funnel.funnel : Bayesian counterpart.
    """
    interval = check_interval(interval)
    counts = np.column_stack([fs.users, fs.counts])  # arm x (users, stage 1, ...)
    rates = []
    for name, j, i in funnel_rates(fs):
        num, den = counts[:, j], counts[:, i]
        # binary nested stages: u^2 = u, w^2 = w, u w = u
        rates.append((name, j, i, fs.users, num, den, num, den, num))
    return _build(rates, fs.arms, interval, fs.rows)
