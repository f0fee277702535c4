"""Open experiment data where it lives: CSV, Parquet, a pandas DataFrame, or a DuckDB query.

Nothing is loaded into pandas here. A :class:`Source` is a DuckDB connection plus a ``FROM``-able
SQL expression; the sufficient statistics in :mod:`bayeslab.data.stats` are computed by DuckDB
over it in one scan.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayeslab.errors import DataError

_view_ids = itertools.count()


@dataclass(frozen=True)
class Source:
    """A table DuckDB can scan.

    Attributes
    ----------
    con : duckdb.DuckDBPyConnection
        Connection that owns the table or view.
    relation : str
        SQL expression usable after ``FROM`` (a view name or a table function call).
    label : str
        Human-readable origin, used in error messages (a path, ``"DataFrame"``, ``"SQL query"``).
    columns : dict of str to str
        Column name to DuckDB type name, in table order.
    parquet : str, optional
        Path or glob of the Parquet file(s) behind the table, whose footer statistics can
        answer some validation questions without a scan.
    """

    con: Any = field(repr=False)
    relation: str
    label: str
    columns: dict[str, str]
    parquet: str | None = None

    def sql(self, query: str, params: list | None = None):
        """Run ``query`` (which refers to the table as ``{src}``) and return all rows as tuples."""
        return self.con.execute(query.format(src=self.relation), params or []).fetchall()

    def type_of(self, column: str) -> str:
        """DuckDB type name of ``column``; raises :class:`DataError` if it does not exist."""
        check_columns(self, [column])
        return self.columns[column]


def quote(name: str) -> str:
    """Quote an identifier for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def _literal(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def open_source(data=None, *, sql: str | None = None, con=None) -> Source:
    """Open a table for scanning.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or Source, optional
        A ``.csv`` / ``.csv.gz`` / ``.tsv`` or ``.parquet`` / ``.pq`` file, a DataFrame, or an
        already opened :class:`Source` (returned as is).
    sql : str, optional
        A DuckDB query whose result is the experiment table (for example
        ``"SELECT * FROM 'events/*.parquet' WHERE country = 'DE'"``). Exactly one of ``data`` and
        ``sql`` must be given.
    con : duckdb.DuckDBPyConnection, optional
        Connection to use (for tables already registered in it); a new in-memory one otherwise.

    Returns
    -------
    Source

    Raises
    ------
    DataError
        If the file does not exist, its format is unknown, or the query fails.
    """
    if isinstance(data, Source):
        return data
    if (data is None) == (sql is None):
        raise DataError("give exactly one of a data table (file or DataFrame) and an SQL query")
    import duckdb

    con = con if con is not None else _database().cursor()
    if sql is not None:
        view = f"bayeslab_src_{next(_view_ids)}"
        try:
            con.execute(f"CREATE TEMP VIEW {view} AS {sql}")
        except duckdb.Error as exc:
            raise DataError(f"SQL query failed: {str(exc).splitlines()[0]}") from None
        return _describe(con, view, "SQL query")
    target = None
    if _is_dataframe(data):
        view = f"bayeslab_df_{next(_view_ids)}"
        frame = data.reset_index(drop=True) if not _has_default_index(data) else data
        con.register(view, frame)
        return _describe(con, view, "DataFrame")
    path = Path(data)
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")) or path.is_dir():
        target = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
        relation = f"read_parquet({_literal(target)})"
    elif name.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        relation = f"read_csv({_literal(str(path))}, header = true)"
    else:
        raise DataError(f"unknown data format for {path}: use .csv, .tsv, .parquet or a DataFrame")
    try:
        source = _describe(con, relation, str(path))
        if relation.startswith("read_parquet("):
            source = Source(con=con, relation=relation, label=source.label,
                            columns=source.columns, parquet=target)
        return source
    except duckdb.Error as exc:
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None


@functools.cache
def _database():
    """One in-memory DuckDB database per process.

    Each source gets its own cursor (connection), so views and registered DataFrames stay
    private to it and go when it is collected.
    """
    import duckdb

    return duckdb.connect()


def parquet_column_stats(source: Source, column: str):
    """``(min, max, nulls)`` of a numeric column from the Parquet footers, or ``None``.

    ``None`` when the source is not Parquet or any row group lacks statistics; reading footers
    costs about a millisecond, against a scan of the column.
    """
    if source.parquet is None:
        return None
    import duckdb

    try:
        row = source.con.execute(
            "SELECT min(TRY_CAST(stats_min_value AS DOUBLE)), "
            "max(TRY_CAST(stats_max_value AS DOUBLE)), sum(stats_null_count), "
            "count(*) FILTER (WHERE stats_min_value IS NULL OR stats_max_value IS NULL "
            "OR stats_null_count IS NULL), count(*) "
            "FROM parquet_metadata(?) WHERE path_in_schema = ?",
            [source.parquet, column]).fetchone()
    except duckdb.Error:  # footers are only an optimisation: the scan decides
        return None
    if row is None or row[4] == 0 or row[3] or row[0] is None:
        return None
    return float(row[0]), float(row[1]), int(row[2])


def _is_dataframe(data) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns")


def _has_default_index(frame) -> bool:
    import pandas as pd

    return isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0


def _describe(con, relation: str, label: str) -> Source:
    rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return Source(con=con, relation=relation, label=label, columns={r[0]: r[1] for r in rows})


def check_columns(source: Source, columns, *, role: str | None = None) -> None:
    """Raise :class:`DataError` naming every column of ``columns`` missing from ``source``."""
    missing = [c for c in columns if c not in source.columns]
    if missing:
        shown = ", ".join(repr(c) for c in missing)
        have = ", ".join(source.columns)
        what = f" ({role})" if role else ""
        raise DataError(
            f"column {shown}{what} not found in {source.label}; columns are: {have}",
            column=missing[0],
        )
