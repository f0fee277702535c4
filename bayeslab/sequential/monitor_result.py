"""The result of :func:`~bayeslab.sequential.monitor.monitor`: looks, rules' stops, design."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bayeslab.data.accounting import RowAccount
from bayeslab.results import Estimate, jsonable


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
    rule: object
    decisions: tuple
    stop_look: int | None
    decision: str
    false_positive: object = None

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return jsonable({"name": self.name, "rule": self.rule.to_dict(),
                         "text": self.rule.describe(), "stop_look": self.stop_look,
                         "decision": self.decision, "decisions": list(self.decisions),
                         "false_positive_rate": None if self.false_positive is None
                         else self.false_positive.to_dict()})


@dataclass(frozen=True)
class MonitorResult:
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
    """

    metric: str
    kind: str
    arm: str
    control: str
    treatment: str
    table: pd.DataFrame
    rules: tuple
    design: object
    design_stop: int | None
    design_decision: str
    rows: RowAccount
    prior: tuple | None
    interval: float
    note: str

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
        method = "beta-binomial" if self.kind == "conversion" else "normal-conjugate"
        bayes = Estimate(side="bayes", method=method, effect="absolute",
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
            "metric": self.metric, "kind": self.kind, "arm": self.arm, "control": self.control,
            "treatment": self.treatment, "prior": self.prior, "interval": self.interval,
            "looks": self.table.to_dict(orient="records"),
            "rules": [r.to_dict() for r in self.rules],
            "design": self.design.to_dict(), "design_stop_look": self.design_stop,
            "design_decision": self.design_decision, "rows": self.rows.to_dict(),
            "note": self.note, "results": [e.to_dict() for e in self.estimates()]})

    def __str__(self) -> str:
        from bayeslab import format as fmt
        from bayeslab.text import render_table

        t = self.table
        conv = self.kind == "conversion"

        def rate(v):
            return fmt.rate(v) if conv else fmt.number(v)

        rows = [[str(r.look), str(r.label), fmt.count(r.n_control), fmt.count(r.n_treatment),
                 rate(r.mean_control), rate(r.mean_treatment),
                 fmt.prob(r.prob_positive, r.prob_negative),
                 f"{r.expected_loss:.3g}",
                 fmt.interval(r.lift_lower, r.lift_upper, "absolute",
                              "conversion" if conv else self.kind),
                 f"{r.z:+.2f}", f"{r.fraction:.2f}", f"{r.upper:.2f}"]
                + [str(getattr(r, f"rule_{i}")) for i in range(len(self.rules))]
                for r in t.itertuples()]
        head = ["look", "at", "n " + self.control, "n " + self.treatment, "mean C", "mean T",
                "P(lift>0)", "exp. loss", f"{self.interval:.0%} interval", "z", "t", "bound"]
        head += [r.name for r in self.rules]
        out = [f"Monitor: {self.metric} ({self.kind}), {self.treatment!r} vs control "
               f"{self.control!r}, {len(t)} looks", str(self.rows), render_table(rows, head)]
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
