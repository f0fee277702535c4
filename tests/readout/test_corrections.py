"""Multiple-testing corrections (issue 24): the adjusted p-values equal statsmodels'
``multipletests`` over the family the scope names, the adjusted p decides the frequentist
verdict, and a 5-metric, 3-variant plan on null data runs with every method."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

import bayeslab as bl
from bayeslab.core.errors import ModelError
from bayeslab.plan.runner import run_plan
from bayeslab.plan.schema import load_plan
from bayeslab.readout.corrections import Correction, adjust_family, adjust_pvalues

SM = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni"}
ARMS = ("control", "b", "c", "d")


def test_adjust_pvalues_equal_statsmodels():
    p = np.array([0.001, 0.04, 0.03, 0.2, 0.012, 0.5])
    for method, name in SM.items():
        np.testing.assert_allclose(adjust_pvalues(p, method), multipletests(p, method=name)[1],
                                   rtol=1e-12)
    np.testing.assert_array_equal(adjust_pvalues(p, "none"), p)
    # a degenerate (NaN) test is left out of the family
    with_nan = np.array([0.01, np.nan, 0.02])
    out = adjust_pvalues(with_nan, "holm")
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], multipletests([0.01, 0.02], method="holm")[1])


def test_families_follow_the_scope():
    tests = [(m, a, p) for m, ps in (("x", (0.01, 0.04, 0.3)), ("y", (0.02, 0.5, 0.03)))
             for a, p in zip("bcd", ps, strict=True)]
    raw = {(m, a): p for m, a, p in tests}
    both = adjust_family(tests, Correction("holm", ["variants", "metrics"]))
    ref = multipletests([p for *_, p in tests], method="holm")[1]
    assert [both[(m, a)].p_value for m, a, _ in tests] == pytest.approx(ref, rel=1e-12)
    assert {a.tests for a in both.values()} == {6}
    assert both[("x", "b")].family == "3 variants x 2 metrics"
    variants = adjust_family(tests, Correction("bh", ["variants"]))
    for m in "xy":
        ref = multipletests([raw[(m, a)] for a in "bcd"], method="fdr_bh")[1]
        assert [variants[(m, a)].p_value for a in "bcd"] == pytest.approx(ref, rel=1e-12)
    metrics = adjust_family(tests, Correction("bonferroni", ["metrics"]))
    for a in "bcd":
        ref = multipletests([raw[("x", a)], raw[("y", a)]], method="bonferroni")[1]
        assert [metrics[(m, a)].p_value for m in "xy"] == pytest.approx(ref, rel=1e-12)
        assert metrics[("x", a)].family == "2 metrics"
    # no population scope, or a family of one: nothing is adjusted
    assert adjust_family(tests, Correction("holm", ["segments"])) == {}
    assert adjust_family(tests[:1], Correction("holm", ["variants", "metrics"])) == {}


@pytest.mark.parametrize("kwargs,match", [
    ({"method": "sidak"}, r"^correction must be one of 'holm', 'bh', 'bonferroni', 'none', "
                          r"got 'sidak'$"),
    ({"scope": ["arms"]}, r"^scope entries must be 'variants', 'metrics', 'segments', "
                          r"got 'arms'$"),
    ({"scope": "variants"}, r"^scope must be a list of"),
    ({"scope": ["metrics", "metrics"]}, r"^scope names 'metrics' twice$"),
])
def test_bad_correction_is_one_line(kwargs, match):
    with pytest.raises(ModelError, match=match) as info:
        Correction(**kwargs)
    assert "\n" not in str(info.value)


def test_scope_is_canonical_and_defaults():
    assert Correction().to_dict() == {"method": "holm", "scope": ["variants", "segments"]}
    assert Correction("bh", ("metrics", "variants")).scope == ("variants", "metrics")
    assert Correction.from_plan({}) == Correction()
    with pytest.raises(ModelError, match=r"^compare\(\): correction must be one of"):
        bl.DecisionSpec(correction="fdr")


def _three_arm(seed=5, n=4000, lift=(0.0, 0.012, 0.03)):
    rng = np.random.default_rng(seed)
    arm = np.repeat(ARMS[:3], n)
    rate = 0.10 + pd.Series(arm).map(dict(zip(ARMS, lift, strict=False))).to_numpy()
    return pd.DataFrame({"arm": arm, "y": (rng.random(arm.size) < rate).astype(int)})


@pytest.mark.parametrize("method", ["holm", "bh", "bonferroni", "none"])
def test_compare_adjusts_over_the_arms_and_the_adjusted_p_decides(method):
    df = _three_arm()
    r = bl.compare(df, arm="arm", metric="y", control="control", correction=method)
    raw = [proportions_ztest([df.y[df.arm == a].sum(), df.y[df.arm == "control"].sum()],
                             [4000, 4000])[1] for a in ("b", "c")]
    ref = raw if method == "none" else multipletests(raw, method=SM[method])[1]
    heads = {e.arm: e for e in r.estimates() if e.method == "z-test"}
    assert [heads[a].p_value for a in "bc"] == pytest.approx(ref, rel=1e-9)
    assert [heads[a].extra["p_raw"] for a in "bc"] == pytest.approx(raw, rel=1e-9)
    assert all(heads[a].extra["adjust"] == method and heads[a].extra["adjust_tests"] == 2
               for a in "bc")
    # the other methods restate the hypothesis: reported unadjusted
    newcombe = [e for e in r.estimates() if e.method == "newcombe"]
    assert newcombe and all("adjust" not in e.extra for e in newcombe)
    text = next(t for t in r.decision.reasons if t.startswith("Frequentist"))
    name = {"holm": "Holm", "bh": "BH", "bonferroni": "Bonferroni"}.get(method)
    assert (f"{name}-adjusted over 2 tests: 2 variants" in text if name
            else "unadjusted: correction none over 2 tests: 2 variants" in text)
    assert r.to_dict()["correction"]["method"] == method


def test_adjusted_p_above_alpha_is_not_significant():
    """Raw p of the best arm under 0.05, Bonferroni-adjusted above it: frequentist inconclusive."""
    for seed in range(200):
        df = _three_arm(seed, lift=(0.0, 0.0, 0.014))
        raw = proportions_ztest([df.y[df.arm == "c"].sum(), df.y[df.arm == "control"].sum()],
                                [4000, 4000])[1]
        other = proportions_ztest([df.y[df.arm == "b"].sum(), df.y[df.arm == "control"].sum()],
                                  [4000, 4000])[1]
        if 0.025 < raw < 0.05 and other > 0.2 and df.y[df.arm == "c"].mean() > 0.1:
            break
    else:  # pragma: no cover - the search is deterministic
        pytest.fail("no seed")
    loose = bl.compare(df, arm="arm", metric="y", control="control", correction="none")
    strict = bl.compare(df, arm="arm", metric="y", control="control", correction="bonferroni")
    assert loose.decision.arm == strict.decision.arm == "c"
    assert loose.decision.frequentist == "ship"
    assert strict.decision.frequentist == "inconclusive"


PLAN = """
[experiment]
name = "null five by three"
seed = 2

