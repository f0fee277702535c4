r"""Bayesian revenue models with a pre-period covariate.

**Gaussian regression on sufficient statistics** (:func:`regression`, method
``"bayes-regression"``). With arm indicators :math:`d_{iT}` and the covariate centered at its
pooled mean, :math:`v_i = x_i - \bar x`:

.. math::

    y_i \sim N\Bigl(\mu_C + \sum_T \tau_T d_{iT} + \beta v_i,\ \sigma^2\Bigr), \quad
    \tau_T \mid \sigma^2 \sim N(m_\tau, (s \sigma)^2), \quad
    p(\mu_C, \beta) \propto 1, \quad \sigma^2 \sim \mathrm{InvGamma}(a_0, b_0).

This Normal-Inverse-Gamma prior is conjugate: with :math:`\Lambda_0` the prior precision
(zero for the flat coefficients), :math:`\Lambda_n = X'X + \Lambda_0`,
:math:`m_n = \Lambda_n^{-1}(X'y + \Lambda_0 m_0)`, :math:`a_n = a_0 + (n - k_0) / 2` (:math:`k_0`
flat coefficients) and :math:`b_n = b_0 + \tfrac12 (y'y + m_0'\Lambda_0 m_0 - m_n'\Lambda_n m_n)`,
the coefficients are jointly Student-t, :math:`t_{2a_n}(m_n, (b_n / a_n) \Lambda_n^{-1})`.
:math:`X'X`, :math:`X'y`, :math:`y'y` come from the per-arm ``n, sum, sum_sq, sum_x, sum_xx,
sum_xy``, so 10 million rows cost one DuckDB scan. The defaults (:math:`s = \infty`,
:math:`a_0 = b_0 = 0`) are the reference prior :math:`p(\mu_C, \tau, \beta, \sigma^2) \propto
1/\sigma^2`. The relative lift :math:`\tau_T / \mu_C` has exact quantiles because
:math:`\tau_T - r \mu_C` is univariate Student-t for every :math:`r`. The variance reduction is
:math:`1 - var(\tau_T \mid y, x) / var(\tau_T \mid y)` (same model without the covariate).

**Several covariates** (numeric, and categorical one-hot encoded): the same model with
:math:`\beta' v_i` for the centered design row :math:`v_i`, fitted from the per-arm cross-products
of :func:`bayeslab.data.covariates.covariates_moments`; coefficients are named
``slope[<column>]``.

The unit-row models (Student-t and hurdle, NUTS) live in :mod:`bayeslab.bayes.revenue_mcmc` and
are re-exported here. Estimators take their options in ``__init__`` and the statistics in
``fit`` (:class:`ConjugateRegression`); :func:`regression` is the functional form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as st

from bayeslab.bayes.revenue_mcmc import (
    HurdleRegression,
    McmcRevenuePosterior,
    RobustRegression,
    _warn_point_mass,
    hurdle_regression,
    robust_regression,
)
from bayeslab.core.checks import check_interval
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.covariates import CovariateMoments, centered_tensors
from bayeslab.data.stats import ArmStats
from bayeslab.data.summaries import centered_moments
from bayeslab.kernels.difference import partial_below


def _design(stats: ArmStats, use_covariate: bool):
    """X'X, X'w, w'w in outcome-centered coordinates for (mu_C, tau_T..., beta)."""
    c, ybar, xbar = centered_moments(stats)
    k = len(stats.arms)
    n = c[(0, 0)]
    p = k + (1 if use_covariate else 0)
    xtx = np.zeros((p, p))
    xtx[0, 0] = n.sum()
    xtx[0, 1:k] = xtx[1:k, 0] = n[1:]
    xtx[np.arange(1, k), np.arange(1, k)] = n[1:]
    xty = np.r_[c[(1, 0)].sum(), c[(1, 0)][1:]]
    if use_covariate:
        xtx[0, k] = xtx[k, 0] = c[(0, 1)].sum()
        xtx[1:k, k] = xtx[k, 1:k] = c[(0, 1)][1:]
        xtx[k, k] = c[(0, 2)].sum()
        xty = np.r_[xty, c[(1, 1)].sum()]
    return xtx, xty, float(c[(2, 0)].sum()), float(n.sum()), ybar, xbar


