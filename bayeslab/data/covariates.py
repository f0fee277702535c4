r"""Cross-product moments of an outcome and several covariates per arm, from one scan.

For a regression of the outcome :math:`y` on the arm and covariates :math:`x_1, \dots, x_p`
(numeric columns as they are, categorical columns one-hot encoded with the first level dropped),
everything the Gaussian models need is a sum over the units of each arm of a product of the
design columns. Inside an arm the arm indicators are constant, so the treatment columns never
enter a product: grouping by the arm is the per-arm structure that keeps the count down.

* OLS / ANCOVA coefficients and the conjugate Bayesian regression need the second-order sums
  :math:`\sum_{i \in a} z_{ij} z_{ik}` of :math:`z = (1, x_1, \dots, x_p, y)`.
* The HC0 / HC1 sandwich meat :math:`\sum_i \hat e_i^2 x_i x_i'`, with
  :math:`\hat e_i = y_i - \hat\alpha_{a(i)} - \hat\beta' x_i`, is a quadratic form in the
  coefficients of the sums of :math:`z_j z_k z_l z_m` whose power of :math:`y` is at most 2.

So one scan reads the monomials of degree :math:`\le 4` in :math:`(x, y)` with
:math:`\deg_y \le 2`:
:math:`\binom{p+4}{4} + \binom{p+3}{3} + \binom{p+2}{2}` sums per arm for :math:`p` numeric
columns (12 for one covariate, 31 for two, 65 for three, 120 for four). One-hot columns of one
categorical variable are idempotent (:math:`d^2 = d`) and mutually exclusive
(:math:`d_l d_m = 0`), so their products collapse and the count grows far slower with levels.
Fewer aggregates are possible only with a second scan (the meat at known coefficients needs
:math:`\binom{p+2}{2}` sums), which costs more than the extra sums of one scan.

:func:`centered_tensor` expands the raw sums around the pooled means (as
:func:`bayeslab.data.summaries.centered_moments` does for one covariate), which both sides use.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.data.cells import Cells
from bayeslab.data.columns import _NUMERIC, not_finite_sql, numeric_expression, rows_text
from bayeslab.data.moments import MOMENT_COLUMNS, covariate_moments, moments_request
from bayeslab.data.scan import grouped
from bayeslab.data.sources import Source, check_columns, quote, shown
from bayeslab.data.stats import (
    ArmStats,
    finish_stats,
    group_keys,
    invalid_sql,
)

#: most levels a categorical covariate may have (each adds a design column)
MAX_LEVELS = 50


def parse_covariates(value) -> tuple[str, ...]:
    """Covariate names from ``"a"``, ``"a,b"`` or a list; empty for ``None`` / ``""``."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(str(v).strip() for v in items if str(v).strip())
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"covariate {dup!r} is listed twice", column=dup)
    return names


@dataclass(frozen=True)
class DesignColumn:
    """One column of the covariate design: a numeric covariate or one level of a categorical."""

    name: str
    column: str
    sql: str
    bad_sql: str
    level: object = None

    @property
    def categorical(self) -> bool:
        """Whether this is a one-hot level (idempotent, exclusive with its siblings)."""
        return self.level is not None


def _literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def design_columns(source: Source, covariates, *, max_levels: int = MAX_LEVELS):
    """The design columns of ``covariates``: numeric as is, categorical one-hot (first dropped).

    A column of a numeric type (integers, floats, decimals, booleans) is numeric; any other
    type (text, dates) is categorical, with its levels read by one ``DISTINCT`` query each.

    Raises
    ------
    DataError
        A missing column, a categorical column with one level or more than ``max_levels``.
    """
    check_columns(source, list(covariates))
    out = []
    for col in covariates:
        if not _is_categorical(source, col):
            x = numeric_expression(source, col)
            out.append(DesignColumn(col, col, x, not_finite_sql(x)))
            continue
        q = quote(col)
        levels = [r[0] for r in source.sql(
            f"SELECT DISTINCT {q} FROM {source.relation} WHERE {q} IS NOT NULL "
            f"ORDER BY 1 LIMIT {int(max_levels) + 1}")]
        if len(levels) > max_levels:
            raise DataError(f"categorical covariate {col!r} has more than {max_levels} levels "
                            f"(e.g. {', '.join(shown(v) for v in levels[:3])}); one-hot "
                            "encoding it would add a column per level: group its levels or "
                            "leave it out", column=col)
        if len(levels) < 2:
            raise DataError(f"categorical covariate {col!r} has {len(levels)} level: it cannot "
                            "adjust anything", column=col)
        for lv in levels[1:]:
            out.append(DesignColumn(f"{col}[{lv}]", col, f"CAST(({q} = {_literal(lv)}) AS DOUBLE)",
                                    f"({q} IS NULL)", level=lv))
    return tuple(out)


