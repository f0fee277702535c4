"""Unit rows for models that need them (propensity weighting): validated, encoded, accounted.

Most readouts reduce the data to sufficient statistics (:mod:`bayeslab.data.stats`). A propensity
model needs one row per unit: the arm, the outcome and the confounders. :func:`load_units` reads
them through DuckDB, checks every column (missing values with row numbers, a binary arm, a 0/1
outcome for conversions), encodes categorical confounders as indicator columns, refuses
confounders that cannot be adjusted for (constant, a level seen in one arm only, a numeric
covariate whose ranges in the two arms do not overlap) and accounts for every row read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.data.accounting import RowAccount
from bayeslab.data.arms import arm_label, label_sort_key, resolve_control
from bayeslab.data.moments import UNIT_MODEL_MAX_ROWS, check_unit_size
from bayeslab.data.sources import Source, check_columns, open_source, quote, shown
from bayeslab.data.stats import (
    not_finite_sql,
    numeric_expression,
    rows_text,
)

OUTCOME_KINDS = ("binary", "continuous")
#: read as text: labels, and dates and times (ISO text, e.g. "2024-01-31"; a custom model's
#: builder sees every column, and a date it never uses must not refuse the data)
_CATEGORICAL_TYPES = ("VARCHAR", "BOOLEAN", "ENUM", "DATE", "TIMESTAMP", "TIME", "INTERVAL")


@dataclass(frozen=True, eq=False)
class UnitData:
    """Validated unit rows: treatment indicator, outcome and the confounder design matrix.

    Attributes
    ----------
    arm : str
        Arm column.
    metric : str
        Outcome column.
    kind : {"binary", "continuous"}
        How the outcome was validated.
    control, treatment : str
        Arm labels (as text); ``t == 1`` marks ``treatment``.
    t : numpy.ndarray
        0/1 treatment indicator, one entry per used row.
    y : numpy.ndarray
        Outcome (float).
    X : numpy.ndarray
        Confounder design matrix (rows x columns), unstandardized, no intercept: numeric
        confounders as read, each categorical one as indicators of its non-reference levels.
    names : tuple of str
        Column names of ``X`` (``"device_type[Desktop]"`` for an indicator).
    confounders : tuple of str
        Confounder columns as given.
    sources : tuple of str
        For each column of ``X`` the confounder it comes from.
    reference : dict of str to str
        Reference (left-out) level of each categorical confounder.
    rows : RowAccount
        Rows read, used and excluded with reasons.
    """

    arm: str
    metric: str
    kind: str
    control: str
    treatment: str
    t: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    names: tuple[str, ...]
    confounders: tuple[str, ...]
    sources: tuple[str, ...]
    reference: dict
    rows: RowAccount

    @property
    def n(self) -> int:
        """Number of units used."""
        return int(self.t.shape[0])

    def standardized(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(Z, mean, sd)``: the design matrix centred and scaled to unit standard deviation."""
        mean = self.X.mean(axis=0)
        sd = self.X.std(axis=0)
        return (self.X - mean) / sd, mean, sd


def _check_kind(kind: str) -> str:
    if kind not in OUTCOME_KINDS:
        raise DataError(f"kind must be one of {', '.join(OUTCOME_KINDS)}, got {kind!r}")
    return kind


def _check_confounders(confounders, arm: str, metric: str) -> tuple[str, ...]:
    if isinstance(confounders, str):
        confounders = [c.strip() for c in confounders.split(",") if c.strip()]
    confounders = tuple(confounders)
    if not confounders:
        raise DataError("give at least one confounder column (confounders=[...])")
    seen = set()
    for c in confounders:
        if c in (arm, metric):
            raise DataError(f"confounder {c!r} is also the arm or outcome column", column=c)
        if c in seen:
            raise DataError(f"confounder {c!r} is listed twice", column=c)
        seen.add(c)
    return confounders


def _is_categorical(source: Source, column: str) -> bool:
    typ = source.type_of(column).upper()
    return typ.startswith(_CATEGORICAL_TYPES)



def column_expressions(source: Source, metric: str, columns) -> tuple[str, dict, dict]:
    """``(outcome expression, {column: categorical?}, {column: SQL expression})``.

    Text, boolean and enum columns are categorical (read as text); others are numeric.
    """
    y_expr = numeric_expression(source, metric)
    cat = {c: _is_categorical(source, c) for c in columns}
    x_expr = {c: (f"CAST({quote(c)} AS VARCHAR)" if cat[c] else numeric_expression(source, c))
              for c in columns}
    return y_expr, cat, x_expr


