r"""Bayesian propensity weighting: the propensity model's uncertainty carried into the effect.

Propensity model (PyMC), on the standardized confounders :math:`z`:

.. math::

    t_i &\sim \operatorname{Bernoulli}(e_i), \qquad
        \operatorname{logit} e_i = \beta_0 + z_i^\top \beta, \\
    \beta_0 &\sim \mathcal N(0, \sigma_0^2), \qquad \beta_j \sim \mathcal N(0, \sigma_\beta^2)

(defaults :math:`\sigma_0 = \sigma_\beta = 2.5`). Each posterior draw :math:`s` gives
propensities :math:`e^{(s)}`, weights (:mod:`bayeslab.kernels.balance`) and a Hajek estimate

.. math::

    \mu_a^{(s)} = \frac{\sum_i g_i^{(s)}\, 1[t_i = a]\, w_a(e_i^{(s)})\, y_i}
                       {\sum_i g_i^{(s)}\, 1[t_i = a]\, w_a(e_i^{(s)})}, \qquad
    g^{(s)} \sim \operatorname{Dirichlet}(1, \dots, 1)

where the Bayesian-bootstrap weights :math:`g` (Rubin 1981) add the uncertainty of the sample
itself; with ``bayesian_bootstrap=False``, :math:`g \equiv 1` and the interval reflects the
propensity uncertainty only (too narrow for inference). This is the two-step ("cut") approach:
the outcome does not feed back into the propensity posterior.

Doubly robust variant (``bayes-dr``): per-arm outcome regressions
:math:`m_a(z) = \operatorname{logit}^{-1}(\alpha_{a0} + z^\top\alpha_a)` for a binary outcome
(:math:`y \sim \operatorname{Bernoulli}`), or :math:`m_a(z) = \alpha_{a0} + z^\top \alpha_a` with
:math:`y \sim \mathcal N(m_a, \sigma_a^2)` on the standardized outcome for a continuous one,
:math:`\alpha \sim \mathcal N(0, 2.5^2)`, :math:`\sigma_a \sim \operatorname{HalfNormal}(1)`,
sampled jointly with the propensity model; each draw gives the augmented (AIPW) estimate with
the same Bayesian-bootstrap weights.

``sampler="laplace"`` replaces NUTS by the normal approximation at the posterior mode (Newton's
method, inverse Hessian); for a logistic or linear regression with many more rows than
coefficients it agrees with NUTS (checked in the tests) and costs one optimisation, which is
what makes 1e6 rows practical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, jsonable
from bayeslab.inference.chains import one_blas_thread
from bayeslab.kernels.balance import arm_weights, check_estimand, scheme_estimand
from bayeslab.kernels.logit import logit_newton
from bayeslab.kernels.propensity_design import design, effect_estimates, raise_separation

SAMPLERS = ("nuts", "laplace")


@dataclass(frozen=True)
class PropensityPrior:
    """Normal priors of the propensity (and outcome) regressions, on standardized confounders."""

    intercept_sigma: float = 2.5
    beta_sigma: float = 2.5
    outcome_sigma: float = 2.5
    noise_sigma: float = 1.0

    def to_dict(self) -> dict:
        """JSON-safe form, with the sentence."""
        return {"intercept_sigma": self.intercept_sigma, "beta_sigma": self.beta_sigma,
                "outcome_sigma": self.outcome_sigma, "noise_sigma": self.noise_sigma,
                "text": str(self)}

    def __str__(self) -> str:
        return (f"intercept ~ Normal(0, {self.intercept_sigma:g}), coefficients ~ Normal(0, "
                f"{self.beta_sigma:g}) on standardized confounders; outcome coefficients ~ "
                f"Normal(0, {self.outcome_sigma:g}), sigma ~ HalfNormal({self.noise_sigma:g})")


@dataclass(frozen=True)
class BayesEffect:
    r"""Posterior summary of one weighted estimator.

    Attributes
    ----------
    method : str
        ``bayes-ipw``, ``bayes-overlap`` or ``bayes-dr``.
    estimand : {"ate", "att", "ato"}
    control_mean, treatment_mean : float
        Posterior means of the adjusted arm means.
    diff, lower, upper : float
        Posterior mean and equal-tailed interval of treatment minus control.
    rel, rel_lower, rel_upper : float
        The same for ``treatment / control - 1``.
    prob_positive : float
        Posterior probability that the difference is above zero.
    expected_loss : float
        :math:`E[\max(-\Delta, 0)]`, the expected loss of shipping (absolute scale).
    n : int
        Units.
    draws : numpy.ndarray
        Posterior draws of the difference.
    rel_draws : numpy.ndarray
        Posterior draws of the relative lift.
    """

    method: str
    estimand: str
    control_mean: float
    treatment_mean: float
    diff: float
    lower: float
    upper: float
    rel: float
    rel_lower: float
    rel_upper: float
    prob_positive: float
    expected_loss: float
    n: int
    extra: dict = field(default_factory=dict)
    draws: np.ndarray = field(default=None, repr=False)
    rel_draws: np.ndarray = field(default=None, repr=False)
    mcse: dict = field(default_factory=dict)


def _summarize(method, estimand, mu1, mu0, level, n, extra, chains=1) -> BayesEffect:
    from bayeslab.inference.diagnostics import mean_mcse, summary_mcse

    d, r = mu1 - mu0, mu1 / mu0 - 1
    means = {"control_mean": mean_mcse(mu0, chains=chains),
             "treatment_mean": mean_mcse(mu1, chains=chains)}
    rel_err = summary_mcse(r, chains=chains, level=level)
    rel_err.pop("prob_positive")  # the relative row carries no probability of its own
    mcse = {"absolute": {**summary_mcse(d, chains=chains, level=level),
                         "expected_loss": mean_mcse(np.maximum(-d, 0), chains=chains), **means},
            "relative": {**rel_err, **means}}
    a = (1 - level) / 2
    lo, hi = np.quantile(d, [a, 1 - a])
    rlo, rhi = np.quantile(r, [a, 1 - a])
    return BayesEffect(method=method, estimand=estimand, control_mean=float(mu0.mean()),
                       treatment_mean=float(mu1.mean()), diff=float(d.mean()), lower=float(lo),
                       upper=float(hi), rel=float(r.mean()), rel_lower=float(rlo),
                       rel_upper=float(rhi), prob_positive=float(np.mean(d > 0)),
                       expected_loss=float(np.mean(np.maximum(-d, 0))), n=int(n),
                       extra=extra, draws=d, rel_draws=r, mcse=mcse)


@dataclass(frozen=True, eq=False)
class BayesPropensityResult:
    """Bayesian propensity readout: weighted and doubly robust posterior effects.

    Attributes
    ----------
    metric, kind, estimand, control, treatment : str
    interval : float
        Credible level (equal-tailed).
    effects : tuple of BayesEffect
    prior : PropensityPrior
    sampler : {"nuts", "laplace"}
    diagnostics : bayeslab.inference.diagnostics.Diagnostics or None
        Convergence checks of the NUTS sample (R-hat, ESS, divergences, ... with a pass / warn /
        fail verdict); ``None`` with the Laplace approximation, which does not sample a chain.
    propensity : numpy.ndarray
        Posterior mean propensity of each unit.
    idata : xarray.DataTree or None
        NUTS posterior (``None`` with the Laplace approximation).
    rows : RowAccount
    options : dict
    """

    metric: str
    kind: str
    estimand: str
    control: str
    treatment: str
    interval: float
    effects: tuple[BayesEffect, ...]
    prior: PropensityPrior
    sampler: str
    diagnostics: object
    propensity: np.ndarray = field(repr=False)
    idata: object = field(default=None, repr=False)
    rows: object = field(default=None, repr=False)
    options: dict = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """Whether the sampler's diagnostics pass (always True for the Laplace approximation)."""
        return self.diagnostics is None or bool(self.diagnostics.ok)

    def effect(self, method: str) -> BayesEffect:
        """The effect of ``method``."""
        for r in self.effects:
            if r.method == method:
                return r
        raise ModelError(f"no method {method!r}; have {', '.join(r.method for r in self.effects)}")

    def estimates(self) -> list[Estimate]:
        """Absolute and relative estimates of every method (``extra['estimand']`` set)."""
        return effect_estimates("bayes", self.effects, self.interval, bayes=True)

    def summary(self) -> pd.DataFrame:
        """One row per method: estimand, means, difference, interval, P(> 0), expected loss."""
        return pd.DataFrame([{k: v for k, v in r.__dict__.items()
                              if k not in ("extra", "draws", "rel_draws", "mcse")}
                             for r in self.effects])

    def to_dict(self) -> dict:
        """JSON-safe form: prior, sampler, diagnostics, effects, rows."""
        return jsonable({
            "metric": self.metric, "kind": self.kind, "estimand": self.estimand,
            "control": self.control, "treatment": self.treatment, "interval": self.interval,
            "prior": self.prior.to_dict(), "sampler": self.sampler,
            "diagnostics": None if self.diagnostics is None else self.diagnostics.to_dict(),
            "options": self.options,
            "effects": [{k: v for k, v in r.__dict__.items()
                         if k not in ("draws", "rel_draws", "mcse")}
                        for r in self.effects],
            "rows": self.rows.to_dict() if self.rows is not None else None})

    def __str__(self) -> str:
        lines = [f"Bayesian propensity readout of {self.metric!r} ({self.treatment} vs "
                 f"{self.control}), {self.interval:.0%} credible intervals, {self.sampler}"]
        for r in self.effects:
            lines.append(f"  {r.method:15s} {r.estimand:4s} {r.diff:+.4g} [{r.lower:+.4g}, "
                         f"{r.upper:+.4g}]  P(>0) = {r.prob_positive:.3f}")
        if not self.converged:
            lines.append("  NOT CONVERGED: " + self.diagnostics.reason)
        return "\n".join(lines)