def _nig(xtx, xty, yty, n, k_arms, *, scale, effect_mean, a0, b0):
    p = len(xty)
    prec0 = np.zeros(p)
    m0 = np.zeros(p)
    if scale is not None:
        prec0[1:k_arms] = 1.0 / scale**2
        m0[1:k_arms] = effect_mean
    lam = xtx + np.diag(prec0)
    mn = np.linalg.solve(lam, xty + prec0 * m0)
    k_flat = int(np.sum(prec0 == 0))
    an = a0 + (n - k_flat) / 2
    bn = b0 + 0.5 * (yty + m0 @ (prec0 * m0) - mn @ lam @ mn)
    if an <= 1 or bn <= 0:
        raise ModelError("the posterior of sigma^2 is improper or has no mean: too few units "
                         "for the number of coefficients, or prior_shape/prior_rate too small")
    return mn, (bn / an) * np.linalg.inv(lam), 2 * an


def _ratio_quantile(q, loc_t, loc_c, s_tt, s_tc, s_cc, df):
    def cdf(r):
        return st.t.cdf(-(loc_t - r * loc_c) / np.sqrt(s_tt - 2 * r * s_tc + r * r * s_cc), df)

    from bayeslab.kernels.difference import bracket_quantile

    guess = loc_t / loc_c
    width = 10 * np.sqrt(s_tt) / abs(loc_c) + 1e-12
    lo, hi = bracket_quantile(cdf, q, guess, width)  # bounded: a ModelError, never a hang
    return optimize.brentq(lambda r: cdf(r) - q, lo, hi, xtol=1e-14, rtol=1e-12)


@dataclass(frozen=True)
class RegressionPosterior(EstimatesMixin):
    """Closed-form posterior of the Gaussian revenue regression.

    Attributes
    ----------
    metric : str
    covariate : str or None
    control : str
    arms : tuple of str
    coef_names : tuple of str
        ``("control_mean", "effect[<arm>]"..., "slope")``; ``control_mean`` is the control mean
        at the pooled covariate mean.
    mean : numpy.ndarray
        Posterior location of the coefficients (multivariate t).
    scale : numpy.ndarray
        Posterior scale matrix; the covariance is ``scale * df / (df - 2)``.
    df : float
        Degrees of freedom of the multivariate t.
    comparisons : pandas.DataFrame
        Per treatment arm: ``estimate, lower, upper, prob_positive, expected_loss, rel_estimate,
        rel_lower, rel_upper, variance_reduction``.
    prior : dict
    interval : float
    rows : RowAccount, optional
    """

    metric: str
    covariate: str | None
    control: str
    arms: tuple[str, ...]
    coef_names: tuple[str, ...]
    mean: np.ndarray = field(repr=False)
    scale: np.ndarray = field(repr=False)
    df: float
    comparisons: pd.DataFrame
    prior: dict
    interval: float
    rows: RowAccount | None = None

    _title = "Bayesian Gaussian regression (conjugate, sufficient statistics)"

    def coef_posterior(self, name: str):
        """Frozen scipy Student-t marginal posterior of one coefficient."""
        i = self.coef_names.index(name)
        return st.t(df=self.df, loc=self.mean[i], scale=np.sqrt(self.scale[i, i]))

    def estimates(self) -> list[Estimate]:
        """Absolute and relative effect per treatment arm, variance reduction in ``extra``."""
        out = []
        for r in self.comparisons.itertuples():
            extra = {"variance_reduction": r.variance_reduction, "covariate": self.covariate,
                     "prior": self.prior, "prob_negative": r.prob_negative}
            common = dict(level=self.interval, arm=r.arm, prob_positive=r.prob_positive)
            out.append(Estimate("bayes", "bayes-regression", "absolute", r.estimate, r.lower,
                                r.upper, expected_loss=r.expected_loss, extra=extra, **common))
            out.append(Estimate("bayes", "bayes-regression", "relative", r.rel_estimate,
                                r.rel_lower, r.rel_upper,
                                extra={"variance_reduction": r.variance_reduction,
                                       "prob_negative": r.prob_negative}, **common))
        return out

    def _extra_dict(self):
        return {"prior": self.prior, "df": self.df,
                "coefficients": dict(zip(self.coef_names, self.mean.tolist(), strict=True)),
                "rows": self.rows.to_dict() if self.rows else None}


def _design_moments(cm: CovariateMoments):
    """X'X, X'w, w'w for (mu_C, tau_T..., beta_1..P) from several covariates' cross-products."""
    t2, _, c = centered_tensors(cm, fourth=False)
    k, P = len(cm.arms), len(cm.columns)
    q = P + 1  # index of the outcome in u = (1, v, w)
    n = t2[:, 0, 0]
    xtx = np.zeros((k + P, k + P))
    xtx[0, 0] = n.sum()
    xtx[0, 1:k] = xtx[1:k, 0] = n[1:]
    xtx[np.arange(1, k), np.arange(1, k)] = n[1:]
    xtx[0, k:] = xtx[k:, 0] = t2[:, 0, 1:q].sum(axis=0)
    xtx[1:k, k:] = t2[1:, 0, 1:q]
    xtx[k:, 1:k] = xtx[1:k, k:].T
    xtx[k:, k:] = t2[:, 1:q, 1:q].sum(axis=0)
    xty = np.r_[t2[:, 0, q].sum(), t2[1:, 0, q], t2[:, 1:q, q].sum(axis=0)]
    return xtx, xty, float(t2[:, q, q].sum()), float(n.sum()), float(c[-1])


