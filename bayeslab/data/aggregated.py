"""Pre-aggregated input: rows that each stand for ``n`` units (per arm, segment or day).

The outcome column holds the sum over the row's units (conversions for a binary metric) and,
for a continuous metric, ``sum_sq`` the sum of squares. The rows are validated (whole,
non-negative counts; conversions between 0 and ``n``) and summed to the same per-cell table as
unit rows, so the readout from aggregates equals the readout from the unit rows.
:func:`~bayeslab.data.stats.sufficient_stats` runs these aggregates and finishes the table.
"""

from __future__ import annotations

from bayeslab.data.columns import not_finite_sql, numeric_expression

#: counts at or above this are not exact in double precision (and not accepted)
MAX_EXACT = 2**53


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
        # a double holds whole numbers exactly only below 2**53: 2**53 + 1 would read as 2**53
        (f"{ok} AND {nn} >= {float(MAX_EXACT)!r}", n,
         f"is at or above 2**53 ({MAX_EXACT:,}), beyond the counts a double holds exactly"),
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
