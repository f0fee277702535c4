"""Bad input at the data layer (issue 14): one clean error naming the column and rows.

Each CLI case builds a small file, runs ``bayeslab compare`` through ``main`` and asserts exit
code 2 and exactly one stderr line matching the pattern; a new case is one line in ``CASES``.
"""

import json

import numpy as np
import pandas as pd
import pytest

import bayeslab as bl
from bayeslab.cli import main
from bayeslab.core.errors import DataError
from bayeslab.data.sources import open_source


def _frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"arm": np.arange(n) % 2, "y": rng.integers(0, 2, n),
                         "x": rng.integers(1, 5, n)})


def _write_csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _dup_csv(tmp_path):
    return _write_csv(tmp_path, "arm,y,y\n" + "".join(f"{i % 2},{i % 2},0\n" for i in range(20)))


def _late_text_csv(tmp_path, word):
    body = "".join(f"{i % 2},{i % 3 % 2}\n" for i in range(25_000))
    return _write_csv(tmp_path, f"arm,y\n{body}0,{word}\n1,{word}\n")


def _count_fraction(tmp_path):
    return _write_csv(tmp_path, "arm,y\n" + "".join(f"{i % 2},{i % 4}\n" for i in range(20))
                      + "1,2.5\n")


def _ratio_negative(tmp_path):
    return _write_csv(tmp_path, "arm,clicks,views\n"
                      + "".join(f"{i % 2},{i % 3},{i % 5 + 1}\n" for i in range(20))
                      + "0,1,-3\n")


def _empty_dir(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "a.csv").write_text("arm,y\n0,1\n")
    return str(folder)


