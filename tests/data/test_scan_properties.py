"""The property scan's reduction: one GROUPING SETS query, the same counts as pandas."""

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError
from bayeslab.data.scan_properties import property_stats
from bayeslab.data.sources import open_source
from bayeslab.frequentist.property_scan import LevelVersusRest
from bayeslab.scenarios.properties import simulate_properties


@pytest.fixture(scope="module")
def scenario():
    return simulate_properties(20_000, seed=5)


def test_twelve_properties_cost_one_query_and_match_pandas(scenario):
    df = scenario.data
    src = open_source(df)
    props = scenario.roles["properties"]
    st = property_stats(src, arm="treatment", metric="converted", properties=props,
                        min_units=1)
    assert src.cache["queries"] == 1 and src.cache["scans"] == 1
    assert st.n_levels == 67 and len(props) == 12
    for i, (prop, level) in enumerate(st.levels):
        g = df[df[prop] == level].groupby("treatment")["converted"].agg(["count", "sum"])
        np.testing.assert_array_equal(st.counts[i, :, 0], g["count"].to_numpy())
        np.testing.assert_array_equal(st.counts[i, :, 1], g["sum"].to_numpy())
    e = st.effects()
    m = df.groupby("treatment")["converted"].mean()
    assert e["population"] == pytest.approx(m[1] - m[0], rel=1e-12)


def test_small_levels_pool_into_other_and_missing_is_a_level():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"arm": rng.integers(0, 2, 3000), "y": rng.normal(size=3000),
                       "p": rng.choice(["a", "b", "c", "d"], 3000, p=[.5, .46, .02, .02])})
    df.loc[:40, "p"] = None
    st = property_stats(open_source(df), arm="arm", metric="y", properties=["p"],
                        kind="continuous", min_units=100)
    assert [lv for _, lv in st.levels] == ["(missing)", "a", "b", "other"] or \
        set(st.pooled["p"]) >= {"c", "d"}
    assert st.counts[:, :, 0].sum() == 3000
    cont = df[df["p"].isin(["c", "d"])].groupby("arm")["y"].agg(["count", "sum"])
    other = st.counts[[lv for _, lv in st.levels].index("other")]
    # "other" holds c, d and the small (missing) level when it is below min_units
    assert other[:, 0].sum() >= cont["count"].sum()


def test_levels_seen_in_one_arm_are_dropped_and_said_so_not_turned_into_nan():
    """A level in one arm only has no effect: alone (or pooled with other small ones that are
    also one-armed) it is left out (listed in ``dropped``), never a NaN level."""
    rng = np.random.default_rng(1)
    arm = rng.integers(0, 2, 4000)
    p = np.where(rng.random(4000) < 0.5, "a", "b").astype(object)
    p[(arm == 1) & (rng.random(4000) < 0.05)] = "treated-only"
    df = pd.DataFrame({"arm": arm, "y": rng.normal(size=4000), "p": p,
                       "q": rng.choice(["x", "z"], 4000)})
    st = property_stats(open_source(df), arm="arm", metric="y", properties=["p", "q"],
                        kind="continuous", min_units=50)
    assert st.dropped == {"p": ["treated-only"]} and "p" not in st.pooled
    assert ("p", "treated-only") not in st.levels and ("p", "other") not in st.levels
    assert st.population[:, 0].sum() == 4000   # its rows stay in the population
    e = st.effects()
    assert np.isfinite(e["level"]).all() and np.isfinite(e["level_se"]).all()
    assert np.isfinite(LevelVersusRest().fit(st).p_value).all()


def test_errors_name_the_column():
    df = pd.DataFrame({"arm": [0, 1, 0, 1], "y": [0, 1, 2, 1], "p": list("abab")})
    with pytest.raises(DataError, match="'y'"):
        property_stats(open_source(df), arm="arm", metric="y", properties=["p"])
    with pytest.raises(DataError, match="'nope'"):
        property_stats(open_source(df), arm="arm", metric="y", properties=["nope"])
    with pytest.raises(DataError, match="'p'"):
        property_stats(open_source(df), arm="arm", metric="y", properties=["p", "p"])
    st = property_stats(open_source(df), arm="arm", metric="y", properties=["p"],
                        missing="exclude", min_units=1)
    assert st.rows.used == 3 and st.rows.n_excluded == 1
