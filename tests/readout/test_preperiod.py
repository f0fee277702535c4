"""Pre-period bias check (issue 24): SMD, Welch p-value and the posterior of the imbalance of a
covariate between arms, from the readout's own scan; flag, blocker, report line, JSON."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bayeslab.readout.contract import readout_from_dict
from bayeslab.readout.fitters import MetricSpec, fit_metric
from bayeslab.readout.metric import _readout, compare
from bayeslab.readout.preperiod import (
    FLAG_P,
    FLAG_P_WITH_SMD,
    LARGE_P,
    LARGE_SMD,
    SMD_THRESHOLD,
    imbalance,
    preperiod_of,
)
from bayeslab.report.build import readout_section
from tests.revenue_data import revenue_frame

TAU = 2.0     # true effect of the treatment on the outcome


def imbalanced_frame(n=6000, seed=3, shift=0.35):
    """Treated units were picked with a higher pre-period spend (a broken assignment)."""
    rng = np.random.default_rng(seed)
    d = rng.integers(0, 2, n)
    x = rng.gamma(2.0, 20.0, n) * (1 + shift * d)
    y = 5 + 0.8 * x + TAU * d + rng.normal(0, 8, n)
    return pd.DataFrame({"arm": d, "revenue": y, "pre_revenue": x})


def test_numbers_match_scipy_and_the_rows():
    df = revenue_frame(n=3000, arms=3, seed=11)
    r = compare(df, arm="arm", metric="y", kind="continuous", covariate="x")
    pre = r.to_dict()["preperiod"]
    checks = {c["arm"]: c for c in pre["checks"]}
    assert set(checks) == {"1", "2"} and pre["covariate"] == "x" and pre["control"] == "0"
    x0 = df.x[df.arm == 0].to_numpy()
    for arm in ("1", "2"):
        xt = df.x[df.arm == int(arm)].to_numpy()
        sp = np.sqrt((x0.var(ddof=1) + xt.var(ddof=1)) / 2)
        assert checks[arm]["smd"] == pytest.approx((xt.mean() - x0.mean()) / sp, rel=1e-10)
        ref = sps.ttest_ind(xt, x0, equal_var=False)
        assert checks[arm]["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    worst = max(checks.values(), key=lambda c: abs(c["smd"]))
    assert pre["smd"] == worst["smd"] and pre["arm"] == worst["arm"]


@pytest.mark.parametrize("seed", range(5))
def test_welch_p_value_against_ttest_ind_from_stats(seed):
    rng = np.random.default_rng(seed)
    n_c, n_t = rng.integers(5, 5000, 2)
    m_c, m_t = rng.normal(50, 3, 2)
    v_c, v_t = rng.gamma(2, 100, 2)
    got = imbalance(n_c, m_c, v_c, n_t, m_t, v_t)
    ref = sps.ttest_ind_from_stats(m_t, np.sqrt(v_t), n_t, m_c, np.sqrt(v_c), n_c,
                                   equal_var=False)
    assert float(got["p_value"]) == pytest.approx(ref.pvalue, rel=1e-10, abs=1e-300)
    assert float(got["t"]) == pytest.approx(ref.statistic, rel=1e-10)
    assert float(got["smd"]) == pytest.approx((m_t - m_c) / np.sqrt((v_c + v_t) / 2), rel=1e-12)
    assert float(got["prob_imbalance"] + got["prob_balanced"]) == pytest.approx(1, abs=1e-12)


def test_prob_near_one_keeps_its_complement():
    """Far out, P(|SMD| <= 0.1) is the t tail between the two cuts, not 1 - 1 = 0."""
    got = imbalance(5000, 0.0, 1.0, 5000, 0.4, 1.0)
    se, df = np.sqrt(2 / 5000), 9998.0
    ref = sps.t.cdf((0.1 - 0.4) / se, df) - sps.t.cdf((-0.1 - 0.4) / se, df)
    assert 0 < ref < 1e-40
    assert float(got["prob_balanced"]) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("n_c, n_t, d", [(150, 300, 0.12), (1000, 1000, 0.08), (60, 40, 0.3)])
def test_prob_imbalance_against_the_exact_jeffreys_posterior(n_c, n_t, d):
    """Monte Carlo of the exact Behrens-Fisher posterior: per arm sigma^2 ~ scaled inv-chi2,
    mu | sigma^2 ~ N(mean, sigma^2 / n) (Jeffreys prior 1/sigma^2); the t approximation
    must agree to 0.01 (Monte Carlo sd 0.0008 with 400,000 draws)."""
    rng = np.random.default_rng(0)
    m_c, v_c, m_t, v_t = 10.0, 4.0, 10.0 + 2.0 * d, 3.0
    got = imbalance(n_c, m_c, v_c, n_t, m_t, v_t)
    draws = 400_000
    mus = []
    for n, m, v in ((n_c, m_c, v_c), (n_t, m_t, v_t)):
        sig2 = (n - 1) * v / rng.chisquare(n - 1, draws)
        mus.append(m + np.sqrt(sig2 / n) * rng.standard_normal(draws))
    delta = mus[1] - mus[0]
    sp = np.sqrt((v_c + v_t) / 2)
    exact = np.mean(np.abs(delta) / sp > SMD_THRESHOLD)
    assert float(got["prob_imbalance"]) == pytest.approx(exact, abs=0.01)
    lo, hi = np.quantile(delta / sp, [0.025, 0.975])
    assert float(got["smd_lower"]) == pytest.approx(lo, abs=0.02)
    assert float(got["smd_upper"]) == pytest.approx(hi, abs=0.02)


def test_imbalanced_experiment_is_flagged_and_the_adjustment_corrects_it():
    df = imbalanced_frame()
    r = compare(df, arm="arm", metric="revenue", kind="continuous", covariate="pre_revenue")
    pre = r.to_dict()["preperiod"]
    assert pre["flagged"] and pre["large"] and pre["smd"] > LARGE_SMD
    assert pre["text"].startswith("pre-period pre_revenue differs between arms: SMD +0.")
    assert "the CUPED/regression-adjusted estimates correct for it" in pre["text"]
    assert "the unadjusted difference is biased" in pre["text"]
    assert pre["text"] in r.warnings and pre["text"] in r.to_dict()["warnings"]
    # the headline is the adjusted one: it decides, and covers the truth ...
    assert r.headline[:2] == ("bayes-regression", "ancova-hc")
    assert r.decision.verdict != "blocked" and not r.decision.blockers
    est = {(e.side, e.method): e for e in r.estimates() if e.effect == "absolute"}
    for key in (("bayes", "bayes-regression"), ("frequentist", "ancova-hc"),
                ("frequentist", "cuped")):
        assert est[key].lower < TAU < est[key].upper, key
    # ... while the plain difference of means is biased by slope * imbalance (0.8 * ~14)
    welch = est[("frequentist", "welch")]
    assert welch.lower > TAU + 5
    bias = 0.8 * (pre["means"][1] - pre["means"][0])
    assert welch.estimate - TAU == pytest.approx(bias, abs=4 * (welch.upper - welch.lower) / 3.92)


def test_unadjusted_headline_is_blocked_under_a_large_imbalance():
    """A covariate metric's headline is adjusted; one read by plain means is blocked."""
    df = imbalanced_frame()
    fit = fit_metric(df_source(df), MetricSpec(metric="revenue", kind="continuous",
                                               covariate="pre_revenue"))
    plain = replace(fit, headline=("bayes-normal", "welch", "absolute"))
    rule = compare(df, arm="arm", metric="revenue", kind="continuous",
                   covariate="pre_revenue").rule
    blocked = _readout(plain, "primary", rule, None)
    assert blocked.decision.verdict == "blocked"
    assert blocked.decision.blockers[-1].startswith("pre-period imbalance: pre-period "
                                                    "pre_revenue differs")
    assert "(bayes-normal, welch) compares unadjusted means" in blocked.decision.blockers[-1]
    assert blocked.decision.reasons[0].startswith("No decision: pre-period imbalance")
    # a small imbalance (flagged or not) leaves the unadjusted headline alone
    clean = fit_metric(df_source(revenue_frame(seed=2)), MetricSpec(metric="y", kind="continuous",
                                                                    covariate="x"))
    ok = _readout(replace(clean, headline=("bayes-normal", "welch", "absolute")), "primary",
                  rule, None)
    assert not clean.extra["preperiod"].large and ok.decision.verdict != "blocked"


