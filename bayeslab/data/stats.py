r"""Sufficient statistics per arm (and segment), computed by DuckDB in one scan.

For unit-level rows the scan returns, per (segment, arm) cell, the number of usable units ``n``,
the sums :math:`\\sum y`, :math:`\\sum y^2` and, with a covariate :math:`x`, :math:`\\sum x`,
:math:`\\sum x^2`, :math:`\\sum xy`. The same scan counts every row that cannot be used and why,
so validation costs no second pass over clean data. Pre-aggregated input (one row per arm, or per
arm and segment, with a count column) is summed to the same table, so a readout from aggregated
rows equals the readout from the unit rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.data.accounting import RowAccount
from bayeslab.data.aggregated import aggregated_aggs
from bayeslab.data.arms import arm_label, label_sort_key, resolve_control
from bayeslab.data.cells import Cells, key_array, missing_mask, sort_key
from bayeslab.data.columns import (  # noqa: F401  (re-exported for moments and units)
    check_unique,
    is_integer_type,
    not_finite_sql,
    numeric_expression,
    rows_text,
)
from bayeslab.data.scan import grouped
from bayeslab.data.sources import Source, check_columns, parquet_column_stats, quote, shown

KINDS = ("binary", "continuous", "count", "ratio")
MISSING = ("error", "exclude")



@dataclass(frozen=True)
class ArmStats:
    """Sufficient statistics of one metric, per arm and optional segment cell.

    Attributes
    ----------
    metric : str
        Outcome column.
    kind : {"binary", "continuous", "count"}
        How the outcome was validated (binary: values in {0, 1}; count: non-negative).
    arm : str
        Arm column.
    control : str
        Label of the control arm (labels are strings).
    arms : tuple of str
        All arm labels, control first.
    segments : tuple of str
        Segment columns the table is split by (empty for none).
    cells : Cells
        One row per cell: segment columns, ``arm``, ``n``, ``sum``, ``sum_sq`` and, with a
        covariate, ``sum_x``, ``sum_xx``, ``sum_xy``; :attr:`table` is the same as a DataFrame.
    rows : RowAccount
        Rows read, used and excluded with reasons.
    covariate : str, optional
        Pre-period covariate column, if any.
    """

    metric: str
    kind: str
    arm: str
    control: str
    arms: tuple[str, ...]
    segments: tuple[str, ...]
    cells: Cells
    rows: RowAccount
    covariate: str | None = None

    @cached_property
    def table(self):
        """:attr:`cells` as a :class:`pandas.DataFrame` (built on first use)."""
        return self.cells.to_pandas()

    @cached_property
    def _arm_sums(self) -> dict[str, np.ndarray]:
        """Every numeric column summed over segments: one value per arm, control first.

        Computed once per instance; the arrays are read-only because they are shared.
        """
        index = {a: i for i, a in enumerate(self.arms)}
        pos = np.fromiter((index[a] for a in self.cells["arm"]), dtype=np.intp,
                          count=len(self.cells))
        out = {}
        for name in self.cells.columns:
            if name in (*self.segments, "arm"):
                continue
            col = self.cells[name]
            acc = np.zeros(len(self.arms), dtype=np.int64 if col.dtype.kind in "iub" else float)
            np.add.at(acc, pos, col)
            acc.flags.writeable = False
            out[name] = acc
        return out

    def by_arm(self):
        """Cells summed over segments: one row per arm, control first, indexed by arm label.

        A :class:`pandas.DataFrame`; :attr:`n` and :attr:`sums` give its two main columns as
        arrays without pandas.
        """
        import pandas as pd

        return pd.DataFrame({k: v.copy() for k, v in self._arm_sums.items()},
                            index=pd.Index(list(self.arms), name="arm"))

    @property
    def n(self) -> np.ndarray:
        """Usable units per arm, control first."""
        return self._arm_sums["n"]

    @property
    def sums(self) -> np.ndarray:
        """Sum of the outcome per arm (conversions for a binary metric), control first."""
        return self._arm_sums["sum"]

    def binary_counts(self, model: str) -> dict:
        """Units and conversions per arm for a binomial model, as ``fit_counts`` keywords.

        Raises :class:`~bayeslab.core.errors.ModelError` naming ``model`` when the metric is not
        binary.
        """
        from bayeslab.core.errors import ModelError

        if self.kind != "binary":
            raise ModelError(f"{model} needs a binary metric; {self.metric!r} was read as "
                             f"{self.kind}")
        t = self._arm_sums
        return dict(n=t["n"], conversions=t["sum"], arms=self.arms, metric=self.metric,
                    rows=self.rows)

    def arm_cells(self) -> Cells:
        """Per arm: ``arm``, ``n`` and ``mean`` of the outcome, as :class:`Cells` (no pandas)."""
        t = self._arm_sums
        return Cells({"arm": key_array(self.arms), "n": t["n"].astype(np.int64),
                      "mean": t["sum"] / t["n"]})

    def arm_table(self):
        """Per arm: ``arm``, ``n`` and ``mean`` of the outcome (a :class:`pandas.DataFrame`)."""
        return self.arm_cells().to_pandas()


def sufficient_stats(
    source: Source,
    *,
    arm: str,
    metric: str,
    control: str | None = None,
    kind: str = "binary",
    segments: tuple[str, ...] | list[str] = (),
    covariate: str | None = None,
    n: str | None = None,
    sum_sq: str | None = None,
    unit_id: str | None = None,
    missing: str = "error",
    key_exprs: dict | None = None,
) -> ArmStats:
    """Sufficient statistics of ``metric`` per arm and segment, with validation and row accounting.

    Parameters
    ----------
    source : Source
        Table to scan (see :func:`bayeslab.data.sources.open_source`).
    arm : str
        Arm column: a 0/1 or boolean treatment indicator, or labels.
    metric : str
        Outcome column. For aggregated input (``n`` given) it holds the sum of the outcome over the
        units of the row (the number of conversions for a binary metric).
    control : str, optional
        Label of the control arm. Defaults to ``0`` / ``false`` for an indicator, or a label
        spelled ``control``; otherwise it must be given.
    kind : {"binary", "continuous", "count", "ratio"}
        Validation of the outcome: binary values must be 0 or 1 (or, aggregated, conversions
        between 0 and ``n``); counts must be non-negative whole numbers; a ratio's numerator
        (the outcome) and denominator (the covariate) must be non-negative.
    segments : sequence of str
        Columns to split the table by.
    covariate : str, optional
        Pre-period covariate; adds ``sum_x``, ``sum_xx``, ``sum_xy`` (unit-level input only).
    n : str, optional
        For pre-aggregated input, the column with the number of units behind each row.
    sum_sq : str, optional
        For pre-aggregated continuous input, the column with the sum of squared outcomes.
    unit_id : str, optional
        Unit identifier column of unit-level rows; every id must appear once.
    missing : {"error", "exclude"}
        What to do with rows whose arm, segment, outcome or covariate is missing or not finite:
        raise (default), or exclude them and say so in the row accounting.
    key_exprs : dict of str to str, optional
        SQL expression to group by for a segment name that is not a column as is (a look key
        such as the date of a timestamp).

    Returns
    -------
    ArmStats

    Raises
    ------
    DataError
        Missing column, non-numeric or missing values (with ``missing="error"``), a binary
        outcome outside {0, 1}, conversions above ``n``, negative or fractional counts, an arm
        with no usable rows, a single arm, an unknown control label, or duplicated unit ids.
    """
    if kind not in KINDS:
        raise DataError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if missing not in MISSING:
        raise DataError(f"missing must be 'error' or 'exclude', got {missing!r}")
    segments = tuple(segments)
    key_exprs = dict(key_exprs or {})
    needed = [arm, metric, *[s for s in segments if s not in key_exprs]]
    check_columns(source, needed + [c for c in (covariate, n, sum_sq, unit_id) if c])
    keys = group_keys(arm, segments, key_exprs)
    if unit_id is not None:
        if n is not None:
            raise DataError("unit_id is for unit-level rows; aggregated input (n) has no unit ids")
        check_unique(source, unit_id)
    if n is None and sum_sq is not None:
        raise DataError("sum_sq is only for aggregated input: give n too")
    if n is not None and covariate is not None:
        raise DataError("a covariate needs unit-level rows or its cross-products; give unit rows")
    if n is not None:
        return _aggregated_stats(source, keys, metric, control, kind, n, sum_sq, missing)
    return _unit_rows(source, keys, metric, control, kind, covariate, missing)


def stats_request(source: Source, *, arm: str, metric: str, kind: str = "binary",
                  segments=(), covariate: str | None = None, n: str | None = None,
                  sum_sq: str | None = None, key_exprs: dict | None = None):
    """The grouped aggregates :func:`sufficient_stats` will ask for (see :mod:`.scan`).

    ``None`` when the arguments are invalid (the call itself then raises the error).
    """
    try:
        key_exprs = dict(key_exprs or {})
        check_columns(source, [arm, metric, *[s for s in segments if s not in key_exprs]]
                      + [c for c in (covariate, n, sum_sq) if c])
        keys = group_keys(arm, tuple(segments), key_exprs)
        if n is not None:
            return keys, aggregated_aggs(source, metric, kind, n, sum_sq)[0]
        if covariate is None:
            return keys, _fast_aggs(source, metric, kind)[0]
        return keys, _slow_aggs(source, metric, kind, covariate)[0]
    except DataError:
        return None


def group_keys(arm: str, segments, key_exprs=None) -> list[tuple[str, str]]:
    """``[("arm", '"arm"'), (seg, '"seg"'), ...]``: aliases and expressions to group by."""
    key_exprs = key_exprs or {}
    return [("arm", quote(arm)), *[(s, key_exprs.get(s, quote(s))) for s in segments]]


def group_columns_sql(segments):
    """``", "seg1", "seg2"``: segment columns to append to a SELECT list."""
    return "".join(f", {quote(s)}" for s in segments)


