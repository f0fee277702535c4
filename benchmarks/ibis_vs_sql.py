"""Hand-kept SQL or Ibis for the sufficient-statistics queries: is the DuckDB path as fast?

Times, on one Parquet file, the conversion readout's grouped scan (per arm: rows, count, sum,
sum of squares of the outcome) written as bayeslab's SQL and as the same Ibis expression on
Ibis's DuckDB backend, and the import time of each route (a whole new process). Needs
``pip install 'ibis-framework[duckdb]'`` (not a bayeslab dependency).

Run: python benchmarks/ibis_vs_sql.py [--rows N] [--repeat K]
"""

import argparse
import os
import subprocess
import sys
import tempfile

from _timing import best_of


def process_time(code, repeat):
    return best_of(lambda: subprocess.run([sys.executable, "-c", code], check=True), repeat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import duckdb

    path = os.path.join(tempfile.gettempdir(), f"bayeslab_ibis_{args.rows}.parquet")
    if not os.path.exists(path):
        duckdb.sql(f"COPY (SELECT (i % 2)::BIGINT AS arm, (hash(i) % 100 < 10)::BIGINT AS y "
                   f"FROM range({args.rows}) t(i)) TO '{path}' (FORMAT parquet)")
    sql = (f"SELECT arm, count(*), count(CAST(y AS DOUBLE)), "
           f"coalesce(sum(CAST(y AS DOUBLE)), 0), "
           f"coalesce(sum(CAST(y AS DOUBLE) * CAST(y AS DOUBLE)), 0) "
           f"FROM read_parquet('{path}') GROUP BY ALL")
    con = duckdb.connect()
    t_sql = best_of(lambda: con.execute(sql).fetchall(), args.repeat)

    import ibis

    icon = ibis.duckdb.connect()
    t = icon.read_parquet(path)
    y = t.y.cast("float64")
    expr = t.group_by("arm").aggregate(rows=t.count(), n=y.count(), s=y.sum().fill_null(0),
                                       ss=(y * y).sum().fill_null(0))
    t_ibis = best_of(lambda: expr.to_pyarrow(), args.repeat)
    imp_duck = process_time("import duckdb", args.repeat)
    imp_ibis = process_time("import ibis; ibis.duckdb.connect()", args.repeat)
    print(f"{args.rows:,} rows, best of {args.repeat} (machine may be busy)")
    print(f"{'route':<22}{'query s':>9}{'import s':>10}")
    print(f"{'hand-kept SQL':<22}{t_sql:>9.3f}{imp_duck:>10.3f}")
    print(f"{'Ibis (DuckDB backend)':<22}{t_ibis:>9.3f}{imp_ibis:>10.3f}")
    print(f"Ibis / SQL: query {t_ibis / t_sql:.2f}x, import +{imp_ibis - imp_duck:.2f} s")


if __name__ == "__main__":
    main()
