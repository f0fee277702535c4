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
