"""Revenue readout with a pre-period covariate on 10,000,000 rows vs a bare DuckDB scan.

The readout is one validated DuckDB scan (bayeslab.data.moments.covariate_moments: n, sums,
squares, cross-products and the higher moments of the HC sandwich, with row accounting) followed
by Welch, CUPED, the HC1 ANCOVA and the conjugate Bayesian regression. The baseline is a bare
``GROUP BY arm`` query computing the same sums with no validation. Goal: ratio <= 1.5.
For contrast, the same Gaussian regression fitted by NUTS (PyMC) on 100,000 unit rows.

Run: PYTHONPATH=. python benchmarks/revenue.py [--rows 10000000] [--mcmc-rows 100000]
"""

import argparse
import os
import statistics
import time

import numpy as np


def write_parquet(path, rows, seed=0):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    schema = pa.schema([("arm", pa.int8()), ("revenue", pa.float64()), ("pre", pa.float64())])
    with pq.ParquetWriter(path, schema) as w:
        chunk = 1_000_000
        for start in range(0, rows, chunk):
            k = min(chunk, rows - start)
            arm = rng.integers(0, 2, k).astype(np.int8)
            pre = rng.gamma(1.5, 30, k)
            rev = np.maximum(0, 10 + 0.8 * pre + 1.0 * arm + rng.normal(0, 5 + 0.3 * pre))
            w.write_table(pa.table({"arm": arm, "revenue": rev, "pre": pre}, schema=schema))


def readout(path):
    from bayeslab.bayes.revenue import regression
    from bayeslab.data.moments import covariate_moments
    from bayeslab.data.sources import open_source
    from bayeslab.frequentist.revenue import revenue_tests

    stats = covariate_moments(open_source(path), arm="arm", metric="revenue", covariate="pre")
    return revenue_tests(stats), regression(stats)


def bare(path):
    import duckdb

    y, x = "revenue", "pre"
    terms = [y, f"{y}*{y}", x, f"{x}*{x}", f"{x}*{y}", f"{y}*{y}*{x}", f"{y}*{x}*{x}",
             f"{x}*{x}*{x}", f"{y}*{y}*{x}*{x}", f"{y}*{x}*{x}*{x}", f"{x}*{x}*{x}*{x}"]
    sums = ", ".join(f"sum({t})" for t in terms)
    con = duckdb.connect()
    return con.execute(f"SELECT arm, count(*), {sums} FROM read_parquet('{path}') "
                       "GROUP BY arm").fetchall()


def interleaved(path, repeat=7):
    """Alternate readout and bare scan so that load from other processes hits both alike."""
    r, b = [], []
    for _ in range(repeat):
        for fun, out in ((readout, r), (bare, b)):
            t0 = time.perf_counter()
            fun(path)
            out.append(time.perf_counter() - t0)
    ratios = [x / y for x, y in zip(r, b, strict=True)]
    return r, b, ratios


def mcmc(rows, seed=1):
    import pymc as pm

    rng = np.random.default_rng(seed)
    d = rng.integers(0, 2, rows).astype(float)
    pre = rng.gamma(1.5, 30, rows)
    y = np.maximum(0, 10 + 0.8 * pre + d + rng.normal(0, 5 + 0.3 * pre))
    v = pre - pre.mean()
    t0 = time.perf_counter()
    with pm.Model():
        sigma = pm.HalfNormal("sigma", 100.0)
        mu_c = pm.Normal("mu_c", 0.0, 1000.0)
        beta = pm.Normal("beta", 0.0, 100.0)
        tau = pm.Normal("tau", 0.0, 100.0)
        pm.Normal("y", mu_c + tau * d + beta * v, sigma, observed=y)
        pm.sample(draws=1000, tune=1000, chains=2, cores=1, random_seed=seed,
                  progressbar=False, compute_convergence_checks=False)
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--mcmc-rows", type=int, default=100_000)
    p.add_argument("--path", default=None)
    a = p.parse_args()
    path = a.path or f"/tmp/bayeslab_revenue_{a.rows}.parquet"
    if not os.path.exists(path):
        t0 = time.perf_counter()
        write_parquet(path, a.rows)
        print(f"wrote {a.rows:,} rows to {path} in {time.perf_counter() - t0:.1f} s")
    readout(path)  # warm the file cache and imports
    bare(path)
    r, b, ratios = interleaved(path)
    r_med, r_min, b_med, b_min = statistics.median(r), min(r), statistics.median(b), min(b)
    print(f"cpu cores: {os.cpu_count()}")
    print(f"covariate readout (scan + Welch + CUPED + HC1 ANCOVA + Bayes regression), "
          f"{a.rows:,} rows: median {r_med:.3f} s (min {r_min:.3f})")
    print(f"bare DuckDB scan of the same sums: median {b_med:.3f} s (min {b_min:.3f})")
    print(f"ratio readout / bare scan: median of paired ratios {statistics.median(ratios):.2f}, "
          f"ratio of medians {r_med / b_med:.2f}, ratio of minima {r_min / b_min:.2f} "
          "(goal <= 1.5)")
    freq, bayes = readout(path)
    print(freq)
    print(bayes)
    if a.mcmc_rows:
        t = mcmc(a.mcmc_rows)
        print(f"unit-row PyMC fit (Gaussian regression, 2 chains x 1000 draws + 1000 tune), "
              f"{a.mcmc_rows:,} rows: {t:.1f} s")
        print(f"PyMC on {a.mcmc_rows:,} rows / readout on {a.rows:,} rows: {t / r_med:.0f}x")


if __name__ == "__main__":
    main()
