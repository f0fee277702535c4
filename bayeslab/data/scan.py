r"""One scan per readout or plan: grouped aggregates, answered from one prefetched query.

Every sufficient statistic bayeslab reads is a *grouped aggregate*: a ``SELECT`` of group keys
(the arm, segment columns, a look key) and decomposable aggregates (``count``, ``sum``, ``min``,
``max``, each possibly ``FILTER``-ed) ``GROUP BY`` the keys. :func:`grouped` runs one such
request. :func:`prefetch` takes the requests of every metric, guardrail, segment split and look
of a readout or plan, and runs them as **one** query grouped by the union of their keys; later
:func:`grouped` calls whose keys and aggregates the prefetched result holds are answered from it
by rolling up (summing counts and sums, taking the minimum of minima) over the keys they do not
use, without touching the data again.

For a cell :math:`c` of the fine grouping and a coarse cell :math:`C \supseteq c`,
:math:`\sum_{i \in C} f(y_i) = \sum_{c \subseteq C} \sum_{i \in c} f(y_i)` and
:math:`\min_{i \in C} y_i = \min_c \min_{i \in c} y_i`, so counts and integer sums are exact and
float sums agree up to the order of addition (the last digit).

The SQL is one portable dialect: DuckDB, and Spark SQL with ANSI double-quoted identifiers
(:mod:`bayeslab.data.spark`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bayeslab.core.errors import DataError
from bayeslab.data.cells import Cells
from bayeslab.data.sources import ROW_NUMBER, Source, quote

#: requests are lists of (alias, SQL expression) for keys and for aggregates
Request = tuple[list[tuple[str, str]], list[tuple[str, str]]]


@dataclass(frozen=True)
class Batch:
    """The result of a prefetched scan: one row per cell of the union of the keys.

    Attributes
    ----------
    frame : Cells
        Key columns ``k0, k1, ...`` and aggregate columns ``a0, a1, ...``.
    keys, aggs : dict of str to str
        SQL expression to column name.
    """

    frame: object
    keys: dict
    aggs: dict

    def covers(self, request: Request) -> bool:
        """Whether every key and aggregate of ``request`` is in the batch."""
        keys, aggs = request
        return all(e in self.keys for _, e in keys) and all(e in self.aggs for _, e in aggs)


def select_sql(source: Source, keys, aggs) -> str:
    """``SELECT keys, aggs FROM source GROUP BY ALL``, every alias quoted."""
    items = ", ".join(f"{e} AS {quote(a)}" for a, e in [*keys, *aggs])
    group = " GROUP BY ALL" if keys else ""
    relation = source.relation
    if any(ROW_NUMBER in e for _, e in keys):
        relation = f"(SELECT *, row_number() OVER () AS {ROW_NUMBER} FROM {relation}) AS t"
    return f"SELECT {items} FROM {relation}{group}"


def fetch_frame(source: Source, query: str, n_keys: int = 0) -> Cells:
    """Run ``query`` (built on ``source.relation``) into :class:`Cells`; no rows is a DataError.

    The first ``n_keys`` columns are group keys (kept as Python values); rows come sorted by
    them, so that float sums over cells are identical on every run.
    """
    cur = source.execute(query)
    names = [d[0] for d in cur.description]
    frame = Cells.from_rows(cur.fetchall(), names, n_keys)
    if frame.empty:
        raise DataError(f"{source.label} has no rows")
    # the engine's row order changes from run to run; roll-ups and totals sum in this one
    return frame.sorted_by(names[:n_keys])


def grouped(source: Source, keys, aggs):
    """The grouped aggregates of one request, from the prefetched batch when it holds them.

    Parameters
    ----------
    source : Source
    keys, aggs : list of (str, str)
        ``(alias, SQL expression)`` of each group key and each aggregate. Aggregates must be
        decomposable: ``count``/``sum`` (optionally under ``coalesce``) or ``min``/``max``.

    Returns
    -------
    Cells
        One row per group, columns named by the aliases (``.to_pandas()`` for a DataFrame).

    Raises
    ------
    DataError
        If the table has no rows.
    """
    batch = source.cache.get("batch")
    if batch is not None and batch.covers((keys, aggs)):
        source.cache["answered"] = source.cache.get("answered", 0) + 1
        return _roll_up(batch, keys, aggs)
    source.cache["scans"] = source.cache.get("scans", 0) + 1
    return fetch_frame(source, select_sql(source, keys, aggs), len(keys))


def prefetch(source: Source, requests) -> Batch | None:
    """Run the union of ``requests`` as one grouped scan and keep it on ``source``.

    Parameters
    ----------
    source : Source
    requests : iterable of (keys, aggs)
        As :func:`grouped` takes them.

    Returns
    -------
    Batch or None
        ``None`` when there was nothing to fetch or the batch already covers every request.
    """
    requests = [r for r in requests if r is not None]
    old = source.cache.get("batch")
    if not requests or (old is not None and all(old.covers(r) for r in requests)):
        return None
    keys: dict[str, str] = {}
    aggs: dict[str, str] = {}
    for ks, ags in requests:
        for _, e in ks:
            keys.setdefault(e, f"k{len(keys)}")
        for _, e in ags:
            aggs.setdefault(e, f"a{len(aggs)}")
    frame = grouped(source, [(c, e) for e, c in keys.items()],
                    [(c, e) for e, c in aggs.items()])
    batch = Batch(frame=frame, keys=keys, aggs=aggs)
    source.cache["batch"] = batch
    return batch


def _rollup_function(expr: str) -> str:
    head = expr.lstrip("(").lower()
    if head.startswith("min("):
        return "min"
    if head.startswith("max("):
        return "max"
    if head.startswith(("count(", "sum(", "coalesce(sum(")):
        return "sum"
    raise ValueError(f"aggregate {expr!r} cannot be rolled up")  # internal: requests are ours


def _roll_up(batch: Batch, keys, aggs) -> Cells:
    frame = batch.frame
    out = Cells({**{a: frame[batch.keys[e]] for a, e in keys},
                 **{a: frame[batch.aggs[e]] for a, e in aggs}})
    if len({e for _, e in keys}) == len(batch.keys):
        return out
    return out.group([a for a, _ in keys], {a: _rollup_function(e) for a, e in aggs})
