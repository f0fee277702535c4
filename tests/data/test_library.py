"""The experiment library (issue 25): a versioned DuckDB file, idempotent writes, concurrent
writers, checked CSV imports, one clear line for a file that is not a library."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from bayeslab.core.errors import DataError
from bayeslab.data.library import NAMES, SCHEMA_VERSION, ExperimentLibrary, LibraryWrite
from bayeslab.data.library_csv import import_id

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "past_experiments.csv"


def row(exp="e1", metric="conversion", arm="b", **kw):
    out = {"experiment": exp, "experiment_id": f"id-{exp}", "metric": metric, "arm": arm,
           "effect_scale": "absolute", "estimate_abs": 0.01, "se_abs": 0.004, "shipped": False}
    out.update(kw)
    return out


def tables(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()")
                      .fetchall())


def test_a_new_library_records_its_schema_version(tmp_path):
    path = tmp_path / "lib.duckdb"
    lib = ExperimentLibrary(path)
    assert not path.exists()                      # creating the object writes nothing
    lib.append([row()])
    with duckdb.connect(str(path), read_only=True) as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        columns = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE "
                                             "table_name = 'experiments' ORDER BY column_index")
                   .fetchall()]
    assert meta == {"schema_version": "1", "created_by": "bayeslab"}
    assert SCHEMA_VERSION == 1 and lib.schema_version() == 1
    assert tuple(columns) == NAMES


def test_reading_a_missing_library_writes_nothing(tmp_path):
    path = tmp_path / "lib.duckdb"
    with pytest.raises(DataError, match=r"^no experiment library at .*lib\.duckdb: write one"):
        ExperimentLibrary(path).rows()
    assert list(tmp_path.iterdir()) == []


def test_writing_the_same_rows_twice_keeps_one_row_per_key(tmp_path):
    lib = ExperimentLibrary(tmp_path / "lib.duckdb")
    rows = [row(metric="conversion"), row(metric="revenue", unit="EUR", estimate_abs=2.5,
                                          se_abs=1.0, estimate_rel=0.05, se_rel=0.02)]
    first = lib.append(rows)
    assert first == LibraryWrite(str(tmp_path / "lib.duckdb"), read=2, added=2, replaced=0)
    second = lib.append([row(metric="conversion", estimate_abs=0.02, shipped=True)])
    assert (second.added, second.replaced) == (0, 1)
    assert second.sentence() == f"1 row read: 0 added, 1 replaced in {tmp_path / 'lib.duckdb'}"
    table = lib.rows()
    assert len(table) == 2
    conv = table[table.metric == "conversion"].iloc[0]
    assert conv.estimate_abs == 0.02 and bool(conv.shipped) and conv.source == "run"
    rev = lib.history("revenue", scale="relative")
    assert rev[["estimate", "se"]].values.tolist() == [[0.05, 0.02]]
    assert len(lib.history("conversion", scale="relative")) == 0   # no relative estimate
    assert lib.summary().to_dict("records") == [
        {"metric": "conversion", "experiments": 1, "rows": 1, "shipped": 1, "absolute": 1,
         "relative": 0},
        {"metric": "revenue", "experiments": 1, "rows": 1, "shipped": 0, "absolute": 1,
         "relative": 1}]


@pytest.mark.parametrize("bad,match", [
    (dict(colour="red"), r"^library row 2: unknown key 'colour'"),
    (dict(se_abs=None), r"^library row 2: estimate_abs and se_abs come together"),
    (dict(se_abs=-0.1), r"^library row 2: se_abs must be positive, got -0\.1$"),
    (dict(estimate_abs=float("nan")), r"^library row 2: estimate_abs must be a finite number"),
    (dict(estimate_abs=None, se_abs=None), r"^library row 2: no estimate"),
    (dict(effect_scale="log"), r"^library row 2: effect_scale must be 'absolute' or"),
    (dict(shipped="yes"), r"^library row 2: shipped must be True or False"),
    (dict(metric=""), r"^library row 2: 'metric' is missing$"),
    (dict(n_control=10.5), r"^library row 2: n_control must be a whole number"),
    (dict(end_date="31/12/2024"), r"^library row 2: end_date must be a date YYYY-MM-DD"),
    (dict(exp="e1"), r"^library rows 1 and 2 have the same key \(experiment_id 'id-e1', "
                     r"metric 'conversion', arm 'b'\)$"),
])
def test_a_bad_row_refuses_the_whole_write(tmp_path, bad, match):
    lib = ExperimentLibrary(tmp_path / "lib.duckdb")
    lib.append([row(exp="e0")])
    kw = {"exp": "e2", **bad}
    with pytest.raises(DataError, match=match):
        lib.append([row(exp="e1"), row(**kw)])
    assert lib.rows().experiment.tolist() == ["e0"]


def test_import_of_the_example_file(tmp_path):
    lib = ExperimentLibrary(tmp_path / "lib.duckdb")
    with open(EXAMPLE, newline="") as fh:
        records = list(csv.DictReader(fh))
    assert 40 <= len(records) <= 60
    done = lib.import_csv(EXAMPLE)
    assert (done.read, done.added, done.replaced) == (len(records), len(records), 0)
    again = lib.import_csv(EXAMPLE)                       # idempotent: replaced, not added
    assert (again.added, again.replaced) == (0, len(records))
    hist = lib.history("conversion", scale="relative")
    conv = [r for r in records if r["metric"] == "conversion"]
    assert hist.experiment.tolist() == [r["name"] for r in conv]
    assert hist.estimate.tolist() == [float(r["estimate"]) for r in conv]
    assert hist.se.tolist() == [float(r["se"]) for r in conv]
    assert hist.shipped.tolist() == [r["shipped"] == "true" for r in conv]
    assert hist.n_treatment.tolist() == [int(r["n_treatment"]) for r in conv]
    assert hist.experiment_id.tolist() == [import_id(r["name"]) for r in conv]
    assert len(lib.history("conversion")) == 0            # nothing on the absolute scale
    table = lib.rows()
    assert set(table.source) == {"import"} and set(table.arm) == {"treatment"}
    assert set(table.imported_from) == {str(EXAMPLE.resolve())}
    assert str(table.end_date.iloc[0].date()) == records[0]["date"]


def write_csv(path, text):
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_import_scale_default_and_the_scale_column(tmp_path):
    src = write_csv(tmp_path / "past.csv", """
        Name;Metric;Estimate;SE;Shipped;scale
        a;cvr;0.004;0.002;yes;
        b;cvr;0.03;0.01;no;relative
        """)
    lib = ExperimentLibrary(tmp_path / "lib.duckdb")
    assert lib.import_csv(src).added == 2
    assert lib.history("cvr").experiment.tolist() == ["a"]
    assert lib.history("cvr", scale="relative").experiment.tolist() == ["b"]
    lib.import_csv(src, scale="relative")
    assert lib.history("cvr", scale="relative").experiment.tolist() == ["a", "b"]


def test_import_names_the_bad_columns_and_rows_and_writes_nothing(tmp_path):
    src = write_csv(tmp_path / "past.csv", """
        name,metric,estimate,se,shipped
        a,cvr,0.01,0.01,true
        b,cvr,0.01,0,false
        c,cvr,0.01,0.01,maybe
        d,cvr,0.01,-1,false
        e,cvr,x,0.01,false
        a,cvr,0.02,0.01,true
        """)
    path = tmp_path / "lib.duckdb"
    with pytest.raises(DataError) as info:
        ExperimentLibrary(path).import_csv(src)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{src}: ")
    assert "column 'se' must be a positive number: 2 rows (row 2, 4, counting from 1)" in msg
    assert "column 'shipped' must be true or false (yes / no, 1 / 0): 1 row (row 3, " in msg
    assert "column 'estimate' must be a finite number: 1 row (row 5, counting from 1)" in msg
    assert ("column 'name' repeats the name, metric and arm of an earlier row: 1 row (row 6, "
            in msg)
    assert msg.endswith("; nothing was imported")
    assert not path.exists()


@pytest.mark.parametrize("text,match", [
    ("name,metric,estimate,shipped\na,m,1,true\n", r"missing column 'se' \(required: name, "),
    ("name,metric,estimate,se,shipped,colour\na,m,1,1,true,red\n",
     r"unknown column 'colour' \(known: "),
    ("name,metric,estimate,se,shipped,scale\na,m,-1.5,0.1,true,relative\n",
     r"column 'estimate' must be above -1 on the relative scale .*row 1,"),
    ("name,metric,estimate,se,shipped,kind\na,m,1,0.1,true,banana\n",
     r"column 'kind' must be one of conversion, "),
    ("name,metric,estimate,se,shipped,date\na,m,1,0.1,true,12/03/2024\n",
     r"column 'date' must be a date YYYY-MM-DD: 1 row"),
    ("name,metric,estimate,se,shipped\na,m,1,0.1\n", r"1 row \(row 1, counting from 1\) have "
                                                     r"a number of fields other than"),
    ("", r"is empty: it needs a header"),
])
def test_import_refuses_a_malformed_file(tmp_path, text, match):
    src = tmp_path / "past.csv"
    src.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        ExperimentLibrary(tmp_path / "lib.duckdb").import_csv(src)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "lib.duckdb").exists()


def test_a_foreign_duckdb_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE sales (x INTEGER)")
    for call in (lambda lib: lib.rows(), lambda lib: lib.append([row()])):
        with pytest.raises(DataError) as info:
            call(ExperimentLibrary(path))
        assert str(info.value) == (f"{path} is a DuckDB database but not a bayeslab experiment "
                                   "library: no table 'meta' (it has table 'sales'); name "
                                   "another file")
    assert tables(path) == ["sales"]


def test_another_schema_version_is_refused(tmp_path):
    path = tmp_path / "lib.duckdb"
    ExperimentLibrary(path).append([row()])
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(DataError, match=r"^.*lib\.duckdb is an experiment library of schema "
                                        r"version 2; this bayeslab reads version 1 \(upgrade "
                                        r"bayeslab\)$"):
        ExperimentLibrary(path).append([row(exp="e2")])


@pytest.mark.parametrize("what,content", [
    ("a file of another format", b"name,metric\nx,y\n" * 1000),
    ("an empty file", b""),
    ("a SQLite database", None),
])
def test_a_file_that_is_not_duckdb_gives_one_line(tmp_path, what, content):
    path = tmp_path / "lib.duckdb"
    if content is None:
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (a)")
        con.commit()
        con.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    for call in (lambda lib: lib.rows(), lambda lib: lib.import_csv(EXAMPLE)):
        with pytest.raises(DataError) as info:
            call(ExperimentLibrary(path))
        assert str(info.value) == (f"{path} is not an experiment library: it is {what}, not a "
                                   "DuckDB database; name a new file (created on the first "
                                   "write) or an existing library")
    assert path.read_bytes() == before


def test_an_empty_duckdb_file_becomes_a_library(tmp_path):
    path = tmp_path / "lib.duckdb"
    duckdb.connect(str(path)).close()
    assert len(ExperimentLibrary(path).rows()) == 0           # read: no rows, nothing written
    assert tables(path) == []
    assert ExperimentLibrary(path).append([row()]).added == 1
    assert tables(path) == ["experiments", "meta"]


WRITER = """
import sys, time
from pathlib import Path
from bayeslab.data.library import ExperimentLibrary
path, who, start = sys.argv[1], sys.argv[2], Path(sys.argv[3])
while not start.exists():
    time.sleep(0.005)
