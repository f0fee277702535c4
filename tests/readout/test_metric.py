"""Readout: both sides side by side, decisions, blockers, guardrails, JSON shape."""

import json

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError, ModelError
from bayeslab.readout.metric import DecisionRule, compare
from tests.conftest import make_conversion_frame


def frame(n, p, seed=0, guard=None):
    df = make_conversion_frame(n=n, p=p, seed=seed)
    if guard is not None:
        rng = np.random.default_rng(seed + 100)
        df["g"] = (rng.random(len(df)) < np.asarray(guard)[df.arm]).astype(int)
    return df


def test_clear_win_ships_and_both_sides_are_present():
    r = compare(frame(40_000, (0.10, 0.12)), arm="arm", metric="y")
    assert r.decision.verdict == "ship" and r.decision.arm == "1"
    sides = {(e.side, e.method, e.effect) for e in r.estimates()}
    assert sides == {("bayes", "beta-binomial", "absolute"), ("bayes", "beta-binomial", "relative"),
                     ("frequentist", "z-test", "absolute"), ("frequentist", "newcombe", "absolute"),
                     ("frequentist", "log-ratio", "relative")}
    assert "Rule: ship when P(lift > 0) >= 0.975" in r.decision.text


def test_no_difference_is_inconclusive():
    r = compare(frame(2000, (0.10, 0.10), seed=3), arm="arm", metric="y")
    assert r.decision.verdict == "inconclusive"


def test_clear_loss_is_do_not_ship():
    r = compare(frame(40_000, (0.12, 0.10)), arm="arm", metric="y")
    assert r.decision.verdict == "do not ship"


def test_sample_ratio_mismatch_blocks_the_decision():
    df = frame(40_000, (0.10, 0.12))
    df = df.drop(df[df.arm == 1].index[:1500])  # lose 7.5% of treatment
    r = compare(df, arm="arm", metric="y")
    assert r.srm.mismatch
    assert r.decision.verdict == "blocked"
    assert "sample ratio mismatch" in r.decision.blockers[0]
    # the same counts are fine when that split was planned
    share = (df.arm == 0).mean()
    ok = compare(df, arm="arm", metric="y", planned_split=[share, 1 - share])
    assert not ok.srm.mismatch and ok.decision.verdict == "ship"


def test_guardrail_failure_holds_the_ship():
    df = frame(40_000, (0.10, 0.12), guard=(0.004, 0.010))
    r = compare(df, arm="arm", metric="y", guardrails=["g"], margins=0.002)
    g = r.guardrails[0]
    assert g.decision.verdict == "fail"
    assert r.decision.verdict == "hold" and "did not pass" in r.decision.reasons[0]
    passed = compare(df, arm="arm", metric="y", guardrails="g", margins={"g": 0.02})
    assert passed.guardrails[0].decision.verdict == "pass"
    assert passed.decision.verdict == "ship"


def test_guardrail_probability_matches_definition():
    df = frame(40_000, (0.10, 0.12), guard=(0.004, 0.006))
    r = compare(df, arm="arm", metric="y", guardrails=["g"], margins=0.004)
    g = r.guardrails[0]
    assert g.bayes.prob_lift_above(0.004) < 0.05
    assert g.frequentist.noninferiority(0.004).p_value < 0.025


def test_guardrail_needs_a_margin():
    with pytest.raises(DataError, match="needs a non-inferiority margin"):
        compare(frame(1000, (.1, .1), guard=(.01, .01)), arm="arm", metric="y", guardrails=["g"])


def test_three_arms_use_holm_and_best_arm():
    """Issue 24: the arms are one family, Holm by default (Bonferroni on request)."""
    df = make_conversion_frame(n=60_000, p=(0.10, 0.10, 0.125), arm_labels=("c", "t1", "t2"))
    r = compare(df, arm="arm", metric="y", control="c")
    assert r.decision.arm == "t2" and r.decision.verdict == "ship"
    assert "Holm-adjusted over 2 tests: 2 variants" in r.decision.text
    r = compare(df, arm="arm", metric="y", control="c", correction="bonferroni")
    assert r.decision.arm == "t2" and r.decision.verdict == "ship"
    assert "Bonferroni-adjusted over 2 tests: 2 variants" in r.decision.text


def test_json_shape_and_round_trip():
    d = compare(frame(4000, (0.10, 0.12)), arm="arm", metric="y").to_dict()
    json.dumps(d, allow_nan=False)
    assert set(d["rows"]) >= {"read", "used", "excluded"}
    assert d["arms"][0].keys() >= {"arm", "n", "mean"}
    for e in d["results"]:
        assert e.keys() >= {"side", "method", "effect", "estimate", "lower", "upper", "level"}
        if e["side"] == "bayes":
            assert "prob_positive" in e and "expected_loss" in e
        else:
            assert "p_value" in e


def test_aggregated_readout_equals_unit_readout():
    df = frame(20_000, (0.10, 0.115))
    unit = compare(df, arm="arm", metric="y").to_dict()
    agg = df.groupby("arm", as_index=False).agg(n=("y", "size"), y=("y", "sum"))
    a = compare(agg, arm="arm", metric="y", n="n").to_dict()
    assert a["results"] == unit["results"]
    assert a["decision"] == unit["decision"]
    assert a["rows"]["units"] == unit["rows"]["used"] == 20_000


def test_text_rendering_names_everything():
    text = str(compare(frame(20_000, (0.10, 0.12), guard=(.01, .01)), arm="arm", metric="y",
                       guardrails=["g"], margins=0.01))
    for word in ("beta-binomial", "z-test", "newcombe", "log-ratio", "SRM check", "Decision",
                 "Guardrail: g", "rows read 20,000"):
        assert word in text


def test_bad_rule_and_kind():
    with pytest.raises(ModelError):
        DecisionRule(prob_threshold=1.5)
    with pytest.raises(ModelError, match="kind"):
        compare(pd.DataFrame({"arm": [0, 1], "y": [0, 1]}), arm="arm", metric="y", kind="weird")