def check_design(xtx: np.ndarray, k: int, columns) -> None:
    """Raise DataError for a constant covariate or covariates collinear with each other or arms."""
    for j, name in enumerate(columns):
        if not xtx[k + j, k + j] > 0:
            raise DataError(f"covariate {name!r} is constant", column=name.split("[")[0])
    d = 1 / np.sqrt(np.diag(xtx))
    if np.linalg.cond(xtx * d[:, None] * d[None, :]) > 1e12:
        what = "is constant" if len(columns) == 1 else \
            "are collinear (with each other or with the arm): drop one of them"
        raise DataError(f"covariate{'s' if len(columns) > 1 else ''} "
                        f"{', '.join(map(repr, columns))} {what}",
                        column=columns[0].split("[")[0])


@dataclass(frozen=True)
class RegressionPrior:
    r"""Prior of the conjugate revenue regression (Normal-Inverse-Gamma).

    Attributes
    ----------
    effect_scale : float, optional
        :math:`s`: prior sd of each treatment effect in units of the residual sd
        :math:`\sigma`; ``None`` (default) is flat.
    effect_mean : float
        :math:`m_\tau`, prior mean of each effect (outcome units).
    sigma2_shape, sigma2_rate : float
        :math:`a_0, b_0` of the inverse-gamma prior on :math:`\sigma^2` (0, 0: the reference
        prior :math:`1/\sigma^2`).
    """

    effect_scale: float | None = None
    effect_mean: float = 0.0
    sigma2_shape: float = 0.0
    sigma2_rate: float = 0.0

    def __post_init__(self):
        if self.effect_scale is not None and not self.effect_scale > 0:
            raise ModelError(f"prior_effect_scale must be positive or None, got "
                             f"{self.effect_scale}")
        if self.sigma2_shape < 0 or self.sigma2_rate < 0:
            raise ModelError("prior_shape and prior_rate must be non-negative")

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return asdict(self)

    def __str__(self):
        eff = "flat" if self.effect_scale is None else \
            f"Normal({self.effect_mean:g}, ({self.effect_scale:g} sigma)^2)"
        return (f"effect ~ {eff}; sigma^2 ~ InvGamma({self.sigma2_shape:g}, "
                f"{self.sigma2_rate:g}); control mean and slopes flat")


