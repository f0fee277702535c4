"""simulate_portfolio: determinism, the stated truths, the ship rule and argument checks.

Recovery checks on 200,000 experiments allow Z = 4 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayeslab.core.errors import DataError
from bayeslab.scenarios import Portfolio, simulate_portfolio

Z = 4.0


def test_same_seed_same_portfolio_and_columns():
    a, b = simulate_portfolio(50, seed=3), simulate_portfolio(50, seed=3)
    assert isinstance(a, Portfolio)
    assert list(a.data.columns) == ["experiment", "estimate", "se", "shipped", "true_effect"]
    assert a.data.equals(b.data) and a.truth == b.truth
    assert not a.data.equals(simulate_portfolio(50, seed=4).data)


def test_truth_is_the_data_it_describes():
    pf = simulate_portfolio(300, seed=1)
    d, t = pf.data, pf.truth
    ship = d.shipped.to_numpy()
    np.testing.assert_array_equal(ship, d.estimate / d.se > 1.96)
    assert t["n_shipped"] == ship.sum()
    assert t["true_shipped_impact"] == pytest.approx(d.true_effect[ship].sum(), rel=1e-12)
    assert t["naive_shipped_impact"] == pytest.approx(d.estimate[ship].sum(), rel=1e-12)
    assert t["overstatement"] == pytest.approx(t["naive_shipped_impact"]
                                               - t["true_shipped_impact"], rel=1e-12)
    assert d.se.between(0.01, 0.03).all()


@pytest.mark.parametrize("family", ["normal", "student"])
def test_population_moments_and_null_share_are_recovered(family):
    n = 200_000
    pf = simulate_portfolio(n, family=family, null_share=0.6, effect_mean=0.02,
                            effect_sd=0.03, seed=2)
    theta, t = pf.data.true_effect.to_numpy(), pf.truth
    assert (theta == 0).mean() == pytest.approx(0.6, abs=Z * np.sqrt(0.24 / n))
    assert theta.mean() == pytest.approx(t["mean"], abs=Z * t["sd"] / np.sqrt(n))
    assert t["mean"] == pytest.approx(0.4 * 0.02)
    assert t["sd"] == pytest.approx(np.sqrt(0.4 * (0.03 ** 2 + 0.02 ** 2) - 0.008 ** 2))
    slab = theta[theta != 0]
    # sd of the slab: the Student-t's (3 df) sample sd converges slowly (infinite kurtosis)
    assert slab.std() == pytest.approx(0.03, rel=0.01 if family == "normal" else 0.1)
    resid = (pf.data.estimate - theta) / pf.data.se
    assert resid.std() == pytest.approx(1.0, abs=Z * np.sqrt(0.5 / n))


def test_student_tails_are_heavier():
    kw = dict(n_experiments=100_000, null_share=0.0, seed=0)
    normal = simulate_portfolio(family="normal", **kw).data.true_effect
    student = simulate_portfolio(family="student", **kw).data.true_effect
    assert ((student - 0.02).abs() > 0.09).mean() > 3 * ((normal - 0.02).abs() > 0.09).mean()


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_experiments=1), "n_experiments"), (dict(null_share=1.0), "null_share"),
    (dict(effect_sd=0.0), "effect_sd"), (dict(family="cauchy"), "family"),
    (dict(family="student", df=2.0), "df"), (dict(se=(0.03, 0.01)), "se must be a range")])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(DataError, match=match):
        simulate_portfolio(**kwargs)