def monomials(columns) -> list[tuple[int, ...]]:
    r"""Canonical monomials a readout needs: degree <= 4, at most 2 factors of y.

    Indices ``0 .. P-1`` are design columns and ``P`` is the outcome. One-hot columns of one
    variable collapse (:math:`d^2 = d`) and products of two of its levels (zero) are left out.
    """
    P = len(columns)
    seen = set()
    out = []
    for deg in range(5):
        for m in itertools.combinations_with_replacement(range(P + 1), deg):
            if m.count(P) > 2:
                continue
            c = canonical(m, columns)
            if c is not None and c not in seen:
                seen.add(c)
                out.append(c)
    return out


def canonical(m, columns):
    """Canonical form of monomial ``m`` (``None`` when it is identically zero)."""
    P = len(columns)
    keep = []
    levels = {}
    for i in sorted(m):
        if i < P and columns[i].categorical:
            var = columns[i].column
            if var in levels:
                if levels[var] != i:
                    return None
                continue
            levels[var] = i
        keep.append(i)
    return tuple(keep)


def _alias(m) -> str:
    return "m" + "_".join(map(str, m)) if m else "m"


def _moment_aggs(source, metric, columns, kind):
    y = numeric_expression(source, metric)
    exprs = [c.sql for c in columns] + [y]
    invalid = invalid_sql(kind, y, not_finite_sql(y))
    aggs = [("_c", "count(*)")]
    if invalid != "FALSE":
        aggs.append(("_inv", f"count(*) FILTER (WHERE {invalid})"))
    bad = " OR ".join([not_finite_sql(y)] + [c.bad_sql for c in columns])
    aggs.append(("_bad", f"count(*) FILTER (WHERE {bad})"))
    for m in monomials(columns):
        if m:
            aggs.append((_alias(m), f"sum({' * '.join(exprs[i] for i in m)})"))
    return aggs, invalid, y


@dataclass(frozen=True)
class CovariateMoments:
    """Per-arm cross-product sums of the outcome and several covariates.

    Attributes
    ----------
    stats : ArmStats
        ``n, sum, sum_sq`` per arm (Welch, arm table) and row accounting; ``stats.covariate``
        is the covariates joined by commas.
    covariates : tuple of str
        The covariate columns as given.
    columns : tuple of str
        The design columns: numeric covariates, and ``"col[level]"`` per one-hot level.
    raw : dict of tuple to numpy.ndarray
        Sum over each arm (control first) of the product of the design columns (indices
        ``0 .. P-1``) and the outcome (index ``P``) named by each canonical monomial.
    categorical : tuple of str
        Source column of each design column that is a one-hot level (``""`` for numeric).
    """

    stats: ArmStats
    covariates: tuple[str, ...]
    columns: tuple[str, ...]
    raw: dict
    categorical: tuple[str, ...] = ()

    @property
    def arms(self):
        """Arm labels, control first."""
        return self.stats.arms

    @property
    def control(self):
        """Control label."""
        return self.stats.control

    @property
    def metric(self):
        """Outcome column."""
        return self.stats.metric

    @property
    def rows(self):
        """Row accounting."""
        return self.stats.rows

    def arm_table(self):
        """Per arm: ``arm``, ``n`` and ``mean`` of the outcome (a :class:`pandas.DataFrame`)."""
        return self.stats.arm_table()

    def arm_cells(self):
        """:meth:`arm_table` as :class:`~bayeslab.data.cells.Cells`."""
        return self.stats.arm_cells()

    def _design(self):
        cats = self.categorical or ("",) * len(self.columns)
        return tuple(DesignColumn(n, c or n, "", "", level=(n if c else None))
                     for n, c in zip(self.columns, cats, strict=True))

    def lookup(self, m) -> np.ndarray:
        """Raw per-arm sum of monomial ``m`` (zero for an exclusive product)."""
        c = canonical(m, self._design())
        if c is None:
            return np.zeros(len(self.arms))
        return self.raw[c]

    def centers(self) -> np.ndarray:
        """Pooled means of the design columns and the outcome."""
        n = self.raw[()].sum()
        return np.array([self.raw[(j,)].sum() / n for j in range(len(self.columns) + 1)])

    def centered(self, m, centers=None) -> np.ndarray:
        r"""Per-arm :math:`\sum_i \prod_{j \in m} (z_{ij} - c_j)` around the pooled means."""
        c = self.centers() if centers is None else centers
        total = np.zeros(len(self.arms))
        for r in range(len(m) + 1):
            for keep in itertools.combinations(range(len(m)), r):
                rest = [m[i] for i in range(len(m)) if i not in keep]
                coef = math.prod(-c[j] for j in rest)
                if coef:
                    total = total + coef * self.lookup(tuple(m[i] for i in keep))
        return total


