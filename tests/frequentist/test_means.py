import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayeslab.core.errors import DataError, StatisticalWarning
from bayeslab.data.sources import open_source
from bayeslab.data.stats import sufficient_stats
from bayeslab.frequentist.means import poisson_rates, welch


def _counts(seed=0, n=(3000, 1000), means=(40.0, 42.0), dispersion=None):
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n)
    mu = np.repeat(means, n)
    if dispersion is None:
        y = rng.poisson(mu)
    else:
        y = rng.negative_binomial(dispersion, dispersion / (dispersion + mu))
    return pd.DataFrame({"arm": arm, "songs": y})


def _stats(df, kind="count"):
    return sufficient_stats(open_source(df), arm="arm", metric="songs", kind=kind)


def test_welch_equals_scipy():
    df = _counts(dispersion=3)
    res = welch(_stats(df)).comparisons.iloc[0]
    a, b = df.songs[df.arm == 1], df.songs[df.arm == 0]
    t = stats.ttest_ind(a, b, equal_var=False)
    ci = t.confidence_interval(0.9)
    res90 = welch(_stats(df), interval=0.9).comparisons.iloc[0]
    assert res["p_value"] == pytest.approx(t.pvalue, rel=1e-9)
    assert res90["lower"] == pytest.approx(ci.low, rel=1e-9)
    assert res90["upper"] == pytest.approx(ci.high, rel=1e-9)
    assert res["df"] == pytest.approx(t.df, rel=1e-9)


def test_poisson_rates_and_overdispersion_warning():
    df = _counts()
    res = poisson_rates(_stats(df)).comparisons.iloc[0]
    s1, s0 = df.songs[df.arm == 1].sum(), df.songs[df.arm == 0].sum()
    lr = np.log((s1 / 1000) / (s0 / 3000))
    assert res["rel_estimate"] == pytest.approx(np.expm1(lr), rel=1e-12)
    z = lr / np.sqrt(1 / s1 + 1 / s0)
    assert res["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    with pytest.warns(StatisticalWarning, match="overdispersed"):
        poisson_rates(_stats(_counts(dispersion=2)))


def test_errors():
    df = pd.DataFrame({"arm": [0, 1, 1], "songs": [1, 2, 3]})
    with pytest.raises(DataError, match="fewer than 2"):
        welch(_stats(df))
    with pytest.raises(DataError, match="no events"):
        poisson_rates(_stats(pd.DataFrame({"arm": [0, 0, 1, 1], "songs": [0, 0, 1, 2]})))


def test_welch_test_class_matches_scipy_from_stats():
    """The estimator class (options in __init__, data in fit) against scipy's Welch test."""
    from bayeslab.frequentist.means import WelchTest

    df = _counts(seed=5, dispersion=2)
    a, b = df.songs[df.arm == 1].to_numpy(float), df.songs[df.arm == 0].to_numpy(float)
    t = stats.ttest_ind_from_stats(a.mean(), a.std(ddof=1), len(a), b.mean(), b.std(ddof=1),
                                   len(b), equal_var=False)
    res = WelchTest(interval=0.8).fit(_stats(df))
    row = res.comparisons.iloc[0]
    assert res.interval == 0.8
    assert row["estimate"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert row["p_value"] == pytest.approx(t.pvalue, rel=1e-9)
    half = stats.t.ppf(0.9, row["df"]) * row["se"]
    assert row["upper"] - row["lower"] == pytest.approx(2 * half, rel=1e-12)


def test_poisson_rate_test_class_closed_form():
    """Rate difference and its Wald interval against the closed form sqrt(l1/n1 + l0/n0)."""
    from bayeslab.frequentist.means import PoissonRateTest

    df = _counts(seed=6)
    n1, n0 = (df.arm == 1).sum(), (df.arm == 0).sum()
    l1, l0 = df.songs[df.arm == 1].sum() / n1, df.songs[df.arm == 0].sum() / n0
    row = PoissonRateTest(interval=0.9).fit(_stats(df)).comparisons.iloc[0]
    se = np.sqrt(l1 / n1 + l0 / n0)
    z = stats.norm.ppf(0.95)
    assert row["estimate"] == pytest.approx(l1 - l0, rel=1e-12)
    assert row["lower"] == pytest.approx(l1 - l0 - z * se, rel=1e-12)
    assert row["upper"] == pytest.approx(l1 - l0 + z * se, rel=1e-12)


@pytest.mark.parametrize("interval", [0, 1, 1.5, -0.1])
def test_estimator_classes_refuse_a_bad_level(interval):
    from bayeslab.core.errors import ModelError
    from bayeslab.frequentist.means import PoissonRateTest, WelchTest

    for cls in (WelchTest, PoissonRateTest):
        with pytest.raises(ModelError, match="interval"):
            cls(interval=interval)
