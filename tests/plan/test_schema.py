"""Analysis plans: validation errors naming key and line, and every shipped plan running end to
end with identical numbers on a re-run and a report holding every section and figure."""

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bayeslab.cli import main
from bayeslab.plan.runner import run_plan
from bayeslab.plan.schema import PlanError, load_plan
from tests.golden_readouts import differences, golden

MODELS = Path(__file__).resolve().parents[2] / "models"
GOOD = """
[experiment]
name = "t"
seed = 3

[data]
simulate = { scenario = "migration", rows = 4000, seed = 2 }

[columns]
arm = "treatment"
control = "0"

[[metrics]]
name = "ps5_purchase_30d"
role = "primary"
kind = "conversion"

[[metrics]]
name = "optout_flag"
role = "guardrail"
kind = "conversion"
margin = 0.01
"""


def write(tmp_path, text, name="plan.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_plan_loads(tmp_path):
    plan = load_plan(write(tmp_path, GOOD))
    assert plan.seed == 3 and plan.primary.name == "ps5_purchase_30d"
    assert [m.name for m in plan.by_role("guardrail")] == ["optout_flag"]


@pytest.mark.parametrize("edit,match", [
    (lambda t: t.replace('kind = "conversion"\n\n[[metrics]]', 'knd = "conversion"\n\n[[metrics]]'),
     r"unknown key metrics\[0\]\.knd \(line 16\)"),
    (lambda t: t.replace("seed = 3", "seed = \"three\""),
     r"experiment\.seed \(line 4\) must be int"),
    (lambda t: t.replace('role = "primary"', 'role = "secondary"'), r"exactly one metric"),
    (lambda t: t.replace("margin = 0.01", ""),
     r"guardrail 'optout_flag' needs a margin \(line 18\)"),
    (lambda t: t.replace('kind = "conversion"\nmargin', 'kind = "revenue"\nmargin'),
     r"metrics\[1\]\.kind \(line 21\) must be one of"),
    (lambda t: t + "\n[extras]\nx = 1\n", r"unknown section \[extras\] \(line 2[0-9]\)"),
    (lambda t: t.replace('arm = "treatment"', ""), r"columns\.arm is required \(line 9\)"),
    (lambda t: t.replace("simulate = {", "path = 'x.csv'\nsimulate = {"),
     r"exactly one of path, sql, simulate"),
    (lambda t: t.replace("[columns]", "[columns"), r"not valid TOML.*line 9"),
    (lambda t: t + '\n[segments]\nmetric = "optout_flag"\ncolumns = ["spend_tier"]\n',
     r"segments\.metric \(line 2[0-9]\) must name a primary or secondary metric"),
])
def test_validation_errors_name_key_and_line(tmp_path, edit, match):
    with pytest.raises(PlanError, match=match):
        load_plan(write(tmp_path, edit(GOOD)))


def test_missing_plan_and_data_file(tmp_path):
    with pytest.raises(PlanError, match="plan file not found"):
        load_plan(tmp_path / "nope.toml")
    plan = write(tmp_path, GOOD.replace('simulate = { scenario = "migration", rows = 4000, '
                                        'seed = 2 }', 'path = "missing.parquet"'))
    assert main(["run", str(plan), "--out", str(tmp_path / "o")]) == 2


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.figures, self.images = [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "figure":
            self.figures.append(a.get("data-name"))
        if tag == "img" and a.get("src", "").startswith("data:image/png;base64,"):
            self.images += 1


@pytest.mark.parametrize("name", ["migration", "campaign", "musicstream", "homepage",
                                  "personalization"])
def test_shipped_plans_run_end_to_end(request, tmp_path, name):
    if name == "migration":     # the session's one run of it (tests/conftest.py)
        tmp_path, result = request.getfixturevalue("migration_plan_run")
    else:
        result = run_plan(MODELS / f"{name}.toml", tmp_path)
    payload = json.loads((tmp_path / "readout.json").read_text())
    assert payload["decision"]["verdict"] == result.decision.verdict
    assert payload["metrics"][0]["results"]
    parser = _Sections()
    parser.feed((tmp_path / "report.html").read_text())
    assert {"overview", "primary", "diagnostics", "data", "settings"} <= set(parser.sections)
    pngs = sorted(p.stem for p in tmp_path.glob("*.png"))
    assert sorted(parser.figures) == pngs and parser.images == len(pngs) >= 1
    assert (tmp_path / "report.md").exists()
    assert (tmp_path / "posteriors" / "conjugate.json").exists()
    # every number as recorded (tests/golden/; python -m tests.golden_readouts rewrites them)
    assert differences(golden(name), payload) == []


def test_rerun_gives_identical_numbers(migration_run, tmp_path):
    """On one machine the same seed gives the same numbers, bit for bit (across machines they
    agree within Monte Carlo error: tests/golden_readouts.py)."""
    run_plan(MODELS / "migration.toml", tmp_path / "b")
    a = json.loads((migration_run / "readout.json").read_text())
    b = json.loads((tmp_path / "b" / "readout.json").read_text())
    a.pop("plan"), b.pop("plan")
    assert a == b


def test_migration_report_sections(migration_run):
    parser = _Sections()
    parser.feed((migration_run / "report.html").read_text())
    assert {"guardrail-unsubscribe_flag", "guardrail-optout_flag", "secondary-revenue_60d",
            "sequential"} <= set(parser.sections)
    html = (migration_run / "report.html").read_text()
    assert html.index('id="decision"') < html.index('id="overview"')


def test_init_writes_a_plan_that_validates(tmp_path, capsys):
    target = tmp_path / "plan.toml"
    assert main(["init", str(target)]) == 0
    plan = load_plan(target)
    assert plan.primary.name == "converted"
    assert main(["init", str(target)]) == 2
    assert "exists" in capsys.readouterr().err


def test_run_cli_json(tmp_path, capsys):
    assert main(["run", str(MODELS / "homepage.toml"), "--out", str(tmp_path),
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decision"]["verdict"] and "report.html" in out["files"]


SEQ = GOOD.replace("[columns]", """[sequential]
looks = [1000, 2000, 4000]
rule = { type = "prob_positive", success = 0.95 }
SEQUENTIAL_LINE

[columns]""")


@pytest.mark.parametrize(("line", "why"), [
    ('spending = "bogus"', "sequential.spending"),
    ('metric = "ps5_purchase_30dd"', "sequential.metric"),
])
def test_sequential_options_are_checked_not_ignored(tmp_path, line, why):
    with pytest.raises(PlanError, match=why):
        load_plan(write(tmp_path, SEQ.replace("SEQUENTIAL_LINE", line)))


def test_the_plans_spending_and_alpha_govern_the_monitor(tmp_path):
    """The probe: spending = "pocock" and decision.alpha = 0.01 ran O'Brien-Fleming at 0.05."""
    plan = SEQ.replace("SEQUENTIAL_LINE", 'spending = "pocock"').replace(
        "[experiment]", "[decision]\nalpha = 0.01\n\n[experiment]")
    mon = run_plan(write(tmp_path, plan)).monitor
    design = mon.design
    assert design.alpha == pytest.approx(0.01)
    assert "pocock" in str(design.spending).lower()
    bounds = design.upper
    assert bounds[0] == pytest.approx(bounds[-1], rel=0.35)   # Pocock: nearly flat boundaries


@pytest.mark.parametrize(("prior", "why"), [
    ("{ alpah = 50, beta = 1 }", "unknown prior key 'alpah'"),
    ('{ alpha = "a", beta = 1 }', "positive numbers"),
    ("[1, 2, 3]", r"must be \[alpha, beta\]"),
    ("{ alpha = -1, beta = 1 }", "positive numbers"),
])
def test_prior_keys_and_values_are_checked(tmp_path, prior, why):
    plan = GOOD.replace('kind = "conversion"\n', f'kind = "conversion"\nprior = {prior}\n', 1)
    with pytest.raises(PlanError, match=why):
        load_plan(write(tmp_path, plan))


def test_segments_need_columns(tmp_path):
    plan = GOOD + "\n[segments]\ncolumns = []\n"
    with pytest.raises(PlanError, match="segments.columns"):
        load_plan(write(tmp_path, plan))


def test_a_plan_saved_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_plan(path).primary.name == "ps5_purchase_30d"


@pytest.mark.parametrize("margin, message", [
    ('"20%"', None), ("0.004", None), ('"lots"', "must be a number"),
    ('"-3%"', "positive increase")])
def test_guardrail_margins_absolute_or_relative(tmp_path, margin, message):
    text = GOOD + f'''
[[metrics]]
name = "unsubscribe_flag"
role = "guardrail"
margin = {margin}
'''
    if message is None:
        plan = load_plan(write(tmp_path, text))
        assert [m.options["margin"] for m in plan.metrics if m.role == "guardrail"][-1] == (
            margin.strip('"') if margin.startswith('"') else float(margin))
    else:
        with pytest.raises(PlanError, match=rf"metrics\[2\]\.margin .*{message}.*\(line \d+\)"):
            load_plan(write(tmp_path, text))


def test_a_margin_on_a_metric_that_is_not_a_guardrail_is_refused(tmp_path):
    text = GOOD.replace('role = "primary"', 'role = "primary"\nmargin = 0.01')
    with pytest.raises(PlanError, match=r"metrics\[0\]\.margin \(line \d+\) is for guardrails"):
        load_plan(write(tmp_path, text))


def test_plan_sql_reads_files_relative_to_the_plan_folder(tmp_path, monkeypatch):
    """read_csv('data.csv') in a plan's SQL reads the plan folder's file, as data.path does."""
    import numpy as np
    import pandas as pd

    plan_dir, cwd = tmp_path / "plan", tmp_path / "elsewhere"
    plan_dir.mkdir()
    cwd.mkdir()
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"arm": np.repeat([0, 1], 500),
                          "y": (rng.random(1000) < 0.2).astype(int)})
    frame.to_csv(plan_dir / "data.csv", index=False)
    frame.assign(y=0).to_csv(cwd / "data.csv", index=False)       # a decoy in the working folder
    (plan_dir / "plan.toml").write_text('''[experiment]
name = "sql"

[data]
sql = "SELECT * FROM read_csv('data.csv')"

[columns]
arm = "arm"

[[metrics]]
name = "y"
role = "primary"
''')
    monkeypatch.chdir(cwd)
    result = run_plan(plan_dir / "plan.toml", tmp_path / "out")
    assert result.primary.arms["mean"].tolist() == pytest.approx(
        frame.groupby("arm")["y"].mean().tolist(), rel=1e-12)
