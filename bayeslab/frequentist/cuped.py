r"""Covariate-adjusted comparisons: the result type, and CUPED with one or several covariates.

**CUPED** (Deng et al. 2013): :math:`y^{adj}_i = y_i - \theta' (x_i - \bar x)` and Welch on the
adjusted outcome, :math:`\theta` treated as fixed. ``theta="pooled"`` fits
:math:`\theta = S_{xx}^{-1} S_{xy}` on all units pooled (ignoring the arm; with one covariate
:math:`\widehat{cov}(x, y) / \widehat{var}(x)`); ``theta="within"`` fits the pooled within-arm
slopes :math:`(\sum_a S_{xx,a})^{-1} \sum_a S_{xy,a}`, whose effect estimate equals the ANCOVA
coefficient exactly. Per arm the adjusted variance is
:math:`s^2_{y} - 2 \theta' s_{xy} + \theta' S_{x} \theta`, all from sufficient statistics:
per-arm sums for one covariate (:func:`bayeslab.data.moments.covariate_moments`) or the
cross-product matrix for several (:func:`bayeslab.data.covariates.covariates_moments`).

The variance reduction reported is
:math:`1 - \widehat{var}(\hat\Delta_{adj}) / \widehat{var}(\hat\Delta_{Welch})`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.covariates import CovariateMoments, centered_tensors
from bayeslab.data.moments import has_higher_moments
from bayeslab.data.stats import ArmStats
from bayeslab.data.summaries import centered_moments
from bayeslab.frequentist.means import welch_kernel


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
    stats : ArmStats or CovariateMoments
        With covariate sums (``sum_x, sum_xx, sum_xy``), or several covariates' cross-products.
    theta : {"pooled", "within"} or float (or sequence of float, one per design column)
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
    if isinstance(stats, CovariateMoments):
        return _cuped_moments(stats, theta, interval)
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
    rows = _comparisons(stats.arms, n, mean_adj, var_adj, mean_raw, var_raw, interval)
    means = pd.DataFrame({"arm": list(stats.arms), "n": n, "mean": mean_adj})
    return AdjustedResult(method=method, metric=stats.metric, covariate=stats.covariate,
                          control=stats.control, arms=stats.arms, slope=th,
                          comparisons=rows, adjusted_means=means,
                          interval=interval, detail={"theta": theta if isinstance(theta, str)
                                                     else "fixed"}, rows=stats.rows)


def _comparisons(arms, n, mean_adj, var_adj, mean_raw, var_raw, interval):
    r"""Welch comparison of each arm's adjusted mean with the control's.

    With the variance reduction :math:`1 - se_{adj}^2 / se_{raw}^2` against the unadjusted
    comparison.
    """
    rows = []
    for i in range(1, len(n)):
        k = welch_kernel(n[i], mean_adj[i], var_adj[i], n[0], mean_adj[0], var_adj[0],
                         interval=interval)
        raw = welch_kernel(n[i], mean_raw[i], var_raw[i], n[0], mean_raw[0], var_raw[0],
                           interval=interval)
        vr = 1 - float(k["se"]) ** 2 / float(raw["se"]) ** 2
        rows.append({"arm": arms[i], **{key: float(v) for key, v in k.items()},
                     "variance_reduction": vr})
    return pd.DataFrame(rows)


def _within(t2):
    """Per-arm within-arm sums of squares and products of u = (1, v, w), and the mean shifts."""
    n = t2[:, 0, 0]
    d = t2[:, 0, :] / n[:, None]
    return n, d, t2 - n[:, None, None] * d[:, :, None] * d[:, None, :]


def _cuped_moments(cm: CovariateMoments, theta, interval: float) -> AdjustedResult:
    """CUPED with several covariates from the per-arm cross-product matrices."""
    t2, _, c = centered_tensors(cm, fourth=False)
    q = len(cm.columns) + 1
    n, d, w = _within(t2)
    if np.any(n < 2):
        raise DataError("every arm needs at least 2 units", column=cm.stats.arm)
    if isinstance(theta, str) and theta in ("pooled", "within"):
        s = t2.sum(axis=0) if theta == "pooled" else w.sum(axis=0)
        sxx = s[1:q, 1:q]
        dg = 1 / np.sqrt(np.where(np.diag(sxx) > 0, np.diag(sxx), np.nan))
        if not np.all(np.isfinite(dg)) or np.linalg.cond(sxx * dg[:, None] * dg) > 1e12:
            raise DataError(f"covariates {', '.join(map(repr, cm.columns))} are constant or "
                            "collinear", column=cm.covariates[0])
        th = np.linalg.solve(sxx, s[1:q, q])
        method = "cuped" if theta == "pooled" else "cuped-within"
    else:
        th = np.atleast_1d(np.asarray(theta, dtype=float))
        if th.shape != (q - 1,) or not np.all(np.isfinite(th)):
            raise ModelError(f"theta must be 'pooled', 'within' or {q - 1} numbers, got "
                             f"{theta!r}")
        method = "cuped"
    g = np.r_[0.0, -th, 1.0]  # y - theta'x in u-coordinates
    mean_adj = d @ g + c[-1]
    var_adj = np.maximum(np.einsum("j,ajk,k->a", g, w, g), 0) / (n - 1)
    var_raw = w[:, q, q] / (n - 1)
    mean_raw = d[:, q] + c[-1]
    rows = _comparisons(cm.arms, n, mean_adj, var_adj, mean_raw, var_raw, interval)
    means = pd.DataFrame({"arm": list(cm.arms), "n": n, "mean": mean_adj})
    slope = float(th[0]) if len(th) == 1 else float("nan")
    detail = {"theta": theta if isinstance(theta, str) else "fixed",
              "coefficients": dict(zip(cm.columns, th.tolist(), strict=True))}
    return AdjustedResult(method=method, metric=cm.metric, covariate=",".join(cm.covariates),
                          control=cm.control, arms=cm.arms, slope=slope,
                          comparisons=rows, adjusted_means=means,
                          interval=interval, detail=detail, rows=cm.rows)


class Cuped:
    """CUPED estimator: options here, statistics to ``fit`` (the class form of :func:`cuped`).

    Parameters
    ----------
    theta : {"pooled", "within"} or float
    interval : float
    """

    def __init__(self, *, theta="pooled", interval: float = 0.95):
        self.theta = theta
        self.interval = check_interval(interval)

    def fit(self, stats) -> AdjustedResult:
        """CUPED on ``stats`` (ArmStats with one covariate, or CovariateMoments)."""
        return cuped(stats, theta=self.theta, interval=self.interval)