def _fast_aggs(source, metric, kind):
    """Aggregates of the fast path, and ``(y, integer)`` for its checks."""
    y = numeric_expression(source, metric)
    integer = is_integer_type(source, metric)
    # Parquet footers can prove a 0/1 integer column valid and free of NULLs without a scan
    meta = parquet_column_stats(source, metric) if integer else None
    proven_binary = kind == "binary" and meta is not None and meta[0] >= 0 and meta[1] <= 1
    no_nulls = meta is not None and meta[2] == 0
    aggs = [("rows_read", "count(*)"),
            ("n", "count(*)" if no_nulls else f"count({y})"),
            ("sum", f"coalesce(sum({y}), 0)"),
            ("sum_sq", f"coalesce(sum({y}), 0)" if proven_binary
             else f"coalesce(sum(CAST({y} AS DOUBLE) * {y}), 0)")]
    if kind in ("count", "ratio"):
        aggs.append(("min_y", f"min({y})"))
    if kind == "count" and not integer:
        aggs.append(("fractional", f"count(*) FILTER (WHERE {y} <> floor({y}))"))
    if kind == "binary" and not integer:
        aggs.append(("invalid", f"count(*) FILTER (WHERE {y} NOT IN (0, 1) AND NOT isnan({y}))"))
    return aggs, y, integer


