r"""Issue 24: the two sides judged on the same evidence scale.

Under a flat prior the posterior probability of a positive lift is, asymptotically, one minus
the one-sided p-value: :math:`P(p_T > p_C) \approx \Phi(z) = 1 - p/2` with :math:`p` the
two-sided z-test p-value. So :math:`P \ge 1 - \alpha/2 \iff p \le \alpha` (with a positive
estimate), and both rules ship a null experiment with probability
:math:`1 - \Phi(\Phi^{-1}(1 - \alpha/2)) = \alpha/2` at one look: 2.5% for the default
``alpha = 0.05``, ``prob_threshold = 0.975``.

References are computed here independently of bayeslab: :math:`P(p_T > p_C)` under Beta
posteriors by quadrature, :math:`\int f_T(t) F_C(t)\,dt` (``scipy.integrate.quad``), and the
pooled two-proportion z-test with ``scipy.stats.norm``.
"""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from bayeslab.cli import main
from bayeslab.core.decision import DecisionRule
from bayeslab.core.estimates import Estimate
from bayeslab.plan.runner import run_plan
from bayeslab.readout.custom import custom_decision
from bayeslab.readout.metric import compare
from bayeslab.readout.verdicts import SAME_EVIDENCE_TOL, Evidence, split_head
from tests.scipy_beta import cdf as beta_cdf
from tests.scipy_beta import pdf as beta_pdf

#: the homepage plan's primary (models/homepage.toml, cvr): control A, treatment B
HOMEPAGE = (219, 15053, 253, 14947)
OLD_RULE = DecisionRule(prob_threshold=0.95, alpha=0.05)


def reference(x_c, n_c, x_t, n_t, a=1.0, b=1.0):
    """``(P(p_T > p_C), two-sided pooled z-test p)`` from scipy alone."""
    (a_t, b_t), (a_c, b_c) = (a + x_t, b + n_t - x_t), (a + x_c, b + n_c - x_c)
    post_t, post_c = stats.beta(a_t, b_t), stats.beta(a_c, b_c)
    lo = min(post_t.ppf(1e-12), post_c.ppf(1e-12))
    hi = max(post_t.isf(1e-12), post_c.isf(1e-12))
    # the integrand is post_t.pdf(t) * post_c.cdf(t), through tests/scipy_beta.py (the same
    # numbers; the frozen distributions' wrappers were half of this file's time)
    prob = integrate.quad(lambda t: beta_pdf(t, a_t, b_t) * beta_cdf(t, a_c, b_c), lo, hi,
                          limit=200, epsabs=1e-12, epsrel=1e-10)[0]
    pooled = (x_c + x_t) / (n_c + n_t)
    z = (x_t / n_t - x_c / n_c) / np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    return prob, float(2 * stats.norm.sf(abs(z)))


def read(x_c, n_c, x_t, n_t, **kw):
    df = pd.DataFrame({"arm": ["A", "B"], "y": [x_c, x_t], "n": [n_c, n_t]})
    return compare(df, arm="arm", metric="y", n="n", control="A", **kw)


def sides(r):
    b = next(e for e in r.estimates() if e.method == "beta-binomial" and e.effect == "absolute")
    f = next(e for e in r.estimates() if e.method == "z-test")
    return b.prob_positive, f.p_value, f.estimate


# -- the rule ---------------------------------------------------------------------------------

def test_default_rule_ties_the_thresholds():
    r = DecisionRule()
    assert (r.prob_threshold, r.alpha) == (0.975, 0.05)
    assert r.prob_threshold == pytest.approx(1 - r.alpha / 2, abs=1e-15)
    assert r.consistent and r.mismatch() == "" and r.derived == "prob_threshold"
    assert "P(lift > 0) >= 0.975" in r.describe() and "two-sided p < 0.05" in r.describe()


@pytest.mark.parametrize("given, expect", [
    ({"alpha": 0.01}, (0.995, 0.01, "prob_threshold")),
    ({"alpha": 0.1}, (0.95, 0.1, "prob_threshold")),
    ({"prob_threshold": 0.99}, (0.99, 0.02, "alpha")),
    ({"prob_threshold": 0.95}, (0.95, 0.1, "alpha")),
    ({"prob_threshold": 0.95, "alpha": 0.05}, (0.95, 0.05, None)),
])
def test_one_threshold_derives_the_other_and_both_are_kept(given, expect):
    r = DecisionRule(**given)
    assert r.prob_threshold == pytest.approx(expect[0], abs=1e-12)
    assert r.alpha == pytest.approx(expect[1], abs=1e-12)
    assert r.derived == expect[2]
    back = DecisionRule.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back == r and back.derived == r.derived


