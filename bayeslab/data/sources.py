"""Open experiment data where it lives: CSV, Parquet, a pandas DataFrame, or a DuckDB query.

Nothing is loaded into pandas here. A :class:`Source` is a DuckDB connection plus a ``FROM``-able
SQL expression; the sufficient statistics in :mod:`bayeslab.data.stats` are computed by DuckDB
over it in one scan.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayeslab.data.access import connection as _connection
from bayeslab.data.access import named_paths as _named_paths
from bayeslab.data.access import single_select
from bayeslab.errors import DataError

_view_ids = itertools.count()
#: column of a scan's row number (1-based, scan order), for keys of looks at row counts
ROW_NUMBER = '"__bayeslab_rn"'


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
    cache : dict
        Results kept for this table: the prefetched scan of :mod:`bayeslab.data.scan` and
        counts of the grouped scans run (``"scans"``), requests answered from the prefetched
        scan (``"answered"``) and queries of any kind (``"queries"``).
    engine : {"duckdb", "spark"}
        The engine that runs the queries (:mod:`bayeslab.data.spark` for Spark).
    """

    con: Any = field(repr=False)
    relation: str
    label: str
    columns: dict[str, str]
    parquet: str | None = None
    cache: dict = field(default_factory=dict, repr=False, compare=False)
    engine: str = "duckdb"

    @property
    def row_number_sql(self) -> str:
        """SQL numbering rows 1, 2, ... in file order (Spark: by its row ids, local files)."""
        if self.engine == "spark":
            return "row_number() OVER (ORDER BY monotonically_increasing_id())"
        return "row_number() OVER ()"

    @property
    def row_number(self) -> bool:
        """Whether rows have an order (DuckDB's scan order) that :data:`ROW_NUMBER` numbers."""
        return self.engine == "duckdb"

    def sql(self, query: str, params: list | None = None):
        """Run ``query`` and return all rows as tuples.

        The query names the table by :attr:`relation`, spliced in by the caller; user text
        (column names) enters only through :func:`quote`, never through ``str.format``.
        """
        return self.execute(query, params).fetchall()

    def execute(self, query: str, params: list | None = None):
        """Run ``query`` and return the cursor; engine errors become :class:`DataError`."""
        import duckdb

        self.cache["queries"] = self.cache.get("queries", 0) + 1
        try:
            return self.con.execute(query, params or [])
        except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.IOException,
                duckdb.PermissionException) as exc:
            raise translate_error(self, exc) from None

    def type_of(self, column: str) -> str:
        """DuckDB type name of ``column``; raises :class:`DataError` if it does not exist."""
        check_columns(self, [column])
        return self.columns[column]


def quote(name: str) -> str:
    """Quote an identifier for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def _literal(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


#: longest data value an error message echoes (longer ones are cut, with their length)
SHOWN_CHARS = 40


def shown(value, limit: int = SHOWN_CHARS) -> str:
    """``repr`` of a data value for an error message, cut to ``limit`` characters.

    Messages keep row numbers but never echo more than a short prefix of a value, so an error
    cannot print a file's contents.
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(str(value)):,} characters)"