def _mixed_dir(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    _frame().to_parquet(folder / "a.parquet")
    _frame().rename(columns={"y": "z"}).to_parquet(folder / "b.parquet")
    return str(folder)


def _long_text(tmp_path):
    secret = "root:x:0:0:" + "S" * 500
    return _write_csv(tmp_path, "arm,y\n0,1\n1,0\n0," + secret + "\n")


def _braces(tmp_path):
    df = _frame().rename(columns={"y": "y}", "x": "y{src}"})
    df.loc[3, "y}"] = 5
    path = tmp_path / "b.csv"
    df.to_csv(path, index=False)
    return str(path)


CASES = [  # (make data, extra args, expected message)
    (_dup_csv, ["--metric", "y"], r"column 'y' appears more than once"),
    (lambda p: _late_text_csv(p, "yes"), ["--metric", "y"],
     r"column 'y' of .* holds text that is not a number on line 25,002.*'yes'"),
    (lambda p: _late_text_csv(p, "True"), ["--metric", "y"],
     r"column 'y' of .* holds text that is not a number on line 25,002.*'True'"),
    (_count_fraction, ["--metric", "y", "--kind", "count"],
     r"column 'y' must be a non-negative whole number for a count metric; other values in "
     r"1 row \(row 21,"),
    (_ratio_negative, ["--kind", "ratio", "--numerator", "clicks", "--denominator", "views"],
     r"column 'views' \(the ratio's denominator\) must be non-negative; negative values in "
     r"1 row \(row 21,"),
    (_empty_dir, ["--metric", "y"], r"holds no \.parquet files; it holds \.csv files"),
    (_mixed_dir, ["--metric", "y"], r"Parquet files in .* have different schemas"),
    (_long_text, ["--metric", "y"], r"'root:x:0:0:S+\.\.\. \(511 characters\)"),
    (_braces, ["--metric", "y}"], r"column 'y}' must be 0 or 1.* 1 row \(row 4,"),
]


@pytest.mark.parametrize("make,extra,match", CASES, ids=[
    "duplicate-column", "late-yes", "late-True", "count-fraction", "ratio-negative",
    "dir-without-parquet", "dir-mixed-schemas", "long-value-capped", "braces-in-names"])
def test_bad_data_is_one_line_exit_2(tmp_path, capsys, make, extra, match):
    import re

    data = make(tmp_path)
    code = main(["compare", data, "--arm", "arm", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert re.search(match, err), err
    assert len(err) < 600


@pytest.mark.parametrize("sql,match", [
    ("SELECT * FROM t; COPY (SELECT 1) TO 'f.csv'", "exactly one SELECT statement; got 2"),
    ("COPY (SELECT 1) TO 'f.csv'", "one read-only SELECT; got a COPY statement"),
    ("ATTACH 'x.db'", "got a ATTACH statement"),
])
def test_sql_is_one_readonly_select(tmp_path, monkeypatch, capsys, sql, match):
    monkeypatch.chdir(tmp_path)
    code = main(["compare", "--sql", sql, "--arm", "arm", "--metric", "y"])
    err = capsys.readouterr().err
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "f.csv").exists()


def test_sql_reads_only_the_files_it_names(tmp_path):
    path = tmp_path / "d.parquet"
    _frame().to_parquet(path)
    src = open_source(sql=f"SELECT * FROM '{path}' WHERE x > 1")
    assert src.sql(f"SELECT count(*) FROM {src.relation}")[0][0] > 0
    other = tmp_path / "other.csv"
    other.write_text("a\n1\n")
    with pytest.raises(Exception, match="disabled by configuration"):
        src.con.execute(f"SELECT * FROM read_csv('{other}')")
    with pytest.raises(Exception, match="locked"):
        src.con.execute("SET enable_external_access = true")


def test_file_source_is_locked_to_its_file(tmp_path):
    path = tmp_path / "d.parquet"
    _frame().to_parquet(path)
    src = open_source(path)
    with pytest.raises(Exception, match="disabled by configuration"):
        src.con.execute("COPY (SELECT 1) TO '" + str(tmp_path / "w.csv") + "'")
    assert not (tmp_path / "w.csv").exists()


def test_directory_is_a_parquet_dataset(tmp_path, capsys):
    folder = tmp_path / "ds"
    (folder / "day=1").mkdir(parents=True)
    (folder / "day=2").mkdir(parents=True)
    df = _frame(200)
    df.iloc[:100].to_parquet(folder / "day=1" / "part.parquet")
    df.iloc[100:].to_parquet(folder / "day=2" / "part.parquet")
    assert main(["compare", str(folder), "--arm", "arm", "--metric", "y", "--format",
                 "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"]["read"] == 200


@pytest.mark.parametrize("data,error,match", [
    (pd.DataFrame(), DataError, "DataFrame has no columns"),
    (42, TypeError, "data must be a file path, a pandas DataFrame or a Source, got int"),
    ([1, 2], TypeError, "got list"),
])
def test_compare_rejects_non_tables(data, error, match):
    with pytest.raises(error, match=match):
        bl.compare(data, arm="arm", metric="y")


def test_empty_frame_with_columns_says_no_rows():
    with pytest.raises(DataError, match="has no rows"):
        bl.compare(pd.DataFrame({"arm": [], "y": []}), arm="arm", metric="y")


def test_duplicate_dataframe_columns():
    df = pd.concat([_frame(), _frame()[["y"]]], axis=1)
    with pytest.raises(DataError, match="column 'y' appears more than once in the DataFrame"):
        bl.compare(df, arm="arm", metric="y")


def test_braces_in_column_names_read_correctly():
    df = _frame(400, seed=3)
    ref = bl.compare(df, arm="arm", metric="y").to_dict()
    odd = bl.compare(df.rename(columns={"arm": "a{src}", "y": "y}"}), arm="a{src}",
                     metric="y}").to_dict()
    assert odd["arms"] == ref["arms"] and odd["results"] == ref["results"]


def test_count_metric_fraction_and_aggregated_fraction():
    df = pd.DataFrame({"arm": [0, 1] * 10, "y": [1.0, 2.0] * 9 + [0.5, 1.0]})
    with pytest.raises(DataError, match=r"whole number for a count metric.*row 19,"):
        bl.compare(df, arm="arm", metric="y", kind="count")
    agg = pd.DataFrame({"arm": [0, 1], "y": [10.5, 12.0], "n": [100, 100]})
    with pytest.raises(DataError, match="'y' is not a whole number"):
        bl.compare(agg, arm="arm", metric="y", kind="count", n="n")


def test_ratio_fractional_numerator_is_fine_negative_denominator_is_not():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"arm": np.arange(200) % 2, "rev": rng.gamma(2, 3, 200),
                       "sessions": rng.integers(1, 5, 200)})
    r = bl.compare(df, arm="arm", metric="rev", kind="ratio", numerator="rev",
                   denominator="sessions")
    assert r.fit.rows.used == 200
    df.loc[7, "sessions"] = -1
    with pytest.raises(DataError, match=r"'sessions' \(the ratio's denominator\).*row 8,"):
        bl.compare(df, arm="arm", metric="rev", kind="ratio", numerator="rev",
                   denominator="sessions")


def test_long_values_are_capped_in_messages():
    df = pd.DataFrame({"arm": [0, 1, 0], "y": ["1", "0", "x" * 10_000]})
    with pytest.raises(DataError) as info:
        bl.compare(df, arm="arm", metric="y")
    assert "row 3" in str(info.value) and len(str(info.value)) < 400


def test_plan_sql_runs_one_select_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _frame(200).to_parquet(tmp_path / "d.parquet")
    plan = tmp_path / "p.toml"
    plan.write_text('[data]\nsql = "SELECT * FROM \'d.parquet\'; COPY (SELECT 1) TO \'f.csv\'"\n'
                    '[columns]\narm = "arm"\n[[metrics]]\nname = "y"\nrole = "primary"\n')
    code = main(["run", str(plan), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "exactly one SELECT" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "f.csv").exists()


def test_unit_level_models_refuse_above_their_size_with_advice():
    from bayeslab.data.moments import unit_rows
    from bayeslab.data.units import load_units

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"arm": np.arange(50) % 2, "y": rng.integers(0, 2, 50),
                       "x": rng.normal(size=50), "z": rng.normal(size=50)})
    with pytest.raises(DataError, match=r"a propensity model reads one row per unit.*50 rows is "
                       r"above its limit of 10; read a random sample"):
        load_units(df, arm="arm", metric="y", confounders=["x"], max_rows=10)
    with pytest.raises(DataError, match="USING SAMPLE 10 ROWS"):
        unit_rows(df, arm="arm", metric="x", covariate="z", max_rows=10, what="the model")
    assert load_units(df, arm="arm", metric="y", confounders=["x"]).n == 50