def _aggregated_stats(source, keys, metric, control, kind, n, sum_sq, missing):
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


def _unit_rows_fast(source, keys, metric, control, kind, missing):
    r"""One scan with plain aggregates: enough when no value is NaN or infinite.

    Returns ``None`` when the slow path (per-row filters) is needed. For an integer outcome,
    :math:`y^2 \\ge y` with equality only at 0 and 1, so a binary metric is valid exactly when
    :math:`\\sum y^2 = \\sum y`; NaN or infinity anywhere makes the float sums non-finite.
    """
    aggs, y, integer = _fast_aggs(source, metric, kind)
    raw = grouped(source, keys, aggs)
    raw["sum"] = raw["sum"].astype(np.float64)
    raw["sum_sq"] = raw["sum_sq"].astype(np.float64)
    if not (np.isfinite(raw["sum"]).all() and np.isfinite(raw["sum_sq"]).all()):
        return None
    bad_y = not_finite_sql(y)
    if kind == "binary":
        invalid = (raw["sum_sq"] != raw["sum"]).any() if integer else raw["invalid"].sum() > 0
        if invalid:
            _raise_invalid(source, metric, kind, f"NOT {bad_y} AND {y} NOT IN (0, 1)")
    if kind in ("count", "ratio") and ((raw["min_y"].astype(float) < 0).any()
                                       or ("fractional" in raw and raw["fractional"].sum() > 0)):
        _raise_invalid(source, metric, kind, invalid_sql(kind, y, bad_y))
    raw["bad_y"] = raw["rows_read"] - raw["n"]
    raw = raw.drop(("min_y", "invalid", "fractional"))
    problems = [(metric, bad_y, "bad_y", "is missing or not finite")]
    return finish_stats(source, raw, keys, metric, control, kind, missing, problems,
                        covariate=None, units=None)


def invalid_sql(kind: str, y: str, bad_y: str) -> str:
    """SQL condition: a usable ``y`` that a ``kind`` metric does not allow (``FALSE`` if none)."""
    if kind == "binary":
        return f"NOT {bad_y} AND {y} NOT IN (0, 1)"
    if kind == "count":
        return f"NOT {bad_y} AND ({y} < 0 OR {y} <> floor({y}))"
    if kind == "ratio":
        return f"NOT {bad_y} AND {y} < 0"
    return "FALSE"