def engine_message(exc: BaseException, limit: int = 160) -> str:
    """First line of an engine's error message, cut to ``limit`` characters."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line if len(line) <= limit else line[:limit] + "..."


_CONVERT = re.compile(r'converting column "(?P<col>[^"]*)"\. Could not convert string '
                      r'"(?P<val>.*?)" to')
_LINE = re.compile(r"CSV Error on Line: (?P<line>\d+)")


def translate_error(source: Source, exc: BaseException) -> DataError:
    """A DataError for an engine error raised while scanning ``source``.

    A CSV column whose type was guessed from its first rows (numbers) and that holds text
    further down (``yes``, ``True``) names the column, the line and a short prefix of the value.
    """
    text = str(exc)
    m, line = _CONVERT.search(text), _LINE.search(text)
    if m:
        where = f" on line {int(line['line']):,} (counting the header as line 1)" if line else ""
        return DataError(
            f"column {m['col']!r} of {source.label} holds text that is not a number"
            f"{where}: {shown(m['val'])}; the first rows of the file read as numbers; fix or "
            "remove those rows (write 0/1 for a yes/no metric)", column=m["col"])
    return DataError(f"cannot read {source.label}: {engine_message(exc)}")


ENGINES = ("duckdb", "spark")


def open_source(data=None, *, sql: str | None = None, con=None, allowed=(),
                engine: str | None = None) -> Source:
    """Open a table for scanning.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or Source, optional
        A ``.csv`` / ``.csv.gz`` / ``.tsv`` or ``.parquet`` / ``.pq`` file, a folder of Parquet
        files (a dataset: every ``*.parquet`` below it, one schema), a DataFrame, or an
        already opened :class:`Source` (returned as is).
    sql : str, optional
        Exactly one read-only ``SELECT`` whose result is the experiment table (for example
        ``"SELECT * FROM 'events/*.parquet' WHERE country = 'DE'"``). Exactly one of ``data`` and
        ``sql`` must be given.
    con : duckdb.DuckDBPyConnection, optional
        Connection to use (for tables already registered in it). Without one, each source gets
        its own in-memory database whose file access is limited to the file (or folder, or the
        files an SQL query names) and locked.
    allowed : sequence of str or pathlib.Path
        Extra folders an SQL query may read (a plan's folder), besides the files it names.
    engine : {"duckdb", "spark"}, optional
        Where the queries run. DuckDB by default; ``"spark"`` reads ``data`` as a Parquet path
        or a Spark table name through PySpark (:mod:`bayeslab.data.spark`). A Spark DataFrame
        always runs on Spark.

    Returns
    -------
    Source

    Raises
    ------
    DataError
        If the file does not exist, its format is unknown, it has duplicated column names, a
        folder holds no Parquet files or files of different schemas, the query is not one
        ``SELECT`` or fails, or a DataFrame has no columns.
    TypeError
        If ``data`` is none of the above (a number, a list).
    """
    if isinstance(data, Source):
        return data
    if engine not in (None, *ENGINES):
        raise DataError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    from bayeslab.data.spark import is_spark_frame, open_spark

    if is_spark_frame(data) or (engine == "spark" and data is not None and sql is None):
        return open_spark(data)
    if engine == "spark":
        raise DataError("the Spark engine reads a Parquet path, a Spark table or a Spark "
                        "DataFrame; run SQL in Spark and pass the DataFrame")
    if (data is None) == (sql is None):
        raise DataError("give exactly one of a data table (file or DataFrame) and an SQL query")
    if data is not None and not (_is_dataframe(data) or isinstance(data, (str, Path))):
        raise TypeError(f"data must be a file path, a pandas DataFrame or a Source, got "
                        f"{type(data).__name__}")
    import duckdb

    if sql is not None:
        if not isinstance(sql, str):
            raise TypeError(f"sql must be a string, got {type(sql).__name__}")
        if con is None:
            con = _connection(read=_named_paths(sql), folders=allowed)
        query = single_select(con, sql)
        view = f"bayeslab_src_{next(_view_ids)}"
        try:
            con.execute(f"CREATE TEMP VIEW {view} AS {query}")
            return _describe(con, view, "SQL query")
        except duckdb.Error as exc:
            raise DataError(f"SQL query failed: {engine_message(exc)}") from None
    if _is_dataframe(data):
        return _open_frame(data, con)
    path = Path(data)
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    name = path.name.lower()
    target = None
    if path.is_dir():
        target = _dataset_glob(path)
        relation = f"read_parquet({_literal(target)})"
    elif name.endswith((".parquet", ".pq")):
        target = str(path)
        relation = f"read_parquet({_literal(target)})"
    elif name.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        relation = f"read_csv({_literal(str(path))}, header = true)"
    else:
        raise DataError(f"unknown data format for {path}: use .csv, .tsv, .parquet, a folder "
                        "of Parquet files or a DataFrame")
    if con is None:
        con = _connection(read=[str(path)], folders=[str(path)] if path.is_dir() else ())
    try:
        if target is not None:
            _check_parquet_schema(con, path, target)
        else:
            _check_csv_header(con, path)
        source = _describe(con, relation, str(path))
    except duckdb.Error as exc:
        raise DataError(f"cannot read {path}: {engine_message(exc)}") from None
    if target is not None:
        source = Source(con=con, relation=relation, label=source.label,
                        columns=source.columns, parquet=target)
    return source


def _open_frame(data, con) -> Source:
    columns = [str(c) for c in data.columns]
    if not columns:
        raise DataError("the DataFrame has no columns (an empty table); pass the experiment "
                        "table")
    _check_duplicates(columns, "the DataFrame")
    con = con if con is not None else _connection()
    view = f"bayeslab_df_{next(_view_ids)}"
    frame = data.reset_index(drop=True) if not _has_default_index(data) else data
    con.register(view, frame)
    return _describe(con, view, "DataFrame")


def _check_duplicates(columns, label: str) -> None:
    seen, dups = set(), []
    for c in columns:
        if c in seen and c not in dups:
            dups.append(c)
        seen.add(c)
    if dups:
        also = f" (also {', '.join(map(repr, dups[1:]))})" if dups[1:] else ""
        raise DataError(f"column {dups[0]!r} appears more than once in {label}{also}; rename "
                        "the duplicates so each column has one name", column=dups[0])


def _check_csv_header(con, path: Path) -> None:
    """Duplicated names in a CSV header (DuckDB would rename the second ``y`` to ``y_1``)."""
    import csv
    import gzip

    delim = con.execute("SELECT Delimiter FROM sniff_csv(?)", [str(path)]).fetchone()[0]
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as fh:
            header = next(csv.reader(fh, delimiter=delim or ","), [])
    except (OSError, csv.Error):
        return
    _check_duplicates([h.strip() for h in header], str(path))


def _dataset_glob(path: Path) -> str:
    """The glob of a folder read as a Parquet dataset; a folder without Parquet files fails."""
    files = [p for p in path.rglob("*") if p.is_file()]
    parquet = [p for p in files if p.name.lower().endswith(".parquet")]
    if not parquet:
        kinds = sorted({p.suffix or p.name for p in files})[:5]
        found = f"; it holds {', '.join(kinds)} files" if kinds else " (it is empty)"
        raise DataError(f"folder {path} holds no .parquet files{found}: a folder is read as a "
                        "Parquet dataset; give a file or a folder of Parquet files")
    return str(path / "**" / "*.parquet")


def _check_parquet_schema(con, path: Path, target: str) -> None:
    """Duplicated column names, and files of one dataset with different columns or types."""
    rows = con.execute("SELECT file_name, name, type, num_children FROM parquet_schema(?)",
                       [target]).fetchall()
    schemas: dict[str, list] = {}
    for i, (file, name, typ, children) in enumerate(rows):
        cols = schemas.setdefault(file, [])
        if i and rows[i - 1][0] == file and not children:  # first entry is the schema root
            cols.append((name, typ))
    for file, cols in schemas.items():
        _check_duplicates([c for c, _ in cols], file)
    if len({tuple(sorted(c)) for c in schemas.values()}) > 1:
        files = sorted(schemas)
        first = set(schemas[files[0]])
        other = next(f for f in files if set(schemas[f]) != first)
        diff = sorted({c for c, _ in first ^ set(schemas[other])})
        raise DataError(
            f"the Parquet files in {path} have different schemas: {Path(other).name} and "
            f"{Path(files[0]).name} differ in column {', '.join(map(repr, diff[:5]))}; "
            "give one file, or a folder whose files share one schema", column=diff[0])


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
        names = ", ".join(repr(c) for c in missing)
        have = ", ".join(source.columns)
        what = f" ({role})" if role else ""
        raise DataError(
            f"column {names}{what} not found in {source.label}; columns are: {have}",
            column=missing[0],
        )
