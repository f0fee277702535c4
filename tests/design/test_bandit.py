"""Bandit weights (issue 27): exact Thompson P(best) against 10^7 Monte Carlo draws, top-two
against a direct simulation of Russo's rule, the floor, the simulation's regret, and errors."""

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError, ModelError
from bayeslab.design.bandit import allocation, bandit_weights, top_two_weights
from bayeslab.design.bandit_sim import batched_prob_best, simulate_bandit
from bayeslab.kernels.beta import prob_best

ARMS = pd.DataFrame({"arm": ["a", "b", "c", "d"], "n": [4000, 4100, 3900, 4000],
                     "conv": [400, 430, 425, 470]})
MC = 10_000_000


def mc_best(draw, k, rng, chunk=2_000_000):
    """Share of MC draws in which each arm is the largest (10^7 draws, in chunks)."""
    wins = np.zeros(k)
    for _ in range(MC // chunk):
        wins += np.bincount(np.argmax(draw(rng, chunk), axis=1), minlength=k)
    return wins / MC


def test_conversion_weights_equal_p_best_of_1e7_monte_carlo_draws():
    w = bandit_weights(ARMS, arm="arm", metric="conv", n="n", floor=0)
    a = 1 + ARMS["conv"].to_numpy(float)
    b = 1 + (ARMS["n"] - ARMS["conv"]).to_numpy(float)
    rng = np.random.default_rng(27)
    p = mc_best(lambda r, m: r.beta(a, b, size=(m, 4)), 4, rng)
    se = np.sqrt(p * (1 - p) / MC)
    np.testing.assert_allclose(w.weights, p, atol=4 * se.max() + 1e-12)
    np.testing.assert_allclose(w.prob_best, w.weights, rtol=0, atol=0)
    assert abs(sum(w.weights) - 1) < 1e-12


def test_continuous_weights_equal_p_best_of_1e7_monte_carlo_draws():
    data = pd.DataFrame({"arm": ["x", "y", "z"], "n": [500, 520, 480],
                         "rev": [500 * 10.0, 520 * 10.3, 480 * 10.1], "sd": [4.0, 4.5, 3.5]})
    w = bandit_weights(data, arm="arm", metric="rev", n="n", sd="sd", kind="continuous",
                       floor=0)
    m = data["rev"].to_numpy() / data["n"].to_numpy()
    s = data["sd"].to_numpy() / np.sqrt(data["n"].to_numpy())
    rng = np.random.default_rng(5)
    p = mc_best(lambda r, k: r.normal(m, s, size=(k, 3)), 3, rng)
    se = np.sqrt(p * (1 - p) / MC)
    np.testing.assert_allclose(w.weights, p, atol=4 * se.max())


def test_unit_rows_give_the_same_weights_as_arm_rows():
    rng = np.random.default_rng(0)
    conv = [rng.permutation(np.r_[np.ones(c), np.zeros(n - c)])
            for n, c in zip(ARMS["n"], ARMS["conv"], strict=True)]
    units = pd.DataFrame({"arm": np.repeat(ARMS["arm"], ARMS["n"]), "conv": np.concatenate(conv)})
    a = bandit_weights(units, arm="arm", metric="conv")
    b = bandit_weights(ARMS, arm="arm", metric="conv", n="n")
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)


def test_top_two_equals_a_simulation_of_russos_rule():
    """Leader I ~ alpha; with prob 1 - beta, J ~ alpha given J != I (resampling)."""
    alpha = np.array([0.05, 0.15, 0.3, 0.5])
    psi = top_two_weights(alpha, 0.5)
    rng = np.random.default_rng(1)
    m = 2_000_000
    lead = rng.choice(4, size=m, p=alpha)
    chal = rng.choice(4, size=m, p=alpha)
    redo = chal == lead
    while redo.any():
        chal[redo] = rng.choice(4, size=int(redo.sum()), p=alpha)
        redo = chal == lead
    played = np.where(rng.random(m) < 0.5, lead, chal)
    freq = np.bincount(played, minlength=4) / m
    np.testing.assert_allclose(psi, freq, atol=4 * np.sqrt(0.25 / m))
    assert top_two_weights([0.0, 0.0, 1.0], 0.5) == pytest.approx([0.25, 0.25, 0.5])


def test_floor_mixes_with_an_even_split_and_zero_turns_it_off():
    alpha = np.array([1e-9, 1e-6, 0.01, 0.99])
    w = allocation(alpha, floor=0.025)
    assert w.min() >= 0.025 - 1e-15 and w.sum() == pytest.approx(1)
    np.testing.assert_allclose(w, 0.025 + 0.9 * alpha / alpha.sum())
    np.testing.assert_allclose(allocation(alpha, floor=0), alpha / alpha.sum())
    d = bandit_weights(ARMS, arm="arm", metric="conv", n="n")
    assert d.floor == pytest.approx(0.1 / 4) and min(d.weights) >= 0.025 - 1e-15
    assert "exploration floor 2.50% per arm" in str(d)
    assert set(d.to_dict()["weights"]) == {"a", "b", "c", "d"}


def test_batched_prob_best_equals_the_kernel():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 200_000, (60, 4)).astype(float)
    n[::3] = rng.integers(1, 300, (20, 4))
    y = rng.binomial(n.astype(int), rng.uniform(0.05, 0.15, (60, 4)))
    a, b = 1 + y, 1 + n - y
    ref = np.array([prob_best(list(zip(ai, bi, strict=True))) for ai, bi in zip(a, b, strict=True)])
    np.testing.assert_allclose(batched_prob_best(a, b), ref, atol=1e-8)


def test_simulation_regret_is_the_users_sent_to_worse_arms():
    s = simulate_bandit([0.10, 0.12], periods=4, users=1000, policy="uniform", reps=50, seed=2)
    assert s.n.sum(axis=2).min() == 1000
    np.testing.assert_allclose(s.regret, 0.02 * s.n[..., 0].sum(axis=1))
    t = simulate_bandit([0.10, 0.105, 0.11, 0.12], periods=6, users=5000, reps=60, seed=2)
    u = simulate_bandit([0.10, 0.105, 0.11, 0.12], periods=6, users=5000, reps=60, seed=2,
                        policy="uniform")
    assert t.row()["regret"] < 0.7 * u.row()["regret"]
    assert u.row()["regret"] == pytest.approx(6 * 5000 * (0.02 + 0.015 + 0.01) / 4, rel=0.02)
    assert (t.n >= 0).all() and t.n[:, 1:].min() >= 1   # the floor keeps every arm in


def test_bad_inputs_name_the_column():
    with pytest.raises(DataError, match="'visits' is not in the data"):
        bandit_weights(ARMS, arm="arm", metric="conv", n="visits")
    bad = ARMS.assign(conv=[400, 4200, 425, 470])
    with pytest.raises(DataError, match="column 'conv': arm 'b' has 4200 conversions"):
        bandit_weights(bad, arm="arm", metric="conv", n="n")
    with pytest.raises(DataError, match="repeats arm"):
        bandit_weights(pd.concat([ARMS, ARMS]), arm="arm", metric="conv", n="n")
    with pytest.raises(DataError, match="need an sd column"):
        bandit_weights(ARMS, arm="arm", metric="conv", n="n", kind="continuous")
    with pytest.raises(ModelError, match="floor must be a share from 0 to 1/4"):
        bandit_weights(ARMS, arm="arm", metric="conv", n="n", floor=0.3)
    with pytest.raises(ModelError, match="top_two"):
        bandit_weights(ARMS, arm="arm", metric="conv", n="n", top_two=1.5)
