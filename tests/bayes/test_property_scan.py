"""The property scan model: exact on a small scan (grid), no divergences on the scenario (two
seeds), the special level found."""

import json

import numpy as np
import pandas as pd
import pytest

from bayeslab.bayes.property_scan import PropertyScan, ScanPrior
from bayeslab.core.errors import ModelError
from bayeslab.data.scan_properties import property_stats
from bayeslab.data.sources import open_source
from bayeslab.frequentist.property_scan import LevelVersusRest
from bayeslab.readout.property_scan import PropertyScanReadout
from bayeslab.scenarios.properties import simulate_properties


def test_bad_threshold_and_prior_are_refused_before_data():
    with pytest.raises(ModelError, match="threshold"):
        PropertyScan(threshold=1.0)
    with pytest.raises(ModelError, match="slab_scale"):
        ScanPrior(slab_scale=0)
    assert ScanPrior().inclusion_beta(67) == pytest.approx(66.0, abs=1e-12)
    assert ScanPrior(expected_departures=2).inclusion_beta(4) == pytest.approx(1.0, abs=1e-12)


def _grid_posterior(d, s, b, slab, effect_sd):
    """Exact posterior of one property's scan on a (mu_p, pi, omega) grid: P(departs) and the
    posterior mean of each level's effect (sd units), by quadrature."""
    from scipy import stats

    prec = 1 / s**2
    m0, s0 = (prec * d).sum() / prec.sum(), prec.sum() ** -0.5
    mu_p = np.linspace(m0 - 9 * s0, m0 + 9 * s0, 241)
    pi = np.linspace(0.0005, 0.9995, 400)
    om = np.linspace(0.0005, 6 * slab, 300)
    # axes (mu_p, pi, omega): each factor is computed on the axes it depends on and broadcast
    # (the same numbers as on the full meshgrid, bit for bit, in a fifth of the time)
    M, P, W = mu_p[:, None, None], pi[None, :, None], om[None, None, :]
    logp = (stats.norm.logpdf(M, 0, effect_sd) + stats.beta.logpdf(P, 1, b)
            + stats.halfnorm.logpdf(W, scale=slab))
    resp, shift = [], []
    for dl, sl in zip(d, s, strict=True):
        c = dl - M
        v1 = sl**2 + W**2
        l0 = np.log1p(-P) + stats.norm.logpdf(c, 0, sl)
        l1 = np.log(P) + stats.norm.logpdf(c, 0, np.sqrt(v1))
        both = np.logaddexp(l0, l1)
        logp = logp + both
        w = np.exp(l1 - both)
        resp.append(w)
        shift.append(M + w * W**2 / v1 * c)
    post = np.exp(logp - logp.max())
    post /= post.sum()
    return (np.array([(post * w).sum() for w in resp]),
            np.array([(post * t).sum() for t in shift]))


def test_departure_probabilities_equal_an_exact_grid_posterior():
    """One property, three levels, one of them moderately off: the sampled P(departs) and level
    effects equal the posterior integrated on a grid, within Monte Carlo error."""
    rng = np.random.default_rng(3)
    n = 6000
    level = rng.choice(["a", "b", "c"], n)
    arm = rng.integers(0, 2, n)
    y = rng.normal(10.0, 2.0, n) + arm * (0.1 + 0.35 * (level == "c"))
    df = pd.DataFrame({"arm": arm, "y": y, "p": level})
    st = property_stats(open_source(df), arm="arm", metric="y", properties=["p"],
                        kind="continuous")
    prior = ScanPrior(slab_scale=0.2)
    fit = PropertyScan(prior=prior, chains=4, draws=2000, tune=1000, seed=1,
                       progressbar=False).fit(st)
    e = st.effects()
    u = e["sd"]
    b = prior.inclusion_beta(3)
    prob, mean = _grid_posterior(e["level"] / u, e["level_se"] / u, b, prior.slab_scale,
                                 prior.effect_sd)
    assert 0.1 < prob.max() < 0.99  # an informative case, not a saturated one
    np.testing.assert_allclose(fit.prob_differs, prob, atol=0.03)
    np.testing.assert_allclose(fit.effect / u, mean, atol=0.02)
    # the population effect: conjugate normal, N(0, 1) prior in sd units
    pop, pop_se = e["population"] / u, e["population_se"] / u
    post_mean = pop / pop_se**2 / (1 / pop_se**2 + 1.0)
    assert fit.population / u == pytest.approx(post_mean, abs=4 * pop_se / np.sqrt(1000))
    assert fit.divergences == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_scenario_samples_without_divergences_and_flags_the_special_level(seed):
    import matplotlib

    matplotlib.use("Agg")
    sc = simulate_properties(200_000, seed=seed, effect=0.04)
    st = property_stats(open_source(sc.data), arm="treatment", metric="converted",
                        properties=sc.roles["properties"])
    fit = PropertyScan(chains=2, draws=500, tune=1000, seed=seed, progressbar=False).fit(st)
    assert fit.divergences == 0
    i = fit.levels.index(("country", "BR"))
    assert fit.flagged[i] and fit.flagged.sum() <= 2
    truth = np.array([lv["converted"] for lv in sc.truth["levels"]])
    order = [fit.levels.index((lv["property"], lv["level"])) for lv in sc.truth["levels"]]
    inside = (fit.effect_lower[order] <= truth) & (truth <= fit.effect_upper[order])
    assert inside.mean() >= 0.85  # 95% intervals of 67 levels
    readout = PropertyScanReadout(stats=st, bayes=fit, frequentist=LevelVersusRest().fit(st))
    d = json.loads(json.dumps(readout.to_dict()))
    assert len(d["scan"]) == 2 * st.n_levels
    assert set(d["scan"][0]) >= {"property", "level", "side", "estimate", "lower", "upper",
                                 "n", "flagged"}
    assert "country = BR" in readout.sentences()[0]
    fig = readout.figure()
    assert len(fig.axes[0].get_yticklabels()) == st.n_levels
