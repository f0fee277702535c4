"""``[segments] scan`` in a plan and ``--scan`` on the CLI: the property scan end to end."""

import json

import pytest

from bayeslab.cli import main

PLAN = """
[experiment]
name = "scan"
seed = 1

[data]
path = "props.parquet"

[columns]
arm = "treatment"
control = "0"

[[metrics]]
name = "converted"
role = "primary"
kind = "conversion"

[segments]
scan = {scan}
"""
KEYS = {"property", "level", "side", "estimate", "lower", "upper", "n", "flagged"}


@pytest.fixture(scope="module")
def props(tmp_path_factory):
    from bayeslab.scenarios.properties import simulate_properties

    folder = tmp_path_factory.mktemp("scan")
    simulate_properties(rows=40_000, seed=1).data.to_parquet(folder / "props.parquet")
    return folder


@pytest.mark.slow
def test_a_plan_scan_reads_every_level_on_both_sides(props):
    (props / "plan.toml").write_text(PLAN.format(scan='["country", "platform", "device"]'))
    assert main(["run", str(props / "plan.toml"), "--out", str(props / "out"), "--quiet"]) == 0
    doc = json.loads((props / "out" / "readout.json").read_text())
    scan = doc["scan"]
    assert scan and all(KEYS <= set(e) for e in scan)
    levels = {(e["property"], e["level"]) for e in scan}
    assert ("country", "BR") in levels and {e["side"] for e in scan} >= {"bayes"}
    assert doc["property_scan"]["levels"] == len(levels)
    report = (props / "out" / "report.md").read_text()
    assert "## Who is affected: converted by property" in report
    assert (props / "out" / "converted_scan.png").exists()


@pytest.mark.parametrize("scan, match", [("[]", "segments.scan"), ('[""]', "segments.scan")])
def test_a_bad_scan_list_is_one_line(props, capsys, scan, match):
    (props / "bad.toml").write_text(PLAN.format(scan=scan))
    assert main(["run", str(props / "bad.toml"), "--out", str(props / "o2")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err


@pytest.mark.slow
def test_cli_scan_gives_the_scan_list_in_json(props, capsys):
    assert main(["compare", str(props / "props.parquet"), "--arm", "treatment", "--metric",
                 "converted", "--scan", "country,device", "--format", "json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scan"] and all(KEYS <= set(e) for e in out["scan"])
    assert {e["property"] for e in out["scan"]} == {"country", "device"}


def test_cli_scan_refuses_a_kind_it_does_not_read(props, capsys):
    assert main(["compare", str(props / "props.parquet"), "--arm", "treatment", "--metric",
                 "converted", "--kind", "count", "--scan", "country"]) == 2
    assert "--scan reads conversion and continuous" in capsys.readouterr().err