[data]
path = "null.parquet"

[columns]
arm = "arm"
control = "control"

[decision]
alpha = 0.05
{decision}

[[metrics]]
name = "conv"
role = "primary"
kind = "conversion"

[[metrics]]
name = "rev"
role = "secondary"
kind = "continuous"

[[metrics]]
name = "sessions"
role = "secondary"
kind = "count"

[[metrics]]
name = "conv2"
role = "secondary"
kind = "conversion"

[[metrics]]
name = "ctr"
role = "secondary"
kind = "ratio"
numerator = "clicks"
denominator = "views"

[[metrics]]
name = "unsub"
role = "guardrail"
kind = "conversion"
margin = 0.01
"""


@pytest.fixture(scope="module")
def null_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("null")
    rng = np.random.default_rng(11)
    n = 3 * 1500
    df = pd.DataFrame({"arm": np.repeat(ARMS[:3], 1500)})
    df["conv"] = (rng.random(n) < 0.1).astype(int)
    df["rev"] = rng.gamma(2.0, 5.0, n)
    df["sessions"] = rng.poisson(3.0, n)
    df["conv2"] = (rng.random(n) < 0.3).astype(int)
    df["views"] = rng.poisson(5, n) + 1
    df["clicks"] = rng.binomial(df["views"], 0.1)
    df["unsub"] = (rng.random(n) < 0.02).astype(int)
    df.to_parquet(folder / "null.parquet")
    return folder, df


def _reference_raw(df):
    """Unadjusted headline p-values by independent references, (metric, arm) order."""
    out = {}
    c = df[df.arm == "control"]
    for a in ("b", "c"):
        t = df[df.arm == a]
        for m in ("conv", "conv2"):
            out[(m, a)] = proportions_ztest([t[m].sum(), c[m].sum()], [len(t), len(c)])[1]
        for m in ("rev", "sessions"):
            out[(m, a)] = stats.ttest_ind(t[m], c[m], equal_var=False).pvalue
    return out


@pytest.mark.parametrize("method", ["holm", "bh", "bonferroni", "none"])
def test_null_plan_five_metrics_three_variants(null_folder, method):
    folder, df = null_folder
    path = folder / f"plan_{method}.toml"
    path.write_text(PLAN.replace("{decision}", f'correction = "{method}"\n'
                                               'scope = ["variants", "metrics"]'))
    plan = load_plan(path)
    assert plan.decision["correction"] == method
    assert plan.decision["scope"] == ["variants", "metrics"]
    res = run_plan(plan, quiet=True)
    corr = res.correction()
    assert corr["method"] == method and corr["scope"] == ["variants", "metrics"]
    tests = corr["tests"]
    # primary + 4 secondaries, 2 treatment arms each; the guardrail is not in the family
    assert len(tests) == 10 and "unsub" not in {t["metric"] for t in tests}
    raw = np.array([t["p_raw"] for t in tests])
    ref = raw if method == "none" else multipletests(raw, method=SM[method])[1]
    assert [t["p_value"] for t in tests] == pytest.approx(ref, rel=1e-9)
    assert all(t["adjust"] == method and t["tests"] == 10
               and t["family"] == "2 variants x 5 metrics" for t in tests)
    for (m, a), p in _reference_raw(df).items():
        t = next(t for t in tests if t["metric"] == m and t["arm"] == a)
        assert t["p_raw"] == pytest.approx(p, rel=1e-6)
    # each readout's headline estimates carry both p's, and the verdict reads the adjusted one
    for r in (res.primary, *res.secondary):
        heads = [e for e in r.metric_estimates() if e.side == "frequentist"
                 and e.method == r.fit.headline[1] and e.effect == r.fit.headline[2]
                 and (not r.fit.extra.get("headline_rate")
                      or e.extra.get("rate") == r.fit.extra["headline_rate"])]
        assert {e.extra["adjust"] for e in heads} == {method}
        best = next(e for e in heads if e.arm == r.decision.arm)
        expected = "inconclusive" if best.p_value >= 0.05 else r.decision.frequentist
        assert r.decision.frequentist == expected
        assert "over 10 tests: 2 variants x 5 metrics" in r.decision.text


def test_null_plan_writes_both_p_values(null_folder, tmp_path):
    folder, _ = null_folder
    path = folder / "plan_out.toml"
    path.write_text(PLAN.replace("{decision}", 'correction = "holm"\n'
                                               'scope = ["variants", "metrics"]'))
    run_plan(path, tmp_path / "out", quiet=True)
    doc = json.loads((tmp_path / "out" / "readout.json").read_text())
    assert doc["correction"]["method"] == "holm" and len(doc["correction"]["tests"]) == 10
    z = [e for e in doc["metrics"][0]["results"] if e["method"] == "z-test"]
    assert len(z) == 2 and all(e["p_raw"] <= e["p_value"] and e["adjust"] == "holm"
                               and e["adjust_tests"] == 10 for e in z)
    md = (tmp_path / "out" / "report.md").read_text()
    assert "p (Holm-adjusted)" in md and "Holm-adjusted over 10 tests: 2 variants x 5 metrics" in md


def test_plan_default_scope_is_per_metric(null_folder):
    folder, _ = null_folder
    path = folder / "plan_default.toml"
    path.write_text(PLAN.replace("{decision}", ""))
    plan = load_plan(path)
    assert plan.decision["correction"] == "holm"
    assert plan.decision["scope"] == ["variants", "segments"]
    tests = run_plan(plan, quiet=True).correction()["tests"]
    for m in {t["metric"] for t in tests}:
        mine = [t for t in tests if t["metric"] == m]
        ref = multipletests([t["p_raw"] for t in mine], method="holm")[1]
        assert [t["p_value"] for t in mine] == pytest.approx(ref, rel=1e-12)
        assert {t["family"] for t in mine} == {"2 variants"}
