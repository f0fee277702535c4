"""How the cost of a readout grows with rows, on DuckDB and on Spark.

For 1e5 .. 1e8 rows (Spark up to ``--spark-max``, 1e7 by default) one Parquet file is generated
(arm, a conversion, two guardrails, a count, revenue with a pre-period covariate, two segment
columns) and each case runs in its own process, so that peak memory is the case's own:

- ``bare``: the engine's own GROUP BY arm over the columns the case reads (``count(*)`` and one
  ``sum`` per column), no bayeslab: the floor any readout must pay;
- ``conversion``: ``bayeslab.compare`` of the conversion metric (validation, statistics, both
  sides, decision);
- ``covariate``: ``compare`` of revenue with the pre-period covariate (12 cross-moments, CUPED,
  HC ANCOVA, Bayesian regression);
- ``plan``: the reduction of a plan with 4 metrics (conversion primary, two guardrails, a count
  and revenue with its covariate) and the segment cells of the primary, in one scan (the
  segment model's MCMC, whose cost does not grow with rows, is not timed).

Wall time is the case itself, after imports and (Spark) session start; peak RSS is the process's
high-water mark (``VmHWM``; on Spark, the Python driver plus the JVM); the ratio divides by the
``bare`` time of the same file, engine and columns. ``--cli`` adds the whole-process start-up
check: ``bayeslab compare`` on the conversion metric against ``python -c "import duckdb; ..."``.

Run: .venv/bin/python benchmarks/scale.py [--sizes 1e5,1e6,1e7,1e8] [--spark-max 1e7]
     [--engines duckdb,spark] [--repeat 3] [--cli]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

COLUMNS = {"bare_conversion": ["conv"], "bare_covariate": ["rev", "pre"],
           "bare_plan": ["conv", "g1", "g2", "sessions", "rev", "pre"]}
CASES = ("conversion", "covariate", "plan")


def make_data(rows: int, folder: str) -> str:
    path = os.path.join(folder, f"bayeslab_scale_{rows}.parquet")
    if os.path.exists(path):
        return path
    import duckdb

    duckdb.sql(f"""COPY (SELECT
        (i % 2)::TINYINT AS arm,
        (hash(i) % 1000 < 100 + 5 * (i % 2))::TINYINT AS conv,
        (hash(i + 1) % 1000 < 20)::TINYINT AS g1,
        (hash(i + 2) % 1000 < 10)::TINYINT AS g2,
        (hash(i + 3) % 7)::INTEGER AS sessions,
        ((hash(i + 4) % 10000) / 100.0)::DOUBLE AS pre,
        ((hash(i + 4) % 10000) / 120.0 + (hash(i + 5) % 1000) / 50.0 + (i % 2))::DOUBLE AS rev,
        (hash(i + 6) % 4)::TINYINT AS seg1,
        (hash(i + 7) % 3)::TINYINT AS seg2
        FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
    return path


def _peak_kb(pid="self") -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def child(case: str, engine: str, path: str) -> dict:
    """Run one case in this process; return wall seconds and peak RSS in KB."""
    import bayeslab as bl
    from bayeslab.data.sources import open_source
    from bayeslab.readout import compare, one_scan  # noqa: F401  (imports before timing)

    session = None
    if engine == "spark":
        from bayeslab.data.spark import spark_session

        session = spark_session("local[2]")
        session.conf.set("spark.sql.shuffle.partitions", "2")
        session.read.parquet(path).limit(1).collect()  # JVM warm: file listing, codegen
    if not case.startswith("bare"):  # import the models first: time the readout, not imports
        import pandas as pd

        tiny = pd.DataFrame({"arm": [0, 1] * 50, "conv": [0, 1, 1, 0] * 25,
                             "rev": [float(i % 7) for i in range(100)],
                             "pre": [float(i % 5) for i in range(100)]})
        bl.compare(tiny, arm="arm", metric="conv")
        bl.compare(tiny, arm="arm", metric="rev", kind="continuous", covariate="pre")
    t = time.perf_counter()
    if case.startswith("bare"):
        cols = COLUMNS[case]
        sums = ", ".join(f"sum({c})" for c in cols)
        if engine == "spark":
            session.read.parquet(path).createOrReplaceTempView("bare")
            session.sql(f"SELECT arm, count(*), {sums} FROM bare GROUP BY arm").collect()
        else:
            import duckdb

            duckdb.connect().execute(f"SELECT arm, count(*), {sums} FROM "
                                     f"read_parquet('{path}') GROUP BY arm").fetchall()
    elif case == "conversion":
        bl.compare(path, engine=engine, arm="arm", metric="conv")
    elif case == "covariate":
        bl.compare(path, engine=engine, arm="arm", metric="rev", kind="continuous",
                   covariate="pre")
    elif case == "plan":
        from bayeslab.metrics import MetricSpec

        src = open_source(path, engine=engine)
        specs = [MetricSpec(metric="conv", arm="arm", segments=("seg1", "seg2")),
                 MetricSpec(metric="g1", arm="arm"), MetricSpec(metric="g2", arm="arm"),
                 MetricSpec(metric="sessions", kind="count", arm="arm"),
                 MetricSpec(metric="rev", kind="continuous", covariate="pre", arm="arm")]
        one_scan(src, specs)
        assert src.cache["scans"] == 1
    wall = time.perf_counter() - t
    peak = _peak_kb()
    if session is not None:
        try:
            peak += _peak_kb(session.sparkContext._gateway.proc.pid)
        except (OSError, AttributeError):
            pass
    return {"wall": wall, "rss_kb": peak}


def run_child(case, engine, path, repeat) -> dict:
    best = None
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--child", case, engine, path],
                             capture_output=True, text=True, check=True)
        got = json.loads(out.stdout.strip().splitlines()[-1])
        if best is None or got["wall"] < best["wall"]:
            best = got
    return best


