r"""Frequentist revenue readout with pre-period covariates: Welch, CUPED and HC-robust ANCOVA.

All three run on per-arm sums from one scan: :func:`bayeslab.data.moments.covariate_moments`
for one numeric covariate, :func:`bayeslab.data.covariates.covariates_moments` for several
(numeric, or categorical one-hot encoded with the first level dropped):

* **Welch** on the raw outcome (:func:`bayeslab.frequentist.means.welch`).
* **CUPED** (:mod:`bayeslab.frequentist.cuped`), with one or several covariates.
* **ANCOVA**: OLS of :math:`y_i = \alpha_{a(i)} + \beta' (x_i - \bar x) + e_i` with a
  heteroskedasticity-robust sandwich covariance (HC0, or HC1 with the :math:`n / (n - k)` factor,
  :math:`k` = arms + covariates; statsmodels' ``cov_type="HC1"``) and a normal interval, as
  statsmodels reports it. The sandwich :math:`(X'X)^{-1} \sum_i e_i^2 x_i x_i' (X'X)^{-1}` is
  expanded into per-arm sums of products of up to four of :math:`(1, x, y)`, so it needs no unit
  rows. HC2 / HC3 need each unit's leverage and are not available from sums.

The variance reduction reported beside CUPED and ANCOVA is
:math:`1 - \widehat{var}(\hat\Delta_{adj}) / \widehat{var}(\hat\Delta_{Welch})`.
Raw moments are expanded around the pooled means in double precision; with
:math:`|\bar y| / s_y` up to about 1e3 this loses no more than about 1e-10 relative accuracy.
Estimators take options in ``__init__`` and statistics in ``fit`` (:class:`Ancova`,
:class:`Cuped`, :class:`RevenueTests`); the functions are their functional forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats as st

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.covariates import (
    CovariateMoments,
    centered_tensors,
    scan_covariates,
)
from bayeslab.data.moments import (
    HIGHER_MOMENTS,
    Clipping,
    account_trimmed,
    clip_outcome,
)
from bayeslab.data.sources import open_source
from bayeslab.data.stats import ArmStats
from bayeslab.data.summaries import centered_moments
from bayeslab.frequentist.cuped import (
    AdjustedResult,
    Cuped,
    check_covariate,
    cuped,
    pooled_theta,
    within_theta,
)
from bayeslab.frequentist.means import WelchResult, welch

COV_TYPES = ("HC0", "HC1")


def ancova_fit(stats: ArmStats, *, cov_type: str = "HC1") -> dict:
    r"""OLS of outcome on arm indicators and the centered covariate, with an HC covariance.

    The model is parametrized by arm means, :math:`y_i = \alpha_{a(i)} + \beta (x_i - \bar x)`,
    which has the same fit and (by equivariance of the sandwich) the same treatment-contrast
    covariance as the intercept-plus-dummies form.

    Returns
    -------
    dict
        ``coef`` (arm-adjusted means then the slope), ``cov`` (HC covariance), ``n``,
        ``ssr``, ``ybar``, ``xbar``.
    """
    if cov_type not in COV_TYPES:
        raise ModelError(f"cov_type must be one of {', '.join(COV_TYPES)} from sufficient "
                         f"statistics (HC2/HC3 need unit leverages), got {cov_type!r}")
    check_covariate(stats, higher=True)
    c, ybar, xbar = centered_moments(stats)
    k = len(stats.arms)
    n = c[(0, 0)]
    xtx = np.zeros((k + 1, k + 1))
    xtx[np.arange(k), np.arange(k)] = n
    xtx[:k, k] = xtx[k, :k] = c[(0, 1)]
    xtx[k, k] = c[(0, 2)].sum()
    xty = np.r_[c[(1, 0)], c[(1, 1)].sum()]
    if np.linalg.cond(xtx) > 1e14:
        raise DataError(f"covariate {stats.covariate!r} is constant or collinear with the arm",
                        column=stats.covariate)
    coef = np.linalg.solve(xtx, xty)
    a, b = coef[:k], coef[k]

    def e2(m):  # sum over each arm of e^2 v^m, e = w - a - b v
        return (c[(2, m)] - 2 * a * c[(1, m)] - 2 * b * c[(1, m + 1)] + a * a * c[(0, m)]
                + 2 * a * b * c[(0, m + 1)] + b * b * c[(0, m + 2)])

    s0, s1, s2 = e2(0), e2(1), e2(2)
    meat = np.zeros_like(xtx)
    meat[np.arange(k), np.arange(k)] = s0
    meat[:k, k] = meat[k, :k] = s1
    meat[k, k] = s2.sum()
    bread = np.linalg.inv(xtx)
    cov = bread @ meat @ bread
    n_all = n.sum()
    if cov_type == "HC1":
        cov = cov * n_all / (n_all - (k + 1))
    coef = coef.copy()
    coef[:k] += ybar
    return {"coef": coef, "cov": cov, "n": n, "ssr": float(s0.sum()), "ybar": ybar,
            "xbar": xbar}


def ancova_moments_fit(cm: CovariateMoments, *, cov_type: str = "HC1") -> dict:
    r"""OLS of outcome on arm indicators and several centered covariates, HC covariance.

    With :math:`u = (1, v, w)` (centered design columns and outcome) and, per arm,
    :math:`g_a = (-\alpha_a, -\beta, 1)` so that :math:`e_i = g_{a(i)}' u_i`, the meat is
    :math:`\sum_{i \in a} e_i^2 u_j u_l = \sum_{m, n} g_{am} g_{an} T_{a, mnjl}` with
    :math:`T_a` the per-arm fourth-order sums.

    Returns
    -------
    dict
        As :func:`ancova_fit`: ``coef`` (arm-adjusted means, then one slope per design
        column), ``cov``, ``n``, ``ssr``, ``ybar``.
    """
    if cov_type not in COV_TYPES:
        raise ModelError(f"cov_type must be one of {', '.join(COV_TYPES)} from sufficient "
                         f"statistics (HC2/HC3 need unit leverages), got {cov_type!r}")
    t2, t4, c = centered_tensors(cm)
    k, P = len(cm.arms), len(cm.columns)
    q = P + 1
    n = t2[:, 0, 0]
    xtx = np.zeros((k + P, k + P))
    xtx[np.arange(k), np.arange(k)] = n
    xtx[:k, k:] = t2[:, 0, 1:q]
    xtx[k:, :k] = xtx[:k, k:].T
    xtx[k:, k:] = t2[:, 1:q, 1:q].sum(axis=0)
    xty = np.r_[t2[:, 0, q], t2[:, 1:q, q].sum(axis=0)]
    within = xtx[k:, k:] - (xtx[k:, :k] / n) @ xtx[:k, k:]
    dg = np.diag(within)
    if np.any(dg <= 1e-12 * np.maximum(np.diag(xtx[k:, k:]), 1e-300)):
        j = int(np.argmin(dg / np.maximum(np.diag(xtx[k:, k:]), 1e-300)))
        raise DataError(f"covariate {cm.columns[j]!r} is constant within arms",
                        column=cm.columns[j].split("[")[0])
    d = 1 / np.sqrt(dg)
    if np.linalg.cond(within * d[:, None] * d[None, :]) > 1e12:
        raise DataError(f"covariates {', '.join(map(repr, cm.columns))} are collinear: drop "
                        "one of them", column=cm.covariates[0])
    coef = np.linalg.solve(xtx, xty)
    g = np.zeros((k, P + 2))
    g[:, 0] = -coef[:k]
    g[:, 1:q] = -coef[k:]
    g[:, q] = 1.0
    m = np.einsum("am,an,amnjl->ajl", g, g, t4[:, :, :, :q, :q])
    meat = np.zeros_like(xtx)
    meat[np.arange(k), np.arange(k)] = m[:, 0, 0]
    meat[:k, k:] = m[:, 0, 1:]
    meat[k:, :k] = meat[:k, k:].T
    meat[k:, k:] = m[:, 1:, 1:].sum(axis=0)
    bread = np.linalg.inv(xtx)
    cov = bread @ meat @ bread
    n_all = n.sum()
    if cov_type == "HC1":
        cov = cov * n_all / (n_all - (k + P))
    coef = coef.copy()
    coef[:k] += c[-1]
    return {"coef": coef, "cov": cov, "n": n, "ssr": float(m[:, 0, 0].sum()),
            "ybar": float(c[-1])}


def ancova(stats: ArmStats, *, cov_type: str = "HC1", interval: float = 0.95) -> AdjustedResult:
    r"""OLS ANCOVA (outcome ~ arm + centered covariate) with HC-robust standard errors.

    .. math::

        y_i = \alpha_C + \sum_T \tau_T d_{iT} + \beta (x_i - \bar x) + e_i, \qquad
        \widehat{cov}(\hat\theta) = c\,(X'X)^{-1} \Bigl(\sum_i \hat e_i^2 x_i x_i'\Bigr)
        (X'X)^{-1},

    with :math:`c = 1` (HC0) or :math:`n / (n - k)` (HC1), and a normal interval. The relative
    lift :math:`\tau_T / \alpha_C` (adjusted means at the pooled covariate mean) has a
    delta-method interval.

    Parameters
    ----------
    stats : ArmStats
        From :func:`bayeslab.data.moments.covariate_moments` (needs the higher moments).
    cov_type : {"HC1", "HC0"}
        Sandwich variant (statsmodels' names).
    interval : float
        Confidence level.

    Returns
    -------
    AdjustedResult
        ``method="ancova-hc"``; ``detail`` has ``cov_type``.

    Raises
    ------
    DataError
        Without higher moments, or with a constant covariate.
    ModelError
        For an unsupported ``cov_type``.

    See Also
    --------
    cuped : with ``theta="within"`` gives the same point estimate;
    bayeslab.bayes.revenue.regression : the Bayesian counterpart.
    """
    interval = check_interval(interval)
    multi = isinstance(stats, CovariateMoments)
    if multi:
        fit = ancova_moments_fit(stats, cov_type=cov_type)
        k, names = len(stats.arms), stats.columns
        w = welch(stats.stats, interval=interval).comparisons
    else:
        fit = ancova_fit(stats, cov_type=cov_type)
        k, names = len(stats.arms), (stats.covariate,)
        w = welch(stats, interval=interval).comparisons
    coef, cov, n = fit["coef"], fit["cov"], fit["n"]
    z = st.norm.ppf(0.5 + interval / 2)
    rows = []
    for i in range(1, len(stats.arms)):
        g = np.zeros(len(coef))
        g[i], g[0] = 1.0, -1.0
        est = coef[i] - coef[0]
        se = float(np.sqrt(g @ cov @ g))
        gr = np.zeros(len(coef))
        gr[i], gr[0] = 1 / coef[0], -coef[i] / coef[0] ** 2
        rel, rse = coef[i] / coef[0] - 1, float(np.sqrt(gr @ cov @ gr))
        rows.append({"arm": stats.arms[i], "estimate": est, "se": se, "lower": est - z * se,
                     "upper": est + z * se, "p_value": 2 * st.norm.sf(abs(est / se)),
                     "rel_estimate": rel, "rel_lower": rel - z * rse, "rel_upper": rel + z * rse,
                     "variance_reduction": 1 - se**2 / float(w["se"].iloc[i - 1]) ** 2})
    means = pd.DataFrame({"arm": list(stats.arms), "n": n, "mean": coef[:k]})
    detail = {"cov_type": cov_type}
    if multi:
        detail["coefficients"] = dict(zip(names, coef[k:].tolist(), strict=True))
    covariate = ",".join(stats.covariates) if multi else stats.covariate
    slope = float(coef[k]) if len(names) == 1 else float("nan")
    return AdjustedResult(method="ancova-hc", metric=stats.metric, covariate=covariate,
                          control=stats.control, arms=stats.arms, slope=slope,
                          comparisons=pd.DataFrame(rows), adjusted_means=means,
                          interval=interval, detail=detail, rows=stats.rows)


class Ancova:
    """HC-robust OLS ANCOVA: options here, statistics to ``fit`` (class form of :func:`ancova`).

    Parameters
    ----------
    cov_type : {"HC1", "HC0"}
    interval : float
    """

    method = "ancova-hc"

    def __init__(self, *, cov_type: str = "HC1", interval: float = 0.95):
        if cov_type not in COV_TYPES:
            raise ModelError(f"cov_type must be one of {', '.join(COV_TYPES)}, got {cov_type!r}")
        self.cov_type = cov_type
        self.interval = check_interval(interval)

    def fit(self, stats) -> AdjustedResult:
        """ANCOVA on ``stats`` (ArmStats from ``covariate_moments``, or CovariateMoments)."""
        return ancova(stats, cov_type=self.cov_type, interval=self.interval)


@dataclass(frozen=True)
class RevenueResult(EstimatesMixin):
    """Welch, CUPED (pooled theta) and HC ANCOVA on one revenue metric, from one scan.

    Attributes
    ----------
    welch : WelchResult
    cuped : AdjustedResult
    ancova : AdjustedResult
    stats : ArmStats or CovariateMoments
        The sufficient statistics behind all three (reusable by the Bayesian regression).
    clipping : Clipping, optional
        What winsorizing / trimming changed, when asked for.
    """

    welch: WelchResult
    cuped: AdjustedResult
    ancova: AdjustedResult
    stats: ArmStats | CovariateMoments = field(repr=False)
    clipping: Clipping | None = None

    _title = "Frequentist revenue readout"

    @property
    def rows(self) -> RowAccount:
        """Row accounting of the scan."""
        return self.stats.rows

    def estimates(self) -> list[Estimate]:
        """Welch, CUPED and ANCOVA estimates; clipping (if any) recorded in ``extra``."""
        out = self.welch.estimates() + self.cuped.estimates() + self.ancova.estimates()
        if self.clipping is not None:
            clip = {"clipping": {"method": self.clipping.method, "cap": self.clipping.cap,
                                 "quantile": self.clipping.quantile}}
            out = [Estimate(**{**e.__dict__, "extra": {**e.extra, **clip}}) for e in out]
        return out

    def _extra_dict(self):
        return {"rows": self.rows.to_dict(),
                "clipping": self.clipping.to_dict() if self.clipping else None}


def revenue_tests(stats, *, interval: float = 0.95,
                  cov_type: str = "HC1") -> RevenueResult:
    """Welch, CUPED (pooled theta) and HC ANCOVA from covariate moments.

    Parameters
    ----------
    stats : ArmStats or CovariateMoments
        From :func:`bayeslab.data.moments.covariate_moments` (one covariate) or
        :func:`bayeslab.data.covariates.covariates_moments` (several).
    interval : float
        Confidence level.
    cov_type : {"HC1", "HC0"}
        Sandwich variant of the ANCOVA.

    Returns
    -------
    RevenueResult

    Raises
    ------
    DataError
        Without covariate or higher moments.
    """
    base = stats.stats if isinstance(stats, CovariateMoments) else stats
    return RevenueResult(welch=welch(base, interval=interval),
                         cuped=cuped(stats, theta="pooled", interval=interval),
                         ancova=ancova(stats, cov_type=cov_type, interval=interval), stats=stats)


class RevenueTests:
    """Welch, CUPED and HC ANCOVA together: options here, statistics to ``fit``.

    The class form of :func:`revenue_tests`.
    """

    def __init__(self, *, interval: float = 0.95, cov_type: str = "HC1"):
        self.interval = check_interval(interval)
        self.cov_type = cov_type

    def fit(self, stats) -> RevenueResult:
        """The three tests on ``stats``."""
        return revenue_tests(stats, interval=self.interval, cov_type=self.cov_type)


def _points(result: RevenueResult) -> dict:
    out = {}
    multi = len(result.stats.arms) > 2
    for e in result.estimates():
        if e.effect == "absolute":
            out[f"{e.method}:{e.arm}" if multi else e.method] = e.estimate
    return out


def revenue(data, *, arm: str, metric: str, covariate, control: str | None = None,
            interval: float = 0.95, cov_type: str = "HC1", clip: str | None = None,
            clip_quantile: float = 0.99, missing: str = "error") -> RevenueResult:
    """Frequentist revenue readout: one DuckDB scan, then Welch, CUPED and HC ANCOVA.

    Parameters
    ----------
    data : Source, DataFrame or path
        Unit-level table.
    arm, metric : str
        Arm and outcome columns.
    covariate : str or sequence of str
        Pre-period covariate column(s): ``"x"``, ``"a,b"`` or a list; text columns are
        categorical (one-hot, first level dropped).
    control : str, optional
        Control label.
    interval : float
        Confidence level.
    cov_type : {"HC1", "HC0"}
        ANCOVA sandwich variant.
    clip : {None, "winsorize", "trim"}
        Explicit outlier handling of the outcome at the pooled ``clip_quantile``: winsorize caps
        values above it, trim drops those rows. The result's ``clipping`` records the cap, rows
        affected per arm and each estimate before and after (one extra scan for the quantile and
        one for the unclipped estimates).
    clip_quantile : float
        Upper quantile for ``clip``.
    missing : {"error", "exclude"}
        Rows with a missing outcome, covariate or arm.

    Returns
    -------
    RevenueResult

    Raises
    ------
    DataError
        Bad columns or values (see :func:`bayeslab.data.moments.covariate_moments`).
    ModelError
        Bad options.

    See Also
    --------
    bayeslab.bayes.revenue.regression : the Bayesian counterpart on the same statistics.
    """
    source = open_source(data)

    def scan(src):
        return scan_covariates(src, arm=arm, metric=metric, covariate=covariate,
                               control=control, missing=missing)

    if clip is None:
        return revenue_tests(scan(source), interval=interval, cov_type=cov_type)
    before = revenue_tests(scan(source), interval=interval, cov_type=cov_type)
    view, clipping = clip_outcome(source, arm=arm, metric=metric, method=clip,
                                  quantile=clip_quantile)
    stats = scan(view)
    if isinstance(stats, CovariateMoments):
        stats = replace(stats, stats=account_trimmed(stats.stats, clipping))
    else:
        stats = account_trimmed(stats, clipping)
    after = revenue_tests(stats, interval=interval, cov_type=cov_type)
    clipping = Clipping(method=clipping.method, quantile=clipping.quantile, cap=clipping.cap,
                        rows_affected=clipping.rows_affected, before=_points(before),
                        after=_points(after))
    return RevenueResult(welch=after.welch, cuped=after.cuped, ancova=after.ancova, stats=stats,
                         clipping=clipping)


__all__ = ["HIGHER_MOMENTS", "AdjustedResult", "Ancova", "Cuped", "RevenueResult", "RevenueTests",
           "ancova", "ancova_fit", "ancova_moments_fit", "check_covariate", "cuped",
           "pooled_theta", "revenue", "revenue_tests", "within_theta"]
