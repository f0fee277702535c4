"""monitor(): cumulative looks from one scan, exact posteriors, realised-fraction boundaries."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayeslab.core.errors import DataError, ModelError
from bayeslab.kernels import beta as K
from bayeslab.readout.monitor import monitor
from bayeslab.sequential.boundaries import group_sequential_design
from bayeslab.sequential.rules import ExpectedLoss, ProbPositive


def frame(n=6_000, days=6, p=(0.10, 0.125), seed=0):
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2024-03-01") + pd.to_timedelta(np.sort(rng.uniform(0, days, n)), unit="D")
    arm = rng.integers(0, 2, n)
    y = (rng.random(n) < np.asarray(p)[arm]).astype(int)
    return pd.DataFrame({"ts": ts, "arm": arm, "y": y})


def test_daily_looks_match_pandas_and_exact_kernels():
    df = frame()
    res = monitor(df, arm="arm", metric="y", timestamp="ts", fpr_sims=0)
    day = df["ts"].dt.date
    cum = df.groupby([day, "arm"])["y"].agg(["size", "sum"]).unstack("arm").cumsum()
    t = res.summary()
    np.testing.assert_array_equal(t["n_control"], cum[("size", 0)])
    np.testing.assert_array_equal(t["n_treatment"], cum[("size", 1)])
    for row, (_, c) in zip(t.itertuples(), cum.iterrows(), strict=True):
        n_c, n_t, x_c, x_t = c[("size", 0)], c[("size", 1)], c[("sum", 0)], c[("sum", 1)]
        p = (1 + x_t, 1 + n_t - x_t, 1 + x_c, 1 + n_c - x_c)
        assert row.prob_positive == pytest.approx(K.prob_greater_pair(*p)[0], abs=1e-12)
        assert row.expected_loss == pytest.approx(K.expected_loss(*p), rel=1e-10)
        assert row.lift_lower == pytest.approx(K.diff_quantile(0.025, *p), abs=1e-10)
        pooled = (x_c + x_t) / (n_c + n_t)
        z = (x_t / n_t - x_c / n_c) / np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
        assert row.z == pytest.approx(z, rel=1e-10)
    # boundaries: Lan-DeMets OBF at the realised fractions, not equally spaced ones
    info = 1 / (1 / t["n_control"] + 1 / t["n_treatment"])
    ref = group_sequential_design(fractions=(info / info.iloc[-1]).to_numpy(), alpha=0.05,
                                  sides=2, spending="obf")
    np.testing.assert_allclose(t["upper"], ref.upper, rtol=1e-9)
    assert "realised information fractions" in res.note
    stop = next((i + 1 for i, p in enumerate(t["prob_positive"]) if p >= 0.95 or p <= 0.10),
                None)
    assert res.rules[0].stop_look == stop
    crossed = np.flatnonzero(np.abs(t["z"]) >= t["upper"])
    assert res.design_stop == (crossed[0] + 1 if crossed.size else None)
    out = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert len(out["looks"]) == 6 and out["results"][0]["side"] == "bayes"
    assert "Monitor: y" in str(res)


def test_daily_aggregates_equal_unit_rows():
    df = frame(seed=2)
    agg = (df.assign(day=df["ts"].dt.date).groupby(["day", "arm"])["y"]
           .agg(n="size", conv="sum").reset_index())
    a = monitor(df, arm="arm", metric="y", timestamp="ts", fpr_sims=0).summary()
    b = monitor(agg, arm="arm", metric="conv", n="n", timestamp="day", fpr_sims=0).summary()
    cols = ["n_control", "n_treatment", "prob_positive", "z", "upper"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_date_and_size_looks_account_for_later_rows():
    df = frame(seed=3)
    res = monitor(df, arm="arm", metric="y", timestamp="ts",
                  looks=["2024-03-02", "2024-03-04"], fpr_sims=0)
    later = int((df["ts"] >= pd.Timestamp("2024-03-05")).sum())
    assert res.rows.excluded == {"after the last look": later}
    assert res.summary()["n_control"].iloc[-1] + res.summary()["n_treatment"].iloc[-1] \
        == len(df) - later
    res = monitor(df, arm="arm", metric="y", timestamp="ts", looks=[1000, 2500, 4000],
                  fpr_sims=0)
    t = res.summary()
    np.testing.assert_array_equal(t["n_control"] + t["n_treatment"], [1000, 2500, 4000])
    first = df.sort_values("ts").iloc[:1000]
    assert t["n_control"].iloc[0] == (first["arm"] == 0).sum()


def test_rules_carry_false_positive_rate_and_max_n():
    df = frame(seed=4)
    res = monitor(df, arm="arm", metric="y", timestamp="ts",
                  rule={"prob": ProbPositive(), "loss": ExpectedLoss(threshold=0.002)},
                  fpr_sims=2_000, seed=1, max_n=20_000)
    fp = res.rules[0].false_positive
    assert fp.n_sims == 2_000 and fp.looks.shape == (6, 2)
    assert fp.rate > 0.05  # six looks at P >= 0.95: well above the nominal 5%
    assert res.false_positive_rate == fp.rate
    assert res.summary()["fraction"].iloc[-1] < 1
    assert "planned 20,000 units" in res.note
    assert [r.name for r in res.rules] == ["prob", "loss"]


def test_continuous_metric_uses_the_normal_posterior():
    rng = np.random.default_rng(5)
    n = 3_000
    df = pd.DataFrame({"look": np.repeat([1, 2, 3], n // 3), "arm": rng.integers(0, 2, n)})
    df["rev"] = rng.normal(10 + 0.3 * df["arm"], 3.0)
    res = monitor(df, arm="arm", metric="rev", timestamp="look", kind="continuous",
                  fpr_sims=500)
    t = res.summary()
    np.testing.assert_allclose(t["prob_positive"], stats.norm.cdf(t["diff"] / t["se"]),
                               rtol=1e-12)


@pytest.mark.parametrize("edit,kwargs,match", [
    ("none", {"timestamp": "when"}, "column 'when'"),
    ("text", {}, "column 'ts' is not a date or time: 1 row"),
    ("null", {}, "column 'ts' is missing in 1 row"),
    ("three", {}, "has 3 arms"),
    ("none", {"looks": [3000, 2000]}, "must start at 4 or more and increase"),
    ("none", {"looks": ["2024-03-02", "nope"]}, "'nope' is not a date"),
    ("none", {"timestamp": None, "looks": "daily"}, "need the timestamp column"),
    ("none", {"looks": [1000, 99_999]}, "the data have 6,000"),
])
def test_bad_input(edit, kwargs, match):
    df = frame()
    if edit == "text":
        df["ts"] = df["ts"].astype(str)
        df.loc[7, "ts"] = "yesterday"
    elif edit == "null":
        df.loc[3, "ts"] = pd.NaT
    elif edit == "three":
        df.loc[:5, "arm"] = 2
    args = {"arm": "arm", "metric": "y", "timestamp": "ts", "fpr_sims": 0, **kwargs}
    with pytest.raises(DataError, match=match):
        monitor(df, **args)


def test_bad_rule_and_design():
    df = frame()
    with pytest.raises(ModelError, match="unknown rule"):
        monitor(df, arm="arm", metric="y", timestamp="ts", rule="magic:1", fpr_sims=0)
    with pytest.raises(ModelError, match="unknown function"):
        monitor(df, arm="arm", metric="y", timestamp="ts", design="nope", fpr_sims=0)
