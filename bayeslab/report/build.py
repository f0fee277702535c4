"""Build report documents from readouts (content only; rendering is in html.py / markdown.py)."""

from __future__ import annotations

import pandas as pd

from bayeslab.format import format_prob
from bayeslab.report.document import Document, Figure, Section, Table, figure_png


def _fmt(v, digits=4):
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def estimates_table(readout, caption: str = "", *, segments: bool = False) -> Table:
    """Bayes and frequentist estimates of one readout, formatted.

    Population-level entries by default; with ``segments=True`` the per-segment entries.
    """
    rows = []
    for e in readout.estimates():
        if (e.segment is not None) != segments:
            continue
        d = e.to_dict()
        prob = ""
        if "prob_positive" in d:
            q = d.get("prob_negative")
            prob = (_prob_text(d["prob_positive"], q) if q is not None and q < 1e-4
                    else f"P>0 = {_fmt(d['prob_positive'])}")
        elif d.get("p_value") is not None:
            prob = f"p = {d['p_value']:.3g}"
        effect = d["effect"] + (f" {d['rate']}" if "rate" in d else "")
        rows.append((d["side"], d["method"], d.get("arm", ""), d.get("segment", "") or "",
                     effect, _fmt(d["estimate"]),
                     f"[{_fmt(d['lower'])}, {_fmt(d['upper'])}]", prob,
                     _fmt(d.get("expected_loss"), 3)))
    level = readout.estimates()[0].level if readout.estimates() else 0.95
    columns = ("side", "method", "arm", "segment", "effect", "estimate",
               f"{level:.0%} interval", "P(>0) / p", "expected loss")
    return _drop_empty(Table(columns=columns, rows=tuple(rows), caption=caption))


def _drop_empty(table: Table) -> Table:
    """Leave out columns that are empty in every row."""
    keep = [i for i in range(len(table.columns)) if any(r[i] for r in table.rows)]
    return Table(columns=tuple(table.columns[i] for i in keep),
                 rows=tuple(tuple(r[i] for i in keep) for r in table.rows),
                 caption=table.caption)


def _headline_pair(readout):
    """(Bayes, frequentist) headline estimates of a readout, by the fit's headline methods."""
    fit = getattr(readout, "fit", None)
    ests = readout.estimates()
    if fit is not None:
        b_m, f_m, effect = fit.headline
        rate = fit.extra.get("headline_rate")
        pick = [e for e in ests if e.effect == effect and e.segment is None
                and (rate is None or e.extra.get("rate") == rate)]
        b = next((e for e in pick if e.side == "bayes" and e.method == b_m), None)
        f = next((e for e in pick if e.side == "frequentist" and e.method == f_m), None)
        return b, f
    b = next((e for e in ests if e.side == "bayes" and e.effect == "absolute"), None)
    f = next((e for e in ests if e.side == "frequentist" and e.effect == "absolute"
              and e.method != "naive"), None)
    return b, f


def _prob_text(p: float, q: float) -> str:
    """``P>0 = 1 - 2.8e-51`` or ``P>0 > 1 - 1e-300`` (a tail below 1e-300), never a floor value."""
    text = format_prob(p, q)
    return f"P>0 {text}" if text[0] in "<>" else f"P>0 = {text}"


def overview_section(readouts) -> Section:
    """One row per metric: headline Bayes and frequentist estimates, and the verdict."""
    rows = []
    for r in readouts:
        b, f = _headline_pair(r)
        bq = ""
        if b is not None and b.prob_positive is not None:
            q = b.extra.get("prob_negative")
            bq = (format_prob(b.prob_positive, q) if q is not None and q < 1e-4
                  else _fmt(b.prob_positive))
        rows.append((
            r.metric, getattr(r, "role", "primary"), (b or f).effect if (b or f) else "",
            f"{_fmt(b.estimate)} [{_fmt(b.lower)}, {_fmt(b.upper)}]" if b else "",
            bq, _fmt(b.expected_loss, 3) if b else "",
            f"{_fmt(f.estimate)} [{_fmt(f.lower)}, {_fmt(f.upper)}]" if f else "",
            f"{f.p_value:.3g}" if f is not None and f.p_value is not None else "",
            r.decision.verdict))
    table = Table(("metric", "role", "effect", "Bayes estimate [interval]", "P(effect > 0)",
                   "expected loss", "frequentist estimate [interval]", "p-value", "verdict"),
                  tuple(rows), caption="Bayes vs frequentist, headline estimate per metric")
    return Section(key="overview", title="Overview", tables=(table,))


