"""Per-arm sums over clusters, against pandas; refusals name the cluster column."""

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError
from bayeslab.data.clusters import cluster_stats, repeated_ids
from bayeslab.data.sources import open_source


@pytest.fixture
def df():
    rng = np.random.default_rng(5)
    acct = rng.integers(0, 30, 600)
    return pd.DataFrame({"acct": acct, "arm": acct % 2, "y": rng.normal(2, 1, 600)})


def test_sums_equal_pandas(df):
    st = cluster_stats(open_source(df), arm="arm", metric="y", cluster="acct")
    per = df.groupby(["arm", "acct"]).y.agg(["size", "sum"]).reset_index()
    for i, a in enumerate(st.arms):
        g = per[per.arm == int(a)]
        assert st.clusters[i] == len(g)
        np.testing.assert_allclose(
            [st.sums[k][i] for k in ("n", "y", "nn", "yy", "ny")],
            [g["size"].sum(), g["sum"].sum(), (g["size"]**2).sum(), (g["sum"]**2).sum(),
             (g["size"] * g["sum"]).sum()], rtol=1e-12)
    assert list(st.arm_cells()["clusters"]) == list(st.clusters)
    assert repeated_ids(open_source(df), "acct", "arm") == (30, 0, 600)


def test_refusals(df):
    split = df.assign(arm=np.arange(600) % 2)
    with pytest.raises(DataError, match="column 'acct' has clusters in more than one arm"):
        cluster_stats(open_source(split), arm="arm", metric="y", cluster="acct")
    gap = df.assign(acct=df.acct.astype(float).where(df.index != 3))
    with pytest.raises(DataError, match="column 'acct' is missing on 1 rows"):
        cluster_stats(open_source(gap), arm="arm", metric="y", cluster="acct")
    with pytest.raises(DataError, match="column 'nope' not found"):
        cluster_stats(open_source(df), arm="arm", metric="y", cluster="nope")
