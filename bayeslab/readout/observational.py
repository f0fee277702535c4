"""Causal readout of a rollout that was not randomized: naive and adjusted, both sides.

:func:`compare_propensity` reads unit rows through DuckDB, fits the frequentist estimators
(naive, IPW, stabilized IPW, overlap weights, AIPW, caliper matching) and the Bayesian ones
(propensity-posterior IPW and overlap weighting, doubly robust), checks covariate balance and
propensity overlap, and decides. Each estimate states its estimand (``ate``, ``att``, ``ato``;
``unadjusted`` for the naive difference). Remaining imbalance, poor overlap or a Bayesian fit
that did not converge block the decision: the numbers are shown, no verdict is given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np

from bayeslab.core.decision import Decision, DecisionRule
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, jsonable
from bayeslab.data.accounting import RowAccount
from bayeslab.data.units import load_units
from bayeslab.readout.contract import BaseReadout, Headline

if TYPE_CHECKING:
    from bayeslab.bayes.propensity import BayesPropensityResult
    from bayeslab.frequentist.propensity import PropensityResult
    from bayeslab.inference.diagnostics import Diagnostics
    from bayeslab.kernels.balance import BalanceReport

KINDS = {"conversion": "binary", "binary": "binary", "continuous": "continuous"}
PRIMARY = {"frequentist": "aipw", "bayes": "bayes-dr"}


@dataclass(frozen=True)
class PropensityReadout(BaseReadout):
    """Naive and adjusted effects of a non-randomized treatment, both sides, with a decision.

    Attributes
    ----------
    metric, kind : str
    estimand : {"ate", "att"}
    confounders : tuple of str
    bayes : BayesPropensityResult
    frequentist : PropensityResult
    balance : BalanceReport
        Balance and overlap of the IPW weights (primary), stabilized and overlap weights and
        the matched sample.
    rule : DecisionRule
    decision : Decision
    rows : RowAccount
    """

    metric: str
    kind: str
    estimand: str
    confounders: tuple[str, ...]
    bayes: BayesPropensityResult = field(repr=False)
    frequentist: PropensityResult = field(repr=False)
    balance: BalanceReport = field(repr=False)
    rule: DecisionRule
    decision: Decision
    rows: RowAccount

    TYPE = "propensity"

    def estimates(self) -> list[Estimate]:
        """Every estimate, frequentist (naive first) then Bayes; ``extra['estimand']`` set."""
        return [*self.frequentist.estimates(), *self.bayes.estimates()]

    @property
    def headline(self) -> Headline:
        """What the decision reads: the doubly robust posterior and AIPW, absolute effect."""
        return Headline(PRIMARY["bayes"], PRIMARY["frequentist"], "absolute")

    @property
    def prior(self):
        """The Bayesian propensity and outcome model's prior."""
        return self.bayes.prior

    @property
    def diagnostics(self) -> Diagnostics | None:
        """The Bayesian propensity model's MCMC diagnostics (``None`` for a Laplace fit)."""
        # BayesPropensityResult annotates its diagnostics as object: a Diagnostics or None
        return cast("Diagnostics | None", self.bayes.diagnostics)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Failed checks (imbalance, weak overlap, unconverged chains), one sentence each."""
        return tuple(self.decision.blockers)

    def to_dict(self) -> dict:
        """JSON-safe: rows, arms, results, balance, overlap, prior, diagnostics, decision."""
        f, b = self.frequentist, self.bayes
        bal = self.balance.to_dict()
        return jsonable({
            "type": self.TYPE, "role": self.role,
            "metric": self.metric, "kind": self.kind, "estimand": self.estimand,
            "design": "observational (propensity adjustment)",
            "confounders": list(self.confounders), "control": f.control,
            "treatment": f.treatment, "rows": self.rows.to_dict(),
            "results": [e.to_dict() for e in self.estimates()],
            "balance": {k: v for k, v in bal.items() if k != "overlap"},
            "overlap": bal["overlap"],
            "propensity_model": f.model.to_dict(),
            "matching": {"pairs": f.matching.n_pairs, "matched_share": f.matching.matched_share,
                         "caliper_sd": f.matching.caliper_sd, "caliper": f.matching.caliper,
                         "replacement": False},
            "prior": b.prior.to_dict(), "sampler": b.sampler,
            "diagnostics": None if self.diagnostics is None else self.diagnostics.to_dict(),
            "rule": self.rule.to_dict(), "decision": self.decision.to_dict(),
            "warnings": list(self.warnings), "headline": self.headline._asdict(),
        })

    def plot(self, kind: str = "love", ax=None):
        """Love plot (``kind="love"``) or propensity overlap plot (``"overlap"``); a Figure."""
        from bayeslab.plots import love_plot, overlap_plot

        if kind == "love":
            return love_plot(self.balance, ax=ax, metric=self.metric)
        if kind == "overlap":
            return overlap_plot(self.balance, ax=ax, metric=self.metric)
        raise ModelError(f"plot kind must be 'love' or 'overlap', got {kind!r}")

    def figures(self) -> dict:
        """Every figure by name: ``intervals`` (Bayes vs frequentist), ``love``, ``overlap``."""
        from bayeslab.plots import plot_interval_comparison

        return {"intervals": plot_interval_comparison(
                    self.estimates(), metric=self.metric, kind=self.kind,
                    note=f"estimand {self.estimand.upper()}; the decision reads "
                         f"{PRIMARY['bayes']} and {PRIMARY['frequentist']}"),
                "love": self.plot("love"), "overlap": self.plot("overlap")}

    def __str__(self) -> str:
        from bayeslab.core import format as fmt

        f = self.frequentist
        lines = [f"Observational readout of {self.metric!r}: {f.treatment} vs {f.control}, "
                 f"adjusting for {', '.join(self.confounders)}", str(self.rows), "",
                 "method            side         estimand    effect      interval"]
        for e in self.estimates():
            if e.effect != "absolute":
                continue
            lines.append(f"{e.method:17s} {e.side:12s} {e.extra['estimand']:10s} "
                         f"{fmt.effect(e.estimate, e.effect, self.kind, self.unit):>10s}  "
                         f"{fmt.interval(e.lower, e.upper, e.effect, self.kind, self.unit)}")
        lines += ["", "Balance (standardized mean differences):", str(self.balance), "",
                  f"Decision: {self.decision.verdict}. {self.decision.text}"]
        return "\n".join(lines)


def compare_propensity(
    data=None,
    *,
    arm: str,
    metric: str,
    confounders,
    estimand: str = "ate",
    kind: str = "conversion",
    control: str | None = None,
    interval: float = DEFAULT_LEVEL,
    rule: DecisionRule | None = None,
    seed: int = 0,
    ci: str = "sandwich",
    n_boot: int = 500,
    caliper: float | None = 0.2,
    clip: tuple[float, float] | None = None,
    trim: tuple[float, float] | None = None,
    sampler: str = "nuts",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    prior=None,
    rhat_max: float = 1.01,
    smd_threshold: float = 0.1,
    min_ess_ratio: float = 0.1,
    missing: str = "error",
    sql: str | None = None,
    progressbar: bool | None = None,
) -> PropensityReadout:
    """Read out a non-randomized treatment with propensity methods on both sides.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or Source, optional
        Unit rows. Alternatively ``sql``.
    arm, metric : str
        Treatment indicator (two labels) and outcome column.
    confounders : sequence of str or str
        Pre-treatment covariates that drive both treatment and outcome.
    estimand : {"ate", "att"}
        Target of IPW, AIPW and the Bayesian estimators. Overlap weights always estimate the
        ATO; matching (treated matched to controls) the ATT of the matched treated units.
    kind : {"conversion", "continuous"}
        Outcome kind.
    control : str, optional
        Control label.
    interval : float
        Interval level, both sides.
    rule : DecisionRule, optional
        Thresholds; the decision uses ``aipw`` (frequentist) and ``bayes-dr`` (Bayes).
    seed : int
        Seed of the bootstrap, matching order and sampler.
    ci : {"sandwich", "bootstrap"}
        IPW intervals.
    n_boot : int
        Bootstrap replicates (``ci="bootstrap"``).
    caliper : float or None
        Matching caliper in pooled SDs of the logit propensity (0.2).
    clip : (float, float), optional
        Clip propensities to this range (reported in the readout).
    trim : (float, float), optional
        Drop units whose propensity (first fit) is outside this range, then refit; the
        estimand becomes the effect in the trimmed population (reported; rows accounted).
    sampler : {"nuts", "laplace"}
        Bayesian propensity posterior: PyMC NUTS or the normal approximation at the mode.
    draws, tune, chains : int
        NUTS settings.
    prior : PropensityPrior, optional
    rhat_max : float
        Largest R-hat accepted before the Bayesian side counts as not converged.
    smd_threshold, min_ess_ratio : float
        Balance and overlap thresholds (see :func:`bayeslab.kernels.balance.balance_report`).
    missing : {"error", "exclude"}
    sql : str, optional
    progressbar : bool, optional
        Sampler progress; default only when stderr is a terminal.

    Returns
    -------
    PropensityReadout

    Raises
    ------
    DataError
        Bad input (see :func:`bayeslab.data.units.load_units`), or separation.
    ModelError
        Bad options.
    """
    from bayeslab.bayes.propensity import BayesPropensity
    from bayeslab.frequentist.propensity import PropensityWeighting, fit_propensity
    from bayeslab.kernels.balance import balance_report

    if kind not in KINDS:
        raise ModelError(f"kind must be 'conversion' or 'continuous', got {kind!r}")
    rule = rule or DecisionRule()
    units = load_units(data, sql=sql, arm=arm, metric=metric, confounders=confounders,
                       control=control, kind=KINDS[kind], missing=missing)
    notes = []
    if trim is not None:
        lo, hi = (float(v) for v in trim)
        if not 0 <= lo < hi <= 1:
            raise ModelError(f"trim must be (lo, hi) with 0 <= lo < hi <= 1, got {trim!r}")
        e0 = fit_propensity(units).e
        keep = (e0 >= lo) & (e0 <= hi)
        dropped = int((~keep).sum())
        units = _subset(units, keep, f"propensity outside [{lo:g}, {hi:g}] (trimmed)")
        notes.append(f"trimmed {dropped:,} units with propensity outside [{lo:g}, {hi:g}]; "
                     "estimates refer to the remaining population")
    if clip is not None:
        notes.append(f"propensities clipped to [{clip[0]:g}, {clip[1]:g}] before weighting")
    freq = PropensityWeighting(estimand, interval, ci=ci, n_boot=n_boot, caliper=caliper,
                               clip=clip, seed=seed).fit(units)
    bayes = BayesPropensity(estimand, interval, prior=prior, sampler=sampler, draws=draws,
                            tune=tune, chains=chains, clip=clip, seed=seed,
                            progressbar=progressbar, rhat_max=rhat_max).fit(units)
    m = freq.matching
    if m.matched_share < 1:
        notes.append(f"matching: {m.n_treated - m.n_pairs:,} of {m.n_treated:,} treated units "
                     f"found no control within the caliper; its ATT is over the "
                     f"{m.n_pairs:,} matched treated units.")
    adjustments = {"ipw": freq.weights["ipw"], "overlap": freq.weights["overlap"],
                   "matching": freq.weights["matching"]}
    balance = balance_report(units.X, units.t, freq.model.e, units.names, adjustments,
                             sources=units.sources, primary="ipw", estimand=estimand,
                             arms=(units.control, units.treatment),
                             smd_threshold=smd_threshold, min_ess_ratio=min_ess_ratio,
                             notes=notes)
    decision = _decide(units, freq, bayes, balance, rule, kind)
    return PropensityReadout(metric=metric, kind=kind, estimand=estimand,
                             confounders=units.confounders, bayes=bayes, frequentist=freq,
                             balance=balance, rule=rule, decision=decision, rows=units.rows)


def _subset(units, keep, reason):
    n_drop = int((~keep).sum())
    rows = units.rows
    excluded = dict(rows.excluded)
    if n_drop:
        excluded[reason] = n_drop
    account = RowAccount(read=rows.read, used=rows.used - n_drop, excluded=excluded)
    return dataclasses.replace(units, t=units.t[keep], y=units.y[keep], X=units.X[keep],
                               rows=account)


def _fmt_prob(effect) -> str:
    from bayeslab.core.format import prob_draws

    text = prob_draws(effect.prob_positive, len(effect.draws))
    return text if text[0] in "<>" else f"= {text}"


def _decide(units, freq, bayes, balance, rule, kind="conversion") -> Decision:
    f = freq.effect(PRIMARY["frequentist"])
    b = bayes.effect(PRIMARY["bayes"])
    loss_rel = float(np.mean(np.maximum(-b.rel_draws, 0)))
    if b.prob_positive >= rule.prob_threshold and loss_rel <= rule.loss_threshold:
        b_verdict = "ship"
    elif 1 - b.prob_positive >= rule.prob_threshold:
        b_verdict = "do not ship"
    else:
        b_verdict = "inconclusive"
    if f.p_value < rule.alpha:
        f_verdict = "ship" if f.diff > 0 else "do not ship"
    else:
        f_verdict = "inconclusive"
    naive = freq.effect("naive")
    from bayeslab.core import format as fmt

    def eff(v):
        return fmt.effect(v, "absolute", kind)

    def ci(e):
        return fmt.interval(e.lower, e.upper, "absolute", kind)

    b_text = (f"Bayes (doubly robust, {b.estimand.upper()}): effect {eff(b.diff)} {ci(b)}, "
              f"P(effect > 0) {_fmt_prob(b)}, relative expected loss {loss_rel:.3%}, so "
              f"{b_verdict}.")
    f_text = (f"Frequentist (AIPW, {f.estimand.upper()}): effect {eff(f.diff)} {ci(f)}, "
              f"p = {fmt.p_value(f.p_value)}, so {f_verdict}.")
    n_text = (f"The naive difference {eff(naive.diff)} mixes the effect with selection "
              "and is not a causal estimate.")
    blockers = list(balance.blockers)
    if not bayes.converged:
        d = bayes.diagnostics
        blockers.append("the Bayesian fit did not converge ("
                        + d.reason.removeprefix("not converged, no decision: ") + ")")
    arm = units.treatment
    if blockers:
        verdict = "blocked"
        head = "No decision: " + "; ".join(blockers) + "."
    elif b_verdict == f_verdict:
        verdict = b_verdict
        head = {"ship": f"Ship {arm}: both adjusted analyses find {units.metric} improved.",
                "do not ship": f"Do not ship {arm}: both adjusted analyses find it worse.",
                "inconclusive": "Inconclusive: neither adjusted analysis is sure the effect "
                                "is non-zero."}[verdict]
    else:
        from bayeslab.readout.verdicts import Evidence, split_head

        verdict = "inconclusive"
        evidence = Evidence(prob_better=b.prob_positive, prob_worse=1 - b.prob_positive,
                            p_value=f.p_value, good=bool(f.diff > 0),
                            ok_loss=loss_rel <= rule.loss_threshold, rule=rule,
                            alpha=rule.alpha, what="effect > 0", what_worse="effect < 0",
                            models=f"doubly robust {b.estimand.upper()}, against AIPW "
                                   f"{f.estimand.upper()}")
        head = split_head(b_verdict, f_verdict, evidence)
    rule_text = (f"Rule: ship when P(effect > 0) >= {rule.prob_threshold:g} and relative expected "
                 f"loss <= {rule.loss_threshold:.2%} (Bayes, doubly robust) and when two-sided "
                 f"p < {rule.alpha:g} with a positive estimate (frequentist, AIPW); no decision "
                 "with |SMD| above the threshold after weighting, poor overlap or an "
                 "unconverged sampler" + (f"; {rule.mismatch()}." if rule.mismatch() else "."))
    reasons = (head, b_text, f_text, n_text, *balance.notes, rule_text)
    return Decision(verdict=verdict, arm=arm, bayes=b_verdict, frequentist=f_verdict,
                    reasons=reasons, blockers=tuple(blockers))