def missing_checks(source: Source, arm: str, metric: str, y_expr: str, cat: dict,
                   x_expr: dict) -> list[tuple[str, str]]:
    """``(column, SQL condition)`` of a missing value, in order: arm, outcome, each column."""
    checks = [(arm, f"{quote(arm)} IS NULL")]
    if source.type_of(arm).upper() in ("DOUBLE", "FLOAT", "REAL"):
        checks[0] = (arm, f"({quote(arm)} IS NULL OR isnan({quote(arm)}))")
    checks.append((metric, not_finite_sql(y_expr)))
    for c in x_expr:
        checks.append((c, f"{quote(c)} IS NULL" if cat[c] else not_finite_sql(x_expr[c])))
    return checks


def account_missing(source: Source, checks, missing: str, max_rows: int | None,
                    what: str) -> tuple[int, dict[str, int], str]:
    """Count the rows each check excludes (each row once, at its first failing column).

    Returns ``(rows read, {reason: rows excluded}, SQL condition of the rows kept)``.

    Raises
    ------
    DataError
        No rows; more rows than ``max_rows`` (what to do instead); a missing value with
        ``missing="error"``, naming the column and the rows.
    """
    counts = source.sql("SELECT count(*), " + ", ".join(
        f"count(*) FILTER (WHERE {cond}{''.join(f' AND NOT {p}' for _, p in checks[:i])})"
        for i, (_, cond) in enumerate(checks)) + " FROM " + source.relation)[0]
    read = int(counts[0])
    if read == 0:
        raise DataError(f"{source.label} has no rows")
    check_unit_size(read - sum(int(c) for c in counts[1:]) if missing == "exclude" else read,
                    max_rows, what)
    excluded: dict[str, int] = {}
    for (column, cond), count in zip(checks, counts[1:], strict=True):
        if not count:
            continue
        if missing == "error":
            raise DataError(
                f"column {column!r} is missing or not finite in "
                f"{rows_text(source, cond, int(count))}; fix the data or pass "
                "missing='exclude' (--missing exclude) to leave those rows out",
                column=column, rows=int(count))
        excluded[f"{column} is missing or not finite"] = int(count)
    return read, excluded, " AND ".join(f"NOT {cond}" for _, cond in checks)


def load_units(
    data=None,
    *,
    arm: str,
    metric: str,
    confounders,
    control: str | None = None,
    kind: str = "binary",
    missing: str = "error",
    sql: str | None = None,
    max_rows: int | None = UNIT_MODEL_MAX_ROWS,
) -> UnitData:
    """Read, validate and encode unit rows for a propensity model, through DuckDB.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or Source, optional
        Unit rows (one per unit). Alternatively give ``sql``.
    arm : str
        Arm column with exactly two labels (0/1, booleans or names).
    metric : str
        Outcome column: 0/1 for ``kind="binary"``, any finite number for ``"continuous"``.
    confounders : sequence of str or str
        Pre-treatment covariates (a comma-separated string is split). Numeric columns enter as
        they are; text and boolean columns are categorical, coded as indicators of every level
        but the most frequent one.
    control : str, optional
        Control label; ``0`` / ``false`` / ``control`` by default.
    kind : {"binary", "continuous"}
        Outcome validation.
    missing : {"error", "exclude"}
        Rows with a missing or non-finite arm, outcome or confounder: raise naming the column
        and rows (default), or leave them out and record why in :attr:`UnitData.rows`.
    sql : str, optional
        DuckDB query giving the table, instead of ``data``.
    max_rows : int, optional
        Most unit rows read into memory (:data:`~bayeslab.data.moments.UNIT_MODEL_MAX_ROWS` by
        default); above it the error says what to do instead. Only the arm, outcome and
        confounder columns are read.

    Returns
    -------
    UnitData

    Raises
    ------
    DataError
        A missing column; missing values (with ``missing="error"``); a non-numeric outcome or a
        binary outcome outside {0, 1}; an arm column without exactly two labels; a constant
        confounder; a level of a categorical confounder present in one arm only; a numeric
        confounder whose values in the two arms do not overlap (perfect separation).
    """
    kind = _check_kind(kind)
    if missing not in ("error", "exclude"):
        raise DataError(f"missing must be 'error' or 'exclude', got {missing!r}")
    confounders = _check_confounders(confounders, arm, metric)
    source = open_source(data, sql=sql)
    check_columns(source, [arm, metric, *confounders])
    y_expr, cat, x_expr = column_expressions(source, metric, confounders)
    checks = missing_checks(source, arm, metric, y_expr, cat, x_expr)
    read, excluded, keep = account_missing(source, checks, missing, max_rows,
                                           "a propensity model")

    if kind == "binary":
        cond = f"{keep} AND {y_expr} NOT IN (0, 1)"
        bad = source.sql(f"SELECT count(*) FROM {source.relation} WHERE {cond}")[0][0]
        if bad:
            raise DataError(f"column {metric!r} must be 0 or 1 for a conversion metric; other "
                            f"values in {rows_text(source, cond, int(bad))}",
                            column=metric, rows=int(bad))

    select = [f"{quote(arm)} AS a", f"{y_expr} AS y"]
    select += [f"{x_expr[c]} AS x{i}" for i, c in enumerate(confounders)]
    cur = source.execute(f"SELECT {', '.join(select)} FROM {source.relation} WHERE {keep}")
    cols = cur.fetchnumpy()
    used = len(cols["y"])
    if used == 0:
        raise DataError(f"no usable rows left in {source.label} after excluding missing values")
    t, control, treatment = _arm_indicator(np.asarray(cols["a"]), arm, control)
    y = np.asarray(cols["y"], dtype=np.float64)
    blocks, names, sources, reference = [], [], [], {}
    for i, c in enumerate(confounders):
        values = np.asarray(cols[f"x{i}"])
        if cat[c]:
            block, level_names, ref = _encode_categorical(values, t, c, control, treatment)
            reference[c] = ref
            names += [f"{c}[{lv}]" for lv in level_names]
        else:
            block = np.asarray(values, dtype=np.float64)[:, None]
            _check_numeric(block[:, 0], t, c)
            names.append(c)
        blocks.append(block)
        sources += [c] * block.shape[1]
    X = np.hstack(blocks) if blocks else np.empty((used, 0))
    rows = RowAccount(read=read, used=used, excluded=excluded)
    return UnitData(arm=arm, metric=metric, kind=kind, control=control, treatment=treatment,
                    t=t, y=y, X=X, names=tuple(names), confounders=confounders,
                    sources=tuple(sources), reference=reference, rows=rows)


