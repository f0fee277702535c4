r"""Frequentist revenue readout with a pre-period covariate: Welch, CUPED and HC-robust ANCOVA.

All three run on per-arm sums from one DuckDB scan
(:func:`bayeslab.data.moments.covariate_moments`):

* **Welch** on the raw outcome (:func:`bayeslab.frequentist.means.welch`).
* **CUPED** (Deng et al. 2013): :math:`y^{adj}_i = y_i - \theta (x_i - \bar x)` and Welch on the
  adjusted outcome, :math:`\theta` treated as fixed. ``theta="pooled"`` fits
  :math:`\theta = \widehat{cov}(x, y) / \widehat{var}(x)` on all units pooled (ignoring arm);
  ``theta="within"`` fits the pooled within-arm slope
  :math:`\theta = \sum_a S_{xy,a} / \sum_a S_{xx,a}`, whose effect estimate equals the ANCOVA
  coefficient exactly.
* **ANCOVA**: OLS of :math:`y_i = \alpha_{a(i)} + \beta (x_i - \bar x) + e_i` with a
  heteroskedasticity-robust sandwich covariance (HC0, or HC1 with the :math:`n / (n - k)` factor;
  statsmodels' ``cov_type="HC1"``) and a normal interval, as statsmodels reports it. The
  sandwich :math:`(X'X)^{-1} \sum_i e_i^2 x_i x_i' (X'X)^{-1}` is expanded into per-arm sums of
  :math:`y^p x^q` up to fourth order, so it needs no unit rows. HC2 / HC3 need each unit's
  leverage and are not available from sums.

The variance reduction reported beside CUPED and ANCOVA is
:math:`1 - \widehat{var}(\hat\Delta_{adj}) / \widehat{var}(\hat\Delta_{Welch})`.
Raw moments are expanded around the pooled means in double precision; with
:math:`|\bar y| / s_y` up to about 1e3 this loses no more than about 1e-10 relative accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as st

from bayeslab.data.accounting import RowAccount
from bayeslab.data.moments import (
    HIGHER_MOMENTS,
    Clipping,
    account_trimmed,
    clip_outcome,
    covariate_moments,
    has_higher_moments,
)
from bayeslab.data.sources import open_source
from bayeslab.data.stats import ArmStats
from bayeslab.data.summaries import centered_moments
from bayeslab.errors import DataError, ModelError
from bayeslab.frequentist.means import WelchResult, welch, welch_kernel
from bayeslab.resultbase import EstimatesMixin
from bayeslab.results import Estimate
from bayeslab.validate import check_interval

COV_TYPES = ("HC0", "HC1")


def check_covariate(stats: ArmStats, *, higher: bool = False) -> None:
    """Raise DataError unless ``stats`` has covariate sums (and, if asked, higher moments)."""
    if stats.covariate is None or "sum_xy" not in stats.table.columns:
        raise DataError("this estimator needs a covariate: compute the statistics with "
                        "covariate=... (covariate_moments or sufficient_stats)")
    if higher and not has_higher_moments(stats):
        raise DataError("the HC ANCOVA needs higher cross-moments: compute the statistics with "
                        "bayeslab.data.moments.covariate_moments")


def _arm_frame(stats: ArmStats) -> pd.DataFrame:
    c, _, _ = centered_moments(stats)
    n = c[(0, 0)]
    if np.any(n < 2):
        raise DataError("every arm needs at least 2 units", column=stats.arm)
    my, mx = c[(1, 0)] / n, c[(0, 1)] / n  # arm means minus pooled means
    syy = (c[(2, 0)] - n * my**2) / (n - 1)
    sxx = (c[(0, 2)] - n * mx**2) / (n - 1)
    sxy = (c[(1, 1)] - n * my * mx) / (n - 1)
    return pd.DataFrame({"arm": list(stats.arms), "n": n, "dmean_y": my, "dmean_x": mx,
                         "var_y": syy, "var_x": sxx, "cov_xy": sxy})


def pooled_theta(stats: ArmStats) -> float:
    """CUPED theta on all units pooled: sample cov(x, y) / var(x), ignoring the arm."""
    c, _, _ = centered_moments(stats)
    sxx = c[(0, 2)].sum()
    if sxx <= 0:
        raise DataError(f"covariate {stats.covariate!r} is constant: it cannot adjust anything",
                        column=stats.covariate)
    return float(c[(1, 1)].sum() / sxx)


def within_theta(stats: ArmStats) -> float:
    """Pooled within-arm slope sum_a S_xy,a / sum_a S_xx,a (the ANCOVA coefficient)."""
    f = _arm_frame(stats)
    sxx = ((f["n"] - 1) * f["var_x"]).sum()
    if sxx <= 0:
        raise DataError(f"covariate {stats.covariate!r} is constant within arms",
                        column=stats.covariate)
    return float(((f["n"] - 1) * f["cov_xy"]).sum() / sxx)


@dataclass(frozen=True)
class AdjustedResult(EstimatesMixin):
    """A covariate-adjusted comparison (CUPED or ANCOVA) of each treatment arm with control.

    Attributes
    ----------
    method : str
        ``"cuped"`` (pooled theta), ``"cuped-within"`` or ``"ancova-hc"``.
    metric, covariate, control : str
    arms : tuple of str
    slope : float
        Theta (CUPED) or the ANCOVA covariate coefficient.
    comparisons : pandas.DataFrame
        One row per treatment arm: ``arm, estimate, se, lower, upper, p_value, rel_estimate,
        rel_lower, rel_upper, variance_reduction`` (and ``df`` for CUPED).
    adjusted_means : pandas.DataFrame
        ``arm, n, mean`` (covariate-adjusted arm means at the pooled covariate mean).
    interval : float
    detail : dict
        ``cov_type`` for ANCOVA, ``theta`` kind for CUPED.
    rows : RowAccount, optional
    """

    method: str
    metric: str
    covariate: str
    control: str
    arms: tuple[str, ...]
    slope: float
    comparisons: pd.DataFrame
    adjusted_means: pd.DataFrame
    interval: float
    detail: dict = field(default_factory=dict)
    rows: RowAccount | None = None

    @property
    def _title(self):
        return f"{self.method} on {self.metric!r} adjusted for {self.covariate!r}"

    def estimates(self) -> list[Estimate]:
        """Absolute and relative effect per treatment arm, variance reduction in ``extra``."""
        out = []
        for r in self.comparisons.itertuples():
            extra = {"se": r.se, "variance_reduction": r.variance_reduction,
                     "slope": self.slope, "covariate": self.covariate, **self.detail}
            out.append(Estimate("frequentist", self.method, "absolute", r.estimate, r.lower,
                                r.upper, self.interval, arm=r.arm, p_value=r.p_value,
                                extra=extra))
            out.append(Estimate("frequentist", self.method, "relative", r.rel_estimate,
                                r.rel_lower, r.rel_upper, self.interval, arm=r.arm,
                                p_value=r.p_value,
                                extra={"variance_reduction": r.variance_reduction}))
        return out

    def _extra_dict(self):
        return {"slope": self.slope, "adjusted_means": self.adjusted_means.to_dict("records"),
                **self.detail}


def cuped(stats: ArmStats, *, theta: str | float = "pooled",
          interval: float = 0.95) -> AdjustedResult:
    r"""CUPED: Welch's test on :math:`y - \theta (x - \bar x)`, from sufficient statistics.

    .. math::

        \hat\Delta = (\bar y_T - \bar y_C) - \theta (\bar x_T - \bar x_C), \qquad
        s^2_{adj,a} = s^2_{y,a} - 2 \theta s_{xy,a} + \theta^2 s^2_{x,a}.

    Parameters
    ----------
    stats : ArmStats
        With covariate sums (``sum_x, sum_xx, sum_xy``).
    theta : {"pooled", "within"} or float
        ``"pooled"``: cov/var on all units pooled (the usual CUPED); ``"within"``: pooled
        within-arm slope (equals the ANCOVA coefficient); a number: use it as given.
    interval : float
        Confidence level (Welch-Satterthwaite t interval).

    Returns
    -------
    AdjustedResult
        ``method`` is ``"cuped"`` for pooled or fixed theta, ``"cuped-within"`` for within.

    Raises
    ------
    DataError
        Without covariate sums, or with a constant covariate.
    ModelError
        For an unknown ``theta``.

    See Also
    --------
    ancova : the regression form; bayeslab.bayes.revenue.regression : Bayesian counterpart.
    """
    interval = check_interval(interval)
    check_covariate(stats)
    if theta == "pooled":
        th, method = pooled_theta(stats), "cuped"
    elif theta == "within":
        th, method = within_theta(stats), "cuped-within"
    elif isinstance(theta, (int, float)) and np.isfinite(theta):
        th, method = float(theta), "cuped"
    else:
        raise ModelError(f"theta must be 'pooled', 'within' or a number, got {theta!r}")
    f = _arm_frame(stats)
    n = f["n"].to_numpy()
    _, ybar, _ = centered_moments(stats)
    mean_adj = f["dmean_y"].to_numpy() - th * f["dmean_x"].to_numpy() + ybar
    var_adj = np.maximum(f["var_y"] - 2 * th * f["cov_xy"] + th**2 * f["var_x"], 0).to_numpy()
    var_raw = f["var_y"].to_numpy()
    mean_raw = f["dmean_y"].to_numpy() + ybar
    rows = []
    for i in range(1, len(n)):
        k = welch_kernel(n[i], mean_adj[i], var_adj[i], n[0], mean_adj[0], var_adj[0],
                         interval=interval)
        raw = welch_kernel(n[i], mean_raw[i], var_raw[i], n[0], mean_raw[0], var_raw[0],
                           interval=interval)
        vr = 1 - float(k["se"]) ** 2 / float(raw["se"]) ** 2
        rows.append({"arm": stats.arms[i], **{key: float(v) for key, v in k.items()},
                     "variance_reduction": vr})
    means = pd.DataFrame({"arm": list(stats.arms), "n": n, "mean": mean_adj})
    return AdjustedResult(method=method, metric=stats.metric, covariate=stats.covariate,
                          control=stats.control, arms=stats.arms, slope=th,
                          comparisons=pd.DataFrame(rows), adjusted_means=means,
                          interval=interval, detail={"theta": theta if isinstance(theta, str)
                                                     else "fixed"}, rows=stats.rows)


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
    fit = ancova_fit(stats, cov_type=cov_type)
    coef, cov, n = fit["coef"], fit["cov"], fit["n"]
    z = st.norm.ppf(0.5 + interval / 2)
    w = welch(stats, interval=interval).comparisons
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
    means = pd.DataFrame({"arm": list(stats.arms), "n": n, "mean": coef[:-1]})
    return AdjustedResult(method="ancova-hc", metric=stats.metric, covariate=stats.covariate,
                          control=stats.control, arms=stats.arms, slope=float(coef[-1]),
                          comparisons=pd.DataFrame(rows), adjusted_means=means,
                          interval=interval, detail={"cov_type": cov_type}, rows=stats.rows)


@dataclass(frozen=True)
class RevenueResult(EstimatesMixin):
    """Welch, CUPED (pooled theta) and HC ANCOVA on one revenue metric, from one scan.

    Attributes
    ----------
    welch : WelchResult
    cuped : AdjustedResult
    ancova : AdjustedResult
    stats : ArmStats
        The sufficient statistics behind all three (reusable by the Bayesian regression).
    clipping : Clipping, optional
        What winsorizing / trimming changed, when asked for.
    """

    welch: WelchResult
    cuped: AdjustedResult
    ancova: AdjustedResult
    stats: ArmStats = field(repr=False)
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


def revenue_tests(stats: ArmStats, *, interval: float = 0.95,
                  cov_type: str = "HC1") -> RevenueResult:
    """Welch, CUPED (pooled theta) and HC ANCOVA from covariate moments.

    Parameters
    ----------
    stats : ArmStats
        From :func:`bayeslab.data.moments.covariate_moments`.
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
    return RevenueResult(welch=welch(stats, interval=interval),
                         cuped=cuped(stats, theta="pooled", interval=interval),
                         ancova=ancova(stats, cov_type=cov_type, interval=interval), stats=stats)