def centered_tensors(cm: CovariateMoments, *, fourth: bool = True):
    r"""Centered per-arm moment arrays of :math:`u = (1, v_1, \dots, v_P, w)`.

    :math:`v` are the design columns and :math:`w` the outcome, centered at pooled means.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray or None, numpy.ndarray)
        ``T2[a, j, k] = sum_{i in a} u_j u_k`` of shape ``(arms, Q, Q)`` with ``Q = P + 2``;
        ``T4[a, j, k, l, m]`` (entries with more than two factors of :math:`w` are left 0;
        ``None`` unless ``fourth``); the centers.
    """
    P = len(cm.columns)
    Q = P + 2
    c = cm.centers()
    k = len(cm.arms)
    cache: dict = {}

    def mom(idx):  # idx in u-coordinates: 0 is the constant, j >= 1 is z-index j - 1
        m = tuple(sorted(i - 1 for i in idx if i))
        if m not in cache:
            cache[m] = cm.centered(m, c)
        return cache[m]

    t2 = np.zeros((k, Q, Q))
    for i, j in itertools.combinations_with_replacement(range(Q), 2):
        t2[:, i, j] = t2[:, j, i] = mom((i, j))
    t4 = None
    if fourth:
        t4 = np.zeros((k, Q, Q, Q, Q))
        for idx in itertools.combinations_with_replacement(range(Q), 4):
            if idx.count(Q - 1) > 2:
                continue
            val = mom(idx)
            for perm in set(itertools.permutations(idx)):
                t4[(slice(None), *perm)] = val
    return t2, t4, c


def from_arm_stats(stats: ArmStats) -> CovariateMoments:
    """View single-covariate (or no-covariate) :class:`ArmStats` as :class:`CovariateMoments`."""
    t = stats.by_arm()
    use_x = stats.covariate is not None and "sum_xy" in t.columns
    P = 1 if use_x else 0
    raw = {}
    for name, (p, q) in MOMENT_COLUMNS.items():
        if name in t.columns and (use_x or q == 0):
            raw[(0,) * q + (P,) * p] = t[name].to_numpy(float)
    return CovariateMoments(stats=stats, covariates=(stats.covariate,) if use_x else (),
                            columns=(stats.covariate,) if use_x else (), raw=raw,
                            categorical=("",) * P)


def covariates_moments(source: Source, *, arm: str, metric: str, covariates,
                       control: str | None = None, kind: str = "continuous",
                       missing: str = "error", max_levels: int = MAX_LEVELS) -> CovariateMoments:
    """Cross-product sums of the outcome and several covariates per arm; one scan.

    Parameters
    ----------
    source : Source
        Unit-level table (one row per randomized unit).
    arm, metric : str
        Arm and outcome columns.
    covariates : str or sequence of str
        Pre-period covariate columns (``"a,b"`` or a list); text columns are categorical.
    control : str, optional
        Control label.
    kind : {"continuous", "count"}
        Outcome validation.
    missing : {"error", "exclude"}
        Rows with a missing or non-finite outcome, covariate or arm: raise (naming the column
        and rows), or exclude and count per column.
    max_levels : int
        Most levels of a categorical covariate.

    Returns
    -------
    CovariateMoments

    Raises
    ------
    DataError
        Missing columns, non-numeric outcome, missing values, too many levels.
    """
    if kind not in ("continuous", "count"):
        raise DataError(f"kind must be 'continuous' or 'count' with covariates, got {kind!r}")
    if missing not in ("error", "exclude"):
        raise DataError(f"missing must be 'error' or 'exclude', got {missing!r}")
    names = parse_covariates(covariates)
    if not names:
        raise DataError("give at least one covariate")
    check_columns(source, [arm, metric, *names])
    cols = design_columns(source, names, max_levels=max_levels)
    keys = group_keys(arm, ())
    aggs, invalid, y = _moment_aggs(source, metric, cols, kind)
    sums = [a for a, _ in aggs if a.startswith("m")]
    import pandas as pd

    fast = grouped(source, keys, aggs).to_pandas()
    if not fast["_bad"].sum() and not fast.get("_inv", fast["_c"] * 0).sum() and \
            np.isfinite(fast[sums].to_numpy(float)).all():
        frame = pd.concat([fast[["arm"]], pd.DataFrame(
            {"rows_read": fast["_c"], "n": fast["_c"], "invalid": 0}, index=fast.index),
            fast[sums].astype(float)], axis=1)
        problems = []
    else:
        frame, problems = _slow(source, keys, aggs, invalid, metric, y, cols, kind)
    frame = frame.assign(sum=frame[_alias((len(cols),))],
                         sum_sq=frame[_alias((len(cols),) * 2)])
    stats = finish_stats(source, Cells.from_frame(frame), keys, metric, control, kind, missing,
                         problems, covariate=",".join(names), units=None)
    t = stats.by_arm()
    raw = {m: (t["n"] if not m else t[_alias(m)]).to_numpy(float) for m in monomials(cols)}
    cells = stats.cells.drop([a for a in stats.cells.columns if a in sums or a.startswith("_b")])
    return CovariateMoments(stats=replace(stats, cells=cells), covariates=names,
                            columns=tuple(c.name for c in cols), raw=raw,
                            categorical=tuple(c.column if c.categorical else "" for c in cols))


