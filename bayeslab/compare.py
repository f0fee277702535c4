"""Readout: the Bayesian and the frequentist answer for one metric, side by side, with a decision.

A :class:`Readout` holds both fitted results of one metric, the row accounting, the sample ratio
mismatch check, the decision rule and the decision it gives. Guardrail metrics (harmful when they
rise: unsubscribes, opt-outs) get their own readouts, judged against a non-inferiority margin, and
the primary readout's decision takes them into account. A readout blocked by a failed check (SRM)
states both sides' numbers but makes no ship decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bayeslab.data.sources import open_source
from bayeslab.data.stats import ArmStats, sufficient_stats
from bayeslab.errors import DataError, ModelError
from bayeslab.results import DEFAULT_LEVEL, Estimate, jsonable

KINDS = ("conversion",)


@dataclass(frozen=True)
class DecisionRule:
    r"""When to ship, stated in both languages.

    Parameters
    ----------
    prob_threshold : float
        Bayes: ship when :math:`P(\\text{lift} > 0) \\ge` this and the expected loss is small;
        a guardrail passes when :math:`P(\\text{increase} < \\text{margin}) \\ge` this.
    loss_threshold : float
        Bayes: largest acceptable relative expected loss :math:`E[(1 - p_T/p_C)^+]` of shipping
        (the threshold of caring), 0.25% by default.
    alpha : float
        Frequentist: ship when the two-sided p-value is below ``alpha`` and the estimate is
        positive; a guardrail passes when the one-sided non-inferiority p-value is below
        ``alpha / 2`` (the two-sided interval's upper bound lies below the margin).
    srm_threshold : float
        p-value of the sample ratio mismatch test below which no decision is made.
    """

    prob_threshold: float = 0.95
    loss_threshold: float = 0.0025
    alpha: float = 0.05
    srm_threshold: float = 0.001

    def __post_init__(self):
        for name in ("prob_threshold", "alpha", "srm_threshold"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ModelError(f"{name} must be in (0, 1), got {value!r}")
        if self.loss_threshold < 0:
            raise ModelError(f"loss_threshold must be >= 0, got {self.loss_threshold!r}")

    def describe(self) -> str:
        """The rule in one sentence."""
        return (f"ship when P(lift > 0) >= {self.prob_threshold:g} and relative expected loss "
                f"<= {self.loss_threshold:.2%} (Bayes), and when two-sided p < {self.alpha:g} "
                f"with a positive estimate (frequentist); guardrails must show an increase below "
                f"their margin (P >= {self.prob_threshold:g}; one-sided p < {self.alpha / 2:g}); "
                f"no decision under sample ratio mismatch (p < {self.srm_threshold:g})")

    def to_dict(self) -> dict:
        """JSON-safe form, with the sentence."""
        return {"prob_threshold": self.prob_threshold, "loss_threshold": self.loss_threshold,
                "alpha": self.alpha, "srm_threshold": self.srm_threshold,
                "text": self.describe()}


@dataclass(frozen=True)
class Decision:
    """What a readout concludes.

    Attributes
    ----------
    verdict : str
        Primary metric: ``"ship"``, ``"do not ship"``, ``"inconclusive"``, ``"hold"`` (the
        primary metric won but a guardrail did not pass) or ``"blocked"``;
        guardrail: ``"pass"``, ``"fail"`` or ``"blocked"``.
    arm : str, optional
        The treatment arm the verdict is about.
    bayes, frequentist : str
        Each side's own verdict.
    reasons : tuple of str
        Plain-language sentences, the first one the headline.
    blockers : tuple of str
        Failed checks that prevent a decision (empty when none).
    """

    verdict: str
    arm: str | None
    bayes: str
    frequentist: str
    reasons: tuple[str, ...]
    blockers: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The reasons joined in one paragraph."""
        return " ".join(self.reasons)

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"verdict": self.verdict, "arm": self.arm, "bayes": self.bayes,
                "frequentist": self.frequentist, "text": self.text,
                "blockers": list(self.blockers)}


