"""bayeslab's own cost on top of the engine, for a conversion readout of a typical experiment.

``scale.py`` times one readout per process on a file whose effect is huge (P(B > A) = 1 - 1e-150),
which takes the exact kernels' far-tail path. This script times, in one process and interleaved
so that both see the same machine, ``bl.compare`` of a 0/1 metric with an effect of no
consequence (P(B > A) about 0.4) against the bare engine: a fresh ``duckdb.connect()`` and the
same grouped query bayeslab sends. Both open their connection inside the clock; DuckDB's one-time
start and bayeslab's imports come before it. The prior moves by 1e-9 between runs so that no
kernel table is reused. Prints min and median of each and their ratio.

Run: .venv/bin/python benchmarks/conversion_overhead.py [--rows 1e7] [--repeat 15]
"""

import argparse
import os
import statistics
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e7)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    rows = int(args.rows)
    import duckdb

    path = os.path.join(tempfile.gettempdir(), f"bayeslab_conv_typical_{rows}.parquet")
    if not os.path.exists(path):
        duckdb.sql(f"""COPY (SELECT (i % 2)::TINYINT AS arm,
            (hash(i) % 10000 < 1000 + (i % 2))::TINYINT AS conv FROM range({rows}) t(i))
            TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
    import pandas as pd

    from bayeslab.readout.metric import compare

    compare(pd.DataFrame({"arm": [0, 1] * 50, "conv": [0, 1, 1, 0] * 25}), arm="arm",
            metric="conv")  # imports and DuckDB's start, before any clock
    query = ('SELECT "arm" AS "k0", count(*) AS "a0", '
             f'coalesce(sum(CAST("conv" AS DOUBLE)), 0) AS "a1" FROM read_parquet(\'{path}\') '
             "GROUP BY ALL")
    bare, ours = [], []
    for i in range(args.repeat):
        t = time.perf_counter()
        con = duckdb.connect()
        con.execute(query).fetchall()
        bare.append(time.perf_counter() - t)
        con.close()
        t = time.perf_counter()
        r = compare(path, arm="arm", metric="conv", prior=(1.0, 1.0 + i * 1e-9))
        ours.append(time.perf_counter() - t)
    p = r.bayes.comparisons[0].prob_positive
    print(f"{rows:,} rows, P(B > A) = {p:.3f}, {args.repeat} interleaved runs")
    print(f"bare engine (connect + query): min {min(bare) * 1e3:.1f} ms, "
          f"median {statistics.median(bare) * 1e3:.1f} ms")
    print(f"bayeslab compare:              min {min(ours) * 1e3:.1f} ms, "
          f"median {statistics.median(ours) * 1e3:.1f} ms")
    print(f"ratio: {min(ours) / min(bare):.2f} (min), "
          f"{statistics.median(ours) / statistics.median(bare):.2f} (median)")


if __name__ == "__main__":
    main()
