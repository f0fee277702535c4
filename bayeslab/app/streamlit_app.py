"""Streamlit app over a ``bayeslab run`` output folder (``bayeslab app DIR``).

Run it with ``bayeslab app DIR`` or ``streamlit run streamlit_app.py -- DIR``; the folder can also
be given in the environment variable ``BAYESLAB_APP_RUN_DIR`` (which wins over the argument).
The user picks a metric, a segment or a look of the monitor, and the Beta prior of conversion
metrics; the posterior and the frequentist results are computed again from the saved counts
(:func:`bayeslab.app.data.metric_view`). Other metric kinds show the run's saved results.
A link can open one metric: ``http://127.0.0.1:8501/?metric=NAME`` (an unknown name is ignored).
"""

from __future__ import annotations

import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import streamlit as st  # noqa: E402

from bayeslab.app import RUN_DIR_ENV  # noqa: E402
from bayeslab.app import data as D  # noqa: E402
from bayeslab.core import format as fmt  # noqa: E402
from bayeslab.core.errors import BayeslabError  # noqa: E402

ALL_UNITS = "all units"


def _run_dir() -> str | None:
    if os.environ.get(RUN_DIR_ENV):
        return os.environ[RUN_DIR_ENV]
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    return args[0] if args else None


def _prob(e) -> str:
    from bayeslab.report.tables import prob_value

    return prob_value(e)


def _effect(view, e) -> str:
    if e is None or e.estimate is None or math.isnan(e.estimate):
        return "n/a"
    return fmt.effect(e.estimate, e.effect, view.kind, view.unit)


def _interval(view, e) -> str:
    if e is None or e.lower is None or math.isnan(e.lower):
        return ""
    return fmt.interval(e.lower, e.upper, e.effect, view.kind, view.unit)


def _p_value(e) -> str:
    return "n/a" if e is None or e.p_value is None else fmt.p_value(e.p_value)


# beyond CommonMark (bayeslab.report.markdown.escape): Streamlit's LaTeX ($), directives
# (:red[...], :material/icon:), emphasis with _, and image or link syntax
_STREAMLIT = re.compile(r"([$:_!()])")


def _md(text) -> str:
    """``text`` from the data (names, labels, saved sentences) shown as text, never as markup.

    Streamlit renders Markdown (links, images, :color[...] directives, LaTeX) in titles,
    captions and alerts: the report's Markdown escape, plus Streamlit's own syntax, so a metric
    named ``![](http://...)`` shows as those characters and the browser fetches nothing.
    """
    from bayeslab.report.markdown import escape

    return _STREAMLIT.sub(r"\\\1", escape(text))


def _cell(v) -> str:
    """A table cell as text: no None / nan, numbers with separators."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return fmt.number(v)
    return str(v)


def _table(frame) -> None:
    """A data frame shown as a plain, escaped HTML table of formatted text.

    Columns empty in every row are left out and no cell shows None / nan. A real table (not the
    canvas grid of ``st.dataframe``) so that what it shows is text a reader, a screen reader
    and the browser tests can read.
    """
    frame = frame.loc[:, [c for c in frame.columns if frame[c].notna().any()]]
    body = frame.map(_cell).to_html(index=False, escape=True, border=0,
                                    classes="bayeslab-table")
    st.markdown(f'<div class="table-wrap" style="overflow-x:auto;max-width:100%">{body}</div>',
                unsafe_allow_html=True)


def _eq(text: str) -> str:
    """``= 0.97`` or, for a bound such as ``> 0.999 (every draw)``, the bound alone."""
    return text if text[:1] in "<>" else f"= {text}"


def _arms_frame(view):
    """Per arm, formatted: units and conversions with separators, rates in %, P(best)."""
    import pandas as pd

    t = view.arm_table()
    out = pd.DataFrame({"arm": t["arm"].astype(str)}) if "arm" in t else pd.DataFrame()
    rates = view.kind == "conversion"
    for col in t.columns:
        if col == "arm":
            continue
        v = t[col]
        if col in ("n", "conversions"):
            out["units" if col == "n" else col] = [fmt.count(x) for x in v]
        elif col in ("mean", "lower", "upper"):
            name = {"mean": "mean", "lower": "lower (posterior)",
                    "upper": "upper (posterior)"}[col]
            out[name] = [fmt.rate(x) if rates else fmt.amount(x, view.unit, sign=False)
                         for x in v]
        elif col == "prob_best":
            vals = [float(x) for x in v]      # 1 - P(best) as the sum of the others: exact
            out["P(best)"] = [fmt.prob(p, sum(vals[:i] + vals[i + 1:]))
                              for i, p in enumerate(vals)]
        elif col in ("alpha", "beta"):
            out[f"posterior {col}"] = [fmt.number(x) for x in v]
        else:
            out[col] = v
    return out


def _estimates_frame(view):
    """Every estimate of both sides in the metric's units, with P / p beside it."""
    import pandas as pd

    from bayeslab.report.tables import estimate_prob

    rows = []
    for e in view.estimates:
        rows.append({"side": e.side, "method": e.method, "effect": e.effect,
                     "stage": str(e.extra.get("rate") or ""),
                     "segment": fmt.segment_label(e.segment, ()) if e.segment else "",
                     "estimate": _effect(view, e), f"{e.level:.0%} interval": _interval(view, e),
                     "P / p": estimate_prob(e),
                     "expected loss": "" if e.expected_loss is None
                     else fmt.number(e.expected_loss, 3)})
    frame = pd.DataFrame(rows)
    return frame.loc[:, [c for c in frame.columns if (frame[c] != "").any()]]