@dataclass(frozen=True)
class Readout:
    """Bayesian and frequentist results of one metric, side by side.

    Attributes
    ----------
    metric : str
    kind : str
        Metric kind, e.g. ``"conversion"``.
    role : {"primary", "guardrail"}
    stats : ArmStats
        Sufficient statistics the fits used (with the row accounting).
    bayes, frequentist : object
        Fitted results; both expose ``estimates()``.
    rule : DecisionRule
    srm : SRMResult
    decision : Decision
    margin : float, optional
        Guardrail non-inferiority margin (absolute increase).
    guardrails : tuple of Readout
        Guardrail readouts (primary readout only).
    """

    metric: str
    kind: str
    role: str
    stats: ArmStats = field(repr=False)
    bayes: object = field(repr=False)
    frequentist: object = field(repr=False)
    rule: DecisionRule
    srm: object
    decision: Decision
    margin: float | None = None
    guardrails: tuple[Readout, ...] = ()

    @property
    def rows(self):
        """Row accounting of this metric."""
        return self.stats.rows

    def estimates(self) -> list[Estimate]:
        """Every estimate of both sides, Bayes first."""
        return [*self.bayes.estimates(), *self.frequentist.estimates()]

    def summary(self) -> pd.DataFrame:
        """One row per estimate (both sides), with the metric and role."""
        frame = pd.DataFrame([e.to_dict() for e in self.estimates()])
        frame.insert(0, "metric", self.metric)
        return frame

    def to_dict(self) -> dict:
        """JSON-safe form: rows, arms, results, prior, srm, rule, decision, guardrails."""
        out = {
            "metric": self.metric, "kind": self.kind, "role": self.role,
            "control": self.stats.control, "rows": self.rows.to_dict(),
            "arms": self.stats.arm_table().to_dict(orient="records"),
            "results": [e.to_dict() for e in self.estimates()],
            "prior": self.bayes.prior.to_dict(), "srm": self.srm.to_dict(),
            "rule": self.rule.to_dict(), "decision": self.decision.to_dict(),
        }
        if self.margin is not None:
            out["margin"] = self.margin
        if self.role == "primary":
            out["guardrails"] = [g.to_dict() for g in self.guardrails]
        return jsonable(out)

    def __str__(self) -> str:
        from bayeslab.text import render_readout

        return render_readout(self)


def _load_stats(source, *, arm, metric, control, kind, n, unit_id, missing) -> ArmStats:
    stat_kind = {"conversion": "binary"}[kind]
    return sufficient_stats(source, arm=arm, metric=metric, control=control, kind=stat_kind,
                            n=n, unit_id=unit_id, missing=missing)


def compare(
    data=None,
    *,
    arm: str,
    metric: str,
    control: str | None = None,
    kind: str = "conversion",
    guardrails=(),
    margins=None,
    prior: tuple[float, float] = (1.0, 1.0),
    interval: float = DEFAULT_LEVEL,
    rule: DecisionRule | None = None,
    planned_split=None,
    sql: str | None = None,
    n: str | None = None,
    unit_id: str | None = None,
    missing: str = "error",
) -> Readout:
    """Read out one metric (and its guardrails) with both the Bayesian and frequentist answers.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or Source, optional
        Unit rows, or pre-aggregated rows with ``n``. Alternatively give ``sql``.
    arm, metric : str
        Arm column and primary outcome column.
    control : str, optional
        Control arm label (``0`` / ``false`` / ``control`` by default).
    kind : {"conversion"}
        Metric kind.
    guardrails : sequence of str
        Harmful binary metrics to check (unsubscribes, opt-outs).
    margins : float or dict of str to float
        Non-inferiority margin per guardrail: the largest acceptable absolute increase.
        Required when ``guardrails`` is given.
    prior : (float, float)
        Beta prior (alpha, beta) of every arm's rate.
    interval : float
        Interval level for both sides.
    rule : DecisionRule, optional
    planned_split : sequence of float, optional
        Planned shares per arm (control first) for the SRM check; equal by default.
    sql : str, optional
        DuckDB query giving the table, instead of ``data``.
    n : str, optional
        Count column of pre-aggregated input (``metric`` then holds conversions).
    unit_id : str, optional
        Unit id column of unit rows, checked for duplicates.
    missing : {"error", "exclude"}
        Rows with a missing arm or outcome: raise, or exclude and report.

    Returns
    -------
    Readout

    Raises
    ------
    DataError
        Bad input (see :func:`bayeslab.data.stats.sufficient_stats`), or guardrails without a
        margin.
    """
    if kind not in KINDS:
        raise ModelError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    rule = rule or DecisionRule()
    guardrails = [guardrails] if isinstance(guardrails, str) else list(guardrails)
    margin_of = _margins(guardrails, margins)
    source = open_source(data, sql=sql)
    load = dict(arm=arm, control=control, kind=kind, n=n, missing=missing)
    stats = _load_stats(source, metric=metric, unit_id=unit_id, **load)
    guard_readouts = []
    for g in guardrails:
        g_stats = _load_stats(source, metric=g, unit_id=None, **load)
        guard_readouts.append(_readout(g_stats, kind, "guardrail", prior, interval, rule,
                                       planned_split, margin=margin_of[g]))
    return _readout(stats, kind, "primary", prior, interval, rule, planned_split,
                    guardrails=tuple(guard_readouts))


