r"""The distribution of true effects learned from your own experiment history.

Past experiments of one metric give estimates :math:`y_i` with standard errors :math:`s_i`.
:func:`fit_effect_distribution` fits the distribution :math:`G` of their true effects,

.. math::

    y_i \sim N(\theta_i, s_i^2), \qquad \theta_i \sim G,

shrinks each past estimate towards it (the winner's curse of the shipped ones corrected), and
gives :math:`G` back as a prior for a new experiment (:meth:`EffectHistory.prior_spec`,
:func:`~bayeslab.bayes.history_prior.posterior_with_prior`). The frequentist mirror is
:func:`bayeslab.frequentist.history.random_effects`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.bayes.history_prior import EffectPrior, posterior_with_prior
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import json_float, jsonable

__all__ = ["EffectHistory", "EffectPrior", "fit_effect_distribution", "posterior_with_prior"]

FAMILIES = ("auto", "normal", "student", "spike")
HISTORY_LEVEL = 0.9
#: the alternative to the Normal family that ``family="auto"`` compares by LOO
AUTO_ALTERNATIVE = "spike"
_PARAMS = {"normal": ("mu", "tau"), "spike": ("pi", "mu", "tau"), "student": ("mu", "tau", "nu")}


@dataclass(frozen=True, eq=False)
class EffectHistory:
    r"""The fitted distribution of true effects of past experiments, with shrunken estimates.

    Attributes
    ----------
    family : {"normal", "spike", "student"}
        The family kept (by LOO under ``family="auto"``).
    params : dict
        Per parameter (``mu``, ``tau`` and ``pi`` or ``nu``; also ``mean`` and ``sd`` of
        :math:`G`): ``{"mean", "lower", "upper"}`` (posterior mean, interval at ``interval``).
    mean, sd : float
        Posterior means of the mean and standard deviation of :math:`G` (the population of true
        effects; the spike's nulls included).
    n_experiments : int
    diagnostics : Diagnostics
        Of the kept fit, over every free variable.
    loo : dict or None
        Under ``family="auto"``: ``models`` (per family ``elpd``, ``se``, ``p_loo``,
        ``max_pareto_k``, ``verdict``), ``elpd_diff`` (alternative minus Normal), ``dse``,
        ``chosen`` and ``reason``. None for a family asked for by name.
    shrunken : pandas.DataFrame
        Per experiment: ``experiment``, ``estimate``, ``se``, ``shipped``, ``mean``, ``sd``,
        ``lower``, ``upper`` of :math:`\theta_i` given the history (and ``prob_null``, the
        posterior probability of a zero effect, for the spike family).
    shipped_impact : dict or None
        ``n``, ``naive`` (sum of the shipped estimates), ``corrected`` (posterior mean of the sum
        of their :math:`\theta_i`), ``lower``, ``upper``, ``ratio`` (naive / corrected).
    interval : float
    priors : dict
        The priors used, in the unit of the estimates (scaled by ``scale``).
    scale : float
        Spread of the estimates the priors are scaled by.
    settings : dict
        Sampling settings, seconds spent, sampler.
    """

    family: str
    params: dict
    mean: float
    sd: float
    n_experiments: int
    diagnostics: object
    loo: dict | None
    shrunken: object = field(repr=False)  # pandas.DataFrame
    shipped_impact: dict | None = None
    interval: float = HISTORY_LEVEL
    priors: dict = field(default_factory=dict)
    scale: float = float("nan")
    settings: dict = field(default_factory=dict)
    draws: dict = field(default_factory=dict, repr=False)
    idata: object = field(default=None, repr=False)
    seed: int = 0

    def prior_spec(self, *, n_predictive: int = 4000) -> EffectPrior:
        """The fitted distribution as a prior for a new experiment's effect.

        The posterior predictive of a new true effect (a mixture over the posterior draws of the
        parameters), with its ``mean`` / ``sd`` (Normal approximation) and ``predictive_draws``;
        pass it to :func:`posterior_with_prior`.
        """
        d = self.draws
        return EffectPrior.from_draws(self.family, d["mu"], d["tau"], d.get("pi"), d.get("nu"),
                                      seed=self.seed, n_predictive=n_predictive)

    def summary(self):
        """The shrunken per-experiment table (a copy)."""
        return self.shrunken.copy()

    def to_dict(self) -> dict:
        """JSON-safe dict.

        Keys: ``n_experiments``, ``effect_distribution`` (``family``, ``params``, ``mean``,
        ``sd``), ``shrunken`` (one dict per experiment), ``shipped_impact`` (``naive``,
        ``corrected``, ``lower``, ``upper``, ``ratio``, ``n``), ``interval``, ``loo``,
        ``diagnostics``, ``priors``, ``scale``, ``prior_spec`` (without its draws).
        """
        return jsonable({
            "n_experiments": self.n_experiments,
            "effect_distribution": {"family": self.family, "params": self.params,
                                    "mean": json_float(self.mean), "sd": json_float(self.sd)},
            "shrunken": self.shrunken.to_dict(orient="records"),
            "shipped_impact": self.shipped_impact,
            "interval": self.interval,
            "loo": self.loo,
            "diagnostics": self.diagnostics.to_dict(),
            "priors": self.priors,
            "scale": json_float(self.scale),
            "prior_spec": self.prior_spec(n_predictive=10).to_dict(),
        })

    def __str__(self) -> str:
        from bayeslab.core.format import number

        def row(name, p):
            return (f"  {name:<5} {number(p['mean'], sign=True):>10}  "
                    f"[{number(p['lower'], sign=True)}, {number(p['upper'], sign=True)}]")

        lines = [f"Effect distribution of {self.n_experiments:,} past experiments: "
                 f"{self.family} ({self.interval:.0%} intervals)"]
        lines += [row(k, v) for k, v in self.params.items()]
        if self.loo:
            lines.append(f"  chosen by LOO: {self.loo['reason']}")
        s = self.shipped_impact
        if s:
            lines.append(f"  shipped ({s['n']}): naive impact {number(s['naive'], sign=True)}, "
                         f"corrected {number(s['corrected'], sign=True)} "
                         f"[{number(s['lower'], sign=True)}, {number(s['upper'], sign=True)}] "
                         f"(naive / corrected {number(s['ratio'], 3)})")
        lines.append(f"  diagnostics: {self.diagnostics.verdict} ({self.diagnostics.reason})")
        return "\n".join(lines)


def fit_effect_distribution(estimates, ses, *, shipped=None, labels=None, family: str = "auto",
                            draws: int = 1000, tune: int = 1000, chains: int = 2, seed: int = 0,
                            interval: float = HISTORY_LEVEL, sampler: str = "auto",
                            cores: int | None = None, progressbar: bool | None = None,
                            thresholds: dict | None = None) -> EffectHistory:
    r"""Fit the distribution of true effects of past experiments, and shrink each one towards it.

    With :math:`S` the standard deviation of the estimates (the unit never matters):

    .. math::

        \textbf{normal:}\quad & y_i \sim N(\mu, \sqrt{\tau^2 + s_i^2}) \\
        \textbf{spike:}\quad & y_i \sim \pi\, N(0, s_i^2) + (1 - \pi)\, N(\mu, \tau^2 + s_i^2) \\
        \textbf{student:}\quad & y_i \sim N(\mu + \tau z_i, s_i^2), \quad z_i \sim t_\nu \\
        \text{priors:}\quad & \mu \sim N(0, S), \quad \tau \sim N^+(2S), \quad
        \pi \sim \mathrm{Beta}(1, 1), \quad \nu \sim \mathrm{Gamma}(2, 0.1)

    The Normal and spike-and-slab families integrate :math:`\theta_i` out analytically, so NUTS
    sees two or three parameters and no discrete variable (no funnel either); the true effects
    are then drawn exactly given each posterior draw: :math:`\theta_i \mid y_i` is
    :math:`N(\mu + B_i(y_i - \mu), B_i s_i^2)` with :math:`B_i = \tau^2/(\tau^2 + s_i^2)`, and
    under the spike it is 0 with probability
    :math:`\pi N(y_i \mid 0, s_i) / (\pi N(y_i \mid 0, s_i) + (1 - \pi) N(y_i \mid \mu,
    \sqrt{\tau^2 + s_i^2}))`. The Student-t family keeps :math:`\theta_i` as latent
    variables, centered when the estimates pin them and non-centered otherwise
    (:func:`student_centered`).
    Sampled with :func:`~bayeslab.inference.sampling.sample_with_remedy` (nutpie) and checked
    over every free variable.

    ``family="auto"`` fits the Normal and the spike-and-slab families and compares them by
    PSIS-LOO on each experiment's marginal likelihood :math:`p(y_i \mid \mu, \tau, \pi)`: the
    family with the higher elpd is kept (the spike-and-slab contains the Normal, :math:`\pi = 0`,
    so keeping it on a tie costs little, while a Normal fitted to mostly-null effects
    over-shrinks the real ones), unless only the other one passes its diagnostics. The
    comparison (elpd of each, their difference and its standard error, which was kept and why)
    is in ``loo``.

    Parameters
    ----------
    estimates, ses : array_like
        Each past experiment's effect estimate and standard error (one unit).
    shipped : array_like of bool, optional
        Which experiments shipped (gives ``shipped_impact``).
    labels : sequence of str, optional
        Experiment names.
    family : {"auto", "normal", "spike", "student"}
    draws, tune, chains, seed : int
        Sampling settings (per chain).
    interval : float
        Level of every interval (default 0.9).
    sampler, cores, progressbar, thresholds
        As :func:`~bayeslab.inference.sampling.sample_with_remedy`.

    Returns
    -------
    EffectHistory

    Raises
    ------
    DataError
        Fewer than 3 experiments, non-finite estimates, non-positive standard errors, lengths
        that differ.
    ModelError
        Unknown family, interval outside (0, 1), bad sampling settings.

    See Also
    --------
    bayeslab.frequentist.history.random_effects : DerSimonian-Laird and empirical Bayes.
    """
    if family not in FAMILIES:
        raise ModelError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    if not 0 < interval < 1:
        raise ModelError(f"interval must be in (0, 1), got {interval!r}")
    y, s, ship = _check(estimates, ses, shipped)
    scale = float(np.std(y, ddof=1)) or float(np.median(s))
    opts = dict(draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler, cores=cores,
                progressbar=progressbar, thresholds=thresholds)
    names = ["normal", AUTO_ALTERNATIVE] if family == "auto" else [family]
    fits = {name: _fit_one(name, y, s, scale, **opts) for name in names}
    loo = _compare(fits, y, s) if family == "auto" else None
    chosen = loo["chosen"] if loo else family
    run, post = fits[chosen]
    theta = _theta_draws(chosen, post, y, s, seed)
    return _result(chosen, run, post, theta, y, s, ship, labels, scale, loo, interval, seed)


def _check(estimates, ses, shipped):
    y = np.asarray(estimates, dtype=float).ravel()
    s = np.asarray(ses, dtype=float).ravel()
    if y.size != s.size:
        raise DataError(f"estimates and ses differ in length ({y.size} vs {s.size})")
    if y.size < 3:
        raise DataError(f"a history needs at least 3 experiments, got {y.size}")
    if not np.all(np.isfinite(y)):
        raise DataError(f"estimates: {int((~np.isfinite(y)).sum())} not finite; drop them",
                        column="estimates")
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        raise DataError(f"ses: {int(bad.sum())} not positive and finite; drop those experiments",
                        column="ses", rows=int(bad.sum()))
    if shipped is None:
        return y, s, None
    ship = np.asarray(shipped).ravel()
    if ship.size != y.size:
        raise DataError(f"shipped differs in length from estimates ({ship.size} vs {y.size})",
                        column="shipped")
    return y, s, ship.astype(bool)


def build_model(family: str, y, s, scale: float):
    """The PyMC model of one family (see :func:`fit_effect_distribution` for the math)."""
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model(coords={"experiment": np.arange(y.size)}) as model:
        y_d = pm.Data("y", y, dims="experiment")
        s_d = pm.Data("se", s, dims="experiment")
        scale_d = pm.Data("scale", np.float64(scale))
        mu = pm.Normal("mu", 0.0, scale_d)
        tau = pm.HalfNormal("tau", 2.0 * scale_d)
        if family == "normal":
            pm.Normal("estimate", mu, pt.sqrt(tau ** 2 + s_d ** 2), observed=y_d,
                      dims="experiment")
        elif family == "spike":
            pi = pm.Beta("pi", 1.0, 1.0)
            var = tau ** 2 + s_d ** 2   # written out: plain ops keep the compiled-model cache
            null = pt.log(pi) - 0.5 * (y_d / s_d) ** 2 - pt.log(s_d)
            slab = pt.log1p(-pi) - 0.5 * (y_d - mu) ** 2 / var - 0.5 * pt.log(var)
            top = pt.maximum(null, slab)
            pm.Potential("estimate", (top + pt.log1p(pt.exp(-pt.abs(null - slab)))).sum())
        else:
            nu = pm.Gamma("nu", 2.0, 0.1)
            if student_centered(y, s):
                theta = pm.StudentT("theta", nu=nu, mu=mu, sigma=tau, dims="experiment")
            else:
                z = pm.StudentT("z", nu=nu, mu=0.0, sigma=1.0, dims="experiment")
                theta = pm.Deterministic("theta", mu + tau * z, dims="experiment")
            pm.Normal("estimate", theta, s_d, observed=y_d, dims="experiment")
    return model


def student_centered(y, s) -> bool:
    r"""Centered Student-t effects when the estimates pin them: moment spread above median se.

    With :math:`\hat\tau^2 = \max(0, \operatorname{var}(y) - \overline{s^2})`, centered when
    :math:`\hat\tau > \operatorname{median}(s)` (each likelihood then constrains its
    :math:`\theta_i` more than the population does: the non-centered form mixed slowly in
    :math:`\tau`, bulk ESS 116 of 2,000 draws on 200 experiments), else non-centered.
    """
    tau2 = max(float(np.var(y, ddof=1) - np.mean(s ** 2)), 0.0)
    return bool(np.sqrt(tau2) > np.median(s))


def _fit_one(family, y, s, scale, *, draws, tune, chains, seed, sampler, cores, progressbar,
             thresholds):
    from bayeslab.inference.diagnostics import draws_matrix
    from bayeslab.inference.sampling import sample_with_remedy

    model = build_model(family, y, s, scale)
    free = [v.name for v in model.free_RVs]
    run = sample_with_remedy(model, draws=draws, tune=tune, chains=chains, seed=seed,
                             sampler=sampler, cores=cores, progressbar=progressbar,
                             var_names=free,
                             key=("history", family, y.size, family == "student" and
                                  student_centered(y, s)),
                             **(thresholds or {}))
    post = run.idata["posterior"]
    out = {name: draws_matrix(post, name) for name in free if name != "z"}
    if family == "student":
        out["theta"] = draws_matrix(post, "theta")
    out["chains"] = int(post.sizes["chain"])
    return run, out


def _marginal_loglik(family, post, y, s):
    """Pointwise log p(y_i | parameters) per draw, shape (draws, experiments)."""
    from scipy import stats

    mu, tau = post["mu"][:, None], post["tau"][:, None]
    slab = stats.norm.logpdf(y, mu, np.sqrt(tau ** 2 + s ** 2))
    if family == "normal":
        return slab
    pi = post["pi"][:, None]
    return np.logaddexp(np.log(pi) + stats.norm.logpdf(y, 0.0, s), np.log1p(-pi) + slab)


def _compare(fits, y, s) -> dict:
    """LOO of the Normal against the alternative; which is kept and why."""
    import arviz as az
    import xarray as xr

    loos, models = {}, {}
    for name, (run, post) in fits.items():
        ll = _marginal_loglik(name, post, y, s)
        chains = post["chains"]
        ll = ll.reshape(chains, ll.shape[0] // chains, ll.shape[1])
        tree = run.idata.copy()
        tree["log_likelihood"] = xr.DataTree(xr.Dataset(
            {"estimate": (("chain", "draw", "experiment"), ll)}))
        loos[name] = az.loo(tree, pointwise=True, var_name="estimate")
        k = np.asarray(loos[name].pareto_k).ravel()
        models[name] = {"elpd": float(loos[name].elpd), "se": float(loos[name].se),
                        "p_loo": float(loos[name].p), "max_pareto_k": float(np.max(k)),
                        "verdict": run.diagnostics.verdict}
    alt = AUTO_ALTERNATIVE
    table = az.compare(loos, round_to="none")
    diff = models[alt]["elpd"] - models["normal"]["elpd"]
    dse = float(table.loc[table.index != table.index[0], "dse"].iloc[0])
    ok = {name: fits[name][0].diagnostics.ok for name in fits}
    close = "within" if abs(diff) <= 2 * dse else "beyond"
    if ok[alt] != ok["normal"]:
        chosen = alt if ok[alt] else "normal"
        why = f"the {'normal' if ok[alt] else alt} fit failed its diagnostics"
    elif diff > 0:
        chosen, why = alt, (f"its elpd is higher by {diff:.2f} (se {dse:.2f}, {close} 2 se); it "
                            "contains the Normal (pi = 0), so a tie costs little")
    else:
        chosen, why = "normal", f"the {alt} family's elpd is lower by {-diff:.2f} (se {dse:.2f})"
    return {"models": models, "elpd_diff": diff, "dse": dse, "alternative": alt,
            "chosen": chosen, "reason": f"{chosen}: {why}"}


def _theta_draws(family, post, y, s, seed):
    """Draws of every true effect (draws, experiments), and P(theta_i = 0) for the spike."""
    if family == "student":
        return post["theta"], None
    rng = np.random.default_rng(seed + 7)
    mu, tau = post["mu"][:, None], post["tau"][:, None]
    shrink = tau ** 2 / (tau ** 2 + s ** 2)
    theta = rng.normal(mu + shrink * (y - mu), np.sqrt(shrink * s ** 2))
    if family == "normal":
        return theta, None
    from scipy import special, stats

    pi = post["pi"][:, None]
    log_odds = (np.log(pi) + stats.norm.logpdf(y, 0.0, s)
                - np.log1p(-pi) - stats.norm.logpdf(y, mu, np.sqrt(tau ** 2 + s ** 2)))
    p_null = special.expit(log_odds)
    theta = np.where(rng.random(theta.shape) < p_null, 0.0, theta)
    return theta, p_null.mean(axis=0)


def _interval(x, interval, axis=0):
    a = (1 - interval) / 2
    return np.quantile(x, [a, 1 - a], axis=axis)


def _result(family, run, post, theta_pn, y, s, ship, labels, scale, loo, interval, seed):
    import pandas as pd

    theta, p_null = theta_pn
    mu, tau = post["mu"], post["tau"]
    if family == "normal":
        g_mean, g_sd = mu, tau
    elif family == "spike":
        w = 1 - post["pi"]
        g_mean = w * mu
        g_sd = np.sqrt(np.maximum(w * (tau ** 2 + mu ** 2) - g_mean ** 2, 0.0))
    else:
        nu = post["nu"]
        g_mean = mu
        g_sd = np.where(nu > 2, tau * np.sqrt(nu / np.maximum(nu - 2, 1e-12)), np.inf)
    params = {}
    for name, x in [*((p, post[p]) for p in _PARAMS[family]), ("mean", g_mean), ("sd", g_sd)]:
        with np.errstate(invalid="ignore"):   # a Student-t sd is infinite when nu <= 2
            lo, hi = _interval(x, interval)
        center = float(np.mean(x)) if np.all(np.isfinite(x)) else float(np.median(x))
        params[name] = {"mean": center, "lower": float(lo), "upper": float(hi)}
    lo, hi = _interval(theta, interval)
    table = pd.DataFrame({"experiment": ([str(i) for i in range(y.size)] if labels is None
                                         else [str(x) for x in labels]),
                          "estimate": y, "se": s,
                          "shipped": ship if ship is not None else np.zeros(y.size, bool),
                          "mean": theta.mean(axis=0), "sd": theta.std(axis=0),
                          "lower": lo, "upper": hi})
    if p_null is not None:
        table["prob_null"] = p_null
    impact = None
    if ship is not None:
        total = theta[:, ship].sum(axis=1)
        naive, corrected = float(y[ship].sum()), float(total.mean())
        lo, hi = _interval(total, interval)
        impact = {"n": int(ship.sum()), "naive": naive, "corrected": corrected,
                  "lower": float(lo), "upper": float(hi),
                  "ratio": naive / corrected if corrected != 0 else float("nan")}
    priors = {"mu": f"Normal(0, {scale:.4g})", "tau": f"HalfNormal({2 * scale:.4g})"}
    if family == "spike":
        priors["pi"] = "Beta(1, 1)"
    if family == "student":
        priors["nu"] = "Gamma(2, 0.1)"
    settings = dict(run.settings, sampler=run.sampler, compile_s=run.compile_s,
                    sample_s=run.sample_s, remedy=run.diagnostics.remedy)
    return EffectHistory(family=family, params=params, mean=params["mean"]["mean"],
                         sd=params["sd"]["mean"], n_experiments=int(y.size),
                         diagnostics=run.diagnostics, loo=loo, shrunken=table,
                         shipped_impact=impact, interval=interval, priors=priors, scale=scale,
                         settings=settings, draws={k: v for k, v in post.items()
                                                   if k in ("mu", "tau", "pi", "nu")},
                         idata=run.idata, seed=seed)
