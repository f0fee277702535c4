"""Every kind reads out k >= 2 variants against control (issue 24): estimates per arm on 3-arm
data against independent references (statsmodels, scipy, numpy), P(best) of conversion against
Monte Carlo, and propensity (a binary treatment) refused in one line naming the kind."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.duration.survfunc import survdiff
from statsmodels.stats.proportion import proportions_ztest

import bayeslab as bl
from bayeslab.core.errors import DataError

ARMS = ("control", "b", "c")
LIFT = {"control": 0.0, "b": 0.01, "c": 0.03}


@pytest.fixture(scope="module")
def three():
    rng = np.random.default_rng(1)
    n = 3000
    arm = np.repeat(ARMS, n)
    eff = pd.Series(arm).map(LIFT).to_numpy()
    k = arm.size
    df = pd.DataFrame({"arm": arm})
    df["conv"] = (rng.random(k) < 0.1 + eff).astype(int)
    df["rev"] = rng.gamma(2, 5, k) + 20 * eff
    df["cnt"] = rng.poisson(3 + 10 * eff)
    df["views"] = rng.poisson(5, k) + 1
    df["clicks"] = rng.binomial(df["views"], 0.1 + eff)
    df["s1"] = (rng.random(k) < 0.5).astype(int)
    df["s2"] = df["s1"] * (rng.random(k) < 0.3 + eff)
    dur = rng.exponential(30 / (1 + 10 * eff))
    df["ev"] = (dur < 60).astype(int)
    df["dur"] = np.minimum(dur, 60)
    df["pre"] = rng.gamma(2, 5, k)
    return df


def _by_arm(readout, method, effect="absolute", rate=None):
    out = {e.arm: e for e in readout.estimates()
           if e.method == method and e.effect == effect and e.segment is None
           and (rate is None or e.extra.get("rate") == rate)}
    assert set(out) == {"b", "c"}
    return out


def test_conversion_three_arms(three):
    r = bl.compare(three, arm="arm", metric="conv", control="control", correction="none")
    z = _by_arm(r, "z-test")
    c = three[three.arm == "control"]
    for a in ("b", "c"):
        t = three[three.arm == a]
        assert z[a].estimate == pytest.approx(t.conv.mean() - c.conv.mean(), rel=1e-12)
        p = proportions_ztest([t.conv.sum(), c.conv.sum()], [len(t), len(c)])[1]
        assert z[a].p_value == pytest.approx(p, rel=1e-9)
    # P(best) exact (kernels) against Monte Carlo from the Beta posteriors, 4 MC sigmas
    rng = np.random.default_rng(0)
    draws = np.column_stack([rng.beta(1 + three.conv[three.arm == a].sum(),
                                      1 + (three.arm == a).sum()
                                      - three.conv[three.arm == a].sum(), 400_000)
                             for a in ARMS])
    mc = np.bincount(draws.argmax(1), minlength=3) / draws.shape[0]
    exact = np.asarray(r.bayes.prob_best)
    assert np.all(np.abs(exact - mc) <= 4 * np.sqrt(mc * (1 - mc) / 4e5) + 1e-9)
    assert r.decision.arm == ARMS[int(np.argmax(exact[1:])) + 1]


@pytest.mark.parametrize("kind,column", [("continuous", "rev"), ("count", "cnt")])
def test_means_three_arms(three, kind, column):
    r = bl.compare(three, arm="arm", metric=column, control="control", kind=kind,
                   correction="none")
    welch, bayes = _by_arm(r, "welch"), _by_arm(r, "bayes-normal")
    c = three.loc[three.arm == "control", column]
    for a in ("b", "c"):
        t = three.loc[three.arm == a, column]
        ref = stats.ttest_ind(t, c, equal_var=False)
        assert welch[a].estimate == pytest.approx(t.mean() - c.mean(), rel=1e-9)
        assert welch[a].p_value == pytest.approx(ref.pvalue, rel=1e-6)
        assert bayes[a].estimate == pytest.approx(t.mean() - c.mean(), rel=1e-6)
    assert r.decision.arm == "c"


def test_covariate_three_arms(three):
    r = bl.compare(three, arm="arm", metric="rev", control="control", kind="continuous",
                   covariate="pre", correction="none")
    ancova = _by_arm(r, "ancova-hc")
    import statsmodels.formula.api as smf

    fit = smf.ols("rev ~ C(arm, Treatment('control')) + pre", data=three).fit(cov_type="HC1")
    for a in ("b", "c"):
        name = f"C(arm, Treatment('control'))[T.{a}]"
        assert ancova[a].estimate == pytest.approx(fit.params[name], rel=1e-6)
    assert set(_by_arm(r, "bayes-regression")) == {"b", "c"}


def test_ratio_three_arms(three):
    r = bl.compare(three, arm="arm", metric="ctr", control="control", kind="ratio",
                   numerator="clicks", denominator="views", correction="none")
    delta = _by_arm(r, "delta")

    def ratio_and_var(frame):   # delta method for sum(x) / sum(y), by hand
        x, y = frame.clicks.to_numpy(float), frame.views.to_numpy(float)
        n, mx, my = x.size, x.mean(), y.mean()
        cov = np.cov(x, y, ddof=1)
        var = (cov[0, 0] / my**2 - 2 * mx * cov[0, 1] / my**3 + mx**2 * cov[1, 1] / my**4) / n
        return mx / my, var

    r0, v0 = ratio_and_var(three[three.arm == "control"])
    for a in ("b", "c"):
        r1, v1 = ratio_and_var(three[three.arm == a])
        assert delta[a].estimate == pytest.approx(r1 - r0, rel=1e-9)
        p = 2 * stats.norm.sf(abs(r1 - r0) / np.sqrt(v0 + v1))
        assert delta[a].p_value == pytest.approx(p, rel=1e-3)


def test_funnel_three_arms(three):
    r = bl.compare(three, arm="arm", metric="funnel", control="control", kind="ratio",
                   stages=["s1", "s2"], correction="none")
    rate = r.fit.extra["headline_rate"]
    delta, bayes = _by_arm(r, "delta", rate=rate), _by_arm(r, "bayes-beta", rate=rate)
    c = three[three.arm == "control"]
    for a in ("b", "c"):
        t = three[three.arm == a]
        assert delta[a].estimate == pytest.approx(t.s2.mean() - c.s2.mean(), rel=1e-9)
        assert bayes[a].estimate == pytest.approx(t.s2.mean() - c.s2.mean(), abs=2e-3)


def test_retention_three_arms(three):
    r = bl.compare(three, arm="arm", metric="churn", control="control", kind="retention",
                   duration="dur", event="ev", correction="none")
    logrank = _by_arm(r, "log-rank", effect="hazard-ratio")
    for a in ("b", "c"):
        sub = three[three.arm.isin(["control", a])]
        _, p = survdiff(sub.dur.to_numpy(), sub.ev.to_numpy(), sub.arm.to_numpy())
        assert logrank[a].p_value == pytest.approx(p, rel=1e-6, abs=1e-300)
        assert logrank[a].estimate > 1        # shorter durations in b, c: a higher hazard
    assert set(_by_arm(r, "bayes-piecewise-exponential", effect="hazard-ratio")) == {"b", "c"}


def test_plan_reads_three_arms(three, tmp_path):
    three.to_parquet(tmp_path / "three.parquet")
    (tmp_path / "plan.toml").write_text("""
[experiment]
name = "three"
[data]
path = "three.parquet"
[columns]
arm = "arm"
control = "control"
[[metrics]]
name = "conv"
role = "primary"
[[metrics]]
name = "rev"
role = "secondary"
kind = "continuous"
[[metrics]]
name = "churn"
role = "secondary"
kind = "retention"
duration = "dur"
event = "ev"
[[metrics]]
name = "s1"
role = "guardrail"
margin = 0.05
""")
    res = bl.run_plan(tmp_path / "plan.toml", quiet=True)
    assert [len(r.fit.arms) for r in res.readouts] == [3, 3, 3, 3]
    assert res.decision.arm in ("b", "c")
    fams = {t["metric"]: t["family"] for t in res.correction()["tests"]}
    assert fams == {"conv": "2 variants", "rev": "2 variants", "churn": "2 variants"}


def test_propensity_refuses_several_variants(three):
    with pytest.raises(DataError, match=r"^kind 'propensity' reads a binary treatment .* "
                                        r"column 'arm' has 3: ") as info:
        bl.compare(three, arm="arm", metric="conv", control="control", kind="propensity",
                   confounders=["pre"], sampler="laplace")
    assert "\n" not in str(info.value)
