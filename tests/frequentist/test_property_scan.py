"""Level-vs-rest tests against statsmodels (z-test, Bonferroni, Benjamini-Hochberg)."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from bayeslab.core.errors import ModelError
from bayeslab.data.scan_properties import property_stats
from bayeslab.data.sources import open_source
from bayeslab.frequentist.property_scan import LevelVersusRest
from bayeslab.scenarios.properties import simulate_properties


def test_level_vs_rest_matches_a_hand_z_test_and_statsmodels_corrections():
    sc = simulate_properties(30_000, seed=2)
    df = sc.data
    st = property_stats(open_source(df), arm="treatment", metric="converted",
                        properties=sc.roles["properties"], min_units=1)
    res = LevelVersusRest(alpha=0.05).fit(st)
    from scipy.stats import norm

    def diff_se(frame):
        g = frame.groupby("treatment")["converted"].agg(["mean", "count"])
        v = g["mean"] * (1 - g["mean"]) / g["count"]
        return g["mean"][1] - g["mean"][0], v.sum()

    for i in (0, 17, 66):
        prop, level = st.levels[i]
        d1, v1 = diff_se(df[df[prop] == level])
        d2, v2 = diff_se(df[df[prop] != level])
        p = 2 * norm.sf(abs(d1 - d2) / np.sqrt(v1 + v2))
        assert res.p_value[i] == pytest.approx(p, rel=1e-9)
    np.testing.assert_allclose(res.bonferroni, multipletests(res.p_value, method="bonferroni")[1])
    np.testing.assert_allclose(res.bh, multipletests(res.p_value, method="fdr_bh")[1])
    assert len(res.to_dict()["levels"]) == 67
    with pytest.raises(ModelError, match="alpha"):
        LevelVersusRest(alpha=1.5)
