"""Data layer: sources, sufficient statistics, row accounting, and every bad-input case."""

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError, DataWarning
from bayeslab.data.sources import open_source
from bayeslab.data.stats import sufficient_stats
from tests.conftest import make_conversion_frame


def stats_of(df, **kw):
    kw.setdefault("arm", "arm")
    kw.setdefault("metric", "y")
    return sufficient_stats(open_source(df), **kw)


def test_counts_equal_pandas_groupby(conversion_frame):
    s = stats_of(conversion_frame)
    ref = conversion_frame.groupby("arm")["y"].agg(["count", "sum"])
    np.testing.assert_array_equal(s.n, ref["count"].to_numpy())
    np.testing.assert_array_equal(s.sums, ref["sum"].to_numpy())
    assert s.arms == ("0", "1") and s.control == "0"
    assert (s.rows.read, s.rows.used, s.rows.n_excluded) == (20_000, 20_000, 0)


def test_covariate_and_segment_moments_equal_numpy():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"arm": rng.integers(0, 2, 5000), "seg": rng.choice(["a", "b", "c"], 5000),
                       "y": rng.gamma(2.0, 3.0, 5000), "x": rng.normal(10, 2, 5000)})
    s = stats_of(df, kind="continuous", segments=["seg"], covariate="x")
    for (seg, arm), g in df.groupby(["seg", "arm"]):
        row = s.table[(s.table["seg"] == seg) & (s.table["arm"] == str(arm))].iloc[0]
        np.testing.assert_allclose(
            row[["n", "sum", "sum_sq", "sum_x", "sum_xx", "sum_xy"]].to_numpy(float),
            [len(g), g.y.sum(), (g.y ** 2).sum(), g.x.sum(), (g.x ** 2).sum(), (g.x * g.y).sum()],
            rtol=1e-10)


def test_file_and_sql_sources_give_the_same_counts(tmp_path, conversion_frame):
    csv, pq = tmp_path / "d.csv", tmp_path / "d.parquet"
    conversion_frame.to_csv(csv, index=False)
    conversion_frame.to_parquet(pq)
    ref = stats_of(conversion_frame)
    for src in (open_source(csv), open_source(pq),
                open_source(sql=f"SELECT * FROM read_parquet('{pq}')")):
        s = sufficient_stats(src, arm="arm", metric="y")
        np.testing.assert_array_equal(s.n, ref.n)
        np.testing.assert_array_equal(s.sums, ref.sums)


def test_aggregated_rows_equal_unit_rows(conversion_frame):
    unit = stats_of(conversion_frame)
    agg = conversion_frame.groupby("arm", as_index=False).agg(users=("y", "size"), y=("y", "sum"))
    a = stats_of(agg, n="users")
    np.testing.assert_array_equal(a.n, unit.n)
    np.testing.assert_array_equal(a.sums, unit.sums)
    assert a.rows.read == 2 and a.rows.units == 20_000
    # split over days: still the same sums
    df = conversion_frame.assign(day=np.arange(len(conversion_frame)) % 7)
    daily = df.groupby(["arm", "day"], as_index=False).agg(users=("y", "size"), y=("y", "sum"))
    d = stats_of(daily, n="users")
    np.testing.assert_array_equal(d.n, unit.n)
    assert d.rows.read == 14


def test_labels_boolean_and_float_arms():
    df = make_conversion_frame(n=1000)
    s = stats_of(df.assign(arm=df.arm.astype(bool)))
    assert s.arms == ("false", "true")
    with pytest.warns(DataWarning, match=r"read 0.0 as '0', 1.0 as '1'"):
        s = stats_of(df.assign(arm=df.arm.astype(float)))
    assert s.arms == ("0", "1")
    lab = df.assign(arm=np.where(df.arm == 1, "Treatment", "Control"))
    assert stats_of(lab).control == "Control"
    assert stats_of(lab, control="treatment").control == "Treatment"
    three = make_conversion_frame(n=900, p=(.1, .1, .1), arm_labels=("b", "a", "c"))
    assert stats_of(three, control="b").arms == ("b", "a", "c")


