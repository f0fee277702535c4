import numpy as np
import pytest
import statsmodels.api as sm

from bayeslab.bayes.retention import events_exposure, log_hr_log_density, piecewise_exponential
from bayeslab.core.errors import ModelError
from tests.frequentist.test_retention import churn


def test_events_and_exposure_by_hand():
    d = np.array([0.5, 1.5, 2.5, 4.0])
    e = np.array([1, 0, 1, 1])
    ev, ex = events_exposure(d, e, np.array([0.0, 1.0, 3.0]))
    np.testing.assert_allclose(ev, [1, 1, 1])
    np.testing.assert_allclose(ex, [0.5 + 1 + 1 + 1, 0.5 + 1.5 + 2, 1.0])


def test_marginal_density_integrates_baseline_out():
    """The closed-form marginal equals numerical integration over the baseline rate (1 interval)."""
    from scipy import integrate, stats

    dc, ec, dt, et = np.array([7.0]), np.array([50.0]), np.array([4.0]), np.array([45.0])
    a0, b0, sd = 1.5, 2.0, 1.0

    def brute(beta):
        f = lambda lam: (stats.gamma.pdf(lam, a0, scale=1 / b0)  # noqa: E731
                         * stats.poisson.pmf(7, ec[0] * lam)
                         * stats.poisson.pmf(4, et[0] * lam * np.exp(beta)))
        return np.log(integrate.quad(f, 0, 5, epsabs=1e-15, limit=200)[0]) \
            + stats.norm.logpdf(beta, 0, sd)

    grid = np.array([-1.0, 0.0, 0.7])
    exact = log_hr_log_density(grid, dc, ec, dt, et, shape=a0, rate=b0, sd=sd)
    ref = np.array([brute(b) for b in grid])
    np.testing.assert_allclose(exact - exact[0], ref - ref[0], atol=1e-8)


def test_vague_prior_close_to_cox():
    rows = churn(n=6000, seed=1)
    post = piecewise_exponential(rows, n_intervals=12, prior_log_hr_sd=10.0)
    r = post.comparisons.iloc[0]
    fit = sm.PHReg(rows.duration, rows.arm_index.astype(float), status=rows.event,
                   ties="efron").fit()
    assert r["log_hr_mean"] == pytest.approx(fit.params[0], abs=0.15 * fit.bse[0])
    assert r["log_hr_sd"] == pytest.approx(fit.bse[0], rel=0.05)
    est = post.estimates()[0]
    assert est.method == "bayes-piecewise-exponential" and est.effect == "hazard-ratio"
    assert est.lower < 0.8 < est.upper
    curve = post.survival_curve([0.0, 10.0, 30.0])
    assert curve["0"].iloc[0] == 1.0 and curve["1"].iloc[2] > curve["0"].iloc[2]


def test_errors():
    rows = churn(n=300)
    with pytest.raises(ModelError, match="cuts"):
        piecewise_exponential(rows, cuts=[1.0, 2.0])
    with pytest.raises(ModelError):
        piecewise_exponential(rows, prior_log_hr_sd=0)


@pytest.mark.slow
def test_grid_posterior_equals_pymc():
    """Same model sampled by NUTS (baselines not integrated out); tolerance from the MCSE."""
    import pymc as pm

    rows = churn(n=3000, seed=7)
    post = piecewise_exponential(rows, n_intervals=6, prior_shape=1.0, prior_rate=1.0)
    ev, ex = post.events, post.exposure
    with pm.Model():
        lam = pm.Gamma("lam", alpha=1.0, beta=1.0, shape=ev.shape[1])
        beta = pm.Normal("beta", 0.0, 1.0)
        pm.Poisson("dc", ex[0] * lam, observed=ev[0])
        pm.Poisson("dt", ex[1] * lam * pm.math.exp(beta), observed=ev[1])
        idata = pm.sample(draws=500, tune=500, chains=2, cores=1, random_seed=1,
                          progressbar=False, compute_convergence_checks=False)
    b = np.asarray(idata["posterior"]["beta"]).ravel()
    r = post.comparisons.iloc[0]
    assert abs(b.mean() - r["log_hr_mean"]) < 0.2 * r["log_hr_sd"]
    assert b.std() == pytest.approx(r["log_hr_sd"], rel=0.15)
    assert np.quantile(np.exp(b), 0.5) == pytest.approx(r["hr_median"], rel=0.02)


def test_results_are_json_safe():
    import json

    from bayeslab.bayes.funnel import funnel
    from bayeslab.bayes.means import gamma_poisson, normal_means
    from bayeslab.data.funnel import FunnelStats
    from bayeslab.frequentist.funnel import funnel as ffunnel
    from bayeslab.frequentist.means import welch
    from bayeslab.frequentist.retention import kaplan_meier
    from tests.frequentist.test_means import _counts, _stats

    rows = churn(n=500)
    fs = FunnelStats.from_counts(["0", "1"], [500, 480], [[60, 14], [70, 9]])
    s = _stats(_counts())
    for res in (piecewise_exponential(rows), kaplan_meier(rows, horizon=10), funnel(fs),
                ffunnel(fs), normal_means(s), gamma_poisson(s), welch(s)):
        json.dumps(res.to_dict())
        assert str(res) and not res.summary().empty
