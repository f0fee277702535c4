"""Beta kernels with a parameter below 1 (a Jeffreys or lighter prior and few conversions) beside
a huge or tiny arm: the cases where the old branch returned a loss of 0.0 and an interval above
0.99 (issue 23), checked against long seeded simulations with tolerances of 5 Monte Carlo
standard errors."""

import numpy as np
import pytest

from bayeslab.core.errors import ConvergenceError
from bayeslab.kernels import beta as K
from bayeslab.kernels.beta._singular import control_expectation

N = 8_000_000
CASES = [  # (a_t, b_t, a_c, b_c): prior 0.5 or 0.1, conversions / units as in the probe
    (0.5, 100.5, 0.5, 1e8 + 0.5),          # 0 of 100 vs 0 of 1e8
    (0.5, 1e8 + 0.5, 0.5, 100.5),          # the same, arms swapped
    (0.5 + 1e6, 1e8 - 1e6 + 0.5, 0.5, 100.5),
    (5.5, 1e12 - 4.5, 0.5, 1e12 + 0.5),    # 5 vs 0 of 1e12 per arm
    (0.5, 1e12 + 0.5, 0.5, 1e12 + 0.5),    # 0 vs 0 of 1e12
    (0.1, 1e12 + 0.1, 5.1, 1e12 - 4.9),    # prior 0.1
]


def _draws(a_t, b_t, a_c, b_c, seed=0):
    rng = np.random.default_rng(seed)
    return rng.beta(a_t, b_t, N), rng.beta(a_c, b_c, N)


@pytest.mark.slow
@pytest.mark.parametrize("p", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_singular_kernels_match_long_simulation(p):
    t, c = _draws(*p)
    d = t - c
    gt, lt = K.prob_greater_pair(*p)
    hit = d > 0
    assert gt + lt == pytest.approx(1.0, abs=1e-12)
    assert abs(gt - hit.mean()) <= 5 * np.sqrt(max(hit.mean() * (1 - hit.mean()), 1 / N) / N)
    for value, draws in zip(K.expected_losses(*p),
                            (np.maximum(c - t, 0.0), np.maximum(1.0 - t / c, 0.0)),
                            strict=True):
        assert value > 0
        assert abs(value - draws.mean()) <= 5 * draws.std() / np.sqrt(N)
    lo, hi = K.diff_quantiles([0.025, 0.975], *p)
    assert lo < hi                             # was [0.99926, 0.99852]
    for q, level in ((lo, 0.025), (hi, 0.975)):
        share = (d <= q).mean()
        assert abs(share - level) <= 5 * np.sqrt(level * (1 - level) / N)


def test_the_probes_loss_is_no_longer_zero():
    """0 of 100 (treatment) vs 1e8 control units, Beta(0.5, 0.5): the old kernel said the loss
    of shipping was 0.0, so a 0.25 % loss rule passed."""
    absolute, relative = K.expected_losses(0.5, 100.5, 0.5, 1e8 + 0.5)
    assert absolute > 0 and relative > 1e-4
    swapped = K.expected_losses(0.5, 1e8 + 0.5, 0.5, 100.5)
    assert swapped[1] == pytest.approx(0.9987, abs=1e-3)   # the treatment is almost surely worse


def test_a_kernel_that_cannot_reach_its_accuracy_raises():
    def wild(x):  # an integrand no quadrature can pin down: the kernel says so
        return np.sin(1e12 * np.asarray(x)) + 2.0

    # a = 0.5 is the singular case; b = 2 keeps the end u -> 1 regular. With b = 0.5 the
    # halvings drill into that end, where scipy's quantile fails its round trip and each level
    # costs 1 ms in the numpy fallback: the same error after 3 minutes instead of 1 s
    with pytest.raises(ConvergenceError, match="did not reach its accuracy"):
        control_expectation(wild, 0.5, 2.0)


def test_jeffreys_prior_with_no_conversions_beside_a_converting_arm():
    """0 of 900 under Beta(0.5, 0.5) beside 90 of 1000: the control's tail spans 55 decades of
    its quantile scale; split geometrically it converges (it raised ConvergenceError)."""
    from scipy import integrate, stats

    from bayeslab.kernels import beta as K

    gt, _ = K.prob_greater_pair(0.5, 901, 91, 911)
    ref = integrate.quad(lambda x: stats.beta.pdf(x, 0.5, 901) * stats.beta.cdf(x, 91, 911),
                         0, 1, points=[0.01, 0.05, 0.09, 0.12], limit=500, epsabs=0,
                         epsrel=1e-12)[0]
    assert gt == pytest.approx(ref, rel=1e-9)
    lo, hi = K.diff_quantiles([0.025, 0.975], 0.5, 901, 91, 911)
    draws = stats.beta.rvs(0.5, 901, size=400_000, random_state=1) \
        - stats.beta.rvs(91, 911, size=400_000, random_state=2)
    assert lo == pytest.approx(np.quantile(draws, 0.025), abs=1e-3)
    assert hi == pytest.approx(np.quantile(draws, 0.975), abs=1e-3)
