import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from bayeslab.core.errors import DataError, ModelError
from bayeslab.data.moments import covariate_moments
from bayeslab.data.sources import open_source
from bayeslab.data.stats import sufficient_stats
from bayeslab.frequentist.revenue import ancova, cuped, pooled_theta, revenue, within_theta
from tests.revenue_data import revenue_frame


def _stats(df):
    return covariate_moments(open_source(df), arm="arm", metric="y", covariate="x")


def _sm_fit(df, cov_type):
    arms = np.sort(df["arm"].unique())
    dummies = np.column_stack([(df["arm"] == a).to_numpy(float) for a in arms[1:]])
    X = np.column_stack([np.ones(len(df)), dummies, df["x"] - df["x"].mean()])
    return sm.OLS(df["y"].to_numpy(), X).fit(cov_type=cov_type)


@pytest.mark.parametrize("cov_type", ["HC1", "HC0"])
@pytest.mark.parametrize("arms", [2, 3])
def test_ancova_equals_statsmodels_hc(cov_type, arms):
    """Coefficient, HC standard error and interval equal statsmodels OLS(...).fit(cov_type)."""
    df = revenue_frame(n=4000, arms=arms, seed=arms)
    res = ancova(_stats(df), cov_type=cov_type)
    fit = _sm_fit(df, cov_type)
    ci = fit.conf_int()
    for i, row in enumerate(res.comparisons.itertuples(), start=1):
        assert row.estimate == pytest.approx(fit.params[i], rel=1e-8)
        assert row.se == pytest.approx(fit.bse[i], rel=1e-8)
        assert row.lower == pytest.approx(ci[i, 0], rel=1e-8)
        assert row.upper == pytest.approx(ci[i, 1], rel=1e-8)
        assert row.p_value == pytest.approx(fit.pvalues[i], rel=1e-6, abs=1e-300)
    assert res.slope == pytest.approx(fit.params[-1], rel=1e-8)


def test_cuped_within_equals_ancova_coefficient():
    df = revenue_frame(seed=11)
    s = _stats(df)
    a, c = ancova(s), cuped(s, theta="within")
    assert c.method == "cuped-within"
    assert c.comparisons["estimate"].iloc[0] == pytest.approx(a.comparisons["estimate"].iloc[0],
                                                              rel=1e-8)
    assert c.slope == pytest.approx(a.slope, rel=1e-8)
    assert within_theta(s) == pytest.approx(_sm_fit(df, "HC1").params[-1], rel=1e-8)


def test_cuped_pooled_theta_by_hand():
    """theta = cov(x, y) / var(x) pooled; then Welch on y - theta (x - mean x) (scipy)."""
    df = revenue_frame(seed=5)
    s = _stats(df)
    x, y, d = df["x"].to_numpy(), df["y"].to_numpy(), df["arm"].to_numpy()
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    assert pooled_theta(s) == pytest.approx(theta, rel=1e-10)
    adj = y - theta * (x - x.mean())
    t = stats.ttest_ind(adj[d == 1], adj[d == 0], equal_var=False)
    ci = t.confidence_interval(0.95)
    res = cuped(s).comparisons.iloc[0]
    assert res["estimate"] == pytest.approx(adj[d == 1].mean() - adj[d == 0].mean(), rel=1e-10)
    assert res["p_value"] == pytest.approx(t.pvalue, rel=1e-6)
    assert res["lower"] == pytest.approx(ci.low, rel=1e-9)
    assert res["upper"] == pytest.approx(ci.high, rel=1e-9)
    raw = stats.ttest_ind(y[d == 1], y[d == 0], equal_var=False)
    se_raw = (y[d == 1].mean() - y[d == 0].mean()) / raw.statistic
    se_adj = res["estimate"] / t.statistic
    assert res["variance_reduction"] == pytest.approx(1 - se_adj**2 / se_raw**2, rel=1e-8)
    assert res["variance_reduction"] > 0.5  # the covariate explains most of the variance


def test_revenue_readout_methods_and_variance_reduction():
    df = revenue_frame(seed=2)
    out = revenue(df, arm="arm", metric="y", covariate="x")
    methods = {(e.method, e.effect) for e in out.estimates()}
    assert methods == {(m, e) for m in ("welch", "cuped", "ancova-hc")
                       for e in ("absolute", "relative")}
    for e in out.estimates():
        if e.method != "welch":
            assert 0 < e.extra["variance_reduction"] < 1
    welch = stats.ttest_ind(df.y[df.arm == 1], df.y[df.arm == 0], equal_var=False)
    assert out.welch.comparisons["p_value"].iloc[0] == pytest.approx(welch.pvalue, rel=1e-6)
    assert out.to_dict()["rows"]["used"] == len(df)