def cli_check(path: str, repeat: int) -> tuple[float, float]:
    bin_dir = os.path.dirname(sys.executable)
    bare = [sys.executable, "-c", "import duckdb; duckdb.sql(\"SELECT arm, count(*), sum(conv) "
            f"FROM '{path}' GROUP BY arm\").fetchall()"]
    cli = [os.path.join(bin_dir, "bayeslab"), "compare", path, "--arm", "arm", "--metric",
           "conv"]

    def best(cmd):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        return min(times)

    return best(bare), best(cli)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=3, metavar=("CASE", "ENGINE", "PATH"))
    ap.add_argument("--sizes", default="1e5,1e6,1e7,1e8")
    ap.add_argument("--spark-max", type=float, default=1e7)
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cli", action="store_true", help="also the whole-process start-up check")
    ap.add_argument("--dir", default=tempfile.gettempdir())
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    print(f"{'engine':<7}{'rows':>12}  {'case':<11}{'wall s':>8}{'bare s':>8}{'ratio':>7}"
          f"{'peak RSS MB':>13}")
    for rows in sizes:
        path = make_data(rows, args.dir)
        for engine in engines:
            if engine == "spark" and rows > args.spark_max:
                continue
            for case in CASES:
                bare = run_child(f"bare_{case}", engine, path, args.repeat)
                got = run_child(case, engine, path, args.repeat)
                print(f"{engine:<7}{rows:>12,}  {case:<11}{got['wall']:>8.3f}"
                      f"{bare['wall']:>8.3f}{got['wall'] / bare['wall']:>7.2f}"
                      f"{got['rss_kb'] / 1024:>13.0f}", flush=True)
    if args.cli:
        path = make_data(sizes[-1] if sizes[-1] <= 10_000_000 else 10_000_000, args.dir)
        bare, cli = cli_check(path, args.repeat)
        print(f"\nwhole process, conversion on {path}: bare duckdb {bare:.2f} s, "
              f"bayeslab compare {cli:.2f} s, ratio {cli / bare:.2f}")


if __name__ == "__main__":
    main()
