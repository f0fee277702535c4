"""The exact Bayesian bootstrap of a quantile: against Dirichlet weights, and its coverage."""

import numpy as np
import pandas as pd
import pytest

from bayeslab.bayes.quantile import QuantileBootstrap
from bayeslab.core.errors import DataError
from bayeslab.data.quantiles import check_quantiles, quantile_stats, rank_window
from bayeslab.data.sources import open_source


def _frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"arm": np.repeat([0, 1], n), "y": rng.lognormal(0, 1, 2 * n)})


def test_rank_windows_hold_the_sorted_values():
    df = _frame(3000)
    st = quantile_stats(open_source(df), arm="arm", metric="y", quantiles=[0.5, 0.9])
    for i, a in enumerate(st.arms):
        sorted_y = np.sort(df.y[df.arm == int(a)].to_numpy())
        for q in (0.5, 0.9):
            lo, values = st.windows[(i, q)]
            assert (lo, lo + len(values) - 1) == rank_window(3000, q)
            np.testing.assert_array_equal(values, sorted_y[lo - 1:lo - 1 + len(values)])


def test_bootstrap_equals_dirichlet_weights():
    """R = 1 + Binomial(n-1, q) against the weighted quantile under Dirichlet(1, ..., 1)
    weights (Rubin 1981), 40,000 draws each: the distributions of the P50 agree (KS distance
    below 0.015, MC tolerance of two 40,000-draw samples ~0.0096 at 1 %)."""
    df = _frame(40)
    st = quantile_stats(open_source(df), arm="arm", metric="y", quantiles=[0.5])
    post = QuantileBootstrap(draws=40_000, seed=3).fit(st)
    y = np.sort(df.y[df.arm == 0].to_numpy())
    w = np.random.default_rng(4).dirichlet(np.ones(40), 40_000)
    ref = y[np.argmax(np.cumsum(w, axis=1) >= 0.5, axis=1)]
    grid = np.sort(y)
    ks = np.max(np.abs(np.searchsorted(np.sort(post.xi[0.5][0]), grid, side="right") / 40_000
                       - np.searchsorted(np.sort(ref), grid, side="right") / 40_000))
    assert ks < 0.015


def test_coverage_lognormal_n2000():
    """300 experiments at 2,000 rows per arm (lognormal, +5 % on the log scale): the P50 and
    P90 credible intervals of the difference cover 95 % +- 3 % (MC sd 1.3 %); the
    1,000-experiment figures at n = 2,000 and 200,000 are in benchmarks/cluster_quantile.py."""
    from scipy import stats

    rng = np.random.default_rng(11)
    n, sims = 2000, 300
    hits = {0.5: 0, 0.9: 0}
    for _ in range(sims):
        x = [np.sort(rng.lognormal(mu, 1, n)) for mu in (0.0, 0.05)]
        for q in hits:
            d = [xa[rng.binomial(n - 1, q, 2000)] for xa in x]
            lo, hi = np.percentile(d[1] - d[0], [2.5, 97.5])
            truth = np.exp(stats.norm.ppf(q)) * (np.exp(0.05) - 1)
            hits[q] += lo < truth < hi
    for q, h in hits.items():
        assert 0.92 <= h / sims <= 0.98, (q, h / sims)


def test_quantile_levels_are_checked():
    assert check_quantiles(["0.5", 0.9, 0.5]) == (0.5, 0.9)
    with pytest.raises(DataError, match="quantiles: 1.5 is not strictly between 0 and 1"):
        check_quantiles([1.5])
    with pytest.raises(DataError, match="needs quantiles"):
        check_quantiles([])