_CAPTIONS = {
    "intervals": "Bayes and frequentist intervals of the effect",
    "posteriors": "posterior of each arm's rate",
    "lift": "exact posterior of the lift, with P(lift > 0) and the credible interval",
    "segments_forest": "segment lifts, partially pooled (points) against raw cell estimates "
                       "(rings): shrinkage",
    "segments_trace": "trace plots of the hierarchical model",
    "segments_rank": "rank plots of the hierarchical model (flat bars: chains agree)",
    "segments_ppc": "posterior predictive check of the cell conversion rates",
    "love": "covariate balance before and after weighting (love plot)",
    "overlap": "propensity score overlap per arm",
}


def rendered_figures(readout) -> dict[str, Figure]:
    """Every figure of a readout rendered to PNG, by short name.

    With segments, ``intervals`` shows the population estimates and ``segments_intervals`` the
    per-segment ones (the readout's own interval figure holds both).
    """
    figs = {name: Figure(name=f"{readout.metric}_{name}", png=figure_png(fig),
                         caption=f"{readout.metric}: {_CAPTIONS.get(name, name)}")
            for name, fig in readout.figures().items()}
    if getattr(readout, "segments", None) is not None and "intervals" in figs:
        from bayeslab.plots import plot_interval_comparison

        both = figs.pop("intervals")
        figs["segments_intervals"] = Figure(name=f"{readout.metric}_segments_intervals",
                                            png=both.png, caption=both.caption + ", per segment")
        population = [e for e in readout.estimates() if e.segment is None]
        fig = plot_interval_comparison(population, effect=readout.fit.headline[2])
        figs["intervals"] = Figure(name=f"{readout.metric}_intervals", png=figure_png(fig),
                                   caption=both.caption)
    return figs


def readout_section(readout, *, key: str | None = None, figures: bool = True,
                    rendered: dict | None = None) -> Section:
    """One section per readout: decision, estimates, arms, rows, SRM, warnings, figures.

    Segment estimates and figures go to :func:`segments_section`.
    """
    d = readout.decision
    paragraphs = [f"Decision: {d.verdict.upper()}. " + " ".join(d.reasons), str(readout.rows),
                  str(readout.srm).splitlines()[0]]
    paragraphs += [f"Warning: {w}" for w in readout.fit.notes]
    arms = readout.fit.arms
    tables = [estimates_table(readout, "Bayes and frequentist estimates"),
              Table.from_frame(pd.DataFrame(arms), caption="Arms")]
    if rendered is None:
        rendered = rendered_figures(readout) if figures else {}
    figs = [f for name, f in rendered.items() if not name.startswith("segments_")]
    title = {"primary": "Primary metric", "guardrail": "Guardrail",
             "secondary": "Secondary metric"}.get(readout.role, readout.role)
    return Section(key=key or f"metric-{readout.metric}",
                   title=f"{title}: {readout.metric} ({readout.kind})",
                   paragraphs=tuple(paragraphs), tables=tuple(tables), figures=tuple(figs))


def readout_document(readout, *, figures: bool = True) -> Document:
    """A document for one readout and its guardrails."""
    rendered = rendered_figures(readout) if figures else {}
    sections = [readout_section(readout, rendered=rendered)]
    sections += [readout_section(g, figures=figures) for g in readout.guardrails]
    if readout.segments is not None:
        sections.append(segments_section(readout, rendered))
    warnings = [*readout.warnings, *(w for g in readout.guardrails for w in g.warnings)]
    return Document(title=f"bayeslab readout: {readout.metric}",
                    headline=readout.decision.reasons[0], verdict=readout.decision.verdict,
                    warnings=tuple(warnings), sections=tuple(sections))


