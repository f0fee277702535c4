"""Build report documents from readouts (content only; rendering is in html.py / markdown.py)."""

from __future__ import annotations

import pandas as pd

from bayeslab.report.document import Document, Figure, Section, Table, figure_png


def _fmt(v, digits=4):
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def estimates_table(readout, caption: str = "") -> Table:
    """Bayes and frequentist estimates of one readout, formatted."""
    rows = []
    for e in readout.estimates():
        d = e.to_dict()
        prob = ""
        if "prob_positive" in d:
            q = d.get("prob_negative")
            prob = (f"P>0 = 1 - {q:.1e}" if q is not None and q < 1e-4
                    else f"P>0 = {_fmt(d['prob_positive'])}")
        elif d.get("p_value") is not None:
            prob = f"p = {d['p_value']:.3g}"
        effect = d["effect"] + (f" {d['rate']}" if "rate" in d else "")
        rows.append((d["side"], d["method"], d.get("arm", ""), d.get("segment", "") or "",
                     effect, _fmt(d["estimate"]),
                     f"[{_fmt(d['lower'])}, {_fmt(d['upper'])}]", prob,
                     _fmt(d.get("expected_loss"), 3)))
    level = readout.estimates()[0].level if readout.estimates() else 0.95
    return Table(columns=("side", "method", "arm", "segment", "effect", "estimate",
                          f"{level:.0%} interval", "P(>0) / p", "expected loss"),
                 rows=tuple(rows), caption=caption)


def readout_section(readout, *, key: str | None = None, figures: bool = True,
                    extra_figures=()) -> Section:
    """One section per readout: decision, estimates, arms, rows, SRM, warnings, figures."""
    d = readout.decision
    paragraphs = [f"Decision: {d.verdict.upper()}. " + " ".join(d.reasons), str(readout.rows),
                  str(readout.srm).splitlines()[0]]
    paragraphs += [f"Warning: {w}" for w in readout.fit.notes]
    arms = readout.fit.arms
    tables = [estimates_table(readout, "Bayes and frequentist estimates"),
              Table.from_frame(pd.DataFrame(arms), caption="Arms")]
    figs = list(extra_figures)
    if figures:
        from bayeslab.plots import plot_interval_comparison

        fig = plot_interval_comparison(readout.estimates())
        figs.insert(0, Figure(name=f"{readout.metric}_intervals", png=figure_png(fig),
                              caption=f"{readout.metric}: Bayes and frequentist intervals"))
    title = {"primary": "Primary metric", "guardrail": "Guardrail",
             "secondary": "Secondary metric"}.get(readout.role, readout.role)
    return Section(key=key or f"metric-{readout.metric}",
                   title=f"{title}: {readout.metric} ({readout.kind})",
                   paragraphs=tuple(paragraphs), tables=tuple(tables), figures=tuple(figs))


def readout_document(readout, *, figures: bool = True) -> Document:
    """A document for one readout and its guardrails."""
    sections = [readout_section(readout, figures=figures)]
    sections += [readout_section(g, figures=figures) for g in readout.guardrails]
    warnings = [*readout.warnings, *(w for g in readout.guardrails for w in g.warnings)]
    return Document(title=f"bayeslab readout: {readout.metric}",
                    headline=readout.decision.reasons[0], verdict=readout.decision.verdict,
                    warnings=tuple(warnings), sections=tuple(sections))
