"""The table record every query runs on, and the identifier and message helpers it needs.

:class:`Source` is what :mod:`bayeslab.data.sources` (DuckDB) and :mod:`bayeslab.data.spark`
(Spark) open; both engines' modules import it from here, below them, so neither imports the
other to build one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bayeslab.core.errors import DataError

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


def check_duplicate_columns(columns, label: str) -> None:
    """Raise :class:`DataError` naming a column that appears more than once in ``label``."""
    seen, dups = set(), []
    for c in columns:
        if c in seen and c not in dups:
            dups.append(c)
        seen.add(c)
    if dups:
        also = f" (also {', '.join(map(repr, dups[1:]))})" if dups[1:] else ""
        raise DataError(f"column {dups[0]!r} appears more than once in {label}{also}; rename "
                        "the duplicates so each column has one name", column=dups[0])


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
