"""The result of :func:`~bayeslab.readout.monitor.monitor`: looks, rules' stops, design."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from bayeslab.core.decision import Decision
from bayeslab.core.estimates import Estimate, jsonable
from bayeslab.data.accounting import RowAccount
from bayeslab.readout.contract import BaseReadout, Headline

if TYPE_CHECKING:
    from bayeslab.sequential.boundaries import GroupSequentialDesign
    from bayeslab.sequential.operating import FalsePositiveRate
    from bayeslab.sequential.rules import Rule

#: A stop's decision in the readout vocabulary (success ships; harm does not; futility is a
#: stop without a winner).
_VERDICT = {"success": "ship", "harm": "do not ship", "futility": "inconclusive",
            "continue": "continue"}


@dataclass(frozen=True)
class RuleStop:
    """Where one rule would have stopped, and what it costs in false positives.

    Attributes
    ----------
    name : str
    rule : Rule
    decisions : tuple of str
        Decision at each look (``continue`` until the rule stops; later looks are still shown).
    stop_look : int or None
        1-based look at which the rule first stops; ``None`` if it never did.
    decision : str
        Its decision there (``continue`` if it never stopped).
    false_positive : FalsePositiveRate or None
        Simulated false-positive rate of the rule under the realised look schedule.
    """

    name: str
    rule: Rule
    decisions: tuple[str, ...]
    stop_look: int | None
    decision: str
    false_positive: FalsePositiveRate | None = None

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return jsonable({"name": self.name, "rule": self.rule.to_dict(),
                         "text": self.rule.describe(), "stop_look": self.stop_look,
                         "decision": self.decision, "decisions": list(self.decisions),
                         "false_positive_rate": None if self.false_positive is None
                         else self.false_positive.to_dict()})


@dataclass(frozen=True)
class MonitorResult(BaseReadout):
    """Look-by-look replay of an experiment (see :func:`monitor`).

    Attributes
    ----------
    metric, kind, arm, control, treatment : str
    table : pandas.DataFrame
        One row per look (see :meth:`summary`).
    rules : tuple of RuleStop
    design : GroupSequentialDesign
        Boundaries at the realised information fractions (with a final fraction of 1 appended
        when ``max_n`` says the experiment is not finished).
    design_stop : int or None
        1-based look at which the z statistic first crossed a boundary.
    design_decision : str
    rows : RowAccount
    prior : tuple or None
    interval : float
    note : str
        How the boundaries were computed.

    As a readout (:mod:`bayeslab.readout.contract`), its estimates are the final look's, its
    headline the posterior of the absolute lift beside the group-sequential z-test, and its decision
    the first rule's stop (``continue`` while no rule has stopped) beside the boundary's.
    """

    metric: str
    kind: str
    arm: str
    control: str
    treatment: str
    table: pd.DataFrame
    rules: tuple[RuleStop, ...]
    design: GroupSequentialDesign
    design_stop: int | None
    design_decision: str
    rows: RowAccount
    prior: tuple | None
    interval: float
    note: str

    TYPE = "monitor"
    role = "monitor"

    @property
    def headline(self) -> Headline:
        """The final look's posterior lift (Bayes) and z-test against the boundary."""
        return Headline(self._bayes_method, "group-sequential z-test", "absolute")

    @property
    def _bayes_method(self) -> str:
        return "beta-binomial" if self.kind == "conversion" else "normal-conjugate"

    @property
    def decision(self) -> Decision:
        """The first stopping rule's decision beside the group-sequential boundary's.

        ``verdict`` is the rule's stop in the readout vocabulary (``ship`` for success, ``do
        not ship`` for harm, ``inconclusive`` for futility, ``continue`` while it runs).
        """
        first = self.rules[0] if self.rules else None
        rule = first.decision if first is not None else "continue"
        reasons = []
        if first is not None:
            where = (f"stopped at look {first.stop_look} ({first.decision})" if first.stop_look
                     else f"has not stopped after {len(self.table)} looks")
            named = f" {first.name!r}" if first.name != "rule" else ""
            reasons.append(f"The stopping rule{named} ({first.rule.describe()}) {where}.")
        where = (f"crossed at look {self.design_stop} ({self.design_decision})"
                 if self.design_stop else "was not crossed")
        spending = {"obf": "O'Brien-Fleming", "pocock": "Pocock"}.get(self.design.spending,
                                                                     self.design.spending)
        reasons.append(f"The group-sequential boundary ({spending} spending, "
                       f"alpha {self.design.alpha:g}) {where}.")
        return Decision(verdict=_VERDICT.get(rule, rule), arm=self.treatment,
                        bayes=_VERDICT.get(rule, rule),
                        frequentist=_VERDICT.get(self.design_decision, self.design_decision),
                        reasons=tuple(reasons))

    @property
    def rule(self):
        """The first stopping rule (the one the decision reads), or ``None``."""
        return self.rules[0].rule if self.rules else None

    @property
    def diagnostics(self) -> None:
        """``None``: every look is a closed-form (conjugate) posterior."""
        return None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Rules whose simulated false-positive rate exceeds the design's alpha."""
        out = []
        for r in self.rules:
            fp = r.false_positive
            if fp is not None and fp.rate > self.design.alpha + 2 * fp.mc_se:
                out.append(f"stopping rule {r.name} has a simulated false-positive rate of "
                           f"{fp.rate:.1%} with these looks, above alpha "
                           f"{self.design.alpha:g}")
        return tuple(out)

    def figures(self) -> dict:
        """``sequential_path``: P(lift > 0) and z over the looks with the boundaries."""
        return {"sequential_path": self.plot()}

    @property
    def false_positive_rate(self) -> float | None:
        """Simulated false-positive rate of the first rule under this look schedule."""
        fp = self.rules[0].false_positive if self.rules else None
        return None if fp is None else fp.rate

    def summary(self) -> pd.DataFrame:
        """One row per look: units, posterior quantities, z, boundaries and rule decisions."""
        return self.table.copy()

    def estimates(self) -> list[Estimate]:
        """The final look's Bayesian and frequentist estimates of the absolute lift."""
        last = self.table.iloc[-1]
        bayes = Estimate(side="bayes", method=self._bayes_method, effect="absolute",
                         estimate=float(last["lift_mean"]), lower=float(last["lift_lower"]),
                         upper=float(last["lift_upper"]), level=self.interval,
                         arm=self.treatment, prob_positive=float(last["prob_positive"]),
                         expected_loss=float(last["expected_loss"]),
                         extra={"look": int(last["look"]), "prior": self.prior,
                                "prob_negative": float(last["prob_negative"])})
        se = float(last["se"])
        from scipy.special import ndtri

        zq = float(ndtri((1 + self.interval) / 2))
        est = float(last["diff"])
        freq = Estimate(side="frequentist", method="group-sequential z-test", effect="absolute",
                        estimate=est, lower=est - zq * se, upper=est + zq * se,
                        level=self.interval, arm=self.treatment,
                        extra={"look": int(last["look"]), "z": float(last["z"]),
                               "upper_boundary": float(last["upper"]),
                               "lower_boundary": float(last["lower"]),
                               "design_stop_look": self.design_stop,
                               "interval_note": "naive (not adjusted for the looks)"})
        return [bayes, freq]

    def to_dict(self) -> dict:
        """JSON-safe form: looks, rules with their false-positive rates, design, rows."""
        return jsonable({
            "type": self.TYPE, "role": self.role,
            "metric": self.metric, "kind": self.kind, "arm": self.arm, "control": self.control,
            "treatment": self.treatment, "prior": self.prior, "interval": self.interval,
            "looks": self.table.to_dict(orient="records"),
            "rules": [r.to_dict() for r in self.rules],
            "design": self.design.to_dict(), "design_stop_look": self.design_stop,
            "design_decision": self.design_decision, "rows": self.rows.to_dict(),
            "note": self.note, "results": [e.to_dict() for e in self.estimates()],
            "headline": self.headline._asdict(), "decision": self.decision.to_dict(),
            "warnings": list(self.warnings)})

    def __str__(self) -> str:
        from bayeslab.core import format as fmt
        from bayeslab.core.text import render_table

        t = self.table
        conv = self.kind == "conversion"

        def rate(v):
            return fmt.rate(v) if conv else fmt.number(v)

        rows = [[str(r.look), str(r.label), fmt.count(r.n_control), fmt.count(r.n_treatment),
                 rate(r.mean_control), rate(r.mean_treatment),
                 fmt.prob(r.prob_positive, r.prob_negative),
                 fmt.number(r.expected_loss, 3),
                 fmt.interval(r.lift_lower, r.lift_upper, "absolute",
                              "conversion" if conv else self.kind),
                 f"{r.z:+.2f}", f"{r.fraction:.2f}", f"{r.upper:.2f}"]
                + [str(getattr(r, f"rule_{i}")) for i in range(len(self.rules))]
                for r in t.itertuples()]
        head = ["look", "at", "n " + self.control, "n " + self.treatment, "mean C", "mean T",
                "P(lift>0)", "exp. loss", f"{self.interval:.0%} interval", "z", "t", "bound"]
        head += [r.name for r in self.rules]
        out = [f"Monitor: {self.metric} ({self.kind}), {self.treatment!r} vs control "
               f"{self.control!r}, {len(t)} looks: {self.decision.verdict.upper()}",
               str(self.rows)]
        for e in self.headline_estimates():             # what the decision reads: the last look
            if e is not None:
                tail = [fmt.estimate_prob(e), (e.extra or {}).get("interval_note") or ""]
                out.append(f"  last look, {e.side} ({e.method}): "
                           f"{fmt.effect(e.estimate, e.effect, self.kind, self.unit)} "
                           f"{fmt.interval(e.lower, e.upper, e.effect, self.kind, self.unit)}"
                           + "".join(f", {t}" for t in tail if t))
        out.append(render_table(rows, head))
        for r in self.rules:
            where = (f"stops at look {r.stop_look} ({r.decision})" if r.stop_look
                     else "never stops")
            line = f"Rule {r.name}: {r.rule.describe()}: {where}."
            if r.false_positive is not None:
                fp = r.false_positive
                line += (f" Simulated false-positive rate with these looks: {fp.rate:.1%} "
                         f"(MC se {fp.mc_se:.1%}, {fp.n_sims:,} A/A experiments).")
            out.append(line)
        d = self.design
        where = (f"crosses at look {self.design_stop} ({self.design_decision})"
                 if self.design_stop else "never crosses")
        out.append(f"Design: {d.sides}-sided alpha={d.alpha:g}, {d.spending} spending: z "
                   f"{where}. {self.note}")
        return "\n".join(out)

    def plot(self, ax=None):
        """Figure of P(lift > 0) and z over the looks (see ``plot_monitor``)."""
        from bayeslab.plots import plot_monitor

        return plot_monitor(self, ax=ax)
