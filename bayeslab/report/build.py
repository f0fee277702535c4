"""Build report documents from readouts (content only; rendering is in html.py / markdown.py)."""

from __future__ import annotations

from bayeslab.core import format as fmt
from bayeslab.report.document import Document, Figure, Section, Table, figure_png
from bayeslab.report.tables import (
    arms_table,
    estimates_table,
    guardrail_table,
    looks_table,
    overview_table,
)

__all__ = ["estimates_table", "overview_section", "readout_document", "readout_section",
           "rendered_figures", "run_document", "segments_section"]


def _fmt(v, digits=4):
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def overview_section(readouts) -> Section:
    """One row per metric: what decides it on both sides, and the verdict."""
    return Section(key="overview", title="Overview", tables=(overview_table(readouts),))


_CAPTIONS = {
    "intervals": "Bayes and frequentist intervals of the effect",
    "posteriors": "posterior of each arm's rate",
    "lift": "exact posterior of the lift, with P(lift > 0) and the credible interval",
    "segments_intervals": "Bayes and frequentist intervals per segment (unadjusted intervals; "
                          "adjusted p-values in the table)",
    "segments_forest": "segment lifts, partially pooled (points) against raw cell estimates "
                       "(rings): shrinkage",
    "segments_trace": "trace plots of the hierarchical model",
    "segments_rank": "rank plots of the hierarchical model (flat bars: chains agree)",
    "segments_ppc": "posterior predictive check of the cell conversion rates",
    "love": "covariate balance before and after weighting (love plot)",
    "overlap": "propensity score overlap per arm",
    "effect": "posterior of the effect (your model), with P(effect > 0) and the frequentist "
              "interval",
    "trace": "trace of the effect's chains (they should overlap and look like noise)",
}


def rendered_figures(readout, *, only: str | None = None) -> dict[str, Figure]:
    """Every figure of a readout rendered to PNG, by short name.

    ``only`` (``"segments"`` or ``"own"``, a live metric readout only) draws one of the two
    sets of :func:`bayeslab.readout.figures.figures`.
    """
    caps = dict(_CAPTIONS)
    if readout.margin is not None:
        caps["lift"] = ("exact posterior of the increase, with the non-inferiority margin and "
                        "P(increase > margin)")
    if only is None:
        figure_set = readout.figures()
    else:
        from bayeslab.readout.figures import figures

        figure_set = figures(readout, only=only)
    return {name: Figure(name=f"{readout.metric}_{name}", png=figure_png(fig),
                         caption=f"{readout.metric}: {caps.get(name, name)}")
            for name, fig in figure_set.items()}


def readout_section(readout, *, key: str | None = None, figures: bool = True,
                    rendered: dict | None = None) -> Section:
    """One section per readout: blockers, decision, estimates, arms, rows, SRM, notes, figures.

    Blocking problems come before the decision; informational notes after it. Segment
    estimates and figures go to :func:`segments_section`.
    """
    d = readout.decision
    paragraphs = [f"Blocked: {b}" for b in d.blockers]
    # a secondary metric informs; only the primary metric (with its guardrails) decides
    label = ("Advisory verdict (a secondary metric does not decide the experiment)"
             if readout.role == "secondary" else "Decision")
    paragraphs += [f"{label}: {d.verdict.upper()}. " + " ".join(d.reasons), str(readout.rows)]
    if readout.srm is not None:
        paragraphs.append(str(readout.srm).splitlines()[0])
    from bayeslab.readout.preperiod import preperiod_of

    pre = preperiod_of(readout)
    if pre is not None:
        paragraphs.append(f"Pre-period check: {fmt.one_line(pre['text'])}")
    from bayeslab.readout.learned_prior import learned_prior_of, learned_prior_text

    learned = learned_prior_of(readout)
    if learned is not None:
        paragraphs += learned_prior_text(learned, readout.kind, readout.unit)
    paragraphs += [f"Note: {fmt.one_line(w)}" for w in readout.notes
                   if pre is None or w != pre["text"]]
    tables = [t for t in (guardrail_table(readout),) if t is not None]
    tables.append(estimates_table(readout, "Bayes and frequentist estimates"))
    if readout.arms is not None:
        tables.append(arms_table(readout))
    if rendered is None:
        rendered = rendered_figures(readout) if figures else {}
    figs = [f for name, f in rendered.items() if not name.startswith("segments_")]
    title = {"primary": "Primary metric", "guardrail": "Guardrail",
             "secondary": "Secondary metric"}.get(readout.role, readout.role)
    unit = f", {readout.unit}" if readout.unit else ""
    unit += f", {readout.estimand}" if readout.estimand else ""
    margin = (f", margin {fmt.margin(readout.margin, readout.margin_relative)}"
              if readout.margin is not None else "")
    return Section(key=key or f"metric-{readout.metric}",
                   title=f"{title}: {readout.metric} ({readout.kind}{unit}{margin})",
                   paragraphs=tuple(paragraphs), tables=tuple(tables), figures=tuple(figs))


