"""Posterior stopping rules: decisions against the scalar kernels and closed forms, composition,
dict form, and the simulated false-positive rate against a brute-force per-user simulation."""

import math
import random

import numpy as np
import pytest
from scipy import integrate, stats

from bayeslab.core.errors import ModelError
from bayeslab.kernels import beta as K
from bayeslab.sequential.operating import (
    CONTINUE,
    FUTILITY,
    HARM,
    SUCCESS,
    rule_false_positive_rate,
    simulate,
)
from bayeslab.sequential.posteriors import (
    expected_losses,
    lift_interval,
    look_stats,
    prob_positive,
)
from bayeslab.sequential.rules import (
    AllOf,
    AnyOf,
    ExpectedLoss,
    Precision,
    ProbPositive,
    Rope,
    parse_rule,
    rule_from_dict,
)


def binary_looks(size=400, n=2_000, seed=0):
    """Many experiments at one look with rates near 0.10 (a spread of P(lift > 0))."""
    rng = np.random.default_rng(seed)
    x_c = rng.binomial(n, 0.10, size)
    x_t = rng.binomial(n, 0.10 + rng.normal(0, 0.01, size).clip(-0.05, 0.05))
    return look_stats(np.full(size, n), x_c, np.full(size, n), x_t)


def test_prob_positive_rule_matches_scalar_kernel_thresholds():
    s = binary_looks()
    p_exact = np.array([K.prob_greater_pair(1 + xt, 1 + n - xt, 1 + xc, 1 + n - xc)[0]
                        for xc, xt, n in zip(s.sum_control, s.sum_treatment, s.n_control,
                                             strict=True)])
    np.testing.assert_allclose(prob_positive(s), p_exact, atol=1e-6)
    expected = np.where(p_exact >= 0.95, SUCCESS, np.where(p_exact <= 0.10, FUTILITY, CONTINUE))
    np.testing.assert_array_equal(ProbPositive()(s), expected)
    assert set(np.unique(expected)) == {SUCCESS, FUTILITY, CONTINUE}  # the test sees all three
    harm = ProbPositive(success=0.95, futility=None, harm=0.95)(s)
    np.testing.assert_array_equal(harm == HARM, 1 - p_exact >= 0.95)


def test_one_look_uses_the_exact_kernel_and_decides():
    one = look_stats(10_000, 1_000, 10_000, 1_090)
    p = K.prob_greater_pair(1_091, 8_911, 1_001, 9_001)[0]
    assert prob_positive(one)[0] == pytest.approx(p, abs=1e-12)
    assert ProbPositive().decide(one) == ("success" if p >= 0.95 else "continue")
    assert ProbPositive(min_n=30_000).decide(one) == "continue"
    with pytest.raises(ModelError, match="one look"):
        ProbPositive().decide(binary_looks(size=3))


def test_expected_loss_rule_binary_and_normal():
    s = binary_looks(size=300)
    ship, keep = expected_losses(s)
    ref = np.array([K.expected_loss(1 + xt, 1 + n - xt, 1 + xc, 1 + n - xc)
                    for xc, xt, n in zip(s.sum_control, s.sum_treatment, s.n_control,
                                         strict=True)])
    np.testing.assert_allclose(ship, ref, rtol=1e-5, atol=1e-10)
    # E[D^+] - E[(-D)^+] = E[D] (posterior means of the Beta posteriors)
    mean = (1 + s.sum_treatment) / (2 + s.n_treatment) - (1 + s.sum_control) / (2 + s.n_control)
    np.testing.assert_allclose(keep - ship, mean, atol=1e-10)
    dec = ExpectedLoss(threshold=0.001)(s)
    np.testing.assert_array_equal(dec == SUCCESS, ship <= 0.001)
    np.testing.assert_array_equal(dec == FUTILITY, (keep <= 0.001) & (ship > 0.001))
    # normal posterior: E[(-D)^+] against numerical integration of N(m, s^2)
    nrm = look_stats(500, 500 * 1.1, 500, 500 * 1.0, sumsq_control=500 * (1.1**2 + 4),
                     sumsq_treatment=500 * (1.0**2 + 4), metric="normal")
    m, sd = nrm.estimate[0], nrm.se[0]
    ref = integrate.quad(lambda d: max(-d, 0) * stats.norm.pdf(d, m, sd), m - 12 * sd,
                         m + 12 * sd, points=[0.0])[0]
    assert expected_losses(nrm)[0][0] == pytest.approx(ref, rel=1e-8)
    with pytest.raises(ModelError, match="conversion metrics only"):
        expected_losses(nrm, relative=True)


