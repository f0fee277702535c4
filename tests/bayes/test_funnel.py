import numpy as np
import pytest
from scipy import integrate, stats

from bayeslab.bayes.funnel import funnel
from bayeslab.core.errors import ModelError
from bayeslab.data.funnel import FunnelStats, funnel_stats
from bayeslab.frequentist.funnel import funnel as freq_funnel
from tests.frequentist.test_funnel import funnel_frame


def test_cvr_posterior_is_ctr_times_pcvr():
    """The CVR Beta equals the distribution of CTR x PCVR (independent Betas), by quadrature."""
    fs = FunnelStats.from_counts(["0", "1"], [500, 480], [[60, 14], [70, 9]])
    post = funnel(fs)
    for arm in ("0", "1"):
        ctr, pcvr, cvr = (post.posterior(r, arm) for r in ("ctr", "pcvr", "cvr"))
        assert cvr.mean() == pytest.approx(ctr.mean() * pcvr.mean(), rel=1e-12)
        for z in cvr.ppf([0.05, 0.3, 0.5, 0.8, 0.99]):
            prod_cdf, _ = integrate.quad(
                lambda x, z=z, a=ctr, b=pcvr: a.pdf(x) * b.cdf(min(z / x, 1.0)), 0, 1,
                points=[ctr.mean()], limit=200, epsabs=1e-12)
            assert prod_cdf == pytest.approx(cvr.cdf(z), abs=1e-8)


def test_stage_posteriors_and_agreement_with_delta_method():
    df = funnel_frame()
    fs = funnel_stats(df, arm="arm", stages=["clicked", "converted"])
    post = funnel(fs)
    for a in (0, 1):
        sub = df[df.arm == a]
        users, clicks, conv = len(sub), sub.clicked.sum(), sub.converted.sum()
        # Dirichlet(1, 1, 1): CTR ~ Beta(clicks + 2, users - clicks + 1), PCVR ~ Beta(conv + 1,
        # clicks - conv + 1), CVR ~ Beta(conv + 1, users - conv + 2)
        assert post.posterior("ctr", str(a)).args == () and \
            post.posterior("ctr", str(a)).kwds == {"a": clicks + 2, "b": users - clicks + 1}
        assert post.posterior("pcvr", str(a)).kwds == {"a": conv + 1, "b": clicks - conv + 1}
        assert post.posterior("cvr", str(a)).kwds == {"a": conv + 1, "b": users - conv + 2}
    freq = freq_funnel(fs).comparisons.set_index("rate")
    bayes = post.comparisons.set_index("rate")
    for rate in ("ctr", "pcvr", "cvr"):
        width = freq.loc[rate, "upper"] - freq.loc[rate, "lower"]
        assert abs(bayes.loc[rate, "lower"] - freq.loc[rate, "lower"]) < 0.02 * width
        assert abs(bayes.loc[rate, "upper"] - freq.loc[rate, "upper"]) < 0.02 * width


def test_beta_comparison_against_monte_carlo():
    fs = FunnelStats.from_counts(["0", "1"], [400, 400], [[40, 10], [55, 12]])
    r = funnel(fs).comparisons.set_index("rate").loc["ctr"]
    rng = np.random.default_rng(0)
    n = 1_000_000
    d = stats.beta(57, 346).rvs(n, random_state=rng) - stats.beta(42, 361).rvs(n, random_state=rng)
    se = np.sqrt(0.25 / n)
    assert r["prob_positive"] == pytest.approx(np.mean(d > 0), abs=5 * se)
    assert np.mean(d <= r["lower"]) == pytest.approx(0.025, abs=5 * se)


def test_prior_error():
    fs = FunnelStats.from_counts(["0", "1"], [10, 10], [[2, 1], [3, 1]])
    with pytest.raises(ModelError):
        funnel(fs, prior_concentration=0)
