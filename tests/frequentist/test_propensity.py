"""Frequentist propensity estimators: truth recovery, independent references, sandwich, matching.

Simulated truth (``simulate("personalization", rows=10_000, seed=1)``, from the generating
model by quadrature): purchase ATE +0.03054, ATT +0.03314, naive difference (population)
+0.0906; revenue ATE +4.326, ATT +5.012. The naive sample difference is +0.0927.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from bayeslab.core.errors import DataError
from bayeslab.data.units import load_units
from bayeslab.frequentist.propensity import (
    PropensityWeighting,
    fit_propensity,
    hajek_sandwich,
    ipw_effect,
    logit_newton,
    match_pairs,
)
from bayeslab.kernels.balance import unit_weights
from bayeslab.scenarios import simulate

CONF = ["engagement_score", "past_purchases", "account_age_days", "device_type"]
ARM = "received_personalization"


@pytest.fixture(scope="module")
def scenario():
    return simulate("personalization", rows=10_000, seed=1)


@pytest.fixture(scope="module")
def units(scenario):
    return load_units(scenario.data, arm=ARM, metric="made_purchase", confounders=CONF)


@pytest.fixture(scope="module")
def fits(scenario, units):
    rev = load_units(scenario.data, arm=ARM, metric="revenue", confounders=CONF,
                     kind="continuous")
    return {(m, est): PropensityWeighting(est).fit(u)
            for m, u in (("made_purchase", units), ("revenue", rev)) for est in ("ate", "att")}


def _ato_truth(scenario, metric):
    """Sample ATO from the generating model: sum e(1-e)(m1 - m0) / sum e(1-e)."""
    from bayeslab.scenarios.personalization import _pz_models

    d = scenario.data
    eng = d["engagement_score"].to_numpy()
    e, mu0, mu1, r0, r1 = _pz_models(eng, d["past_purchases"].to_numpy(),
                                     (d["device_type"] == "Desktop").to_numpy(float),
                                     (d["account_age_days"] >= 365).to_numpy(float))
    m0, m1 = (mu0, mu1) if metric == "made_purchase" else (r0, r1)
    h = e * (1 - e)
    return float(np.sum(h * (m1 - m0)) / np.sum(h))


@pytest.mark.parametrize("metric", ["made_purchase", "revenue"])
@pytest.mark.parametrize("estimand", ["ate", "att"])
def test_adjusted_estimators_recover_truth_naive_does_not(scenario, fits, metric, estimand):
    truth = scenario.truth["metrics"][metric]
    res = fits[(metric, estimand)]
    for r in res.effects:
        target = {"ate": truth["ate"], "att": truth["att"], "ato": _ato_truth(scenario, metric),
                  "unadjusted": truth["ate"]}[r.estimand]
        covered = r.lower <= target <= r.upper
        assert covered == (r.method != "naive"), (r.method, r.estimand, r.lower, target, r.upper)
    assert res.effect("matching").estimand == "att"
    assert res.effect("overlap").estimand == "ato"
    assert res.effect("ipw").estimand == res.effect("aipw").estimand == estimand


def test_hajek_matches_hand_formula_and_glm_freq_weights(units, fits):
    import statsmodels.api as sm

    e = fits[("made_purchase", "ate")].model.e
    y, t = units.y, units.t
    # hand-written Hajek ATE
    mu1 = np.sum(t * y / e) / np.sum(t / e)
    mu0 = np.sum((1 - t) * y / (1 - e)) / np.sum((1 - t) / (1 - e))
    ipw = fits[("made_purchase", "ate")].effect("ipw")
    assert ipw.diff == pytest.approx(mu1 - mu0, rel=1e-12)
    # weighted regression y ~ 1 + t with frequency weights: coefficient of t is the Hajek diff
    for est, key in (("ate", "ipw"), ("att", "ipw")):
        w = unit_weights(e, t, "ipw", est)
        glm = sm.GLM(y, sm.add_constant(t), family=sm.families.Gaussian(), freq_weights=w).fit()
        assert glm.params[1] == pytest.approx(fits[("made_purchase", est)].effect(key).diff,
                                              rel=1e-10)
    w = unit_weights(e, t, "overlap", "ate")
    glm = sm.GLM(y, sm.add_constant(t), family=sm.families.Gaussian(), freq_weights=w).fit()
    assert glm.params[1] == pytest.approx(fits[("made_purchase", "ate")].effect("overlap").diff,
                                          rel=1e-10)
    # stabilized = ipw under normalization
    st = fits[("made_purchase", "ate")].effect("ipw-stabilized")
    assert (st.diff, st.se) == pytest.approx((ipw.diff, ipw.se), rel=1e-10)


def test_aipw_matches_hand_formula(units, fits):
    """AIPW ATE = mean(m1 - m0 + t(y - m1)/e - (1-t)(y - m0)/(1-e)), with per-arm statsmodels
    logistic outcome models; SE = sd(influence function) / sqrt(n)."""
    import statsmodels.api as sm

    res = fits[("made_purchase", "ate")]
    e, Z1, y, t = res.model.e, res.model.Z1, units.y, units.t
    m = {a: sm.Logit(y[t == a], Z1[t == a]).fit(disp=0).predict(Z1) for a in (0, 1)}
    phi = m[1] - m[0] + t * (y - m[1]) / e - (1 - t) * (y - m[0]) / (1 - e)
    aipw = res.effect("aipw")
    assert aipw.diff == pytest.approx(phi.mean(), rel=1e-6)
    assert aipw.se == pytest.approx(phi.std(ddof=1) / np.sqrt(len(y)), rel=1e-4)
    # ATT: (1/n1) sum t(y - m0) - (1-t) e (y - m0) / (1 - e)
    att = fits[("made_purchase", "att")].effect("aipw")
    ref = np.sum(t * (y - m[0]) - (1 - t) * e * (y - m[0]) / (1 - e)) / t.sum()
    assert att.diff == pytest.approx(ref, rel=1e-6)


def test_logit_newton_matches_glm_freq_weights(units):
    import statsmodels.api as sm

    Z1 = fit_propensity(units).Z1
    f = np.random.default_rng(3).integers(0, 4, units.n).astype(float)
    beta, info = logit_newton(Z1, units.t, f)
    glm = sm.GLM(units.t, Z1, family=sm.families.Binomial(), freq_weights=f).fit()
    np.testing.assert_allclose(beta, glm.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.linalg.inv(info), glm.cov_params(), rtol=1e-4)  # GLM tol 1e-8


def test_sandwich_se_matches_bootstrap(units):
    """The M-estimation SE (propensity estimated) agrees with a 400-replicate bootstrap that
    refits the propensity; the bootstrap SE has relative Monte Carlo error ~ 1/sqrt(2*400) = 3.5%,
    so rtol 0.15 is over 4 of its standard errors."""
    model = fit_propensity(units)
    for scheme, est in (("ipw", "ate"), ("ipw", "att"), ("overlap", "ate")):
        sand = ipw_effect(units.y, units.t, model, scheme, est)
        boot = ipw_effect(units.y, units.t, model, scheme, est, ci="bootstrap", n_boot=400,
                          seed=5)
        assert boot.diff == sand.diff
        assert boot.se == pytest.approx(sand.se, rel=0.15), scheme
        assert boot.extra["sandwich_se"] == sand.se


def _sim_data(rng, n):
    x = rng.normal(size=(n, 2))
    e = special.expit(-0.2 + 0.8 * x[:, 0] - 0.5 * x[:, 1])
    t = (rng.random(n) < e).astype(float)
    y = 1.0 + x[:, 0] + 0.5 * x[:, 1] + 0.5 * t + rng.normal(size=n)
    return x, t, y


@pytest.mark.slow
def test_sandwich_se_matches_sampling_distribution():
    """Over 300 simulated data sets (n = 2,000, true ATE 0.5) the sd of the Hajek ATE matches the
    mean sandwich SE (MC relative error of an sd from 300 draws ~ 4%; rtol 0.15) and the 95%
    interval covers 0.5 in 95% +- 3.8% (3 binomial SEs) of them. Ignoring propensity estimation
    would overstate the SE here (the naive-weights SE is checked to be larger)."""
    from bayeslab.data.accounting import RowAccount
    from bayeslab.data.units import UnitData

    rng = np.random.default_rng(11)
    est, ses, cover, fixed = [], [], 0, []
    for _ in range(300):
        x, t, y = _sim_data(rng, 2000)
        u = UnitData(arm="t", metric="y", kind="continuous", control="0", treatment="1", t=t,
                     y=y, X=x, names=("x0", "x1"), confounders=("x0", "x1"),
                     sources=("x0", "x1"), reference={}, rows=RowAccount(2000, 2000))
        model = fit_propensity(u)
        r = ipw_effect(y, t, model, "ipw", "ate")
        est.append(r.diff)
        ses.append(r.se)
        cover += r.lower <= 0.5 <= r.upper
        w = unit_weights(model.e, t, "ipw", "ate")
        a1, a0 = t * w / np.sum(t * w), (1 - t) * w / np.sum((1 - t) * w)
        m1, m0 = a1 @ y, a0 @ y
        fixed.append(np.sqrt(np.sum(a1**2 * (y - m1) ** 2) + np.sum(a0**2 * (y - m0) ** 2)))
    assert np.mean(ses) == pytest.approx(np.std(est, ddof=1), rel=0.15)
    assert abs(cover / 300 - 0.95) < 0.038
    assert np.mean(fixed) > np.mean(ses)


def test_matching_respects_caliper_without_replacement(units, fits):
    res = fits[("made_purchase", "att")]
    m = res.matching
    eta = res.model.eta
    assert len(np.unique(m.control)) == m.n_pairs          # no control used twice
    assert len(np.unique(m.treated)) == m.n_pairs
    assert np.all(units.t[m.treated] == 1) and np.all(units.t[m.control] == 0)
    d = np.abs(eta[m.treated] - eta[m.control])
    pooled = np.sqrt((eta[units.t == 1].var(ddof=1) + eta[units.t == 0].var(ddof=1)) / 2)
    assert m.caliper == pytest.approx(0.2 * pooled)
    assert d.max() <= m.caliper
    np.testing.assert_allclose(d, m.distance)
    eff = res.effect("matching")
    yt, yc = units.y[m.treated], units.y[m.control]
    assert eff.diff == pytest.approx(np.mean(yt - yc))
    assert eff.se == pytest.approx(np.std(yt - yc, ddof=1) / np.sqrt(m.n_pairs), rel=1e-9)
    assert eff.extra["test"] == "mcnemar"


def test_matching_greedy_picks_nearest_available():
    eta = np.array([0.0, 1.0, 0.1, 0.95, 3.0, 0.5])
    t = np.array([1, 1, 0, 0, 0, 0])
    m = match_pairs(eta, t, caliper_sd=None, seed=0)
    pairs = dict(zip(m.treated.tolist(), m.control.tolist(), strict=True))
    assert pairs == {0: 2, 1: 3}
    tight = match_pairs(np.array([0.0, 2.0, 0.05, 5.0]), np.array([1, 1, 0, 0]),
                        caliper_sd=0.05)   # caliper 0.13: only the 0.05 pair fits
    assert tight.n_pairs == 1 and tight.matched_share == 0.5


def test_separation_names_the_covariate():
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    t = (x > 0).astype(int)
    z = rng.normal(size=n) + 0.2 * x        # overlapping ranges singly, separation jointly
    df = __import__("pandas").DataFrame({"t": t, "y": rng.integers(0, 2, n), "x": x, "z": z})
    # x alone separates: caught by the range check in load_units
    with pytest.raises(DataError, match="'x' separates the arms"):
        load_units(df, arm="t", metric="y", confounders=["x", "z"])
    # jointly separating but overlapping ranges: caught by the fit
    df["w"] = x + 0.001 * rng.normal(size=n)
    df.loc[0, "x"] = 5.0 if df.loc[0, "t"] == 0 else -5.0
    df.loc[1, "w"] = 5.0 if df.loc[1, "t"] == 0 else -5.0
    u = load_units(df, arm="t", metric="y", confounders=["x", "w"])
    with pytest.raises(DataError, match="separat"):
        fit_propensity(u)


def test_result_estimates_and_json(fits):
    import json

    res = fits[("revenue", "att")]
    ests = res.estimates()
    methods = {e.method for e in ests}
    assert methods == {"naive", "ipw", "ipw-stabilized", "overlap", "aipw", "matching"}
    assert all(e.extra["estimand"] in ("ate", "att", "ato", "unadjusted") for e in ests)
    json.dumps(res.to_dict(), allow_nan=False)
    assert "aipw" in str(res)
    assert list(res.summary()["method"])[0] == "naive"


def test_hajek_sandwich_equals_numerical_jacobian(units):
    """The analytic A matrix equals a finite-difference derivative of the stacked equations."""
    model = fit_propensity(units)
    y, t, Z1 = units.y, units.t, model.Z1
    mu1, mu0, V = hajek_sandwich(y, t, model, "ipw", "att")

    def psi_mean(theta):
        k = Z1.shape[1]
        e = special.expit(Z1 @ theta[:k])
        w0 = e / (1 - e)
        return np.concatenate([Z1.T @ (t - e), [np.sum(t * (y - theta[k])),
                                                np.sum((1 - t) * w0 * (y - theta[k + 1]))]])

    theta = np.concatenate([model.coef, [mu1, mu0]])
    np.testing.assert_allclose(psi_mean(theta), 0, atol=1e-6)
    J = np.empty((len(theta), len(theta)))
    for j in range(len(theta)):
        h = np.zeros(len(theta))
        h[j] = 1e-6
        J[:, j] = (psi_mean(theta + h) - psi_mean(theta - h)) / 2e-6
    k = Z1.shape[1]
    e = special.expit(Z1 @ model.coef)
    psi = np.column_stack([Z1 * (t - e)[:, None], t * (y - mu1),
                           (1 - t) * e / (1 - e) * (y - mu0)])
    Ai = np.linalg.inv(J)
    Vnum = Ai @ (psi.T @ psi) @ Ai.T
    np.testing.assert_allclose(V, Vnum[k:, k:], rtol=1e-4)
