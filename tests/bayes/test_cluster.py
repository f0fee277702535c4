"""The cluster ratio model: exact bivariate-t posterior draws, and A/A coverage."""

import numpy as np
import pandas as pd
import pytest

from bayeslab.bayes.cluster import ClusterBootstrap, ratio_draws
from bayeslab.core.errors import ModelError
from bayeslab.data.clusters import cluster_stats
from bayeslab.data.sources import open_source


def test_ratio_draws_match_the_bivariate_t_posterior():
    """Equal cluster sizes: mu_n is fixed, so theta = mu_Y / m is Student-t on G-2 df with
    scale sqrt(W_yy / (G (G-2))) / m; its 2.5 % and 97.5 % points (scipy) within MC error."""
    from scipy import stats

    rng = np.random.default_rng(3)
    G, m = 30, 20
    Y = rng.normal(10, 4, G)
    draws = ratio_draws(G, G * m, Y.sum(), G * m * m, (Y**2).sum(), m * Y.sum(),
                        draws=200_000, rng=rng)
    scale = np.sqrt(((Y - Y.mean())**2).sum() / (G * (G - 2))) / m
    ref = stats.t.ppf([0.025, 0.5, 0.975], G - 2, loc=Y.mean() / m, scale=scale)
    np.testing.assert_allclose(np.percentile(draws, [2.5, 50, 97.5]), ref, atol=0.01 * scale * 4)


def test_aa_coverage_of_the_credible_interval():
    """500 A/A experiments, 40 clusters of 50 rows per arm, ICC 0.05: 95 % +- 2.5 % (MC sd
    of the coverage 1 %)."""
    rng = np.random.default_rng(8)
    G, m, icc = 40, 50, 0.05
    hits = 0
    for _ in range(500):
        theta = []
        for _arm in range(2):
            Y = m * (rng.normal(0, np.sqrt(icc), G) + rng.normal(0, np.sqrt((1 - icc) / m), G))
            theta.append(ratio_draws(G, G * m, Y.sum(), G * m * m, (Y**2).sum(), m * Y.sum(),
                                     draws=2000, rng=rng))
        lo, hi = np.percentile(theta[1] - theta[0], [2.5, 97.5])
        hits += lo < 0 < hi
    assert 0.925 <= hits / 500 <= 0.975


def test_fit_on_data_and_refusals():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"acct": np.repeat(np.arange(20), 10),
                       "arm": np.repeat(np.arange(20) % 2, 10)})
    df["y"] = rng.normal(0, 1, len(df))
    st = cluster_stats(open_source(df), arm="arm", metric="y", cluster="acct")
    post = ClusterBootstrap(seed=1).fit(st)
    est = post.estimates()
    assert [e.effect for e in est] == ["absolute", "relative"]
    assert est[0].lower < est[0].estimate < est[0].upper
    assert post.prob_lift_above(est[0].upper) < 0.03
    with pytest.raises(ModelError, match="draws must be at least 100"):
        ClusterBootstrap(draws=10)
