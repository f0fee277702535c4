r"""Higher cross-moments, unit rows, funnel counts and survival rows, each from DuckDB.

:func:`covariate_moments` extends the sufficient statistics of :mod:`bayeslab.data.stats` with the
third and fourth cross-moments of outcome :math:`y` and covariate :math:`x` per arm
(:math:`\sum y^2x, \sum yx^2, \sum x^3, \sum y^2x^2, \sum yx^3, \sum x^4`), which the
heteroskedasticity-robust (HC0 / HC1) sandwich of the ANCOVA needs. It is the same single scan,
with the same validation and row accounting, so one scan serves the Welch test, CUPED, the
HC ANCOVA and the conjugate Bayesian regression.

:func:`clip_outcome` winsorizes or trims the outcome at a pooled upper quantile (an explicit,
reported choice). :func:`unit_rows` fetches the usable rows as numpy arrays for the models that
need them (MCMC). :func:`funnel_stats` counts users per arm reaching each stage of a funnel of
nested 0/1 columns. :func:`survival_rows` validates and fetches durations and event flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.data.accounting import RowAccount
from bayeslab.data.arms import arm_label
from bayeslab.data.cells import Cells
from bayeslab.data.scan import grouped
from bayeslab.data.sources import (
    Source,
    check_columns,
    derived_view,
    open_source,
    parquet_column_stats,
    quote,
    select_list,
)
from bayeslab.data.stats import (
    ArmStats,
    finish_stats,
    group_keys,
    invalid_sql,
    is_integer_type,
    not_finite_sql,
    numeric_expression,
    rows_text,
    sufficient_stats,
)

#: extra columns of :func:`covariate_moments`: name -> (power of y, power of x)
HIGHER_MOMENTS = {"sum_yyx": (2, 1), "sum_yxx": (1, 2), "sum_xxx": (0, 3),
                  "sum_yyxx": (2, 2), "sum_yxxx": (1, 3), "sum_xxxx": (0, 4)}
#: every moment column of a covariate table: name -> (power of y, power of x)
MOMENT_COLUMNS = {"n": (0, 0), "sum": (1, 0), "sum_sq": (2, 0), "sum_x": (0, 1),
                  "sum_xx": (0, 2), "sum_xy": (1, 1), **HIGHER_MOMENTS}


def covariate_moments(
    source: Source,
    *,
    arm: str,
    metric: str,
    covariate: str,
    control: str | None = None,
    kind: str = "continuous",
    segments=(),
    missing: str = "error",
) -> ArmStats:
    """Sufficient statistics with the higher cross-moments of outcome and covariate, one scan.

    Parameters
    ----------
    source : Source
        Unit-level table (one row per randomized unit).
    arm, metric, covariate : str
        Arm, outcome and pre-period covariate columns.
    control : str, optional
        Control label (see :func:`bayeslab.data.stats.sufficient_stats`).
    kind : {"continuous", "count"}
        Outcome validation (counts must be non-negative).
    segments : sequence of str
        Columns to split the table by.
    missing : {"error", "exclude"}
        Rows with a missing or non-finite outcome, covariate or arm: raise, or exclude and count.

    Returns
    -------
    ArmStats
        Its ``table`` has ``n, sum, sum_sq, sum_x, sum_xx, sum_xy`` and the columns of
        :data:`HIGHER_MOMENTS`.

    Raises
    ------
    DataError
        As :func:`~bayeslab.data.stats.sufficient_stats`: missing columns, non-numeric or
        missing values, negative counts, fewer than two arms.
    """
    if kind not in ("continuous", "count"):
        raise DataError(f"kind must be 'continuous' or 'count' with a covariate, got {kind!r}")
    if missing not in ("error", "exclude"):
        raise DataError(f"missing must be 'error' or 'exclude', got {missing!r}")
    segments = tuple(segments)
    check_columns(source, [arm, metric, covariate, *segments])
    keys = group_keys(arm, segments)
    aggs, invalid, y, x = _moment_aggs(source, metric, covariate, kind)
    bad_y, bad_x = not_finite_sql(y), not_finite_sql(x)
    # Fast path, one scan with no per-row checks: NULLs are counted, and NaN or infinity would
    # make a sum non-finite. Only when that happens are the rows classified one by one (below).
    fast = grouped(source, keys, aggs).to_pandas()
    moment_names = [c for c in MOMENT_COLUMNS if c != "n"]
    clean = (fast["_c"].eq(fast.get("_cy", fast["_c"]))
             & fast["_c"].eq(fast.get("_cx", fast["_c"]))).all() and \
        np.isfinite(fast[moment_names].to_numpy(float)).all()
    if clean and not fast.get("_inv", fast["_c"] * 0).sum():
        grouped_frame = fast.assign(_by=False, _bx=False, _neg=0)
        raw = _collapse(grouped_frame, ["arm", *segments])
        return finish_stats(source, Cells.from_frame(raw), keys, metric, control, kind, missing,
                            [], covariate=covariate, units=None)
    # Slow path: group by the usability flags too, so each row's checks run once and the sums
    # need no FILTER clause; unusable groups are dropped in _collapse.
    flags = [("_by", bad_y), ("_bx", f"({bad_x} AND NOT {bad_y})")]
    sums = [(a, e) for a, e in aggs if a in moment_names]
    slow = grouped(source, keys + flags,
                   [("_c", "count(*)"), ("_neg", f"count(*) FILTER (WHERE {invalid})"),
                    *sums]).to_pandas()
    n_invalid = int(slow["_neg"].sum())
    if n_invalid:
        raise DataError(f"column {metric!r} must be a non-negative whole number for a count "
                        f"metric; other values in {rows_text(source, invalid, n_invalid)}",
                        column=metric, rows=n_invalid)
    raw = _collapse(slow, ["arm", *segments])
    problems = [(metric, bad_y, "bad_y", "is missing or not finite"),
                (covariate, f"{bad_x} AND NOT {bad_y}", "bad_x", "is missing or not finite")]
    return finish_stats(source, Cells.from_frame(raw), keys, metric, control, kind, missing,
                        problems, covariate=covariate, units=None)


def _moment_aggs(source, metric, covariate, kind):
    """Aggregates of the fast path of :func:`covariate_moments`, the invalid test, y and x."""
    y = numeric_expression(source, metric)
    x = numeric_expression(source, covariate)
    invalid = invalid_sql(kind, y, not_finite_sql(y))
    aggs = [("_c", "count(*)")]
    # NULLs are counted unless the Parquet footers prove there are none (saves two aggregates)
    for alias, column, expr in (("_cy", metric, y), ("_cx", covariate, x)):
        meta = parquet_column_stats(source, column)
        if meta is None or meta[2] != 0:
            aggs.append((alias, f"count({expr})"))
    if invalid != "FALSE":
        aggs.append(("_inv", f"count(*) FILTER (WHERE {invalid})"))
    aggs += [(name, f"sum({' * '.join([y] * p + [x] * q)})")
             for name, (p, q) in MOMENT_COLUMNS.items() if name != "n"]
    return aggs, invalid, y, x


def moments_request(source: Source, *, arm: str, metric: str, covariate: str,
                    kind: str = "continuous", segments=()):
    """The grouped aggregates :func:`covariate_moments` will ask for (``None`` if invalid)."""
    try:
        check_columns(source, [arm, metric, covariate, *segments])
        return group_keys(arm, tuple(segments)), _moment_aggs(source, metric, covariate,
                                                              kind)[0]
    except DataError:
        return None


def _collapse(grouped, keys: list[str]):
    """Fold groups split by usability flags into one row per cell, as ``finish_stats`` expects."""
    good = ~(grouped["_by"].astype(bool) | grouped["_bx"].astype(bool))
    sums = [c for c in MOMENT_COLUMNS if c != "n"]
    frame = grouped[keys].copy()
    frame["rows_read"] = grouped["_c"]
    frame["bad_y"] = grouped["_c"].where(grouped["_by"].astype(bool), 0)
    frame["bad_x"] = grouped["_c"].where(grouped["_bx"].astype(bool), 0)
    frame["invalid"] = 0
    frame["n"] = grouped["_c"].where(good, 0)
    for c in sums:
        frame[c] = grouped[c].astype(float).where(good, 0.0)
    return frame.groupby(keys, dropna=False, sort=False, as_index=False).sum()


def has_higher_moments(stats: ArmStats) -> bool:
    """Whether ``stats.table`` carries the columns of :data:`HIGHER_MOMENTS`."""
    return all(c in stats.table.columns for c in HIGHER_MOMENTS)


@dataclass(frozen=True)
class Clipping:
    """What winsorizing or trimming the outcome changed.

    Attributes
    ----------
    method : {"winsorize", "trim"}
        Winsorize caps values above the cap at the cap; trim drops those rows.
    quantile : float
        Pooled (all arms) upper quantile that defines the cap.
    cap : float
        The cap value.
    rows_affected : dict of str to int
        Rows above the cap, per arm.
    before, after : dict of str to float
        Point estimates per method on the raw outcome and on the clipped outcome (filled in by
        the readout that applies the clipping).
    """

    method: str
    quantile: float
    cap: float
    rows_affected: dict
    before: dict
    after: dict

    def to_dict(self) -> dict:
        """JSON-safe form."""
        from bayeslab.core.estimates import jsonable

        return jsonable({"method": self.method, "quantile": self.quantile, "cap": self.cap,
                         "rows_affected": self.rows_affected, "before": self.before,
                         "after": self.after,
                         "moved": {k: self.after[k] - self.before[k] for k in self.after
                                   if k in self.before}})


def clip_outcome(source: Source, *, arm: str, metric: str, method: str,
                 quantile: float) -> tuple[Source, Clipping]:
    """Winsorize or trim ``metric`` above its pooled ``quantile``; one extra scan.

    Parameters
    ----------
    source : Source
        Unit-level table.
    arm, metric : str
        Arm and outcome columns.
    method : {"winsorize", "trim"}
        Cap values above the cap at the cap, or drop those rows.
    quantile : float
        Upper quantile in (0.5, 1) computed on all arms pooled (``quantile_cont``).

    Returns
    -------
    (Source, Clipping)
        A view over ``source`` with the outcome clipped, and the record of what changed
        (``before`` / ``after`` are left empty for the caller to fill).

    Raises
    ------
    DataError
        If ``method`` or ``quantile`` is invalid.
    """
    if method not in ("winsorize", "trim"):
        raise DataError(f"clipping method must be 'winsorize' or 'trim', got {method!r}")
    if not 0.5 < quantile < 1:
        raise DataError(f"clipping quantile must be in (0.5, 1), got {quantile!r}")
    y = numeric_expression(source, metric)
    ok = f"NOT {not_finite_sql(y)}"
    # the same interpolated quantile on both engines: DuckDB quantile_cont, Spark percentile
    function = "percentile" if source.engine == "spark" else "quantile_cont"
    cap = source.sql(f"SELECT {function}({y}, {float(quantile)!r}) FILTER (WHERE {ok}) "
                     f"FROM {source.relation}")[0][0]
    if cap is None:
        raise DataError(f"column {metric!r} has no usable values to clip", column=metric)
    if is_integer_type(source, metric):  # a whole cap keeps counts whole; trims the same rows
        cap = math.floor(cap)
    above = f"({ok} AND {y} > {float(cap)!r})"
    counts = source.sql(f"SELECT {quote(arm)}, count(*) FILTER (WHERE {above}) "
                        f"FROM {source.relation} GROUP BY ALL")
    affected: dict[str, int] = {}
    for a, c in counts:
        label = arm_label(a)
        if label is not None:
            affected[label] = affected.get(label, 0) + int(c)
    if method == "winsorize":
        capped = {metric: f"CASE WHEN {above} THEN {float(cap)!r} ELSE {y} END"}
        sql = f"SELECT {select_list(source, capped)} FROM {source.relation}"
    else:
        sql = f"SELECT * FROM {source.relation} WHERE NOT {above}"
    view = derived_view(source, sql, f"{source.label} ({method}d {metric} at q={quantile})")
    return view, Clipping(method=method, quantile=float(quantile), cap=float(cap),
                          rows_affected=affected, before={}, after={})


def account_trimmed(stats: ArmStats, clipping: Clipping) -> ArmStats:
    """Add the trimmed rows to the row accounting of stats computed on the trimmed view."""
    trimmed = sum(clipping.rows_affected.values())
    if clipping.method != "trim" or not trimmed:
        return stats
    excluded = dict(stats.rows.excluded)
    excluded[f"{stats.metric} above the {clipping.quantile:g} quantile "
             f"({clipping.cap:.6g}), trimmed"] = trimmed
    rows = RowAccount(read=stats.rows.read + trimmed, used=stats.rows.used, excluded=excluded,
                      units=stats.rows.units)
    return replace(stats, rows=rows)


@dataclass(frozen=True)
class UnitRows:
    """Usable unit-level rows as numpy arrays (for models that need them).

    Attributes
    ----------
    arm_index : numpy.ndarray of int
        Index into ``arms`` (0 is the control).
    y : numpy.ndarray
        Outcome.
    x : numpy.ndarray or None
        Covariate, if any.
    arms : tuple of str
        Arm labels, control first.
    metric : str
    covariate : str or None
    rows : RowAccount
    """

    arm_index: np.ndarray
    y: np.ndarray
    x: np.ndarray | None
    arms: tuple[str, ...]
    metric: str
    covariate: str | None
    rows: RowAccount

    @property
    def control(self) -> str:
        """Control label."""
        return self.arms[0]

    @classmethod
    def from_arrays(cls, arm, y, x=None, *, control=None, metric="y", covariate=None):
        """Build from arrays (arm labels of any type; ``control`` defaults to ``0`` / first)."""
        import pandas as pd

        frame = pd.DataFrame({"arm": np.asarray(arm), "y": np.asarray(y, dtype=float)})
        if x is not None:
            frame["x"] = np.asarray(x, dtype=float)
        return unit_rows(frame, arm="arm", metric="y", covariate="x" if x is not None else None,
                         control=control, names=(metric, covariate))


#: most unit rows a model sampled on unit rows (robust / hurdle revenue) reads into memory
UNIT_MODEL_MAX_ROWS = 1_000_000


def check_unit_size(rows: int, limit: int | None, what: str) -> None:
    """Refuse to read ``rows`` unit rows into memory for ``what`` when above ``limit``.

    A model that needs one row per unit holds every row in memory (and MCMC evaluates them all
    at every step); above the limit the message says what to do instead.
    """
    if limit is not None and rows > limit:
        raise DataError(
            f"{what} reads one row per unit into memory: {rows:,} rows is above its limit of "
            f"{limit:,}; read a random sample of units (e.g. --sql \"SELECT * FROM 'data.parquet' "
            f"USING SAMPLE {limit:,} ROWS\"), stratify and read out each stratum, or use the "
            "models on sufficient statistics (conjugate regression, CUPED/ANCOVA), which take "
            "any number of rows", rows=rows)


def unit_rows(data, *, arm: str, metric: str, covariate: str | None = None,
              control: str | None = None, kind: str = "continuous", missing: str = "error",
              names=None, max_rows: int | None = None, what: str = "this model") -> UnitRows:
    """Validate (as :func:`sufficient_stats`) and fetch the usable rows as numpy arrays.

    Parameters
    ----------
    data : Source, DataFrame or path
        Unit-level table.
    arm, metric, covariate, control, kind, missing
        As :func:`bayeslab.data.stats.sufficient_stats`.
    names : (str, str), optional
        Names to record for the outcome and covariate (defaults to the column names).
    max_rows : int, optional
        Refuse (with what to do instead) when more usable rows than this would be read;
        the robust and hurdle models pass :data:`UNIT_MODEL_MAX_ROWS`. Only the arm, outcome
        and covariate columns are read.
    what : str
        The model, for that message.

    Returns
    -------
    UnitRows

    Raises
    ------
    DataError
        As :func:`~bayeslab.data.stats.sufficient_stats`, or more rows than ``max_rows``.
    """
    source = open_source(data)
    stats = sufficient_stats(source, arm=arm, metric=metric, control=control, kind=kind,
                             covariate=covariate, missing=missing)
    check_unit_size(stats.rows.used, max_rows, what)
    y = numeric_expression(source, metric)
    cond = f"{quote(arm)} IS NOT NULL AND NOT {not_finite_sql(y)}"
    cols = f"{quote(arm)} AS arm, {y} AS y"
    if covariate:
        x = numeric_expression(source, covariate)
        cond += f" AND NOT {not_finite_sql(x)}"
        cols += f", {x} AS x"
    import pandas as pd

    got = source.execute(
        f"SELECT {cols} FROM {source.relation} WHERE {cond}").fetchnumpy()
    order = {a: i for i, a in enumerate(stats.arms)}
    raw_arm = pd.Series(np.asarray(got["arm"]))
    uniques = raw_arm.drop_duplicates()
    lookup = {v: order[arm_label(v)] for v in uniques}
    index = raw_arm.map(lookup).to_numpy(dtype=np.int64)
    metric_name, cov_name = names if names else (metric, covariate)
    return UnitRows(arm_index=index, y=np.asarray(got["y"], dtype=float),
                    x=np.asarray(got["x"], dtype=float) if covariate else None,
                    arms=stats.arms, metric=metric_name, covariate=cov_name, rows=stats.rows)