lib = ExperimentLibrary(path)
for i in range({n}):
    rows = [{{"experiment": who, "experiment_id": f"{{who}}-{{i}}", "metric": m, "arm": "b",
             "effect_scale": "absolute", "estimate_abs": i, "se_abs": 1.0, "shipped": False}}
            for m in ("conversion", "revenue")]
    rows.append({{"experiment": "both", "experiment_id": "both", "metric": "conversion",
                 "arm": "b", "effect_scale": "absolute", "estimate_abs": 0.0, "se_abs": 1.0,
                 "shipped": False}})
    lib.append(rows)
print("done")
"""


def test_two_processes_writing_at_once_both_land(tmp_path):
    n = 8
    path, start = tmp_path / "lib.duckdb", tmp_path / "go"
    code = WRITER.format(n=n)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), who, str(start)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for who in ("a", "b")]
    time.sleep(0.5)           # both started (importing) before either may write
    start.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    table = ExperimentLibrary(path).rows()
    assert len(table) == 2 * n * 2 + 1                     # every row, the shared one once
    assert table.groupby("experiment").size().to_dict() == {"a": 2 * n, "b": 2 * n, "both": 1}


def test_a_lock_held_too_long_gives_one_line(tmp_path):
    path = tmp_path / "lib.duckdb"
    ExperimentLibrary(path).append([row()])
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time, pathlib; c = duckdb.connect(sys.argv[1]); "
        "pathlib.Path(sys.argv[2]).touch(); time.sleep(4)"), str(path), str(ready)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(DataError, match=r"^experiment library .*lib\.duckdb stayed locked "
                                            r"by another process for 0\.3 s; try again when it "
                                            r"has finished$"):
            ExperimentLibrary(path, timeout=0.3).append([row(exp="e2")])
    finally:
        holder.wait(timeout=60)
    assert ExperimentLibrary(path).rows().experiment.tolist() == ["e1"]


def test_history_checks_the_scale(tmp_path):
    lib = ExperimentLibrary(tmp_path / "lib.duckdb")
    with pytest.raises(DataError, match=r"^scale must be 'absolute' or 'relative', got 'log'$"):
        lib.history("conversion", scale="log")


def test_the_example_file_is_what_its_generator_writes(tmp_path):
    out = tmp_path / "past.csv"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "make_past_experiments.py"),
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == EXAMPLE.read_text()
