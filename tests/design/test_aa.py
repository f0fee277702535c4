"""A/A simulation: per-experiment decisions equal compare()'s, and the measured rates."""

import math

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import ModelError
from bayeslab.design.aa import aa_simulation, decisions
from bayeslab.readout.metric import DecisionRule, compare


def test_vectorized_decisions_equal_compare():
    """30 experiments with a spread of effects: the vectorized z-test and ship rule give the
    verdicts of compare() (which uses the exact scalar kernels) on each."""
    rng = np.random.default_rng(0)
    n_c = rng.integers(2_000, 6_000, 30)
    n_t = rng.integers(2_000, 6_000, 30)
    x_c = rng.binomial(n_c, 0.1)
    x_t = rng.binomial(n_t, 0.1 * (1 + rng.normal(0.08, 0.08, 30)).clip(0.5, 1.5))
    rule = DecisionRule()
    dec = decisions(n_c, x_c, n_t, x_t, rule)
    seen = set()
    for i in range(30):
        df = pd.DataFrame({"arm": [0, 1], "n": [n_c[i], n_t[i]], "y": [x_c[i], x_t[i]]})
        r = compare(df, arm="arm", metric="y", n="n", rule=rule)
        assert (r.decision.bayes == "ship") == dec["bayes_ship"][i]
        assert (r.decision.bayes == "do not ship") == dec["bayes_no_ship"][i]
        assert (r.decision.frequentist == "ship") == dec["z_ship"][i]
        assert (r.decision.frequentist != "inconclusive") == dec["z_reject"][i]
        seen.add(r.decision.bayes)
    assert {"ship", "inconclusive"} <= seen


def test_z_test_false_positive_rate_is_alpha():
    """20,000 A/A experiments of 20,000 units: z-test rate 0.05 within 4 MC sd (0.0062);
    SRM flags under a fixed split: none; Bernoulli split: about 0.001."""
    res = aa_simulation(20_000, 0.1, n_sims=20_000, seed=1)
    assert res.rates["z_reject"] == pytest.approx(0.05, abs=4 * math.sqrt(0.05 * 0.95 / 20_000))
    assert res.mc_se["z_reject"] == pytest.approx(
        math.sqrt(res.rates["z_reject"] * (1 - res.rates["z_reject"]) / 20_000))
    assert res.rates["srm"] == 0.0
    # one look with P >= 0.95: Bayes ships about as often as a one-sided 5% test (the loss
    # condition only removes some), below the two-sided reject rate of either direction
    assert 0.0 < res.rates["bayes_ship"] <= 0.05 + 4 * res.mc_se["bayes_ship"]
    assert res.rates["both_ship"] <= res.rates["bayes_ship"]
    b = aa_simulation(20_000, 0.1, n_sims=20_000, seed=2, assignment="bernoulli", share=0.1)
    assert b.rates["srm"] == pytest.approx(0.001, abs=4 * math.sqrt(0.001 / 20_000))
    assert b.rates["z_reject"] == pytest.approx(0.05, abs=0.0062)
    assert "A/A simulation" in str(b) and b.to_dict()["share"] == 0.1


def test_hash_assignment():
    res = aa_simulation(2_000, 0.2, n_sims=100, assignment="hash", seed=3)
    assert res.assignment == "hash" and 0 <= res.rates["z_reject"] <= 0.2
    again = aa_simulation(2_000, 0.2, n_sims=100, assignment="hash", seed=3)
    assert again.rates == res.rates


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 0}, "n must be a positive integer"),
    ({"baseline": 1.5}, r"baseline must be in \(0, 1\)"),
    ({"assignment": "coin"}, "assignment must be one of"),
    ({"prior": (0, 1)}, "prior must be two positive numbers"),
])
def test_bad_input(kwargs, match):
    args = {"n": 1000, "baseline": 0.1, "n_sims": 10, **kwargs}
    with pytest.raises(ModelError, match=match):
        aa_simulation(**args)


def test_decisions_in_chunks_give_the_same_rates(monkeypatch):
    from bayeslab.design import aa

    whole = aa.aa_simulation(2000, 0.1, n_sims=5000, seed=4)
    monkeypatch.setattr(aa, "_CHUNK", 777)
    assert aa.aa_simulation(2000, 0.1, n_sims=5000, seed=4).rates == whole.rates


@pytest.mark.slow
def test_ctrl_c_stops_a_million_simulation_aa_at_once(tmp_path):
    """SIGINT during `design aa --sims 1000000` (fixed assignment): exit 130 at once (0.02-0.33 s
    on a quiet machine, 2026-12-07; the bound leaves room for a loaded CI machine). It took
    8-9 s when all million experiments were decided in one vectorized call."""
    from tests.conftest import interrupt_cli

    # after 8 s: imports done (a few seconds under load), deciding the experiments
    code, seconds, err = interrupt_cli(["design", "aa", "--n", "20000", "--baseline", "0.1",
                                        "--sims", "1000000"], after=8)
    assert code == 130, err
    assert seconds < 3.0
