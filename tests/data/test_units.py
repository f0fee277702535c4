"""Unit-row loading for propensity models: validation, encoding, row accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslab.core.errors import DataError
from bayeslab.data.units import load_units


def _frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"t": rng.integers(0, 2, n), "y": rng.integers(0, 2, n),
                         "x": rng.normal(size=n),
                         "dev": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])})


def test_encoding_and_accounting():
    df = _frame()
    u = load_units(df, arm="t", metric="y", confounders=["x", "dev"])
    assert u.names == ("x", "dev[b]", "dev[c]")       # most frequent level 'a' is the reference
    assert u.reference == {"dev": "a"}
    assert u.sources == ("x", "dev", "dev")
    np.testing.assert_array_equal(u.X[:, 1], (df["dev"] == "b").to_numpy(float))
    np.testing.assert_array_equal(u.t, df["t"].to_numpy(float))
    assert (u.rows.read, u.rows.used, u.rows.n_excluded) == (200, 200, 0)
    assert (u.control, u.treatment) == ("0", "1")


def test_missing_values_named_with_rows_or_excluded():
    df = _frame()
    df["x"] = df["x"].astype(float)
    df.loc[[3, 7], "x"] = np.nan
    df.loc[10, "y"] = None
    with pytest.raises(DataError, match=r"'y' is missing or not finite in 1 row \(row 11"):
        load_units(df, arm="t", metric="y", confounders=["x"])
    df.loc[10, "y"] = 1
    with pytest.raises(DataError, match=r"'x' is missing .* 2 rows \(row 4, 8"):
        load_units(df, arm="t", metric="y", confounders=["x"])
    u = load_units(df, arm="t", metric="y", confounders=["x"], missing="exclude")
    assert u.rows.used == 198 and u.rows.excluded == {"x is missing or not finite": 2}


def test_constant_level_in_one_arm_and_bad_arm():
    df = _frame()
    df["k"] = 3.0
    with pytest.raises(DataError, match="confounder 'k' is constant"):
        load_units(df, arm="t", metric="y", confounders=["x", "k"])
    df.loc[df["t"] == 1, "dev"] = df.loc[df["t"] == 1, "dev"].replace("c", "a")
    with pytest.raises(DataError, match="level 'c' of confounder 'dev' appears only in the "
                                        "control arm"):
        load_units(df, arm="t", metric="y", confounders=["dev"])
    df["t3"] = np.arange(len(df)) % 3
    with pytest.raises(DataError, match="exactly two arms"):
        load_units(df, arm="t3", metric="y", confounders=["x"])
    df["y2"] = 2
    with pytest.raises(DataError, match="must be 0 or 1"):
        load_units(df, arm="t", metric="y2", confounders=["x"])
    with pytest.raises(DataError, match="not found"):
        load_units(df, arm="t", metric="y", confounders=["nope"])


def test_date_columns_are_read_as_text_not_refused(tmp_path):
    """A custom model's builder sees every column: a DATE it never uses must not refuse the
    data (it was "not numeric"); dates come as ISO text."""
    from bayeslab.data.model_rows import model_frame
    from bayeslab.data.sources import open_source

    path = tmp_path / "dates.csv"
    path.write_text("arm,rev,day\n0,10,2024-01-01\n1,12,2024-01-02\n0,9,2024-01-03\n"
                    "1,14,2024-01-04\n")
    source = open_source(path)
    assert source.type_of("day").upper() == "DATE"
    mf = model_frame(source, arm="arm", metric="rev", columns=list(source.columns))
    assert list(mf.frame["day"]) == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    assert mf.rows.read == 4 and mf.rows.used == 4
