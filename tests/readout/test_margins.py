"""Guardrail margins that bite: relative margins on both sides, a warning for absolute margins at
or above the control rate, and one clear line for a margin that means nothing."""

import numpy as np
import pandas as pd
import pytest

import bayeslab as bl
from bayeslab.bayes.conversion import BetaBinomial
from bayeslab.cli import main
from bayeslab.core.errors import DataError, StatisticalWarning
from bayeslab.frequentist.conversion import TwoProportionZTest


@pytest.fixture(scope="module")
def unsubscribes():
    """Control 0.4 %, treatment 0.6 % (+50 %), 40,000 units per arm."""
    rng = np.random.default_rng(11)
    n = 40_000
    arm = np.repeat(["control", "new"], n)
    y = np.concatenate([rng.random(n) < 0.004, rng.random(n) < 0.006]).astype(int)
    x = np.concatenate([rng.random(n) < 0.10, rng.random(n) < 0.11]).astype(int)
    return pd.DataFrame({"arm": arm, "bought": x, "unsub": y})


def test_relative_noninferiority_matches_statsmodels_log_ratio_test():
    from statsmodels.stats.proportion import test_proportions_2indep

    n, x = np.array([40_000, 40_000]), np.array([160, 228])
    test = TwoProportionZTest(interval=0.95).fit_counts(n, x, arms=("c", "t"), metric="u")
    ni = test.noninferiority(0.25, relative=True)
    ref = test_proportions_2indep(x[1], n[1], x[0], n[0], value=1.25, compare="ratio",
                                  method="log", alternative="smaller")
    assert ni.relative and ni.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert ni.diff == pytest.approx(228 / 160 - 1, rel=1e-12)
    ab = test.noninferiority(0.001)          # the absolute test is unchanged
    assert not ab.relative and ab.diff == pytest.approx((228 - 160) / 40_000, rel=1e-12)


def test_relative_probability_above_the_margin_matches_draws():
    post = BetaBinomial(1, 1).fit_counts(np.array([40_000, 40_000]), np.array([160, 228]),
                                         arms=("c", "t"), metric="u")
    p = post.prob_lift_above(0.25, relative=True)
    rng = np.random.default_rng(5)
    draws = 2_000_000
    t, c = rng.beta(229, 39_773, draws), rng.beta(161, 39_841, draws)
    mc = np.mean(t / c - 1 > 0.25)
    assert p == pytest.approx(mc, abs=5 * np.sqrt(mc * (1 - mc) / draws))


def test_a_relative_margin_catches_a_rise_an_absolute_one_waves_through(unsubscribes):
    with pytest.warns(StatisticalWarning, match="at or above the control rate"):
        loose = bl.compare(unsubscribes, arm="arm", metric="bought", control="control",
                           guardrails=["unsub"], margins=0.005)
    g = loose.guardrails[0]
    assert g.decision.verdict == "pass" and not g.margin_relative
    assert any("at or above the control rate" in n for n in g.notes)
    tight = bl.compare(unsubscribes, arm="arm", metric="bought", control="control",
                       guardrails=["unsub"], margins="20%")
    g = tight.guardrails[0]
    assert g.margin == pytest.approx(0.2) and g.margin_relative
    assert g.decision.verdict == "fail"
    check = g.guardrail_check()
    assert check["relative"] and check["difference"] == pytest.approx(
        unsubscribes.query("arm == 'new'").unsub.mean()
        / unsubscribes.query("arm == 'control'").unsub.mean() - 1, rel=1e-9)
    assert "20.0% of the control rate" in str(tight)
    saved = bl.readout_from_dict(g.to_dict())
    assert saved.margin_relative and saved.guardrail_check()["relative"]


@pytest.mark.parametrize("margins, message", [
    ("abc", "must be a number .* or a percentage"), ("-5%", "positive increase"),
    (0.0, "positive increase"), (float("nan"), "positive increase")])
def test_margins_that_mean_nothing_are_refused(unsubscribes, margins, message):
    with pytest.raises(DataError, match=message):
        bl.compare(unsubscribes, arm="arm", metric="bought", control="control",
                   guardrails=["unsub"], margins=margins)


def test_a_margin_without_guardrails_is_refused(unsubscribes, tmp_path, capsys):
    with pytest.raises(DataError, match="margins are for guardrails"):
        bl.compare(unsubscribes, arm="arm", metric="bought", control="control", margins=0.01)
    path = tmp_path / "u.csv"
    unsubscribes.to_csv(path, index=False)
    code = main(["compare", str(path), "--arm", "arm", "--metric", "bought", "--control",
                 "control", "--margin", "0.01"])
    err = capsys.readouterr().err
    assert code == 2 and "--margin applies to guardrails" in err and "Traceback" not in err
    code = main(["compare", str(path), "--arm", "arm", "--metric", "bought", "--control",
                 "control", "--guardrail", "unsub", "--margin", "20%", "--format", "json"])
    assert code == 0
