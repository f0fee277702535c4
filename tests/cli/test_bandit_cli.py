"""``bayeslab bandit`` (issue 27): weights as text and JSON, the floor and top-two flags, the
stratified readout with --period, the simulation, and one-line errors with exit code 2."""

import json

import numpy as np
import pandas as pd
import pytest

from bayeslab.cli import main
from bayeslab.kernels.beta import prob_best

ARMS = pd.DataFrame({"arm": ["A", "B", "C", "D"], "n": [4000, 4100, 3900, 4000],
                     "conversions": [400, 430, 425, 470]})


@pytest.fixture
def arms_csv(tmp_path):
    path = tmp_path / "arms.csv"
    ARMS.to_csv(path, index=False)
    return str(path)


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_weights_json_are_p_best_and_the_floor_is_kept(arms_csv, capsys):
    alpha = prob_best([(1 + c, 1 + n - c) for n, c in zip(ARMS["n"], ARMS["conversions"],
                                                            strict=True)])
    base = ["bandit", arms_csv, "--arm", "arm", "--n", "n", "--metric", "conversions",
            "--format", "json"]
    off = run_json(capsys, [*base, "--floor", "0"])
    np.testing.assert_allclose(list(off["weights"].values()), alpha, rtol=1e-12)
    assert list(off["weights"]) == ["A", "B", "C", "D"]
    on = run_json(capsys, base)
    np.testing.assert_allclose(list(on["weights"].values()), 0.025 + 0.9 * alpha, rtol=1e-12)
    two = run_json(capsys, [*base, "--top-two"])
    assert two["top_two"] == 0.5 and "top-two Thompson" in two["method"]
    assert main(base[:-2]) == 0
    out = capsys.readouterr().out
    assert "exploration floor 2.50% per arm" in out and "80.12%" in out


def test_period_gives_the_stratified_readout(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"week": np.repeat([1, 2], 2000), "arm": rng.choice(["a", "b"], 4000),
                         "conv": rng.binomial(1, 0.1, 4000)})
    path = tmp_path / "units.csv"
    rows.to_csv(path, index=False)
    d = run_json(capsys, ["bandit", str(path), "--arm", "arm", "--metric", "conv", "--period",
                          "week", "--format", "json"])
    assert d["type"] == "bandit" and d["period"] == "week" and d["effects"][0]["arm"] == "b"
    assert main(["bandit", str(path), "--arm", "arm", "--metric", "conv", "--period",
                 "week"]) == 0
    assert "stratified by 'week' (2 periods)" in capsys.readouterr().out


def test_simulate_regret_table(capsys):
    d = run_json(capsys, ["bandit", "--simulate", "--periods", "3", "--users", "2000",
                          "--reps", "20", "--format", "json"])
    assert [r["policy"] for r in d["policies"]] == ["thompson", "top-two", "uniform"]
    assert d["policies"][2]["regret_vs_uniform"] == 1.0


@pytest.mark.parametrize("extra, message", [
    (["--n", "visits"], "column 'visits' is not in the data"),
    (["--n", "n", "--floor", "0.5"], "floor must be a share from 0 to 1/4"),
    (["--n", "n", "--kind", "continuous"], "need an sd column"),
    (["--n", "n", "--top-two", "2"], "--top-two: must be a number in (0, 1)"),
])
def test_bad_input_is_one_line_and_exit_2(arms_csv, capsys, extra, message):
    try:
        code = main(["bandit", arms_csv, "--arm", "arm", "--metric", "conversions", *extra])
    except SystemExit as stop:   # argparse refuses a flag's value itself: exit 2, one line
        code = stop.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_unreadable_file_and_missing_columns_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("")
    assert main(["bandit", str(bad), "--arm", "arm", "--metric", "c"]) == 2
    assert main(["bandit", "--arm", "arm", "--metric", "c"]) == 2
    assert main(["bandit", str(bad), "--metric", "c"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(e.startswith("bayeslab: error: ") for e in err), err
