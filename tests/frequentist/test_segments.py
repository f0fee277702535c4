import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from segment_data import simulate_segments  # noqa: E402

from bayeslab.core.errors import ModelError  # noqa: E402
from bayeslab.data.sources import open_source  # noqa: E402
from bayeslab.data.stats import sufficient_stats  # noqa: E402
from bayeslab.frequentist.segments import (  # noqa: E402
    benjamini_hochberg,
    glm_frame,
    heterogeneity_test,
    holm,
    segment_tests,
)


@pytest.mark.parametrize("seed", range(5))
def test_multitest_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=12), rng.uniform(0, 0.01, size=4), [0.5, 0.5]])
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1],
                               rtol=1e-12)


def test_z_tests_match_statsmodels():
    stats, _ = simulate_segments(seed=3)
    res = segment_tests(stats)
    t = stats.table
    for row in res.table.itertuples(index=False):
        c = t[(t["seg"] == row.segment) & (t["arm"] == "control")].iloc[0]
        tr = t[(t["seg"] == row.segment) & (t["arm"] == "treatment")].iloc[0]
        z, p = proportions_ztest([tr["sum"], c["sum"]], [tr["n"], c["n"]])
        assert row.statistic == pytest.approx(z, rel=1e-10)
        assert row.p_raw == pytest.approx(p, rel=1e-10)
    ref = multipletests(res.table["p_raw"], method="holm")[1]
    np.testing.assert_allclose(res.table["p_holm"], ref)
    est = res.estimates()
    seg_entries = [e for e in est if e.segment is not None]
    assert len(seg_entries) == 2 * 16
    assert all(e.p_value == pytest.approx(e.extra["p_holm"]) for e in seg_entries)
    assert [e for e in est if e.segment is None][0].extra["heterogeneity"]["df"] == 15


def test_welch_matches_scipy():
    rng = np.random.default_rng(4)
    rows = []
    for seg in ("a", "b", "c"):
        for arm, shift in (("control", 0.0), ("treatment", 0.3)):
            y = rng.gamma(2.0, 5.0, size=rng.integers(50, 200)) + shift
            rows.append(pd.DataFrame({"seg": seg, "arm": arm, "y": y}))
    frame = pd.concat(rows, ignore_index=True)
    stats = sufficient_stats(open_source(frame), arm="arm", metric="y", kind="continuous",
                             segments=["seg"], control="control")
    res = segment_tests(stats)
    assert res.test == "welch" and res.heterogeneity is None
    for row in res.table.itertuples(index=False):
        a = frame[(frame.seg == row.segment) & (frame.arm == "treatment")].y
        b = frame[(frame.seg == row.segment) & (frame.arm == "control")].y
        ref = st.ttest_ind(a, b, equal_var=False)
        ci = ref.confidence_interval(0.95)
        assert row.statistic == pytest.approx(ref.statistic, rel=1e-9)
        assert row.p_raw == pytest.approx(ref.pvalue, rel=1e-9)
        assert row.abs_lower == pytest.approx(ci.low, rel=1e-9)
        assert row.abs_upper == pytest.approx(ci.high, rel=1e-9)


def test_glm_aggregated_equals_unit_rows():
    stats, _ = simulate_segments(segments=4, n_per_arm=[60, 80, 100, 120], seed=5)
    frame = glm_frame(stats)
    units = frame.loc[frame.index.repeat(frame["w"].astype(int))].reset_index(drop=True)
    fam = sm.families.Binomial()
    agg = smf.glm("y ~ C(segment) * C(arm)", frame, family=fam, freq_weights=frame["w"]).fit()
    unit = smf.glm("y ~ C(segment) * C(arm)", units, family=fam).fit()
    np.testing.assert_allclose(agg.params, unit.params, rtol=1e-8)
    np.testing.assert_allclose(agg.bse, unit.bse, rtol=1e-8)
    assert agg.deviance == pytest.approx(unit.deviance, rel=1e-10)
    het = heterogeneity_test(stats)
    red = smf.glm("y ~ C(segment) + C(arm)", units, family=fam).fit()
    assert het.statistic == pytest.approx(red.deviance - unit.deviance, rel=1e-8)
    assert het.df == 3


def test_errors():
    stats, _ = simulate_segments(segments=3, seed=0)
    with pytest.raises(ModelError, match="adjust"):
        segment_tests(stats, adjust="sidak")     # bonferroni, holm, bh, none are accepted


def test_per_segment_tests_class_matches_statsmodels_at_its_level():
    """PerSegmentTests(interval, adjust).fit: BH p-values and Wald limits at a 90% level."""
    from bayeslab.frequentist.segments import PerSegmentTests

    stats, _ = simulate_segments(seed=7)
    res = PerSegmentTests(interval=0.9, adjust="bh").fit(stats)
    assert (res.interval, res.adjust) == (0.9, "bh")
    np.testing.assert_allclose(res.table["p_bh"],
                               multipletests(res.table["p_raw"], method="fdr_bh")[1], rtol=1e-12)
    t = stats.table
    z = st.norm.ppf(0.95)
    for row in res.table.itertuples(index=False):
        c = t[(t["seg"] == row.segment) & (t["arm"] == "control")].iloc[0]
        tr = t[(t["seg"] == row.segment) & (t["arm"] == "treatment")].iloc[0]
        p0, p1 = c["sum"] / c["n"], tr["sum"] / tr["n"]
        se = np.sqrt(p0 * (1 - p0) / c["n"] + p1 * (1 - p1) / tr["n"])
        assert row.abs_lower == pytest.approx(p1 - p0 - z * se, rel=1e-10)
    seg = [e for e in res.estimates() if e.segment is not None]
    assert all(e.p_value == pytest.approx(e.extra["p_bh"]) for e in seg)


@pytest.mark.parametrize("kw", [{"adjust": "sidak"}, {"interval": 1.0}])
def test_per_segment_tests_refuses_bad_options_at_construction(kw):
    from bayeslab.frequentist.segments import PerSegmentTests

    with pytest.raises(ModelError):
        PerSegmentTests(**kw)
