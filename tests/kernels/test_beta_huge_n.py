"""Exactness of the Beta kernels at any size: 1e6 to 1e13 units per arm against mpmath.

Issue 14: with 1e12 units per arm (aggregated warehouse input), 10% vs 10.001%, the kernel gave
P(B > A) = 0.9942 while the z-test p was 7.9e-123, because the double-precision log density lost
its digits (terms of size 1e12 cancelling to order 1). The reference (``mp_reference``) evaluates
the log densities in 40-digit arithmetic.
"""

import functools

import mpmath as mp
import numpy as np
import pytest

from bayeslab.kernels import beta as K
from bayeslab.kernels.beta import log_pdf
from tests.kernels.mp_reference import prob_less
from tests.kernels.test_beta import miller


def _arms(n, p_t, p_c):
    x_t, x_c = round(p_t * n), round(p_c * n)
    return (x_t + 1.0, n - x_t + 1.0, x_c + 1.0, n - x_c + 1.0)  # uniform prior


# the 10% vs 10.001% at every size (z from 0.02 at 1e6 to 74 at 1e13: from the bulk to
# a tail far below double precision), and a negative effect of 5 standard errors (other branch)
SWEEP = ([_arms(10.0 ** k, 0.10001, 0.10) for k in range(6, 14)]
         + [_arms(n, 0.02 - 5 * np.sqrt(2 * 0.02 * 0.98 / n), 0.02) for n in (1e8, 1e11, 1e13)])


@functools.cache
def _reference(p):
    return prob_less(*p)


def test_reference_matches_closed_form():
    p = (121, 881, 101, 901)
    assert float(_reference(p)) == pytest.approx(1 - miller(*p), rel=1e-10)


@pytest.mark.parametrize("p", SWEEP, ids=lambda p: f"n{p[0] + p[1] - 2:.0e}")
def test_prob_greater_pair_exact_at_any_n(p):
    lt_ref = _reference(p)
    gt_ref = 1 - lt_ref
    gt, lt = K.prob_greater_pair(*p)
    for value, ref in ((gt, gt_ref), (lt, lt_ref)):
        if ref < K.TAIL_FLOOR:
            assert value == 0.0  # "below 1e-300", never a floor value such as 1e-320
        elif ref < 1e-6:
            assert value == pytest.approx(float(ref), rel=1e-8)  # tails keep their digits
        else:
            assert value == pytest.approx(float(ref), abs=1e-11)


@pytest.mark.parametrize("p", SWEEP, ids=lambda p: f"n{p[0] + p[1] - 2:.0e}")
def test_vectorized_kernels_at_any_n(p):
    gt_ref = float(1 - _reference(p))
    assert K.prob_greater(*p) == pytest.approx(gt_ref, abs=1e-10)
    assert K.prob_greater(*p, accuracy="simulation") == pytest.approx(gt_ref, abs=1e-6)  # as doc


@pytest.mark.parametrize("n", [1e3, 1e6, 1e9, 1e12, 1e13])
def test_log_density_against_mpmath(n):
    a, b = 0.1 * n + 1, 0.9 * n + 1
    m, s = K.beta_moments(a, b)
    with mp.workdps(50):
        norm = mp.loggamma(a + b) - mp.loggamma(a) - mp.loggamma(b)
        for k in (-30, -3, 0, 1, 8):
            x = float(m + k * s)
            if not 0 < x < 1:
                continue
            ref = norm + (a - 1) * mp.log(x) + (b - 1) * mp.log1p(-x)
            assert log_pdf(x, a, b) == pytest.approx(float(ref), rel=1e-12, abs=1e-10)


def test_density_integrates_to_one_at_huge_n():
    a, b = 1e11 + 1, 9e11 + 1
    m, s = K.beta_moments(a, b)
    x, w = np.polynomial.legendre.leggauss(200)
    x, w = m + 12 * s * x, 12 * s * w  # mass beyond 12 sd: below 1e-30
    # abs 1e-10: the nodes themselves are rounded to double, 1e-11 sd at this size
    assert np.sum(w * np.exp(log_pdf(x, a, b))) == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("n", [5, 50, 200, 1000, 100_000])
def test_zero_vs_full_conversion_is_exact_or_reported_below_1e300(n):
    # 0/n vs n/n, uniform prior: p_T ~ Beta(n+1, 1), p_C ~ Beta(1, n+1), and
    # P(p_T < p_C) = int (n+1)(1-x)^n x^(n+1) dx = (n+1) B(n+2, n+1) exactly
    # (about 1e-600 at n = 1000: it used to print as "1-1.0e-320", a floor value)
    exact = (n + 1) * mp.beta(n + 2, n + 1)
    gt, lt = K.prob_greater_pair(n + 1, 1, 1, n + 1)
    if exact < K.TAIL_FLOOR:
        assert (gt, lt) == (1.0, 0.0)
    else:
        assert lt == pytest.approx(float(exact), rel=1e-8)


@pytest.mark.parametrize("n", [1e10, 1e11, 1e12, 1e13])
def test_rates_near_one_keep_the_smaller_tail(n):
    """Rates near 1 are read through q = 1 - p ~ Beta(b, a): P(p_T < p_C) = P(q_T > q_C).

    Reference: with a = n - f >> b = f + 1 failures, q ~ Gamma(b) / n up to O(b / n), so
    P(q_T > q_C) = P(G_T / (G_T + G_C) > 1/2), a Beta(b_T, b_C) tail (relative error about
    6 b / n). Before the mirror the relative error was 2e-5 at 1e10 and 1.6e-2 at 1e13.
    """
    from scipy import stats

    from bayeslab.kernels import beta as K

    f_c, f_t = 1000.0, 850.0
    a_t, b_t, a_c, b_c = n - f_t + 1, f_t + 1, n - f_c + 1, f_c + 1
    gt, lt = K.prob_greater_pair(a_t, b_t, a_c, b_c)
    ref = stats.beta.sf(0.5, b_t, b_c)
    assert lt == pytest.approx(ref, rel=max(1e-9, 10 * b_c / n))
    assert gt + lt == pytest.approx(1.0, abs=1e-15)
    assert K.prob_greater(a_t, b_t, a_c, b_c) == pytest.approx(gt, abs=1e-15)


@pytest.mark.parametrize("n", [1e15, 1e17, 1e18])
def test_tiny_rates_at_1e17_units(n):
    """5 vs 9 conversions of 1e17-1e18 units: p ~ Gamma(x + 1) / n, so P(T > C) is a Beta(6, 10)
    tail; a side of the CDF table divided by 1 - t = 0 (ZeroDivisionError) before."""
    from scipy import stats

    import bayeslab as bl

    post = bl.BetaBinomial(1, 1).fit_counts(np.array([n, n]), np.array([5, 9]), arms=("a", "b"),
                                            metric="m")
    assert post.comparisons[0].prob_positive == pytest.approx(stats.beta.cdf(0.5, 6, 10),
                                                              rel=1e-9)
