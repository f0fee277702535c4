r"""A property scan's reduction: per-arm counts and sums of every level of every property.

For properties :math:`P_1, \dots, P_K` (country, platform, ...) one query groups the rows by
``GROUPING SETS ((arm, P_1), ..., (arm, P_K), (arm))``: for each level :math:`l` of each property
:math:`p` and each arm :math:`a` it returns :math:`n_{pla}`, :math:`\sum y` and :math:`\sum y^2`,
and the last set gives the population per arm with the row accounting (rows whose arm or outcome
is missing or not valid). ``grouping(P_k)`` tells the sets apart, so a NULL property value is a
level of its own (``"(missing)"``), never confused with a grouped-out column. The SQL is the
dialect DuckDB and Spark SQL share (:mod:`bayeslab.data.spark`), so a Spark table costs one
Spark job, and the result has one row per level and arm: the cost of everything after the scan
is flat in rows and linear in levels.

Levels with fewer than ``min_units`` units in either arm are summed into one level ``"other"``
of their property (and listed in :attr:`PropertyStats.pooled`); when even that sum has fewer
than 2 units in an arm, those levels are left out of the scan and listed in
:attr:`PropertyStats.dropped` (a level seen in one arm only has no effect to estimate).

The per-level effect :math:`\hat d_{pl} = \bar y_{pl1} - \bar y_{pl0}` (treatment minus control,
absolute) has the unpooled standard error
:math:`s_{pl} = \sqrt{v_{pl0}/n_{pl0} + v_{pl1}/n_{pl1}}` with :math:`v` the sample variance
(:math:`\bar y (1 - \bar y)` for a rate), the same for the population and for the rest of the
population (population minus the level), which both model sides read from :meth:`effects`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.data.accounting import RowAccount
from bayeslab.data.arms import arm_label, label_sort_key, labels_text, resolve_control
from bayeslab.data.columns import not_finite_sql, numeric_expression
from bayeslab.data.sources import Source, check_columns, quote

KINDS = ("binary", "continuous")
MISSING_LEVEL = "(missing)"
OTHER = "other"


@dataclass(frozen=True)
class PropertyStats:
    """Per-arm sufficient statistics of one metric for every level of every scanned property.

    Attributes
    ----------
    metric, arm, kind : str
        Outcome column, arm column, ``"binary"`` or ``"continuous"``.
    control, treatment : str
        Arm labels (two arms).
    properties : tuple of str
        Scanned property columns, in the order given.
    levels : list of (str, str)
        ``(property, level)`` of each row of :attr:`counts`, properties in order, levels sorted.
    counts : numpy.ndarray
        Shape ``(L, 2, 3)``: per level, arm (control, treatment) and ``(n, sum y, sum y^2)``.
    population : numpy.ndarray
        Shape ``(2, 3)``: the same over all rows used.
    rows : RowAccount
    pooled : dict of str to list of str
        Levels below ``min_units`` per arm summed into ``"other"``, by property.
    min_units : int
    dropped : dict of str to list of str
        Levels below ``min_units`` per arm whose ``"other"`` would hold fewer than 2 units in
        an arm: not scanned (their rows stay in the population and in every other
        property), by property.
    """

    metric: str
    arm: str
    kind: str
    control: str
    treatment: str
    properties: tuple[str, ...]
    levels: list
    counts: np.ndarray
    population: np.ndarray
    rows: RowAccount
    pooled: dict = field(default_factory=dict)
    min_units: int = 200
    dropped: dict = field(default_factory=dict)

    @property
    def n_levels(self) -> int:
        """Number of levels over all properties (after pooling)."""
        return len(self.levels)

    @property
    def units(self) -> np.ndarray:
        """Units per level, both arms together."""
        return self.counts[:, :, 0].sum(axis=1)

    @property
    def share(self) -> np.ndarray:
        """Each level's share of the units used."""
        return self.units / self.population[:, 0].sum()

    def effects(self) -> dict:
        r"""Raw effects and standard errors of every level, the population and each level's rest.

        Returns
        -------
        dict
            ``level``, ``level_se`` (arrays of length :attr:`n_levels`), ``population``,
            ``population_se`` (floats), ``rest``, ``rest_se`` (arrays: the population minus the
            level), ``control_mean`` (per level) and ``sd`` (the pooled outcome standard
            deviation of the control arm, the model's unit scale).
        """
        d, se = _diff(self.counts, self.kind)
        pop_d, pop_se = _diff(self.population[None], self.kind)
        rest_d, rest_se = _diff(self.population[None] - self.counts, self.kind)
        n0, s0, q0 = self.population[0]
        var = (q0 - s0 * s0 / n0) / max(n0 - 1, 1) if self.kind == "continuous" else \
            (s0 / n0) * (1 - s0 / n0)
        return dict(level=d, level_se=se, population=float(pop_d[0]),
                    population_se=float(pop_se[0]), rest=rest_d, rest_se=rest_se,
                    control_mean=self.counts[:, 0, 1] / self.counts[:, 0, 0],
                    sd=float(np.sqrt(max(var, 1e-12))))


