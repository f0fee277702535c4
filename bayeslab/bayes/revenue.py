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

**Robust regression** (:func:`robust_regression`, ``"bayes-robust"``): the same mean structure
with a Student-t likelihood, fitted by NUTS on unit rows. Its effect is a shift of the
*location* of the t distribution, which under skew is not the difference of means.

**Hurdle model** (:func:`hurdle_regression`, ``"bayes-hurdle"``): :math:`P(y_i > 0)` by logistic
regression on arm and covariate, times a lognormal (or gamma) model of positive spend; the effect
on mean revenue per unit is averaged over the pooled covariate distribution (standardization).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as st

from bayeslab.data.accounting import RowAccount
from bayeslab.data.moments import UnitRows
from bayeslab.data.stats import ArmStats
from bayeslab.data.summaries import centered_moments
from bayeslab.errors import DataError, ModelError, StatisticalWarning
from bayeslab.kernels.difference import partial_below
from bayeslab.resultbase import EstimatesMixin
from bayeslab.results import Estimate
from bayeslab.validate import check_interval


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


def regression(stats: ArmStats, *, prior_effect_scale: float | None = None,
               prior_effect_mean: float = 0.0, prior_shape: float = 0.0,
               prior_rate: float = 0.0, interval: float = 0.95) -> RegressionPosterior:
    r"""Conjugate Bayesian regression of the outcome on arm and the centered covariate.

    Parameters
    ----------
    stats : ArmStats
        Per-arm sums; with a covariate (``sufficient_stats(..., covariate=...)`` or
        :func:`bayeslab.data.moments.covariate_moments`) the model adjusts for it, without one it
        is the Gaussian model of the arm means with a shared variance.
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
        A constant covariate.

    See Also
    --------
    bayeslab.frequentist.revenue.ancova : the frequentist counterpart (HC-robust OLS);
    robust_regression, hurdle_regression : unit-row models for heavy tails and zeros.
    """
    interval = check_interval(interval)
    if prior_effect_scale is not None and not prior_effect_scale > 0:
        raise ModelError(f"prior_effect_scale must be positive or None, got {prior_effect_scale}")
    if prior_shape < 0 or prior_rate < 0:
        raise ModelError("prior_shape and prior_rate must be non-negative")
    use_cov = stats.covariate is not None and "sum_xy" in stats.table.columns
    k = len(stats.arms)
    kw = dict(scale=prior_effect_scale, effect_mean=prior_effect_mean, a0=prior_shape,
              b0=prior_rate)
    xtx, xty, yty, n, ybar, _ = _design(stats, use_cov)
    if use_cov and xtx[k, k] <= 0:
        raise DataError(f"covariate {stats.covariate!r} is constant", column=stats.covariate)
    mean, scale, df = _nig(xtx, xty, yty, n, k, **kw)
    mean = mean.copy()
    mean[0] += ybar
    if use_cov:
        xtx0, xty0, yty0, *_ = _design(stats, False)
        _, scale0, df0 = _nig(xtx0, xty0, yty0, n, k, **kw)
    tail = (1 - interval) / 2
    rows = []
    for i in range(1, k):
        post = st.t(df=df, loc=mean[i], scale=np.sqrt(scale[i, i]))
        var = scale[i, i] * df / (df - 2)
        vr = 1 - var / (scale0[i, i] * df0 / (df0 - 2)) if use_cov else 0.0
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
    names = ("control_mean", *[f"effect[{a}]" for a in stats.arms[1:]]) + \
        (("slope",) if use_cov else ())
    prior = {"effect_scale_in_sigma": prior_effect_scale, "effect_mean": prior_effect_mean,
             "sigma2_shape": prior_shape, "sigma2_rate": prior_rate,
             "flat": ["control_mean"] + (["slope"] if use_cov else [])
             + ([f"effect[{a}]" for a in stats.arms[1:]] if prior_effect_scale is None else [])}
    return RegressionPosterior(metric=stats.metric, covariate=stats.covariate if use_cov else None,
                               control=stats.control, arms=stats.arms, coef_names=names,
                               mean=mean, scale=scale, df=float(df),
                               comparisons=pd.DataFrame(rows), prior=prior, interval=interval,
                               rows=stats.rows)


# --------------------------------------------------------------------------- unit-row models


