"""The kind registry: a kind registered in one place works from the API, CLI, plan and report."""

import json

import numpy as np
import pandas as pd
import pytest

from bayeslab.bayes.conversion import BetaBinomial
from bayeslab.cli import main
from bayeslab.core import kinds
from bayeslab.core.errors import ModelError


def fit_jeffreys(source, s):
    """A test kind: Beta-Binomial under the Jeffreys prior, headline on the relative lift."""
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.frequentist.conversion import TwoProportionZTest

    st = sufficient_stats(source, arm=s.arm, metric=s.metric, control=s.control, kind="binary",
                          missing=s.missing)
    return dict(bayes=(BetaBinomial(0.5, 0.5, interval=s.interval).fit(st),),
                frequentist=(TwoProportionZTest(interval=s.interval).fit(st),), rows=st.rows,
                arms=st.arm_table(), control=st.control,
                headline=("beta-binomial", "z-test", "relative"), stats=st)


@pytest.fixture
def jeffreys():
    kinds.register(kinds.Kind("jeffreys", "Jeffreys Beta-Binomial vs z-test", fit_jeffreys,
                              "binary"))
    yield
    kinds.unregister("jeffreys")


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(3)
    arm = np.repeat([0, 1], 4000)
    y = rng.random(8000) < np.where(arm == 1, 0.12, 0.10)
    df = pd.DataFrame({"arm": arm, "bought": y.astype(int)})
    path = tmp_path / "exp.csv"
    df.to_csv(path, index=False)
    return df, path


def _expected(df):
    n = df.groupby("arm")["bought"].agg(["size", "sum"])
    post = BetaBinomial(0.5, 0.5).fit_counts(n["size"].to_numpy(), n["sum"].to_numpy())
    return post.comparison()


def test_registry_lists_kinds_and_rejects_unknown():
    assert kinds.names(fitted=True) == ("conversion", "continuous", "count", "ratio", "retention",
                                        "formula", "custom", "quantile")
    assert kinds.names(segments=True) == ("conversion", "continuous", "count")
    assert kinds.get("retention").direction == -1
    with pytest.raises(ModelError, match="kind must be one of conversion, .*got 'nope'"):
        kinds.get("nope")
    with pytest.raises(ModelError, match="undeclared options: colour"):
        kinds.register(kinds.Kind("bad", "", None, "binary", options=("colour",)))
    assert "bad" not in kinds.names()


def test_fitters_are_callables_and_a_string_still_loads_with_a_warning(table):
    from bayeslab.readout.fitters import builtin_fitters, fit_conversion, fitter_of

    assert fitter_of(kinds.get("conversion")) is fit_conversion
    assert set(builtin_fitters()) == set(kinds.names(fitted=True))
    with pytest.raises(ModelError, match="own pipeline"):
        fitter_of(kinds.get("propensity"))
    with pytest.raises(ModelError, match="fitter must be a function"):
        kinds.register(kinds.Kind("bad", "", 42, "binary"))
    with pytest.raises(ModelError, match="has no fitter"):
        fitter_of(kinds.Kind("orphan", "", None, "binary"))
    old = kinds.Kind("old", "", "tests.core.test_kinds:fit_jeffreys", "binary")
    with pytest.warns(DeprecationWarning, match="register the function itself"):
        assert fitter_of(old) is fit_jeffreys


def test_registered_kind_reads_out_through_the_api(jeffreys, table):
    import bayeslab as bl

    df, _ = table
    r = bl.compare(df, arm="arm", metric="bought", kind="jeffreys")
    bayes = [e for e in r.estimates() if e.side == "bayes" and e.effect == "relative"][0]
    ref = _expected(df)
    assert bayes.estimate == pytest.approx(ref.rel_lift, rel=1e-9)
    assert bayes.prob_positive == pytest.approx(ref.prob_positive, rel=1e-9)