class ConjugateRegression:
    r"""Conjugate Bayesian regression of the outcome on arm and centered covariates.

    .. math::

        y_i \sim N(\mu_C + \sum_T \tau_T d_{iT} + \beta' v_i, \sigma^2)

    with the Normal-Inverse-Gamma prior of :class:`RegressionPrior` (see the module docstring
    for the posterior). ``fit`` takes :class:`~bayeslab.data.stats.ArmStats` (no covariate or
    one, from ``covariate_moments``) or :class:`~bayeslab.data.covariates.CovariateMoments`
    (several, numeric or categorical).

    Parameters
    ----------
    prior : RegressionPrior, optional
    interval : float
        Credible level (equal-tailed).
    """

    method = "bayes-regression"

    def __init__(self, prior: RegressionPrior | None = None, *, interval: float = 0.95):
        self.prior = prior or RegressionPrior()
        self.interval = check_interval(interval)

    def fit(self, stats) -> RegressionPosterior:
        """Posterior from the sufficient statistics (see :func:`regression`)."""
        pr, interval = self.prior, self.interval
        k = len(stats.arms)
        if isinstance(stats, CovariateMoments):
            columns = tuple(stats.columns)
            xtx, xty, yty, n, ybar = _design_moments(stats)
            covariate = ",".join(stats.covariates) or None
            slopes = tuple(f"slope[{c}]" for c in columns)
        else:
            use_cov = stats.covariate is not None and "sum_xy" in stats.table.columns
            columns = (stats.covariate,) if use_cov else ()
            xtx, xty, yty, n, ybar, _ = _design(stats, use_cov)
            covariate = stats.covariate if use_cov else None
            slopes = ("slope",) if use_cov else ()
        if columns:
            check_design(xtx, k, columns)
        kw = dict(scale=pr.effect_scale, effect_mean=pr.effect_mean, a0=pr.sigma2_shape,
                  b0=pr.sigma2_rate)
        mean, scale, df = _nig(xtx, xty, yty, n, k, **kw)
        mean = mean.copy()
        mean[0] += ybar
        if columns:  # the same model without covariates: the leading block of X'X
            _, scale0, df0 = _nig(xtx[:k, :k], xty[:k], yty, n, k, **kw)
        tail = (1 - interval) / 2
        rows = []
        for i in range(1, k):
            post = st.t(df=df, loc=mean[i], scale=np.sqrt(scale[i, i]))
            var = scale[i, i] * df / (df - 2)
            vr = 1 - var / (scale0[i, i] * df0 / (df0 - 2)) if columns else 0.0
            row = {"arm": stats.arms[i], "estimate": mean[i], "lower": post.ppf(tail),
                   "upper": post.ppf(1 - tail), "prob_positive": post.sf(0.0),
                   "prob_negative": post.cdf(0.0),
                   "expected_loss": partial_below(post, 0.0), "variance_reduction": vr}
            p_neg = st.t.cdf(-mean[0] / np.sqrt(scale[0, 0]), df)
            if p_neg < 1e-9:
                args = (mean[i], mean[0], scale[i, i], scale[i, 0], scale[0, 0], df)
                row.update(rel_estimate=_ratio_quantile(0.5, *args),
                           rel_lower=_ratio_quantile(tail, *args),
                           rel_upper=_ratio_quantile(1 - tail, *args))
            else:
                row.update(rel_estimate=np.nan, rel_lower=np.nan, rel_upper=np.nan)
            rows.append(row)
        names = ("control_mean", *[f"effect[{a}]" for a in stats.arms[1:]], *slopes)
        prior = {"effect_scale_in_sigma": pr.effect_scale, "effect_mean": pr.effect_mean,
                 "sigma2_shape": pr.sigma2_shape, "sigma2_rate": pr.sigma2_rate,
                 "flat": ["control_mean", *slopes]
                 + ([f"effect[{a}]" for a in stats.arms[1:]] if pr.effect_scale is None
                    else [])}
        return RegressionPosterior(metric=stats.metric, covariate=covariate,
                                   control=stats.control, arms=stats.arms, coef_names=names,
                                   mean=mean, scale=scale, df=float(df),
                                   comparisons=pd.DataFrame(rows), prior=prior,
                                   interval=interval, rows=stats.rows)


def regression(stats, *, prior_effect_scale: float | None = None,
               prior_effect_mean: float = 0.0, prior_shape: float = 0.0,
               prior_rate: float = 0.0, interval: float = 0.95) -> RegressionPosterior:
    r"""Conjugate Bayesian regression of the outcome on arm and the centered covariate(s).

    The functional form of :class:`ConjugateRegression`.

    Parameters
    ----------
    stats : ArmStats or CovariateMoments
        Per-arm sums; with a covariate (``sufficient_stats(..., covariate=...)`` or
        :func:`bayeslab.data.moments.covariate_moments`) or several
        (:func:`bayeslab.data.covariates.covariates_moments`) the model adjusts for them;
        without one it is the Gaussian model of the arm means with a shared variance.
    prior_effect_scale : float, optional
        :math:`s`: prior sd of each treatment effect in units of the residual sd
        :math:`\sigma`. ``None`` (default) is flat.
    prior_effect_mean : float
        :math:`m_\tau`, prior mean of each effect (outcome units).
    prior_shape, prior_rate : float
        :math:`a_0, b_0` of the inverse-gamma prior on :math:`\sigma^2` (0, 0: :math:`1/\sigma^2`).
    interval : float
        Credible level (equal-tailed).

    Returns
    -------
    RegressionPosterior

    Raises
    ------
    ModelError
        Invalid prior or an improper posterior.
    DataError
        A constant or collinear covariate.

    See Also
    --------
    bayeslab.frequentist.revenue.ancova : the frequentist counterpart (HC-robust OLS);
    robust_regression, hurdle_regression : unit-row models for heavy tails and zeros.
    """
    prior = RegressionPrior(effect_scale=prior_effect_scale, effect_mean=prior_effect_mean,
                            sigma2_shape=prior_shape, sigma2_rate=prior_rate)
    return ConjugateRegression(prior, interval=interval).fit(stats)


__all__ = ["ConjugateRegression", "HurdleRegression", "McmcRevenuePosterior",
           "RegressionPosterior", "RegressionPrior", "RobustRegression", "_warn_point_mass",
           "hurdle_regression", "regression", "robust_regression"]
