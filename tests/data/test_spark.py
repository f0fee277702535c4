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
    from bayeslab.runner import run_plan

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
