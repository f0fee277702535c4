"""CR1 cluster-robust errors: equal to statsmodels OLS ``cov_type="cluster"``; A/A coverage."""

import numpy as np
import pandas as pd
import pytest

from bayeslab.data.clusters import cluster_stats
from bayeslab.data.sources import open_source
from bayeslab.frequentist.cluster import ClusterRobustTest, cr1_kernel


def _clustered(seed=1, clusters=60, binary=False):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 40, clusters)
    arm = rng.integers(0, 2, clusters)
    cl = np.repeat(np.arange(clusters), sizes)
    a = np.repeat(arm, sizes)
    y = 0.3 * a + np.repeat(rng.normal(0, 1, clusters), sizes) + rng.normal(0, 2, len(cl))
    if binary:
        y = (y > 0.5).astype(int)
    return pd.DataFrame({"arm": a, "acct": cl, "y": y})


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("use_t", [True, False])
def test_equals_statsmodels_ols_cluster_cr1(binary, use_t):
    """statsmodels ``OLS(y, [1, treat]).fit(cov_type="cluster", cov_kwds={"groups": g})``:
    CR1 factor G/(G-1) * (N-1)/(N-K); ``use_t=True`` is Student-t on G-1 df."""
    sm = pytest.importorskip("statsmodels.api")
    df = _clustered(binary=binary)
    st = cluster_stats(open_source(df), arm="arm", metric="y", cluster="acct",
                       kind="binary" if binary else "continuous")
    c = ClusterRobustTest(use_t=use_t).fit(st).comparisons.iloc[0]
    ref = sm.OLS(df.y.astype(float), sm.add_constant(df.arm.astype(float))).fit(
        cov_type="cluster", cov_kwds={"groups": df.acct}, use_t=use_t)
    np.testing.assert_allclose(c.estimate, ref.params.iloc[1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(c.se, ref.bse.iloc[1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([c.lower, c.upper], ref.conf_int().iloc[1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(c.p_value, ref.pvalues.iloc[1], rtol=1e-7)


def test_aa_coverage_cr1_vs_naive():
    """1,000 A/A experiments, 40 clusters of 50 rows per arm, ICC 0.05 (design effect
    1 + 49 * 0.05 = 3.45), on exact sufficient statistics: the CR1 interval covers
    95 % +- 1.5 %; the naive (independent rows) one about 71 %."""
    rng = np.random.default_rng(27)
    sims, G, m, icc = 1000, 40, 50, 0.05
    out = {}
    for arm in (0, 1):
        u = rng.normal(0, np.sqrt(icc), (sims, G))
        ebar = rng.normal(0, np.sqrt((1 - icc) / m), (sims, G))
        within = (1 - icc) * rng.chisquare(m - 1, (sims, G))
        Y = m * (u + ebar)                       # cluster totals
        n, y, nn = G * m, Y.sum(1), G * m * m
        yy, ny = (Y**2).sum(1), m * Y.sum(1)
        sum_sq = (Y**2 / m + within).sum(1)      # sum of y_i^2 over rows
        mean = y / n
        out[arm] = dict(N=n, m=mean, S=yy - 2 * mean * ny + mean**2 * nn,
                        R=sum_sq - n * mean**2)
    t, c = out[1], out[0]
    k = cr1_kernel(t["N"], t["m"], t["S"], t["R"], c["N"], c["m"], c["S"], c["R"],
                   G=2 * G, N=2 * G * m)
    cover = np.mean((k["lower"] < 0) & (k["upper"] > 0))
    naive = np.mean((k["naive_lower"] < 0) & (k["naive_upper"] > 0))
    print(f"CR1 coverage {cover:.3f}, naive {naive:.3f}, mean deff {k['design_effect'].mean():.2f}")
    assert 0.935 <= cover <= 0.965
    assert 0.6 < naive < 0.8
    assert abs(np.mean(k["design_effect"]) - 3.45) < 0.2