def _sample(model, *, draws, tune, chains, seed, progressbar, cores=None, target_accept=0.9,
            key=None):
    """NUTS through :func:`bayeslab.sampling.sample_once` (nutpie, compiled once per ``key``)."""
    from bayeslab.sampling import sample_once

    idata, _, _ = sample_once(model, draws=draws, tune=tune, chains=chains, seed=seed,
                              cores=cores, progressbar=progressbar,
                              target_accept=target_accept, key=key)
    return idata


@dataclass(frozen=True)
class McmcRevenuePosterior(EstimatesMixin):
    """Posterior of a unit-row revenue model fitted by NUTS.

    Attributes
    ----------
    method : {"bayes-robust", "bayes-hurdle"}
    metric : str
    covariate : str or None
    arms : tuple of str
    effect_draws : dict of str to numpy.ndarray
        Absolute effect draws per treatment arm (outcome units).
    relative_draws : dict of str to numpy.ndarray
        Relative lift draws per treatment arm.
    diagnostics : bayeslab.diagnostics.Diagnostics
        Convergence checks (R-hat, bulk / tail ESS, divergences, ...) with a pass / warn / fail
        verdict; ``"fail"`` means make no decision on this fit.
    prior : dict
        Priors used (on the standardized scale named in ``prior["scale"]``).
    idata : xarray.DataTree
        The posterior sample.
    interval : float
    seed : int or None
    rows : RowAccount, optional
    """

    method: str
    metric: str
    covariate: str | None
    arms: tuple[str, ...]
    effect_draws: dict = field(repr=False)
    relative_draws: dict = field(repr=False)
    diagnostics: object
    prior: dict
    idata: object = field(repr=False)
    interval: float
    seed: int | None = None
    rows: RowAccount | None = None

    @property
    def control(self) -> str:
        """Control label."""
        return self.arms[0]

    @property
    def converged(self) -> bool:
        """Whether the convergence checks passed."""
        return bool(self.diagnostics.ok)

    @property
    def _title(self):
        return f"{self.method} (NUTS; converged={self.converged})"

    def estimates(self) -> list[Estimate]:
        """Posterior mean and equal-tailed interval of each effect; diagnostics in ``extra``."""
        tail = (1 - self.interval) / 2
        out = []
        for arm in self.arms[1:]:
            for effect, draws in (("absolute", self.effect_draws[arm]),
                                  ("relative", self.relative_draws[arm])):
                lo, hi = np.quantile(draws, [tail, 1 - tail])
                out.append(Estimate(
                    "bayes", self.method, effect, float(draws.mean()), float(lo), float(hi),
                    self.interval, arm=arm, prob_positive=float(np.mean(draws > 0)),
                    expected_loss=float(np.mean(np.maximum(-draws, 0))),
                    extra={"mcse": _mcse(draws, self.idata), "converged": self.converged,
                           "diagnostics": self.diagnostics.verdict}))
        return out

    def _extra_dict(self):
        return {"diagnostics": self.diagnostics.to_dict(), "prior": self.prior, "seed": self.seed,
                "rows": self.rows.to_dict() if self.rows else None}


def _check_rows(rows: UnitRows, need_covariate: bool = False):
    if not isinstance(rows, UnitRows):
        raise DataError("unit-row models need UnitRows (bayeslab.data.moments.unit_rows)")
    if need_covariate and rows.x is None:
        raise DataError("this model needs a covariate")
    counts = np.bincount(rows.arm_index, minlength=len(rows.arms))
    if np.any(counts < 2):
        raise DataError("every arm needs at least 2 units")


def _warn_point_mass(rows: UnitRows, limit: float = 0.1) -> None:
    values, counts = np.unique(rows.y, return_counts=True)
    share = counts.max() / len(rows.y)
    if share >= limit:
        warnings.warn(f"{share:.0%} of {rows.metric!r} equals {values[counts.argmax()]:g}: a "
                      "Student-t likelihood collapses onto that point mass; use "
                      "hurdle_regression for zero-inflated revenue", StatisticalWarning,
                      stacklevel=3)


def _standardized_covariate(rows: UnitRows):
    if rows.x is None:
        return np.zeros_like(rows.y), 0.0, 1.0
    sx = float(rows.x.std()) or 1.0
    return (rows.x - rows.x.mean()) / sx, float(rows.x.mean()), sx


