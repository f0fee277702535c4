"""Issue 27: coverage of the cluster and quantile intervals over 1,000 simulated experiments.

Cluster: A/A, 40 clusters of 50 rows per arm, intra-cluster correlation 0.05 (design effect
3.45); CR1 (t on G-1 df), the Bayesian ratio model of cluster totals, and the naive interval
(rows as independent). Quantile: lognormal(0, 1) control vs lognormal(0.05, 1) treatment, P50
and P90, n = 2,000 and 200,000 per arm; Deng outer interval and the exact Bayesian bootstrap
(2,000 draws). Each figure is the share of 95 % intervals covering the truth, with the share
missing low / high.

Run: ``.venv/bin/python benchmarks/cluster_quantile.py`` (a few minutes on 2 cores).
"""

import time

import numpy as np
from scipy import stats

from bayeslab.bayes.cluster import ratio_draws
from bayeslab.frequentist.cluster import cr1_kernel
from bayeslab.frequentist.quantile import deng_kernel, outer_ranks

SIMS = 1000


def _row(name, lower, upper, truth):
    lower, upper = np.asarray(lower), np.asarray(upper)
    low, high = np.mean(upper < truth), np.mean(lower > truth)
    print(f"  {name:<34} cover {1 - low - high:6.1%}   miss low {low:5.1%}  high {high:5.1%}")


def cluster(rng):
    G, m, icc = 40, 50, 0.05
    arms, bayes = {}, []
    for arm in (0, 1):
        Y = m * (rng.normal(0, np.sqrt(icc), (SIMS, G))
                 + rng.normal(0, np.sqrt((1 - icc) / m), (SIMS, G)))
        within = (1 - icc) * rng.chisquare(m - 1, (SIMS, G))
        n, y, nn, yy, ny = G * m, Y.sum(1), G * m * m, (Y**2).sum(1), m * Y.sum(1)
        mean = y / n
        arms[arm] = dict(N=n, m=mean, S=yy - 2 * mean * ny + mean**2 * nn,
                         R=(Y**2 / m + within).sum(1) - n * mean**2)
        bayes.append(np.stack([ratio_draws(G, n, y[s], nn, yy[s], ny[s], draws=4000, rng=rng)
                               for s in range(SIMS)]))
    t, c = arms[1], arms[0]
    k = cr1_kernel(t["N"], t["m"], t["S"], t["R"], c["N"], c["m"], c["S"], c["R"],
                   G=2 * G, N=2 * G * m)
    b = np.percentile(bayes[1] - bayes[0], [2.5, 97.5], axis=1)
    print(f"cluster A/A: {G} clusters x {m} rows per arm, ICC {icc}, {SIMS} experiments "
          f"(mean design effect {k['design_effect'].mean():.2f})")
    _row("CR1 (t, G-1 df)", k["lower"], k["upper"], 0.0)
    _row("Bayes ratio model of cluster totals", b[0], b[1], 0.0)
    _row("naive (independent rows)", k["naive_lower"], k["naive_upper"], 0.0)


def quantile(rng, n, q, draws=2000):
    z = stats.norm.ppf(0.975)
    point, lo, hi = (r - 1 for r in outer_ranks(n, q, z))
    parts, bb = [], []
    for mu in (0.0, 0.05):
        p, lo_, hi_ = np.empty(SIMS), np.empty(SIMS), np.empty(SIMS)
        d = np.empty((SIMS, draws))
        for s in range(SIMS):
            x = np.sort(rng.lognormal(mu, 1, n))
            p[s], lo_[s], hi_[s] = x[point], x[lo], x[hi]
            d[s] = x[rng.binomial(n - 1, q, draws)]   # the exact Bayesian bootstrap
        parts.append((p, lo_, hi_))
        bb.append(d)
    k = deng_kernel(*parts[1], *parts[0])
    truth = np.exp(stats.norm.ppf(q)) * (np.exp(0.05) - 1)
    b = np.percentile(bb[1] - bb[0], [2.5, 97.5], axis=1)
    rb = np.percentile(bb[1] / bb[0] - 1, [2.5, 97.5], axis=1)
    print(f"quantile P{100 * q:g}, n = {n:,} per arm, lognormal +5 % (log scale), "
          f"{SIMS} experiments")
    _row("Deng outer CI, difference", k["lower"], k["upper"], truth)
    _row("Deng outer CI, ratio", k["rel_lower"], k["rel_upper"], np.exp(0.05) - 1)
    _row("Bayesian bootstrap, difference", b[0], b[1], truth)
    _row("Bayesian bootstrap, ratio", rb[0], rb[1], np.exp(0.05) - 1)


if __name__ == "__main__":
    rng = np.random.default_rng(2027)
    t0 = time.time()
    cluster(rng)
    for n in (2000, 200_000):
        for q in (0.5, 0.9):
            quantile(rng, n, q)
    print(f"({time.time() - t0:.0f} s)")