def test_normal_posterior_with_prior_is_conjugate():
    """prior N(mu0, sd0^2) on the lift and estimate ~ N(lift, se^2): precision-weighted."""
    nrm = look_stats(400, 400 * 2.0, 400, 400 * 2.3, sumsq_control=400 * (4 + 9),
                     sumsq_treatment=400 * (2.3**2 + 9), metric="normal")
    est, se = nrm.estimate[0], nrm.se[0]
    post_var = 1 / (1 / se**2 + 1 / 0.2**2)
    post_mean = post_var * (est / se**2 + 0.0)
    assert prob_positive(nrm, (0.0, 0.2))[0] == pytest.approx(
        stats.norm.sf(0, post_mean, math.sqrt(post_var)), rel=1e-12)
    lo, hi = lift_interval(nrm, 0.9, (0.0, 0.2))
    assert lo[0] == pytest.approx(stats.norm.ppf(0.05, post_mean, math.sqrt(post_var)))
    assert prob_positive(nrm)[0] == pytest.approx(stats.norm.sf(0, est, se))


def test_rope_and_precision_rules():
    s = binary_looks(size=200, n=20_000)
    lo, hi = lift_interval(s, 0.95)
    below = np.array([K.diff_cdf(-0.004, 1 + xt, 1 + n - xt, 1 + xc, 1 + n - xc)
                      for xc, xt, n in zip(s.sum_control, s.sum_treatment, s.n_control,
                                           strict=True)])
    upto = np.array([K.diff_cdf(0.004, 1 + xt, 1 + n - xt, 1 + xc, 1 + n - xc)
                     for xc, xt, n in zip(s.sum_control, s.sum_treatment, s.n_control,
                                          strict=True)])
    dec = Rope(low=-0.004, high=0.004, mass=0.9)(s)
    np.testing.assert_array_equal(dec == FUTILITY, upto - below >= 0.9)
    np.testing.assert_array_equal(dec == SUCCESS, 1 - upto >= 0.9)
    np.testing.assert_array_equal(dec == HARM, below >= 0.9)
    width = np.median(hi - lo)
    dec = Precision(width=width)(s)
    narrow = hi - lo <= width
    np.testing.assert_array_equal(dec != CONTINUE, narrow)
    np.testing.assert_array_equal(dec == SUCCESS, narrow & (lo > 0))


def test_min_n_and_burn_in_hold_every_rule():
    s = binary_looks(size=50)
    assert (ProbPositive(min_n=10_000)(s) == CONTINUE).all()
    late = look_stats(s.n_control, s.sum_control, s.n_treatment, s.sum_treatment, look=1,
                      n_looks=3)
    assert (ProbPositive(burn_in=2)(late) == CONTINUE).all()
    assert (ProbPositive(burn_in=1)(late) != CONTINUE).any()


def test_any_and_all_compose():
    s = binary_looks(size=300)
    pp = ProbPositive(futility=None)
    el = ExpectedLoss(threshold=0.0005, futility=False)
    fut = ProbPositive(success=None, futility=0.2)
    a, b, c = pp(s), el(s), fut(s)
    np.testing.assert_array_equal((pp & el)(s), np.where((a == SUCCESS) & (b == SUCCESS),
                                                         SUCCESS, CONTINUE))
    np.testing.assert_array_equal((pp | fut)(s), np.where(a != CONTINUE, a, c))
    assert isinstance(pp | fut, AnyOf) and isinstance(pp & el, AllOf)


