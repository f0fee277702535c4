"""The whole rule's operating characteristics against closed forms and independent simulations."""

import json

import numpy as np
import pytest
from scipy import special, stats
from statsmodels.stats.multitest import multipletests

from bayeslab.core.errors import ModelError
from bayeslab.design.plan_oc import (
    MetricDesign,
    PlanDesign,
    _adjust,
    calibrate,
    plan_operating_characteristics,
)


def _prob_greater_exact(a_t, b_t, a_c, b_c):
    """P(p_T > p_C) for Beta posteriors with integer a_t (Evan Miller's closed form)."""
    i = np.arange(int(a_t))
    terms = (special.betaln(a_c + i, b_c + b_t) - np.log(b_t + i) - special.betaln(1 + i, b_t)
             - special.betaln(a_c, b_c))
    return float(np.exp(terms).sum())


def _exact_rates(n, p, threshold, alpha):
    """Single look, flat prior, null: the exact false-ship rate of each side by enumeration."""
    sd = np.sqrt(n * p * (1 - p))
    xs = np.arange(max(0, int(n * p - 10 * sd)), min(n, int(n * p + 10 * sd)) + 1)
    pmf = stats.binom.pmf(xs, n, p)
    bayes = freq = 0.0
    z_crit = special.ndtri(1 - alpha / 2)
    for xc, wc in zip(xs, pmf, strict=True):
        for xt, wt in zip(xs, pmf, strict=True):
            if xt <= xc:
                continue
            if _prob_greater_exact(1 + xt, 1 + n - xt, 1 + xc, 1 + n - xc) >= threshold:
                bayes += wc * wt
            pool = (xc + xt) / (2 * n)
            if (xt - xc) / n / np.sqrt(pool * (1 - pool) * 2 / n) > z_crit:
                freq += wc * wt
    return bayes, freq


def test_single_look_single_metric_equals_the_closed_form():
    n, p = 400, 0.1
    design = PlanDesign(metrics=(MetricDesign("y", "primary", "conversion", p),),
                        looks=np.array([[n, n]]), arms=("c", "t"), prob_threshold=0.975,
                        loss_threshold=1.0, alpha=0.05)
    oc = plan_operating_characteristics(design, n_sims=40_000, seed=3)
    bayes, freq = _exact_rates(n, p, 0.975, 0.05)
    for side, exact in (("bayes", bayes), ("frequentist", freq)):
        got = oc[side].false_ship_rate
        assert abs(got - exact) < 3 * oc[side].mc_se["false_ship_rate"], (side, got, exact)
        assert oc[side].n_sims == 40_000
    assert abs(freq - 0.025) < 0.004          # the one-sided alpha, up to discreteness


def test_twenty_looks_of_the_seed_rule_match_the_stopping_rule_figure():
    from bayeslab.sequential.operating import rule_false_positive_rate
    from bayeslab.sequential.rules import ProbPositive

    looks = np.outer(np.arange(1, 21), [500, 500])
    design = PlanDesign(metrics=(MetricDesign("y", "primary", "conversion", 0.1),),
                        looks=looks, arms=("c", "t"), prob_threshold=0.95, loss_threshold=1.0,
                        success=0.95, futility=None)
    oc = plan_operating_characteristics(design, n_sims=10_000, seed=1)
    ref = rule_false_positive_rate(ProbPositive(success=0.95, futility=None),
                                   np.arange(1, 21) * 500, baseline=0.1, n_sims=10_000, seed=2)
    se = np.hypot(oc["bayes"].mc_se["false_ship_rate"], ref.mc_se)
    assert abs(oc["bayes"].false_ship_rate - ref.rate) < 3 * se
    assert 0.18 < oc["bayes"].false_ship_rate < 0.26          # the seed rule's ~21.7 %
    assert oc["bayes"].expected_n_null < looks[-1].sum()        # some stop early