def _mcse(draws, idata) -> float:
    """Monte Carlo standard error of the mean of derived draws (chains kept apart for the ESS)."""
    import arviz as az

    chains = int(idata["posterior"].sizes["chain"])
    ess = float(az.ess(np.asarray(draws).reshape(chains, -1)))
    return float(np.std(draws) / np.sqrt(max(ess, 1.0)))


def _finish_mcmc(method, rows, idata, var_names, effect, relative, prior, interval, seed,
                 thresholds):
    from bayeslab.diagnostics import diagnose

    diag = diagnose(idata, var_names=var_names, **(thresholds or {}))
    if not diag.ok:
        warnings.warn(f"{method}: the chains did not converge "
                      f"({diag.reason.removeprefix('not converged, no decision: ')}); "
                      "make no decision on this fit", StatisticalWarning, stacklevel=3)
    return McmcRevenuePosterior(method=method, metric=rows.metric, covariate=rows.covariate,
                                arms=rows.arms, effect_draws=effect, relative_draws=relative,
                                diagnostics=diag, prior=prior, idata=idata, interval=interval,
                                seed=seed, rows=rows.rows)


def _flat(idata, name):
    v = np.asarray(idata["posterior"][name])
    return v.reshape(v.shape[0] * v.shape[1], *v.shape[2:])


