r"""Bayesian revenue models on unit rows, fitted by NUTS: Student-t and hurdle regressions.

**Robust regression** (:func:`robust_regression`, ``"bayes-robust"``): the mean structure of
:func:`bayeslab.bayes.revenue.regression` with a Student-t likelihood. Its effect is a shift of
the *location* of the t distribution, which under skew is not the difference of means.

**Hurdle model** (:func:`hurdle_regression`, ``"bayes-hurdle"``): :math:`P(y_i > 0)` by logistic
regression on arm and covariate, times a lognormal (or gamma) model of positive spend; the effect
on mean revenue per unit is averaged over the pooled covariate distribution (standardization).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import DataError, ModelError, StatisticalWarning
from bayeslab.core.estimates import Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.moments import UnitRows


def _sample(model, *, draws, tune, chains, seed, progressbar, cores=None, target_accept=0.9,
            key=None):
    """NUTS by :func:`~bayeslab.inference.sampling.sample_once` (nutpie, one compile per key)."""
    from bayeslab.inference.sampling import sample_once

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
    diagnostics : bayeslab.inference.diagnostics.Diagnostics
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
    from bayeslab.inference.diagnostics import diagnose

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
        Diagnostic thresholds passed to :func:`bayeslab.inference.diagnostics.diagnose`
        (``rhat_max``, ``ess_min``, ...; defaults R-hat <= 1.01, bulk and tail ESS >= 400, no
        divergences).

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
    bayeslab.bayes.revenue.regression : the Gaussian conjugate model;
    bayeslab.frequentist.revenue.ancova.
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
    bayeslab.bayes.revenue.regression, robust_regression; bayeslab.frequentist.revenue.ancova.
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


class RobustRegression:
    """Student-t revenue regression on unit rows: options here, rows to ``fit``.

    The class form of :func:`robust_regression`; keyword arguments are its options
    (``prior_effect_sd``, ``draws``, ``tune``, ``chains``, ``seed``, ``interval``, ...).
    """

    method = "bayes-robust"

    def __init__(self, **options):
        self.options = options

    def fit(self, rows: UnitRows) -> McmcRevenuePosterior:
        """Sample the posterior (see :func:`robust_regression`)."""
        return robust_regression(rows, **self.options)


class HurdleRegression:
    """Hurdle revenue model on unit rows: options here, rows to ``fit``.

    The class form of :func:`hurdle_regression` (``positive``, ``prior_effect_sd``, ...).
    """

    method = "bayes-hurdle"

    def __init__(self, **options):
        self.options = options

    def fit(self, rows: UnitRows) -> McmcRevenuePosterior:
        """Sample the posterior (see :func:`hurdle_regression`)."""
        return hurdle_regression(rows, **self.options)