def _diff(counts: np.ndarray, kind: str):
    n, s, q = counts[..., 0], counts[..., 1], counts[..., 2]
    mean = s / n
    if kind == "binary":
        var = mean * (1 - mean)
    else:
        var = (q - s * s / n) / np.maximum(n - 1, 1)
    var = np.maximum(var, 0.0)
    # a level with no conversions in an arm has no spread to estimate: one pseudo-event
    # of each outcome keeps its standard error finite (Agresti-Caffo style)
    var = np.where(var > 0, var, 1.0 / (n + 2) * (1 - 1.0 / (n + 2)))
    return mean[..., 1] - mean[..., 0], np.sqrt(var[..., 0] / n[..., 0] + var[..., 1] / n[..., 1])


def scan_sql(source: Source, *, arm: str, metric: str, properties, kind: str) -> str:
    """The one ``GROUPING SETS`` query of :func:`property_stats` (DuckDB and Spark SQL)."""
    y = numeric_expression(source, metric)
    bad_y = not_finite_sql(y)
    if kind == "binary":
        bad_y = f"({bad_y} OR {y} NOT IN (0, 1))"
    ok = f"({quote(arm)} IS NOT NULL AND NOT {bad_y})"
    keys = [quote(arm), *(quote(p) for p in properties)]
    items = [f"{quote(arm)} AS {quote('arm')}"]
    items += [f"{quote(p)} AS {quote(f'k{j}')}" for j, p in enumerate(properties)]
    items += [f"grouping({quote(p)}) AS {quote(f'g{j}')}" for j, p in enumerate(properties)]
    items += [f"count(*) AS {quote('rows')}",
              f"count(*) FILTER (WHERE {ok}) AS {quote('n')}",
              f"coalesce(sum({y}) FILTER (WHERE {ok}), 0) AS {quote('s')}",
              f"coalesce(sum({y} * {y}) FILTER (WHERE {ok}), 0) AS {quote('q')}",
              f"count(*) FILTER (WHERE {quote(arm)} IS NULL) AS {quote('no_arm')}",
              f"count(*) FILTER (WHERE {quote(arm)} IS NOT NULL AND {bad_y}) AS {quote('bad')}"]
    sets = ", ".join(f"({keys[0]}, {k})" for k in keys[1:]) + f", ({keys[0]})"
    return f"SELECT {', '.join(items)} FROM {source.relation} GROUP BY GROUPING SETS ({sets})"


