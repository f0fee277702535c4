"""The fixed-node rule of kernels/difference.py against adaptive quadrature (scipy quad)."""

import pytest
from scipy import stats

from bayeslab.kernels import difference as D

CASES = [
    (stats.t(df=4000, loc=26.98, scale=1.9), stats.t(df=36000, loc=23.95, scale=0.45)),
    (stats.t(df=5, loc=1, scale=2), stats.t(df=7, loc=0.5, scale=1)),
    (stats.gamma(a=12000, scale=1 / 4000), stats.gamma(a=100000, scale=1 / 36000)),
    (stats.beta(a=200, b=1800), stats.beta(a=1500, b=13500)),
    (stats.norm(0.1, 1), stats.norm(0, 0.1)),
]


@pytest.mark.parametrize("a,b", CASES)
def test_fixed_nodes_equal_adaptive_quadrature(a, b):
    for d in (-1.0, 0.0, 0.01, 0.3, 3.0):
        ref = D._quad_adaptive(lambda u, d=d: b.pdf(u) * a.cdf(d + u), b)
        assert D.diff_cdf(d, a, b) == pytest.approx(min(max(ref, 0), 1), abs=1e-9)
    ref = D._quad_adaptive(lambda u: b.pdf(u) * D.partial_below(a, u), b)
    assert D.expected_loss(a, b) == pytest.approx(ref, rel=1e-8, abs=1e-15)
    if b.cdf(0.0) < 1e-6:
        for r in (0.8, 1.0, 1.3):
            ref = D._quad_adaptive(lambda u, r=r: b.pdf(u) * a.cdf(r * u), b)
            assert D.ratio_cdf(r, a, b) == pytest.approx(ref, abs=1e-9)


# --- degenerate posteriors (issue 14: the quantile search looped forever) -------------------

def test_point_mass_control_is_the_treatment_shifted():
    a, b = stats.t(df=50, loc=9.5, scale=0.46), stats.t(df=199, loc=0.0, scale=0.0)
    out = D.compare(a, b, interval=0.95)
    assert out["lower"] == pytest.approx(a.ppf(0.025), rel=1e-12)
    assert out["upper"] == pytest.approx(a.ppf(0.975), rel=1e-12)
    assert out["prob_negative"] == pytest.approx(a.cdf(0.0), rel=1e-12)
    assert out["expected_loss"] == pytest.approx(D.partial_below(a, 0.0), rel=1e-12)


def test_point_mass_treatment_against_simulation():
    import numpy as np

    a, b = stats.norm(2.0, 0.0), stats.t(df=30, loc=1.5, scale=0.2)
    out = D.compare(a, b)
    draws = b.rvs(size=2_000_000, random_state=np.random.default_rng(3))
    assert out["prob_positive"] == pytest.approx(np.mean(draws < 2.0), abs=2e-3)
    from scipy import integrate

    loss = integrate.quad(lambda x: (x - 2.0) * b.pdf(x), 2.0, 50.0, epsabs=1e-14)[0]
    assert out["expected_loss"] == pytest.approx(loss, rel=1e-9)
    assert out["lower"] == pytest.approx(np.quantile(2.0 - draws, 0.025), abs=5e-3)
    assert out["rel_estimate"] == pytest.approx(2.0 / 1.5 - 1, rel=1e-12)


def test_two_point_masses_give_a_constant():
    out = D.compare(stats.t(df=9, loc=3.0, scale=0.0), stats.t(df=9, loc=2.0, scale=0.0))
    assert (out["lower"], out["upper"], out["prob_positive"]) == (1.0, 1.0, 1.0)


def test_quantile_search_is_bounded():
    # a "CDF" that never reaches the level (an improper posterior) raises instead of looping
    from bayeslab.core.errors import ModelError

    with pytest.raises(ModelError, match="no quantile"):
        D._solve(lambda z: 0.5, 0.975, 0.0, 1e-300)
    with pytest.raises(ModelError, match="no quantile"):
        D._solve(lambda z: 0.5, 0.025, 0.0, 0.0)


@pytest.mark.parametrize("mu", [9, 15, 30, 60])
def test_small_tails_keep_their_digits_normal(mu):
    # exact: P(A < B) = Phi(-mu / sqrt(1 + 0.25)); at mu = 60 it is below 1e-300 (reported 0)
    import numpy as np

    out = D.compare(stats.norm(mu, 1), stats.norm(0, 0.5))
    ref = stats.norm.cdf(-mu / np.hypot(1, 0.5))
    assert out["prob_negative"] == pytest.approx(ref, rel=1e-9)
    assert out["prob_positive"] == 1.0 - out["prob_negative"]


@pytest.mark.parametrize("shape_a,shape_b", [(400, 200), (1000, 500), (408.5, 0.5)])
def test_small_tails_keep_their_digits_gamma(shape_a, shape_b):
    # equal rates: A / (A + B) ~ Beta(shape_a, shape_b), so P(A < B) = I_{1/2}(shape_a, shape_b)
    from scipy import special

    out = D.compare(stats.gamma(a=shape_a, scale=1 / 200), stats.gamma(a=shape_b, scale=1 / 200))
    assert out["prob_negative"] == pytest.approx(special.betainc(shape_a, shape_b, 0.5),
                                                 rel=1e-9)


# --- two Betas go to the Beta kernel (issue 22: one definition of P(p_T > p_C)) -------------

def test_two_betas_are_handed_to_the_beta_kernel(monkeypatch):
    from bayeslab.kernels import beta as K

    a, b = stats.beta(a=57, b=346), stats.beta(42, 361)
    p = (57.0, 346.0, 42.0, 361.0)
    monkeypatch.setattr(D, "_quad", lambda *_, **__: pytest.fail("quadrature on two Betas"))
    assert D.compare(a, b, interval=0.9) == K.compare(*p, interval=0.9)
    assert D.diff_cdf(0.01, a, b) == K.diff_cdf(0.01, *p)
    assert D.diff_quantile(0.3, a, b) == K.diff_quantile(0.3, *p)
    assert D.ratio_cdf(1.2, a, b) == K.ratio_cdf(1.2, *p)
    assert D.ratio_quantile(0.7, a, b) == K.ratio_quantile(0.7, *p)
    assert D.expected_loss(a, b) == K.expected_loss(*p)
    assert D.prob_tail(a, b, upper=False) == K.prob_greater_pair(*p)[1]
    out = D.compare(a, b)
    assert out["prob_positive"] == pytest.approx(1 - D.diff_cdf(0.0, a, b), abs=1e-12)


def test_a_beta_beside_another_family_keeps_the_quadrature():
    """A shifted Beta is not the kernel's; a Beta beside a Normal is integrated here, its
    partial expectation from the kernel's CDF."""
    a, b = stats.beta(a=200, b=1800), stats.norm(0.09, 0.01)
    assert D._beta_pair(a, b) is None and D._beta_pair(stats.beta(2, 3, loc=1), a) is None
    ref = D._quad_adaptive(lambda u: b.pdf(u) * (u * stats.beta.cdf(u, 200, 1800) - 0.1 * stats
                                                 .beta.cdf(u, 201, 1800)), b)
    assert D.expected_loss(a, b) == pytest.approx(ref, rel=1e-8)
