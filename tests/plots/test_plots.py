"""Figures of bayeslab.plots: each returns a Figure with the expected panels and never shows."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bayeslab.plots import plot_monitor
from bayeslab.readout.monitor import monitor


def result():
    rng = np.random.default_rng(0)
    n = 8_000
    ts = pd.Timestamp("2024-03-01") + pd.to_timedelta(np.sort(rng.uniform(0, 6, n)), unit="D")
    arm = rng.integers(0, 2, n)
    y = (rng.random(n) < np.where(arm == 1, 0.13, 0.10)).astype(int)
    return monitor(pd.DataFrame({"ts": ts, "arm": arm, "y": y}), arm="arm", metric="y",
                   timestamp="ts", fpr_sims=300)


def test_plot_monitor_draws_paths_boundaries_and_stops():
    res = result()
    fig = plot_monitor(res)
    ax_p, ax_z = fig.axes
    p, q = res.table["prob_positive"], res.table["prob_negative"]
    # the probability panel is on the log-odds scale: movement near 1 shows
    assert np.allclose(ax_p.lines[0].get_ydata(), np.log(p) - np.log(q))
    assert np.allclose(ax_z.lines[0].get_ydata(), res.table["z"])
    assert np.allclose(ax_z.lines[1].get_ydata(), res.table["upper"])
    labels = [t.get_text() for t in ax_p.get_legend().get_texts()]
    assert "success 0.95" in labels
    assert any("stops" in lab for lab in labels) == (res.rules[0].stop_look is not None)
    assert "false-positive rate" in ax_p.get_title()
    plt.close(fig)


def test_plot_monitor_on_one_axes():
    res = result()
    fig, ax = plt.subplots()
    assert plot_monitor(res, ax=ax) is fig
    assert len(fig.axes) == 1
    plt.close(fig)


# ----------------------------------------------------------------------------- conversion
from scipy import integrate, stats  # noqa: E402

from bayeslab import plots  # noqa: E402
from bayeslab.bayes.conversion import BetaBinomial  # noqa: E402
from bayeslab.core.estimates import Estimate  # noqa: E402
from bayeslab.frequentist.conversion import TwoProportionZTest  # noqa: E402


def _no_show(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("plots must never call plt.show()")

    monkeypatch.setattr(plt, "show", boom)


def test_beta_posteriors_one_curve_per_arm(monkeypatch):
    _no_show(monkeypatch)
    post = BetaBinomial().fit_counts([400, 400, 400], [3, 9, 6], arms=["A", "B", "C"])
    fig = plots.plot_beta_posteriors(post)
    (ax,) = fig.axes
    assert len(ax.lines) == 3
    x, y = ax.lines[1].get_data()
    assert np.allclose(y, stats.beta.pdf(x, 10, 392))          # Beta(1 + 9, 1 + 391)
    assert "posterior" in ax.get_title().lower() and "Beta(1, 1)" in ax.get_title()
    assert [t.get_text().split(":")[0] for t in ax.get_legend().get_texts()] == ["A", "B", "C"]
    fig2, ax2 = plt.subplots()
    assert post.plot(ax=ax2) is fig2
    plt.close("all")


def test_conversion_lift_density_is_exact_and_marks_decision(monkeypatch):
    """The curve is the exact convolution density: it integrates to 1 - 2e-4 (the grid spans
    the 1e-4 and 1 - 1e-4 quantiles) and matches adaptive quadrature pointwise to 1e-8."""
    _no_show(monkeypatch)
    post = BetaBinomial().fit_counts([2000, 2000], [40, 58])
    fig = plots.plot_conversion_lift(post)
    (ax,) = fig.axes
    x, y = ax.lines[0].get_data()
    assert np.trapezoid(y, x) == pytest.approx(1 - 2e-4, abs=2e-5)
    a_t, b_t, a_c, b_c = 59, 1943, 41, 1961
    for i in range(0, len(x), 80):
        d = x[i]
        ref = integrate.quad(lambda p, d=d: stats.beta.pdf(p, a_c, b_c) *
                             stats.beta.pdf(p + d, a_t, b_t), max(0, -d), min(1, 1 - d),
                             epsabs=1e-13, epsrel=1e-11, limit=200)[0]
        assert y[i] == pytest.approx(ref, rel=1e-8, abs=1e-10)
    c = post.comparison()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"P(lift > 0 pp) = {c.prob_positive:.4f}" in labels
    assert any(lab.startswith("95% interval") for lab in labels)
    assert ax.lines[1].get_xdata()[0] == 0.0                     # threshold line
    fig = plots.plot_conversion_lift(post, threshold=0.005)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"P(lift > +0.500 pp) = {post.prob_lift_above(0.005):.4f}" in labels
    plt.close("all")


def test_interval_comparison_rows_and_frequentist_plot(monkeypatch):
    _no_show(monkeypatch)
    e = [Estimate("bayes", "m1", "absolute", 0.1, 0.0, 0.2),
         Estimate("frequentist", "t", "absolute", 0.12, 0.01, 0.22, arm="B"),
         Estimate("bayes", "h", "absolute", 0.3, 0.1, 0.5, arm="B", segment="s1"),
         Estimate("frequentist", "t", "absolute", 0.35, 0.1, 0.6, arm="B", segment="s1"),
         Estimate("bayes", "m1", "relative", 0.5, 0.0, 1.0)]
    fig = plots.plot_interval_comparison(e)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["population", "s1"]
    assert len(ax.collections) == 2 * 3                         # hlines + markers per method
    assert ax.get_title() == "absolute effect, Bayesian vs frequentist intervals"
    assert "metric units" in ax.get_xlabel()
    hr = [Estimate("bayes", "pwe", "hazard-ratio", 0.9, 0.8, 1.01)]
    fig = plots.plot_interval_comparison(hr, effect="hazard-ratio")
    assert fig.axes[0].lines[0].get_xdata()[0] == 1.0            # no-effect line of a ratio
    fig = TwoProportionZTest().fit(_stats([2000, 2000], [40, 58])).plot()
    methods = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert methods == ["frequentist: z-test", "frequentist: newcombe"]
    plt.close("all")


def _stats(n, x):
    from bayeslab.data.sources import open_source
    from bayeslab.data.stats import sufficient_stats

    frame = pd.DataFrame({"arm": ["0", "1"], "n": n, "y": x})
    return sufficient_stats(open_source(frame), arm="arm", metric="y", n="n", control="0")