def property_stats(source: Source, *, arm: str, metric: str, properties, control=None,
                   kind: str = "binary", missing: str = "error",
                   min_units: int = 200) -> PropertyStats:
    """Reduce ``source`` to :class:`PropertyStats` in one engine query.

    Parameters
    ----------
    source : Source
        Unit-level rows (see :func:`bayeslab.data.sources.open_source`).
    arm, metric : str
        Arm column (two labels) and outcome column.
    properties : sequence of str
        Property columns to scan; each value of each is a level.
    control : str, optional
        Control label (default ``0`` / ``false`` / ``control``).
    kind : {"binary", "continuous"}
    missing : {"error", "exclude"}
        Rows whose arm or outcome is missing (or, binary, not 0/1): raise, or exclude and count.
    min_units : int
        Levels with fewer units in either arm are pooled into ``"other"``.

    Returns
    -------
    PropertyStats

    Raises
    ------
    DataError
        A missing column, no property, a property named twice or equal to the arm or metric, a
        bad outcome or arm value (with ``missing="error"``), other than two arms.
    """
    if kind not in KINDS:
        raise DataError(f"a property scan reads a binary or continuous metric, got kind {kind!r}")
    if missing not in ("error", "exclude"):
        raise DataError(f"missing must be 'error' or 'exclude', got {missing!r}")
    properties = tuple(properties)
    if not properties:
        raise DataError("name at least one property column to scan (e.g. --scan country,platform)")
    dup = sorted({p for p in properties if properties.count(p) > 1 or p in (arm, metric)})
    if dup:
        raise DataError(f"column {dup[0]!r} is named twice in the scan (or is the arm or metric)",
                        column=dup[0])
    if int(min_units) < 1:
        raise DataError(f"min_units must be a positive number of units, got {min_units!r}")
    check_columns(source, [arm, metric, *properties])
    cur = source.execute(scan_sql(source, arm=arm, metric=metric, properties=properties,
                                  kind=kind))
    source.cache["scans"] = source.cache.get("scans", 0) + 1
    rows = cur.fetchall()
    k = len(properties)
    pop_rows = [r for r in rows if all(r[1 + k + j] == 1 for j in range(k))]
    read = sum(r[1 + 2 * k] for r in pop_rows)
    if not read:
        raise DataError(f"{source.label} has no rows")
    no_arm = sum(r[-2] for r in pop_rows)
    bad = sum(r[-1] for r in pop_rows)
    what = "is missing or not 0/1" if kind == "binary" else "is missing or not finite"
    if missing == "error":
        if no_arm:
            raise DataError(f"column {arm!r} is missing in {no_arm:,} rows; fix them or pass "
                            "missing='exclude'", column=arm, rows=no_arm)
        if bad:
            raise DataError(f"column {metric!r} {what} in {bad:,} rows; fix them or pass "
                            "missing='exclude'", column=metric, rows=bad)
    labels = sorted({arm_label(r[0]) for r in pop_rows if r[0] is not None}, key=label_sort_key)
    if len(labels) != 2:
        raise DataError(f"a property scan compares two arms; column {arm!r} has "
                        f"{len(labels)}: {labels_text(labels)}", column=arm)
    ctrl = resolve_control(arm, labels, control)
    treat = next(a for a in labels if a != ctrl)
    index = {ctrl: 0, treat: 1}
    population = np.zeros((2, 3))
    for r in pop_rows:
        if r[0] is not None:
            population[index[arm_label(r[0])]] += r[2 + 2 * k:5 + 2 * k]
    excluded = {f"{arm} is missing": int(no_arm), f"{metric} {what}": int(bad)}
    used = int(population[:, 0].sum())
    account = RowAccount(read=int(read), used=used,
                         excluded={key: v for key, v in excluded.items() if v})
    if (population[:, 0] == 0).any():
        raise DataError(f"column {arm!r}: an arm has no usable rows", column=arm)
    levels, counts, pooled, dropped = [], [], {}, {}
    for j, prop in enumerate(properties):
        cells: dict = {}
        for r in rows:
            if r[0] is None or r[1 + k + j] != 0:
                continue
            level = MISSING_LEVEL if r[1 + j] is None else arm_label(r[1 + j])
            cells.setdefault(level, np.zeros((2, 3)))[index[arm_label(r[0])]] += \
                r[2 + 2 * k:5 + 2 * k]
        small = sorted((lv for lv, c in cells.items() if c[:, 0].min() < min_units),
                       key=label_sort_key)
        if len(small) > 0:
            other = sum(cells.pop(lv) for lv in small)
            if other[:, 0].min() >= 2:
                name = OTHER if OTHER not in cells else f"{OTHER} ({prop})"
                cells[name] = other
                pooled[prop] = small
            else:   # one arm (nearly) empty even together: no effect to estimate
                dropped[prop] = small
        for level in sorted(cells, key=label_sort_key):
            levels.append((prop, level))
            counts.append(cells[level])
    return PropertyStats(metric=metric, arm=arm, kind=kind, control=ctrl, treatment=treat,
                         properties=properties, levels=levels, counts=np.array(counts),
                         population=population, rows=account, pooled=pooled,
                         min_units=int(min_units), dropped=dropped)
