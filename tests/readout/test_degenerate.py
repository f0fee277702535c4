"""Degenerate inputs get an answer, not a hang or a silently wrong number (issue 14): constant
arms, rates of 0% and 100%, one unit per arm, and 1e12 units per arm."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayeslab.core.errors import DataError, StatisticalWarning
from bayeslab.core.format import format_prob
from bayeslab.readout.metric import compare


def _quiet(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return compare(**kwargs)


def test_constant_control_arm_is_a_point_mass():
    # zero revenue in control: the difference is the treatment posterior shifted by 0
    rng = np.random.default_rng(1)
    y = rng.gamma(2.0, 5.0, 300)
    frame = pd.DataFrame({"arm": np.repeat([0, 1], 300), "revenue": np.r_[np.zeros(300), y]})
    r = _quiet(data=frame, arm="arm", metric="revenue", kind="continuous")
    est = next(e for e in r.estimates() if e.side == "bayes" and e.effect == "absolute")
    n, m, s = len(y), y.mean(), y.std(ddof=1)
    post = stats.t(df=n - 1, loc=m, scale=s / np.sqrt(n))  # Jeffreys: Student-t of the mean
    assert (est.lower, est.upper) == pytest.approx((post.ppf(0.025), post.ppf(0.975)), rel=1e-9)
    assert any("no variation" in w for w in r.warnings)


def test_all_constant_metric_is_a_clear_error():
    frame = pd.DataFrame({"arm": [0, 1] * 50, "revenue": 4.0})
    with pytest.raises(DataError, match="'revenue' has no variation"):
        compare(frame, arm="arm", metric="revenue", kind="continuous")


def test_one_unit_per_arm_says_the_wald_interval_is_degenerate():
    frame = pd.DataFrame({"arm": [0, 1], "y": [0, 1]})
    r = _quiet(data=frame, arm="arm", metric="y")
    wald = next(e for e in r.estimates() if e.method == "z-test")
    assert wald.lower == wald.upper and wald.p_value == pytest.approx(0.157, abs=1e-3)
    assert "zero width" in wald.extra["degenerate"]
    assert any("Wald interval" in w and "zero width" in w for w in r.warnings)


def test_zero_vs_full_conversion_prints_no_floor_value():
    frame = pd.DataFrame({"arm": [0, 1], "y": [0, 1000], "n": [1000, 1000]})
    r = _quiet(data=frame, arm="arm", metric="y", n="n")
    text = str(r)
    assert "1e-320" not in text and "1.0e-3" not in text
    assert "P(> 0) = 1 - <1e-300" in text and "p = <1e-300" in text and "p = 0," not in text
    assert format_prob(1.0, 0.0) == "1 - <1e-300" and format_prob(0.0, 1.0) == "<1e-300"


def test_trillion_units_per_arm_agree_with_the_z_test():
    # the case: 1e12 units per arm, 10% vs 10.001%; z-test p = 7.9e-123
    frame = pd.DataFrame({"arm": [0, 1], "conv": [100_000_000_000, 100_010_000_000],
                          "n": [10**12, 10**12]})
    r = _quiet(data=frame, arm="arm", metric="conv", n="n")
    bayes = next(e for e in r.estimates() if e.side == "bayes" and e.effect == "absolute")
    freq = next(e for e in r.estimates() if e.method == "z-test")
    assert freq.p_value == pytest.approx(7.9e-123, rel=0.01)
    # P(B < A) is about Phi(-z) = p / 2 (uniform prior; normal limit at this size)
    assert bayes.extra["prob_negative"] == pytest.approx(freq.p_value / 2, rel=0.01)
    assert r.decision.verdict == "ship"


def test_count_metric_with_an_event_free_arm_reads_out_without_the_poisson_test():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"arm": np.repeat([0, 1], 200),
                          "events": np.r_[np.zeros(200, int), rng.poisson(2.0, 200)]})
    r = _quiet(data=frame, arm="arm", metric="events", kind="count")
    methods = {e.method for e in r.estimates()}
    assert "welch" in methods and "bayes-gamma-poisson" in methods
    assert not any("poisson" in m and e.side == "frequentist"
                   for e in r.estimates() for m in [e.method])
    assert any("Poisson rate test is left out" in w for w in r.warnings)