@pytest.mark.parametrize("method", ["winsorize", "trim"])
def test_clipping_is_reported(method):
    df = revenue_frame(seed=3)
    out = revenue(df, arm="arm", metric="y", covariate="x", clip=method, clip_quantile=0.98)
    cap = np.quantile(df["y"], 0.98)  # linear interpolation, as DuckDB's quantile_cont
    clip = out.clipping
    assert clip.cap == pytest.approx(cap, rel=1e-12)
    above = df["y"] > cap
    assert clip.rows_affected == {str(a): int(above[df.arm == a].sum()) for a in (0, 1)}
    before = revenue(df, arm="arm", metric="y", covariate="x")
    clipped = df.assign(y=np.minimum(df["y"], cap)) if method == "winsorize" else df[~above]
    after = revenue(clipped.reset_index(drop=True), arm="arm", metric="y", covariate="x")
    for m, res in (("welch", "welch"), ("cuped", "cuped"), ("ancova-hc", "ancova")):
        assert clip.before[m] == pytest.approx(
            getattr(before, res).comparisons["estimate"].iloc[0], rel=1e-10)
        assert clip.after[m] == pytest.approx(
            getattr(after, res).comparisons["estimate"].iloc[0], rel=1e-10)
    d = clip.to_dict()
    assert d["moved"]["welch"] == pytest.approx(clip.after["welch"] - clip.before["welch"])
    assert all(e.extra["clipping"]["method"] == method for e in out.estimates())
    if method == "trim":
        assert out.rows.read == len(df) and out.rows.used == len(df) - int(above.sum())
        assert any("trimmed" in k for k in out.rows.excluded)
    else:
        assert out.rows.used == len(df)


def test_errors():
    df = revenue_frame(n=200)
    with pytest.raises(DataError, match="'z'"):
        revenue(df, arm="arm", metric="y", covariate="z")
    plain = sufficient_stats(open_source(df), arm="arm", metric="y", kind="continuous",
                             covariate="x")
    with pytest.raises(DataError, match="higher cross-moments"):
        ancova(plain)
    with pytest.raises(ModelError, match="HC3"):
        ancova(_stats(df), cov_type="HC3")
    with pytest.raises(ModelError, match="theta"):
        cuped(_stats(df), theta="median")
    with pytest.raises(DataError, match="covariate"):
        cuped(sufficient_stats(open_source(df), arm="arm", metric="y", kind="continuous"))
    with pytest.raises(DataError, match="constant"):
        ancova(_stats(df.assign(x=1.0)))
    with pytest.raises(DataError, match="clipping quantile"):
        revenue(df, arm="arm", metric="y", covariate="x", clip="trim", clip_quantile=1.5)
    bad = df.astype({"x": float}).copy()
    bad.loc[3, "x"] = np.nan
    with pytest.raises(DataError, match="'x' is missing"):
        revenue(bad, arm="arm", metric="y", covariate="x")
    out = revenue(bad, arm="arm", metric="y", covariate="x", missing="exclude")
    assert out.rows.n_excluded == 1


def test_checked_scan_equals_clean_scan():
    """A NaN row sends the scan down the row-by-row checked path; excluded, it changes nothing."""
    df = revenue_frame(n=600, seed=13)
    bad = df.astype({"x": float}).copy()
    bad.loc[7, "x"] = np.inf
    bad.loc[8, "y"] = np.nan
    dirty = covariate_moments(
        open_source(bad), arm="arm", metric="y", covariate="x", missing="exclude")
    clean = _stats(df.drop(index=[7, 8]).reset_index(drop=True))
    pd.testing.assert_frame_equal(dirty.table, clean.table, rtol=1e-12)
    assert dirty.rows.excluded == {"y is missing or not finite": 1,
                                   "x is missing or not finite": 1}
    neg = df.copy()
    neg.loc[3, "y"] = -1.0
    with pytest.raises(DataError, match="non-negative"):
        covariate_moments(open_source(neg), arm="arm", metric="y", covariate="x", kind="count")


def test_moments_match_numpy():
    df = revenue_frame(n=1000, seed=9)
    t = _stats(df).by_arm()
    for a in (0, 1):
        sub = df[df.arm == a]
        y, x = sub["y"].to_numpy(), sub["x"].to_numpy()
        row = t.loc[str(a)]
        assert row["sum_yyxx"] == pytest.approx(np.sum(y * y * x * x), rel=1e-12)
        assert row["sum_yxxx"] == pytest.approx(np.sum(y * x**3), rel=1e-12)
        assert row["sum_xxxx"] == pytest.approx(np.sum(x**4), rel=1e-12)
        assert row["sum_yyx"] == pytest.approx(np.sum(y * y * x), rel=1e-12)


def test_str_and_json():
    out = revenue(revenue_frame(n=500), arm="arm", metric="y", covariate="x")
    assert "ancova-hc" in str(out)
    assert isinstance(out.summary(), pd.DataFrame)
    import json

    json.dumps(out.to_dict())
