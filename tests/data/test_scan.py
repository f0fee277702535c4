"""One scan per readout and per plan, with the same numbers as one query per metric."""

import json

import numpy as np
import pandas as pd
import pytest

import bayeslab as bl
from bayeslab.data import scan
from bayeslab.data.sources import open_source
from tests.json_close import assert_json_close


@pytest.fixture(scope="module")
def migration():
    return bl.simulate("migration", rows=8_000, seed=3).data




def test_readout_with_two_guardrails_scans_once(migration):
    src = open_source(migration)
    bl.compare(src, arm="treatment", metric="ps5_purchase_30d",
               guardrails=["unsubscribe_flag", "optout_flag"], margins=0.005)
    assert src.cache["scans"] == 1 and src.cache["queries"] == 1
    assert src.cache["answered"] == 3


def test_one_scan_gives_the_same_readout(migration, monkeypatch):
    kwargs = dict(arm="treatment", metric="revenue_60d", kind="continuous",
                  covariate="pre_30d_spend", guardrails=["unsubscribe_flag"], margins=0.005)
    one = bl.compare(open_source(migration), **kwargs).to_dict()
    monkeypatch.setattr(scan, "prefetch", lambda source, requests: None)
    separate = open_source(migration)
    many = bl.compare(separate, **kwargs).to_dict()
    assert separate.cache["scans"] >= 2
    assert_json_close(one, many)


def test_plan_reduces_everything_in_one_scan(migration, tmp_path, monkeypatch):
    from bayeslab.plan.runner import run_plan

    path = tmp_path / "m.parquet"
    migration.to_parquet(path)
    plan = tmp_path / "p.toml"
    plan.write_text(f"""
[data]
path = "{path.name}"
[columns]
arm = "treatment"
[[metrics]]
name = "ps5_purchase_30d"
role = "primary"
[[metrics]]
name = "unsubscribe_flag"
role = "guardrail"
margin = 0.005
[[metrics]]
name = "optout_flag"
role = "guardrail"
margin = 0.005
[[metrics]]
name = "post_30d_sessions"
kind = "count"
[[metrics]]
name = "revenue_60d"
kind = "continuous"
covariate = "pre_30d_spend"
[sequential]
looks = [2000, 4000, 8000]
[segments]
columns = ["ps_plus_member", "spend_tier"]   # the shipped plan's: setup.sh compiled this model
draws = 50
tune = 50
chains = 1
""")
    seen = []
    real = scan.fetch_frame

    def spy(source, query, *args):
        seen.append(source)
        return real(source, query, *args)

    monkeypatch.setattr(scan, "fetch_frame", spy)
    result = run_plan(plan)
    assert len(seen) == 1  # one grouped scan for 5 metrics, segments and 3 looks
    assert seen[0].cache["queries"] == 1
    assert result.monitor is not None and len(result.monitor.table) == 3
    json.dumps(result.to_dict())


def test_rollup_matches_direct_groupby():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"arm": rng.integers(0, 2, 500), "s": rng.integers(0, 3, 500),
                       "y": rng.normal(size=500)})
    df.loc[::7, "s"] = None
    src = open_source(df)
    keys, aggs = [("arm", '"arm"')], [("n", "count(*)"), ("lo", 'min("y")'),
                                      ("sy", 'coalesce(sum("y"), 0)')]
    scan.prefetch(src, [(keys + [("s", '"s"')], aggs)])
    rolled = scan.grouped(src, keys, aggs).to_pandas().sort_values("arm").reset_index(drop=True)
    assert src.cache["answered"] == 1
    direct = df.groupby("arm").agg(n=("y", "size"), lo=("y", "min"), sy=("y", "sum"))
    np.testing.assert_array_equal(rolled["n"], direct["n"])
    np.testing.assert_allclose(rolled["lo"], direct["lo"])
    np.testing.assert_allclose(rolled["sy"], direct["sy"], rtol=1e-12)


def test_cells_group_matches_pandas_groupby_with_missing_keys():
    """Cells.group (sums, minima that skip NaN, missing keys as one group) equals pandas."""
    from bayeslab.data.cells import Cells, key_array

    rng = np.random.default_rng(3)
    k = [None if i % 5 == 0 else ("a" if i % 2 else "b") for i in range(60)]
    k = [float("nan") if i % 15 == 0 else v for i, v in enumerate(k)]  # NaN and None: one group
    n = rng.integers(0, 9, 60)
    y = rng.normal(size=60)
    y[::4] = np.nan
    cells = Cells({"k": key_array(k), "n": n, "lo": y, "hi": y})
    got = cells.group(["k"], {"lo": "min", "hi": "max"})
    assert [None if v is None or v != v else v for v in got["k"]] == [None, "a", "b"]  # first seen
    assert got["n"].dtype == np.int64 and not got.has_duplicates(["k"])
    assert cells.has_duplicates(["k"])
    frame = pd.DataFrame({"k": k, "n": n, "y": y})
    want = frame.groupby("k", dropna=False).agg(n=("n", "sum"), lo=("y", "min"), hi=("y", "max"))
    for i, key in enumerate([np.nan, "a", "b"]):
        row = want.loc[want.index.isna()] if key is np.nan else want.loc[[key]]
        assert got["n"][i] == row["n"].iloc[0]
        assert got["lo"][i] == row["lo"].iloc[0] and got["hi"][i] == row["hi"].iloc[0]


def test_cells_roll_up_is_the_same_to_the_last_bit_in_any_row_order():
    """Grouped rows arrive in a thread-dependent order; sorted first, float totals never move."""
    from bayeslab.data.cells import Cells, key_array

    rng = np.random.default_rng(7)
    seg = key_array([f"s{i // 2}" for i in range(400)])  # one row per (arm, seg): a scan's cells
    arm = key_array([str(i % 2) for i in range(400)])
    y = rng.lognormal(3.0, 2.0, 400)  # spread values: float sums depend on their order
    totals = set()
    orders = set()
    for seed in range(12):
        perm = np.random.default_rng(seed).permutation(400)
        cells = Cells({"arm": arm[perm], "seg": seg[perm], "s": y[perm]})
        orders.add(float(cells.drop(["seg"]).group(["arm"])["s"][0]))
        ordered = cells.sorted_by(["arm", "seg"]).drop(["seg"])
        totals.add(tuple(ordered.group(["arm"])["s"].tolist()))
    assert len(orders) > 1  # unsorted, the order shows in the last bits
    assert len(totals) == 1
