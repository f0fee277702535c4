r"""Propensity-score estimators for non-randomized rollouts: IPW, AIPW and matched pairs.

The propensity :math:`e(x) = P(T = 1 \mid x)` is a logistic regression of the treatment indicator
on the standardized confounders (statsmodels ``Logit``):

.. math::

    \operatorname{logit} e(x) = \beta_0 + z^\top \beta, \qquad z = (x - \bar x) / s_x .

Estimators (``method`` -> estimand):

``naive``
    Difference of arm means, no adjustment (estimates no causal effect under confounding).
``ipw`` / ``ipw-stabilized``
    Hajek (normalized) inverse-probability weighting,
    :math:`\hat\mu_a = \sum_i 1[t_i = a]\, w_a(e_i)\, y_i \big/ \sum_i 1[t_i = a]\, w_a(e_i)`,
    with the weights of :mod:`bayeslab.kernels.balance`; ATE or ATT as asked. Stabilizing
    multiplies each arm's weights by a constant, which the normalization cancels: the estimate
    and interval equal ``ipw``'s (the weights are reported on a mean-one scale).
``overlap``
    Hajek with overlap weights :math:`(1 - e, e)`: the effect in the overlap population (ATO),
    :math:`E[e(1-e)\tau(X)] / E[e(1-e)]`.
``aipw``
    Augmented IPW (doubly robust) with per-arm outcome regressions :math:`m_a(x)` (logistic
    for a binary outcome, least squares for a continuous one):
    :math:`\hat\tau_{ATE} = n^{-1}\sum_i m_1 - m_0 + t(y - m_1)/e - (1-t)(y - m_0)/(1-e)`;
    for the ATT :math:`\hat\tau = n_1^{-1}\sum_i t(y - m_0) - (1-t)\,e(y - m_0)/(1-e)`.
    Standard errors from the influence function.
``matching``
    Greedy 1:1 nearest-neighbour matching of treated to control units on the logit of the
    propensity, without replacement, within a caliper of 0.2 pooled standard deviations of the
    logit (Austin 2011); analysed as matched pairs (paired differences; McNemar's test for a
    binary outcome). Estimand: ATT over the matched treated units.

IPW intervals are M-estimation sandwiches that stack the logistic score equations with the two
Hajek equations, so the uncertainty of the estimated propensity is accounted for
(Lunceford & Davidian 2004), or percentile intervals from a nonparametric bootstrap that refits
the propensity in every replicate (``ci="bootstrap"``). Relative lifts use the delta method on
the log ratio of the adjusted means.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, jsonable
from bayeslab.frequentist.propensity_estimators import (  # noqa: F401  (re-exported)
    _SCHEME_METHOD,
    Matching,
    PropensityEffect,
    _bootstrap_hajek,
    _effect,
    _weights_d,
    aipw_effect,
    hajek_means,
    hajek_sandwich,
    ipw_effect,
    match_pairs,
    matched_effect,
    naive_effect,
    outcome_predictions,
)
from bayeslab.kernels.balance import arm_weights, check_estimand
from bayeslab.kernels.logit import logit_newton
from bayeslab.kernels.propensity_design import design, effect_estimates, raise_separation

CI_METHODS = ("sandwich", "bootstrap")


# --------------------------------------------------------------------------------------------
# propensity model


@dataclass(frozen=True, eq=False)
class PropensityModel:
    r"""A fitted logistic propensity model on standardized confounders.

    Attributes
    ----------
    names : tuple of str
        ``("intercept", *design column names)``.
    coef : numpy.ndarray
        Coefficients on the standardized scale.
    cov : numpy.ndarray
        Their covariance (inverse observed information).
    e : numpy.ndarray
        Fitted propensities, one per unit (after clipping, if asked).
    eta : numpy.ndarray
        Linear predictor :math:`\operatorname{logit} e` (before clipping).
    clip : (float, float), optional
        Clipping bounds applied to ``e``.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    cov: np.ndarray
    e: np.ndarray = field(repr=False)
    eta: np.ndarray = field(repr=False)
    Z1: np.ndarray = field(repr=False)
    clip: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        """Coefficients and standard errors by name."""
        se = np.sqrt(np.diag(self.cov))
        return jsonable({"link": "logit", "scale": "standardized confounders",
                         "coefficients": dict(zip(self.names, self.coef, strict=True)),
                         "std_errors": dict(zip(self.names, se, strict=True)),
                         "clip": self.clip})


