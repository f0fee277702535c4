"""Pure functions behind ``bayeslab app``: reading a run folder and reading it out again.

References are independent of the saved file: per-arm counts are taken with pandas from the
unit rows the plan reads, and fitted directly with ``BetaBinomial`` / ``TwoProportionZTest``.
Both are deterministic closed forms (numerical integration, no Monte Carlo), so the app's
recomputation from the saved counts must agree to rounding error (rtol 1e-12).
"""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from bayeslab.app import data as D
from bayeslab.bayes.conversion import BetaBinomial
from bayeslab.core.errors import DataError, ModelError
from bayeslab.frequentist.conversion import TwoProportionZTest

from .conftest import PRIMARY, SEGMENTS

RTOL = 1e-12


def counts(frame, metric):
    g = frame.groupby("treatment")[metric].agg(["size", "sum"]).loc[[0, 1]]
    return g["size"].to_numpy(), g["sum"].to_numpy()


def assert_same_posterior(post, ref):
    np.testing.assert_array_equal(post.n, ref.n)
    np.testing.assert_array_equal(post.conversions, ref.conversions)
    assert post.prior == ref.prior
    a, b = post.comparisons[0], ref.comparisons[0]
    for name in ("abs_diff", "abs_lower", "abs_upper", "rel_lift", "rel_lower", "rel_upper",
                 "prob_positive", "prob_negative", "expected_loss", "expected_loss_rel"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=RTOL, atol=1e-300,
                                   err_msg=name)


def test_lists(run_dir):
    run = D.load_run(run_dir)
    assert D.list_metrics(run) == [PRIMARY, "unsubscribe_flag", "optout_flag", "revenue_60d"]
    assert D.list_looks(run, PRIMARY) == [f"{k},000 rows" for k in (10, 20, 30, 40, 50)]
    assert D.list_looks(run, "optout_flag") == []
    assert D.list_segments(run, PRIMARY) == [f"{p} x {s}" for p in (0, 1)
                                             for s in ("S1_low", "S2_mid", "S3_high", "S4_vhigh")]
    assert D.list_segments(run, "optout_flag") == []
    assert D.saved_prior(run, PRIMARY) == (1.0, 1.0)
    assert D.saved_prior(run, "revenue_60d") is None
    assert {p.name for p in run.figures()} >= {"sequential_path.png"}


def test_saved_stats_are_the_counts(run_dir, plan_data):
    """The writer's stats block holds whole-number conversions per arm (guardrails too)."""
    run = D.load_run(run_dir)
    for metric in (PRIMARY, "unsubscribe_flag", "optout_flag"):
        stats = D.metric_entry(run, metric)["stats"]
        n, x = counts(plan_data, metric)
        assert stats["arms"] == ["0", "1"] and stats["kind"] == "binary"
        assert stats["n"] == n.tolist() and stats["sum"] == x.tolist()
        assert all(isinstance(v, int) for v in stats["sum"])
    rev = D.metric_entry(run, "revenue_60d")["stats"]
    np.testing.assert_allclose(rev["sum"], plan_data.groupby("treatment")["revenue_60d"].sum()
                               .loc[[0, 1]], rtol=1e-12)


def test_plan_prior_reproduces_saved_results(run_dir):
    run = D.load_run(run_dir)
    for metric in (PRIMARY, "optout_flag"):
        view = D.metric_view(run, metric)
        assert view.recomputed and view.prior_text == "Beta(1, 1), the plan's prior"
        # population entries of the conversion models (segment models are not recomputed)
        saved = [d for d in D.metric_entry(run, metric)["results"] if "segment" not in d
                 and d["method"] in ("beta-binomial", "z-test", "newcombe", "log-ratio")]
        got = [e.to_dict() for e in view.estimates]
        assert [(d["side"], d["method"], d["effect"]) for d in got] == \
            [(d["side"], d["method"], d["effect"]) for d in saved]
        for g, s in zip(got, saved, strict=True):
            for key in ("estimate", "lower", "upper", "p_value", "prob_positive"):
                if s.get(key) is not None:
                    np.testing.assert_allclose(g[key], s[key], rtol=1e-12, err_msg=key)