def _versions() -> str:
    from importlib import metadata

    parts = []
    for pkg in ("bayeslab", "pymc", "arviz", "numpy", "scipy", "statsmodels", "pandas",
                "duckdb", "matplotlib"):
        try:
            parts.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(parts)


def _data_section(result) -> Section:
    rows = []
    for r in result.readouts:
        acc = r.rows
        reasons = "; ".join(f"{k}: {v:,}" for k, v in acc.excluded.items()) or "none"
        rows.append((r.metric, getattr(r, "role", "primary"), f"{acc.read:,}", f"{acc.used:,}",
                     f"{acc.n_excluded:,}", reasons))
    srm_rows = []
    for r in result.readouts:
        srm = getattr(r, "srm", None)
        if srm is not None:
            srm_rows.append((r.metric, ", ".join(f"{o:,}" for o in srm.observed),
                             ", ".join(f"{p:.3g}" for p in srm.planned), f"{srm.p_value:.3g}",
                             "MISMATCH" if srm.mismatch else "ok"))
    tables = [Table(("metric", "role", "rows read", "used", "excluded", "exclusion reasons"),
                    tuple(rows), caption="Data accounting")]
    if srm_rows:
        tables.append(Table(("metric", "observed per arm", "planned shares", "p-value",
                             "verdict"), tuple(srm_rows),
                            caption="Sample ratio mismatch (chi-square against the plan)"))
    paragraphs = ("Every row read is either used or excluded for a stated reason.",)
    balance = getattr(result.primary, "balance", None)
    if balance is not None and hasattr(balance, "summary"):
        tables.append(Table.from_frame(balance.summary().reset_index(),
                                       caption="Covariate balance"))
    return Section(key="data", title="Data, sample ratio and balance checks",
                   paragraphs=paragraphs, tables=tuple(tables))


def _diagnostics_section(result) -> Section | None:
    rows = []
    for part in result.readouts:
        if part is None:
            continue
        for holder in (getattr(part, "segments", None), part, getattr(part, "bayes", None)):
            diag = getattr(holder, "diagnostics", None)
            if diag is not None and hasattr(diag, "to_dict"):
                d = diag.to_dict()
                rows.append((getattr(part, "metric", ""), str(d.get("verdict", "")),
                             _fmt(d.get("r_hat")), _fmt(d.get("ess_bulk")),
                             _fmt(d.get("ess_tail")), _fmt(d.get("divergences")),
                             str(d.get("reason", ""))))
                break
    paragraphs = ["Conjugate models (Beta-Binomial, Normal-Inverse-Gamma regression, "
                  "Gamma-Poisson) are exact and need no sampling diagnostics."]
    if not rows:
        return Section(key="diagnostics", title="Sampling diagnostics",
                       paragraphs=(*paragraphs, "No model in this plan was sampled by MCMC."))
    return Section(key="diagnostics", title="Sampling diagnostics", paragraphs=tuple(paragraphs),
                   tables=(Table(("metric", "verdict", "max R-hat", "min bulk ESS",
                                  "min tail ESS", "divergences", "reason"), tuple(rows)),))


def _settings_section(result) -> Section:
    plan = result.plan
    rows = [("plan", str(plan.path)), ("seed", str(plan.seed)),
            ("data", json_text(plan.data)), ("columns", json_text(plan.columns)),
            ("decision rule", result.primary.rule.describe()
             if hasattr(result.primary.rule, "describe") else str(result.primary.rule))]
    for r in result.readouts:
        prior = getattr(getattr(r, "bayes", None), "prior", None)
        if prior is not None:
            rows.append((f"prior of {r.metric}", str(prior)))
    rows.append(("package versions", _versions()))
    return Section(key="settings", title="Prior, settings and versions",
                   tables=(Table(("setting", "value"), tuple(rows)),))