def fit_propensity(units, *, clip: tuple[float, float] | None = None) -> PropensityModel:
    """Maximum-likelihood logistic propensity with statsmodels, on standardized confounders.

    Parameters
    ----------
    units : UnitData
    clip : (float, float), optional
        Clip the fitted propensities to ``[lo, hi]`` (reported; changes the estimand slightly).

    Returns
    -------
    PropensityModel

    Raises
    ------
    DataError
        Perfect or quasi-complete separation (some fitted propensities are 0 or 1), naming the
        confounder with the largest coefficient.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    Z1 = design(units)
    names = ("intercept", *units.names)
    with warnings.catch_warnings(), np.errstate(over="ignore", divide="ignore"):
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            res = sm.Logit(units.t, Z1).fit(disp=0, method="newton", maxiter=100)
            coef, cov = np.asarray(res.params), np.asarray(res.cov_params())
        except (PerfectSeparationError, PerfectSeparationWarning, np.linalg.LinAlgError):
            coef, _ = logit_newton(Z1, units.t, prior_precision=1e-6 * np.eye(Z1.shape[1]))
            raise_separation(units, coef)
    eta = Z1 @ coef
    e = special.expit(eta)
    if not np.all(np.isfinite(cov)) or e.min() < 1e-9 or e.max() > 1 - 1e-9:
        raise_separation(units, coef)
    if clip is not None:
        lo, hi = _check_clip(clip)
        e = np.clip(e, lo, hi)
    return PropensityModel(names=names, coef=coef, cov=cov, e=e, eta=eta, Z1=Z1,
                           clip=None if clip is None else (float(clip[0]), float(clip[1])))


def _check_clip(clip):
    lo, hi = (float(v) for v in clip)
    if not 0 < lo < hi < 1:
        raise ModelError(f"clip must be (lo, hi) with 0 < lo < hi < 1, got {clip!r}")
    return lo, hi


# --------------------------------------------------------------------------------------------
# result and fitter


@dataclass(frozen=True, eq=False)
class PropensityResult:
    """Frequentist propensity readout: naive, IPW (three weightings), AIPW and matching.

    Attributes
    ----------
    metric, kind : str
        Outcome column and kind (``binary`` or ``continuous``).
    estimand : {"ate", "att"}
        Estimand asked for (``overlap`` always gives ATO, ``matching`` ATT).
    control, treatment : str
        Arm labels.
    interval : float
        Confidence level.
    effects : tuple of PropensityEffect
        One per method, ``naive`` first.
    model : PropensityModel
    matching : Matching
    rows : RowAccount
    options : dict
        ``ci``, ``n_boot``, ``caliper_sd``, ``clip``, ``seed``.
    weights : dict of str to numpy.ndarray
        Unit weights of each adjustment (for the balance table).
    """

    metric: str
    kind: str
    estimand: str
    control: str
    treatment: str
    interval: float
    effects: tuple[PropensityEffect, ...]
    model: PropensityModel = field(repr=False)
    matching: Matching = field(repr=False)
    rows: object = field(repr=False)
    options: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict, repr=False)

    def effect(self, method: str) -> PropensityEffect:
        """The effect row of ``method``."""
        for r in self.effects:
            if r.method == method:
                return r
        raise ModelError(f"no method {method!r}; have {', '.join(r.method for r in self.effects)}")

    def estimates(self) -> list[Estimate]:
        """Absolute and relative estimates of every method (``extra['estimand']`` set)."""
        return effect_estimates("frequentist", self.effects, self.interval)

    def summary(self) -> pd.DataFrame:
        """One row per method: estimand, means, difference, SE, interval, p-value, lift."""
        return pd.DataFrame([{k: v for k, v in r.__dict__.items() if k != "extra"}
                             for r in self.effects])

    def to_dict(self) -> dict:
        """JSON-safe form: options, propensity model, effects and row accounting."""
        return jsonable({"metric": self.metric, "kind": self.kind, "estimand": self.estimand,
                         "control": self.control, "treatment": self.treatment,
                         "interval": self.interval, "options": self.options,
                         "propensity_model": self.model.to_dict(),
                         "effects": [r.__dict__ for r in self.effects],
                         "rows": self.rows.to_dict()})

    def __str__(self) -> str:
        lines = [f"Propensity readout of {self.metric!r} ({self.treatment} vs {self.control}), "
                 f"{self.interval:.0%} intervals"]
        for r in self.effects:
            lines.append(f"  {r.method:15s} {r.estimand:10s} {r.diff:+.4g} "
                         f"[{r.lower:+.4g}, {r.upper:+.4g}]  p = {r.p_value:.3g}")
        return "\n".join(lines)


class PropensityWeighting:
    """Frequentist propensity-score estimators of one outcome (see the module docstring).

    Parameters
    ----------
    estimand : {"ate", "att"}
        Target of ``ipw``, ``ipw-stabilized`` and ``aipw``.
    interval : float
        Confidence level.
    ci : {"sandwich", "bootstrap"}
        IPW intervals: M-estimation sandwich (default) or percentile bootstrap.
    n_boot : int
        Bootstrap replicates.
    caliper : float or None
        Matching caliper in pooled standard deviations of the logit propensity (0.2);
        ``None`` for none.
    clip : (float, float), optional
        Clip propensities to this range before weighting (reported).
    seed : int
        Seed of the bootstrap and of the matching order.

    See Also
    --------
    bayeslab.bayes.propensity.BayesPropensity : the Bayesian counterpart.
    """

    def __init__(self, estimand: str = "ate", interval: float = DEFAULT_LEVEL, *,
                 ci: str = "sandwich", n_boot: int = 500, caliper: float | None = 0.2,
                 clip: tuple[float, float] | None = None, seed: int = 0):
        self.estimand = check_estimand(estimand)
        if not 0 < interval < 1:
            raise ModelError(f"interval must be in (0, 1), got {interval!r}")
        if ci not in CI_METHODS:
            raise ModelError(f"ci must be 'sandwich' or 'bootstrap', got {ci!r}")
        self.interval, self.ci, self.n_boot = interval, ci, int(n_boot)
        self.caliper, self.clip, self.seed = caliper, clip, int(seed)

    def fit(self, units) -> PropensityResult:
        """Fit the propensity model and every estimator on ``units`` (a :class:`UnitData`).

        Raises
        ------
        DataError
            Separation in the propensity model; too few matched pairs.
        """
        model = fit_propensity(units, clip=self.clip)
        y, t, lvl = units.y, units.t, self.interval
        effects = [naive_effect(y, t, lvl)]
        weights = {}
        for scheme in ("ipw", "stabilized", "overlap"):
            effects.append(ipw_effect(y, t, model, scheme, self.estimand, lvl, ci=self.ci,
                                      n_boot=self.n_boot, seed=self.seed))
            w1, w0 = arm_weights(model.e, scheme, self.estimand, float(t.mean()))
            weights[_SCHEME_METHOD[scheme]] = t * w1 + (1 - t) * w0
        m1, m0 = outcome_predictions(units, model.Z1)
        effects.append(aipw_effect(y, t, model.e, m1, m0, self.estimand, lvl))
        matching = match_pairs(model.eta, t, caliper_sd=self.caliper, seed=self.seed)
        effects.append(matched_effect(y, matching, units.kind == "binary", lvl))
        weights["matching"] = matching.weights(units.n)
        options = {"ci": self.ci, "n_boot": self.n_boot if self.ci == "bootstrap" else None,
                   "caliper_sd": self.caliper, "clip": self.clip, "seed": self.seed}
        return PropensityResult(metric=units.metric, kind=units.kind, estimand=self.estimand,
                                control=units.control, treatment=units.treatment,
                                interval=lvl, effects=tuple(effects), model=model,
                                matching=matching, rows=units.rows, options=options,
                                weights=weights)
