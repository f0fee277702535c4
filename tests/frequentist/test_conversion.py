"""Two-proportion tests against statsmodels and scipy, and interval coverage by simulation."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import (  # noqa: I001
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)
from statsmodels.stats.proportion import (
    test_proportions_2indep as sm_test_proportions_2indep,
)

from bayeslab.core.errors import ModelError
from bayeslab.frequentist.conversion import TwoProportionZTest, wilson_interval

CASES = [((10_000, 10_500), (1_750, 2_100)), ((200, 180), (12, 25)), ((50, 60), (3, 1)),
         ((25_000, 25_000), (4_379, 5_262))]


@pytest.mark.parametrize("n,x", CASES)
def test_z_test_equals_statsmodels(n, x):
    res = TwoProportionZTest().fit_counts(n, x).comparison()
    z, p = proportions_ztest([x[1], x[0]], [n[1], n[0]])
    assert res.z == pytest.approx(z, rel=1e-10)
    assert res.p_value == pytest.approx(p, rel=1e-8)


@pytest.mark.parametrize("alt,sm_alt", [("larger", "larger"), ("smaller", "smaller")])
def test_one_sided_alternatives(alt, sm_alt):
    n, x = (2000, 2100), (300, 360)
    res = TwoProportionZTest(alternative=alt).fit_counts(n, x).comparison()
    _, p = proportions_ztest([x[1], x[0]], [n[1], n[0]], alternative=sm_alt)
    assert res.p_value == pytest.approx(p, rel=1e-10)


@pytest.mark.parametrize("n,x", CASES)
def test_intervals_equal_statsmodels(n, x):
    res = TwoProportionZTest().fit_counts(n, x).comparison()
    args = (x[1], n[1], x[0], n[0])
    wald = confint_proportions_2indep(*args, method="wald", compare="diff")
    newc = confint_proportions_2indep(*args, method="newcomb", compare="diff")
    ratio = confint_proportions_2indep(*args, method="log", compare="ratio")
    np.testing.assert_allclose([res.wald_lower, res.wald_upper], wald, rtol=1e-10)
    np.testing.assert_allclose([res.newcombe_lower, res.newcombe_upper], newc, rtol=1e-10)
    np.testing.assert_allclose([res.rel_lower + 1, res.rel_upper + 1], ratio, rtol=1e-10)


def test_wilson_equals_statsmodels():
    lo, hi = wilson_interval(np.array([0, 7, 50]), np.array([20, 40, 60]), 0.9)
    ref = proportion_confint([0, 7, 50], [20, 40, 60], alpha=0.1, method="wilson")
    np.testing.assert_allclose(lo, ref[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hi, ref[1], rtol=1e-12)


def test_noninferiority_equals_statsmodels_wald_test():
    n, x = (25_000, 25_000), (108, 186)
    res = TwoProportionZTest().fit_counts(n, x).noninferiority(0.005)
    ref = sm_test_proportions_2indep(x[1], n[1], x[0], n[0], value=0.005, method="wald",
                                  compare="diff", alternative="smaller", correction=False)
    assert res.z == pytest.approx(ref.statistic, rel=1e-10)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_chi_square_for_several_arms_equals_scipy():
    n, x = (1000, 1000, 1200), (100, 130, 118)
    res = TwoProportionZTest().fit_counts(n, x, arms=["a", "b", "c"])
    ref = stats.chi2_contingency(np.column_stack([x, np.subtract(n, x)]), correction=False)
    assert res.chi2 == pytest.approx(ref.statistic, rel=1e-12)
    assert res.chi2_p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert res.chi2_df == 2
    # with two arms the chi-square statistic is the square of the pooled z
    two = TwoProportionZTest().fit_counts(n[:2], x[:2])
    assert two.chi2 == pytest.approx(two.comparison().z ** 2, rel=1e-10)


def test_interval_coverage_by_simulation():
    """Wald and Newcombe 95% intervals of p_T - p_C at p = (0.10, 0.12), n = 2,000 per arm:
    20,000 simulated experiments, vectorized. Measured coverage must be 0.95 within 4 SE
    (SE = 0.0015). Also the z-test's false-positive rate under the null is 0.05 within 4 SE."""
    rng = np.random.default_rng(11)
    reps, n = 20_000, 2000
    xc = rng.binomial(n, 0.10, reps)
    xt = rng.binomial(n, 0.12, reps)
    lo_w, hi_w, lo_n, hi_n = [], [], [], []
    test = TwoProportionZTest()
    for a, b in zip(xc[:2000], xt[:2000], strict=True):  # loop on a subset for Newcombe
        c = test.fit_counts([n, n], [a, b]).comparison()
        lo_n.append(c.newcombe_lower)
        hi_n.append(c.newcombe_upper)
    pc, pt = xc / n, xt / n
    se = np.sqrt(pc * (1 - pc) / n + pt * (1 - pt) / n)
    lo_w, hi_w = pt - pc - 1.959964 * se, pt - pc + 1.959964 * se
    cov_wald = np.mean((lo_w <= 0.02) & (0.02 <= hi_w))
    cov_newc = np.mean((np.array(lo_n) <= 0.02) & (0.02 <= np.array(hi_n)))
    assert cov_wald == pytest.approx(0.95, abs=4 * np.sqrt(0.95 * 0.05 / reps))
    assert cov_newc == pytest.approx(0.95, abs=4 * np.sqrt(0.95 * 0.05 / 2000))
    x0 = rng.binomial(n, 0.10, size=(reps, 2))
    pool = x0.sum(1) / (2 * n)
    z = (x0[:, 1] - x0[:, 0]) / n / np.sqrt(pool * (1 - pool) * 2 / n)
    assert np.mean(np.abs(z) > 1.959964) == pytest.approx(0.05, abs=4 * np.sqrt(0.0475 / reps))


def test_zero_conversions_give_no_relative_interval_with_a_warning():
    from bayeslab.core.errors import StatisticalWarning

    with pytest.warns(StatisticalWarning, match="no conversions"):
        res = TwoProportionZTest().fit_counts([100, 100], [0, 5]).comparison()
    assert np.isnan(res.rel_lower)


def test_bad_alternative():
    with pytest.raises(ModelError, match="alternative"):
        TwoProportionZTest(alternative="bigger")
