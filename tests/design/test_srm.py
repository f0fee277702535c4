"""SRM check against scipy.stats.chisquare; validation errors."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare

from bayeslab.core.errors import DataError
from bayeslab.design.srm import srm_by_segment, srm_check


@pytest.mark.parametrize("observed,planned", [
    ([5030, 4970], None), ([35637, 3944], [0.9, 0.1]), ([1000, 1100, 950], [0.3, 0.4, 0.3]),
    ([5200, 4800], [0.5, 0.5]),
])
def test_matches_scipy_chisquare(observed, planned):
    res = srm_check(observed, planned)
    n = sum(observed)
    f_exp = None if planned is None else np.asarray(planned) * n
    ref = chisquare(observed, f_exp=f_exp)
    assert res.chi2 == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.df == len(observed) - 1
    assert res.mismatch == (ref.pvalue < 0.001)


def test_notebook_002_split():
    """Notebook 002: [35637, 3944] against 90/10 gives p = 0.81325 (no mismatch)."""
    res = srm_check([35637, 3944], [0.9, 0.1])
    assert round(res.p_value, 5) == 0.81325 and not res.mismatch


def test_mismatch_flag_and_output():
    res = srm_check({"control": 5200, "treatment": 4800})
    assert res.mismatch and res.p_value < 0.001
    assert res.arms == ("control", "treatment")
    out = json.loads(json.dumps(res.to_dict()))
    assert {"chi2", "p_value", "mismatch", "observed", "expected", "planned", "df",
            "threshold"} <= set(out)
    assert "MISMATCH" in str(res) and "control" in str(res)
    assert res.summary().loc["control", "observed"] == 5200
    assert not srm_check([5200, 4800], threshold=1e-6).mismatch


@pytest.mark.parametrize("observed,planned,match", [
    ([10, -1], None, "non-negative integer"),
    ([10.5, 3], None, "non-negative integer"),
    ([10], None, "at least two"),
    ([10, 10], [0.5, 0.6], "sum to 1"),
    ([10, 10], [1.0, 0.0], "positive"),
    ([10, 10, 10], [0.5, 0.5], "2 shares for 3 arms"),
    ([0, 0], None, "no units"),
])
def test_validation(observed, planned, match):
    with pytest.raises(DataError, match=match):
        srm_check(observed, planned)


def test_by_segment():
    table = pd.DataFrame({
        "segment": ["ios", "ios", "android", "android", "web"],
        "arm": ["A", "B", "A", "B", "A"],
        "n": [5000, 5010, 5300, 4700, 100],
    })
    out = srm_by_segment(table)
    assert list(out.columns[:2]) == ["A", "B"]
    assert out.loc["web", "B"] == 0 and out.loc["web", "mismatch"]
    assert not out.loc["ios", "mismatch"] and out.loc["android", "mismatch"]
    ref = chisquare([5300, 4700])
    assert out.loc["android", "p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert out.attrs["segments"] == 3
    with pytest.raises(DataError, match="no column 'count'"):
        srm_by_segment(table, count="count")
    bad = table.assign(n=[1, -2, 3, 4, 5])
    with pytest.raises(DataError, match="segment 'ios'"):
        srm_by_segment(bad)
