"""Deng et al. (2018) outer interval of quantile differences: ranks, and lognormal coverage."""

import numpy as np
import pytest
from scipy import stats

from bayeslab.frequentist.quantile import deng_kernel, outer_ranks, quantile_label


def test_outer_ranks_round_outward():
    # n = 2000, q = 0.9: nq = 1800, z sqrt(nq(1-q)) = 1.959964 * sqrt(180) = 26.296
    assert outer_ranks(2000, 0.9, 1.959964) == (1800, 1773, 1827)
    assert outer_ranks(10, 0.5, 1.959964) == (5, 1, 9)
    assert quantile_label(0.5) == "p50" and quantile_label(0.999) == "p99.9"


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_coverage_lognormal_n2000(q):
    """1,000 experiments, lognormal(0, 1) control vs lognormal(0.05, 1) treatment, 2,000 rows
    per arm: the difference and the ratio intervals cover the true quantile effect
    95 % +- 1.5 % (benchmarks/cluster_quantile.py adds n = 200,000)."""
    rng = np.random.default_rng(int(q * 100))
    sims, n = 1000, 2000
    z = stats.norm.ppf(0.975)
    point, lo, hi = (r - 1 for r in outer_ranks(n, q, z))
    parts = []
    for mu in (0.0, 0.05):
        x = np.sort(rng.lognormal(mu, 1, (sims, n)), axis=1)
        parts.append((x[:, point], x[:, lo], x[:, hi]))
    k = deng_kernel(*parts[1], *parts[0])
    xi = np.exp(stats.norm.ppf(q))
    diff, rel = xi * (np.exp(0.05) - 1), np.exp(0.05) - 1
    cover = np.mean((k["lower"] < diff) & (diff < k["upper"]))
    cover_rel = np.mean((k["rel_lower"] < rel) & (rel < k["rel_upper"]))
    assert 0.935 <= cover <= 0.965
    assert 0.935 <= cover_rel <= 0.965
