"""Closed-form normal and chi-square tails (bayeslab.kernels.distributions) against
scipy.special."""

import math

import numpy as np
import pytest
from scipy import special

from bayeslab.kernels.distributions import chi2_sf, norm_cdf, norm_ppf, norm_sf


@pytest.mark.parametrize("z", [-35.0, -12.5, -5.0, -1.96, -0.3, 0.0, 0.7, 2.5, 8.0, 30.0])
def test_normal_cdf_and_sf_match_scipy_in_relative_terms(z):
    # far out, the rounding of z / sqrt(2) alone moves Phi by about 1e-16 z^2 in relative terms
    assert norm_cdf(z) == pytest.approx(special.ndtr(z), rel=1e-12, abs=0)
    assert norm_sf(z) == pytest.approx(special.ndtr(-z), rel=1e-12, abs=0)


@pytest.mark.parametrize("q", [1e-300, 1e-20, 1e-6, 0.025, 0.3, 0.5, 0.8, 0.975, 1 - 1e-12])
def test_normal_quantile_matches_scipy(q):
    assert norm_ppf(q) == pytest.approx(special.ndtri(q), rel=1e-13, abs=1e-15)
    assert norm_ppf(0.0) == -math.inf and norm_ppf(1.0) == math.inf


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 9, 10, 31, 50])
@pytest.mark.parametrize("x", [1e-8, 0.01, 0.5, 1.0, 3.84, 10.0, 60.0, 400.0, 1500.0])
def test_chi2_survival_matches_scipy_including_far_tails(df, x):
    want = special.chdtrc(df, x)
    got = chi2_sf(x, df)
    if want > 1e-300:
        assert got == pytest.approx(want, rel=1e-11, abs=0)
    else:
        assert got < 1e-290


def test_chi2_survival_edges_and_bad_degrees_of_freedom():
    assert chi2_sf(0.0, 3) == 1.0 and chi2_sf(-1.0, 1) == 1.0 and chi2_sf(np.inf, 2) == 0.0
    # df = 1 is the two-sided normal tail: P(chi2_1 > z^2) = 2 Phi(-|z|)
    assert chi2_sf(1.96**2, 1) == pytest.approx(2 * norm_cdf(-1.96), rel=1e-14)
    with pytest.raises(ValueError, match="degrees of freedom"):
        chi2_sf(1.0, 0)
