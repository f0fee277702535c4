"""Issue 26 benchmark: a property scan of 1e7 rows with 12 properties, one engine scan.

Usage: ``.venv/bin/python benchmarks/property_scan_scale.py [rows]`` (default 10,000,000).
DuckDB writes a Parquet file of ``rows`` units (12 properties with the level counts of
:data:`bayeslab.scenarios.properties.PROPERTIES`, levels drawn uniformly, a
conversion at 20 % + 3 pp in treatment). Then, on that file: the seconds of
:func:`bayeslab.data.scan_properties.property_stats` (asserted to be one query), the seconds of
the engine alone running the same ``GROUPING SETS`` SQL (the floor), and the seconds of
:class:`bayeslab.bayes.property_scan.PropertyScan` fitting it, first in the process (compile
or load of the compiled model) and warm (three more fits, other seeds). Say whether the
machine was quiet (``uptime``).
"""

import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bayeslab.bayes.property_scan import PropertyScan
from bayeslab.data.scan_properties import property_stats, scan_sql
from bayeslab.data.sources import open_source
from bayeslab.scenarios.properties import PROPERTIES


def write(path: Path, rows: int) -> None:
    cols = []
    for prop, levels in PROPERTIES.items():
        arr = "[" + ", ".join(f"'{lv}'" for lv in levels) + "]"
        cols.append(f"{arr}[(1 + floor(random() * {len(levels)}))::BIGINT] AS {prop}")
    sql = (f"COPY (SELECT *, (random() < 0.2 + 0.03 * treatment)::TINYINT AS converted FROM "
           f"(SELECT i AS user_id, (random() < 0.5)::TINYINT AS treatment, {', '.join(cols)} "
           f"FROM range({rows}) t(i))) TO '{path}' (FORMAT parquet)")
    con = duckdb.connect()
    con.execute("SELECT setseed(0.26)")
    con.execute(sql)


def main() -> None:
    rows = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "props.parquet"
        t = time.perf_counter()
        write(path, rows)
        print(f"wrote {rows:,} rows in {time.perf_counter() - t:.1f} s")
        props = list(PROPERTIES)
        src = open_source(str(path))
        t = time.perf_counter()
        st = property_stats(src, arm="treatment", metric="converted", properties=props)
        scan_s = time.perf_counter() - t
        assert src.cache["queries"] == 1, src.cache
        print(f"property_stats: {scan_s:.2f} s, {src.cache['queries']} query, "
              f"{st.n_levels} levels, rows {st.rows}")
        floor = open_source(str(path))
        sql = scan_sql(floor, arm="treatment", metric="converted", properties=props,
                       kind="binary")
        t = time.perf_counter()
        floor.con.execute(sql).fetchall()
        print(f"engine alone, the same SQL: {time.perf_counter() - t:.2f} s")
        times = []
        for seed in range(4):
            t = time.perf_counter()
            fit = PropertyScan(seed=seed, progressbar=False).fit(st)
            times.append(time.perf_counter() - t)
        print(f"PropertyScan fit (4 chains x 1,000 draws): first {times[0]:.1f} s, warm "
              f"{', '.join(f'{x:.1f}' for x in times[1:])} s (goal <= 15 s); divergences "
              f"{fit.divergences}, {int(fit.flagged.sum())} flagged")


if __name__ == "__main__":
    main()
