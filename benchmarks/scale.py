"""How the cost of a readout grows with rows, on DuckDB and on Spark.

For 1e5 .. 1e8 rows (Spark up to ``--spark-max``, 1e7 by default) one Parquet file is generated
(arm, a conversion, two guardrails, a count, revenue with a pre-period covariate, two segment
columns) and each case runs in its own process, so that peak memory is the case's own. Cases:

- ``conversion``: ``bayeslab.compare`` of the conversion metric (validation, statistics, both
  sides, decision);
- ``covariate``: ``compare`` of revenue with the pre-period covariate (12 cross-moments, CUPED,
  HC ANCOVA, Bayesian regression);
- ``plan``: the reduction of a plan with 4 metrics (conversion primary, two guardrails, a count
  and revenue with its covariate) and the segment cells of the primary, in one scan (the
  segment model's MCMC, whose cost does not grow with rows, is not timed).

Two baselines, no bayeslab, on the same file and engine, so that our own overhead is visible:

- ``count``: the engine's bare ``SELECT arm, count(*) ... GROUP BY arm``: the floor of any scan;
- ``stats``: the engine running exactly the grouped query bayeslab sends for the case (captured
  from a run on the 1e5-row file of the same schema, pointed at this file): the engine's cost of
  the sufficient statistics the models need. ``wall / stats`` is bayeslab's own overhead
  (validation queries, Python-side work, both models, the decision); ``wall / count`` adds the
  cost of the aggregates themselves. Every DuckDB case opens one connection inside the clock
  (``duckdb.connect()``, 10-15 ms on this machine, more when it is busy), as a readout must;
  DuckDB's one-time start in a process (about 50 ms) is paid before it, by the readouts' warm-up
  and by a throwaway connection in the baselines.

Wall time is the case itself, after imports and (Spark) session start; peak RSS is the process's
high-water mark (``VmHWM``; on Spark, the Python driver plus the JVM). ``--cli`` adds the
whole-process start-up check: ``bayeslab compare`` on the 1e7-row conversion file against
``python -c "import duckdb; ..."`` with the same ``GROUP BY``, each the best of ``--repeat``.

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

CASES = ("conversion", "covariate", "plan")
CAPTURE_ROWS = 100_000  # the file the grouped query of each case is captured on


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


def _session(engine, path):
    if engine != "spark":
        return None
    from bayeslab.data.spark import spark_session

    session = spark_session("local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.read.parquet(path).limit(1).collect()  # JVM warm: file listing, codegen
    return session


def _readout(case: str, engine: str, path: str) -> None:
    import bayeslab as bl
    from bayeslab.data.sources import open_source
    from bayeslab.readout.metric import one_scan

    if case == "conversion":
        bl.compare(path, engine=engine, arm="arm", metric="conv")
    elif case == "covariate":
        bl.compare(path, engine=engine, arm="arm", metric="rev", kind="continuous",
                   covariate="pre")
    elif case == "plan":
        from bayeslab.readout.fitters import MetricSpec

        src = open_source(path, engine=engine)
        specs = [MetricSpec(metric="conv", arm="arm", segments=("seg1", "seg2")),
                 MetricSpec(metric="g1", arm="arm"), MetricSpec(metric="g2", arm="arm"),
                 MetricSpec(metric="sessions", kind="count", arm="arm"),
                 MetricSpec(metric="rev", kind="continuous", covariate="pre", arm="arm")]
        one_scan(src, specs)
        assert src.cache["scans"] == 1


def capture(case: str, engine: str, path: str) -> list:
    """The grouped queries a readout sends, as ``[relation, query]`` (run on ``path``)."""
    from bayeslab.data import scan

    _session(engine, path)
    sent = []
    real = scan.fetch_frame

    def record(source, query, *args):
        sent.append([source.relation, query])
        return real(source, query, *args)

    scan.fetch_frame = record
    _readout(case, engine, path)
    return sent


def child(case: str, engine: str, path: str, queries=None) -> dict:
    """Run one case in this process; return wall seconds and peak RSS in KB.

    ``count``: the bare count; ``stats``: ``queries`` (from :func:`capture`) on this file.
    """
    import bayeslab as bl
    from bayeslab.readout.metric import compare, one_scan  # noqa: F401  (imports before timing)

    session = _session(engine, path)
    if case in CASES:  # import the models first: time the readout, not imports
        import pandas as pd

        tiny = pd.DataFrame({"arm": [0, 1] * 50, "conv": [0, 1, 1, 0] * 25,
                             "rev": [float(i % 7) for i in range(100)],
                             "pre": [float(i % 5) for i in range(100)]})
        bl.compare(tiny, arm="arm", metric="conv")
        bl.compare(tiny, arm="arm", metric="rev", kind="continuous", covariate="pre")
    if engine == "spark":
        session.read.parquet(path).createOrReplaceTempView("bare")
    bare_duckdb = engine == "duckdb" and case in ("count", "stats")
    if bare_duckdb:
        import duckdb

        duckdb.connect().close()  # DuckDB's one-time start, paid by the readouts' warm-up too
    t = time.perf_counter()
    if bare_duckdb:
        con = duckdb.connect()  # inside the clock: a readout opens its own connection too
    if case == "count":
        if engine == "spark":
            session.sql("SELECT arm, count(*) FROM bare GROUP BY arm").collect()
        else:
            con.execute(f"SELECT arm, count(*) FROM read_parquet('{path}') "
                        "GROUP BY arm").fetchall()
    elif case == "stats":
        for relation, query in queries:
            if engine == "spark":
                session.sql(query.replace(relation, "bare")).collect()
            else:
                con.execute(query.replace(relation, f"read_parquet('{path}')")).fetchall()
    else:
        _readout(case, engine, path)
    wall = time.perf_counter() - t
    peak = _peak_kb()
    if session is not None:
        try:
            peak += _peak_kb(session.sparkContext._gateway.proc.pid)
        except (OSError, AttributeError):
            pass
    return {"wall": wall, "rss_kb": peak}


def run_child(case, engine, path, repeat, queries=None) -> dict:
    best = None
    extra = ["--queries", json.dumps(queries)] if queries is not None else []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--child", case, engine, path, *extra],
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
    ap.add_argument("--capture", nargs=3, metavar=("CASE", "ENGINE", "PATH"))
    ap.add_argument("--queries", help="JSON [[relation, query], ...] of the stats baseline")
    ap.add_argument("--sizes", default="1e5,1e6,1e7,1e8")
    ap.add_argument("--spark-max", type=float, default=1e7)
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cli", action="store_true", help="also the whole-process start-up check")
    ap.add_argument("--dir", default=tempfile.gettempdir())
    args = ap.parse_args()
    if args.child:
        queries = json.loads(args.queries) if args.queries else None
        print(json.dumps(child(*args.child, queries=queries)))
        return
    if args.capture:
        print(json.dumps(capture(*args.capture)))
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    small = make_data(CAPTURE_ROWS, args.dir)
    captured = {}
    for engine in engines:
        for case in CASES:
            out = subprocess.run([sys.executable, __file__, "--capture", case, engine, small],
                                 capture_output=True, text=True, check=True)
            captured[engine, case] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{'engine':<7}{'rows':>12}  {'case':<11}{'wall s':>8}{'count s':>9}{'/count':>7}"
          f"{'stats s':>9}{'/stats':>7}{'peak RSS MB':>13}")
    for rows in sizes:
        path = make_data(rows, args.dir)
        for engine in engines:
            if engine == "spark" and rows > args.spark_max:
                continue
            count = run_child("count", engine, path, args.repeat)
            for case in CASES:
                queries = [[rel, q.replace(small, path)] for rel, q in captured[engine, case]]
                stats = run_child("stats", engine, path, args.repeat, queries)
                got = run_child(case, engine, path, args.repeat)
                print(f"{engine:<7}{rows:>12,}  {case:<11}{got['wall']:>8.3f}"
                      f"{count['wall']:>9.3f}{got['wall'] / count['wall']:>7.2f}"
                      f"{stats['wall']:>9.3f}{got['wall'] / stats['wall']:>7.2f}"
                      f"{got['rss_kb'] / 1024:>13.0f}", flush=True)
    if args.cli:
        path = make_data(sizes[-1] if sizes[-1] <= 10_000_000 else 10_000_000, args.dir)
        bare, cli = cli_check(path, args.repeat)
        print(f"\nwhole process, conversion on {path}: bare duckdb {bare:.2f} s, "
              f"bayeslab compare {cli:.2f} s, ratio {cli / bare:.2f}")


if __name__ == "__main__":
    main()