_BOX = {"ship": "success", "pass": "success", "hold": "warning", "inconclusive": "warning",
        "do not ship": "error", "fail": "error", "blocked": "error"}


def _decision(run) -> None:
    """The run's decision, first and largest; blocking problems above it, notes below."""
    decision = run.readout.get("decision") or {}
    verdict = str(decision.get("verdict", "n/a"))
    text = str(decision.get("text", ""))
    head = text.split(". ")[0].rstrip(".") + "." if text else ""
    blockers = [b for r in run.readouts.values() for b in r.decision.blockers]
    blockers = list(dict.fromkeys([*decision.get("blockers", []), *blockers]))
    for b in blockers:
        st.error(f"Blocked: {_md(fmt.one_line(b))}")
    box = getattr(st, _BOX.get(verdict, "info"))
    box(f"## Decision: {_md(verdict.upper())}\n\n{_md(head)}")
    oc = run.readout.get("operating_characteristics") or {}
    if isinstance(oc, dict) and isinstance(oc.get("sentence"), str):
        st.markdown(f"**The rule's error rate.** {_md(oc['sentence'])}")
    elif isinstance(oc, dict) and isinstance(oc.get("not_simulated"), str):
        st.caption(_md(f"The rule's error rates were not simulated: {oc['not_simulated']}."))
    notes = [w for w in run.readout.get("warnings", []) if w not in blockers]
    if notes:
        with st.expander(f"Notes ({len(notes)})"):
            for w in notes:
                st.caption(_md(fmt.one_line(w)))


def _headline_text(readout) -> str:
    """The saved headline of a metric: the estimates its decision reads, both sides."""
    from bayeslab.core.format import estimate_prob

    parts = []
    for e in readout.headline_estimates():
        if e is not None:
            parts.append(f"{e.side}: "
                         f"{fmt.effect(e.estimate, e.effect, readout.kind, readout.unit)}, "
                         f"{estimate_prob(e)}")
    return "; ".join(parts)


def _overview(run) -> None:
    """One row per metric: role, verdict and what decides it (guardrails: the margin)."""
    rows = []
    for name, r in run.readouts.items():
        g = r.guardrail_check()
        if g:
            t = fmt.guardrail(g)
            decides = (f"margin {t['margin']}: P(increase > margin) = {t['prob']}, "
                       f"non-inferiority p = {t['p']}")
        else:
            decides = _headline_text(r)
        rows.append({"metric": name, "role": r.role, "verdict": r.decision.verdict.upper(),
                     "what decides": decides})
    import pandas as pd

    _table(pd.DataFrame(rows))


def _sidebar(run):
    st.sidebar.header("Read out")
    metrics = D.list_metrics(run)
    entries = run.entries
    asked = st.query_params.get("metric")      # a link to one metric: ?metric=NAME
    if asked in metrics and "metric" not in st.session_state:
        st.session_state["metric"] = asked
    metric = st.sidebar.selectbox(
        "Metric", metrics, key="metric",
        format_func=lambda m: f"{m} ({entries[m].get('role', '?')}, {entries[m].get('kind')})")
    segment = look = None
    segments = D.list_segments(run, metric)
    if segments:
        cols = D.segment_columns(run, metric)
        choice = st.sidebar.selectbox("Segment", [ALL_UNITS, *segments], key="segment",
                                      format_func=lambda s: s if s == ALL_UNITS
                                      else fmt.segment_label(s, cols))
        segment = None if choice == ALL_UNITS else choice
    looks = D.list_looks(run, metric)
    if looks:
        choice = st.sidebar.selectbox("Look (monitor)", [ALL_UNITS, *looks], key="look",
                                      help="Cumulative counts at a look of the sequential "
                                           "monitor")
        look = None if choice == ALL_UNITS else choice
    prior = None
    plan_prior = D.saved_prior(run, metric)
    if D.recomputable(run, metric):
        st.sidebar.subheader("Beta prior of each arm's rate")
        a = st.sidebar.number_input("prior alpha", min_value=0.001, value=plan_prior[0],
                                    step=1.0, format="%g", key=f"prior_alpha_{metric}")
        b = st.sidebar.number_input("prior beta", min_value=0.001, value=plan_prior[1],
                                    step=1.0, format="%g", key=f"prior_beta_{metric}")
        prior = (float(a), float(b))
        st.sidebar.caption(f"The plan's prior: Beta({plan_prior[0]:g}, {plan_prior[1]:g}). "
                           "Prior mean alpha / (alpha + beta), worth alpha + beta units.")
    return metric, segment, look, prior