def df_source(df):
    from bayeslab.data.sources import open_source

    return open_source(df)


def test_clean_experiment_is_balanced_and_says_so():
    r = compare(revenue_frame(seed=2), arm="arm", metric="y", kind="continuous", covariate="x")
    pre = r.to_dict()["preperiod"]
    assert not pre["flagged"] and not pre["large"]
    assert pre["text"].startswith("pre-period x is balanced between arms: SMD ")
    assert not any("pre-period" in w for w in r.warnings)


def flag_rate_closed_form(n_c, n_t):
    """P(flagged) of a clean experiment under the normal approximation (module docstring)."""
    s = np.sqrt(1 / n_c + 1 / n_t)
    z_p = sps.norm.isf(FLAG_P / 2)
    z_smd = sps.norm.isf(FLAG_P_WITH_SMD / 2)
    return 2 * sps.norm.sf(max(z_smd, min(z_p, SMD_THRESHOLD / s)))


def test_aa_flag_rate_of_large_clean_experiments():
    """2,000 simulated A/A experiments of 5,000 skewed (gamma) units per arm, from their rows
    reduced to sufficient statistics: at most the stated 0.1 % flagged (expected 2; 8 or more
    has probability 1e-4 under 0.1 %), none large."""
    rng = np.random.default_rng(2024)
    n, sims = 5000, 2000
    flagged = large = 0
    for _ in range(sims // 200):
        x = rng.gamma(1.5, 30, size=(200, 2, n))
        mean, var = x.mean(axis=2), x.var(axis=2, ddof=1)
        r = imbalance(n, mean[:, 0], var[:, 0], n, mean[:, 1], var[:, 1])
        flagged += int(r["flagged"].sum())
        large += int(r["large"].sum())
    assert flag_rate_closed_form(n, n) == pytest.approx(FLAG_P, rel=1e-9)
    assert flagged < 8 and large == 0


@pytest.mark.parametrize("n", [100, 200, 1000, 3000])
def test_aa_flag_rate_matches_the_stated_formula(n):
    """200,000 A/A experiments drawn as sufficient statistics (normal covariate: the mean is
    normal and (n-1) s^2 / sigma^2 chi-square, independent): the flag rate is the stated
    closed form within 4 binomial sd (and at most 5 %), the large rate at most 0.1 %."""
    rng = np.random.default_rng(n)
    sims = 200_000
    mean = rng.normal(0, 1 / np.sqrt(n), size=(sims, 2))
    var = rng.chisquare(n - 1, size=(sims, 2)) / (n - 1)
    r = imbalance(n, mean[:, 0], var[:, 0], n, mean[:, 1], var[:, 1])
    want = flag_rate_closed_form(n, n)
    assert want <= FLAG_P_WITH_SMD + 1e-12
    assert r["flagged"].mean() == pytest.approx(want, abs=4 * np.sqrt(want * (1 - want) / sims)
                                                + 0.002)
    assert r["large"].mean() <= FLAG_P + 4 * np.sqrt(FLAG_P / sims)
    if n >= 1000:
        assert r["large"].mean() <= 10 * LARGE_P + 3 / sims


def test_json_round_trip_and_the_report_line():
    df = imbalanced_frame()
    r = compare(df, arm="arm", metric="revenue", kind="continuous", covariate="pre_revenue")
    d = json.loads(json.dumps(r.to_dict()))
    want = {"covariate", "smd", "p_value", "prob_imbalance", "flagged", "large", "text"}
    assert want <= set(d["preperiod"])
    saved = readout_from_dict(d)
    assert preperiod_of(saved) == d["preperiod"] == preperiod_of(r)
    assert saved.to_dict()["preperiod"] == d["preperiod"]
    for readout in (r, saved):
        lines = [p for p in readout_section(readout, figures=False).paragraphs
                 if p.startswith("Pre-period check: ")]
        assert lines == ["Pre-period check: " + d["preperiod"]["text"]]
    # a metric without a covariate has no check
    plain = compare(df, arm="arm", metric="revenue", kind="continuous")
    assert "preperiod" not in plain.to_dict() and preperiod_of(plain) is None
    assert not any(p.startswith("Pre-period") for p in
                   readout_section(plain, figures=False).paragraphs)


def test_several_covariates_each_checked_from_the_same_scan():
    df = imbalanced_frame()
    df["tenure"] = np.random.default_rng(5).gamma(3, 2, len(df))
    r = compare(df, arm="arm", metric="revenue", kind="continuous",
                covariate="pre_revenue,tenure")
    pre = r.to_dict()["preperiod"]
    by = {c["covariate"]: c for c in pre["checks"]}
    assert pre["covariate"] == "pre_revenue" and pre["large"]
    x0, x1 = (df.tenure[df.arm == a] for a in (0, 1))
    ref = sps.ttest_ind(x1, x0, equal_var=False)
    assert by["tenure"]["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    sp = np.sqrt((x0.var() + x1.var()) / 2)
    assert by["tenure"]["smd"] == pytest.approx((x1.mean() - x0.mean()) / sp, rel=1e-9)


def test_thresholds_are_ordered():
    assert LARGE_P < FLAG_P < FLAG_P_WITH_SMD and SMD_THRESHOLD < LARGE_SMD
