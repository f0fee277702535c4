"""Your own model: formulas (bambi vs statsmodels), builder files, custom_readout()."""

from __future__ import annotations

import json
import re
import textwrap

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from bayeslab.core.errors import DataError, ModelError
from bayeslab.data.model_rows import model_frame
from bayeslab.data.sources import open_source
from bayeslab.frequentist.formula import OLSFormula, fixed_effects_formula
from bayeslab.frequentist.model import FittedTerm
from bayeslab.readout.contract import SavedReadout
from bayeslab.readout.custom import CustomReadout, custom_readout, formula_columns, load_builder
from bayeslab.readout.metric import compare
from bayeslab.scenarios import simulate

TINY = dict(draws=400, tune=400, chains=2)


@pytest.fixture(scope="module")
def migration():
    return simulate("migration", rows=4000, seed=3).data


def test_fitted_term_reads_statsmodels_numbers(migration):
    res = smf.ols("revenue_60d ~ treatment + pre_30d_spend", migration).fit(cov_type="HC1")
    t = FittedTerm("treatment", interval=0.9).fit(res)
    assert t.method == "ols-hc1"
    assert t.estimate == pytest.approx(res.params["treatment"], rel=1e-12)
    assert t.se == pytest.approx(res.bse["treatment"], rel=1e-12)
    lo, hi = res.conf_int(alpha=0.1).loc["treatment"]
    assert (t.lower, t.upper) == pytest.approx((lo, hi), rel=1e-12)
    assert t.p_value == pytest.approx(res.pvalues["treatment"], rel=1e-12)
    with pytest.raises(ModelError, match="no coefficient 'arm'.*treatment"):
        FittedTerm("arm").fit(res)


def test_group_terms_become_fixed_effects():
    assert fixed_effects_formula("y ~ t + x + (1 | country)") == "y ~ t + x + C(country)"
    with pytest.raises(ModelError, match=r"\(x \| g\) has no counterpart"):
        fixed_effects_formula("y ~ t + (x | g)")
    assert formula_columns("y ~ t + np.log(x) + C(c) + (1|g)") == ("y", ("c", "g", "t", "x", "y"))


def test_formula_frequentist_side_equals_explicit_covariates(migration):
    """The formula's OLS-HC1 is the multi-covariate ANCOVA from sufficient statistics."""
    explicit = compare(migration, arm="treatment", metric="revenue_60d", kind="continuous",
                       covariate="pre_30d_spend,country", control="0")
    ancova = next(e for e in explicit.estimates()
                  if e.method == "ancova-hc" and e.effect == "absolute")
    mf = model_frame(open_source(migration), arm="treatment", metric="revenue_60d",
                     columns=("pre_30d_spend", "country"), control="0")
    ols = OLSFormula("revenue_60d ~ treatment + pre_30d_spend + C(country)",
                     treatment="treatment").fit(mf.frame)
    assert ols.estimate == pytest.approx(ancova.estimate, rel=1e-8)
    assert (ols.lower, ols.upper) == pytest.approx((ancova.lower, ancova.upper), rel=1e-8)


@pytest.mark.slow
def test_formula_readout_matches_the_explicit_covariate_readout(migration):
    """Both sides: the bambi posterior of the treatment coefficient is within 0.15 posterior sd
    of the conjugate regression on the same covariates (weak priors, 4,000 rows)."""
    explicit = compare(migration, arm="treatment", metric="revenue_60d", kind="continuous",
                       covariate="pre_30d_spend,country", control="0")
    r = compare(migration, arm="treatment", metric="revenue_60d", kind="formula", control="0",
                formula="revenue_60d ~ treatment + pre_30d_spend + C(country)", **TINY)
    b, f = r.headline_estimates()
    eb = next(e for e in explicit.estimates()
              if e.method == "bayes-regression" and e.effect == "absolute")
    ef = next(e for e in explicit.estimates()
              if e.method == "ancova-hc" and e.effect == "absolute")
    sd = (eb.upper - eb.lower) / (2 * 1.96)
    assert abs(b.estimate - eb.estimate) < 0.15 * sd
    assert f.estimate == pytest.approx(ef.estimate, rel=1e-8)
    assert r.diagnostics.verdict != "fail" and r.decision.verdict == explicit.decision.verdict
    saved = SavedReadout(json.loads(json.dumps(r.to_dict())))
    assert saved.headline.bayes == "bambi" and saved.headline.frequentist == "ols-hc1"