def _method(view, side: str, label: str) -> str | None:
    methods = view.methods(side)
    if len(methods) < 2:
        return methods[0] if methods else None
    decides = (view.headline_methods or {}).get(side)   # the method the decision reads first
    index = methods.index(decides) if decides in methods else 0
    return st.sidebar.selectbox(label, methods, index=index, key=f"{side}_method_{view.metric}",
                                help="the run's decision reads " + (decides or methods[0]))


def _guardrail(view) -> None:
    """A guardrail's margin, P(increase > margin), non-inferiority p and pass/fail."""
    margin, rel = view.margin, view.saved.margin_relative
    if view.recomputed:
        p = float(view.bayes.prob_lift_above(margin, relative=rel))
        ni = view.frequentist.noninferiority(margin, relative=rel)
        ni_p = float(ni.p_value)
    else:
        g = view.guardrail or {}
        p, ni_p = g.get("prob_above_margin"), g.get("noninferiority_p")
    b_pass = p is not None and p <= 0.05
    f_pass = ni_p is not None and ni_p < 0.025
    cols = st.columns(4)
    cols[0].metric("Margin (max increase)", fmt.margin(margin, rel))
    cols[1].metric("P(increase > margin)", "n/a" if p is None else fmt.prob(p, 1 - p))
    cols[2].metric("Non-inferiority p", fmt.p_value(ni_p))
    cols[3].metric("Guardrail", "PASS" if b_pass and f_pass else "FAIL")
    st.caption("A guardrail passes when P(increase > margin) <= 0.05 (Bayes) and the one-sided "
               "non-inferiority p < 0.025 (frequentist), under the plan's default rule.")


def _pooled(view) -> None:
    """For a segment: the partially pooled (hierarchical) estimate beside the unpooled one."""
    e = view.pooled
    if e is None:
        return
    st.markdown(f"**Pooled** ({_md(e.method)}, partially pooled across segments): "
                f"{_md(_effect(view, e))} {_md(_interval(view, e))}, P(lift > 0) "
                f"{_md(_eq(_prob(e)))} "
                "(the run's prior; beside the unpooled numbers above, which use this "
                "segment alone).")


def _numbers(view):
    b_method = _method(view, "bayes", "Bayes method shown")
    f_method = _method(view, "frequentist", "Frequentist method shown")
    bayes = view.headline("bayes", method=b_method)
    freq = view.headline("frequentist", method=f_method)
    if view.margin is not None and view.segment is None:
        _guardrail(view)
    cols = st.columns(4)
    if bayes is not None and bayes.effect == "hazard-ratio":
        from bayeslab.report.tables import prob_value

        cols[0].metric("P(HR < 1)", prob_value(bayes, flip=True))
    else:
        cols[0].metric("P(lift > 0)" if view.margin is None else "P(increase > 0)",
                       _prob(bayes))
    cols[1].metric("Bayes estimate", _effect(view, bayes), help=_interval(view, bayes))
    cols[2].metric("Frequentist estimate", _effect(view, freq), help=_interval(view, freq))
    cols[3].metric("p-value", _p_value(freq))
    lines = []
    for name, e, method in (("Bayes", bayes, b_method), ("Frequentist", freq, f_method)):
        if e is None:
            lines.append(f"**{name}**: no estimate.")
            continue
        rel = view.headline(e.side, "relative", method=method)
        rel_text = (f", relative {_effect(view, rel)} {_interval(view, rel)}"
                    if rel is not None and rel.effect == "relative" and e is not rel else "")
        if e.side == "bayes" and view.margin is None and e.expected_loss is not None:
            tail = f"expected loss of shipping {fmt.number(e.expected_loss, 3)}"
        elif e.side == "bayes" and e.effect == "hazard-ratio":
            from bayeslab.report.tables import prob_value

            tail = f"P(HR < 1) = {prob_value(e, flip=True)}"   # as the tile says it
        elif e.side == "bayes":
            tail = f"P(> 0) = {_prob(e)}"
        else:
            tail = f"p = {_p_value(e)}"
        lines.append(f"**{name}** ({_md(e.method)}, {_md(e.effect)}, {e.level:.0%} "
                     f"interval): {_md(_effect(view, e))} {_md(_interval(view, e))}"
                     f"{_md(rel_text)}; {_md(tail)}.")
    st.markdown("  \n".join(lines))
    if view.segment is not None:
        _pooled(view)


