"""Funnel statistics: users and units reaching each stage per arm, in one scan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayeslab.core.errors import DataError
from bayeslab.data.accounting import RowAccount
from bayeslab.data.arms import arm_label
from bayeslab.data.columns import not_finite_sql, numeric_expression, rows_text
from bayeslab.data.sources import (
    check_columns,
    open_source,
    quote,
)
from bayeslab.data.stats import sufficient_stats


@dataclass(frozen=True)
class FunnelStats:
    """Users per arm reaching each stage of a funnel of nested 0/1 stages.

    Attributes
    ----------
    stages : tuple of str
        Stage names in funnel order (for example ``("clicked", "converted")``).
    arms : tuple of str
        Arm labels, control first.
    users : numpy.ndarray
        Users per arm.
    counts : numpy.ndarray
        ``counts[a, s]``: users of arm ``a`` who reached stage ``s``.
    rows : RowAccount, optional
    """

    stages: tuple[str, ...]
    arms: tuple[str, ...]
    users: np.ndarray
    counts: np.ndarray
    rows: RowAccount | None = None

    @property
    def control(self) -> str:
        """Control label."""
        return self.arms[0]

    @classmethod
    def from_counts(cls, arms, users, counts, *, stages=("clicked", "converted")):
        """Funnel from aggregated counts: ``users[a]`` and ``counts[a][s]`` per arm, control first.

        Raises
        ------
        DataError
            If counts are negative, not whole, or not nested (a stage above the one before it).
        """
        users = np.asarray(users, dtype=float)
        counts = np.asarray(counts, dtype=float).reshape(len(users), len(stages))
        full = np.column_stack([users, counts])
        if np.any(full < 0) or np.any(full != np.floor(full)):
            raise DataError("funnel counts must be non-negative whole numbers")
        if np.any(np.diff(full, axis=1) > 0):
            raise DataError("funnel counts must be nested: each stage at most the one before it "
                            f"(users, {', '.join(stages)})")
        return cls(stages=tuple(stages), arms=tuple(str(a) for a in arms), users=users,
                   counts=counts)


def funnel_stats(data, *, arm: str, stages, control: str | None = None,
                 missing: str = "error") -> FunnelStats:
    """Count users per arm reaching each stage; one scan with validation.

    Parameters
    ----------
    data : Source, DataFrame or path
        One row per user, with a 0/1 column per stage.
    arm : str
        Arm column.
    stages : sequence of str
        Stage columns in funnel order; each must be 0/1 and at most the stage before it.
    control : str, optional
        Control label.
    missing : {"error", "exclude"}
        Rows with a missing stage or arm.

    Returns
    -------
    FunnelStats

    Raises
    ------
    DataError
        Missing columns, non-binary stages, non-nested stages, missing values.
    """
    source = open_source(data)
    stages = tuple(stages)
    if not stages:
        raise DataError("a funnel needs at least one stage column")
    check_columns(source, [arm, *stages])
    exprs = [numeric_expression(source, s) for s in stages]
    bad = " OR ".join(not_finite_sql(e) for e in exprs)
    for s, e in zip(stages, exprs, strict=True):
        cond = f"NOT ({bad}) AND {e} NOT IN (0, 1)"
        k = source.sql(f"SELECT count(*) FROM {source.relation} WHERE {cond}")[0][0]
        if k:
            raise DataError(f"stage column {s!r} must be 0 or 1; other values in "
                            f"{rows_text(source, cond, k)}", column=s, rows=k)
    for prev, cur, ep, ec in zip(stages, stages[1:], exprs, exprs[1:], strict=False):
        cond = f"NOT ({bad}) AND {ec} > {ep}"
        k = source.sql(f"SELECT count(*) FROM {source.relation} WHERE {cond}")[0][0]
        if k:
            raise DataError(f"stage {cur!r} is 1 where the earlier stage {prev!r} is 0 in "
                            f"{rows_text(source, cond, k)}; funnel stages must be nested",
                            column=cur, rows=k)
    # reuse the accounting of sufficient_stats on the last stage; stage sums in the same query
    last = stages[-1]
    stats = sufficient_stats(source, arm=arm, metric=last, control=control, kind="binary",
                             missing=missing)
    sums = ", ".join(f"sum({e}) FILTER (WHERE NOT ({bad})) AS s{i}" for i, e in enumerate(exprs))
    got = source.sql(f"SELECT {quote(arm)} AS arm, "
                     f"count(*) FILTER (WHERE NOT ({bad})) AS n, {sums} FROM {source.relation} "
                     f"WHERE {quote(arm)} IS NOT NULL GROUP BY ALL")
    frame = pd.DataFrame(got, columns=["arm", "n", *[f"s{i}" for i in range(len(stages))]])
    frame["arm"] = [arm_label(v) for v in frame["arm"]]
    frame = frame.groupby("arm").sum().reindex(list(stats.arms)).fillna(0)
    if len(stages) > 1 and int(frame["n"].sum()) != stats.rows.used:
        raise DataError(f"stage columns {', '.join(map(repr, stages[:-1]))} have missing values; "
                        "fix the data", column=stages[0])
    return FunnelStats(stages=stages, arms=stats.arms, users=frame["n"].to_numpy(float),
                       counts=frame[[f"s{i}" for i in range(len(stages))]].to_numpy(float),
                       rows=stats.rows)
