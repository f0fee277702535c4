"""``bayeslab oc`` and the operating characteristics every run writes into readout.json."""

import json
from pathlib import Path

import pytest

from bayeslab.cli import main

MODELS = Path(__file__).resolve().parents[2] / "models"
SIDES = ("bayes", "frequentist", "combined")
KEYS = {"false_ship_rate", "power", "expected_n", "mc_se", "n_sims"}

DESIGN_PLAN = """
[experiment]
name = "design time"
seed = 4

[data]
path = "nowhere.csv"

[columns]
arm = "arm"
control = "control"
planned_split = [0.5, 0.25, 0.25]

[decision]
{decision}

[design]
units = 40000
baselines = {{ converted = 0.05, revenue = 12.0, unsub = 0.01 }}
sds = {{ revenue = 30.0 }}
mde = "10%"
sims = 4000

[[metrics]]
name = "converted"
role = "primary"
kind = "conversion"

[[metrics]]
name = "revenue"
role = "secondary"
kind = "continuous"

[[metrics]]
name = "unsub"
role = "guardrail"
kind = "conversion"
margin = "30%"
"""


@pytest.mark.parametrize("plan", ["migration", "campaign", "homepage", "musicstream"])
def test_every_run_writes_the_rules_error_rates(plan, shipped_runs):
    oc = json.loads((shipped_runs[plan] / "readout.json").read_text())[
        "operating_characteristics"]
    for side in SIDES:
        assert KEYS <= set(oc[side]), (plan, side)
        assert 0 <= oc[side]["false_ship_rate"] <= 1 and oc[side]["n_sims"] == 10_000
        assert oc[side]["mc_se"]["false_ship_rate"] <= 0.005
    assert oc["false_ship_rate"] == oc["combined"]["false_ship_rate"]
    assert oc["combined"]["false_ship_rate"] <= min(oc["bayes"]["false_ship_rate"],
                                                    oc["frequentist"]["false_ship_rate"])
    report = (shipped_runs[plan] / "report.md").read_text()
    assert "this rule ships a change that does nothing" in report.split("\n\n")[1]  # by the verdict
    assert "## The rule's error rates" in report


def test_the_campaign_monitor_peeks_and_the_report_says_how_often_it_ships_nothing(shipped_runs):
    oc = json.loads((shipped_runs["campaign"] / "readout.json").read_text())[
        "operating_characteristics"]
    # the daily P >= 0.95 stopping rule over 28 looks: about a fifth of null experiments ship
    assert 0.15 < oc["bayes"]["false_ship_rate"] < 0.30
    assert oc["frequentist"]["false_ship_rate"] < 0.05
    assert oc["plan"]["looks"] == 28


def test_an_observational_plan_says_why_it_is_not_simulated(shipped_runs):
    oc = json.loads((shipped_runs["personalization"] / "readout.json").read_text())[
        "operating_characteristics"]
    assert "propensity" in oc["not_simulated"]