def _arm_indicator(values: np.ndarray, arm: str, control):
    if values.dtype.kind in "biuf":
        uniq = np.unique(values)
        labels_of = {arm_label(v.item() if hasattr(v, "item") else v): v for v in uniq}
    else:
        uniq = np.unique(values.astype(str))
        labels_of = {arm_label(v): v for v in uniq}
    labels = sorted(labels_of, key=label_sort_key)
    if len(labels) != 2:
        names = ", ".join(shown(v) for v in labels[:6])
        raise DataError(f"column {arm!r} must hold exactly two arms (treated and control) for a "
                        f"model on unit rows (propensity, formula, custom); it has "
                        f"{len(labels)}: {names}", column=arm)
    control = resolve_control(arm, labels, control)
    treatment = next(v for v in labels if v != control)
    raw_treat = labels_of[treatment]
    compare = values if values.dtype.kind in "biuf" else values.astype(str)
    t = (compare == raw_treat).astype(np.float64)
    return t, control, treatment


def _encode_categorical(values, t, column, control, treatment):
    values = values.astype(str)
    levels, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    if len(levels) < 2:
        raise DataError(f"confounder {column!r} is constant (every row is {str(levels[0])!r}); it "
                        "cannot explain who was treated: drop it", column=column)
    treated = np.bincount(inverse, weights=t, minlength=len(levels))
    for lv, n_lv, n_t in zip(levels.tolist(), counts, treated, strict=True):
        if n_t == 0 or n_t == n_lv:
            which = f"control arm ({control!r})" if n_t == 0 else f"treated arm ({treatment!r})"
            raise DataError(
                f"level {shown(lv)} of confounder {column!r} appears only in the {which} "
                f"({int(n_lv):,} rows): its propensity is 0 or 1, so those units have no "
                "comparison; merge the level with another or drop those rows",
                column=column, rows=int(n_lv))
    ref = int(np.argmax(counts))
    keep = [k for k in range(len(levels)) if k != ref]
    block = (inverse[:, None] == np.asarray(keep)[None, :]).astype(np.float64)
    return block, [str(levels[k]) for k in keep], str(levels[ref])


def _check_numeric(x, t, column):
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        raise DataError(f"confounder {column!r} is constant (every row is {lo:g}); it cannot "
                        "explain who was treated: drop it", column=column)
    x1, x0 = x[t == 1], x[t == 0]
    if x1.min() > x0.max() or x0.min() > x1.max():
        raise DataError(
            f"confounder {column!r} separates the arms perfectly (treated {x1.min():g} to "
            f"{x1.max():g}, control {x0.min():g} to {x0.max():g}): no overlap, so no adjusted "
            "comparison exists; restrict the rows to the common range", column=column)
