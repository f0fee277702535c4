"""Readouts of every metric kind through compare() and the CLI, on simulated scenarios with
known truths (the estimators themselves are checked against references in tests/bayes and
tests/frequentist)."""

import json

import numpy as np
import pandas as pd
import pytest

import bayeslab as bl
from bayeslab.cli import main
from bayeslab.core.errors import DataError, ModelError


@pytest.fixture(scope="module")
def migration():
    return bl.simulate("migration", rows=20_000, seed=4)


@pytest.fixture(scope="module")
def music():
    return bl.simulate("musicstream", rows=40_000, seed=4)


def methods(readout):
    return {(e.side, e.method) for e in readout.estimates()}


def test_revenue_with_covariate_covers_truth_and_reports_variance_reduction(migration):
    r = bl.compare(migration.data, arm="treatment", metric="revenue_60d", kind="continuous",
                   covariate="pre_30d_spend")
    assert {("bayes", "bayes-regression"), ("frequentist", "ancova-hc"),
            ("frequentist", "cuped"), ("frequentist", "welch")} <= methods(r)
    truth = migration.truth["metrics"]["revenue_60d"]["abs_effect_sample"]
    head = next(e for e in r.estimates() if e.method == "bayes-regression"
                and e.effect == "absolute")
    assert head.lower < truth < head.upper
    assert head.extra["variance_reduction"] > 0.2
    assert r.decision.verdict == "ship"


def test_clipping_is_reported(migration):
    r = bl.compare(migration.data, arm="treatment", metric="revenue_60d", kind="continuous",
                   covariate="pre_30d_spend", clip="winsorize", clip_quantile=0.99)
    clip = r.to_dict()["clipping"]
    assert clip["method"] == "winsorize" and sum(clip["rows_affected"].values()) > 0
    assert set(clip["moved"]) >= {"ancova-hc"}


def test_count_metric_keeps_overdispersion_warning(music):
    with pytest.warns(bl.StatisticalWarning):
        r = bl.compare(music.data, arm="group", control="Control", metric="songs_played",
                       kind="count", planned_split=[0.9, 0.1])
    assert any("overdispersed" in w for w in r.warnings)
    assert r.decision.bayes != "n/a" and "bayes-normal" in r.decision.text


def test_retention_lower_hazard_is_better(music):
    r = bl.compare(music.data, arm="group", control="Control", metric="churned",
                   kind="retention", duration="days_active", event="churned",
                   planned_split=[0.9, 0.1])
    hr = next(e for e in r.estimates() if e.method == "log-rank")
    assert hr.effect == "hazard-ratio"
    if hr.upper < 1:
        assert r.decision.frequentist == "ship"
    assert "P(hazard ratio of churned < 1 in Treatment)" in r.decision.text


def test_funnel_and_frequentist_only_ratio():
    hp = bl.simulate("homepage", rows=30_000, seed=2)
    r = bl.compare(hp.data, arm="experiment_group", control="A", metric="funnel", kind="ratio",
                   stages=["is_clicked", "is_converted"])
    rates = {e.extra["rate"] for e in r.estimates()}
    assert rates == {"ctr", "pcvr", "cvr"}
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"arm": np.repeat([0, 1], 2000), "views": rng.poisson(5, 4000) + 1})
    df["clicks"] = rng.binomial(df["views"], np.where(df["arm"] == 1, 0.12, 0.10))
    r = bl.compare(df, arm="arm", metric="ctr", kind="ratio", numerator="clicks",
                   denominator="views")
    assert methods(r) == {("frequentist", "delta")}
    assert "frequentist side alone" in r.decision.text


def test_kind_errors(migration):
    with pytest.raises(DataError, match="--duration and --event"):
        bl.compare(migration.data, arm="treatment", metric="x", kind="retention")
    with pytest.raises(ModelError, match="unknown option"):
        bl.compare(migration.data, arm="treatment", metric="revenue_60d", kind="continuous",
                   covarite="pre_30d_spend")


@pytest.mark.parametrize("args", [
    ["--metric", "revenue_60d", "--kind", "continuous", "--covariate", "pre_30d_spend"],
    ["--metric", "post_30d_sessions", "--kind", "count"],
    ["--metric", "revenue_60d", "--kind", "continuous"],
])
def test_cli_kinds_json(tmp_path, migration, capsys, args):
    path = tmp_path / "m.parquet"
    migration.data.to_parquet(path)
    assert main(["compare", str(path), "--arm", "treatment", *args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == args[3] and out["results"]