def _margins(guardrails, margins) -> dict:
    if not guardrails:
        return {}
    if margins is None:
        raise DataError(f"guardrail {guardrails[0]!r} needs a non-inferiority margin "
                        "(margins=... or --margin): the largest increase you accept")
    if isinstance(margins, dict):
        missing = [g for g in guardrails if g not in margins]
        if missing:
            raise DataError(f"no margin given for guardrail {missing[0]!r}")
        out = {g: float(margins[g]) for g in guardrails}
    else:
        out = {g: float(margins) for g in guardrails}
    for g, m in out.items():
        if not m > 0:
            raise DataError(f"margin of guardrail {g!r} must be a positive increase, got {m!r}")
    return out


def _readout(stats, kind, role, prior, interval, rule, planned_split, *, margin=None,
             guardrails=()) -> Readout:
    from bayeslab.bayes.conversion import BetaBinomial
    from bayeslab.design.srm import srm_check
    from bayeslab.frequentist.conversion import TwoProportionZTest

    bayes = BetaBinomial(prior[0], prior[1], interval=interval).fit(stats)
    freq = TwoProportionZTest(interval=interval).fit(stats)
    if planned_split is not None and len(planned_split) != len(stats.arms):
        raise DataError(f"planned split has {len(planned_split)} shares for "
                        f"{len(stats.arms)} arms ({', '.join(stats.arms)})")
    srm = srm_check(stats.n.astype(int).tolist(), planned_split, threshold=rule.srm_threshold,
                    arms=stats.arms)
    if role == "guardrail":
        decision = _guardrail_decision(stats, bayes, freq, rule, srm, margin)
    else:
        decision = _primary_decision(stats, bayes, freq, rule, srm, guardrails)
    return Readout(metric=stats.metric, kind=kind, role=role, stats=stats, bayes=bayes,
                   frequentist=freq, rule=rule, srm=srm, decision=decision, margin=margin,
                   guardrails=guardrails)


def _srm_blocker(srm) -> tuple[str, ...]:
    if not srm.mismatch:
        return ()
    return (f"sample ratio mismatch: arm counts {', '.join(f'{o:,.0f}' for o in srm.observed)} "
            f"against planned shares {', '.join(f'{p:.3g}' for p in srm.planned)} "
            f"(chi-square p = {srm.p_value:.2g} < {srm.threshold:g}); fix assignment or logging "
            "before reading the result",)


def _fmt_p(p: float, complement: float) -> str:
    from bayeslab.bayes.conversion import format_prob

    return format_prob(p, complement)


