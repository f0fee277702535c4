"""SQL over one column: numeric casts, validity conditions, the offending rows to name.

Shared by the unit-row statistics (:mod:`.stats`), pre-aggregated rows (:mod:`.aggregated`),
moments and unit rows; it imports only the table record, so none of them imports another for it.
"""

from __future__ import annotations

from bayeslab.core.errors import DataError
from bayeslab.data.table import Source, quote, shown

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "BOOLEAN", "REAL")


def example_rows(source: Source, condition: str, limit: int = 5) -> list[int]:
    """1-based numbers of the first rows of ``source`` where the SQL ``condition`` holds."""
    rows = source.sql(
        "SELECT rn FROM (SELECT " + source.row_number_sql + " AS rn, (" + condition + ") AS bad "
        "FROM " + source.relation + ") WHERE bad ORDER BY rn LIMIT " + str(int(limit))
    )
    return [int(r[0]) for r in rows]


def rows_text(source: Source, condition: str, count: int) -> str:
    """``"3 rows (row 4, 9, 11, counting from 1)"``: a count with the first offending rows."""
    first = example_rows(source, condition)
    more = ", ..." if count > len(first) else ""
    word = "row" if count == 1 else "rows"
    return f"{count:,} {word} (row {', '.join(map(str, first))}{more}, counting from 1)"


def numeric_expression(source: Source, column: str) -> str:
    """``column`` as DOUBLE; raises DataError naming rows where it is text that is not a number."""
    col = quote(column)
    typ = source.type_of(column).upper()
    if typ == "BOOLEAN":
        # not CAST: DuckDB pushes a cast of a CSV column into the reader, which then parses
        # "True" as a number and fails; CASE keeps the reader's own boolean parsing
        return f"(CASE WHEN {col} THEN 1.0 WHEN NOT {col} THEN 0.0 END)"
    if typ in _NUMERIC or typ.startswith("DECIMAL"):
        return f"CAST({col} AS DOUBLE)"
    if typ == "VARCHAR":
        cond = f"{col} IS NOT NULL AND TRY_CAST({col} AS DOUBLE) IS NULL"
        bad = source.sql(f"SELECT count(*) FROM {source.relation} WHERE {cond}")[0][0]
        if bad:
            sample = source.sql(f"SELECT {col} FROM {source.relation} WHERE {cond} LIMIT 1")[0][0]
            raise DataError(
                f"column {column!r} is not numeric: {rows_text(source, cond, bad)} hold text "
                f"such as {shown(sample)}; fix or remove them",
                column=column, rows=bad,
            )
        return f"TRY_CAST({col} AS DOUBLE)"
    raise DataError(f"column {column!r} has type {typ}, which is not numeric", column=column)


def check_unique(source: Source, column: str) -> None:
    """Raise :class:`DataError` if any value of ``column`` appears on more than one row."""
    col = quote(column)
    dup_rows, dup_ids = source.sql(
        f"SELECT coalesce(sum(c), 0), count(*) FROM (SELECT count(*) AS c FROM {source.relation} "
        f"GROUP BY {col} HAVING count(*) > 1)")[0]
    if dup_ids:
        sample = source.sql(f"SELECT {col}, count(*) FROM {source.relation} GROUP BY {col} "
                            f"HAVING count(*) > 1 ORDER BY count(*) DESC, {col} LIMIT 3")
        examples = ", ".join(f"{shown(v)} x{c}" for v, c in sample)
        raise DataError(f"column {column!r} has {dup_ids:,} duplicated unit ids over "
                        f"{int(dup_rows):,} rows (e.g. {examples}); each unit must appear once",
                        column=column, rows=int(dup_rows))


def not_finite_sql(expr: str) -> str:
    """SQL condition: ``expr`` is NULL, NaN or infinite."""
    return f"({expr} IS NULL OR isnan({expr}) OR abs({expr}) = CAST('Infinity' AS DOUBLE))"


def is_integer_type(source: Source, column: str) -> bool:
    """Whether ``column`` holds whole numbers by type (integers and booleans)."""
    typ = source.type_of(column).upper()
    return typ in _NUMERIC and typ not in ("FLOAT", "DOUBLE", "REAL")