def test_csv_true_false_outcomes_read_as_one_and_zero(tmp_path):
    from bayeslab.data.sources import open_source
    from bayeslab.data.stats import sufficient_stats

    path = tmp_path / "tf.csv"
    path.write_text("arm,y\n0,True\n0,False\n0,False\n1,True\n1,True\n1,False\n")
    st = sufficient_stats(open_source(path), arm="arm", metric="y", kind="binary")
    table = st.arm_table()
    assert table["n"].tolist() == [3, 3]
    assert table["mean"].tolist() == pytest.approx([1 / 3, 2 / 3], rel=1e-12)


def test_a_ragged_csv_names_its_first_bad_line(tmp_path):
    from bayeslab.core.errors import DataError
    from bayeslab.data.sources import open_source

    path = tmp_path / "rag.csv"
    path.write_text("arm,y\n0,1\n0,0,5\n1,1\n")
    with pytest.raises(DataError, match=r"ragged CSV: line 3 has 3 fields where the header "
                                        r"has 2 \(arm, y\)"):
        open_source(path)


def test_a_named_pipe_is_refused_at_once_not_read(tmp_path):
    import os

    from bayeslab.core.errors import DataError
    from bayeslab.data.sources import open_source

    fifo = tmp_path / "stream.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="is not a regular file"):
        open_source(fifo)


@pytest.mark.parametrize("count", [2**53, 2**53 + 1, 2**62])
def test_aggregated_counts_beyond_exact_doubles_are_refused(count):
    import bayeslab as bl
    from bayeslab.core.errors import DataError

    frame = pd.DataFrame({"arm": [0, 1], "n": [10**6, count], "x": [100, 120]})
    with pytest.raises(DataError, match=r"column 'n' is at or above 2\*\*53 .* in 1 row \(row 2"):
        bl.compare(frame, arm="arm", metric="x", n="n")


def test_relabelled_arms_are_noted():
    import warnings

    import bayeslab as bl
    from bayeslab.core.errors import DataWarning

    frame = pd.DataFrame({"arm": np.repeat([0.0, 1.0], 50), "y": np.tile([0, 1], 50)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = bl.compare(frame, arm="arm", metric="y")
    assert any(issubclass(w.category, DataWarning) for w in caught)
    assert "arm column 'arm': read 0.0 as '0', 1.0 as '1'" in r.notes
    padded = pd.DataFrame({"arm": np.repeat([" B", "A"], 50), "y": np.tile([0, 1], 50)})
    r = bl.compare(padded, arm="arm", metric="y", control="A")
    assert list(r.arms["arm"]) == ["A", " B"]
    assert any("' B' (with its spaces) as a label of its own" in n for n in r.notes)