_INVALID_TEXT = {"binary": "must be 0 or 1 for a conversion metric",
                 "count": "must be a non-negative whole number for a count metric",
                 "ratio": "must be non-negative for a ratio metric"}


def _raise_invalid(source, metric, kind, cond):
    count = source.sql(f"SELECT count(*) FROM {source.relation} WHERE {cond}")[0][0]
    what = _INVALID_TEXT[kind]
    raise DataError(f"column {metric!r} {what}; other values in "
                    f"{rows_text(source, cond, count)}", column=metric, rows=count)


def _slow_aggs(source, metric, kind, covariate):
    """Aggregates of the per-row path (covariate, or non-finite values), and its conditions."""
    y = numeric_expression(source, metric)
    x = numeric_expression(source, covariate) if covariate else None
    bad_y = not_finite_sql(y)
    bad_x = not_finite_sql(x) if x else "FALSE"
    used = f"NOT {bad_y} AND NOT {bad_x}"
    neg_x = f"NOT {bad_y} AND NOT {bad_x} AND {x} < 0" if x and kind == "ratio" else None
    aggs = [("rows_read", "count(*)"),
            ("bad_y", f"count(*) FILTER (WHERE {bad_y})"),
            ("bad_x", f"count(*) FILTER (WHERE {bad_x} AND NOT {bad_y})"),
            ("invalid", f"count(*) FILTER (WHERE {invalid_sql(kind, y, bad_y)})")]
    if neg_x:
        aggs.append(("invalid_x", f"count(*) FILTER (WHERE {neg_x})"))
    aggs += [("n", f"count(*) FILTER (WHERE {used})"),
             ("sum", f"coalesce(sum({y}) FILTER (WHERE {used}), 0)"),
             ("sum_sq", f"coalesce(sum({y} * {y}) FILTER (WHERE {used}), 0)")]
    if x:
        aggs += [("sum_x", f"coalesce(sum({x}) FILTER (WHERE {used}), 0)"),
                 ("sum_xx", f"coalesce(sum({x} * {x}) FILTER (WHERE {used}), 0)"),
                 ("sum_xy", f"coalesce(sum({x} * {y}) FILTER (WHERE {used}), 0)")]
    return aggs, y, bad_y, bad_x, neg_x


def _unit_rows(source, keys, metric, control, kind, covariate, missing):
    if covariate is None:
        fast = _unit_rows_fast(source, keys, metric, control, kind, missing)
        if fast is not None:
            return fast
    aggs, y, bad_y, bad_x, neg_x = _slow_aggs(source, metric, kind, covariate)
    raw = grouped(source, keys, aggs)
    if int(raw["invalid"].sum()):
        _raise_invalid(source, metric, kind, invalid_sql(kind, y, bad_y))
    if neg_x and int(raw["invalid_x"].sum()):
        count = int(raw["invalid_x"].sum())
        raise DataError(f"column {covariate!r} (the ratio's denominator) must be non-negative; "
                        f"negative values in {rows_text(source, neg_x, count)}",
                        column=covariate, rows=count)
    problems = [(metric, bad_y, "bad_y", "is missing or not finite")]
    if covariate:
        problems.append((covariate, f"{bad_x} AND NOT {bad_y}", "bad_x",
                         "is missing or not finite"))
    return finish_stats(source, raw, keys, metric, control, kind, missing, problems,
                        covariate=covariate, units=None)