def test_both_thresholds_given_are_kept_and_the_rule_says_which_is_laxer():
    lax = DecisionRule(prob_threshold=0.95, alpha=0.05)
    assert not lax.consistent
    assert lax.mismatch() == ("the Bayesian threshold 0.95 is laxer than the frequentist alpha "
                              "0.05, which matches P >= 0.975")
    assert lax.describe().endswith(lax.mismatch())
    strict = DecisionRule(prob_threshold=0.99, alpha=0.05)
    assert "the Bayesian threshold 0.99 is stricter than the frequentist alpha 0.05" in (
        strict.describe())
    # both given and consistent: nothing to note
    assert DecisionRule(prob_threshold=0.995, alpha=0.01).mismatch() == ""


def test_a_readout_under_both_thresholds_notes_the_difference():
    r = read(*HOMEPAGE, rule=OLD_RULE)
    assert r.rule == OLD_RULE and r.to_dict()["rule"]["derived"] is None
    assert "the Bayesian threshold 0.95 is laxer than the frequentist alpha 0.05" in (
        r.decision.reasons[-1])


# -- the same false-ship rate on both sides --------------------------------------------------

def test_default_rule_has_the_same_single_look_false_ship_rate_on_both_sides():
    """A/A experiments: both sides ship alpha / 2 = 2.5% of them, and on the same ones.

    Closed form of each side's rate: :math:`1 - \\Phi(\\Phi^{-1}(0.975)) = 0.025`. Where the
    two sides' verdicts differ on one experiment, its P and 1 - p/2 lie within
    ``SAME_EVIDENCE_TOL`` of each other (and of the threshold).
    """
    from bayeslab.design.aa import decisions

    rule = DecisionRule()
    closed = float(stats.norm.sf(stats.norm.ppf(rule.prob_threshold)))
    assert closed == pytest.approx(rule.alpha / 2, rel=1e-12)
    rng = np.random.default_rng(24)
    sims, n = 100_000, 10_000
    x_c, x_t = rng.binomial(n, 0.1, sims), rng.binomial(n, 0.1, sims)
    d = decisions(n, x_c, n, x_t, rule=rule)
    se = np.sqrt(closed * (1 - closed) / sims)
    assert d["z_ship"].mean() == pytest.approx(closed, abs=4 * se)
    assert d["bayes_ship"].mean() == pytest.approx(closed, abs=4 * se)
    split = np.flatnonzero(d["bayes_ship"] != d["z_ship"])
    assert len(split) <= 1e-3 * sims          # the sides decide the same experiments
    for i in split:
        prob, p = reference(x_c[i], n, x_t[i], n)
        assert abs(prob - (1 - p / 2)) <= SAME_EVIDENCE_TOL
        assert abs(prob - rule.prob_threshold) <= SAME_EVIDENCE_TOL
    # the old pair (P >= 0.95 beside alpha 0.05) shipped twice as often on the Bayesian side
    old = decisions(n, x_c, n, x_t, rule=OLD_RULE)
    assert old["bayes_ship"].mean() == pytest.approx(0.05, abs=4 * np.sqrt(0.05 * 0.95 / sims))


@pytest.mark.parametrize("rule", [DecisionRule(), OLD_RULE], ids=["default", "p095-alpha005"])
def test_verdicts_agree_on_a_grid_of_counts_except_within_the_band(rule):
    """Counts stepping one conversion at a time through both thresholds, both directions.

    The readout's P and p match the scipy references; under the default rule the sides agree
    everywhere on this grid, and under the mismatched pair every differing verdict reads the
    same evidence (within the band) and says so, never "disagree".
    """
    seen, split = set(), 0
    for n in (2000, 10000):
        x_c = n // 10
        se = np.sqrt(2 * 0.1 * 0.9 / n) * n
        for sign in (1, -1):
            for x_t in range(x_c + sign * int(1.6 * se), x_c + sign * int(2.1 * se), sign):
                r = read(x_c, n, x_t, n, rule=rule)
                prob, p, est = sides(r)
                ref_prob, ref_p = reference(x_c, n, x_t, n)
                assert prob == pytest.approx(ref_prob, abs=1e-7)
                assert p == pytest.approx(ref_p, rel=1e-9)
                d = r.decision
                seen.add(d.bayes)
                if d.bayes == d.frequentist:
                    continue
                split += 1
                one_sided = 1 - p / 2 if est > 0 else p / 2
                assert abs(prob - one_sided) <= SAME_EVIDENCE_TOL
                assert d.verdict == "inconclusive"
                assert "disagree" not in d.reasons[0]
                assert d.reasons[0].startswith("Inconclusive: both analyses read the same "
                                               "evidence")
    assert {"ship", "do not ship", "inconclusive"} <= seen      # the grid crosses both ways
    assert (split == 0) if rule.consistent else (split > 10)