def _split_warnings(parts) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(blocking problems, informational notes) of readouts, each once, one line each."""
    blockers, notes = [], []
    for r in parts:
        if r is None:
            continue
        blockers += list(r.decision.blockers)
        seg = r.segments
        if seg is not None and seg.decision is not None:
            blockers += list(seg.decision.blockers)
        notes += list(r.warnings)
    blockers = [fmt.one_line(b) for b in dict.fromkeys(blockers)]
    notes = [fmt.one_line(n) for n in dict.fromkeys(notes)]
    return tuple(blockers), tuple(n for n in notes if n not in blockers)


def readout_document(readout, *, figures: bool = True) -> Document:
    """A document for one readout and its guardrails."""
    rendered = rendered_figures(readout) if figures else {}
    sections = [readout_section(readout, rendered=rendered)]
    sections += [readout_section(g, figures=figures) for g in readout.guardrails]
    if readout.segments is not None:
        sections.append(segments_section(readout, rendered))
    blockers, notes = _split_warnings([readout, *readout.guardrails])
    return Document(title=f"bayeslab readout: {readout.metric}",
                    headline=readout.decision.reasons[0], verdict=readout.decision.verdict,
                    warnings=blockers, notes=notes, sections=tuple(sections))


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
        rows.append((r.metric, r.role, f"{acc.read:,}", f"{acc.used:,}",
                     f"{acc.n_excluded:,}", reasons))
    srm_rows = []
    for r in result.readouts:
        srm = r.srm
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
    balance = result.primary.balance
    if balance is not None:
        tables.append(Table.from_frame(balance.table.reset_index(),
                                       caption="Covariate balance"))
    return Section(key="data", title="Data, sample ratio and balance checks",
                   paragraphs=paragraphs, tables=tuple(tables))


def _rhat(v) -> str:
    """R-hat to 4 decimals: 1.0104 must not read as the 1.01 threshold."""
    return "" if v is None or v != v else f"{float(v):.4f}"


def _diagnostics_section(result) -> Section | None:
    rows = []
    for part in result.readouts:
        if part is None:
            continue
        diag = part.diagnostics
        if diag is not None:
            d = diag.to_dict()
            rows.append((part.metric, str(d.get("verdict", "")),
                         _rhat(d.get("r_hat")), _fmt(d.get("ess_bulk")),
                         _fmt(d.get("ess_tail")), _fmt(d.get("divergences")),
                         str(d.get("reason", ""))))
    paragraphs = ["Conjugate models (Beta-Binomial, Normal-Inverse-Gamma regression, "
                  "Gamma-Poisson) are exact and need no sampling diagnostics."]
    laplace = [part.metric for part in result.readouts if part is not None
               and any(isinstance(e.extra, dict) and e.extra.get("sampler") == "laplace"
                       for e in part.estimates())]
    if laplace:
        paragraphs.append(
            f"Laplace approximation ({', '.join(laplace)}): the Bayesian propensity model's "
            "posterior is the normal approximation at its mode (Newton's method), not MCMC "
            "draws; no sampling diagnostics apply, and its intervals are as good as that "
            "approximation (methods marked \"(Laplace)\" in the tables).")
    if not rows:
        what = "No other model" if laplace else "No model"
        return Section(key="diagnostics", title="Sampling diagnostics",
                       paragraphs=(*paragraphs, f"{what} in this plan was sampled by MCMC."))
    return Section(key="diagnostics", title="Sampling diagnostics", paragraphs=tuple(paragraphs),
                   tables=(Table(("metric", "verdict", "max R-hat", "min bulk ESS",
                                  "min tail ESS", "divergences", "reason"), tuple(rows)),))


def _settings_section(result) -> Section:
    plan = result.plan
    rows = [("plan", str(plan.path)), ("seed", str(plan.seed)),
            ("data", json_text(plan.data)), ("columns", json_text(plan.columns)),
            ("decision rule", result.primary.rule.describe())]
    for r in result.readouts:
        prior = r.prior
        if prior is not None:
            rows.append((f"prior of {r.metric}", fmt.prior(prior)))
        seg = r.segments
        if seg is not None:
            rows.append((f"segment model prior of {r.metric}", fmt.prior(seg.bayes.prior)))
    rows.append(("package versions", _versions()))
    return Section(key="settings", title="Prior, settings and versions",
                   tables=(Table(("setting", "value"), tuple(rows)),))


def json_text(value) -> str:
    """Compact JSON text of a plan section, for the settings table."""
    import json

    from bayeslab.core.estimates import jsonable

    return json.dumps(jsonable(value), separators=(", ", ": "))


def _monitor_figure(mon) -> Figure:
    return Figure(name="sequential_path", png=figure_png(mon.plot()),
                  caption=f"{mon.metric}: P(lift > 0) (log-odds axis) and z over the looks with "
                          "boundaries")


def _monitor_section(mon, figure: Figure | None = None) -> Section:
    paragraphs = [str(mon).splitlines()[0]]
    first = mon.rules[0] if mon.rules else None
    if first is not None:
        # which rule governs: the posterior rule decides; the boundary is its counterpart
        named = f"'{first.name}' " if first.name != "rule" else ""
        spending = {"obf": "O'Brien-Fleming", "pocock": "Pocock"}.get(mon.design.spending,
                                                                     mon.design.spending)
        paragraphs.append(
            f"Which rule governs: the monitor's decision follows the posterior stopping rule "
            f"{named}({first.rule.describe()}); its column (\"{first.name}\") says what that "
            f"rule concluded at each look. The group-sequential boundary ({spending} spending, "
            f"alpha {mon.design.alpha:g}) is the frequentist counterpart shown beside it: a "
            "frequentist reader stops only where |z| crosses the boundary column, so a look can "
            "be a success for the posterior rule while z is far inside the boundary. "
            + " ".join(mon.decision.reasons))
        fp = first.false_positive
        if fp is not None:
            paragraphs.append(
                f"Simulated false-positive rate of the posterior stopping rule under this look "
                f"schedule: "
                f"{fp.rate:.1%} (Monte Carlo standard error {fp.mc_se:.1%}, {fp.n_sims:,} "
                f"simulated A/A experiments; a rerun with more simulations, such as the "
                f"command line's default of 10,000, agrees within about two such errors). The "
                f"boundary's own false-positive rate is its alpha, {mon.design.alpha:g}.")
    return Section(key="sequential", title="Sequential monitoring",
                   paragraphs=tuple(paragraphs),
                   tables=(looks_table(mon),),
                   figures=(figure or _monitor_figure(mon),))


def _render(part):
    """The rendered figures of one part of a run (a readout's, or the monitor's one)."""
    kind, obj = part
    if kind == "monitor":
        return _monitor_figure(obj)
    return rendered_figures(obj, only=None if kind == "readout" else kind)


def _render_run_figures(result) -> tuple[dict, Figure | None]:
    """Every figure of a run, rendered in forked processes, one readout (or monitor) each.

    Drawing is matplotlib's per-artist work (about 0.1-0.25 s a figure, 16 figures in the
    migration plan), not one slow step; the parts are independent, so they are drawn on the
    available cores (:func:`bayeslab.inference.forks.fork_map`), the biggest first.
    """
    from bayeslab.inference.forks import default_workers, fork_map

    seg = result.segments
    # the segment readout's figures in two parts (its segment figures are half the run's)
    parts = [("segments", seg)] if seg is not None else []
    parts += [("own" if r is seg else "readout", r)
              for r in (result.primary, *result.primary.guardrails, *result.secondary)]
    if result.monitor is not None:
        parts.append(("monitor", result.monitor))
    done = fork_map(_render, parts, workers=default_workers(len(parts)))
    rendered = {}
    for (kind, obj), figs in zip(parts, done, strict=True):
        if kind != "monitor":
            rendered.setdefault(id(obj), {}).update(figs)
    mon = done[-1] if result.monitor is not None else None
    return rendered, mon


def run_document(result) -> Document:
    """The report of a plan run: decision, warnings, every metric, checks, settings."""
    primary = result.primary
    seg = result.segments
    rendered, mon_fig = _render_run_figures(result)  # a readout's drawn once, for two sections

    sections = [overview_section(result.readouts)]
    sections.append(readout_section(primary, key="primary", rendered=rendered[id(primary)]))
    sections += [readout_section(g, key=f"guardrail-{g.metric}", rendered=rendered[id(g)])
                 for g in primary.guardrails]
    sections += [readout_section(r, key=f"secondary-{r.metric}", rendered=rendered[id(r)])
                 for r in result.secondary]
    if seg is not None:
        sections.append(segments_section(seg, rendered[id(seg)]))
    if result.monitor is not None:
        sections.append(_monitor_section(result.monitor, mon_fig))
    sections += [_bandit_section(b) for b in getattr(result, "bandit", ())]
    if getattr(result, "scan", None) is not None:
        sections.append(_scan_section(result.scan))
    sections.append(_oc_section(result))
    sections.append(_diagnostics_section(result))
    sections.append(_data_section(result))
    sections.append(_settings_section(result))
    d = result.decision
    blockers, notes = _split_warnings(result.readouts)
    oc = getattr(result, "oc", None)
    headline = d.reasons[0] + (f" {oc.sentence()}" if oc is not None and not isinstance(oc, str)
                               else "")
    return Document(title=f"{result.plan.name}: experiment readout", headline=headline,
                    verdict=d.verdict, warnings=blockers, notes=notes,
                    sections=tuple(s for s in sections if s is not None),
                    footer=f"bayeslab plan {result.plan.path}, seed {result.plan.seed}. "
                           + _versions())


def _scan_section(scan) -> Section:
    """The property scan: flagged levels ranked, a sentence each, and the forest of every level."""
    b, f = scan.bayes, scan.frequentist
    paragraphs = [f"{len(scan.stats.properties)} properties, {scan.stats.n_levels} levels: "
                  f"{int(b.flagged.sum())} flagged by the partially pooled model, "
                  f"{int(f.flagged_bonferroni.sum())} by Bonferroni and "
                  f"{int(f.flagged_bh.sum())} by BH (each level against the rest)."]
    paragraphs += scan.sentences() + scan.notes()
    kind = "conversion" if scan.stats.kind == "binary" else "continuous"
    rows = []
    for r in scan.summary().head(15).itertuples():
        flags = [n for n, on in (("Bayes", r.flagged), ("Bonferroni", r.flagged_bonferroni),
                                 ("BH", r.flagged_bh)) if on]
        rows.append((f"{r.property} = {r.level}", fmt.count(r.n),
                     fmt.effect(r.effect, "absolute", kind),
                     fmt.interval(r.lower, r.upper, "absolute", kind),
                     fmt.effect(r.raw, "absolute", kind),
                     fmt.interval(r.raw_lower, r.raw_upper, "absolute", kind),
                     fmt.prob(r.prob_differs, r.prob_same), fmt.p_value(r.p_bonferroni),
                     ", ".join(flags) or "-"))
    table = Table(columns=("level", "units", "shrunken", "interval", "raw", "raw interval",
                           "P(departs)", "p (Bonferroni)", "flagged by"), rows=tuple(rows),
                  caption="Flagged levels first, then the largest departures (15 of "
                          f"{scan.stats.n_levels})")
    fig = Figure(name=f"{scan.metric}_scan", png=figure_png(scan.figure()),
                 caption=f"{scan.metric}: every level, raw (unpooled) beside shrunken (pooled)")
    return Section(key="property-scan", title=f"Who is affected: {scan.metric} by property",
                   paragraphs=tuple(paragraphs), tables=(table,), figures=(fig,))


def _bandit_section(br) -> Section:
    """A bandit metric read out stratified by period: both sides, beside the biased pooled one."""
    lvl = f"{100 * br.interval:g}%"
    eff = "absolute"
    rows = []
    for e in br.effects:
        rows.append((f"{e['arm']} - {br.control}",
                     fmt.effect(e["bayes_mean"], eff, br.kind),
                     fmt.interval(e["bayes_lower"], e["bayes_upper"], eff, br.kind),
                     fmt.prob(e["prob_positive"]), fmt.effect(e["estimate"], eff, br.kind),
                     fmt.interval(e["lower"], e["upper"], eff, br.kind),
                     fmt.p_value(e["p_value"]), fmt.effect(e["pooled"], eff, br.kind)))
    table = Table(columns=("effect", "Bayes", f"{lvl} credible", "P(> 0)", "stratified z",
                           f"{lvl} CI", "p", "pooled (biased)"), rows=tuple(rows))
    return Section(key=f"bandit-{br.metric}",
                   title=f"Bandit: {br.metric} stratified by {br.period}",
                   paragraphs=(f"Read {br.method}.", *br.notes), tables=(table,))


def _oc_section(result) -> Section | None:
    """The whole rule's error rates: false-ship rate, family-wise rate, power, per side."""
    oc = getattr(result, "oc", None)
    if oc is None:
        return None
    if isinstance(oc, str):
        return Section(key="operating-characteristics", title="The rule's error rates",
                       paragraphs=(f"Not simulated: {oc}.",))
    rows = []
    for side in ("bayes", "frequentist", "combined"):
        s = oc[side]
        se = s.mc_se
        rows.append((side, f"{s.false_ship_rate:.2%} ± {se['false_ship_rate']:.2%}",
                     f"{s.family_wise_rate:.2%} ± {se['family_wise_rate']:.2%}",
                     f"{s.power:.1%} ± {se['power']:.1%}", f"{s.expected_n:,.0f}",
                     f"{s.expected_n_null:,.0f}"))
    d = oc.design
    paragraphs = [oc.sentence(),
                  "Simulated as the plan runs it: every look, variant, guardrail and secondary, "
                  f"the decision thresholds P >= {d.prob_threshold:g} (Bayes) and alpha "
                  f"{d.alpha:g} (frequentist, {d.correction} over {', '.join(d.scope)}), on "
                  "this run's baselines; 'combined' ships only when both sides ship. A "
                  "Bayesian rule peeked at many looks ships more often than its threshold "
                  "suggests: the posterior is right at every look, but stopping at the first "
                  "look that crosses is a different rule, with its own error rate."]
    paragraphs += [f"Note: {n}." for n in d.notes]
    cal = getattr(result, "calibration", None)
    if cal is not None:
        paragraphs.insert(1, "The thresholds in use were calibrated for this plan ([decision] "
                             f"target_false_ship = {cal.target:g}): {cal.sentence()}")
    table = Table(columns=("side", "false-ship rate (null)", "any metric declared a win (null)",
                           f"power at {_oc_mde(oc)}", "expected units (MDE)",
                           "expected units (null)"), rows=tuple(rows),
                  caption=f"{oc['combined'].n_sims:,} simulated experiments per hypothesis, "
                          f"seed {oc.seed}; ± one Monte Carlo standard error")
    return Section(key="operating-characteristics", title="The rule's error rates",
                   paragraphs=tuple(paragraphs), tables=(table,))


def _oc_mde(oc) -> str:
    p = oc.design.primary
    return (f"{fmt.pp(oc.mde)}" if p.kind == "conversion" else fmt.number(oc.mde, sign=True))


def segments_section(readout, rendered: dict | None = None) -> Section:
    """Segment analysis of a readout: decision, per-segment estimates of both sides, figures."""
    s = readout.segments
    rendered = rendered if rendered is not None else rendered_figures(readout)
    paragraphs = []
    if s.decision is not None:
        paragraphs += [f"Blocked: {b}" for b in s.decision.blockers]
        paragraphs.append(f"Segments ({' x '.join(s.columns)}): {s.decision.verdict.upper()}. "
                          + " ".join(s.decision.reasons))
    paragraphs += [f"Note: {fmt.one_line(w)}" for w in s.notes]
    return Section(key="segments", title=f"Segments: {readout.metric} by {' x '.join(s.columns)}",
                   paragraphs=tuple(paragraphs),
                   tables=(estimates_table(readout, "Per-segment estimates, both sides",
                                           segments=True),),
                   figures=tuple(f for name, f in rendered.items()
                                 if name.startswith("segments_")))
