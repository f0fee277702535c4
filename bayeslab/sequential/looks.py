"""The looks of a monitored experiment: parsing the schedule, grouping rows by look, accumulating.

A look schedule is ``"daily"`` (one look per distinct day of the timestamp, or per look value),
a list of dates (a look at the end of each), a list of cumulative row counts, or a number of
equal looks. The rows are grouped by look in one scan (a group key on the table itself when the
schedule allows, so the plan's shared scan serves it; otherwise a filtered view), and the
per-look sufficient statistics are accumulated over looks by :func:`cumulative`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from bayeslab.core.errors import DataError
from bayeslab.data.columns import rows_text
from bayeslab.data.sources import ROW_NUMBER, derived_view, quote, select_list, shown

_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT")
LOOK = "__bayeslab_look"


def look_expression(source, timestamp: str) -> str:
    """SQL giving the look (a date or a look number) of each row from column ``timestamp``."""
    col = quote(timestamp)
    typ = source.type_of(timestamp).upper()
    if typ == "DATE" or typ in _INTEGER:
        return col
    if typ.startswith("TIMESTAMP"):
        return f"CAST({col} AS DATE)"
    if typ == "VARCHAR":
        expr = f"TRY_CAST(TRY_CAST({col} AS TIMESTAMP) AS DATE)"
        cond = f"{col} IS NOT NULL AND {expr} IS NULL"
        bad = source.sql(f"SELECT count(*) FROM {source.relation} WHERE {cond}")[0][0]
        if bad:
            sample = source.sql(f"SELECT {col} FROM {source.relation} WHERE {cond} LIMIT 1")[0][0]
            raise DataError(f"column {timestamp!r} is not a date or time: "
                            f"{rows_text(source, cond, bad)} hold text such as {shown(sample)}",
                            column=timestamp, rows=bad)
        return expr
    raise DataError(f"column {timestamp!r} has type {typ}: the look column must hold dates, "
                    "times or look numbers", column=timestamp)


def as_date(value, name="looks"):
    """``value`` as a :class:`datetime.date`; a ``DataError`` naming ``name`` if it is none."""
    try:
        return pd.Timestamp(value).date()
    except (TypeError, ValueError, OverflowError, NotImplementedError):
        # pandas reads "-3" as the year -3, which has no datetime.date
        raise DataError(f"{name}: {value!r} is not a date", column=name) from None


def parse_looks(looks):
    """``("daily", None)``, ``("dates", [date, ...])`` or ``("sizes", [int, ...])``."""
    if looks is None or (isinstance(looks, str) and looks == "daily"):
        return "daily", None
    if isinstance(looks, (int, np.integer)) and not isinstance(looks, bool):
        if looks < 1:
            raise DataError(f"looks must be a positive number of looks, got {looks!r}",
                            column="looks")
        return "equal", int(looks)
    if isinstance(looks, str):
        raise DataError(f"looks must be 'daily', dates or cumulative sample sizes, got {looks!r}",
                        column="looks")
    values = list(looks)
    if not values:
        raise DataError("looks is empty", column="looks")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        arr = np.asarray(values, dtype=np.int64)
        if arr[0] < 4 or np.any(np.diff(arr) <= 0):
            raise DataError(f"cumulative sample sizes must start at 4 or more and increase, got "
                            f"{values}", column="looks")
        return "sizes", arr.tolist()
    dates = [as_date(v) for v in values]
    if any(b <= a for a, b in zip(dates, dates[1:], strict=False)):
        raise DataError("look dates must increase", column="looks")
    return "dates", dates


def equal_cuts(total: int, k: int) -> list[int]:
    """Cumulative row counts of ``k`` looks at equal numbers of ``total`` rows."""
    cuts = [int(round(total * (i + 1) / k)) for i in range(k)]
    if cuts[0] < 4 or len(set(cuts)) < k:
        raise DataError(f"{total:,} rows cannot make {k} looks", column="looks")
    return cuts


def check_total(total: int, cuts) -> None:
    """Refuse a schedule whose last look needs more rows than ``total``."""
    if total < cuts[-1]:
        raise DataError(f"the last look needs {cuts[-1]:,} rows but the data have "
                        f"{total:,}", column="looks")


def look_keys(source, timestamp, mode, cuts, n):
    """``(key, {key: SQL})``: the look of each row as a group key of the table itself.

    Daily looks group by the day of the timestamp; looks at cumulative row counts in row order
    group by the row number (DuckDB's scan order; an engine without one returns ``None``), the
    rows after the last look falling in an extra group. ``None`` for the other schedules, which
    read a filtered view instead.
    """
    if mode == "daily" and timestamp is not None:
        return timestamp, {timestamp: look_expression(source, timestamp)}
    if mode == "sizes" and timestamp is None and n is None and source.row_number:
        cases = " ".join(f"WHEN {ROW_NUMBER} <= {c} THEN {i}" for i, c in enumerate(cuts))
        return LOOK, {LOOK: f"CASE {cases} ELSE {len(cuts)} END"}
    return None


def look_view(source, timestamp, mode, cuts, n):
    """A view with the look key column and the rows after the last look filtered out.

    Portable SQL (explicit column lists, no ``* REPLACE`` / ``* EXCLUDE``): the same view runs
    on DuckDB and on Spark.
    """
    rel = source.relation
    if mode == "sizes":
        if n is not None:
            raise DataError("looks as cumulative sample sizes need unit rows; with aggregated "
                            "rows (n) give look dates", column="looks")
        # row order: the timestamp, else the scan's (DuckDB) or Spark's row ids (file order)
        order = (f"ORDER BY {quote(timestamp)}" if timestamp else
                 "ORDER BY monotonically_increasing_id()" if source.engine == "spark" else "")
        cases = " ".join(f"WHEN __rn <= {c} THEN {i}" for i, c in enumerate(cuts))
        sql = (f"SELECT {select_list(source)}, CASE {cases} END AS {LOOK} FROM (SELECT *, "
               f"row_number() OVER ({order}) AS __rn FROM {rel}) AS t "
               f"WHERE __rn <= {cuts[-1]}")
        total = source.sql(f"SELECT count(*) FROM {rel}")[0][0]
        check_total(total, cuts)
        return derived_view(source, sql, source.label), LOOK, total - cuts[-1], cuts
    if timestamp is None:
        raise DataError("daily or dated looks need the timestamp column (timestamp=... or "
                        "--timestamp)", column="timestamp")
    expr = look_expression(source, timestamp)
    where, after = "", 0
    if mode == "dates":
        last = cuts[-1].isoformat()
        cond = f"{expr} > DATE '{last}'"
        after = source.sql(f"SELECT count(*) FROM {source.relation} WHERE {cond}")[0][0]
        where = f" WHERE NOT coalesce({cond}, FALSE)"
    sql = f"SELECT {select_list(source, {timestamp: expr})} FROM {rel}{where}"
    return derived_view(source, sql, source.label), timestamp, after, cuts


def cumulative(stats, key, mode, cuts):
    """``(labels, control, treatment)``: per-look statistics of each arm, summed over looks.

    ``control`` and ``treatment`` are arrays of shape (looks, 3): cumulative n, sum, sum_sq.
    """
    table = stats.table
    keys = sorted(table[key].unique().tolist())
    if mode == "dates":
        idx = np.searchsorted(np.array(cuts, dtype="datetime64[D]"),
                              np.array(keys, dtype="datetime64[D]"), side="left")
        index_of = dict(zip(keys, idx.tolist(), strict=True))
        labels = [c.isoformat() for c in cuts]
    else:
        index_of = {k: i for i, k in enumerate(keys)}
        labels = ([f"{c:,} rows" for c in cuts] if mode == "sizes"
                  else [k.isoformat() if isinstance(k, dt.date) else str(k) for k in keys])
    t = table.assign(_look=table[key].map(index_of))
    k = len(labels)
    out = {}
    for j, a in enumerate(stats.arms):
        sub = t[t["arm"] == a].groupby("_look")[["n", "sum", "sum_sq"]].sum()
        sub = sub.reindex(range(k), fill_value=0.0).cumsum()
        out[j] = sub.to_numpy(dtype=float)
    return labels, out[0], out[1]
