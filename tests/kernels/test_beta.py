"""The Beta kernels against closed forms, direct adaptive quadrature and long simulations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

from bayeslab.kernels import beta as K
from tests.scipy_beta import cdf as _cdf
from tests.scipy_beta import pdf as _pdf


def miller(a_t, b_t, a_c, b_c):
    """Closed form of P(p_T > p_C) for integer a_t (Evan Miller, 'Formulas for Bayesian A/B
    testing'): sum_{i=0}^{a_t-1} B(a_c+i, b_c+b_t) / ((b_t+i) B(1+i, b_t) B(a_c, b_c))."""
    i = np.arange(int(a_t))
    return float(np.exp(special.betaln(a_c + i, b_c + b_t) - np.log(b_t + i)
                        - special.betaln(1 + i, b_t) - special.betaln(a_c, b_c)).sum())


def test_the_reference_helpers_are_scipy_stats_beta():
    """tests/scipy_beta.py, which the quadratures below integrate: scipy.stats' numbers, bit
    for bit, inside the support, at its ends and beyond them, for tiny and huge parameters."""
    rng = np.random.default_rng(0)
    xs = [*rng.uniform(0, 1, 200), 0.0, 1.0, -1e-17, 1 + 2e-16, 1e-300, 1e-30, 1 - 1e-16]
    for a, b in ((0.5, 100.5), (1, 21), (2.5, 60.5), (31, 201), (52001, 48001), (0.1, 1e12)):
        for x in xs:
            assert np.array_equal(_pdf(x, a, b), stats.beta.pdf(x, a, b), equal_nan=True)
            assert np.array_equal(_cdf(x, a, b), stats.beta.cdf(x, a, b), equal_nan=True)


CASES = [(121, 881, 101, 901), (4, 38, 2, 34), (1, 11, 3, 9), (11, 9991, 10, 91),
         (301, 700, 300, 701), (51, 951, 41, 961)]


@pytest.mark.parametrize("p", CASES)
def test_prob_greater_matches_closed_form(p):
    assert K.prob_greater(*p) == pytest.approx(miller(*p), abs=1e-10)


@pytest.mark.parametrize("p", CASES)
def test_prob_greater_pair_sums_to_one_and_is_symmetric(p):
    gt, lt = K.prob_greater_pair(*p)
    assert gt + lt == pytest.approx(1.0, abs=1e-12)
    gt2, lt2 = K.prob_greater_pair(p[2], p[3], p[0], p[1])
    assert gt == pytest.approx(lt2, abs=1e-11)


def test_tiny_tail_keeps_relative_accuracy():
    # conversion 21% vs 17.5% on 25,000 users each (the migration notebook's z of about 10):
    # P(p_T < p_C) is about 1e-23, which must not print as 0 or make P(p_T > p_C) exactly 1
    # through subtraction; compare with an adaptive quadrature split into 80 one-sd panels.
    a_t, b_t, a_c, b_c = 5263, 19739, 4380, 20622
    gt, lt = K.prob_greater_pair(a_t, b_t, a_c, b_c)
    m, s = K.beta_moments(a_c, b_c)
    f = lambda x: _pdf(x, a_c, b_c) * _cdf(x, a_t, b_t)  # noqa: E731
    ref = sum(integrate.quad(f, m + k * s, m + (k + 1) * s, epsabs=0, epsrel=1e-12)[0]
              for k in range(-40, 40))
    assert 1e-30 < lt < 1e-15
    assert lt == pytest.approx(ref, rel=1e-6)


def test_singular_prior_falls_back_to_adaptive_quadrature():
    # Jeffreys prior with zero conversions: density singular at 0
    p = (0.5, 100.5, 3.5, 97.5)
    rng = np.random.default_rng(1)
    draws = 2_000_000
    mc = np.mean(rng.beta(p[0], p[1], draws) > rng.beta(p[2], p[3], draws))
    se = np.sqrt(mc * (1 - mc) / draws)
    assert K.prob_greater(*p) == pytest.approx(mc, abs=5 * se)
    assert sum(K.prob_greater_pair(*p)) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("p", [(121, 881, 101, 901), (4, 38, 2, 34), (11, 9991, 10, 91)])
def test_difference_and_ratio_quantiles_match_simulation(p):
    rng = np.random.default_rng(2)
    draws = 2_000_000
    t, c = rng.beta(p[0], p[1], draws), rng.beta(p[2], p[3], draws)
    for q in (0.025, 0.5, 0.975):
        d = K.diff_quantile(q, *p)
        r = K.ratio_quantile(q, *p)
        # the exact quantile's empirical CDF must be q within 5 binomial standard errors
        tol = 5 * np.sqrt(q * (1 - q) / draws)
        assert np.mean(t - c <= d) == pytest.approx(q, abs=tol)
        assert np.mean(t / c <= r) == pytest.approx(q, abs=tol)


def test_cdfs_are_consistent_with_quantiles():
    p = (121, 881, 101, 901)
    for q in (0.01, 0.3, 0.99):
        assert K.diff_cdf(K.diff_quantile(q, *p), *p) == pytest.approx(q, abs=1e-9)
        assert K.ratio_cdf(K.ratio_quantile(q, *p), *p) == pytest.approx(q, abs=1e-9)


@pytest.mark.parametrize("p", [(121, 881, 101, 901), (4, 38, 2, 34)])
def test_expected_losses_and_ratio_mean_match_simulation(p):
    rng = np.random.default_rng(3)
    draws = 4_000_000
    t, c = rng.beta(p[0], p[1], draws), rng.beta(p[2], p[3], draws)
    for exact, sample in [(K.expected_loss(*p), np.maximum(c - t, 0)),
                          (K.expected_loss(*p, relative=True), np.maximum(1 - t / c, 0)),
                          (K.ratio_mean(*p), t / c)]:
        se = sample.std() / np.sqrt(draws)
        assert exact == pytest.approx(sample.mean(), abs=5 * se)


def test_prob_best_and_expected_max_match_simulation():
    params = [(101, 901), (121, 881), (115, 887)]
    rng = np.random.default_rng(4)
    draws = 2_000_000
    x = np.column_stack([rng.beta(a, b, draws) for a, b in params])
    freq = np.bincount(x.argmax(axis=1), minlength=3) / draws
    pb = K.prob_best(params)
    assert pb.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(pb, freq, atol=5 * np.sqrt(0.25 / draws))
    mx = x.max(axis=1)
    assert K.expected_max(params) == pytest.approx(mx.mean(), abs=5 * mx.std() / np.sqrt(draws))


def test_two_arm_prob_best_equals_prob_greater():
    p = (121, 881, 101, 901)
    assert K.prob_best([(p[2], p[3]), (p[0], p[1])])[1] == pytest.approx(K.prob_greater(*p),
                                                                           abs=1e-10)


def test_vectorized_equals_scalar():
    a_t = np.array([121.0, 4, 11, 301])
    b_t = np.array([881.0, 38, 9991, 700])
    a_c = np.array([101.0, 2, 10, 300])
    b_c = np.array([901.0, 34, 91, 701])
    vec = K.prob_greater(a_t, b_t, a_c, b_c)
    for i in range(4):
        assert vec[i] == pytest.approx(miller(a_t[i], b_t[i], a_c[i], b_c[i]), abs=1e-10)


@settings(max_examples=60, deadline=None)
@given(x_t=st.integers(0, 400), x_c=st.integers(0, 400), extra_t=st.integers(1, 600),
       extra_c=st.integers(1, 600))
def test_property_matches_closed_form_on_integer_posteriors(x_t, x_c, extra_t, extra_c):
    p = (1 + x_t, 1 + extra_t, 1 + x_c, 1 + extra_c)
    gt, lt = K.prob_greater_pair(*p)
    assert 0.0 <= gt <= 1.0 and 0.0 <= lt <= 1.0
    assert gt == pytest.approx(miller(*p), abs=1e-9)


# Few conversions in one arm: F_T(x + d) has a kink at x = -d (and x = 1 - d), F_T(r x) at
# r x = 1, inside the other arm's window. (a_t, b_t, a_c, b_c): 1-6 conversions against
# hundreds, a non-integer prior (0.5 + k) and zero conversions (a = 1).
KINK_CASES = [(3, 401, 6, 3001), (2, 51, 31, 201), (1, 21, 4, 2001), (3, 40, 2, 300),
              (2, 10, 50, 100), (1, 30, 1, 1000), (2.5, 60.5, 7.5, 400.5)]
_TIGHT = dict(limit=500, epsabs=1e-15, epsrel=1e-13)


def _ref_diff_cdf(d, a_t, b_t, a_c, b_c):
    """Adaptive quadrature over the control density, split where F_T(x + d) leaves 0 / hits 1."""
    lo, hi = max(0.0, -d), min(1.0, 1.0 - d)
    f = lambda x: _pdf(x, a_c, b_c) * _cdf(x + d, a_t, b_t)  # noqa: E731
    return integrate.quad(f, lo, hi, **_TIGHT)[0] + stats.beta.sf(hi, a_c, b_c)


def _ref_diff_pdf(d, a_t, b_t, a_c, b_c):
    lo, hi = max(0.0, -d), min(1.0, 1.0 - d)
    f = lambda x: _pdf(x, a_c, b_c) * _pdf(x + d, a_t, b_t)  # noqa: E731
    return integrate.quad(f, lo, hi, **_TIGHT)[0]


def _ref_ratio_cdf(r, a_t, b_t, a_c, b_c):
    hi = min(1.0, 1.0 / r)
    f = lambda x: _pdf(x, a_c, b_c) * _cdf(r * x, a_t, b_t)  # noqa: E731
    return integrate.quad(f, 0.0, hi, **_TIGHT)[0] + stats.beta.sf(hi, a_c, b_c)


@pytest.mark.parametrize("p", KINK_CASES)
def test_difference_kernels_with_few_conversions_match_split_quadrature(p):
    """Before integrating only on the smooth side of the kink, errors reached 4e-5.

    The CDF and quantiles agree to 1e-9 absolute. The density agrees to 1e-8 relative
    (1e-10 absolute in the far tail): with a non-integer a_T (prior 0.5) the integrand
    (x + d)^(a_T - 1) has an algebraic singularity at the window's end, which fixed
    Gauss-Legendre nodes resolve to about 3e-9 relative (checked against QUADPACK's
    algebraic-weight rule); the density is exact to 1e-13 for integer parameters.
    """
    m_t, s_t = K.beta_moments(p[0], p[1])
    m_c, s_c = K.beta_moments(p[2], p[3])
    sd = float(np.hypot(s_t, s_c))
    for d in np.linspace(m_t - m_c - 6 * sd, m_t - m_c + 6 * sd, 25):
        assert K.diff_cdf(d, *p) == pytest.approx(_ref_diff_cdf(d, *p), abs=1e-9)
        ref = _ref_diff_pdf(d, *p)
        assert K.diff_pdf(d, *p) == pytest.approx(ref, rel=1e-8, abs=1e-10)
    for q in (0.025, 0.5, 0.975):
        ref = optimize.brentq(lambda d, q=q: _ref_diff_cdf(d, *p) - q, -0.999, 0.999,
                              xtol=1e-14)
        assert K.diff_quantile(q, *p) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("p", KINK_CASES)
def test_ratio_cdf_with_few_conversions_matches_split_quadrature(p):
    for r in np.exp(np.linspace(-3, 3, 25)):
        assert K.ratio_cdf(r, *p) == pytest.approx(_ref_ratio_cdf(r, *p), abs=1e-9)


@pytest.mark.parametrize("p", [(52001, 48001, 51, 51), (5001, 45001, 51, 451),
                               (200, 800, 3, 30), (30, 70, 400, 600)])
def test_expected_losses_match_nested_quadrature_when_either_arm_is_narrower(p):
    """A narrow treatment against a wide control (a 1000:1 rollout) used to be 0.4% off."""
    a_t, b_t, a_c, b_c = p
    t = stats.beta(a_t, b_t)
    pts = [v for v in t.mean() + t.std() * np.array([-8, -3, 0, 3, 8]) if 0 < v < 1]

    def outer(gain):
        return integrate.quad(lambda y: _pdf(y, a_t, b_t) * integrate.quad(
            lambda x: gain(x, y) * _pdf(x, a_c, b_c), y, 1, epsabs=1e-14, epsrel=1e-12)[0],
            0, 1, points=pts, limit=400, epsabs=1e-14, epsrel=1e-11)[0]

    absolute, relative = outer(lambda x, y: x - y), outer(lambda x, y: 1 - y / x)
    assert K.expected_loss(*p) == pytest.approx(absolute, rel=1e-10)
    assert K.expected_loss(*p, relative=True) == pytest.approx(relative, rel=1e-10)
    assert K.expected_losses(*p) == pytest.approx((absolute, relative), rel=1e-10)
