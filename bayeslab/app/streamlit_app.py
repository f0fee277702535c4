"""Streamlit app over a ``bayeslab run`` output folder (``bayeslab app DIR``).

Run it with ``bayeslab app DIR`` or ``streamlit run streamlit_app.py -- DIR``; the folder can also
be given in the environment variable ``BAYESLAB_APP_RUN_DIR`` (which wins over the argument).
The user picks a metric, a segment or a look of the monitor, and the Beta prior of conversion
metrics; the posterior and the frequentist results are computed again from the saved counts
(:func:`bayeslab.app.data.metric_view`). Other metric kinds show the run's saved results.
"""

from __future__ import annotations

import math
import os
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import streamlit as st  # noqa: E402

from bayeslab.app import RUN_DIR_ENV  # noqa: E402
from bayeslab.app import data as D  # noqa: E402
from bayeslab.errors import BayeslabError  # noqa: E402

ALL_UNITS = "all units"


def _run_dir() -> str | None:
    if os.environ.get(RUN_DIR_ENV):
        return os.environ[RUN_DIR_ENV]
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    return args[0] if args else None


def _prob(e) -> str:
    from bayeslab.format import format_prob

    if e is None or e.prob_positive is None:
        return "n/a"
    return format_prob(e.prob_positive, e.extra.get("prob_negative", 1 - e.prob_positive))


def _effect(view, e) -> str:
    if e is None or e.estimate is None or math.isnan(e.estimate):
        return "n/a"
    if view.kind == "conversion" and e.effect == "absolute":
        return f"{e.estimate:+.3%}"
    if e.effect == "relative":
        return f"{e.estimate:+.2%}"
    return f"{e.estimate:.4g}" if "ratio" in e.effect else f"{e.estimate:+.4g}"


def _interval(view, e) -> str:
    if e is None or e.lower is None or math.isnan(e.lower):
        return ""
    if view.kind == "conversion" and e.effect == "absolute":
        return f"[{e.lower:+.3%}, {e.upper:+.3%}]"
    if e.effect == "relative":
        return f"[{e.lower:+.2%}, {e.upper:+.2%}]"
    if "ratio" in e.effect:
        return f"[{e.lower:.4g}, {e.upper:.4g}]"
    return f"[{e.lower:+.4g}, {e.upper:+.4g}]"


def _p_value(e) -> str:
    return "n/a" if e is None or e.p_value is None else f"{e.p_value:.3g}"


def _table(frame) -> None:
    """A data frame with floats shown to 4 significant digits."""
    floats = frame.select_dtypes("float").columns
    st.dataframe(frame, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.4g") for c in floats})


def _sidebar(run):
    st.sidebar.header("Read out")
    metrics = D.list_metrics(run)
    entries = run.entries
    metric = st.sidebar.selectbox(
        "Metric", metrics, key="metric",
        format_func=lambda m: f"{m} ({entries[m].get('role', '?')}, {entries[m].get('kind')})")
    segment = look = None
    segments = D.list_segments(run, metric)
    if segments:
        choice = st.sidebar.selectbox("Segment", [ALL_UNITS, *segments], key="segment")
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
    return st.sidebar.selectbox(label, methods, key=f"{side}_method_{view.metric}")


def _numbers(view):
    b_method = _method(view, "bayes", "Bayes method shown")
    f_method = _method(view, "frequentist", "Frequentist method shown")
    bayes = view.headline("bayes", method=b_method)
    freq = view.headline("frequentist", method=f_method)
    cols = st.columns(4)
    cols[0].metric("P(lift > 0)", _prob(bayes))
    cols[1].metric("Bayes estimate", _effect(view, bayes), help=_interval(view, bayes))
    cols[2].metric("Frequentist estimate", _effect(view, freq), help=_interval(view, freq))
    cols[3].metric("p-value", _p_value(freq))
    loss = "n/a" if bayes is None or bayes.expected_loss is None else \
        f"{bayes.expected_loss:.3g}"
    lines = []
    for name, e, method in (("Bayes", bayes, b_method), ("Frequentist", freq, f_method)):
        if e is None:
            lines.append(f"**{name}**: no estimate.")
            continue
        rel = view.headline(e.side, "relative", method=method)
        rel_text = (f", relative {_effect(view, rel)} {_interval(view, rel)}"
                    if rel is not None and rel.effect == "relative" and e is not rel else "")
        tail = f"expected loss of shipping {loss}" if e.side == "bayes" else \
            f"p = {_p_value(e)}"
        lines.append(f"**{name}** ({e.method}, {e.effect}, {e.level:.0%} interval): "
                     f"{_effect(view, e)} {_interval(view, e)}{rel_text}; {tail}.")
    st.markdown("  \n".join(lines))


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
        ax.set_title(f"Posterior of each arm's rate, prior {view.prior}", fontsize=9)
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
        ax.set_xlabel(f"absolute lift, {c.arm} - {view.bayes.control}")
        ax.set_ylabel("posterior density")
        ax.set_title(f"Posterior of the lift, prior {view.prior}", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        right.pyplot(fig)
        plt.close(fig)
    saved = [p for p in run.figures() if p.stem.startswith(view.metric)]
    if not view.recomputed and saved:
        for path in saved:  # the run's own figures: nothing here differs from the run
            st.columns([3, 2])[0].image(str(path), caption=f"{path.name} (saved by the run)")
        return
    shown = [e for e in view.estimates if e.effect == "absolute" and not math.isnan(e.lower)]
    if shown:
        fig = plot_interval_comparison(shown, effect="absolute")
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
        st.error(str(exc))
        st.stop()
    st.title(run.name)
    decision = run.readout.get("decision") or {}
    st.caption(f"Run folder {run.path}; seed {run.readout.get('seed')}; bayeslab "
               f"{run.readout.get('bayeslab')}. The run's decision: "
               f"**{decision.get('verdict', 'n/a')}**.")
    for w in run.readout.get("warnings", []):
        st.warning(w)
    metric, segment, look, prior = _sidebar(run)
    try:
        view = D.metric_view(run, metric, prior=prior, segment=segment, look=look)
    except BayeslabError as exc:
        st.error(str(exc))
        st.stop()
    where = look and f"look {look}" or segment and f"segment {segment}" or ALL_UNITS
    st.header(f"{metric} ({view.role}, {view.kind}): {where}")
    st.info(f"Prior in use: {view.prior_text}")
    st.caption(view.note)
    _numbers(view)
    st.subheader("Arms")
    _table(view.arm_table())
    if view.monitor_row is not None:
        r = view.monitor_row
        rules = ", ".join(str(v) for k, v in r.items() if k.startswith("rule_"))
        st.markdown(f"**Monitor at this look** (the run's prior): z = {r['z']:+.3f} against the "
                    f"boundary +/-{r['upper']:.3f} (information fraction {r['fraction']:.2f}); "
                    f"stopping rule: {rules or 'n/a'}.")
    _figures(view, run)
    st.subheader("All estimates")
    _table(view.summary())
    if view.decision and segment is None and look is None:
        with st.expander("The run's decision on this metric (plan's prior, all units)"):
            st.write(view.decision.get("text", ""))


main()
