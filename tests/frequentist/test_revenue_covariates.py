"""Several covariates from sufficient statistics: ANCOVA HC0/HC1 against statsmodels OLS on unit
rows, CUPED against Welch on the adjusted unit rows, and the one-covariate path unchanged."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from bayeslab.core.errors import DataError, ModelError
from bayeslab.data.covariates import covariates_moments, from_arm_stats
from bayeslab.data.moments import covariate_moments
from bayeslab.data.sources import open_source
from bayeslab.frequentist.revenue import Ancova, Cuped, RevenueTests, ancova, cuped, revenue


def frame(n=4000, arms=("control", "b", "c"), seed=3, mean_shift=0.0):
    """Heteroskedastic outcome on two numeric and one categorical covariate."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(arms, n)
    x1 = rng.gamma(2, 10, n) + mean_shift
    x2 = rng.normal(0, 1, n)
    country = rng.choice(["US", "DE", "FR", "JP"], n, p=[0.4, 0.3, 0.2, 0.1])
    y = (50 + 0.8 * x1 + 3 * x2 + 2.0 * (arm == "b") + 5.0 * (country == "DE")
         + rng.normal(0, 1 + 0.2 * np.abs(x1 - mean_shift), n))
    return pd.DataFrame({"arm": arm, "x1": x1, "x2": x2, "country": country, "y": y})


def unit_design(df, arms, covariates):
    """Intercept, treatment dummies, numeric covariates and dropped-first one-hot levels."""
    cols = {"const": np.ones(len(df))}
    for a in arms[1:]:
        cols[a] = (df["arm"] == a).to_numpy(float)
    for c in covariates:
        if not pd.api.types.is_numeric_dtype(df[c]):
            for lv in sorted(df[c].unique())[1:]:
                cols[f"{c}[{lv}]"] = (df[c] == lv).to_numpy(float)
        else:
            cols[c] = df[c].to_numpy(float)
    return pd.DataFrame(cols)


@pytest.mark.parametrize("cov_type", ["HC1", "HC0"])
@pytest.mark.parametrize("covariates", [["x1", "x2"], ["x1", "x2", "country"], ["country"]])
def test_ancova_equals_statsmodels_ols_hc(cov_type, covariates):
    df = frame(mean_shift=200.0)  # far-from-zero means: the centering must hold the precision
    cm = covariates_moments(open_source(df), arm="arm", metric="y", covariates=covariates)
    got = Ancova(cov_type=cov_type).fit(cm)
    X = unit_design(df, cm.arms, covariates)
    ref = sm.OLS(df["y"].to_numpy(), X).fit(cov_type=cov_type)
    for r in got.comparisons.itertuples():
        assert r.estimate == pytest.approx(ref.params[r.arm], rel=1e-8, abs=1e-10)
        assert r.se == pytest.approx(ref.bse[r.arm], rel=1e-8)
        assert r.p_value == pytest.approx(ref.pvalues[r.arm], rel=1e-6, abs=1e-12)
    coefs = got.detail["coefficients"]
    assert list(coefs) == [c for c in X.columns if c not in ("const", *cm.arms)]
    for name, value in coefs.items():
        assert value == pytest.approx(ref.params[name], rel=1e-8)
    assert got.covariate == ",".join(covariates)


def test_general_path_equals_the_one_covariate_path():
    df = frame()
    st = covariate_moments(open_source(df), arm="arm", metric="y", covariate="x1")
    cm = covariates_moments(open_source(df), arm="arm", metric="y", covariates="x1")
    for stats in (from_arm_stats(st), cm):
        for f in (ancova, cuped):
            old, new = f(st).comparisons, f(stats).comparisons
            np.testing.assert_allclose(new["estimate"], old["estimate"], rtol=1e-10)
            np.testing.assert_allclose(new["se"], old["se"], rtol=1e-10)
    assert len(cm.raw) == 12  # n and the 11 sums covariate_moments reads, no more


def test_cuped_several_covariates_is_welch_on_adjusted_rows():
    df = frame(arms=("control", "b"))
    cm = covariates_moments(open_source(df), arm="arm", metric="y", covariates=["x1", "x2"])
    got = Cuped(theta="pooled").fit(cm).comparisons.iloc[0]
    X = df[["x1", "x2"]].to_numpy()
    theta = np.linalg.lstsq(np.c_[np.ones(len(df)), X], df["y"], rcond=None)[0][1:]
    adj = df["y"] - (X - X.mean(0)) @ theta
    b, c = adj[df["arm"] == "b"], adj[df["arm"] == "control"]
    t = sps.ttest_ind(b, c, equal_var=False)
    assert got["estimate"] == pytest.approx(b.mean() - c.mean(), rel=1e-9)
    assert got["p_value"] == pytest.approx(t.pvalue, rel=1e-7)
    raw_se = np.sqrt(df["y"][df.arm == "b"].var() / len(b) + df["y"][df.arm == "control"].var()
                     / len(c))
    assert got["variance_reduction"] == pytest.approx(1 - got["se"] ** 2 / raw_se**2, rel=1e-9)
    within = cuped(cm, theta="within").comparisons["estimate"].iloc[0]
    assert within == pytest.approx(ancova(cm).comparisons["estimate"].iloc[0], rel=1e-10)
    with pytest.raises(ModelError, match="2 numbers"):
        cuped(cm, theta=[1.0])


def test_more_covariates_reduce_variance_more():
    df = frame(arms=("control", "b"))
    src = open_source(df)
    one = ancova(covariates_moments(src, arm="arm", metric="y", covariates="x1"))
    three = ancova(covariates_moments(src, arm="arm", metric="y",
                                      covariates=["x1", "x2", "country"]))
    assert three.comparisons["se"].iloc[0] < one.comparisons["se"].iloc[0]
    assert three.comparisons["variance_reduction"].iloc[0] > \
        one.comparisons["variance_reduction"].iloc[0] + 0.05


def test_revenue_readout_with_several_covariates_and_clipping():
    df = frame()
    res = revenue(df, arm="arm", metric="y", covariate="x1,country", clip="trim",
                  clip_quantile=0.99)
    assert res.ancova.covariate == "x1,country" and res.clipping.method == "trim"
    assert res.rows.read == len(df) and res.rows.n_excluded > 0
    assert RevenueTests().fit(res.stats).ancova.comparisons.shape[0] == 2


def test_collinear_and_constant_covariates_are_named():
    df = frame()
    df["x3"] = 2 * df["x1"] + 1
    with pytest.raises(DataError, match="collinear"):
        ancova(covariates_moments(open_source(df), arm="arm", metric="y", covariates="x1,x3"))
    df["k"] = 7.0
    with pytest.raises(DataError, match="'k' is constant"):
        ancova(covariates_moments(open_source(df), arm="arm", metric="y", covariates="x1,k"))