def robust_regression(rows: UnitRows, *, prior_effect_sd: float = 1.0, draws: int = 1000,
                      tune: int = 1000, chains: int = 4, seed: int | None = None,
                      interval: float = 0.95, progressbar: bool | None = None,
                      cores: int | None = None,
                      thresholds: dict | None = None) -> McmcRevenuePosterior:
    r"""Student-t regression of the outcome on arm and centered covariate (NUTS on unit rows).

    On the standardized scale :math:`\tilde y = (y - \bar y) / s_y`, :math:`\tilde v =
    (x - \bar x) / s_x`:

    .. math::

        \tilde y_i \sim t_\nu(\mu_C + \sum_T \tau_T d_{iT} + \beta \tilde v_i, \sigma), \quad
        \mu_C, \beta \sim N(0, 1), \quad \tau_T \sim N(0, s_\tau^2), \quad
        \sigma \sim \mathrm{HalfNormal}(1), \quad \nu \sim \mathrm{Gamma}(2, 0.1).

    The effect reported is :math:`s_y \tau_T` (a location shift) and the relative lift
    :math:`\tau_T / (\mu_C + \bar y / s_y)`.

    Parameters
    ----------
    rows : UnitRows
        From :func:`bayeslab.data.moments.unit_rows` (covariate optional).
    prior_effect_sd : float
        :math:`s_\tau`, prior sd of each effect in outcome standard deviations.
    draws, tune, chains : int
        NUTS settings.
    seed : int, optional
        Random seed.
    interval : float
        Credible level.
    progressbar : bool, optional
        Show the sampler's progress (default: only when stderr is a terminal).
    cores : int, optional
        Processes for the chains (default: one per chain, up to the CPU count).
    thresholds : dict, optional
        Diagnostic thresholds passed to :func:`bayeslab.diagnostics.diagnose` (``rhat_max``,
        ``ess_min``, ...; defaults R-hat <= 1.01, bulk and tail ESS >= 400, no divergences).

    Returns
    -------
    McmcRevenuePosterior
        Warns (StatisticalWarning) when the chains did not converge.

    Raises
    ------
    DataError
        Bad rows.

    See Also
    --------
    regression : the Gaussian conjugate model; bayeslab.frequentist.revenue.ancova.
    """
    import pymc as pm

    interval = check_interval(interval)
    _check_rows(rows)
    _warn_point_mass(rows)
    my, sy = float(rows.y.mean()), float(rows.y.std()) or 1.0
    yt = (rows.y - my) / sy
    v, _, _ = _standardized_covariate(rows)
    k = len(rows.arms)
    dummies = np.eye(k)[rows.arm_index][:, 1:]
    with pm.Model() as model:
        # rows enter as pm.Data: a refit with as many arms reuses the compiled model
        d = pm.Data("arm_dummies", np.ascontiguousarray(dummies, dtype=float))
        vv = pm.Data("covariate_std", np.asarray(v, dtype=float))
        mu_c = pm.Normal("mu_c", 0.0, 1.0)
        tau = pm.Normal("tau", 0.0, prior_effect_sd, shape=k - 1)
        beta = pm.Normal("beta", 0.0, 1.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        nu = pm.Gamma("nu", 2.0, 0.1)
        pm.StudentT("y", nu=nu, mu=mu_c + pm.math.dot(d, tau) + beta * vv, sigma=sigma,
                    observed=pm.Data("outcome_std", np.asarray(yt, dtype=float)))
    idata = _sample(model, draws=draws, tune=tune, chains=chains, seed=seed,
                    progressbar=progressbar, cores=cores,
                    key=("revenue-robust", k, float(prior_effect_sd)))
    tau_d, mu_d = _flat(idata, "tau"), _flat(idata, "mu_c")
    effect = {a: tau_d[:, i] * sy for i, a in enumerate(rows.arms[1:])}
    relative = {a: tau_d[:, i] / (mu_d + my / sy) for i, a in enumerate(rows.arms[1:])}
    prior = {"scale": "standardized outcome and covariate", "mu_c": "Normal(0, 1)",
             "tau": f"Normal(0, {prior_effect_sd})", "beta": "Normal(0, 1)",
             "sigma": "HalfNormal(1)", "nu": "Gamma(2, 0.1)"}
    return _finish_mcmc("bayes-robust", rows, idata, ["mu_c", "tau", "beta", "sigma", "nu"],
                        effect, relative, prior, interval, seed, thresholds)


def hurdle_regression(rows: UnitRows, *, positive: str = "lognormal",
                      prior_effect_sd: float = 1.0, draws: int = 1000, tune: int = 1000,
                      chains: int = 4, seed: int | None = None, interval: float = 0.95,
                      grid: int = 256, progressbar: bool | None = None,
                      cores: int | None = None,
                      thresholds: dict | None = None) -> McmcRevenuePosterior:
    r"""Hurdle model: P(spend > 0) times a lognormal or gamma model of positive spend (NUTS).

    With :math:`\tilde v` the standardized covariate (zero without one):

    .. math::

        P(y_i > 0) = \mathrm{logit}^{-1}(a_{a(i)} + g \tilde v_i), \quad
        \log y_i \mid y_i > 0 \sim N(\ell_0 + c_{a(i)} + h \tilde v_i, \sigma)
        \ \text{(lognormal)},

    or :math:`y_i \mid y_i > 0 \sim \mathrm{Gamma}` with mean
    :math:`\exp(\ell_0 + c_{a(i)} + h \tilde v_i)` and shape :math:`k`; :math:`\ell_0` is the
    log of the mean positive spend. Priors: :math:`a, c \sim N(0, 1.5)` for the control and
    :math:`N(\cdot_C, s_\tau^2)` differences for treatments; :math:`g, h \sim N(0, 1)`;
    :math:`\sigma \sim \mathrm{HalfNormal}(1)`; :math:`k \sim \mathrm{Gamma}(2, 1)`. The effect
    on mean revenue per unit, :math:`E_v[p_T(v) m_T(v)] - E_v[p_C(v) m_C(v)]`, averages over the
    pooled covariate distribution (``grid`` quantiles of it).

    Parameters
    ----------
    rows : UnitRows
        Non-negative outcome with some zeros and some positive values.
    positive : {"lognormal", "gamma"}
        Model of positive spend.
    prior_effect_sd : float
        :math:`s_\tau` for both parts (logit and log scale).
    draws, tune, chains, seed, interval, progressbar, cores, thresholds
        As :func:`robust_regression`.
    grid : int
        Quantiles of the covariate used for the standardization.

    Returns
    -------
    McmcRevenuePosterior
        ``idata`` also holds ``p_zero``-part and positive-part coefficients.

    Raises
    ------
    DataError
        Negative outcomes, or no zeros / no positive values.
    ModelError
        Unknown ``positive``.

    See Also
    --------
    regression, robust_regression; bayeslab.frequentist.revenue.ancova.
    """
    import pymc as pm

    interval = check_interval(interval)
    _check_rows(rows)
    if positive not in ("lognormal", "gamma"):
        raise ModelError(f"positive must be 'lognormal' or 'gamma', got {positive!r}")
    if np.any(rows.y < 0):
        raise DataError(f"column {rows.metric!r} has negative values; a hurdle model needs "
                        "spend >= 0", column=rows.metric, rows=int(np.sum(rows.y < 0)))
    pos = rows.y > 0
    if pos.all() or not pos.any():
        raise DataError(f"column {rows.metric!r} needs both zeros and positive values for a "
                        "hurdle model", column=rows.metric)
    v, _, _ = _standardized_covariate(rows)
    k = len(rows.arms)
    yp, vp, ap = rows.y[pos], v[pos], rows.arm_index[pos]
    l0 = float(np.log(yp.mean())) if positive == "gamma" else float(np.log(yp).mean())
    with pm.Model() as model:
        # rows enter as pm.Data: a refit with as many arms reuses the compiled model
        arm_all = pm.Data("arm_index", np.asarray(rows.arm_index, dtype=np.int64))
        v_all = pm.Data("covariate_std", np.asarray(v, dtype=float))
        ap = pm.Data("arm_index_positive", np.asarray(ap, dtype=np.int64))
        vp = pm.Data("covariate_std_positive", np.asarray(vp, dtype=float))
        yp_data = pm.Data("spend_positive", np.asarray(yp, dtype=float))
        l0_data = pm.Data("log_spend_offset", np.float64(l0))
        a_c = pm.Normal("a_c", 0.0, 1.5)
        a_d = pm.Normal("a_d", 0.0, prior_effect_sd, shape=k - 1)
        g = pm.Normal("g", 0.0, 1.0)
        c_c = pm.Normal("c_c", 0.0, 1.5)
        c_d = pm.Normal("c_d", 0.0, prior_effect_sd, shape=k - 1)
        h = pm.Normal("h", 0.0, 1.0)
        a = pm.math.concatenate([a_c[None], a_c + a_d])
        c = pm.math.concatenate([c_c[None], c_c + c_d])
        pm.Bernoulli("any", logit_p=a[arm_all] + g * v_all,
                     observed=pm.Data("any_spend", pos.astype(np.int64)))
        eta = l0_data + c[ap] + h * vp
        if positive == "lognormal":
            sigma = pm.HalfNormal("sigma", 1.0)
            pm.LogNormal("spend", mu=eta, sigma=sigma, observed=yp_data)
            names = ["sigma"]
        else:
            shape = pm.Gamma("shape", 2.0, 1.0)
            pm.Gamma("spend", alpha=shape, beta=shape / pm.math.exp(eta), observed=yp_data)
            names = ["shape"]
    idata = _sample(model, draws=draws, tune=tune, chains=chains, seed=seed,
                    progressbar=progressbar, cores=cores,
                    key=("revenue-hurdle", positive, k, float(prior_effect_sd)))
    qs = np.quantile(v, (np.arange(grid) + 0.5) / grid) if rows.x is not None else np.zeros(1)
    ac, ad, gg = _flat(idata, "a_c"), _flat(idata, "a_d"), _flat(idata, "g")
    cc, cd, hh = _flat(idata, "c_c"), _flat(idata, "c_d"), _flat(idata, "h")
    extra = 0.5 * _flat(idata, "sigma") ** 2 if positive == "lognormal" else 0.0

    def mean_rev(a_arm, c_arm):  # draws x grid, averaged over the grid
        p = 1 / (1 + np.exp(-(a_arm[:, None] + gg[:, None] * qs)))
        extra_ = extra[:, None] if np.ndim(extra) else extra
        m = np.exp(l0 + c_arm[:, None] + hh[:, None] * qs + extra_)
        return (p * m).mean(axis=1)

    base = mean_rev(ac, cc)
    effect, relative = {}, {}
    for i, arm in enumerate(rows.arms[1:]):
        treated = mean_rev(ac + ad[:, i], cc + cd[:, i])
        effect[arm], relative[arm] = treated - base, treated / base - 1
    prior = {"scale": "logit for P(spend>0); log spend (offset l0) for positive spend; "
             "standardized covariate", "control": "Normal(0, 1.5)",
             "effects": f"Normal(0, {prior_effect_sd})", "slopes": "Normal(0, 1)",
             "positive": positive, "l0": l0,
             "dispersion": "HalfNormal(1)" if positive == "lognormal" else "Gamma(2, 1)"}
    return _finish_mcmc("bayes-hurdle", rows, idata, ["a_c", "a_d", "g", "c_c", "c_d", "h",
                                                      *names],
                        effect, relative, prior, interval, seed, thresholds)
