"""Beta-Binomial readout: posteriors against scipy, derived quantities against simulation,
calibration of the credible interval when the truth is drawn from the prior."""

import numpy as np
import pytest
from scipy import stats

from bayeslab.bayes.conversion import BetaBinomial, format_prob
from bayeslab.core.errors import DataError, ModelError
from bayeslab.kernels import beta as K


def test_posterior_parameters_and_intervals_equal_scipy_beta():
    fit = BetaBinomial(prior_alpha=2.0, prior_beta=3.0).fit_counts([1000, 1100], [100, 130],
                                                                     arms=["A", "B"])
    tab = fit.arm_table()
    np.testing.assert_array_equal(tab["alpha"], [102.0, 132.0])
    np.testing.assert_array_equal(tab["beta"], [903.0, 973.0])
    np.testing.assert_allclose(tab["lower"], stats.beta.ppf(0.025, [102, 132], [903, 973]),
                               rtol=1e-12)
    np.testing.assert_allclose(tab["upper"], stats.beta.ppf(0.975, [102, 132], [903, 973]),
                               rtol=1e-12)
    np.testing.assert_allclose(tab["mean"], stats.beta.mean([102, 132], [903, 973]), rtol=1e-14)


def test_comparison_matches_long_simulation():
    fit = BetaBinomial().fit_counts([1000, 1000], [100, 120])
    c = fit.comparison()
    rng = np.random.default_rng(0)
    draws = 2_000_000
    pc, pt = rng.beta(101, 901, draws), rng.beta(121, 881, draws)
    d, r = pt - pc, pt / pc - 1
    se = lambda v: v.std() / np.sqrt(draws)  # noqa: E731
    assert c.prob_positive == pytest.approx(np.mean(d > 0), abs=5 * np.sqrt(0.25 / draws))
    assert c.abs_diff == pytest.approx(d.mean(), abs=5 * se(d))
    assert c.rel_lift == pytest.approx(r.mean(), abs=5 * se(r))
    assert c.expected_loss == pytest.approx(np.maximum(-d, 0).mean(), abs=5 * se(np.maximum(-d, 0)))
    assert c.expected_loss_control == pytest.approx(np.maximum(d, 0).mean(),
                                                    abs=5 * se(np.maximum(d, 0)))
    assert c.expected_loss_control_rel == pytest.approx(np.maximum(r, 0).mean(),
                                                        abs=5 * se(np.maximum(r, 0)))
    tol = 5 * np.sqrt(0.025 * 0.975 / draws)
    assert np.mean(d < c.abs_lower) == pytest.approx(0.025, abs=tol)
    assert np.mean(d > c.abs_upper) == pytest.approx(0.025, abs=tol)
    assert np.mean(r < c.rel_lower) == pytest.approx(0.025, abs=tol)
    assert np.mean(r > c.rel_upper) == pytest.approx(0.025, abs=tol)
    for t in (0.005, 0.02):
        assert fit.prob_lift_above(t) == pytest.approx(np.mean(d > t), abs=5 * np.sqrt(.25 / draws))
    assert fit.prob_lift_above(0.1, relative=True) == pytest.approx(np.mean(r > 0.1),
                                                                    abs=5 * np.sqrt(.25 / draws))


def test_loss_identity():
    # E[(C-T)+] - E[(T-C)+] = E[C - T] exactly
    fit = BetaBinomial().fit_counts([500, 520], [60, 70])
    c = fit.comparison()
    assert c.expected_loss - c.expected_loss_control == pytest.approx(-c.abs_diff, abs=1e-12)


def test_three_arms_prob_best_matches_simulation():
    fit = BetaBinomial().fit_counts([1000, 1000, 1000], [100, 120, 114], arms=["c", "t1", "t2"])
    rng = np.random.default_rng(1)
    draws = 1_000_000
    x = np.column_stack([rng.beta(1 + k, 1 + 1000 - k, draws) for k in (100, 120, 114)])
    freq = np.bincount(x.argmax(axis=1), minlength=3) / draws
    np.testing.assert_allclose(fit.prob_best, freq, atol=5 * np.sqrt(0.25 / draws))
    assert [e.arm for e in fit.estimates()] == ["t1", "t1", "t2", "t2"]
    with pytest.raises(ModelError, match="name one"):
        fit.comparison()


def test_credible_interval_is_calibrated_when_truth_comes_from_the_prior():
    """If p_A, p_B ~ Beta(2, 8) and the data come from them, the 90% credible interval of the
    difference covers the true difference in 90% of experiments (exactly, by construction of
    the posterior). 2,000 experiments: binomial SE 0.0067, tolerance 4 SE."""
    rng = np.random.default_rng(7)
    model = BetaBinomial(prior_alpha=2, prior_beta=8, interval=0.9)
    reps, n = 2000, 40
    p = rng.beta(2, 8, size=(reps, 2))
    x = rng.binomial(n, p)
    covered = 0
    for i in range(reps):
        a = 2 + x[i]
        b = 8 + n - x[i]
        lo, hi = K.diff_quantiles([0.05, 0.95], a[1], b[1], a[0], b[0])  # both in one call
        covered += lo <= p[i, 1] - p[i, 0] <= hi
    assert covered / reps == pytest.approx(0.90, abs=4 * np.sqrt(0.09 / reps))
    assert model.interval == 0.9


def test_format_prob_never_prints_one():
    assert format_prob(1.0, 2e-27) == "1 - 2.0e-27"
    assert format_prob(0.97, 0.03) == "0.9700"
    assert format_prob(3e-9, 1.0) == "3.0e-09"


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=[100, 100], conversions=[10, 120]), "120 conversions out of 100"),
    (dict(n=[100, -1], conversions=[10, 0]), "non-negative whole"),
    (dict(n=[100, 0], conversions=[10, 0]), "no units"),
    (dict(n=[100.5, 10], conversions=[10, 0]), "non-negative whole"),
    (dict(n=[100], conversions=[10]), ">= 2 arms"),
])
def test_bad_counts(kwargs, match):
    with pytest.raises(DataError, match=match):
        BetaBinomial().fit_counts(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(prior_alpha=0), dict(prior_beta=-1),
                                    dict(interval=1.2)])
def test_bad_model_options(kwargs):
    with pytest.raises(ModelError):
        BetaBinomial(**kwargs)


def test_printed_posterior_speaks_the_unit_language():
    """Differences in pp, lifts in %, P(best) never 1.000 / 0.000 (the complement is kept)."""
    post = BetaBinomial(1, 1).fit_counts(np.array([25_000, 25_000]), np.array([4310, 5260]),
                                         arms=("0", "1"), metric="m")
    text = str(post)
    assert "difference +3.800 pp [+3.111, +4.489] pp" in text
    assert "lift +22.06%" in text and "P(> 0) = 1 - 1.6e-27" in text
    assert "P(best) = 1 - 1.6e-27" in text and "P(best) = 1.6e-27" in text
    assert "1.000" not in text and "0.000 " not in text
