"""The numpy-only Beta CDF, survival function, quantile and log Beta function against scipy and
closed forms, from a, b = 1 to 1e13, in the bulk and in the far tails (relative error)."""

import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest
from scipy import special

from bayeslab.kernels import beta as K
from bayeslab.kernels.beta import _cdf as C
from bayeslab.kernels.beta import _multi as M
from bayeslab.kernels.beta import betaln

# (a, b, relative tolerance in the tails); scipy's betainc is itself trustworthy to about 1e-13
# up to a + b of 1e7 (not for Beta(2, b) with b from 1e4: see the closed-form test). The tail
# tolerance grows with the size because the tail's relative condition number x f(x) / F(x) is about
# z sqrt(a + b): a 1e-16 change of x moves F by that much.
PARAMS = [(1, 1, 1e-12), (1, 2, 1e-12), (2, 1, 1e-12), (1, 30, 1e-12), (1.5, 60.5, 1e-12),
          (2.5, 60.5, 1e-12), (4, 38, 1e-12), (51, 951, 1e-12), (121, 881, 1e-12),
          (1e6 + 1, 1, 1e-12), (2, 300, 1e-12), (5001, 45001, 1e-11),
          (500001, 4500001, 1e-10), (3e6, 7e6, 1e-10)]


def _grid(a, b):
    m, s = K.beta_moments(a, b)
    x = np.concatenate([m + np.linspace(-40, 40, 161) * s, np.geomspace(1e-300, 0.5, 120),
                        1 - np.geomspace(1e-15, 0.5, 60)])
    return x[(x > 0) & (x < 1)]


@pytest.mark.parametrize("a,b,rel", PARAMS, ids=lambda v: f"{v:g}")
def test_cdf_and_sf_match_scipy_in_bulk_and_tails(a, b, rel):
    x = _grid(a, b)
    f, s = C.cdf(x, a, b), C.sf(x, a, b)
    ref_f, ref_s = special.betainc(a, b, x), special.betaincc(a, b, x)
    atol = 1e-13 if a + b < 1e7 else 2e-13  # near the mean at 1e7: 1.1e-13
    np.testing.assert_allclose(f, ref_f, rtol=0, atol=atol)
    np.testing.assert_allclose(s, ref_s, rtol=0, atol=atol)
    for val, ref in ((f, ref_f), (s, ref_s)):
        tail = (ref > 1e-300) & (ref < 1e-3)
        assert tail.sum() > 8
        np.testing.assert_allclose(val[tail], ref[tail], rtol=rel)
    lo = (ref_f > 1e-300) & (ref_f < 0.5)
    np.testing.assert_allclose(C.log_cdf(x[lo], a, b), np.log(ref_f[lo]), rtol=rel, atol=0)
    up = (ref_s > 1e-300) & (ref_s < 0.5)
    np.testing.assert_allclose(C.log_sf(x[up], a, b), np.log(ref_s[up]), rtol=rel, atol=0)


@pytest.mark.parametrize("b", [1.0, 7.0, 1000.0, 1e9])
def test_log_tails_exact_below_underflow(b):
    # Beta(1, b): sf(x) = (1 - x)^b and Beta(b, 1): F(x) = x^b, in closed form at any depth
    x = np.array([1e-3, 0.1, 0.5, 0.9, 0.999])
    np.testing.assert_allclose(C.log_sf(x, 1.0, b), b * np.log1p(-x), rtol=1e-12)
    np.testing.assert_allclose(C.log_cdf(1 - x, b, 1.0), b * np.log1p(-x), rtol=1e-12)