def _points(result: RevenueResult) -> dict:
    out = {}
    multi = len(result.stats.arms) > 2
    for e in result.estimates():
        if e.effect == "absolute":
            out[f"{e.method}:{e.arm}" if multi else e.method] = e.estimate
    return out


def revenue(data, *, arm: str, metric: str, covariate: str, control: str | None = None,
            interval: float = 0.95, cov_type: str = "HC1", clip: str | None = None,
            clip_quantile: float = 0.99, missing: str = "error") -> RevenueResult:
    """Frequentist revenue readout: one DuckDB scan, then Welch, CUPED and HC ANCOVA.

    Parameters
    ----------
    data : Source, DataFrame or path
        Unit-level table.
    arm, metric, covariate : str
        Arm, outcome and pre-period covariate columns.
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
        return covariate_moments(src, arm=arm, metric=metric, covariate=covariate,
                                 control=control, missing=missing)

    if clip is None:
        return revenue_tests(scan(source), interval=interval, cov_type=cov_type)
    before = revenue_tests(scan(source), interval=interval, cov_type=cov_type)
    view, clipping = clip_outcome(source, arm=arm, metric=metric, method=clip,
                                  quantile=clip_quantile)
    stats = account_trimmed(scan(view), clipping)
    after = revenue_tests(stats, interval=interval, cov_type=cov_type)
    clipping = Clipping(method=clipping.method, quantile=clipping.quantile, cap=clipping.cap,
                        rows_affected=clipping.rows_affected, before=_points(before),
                        after=_points(after))
    return RevenueResult(welch=after.welch, cuped=after.cuped, ancova=after.ancova, stats=stats,
                         clipping=clipping)


__all__ = ["HIGHER_MOMENTS", "AdjustedResult", "RevenueResult", "ancova", "ancova_fit", "cuped",
           "pooled_theta", "revenue", "revenue_tests", "within_theta"]
