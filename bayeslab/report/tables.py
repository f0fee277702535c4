"""Tables of a report, formatted in one unit language (:mod:`bayeslab.core.format`).

A rate's absolute effect is in percentage points, a relative effect in %, money and counts in
the metric's own unit, counts with thousands separators, probabilities never rounded to 1 or 0.
"""

from __future__ import annotations

from bayeslab.core import format as fmt
from bayeslab.core.format import effect_name as _effect_name
from bayeslab.core.format import estimate_prob, prob_value
from bayeslab.report.document import Table

__all__ = ["arms_table", "drop_empty", "estimate_prob", "estimates_table", "guardrail_table",
           "headline_pair", "looks_table", "overview_table", "prob_value"]


def _kind(readout) -> str:
    return readout.kind or ""


def _unit(readout):
    return readout.unit


def estimates_table(readout, caption: str = "", *, segments: bool = False) -> Table:
    """Bayes and frequentist estimates of one readout, formatted in the metric's units.

    Population-level entries of the metric's own models by default; with ``segments=True`` the
    segment readout's entries (per segment, the pooled model's population entries and its tau
    components, named by component).
    """
    kind, unit = _kind(readout), _unit(readout)
    seg = readout.segments
    if segments:
        ests = seg.estimates() if seg is not None else []
        columns = tuple(seg.columns) if seg is not None else ()
    else:
        ests = readout.metric_estimates()
        columns = ()
    rows = []
    for e in ests:
        loss = e.expected_loss
        segment = (fmt.segment_label(e.segment, columns) if e.segment is not None
                   else ("population (pooled model)" if segments else ""))
        laplace = isinstance(e.extra, dict) and e.extra.get("sampler") == "laplace"
        method = f"{e.method} (Laplace)" if laplace else e.method
        rows.append((e.side, method, e.arm or "", segment, _effect_name(e),
                     *fmt.estimate_text(e, kind, unit),
                     estimate_prob(e), "" if loss is None else f"{loss:.3g}"))
    level = ests[0].level if ests else 0.95
    adjusted = any(isinstance(e.extra, dict)
                   and e.extra.get("adjust") in ("holm", "bh", "bonferroni")
                   for e in ests)
    interval = f"{level:.0%} interval" + (" (unadjusted)" if adjusted else "")
    columns_ = ("side", "method", "arm", "segment", "effect", "estimate", interval, "P / p",
                "expected loss")
    return drop_empty(Table(columns=columns_, rows=tuple(rows), caption=caption))


def drop_empty(table: Table) -> Table:
    """Leave out columns that are empty in every row."""
    keep = [i for i in range(len(table.columns)) if any(r[i] for r in table.rows)]
    return Table(columns=tuple(table.columns[i] for i in keep),
                 rows=tuple(tuple(r[i] for i in keep) for r in table.rows),
                 caption=table.caption)


def arms_table(readout) -> Table:
    """Units and mean per arm: rates in %, other means in the metric's unit."""
    arms = readout.arms
    kind, unit = _kind(readout), _unit(readout)
    rows = []
    for a, n, m in zip(arms["arm"], arms["n"], arms["mean"], strict=True):
        mean = fmt.rate(m) if kind == "conversion" else fmt.amount(m, unit, sign=False)
        rows.append((str(a), fmt.count(n), mean))
    return Table(("arm", "units", "mean"), tuple(rows), caption="Arms")


def guardrail_table(readout) -> Table | None:
    """What decides a guardrail: margin, P(increase > margin), non-inferiority p, pass/fail."""
    check = readout.guardrail_check()
    if check is None:
        return None
    g = fmt.guardrail(check)
    row = (g["margin"], g["increase"], g["upper"], g["prob"], g["p"],
           check["bayes"], check["frequentist"], check["verdict"].upper())
    return Table(("margin (largest acceptable increase)", "increase", "upper 95% bound",
                  "P(increase > margin)", "non-inferiority p", "Bayes", "frequentist",
                  "verdict"), (row,),
                 caption="Guardrail check: passes when P(increase > margin) <= "
                         f"{1 - readout.rule.prob_threshold:g} and the non-inferiority p < "
                         f"{readout.rule.alpha / 2:g}")


def headline_pair(readout):
    """(Bayes, frequentist) headline estimates: the ones the decision reads (the contract's)."""
    return readout.headline_estimates()


def overview_table(readouts) -> Table:
    """One row per metric: what decides it (both sides) and the verdict."""
    rows = []
    for r in readouts:
        kind, unit = _kind(r), _unit(r)
        b, f = headline_pair(r)
        check = r.guardrail_check()
        e0 = b or f
        effect = e0.effect if e0 is not None else ""
        b_text = (f"{fmt.effect(b.estimate, b.effect, kind, unit)} "
                  f"{fmt.interval(b.lower, b.upper, b.effect, kind, unit)}" if b else "")
        f_text = (f"{fmt.effect(f.estimate, f.effect, kind, unit)} "
                  f"{fmt.interval(f.lower, f.upper, f.effect, kind, unit)}" if f else "")
        if check is not None:
            g = fmt.guardrail(check)
            b_dec = f"P(increase > margin {g['margin']}) = {g['prob']}"
            f_dec = f"non-inferiority p = {g['p']}"
        else:
            b_dec = estimate_prob(b).replace("P(> 0)", "P(lift > 0)") if b is not None else ""
            f_dec = f"p = {fmt.p_value(f.p_value)}" if f is not None and f.p_value is not None \
                else ""
        rows.append((r.metric, r.role, effect, b_text, b_dec, f_text,
                     f_dec, r.decision.verdict.upper()))
    return Table(("metric", "role", "effect", "Bayes estimate [interval]", "Bayes: what decides",
                  "frequentist estimate [interval]", "frequentist: what decides", "verdict"),
                 tuple(rows), caption="What decides each metric, both sides (guardrails: the "
                                      "margin)")


def looks_table(mon) -> Table:
    """The monitor's looks: units with separators, rates in %, P(lift > 0) never 1."""
    t = mon.table
    conv = mon.kind == "conversion"
    rows = []
    for r in t.itertuples():
        def mean(v):
            return fmt.rate(v) if conv else fmt.number(v)

        lift = fmt.interval(r.lift_lower, r.lift_upper, "absolute",
                            "conversion" if conv else mon.kind)
        rules = [str(getattr(r, f"rule_{i}")) for i in range(len(mon.rules))]
        rows.append((str(r.look), str(r.label), fmt.count(r.n_control),
                     fmt.count(r.n_treatment), mean(r.mean_control), mean(r.mean_treatment),
                     fmt.prob(r.prob_positive, getattr(r, "prob_negative", None)), lift,
                     f"{r.z:+.2f}", f"{r.fraction:.2f}", f"{r.upper:.2f}", *rules))
    head = ("look", "at", f"units {mon.control}", f"units {mon.treatment}", "mean control",
            "mean treatment", "P(lift > 0)", f"{mon.interval:.0%} interval of the lift", "z",
            "information", "boundary", *[r.name for r in mon.rules])
    return Table(head, tuple(rows), caption="Looks")