@pytest.mark.parametrize("n", [1e9, 1e12, 1e13])
def test_symmetric_huge_parameters(n):
    # Beta(n, n) is symmetric about 1/2: F(1/2) = 1/2 and F(1/2 - d) = sf(1/2 + d); scipy is
    # off by up to 1e-3 here (a + b = 2e13), so the reference is the symmetry and the normal
    # limit (skewness 0, excess kurtosis -3 / (2 n): Phi is exact to about 1e-13)
    s = float(K.beta_moments(n, n)[1])
    z = np.array([-8.0, -3.0, -1.0, -0.25, 0.0])
    x = 0.5 + z * s
    f = C.cdf(x, n, n)
    assert C.cdf(0.5, n, n) == pytest.approx(0.5, abs=2e-11)
    np.testing.assert_allclose(f, C.sf(0.5 - z * s, n, n), atol=2e-11)
    ref = np.array([float(mp.ncdf(v)) for v in z])
    np.testing.assert_allclose(f, ref, atol=2e-11, rtol=1e-8)


@pytest.mark.parametrize("b", [1e4, 1e6, 1e9])
def test_integer_closed_form_against_mpmath(b):
    # I_x(2, b) = 1 - (1 - x)^(b+1) - (b+1) x (1 - x)^b: scipy is off by 1.2e-13 at b = 1e4
    # and by 1.5e-11 at b = 1e6
    m, s = K.beta_moments(2, b)
    with mp.workdps(40):
        for x in m + s * np.array([-1.0, -0.5, 0.0, 0.5, 3.0, 30.0]):
            xm, bm = mp.mpf(float(x)), mp.mpf(b)
            ref = 1 - (1 - xm) ** (bm + 1) - (bm + 1) * xm * (1 - xm) ** bm
            assert C.cdf(x, 2.0, b) == pytest.approx(float(ref), abs=1e-14)
            assert C.sf(x, 2.0, b) == pytest.approx(float(1 - ref), rel=1e-11)


@pytest.mark.parametrize("a,b,_", PARAMS + [(1e9, 9e9, 0), (1e12, 9e12, 0)],
                         ids=lambda v: f"{v:g}")
def test_quantile_inverts_cdf_and_matches_scipy(a, b, _):
    q = np.array([1e-200, 1e-10, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999, 1 - 1e-10])
    x = C.ppf(q, a, b)
    back = np.where(q <= 0.5, C.cdf(x, a, b), C.sf(x, a, b))
    target = np.where(q <= 0.5, q, 1 - q)
    # x itself is rounded: allow the density times half a unit in the last place of x
    # (at x = 1, rounded up from 1 - 1e-16, the density just below 1); and at 1e12 units the
    # CDF's own relative accuracy in the tails (its condition number is z sqrt(a + b) x)
    slack = np.exp(K.log_pdf(np.minimum(x, 1 - 2e-16), a, b)) * np.spacing(x)
    rel = 1e-9 if a + b < 1e8 else 1e-8
    assert np.all(np.abs(back - target) <= rel * target + slack)
    if a + b < 1e8:
        ref = special.betaincinv(a, b, q)
        ok = np.isfinite(ref)  # scipy gives nan at q = 1e-200 for some parameters
        np.testing.assert_allclose(x[ok], ref[ok], rtol=1e-12, atol=1e-300)
    assert C.ppf(0.0, a, b) == 0.0 and C.ppf(1.0, a, b) == 1.0


def test_vectorized_over_parameters():
    a = np.array([[1.0], [51.0], [5001.0]])
    b = np.array([[30.0], [951.0], [45001.0]])
    x = np.array([0.01, 0.05, 0.1, 0.2])
    np.testing.assert_allclose(C.cdf(x, a, b), special.betainc(a, b, x), atol=1e-14)
    np.testing.assert_allclose(C.ppf(0.1, a[:, 0], b[:, 0]),
                               special.betaincinv(a[:, 0], b[:, 0], 0.1), rtol=1e-12)


@pytest.mark.parametrize("a", [0.3, 0.5, 1.0, 1.5, 7.0, 9.99, 10.0, 50.5, 1e4, 1e9, 1e13])
def test_betaln_against_mpmath(a):
    with mp.workdps(40):
        for b in (0.5, 1.0, 3.0, 12.0, 1e3, 4.5e6, 9e12):
            ref = mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(mp.mpf(a) + b)
            assert betaln(a, b) == pytest.approx(float(ref), rel=1e-14, abs=1e-14)


