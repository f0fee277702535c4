r"""A metric's Bayesian side under a prior learned from the team's past experiments (issue 25).

With ``prior = "library"`` on a plan's metric (or ``compare(..., effect_prior=history)``), the
distribution :math:`G` of true effects fitted to the past experiments of that metric
(:func:`bayeslab.bayes.history.fit_effect_distribution`) is the prior of the new experiment's
absolute effect :math:`\theta`, and the experiment enters through its frequentist estimate
:math:`\hat\theta` (the headline test's, per treatment arm) and standard error :math:`s`:

.. math::

    \hat\theta \sim N(\theta, s^2), \qquad \theta \sim G,

so the posterior is the closed form of :func:`bayeslab.bayes.history_prior.posterior_with_prior`
(Normal-Normal conjugacy for a Normal :math:`G`, a mixture for the spike-and-slab, a grid for the
Student-t). Its mean, interval, :math:`P(\theta > 0)` and expected loss
:math:`E[(-\theta)^+]` (from the posterior's Normal approximation) become the estimate
``bayes-library``, which the decision reads; the readout names the prior and how many past
experiments it rests on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import Estimate

METHOD = "bayes-library"


@dataclass(frozen=True)
class LearnedPriorResult:
    """The ``bayes-library`` estimates of one metric (one per treatment arm)."""

    rows: tuple
    prior_text: str
    n_experiments: int

    def estimates(self) -> list[Estimate]:
        """The posterior of each arm's absolute effect under the learned prior."""
        return list(self.rows)

    @property
    def prior(self) -> str:
        """The prior in words (what the decision sentence names)."""
        return self.prior_text


def prior_words(history, kind: str = "continuous", unit=None) -> str:
    """``Normal(mu = +0.210 pp, tau = 0.400 pp) prior ..., fitted to 37 past experiments``."""
    from bayeslab.core import format as fmt

    p = history.params

    def value(k):
        v = p[k]["mean"]
        if k in ("mu", "tau"):        # in the metric's unit (pp for a rate)
            text = fmt.effect(v, "absolute", kind, unit)
            return text if k == "mu" else text.lstrip("+")
        return fmt.number(v)

    parts = [f"{k} = {value(k)}" for k in ("pi", "mu", "tau", "nu") if k in p]
    family = {"normal": "Normal", "spike": "spike-and-slab", "student": "Student-t",
              "spike-t": "spike-and-heavy-tailed-slab"}.get(
        history.family, history.family)
    return (f"{family}({', '.join(parts)}) prior on the absolute effect, fitted to "
            f"{history.n_experiments} past experiments of this metric")


def with_learned_prior(fit, history, *, interval: float):
    """``fit`` with the ``bayes-library`` estimates added and made the Bayesian headline.

    Raises
    ------
    ModelError
        The metric's decision does not read an absolute effect (a hazard ratio, a funnel
        stage), which the learned prior is on.
    """
    from bayeslab.bayes.history import posterior_with_prior
    from bayeslab.readout.verdicts import _headline_estimates

    if fit.headline[2] != "absolute":
        raise ModelError(f"metric {fit.spec.metric!r}: prior = \"library\" is a prior on the "
                         f"absolute effect, and this metric's decision reads its "
                         f"{fit.headline[2]} effect")
    prior = history.prior_spec()
    words = prior_words(history, fit.spec.kind, getattr(fit.spec, "unit", None))
    rows = []
    for arm, f in _headline_estimates(fit, "frequentist", fit.headline[1], None).items():
        se = (f.upper - f.lower) / (2 * _z(f.level))
        if not (math.isfinite(se) and se > 0):
            raise ModelError(f"metric {fit.spec.metric!r}: arm {arm!r} has no standard error "
                             "for the learned prior to update")
        post = posterior_with_prior(f.estimate, se, prior, interval=interval)
        m, sd = post.mean, post.sd
        zm = m / sd if sd > 0 else math.copysign(math.inf, m)
        loss = (sd * math.exp(-zm * zm / 2) / math.sqrt(2 * math.pi)
                - m * 0.5 * math.erfc(zm / math.sqrt(2))) if sd > 0 else max(-m, 0.0)
        rows.append(Estimate(
            side="bayes", method=METHOD, effect="absolute", estimate=m, lower=post.lower,
            upper=post.upper, level=interval, arm=arm, prob_positive=post.prob_positive,
            expected_loss=max(loss, 0.0),
            extra={"prob_negative": max(0.0, 1.0 - post.prob_positive - post.prob_zero),
                   "prob_zero": post.prob_zero, "prior": words,
                   "n_experiments": history.n_experiments, "likelihood_estimate": f.estimate,
                   "likelihood_se": se, "family": history.family}))
    result = LearnedPriorResult(rows=tuple(rows), prior_text=words,
                                n_experiments=history.n_experiments)
    notes = (*fit.notes, f"{fit.spec.metric}: the Bayesian decision uses a "
                         f"{words} (the experiment library)")
    summary = {"prior": words, "n_experiments": history.n_experiments,
               "effect_distribution": {"family": history.family, "params": history.params,
                                       "mean": history.mean, "sd": history.sd},
               "shipped_impact": history.shipped_impact,
               "chosen_by": (history.loo or {}).get("reason"),
               "diagnostics": getattr(history.diagnostics, "verdict", None)}
    return replace(fit, bayes=(*fit.bayes, result), notes=notes,
                   extra={**fit.extra, "learned_prior": summary},
                   headline=(METHOD, fit.headline[1], fit.headline[2]))


def learned_prior_of(readout) -> dict | None:
    """A readout's learned prior (live or saved) as a dict, or ``None``."""
    extra = getattr(getattr(readout, "fit", None), "extra", None)
    if isinstance(extra, dict) and extra.get("learned_prior") is not None:
        return extra["learned_prior"]
    data = getattr(readout, "data", None)
    return data.get("learned_prior") if isinstance(data, dict) else None


def learned_prior_text(summary: dict, unit_kind: str, unit=None) -> list[str]:
    """The report's sentences: the prior in words, and the shipped impact naive vs corrected."""
    from bayeslab.core import format as fmt

    def eff(v):
        return fmt.effect(v, "absolute", unit_kind, unit)

    out = [f"Prior: {summary['prior']}"
           + (f"; {summary['chosen_by']}" if summary.get("chosen_by") else "") + "."]
    s = summary.get("shipped_impact")
    if s and s.get("n"):
        ratio = s.get("ratio")
        out.append(f"The {s['n']} shipped past experiments of this metric add up to "
                   f"{eff(s['naive'])} as estimated, and to {eff(s['corrected'])} "
                   f"[{eff(s['lower'])}, {eff(s['upper'])}] once each is shrunk by the history "
                   "(the winner's curse: they were shipped partly for their noise)"
                   + (f"; naive / corrected = {fmt.number(ratio, 3)}" if ratio else "") + ".")
    return out


def _z(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2)