def finish_stats(source, raw, keys, metric, control, kind, missing, problems, *,
                 covariate, units):
    """Turn the per-cell aggregates (:class:`Cells`) into :class:`ArmStats`.

    Applies the exclusions, finds the arms and the control.

    ``keys`` are the group keys of :func:`group_keys` (the arm first, then the segments).
    """
    (_, arm_sql), seg_keys = keys[0], keys[1:]
    arm = _unquote(arm_sql)
    segments = tuple(name for name, _ in seg_keys)
    _note_relabelled_arms(arm, raw["arm"])
    raw["arm"] = key_array([arm_label(v) for v in raw["arm"]])
    if raw.has_duplicates(["arm", *segments]):  # e.g. NULL and NaN arms: one group
        raw = raw.group(["arm", *segments])
    read = int(raw["rows_read"].sum())
    excluded: dict[str, int] = {}
    null_arm = missing_mask(raw["arm"])
    dropped = null_arm.copy()
    reasons = [(arm, null_arm, f"{arm_sql} IS NULL", "is missing")]
    for seg, expr in seg_keys:
        mask = missing_mask(raw[seg]) & ~dropped
        reasons.append((seg, mask, f"{arm_sql} IS NOT NULL AND {expr} IS NULL", "is missing"))
        dropped |= mask
    for column, mask, cond, what in reasons:
        count = int(raw["rows_read"][mask].sum())
        if count:
            _exclude_or_raise(source, excluded, missing, column, what, cond, count)
    keep = raw.take(~dropped)
    for column, cond, field, what in problems:
        count = int(keep[field].sum())
        if count:
            _exclude_or_raise(source, excluded, missing, column, what, cond, count)
    table = keep.drop([c for c in keep.columns
                       if c in ("rows_read", "bad_y", "bad_x", "invalid", "invalid_x",
                                "cells_used")
                       or c.startswith("inv")])
    labels = sorted(set(table["arm"].tolist()), key=label_sort_key)
    if len(labels) < 2:
        names = ", ".join(shown(v) for v in labels[:6]) or "none"
        raise DataError(f"column {arm!r} has {len(labels)} arm ({names}); a comparison needs a "
                        "control and at least one treatment arm", column=arm)
    control = resolve_control(arm, labels, control)
    arms = (control, *[v for v in labels if v != control])
    table["n"] = table["n"].astype(np.float64)
    for label in arms:
        if table["n"][table["arm"] == label].sum() == 0:
            raise DataError(f"arm {label!r} of column {arm!r} has no usable rows", column=arm)
    order = {a: i for i, a in enumerate(arms)}
    cols = [table[s] for s in segments]
    arm_col = table["arm"]
    rank = sorted(range(len(table)),
                  key=lambda i: (*[sort_key(c[i]) for c in cols], order[arm_col[i]]))
    table = table.take(np.asarray(rank, dtype=np.intp)).select(
        [*segments, "arm", *[c for c in table.columns if c not in (*segments, "arm")]])
    if units:
        used_rows = int(keep["cells_used"].sum())
        account = RowAccount(read=read, used=used_rows, excluded=excluded,
                             units=int(table["n"].sum()))
    else:
        account = RowAccount(read=read, used=int(table["n"].sum()), excluded=excluded)
    return ArmStats(metric=metric, kind=kind, arm=arm, control=control, arms=arms,
                    segments=segments, cells=table, rows=account, covariate=covariate)


def _exclude_or_raise(source, excluded, missing, column, what, cond, count):
    if missing == "error":
        raise DataError(
            f"column {column!r} {what} in {rows_text(source, cond, count)}; fix the data or "
            "pass missing='exclude' (--missing exclude) to leave those rows out",
            column=column, rows=count,
        )
    excluded[f"{column} {what}"] = count


def _unquote(sql_name: str) -> str:
    return sql_name[1:-1].replace('""', '"')


def _note_relabelled_arms(arm: str, values) -> None:
    """Say so when arm values become labels that differ from how they look.

    Decimals 0.0 / 1.0 become ``0`` / ``1``; text with surrounding spaces stays as written (it
    is not trimmed, so ``" B"`` and ``"B"`` are two arms).
    """
    import warnings

    from bayeslab.core.errors import DataWarning

    shown = []
    for v in dict.fromkeys(v for v in values.tolist() if v is not None):
        if isinstance(v, float) and v == v and v.is_integer():
            shown.append(f"{v!r} as {arm_label(v)!r}")
        elif isinstance(v, str) and v != v.strip():
            shown.append(f"{v!r} (with its spaces) as a label of its own")
    if shown:
        warnings.warn(f"arm column {arm!r}: read {', '.join(shown[:4])}"
                      + (f" and {len(shown) - 4} more" if len(shown) > 4 else ""),
                      DataWarning, stacklevel=3)


class UnitsView:
    """``metric``, ``arms``, ``control`` and ``rows`` of statistics built on an :class:`ArmStats`.

    For the design statistics (clusters, quantile windows) that keep the row-level
    statistics in ``units``.
    """

    units: ArmStats

    @property
    def metric(self) -> str:
        """Outcome column."""
        return self.units.metric

    @property
    def arms(self) -> tuple[str, ...]:
        """Arm labels, control first."""
        return self.units.arms

    @property
    def control(self) -> str:
        """Control arm label."""
        return self.units.control

    @property
    def rows(self):
        """Row accounting of the metric."""
        return self.units.rows
