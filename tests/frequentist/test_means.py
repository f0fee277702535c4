import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayeslab.data.sources import open_source
from bayeslab.data.stats import sufficient_stats
from bayeslab.errors import DataError, StatisticalWarning
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