def test_registered_kind_from_the_cli(jeffreys, table, capsys):
    df, path = table
    assert main(["compare", str(path), "--arm", "arm", "--metric", "bought", "--kind",
                 "jeffreys", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    rel = [e for e in payload["results"] if e["side"] == "bayes" and e["effect"] == "relative"]
    assert rel[0]["estimate"] == pytest.approx(_expected(df).rel_lift, rel=1e-9)


def plan_text(data_path) -> str:
    """A one-metric plan reading ``bought`` of ``data_path`` with kind ``jeffreys``."""
    return f'''[experiment]
name = "jeffreys kind"
seed = 1

[data]
path = "{data_path.as_posix()}"

[columns]
arm = "arm"
control = "0"

[[metrics]]
name = "bought"
role = "primary"
kind = "jeffreys"
'''


def test_registered_kind_in_a_plan_and_its_report(jeffreys, table, tmp_path):
    from bayeslab.plan.runner import run_plan

    df, path = table
    plan = tmp_path / "plan.toml"
    plan.write_text(plan_text(path))
    out = tmp_path / "out"
    run_plan(plan, out)
    readout = json.loads((out / "readout.json").read_text())
    primary = readout["metrics"][0]
    assert primary["kind"] == "jeffreys"
    rel = [e for e in primary["results"] if e["side"] == "bayes" and e["effect"] == "relative"]
    assert rel[0]["estimate"] == pytest.approx(_expected(df).rel_lift, rel=1e-9)
    html = (out / "report.html").read_text()
    assert "bought" in html and readout["decision"]["verdict"].upper() in html.upper()


_PLUGIN = '''"""A plugin package's kinds: Jeffreys Beta-Binomial, a rate kind."""
from bayeslab.core import kinds


def fit_jeffreys(source, s):
    from bayeslab.bayes.conversion import BetaBinomial
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.frequentist.conversion import TwoProportionZTest

    st = sufficient_stats(source, arm=s.arm, metric=s.metric, control=s.control,
                          kind="binary", missing=s.missing)
    return dict(bayes=(BetaBinomial(0.5, 0.5, interval=s.interval).fit(st),),
                frequentist=(TwoProportionZTest(interval=s.interval).fit(st),), rows=st.rows,
                arms=st.arm_table(), control=st.control,
                headline=("beta-binomial", "z-test", "relative"), stats=st)


JEFFREYS = kinds.Kind("jeffreys", "Jeffreys Beta-Binomial vs z-test", fit_jeffreys, "binary",
                      effect_scale="rate")
KINDS = [JEFFREYS]
'''


def _plugin_env(tmp_path, entry_point=True):
    """A plugin package on PYTHONPATH, declared (or not) under the bayeslab.kinds entry points."""
    import os

    site = tmp_path / "site"
    (site / "jeffreys_kind").mkdir(parents=True)
    (site / "jeffreys_kind" / "__init__.py").write_text(_PLUGIN)
    if entry_point:
        dist = site / "jeffreys_kind-0.1.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jeffreys-kind\n"
                                       "Version: 0.1\n")
        (dist / "entry_points.txt").write_text("[bayeslab.kinds]\n"
                                               "jeffreys = jeffreys_kind:JEFFREYS\n")
    return dict(os.environ, PYTHONPATH=str(site))


def _run(args, env, cwd):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "bayeslab.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_an_installed_plugin_kind_works_from_a_fresh_cli_process(table, tmp_path):
    df, path = table
    env = _plugin_env(tmp_path)
    out = _run(["compare", str(path), "--arm", "arm", "--metric", "bought", "--kind",
                "jeffreys", "--format", "json"], env, tmp_path)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    rel = [e for e in payload["results"] if e["side"] == "bayes" and e["effect"] == "relative"]
    assert rel[0]["estimate"] == pytest.approx(_expected(df).rel_lift, rel=1e-9)
    table_out = _run(["compare", str(path), "--arm", "arm", "--metric", "bought", "--kind",
                      "jeffreys"], env, tmp_path)
    assert " pp" in table_out.stdout          # the kind declared its absolute effect a rate


def test_a_plan_names_its_plugin_module_and_reads_out_in_a_fresh_process(table, tmp_path):
    df, path = table
    env = _plugin_env(tmp_path, entry_point=False)      # not installed: the plan imports it
    plan = tmp_path / "plan.toml"
    body = plan_text(path)
    plan.write_text('plugins = ["jeffreys_kind"]\n' + body)
    out = _run(["run", str(plan), "--out", str(tmp_path / "out")], env, tmp_path)
    assert out.returncode == 0, out.stderr
    readout = json.loads((tmp_path / "out" / "readout.json").read_text())
    rel = [e for e in readout["metrics"][0]["results"]
           if e["side"] == "bayes" and e["effect"] == "relative"]
    assert rel[0]["estimate"] == pytest.approx(_expected(df).rel_lift, rel=1e-9)
    plan.write_text('plugins = ["no_such_kind_module"]\n' + body)
    bad = _run(["run", str(plan), "--out", str(tmp_path / "out2")], env, tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "plugins: module 'no_such_kind_module' could not be imported" in bad.stderr
    plan.write_text('plugins = ["../evil.py"]\n' + body)
    bad = _run(["run", str(plan), "--out", str(tmp_path / "out3")], env, tmp_path)
    assert bad.returncode == 2 and "is not a module name" in bad.stderr


def test_a_broken_installed_plugin_is_named_and_skipped(tmp_path, monkeypatch):
    import warnings
    from importlib import metadata

    class Broken:
        name, value = "broken", "nowhere:thing"

        def load(self):
            raise ImportError("no module named nowhere")

    monkeypatch.setattr(kinds, "_plugins_loaded", False)
    monkeypatch.setattr(metadata, "entry_points", lambda group: [Broken()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "conversion" in kinds.names()
    assert any("plugin kind 'broken' (nowhere:thing) was not loaded" in str(w.message)
               for w in caught)
