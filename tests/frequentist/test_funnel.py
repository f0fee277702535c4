import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError
from bayeslab.data.funnel import FunnelStats, funnel_stats
from bayeslab.data.sources import open_source
from bayeslab.data.stats import sufficient_stats
from bayeslab.frequentist.funnel import compare_ratios, funnel, ratio_delta, ratio_metric


def funnel_frame(n=30000, seed=0):
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    clicked = rng.random(n) < 0.10 + 0.01 * arm
    converted = clicked & (rng.random(n) < 0.2)
    return pd.DataFrame({"arm": arm, "clicked": clicked.astype(int),
                         "converted": converted.astype(int)})


def test_delta_method_coverage_simulation():
    """User-level ratio (clicks per view, views per user vary): 4,000 simulated experiments.

    Views per user ~ Poisson(Gamma-mixed mean 3), clicks ~ Binomial(views, p_user) with
    p_user ~ Beta(2, 18): the true ratio E[clicks] / E[views] is 0.1 in both arms. The MC
    standard error of a 95% coverage rate from 4,000 experiments is 0.0034; we allow 0.012.
    """
    rng = np.random.default_rng(2024)
    reps, n = 4000, 500
    lam = rng.gamma(2.0, 1.5, size=(reps, 2, n))
    views = rng.poisson(lam)
    p = rng.beta(2, 18, size=(reps, 2, n))
    clicks = rng.binomial(views, p)
    sums = [x.sum(axis=2) for x in (clicks, views, clicks**2, views**2, clicks * views)]
    r, v = ratio_delta(n, *sums)
    k = compare_ratios(r[:, 1], v[:, 1], r[:, 0], v[:, 0])
    diff_cov = np.mean((k["lower"] <= 0) & (0 <= k["upper"]))
    z = 1.959963984540054
    arm_cov = np.mean(np.abs(r - 0.1) <= z * np.sqrt(v))
    print(f"delta-method coverage: difference {diff_cov:.4f}, per-arm ratio {arm_cov:.4f}")
    assert diff_cov == pytest.approx(0.95, abs=0.012)
    assert arm_cov == pytest.approx(0.95, abs=0.012)
    # the naive binomial interval that treats views as independent trials under-covers
    naive = np.sqrt(r * (1 - r) / sums[1])
    naive_cov = np.mean(np.abs(r - 0.1) <= z * naive)
    assert naive_cov < 0.93


def test_ratio_metric_from_sufficient_stats_equals_numpy():
    rng = np.random.default_rng(1)
    n = 3000
    views = rng.poisson(3, n)
    df = pd.DataFrame({"arm": rng.integers(0, 2, n), "views": views,
                       "clicks": rng.binomial(views, 0.1)})
    s = sufficient_stats(open_source(df), arm="arm", metric="clicks", covariate="views",
                         kind="count")
    res = ratio_metric(s)
    for a in (0, 1):
        sub = df[df.arm == a]
        u, w = sub.clicks.to_numpy(float), sub.views.to_numpy(float)
        r = u.sum() / w.sum()
        var = np.var(u - r * w, ddof=1) / (len(u) * w.mean() ** 2)
        row = res.per_arm[res.per_arm.arm == str(a)].iloc[0]
        assert row["estimate"] == pytest.approx(r, rel=1e-12)
        assert row["se"] == pytest.approx(np.sqrt(var), rel=1e-9)
    assert res.comparisons["rate"].iloc[0] == "clicks/views"


def test_funnel_rates_and_cvr_identity():
    df = funnel_frame()
    fs = funnel_stats(df, arm="arm", stages=["clicked", "converted"])
    res = funnel(fs)
    pa = res.per_arm.set_index(["rate", "arm"])["estimate"]
    for a in ("0", "1"):
        sub = df[df.arm == int(a)]
        assert pa["ctr", a] == pytest.approx(sub.clicked.mean(), rel=1e-12)
        assert pa["pcvr", a] == pytest.approx(sub.converted.sum() / sub.clicked.sum(), rel=1e-12)
        assert pa["cvr", a] == pytest.approx(pa["ctr", a] * pa["pcvr", a], rel=1e-12)
        # binary CTR: delta variance is p (1 - p) / (n - 1)
        p, n = sub.clicked.mean(), len(sub)
        se = res.per_arm.set_index(["rate", "arm"])["se"]["ctr", a]
        assert se == pytest.approx(np.sqrt(p * (1 - p) / (n - 1)), rel=1e-10)
    assert {e.extra["rate"] for e in res.estimates()} == {"ctr", "pcvr", "cvr"}
    assert len(res.estimates(rate="ctr")) == 2


def test_funnel_validation():
    df = funnel_frame(n=200)
    bad = df.copy()
    bad.loc[5, ["clicked", "converted"]] = [0, 1]
    with pytest.raises(DataError, match="nested"):
        funnel_stats(bad, arm="arm", stages=["clicked", "converted"])
    bad = df.copy()
    bad.loc[5, "clicked"] = 2
    with pytest.raises(DataError, match="0 or 1"):
        funnel_stats(bad, arm="arm", stages=["clicked", "converted"])
    with pytest.raises(DataError, match="nested"):
        FunnelStats.from_counts(["a", "b"], [100, 100], [[10, 20], [10, 5]])
    with pytest.raises(DataError, match="denominator"):
        ratio_metric(sufficient_stats(open_source(df), arm="arm", metric="clicked",
                                      kind="count"))


def test_from_counts_equals_unit_rows():
    df = funnel_frame(n=5000, seed=3)
    fs = funnel_stats(df, arm="arm", stages=["clicked", "converted"])
    agg = FunnelStats.from_counts(fs.arms, fs.users, fs.counts)
    a, b = funnel(fs).comparisons, funnel(agg).comparisons
    pd.testing.assert_frame_equal(a, b)