def json_text(value) -> str:
    """Compact JSON text of a plan section, for the settings table."""
    import json

    from bayeslab.results import jsonable

    return json.dumps(jsonable(value), separators=(", ", ": "))


def _monitor_section(mon) -> Section:
    fig = mon.plot()
    frame = mon.summary()
    paragraphs = [str(mon).splitlines()[0]]
    fpr = getattr(mon, "false_positive_rate", None)
    if fpr is not None:
        paragraphs.append(f"Simulated false-positive rate of the stopping rule under this look "
                          f"schedule: {fpr}")
    return Section(key="sequential", title="Sequential monitoring",
                   paragraphs=tuple(paragraphs),
                   tables=(Table.from_frame(frame.reset_index(drop=True), caption="Looks"),),
                   figures=(Figure(name="sequential_path", png=figure_png(fig),
                                   caption="P(lift > 0) and z over the looks with boundaries"),))


def _generic_section(readout, key) -> Section:
    """Section for readouts that are not :class:`~bayeslab.readout.Readout` (propensity)."""
    d = readout.decision
    figs = [Figure(name=f"{readout.metric}_{name}", png=figure_png(fig),
                   caption=f"{readout.metric}: {_CAPTIONS.get(name, name)}")
            for name, fig in readout.figures().items()]
    return Section(key=key, title=f"Primary metric: {readout.metric} ({readout.kind}, "
                                  f"{getattr(readout, 'estimand', '')})",
                   paragraphs=(f"Decision: {d.verdict.upper()}. " + " ".join(d.reasons),
                               str(readout.rows)),
                   tables=(estimates_table(readout, "Naive, adjusted and Bayesian estimates"),),
                   figures=tuple(figs))


def run_document(result) -> Document:
    """The report of a plan run: decision, warnings, every metric, checks, settings."""
    from bayeslab.readout import Readout

    primary = result.primary
    seg = result.segments
    seg_figs = rendered_figures(seg) if seg is not None else None  # drawn once, two sections

    def figs(readout):
        return seg_figs if readout is seg else None

    sections = [overview_section(result.readouts)]
    if isinstance(primary, Readout):
        sections.append(readout_section(primary, key="primary", rendered=figs(primary)))
        sections += [readout_section(g, key=f"guardrail-{g.metric}") for g in primary.guardrails]
    else:
        sections.append(_generic_section(primary, "primary"))
    sections += [readout_section(r, key=f"secondary-{r.metric}", rendered=figs(r))
                 for r in result.secondary]
    if seg is not None:
        sections.append(segments_section(seg, seg_figs))
    if result.monitor is not None:
        sections.append(_monitor_section(result.monitor))
    sections.append(_diagnostics_section(result))
    sections.append(_data_section(result))
    sections.append(_settings_section(result))
    d = result.decision
    return Document(title=f"{result.plan.name}: experiment readout", headline=d.reasons[0],
                    verdict=d.verdict, warnings=tuple(result.warnings()),
                    sections=tuple(s for s in sections if s is not None),
                    footer=f"bayeslab plan {result.plan.path}, seed {result.plan.seed}. "
                           + _versions())


def segments_section(readout, rendered: dict | None = None) -> Section:
    """Segment analysis of a readout: decision, per-segment estimates of both sides, figures."""
    s = readout.segments
    rendered = rendered if rendered is not None else rendered_figures(readout)
    paragraphs = []
    if s.decision is not None:
        paragraphs.append(f"Segments ({' x '.join(s.columns)}): {s.decision.verdict.upper()}. "
                          + " ".join(s.decision.reasons))
    paragraphs += [f"Warning: {w}" for w in s.warnings]
    return Section(key="segments", title=f"Segments: {readout.metric} by {' x '.join(s.columns)}",
                   paragraphs=tuple(paragraphs),
                   tables=(estimates_table(readout, "Per-segment estimates, both sides",
                                           segments=True),),
                   figures=tuple(f for name, f in rendered.items()
                                 if name.startswith("segments_")))