def _figures(view, run):
    from bayeslab.plots import plot_interval_comparison

    if view.recomputed:
        left, right = st.columns(2)
        dens = D.rate_densities(view)
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for arm in view.bayes.arms:
            ax.plot(dens["x"], dens[arm], label=f"arm {arm}")
        ax.set_xlabel(f"{view.metric} rate")
        ax.set_ylabel("posterior density")
        ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.3g}%")
        ax.set_title(f"{view.metric}: posterior of each arm's rate, prior {view.prior}",
                     fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        left.pyplot(fig)
        plt.close(fig)
        lift = D.lift_density(view)
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(lift["x"], lift["density"], color="#1f77b4")
        c = view.bayes.comparisons[0]
        ax.axvspan(c.abs_lower, c.abs_upper, color="#1f77b4", alpha=0.15,
                   label=f"{view.bayes.interval:.0%} credible interval")
        ax.axvline(0, color="black", linewidth=0.8)
        ax.axvline(0, color="black", linewidth=0.8)
        if view.margin is not None:
            rel = view.saved.margin_relative        # drawn at the posterior control mean
            a0, b0 = view.bayes.alpha_post[0], view.bayes.beta_post[0]
            line = view.margin * (a0 / (a0 + b0) if rel else 1.0)
            ax.axvline(line, color="#d62728", linestyle="--",
                       label=f"non-inferiority margin {fmt.margin(view.margin, rel)}")
        ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:+.2g}")
        ax.set_xlabel(f"absolute lift in {view.metric}, {c.arm} - {view.bayes.control} "
                      "(percentage points)")
        ax.set_ylabel("posterior density")
        ax.set_title(f"{view.metric}: posterior of the absolute lift, prior {view.prior}",
                     fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        right.pyplot(fig)
        plt.close(fig)
    saved = [p for p in run.figures() if p.stem.startswith(view.metric)]
    if not view.recomputed and saved:
        for path in saved:  # the run's own figures: nothing here differs from the run
            st.columns([3, 2])[0].image(path.read_bytes(),
                                        caption=_md(f"{path.name} (saved by the run)"))
        return
    shown = [e for e in view.estimates if e.effect == "absolute" and not math.isnan(e.lower)]
    if shown:
        fig = plot_interval_comparison(shown, effect="absolute", metric=view.metric,
                                       kind=view.kind, unit=view.unit)
        st.columns([3, 2])[0].pyplot(fig)
        plt.close(fig)


def main() -> None:
    """Draw the app."""
    st.set_page_config(page_title="bayeslab", layout="wide")
    folder = _run_dir()
    if not folder:
        st.error(f"No run folder: start with 'bayeslab app DIR' (or set {RUN_DIR_ENV}).")
        st.stop()
    try:
        run = D.load_run(folder)
    except BayeslabError as exc:
        st.error(_md(str(exc)))
        st.stop()
    st.title(_md(run.name))
    _decision(run)
    with st.expander("Every metric: verdict and what decides it", expanded=True):
        _overview(run)
    st.caption(_md(f"Run folder {run.path}; seed {run.readout.get('seed')}; bayeslab "
                   f"{run.readout.get('bayeslab')}."))
    metric, segment, look, prior = _sidebar(run)
    try:
        view = D.metric_view(run, metric, prior=prior, segment=segment, look=look)
    except BayeslabError as exc:
        st.error(_md(str(exc)))
        st.stop()
    label = segment and fmt.segment_label(segment, D.segment_columns(run, metric))
    where = look and f"look {look}" or segment and f"segment {label}" or ALL_UNITS
    st.header(_md(f"{metric} ({view.role}, {view.kind}): {where}"))
    st.info(_md(f"Prior in use: {view.prior_text}"))
    st.caption(_md(view.note))
    _numbers(view)
    st.subheader("Arms")
    _table(_arms_frame(view))
    if view.monitor_row is not None:
        r = view.monitor_row
        rules = ", ".join(str(v) for k, v in r.items() if k.startswith("rule_"))
        st.markdown(f"**Monitor at this look** (the run's prior): z = {r['z']:+.3f} against the "
                    f"boundary +/-{r['upper']:.3f} (information fraction {r['fraction']:.2f}); "
                    f"stopping rule: {rules or 'n/a'}.")
    _figures(view, run)
    st.subheader("All estimates")
    _table(_estimates_frame(view))
    if view.decision and segment is None and look is None:
        with st.expander("The run's decision on this metric (plan's prior, all units)"):
            st.write(_md(view.decision.text))


main()
