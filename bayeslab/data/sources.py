"""Open experiment data where it lives: CSV, Parquet, a pandas DataFrame, or a DuckDB query.

Nothing is loaded into pandas here. A :class:`Source` is a DuckDB connection plus a ``FROM``-able
SQL expression; the sufficient statistics in :mod:`bayeslab.data.stats` are computed by DuckDB
over it in one scan.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from bayeslab.core.errors import DataError
from bayeslab.data.access import connection as _connection
from bayeslab.data.access import named_paths as _named_paths
from bayeslab.data.access import single_select
from bayeslab.data.table import (  # noqa: F401  (re-exported: the data layer's names)
    ROW_NUMBER,
    SHOWN_CHARS,
    Source,
    check_columns,
    check_duplicate_columns,
    engine_message,
    quote,
    shown,
    translate_error,
)

_view_ids = itertools.count()


def _literal(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


ENGINES = ("duckdb", "spark")


def open_source(data=None, *, sql: str | None = None, con=None, allowed=(),
                engine: str | None = None, base: str | Path | None = None) -> Source:
    """Open a table for scanning.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or Source, optional
        A ``.csv`` / ``.csv.gz`` / ``.tsv`` or ``.parquet`` / ``.pq`` file, a folder of Parquet
        files (a dataset: every ``*.parquet`` below it, one schema), a DataFrame, or an
        already opened :class:`Source` (returned as is).
    sql : str, optional
        Exactly one read-only ``SELECT`` whose result is the experiment table (for example
        ``"SELECT * FROM 'events/*.parquet' WHERE country = 'DE'"``; on Spark, Spark SQL over
        the session's tables). Exactly one of ``data`` and ``sql`` must be given.
    con : duckdb.DuckDBPyConnection, optional
        Connection to use (for tables already registered in it). Without one, each source gets
        its own in-memory database whose file access is limited to the file (or folder, or the
        files an SQL query names) and locked.
    allowed : sequence of str or pathlib.Path
        Extra folders an SQL query may read (a plan's folder), besides the files it names.
    base : str or pathlib.Path, optional
        Folder that relative file names in ``sql`` are resolved against (a plan's folder, as
        its ``data.path`` is), instead of the working folder.
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
        If both or neither of ``data`` and ``sql`` are given, the file does not exist, its
        format is unknown, it has duplicated column names, a
        folder holds no Parquet files or files of different schemas, the query is not one
        ``SELECT`` or fails, or a DataFrame has no columns.
    TypeError
        If ``data`` is none of the above (a number, a list).
    """
    if isinstance(data, Source):
        return data
    if engine not in (None, *ENGINES):
        raise DataError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    from bayeslab.data.spark import is_spark_frame, open_spark, open_spark_sql

    if (data is None) == (sql is None):
        raise DataError("give exactly one of a data table (file or DataFrame) and an SQL query")
    if is_spark_frame(data) or (engine == "spark" and data is not None):
        return open_spark(data)
    if engine == "spark":
        return open_spark_sql(sql)
    if data is not None and not (_is_dataframe(data) or isinstance(data, (str, Path))):
        raise TypeError(f"data must be a file path, a pandas DataFrame or a Source, got "
                        f"{type(data).__name__}")
    import duckdb

    if sql is not None:
        if not isinstance(sql, str):
            raise TypeError(f"sql must be a string, got {type(sql).__name__}")
        if base is not None:
            sql = _resolve_paths(sql, Path(base))
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
    if not (path.is_file() or path.is_dir()):
        raise DataError(f"{path} is not a regular file (a named pipe, socket or device): a file "
                        "is read more than once (its header and types, then the scan), which a "
                        "stream cannot give; save it to a file first")
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
    if target is None and len(source.columns) == 1:
        _check_ragged(path, next(iter(source.columns)))
    if target is not None:
        source = Source(con=con, relation=relation, label=source.label,
                        columns=source.columns, parquet=target)
    return source


def derived_view(source: Source, sql: str, label: str) -> Source:
    """A Source over ``sql``, a query bayeslab built on ``source.relation``, on the same engine.

    For views bayeslab derives from a table (a clipped outcome, the looks of a monitor); the
    SQL is the portable dialect of :mod:`bayeslab.data.scan` (explicit column lists, no
    DuckDB-only ``* REPLACE`` / ``* EXCLUDE``).
    """
    if source.engine == "spark":
        from bayeslab.data.spark import spark_view

        return spark_view(source, sql, label)
    view = open_source(sql=sql, con=source.con)
    return Source(con=view.con, relation=view.relation, label=label, columns=view.columns)


def select_list(source: Source, replace: dict | None = None, exclude=()) -> str:
    """Every column of ``source`` quoted, in order, some replaced by ``{column: SQL}``."""
    replace = replace or {}
    return ", ".join(f"{replace[c]} AS {quote(c)}" if c in replace else quote(c)
                     for c in source.columns if c not in exclude)


def _open_frame(data, con) -> Source:
    columns = [str(c) for c in data.columns]
    if not columns:
        raise DataError("the DataFrame has no columns (an empty table); pass the experiment "
                        "table")
    check_duplicate_columns(columns, "the DataFrame")
    con = con if con is not None else _connection()
    view = f"bayeslab_df_{next(_view_ids)}"
    frame = data.reset_index(drop=True) if not _has_default_index(data) else data
    con.register(view, frame)
    return _describe(con, view, "DataFrame")


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
    check_duplicate_columns([h.strip() for h in header], str(path))


def _resolve_paths(sql: str, base: Path) -> str:
    """``sql`` with each relative file it names made absolute against ``base``.

    ``read_csv('data.csv')`` in a plan reads the plan folder's file, as ``data.path`` does;
    absolute paths and URLs (``s3://``) stay as written.
    """
    for name in dict.fromkeys(_named_paths(sql)):
        if not name or Path(name).is_absolute() or "://" in name:
            continue
        full = (base / name).resolve().as_posix()
        for q in ("'", '"'):
            sql = sql.replace(f"{q}{name}{q}", f"{q}{full}{q}")
    return sql


def _check_ragged(path: Path, only: str) -> None:
    """A CSV read as one column named like ``"arm,y"``: find the row whose field count differs.

    DuckDB's sniffer gives up on the delimiter when rows have different numbers of fields and
    reads each line as one text column; the error then names the first such row.
    """
    import csv
    import gzip

    delim = next((d for d in (",", ";", "\t", "|") if d in only), None)
    if delim is None:
        return
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delim)
        header = next(reader, [])
        for line, row in enumerate(reader, start=2):
            if row and len(row) != len(header):
                raise DataError(f"{path} is a ragged CSV: line {line:,} has {len(row)} fields "
                                f"where the header has {len(header)} ({', '.join(header)}); "
                                "fix that row, or quote a value that holds the delimiter")


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
        check_duplicate_columns([c for c, _ in cols], file)
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
    known = source.cache.setdefault("parquet_stats", {})
    if column not in known:
        known[column] = _read_parquet_column_stats(source, column)
    return known[column]


def _read_parquet_column_stats(source: Source, column: str):
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