def test_new_prior_equals_direct_fit(run_dir, plan_data):
    run = D.load_run(run_dir)
    n, x = counts(plan_data, PRIMARY)
    view = D.metric_view(run, PRIMARY, prior=(50, 200))
    ref = BetaBinomial(50, 200).fit_counts(n, x, arms=("0", "1"))
    assert_same_posterior(view.bayes, ref)
    assert view.prior_text == "Beta(50, 200), chosen here (the plan used Beta(1, 1))"
    # the prior pulls the lift towards 0: both arms shrink towards the prior mean 0.2
    assert view.bayes.comparisons[0].abs_diff < D.metric_view(run, PRIMARY).bayes \
        .comparisons[0].abs_diff
    freq = TwoProportionZTest().fit_counts(n, x)
    c = view.frequentist.comparisons[0]
    np.testing.assert_allclose([c.diff, c.p_value, c.wald_lower, c.newcombe_upper],
                               [freq.comparisons[0].diff, freq.comparisons[0].p_value,
                                freq.comparisons[0].wald_lower,
                                freq.comparisons[0].newcombe_upper], rtol=RTOL)


def test_look_counts_and_posterior(run_dir, plan_data):
    """Look 1 holds the first 10,000 rows (looks are cumulative rows in row order)."""
    run = D.load_run(run_dir)
    n, x = counts(plan_data.iloc[:10_000], PRIMARY)
    view = D.metric_view(run, PRIMARY, look="10,000 rows")
    np.testing.assert_array_equal(view.counts.n, n)
    np.testing.assert_array_equal(view.counts.sums, x)
    row = view.monitor_row
    np.testing.assert_allclose([view.bayes.comparisons[0].prob_positive,
                                view.bayes.comparisons[0].abs_lower,
                                view.bayes.comparisons[0].abs_upper],
                               [row["prob_positive"], row["lift_lower"], row["lift_upper"]],
                               rtol=1e-9)
    new = D.metric_view(run, PRIMARY, look="10,000 rows", prior=(2, 8))
    assert_same_posterior(new.bayes, BetaBinomial(2, 8).fit_counts(n, x, arms=("0", "1")))
    last = D.metric_view(run, PRIMARY, look="50,000 rows")
    np.testing.assert_array_equal(last.counts.n, D.metric_view(run, PRIMARY).counts.n)


def test_segment_counts_and_posterior(segment_run_dir, plan_data):
    run = D.load_run(segment_run_dir)
    labels = D.list_segments(run, PRIMARY)
    cells = plan_data.groupby(list(SEGMENTS)).size()
    assert len(labels) == len(cells) == 8
    assert "1 x S3_high" in labels
    sub = plan_data[(plan_data["ps_plus_member"] == 1) & (plan_data["spend_tier"] == "S3_high")]
    n, x = counts(sub, PRIMARY)
    view = D.metric_view(run, PRIMARY, segment="1 x S3_high", prior=(3, 12))
    assert view.counts.source == "segment 1 x S3_high"
    assert_same_posterior(view.bayes, BetaBinomial(3, 12).fit_counts(n, x, arms=("0", "1")))
    whole = D.metric_view(run, PRIMARY)
    np.testing.assert_array_equal(whole.counts.n, counts(plan_data, PRIMARY)[0])


def test_other_kinds_show_saved_results(run_dir):
    run = D.load_run(run_dir)
    view = D.metric_view(run, "revenue_60d")
    assert not view.recomputed and view.bayes is None and view.prior is None
    saved = D.metric_entry(run, "revenue_60d")["results"]
    assert [e.to_dict() for e in view.estimates] == saved
    assert view.prior_text.startswith("the run's prior (")
    assert D.rate_densities(view).empty and D.lift_density(view).empty
    with pytest.raises(DataError, match="conversion metrics only"):
        D.metric_view(run, "revenue_60d", prior=(1, 1))


