import numpy as np
import pytest
from scipy import stats

from bayeslab.bayes.means import gamma_poisson, normal_means
from bayeslab.core.errors import ModelError
from bayeslab.frequentist.means import welch
from bayeslab.kernels import difference as kd
from tests.frequentist.test_means import _counts, _stats


def test_jeffreys_marginals_are_student_t():
    df = _counts(dispersion=3)
    post = normal_means(_stats(df))
    for i, r in enumerate(post.per_arm.itertuples()):
        y = df.songs[df.arm == i].to_numpy(float)
        assert r.df == len(y) - 1
        assert r.loc == pytest.approx(y.mean(), rel=1e-12)
        assert r.scale == pytest.approx(y.std(ddof=1) / np.sqrt(len(y)), rel=1e-9)


def test_vague_prior_difference_agrees_with_welch():
    """Behrens-Fisher posterior vs Welch: same centre; limits within 0.2% of the width."""
    df = _counts(dispersion=3, n=(2000, 2000))
    b = normal_means(_stats(df)).comparisons.iloc[0]
    f = welch(_stats(df)).comparisons.iloc[0]
    width = f["upper"] - f["lower"]
    assert b["estimate"] == pytest.approx(f["estimate"], rel=1e-12)
    assert abs(b["lower"] - f["lower"]) < 2e-3 * width
    assert abs(b["upper"] - f["upper"]) < 2e-3 * width
    one_sided = stats.t.sf(f["estimate"] / f["se"], f["df"])
    assert b["prob_positive"] == pytest.approx(1 - one_sided, abs=2e-3)


def test_difference_kernel_against_monte_carlo():
    a, b = stats.t(df=12, loc=1.0, scale=0.5), stats.t(df=7, loc=0.6, scale=0.4)
    rng = np.random.default_rng(0)
    n = 2_000_000
    d = a.rvs(n, random_state=rng) - b.rvs(n, random_state=rng)
    out = kd.compare(a, b)
    mc_se = np.sqrt(0.25 / n)
    assert np.mean(d <= out["lower"]) == pytest.approx(0.025, abs=5 * mc_se)
    assert np.mean(d <= out["upper"]) == pytest.approx(0.975, abs=5 * mc_se)
    assert out["prob_positive"] == pytest.approx(np.mean(d > 0), abs=5 * mc_se)
    loss = np.maximum(-d, 0)
    assert out["expected_loss"] == pytest.approx(loss.mean(), abs=5 * loss.std() / np.sqrt(n))


def test_gamma_poisson_exact_against_beta_identity():
    """lambda_T b_T / (lambda_T b_T + lambda_C b_C) ~ Beta(a_T, a_C) gives exact answers."""
    df = _counts()
    post = gamma_poisson(_stats(df))
    (a0, b0), (a1, b1) = post.per_arm[["shape", "rate"]].to_numpy()
    assert a1 == pytest.approx(0.5 + df.songs[df.arm == 1].sum())
    assert b1 == 1000
    r = post.comparisons.iloc[0]
    assert r["prob_positive"] == pytest.approx(stats.beta.sf(b1 / (b0 + b1), a1, a0), abs=1e-9)
    # ratio quantiles: lambda_T / lambda_C = (b0 / b1) B / (1 - B)
    q = stats.beta.ppf(0.975, a1, a0)
    assert r["rel_upper"] + 1 == pytest.approx(b0 / b1 * q / (1 - q), rel=1e-8)
    assert [e.method for e in post.estimates()] == ["bayes-gamma-poisson"] * 2


def test_prior_errors():
    s = _stats(_counts())
    with pytest.raises(ModelError):
        normal_means(s, prior_count=-1)
    with pytest.raises(ModelError):
        gamma_poisson(s, prior_shape=0)


