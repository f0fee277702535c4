"""The figures of a metric readout, by name (:meth:`bayeslab.readout.metric.Readout.figures`)."""

from __future__ import annotations


def figures(readout, *, only: str | None = None) -> dict:
    """Every figure of this readout, by name (matplotlib Figures; the caller closes them).

    ``intervals`` (Bayes vs frequentist intervals of the population, every readout); for
    conversion ``posteriors`` (each arm's rate) and ``lift`` (``lift_<arm>`` with several
    treatment arms: exact lift posterior with the decision threshold, or for a guardrail
    the non-inferiority margin and P(increase > margin)); with segments
    ``segments_intervals`` (per segment, unadjusted intervals, said in the title),
    ``segments_forest``, ``segments_trace``, ``segments_rank`` and ``segments_ppc`` (marked
    when the segment model did not converge); for a formula or your own model ``effect`` (the
    effect's posterior with the frequentist interval) and ``trace``. Every figure's title names
    the metric and the effect; its effect axis is in the metric's unit.

    ``only="segments"`` draws the segment figures alone, ``only="own"`` the others (a run's
    report draws the two sets in parallel).
    """
    from bayeslab import plots

    if only == "segments":
        return _segment_figures(readout) if readout.segments is not None else {}
    figs = {"intervals": plots.plot_interval_comparison(
        [e for e in readout.estimates() if e.segment is None], effect=readout.fit.headline[2],
        metric=readout.metric, kind=readout.kind, unit=readout.unit,
        flagged=readout.invalid_methods)}
    if readout.kind == "conversion":
        post = readout.bayes
        figs["posteriors"] = plots.plot_beta_posteriors(post)
        treatments = list(post.arms[1:])
        for arm in treatments:
            name = "lift" if len(treatments) == 1 else f"lift_{arm}"
            figs[name] = plots.plot_conversion_lift(
                post, arm=arm, margin=readout.margin, margin_relative=readout.margin_relative,
                verdict=readout.decision.verdict if readout.margin is not None else None)
    if hasattr(readout.bayes, "effect_name"):   # a formula's or a user's own sampled model
        b, f = readout.headline_estimates()
        post = readout.bayes
        figs["effect"] = plots.plot_effect_posterior(
            post.draws, name=post.effect_name, level=post.interval, metric=readout.metric,
            unit=readout.unit, frequentist=f)
        figs["trace"] = plots.plot_trace(
            post.idata, var_names=[post.effect_name],
            title=f"{readout.metric}: trace of {post.effect_name} ({post.method})",
            blocked=None if post.converged else post.diagnostics.reason)
    if readout.segments is not None and only != "own":
        figs.update(_segment_figures(readout))
    return figs


def _segment_figures(readout) -> dict:
    """The segment figures of a readout with a segment analysis (see :func:`figures`)."""
    from bayeslab import plots

    figs = {}
    fit = readout.segments.bayes
    post = fit.idata["posterior"]
    names = ["effect_mu", *[v for v in post.data_vars if str(v).startswith("tau_")],
             "baseline_mu"]
    seg = readout.segments
    blocked = None if seg.converged else "; ".join(seg.warnings) or "not converged"
    figs["segments_intervals"] = plots.plot_interval_comparison(
        readout.estimates(), effect=readout.fit.headline[2], metric=readout.metric,
        kind=readout.kind, unit=readout.unit, segment_columns=seg.columns,
        flagged=readout.invalid_methods,
        note=f"per-segment intervals unadjusted ({readout.fit.spec.interval:.0%} each); "
             f"{seg.frequentist.adjust}-adjusted p-values are in the table")
    figs["segments_forest"] = plots.plot_forest(fit, metric=readout.metric, kind=readout.kind,
                                                unit=readout.unit, blocked=blocked,
                                                segment_columns=seg.columns)
    figs["segments_trace"] = plots.plot_trace(
        fit.idata, var_names=names,
        title=f"{readout.metric}: segment model trace ({fit.method})", blocked=blocked)
    figs["segments_rank"] = plots.plot_rank(fit.idata, var_names=names,
                                            title=f"{readout.metric} segment model")
    figs["segments_ppc"] = plots.plot_ppc(readout.segments.ppc(), title=readout.metric)
    return figs