def _five_by_three(correction):
    metrics = (MetricDesign("conv", "primary", "conversion", 0.1),
               MetricDesign("rev", "secondary", "continuous", 10.0, sd=20.0),
               MetricDesign("clicks", "secondary", "conversion", 0.3),
               MetricDesign("time", "secondary", "continuous", 100.0, sd=50.0),
               MetricDesign("unsub", "guardrail", "conversion", 0.01, margin=0.005))
    return PlanDesign(metrics=metrics, looks=np.array([[5000] * 4]),
                      arms=("control", "a", "b", "c"), correction=correction,
                      scope=("variants", "metrics"))


def test_holm_over_variants_and_metrics_keeps_the_family_wise_rate():
    holm = plan_operating_characteristics(_five_by_three("holm"), n_sims=10_000, seed=5)
    none = plan_operating_characteristics(_five_by_three("none"), n_sims=10_000, seed=5)
    f = holm["frequentist"]
    assert f.family_wise_rate <= 0.05 + 3 * f.mc_se["family_wise_rate"]
    assert f.false_ship_rate <= f.family_wise_rate
    # uncorrected: 12 one-sided claims at 2.5 % each, three variants sharing one control
    assert none["frequentist"].family_wise_rate > 0.2
    assert none["frequentist"].family_wise_rate > 3 * f.family_wise_rate
    d = none.to_dict()
    assert d["plan"]["variants"] == 3 and len(d["plan"]["metrics"]) == 5
    assert {"false_ship_rate", "power", "expected_n", "mc_se", "n_sims"} <= set(d["combined"])


def test_target_false_ship_is_met_when_re_simulated():
    looks = np.outer(np.arange(1, 6), [2000, 2000])
    design = PlanDesign(metrics=(MetricDesign("y", "primary", "conversion", 0.1),),
                        looks=looks, arms=("c", "t"), success=0.95, futility=0.1)
    cal = calibrate(design, 0.05, n_sims=8000, seed=11)
    for side in ("bayes", "frequentist"):
        got = cal.check[side]
        assert abs(got.false_ship_rate - 0.05) < 3.5 * got.mc_se["false_ship_rate"], side
    assert 0.95 < cal.prob_threshold < 0.999
    assert "Calibrated to a false-ship rate of 5.0%" in cal.sentence()
    json.dumps(cal.to_dict(), allow_nan=False)


@pytest.mark.parametrize("method, sm", [("holm", "holm"), ("bh", "fdr_bh"),
                                        ("bonferroni", "bonferroni")])
def test_adjustments_equal_statsmodels(method, sm, monkeypatch):
    import gc

    # statsmodels' Holm calls gc.collect() on every call: 50 full collections of this worker's
    # heap took 15-50 s; a collection changes no number
    monkeypatch.setattr(gc, "collect", lambda generation=2: 0)
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.2, (50, 7))
    got = _adjust(p, method)
    want = np.array([multipletests(row, method=sm)[1] for row in p])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_power_and_expected_n_under_the_mde():
    design = PlanDesign(metrics=(MetricDesign("y", "primary", "continuous", 10.0, sd=5.0),),
                        looks=np.array([[2000, 2000]]), arms=("c", "t"))
    oc = plan_operating_characteristics(design, n_sims=10_000, seed=2)
    # the default MDE is the 80 %-power effect of the single-look z-test: power 0.80
    assert abs(oc["frequentist"].power - 0.80) < 3 * oc["frequentist"].mc_se["power"] + 0.005
    assert oc.mde == pytest.approx(design.default_mde())
    assert oc["combined"].expected_n == 4000


@pytest.mark.parametrize("bad, match", [
    (dict(correction="sidak"), "correction must be one of"),
    (dict(scope=("arms",)), "scope must be among"),
    (dict(alpha=0.0), "alpha must be in"),
])
def test_bad_designs_are_one_line(bad, match):
    kw = dict(metrics=(MetricDesign("y", "primary", "conversion", 0.1),),
              looks=np.array([[100, 100]]), arms=("c", "t"))
    with pytest.raises(ModelError, match=match):
        PlanDesign(**{**kw, **bad})


def test_a_guardrail_needs_a_margin():
    with pytest.raises(ModelError, match="needs a positive margin"):
        MetricDesign("g", "guardrail", "conversion", 0.01)
