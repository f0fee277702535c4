"""Pre-aggregated input: rows that each stand for ``n`` units (per arm, segment or day).

The outcome column holds the sum over the row's units (conversions for a binary metric) and,
for a continuous metric, ``sum_sq`` the sum of squares. The rows are validated (whole,
non-negative counts; conversions between 0 and ``n``) and summed to the same per-cell table as
unit rows, so the readout from aggregates equals the readout from the unit rows.
"""

from __future__ import annotations

import numpy as np

from bayeslab.data.scan import grouped
from bayeslab.data.stats import finish_stats, not_finite_sql, numeric_expression, rows_text
from bayeslab.errors import DataError


def aggregated_aggs(source, metric, kind, n, sum_sq):
    """Aggregates of pre-aggregated rows, the invalid-value checks, and the unusable-row test."""
    nn = numeric_expression(source, n)
    y = numeric_expression(source, metric)
    q = numeric_expression(source, sum_sq) if sum_sq else None
    bad = " OR ".join(not_finite_sql(e) for e in (nn, y, q) if e)
    ok = f"NOT ({bad})"
    invalid = [
        (f"{ok} AND {nn} < 0", n, "is a negative count"),
        (f"{ok} AND {nn} <> floor({nn})", n, "is not a whole number"),
    ]
    if kind in ("binary", "count", "ratio"):
        invalid.append((f"{ok} AND {y} < 0", metric, "is negative"))
    if kind == "count":
        invalid.append((f"{ok} AND {y} <> floor({y})", metric,
                        "is not a whole number (a count metric sums whole counts)"))
    if kind == "binary":
        invalid += [
            (f"{ok} AND {y} <> floor({y})", metric, "is not a whole number of conversions"),
            (f"{ok} AND {y} > {nn}", metric, f"exceeds {n!r} (more conversions than units)"),
        ]
    aggs = [("rows_read", "count(*)"), ("bad_y", f"count(*) FILTER (WHERE {bad})")]
    aggs += [(f"inv{i}", f"count(*) FILTER (WHERE {cond})")
             for i, (cond, _, _) in enumerate(invalid)]
    aggs += [("n", f"coalesce(sum({nn}) FILTER (WHERE {ok}), 0)"),
             ("sum", f"coalesce(sum({y}) FILTER (WHERE {ok}), 0)")]
    if q:
        aggs.append(("sum_sq", f"coalesce(sum({q}) FILTER (WHERE {ok}), 0)"))
    aggs.append(("cells_used", f"count(*) FILTER (WHERE {ok})"))
    return aggs, invalid, bad


def aggregated_stats(source, keys, metric, control, kind, n, sum_sq, missing):
    """:class:`~bayeslab.data.stats.ArmStats` of pre-aggregated rows grouped by ``keys``."""
    aggs, invalid, bad = aggregated_aggs(source, metric, kind, n, sum_sq)
    raw = grouped(source, keys, aggs)
    if sum_sq is None:
        raw["sum_sq"] = np.nan
    for i, (cond, column, what) in enumerate(invalid):
        count = int(raw[f"inv{i}"].sum())
        if count:
            raise DataError(f"column {column!r} {what} in {rows_text(source, cond, count)}",
                            column=column, rows=count)
    if kind == "binary":
        raw["sum_sq"] = raw["sum"]  # y in {0, 1}: sum of squares equals the sum
    problems = [(f"{n}/{metric}", f"({bad})", "bad_y", "is missing or not finite")]
    return finish_stats(source, raw, keys, metric, control, kind, missing, problems,
                        covariate=None, units=True)
