r"""Frequentist retention: Kaplan-Meier curves per arm and the log-rank test (statsmodels).

Durations are follow-up times (to churn, the event, or to censoring). Per arm the Kaplan-Meier
estimate and its Greenwood standard error come from
``statsmodels.duration.survfunc.SurvfuncRight``, with a pointwise log-log interval
:math:`\hat S^{\exp(\pm z\, se / (\hat S \log \hat S))}`. Each treatment arm is compared with
the control by the log-rank test (``statsmodels.duration.survfunc.survdiff``) and the Peto
one-step hazard ratio

.. math::

    \log \widehat{HR} = \frac{O_T - E_T}{V}, \qquad se = 1 / \sqrt{V},

from the observed and expected events of the treatment arm and the hypergeometric variance
:math:`V` of the log-rank statistic, :math:`\chi^2 = (O_T - E_T)^2 / V`. Optionally the
survival difference at a ``horizon`` with a Greenwood normal interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st

from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.survival import SurvivalRows
from bayeslab.frequentist.means import check_interval


def logrank_parts(time, event, treated) -> tuple[float, float, float]:
    """Observed and expected events of the treated group and the log-rank variance.

    Returns
    -------
    (O, E, V) : float
    """
    time, event, treated = (np.asarray(a) for a in (time, event, treated))
    times = np.unique(time[event == 1])
    order = np.sort(time)
    order1 = np.sort(time[treated == 1])
    at_risk = len(time) - np.searchsorted(order, times, side="left")
    at_risk1 = len(order1) - np.searchsorted(order1, times, side="left")
    idx = np.searchsorted(times, time[event == 1])
    d = np.bincount(idx, minlength=len(times)).astype(float)
    d1 = np.bincount(idx, weights=treated[event == 1].astype(float), minlength=len(times))
    frac = at_risk1 / at_risk
    e1 = np.sum(d * frac)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(at_risk > 1, d * frac * (1 - frac) * (at_risk - d) / (at_risk - 1), 0.0)
    return float(d1.sum()), float(e1), float(v.sum())


def km_table(duration, event, *, interval=0.95) -> pd.DataFrame:
    """Kaplan-Meier curve (statsmodels) with Greenwood se and a log-log pointwise interval."""
    from statsmodels.duration.survfunc import SurvfuncRight

    sf = SurvfuncRight(np.asarray(duration, float), np.asarray(event, float))
    s, se = np.asarray(sf.surv_prob), np.asarray(sf.surv_prob_se)
    z = st.norm.ppf(0.5 + interval / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = z * se / (s * np.log(s))
        lower, upper = s ** np.exp(-w), s ** np.exp(w)
    ok = (s > 0) & (s < 1)
    return pd.DataFrame({"time": np.asarray(sf.surv_times), "survival": s, "se": se,
                         "lower": np.where(ok, lower, s), "upper": np.where(ok, upper, s),
                         "at_risk": np.asarray(sf.n_risk), "events": np.asarray(sf.n_events)})


def survival_at(curve: pd.DataFrame, t: float) -> tuple[float, float]:
    """Kaplan-Meier survival and Greenwood se at time ``t`` (right-continuous step)."""
    i = np.searchsorted(curve["time"].to_numpy(), t, side="right") - 1
    if i < 0:
        return 1.0, 0.0
    return float(curve["survival"].iloc[i]), float(curve["se"].iloc[i])


@dataclass(frozen=True)
class RetentionTest(EstimatesMixin):
    """Kaplan-Meier curves, log-rank tests and Peto hazard ratios against the control.

    Attributes
    ----------
    arms : tuple of str
    curves : dict of str to pandas.DataFrame
        Per arm: ``time, survival, se, lower, upper, at_risk, events``.
    comparisons : pandas.DataFrame
        Per treatment arm: ``observed, expected, variance, chisq, p_value, hr, hr_lower,
        hr_upper`` and, with a horizon, ``surv_diff, surv_lower, surv_upper``.
    horizon : float, optional
    interval : float
    rows : RowAccount, optional
    """

    arms: tuple[str, ...]
    curves: dict
    comparisons: pd.DataFrame
    horizon: float | None
    interval: float
    rows: RowAccount | None = None

    _title = "Kaplan-Meier and log-rank"

    @property
    def control(self) -> str:
        """Control label."""
        return self.arms[0]

    def estimates(self) -> list[Estimate]:
        """Peto hazard ratio with the log-rank p-value; survival difference at the horizon."""
        out = []
        for r in self.comparisons.itertuples():
            out.append(Estimate("frequentist", "log-rank", "hazard-ratio", r.hr, r.hr_lower,
                                r.hr_upper, self.interval, arm=r.arm, p_value=r.p_value,
                                extra={"chisq": r.chisq, "observed": r.observed,
                                       "expected": r.expected, "estimator": "peto"}))
            if self.horizon is not None:
                out.append(Estimate("frequentist", "kaplan-meier", "survival-difference",
                                    r.surv_diff, r.surv_lower, r.surv_upper, self.interval,
                                    arm=r.arm, p_value=r.surv_p_value,
                                    extra={"horizon": self.horizon}))
        return out

    def _extra_dict(self):
        return {"curves": {a: c.to_dict("list") for a, c in self.curves.items()},
                "horizon": self.horizon, "rows": self.rows.to_dict() if self.rows else None}


def kaplan_meier(rows: SurvivalRows, *, horizon: float | None = None,
                 interval: float = 0.95) -> RetentionTest:
    """Kaplan-Meier per arm, log-rank test and Peto hazard ratio of each arm against control.

    Parameters
    ----------
    rows : SurvivalRows
        From :func:`bayeslab.data.moments.survival_rows`.
    horizon : float, optional
        Time at which to compare survival (Greenwood normal interval).
    interval : float
        Confidence level.

    Returns
    -------
    RetentionTest

    Raises
    ------
    DataError
        If an arm has no events.
    ModelError
        If ``horizon`` is negative.

    See Also
    --------
    bayeslab.bayes.retention.piecewise_exponential : the Bayesian counterpart.
    """
    from statsmodels.duration.survfunc import survdiff

    interval = check_interval(interval)
    if horizon is not None and horizon < 0:
        raise ModelError(f"horizon must be non-negative, got {horizon!r}")
    z = st.norm.ppf(0.5 + interval / 2)
    curves = {}
    for i, arm in enumerate(rows.arms):
        m = rows.arm_index == i
        if rows.event[m].sum() == 0:
            raise DataError(f"arm {arm!r} has no events: no survival curve to compare")
        curves[arm] = km_table(rows.duration[m], rows.event[m], interval=interval)
    comps = []
    for i in range(1, len(rows.arms)):
        m = (rows.arm_index == 0) | (rows.arm_index == i)
        t, e, g = rows.duration[m], rows.event[m], (rows.arm_index[m] == i).astype(int)
        chisq, p = survdiff(t, e, g)
        o, ex, v = logrank_parts(t, e, g)
        lhr, lse = (o - ex) / v, 1 / np.sqrt(v)
        row = {"arm": rows.arms[i], "observed": o, "expected": ex, "variance": v,
               "chisq": float(chisq), "p_value": float(p), "hr": np.exp(lhr),
               "hr_lower": np.exp(lhr - z * lse), "hr_upper": np.exp(lhr + z * lse)}
        if horizon is not None:
            s1, se1 = survival_at(curves[rows.arms[i]], horizon)
            s0, se0 = survival_at(curves[rows.arms[0]], horizon)
            d, se = s1 - s0, np.hypot(se1, se0)
            row.update(surv_diff=d, surv_lower=d - z * se, surv_upper=d + z * se,
                       surv_p_value=2 * st.norm.sf(abs(d / se)) if se > 0 else np.nan)
        comps.append(row)
    return RetentionTest(arms=rows.arms, curves=curves, comparisons=pd.DataFrame(comps),
                         horizon=horizon, interval=interval, rows=rows.rows)
