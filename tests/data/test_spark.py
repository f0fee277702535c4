"""The Spark engine gives the DuckDB readouts: same JSON up to the last float digit, exact counts.

PySpark runs in local mode with one session for the whole test run (its JVM takes seconds to
start). Without Java these tests skip, except in CI (``CI=true``), where a missing Java fails.
"""

import json
import os

import pytest

import bayeslab as bl
from tests.json_close import assert_json_close

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (dev extra)")




@pytest.fixture(scope="session")
def spark():
    from bayeslab.data.spark import java_missing

    why = java_missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Spark tests: {why}")
        pytest.skip(why)
    from pyspark.sql import SparkSession

    from bayeslab.data.spark import SESSION_CONF

    builder = SparkSession.builder.master("local[2]").appName("bayeslab-tests")
    for key, value in {**SESSION_CONF, "spark.sql.shuffle.partitions": "2",
                       "spark.default.parallelism": "2"}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _parquet(tmp_path_factory, name, rows=3000, seed=2):
    sc = bl.simulate(name, rows=rows, seed=seed)
    path = tmp_path_factory.mktemp(name) / f"{name}.parquet"
    sc.data.to_parquet(path)
    return str(path)


SCENARIOS = {
    "migration": [
        dict(arm="treatment", metric="ps5_purchase_30d", guardrails=["unsubscribe_flag",
             "optout_flag"], margins=0.005),
        dict(arm="treatment", metric="revenue_60d", kind="continuous",
             covariate="pre_30d_spend"),
        dict(arm="treatment", metric="revenue_60d", kind="continuous",
             covariate="pre_30d_spend,last_90d_spend,country"),
    ],
    "musicstream": [
        dict(arm="group", metric="songs_played", kind="count", control="Control"),
        dict(arm="group", metric="churned", kind="retention", duration="days_active",
             event="churned", control="Control"),
    ],
    "homepage": [
        dict(arm="experiment_group", metric="funnel", kind="ratio", control="A",
             stages=("is_clicked", "is_converted")),
        dict(arm="experiment_group", metric="order_amount", kind="continuous", control="A"),
    ],
    "personalization": [
        dict(arm="received_personalization", metric="made_purchase"),
    ],
    "campaign": [
        dict(arm="treatment", metric="converted"),
        dict(arm="treatment", metric="revenue", kind="continuous", covariate="pre_revenue"),
    ],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_read_out_the_same_on_spark(spark, tmp_path_factory, name):
    import warnings

    path = _parquet(tmp_path_factory, name)
    for kwargs in SCENARIOS[name]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            duck = bl.compare(path, **kwargs).to_dict()
            on_spark = bl.compare(spark.read.parquet(path), **kwargs).to_dict()
        assert_json_close(duck, on_spark)


def test_monitor_daily_looks_on_spark(spark, tmp_path_factory):
    path = _parquet(tmp_path_factory, "campaign", rows=4000)
    kw = dict(arm="treatment", metric="converted", timestamp="date", fpr_sims=0)
    duck = bl.monitor(path, **kw).to_dict()
    on_spark = bl.monitor(path, engine="spark", **kw).to_dict()
    assert_json_close(duck, on_spark)


def test_plan_with_spark_engine_writes_the_same_readout(spark, tmp_path_factory):
    from bayeslab.plan.runner import run_plan

    path = _parquet(tmp_path_factory, "campaign", rows=4000)
    folder = tmp_path_factory.mktemp("plan")
    text = f"""
[experiment]
name = "campaign"
[data]
path = "{path}"
engine = "ENGINE"
[columns]
arm = "treatment"
[[metrics]]
name = "converted"
role = "primary"
[[metrics]]
name = "revenue"
kind = "continuous"
covariate = "pre_revenue"
[sequential]
timestamp = "date"
fpr_sims = 0
"""
    outputs = {}
    for engine in ("duckdb", "spark"):
        plan = folder / f"{engine}.toml"
        plan.write_text(text.replace("ENGINE", engine))
        run_plan(plan, folder / engine)
        payload = json.loads((folder / engine / "readout.json").read_text())
        payload.pop("plan")
        outputs[engine] = payload
    assert_json_close(outputs["duckdb"], outputs["spark"])


def test_cli_engine_spark_reads_a_path_and_a_table(spark, tmp_path_factory, capsys):
    from bayeslab.cli import main

    path = _parquet(tmp_path_factory, "migration", rows=2000)
    args = ["--arm", "treatment", "--metric", "ps5_purchase_30d", "--guardrail",
            "unsubscribe_flag", "--margin", "0.005", "--format", "json"]
    assert main(["compare", path, *args]) == 0
    duck = json.loads(capsys.readouterr().out)
    assert main(["compare", path, "--engine", "spark", *args]) == 0
    assert_json_close(duck, json.loads(capsys.readouterr().out))
    spark.read.parquet(path).createOrReplaceTempView("bayeslab_test_exp")
    assert main(["compare", "bayeslab_test_exp", "--engine", "spark", *args]) == 0
    assert_json_close(duck, json.loads(capsys.readouterr().out))
    assert main(["compare", "no_such_table", "--engine", "spark", *args]) == 2
    err = capsys.readouterr().err
    assert "cannot read no_such_table with Spark" in err and len(err.strip().splitlines()) == 1


# --- SQL, clipping and looks on Spark: the DuckDB readouts --------------------------------------


def test_cli_sql_on_spark_gives_the_duckdb_readout(spark, tmp_path_factory, capsys):
    from bayeslab.cli import main

    path = _parquet(tmp_path_factory, "migration", rows=2000)
    spark.read.parquet(path).createOrReplaceTempView("bayeslab_sql_exp")
    args = ["--arm", "treatment", "--metric", "ps5_purchase_30d", "--format", "json"]
    where = "WHERE unsubscribe_flag = 0"
    assert main(["compare", "--sql", f"SELECT * FROM '{path}' {where}", *args]) == 0
    duck = json.loads(capsys.readouterr().out)
    assert main(["compare", "--engine", "spark", "--sql",
                 f"SELECT * FROM bayeslab_sql_exp {where};", *args]) == 0
    on_spark = json.loads(capsys.readouterr().out)
    assert_json_close(duck, on_spark)
    assert on_spark["rows"]["read"] < 2000  # the WHERE was applied


@pytest.mark.parametrize("sql", [
    "SELECT arm, java_method('java.io.File', 'createTempFile', 'pwned', '.x') AS y FROM t",
    "SELECT arm, reflect('java.lang.System', 'getProperty', 'user.dir') AS y FROM t",
    "SELECT arm, `REFLECT`/**/('java.lang.System', 'getProperty', 'user.dir') AS y FROM t",
    "SELECT arm, try_reflect('java.lang.System', 'getProperty', 'user.dir') AS y FROM t",
])
def test_sql_on_spark_cannot_call_java(spark, sql, capsys, tmp_path, monkeypatch):
    """The probe's reflection calls: refused before any row is computed, one line, exit 2."""
    from bayeslab.cli import main

    spark.createDataFrame([(0, 1), (1, 0)] * 5, ["arm", "y"]).createOrReplaceTempView("t")
    code = main(["compare", "--engine", "spark", "--sql", sql, "--arm", "arm", "--metric", "y"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "runs Java code" in err


@pytest.mark.parametrize("sql", [
    "SELECT * FROM bayeslab_sql_guard; DROP TABLE bayeslab_sql_guard",
    "DROP TABLE bayeslab_sql_guard",
    "CREATE TABLE bayeslab_sql_new AS SELECT * FROM bayeslab_sql_guard",
    "SET spark.sql.shuffle.partitions = 7",
])
def test_cli_sql_on_spark_is_one_read_only_select(spark, sql, capsys):
    from bayeslab.cli import main

    spark.createDataFrame([(0, 1), (1, 0)] * 5, ["arm", "y"]).createOrReplaceTempView(
        "bayeslab_sql_guard")
    partitions = spark.conf.get("spark.sql.shuffle.partitions")
    code = main(["compare", "--engine", "spark", "--sql", sql, "--arm", "arm", "--metric", "y"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "exactly one read-only SELECT" in err
    assert spark.catalog.tableExists("bayeslab_sql_guard")
    assert not spark.catalog.tableExists("bayeslab_sql_new")
    assert spark.conf.get("spark.sql.shuffle.partitions") == partitions


@pytest.mark.parametrize("method", ["winsorize", "trim"])
def test_clipping_on_spark_gives_the_duckdb_readout(spark, tmp_path_factory, method):
    import warnings

    path = _parquet(tmp_path_factory, "campaign", rows=3000)
    kw = dict(arm="treatment", metric="revenue", kind="continuous", covariate="pre_revenue",
              clip=method, clip_quantile=0.95)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        duck = bl.compare(path, **kw).to_dict()
        on_spark = bl.compare(path, engine="spark", **kw).to_dict()
    assert_json_close(duck, on_spark)
    assert json.dumps(duck).count('"cap"') >= 1  # the clipping is reported, not skipped


@pytest.fixture(scope="module")
def timed(tmp_path_factory):
    """Unit rows with distinct timestamps (a row order both engines agree on) over 6 days."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    rows = 3000
    arm = rng.integers(0, 2, rows)
    frame = pd.DataFrame({
        "arm": arm, "y": (rng.random(rows) < 0.1 + 0.03 * arm).astype(np.int64),
        "ts": pd.Timestamp("2024-03-01") + pd.to_timedelta(np.arange(rows) * 170, unit="s")})
    path = tmp_path_factory.mktemp("timed") / "timed.parquet"
    frame.to_parquet(path, row_group_size=rows)
    return str(path)


@pytest.mark.parametrize("looks,timestamp", [
    (3, "ts"), ([800, 1900, 3000], "ts"), ([1000, 2000], "ts"), (4, None),
    (["2024-03-02", "2024-03-04", "2024-03-06"], "ts"),
])
def test_monitor_looks_on_spark_give_the_duckdb_replay(spark, timed, looks, timestamp):
    kw = dict(arm="arm", metric="y", timestamp=timestamp, looks=looks, fpr_sims=0)
    duck = bl.monitor(timed, **kw).to_dict()
    on_spark = bl.monitor(timed, engine="spark", **kw).to_dict()
    assert_json_close(duck, on_spark)
    assert len(duck["looks"]) >= 2


def test_spark_cli_stderr_is_quiet(tmp_path_factory):
    """A new Spark process (its own JVM): no log4j / JVM start-up lines, errors still one line."""
    import subprocess
    import sys

    from bayeslab.data.spark import java_missing

    if java_missing():
        pytest.skip(java_missing())
    path = _parquet(tmp_path_factory, "personalization", rows=500)
    base = [sys.executable, "-m", "bayeslab.cli", "compare", "--engine", "spark", "--arm",
            "received_personalization"]
    ok = subprocess.run([*base, path, "--metric", "made_purchase"], capture_output=True,
                        text=True, timeout=300)
    assert ok.returncode == 0 and ok.stderr == "", ok.stderr
    bad = subprocess.run([*base, path, "--metric", "no_such_column"], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "no_such_column" in bad.stderr
    env = {**os.environ, "PYSPARK_SUBMIT_ARGS": "--driver-memory 1q pyspark-shell"}
    dead = subprocess.run([*base, path, "--metric", "made_purchase"], capture_output=True,
                          text=True, timeout=300, env=env)  # a JVM that cannot start
    assert dead.returncode == 2 and len(dead.stderr.strip().splitlines()) == 1, dead.stderr
    assert "Spark did not start" in dead.stderr and "JVM log:" in dead.stderr


@pytest.mark.slow   # about 30 s on 2 busy cores (two Spark readouts of each design)
def test_quantile_and_cluster_readouts_equal_on_spark(spark, tmp_path_factory):
    """Issue 27: the rank windows of a quantile metric and the per-arm sums over clusters are
    the same SQL on both engines; the readouts agree (draws use the same seed)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(27)
    acct = rng.integers(0, 60, 4000)
    df = pd.DataFrame({"arm": acct % 2, "acct": acct,
                       "rev": rng.lognormal(0, 1, 4000) + 0.1 * (acct % 2)})
    path = str(tmp_path_factory.mktemp("issue27") / "q.parquet")
    df.to_parquet(path)
    for kw in (dict(kind="quantile", quantiles=[0.5, 0.9]),
               dict(kind="continuous", cluster="acct")):
        duck = bl.compare(path, arm="arm", metric="rev", **kw).to_dict()
        on_spark = bl.compare(spark.read.parquet(path), arm="arm", metric="rev", **kw).to_dict()
        assert_json_close(duck, on_spark)


def test_property_scan_statistics_equal_on_spark(spark, tmp_path_factory):
    """Issue 26: the GROUPING SETS query of a property scan runs as one Spark job and gives the
    DuckDB counts exactly (every level of every property, per arm, and the row accounting),
    a NULL level and a pooled level included."""
    import numpy as np

    from bayeslab.data.scan_properties import property_stats
    from bayeslab.data.sources import open_source
    from bayeslab.scenarios.properties import simulate_properties

    df = simulate_properties(6000, seed=4).data
    df.loc[:30, "country"] = None
    df["spend"] = df["spend"].astype(float)
    props = ["country", "platform", "device", "plan", "weekday"]
    path = str(tmp_path_factory.mktemp("issue26") / "props.parquet")
    df.to_parquet(path)
    for metric, kind in (("converted", "binary"), ("spend", "continuous")):
        duck = property_stats(open_source(path), arm="treatment", metric=metric,
                              properties=props, kind=kind, min_units=100)
        source = open_source(spark.read.parquet(path))
        on_spark = property_stats(source, arm="treatment", metric=metric, properties=props,
                                  kind=kind, min_units=100)
        assert source.cache["queries"] == 1
        assert on_spark.levels == duck.levels and on_spark.pooled == duck.pooled
        assert duck.pooled["country"] == ["(missing)"] and ("country", "other") in duck.levels
        np.testing.assert_array_equal(on_spark.counts[..., :2], duck.counts[..., :2])
        np.testing.assert_allclose(on_spark.counts[..., 2], duck.counts[..., 2], rtol=1e-12)
        assert on_spark.rows.to_dict() == duck.rows.to_dict()
