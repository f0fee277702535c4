"""Bandit readout (issue 27): when rates drift over periods and a bandit moves its weights, the
pooled difference is biased by exactly what the realized weights predict, and the readout
stratified by period is not (300 simulated bandits, vectorized; within Monte Carlo error)."""

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError
from bayeslab.design.bandit_sim import simulate_bandit
from bayeslab.readout.bandit import bandit_readout, pooled_difference, stratified_difference

RATES = [0.10, 0.105, 0.11, 0.12]
DRIFT = np.linspace(0.7, 1.3, 20)   # every arm's rate rises 70 % -> 130 % of its base


@pytest.fixture(scope="module")
def sim():
    return simulate_bandit(RATES, periods=20, users=10_000, reps=300, period_effect=DRIFT,
                           seed=27)


def frame(n, y, arms="ABCD"):
    return pd.DataFrame([{"week": t, "arm": a, "n": n[t, k], "conv": y[t, k]}
                         for t in range(n.shape[0]) for k, a in enumerate(arms)])


def test_pooled_is_biased_by_the_realized_weights_and_stratified_is_not(sim):
    n, y, p = sim.n, sim.y, sim.rates                           # (R, T, K), (T, K)
    size = n.sum(axis=2, keepdims=True)
    truth = np.sum(size / size.sum(axis=1, keepdims=True) * (p - p[:, :1]), axis=1)
    est, _ = stratified_difference(n, y)
    pooled = pooled_difference(n, y)
    # the bias the simulation shows: pooled true rates under each arm's realized weights
    arm_rate = np.sum(n / n.sum(axis=1, keepdims=True) * p, axis=1)
    predicted = arm_rate - arm_rate[:, :1] - truth
    reps = len(n)

    def mean_se(v):
        return v.mean(axis=0)[1:], v.std(axis=0, ddof=1)[1:] / np.sqrt(reps)

    bias, se = mean_se(pooled - truth)
    assert np.all(np.abs(bias) > 5 * se)                      # clearly biased (best arm ~+1.3 pp)
    assert bias[-1] > 0.01
    gap, gse = mean_se(pooled - truth - predicted)            # ... by the predicted amount
    assert np.all(np.abs(gap) < 4 * gse), (gap, gse)
    sbias, sse = mean_se(est - truth)                         # stratified: unbiased
    assert np.all(np.abs(sbias) < 4 * sse), (sbias, sse)


def test_readout_of_one_simulated_bandit_matches_the_formulas(sim):
    n, y = sim.n[0], sim.y[0]
    r = bandit_readout(frame(n, y), arm="arm", metric="conv", period="week", n="n",
                       draws=40_000, seed=1)
    assert r.arms == ("A", "B", "C", "D") and r.control == "A"
    w = n.sum(axis=1) / n.sum()
    p = y / n
    for k, e in enumerate(r.effects, start=1):               # a plain loop over the periods
        est = sum(w[t] * (p[t, k] - p[t, 0]) for t in range(20))
        var = sum(w[t] ** 2 * (p[t, k] * (1 - p[t, k]) / n[t, k]
                               + p[t, 0] * (1 - p[t, 0]) / n[t, 0]) for t in range(20))
        assert e["estimate"] == pytest.approx(est, rel=1e-12)
        assert e["se"] == pytest.approx(np.sqrt(var), rel=1e-12)
        assert e["upper"] - e["lower"] == pytest.approx(2 * 1.959963984540054 * np.sqrt(var))
        # Bayes: weak priors, many units: the posterior is close to the normal approximation
        assert e["bayes_mean"] == pytest.approx(est, abs=0.05 * np.sqrt(var))
        assert e["bayes_lower"] == pytest.approx(e["lower"], abs=0.1 * np.sqrt(var))
        assert e["pooled"] == pytest.approx(y[:, k].sum() / n[:, k].sum()
                                            - y[:, 0].sum() / n[:, 0].sum())
    text = str(r)
    assert "stratified by 'week' (20 periods)" in text and "size-weighted, not CMH" in text
    assert "pooled difference is off the stratified one" in text
    d = r.to_dict()
    assert d["type"] == "bandit" and d["effects"][2]["arm"] == "D"


def test_unit_rows_equal_aggregated_rows_and_continuous_is_exact():
    rng = np.random.default_rng(4)
    rows = pd.DataFrame({"week": rng.integers(0, 3, 3000), "arm": rng.choice(["c", "t"], 3000),
                         "conv": rng.binomial(1, 0.2, 3000), "rev": rng.gamma(2.0, 5.0, 3000)})
    agg = rows.groupby(["week", "arm"]).agg(n=("conv", "size"), conv=("conv", "sum"))
    a = bandit_readout(rows, arm="arm", metric="conv", period="week", control="c")
    b = bandit_readout(agg.reset_index(), arm="arm", metric="conv", period="week", n="n",
                       control="c")
    assert a.effects[0]["estimate"] == pytest.approx(b.effects[0]["estimate"], rel=1e-12)
    assert a.effects[0]["prob_positive"] == b.effects[0]["prob_positive"]
    c = bandit_readout(rows, arm="arm", metric="rev", period="week", control="c",
                       kind="continuous")
    g = rows.groupby(["week", "arm"])["rev"]
    m, v, cnt = g.mean().unstack(), g.var().unstack(), g.size().unstack()
    w = cnt.sum(axis=1) / cnt.to_numpy().sum()
    est = float(np.sum(w * (m["t"] - m["c"])))
    se = float(np.sqrt(np.sum(w**2 * (v["t"] / cnt["t"] + v["c"] / cnt["c"]))))
    e = c.effects[0]
    assert (e["estimate"], e["se"], e["bayes_mean"]) == pytest.approx((est, se, est), rel=1e-12)
    from scipy.stats import norm

    assert e["prob_positive"] == pytest.approx(norm.cdf(est / se), rel=1e-12)


def test_errors_name_the_column():
    d = pd.DataFrame({"week": [1, 1, 2, 2], "arm": ["a", "b", "a", "b"], "conv": [0, 1, 2, 1]})
    with pytest.raises(DataError, match="column 'conv' is not 0/1"):
        bandit_readout(d, arm="arm", metric="conv", period="week")
    with pytest.raises(DataError, match="column 'day' is not in the data"):
        bandit_readout(d, arm="arm", metric="conv", period="day")
    with pytest.raises(DataError, match="no control arm 'z'"):
        bandit_readout(d.assign(conv=[0, 1, 1, 0]), arm="arm", metric="conv", period="week",
                       control="z")
