"""A plan naming the period column reads a bandit experiment stratified by period."""

import json

import numpy as np
import pandas as pd
import pytest

PLAN = """
[experiment]
name = "bandit"
seed = 3

[data]
path = "bandit.csv"

[columns]
arm = "arm"
control = "A"
period = "week"

[[metrics]]
name = "y"
role = "primary"
kind = "conversion"
"""


@pytest.fixture
def bandit_plan(tmp_path):
    """Weights move to B while the base rate rises: the pooled difference is biased upwards."""
    rng = np.random.default_rng(3)
    rows = []
    for t in range(6):
        base = 0.05 + 0.02 * t
        share_a = max(0.5 - 0.08 * t, 0.1)
        for arm, p, share in (("A", base, share_a), ("B", base + 0.01, 1 - share_a)):
            n = int(20_000 * share)
            rows.append(pd.DataFrame({"week": t, "arm": arm,
                                      "y": (rng.random(n) < p).astype(int)}))
    frame = pd.concat(rows)
    frame.to_csv(tmp_path / "bandit.csv", index=False)
    (tmp_path / "plan.toml").write_text(PLAN)
    return tmp_path, frame


def test_the_stratified_readout_decides_and_the_pooled_one_is_shown_biased(bandit_plan):
    from bayeslab.plan.runner import run_plan
    from bayeslab.readout.bandit import bandit_readout

    folder, frame = bandit_plan
    result = run_plan(folder / "plan.toml", folder / "out")
    (br,) = result.bandit
    direct = bandit_readout(frame, arm="arm", metric="y", period="week", control="A", seed=3)
    e, d = br.effects[0], direct.effects[0]
    assert e["estimate"] == pytest.approx(d["estimate"], rel=1e-12)   # the same readout
    assert e["p_value"] == pytest.approx(d["p_value"], rel=1e-9)
    assert abs(e["estimate"] - 0.01) < 3 * e["se"]                   # the truth: +1 pp
    assert e["pooled"] - 0.01 > 6 * e["se"]                          # pooled: far off
    assert result.decision.verdict == "ship"
    assert "read stratified by 'week'" in result.decision.reasons[0]
    assert not any(w.startswith("sample ratio mismatch") for w in result.warnings())
    doc = json.loads((folder / "out" / "readout.json").read_text())
    assert doc["bandit"][0]["metric"] == "y" and doc["decision"]["verdict"] == "ship"
    assert "adaptive" in doc["operating_characteristics"]["not_simulated"]
    report = (folder / "out" / "report.md").read_text()
    assert "## Bandit: y stratified by week" in report and "pooled (biased)" in report
