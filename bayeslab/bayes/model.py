r"""Any PyMC model, read out like ours: the posterior of one named effect.

:class:`PyMCModel` samples a user's ``pm.Model`` with the project's sampler (nutpie by default)
and remedy, runs the diagnostics gate, and summarises the posterior draws of one scalar
variable, the effect :math:`\Delta` (treatment minus control on the outcome scale), as an
:class:`~bayeslab.core.estimates.Estimate`:

.. math::

    \hat\Delta = \frac{1}{S}\sum_s \Delta^{(s)}, \qquad
    [q_{(1-\ell)/2}, q_{(1+\ell)/2}] \text{ of the draws}, \qquad
    P(\Delta > 0) = \frac{1}{S}\sum_s 1[\Delta^{(s)} > 0], \qquad
    E[\max(-\Delta, 0)] = \frac{1}{S}\sum_s \max(-\Delta^{(s)}, 0),

the last the expected loss of shipping. With ``baseline`` (a scalar variable holding the
control mean) the relative effect :math:`\Delta / \mu_C` is summarised the same way, draw by
draw. Formulas (:mod:`bayeslab.bayes.formula`) fit through the same class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, EstimatesMixin


def scalar_draws(idata, name: str) -> np.ndarray:
    """Every posterior draw of the scalar variable ``name`` (chains stacked)."""
    post = idata["posterior"]
    if name not in post.data_vars:
        known = ", ".join(sorted(str(v) for v in post.data_vars))
        raise ModelError(f"the model has no variable {name!r} to read the effect from; its "
                         f"posterior has: {known}")
    values = np.asarray(post[name])
    if values.ndim != 2:
        raise ModelError(f"the effect {name!r} must be a scalar (one value per draw); it has "
                         f"shape {values.shape[2:]}: wrap the contrast you mean in "
                         "pm.Deterministic('effect', ...)")
    return values.reshape(-1).astype(float)


def summarize_draws(draws: np.ndarray, *, method: str, effect: str, level: float,
                    arm: str | None = None, extra: dict | None = None) -> Estimate:
    """A Bayesian :class:`~bayeslab.core.estimates.Estimate` from effect draws (equal tails)."""
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    p_pos = float(np.mean(draws > 0))
    # a Monte Carlo probability: no exact tail ("prob_negative"), the draw count instead, so
    # that 0 and 1 are shown as bounds ("> 0.9995 (every one of 2,000 draws)")
    return Estimate(side="bayes", method=method, effect=effect, estimate=float(np.mean(draws)),
                    lower=float(lo), upper=float(hi), level=level, arm=arm,
                    prob_positive=p_pos, expected_loss=float(np.mean(np.maximum(-draws, 0.0))),
                    extra={"draws": int(draws.size), **(extra or {})})


@dataclass(frozen=True)
class ModelPosterior(EstimatesMixin):
    """The posterior of a user's model's effect, with its diagnostics.

    Attributes
    ----------
    method : str
        Name of the model in estimates (``"pymc-model"``, ``"bambi"``).
    effect_name : str
        Posterior variable the effect is read from.
    draws : numpy.ndarray
        Its draws (chains stacked).
    relative : numpy.ndarray or None
        Draws of the relative effect (``baseline`` given).
    idata : xarray.DataTree
    diagnostics : Diagnostics
    sampler : str
    settings : dict
    interval : float
    arm : str, optional
    prior : object
        What the model assumes, in words.
    priors : dict, optional
        Each variable's prior as text (a formula's terms, a model's free variables).
    baseline_mean : float, optional
        Posterior mean of the control mean (``baseline`` given).
    """

    method: str
    effect_name: str
    draws: np.ndarray = field(repr=False)
    relative: np.ndarray | None = field(repr=False)
    idata: object = field(repr=False)
    diagnostics: object
    sampler: str
    settings: dict
    interval: float = DEFAULT_LEVEL
    arm: str | None = None
    prior: object = None
    priors: dict | None = None
    baseline_mean: float | None = None

    _title = "Bayesian model of the effect"

    @property
    def converged(self) -> bool:
        """Whether the diagnostics gate passed (warnings allowed)."""
        return bool(self.diagnostics.ok)

    def estimates(self) -> list[Estimate]:
        """Absolute effect (and relative, with a baseline)."""
        extra = {"variable": self.effect_name}
        out = [summarize_draws(self.draws, method=self.method, effect="absolute",
                               level=self.interval, arm=self.arm, extra=extra)]
        if self.relative is not None:
            out.append(summarize_draws(self.relative, method=self.method, effect="relative",
                                       level=self.interval, arm=self.arm, extra=extra))
        return out

    def _extra_dict(self) -> dict:
        return {"method": self.method, "effect": self.effect_name, "sampler": self.sampler,
                "settings": self.settings, "prior": self.prior, "priors": self.priors,
                "diagnostics": self.diagnostics.to_dict()}

    def plot(self, ax=None):
        """Posterior density of the effect with P(effect > 0); a Figure."""
        from bayeslab.plots import plot_effect_posterior

        return plot_effect_posterior(self.draws, name=self.effect_name, level=self.interval,
                                     ax=ax)


@dataclass(frozen=True)
class PyMCModel:
    """Estimator: sample a ``pm.Model`` and read the posterior of one effect.

    Parameters
    ----------
    effect : str
        Scalar variable (free or ``pm.Deterministic``) holding treatment minus control.
    baseline : str, optional
        Scalar variable holding the control mean; adds the relative effect.
    interval : float
        Credible interval level.
    draws, tune, chains, seed, target_accept, sampler, progressbar
        Sampling settings (:func:`bayeslab.inference.sampling.sample_with_remedy`).
    method : str
        Name of the model in the estimates.
    arm : str, optional
        Treatment arm label the effect is about.
    prior : object
        The model's priors in words, for the readout.
    priors : dict, optional
        Each variable's prior as text.
    thresholds : dict
        Passed to :func:`bayeslab.inference.diagnostics.diagnose`.
    """

    effect: str
    baseline: str | None = None
    interval: float = DEFAULT_LEVEL
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    target_accept: float = 0.9
    sampler: str = "auto"
    progressbar: bool | None = None
    method: str = "pymc-model"
    arm: str | None = None
    prior: object = None
    priors: dict | None = None
    thresholds: dict = field(default_factory=dict)

    def __post_init__(self):
        check_interval(self.interval)

    def fit(self, model) -> ModelPosterior:
        """Sample ``model`` (a ``pymc.Model``) and summarise the effect.

        Raises
        ------
        ModelError
            ``model`` is not a PyMC model, the effect / baseline variable is missing or not
            scalar, or it never reaches the likelihood (its posterior would be its prior).
        """
        import pymc as pm

        from bayeslab.inference.sampling import sample_with_remedy

        if not isinstance(model, pm.Model):
            raise ModelError(f"expected a pymc.Model, got {type(model).__name__}")
        names = set(model.named_vars)
        for role, name in (("effect", self.effect), ("baseline", self.baseline)):
            if name is not None and name not in names:
                raise ModelError(f"the model has no variable {name!r} for the {role}; it has: "
                                 f"{', '.join(sorted(names))}")
        _check_informed(model, self.effect, "effect")
        if self.baseline is not None:
            _check_informed(model, self.baseline, "baseline")
        # every free variable is checked (a funnel beside the effect blocks the decision too),
        # plus the effect and baseline when they are deterministics
        watch = list(dict.fromkeys([*(v.name for v in model.free_RVs),
                                    *(v for v in (self.effect, self.baseline) if v is not None)]))
        fit = sample_with_remedy(model, draws=self.draws, tune=self.tune, chains=self.chains,
                                 seed=self.seed, target_accept=self.target_accept,
                                 sampler=self.sampler, progressbar=self.progressbar,
                                 var_names=watch, **self.thresholds)
        draws = scalar_draws(fit.idata, self.effect)
        relative, base_mean = None, None
        if self.baseline is not None:
            base = scalar_draws(fit.idata, self.baseline)
            if np.any(base == 0):
                raise ModelError(f"baseline {self.baseline!r} is 0 in some draws: no relative "
                                 "effect")
            relative, base_mean = draws / base, float(np.mean(base))
        return ModelPosterior(method=self.method, effect_name=self.effect, draws=draws,
                              relative=relative, idata=fit.idata, diagnostics=fit.diagnostics,
                              sampler=fit.sampler, settings=fit.settings,
                              interval=self.interval, arm=self.arm, prior=self.prior,
                              priors=self.priors, baseline_mean=base_mean)


def _check_informed(model, name: str, role: str) -> None:
    """Refuse a variable the data cannot inform: not an ancestor of any observed variable.

    Sampling it would read back its prior, with every diagnostic passing; there is nothing to
    decide on.
    """
    from pytensor.graph.traversal import ancestors

    discrete = [v.name for v in model.free_RVs if "int" in str(v.dtype)]
    if discrete:
        raise ModelError(f"the model has a discrete free variable ({', '.join(discrete)}): NUTS "
                         "samples continuous variables only; marginalize it out (for a mixture, "
                         "pm.Mixture) or make it observed")
    if not model.free_RVs:
        raise ModelError("the model has no free variable: there is nothing to sample")
    data_terms = [*model.observed_RVs, *model.potentials]
    if not data_terms:
        raise ModelError("the model has no observed variable (no likelihood): its posterior is "
                         "its prior; pass the data as observed=... ")
    var = model.named_vars[name]
    informed = set(ancestors(data_terms))
    free = set(model.free_RVs)
    # a free variable must itself reach the data; a deterministic (mu_t - mu_c) through one of
    # the free variables it is computed from
    sources = {var} if var in free else free & set(ancestors([var]))
    if not sources & informed:
        raise ModelError(f"the {role} {name!r} does not enter the likelihood (it is no "
                         "ancestor of an observed variable or potential): its posterior would be "
                         "its prior; connect it to the data (e.g. mu = base + effect * arm)")
