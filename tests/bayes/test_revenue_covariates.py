"""The conjugate regression with several covariates: against the closed-form OLS posterior on unit
rows (statsmodels), and against a PyMC fit of the same model on unit rows (slow)."""

import numpy as np
import pytest
import statsmodels.api as sm

from bayeslab.bayes.revenue import ConjugateRegression, RegressionPrior, regression
from bayeslab.core.errors import ModelError
from bayeslab.data.covariates import covariates_moments
from bayeslab.data.moments import covariate_moments
from bayeslab.data.sources import open_source
from tests.frequentist.test_revenue_covariates import frame, unit_design

COVS = ["x1", "x2", "country"]


def test_flat_prior_posterior_is_the_ols_t_posterior():
    # p(mu, tau, beta, sigma^2) ~ 1/sigma^2 gives beta | y ~ t_{n-k}(OLS, s^2 (X'X)^-1)
    df = frame(mean_shift=150.0)
    cm = covariates_moments(open_source(df), arm="arm", metric="y", covariates=COVS)
    post = ConjugateRegression().fit(cm)
    X = unit_design(df, cm.arms, COVS)
    ref = sm.OLS(df["y"].to_numpy(), X).fit()
    assert post.df == pytest.approx(ref.df_resid)
    for i, arm in enumerate(cm.arms[1:], start=1):
        assert post.mean[i] == pytest.approx(ref.params[arm], rel=1e-8)
        assert np.sqrt(post.scale[i, i]) == pytest.approx(ref.bse[arm], rel=1e-8)
        lo, hi = ref.conf_int(0.05).loc[arm]
        row = post.comparisons.iloc[i - 1]
        assert (row["lower"], row["upper"]) == pytest.approx((lo, hi), rel=1e-8)
    slopes = [n for n in post.coef_names if n.startswith("slope[")]
    assert slopes == [f"slope[{c}]" for c in X.columns[3:]]
    assert post.covariate == "x1,x2,country"
    assert 0.3 < post.comparisons["variance_reduction"].iloc[0] < 1


def test_one_covariate_numbers_unchanged_and_prior_spec():
    df = frame()
    st = covariate_moments(open_source(df), arm="arm", metric="y", covariate="x1")
    cm = covariates_moments(open_source(df), arm="arm", metric="y", covariates=["x1"])
    a, b = regression(st, prior_effect_scale=0.5), regression(cm, prior_effect_scale=0.5)
    np.testing.assert_allclose(b.mean, a.mean, rtol=1e-10)
    np.testing.assert_allclose(b.scale, a.scale, rtol=1e-9)
    assert a.coef_names[-1] == "slope" and b.coef_names[-1] == "slope[x1]"
    prior = RegressionPrior(effect_scale=0.5)
    assert prior.to_dict()["effect_scale"] == 0.5 and "Normal(0" in str(prior)
    with pytest.raises(ModelError, match="positive"):
        RegressionPrior(effect_scale=-1)


@pytest.mark.slow
def test_posterior_mean_matches_pymc_on_unit_rows():
    import pymc as pm

    df = frame(n=1500, arms=("control", "b"), seed=11)
    cm = covariates_moments(open_source(df), arm="arm", metric="y", covariates=COVS)
    post = regression(cm)
    X = unit_design(df, cm.arms, COVS).to_numpy()
    y = df["y"].to_numpy()
    # the same model: flat coefficients, p(log sigma) flat (i.e. p(sigma^2) ~ 1/sigma^2)
    sx, sy = X[:, 1:].std(0), y.std()
    with pm.Model():
        coef = pm.Flat("coef", shape=X.shape[1])
        log_sigma = pm.Flat("log_sigma")
        Xs = np.c_[X[:, :1], X[:, 1:] / sx]  # scaled columns; coefficients rescaled below
        pm.Normal("y", mu=pm.math.dot(Xs, coef), sigma=pm.math.exp(log_sigma), observed=y / sy)
        idata = pm.sample(draws=500, tune=500, chains=2, random_seed=1, progressbar=False,
                          nuts_sampler="nutpie", compute_convergence_checks=False)
    tau = np.asarray(idata.posterior["coef"])[..., 1].ravel() * sy / sx[0]
    sd = post.coef_posterior("effect[b]").std()
    assert abs(tau.mean() - post.mean[1]) < 0.1 * sd
    assert tau.std() == pytest.approx(sd, rel=0.15)
