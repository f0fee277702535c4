"""The properties scenario: 12 properties, 67 levels, one level with twice the effect."""

import pytest

from bayeslab.scenarios.properties import simulate_properties


def test_truth_has_one_special_level_at_twice_the_effect():
    sc = simulate_properties(100_000, seed=0, effect=0.03)
    levels = sc.truth["levels"]
    assert len(levels) == 67 and len({lv["property"] for lv in levels}) == 12
    special = [lv for lv in levels if lv["special"]]
    assert [(lv["property"], lv["level"]) for lv in special] == [("country", "BR")]
    assert special[0]["share_sample"] == pytest.approx(0.08, abs=0.005)
    assert special[0]["converted"] == pytest.approx(0.06, abs=1e-3)
    others = [lv for lv in levels if lv["property"] != "country"]
    assert max(abs(lv["converted_deviation"]) for lv in others) < 0.002
    aa = simulate_properties(20_000, seed=0, heterogeneity="none")
    assert all(abs(lv["converted_deviation"]) < 1e-3 for lv in aa.truth["levels"])
