"""Mixture SPRT: closed form against quadrature, type I error under continuous monitoring."""

import json
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from bayeslab.core.errors import DataError, ModelError
from bayeslab.sequential.always_valid import (
    always_valid_means,
    always_valid_proportions,
    confidence_radius,
    log_mixture_likelihood_ratio,
    msprt,
)


@pytest.mark.parametrize("d,v,tau,theta0", [
    (0.3, 0.04, 0.2, 0.0), (-0.05, 0.0025, 0.1, 0.02), (1.5, 1.0, 3.0, 0.0), (0.0, 0.5, 0.3, 0.0),
])
def test_closed_form_equals_numerical_integration(d, v, tau, theta0):
    """Lambda = int N(d; delta, v) N(delta; theta0, tau^2) d delta / N(d; theta0, v), by quad."""
    s = math.sqrt(v)
    num, _ = integrate.quad(lambda x: norm.pdf(d, x, s) * norm.pdf(x, theta0, tau),
                            theta0 - 12 * tau, theta0 + 12 * tau, points=[d], epsabs=0,
                            epsrel=1e-12, limit=200)
    expected = num / norm.pdf(d, theta0, s)
    got = math.exp(log_mixture_likelihood_ratio(d, v, tau, theta0))
    assert got == pytest.approx(expected, rel=1e-8)


def test_confidence_radius_inverts_the_test():
    """theta0 on the edge of the confidence set has Lambda(theta0) = 1/alpha exactly."""
    v, tau, alpha, d = 0.01, 0.05, 0.05, 0.12
    r = confidence_radius(v, tau, alpha)
    for edge in (d - r, d + r):
        lr = log_mixture_likelihood_ratio(d, v, tau, theta0=edge)
        assert lr == pytest.approx(math.log(1 / alpha), rel=1e-10)


def _gaussian_paths(n_exp, n_obs, effect, seed):
    """Cumulative per-arm means of N(0,1) / N(effect,1) data after each pair of observations."""
    rng = np.random.default_rng(seed)
    c = np.cumsum(rng.standard_normal((n_exp, n_obs)), axis=1)
    t = np.cumsum(rng.standard_normal((n_exp, n_obs)) + effect, axis=1)
    n = np.arange(1, n_obs + 1)
    return (t - c) / n, 2.0 / n  # estimate, variance with known sd = 1


def test_type_one_error_under_continuous_monitoring():
    """4,000 null experiments, a look after every one of 1,000 pairs (sigma = 1 known): the
    mixture SPRT's rejection rate is <= alpha = 0.05 (measured 0.009 with this seed; the bound is
    Ville's inequality; tolerance 3 MC sd = 0.010 above alpha), while the naive z-test at 1.96
    looked at every pair rejects far more often (measured 0.53)."""
    n_exp, n_obs, alpha = 4000, 1000, 0.05
    est, var = _gaussian_paths(n_exp, n_obs, 0.0, seed=11)
    log_lr = log_mixture_likelihood_ratio(est, var, tau=0.1)
    rate = (log_lr >= math.log(1 / alpha)).any(axis=1).mean()
    assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / n_exp)
    naive = (np.abs(est / np.sqrt(var)) >= 1.96).any(axis=1).mean()
    assert naive > 0.3


def test_power_under_an_effect():
    """Effect 0.2 sd, 1,000 pairs: the test rejects in >90% of 1,000 experiments (0.95 measured)."""
    est, var = _gaussian_paths(1000, 1000, 0.2, seed=12)
    log_lr = log_mixture_likelihood_ratio(est, var, tau=0.1)
    assert (log_lr >= math.log(20)).any(axis=1).mean() > 0.9


def test_confidence_sequence_coverage():
    """The running-intersection CS covers the true effect at all 1,000 looks in >= 95% of
    2,000 experiments (3 MC sd = 0.015 margin)."""
    effect = 0.15
    est, var = _gaussian_paths(2000, 1000, effect, seed=13)
    r = confidence_radius(var, 0.1, 0.05)
    lower = np.maximum.accumulate(est - r, axis=1)
    upper = np.minimum.accumulate(est + r, axis=1)
    covered = ((lower <= effect) & (effect <= upper)).all(axis=1).mean()
    assert covered >= 0.95 - 3 * math.sqrt(0.05 * 0.95 / 2000)


def test_proportions_type_one_error():
    """Bernoulli(0.1) both arms, 2,000 experiments, 100 looks of 50 per arm: rate <= alpha
    within 3 MC sd (asymptotic guarantee)."""
    rng = np.random.default_rng(5)
    looks, batch, n_exp = 100, 50, 2000
    xc = np.cumsum(rng.binomial(batch, 0.1, (n_exp, looks)), axis=1)
    xt = np.cumsum(rng.binomial(batch, 0.1, (n_exp, looks)), axis=1)
    n = batch * np.arange(1, looks + 1)
    rejected = [always_valid_proportions(n, xc[i], n, xt[i], tau=0.02).rejected
                for i in range(n_exp)]
    assert np.mean(rejected) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n_exp)


def test_result_api():
    n = np.array([100, 200, 400, 800])
    res = always_valid_means(n, [1.0, 1.0, 1.0, 1.0], [1, 1, 1, 1], n, [1.3, 1.25, 1.2, 1.2],
                             [1, 1, 1, 1], tau=0.2)
    assert np.all(np.diff(res.p_value) <= 0)
    assert np.all(np.diff(res.lower) >= 0) and np.all(np.diff(res.upper) <= 0)
    assert res.rejected and res.stop_look is not None
    out = json.loads(json.dumps(res.to_dict()))
    assert out["rejected"] is True and len(out["looks"]) == 4
    e = res.estimates()[0]
    assert e.method == "msprt" and e.level == pytest.approx(0.95)
    assert "Mixture SPRT" in str(res)
    assert list(res.summary().columns)[:2] == ["n", "estimate"]


def test_no_information_looks():
    res = always_valid_proportions([0, 10, 20], [0, 0, 1], [0, 10, 20], [0, 0, 3], tau=0.05)
    assert res.likelihood_ratio[0] == 1.0 and res.likelihood_ratio[1] == 1.0
    assert math.isinf(res.upper[1])


def test_errors():
    with pytest.raises(ModelError, match="tau"):
        msprt([0.1], [0.1], tau=0)
    with pytest.raises(ModelError, match="alpha"):
        msprt([0.1], [0.1], tau=1, alpha=2)
    with pytest.raises(DataError, match="se"):
        msprt([0.1, 0.2], [0.1], tau=1)
    with pytest.raises(DataError, match="x_control exceeds"):
        always_valid_proportions([10], [11], [10], [1], tau=0.1)
