import numpy as np
import pytest
from scipy import stats

from bayeslab.bayes.means import gamma_poisson, normal_means
from bayeslab.errors import ModelError
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