def test_prob_best_and_expected_max_match_adaptive_quadrature():
    for params in ([(101, 901), (121, 881), (115, 887)], [(3, 40), (2, 300), (5001, 45001)],
                   [(1, 30), (2, 29), (1, 1)]):
        np.testing.assert_allclose(K.prob_best(params), M._prob_best_adaptive(params),
                                   atol=1e-11)
        ref = M._quad(lambda x, p=params: 1.0 - np.prod([special.betainc(a, b, x)
                                                         for a, b in p], axis=0),
                      points=M._all_points(params))
        assert K.expected_max(params) == pytest.approx(ref, abs=1e-11)


def test_bracketed_root():
    assert M._bracketed_root(lambda v: v**3 - 2.0, 0.0, 5.0) == pytest.approx(2 ** (1 / 3),
                                                                             abs=1e-12)
    assert M._bracketed_root(lambda v: np.tanh(50 * (v - 0.3)), -1.0, 1.0) == pytest.approx(
        0.3, abs=1e-12)


CHECK = """
import sys
from bayeslab.kernels import beta as K
for a in [(5001, 45001, 5301, 44701), (500001, 4500001, 525001, 4475001)]:
    K.prob_greater_pair(*a); K.diff_quantile(0.025, *a); K.ratio_quantile(0.975, *a)
    K.expected_loss(*a); K.ppf([0.025, 0.975], a[0], a[1])
    K.prob_best([(a[0], a[1]), (a[2], a[3]), (a[0] + 99, a[1] - 99)])
print(sorted(m for m in sys.modules if m.startswith("scipy")))
"""


def test_two_arm_readout_imports_no_scipy():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def _mp_quantile(q, a, b):
    """Quantile of Beta(a, b) by Newton in log x on mpmath's regularized incomplete beta (40
    digits), started at the small-x closed form x = (q a B(a, b))^(1/a)."""
    with mp.workdps(40):
        q, a, b = mp.mpf(q), mp.mpf(a), mp.mpf(b)
        t0 = (mp.log(q) + mp.log(a) + mp.log(mp.beta(a, b))) / a
        t = mp.findroot(lambda t: mp.log(mp.betainc(a, b, 0, mp.exp(t), regularized=True))
                        - mp.log(q), t0)
        return mp.exp(t)


@pytest.mark.parametrize("a,b", [(0.5, 0.5), (0.5, 100.5), (0.1, 20.0), (0.3, 1e8),
                                 (0.1, 1e12 + 0.1), (1.0, 1e13), (0.9, 3.0)],
                         ids=lambda v: f"{v:g}")
def test_quantile_below_1_at_tiny_levels_against_mpmath(a, b):
    """A parameter below 1 at q <= 1e-30 used to raise OverflowError (exp of the logit's
    minus, 1e-300 deep). Now: 1e-13 relative where the quantile is a normal double, a
    subnormal or 0.0 where it lies below the smallest one (never an error)."""
    for q in (1e-10, 1e-30, 1e-31, 1e-60, 1e-100, 1e-200, 1e-300):
        ref = _mp_quantile(q, a, b)
        got = C.ppf(q, a, b)
        if ref > mp.mpf("1e-300"):
            assert got == pytest.approx(float(ref), rel=1e-12), (q, got, ref)
        else:
            assert 0.0 <= got <= 1e-300
            assert got == pytest.approx(float(ref), abs=1e-310)
    assert K.ppf(1e-300, a, b) == C.ppf(1e-300, a, b)  # the public path is this one


@pytest.mark.parametrize("a,b", [(3.0, 0.5), (100.5, 0.5), (0.5, 0.5)])
def test_quantile_with_b_below_1_near_1_against_mpmath(a, b):
    for q in (1e-12, 1e-6, 0.3):
        ref = 1 - _mp_quantile(q, b, a)  # the upper quantile of Beta(a, b)
        assert C.ppf(1 - q, a, b) == pytest.approx(float(ref), rel=1e-12, abs=1e-15)
