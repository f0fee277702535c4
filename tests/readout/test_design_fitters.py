"""Cluster randomization and quantile metrics through compare(), the CLI and a plan."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslab as bl
from bayeslab.cli import main
from bayeslab.core.errors import StatisticalWarning


@pytest.fixture(scope="module")
def clustered():
    rng = np.random.default_rng(4)
    G = 80
    sizes = rng.integers(5, 60, G)
    arm = np.arange(G) % 2
    acct = np.repeat(np.arange(G), sizes)
    a = np.repeat(arm, sizes)
    y = 0.2 * a + np.repeat(rng.normal(0, 1, G), sizes) + rng.normal(0, 1, len(acct))
    return pd.DataFrame({"arm": a, "acct": acct, "y": y, "conv": (y > 0.3).astype(int)})


def test_compare_clustered_srm_counts_clusters(clustered):
    with pytest.warns(StatisticalWarning, match="clustered by 'acct': design effect"):
        r = bl.compare(clustered, arm="arm", metric="y", kind="continuous", cluster="acct",
                       planned_split=[0.5, 0.5])
    methods = {(e.side, e.method) for e in r.estimates()}
    assert methods == {("bayes", "bayes-cluster"), ("frequentist", "cluster-cr1")}
    assert sum(r.srm.observed) == 80                 # clusters, not rows
    assert any("design effect" in n for n in r.notes)
    f = next(e for e in r.estimates() if e.method == "cluster-cr1" and e.effect == "absolute")
    b = next(e for e in r.estimates() if e.method == "bayes-cluster" and e.effect == "absolute")
    assert f.extra["design_effect"] > 5
    assert abs(b.lower - f.lower) < 0.1 * (f.upper - f.lower)


def test_conversion_with_a_clustered_guardrail(clustered):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        r = bl.compare(clustered, arm="arm", metric="conv", cluster="acct",
                       guardrails=["conv"], margins=0.05)
    assert {e.method for e in r.estimates()} == {"bayes-cluster", "cluster-cr1"}
    assert r.guardrails[0].decision.verdict in ("pass", "fail")


def test_repeated_unit_ids_warn_how_much_too_narrow(clustered):
    with pytest.warns(StatisticalWarning, match=r"repeats within arms \(80 ids over .*"
                      r"interval is .*x too narrow \(design effect"):
        r = bl.compare(clustered, arm="arm", metric="y", kind="continuous", unit_id="acct")
    assert {e.method for e in r.estimates()} >= {"welch"}


def test_quantile_compare_cli_and_plan(tmp_path):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"arm": np.repeat([0, 1], 3000),
                       "rev": rng.lognormal(0, 1, 6000) * np.repeat([1.0, 1.1], 3000)})
    r = bl.compare(df, arm="arm", metric="rev", kind="quantile", quantiles=[0.5, 0.9])
    methods = {e.method for e in r.estimates()}
    assert methods == {"bayes-bootstrap-p50", "bayes-bootstrap-p90", "deng-p50", "deng-p90"}
    assert r.headline_estimates()[0].method == "bayes-bootstrap-p50"
    path = tmp_path / "rev.csv"
    df.to_csv(path, index=False)
    assert main(["compare", str(path), "--arm", "arm", "--metric", "rev", "--kind", "quantile",
                 "--quantiles", "0.5,0.9", "--format", "json"]) == 0


def test_cli_cluster_and_plan_columns_cluster(clustered, tmp_path, capsys):
    path = tmp_path / "c.csv"
    clustered.to_csv(path, index=False)
    assert main(["compare", str(path), "--arm", "arm", "--metric", "y", "--kind", "continuous",
                 "--cluster", "acct", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {x["method"] for x in out["results"]} == {"bayes-cluster", "cluster-cr1"}
    plan = tmp_path / "plan.toml"
    plan.write_text(f'[data]\npath = "{path}"\n[columns]\narm = "arm"\ncluster = "acct"\n'
                    '[[metrics]]\nname = "y"\nkind = "continuous"\nrole = "primary"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        bl.run_plan(plan, tmp_path / "out", quiet=True)
    text = (tmp_path / "out" / "readout.json").read_text()
    assert "cluster-cr1" in text and "bayes-cluster" in text


def test_cli_bad_cluster_is_one_line_exit_2(clustered, tmp_path, capsys):
    path = tmp_path / "c.csv"
    clustered.assign(arm=np.arange(len(clustered)) % 2).to_csv(path, index=False)
    assert main(["compare", str(path), "--arm", "arm", "--metric", "y", "--kind", "continuous",
                 "--cluster", "acct"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "column 'acct' has clusters in more than one arm" in err[0]
