"""Halley quantiles from a Cornish-Fisher start, the shared loss pass, the skipped bulk integral."""

import math

import numpy as np
import pytest
from scipy import special

from bayeslab.kernels import beta as K
from bayeslab.kernels.beta import _quantile as Q

PAIRS = [(525001.0, 4475000.0, 500001.0, 4500000.0), (231.0, 1771.0, 201.0, 1801.0),
         (10.0, 32.0, 4.0, 28.0), (2.0, 10.0, 1.0, 11.0), (1.0, 11.0, 1.0, 11.0),
         (52001.0, 48001.0, 51.0, 51.0), (51.0, 51.0, 52001.0, 48001.0),
         (1e8 + 20001.0, 9e8 - 20000.0, 1e8 + 1.0, 9e8 + 1.0), (3.0, 2.0, 5.0, 1.0)]
LEVELS = [0.0001, 0.025, 0.5, 0.975, 0.9999]


def _bisect(cdf, q, lo, hi):
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("p", PAIRS)
def test_quantiles_match_bisection_of_the_same_cdf(p):
    d = K.diff_quantiles(LEVELS, *p)
    r = K.ratio_quantiles(LEVELS, *p)
    for q, dq, rq in zip(LEVELS, d, r, strict=True):
        ref_d = _bisect(lambda v: K.diff_cdf(v, *p), q, -1.0, 1.0)
        ref_r = _bisect(lambda v: K.ratio_cdf(v, *p), q, 0.0, 1e6)
        # 1e-12, or where the density is tiny the width over which the CDF, computed to about
        # 2e-16 near 1, cannot tell points apart (the ratio's far tail when a_C = 1)
        assert dq == pytest.approx(ref_d, abs=max(1e-12, 2e-16 / K.diff_pdf(ref_d, *p)))
        assert rq == pytest.approx(ref_r, abs=max(1e-12 * max(1.0, ref_r),
                                                  2e-16 / K.ratio_pdf(ref_r, *p)))
        assert K.diff_quantile(q, *p) == dq  # one level: the same search
        assert K.ratio_quantile(q, *p) == rq


def test_cornish_fisher_start_is_close_and_one_evaluation_suffices_for_large_arms():
    p = (525001.0, 4475000.0, 500001.0, 4500000.0)
    ct, cc = Q.beta_cumulants(*p[:2]), Q.beta_cumulants(*p[2:])
    k = (ct[0] - cc[0], ct[1] + cc[1], ct[2] - cc[2], ct[3] + cc[3])
    exact = K.diff_quantiles([0.025, 0.975], *p)
    assert np.all(np.abs(Q.cornish_fisher([0.025, 0.975], *k) - exact) < 1e-5 * math.sqrt(k[1]))
    calls = []

    def counted(d):
        calls.append(len(d))
        return Q.diff_eval(d, *p)

    got = Q.solve(counted, np.array([0.025, 0.975]), Q.cornish_fisher([0.025, 0.975], *k),
                  -1.0, 1.0, math.sqrt(k[1]), True)
    assert calls == [2]
    np.testing.assert_array_equal(got, exact)


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (3.5, 27.5), (201.0, 1801.0), (5e5, 4.5e6)])
def test_cumulants_against_scipy(a, b):
    from scipy import stats

    m, v, s, k = stats.beta.stats(a, b, moments="mvsk")
    c = Q.beta_cumulants(a, b)
    assert c == pytest.approx((m, v, s * v**1.5, k * v * v), rel=1e-9, abs=1e-300)
    log_c = Q.log_beta_cumulants(a, b)
    ref = [special.digamma(a) - special.digamma(a + b)] + [
        special.polygamma(n, a) - special.polygamma(n, a + b) for n in (1, 2, 3)]
    assert log_c == pytest.approx(ref, rel=1e-8)


@pytest.mark.parametrize("p", PAIRS[:7])
def test_expected_losses_equal_the_single_integrals(p):
    assert K.expected_losses(*p) == (K.expected_loss(*p), K.expected_loss(*p, relative=True))


@pytest.mark.parametrize("p", [(525001.0, 4475000.0, 500001.0, 4500000.0),
                               (500001.0, 4500000.0, 525001.0, 4475000.0),
                               (1601.0, 8401.0, 1001.0, 9001.0)])
def test_tail_branch_without_the_bulk_integral_gives_the_same_numbers(p):
    """Where the sub-Gaussian bound skips P(T > C) in the bulk, the pair is what the bulk
    integral followed by the tail integral gives."""
    a_t, b_t, a_c, b_c = p
    gt = float(K.prob_greater(*p))
    assert min(gt, 1 - gt) < 1e-8
    (m_t, s_t), (m_c, s_c) = K.beta_moments(a_t, b_t), K.beta_moments(a_c, b_c)
    lo = float(max(0.0, min(m_t, m_c) - 12 * max(s_t, s_c)))
    hi = float(min(1.0, max(m_t, m_c) + 12 * max(s_t, s_c)))
    scale = float(min(s_t, s_c))
    if gt > 0.5:
        lt = K._log_tail_integral(
            lambda x: K.log_pdf(x, a_c, b_c) + K.log_cdf(x, a_t, b_t), lo, hi, scale)
        assert K.prob_greater_pair(*p) == (1.0 - lt, lt)
    else:
        gt = K._log_tail_integral(
            lambda x: K.log_pdf(x, a_c, b_c) + K.log_sf(x, a_t, b_t), lo, hi, scale)
        assert K.prob_greater_pair(*p) == (gt, 1.0 - gt)
