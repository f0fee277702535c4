"""Cross-product moments of several covariates: the sums against numpy on unit rows, the number
of aggregates, categorical levels, missing values named by column, and the plan/CLI option."""

import json

import numpy as np
import pandas as pd
import pytest

import bayeslab as bl
from bayeslab.cli import main
from bayeslab.core.errors import DataError
from bayeslab.data.covariates import (
    covariates_moments,
    covariates_request,
    design_columns,
    monomials,
    parse_covariates,
)
from bayeslab.data.sources import open_source
from tests.frequentist.test_revenue_covariates import frame


def test_sums_equal_numpy_on_unit_rows():
    df = frame(n=500)
    cm = covariates_moments(open_source(df), arm="arm", metric="y", covariates="x1,country")
    assert cm.columns == ("x1", "country[FR]", "country[JP]", "country[US]")
    z = np.c_[df["x1"], df["country"] == "FR", df["country"] == "JP", df["country"] == "US",
              df["y"]].astype(float)
    for m, got in cm.raw.items():
        want = [np.prod(z[df["arm"] == a][:, list(m)], axis=1).sum() for a in cm.arms]
        np.testing.assert_allclose(got, want, rtol=1e-12)
    # any product, canonical or not, through lookup (d^2 = d, two levels of one column = 0)
    fr = (df["country"] == "FR").to_numpy(float)
    np.testing.assert_allclose(cm.lookup((1, 1, 4))[0], (fr * df["y"])[df["arm"] == "control"]
                               .sum(), rtol=1e-12)
    assert not cm.lookup((1, 2)).any()


def test_number_of_aggregates_is_the_minimum_for_one_scan():
    num = [design_columns(open_source(frame(n=50)), c) for c in (["x1"], ["x1", "x2"])]
    # C(p+4,4) + C(p+3,3) + C(p+2,2) monomials (n included)
    assert [len(monomials(c)) for c in num] == [12, 31]
    cat = design_columns(open_source(frame(n=200)), ["x1", "country"])  # 1 numeric + 3 levels
    assert len(monomials(cat)) < 120  # 4 numeric columns would need 120
    keys, aggs = covariates_request(open_source(frame(n=50)), arm="arm", metric="y",
                                    covariates="x1,x2")
    assert sum(a.startswith("m") for a, _ in aggs) == 30


def test_levels_cap_and_parse():
    df = frame(n=300)
    df["user"] = [f"u{i}" for i in range(len(df))]
    with pytest.raises(DataError, match="'user' has more than 50 levels") as e:
        covariates_moments(open_source(df), arm="arm", metric="y", covariates="x1,user")
    assert e.value.column == "user"
    assert parse_covariates(" a, b ,c") == ("a", "b", "c") and parse_covariates(None) == ()
    with pytest.raises(DataError, match="'a' is listed twice"):
        parse_covariates("a,a")


def test_missing_covariate_is_named_or_excluded_per_column():
    df = frame(n=400)
    df.loc[[3, 10], "x2"] = np.nan
    df.loc[[5], "country"] = None
    src = open_source(df)
    with pytest.raises(DataError, match=r"'x2' is missing or not finite in 2 rows \(row 4, 11"):
        covariates_moments(src, arm="arm", metric="y", covariates=["x1", "x2", "country"])
    cm = covariates_moments(src, arm="arm", metric="y", covariates=["x1", "x2", "country"],
                            missing="exclude")
    assert cm.rows.excluded == {"x2 is missing or not finite": 2,
                                "country is missing or not finite": 1}
    assert cm.raw[()].sum() == len(df) - 3 == cm.rows.used
    keep = df.drop(index=[3, 5, 10])
    np.testing.assert_allclose(cm.raw[(0,)].sum(), keep["x1"].sum(), rtol=1e-12)


def test_compare_cli_and_plan_take_several_covariates(tmp_path, capsys):
    sc = bl.simulate("migration", rows=6000, seed=2)
    r = bl.compare(sc.data, arm="treatment", metric="revenue_60d", kind="continuous",
                   covariate="pre_30d_spend,last_90d_spend,ps_plus_member")
    head = next(e for e in r.estimates() if e.method == "bayes-regression")
    assert head.extra["covariate"] == "pre_30d_spend,last_90d_spend,ps_plus_member"
    path = tmp_path / "m.parquet"
    sc.data.to_parquet(path)
    assert main(["compare", str(path), "--arm", "treatment", "--metric", "revenue_60d",
                 "--kind", "continuous", "--covariate", "pre_30d_spend,last_90d_spend",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    anc = [x for x in out["results"] if x["method"] == "ancova-hc"]
    assert anc and anc[0]["covariate"] == "pre_30d_spend,last_90d_spend"
    assert set(anc[0]["coefficients"]) == {"pre_30d_spend", "last_90d_spend"}
    assert main(["compare", str(path), "--arm", "treatment", "--metric", "revenue_60d",
                 "--kind", "continuous", "--covariate", "pre_30d_spend,nope"]) == 2
    assert "'nope'" in capsys.readouterr().err


def test_plan_covariates_key(tmp_path):
    from bayeslab.plan.schema import PlanError, load_plan

    body = ('[data]\npath = "d.parquet"\n[columns]\narm = "treatment"\n[[metrics]]\n'
            'name = "revenue_60d"\nkind = "continuous"\nrole = "primary"\n')
    p = tmp_path / "p.toml"
    p.write_text(body + 'covariates = ["pre_30d_spend", "last_90d_spend"]\n')
    assert load_plan(p).primary.options["covariate"] == "pre_30d_spend,last_90d_spend"
    p.write_text(body + 'covariate = "a,b"\n')
    assert load_plan(p).primary.options["covariate"] == "a,b"
    p.write_text(body + 'covariate = "a"\ncovariates = ["b"]\n')
    with pytest.raises(PlanError, match="both covariate and covariates"):
        load_plan(p)


def test_one_scan_for_several_covariates():
    from bayeslab.data.scan import prefetch
    from bayeslab.readout.fitters import MetricSpec, fit_metric, metric_requests

    src = open_source(pd.DataFrame(frame(n=800)))
    spec = MetricSpec(metric="y", kind="continuous", arm="arm", covariate="x1,x2,country")
    prefetch(src, metric_requests(src, spec))
    scans = src.cache.get("scans", 0)
    fit_metric(src, spec)
    assert src.cache.get("scans", 0) == scans and src.cache.get("answered", 0) >= 1
