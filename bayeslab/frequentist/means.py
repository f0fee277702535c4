r"""Frequentist comparison of means: Welch's t-test, and a Wald test of Poisson rates for counts.

Welch's test compares the arm means without assuming equal variances:

.. math::

    \hat\Delta = \bar y_T - \bar y_C, \qquad
    \widehat{se} = \sqrt{s_T^2 / n_T + s_C^2 / n_C}, \qquad
    \nu = \frac{(s_T^2/n_T + s_C^2/n_C)^2}{\frac{(s_T^2/n_T)^2}{n_T - 1} +
    \frac{(s_C^2/n_C)^2}{n_C - 1}},

with a Student-t interval on :math:`\nu` degrees of freedom (Welch-Satterthwaite). The relative
lift :math:`\bar y_T / \bar y_C - 1` gets a delta-method interval. Everything is computed from the
per-arm ``n``, ``sum``, ``sum_sq`` of :class:`~bayeslab.data.stats.ArmStats`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import DataError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.stats import ArmStats
from bayeslab.data.summaries import arm_moments, warn_overdispersion


def welch_kernel(n1, m1, v1, n0, m0, v0, *, interval=0.95) -> dict:
    """Vectorized Welch comparison of treatment (1) with control (0) from n, mean, variance.

    Returns
    -------
    dict of arrays
        ``estimate, se, df, lower, upper, p_value, rel_estimate, rel_lower, rel_upper``.
    """
    n1, m1, v1, n0, m0, v0 = (np.asarray(a, float) for a in (n1, m1, v1, n0, m0, v0))
    a, b = v1 / n1, v0 / n0
    se = np.sqrt(a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n0 - 1))
        diff = m1 - m0
        tcrit = st.t.ppf(0.5 + interval / 2, df)
        p = 2 * st.t.sf(np.abs(diff / se), df)
        rel = m1 / m0 - 1
        rel_se = np.sqrt(a / m0**2 + m1**2 * b / m0**4)
    z = st.norm.ppf(0.5 + interval / 2)
    return {"estimate": diff, "se": se, "df": df, "lower": diff - tcrit * se,
            "upper": diff + tcrit * se, "p_value": p, "rel_estimate": rel,
            "rel_lower": rel - z * rel_se, "rel_upper": rel + z * rel_se}


@dataclass(frozen=True)
class WelchResult(EstimatesMixin):
    """Welch's t-test of each treatment arm against the control.

    Attributes
    ----------
    metric : str
    control : str
    arms : tuple of str
    per_arm : pandas.DataFrame
        ``arm, n, mean, var``.
    comparisons : pandas.DataFrame
        One row per treatment arm: ``arm, estimate, se, df, lower, upper, p_value,
        rel_estimate, rel_lower, rel_upper`` (relative lift with a delta-method normal interval).
    interval : float
    rows : RowAccount, optional
    method : str
        Method name used in :meth:`estimates` (``"welch"``).
    """

    metric: str
    control: str
    arms: tuple[str, ...]
    per_arm: pd.DataFrame
    comparisons: pd.DataFrame
    interval: float
    rows: RowAccount | None = None
    method: str = "welch"

    _title = "Welch t-test"

    def estimates(self) -> list[Estimate]:
        """Absolute and relative effect per treatment arm."""
        out = []
        for r in self.comparisons.itertuples():
            out.append(Estimate("frequentist", self.method, "absolute", r.estimate, r.lower,
                                r.upper, self.interval, arm=r.arm, p_value=r.p_value,
                                extra={"se": r.se, "df": r.df}))
            out.append(Estimate("frequentist", self.method, "relative", r.rel_estimate,
                                r.rel_lower, r.rel_upper, self.interval, arm=r.arm,
                                p_value=r.p_value))
        return out

    def _extra_dict(self):
        return {"per_arm": self.per_arm.to_dict("records"),
                "rows": self.rows.to_dict() if self.rows else None}


@dataclass(frozen=True)
class WelchTest:
    """Welch's t-test of each treatment arm against the control, from sufficient statistics.

    The statistic, degrees of freedom and intervals are those of the module docstring
    (:func:`welch_kernel`).

    Parameters
    ----------
    interval : float
        Confidence level.

    Raises
    ------
    ModelError
        If ``interval`` is not in (0, 1).

    See Also
    --------
    bayeslab.bayes.means.NormalMeans : the Bayesian counterpart.
    """

    interval: float = DEFAULT_LEVEL

    def __post_init__(self):
        object.__setattr__(self, "interval", check_interval(self.interval))

    def fit(self, stats: ArmStats) -> WelchResult:
        """Test per-arm ``n``, ``sum``, ``sum_sq`` (continuous or count outcome).

        Raises
        ------
        DataError
            If an arm has fewer than two units.
        """
        m = arm_moments(stats)
        c = m.iloc[0]
        rows = []
        for i in range(1, len(m)):
            t = m.iloc[i]
            k = welch_kernel(t.n, t["mean"], t["var"], c.n, c["mean"], c["var"],
                             interval=self.interval)
            rows.append({"arm": t.arm, **{key: float(v) for key, v in k.items()}})
        return WelchResult(metric=stats.metric, control=stats.control, arms=stats.arms,
                           per_arm=m, comparisons=pd.DataFrame(rows), interval=self.interval,
                           rows=stats.rows)


def welch(stats: ArmStats, *, interval: float = 0.95) -> WelchResult:
    """Welch's t-test of each treatment arm against the control: ``WelchTest(interval).fit``.

    Parameters
    ----------
    stats : ArmStats
        Per-arm ``n``, ``sum``, ``sum_sq`` (continuous or count outcome).
    interval : float
        Confidence level.

    Returns
    -------
    WelchResult

    Raises
    ------
    DataError
        If an arm has fewer than two units.
    ModelError
        If ``interval`` is not in (0, 1).

    See Also
    --------
    bayeslab.bayes.means.normal_means : the Bayesian counterpart.
    """
    return WelchTest(interval=interval).fit(stats)


@dataclass(frozen=True)
class PoissonRateResult(EstimatesMixin):
    """Wald comparison of Poisson rates (events per unit) of each treatment arm with control.

    Attributes
    ----------
    metric, control, arms, interval, rows
        As :class:`WelchResult`.
    per_arm : pandas.DataFrame
        ``arm, n, events, rate, dispersion`` (variance over mean of the per-unit counts; a
        Poisson model assumes 1).
    comparisons : pandas.DataFrame
        ``arm, estimate, lower, upper`` (rate difference), ``rel_estimate, rel_lower, rel_upper``
        (rate ratio minus one, interval on the log scale), ``p_value`` (Wald test of the log rate
        ratio).
    """

    metric: str
    control: str
    arms: tuple[str, ...]
    per_arm: pd.DataFrame
    comparisons: pd.DataFrame
    interval: float
    rows: RowAccount | None = None

    _title = "Poisson rate comparison"

    def estimates(self) -> list[Estimate]:
        """Rate difference and rate ratio per treatment arm."""
        out = []
        for r in self.comparisons.itertuples():
            out.append(Estimate("frequentist", "poisson-wald", "absolute", r.estimate, r.lower,
                                r.upper, self.interval, arm=r.arm, p_value=r.p_value))
            out.append(Estimate("frequentist", "poisson-wald", "relative", r.rel_estimate,
                                r.rel_lower, r.rel_upper, self.interval, arm=r.arm,
                                p_value=r.p_value))
        return out

    def _extra_dict(self):
        return {"per_arm": self.per_arm.to_dict("records")}


@dataclass(frozen=True)
class PoissonRateTest:
    r"""Wald comparison of Poisson rates per unit, from per-arm counts and event totals.

    .. math::

        \hat\lambda_a = S_a / n_a, \quad
        se(\hat\lambda_T - \hat\lambda_C) = \sqrt{\hat\lambda_T / n_T + \hat\lambda_C / n_C},
        \quad se(\log \hat\lambda_T / \hat\lambda_C) = \sqrt{1 / S_T + 1 / S_C}.

    Parameters
    ----------
    interval : float
        Confidence level.

    Raises
    ------
    ModelError
        If ``interval`` is not in (0, 1).

    See Also
    --------
    bayeslab.bayes.means.GammaPoisson : the Bayesian counterpart.
    """

    interval: float = DEFAULT_LEVEL

    def __post_init__(self):
        object.__setattr__(self, "interval", check_interval(self.interval))

    def fit(self, stats: ArmStats) -> PoissonRateResult:
        """Compare the rates of a count outcome (``kind="count"``).

        Warns (StatisticalWarning) when the counts are overdispersed.

        Raises
        ------
        DataError
            If an arm has no events.
        """
        t = stats.by_arm()
        n, s = t["n"].to_numpy(float), t["sum"].to_numpy(float)
        if np.any(s <= 0):
            raise DataError(f"an arm of {stats.metric!r} has no events: the rate ratio is "
                            "undefined", column=stats.metric)
        disp = warn_overdispersion(stats)
        rate = s / n
        z = st.norm.ppf(0.5 + self.interval / 2)
        rows = []
        for i in range(1, len(n)):
            d = rate[i] - rate[0]
            se = np.sqrt(rate[i] / n[i] + rate[0] / n[0])
            lr = np.log(rate[i] / rate[0])
            lse = np.sqrt(1 / s[i] + 1 / s[0])
            rows.append({"arm": stats.arms[i], "estimate": d, "lower": d - z * se,
                         "upper": d + z * se, "rel_estimate": np.expm1(lr),
                         "rel_lower": np.expm1(lr - z * lse),
                         "rel_upper": np.expm1(lr + z * lse),
                         "p_value": 2 * st.norm.sf(abs(lr / lse))})
        per_arm = pd.DataFrame({"arm": list(stats.arms), "n": n, "events": s, "rate": rate,
                                "dispersion": disp})
        return PoissonRateResult(metric=stats.metric, control=stats.control, arms=stats.arms,
                                 per_arm=per_arm, comparisons=pd.DataFrame(rows),
                                 interval=self.interval, rows=stats.rows)


def poisson_rates(stats: ArmStats, *, interval: float = 0.95) -> PoissonRateResult:
    """Wald comparison of Poisson rates: ``PoissonRateTest(interval).fit(stats)``.

    Parameters
    ----------
    stats : ArmStats
        Count outcome (``kind="count"``).
    interval : float
        Confidence level.

    Returns
    -------
    PoissonRateResult
        Warns (StatisticalWarning) when the counts are overdispersed.

    Raises
    ------
    DataError
        If an arm has no events.

    See Also
    --------
    bayeslab.bayes.means.gamma_poisson : the Bayesian counterpart.
    """
    return PoissonRateTest(interval=interval).fit(stats)