# -- the headline ----------------------------------------------------------------------------

def test_homepage_case_reads_the_same_evidence_not_a_disagreement():
    """P = 0.9509 beside p = 0.098 (the homepage plan's cvr): one piece of evidence."""
    ref_prob, ref_p = reference(*HOMEPAGE)
    assert (round(ref_prob, 4), round(ref_p, 3)) == (0.9509, 0.098)
    old = read(*HOMEPAGE, rule=OLD_RULE).decision
    assert (old.verdict, old.bayes, old.frequentist) == ("inconclusive", "ship", "inconclusive")
    assert old.reasons[0] == (
        "Inconclusive: both analyses read the same evidence (P(y better in B) = 0.9509, "
        "1 - p/2 = 0.9510); it meets the Bayesian threshold 0.95 but not the frequentist alpha "
        "0.05: the Bayesian threshold is laxer than the frequentist alpha, which matches "
        "P >= 0.975.")
    new = read(*HOMEPAGE).decision                  # the default rule: both sides unsure
    assert (new.verdict, new.bayes, new.frequentist) == ("inconclusive",) * 3
    assert new.reasons[0] == "Inconclusive: no analysis is sure y moved."


def test_a_prior_that_matters_still_disagrees_and_names_the_cause():
    """Beta(2000, 18000) on each arm's rate (a prior worth 20,000 units at 10%) shrinks the
    lift of 5,000 units per arm; the flat-prior readout of the same counts ships on both sides."""
    counts, prior = (500, 5000, 570, 5000), (2000.0, 18000.0)
    flat = read(*counts).decision
    assert (flat.bayes, flat.frequentist) == ("ship", "ship")
    r = read(*counts, prior=prior)
    prob, p, _ = sides(r)
    ref_prob, ref_p = reference(*counts, *prior)
    assert prob == pytest.approx(ref_prob, abs=1e-7) and p == pytest.approx(ref_p, rel=1e-9)
    assert 1 - p / 2 - prob > 0.1                     # far apart: a real difference
    d = r.decision
    assert (d.verdict, d.bayes, d.frequentist) == ("inconclusive", "inconclusive", "ship")
    head = d.reasons[0]
    assert head.startswith("Inconclusive: the analyses disagree (Bayes says inconclusive, "
                           "frequentist says ship): they read different evidence, the "
                           "frequentist side is surer (P(y better in B) = ")
    assert "the cause is the prior or the model (beta-binomial, Beta(2000, 18000) prior, " \
           "against z-test), not the thresholds." in head


def test_a_multiple_testing_correction_is_a_threshold_not_a_disagreement():
    """Three arms: the z-test's Holm-adjusted p (0.067, unadjusted 0.0335) misses alpha while
    P = 0.9832 meets 0.975. The evidence is the unadjusted p's (1 - 0.0335/2 = 0.9832); the
    correction is a stricter frequentist level (0.05 x 0.0335 / 0.067 = 0.025, P >= 0.9875)."""
    df = pd.DataFrame({"arm": ["A", "t1", "t2"], "y": [1000, 1000, 1092], "n": [10000] * 3})
    d = compare(df, arm="arm", metric="y", n="n", control="A").decision
    ref_prob, ref_p = reference(1000, 10000, 1092, 10000)
    assert (d.verdict, d.arm, d.bayes, d.frequentist) == ("inconclusive", "t2", "ship",
                                                          "inconclusive")
    assert d.reasons[0] == (
        f"Inconclusive: both analyses read the same evidence (P(y better in t2) = "
        f"{ref_prob:.4f}, 1 - p/2 = {1 - ref_p / 2:.4f}); it meets the Bayesian threshold "
        "0.975 but not the frequentist alpha 0.025 (Holm-adjusted over 2 tests: 2 variants): "
        "the Bayesian threshold is laxer than the frequentist alpha, which matches P >= 0.9875.")