def _slow(source, keys, aggs, invalid, metric, y, cols, kind):
    """Group by per-column usability flags so every exclusion is counted by its column."""
    bad_y = not_finite_sql(y)
    flags, problems, before = [("_by", bad_y)], [(metric, bad_y, "_by", "is missing or not "
                                                  "finite")], [bad_y]
    for j, name in enumerate(dict.fromkeys(c.column for c in cols)):
        bad = " OR ".join(c.bad_sql for c in cols if c.column == name)
        cond = f"({bad}) AND NOT ({' OR '.join(before)})"
        flags.append((f"_bx{j}", cond))
        problems.append((name, cond, f"_bx{j}", "is missing or not finite"))
        before.append(f"({bad})")
    sums = [(a, e) for a, e in aggs if a.startswith("m")]
    inv = [("_neg", f"count(*) FILTER (WHERE {invalid})")] if invalid != "FALSE" else []
    import pandas as pd

    got = grouped(source, keys + flags, [("_c", "count(*)"), *inv, *sums]).to_pandas()
    n_invalid = int(got["_neg"].sum()) if inv else 0
    if n_invalid:
        raise DataError(f"column {metric!r} must be a non-negative whole number for a count "
                        f"metric; other values in {rows_text(source, invalid, n_invalid)}",
                        column=metric, rows=n_invalid)
    flag_names = [f for f, _ in flags]
    good = ~got[flag_names].astype(bool).any(axis=1)
    cols = {"rows_read": got["_c"],
            **{f: got["_c"].where(got[f].astype(bool), 0) for f in flag_names},
            "invalid": 0, "n": got["_c"].where(good, 0),
            **{a: got[a].astype(float).where(good, 0.0) for a, _ in sums}}
    frame = pd.concat([got[["arm"]], pd.DataFrame(cols, index=got.index)], axis=1)
    frame = frame.groupby(["arm"], dropna=False, sort=False, as_index=False).sum()
    return frame, problems


def scan_covariates(source: Source, *, arm: str, metric: str, covariate,
                    control: str | None = None, kind: str = "continuous",
                    missing: str = "error"):
    """Statistics for ``covariate`` (``"x"``, ``"a,b"`` or a list), one scan.

    One numeric covariate: :func:`~bayeslab.data.moments.covariate_moments` (as before);
    several, or a categorical one: :func:`covariates_moments`.
    """
    names = parse_covariates(covariate)
    if len(names) == 1 and not _is_categorical(source, names[0]):
        return covariate_moments(source, arm=arm, metric=metric, covariate=names[0],
                                 control=control, kind=kind, missing=missing)
    return covariates_moments(source, arm=arm, metric=metric, covariates=names,
                              control=control, kind=kind, missing=missing)


def _is_categorical(source: Source, column: str) -> bool:
    check_columns(source, [column])
    typ = source.type_of(column).upper()
    return not (typ in _NUMERIC or typ.startswith("DECIMAL"))


def covariates_request(source: Source, *, arm: str, metric: str, covariates,
                       kind: str = "continuous"):
    """The grouped aggregates :func:`scan_covariates` will ask for (``None`` if invalid)."""
    try:
        names = parse_covariates(covariates)
        check_columns(source, [arm, metric, *names])
        if len(names) == 1 and not _is_categorical(source, names[0]):
            return moments_request(source, arm=arm, metric=metric, covariate=names[0],
                                   kind=kind)
        cols = design_columns(source, names)
        return group_keys(arm, ()), _moment_aggs(source, metric, cols, kind)[0]
    except DataError:
        return None