class BayesPropensity:
    """Bayesian propensity weighting and doubly robust estimation (see the module docstring).

    Parameters
    ----------
    estimand : {"ate", "att"}
        Target of ``bayes-ipw`` and ``bayes-dr`` (``bayes-overlap`` targets the ATO).
    interval : float
        Credible level.
    prior : PropensityPrior, optional
        Normal prior scales; ``PropensityPrior()`` (2.5 everywhere, HalfNormal(1) noise).
    sampler : {"nuts", "laplace"}
        NUTS (default; nutpie over the hand-written log density of
        :mod:`bayeslab.bayes.propensity_nuts`, nothing to compile; PyMC's NUTS when nutpie is
        missing) or the normal approximation at the mode.
    draws, tune, chains : int
        NUTS settings (1000, 1000, 2); Laplace draws ``draws * chains`` samples.
    bayesian_bootstrap : bool
        Multiply each draw's weights by Dirichlet(1, ..., 1) unit weights (default True).
    doubly_robust : bool
        Also fit the outcome model and report ``bayes-dr`` (default True).
    clip : (float, float), optional
        Clip propensities before weighting (reported).
    seed : int
    progressbar : bool, optional
        Sampler progress; default only when stderr is a terminal.
    rhat_max : float
        Largest rank-normalized split R-hat for the fit to count as converged (1.01).
    ess_min : float
        Smallest bulk and tail ESS for the fit to count as converged (400); both thresholds go
        to :func:`bayeslab.inference.diagnostics.diagnose`.

    See Also
    --------
    bayeslab.frequentist.propensity.PropensityWeighting : the frequentist counterpart.
    """

    def __init__(self, estimand: str = "ate", interval: float = DEFAULT_LEVEL, *,
                 prior: PropensityPrior | None = None, sampler: str = "nuts", draws: int = 1000,
                 tune: int = 1000, chains: int = 2, bayesian_bootstrap: bool = True,
                 doubly_robust: bool = True, clip: tuple[float, float] | None = None,
                 seed: int = 0, progressbar: bool | None = None, rhat_max: float = 1.01,
                 ess_min: float = 400.0):
        self.estimand = check_estimand(estimand)
        if not 0 < interval < 1:
            raise ModelError(f"interval must be in (0, 1), got {interval!r}")
        if sampler not in SAMPLERS:
            raise ModelError(f"sampler must be 'nuts' or 'laplace', got {sampler!r}")
        self.interval, self.prior, self.sampler = interval, prior or PropensityPrior(), sampler
        self.draws, self.tune, self.chains = int(draws), int(tune), int(chains)
        self.bayesian_bootstrap, self.doubly_robust = bool(bayesian_bootstrap), doubly_robust
        self.clip, self.seed, self.progressbar = clip, int(seed), progressbar
        self.rhat_max, self.ess_min = float(rhat_max), float(ess_min)

    # ---------------------------------------------------------------- posterior draws
    def _posterior(self, units, Z1):
        """Coefficient draws: propensity (S x k) and, for DR, outcome (S x 2 x k) and scale."""
        if self.sampler == "laplace":
            return self._laplace(units, Z1) + ({},)
        return self._nuts(units, Z1)

    def _laplace(self, units, Z1):
        k = Z1.shape[1]
        rng = np.random.default_rng(self.seed)
        S = self.draws * self.chains
        pr = self.prior
        P = np.diag([pr.intercept_sigma ** -2] + [pr.beta_sigma ** -2] * (k - 1))
        beta, info = logit_newton(Z1, units.t, prior_precision=P)
        if not np.all(np.isfinite(beta)):
            raise_separation(units, beta)
        b = rng.multivariate_normal(beta, np.linalg.inv(info), size=S)
        if not self.doubly_robust:
            return b, None
        Po = np.eye(k) * pr.outcome_sigma ** -2
        alphas = np.empty((S, 2, k))
        ys, scale = _outcome_scale(units)
        for j, arm in enumerate((1, 0)):
            m = units.t == arm
            if units.kind == "binary":
                a, inf_a = logit_newton(Z1[m], units.y[m], prior_precision=Po)
                alphas[:, j] = rng.multivariate_normal(a, np.linalg.inv(inf_a), size=S)
            else:
                Zm, yk = Z1[m], ys[m]
                a = np.linalg.lstsq(Zm, yk, rcond=None)[0]
                s2 = float(np.mean((yk - Zm @ a) ** 2))
                prec = Zm.T @ Zm / s2 + Po
                mean = np.linalg.solve(prec, Zm.T @ yk / s2)
                alphas[:, j] = rng.multivariate_normal(mean, np.linalg.inv(prec), size=S)
        return b, (alphas, scale)

    def _nuts(self, units, Z1):
        import time

        from bayeslab.bayes import propensity_nuts as pn
        from bayeslab.inference.diagnostics import diagnose
        from bayeslab.inference.sampling import nutpie_available, sample_nutpie_model, sample_once

        k = Z1.shape[1]
        ys, scale = _outcome_scale(units)
        args = (Z1, units.t, units.kind, ys, bool(self.doubly_robust), self.prior)
        settings = dict(draws=self.draws, tune=self.tune, chains=self.chains, seed=self.seed,
                        progressbar=self.progressbar)
        if nutpie_available():
            # nutpie over a hand-written numpy log density (bayeslab.bayes.propensity_nuts)
            t0 = time.perf_counter()
            model = pn.nutpie_model(*args)
            compile_s = time.perf_counter() - t0
            # chains in forked processes (bayeslab.inference.chains): in nutpie's threads they
            # fought over the GIL and took twice as long as one after the other
            idata, sample_s = sample_nutpie_model(model, **settings)
        else:
            idata, compile_s, sample_s = sample_once(pn.build_pymc_model(*args), sampler="pymc",
                                                     **settings)
        post = idata["posterior"]
        bb = np.concatenate([post["intercept"].values[..., None], post["beta"].values], axis=-1)
        b_draws = bb.reshape(-1, k)
        out = None
        if self.doubly_robust:
            out = (post["alpha"].values.reshape(-1, 2, k), scale)
        diag = diagnose(idata, rhat_max=self.rhat_max, ess_min=self.ess_min)
        return b_draws, out, {"idata": idata, "diagnostics": diag, "compile_s": compile_s,
                              "sample_s": sample_s}

    def _weighted_sums(self, units, Z1, b_draws, outcome, schemes):
        """Per draw, the weighted (and DR) arm means; the posterior-summed propensities."""
        y, t = units.y, units.t
        n, S = units.n, b_draws.shape[0]
        rng = np.random.default_rng(self.seed + 1)
        p_hat = float(t.mean())
        sums = {m: np.empty((S, 2)) for m, _ in schemes}
        if outcome is not None:
            sums["bayes-dr"] = np.empty((S, 2))
        e_mean = np.zeros(n)
        block = max(1, min(64, int(2e7 // max(n, 1))))
        for start in range(0, S, block):
            sl = slice(start, min(S, start + block))
            eta = b_draws[sl] @ Z1.T                              # (b, n)
            e = special.expit(eta)
            if self.clip is not None:
                e = np.clip(e, *self.clip)
            e_mean += e.sum(axis=0)
            g = (rng.standard_exponential(e.shape) if self.bayesian_bootstrap
                 else np.ones_like(e))
            for method, scheme in schemes:
                w1, w0 = arm_weights(e, scheme, self.estimand, p_hat)
                a1, a0 = g * t * w1, g * (1 - t) * w0
                sums[method][sl] = np.column_stack([(a1 @ y) / a1.sum(1), (a0 @ y) / a0.sum(1)])
            if outcome is not None:
                sums["bayes-dr"][sl] = _dr_block(outcome, sl, Z1, units.kind, y, t, e, g,
                                                 self.estimand)
        return sums, e_mean

    # ---------------------------------------------------------------- fit
    def fit(self, units) -> BayesPropensityResult:
        """Sample the propensity (and outcome) posterior and the weighted effects.

        Parameters
        ----------
        units : UnitData
            Validated unit rows (:func:`bayeslab.data.units.load_units`).

        Returns
        -------
        BayesPropensityResult

        Raises
        ------
        DataError
            Separation in the propensity model (Laplace), naming the confounder.
        """
        Z1 = design(units)
        b_draws, outcome, info = self._posterior(units, Z1)
        schemes = (("bayes-ipw", "ipw"), ("bayes-overlap", "overlap"))
        # one BLAS thread: the (64 x k) @ (k x n) products ran 3x slower with OpenBLAS's
        # threads on a busy 2-core machine
        with one_blas_thread():
            sums, e_mean = self._weighted_sums(units, Z1, b_draws, outcome, schemes)
        n, S = units.n, b_draws.shape[0]
        est = {m: scheme_estimand(s, self.estimand) for m, s in schemes}
        est["bayes-dr"] = self.estimand
        extra = {"bayesian_bootstrap": self.bayesian_bootstrap, "sampler": self.sampler,
                 "draws": int(S)}
        effects = []
        for method, mus in sums.items():
            ex = dict(extra)
            if method == "bayes-dr":
                ex["outcome_model"] = ("logistic per arm" if units.kind == "binary"
                                       else "normal linear per arm")
            effects.append(_summarize(method, est[method], mus[:, 0], mus[:, 1], self.interval,
                                      n, ex, chains=1 if self.sampler == "laplace"
                                      else self.chains))
        diagnostics = info.get("diagnostics")
        options = {"draws": self.draws, "tune": self.tune, "chains": self.chains,
                   "bayesian_bootstrap": self.bayesian_bootstrap, "clip": self.clip,
                   "seed": self.seed, "doubly_robust": bool(self.doubly_robust),
                   "stabilized": "identical to bayes-ipw under normalization; not repeated"}
        return BayesPropensityResult(
            metric=units.metric, kind=units.kind, estimand=self.estimand,
            control=units.control, treatment=units.treatment, interval=self.interval,
            effects=tuple(effects), prior=self.prior, sampler=self.sampler,
            diagnostics=diagnostics, propensity=e_mean / S, idata=info.get("idata"),
            rows=units.rows, options=options)


def _outcome_scale(units):
    if units.kind == "binary":
        return units.y, (0.0, 1.0)
    loc, sd = float(units.y.mean()), float(units.y.std()) or 1.0
    return (units.y - loc) / sd, (loc, sd)


def _dr_block(outcome, sl, Z1, kind, y, t, e, g, estimand):
    alphas, (loc, sd) = outcome
    a = alphas[sl]                                                # (b, 2, k)
    lin1, lin0 = a[:, 0] @ Z1.T, a[:, 1] @ Z1.T                   # (b, n)
    if kind == "binary":
        m1, m0 = special.expit(lin1), special.expit(lin0)
    else:
        m1, m0 = loc + sd * lin1, loc + sd * lin0
    if estimand == "ate":
        phi1 = m1 + t * (y - m1) / e
        phi0 = m0 + (1 - t) * (y - m0) / (1 - e)
        gs = g.sum(1)
        return np.column_stack([(g * phi1).sum(1) / gs, (g * phi0).sum(1) / gs])
    gt = (g * t).sum(1)
    g0 = t * m0 + (1 - t) * e / (1 - e) * (y - m0)
    return np.column_stack([(g * t) @ y / gt, (g * g0).sum(1) / gt])

