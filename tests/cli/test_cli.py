"""The command line: outputs, JSON shape, and one clean line with exit code 2 on bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from bayeslab.cli import main
from tests.conftest import make_conversion_frame


@pytest.fixture
def data_csv(tmp_path):
    df = make_conversion_frame(n=10_000, p=(0.10, 0.13))
    rng = np.random.default_rng(5)
    df["g"] = (rng.random(len(df)) < 0.01).astype(int)
    path = tmp_path / "exp.csv"
    df.to_csv(path, index=False)
    return path


def test_compare_json(data_csv, capsys):
    assert main(["compare", str(data_csv), "--arm", "arm", "--metric", "y", "--guardrail", "g",
                 "--margin", "0.01", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"]["read"] == 10_000
    assert [a["arm"] for a in out["arms"]] == ["0", "1"]
    assert out["guardrails"][0]["metric"] == "g"
    assert out["decision"]["verdict"] in ("ship", "hold")


def test_compare_table(data_csv, capsys):
    assert main(["compare", str(data_csv), "--arm", "arm", "--metric", "y", "--prior", "2,20"]) == 0
    out = capsys.readouterr().out
    assert "Beta(2, 20)" in out and "z-test" in out


def test_sql_source(data_csv, capsys):
    assert main(["compare", "--sql", f"SELECT * FROM '{data_csv}' WHERE g = 0", "--arm", "arm",
                 "--metric", "y", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"]["read"] < 10_000


@pytest.mark.parametrize("edit,extra,match", [
    (None, ["--metric", "nope"], "column 'nope' not found"),
    ("text", [], "column 'y' is not numeric"),
    ("nan", [], "column 'y' is missing or not finite"),
    ("two", [], "column 'y' must be 0 or 1"),
    ("one_arm", [], "has 1 arm"),
    (None, ["--control", "7"], "control arm '7' not found"),
    ("dup", ["--unit-id", "user_id"], "duplicated unit ids"),
    (None, ["--guardrail", "g"], "--guardrail needs --margin"),
    (None, ["--prior", "1"], "--prior needs 2 numbers"),
    (None, ["--prior", "0,1"], "prior must be two positive numbers"),
    ("missing_file", [], "data file not found"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, data_csv, capsys, edit, extra, match):
    import pandas as pd

    path = data_csv
    if edit == "missing_file":
        path = tmp_path / "nope.csv"
    elif edit:
        df = pd.read_csv(data_csv)
        if edit == "text":
            df["y"] = df["y"].astype(str)
            df.loc[3, "y"] = "oops"
        elif edit == "nan":
            df["y"] = df["y"].astype(float)
            df.loc[3, "y"] = np.nan
        elif edit == "two":
            df.loc[3, "y"] = 2
        elif edit == "one_arm":
            df["arm"] = 1
        elif edit == "dup":
            df.loc[3, "user_id"] = 0
        path = tmp_path / "bad.csv"
        df.to_csv(path, index=False)
    args = ["compare", str(path), "--arm", "arm", "--metric", "y", *extra]
    if "--metric" in extra:
        args = ["compare", str(path), "--arm", "arm", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err and "Traceback" not in err


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "x.csv"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "required" in err


def test_import_and_help_do_not_load_heavy_modules():
    code = ("import sys, bayeslab, bayeslab.cli; bayeslab.cli.build_parser(); "
            "heavy = [m for m in ('pymc', 'pytensor', 'arviz', 'matplotlib', 'pandas', 'scipy') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    code = "import sys, bayeslab; bayeslab.DataError; print('pymc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_conversion_compare_imports_neither_pandas_nor_scipy(tmp_path):
    """`bayeslab compare` on a conversion metric stays light (issue 15's start-up goal)."""
    import duckdb

    path = tmp_path / "conv.parquet"
    duckdb.sql(f"COPY (SELECT (i % 2)::TINYINT AS arm, (hash(i) % 10 < 1 + (i % 2))::TINYINT AS c "
               f"FROM range(20000) t(i)) TO '{path}' (FORMAT parquet)")
    code = ("import sys; from bayeslab.cli import main\n"
            f"rc = main(['compare', {str(path)!r}, '--arm', 'arm', '--metric', 'c'])\n"
            "heavy = [m for m in ('pandas', 'scipy', 'pyarrow', 'matplotlib', 'pymc') "
            "if m in sys.modules]\n"
            "print('HEAVY', rc, ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Rule: ship when" in out.stdout
    assert out.stdout.splitlines()[-1].split() == ["HEAVY", "0"], out.stdout[-300:]


def test_every_public_name_resolves():
    import bayeslab

    for name in bayeslab.__all__:
        assert getattr(bayeslab, name) is not None, name


def test_simulate_then_compare_round_trip(tmp_path, capsys):
    out = tmp_path / "mig.parquet"
    assert main(["simulate", "migration", "--rows", "4000", "--seed", "3", "--out", str(out),
                 "--format", "json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["rows"] == 4000 and (tmp_path / "mig.parquet.truth.json").exists()
    assert main(["compare", str(out), "--arm", "treatment", "--metric", "ps5_purchase_30d",
                 "--unit-id", "user_id", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"]["read"] == 4000


def test_simulate_bad_scenario_and_option(tmp_path, capsys):
    assert main(["simulate", "nope", "--out", str(tmp_path / "x.csv")]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["simulate", "migration", "--option", "bad", "--out",
                 str(tmp_path / "x.csv")]) == 2


def test_demo_reads_out_the_migration(capsys):
    assert main(["demo", "--rows", "20000", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    r = out["readout"]
    truth = out["truth"]["metrics"]["ps5_purchase_30d"]["abs_effect"]
    bayes_abs = next(e for e in r["results"] if e["side"] == "bayes" and e["effect"] == "absolute")
    assert bayes_abs["lower"] < truth < bayes_abs["upper"]
    assert [g["metric"] for g in r["guardrails"]] == ["unsubscribe_flag", "optout_flag"]


def test_simulate_name_stays_the_function_after_submodule_import():
    import bayeslab
    import bayeslab.readout.metric  # noqa: F401
    import bayeslab.scenarios  # noqa: F401

    assert callable(bayeslab.simulate) and callable(bayeslab.compare)
    assert bayeslab.simulate("migration", rows=200, seed=0).data.shape[0] == 200


def test_no_public_name_is_shadowed_by_a_submodule():
    import importlib.util

    import bayeslab

    clashes = [n for n in bayeslab.__all__ if importlib.util.find_spec(f"bayeslab.{n}")]
    assert clashes == []
