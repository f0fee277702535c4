"""CLI: monitor and design power|srm|aa|boundaries, JSON shapes, and exit 2 on bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from bayeslab.cli import main


@pytest.fixture
def events_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 6_000
    ts = pd.Timestamp("2024-03-01") + pd.to_timedelta(np.sort(rng.uniform(0, 5, n)), unit="D")
    arm = rng.integers(0, 2, n)
    y = (rng.random(n) < np.where(arm == 1, 0.13, 0.10)).astype(int)
    path = tmp_path / "events.csv"
    pd.DataFrame({"ts": ts, "arm": arm, "y": y}).to_csv(path, index=False)
    return path


def run_json(args, capsys):
    assert main([*args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_monitor_json(events_csv, capsys):
    out = run_json(["monitor", str(events_csv), "--arm", "arm", "--metric", "y", "--timestamp",
                    "ts", "--rule", "prob:0.95,0.10", "--fpr-sims", "500"], capsys)
    assert len(out["looks"]) == 5
    assert {"prob_positive", "z", "upper", "fraction", "expected_loss"} <= set(out["looks"][0])
    assert out["looks"][-1]["fraction"] == 1.0
    fp = out["rules"][0]["false_positive_rate"]
    assert fp["n_sims"] == 500 and 0 < fp["rate"] < 1
    assert "realised information fractions" in out["note"]


def test_monitor_table_with_two_rules_and_equal_looks(events_csv, capsys):
    assert main(["monitor", str(events_csv), "--arm", "arm", "--metric", "y", "--looks", "3",
                 "--rule", "prob:0.95", "--rule", "loss:0.001", "--fpr-sims", "0",
                 "--spending", "pocock"]) == 0
    text = capsys.readouterr().out
    assert "prob:0.95" in text and "loss:0.001" in text and "pocock spending" in text
    assert "2,000 rows" in text


def test_design_boundaries_json(capsys):
    """OBF-type Lan-DeMets, 4 equal looks, two-sided 0.05: the upper boundaries of gsDesign
    (sfLDOF; Jennison and Turnbull 2000, Table 7.6): 4.333, 2.963, 2.359, 2.014."""
    out = run_json(["design", "boundaries", "--looks", "4", "--alpha", "0.05", "--sides", "2",
                    "--spending", "obf"], capsys)
    looks = out["looks"]
    assert [lk["fraction"] for lk in looks] == [0.25, 0.5, 0.75, 1.0]
    np.testing.assert_allclose([lk["upper"] for lk in looks], [4.333, 2.963, 2.359, 2.014],
                               atol=1e-3)
    assert looks[-1]["alpha_spent"] == pytest.approx(0.05, abs=1e-8)
    assert all(lk["lower"] == -lk["upper"] for lk in looks)
    out = run_json(["design", "boundaries", "--fractions", "0.3,0.7,1", "--sides", "1",
                    "--spending", "hsd:-4", "--alpha", "0.025"], capsys)
    assert [lk["lower"] for lk in out["looks"]] == [None, None, None]  # -inf: no lower bound


def test_design_srm_json(capsys):
    out = run_json(["design", "srm", "--counts", "5000,5100"], capsys)
    assert out["p_value"] == pytest.approx(0.3197, abs=1e-4) and out["mismatch"] is False
    out = run_json(["design", "srm", "--counts", "5000,5600", "--planned", "0.5,0.5"], capsys)
    assert out["mismatch"] is True and out["threshold"] == 0.001
    out = run_json(["design", "srm", "--counts", "9000,1000", "--expected", "0.9,0.1"], capsys)
    assert out["chi2"] == pytest.approx(0.0)


def test_design_power_json(capsys):
    """Balanced: the pooled two-proportion formula, computed here by hand; 90/10: the ratio
    of the two arms is 1/9."""
    out = run_json(["design", "power", "--metric", "conversion", "--baseline", "0.1", "--mde",
                    "0.01"], capsys)
    p1, p2 = 0.1, 0.11
    pbar = (p1 + p2) / 2
    za, zb = norm.isf(0.025), norm.ppf(0.8)
    n = (za * np.sqrt(2 * pbar * (1 - pbar)) + zb * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 \
        / 0.01**2
    assert out["n_control"] == pytest.approx(n, rel=2e-3)
    assert out["n_total"] == out["n_control"] + out["n_treatment"]
    out = run_json(["design", "power", "--metric", "conversion", "--baseline", "0.1", "--mde",
                    "0.1", "--relative", "--allocation", "0.9,0.1"], capsys)
    assert out["n_treatment"] == pytest.approx(out["n_control"] / 9, rel=1e-3)
    out = run_json(["design", "power", "--metric", "mean", "--baseline", "10", "--mde", "0.5",
                    "--sd", "4"], capsys)
    assert out["n_control"] > 900


def test_design_aa_json(capsys):
    out = run_json(["design", "aa", "--n", "4000", "--baseline", "0.1", "--sims", "2000",
                    "--seed", "3"], capsys)
    rates, se = out["rates"], out["mc_se"]
    assert rates["z_reject"] == pytest.approx(0.05, abs=4 * se["z_reject"])
    assert set(rates) == {"z_reject", "z_ship", "bayes_ship", "bayes_any", "both_ship", "srm"}


@pytest.mark.parametrize("args,match", [
    (["design", "boundaries", "--looks", "4", "--spending", "hsd:x"], "is not a number"),
    (["design", "boundaries", "--fractions", "0.5,0.4,1"], "strictly increasing"),
    (["design", "srm", "--counts", "5000,abc"], "comma-separated numbers"),
    (["design", "srm", "--counts", "5000,5100", "--planned", "0.6,0.6"], "sum to 1"),
    (["design", "power", "--metric", "conversion", "--baseline", "0.1", "--mde", "0.95"],
     "not a proportion"),
    (["design", "power", "--metric", "mean", "--mde", "1"], "sd"),
    (["design", "aa", "--n", "100", "--baseline", "2"], "baseline must be in"),
    (["monitor", "EVENTS", "--arm", "arm", "--metric", "nope", "--timestamp", "ts"],
     "column 'nope' not found"),
    (["monitor", "EVENTS", "--arm", "arm", "--metric", "y", "--timestamp", "ts", "--rule",
      "magic:1"], "unknown rule"),
    (["monitor", "EVENTS", "--arm", "arm", "--metric", "y"], "need the timestamp column"),
])
def test_bad_input_is_one_line_and_exit_2(events_csv, capsys, args, match):
    args = [str(events_csv) if a == "EVENTS" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err and "Traceback" not in err


def test_argparse_error_for_design_without_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["design"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
