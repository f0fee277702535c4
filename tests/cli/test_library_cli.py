"""``bayeslab library import`` and ``bayeslab library list`` (issue 25): rows in, rows out, and
one line with exit code 2 for a file that is not a library or a CSV that is refused."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bayeslab.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "past_experiments.csv"


def records():
    with open(EXAMPLE, newline="") as fh:
        return list(csv.DictReader(fh))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("bayeslab: error: ")
    return err[0]


def test_import_then_list(tmp_path, capsys):
    lib = tmp_path / "lib.duckdb"
    n = len(records())
    assert main(["library", "import", str(EXAMPLE), "--library", str(lib)]) == 0
    assert capsys.readouterr().out == (f"{EXAMPLE}: {n} rows read: {n} added, 0 replaced in "
                                       f"{lib}\n")
    assert main(["library", "import", str(EXAMPLE), "--library", str(lib), "--format",
                 "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "library": str(lib), "read": n, "added": 0, "replaced": n, "file": str(EXAMPLE)}

    assert main(["library", "list", "--library", str(lib)]) == 0
    lines = capsys.readouterr().out.splitlines()
    first = records()[0]
    assert lines[0] == f"{lib}: {n} rows, {n // 2} experiments"
    assert lines[1].split() == ["experiment", "metric", "arm", "effect", "(±", "se)",
                                "shipped", "verdict", "ended", "source"]
    est, se = float(first["estimate"]), float(first["se"])
    assert lines[2].split() == [first["name"], first["metric"], "treatment",
                                f"{100 * est:+.2f}%", "(±", f"{100 * se:.2f}%)",
                                "yes" if first["shipped"] == "true" else "no",
                                *first["verdict"].split(), first["date"], "import"]
    assert len(lines) == 2 + n


def test_list_json_of_one_metric(tmp_path, capsys):
    lib = tmp_path / "lib.duckdb"
    assert main(["library", "import", str(EXAMPLE), "--library", str(lib)]) == 0
    capsys.readouterr()
    assert main(["library", "list", "--library", str(lib), "--metric", "revenue_per_user",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = [r for r in records() if r["metric"] == "revenue_per_user"]
    got = out["rows"]
    assert [r["experiment"] for r in got] == [r["name"] for r in want]
    assert [r["estimate_rel"] for r in got] == [float(r["estimate"]) for r in want]
    assert [r["se_rel"] for r in got] == [float(r["se"]) for r in want]
    assert [r["shipped"] for r in got] == [r["shipped"] == "true" for r in want]
    assert {r["estimate_abs"] for r in got} == {None}
    assert [r["end_date"] for r in got] == [r["date"] for r in want]
    assert {r["unit"] for r in got} == {"EUR"}
    assert main(["library", "list", "--library", str(lib), "--metric", "nope"]) == 0
    assert capsys.readouterr().out == (f"no rows of metric 'nope' in {lib} (metrics: "
                                       "conversion, revenue_per_user)\n")


def test_import_scale_option(tmp_path, capsys):
    src = tmp_path / "past.csv"
    src.write_text("name,metric,estimate,se,shipped\na,cvr,0.05,0.02,true\n")
    lib = tmp_path / "lib.duckdb"
    assert main(["library", "import", str(src), "--library", str(lib), "--scale",
                 "relative"]) == 0
    capsys.readouterr()
    assert main(["library", "list", "--library", str(lib), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert (row["effect_scale"], row["estimate_rel"], row["se_rel"]) == ("relative", 0.05, 0.02)


def test_a_refused_csv_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    src = tmp_path / "past.csv"
    src.write_text("name,metric,estimate,se,shipped\na,cvr,0.01,0.01,true\nb,cvr,0.01,0,no\n")
    lib = tmp_path / "lib.duckdb"
    assert main(["library", "import", str(src), "--library", str(lib)]) == 2
    line = one_error_line(capsys)
    assert ("column 'se' must be a positive number: 1 row (row 2, counting from 1); nothing "
            "was imported") in line
    assert not lib.exists()


@pytest.mark.parametrize("make,found", [
    (lambda p: p.write_text("not a database\n"), "it is a file of another format"),
    (lambda p: duckdb.connect(str(p)).execute("CREATE TABLE t (a INTEGER)").close(),
     "is a DuckDB database but not a bayeslab experiment library: no table 'meta'"),
])
@pytest.mark.parametrize("command", ["list", "import"])
def test_a_file_that_is_not_a_library_exits_2(tmp_path, capsys, make, found, command):
    lib = tmp_path / "lib.duckdb"
    make(lib)
    before = lib.read_bytes()
    extra = [str(EXAMPLE)] if command == "import" else []
    assert main(["library", command, *extra, "--library", str(lib)]) == 2
    line = one_error_line(capsys)
    assert str(lib) in line and found in line
    assert lib.read_bytes() == before


def test_list_of_a_missing_library_creates_nothing(tmp_path, capsys):
    lib = tmp_path / "lib.duckdb"
    assert main(["library", "list", "--library", str(lib)]) == 2
    assert f"no experiment library at {lib}" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_library_needs_a_path_as_a_program(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bayeslab.cli", "library", "list"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "bayeslab library list: error: the following arguments are required: --library "
        "(see --help)"]
