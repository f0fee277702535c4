"""The decision engine of a metric readout: each side's verdict, then the readout's.

:func:`primary_decision` reads the headline estimates of both sides (the ones the kind registry
names), applies the :class:`~bayeslab.core.decision.DecisionRule` to each (Bayes: P(better) and the
expected loss; frequentist: the p-value, adjusted for multiplicity as
:mod:`bayeslab.readout.corrections` says), and combines
them with the guardrails and the sample ratio check into one
:class:`~bayeslab.core.decision.Decision`.
:func:`guardrail_decision` judges a guardrail against its non-inferiority margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bayeslab.core.decision import Decision, DecisionRule
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import Estimate

if TYPE_CHECKING:
    from bayeslab.readout.fitters import MetricFit

def unconverged_blocker(result) -> tuple[str, ...]:
    """The blocking sentence when the headline Bayesian model was sampled and failed its gate.

    Closed-form models have no diagnostics and never block here; a segment model that fails
    blocks only the segment decision (:mod:`bayeslab.readout.segments`).
    """
    diag = getattr(result, "diagnostics", None)
    if diag is None or getattr(diag, "verdict", None) != "fail":
        return ()
    return (f"the Bayesian model did not converge ({diag.reason}): its numbers are not a "
            "posterior yet; see the diagnostics",)


def srm_blocker(srm) -> tuple[str, ...]:
    """The blocking sentence of a sample ratio mismatch (empty when the split is as planned)."""
    if not srm.mismatch:
        return ()
    return (f"sample ratio mismatch: arm counts {', '.join(f'{o:,.0f}' for o in srm.observed)} "
            f"against planned shares {', '.join(f'{p:.3g}' for p in srm.planned)} "
            f"(chi-square p = {srm.p_value:.2g} < {srm.threshold:g}); fix assignment or logging "
            "before reading the result",)


def _fmt_p(p: float, complement: float) -> str:
    from bayeslab.core.format import prob

    return prob(p, complement)


def _headline_estimates(fit: MetricFit, side: str, method: str | None,
                        arm: str | None) -> dict[str, Estimate]:
    """Headline estimates of one side: for each treatment arm, the first matching entry."""
    if method is None:
        return {}
    results = fit.bayes if side == "bayes" else fit.frequentist
    wanted_rate = fit.extra.get("headline_rate")
    out: dict[str, Estimate] = {}
    for result in results:
        for e in result.estimates():
            if e.method != method or e.effect != fit.headline[2] or e.segment is not None:
                continue
            if wanted_rate and e.extra.get("rate") != wanted_rate:
                continue
            key = e.arm if e.arm is not None else fit.arms["arm"][1]
            out.setdefault(key, e)
    return out


def posterior_probs(e: Estimate) -> tuple[float, float]:
    """``(P(effect > 0), P(effect < 0))`` of a Bayesian estimate.

    ``P(effect < 0)`` is the estimate's ``extra["prob_negative"]`` where the model states it
    (exact tails), else the complement.

    Raises
    ------
    ModelError
        The estimate carries no ``prob_positive`` (not a posterior of the effect).
    """
    p_pos = e.prob_positive
    if p_pos is None:
        raise ModelError(f"the {e.side} estimate {e.method!r} ({e.effect}) has no "
                         "P(effect > 0): it cannot decide as a Bayesian headline")
    return p_pos, e.extra.get("prob_negative", 1.0 - p_pos)


def _prob_text(e: Estimate, p: float, q: float) -> str:
    """``= 0.97``; for a Monte Carlo probability at 0 or 1, the bound the draws allow."""
    from bayeslab.core.format import prob_is

    return prob_is(p, q, e.extra.get("draws"))


def bayes_verdict(better: float, worse: float, ok_loss: bool, rule: DecisionRule) -> str:
    """Bayes side's verdict from P(better) and P(worse).

    Ship when P(better) reaches the threshold with a small loss; do not ship when P(worse)
    does; else inconclusive.
    """
    if better >= rule.prob_threshold and ok_loss:
        return "ship"
    if worse >= rule.prob_threshold:
        return "do not ship"
    return "inconclusive"


def frequentist_verdict(p_value: float | None, good: bool, alpha: float) -> str:
    """Significant at ``alpha`` in the good direction: ship; in the bad one: do not ship."""
    if p_value is not None and p_value < alpha:
        return "ship" if good else "do not ship"
    return "inconclusive"


#: Largest gap :math:`|P - (1 - p/2)|` between the two sides' one-sided evidence that is read
#: as the same evidence (the flat-prior identity :math:`P = 1 - p/2` holds to this in the
#: shipped kinds' large-sample readouts; a prior that matters or another model moves it more).
SAME_EVIDENCE_TOL = 0.01


@dataclass(frozen=True)
class Evidence:
    r"""Both sides' evidence for one arm on one scale, to say why their verdicts differ.

    The frequentist side's one-sided evidence in a direction is :math:`1 - p/2` (``p``
    two-sided) when the estimate points that way, else :math:`p/2`; under a flat prior it is
    the Bayesian :math:`P` of that direction.

    Attributes
    ----------
    prob_better, prob_worse : float
        The Bayesian :math:`P(\text{better})` and :math:`P(\text{worse})`.
    p_value : float or None
        The frequentist two-sided p-value.
    good : bool
        The frequentist estimate points the good way.
    ok_loss : bool
        The Bayesian expected-loss criterion holds.
    rule : DecisionRule
        The rule applied.
    alpha : float
        The frequentist level applied (``rule.alpha`` after any Bonferroni division).
    what, what_worse : str
        What ``P(...)`` is of in each direction, e.g. ``"ctr better in B"`` and
        ``"ctr worse in B"``.
    models : str
        The two sides' models, e.g. ``"beta-binomial, Beta(1, 1) prior, against z-test"``.
    alpha_note : str
        How ``alpha`` was reached when it is not ``rule.alpha`` (``"after Bonferroni over 2
        arms"``, ``"Holm-adjusted over 2 tests"``): with a multiple-testing correction
        ``p_value`` is the unadjusted p and ``alpha`` the level it meets,
        :math:`\alpha\, p_{raw} / p_{adj}`.
    """

    prob_better: float
    prob_worse: float
    p_value: float | None
    good: bool
    ok_loss: bool
    rule: DecisionRule
    alpha: float
    what: str
    what_worse: str
    models: str
    alpha_note: str = ""

    def directed(self, worse: bool) -> tuple[float, float, float, str]:
        """``(P, P's complement, frequentist one-sided evidence, its label)`` in one direction."""
        b, b_c = ((self.prob_worse, self.prob_better) if worse
                  else (self.prob_better, self.prob_worse))
        p = float(self.p_value) if self.p_value is not None else 1.0
        toward = self.good != worse
        return (b, b_c, 1.0 - p / 2 if toward else p / 2, "1 - p/2" if toward else "p/2")


def split_head(b_verdict: str, f_verdict: str, ev: Evidence | None) -> str:
    r"""Headline when the sides' verdicts differ (the verdict is inconclusive either way).

    With the evidence of both sides it says why: the same evidence (:math:`|P - (1 - p/2)| \le`
    :data:`SAME_EVIDENCE_TOL`, or both between the two thresholds) judged by thresholds that
    differ or that it straddles; the Bayesian loss criterion; or evidence that really differs
    (a prior that matters, another model), named with both numbers.
    """
    from bayeslab.core import format as fmt

    said = f"Bayes says {b_verdict}, frequentist says {f_verdict}"
    if ev is None or ev.p_value is None:
        return f"Inconclusive: the analyses disagree ({said})."
    worse = "do not ship" in (b_verdict, f_verdict)
    b, b_c, f1, label = ev.directed(worse)
    what = ev.what_worse if worse else ev.what
    nums = f"P({what}) = {fmt.prob(b, b_c)}, {label} = {fmt.prob(f1, 1.0 - f1)}"
    t_b, t_f = ev.rule.prob_threshold, 1.0 - ev.alpha / 2
    b_name = f"the Bayesian threshold {t_b:g}"
    f_name = f"the frequentist alpha {ev.alpha:.3g}" + (f" ({ev.alpha_note})"
                                                         if ev.alpha_note else "")
    if {b_verdict, f_verdict} != {"ship", "do not ship"}:
        if (not worse and b_verdict == "inconclusive" and b >= t_b and not ev.ok_loss):
            return (f"Inconclusive: the frequentist analysis finds an improvement and the "
                    f"Bayesian P meets its threshold {t_b:g} too ({nums}), but the Bayesian "
                    f"expected loss of shipping is above the {ev.rule.loss_threshold:.2%} the "
                    "rule accepts.")
        lo, hi = min(t_b, t_f), max(t_b, t_f)
        if abs(b - f1) <= SAME_EVIDENCE_TOL or (lo <= b <= hi and lo <= f1 <= hi):
            met, unmet = (b_name, f_name) if b_verdict != "inconclusive" else (f_name, b_name)
            if abs(t_b - t_f) <= 1e-9:
                return (f"Inconclusive: both analyses read the same evidence ({nums}), "
                        f"which lies at their shared threshold (P >= {t_b:g}, two-sided p < "
                        f"{ev.alpha:.3g}): it just meets {met} and just misses {unmet}.")
            word = "laxer" if t_b < t_f else "stricter"
            same = ("both analyses read the same evidence" if abs(b - f1) <= SAME_EVIDENCE_TOL
                    else "the analyses differ only in their thresholds")
            return (f"Inconclusive: {same} ({nums}); it meets {met} but not {unmet}: the "
                    f"Bayesian threshold is {word} than the frequentist alpha, which matches "
                    f"P >= {t_f:.4g}.")
    surer = "the Bayesian side is surer" if b > f1 else "the frequentist side is surer"
    not_rule = "not the thresholds" if abs(t_b - t_f) <= 1e-9 else "more than the thresholds"
    return (f"Inconclusive: the analyses disagree ({said}): they read different "
            f"evidence, {surer} ({nums}, apart by more than {SAME_EVIDENCE_TOL:g}); the cause "
            f"is the prior or the model ({ev.models}), {not_rule}.")


def verdict_and_head(metric: str, arm: str | None, b_verdict: str | None,
                     f_verdict: str | None, blockers, failed_guardrails=(), *,
                     evidence: Evidence | None = None) -> tuple[str, str]:
    """The readout's verdict from both sides' and its headline sentence.

    A blocker blocks; a shipped winner with a failed guardrail is ``hold``; sides that agree
    give their verdict; sides whose verdicts differ are inconclusive, and with ``evidence``
    the headline says whether they read the same evidence (:func:`split_head`).
    """
    verdicts = {v for v in (b_verdict, f_verdict) if v is not None}
    which = f" {arm}" if arm is not None else ""
    if blockers:
        return "blocked", "No decision: " + blockers[0] + "."
    if verdicts == {"ship"} and failed_guardrails:
        return "hold", (f"Hold{which}: the primary metric improved but guardrail "
                        f"{', '.join(repr(g.metric) for g in failed_guardrails)} did not pass.")
    if len(verdicts) == 1 and (b_verdict is None or f_verdict is None):
        verdict = verdicts.pop()              # one side only: never "the analyses agree"
        who, other = (("the Bayesian analysis", "frequentist") if f_verdict is None
                      else ("the frequentist analysis", "Bayesian"))
        alone = f" (alone: there is no {other} counterpart to confirm it)"
        return verdict, {
            "ship": f"Ship{which}: {who} finds {metric} improved{alone}.",
            "do not ship": f"Do not ship{which}: {who} finds {metric} worse{alone}.",
            "inconclusive": f"Inconclusive: {who} is not sure {metric} moved{alone}."}[verdict]
    if len(verdicts) == 1:
        verdict = verdicts.pop()
        return verdict, {
            "ship": f"Ship{which}: the analyses agree that {metric} improved.",
            "do not ship": f"Do not ship{which}: the analyses find {metric} worse.",
            "inconclusive": f"Inconclusive: no analysis is sure {metric} moved."}[verdict]
    return "inconclusive", split_head(str(b_verdict), str(f_verdict), evidence)


@dataclass(frozen=True)
class _Side:
    verdict: str
    text: str
    facts: dict            # what the headline needs to say why the sides differ


def _bayes_side(fit, e: Estimate, arm: str, rule: DecisionRule) -> tuple[_Side, float]:
    p_pos, p_neg = posterior_probs(e)
    better, worse = (p_pos, p_neg) if fit.direction > 0 else (p_neg, p_pos)
    loss, loss_text = None, "no expected-loss criterion for this kind"
    learned = e.method == "bayes-library"        # a prior learned from past experiments
    if fit.spec.kind == "conversion" and not learned:
        c = fit.bayes[0].comparison(arm if len(fit.arms) > 2 else None)
        loss, loss_text = c.expected_loss_rel, "relative expected loss"
    elif e.expected_loss is not None and fit.direction > 0:
        base = abs(float(fit.arms["mean"][0]))
        if base > 0:
            loss, loss_text = e.expected_loss / base, "expected loss / control mean"
    verdict = bayes_verdict(better, worse, loss is None or loss <= rule.loss_threshold, rule)
    from bayeslab.core.format import prior as prior_text

    prior = getattr(fit.bayes[0], "prior", None)
    words = prior_text(prior) if prior is not None else ""
    if learned:
        words = str(e.extra.get("prior", ""))
    how = (f"{e.method}, {words}" + ("" if "prior" in words.lower() else " prior")
           if words else e.method)
    loss_part = f", {loss_text} {loss:.3%}" if loss is not None else f" ({loss_text})"
    if fit.headline[2] == "hazard-ratio":
        what = f"hazard ratio of {fit.spec.metric} < 1 in {arm}"
        what_worse = f"hazard ratio of {fit.spec.metric} > 1 in {arm}"
    else:
        word, bad = ("better", "worse") if fit.direction > 0 else ("better (lower)",
                                                                    "worse (higher)")
        what = f"{fit.spec.metric} {word} in {arm}"
        what_worse = f"{fit.spec.metric} {bad} in {arm}"
    facts = {"prob_better": better, "prob_worse": worse, "what": what, "what_worse": what_worse,
             "ok_loss": loss is None or loss <= rule.loss_threshold, "how": how}
    return _Side(verdict, f"Bayes ({how}): P({what}) "
                          f"{_prob_text(e, better, worse)}{loss_part}, so {verdict}.",
                 facts), better


def _frequentist_side(fit, e: Estimate, arm: str, rule: DecisionRule, n_treat: int,
                      unit=None) -> _Side:
    from bayeslab.core import format as fmt
    from bayeslab.readout.corrections import adjustment_text

    # a fit read through a Correction (compare, plans) carries adjusted p-values: they meet
    # alpha itself; a bare fit of several arms keeps the Bonferroni level alpha / arms
    corrected = fit.extra.get("correction") is not None
    alpha = rule.alpha if corrected else rule.alpha / n_treat
    good = e.estimate > 0 if fit.headline[2] != "hazard-ratio" else e.estimate < 1
    good = good if fit.direction > 0 or fit.headline[2] == "hazard-ratio" else not good
    verdict = frequentist_verdict(e.p_value, good, alpha)
    how = adjustment_text(e.extra)
    bonf = (f" ({how})" if how else
            f" (alpha {alpha:.3g} after Bonferroni over {n_treat} arms)" if alpha < rule.alpha
            else "")

    effect = fmt.effect(e.estimate, fit.headline[2], fit.spec.kind, unit)
    # the evidence on the P scale is the unadjusted p; an adjusted p meets alpha where the
    # unadjusted one meets alpha * p_raw / p_adj (the level the correction applied to it)
    p_raw, note = e.extra.get("p_raw"), how.split(";")[0] if how else ""
    level = alpha
    if p_raw is not None and e.p_value and e.extra.get("adjust") not in (None, "none"):
        level = alpha * min(1.0, float(p_raw) / float(e.p_value))
    elif alpha < rule.alpha:
        note = f"after Bonferroni over {n_treat} arms"
    facts = {"p_value": e.p_value if p_raw is None else p_raw, "good": bool(good),
             "alpha": level, "alpha_note": note, "how": e.method}
    return _Side(verdict, f"Frequentist ({e.method}): p = {fmt.p_value(e.p_value)}{bonf}, "
                          f"{fit.headline[2].replace('-', ' ')} {effect}, so {verdict}.", facts)


def _evidence(b: _Side | None, f: _Side | None, rule: DecisionRule) -> Evidence | None:
    """Both sides' evidence for the headline, when both sides read the arm."""
    if b is None or f is None:
        return None
    return Evidence(prob_better=b.facts["prob_better"], prob_worse=b.facts["prob_worse"],
                    p_value=f.facts["p_value"], good=f.facts["good"],
                    ok_loss=b.facts["ok_loss"], rule=rule, alpha=f.facts["alpha"],
                    what=b.facts["what"], what_worse=b.facts["what_worse"],
                    models=f"{b.facts['how']}, against {f.facts['how']}",
                    alpha_note=f.facts["alpha_note"])


def primary_decision(fit: MetricFit, rule, srm, guardrails, unit=None) -> Decision:
    """Decision of a primary or secondary metric: both sides, guardrails, SRM.

    Each treatment arm gets each side's verdict; the arm judged is the best one (largest
    P(best) for conversion, else largest P(better)). Both sides agreeing gives their verdict; a
    disagreement is inconclusive; a shipped winner with a failed guardrail is ``hold``; a
    sample ratio mismatch blocks.
    """
    metric = fit.spec.metric
    b_est = _headline_estimates(fit, "bayes", fit.headline[0], None)
    f_est = _headline_estimates(fit, "frequentist", fit.headline[1], None)
    treatments = list(fit.arms["arm"][1:])
    n_treat = len(treatments)
    sides: dict[str, tuple[tuple[_Side, float] | None, _Side | None]] = {}
    for arm in treatments:
        b = _bayes_side(fit, b_est[arm], arm, rule) if arm in b_est else None
        f = _frequentist_side(fit, f_est[arm], arm, rule, n_treat, unit) if arm in f_est else None
        sides[arm] = (b, f)
    if fit.spec.kind == "conversion" and n_treat > 1:
        arm = treatments[int(np.argmax(fit.bayes[0].prob_best[1:]))]
    elif b_est:
        def p_better(a: str) -> float:
            bayes_side = sides[a][0]
            return bayes_side[1] if bayes_side else -1

        arm = max(treatments, key=p_better)
    else:
        def p_value(a: str) -> float:
            p = f_est[a].p_value if a in f_est else None
            return 1.0 if p is None else p

        arm = min(treatments, key=p_value)
    b, f = sides[arm]
    b_verdict = b[0].verdict if b else None
    f_verdict = f.verdict if f else None
    texts = [t for t in (b[0].text if b else None, f.text if f else None) if t]
    if b is None:
        texts.append("This kind has no Bayesian headline estimate: the decision reads the "
                     "frequentist side alone.")
    blockers = list(srm_blocker(srm))
    blockers += unconverged_blocker(fit.bayes[0] if fit.bayes else None)
    failed = [g for g in guardrails if g.decision.verdict != "pass"]
    verdict, head = verdict_and_head(metric, arm, b_verdict, f_verdict, blockers, failed,
                                     evidence=_evidence(b[0] if b else None, f, rule))
    reasons = [head, *texts]
    reasons += [f"Guardrail {g.metric!r}: {g.decision.verdict}." for g in guardrails]
    reasons.append("Rule: " + rule.describe() + ".")
    return Decision(verdict=verdict, arm=arm, bayes=b_verdict or "n/a",
                    frequentist=f_verdict or "n/a", reasons=tuple(reasons),
                    blockers=tuple(blockers))


def guardrail_decision(fit: MetricFit, rule, srm, margin, relative: bool = False) -> Decision:
    r"""Decision of a guardrail against its non-inferiority margin.

    It passes when, for every treatment arm,
    :math:`P(\Delta > m) \le 1 - \text{prob\_threshold}` (Bayes) and the one-sided
    non-inferiority p-value is below ``alpha / 2`` (frequentist), ``m`` the margin. With
    ``relative=True`` the increase is :math:`\Delta = p_T / p_C - 1` and ``m`` a fraction of
    the control rate; otherwise :math:`\Delta = p_T - p_C`.
    """
    from bayeslab.core import format as fmt

    bayes, freq = fit.bayes[0], fit.frequentist[0]
    arms = list(fit.arms["arm"])
    show = fmt.pct if relative else fmt.pp
    verdicts, b_parts, f_parts = [], [], []
    for arm in arms[1:]:
        which = arm if len(arms) > 2 else None
        p_harm = bayes.prob_lift_above(margin, relative=relative, arm=which)
        ni = freq.noninferiority(margin, arm=which, relative=relative)
        verdicts.append(((1 - p_harm) >= rule.prob_threshold, ni.p_value < rule.alpha / 2))
        b_parts.append(f"P(increase in {arm} > margin) = {_fmt_p(p_harm, 1 - p_harm)}")
        f_parts.append(f"non-inferiority p = {fmt.p_value(ni.p_value)} ("
                       f"{'relative increase' if relative else 'difference'} {show(ni.diff)}, "
                       f"upper bound {show(ni.upper)})")
    b_pass = all(b for b, _ in verdicts)
    f_pass = all(f for _, f in verdicts)
    blockers = srm_blocker(srm)
    verdict = "blocked" if blockers else ("pass" if b_pass and f_pass else "fail")
    reasons = (f"Guardrail {fit.spec.metric!r} {verdict} at margin {fmt.margin(margin, relative)} "
               f"(largest acceptable increase).",
               "Bayes: " + "; ".join(b_parts) + f" -> {'pass' if b_pass else 'fail'}.",
               "Frequentist: " + "; ".join(f_parts) + f" -> {'pass' if f_pass else 'fail'}.")
    return Decision(verdict=verdict, arm=None, bayes="pass" if b_pass else "fail",
                    frequentist="pass" if f_pass else "fail", reasons=reasons,
                    blockers=blockers)