def test_exclusions_are_counted_with_reasons():
    df = make_conversion_frame(n=1000).astype({"y": float, "arm": float})
    df.loc[[3, 4, 5], "y"] = np.nan
    df.loc[[7], "arm"] = np.nan
    with pytest.warns(DataWarning, match="read 0.0 as '0'"):
        s = stats_of(df, missing="exclude")
    assert s.rows.read == 1000 and s.rows.used == 996
    assert s.rows.excluded == {"arm is missing": 1, "y is missing or not finite": 3}
    d = s.rows.to_dict()
    assert d["excluded"] == 4 and {e["reason"] for e in d["exclusions"]} == set(s.rows.excluded)


@pytest.mark.parametrize("mutate,kw,match", [
    (lambda d: d, dict(metric="nope"), r"column 'nope' not found .*columns are: arm, y, user_id"),
    (lambda d: d.assign(y=d.y.astype(str).where(d.index != 5, "yes")), {},
     r"column 'y' is not numeric: 1 row \(row 6.*'yes'"),
    (lambda d: d.assign(y=d.y.astype(float).where(d.index > 1)), {},
     r"column 'y' is missing or not finite in 2 rows \(row 1, 2,"),
    (lambda d: d.assign(y=d.y.where(d.index != 9, 3)), {},
     r"column 'y' must be 0 or 1 .* 1 row \(row 10,"),
    (lambda d: d.assign(arm=0), {}, r"column 'arm' has 1 arm \('0'\)"),
    (lambda d: d, dict(control="9"), r"control arm '9' not found in column 'arm'"),
    (lambda d: d.assign(arm=np.where(d.arm == 1, "x", "y")), {}, r"name the control arm"),
    (lambda d: d.assign(user_id=d.user_id % 990), dict(unit_id="user_id"),
     r"column 'user_id' has 10 duplicated unit ids over 20 rows"),
    (lambda d: d.iloc[:0], {}, r"has no rows"),
])
def test_bad_unit_rows(mutate, kw, match):
    with pytest.raises(DataError, match=match):
        stats_of(mutate(make_conversion_frame(n=1000)), **kw)


def test_arm_with_no_usable_rows():
    df = make_conversion_frame(n=100).astype({"y": float})
    df.loc[df.arm == 1, "y"] = np.nan
    with pytest.raises(DataError, match="arm '1' of column 'arm' has no usable rows"):
        stats_of(df, missing="exclude")


@pytest.mark.parametrize("agg,match", [
    (dict(arm=[0, 1], users=[100, 100], y=[10, 120]), r"'y' exceeds 'users'.* \(row 2,"),
    (dict(arm=[0, 1], users=[100, -5], y=[10, 0]), r"'users' is a negative count"),
    (dict(arm=[0, 1], users=[100, 100], y=[10, -1]), r"'y' is negative"),
    (dict(arm=[0, 1], users=[100, 100.5], y=[10, 1]), r"'users' is not a whole number"),
    (dict(arm=[0, 1], users=[100, 100], y=[10, 1.5]), r"'y' is not a whole number"),
    (dict(arm=[0, 0], users=[100, 100], y=[10, 1]), r"has 1 arm"),
])
def test_bad_aggregated_rows(agg, match):
    with pytest.raises(DataError, match=match):
        stats_of(pd.DataFrame(agg), n="users")


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        open_source(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_text("a")
    with pytest.raises(DataError, match="unknown data format"):
        open_source(tmp_path / "x.xlsx")
    with pytest.raises(DataError, match="SQL query failed"):
        open_source(sql="SELECT * FROM no_such_table")


def test_parquet_footer_shortcut_never_hides_bad_values(tmp_path, conversion_frame):
    from bayeslab.data.sources import parquet_column_stats

    good = tmp_path / "good.parquet"
    conversion_frame.to_parquet(good)
    assert parquet_column_stats(open_source(good), "y") == (0.0, 1.0, 0)
    bad = tmp_path / "bad.parquet"
    conversion_frame.assign(y=conversion_frame.y.where(conversion_frame.index != 7, 2)).to_parquet(
        bad)
    with pytest.raises(DataError, match=r"must be 0 or 1 .* \(row 8,"):
        sufficient_stats(open_source(bad), arm="arm", metric="y")
    nulls = tmp_path / "nulls.parquet"
    conversion_frame.assign(y=conversion_frame.y.astype("Int64").where(
        conversion_frame.index != 3)).to_parquet(nulls)
    s = sufficient_stats(open_source(nulls), arm="arm", metric="y", missing="exclude")
    assert s.rows.used == 19_999 and s.rows.excluded == {"y is missing or not finite": 1}
    assert parquet_column_stats(open_source(tmp_path / "good.parquet"), "nope") is None