def _primary_decision(stats, bayes, freq, rule, srm, guardrails) -> Decision:
    best = 1 + max(range(len(bayes.comparisons)), key=lambda i: bayes.prob_best[i + 1])
    arm = stats.arms[best]
    c = bayes.comparison(arm)
    f = freq.comparison(arm)
    n_treat = len(stats.arms) - 1
    alpha = rule.alpha / n_treat  # Bonferroni over treatment arms
    if c.prob_positive >= rule.prob_threshold and c.expected_loss_rel <= rule.loss_threshold:
        b_verdict = "ship"
    elif c.prob_negative >= rule.prob_threshold:
        b_verdict = "do not ship"
    else:
        b_verdict = "inconclusive"
    if f.p_value < alpha:
        f_verdict = "ship" if f.diff > 0 else "do not ship"
    else:
        f_verdict = "inconclusive"
    b_text = (f"Bayes ({bayes.prior} prior): P({stats.metric} higher in {arm} than "
              f"{stats.control}) = {_fmt_p(c.prob_positive, c.prob_negative)}, relative expected "
              f"loss {c.expected_loss_rel:.3%}, so {b_verdict}.")
    bonf = f" (alpha {alpha:.3g} after Bonferroni over {n_treat} arms)" if n_treat > 1 else ""
    f_text = (f"Frequentist: pooled z-test p = {f.p_value:.3g}{bonf}"
              f", difference {f.diff:+.4g}, so {f_verdict}.")
    blockers = list(_srm_blocker(srm))
    failed = [g for g in guardrails if g.decision.verdict != "pass"]
    if blockers:
        verdict = "blocked"
        head = "No decision: " + blockers[0] + "."
    elif b_verdict == f_verdict == "ship" and failed:
        verdict = "hold"
        head = (f"Hold {arm}: the primary metric improved but guardrail "
                f"{', '.join(repr(g.metric) for g in failed)} did not pass.")
    elif b_verdict == f_verdict:
        verdict = b_verdict
        head = {"ship": f"Ship {arm}: both analyses agree that {stats.metric} improved.",
                "do not ship": f"Do not ship {arm}: both analyses find {stats.metric} worse.",
                "inconclusive": f"Inconclusive: neither analysis is sure {stats.metric} moved."
                }[verdict]
    else:
        verdict = "inconclusive"
        head = (f"Inconclusive: the analyses disagree (Bayes says {b_verdict}, frequentist says "
                f"{f_verdict}).")
    reasons = [head, b_text, f_text]
    for g in guardrails:
        reasons.append(f"Guardrail {g.metric!r}: {g.decision.verdict}.")
    reasons.append("Rule: " + rule.describe() + ".")
    return Decision(verdict=verdict, arm=arm, bayes=b_verdict, frequentist=f_verdict,
                    reasons=tuple(reasons), blockers=tuple(blockers))


def _guardrail_decision(stats, bayes, freq, rule, srm, margin) -> Decision:
    verdicts = []
    b_parts, f_parts = [], []
    for arm in stats.arms[1:]:
        p_harm = bayes.prob_lift_above(margin, arm=arm if len(stats.arms) > 2 else None)
        ni = freq.noninferiority(margin, arm=arm if len(stats.arms) > 2 else None)
        b_ok = (1 - p_harm) >= rule.prob_threshold
        f_ok = ni.p_value < rule.alpha / 2
        verdicts.append((b_ok, f_ok))
        b_parts.append(f"P(increase in {arm} > {margin:g}) = {p_harm:.4f}")
        f_parts.append(f"non-inferiority p = {ni.p_value:.3g} (difference {ni.diff:+.4g}, "
                       f"one-sided upper bound {ni.upper:+.4g})")
    b_pass = all(b for b, _ in verdicts)
    f_pass = all(f for _, f in verdicts)
    blockers = _srm_blocker(srm)
    if blockers:
        verdict = "blocked"
    elif b_pass and f_pass:
        verdict = "pass"
    else:
        verdict = "fail"
    reasons = (f"Guardrail {stats.metric!r} {verdict} at margin {margin:g}.",
               "Bayes: " + "; ".join(b_parts) + f" -> {'pass' if b_pass else 'fail'}.",
               "Frequentist: " + "; ".join(f_parts) + f" -> {'pass' if f_pass else 'fail'}.")
    return Decision(verdict=verdict, arm=None, bayes="pass" if b_pass else "fail",
                    frequentist="pass" if f_pass else "fail", reasons=reasons,
                    blockers=blockers)