def test_errors(run_dir, tmp_path):
    run = D.load_run(run_dir)
    with pytest.raises(DataError, match="metric 'nope' is not in this run; it has ps5_"):
        D.metric_view(run, "nope")
    with pytest.raises(DataError, match="look '3 rows' is not in this run"):
        D.metric_view(run, PRIMARY, look="3 rows")
    with pytest.raises(DataError, match="no monitor followed it"):
        D.metric_view(run, "optout_flag", look="10,000 rows")
    with pytest.raises(DataError, match="no segment counts saved"):
        D.metric_view(run, "optout_flag", segment="S1_low")
    with pytest.raises(DataError, match="segment 'S1_low' is not in this run"):
        D.metric_view(run, PRIMARY, segment="S1_low")
    with pytest.raises(DataError, match="not both"):
        D.metric_view(run, PRIMARY, segment="S1_low", look="10,000 rows")
    with pytest.raises(ModelError, match="prior alpha must be a positive number"):
        D.metric_view(run, PRIMARY, prior=(0, 1))
    with pytest.raises(DataError, match="not found"):
        D.load_run(tmp_path / "missing")
    with pytest.raises(DataError, match="has no readout.json"):
        D.load_run(tmp_path)
    (tmp_path / "readout.json").write_text("{ not json")
    with pytest.raises(DataError, match="not valid JSON"):
        D.load_run(tmp_path)
    (tmp_path / "readout.json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(DataError, match="no 'metrics' list"):
        D.load_run(tmp_path)


def test_densities_integrate_to_one(run_dir):
    view = D.metric_view(D.load_run(run_dir), PRIMARY, look="10,000 rows", prior=(2, 8))
    dens = D.rate_densities(view)
    for arm in ("0", "1"):
        # the grid spans the 1e-4 .. 1 - 1e-4 quantiles of every arm: mass >= 0.9998
        np.testing.assert_allclose(np.trapezoid(dens[arm], dens["x"]), 1.0, atol=3e-4)
    lift = D.lift_density(view)
    # the grid spans the 95% interval widened by 0.6 widths on each side (about +/-4.3 sd)
    np.testing.assert_allclose(np.trapezoid(lift["density"], lift["x"]), 1.0, atol=1e-3)
    mode = lift["x"][lift["density"].idxmax()]
    assert abs(mode - view.bayes.comparisons[0].abs_diff) < 2 * (lift["x"][1] - lift["x"][0])


def test_import_is_light():
    code = ("import sys, bayeslab.app, bayeslab.app.data; "
            "bad = [m for m in ('streamlit', 'pymc', 'matplotlib') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_methods_and_headline(run_dir):
    from bayeslab.core.estimates import Estimate

    view = D.metric_view(D.load_run(run_dir), PRIMARY)
    assert view.methods("bayes") == ["beta-binomial"]
    assert view.methods("frequentist") == ["z-test", "newcombe", "log-ratio"]
    assert view.headline("frequentist").method == "z-test"
    assert view.headline("bayes", "relative").effect == "relative"
    # a method without the asked scale falls back to its first estimate
    assert view.headline("frequentist", method="log-ratio").effect == "relative"
    # a naive (unadjusted) estimate is never the default headline
    est = [Estimate("frequentist", "naive", "absolute", 0.09, 0.07, 0.11,
                    extra={"estimand": "unadjusted"}),
           Estimate("frequentist", "aipw", "absolute", 0.025, 0.006, 0.044,
                    extra={"estimand": "att"}),
           Estimate("bayes", "bayes-piecewise-exponential", "hazard-ratio", 0.87, 0.8, 0.95)]
    fake = dataclasses.replace(view, estimates=est)
    assert fake.methods("frequentist") == ["aipw", "naive"]
    assert fake.headline("frequentist").method == "aipw"
    assert fake.headline("bayes").effect == "hazard-ratio"