def test_formula_errors_name_what_is_wrong(migration):
    with pytest.raises(ModelError, match="outcome is 'revenue_60d' but the metric is 'x'"):
        compare(migration, arm="treatment", metric="x", kind="formula",
                formula="revenue_60d ~ treatment")
    with pytest.raises(ModelError, match="no term for the arm column 'treatment'"):
        compare(migration, arm="treatment", metric="revenue_60d", kind="formula",
                formula="revenue_60d ~ pre_30d_spend")
    with pytest.raises(ModelError, match="needs a formula"):
        compare(migration, arm="treatment", metric="revenue_60d", kind="formula")


def _one_metric_plan(folder, data: str, metric: str):
    """A plan in ``folder`` reading ``revenue_60d`` as its primary metric (``metric``: its kind
    lines)."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = folder / "plan.toml"
    plan.write_text("\n".join([
        '[experiment]\nname = "t"', f"[data]\n{data}",
        '[columns]\narm = "treatment"\ncontrol = "0"',
        f'[[metrics]]\nname = "revenue_60d"\nrole = "primary"\n{metric}', ""]))
    return plan


ATTACKS = [
    "revenue_60d ~ treatment + I(pre_30d_spend + bmb.models.np.sign("
    "bmb.models.pd.io.common.os.system('touch pwned')))",
    'revenue_60d ~ treatment + I(frame.x.add(0, fill_value=frame.to_csv("pwned")))',
    "revenue_60d ~ treatment + eval(pre_30d_spend)",
    "revenue_60d ~ treatment + __import__(os)",
    "revenue_60d ~ treatment + pre_30d_spend[0]",
]


@pytest.mark.parametrize("formula", ATTACKS)
def test_a_formula_cannot_run_code(formula, migration, tmp_path, monkeypatch, capsys):
    """The formula grammar is checked before bambi or patsy evaluate a term (API, CLI, plan)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="formula"):
        compare(migration, arm="treatment", metric="revenue_60d", kind="formula",
                formula=formula)
    with pytest.raises(ModelError, match="formula"):
        OLSFormula(formula, treatment="treatment").fit(pd.DataFrame({"x": [1.0]}))
    from bayeslab.bayes.formula import BambiFormula
    with pytest.raises(ModelError, match="formula"):
        BambiFormula(formula, treatment="treatment").build(pd.DataFrame({"x": [1.0]}))
    from bayeslab.cli import main

    data = tmp_path / "m.parquet"
    migration.to_parquet(data)
    assert main(["compare", str(data), "--arm", "treatment", "--metric", "revenue_60d",
                 "--kind", "formula", "--formula", formula]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and any(why in err[0] for why in (
        "outside the formula grammar", "not an allowed function", "not a column name"))
    plan = _one_metric_plan(tmp_path, 'path = "m.parquet"',
                            f'kind = "formula"\nformula = {json.dumps(formula)}')
    assert main(["run", str(plan), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("formula", ["revenue_60d ~ treatment * pre_30d_spend",
                                     "revenue_60d ~ treatment + treatment:pre_30d_spend",
                                     "revenue_60d ~ treatment + I(treatment * pre_30d_spend)"])
def test_an_interaction_with_the_arm_is_refused_not_misread(formula, migration):
    """The probe: `rev ~ arm * x` read the effect at x = 0 as "the effect" and shipped."""
    with pytest.raises(ModelError, match="interacts the arm with pre_30d_spend"):
        compare(migration, arm="treatment", metric="revenue_60d", kind="formula",
                formula=formula)


def test_the_formula_grammar_accepts_what_users_write():
    from bayeslab.core.checks import check_formula

    for f in ["y ~ arm + x + C(c) + (1 | g)", "y ~ t + np.log(x) + C(c) + (1|g)",
              "rev ~ arm * x", "y ~ arm + I(x**2)", "y ~ arm + log(x) + scale(z)",
              "y ~ 0 + arm", "y ~ arm + x - 1", "y ~ arm + (x + z)**2", "y~arm:x"]:
        assert check_formula(f) == f
    for f, why in [("y ~ arm + C(c, Treatment('a'))", "outside the formula grammar"),
                   ("y ~ arm ~ x", "exactly one '~'"), ("y ~ arm + np.x", "not a column name"),
                   ("y ~ arm + np.system(x)", "not an allowed function"), ("", "non-empty")]:
        with pytest.raises(ModelError, match=re.escape(why)):
            check_formula(f)


def test_model_frame_accounts_for_every_row():
    df = pd.DataFrame({"arm": ["a", "b"] * 5, "y": [1.0, 2, np.nan, 4, 5, 6, 7, 8, 9, 10],
                       "g": ["x", None, "y", "x", "y", "x", "y", "x", "y", "x"]})
    src = open_source(df)
    with pytest.raises(DataError, match=r"column 'y' is missing or not finite in 1 row \(row 3"):
        model_frame(src, arm="arm", metric="y", columns=["g"])
    mf = model_frame(src, arm="arm", metric="y", columns=["g"], missing="exclude",
                     control="a")
    assert (mf.rows.read, mf.rows.used) == (10, 8)
    assert mf.rows.excluded == {"y is missing or not finite": 1,
                                "g is missing or not finite": 1}
    assert set(mf.frame["arm"]) == {0, 1} and mf.control == "a"
    assert list(mf.arm_table()["n"]) == [4, 4]


def _normal_model(y, t):
    import pymc as pm

    with pm.Model() as model:
        mu = pm.Normal("control_mean", 0.0, 100.0)
        effect = pm.Normal("effect", 0.0, 100.0)
        pm.Normal("y", mu + effect * t, 1.0, observed=y)
    return model


def test_custom_readout_recovers_a_known_posterior():
    """Known sigma = 1, flat-ish priors: the effect's posterior is Normal around the difference
    in means with sd sqrt(1/n_t + 1/n_c) (closed form)."""
    rng = np.random.default_rng(1)
    t = np.repeat([0.0, 1.0], 500)
    y = 10 + 0.3 * t + rng.normal(size=1000)
    freq = smf.ols("y ~ t", pd.DataFrame({"y": y, "t": t})).fit(cov_type="HC1")
    r = custom_readout(_normal_model(y, t), "effect", baseline="control_mean", frequentist=freq,
                       term="t", metric="score", seed=2, **TINY)
    assert isinstance(r, CustomReadout) and r.TYPE == "custom"
    b, f = r.headline_estimates()
    diff = y[t == 1].mean() - y[t == 0].mean()
    sd = np.sqrt(1 / 500 + 1 / 500)
    assert b.estimate == pytest.approx(diff, abs=0.1 * sd)
    assert (b.upper - b.lower) / (2 * 1.96 * sd) == pytest.approx(1.0, abs=0.12)
    assert f.method == "ols-hc1" and f.estimate == pytest.approx(diff, rel=1e-10)
    rel = next(e for e in r.estimates() if e.effect == "relative")
    assert rel.estimate == pytest.approx(diff / y[t == 0].mean(), rel=0.05)
    assert r.decision.verdict == "ship" and not r.decision.blockers
    assert "(every one of " in r.decision.text
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert CustomReadout.from_dict(d).to_dict() == d
    assert d["priors"]["effect"].startswith("Normal(0, 100)")
    assert set(r.figures()) == {"intervals", "effect", "trace"}


def test_unconverged_custom_model_blocks_the_decision():
    rng = np.random.default_rng(3)
    t = np.repeat([0.0, 1.0], 100)
    y = 1 + t + rng.normal(size=200)
    r = custom_readout(_normal_model(y, t), "effect", draws=50, tune=50, chains=2,
                       ess_min=10_000)
    assert r.diagnostics.verdict == "fail"
    assert r.decision.verdict == "blocked"
    assert "did not converge" in r.decision.blockers[0]


def test_a_funnel_beside_the_effect_blocks_the_decision():
    """The probe: a centered Neal's funnel next to a well-identified effect read out "ship"
    because only the effect and the baseline were checked. Every free variable is checked now,
    and the failing one is named."""
    import pymc as pm

    rng = np.random.default_rng(3)
    t = np.repeat([0.0, 1.0], 200)
    y = 1 + 0.5 * t + rng.normal(size=400)
    with pm.Model() as model:
        mu = pm.Normal("control_mean", 0.0, 10.0)
        effect = pm.Normal("effect", 0.0, 10.0)
        pm.Normal("y", mu + effect * t, 1.0, observed=y)
        v = pm.Normal("funnel_v", 0.0, 3.0)
        pm.Normal("funnel_x", 0.0, pm.math.exp(v / 2), shape=9)   # centered: hard to sample
    r = custom_readout(model, "effect", seed=1, draws=300, tune=300, chains=2)
    assert r.diagnostics.verdict == "fail"
    assert r.decision.verdict == "blocked"
    failed = [c for c in r.diagnostics.checks if c.status == "fail"]
    assert any("worst: funnel_v" in c.reason for c in failed)


def test_custom_readout_checks_its_inputs():
    rng = np.random.default_rng(0)
    t = np.repeat([0.0, 1.0], 20)
    model = _normal_model(rng.normal(size=40), t)
    with pytest.raises(ModelError, match="no variable 'lift' for the effect"):
        custom_readout(model, "lift", **TINY)
    with pytest.raises(ModelError, match="expected a pymc.Model"):
        custom_readout("model", "effect")


def test_builder_files_are_checked(tmp_path):
    with pytest.raises(DataError, match="'path/to/file.py:function'"):
        load_builder("model.py")
    with pytest.raises(DataError, match="not found"):
        load_builder(str(tmp_path / "missing.py") + ":build")
    f = tmp_path / "m.py"
    f.write_text("def other(frame):\n    return None\n")
    with pytest.raises(DataError, match="no function 'build'"):
        load_builder(f"{f}:build")


def _builder_plan(folder, builder):
    return _one_metric_plan(folder, 'simulate = { scenario = "migration", rows = 2000, seed = 1 }',
                            f'kind = "custom"\nbuilder = {json.dumps(builder)}')


def test_a_plan_runs_builders_from_its_own_folder_only(tmp_path, capsys):
    from bayeslab.cli import main

    outside = tmp_path / "b.py"
    outside.write_text("open(__file__ + '.ran', 'w').close()\ndef build(frame):\n    pass\n")
    for spec in (f"{outside}:build", "../b.py:build"):
        plan = _builder_plan(tmp_path / "plans", spec)
        assert main(["run", str(plan), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "outside the plan's folder" in err[0]
    assert not (tmp_path / "b.py.ran").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize(("body", "why"), [
    ("import sys\ndef build(frame):\n    sys.exit(0)\n", "raised SystemExit"),
    ("def build(frame):\n    raise ValueError('no model here')\n", "raised ValueError: no model"),
    ("def build(frame):\n    return 3\n", "must return a pymc.Model"),
    ("def build(frame)\n    return 3\n", "failed to load: SyntaxError"),
    ("import not_a_module_anywhere\n", "failed to load: ModuleNotFoundError"),
    ("raise SystemExit(0)\n", "failed to load: SystemExit"),
])
def test_a_broken_builder_is_one_line_and_exit_2(tmp_path, capsys, body, why):
    from bayeslab.cli import main

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "b.py").write_text(body)
    plan = _builder_plan(tmp_path / "p", "b.py:build")
    assert main(["run", str(plan), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and why in err[0], err


@pytest.mark.slow
def test_custom_model_runs_through_a_plan_into_a_report(tmp_path):
    """The example plan's Student-t model with country effects, on fewer rows, through
    `bayeslab run` into a report."""
    from pathlib import Path

    from bayeslab.plan.runner import run_plan

    root = Path(__file__).resolve().parents[2] / "examples"
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "student_t_revenue.py").write_text(
        (root / "models" / "student_t_revenue.py").read_text())
    plan = (root / "custom_model.toml").read_text()
    plan = plan.replace("rows = 10000", "rows = 3000").replace("draws = 1000", "draws = 300")
    plan = plan.replace("tune = 1000", "tune = 300")
    (tmp_path / "plan.toml").write_text(plan)
    from bayeslab.cli import main

    assert main(["run", str(tmp_path / "plan.toml"), "--out", str(tmp_path / "out"),
                 "--quiet"]) == 0                 # `bayeslab run`, as a user types it
    result = run_plan(tmp_path / "plan.toml", quiet=True)   # the same plan, in memory
    r = result.primary
    assert r.kind == "custom" and r.headline.bayes == "pymc-model"
    assert r.headline.frequentist == "ols-hc1"        # the builder's statsmodels fit
    b, f = r.headline_estimates()
    assert b.lower < f.estimate < b.upper             # both read the same effect
    html = (tmp_path / "out" / "report.html").read_text()
    for needle in ("pymc-model", "ols-hc1", "posterior of the effect", "trace of the effect"):
        assert needle in html
    saved = json.loads((tmp_path / "out" / "readout.json").read_text())
    assert saved["metrics"][0]["builder"].endswith("student_t_revenue.py:build")
    assert textwrap.dedent(saved["metrics"][0]["decision"]["verdict"]) == r.decision.verdict


def test_effect_figure_states_the_probability_and_keeps_the_posterior_in_view():
    import matplotlib.pyplot as plt

    from bayeslab.plots import plot_effect_posterior

    far = np.random.default_rng(0).normal(10, 0.3, 2000)
    fig = plot_effect_posterior(far, name="effect", metric="m", unit="EUR")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "P(effect > 0) > 0.9995 (every one of 2,000 draws)" in labels
    assert ax.get_xlim()[0] > 8 and any("0 is off the axis" in t.get_text() for t in ax.texts)
    plt.close(fig)
    near = np.random.default_rng(0).normal(0.3, 0.3, 2000)
    fig = plot_effect_posterior(near)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t == f"P(effect > 0) = {np.mean(near > 0):.4f}" for t in labels), labels
    plt.close(fig)
