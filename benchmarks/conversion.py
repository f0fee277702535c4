"""Conversion readout speed.

1. A 10,000,000-row Parquet file: the whole readout (validation, sufficient statistics, both
   sides, decision) over a bare DuckDB GROUP BY count on the same file, and over a GROUP BY that
   also sums the outcome (what any readout must at least compute). Goal: at most 1.5.
2. Exact P(p_T > p_C) by numerical integration beside a 200,000-draw Monte Carlo estimate.

Run: .venv/bin/python benchmarks/conversion.py [--rows N]
"""

import argparse
import os
import tempfile

import duckdb
import numpy as np
import pandas as pd
from _timing import best_of


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    args = ap.parse_args()
    from bayeslab.kernels import beta as K
    from bayeslab.readout.metric import compare

    path = os.path.join(tempfile.gettempdir(), f"bayeslab_bench_conv_{args.rows}.parquet")
    if not os.path.exists(path):
        rng = np.random.default_rng(0)
        arm = rng.integers(0, 2, args.rows).astype(np.int8)
        y = (rng.random(args.rows) < np.where(arm == 1, 0.105, 0.10)).astype(np.int8)
        pd.DataFrame({"arm": arm, "y": y}).to_parquet(path, row_group_size=1_000_000)
    con = duckdb.connect()
    bare = best_of(lambda: con.execute(
        f"SELECT arm, count(*) FROM read_parquet('{path}') GROUP BY arm").fetchall())
    bare_sum = best_of(lambda: con.execute(
        f"SELECT arm, count(*), sum(y) FROM read_parquet('{path}') GROUP BY arm").fetchall())
    compare(path, arm="arm", metric="y")  # warm imports
    readout = best_of(lambda: compare(path, arm="arm", metric="y"))
    print(f"rows: {args.rows:,}")
    print(f"bare GROUP BY count:         {bare * 1e3:8.1f} ms")
    print(f"bare GROUP BY count + sum:   {bare_sum * 1e3:8.1f} ms")
    print(f"bayeslab readout:            {readout * 1e3:8.1f} ms")
    print(f"ratio readout / count:       {readout / bare:8.2f}   (goal <= 1.5)")
    print(f"ratio readout / count+sum:   {readout / bare_sum:8.2f}")

    p = (1 + 10_500, 1 + 89_500, 1 + 10_000, 1 + 90_000)
    exact_t = best_of(lambda: K.prob_greater_pair(*p), repeat=50)
    rng = np.random.default_rng(1)
    draws = 200_000
    mc_t = best_of(lambda: np.mean(rng.beta(p[0], p[1], draws) > rng.beta(p[2], p[3], draws)),
                   repeat=10)
    exact = K.prob_greater_pair(*p)[0]
    mc = np.mean(rng.beta(p[0], p[1], draws) > rng.beta(p[2], p[3], draws))
    print(f"exact P(B > A) = {exact:.10f} in {exact_t * 1e3:.3f} ms")
    print(f"MC (200k draws) = {mc:.10f} in {mc_t * 1e3:.3f} ms "
          f"(MC error ~ {np.sqrt(exact * (1 - exact) / draws):.1e}); exact is "
          f"{mc_t / exact_t:.0f}x faster")


if __name__ == "__main__":
    main()