def test_split_head_cases():
    """Every branch of the sentence, from stated numbers."""
    def ev(prob, p, rule=None, ok_loss=True, good=True):
        rule = rule or DecisionRule()
        return Evidence(prob_better=prob, prob_worse=1 - prob, p_value=p, good=good,
                        ok_loss=ok_loss, rule=rule, alpha=rule.alpha, what="m better",
                        what_worse="m worse", models="M1, against M2")

    # straddling the shared threshold 0.975
    head = split_head("ship", "inconclusive", ev(0.9752, 0.0504))
    assert head == ("Inconclusive: both analyses read the same evidence (P(m better) = 0.9752, "
                    "1 - p/2 = 0.9748), which lies at their shared threshold (P >= 0.975, "
                    "two-sided p < 0.05): it just meets the Bayesian threshold 0.975 and just "
                    "misses the frequentist alpha 0.05.")
    # harm: the worse direction's numbers
    head = split_head("inconclusive", "do not ship", ev(0.0252, 0.0496, good=False))
    assert "(P(m worse) = 0.9748, 1 - p/2 = 0.9752)" in head
    assert "just meets the frequentist alpha 0.05 and just misses the Bayesian threshold" in head
    # both between two different thresholds, further apart than the band
    head = split_head("ship", "inconclusive", ev(0.952, 0.058, rule=OLD_RULE))
    assert head.startswith("Inconclusive: the analyses differ only in their thresholds "
                           "(P(m better) = 0.9520, 1 - p/2 = 0.9710)")
    # the Bayesian loss criterion, not the evidence
    head = split_head("inconclusive", "ship", ev(0.99, 0.02, ok_loss=False))
    assert "the Bayesian expected loss of shipping is above the 0.25% the rule accepts" in head
    # really different evidence
    head = split_head("ship", "inconclusive", ev(0.99, 0.3))
    assert head == ("Inconclusive: the analyses disagree (Bayes says ship, frequentist says "
                    "inconclusive): they read different evidence, the Bayesian side is surer "
                    "(P(m better) = 0.9900, 1 - p/2 = 0.8500, apart by more than 0.01); the "
                    "cause is the prior or the model (M1, against M2), not the thresholds.")
    # opposite verdicts always disagree; no evidence: the old sentence
    assert "the analyses disagree" in split_head("ship", "do not ship", ev(0.98, 0.04,
                                                                          good=False))
    assert split_head("ship", "inconclusive", None) == (
        "Inconclusive: the analyses disagree (Bayes says ship, frequentist says inconclusive).")


def test_custom_model_reads_the_same_evidence():
    b = Estimate("bayes", "my-model", "absolute", 0.01, -0.001, 0.02, prob_positive=0.9509)
    f = Estimate("frequentist", "ols", "absolute", 0.01, -0.002, 0.02, p_value=0.098)
    d = custom_decision("m", b, f, None, OLD_RULE)
    assert d.verdict == "inconclusive"
    assert d.reasons[0].startswith("Inconclusive: both analyses read the same evidence "
                                   "(P(m better) = 0.9509, 1 - p/2 = 0.9510)")
    assert "laxer than the frequentist alpha 0.05" in d.reasons[-1]
    far = Estimate("bayes", "my-model", "absolute", 0.01, 0.001, 0.02, prob_positive=0.999)
    d = custom_decision("m", far, f, None, DecisionRule())
    assert "the analyses disagree" in d.reasons[0] and "(my-model, against ols)" in d.reasons[0]


# -- plans and the CLI -----------------------------------------------------------------------

PLAN = """
[experiment]
name = "t"
seed = 3

[data]
simulate = {{ scenario = "migration", rows = 4000, seed = 2 }}

[columns]
arm = "treatment"
control = "0"

[decision]
{decision}

[[metrics]]
name = "ps5_purchase_30d"
role = "primary"
kind = "conversion"
"""


@pytest.mark.parametrize("decision, expect", [
    ("alpha = 0.01", (0.995, 0.01, "prob_threshold", False)),
    ("prob_threshold = 0.95\nalpha = 0.05", (0.95, 0.05, None, True)),
])
def test_plan_thresholds(tmp_path, decision, expect):
    path = tmp_path / "plan.toml"
    path.write_text(PLAN.format(decision=decision))
    result = run_plan(path, tmp_path / "out", quiet=True)
    r = result.readouts[0]
    assert r.rule.prob_threshold == pytest.approx(expect[0], abs=1e-12)
    assert r.rule.alpha == pytest.approx(expect[1], abs=1e-12)
    assert r.rule.derived == expect[2]
    saved = json.loads((tmp_path / "out" / "readout.json").read_text())
    rule = saved["metrics"][0]["rule"]
    assert (rule["prob_threshold"], rule["alpha"]) == pytest.approx(expect[:2], abs=1e-12)
    assert ("laxer than the frequentist alpha" in r.decision.text) == expect[3]


def test_cli_alpha_alone_derives_the_threshold(tmp_path, capsys):
    path = tmp_path / "agg.csv"
    pd.DataFrame({"arm": ["A", "B"], "y": [219, 253], "n": [15053, 14947]}).to_csv(path,
                                                                                   index=False)
    assert main(["compare", str(path), "--arm", "arm", "--metric", "y", "--n", "n",
                 "--control", "A", "--alpha", "0.01", "--format", "json"]) == 0
    rule = json.loads(capsys.readouterr().out)["rule"]
    assert rule["prob_threshold"] == pytest.approx(0.995, abs=1e-12)
    assert rule["alpha"] == pytest.approx(0.01, abs=1e-12)
    assert rule["derived"] == "prob_threshold"