def test_oc_command_at_design_time_with_calibration(tmp_path, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text(DESIGN_PLAN.format(decision="target_false_ship = 0.05"))
    assert main(["oc", str(plan), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["plan"]["variants"] == 2 and out["plan"]["units"] == 40000
    assert out["mde"] == pytest.approx(0.005)
    for side in SIDES:
        assert KEYS <= set(out[side])
    cal = out["calibration"]
    for side in ("bayes", "frequentist"):
        c = cal["check"][side]
        assert abs(c["false_ship_rate"] - 0.05) < 3.5 * c["mc_se"]["false_ship_rate"]


def test_oc_command_text_reads_the_plan_data(capsys):
    assert main(["oc", str(MODELS / "musicstream.toml"), "--sims", "2000"]) == 0
    text = capsys.readouterr().out
    assert "this rule ships a change that does nothing" in text
    assert "churned (retention) is left out" in text


def test_oc_command_refuses_an_observational_plan_in_one_line(capsys):
    assert main(["oc", str(MODELS / "personalization.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "propensity" in err


def test_bad_design_values_are_one_line(tmp_path, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text(DESIGN_PLAN.format(decision="").replace('mde = "10%"', 'mde = "ten"'))
    assert main(["oc", str(plan)]) == 2
    assert "mde must be a number or a percentage" in capsys.readouterr().err


def test_a_run_with_a_target_uses_the_calibrated_thresholds_and_says_so(tmp_path):
    from bayeslab.plan.runner import run_plan

    text = (MODELS / "musicstream.toml").read_text()
    assert "alpha = 0.05" in text
    plan = tmp_path / "plan.toml"
    plan.write_text(text.replace("alpha = 0.05", "alpha = 0.05\ntarget_false_ship = 0.05", 1)
                    .replace("[experiment]", "[design]\nsims = 4000\n\n[experiment]", 1))
    run_plan(plan, tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "readout.json").read_text())
    cal = doc["operating_characteristics"]["calibration"]
    # one look, one primary: the one-sided 5 % rule is P >= 0.95 (flat prior) and alpha 0.10
    assert cal["prob_threshold"] == pytest.approx(0.95, abs=0.006)
    assert cal["alpha"] == pytest.approx(0.10, abs=0.012)
    assert doc["metrics"][0]["rule"]["prob_threshold"] == pytest.approx(cal["prob_threshold"])
    assert doc["metrics"][0]["rule"]["alpha"] == pytest.approx(cal["alpha"])
    sides = doc["operating_characteristics"]
    for side in ("bayes", "frequentist"):
        got = sides[side]
        assert abs(got["false_ship_rate"] - 0.05) < 3.5 * got["mc_se"]["false_ship_rate"]
    assert "were calibrated for this plan" in (tmp_path / "out" / "report.md").read_text()


FIVE_BY_THREE = """
[experiment]
name = "five metrics, three variants"
seed = 2

[data]
path = "data.csv"

[columns]
arm = "arm"
control = "control"

[decision]
correction = "{correction}"
scope = ["variants", "metrics"]

[design]
sims = 4000

[[metrics]]
name = "conv"
role = "primary"
kind = "conversion"

[[metrics]]
name = "clicks"
role = "secondary"
kind = "conversion"

[[metrics]]
name = "rev"
role = "secondary"
kind = "continuous"

[[metrics]]
name = "minutes"
role = "secondary"
kind = "continuous"

[[metrics]]
name = "unsub"
role = "guardrail"
kind = "conversion"
margin = "50%"
"""


@pytest.mark.parametrize("correction", ["holm", "none"])
def test_five_metrics_three_variants_report_their_family_wise_rate(correction, tmp_path):
    import numpy as np
    import pandas as pd

    from bayeslab.plan.runner import run_plan

    rng = np.random.default_rng(8)
    n = 8000
    pd.DataFrame({"arm": np.repeat(["control", "a", "b", "c"], n // 4),
                  "conv": (rng.random(n) < 0.1).astype(int),
                  "clicks": (rng.random(n) < 0.3).astype(int),
                  "rev": rng.gamma(2.0, 5.0, n), "minutes": rng.normal(30, 10, n),
                  "unsub": (rng.random(n) < 0.02).astype(int)}).to_csv(tmp_path / "data.csv",
                                                                         index=False)
    (tmp_path / "plan.toml").write_text(FIVE_BY_THREE.format(correction=correction))
    result = run_plan(tmp_path / "plan.toml", tmp_path / "out")
    oc = json.loads((tmp_path / "out" / "readout.json").read_text())["operating_characteristics"]
    f = oc["frequentist"]
    assert oc["plan"]["variants"] == 3 and len(oc["plan"]["metrics"]) == 5
    assert oc["plan"]["correction"] == correction
    if correction == "holm":
        assert f["family_wise_rate"] <= 0.05 + 3 * f["mc_se"]["family_wise_rate"]
    else:
        assert f["family_wise_rate"] > 0.2          # 12 uncorrected one-sided claims
    import re

    report = re.sub(r"\\(.)", r"\1", (tmp_path / "out" / "report.md").read_text())
    assert "any metric declared a win" in report
    assert f"{f['family_wise_rate']:.2%}" in report
    assert result.oc.design.correction == correction