def test_dict_round_trip_and_parse():
    spec = {"type": "prob_positive", "success": 0.95, "futility": 0.10, "min_n": 1000}
    rule = rule_from_dict(spec)
    assert rule == ProbPositive(success=0.95, futility=0.10, min_n=1000)
    nested = AnyOf(rules=(rule, Rope(low=-0.01, high=0.01, prior=(2, 20))), burn_in=2)
    assert rule_from_dict(nested.to_dict()) == nested
    assert parse_rule("prob:0.95,0.10@1000") == rule
    assert parse_rule("prob:0.99") == ProbPositive(success=0.99, futility=None)
    assert parse_rule("rloss:0.0025") == ExpectedLoss(threshold=0.0025, relative=True)
    assert parse_rule("prob:0.95|rope:-0.01,0.01") == AnyOf(
        rules=(ProbPositive(futility=None), Rope(low=-0.01, high=0.01)))
    assert "P(lift > 0) >= 0.95" in str(rule) and "after 1,000 units" in str(rule)


@pytest.mark.parametrize("spec,match", [
    ({"type": "nope"}, "unknown rule type"),
    ({"success": 0.9}, "a rule is a dict"),
    ({"type": "prob_positive", "sucess": 0.9}, "no field 'sucess'"),
    ({"type": "prob_positive", "success": 1.5}, r"success must be a number in \(0, 1\)"),
    ({"type": "prob_positive", "success": 0.5, "futility": 0.6}, "must be below success"),
    ({"type": "rope", "low": 0.1, "high": -0.1}, "low < high"),
    ({"type": "any", "rules": []}, "needs one or more rules"),
    ({"type": "expected_loss", "threshold": -1}, "positive number"),
    ({"type": "prob_positive", "min_n": -5}, "non-negative integer"),
])
def test_bad_rule_dicts(spec, match):
    with pytest.raises(ModelError, match=match):
        rule_from_dict(spec)


@pytest.mark.parametrize("text", ["", "prob", "prob:x", "foo:1", "rope:0.1"])
def test_bad_rule_specs(text):
    with pytest.raises(ModelError):
        parse_rule(text)


def brute_force_fpr(rule_thresholds, per_look, n_looks, p, n_exp, seed):
    """Plain loop: draw every user of every A/A experiment, look after each batch, compute
    P(p_T > p_C) with the scalar exact kernel, stop at success >= s or futility <= f."""
    success, futility = rule_thresholds
    rng = random.Random(seed)
    positives = 0
    for _ in range(n_exp):
        x = [0, 0]
        n = 0
        for _look in range(n_looks):
            for _user in range(per_look):
                for arm in (0, 1):
                    x[arm] += rng.random() < p
            n += per_look
            prob = K.prob_greater_pair(1 + x[1], 1 + n - x[1], 1 + x[0], 1 + n - x[0])[0]
            if prob >= success:
                positives += 1
                break
            if prob <= futility:
                break
    return positives / n_exp


def test_simulated_false_positive_rate_matches_brute_force():
    """P(lift > 0) >= 0.95 / <= 0.10 at 5 looks of 40 users per arm, rate 0.2: the vectorized
    simulator (20,000 experiments) and the per-user loop (1,500) agree within 4 sd of their
    difference (sd about 0.009 at a rate near 0.13); and the rate is above 0.05 by more than
    4 MC sd, so nobody may read the 0.95 threshold as a 5% error rate."""
    looks = 40 * np.arange(1, 6)
    fpr = rule_false_positive_rate(ProbPositive(), looks, baseline=0.2, n_sims=20_000, seed=4)
    brute = brute_force_fpr((0.95, 0.10), 40, 5, 0.2, 1_500, seed=11)
    sd = math.sqrt(fpr.rate * (1 - fpr.rate) * (1 / 20_000 + 1 / 1_500))
    assert abs(fpr.rate - brute) < 4 * sd
    assert fpr.rate > 0.05 + 4 * fpr.mc_se
    assert fpr.mc_se == pytest.approx(math.sqrt(fpr.rate * (1 - fpr.rate) / 20_000))
    assert fpr.by_look[-1] == pytest.approx(fpr.rate)
    assert "false-positive rate" in str(fpr) and fpr.to_dict()["n_sims"] == 20_000


def test_rules_run_in_the_simulator_for_normal_data():
    rule = ProbPositive(futility=None) | Precision(width=0.2)
    res = simulate(rule, 100 * np.arange(1, 6), metric="normal", baseline=0.0, sd=1.0,
                   n_sims=2_000, seed=3)
    assert 0.05 < res.rejection_rate < 0.5