def test_normal_means_class_with_an_informative_prior_closed_form():
    """NormalMeans with a normal-inverse-gamma prior against the conjugate update by hand."""
    from bayeslab.bayes.means import NormalInverseGammaPrior, NormalMeans

    df = _counts(dispersion=3, n=(200, 150))
    m0, k0, a0, b0 = 40.0, 5.0, 2.0, 30.0
    post = NormalMeans(NormalInverseGammaPrior(m0, k0, a0, b0), interval=0.9).fit(_stats(df))
    for i, r in enumerate(post.per_arm.itertuples()):
        y = df.songs[df.arm == i].to_numpy(float)
        n, ybar = len(y), y.mean()
        kn, an = k0 + n, a0 + n / 2
        mn = (k0 * m0 + n * ybar) / kn
        bn = b0 + ((y - ybar) ** 2).sum() / 2 + k0 * n * (ybar - m0) ** 2 / (2 * kn)
        assert r.df == pytest.approx(2 * an, rel=1e-12)
        assert r.loc == pytest.approx(mn, rel=1e-12)
        assert r.scale == pytest.approx(np.sqrt(bn / (an * kn)), rel=1e-9)
    assert post.interval == 0.9
    assert post.prior.name == "normal-inverse-gamma"
    assert post.to_dict()["prior"] == {"mean": 40.0, "count": 5.0, "shape": 2.0, "rate": 30.0,
                                       "name": "normal-inverse-gamma"}


def test_gamma_poisson_class_closed_form():
    """GammaPoisson: Gamma(a0 + sum y, b0 + n) per arm, its quantiles against scipy."""
    from bayeslab.bayes.means import GammaPoisson, GammaPrior

    df = _counts(n=(500, 400))
    post = GammaPoisson(GammaPrior(shape=2.0, rate=0.1)).fit(_stats(df))
    for i, (d, r) in enumerate(zip(post.posteriors(), post.per_arm.itertuples(), strict=True)):
        y = df.songs[df.arm == i].to_numpy(float)
        ref = stats.gamma(a=2.0 + y.sum(), scale=1 / (0.1 + len(y)))
        assert r.mean == pytest.approx(ref.mean(), rel=1e-12)
        assert d.ppf(0.975) == pytest.approx(ref.ppf(0.975), rel=1e-12)
    assert post.to_dict()["prior"] == {"shape": 2.0, "rate": 0.1}


def test_prior_specs_validate_and_read_as_before():
    """Spec objects refuse bad values; the default's text is what the loose dict printed."""
    from bayeslab.bayes.means import (
        GammaPoisson,
        GammaPrior,
        NormalInverseGammaPrior,
        NormalMeans,
    )
    from bayeslab.core import format as fmt

    with pytest.raises(ModelError, match="non-negative"):
        NormalInverseGammaPrior(count=-1)
    with pytest.raises(ModelError, match="finite"):
        NormalInverseGammaPrior(mean=float("nan"))
    with pytest.raises(ModelError, match="positive"):
        GammaPrior(shape=0)
    with pytest.raises(ModelError, match="NormalInverseGammaPrior"):
        NormalMeans(prior={"mean": 0})
    with pytest.raises(ModelError, match="GammaPrior"):
        GammaPoisson(prior=(0.5, 0))
    jeffreys = NormalInverseGammaPrior()
    assert jeffreys.name == "jeffreys"
    old = {"mean": 0.0, "count": 0.0, "shape": -0.5, "rate": 0.0, "name": "jeffreys"}
    assert jeffreys.to_dict() == old
    assert str(jeffreys) == fmt.prior(old) == fmt.prior(jeffreys)
    assert str(jeffreys).startswith("Jeffreys prior")


def test_a_large_common_offset_is_variation_not_a_constant():
    """1e7 + N(10, 2): read out (with a precision warning), matching Welch on centered data."""
    import warnings

    import pandas as pd
    from scipy import stats as sps

    import bayeslab as bl
    from bayeslab.core.errors import StatisticalWarning

    rng = np.random.default_rng(0)
    n = 4000
    arm = np.repeat([0, 1], n // 2)
    y = rng.normal(10, 2, n) + 0.5 * arm
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = bl.compare(pd.DataFrame({"arm": arm, "y": 1e7 + y}), arm="arm", metric="y",
                       kind="continuous")
    assert any(issubclass(w.category, StatisticalWarning) and "large mean" in str(w.message)
               for w in caught)
    ref = sps.ttest_ind(y[arm == 1], y[arm == 0], equal_var=False)
    welch = next(e for e in r.estimates() if e.method == "welch" and e.effect == "absolute")
    assert welch.estimate == pytest.approx(y[arm == 1].mean() - y[arm == 0].mean(), rel=1e-6)
    assert welch.p_value == pytest.approx(ref.pvalue, rel=0.05)   # variance to ~4 digits here
