r"""Sample ratio mismatch: a chi-square check of the observed split of units against the plan.

Pearson's chi-square goodness of fit of the arm counts :math:`O_i` against
:math:`E_i = N \pi_i` for planned shares :math:`\pi_i`:

.. math::

    \chi^2 = \sum_i \frac{(O_i - E_i)^2}{E_i}, \qquad \text{df} = k - 1.

The default threshold is strict (0.001): an SRM check runs on every experiment, often every day,
and a mismatch means the data cannot be trusted, so false alarms must be rare and real alarms are
usually far below it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.core.estimates import jsonable
from bayeslab.kernels.distributions import chi2_sf

DEFAULT_THRESHOLD = 0.001


@dataclass(frozen=True)
class SRMResult:
    r"""Result of a sample ratio mismatch check.

    Attributes
    ----------
    observed : tuple of int
    expected : tuple of float
        :math:`N \pi_i`.
    planned : tuple of float
        Planned shares, summing to 1.
    chi2, df, p_value : float, int, float
    mismatch : bool
        ``p_value < threshold``.
    threshold : float
    arms : tuple of str, optional
        Arm labels, in the order of ``observed``.
    """

    observed: tuple
    expected: tuple
    planned: tuple
    chi2: float
    df: int
    p_value: float
    mismatch: bool
    threshold: float
    arms: tuple | None = None

    def to_dict(self) -> dict:
        """JSON-safe dict of every field."""
        return jsonable(dict(self.__dict__))

    def summary(self):
        """One row per arm: observed, expected, planned and observed shares."""
        import pandas as pd

        n = sum(self.observed)
        return pd.DataFrame({"observed": self.observed, "expected": self.expected,
                             "planned_share": self.planned,
                             "observed_share": [o / n for o in self.observed]},
                            index=pd.Index(self.arms or range(len(self.observed)), name="arm"))

    def __str__(self) -> str:
        verdict = "MISMATCH" if self.mismatch else "ok"
        lines = [f"SRM check: chi2={self.chi2:.3f}, df={self.df}, p={self.p_value:.3g} "
                 f"(threshold {self.threshold:g}): {verdict}"]
        labels = self.arms or tuple(str(i) for i in range(len(self.observed)))
        n = sum(self.observed)
        for a, o, e, p in zip(labels, self.observed, self.expected, self.planned, strict=True):
            lines.append(f"  {a!s:>12}: {o:>10,} observed, {e:>12,.1f} expected "
                         f"({100 * o / n:.2f}% vs {100 * p:.2f}% planned)")
        return "\n".join(lines)


def check_counts(observed, name="observed") -> np.ndarray:
    """Validate arm counts: a 1-d sequence of at least two non-negative integers, total > 0."""
    try:
        arr = np.asarray(observed, dtype=float).ravel()
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numbers, got {observed!r}", column=name) from None
    if arr.size < 2:
        raise DataError(f"{name} needs at least two arms, got {arr.size}", column=name)
    bad = ~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr))
    if bad.any():
        raise DataError(f"{name} must be non-negative integer counts; {int(bad.sum())} are not "
                        f"({arr[bad][:3].tolist()})", column=name, rows=int(bad.sum()))
    if arr.sum() <= 0:
        raise DataError(f"{name} has no units at all", column=name)
    return arr.astype(np.int64)


def check_shares(planned, k: int, name="planned") -> np.ndarray:
    """Validate planned shares: ``k`` positive numbers summing to 1 (within 1e-6)."""
    if planned is None:
        return np.full(k, 1.0 / k)
    try:
        arr = np.asarray(planned, dtype=float).ravel()
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numbers, got {planned!r}", column=name) from None
    if arr.size != k:
        raise DataError(f"{name} has {arr.size} shares for {k} arms", column=name)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise DataError(f"{name} shares must be positive, got {arr.tolist()}", column=name)
    if abs(arr.sum() - 1.0) > 1e-6:
        raise DataError(f"{name} shares must sum to 1, they sum to {arr.sum():.6g}", column=name)
    return arr / arr.sum()


def srm_check(observed, planned=None, threshold: float = DEFAULT_THRESHOLD, *,
              arms=None) -> SRMResult:
    """Chi-square test of the observed arm counts against the planned split.

    Parameters
    ----------
    observed : sequence of int or mapping
        Units per arm; a mapping ``{arm: count}`` also gives the labels.
    planned : sequence of float, optional
        Planned shares in the same order, positive, summing to 1; equal split by default.
    threshold : float
        Flag a mismatch when the p-value is below this (default 0.001).
    arms : sequence of str, optional
        Arm labels.

    Returns
    -------
    SRMResult

    Raises
    ------
    DataError
        Counts not non-negative integers, fewer than two arms, shares not positive or not summing
        to 1, lengths that differ, threshold not in (0, 1).

    See Also
    --------
    srm_by_segment : the same check in each segment.
    """
    if isinstance(observed, dict):
        arms = tuple(str(a) for a in observed) if arms is None else arms
        observed = list(observed.values())
    obs = check_counts(observed)
    shares = check_shares(planned, obs.size)
    if arms is not None and len(arms) != obs.size:
        raise DataError(f"arms has {len(arms)} labels for {obs.size} counts", column="arms")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not 0 < threshold < 1:
        raise DataError(f"threshold must be in (0, 1), got {threshold!r}", column="threshold")
    expected = obs.sum() * shares
    chi2 = float(((obs - expected) ** 2 / expected).sum())
    df = obs.size - 1
    p = chi2_sf(chi2, df)
    return SRMResult(observed=tuple(int(o) for o in obs), expected=tuple(expected.tolist()),
                     planned=tuple(shares.tolist()), chi2=chi2, df=df, p_value=p,
                     mismatch=p < threshold, threshold=float(threshold),
                     arms=None if arms is None else tuple(str(a) for a in arms))


def srm_by_segment(table, *, segment="segment", arm="arm", count="n", planned=None,
                   threshold: float = DEFAULT_THRESHOLD, arms=None):
    """SRM check in each segment of a table of counts per (segment, arm).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per (segment, arm) with a count column (several rows per cell are summed).
    segment, arm, count : str
        Column names; ``segment`` may be a list of columns.
    planned : sequence of float or mapping, optional
        Planned shares in the order of ``arms`` (or ``{arm: share}``); equal split by default.
    threshold : float
        Per-segment threshold. Segments are many tests: no multiplicity correction is applied,
        which the strict default keeps conservative; the result states the number of segments.
    arms : sequence, optional
        Arm order; default: sorted arm labels. An arm absent from a segment counts 0.

    Returns
    -------
    pandas.DataFrame
        One row per segment: the counts per arm, ``n``, ``chi2``, ``df``, ``p_value``,
        ``mismatch``; ``attrs["threshold"]`` and ``attrs["segments"]`` are set.

    Raises
    ------
    DataError
        Missing columns, bad counts or shares (naming the segment).
    """
    import pandas as pd

    seg_cols = [segment] if isinstance(segment, str) else list(segment)
    missing = [c for c in [*seg_cols, arm, count] if c not in table.columns]
    if missing:
        raise DataError(f"table has no column {missing[0]!r}", column=missing[0])
    wide = table.pivot_table(index=seg_cols, columns=arm, values=count, aggfunc="sum",
                             fill_value=0, observed=True)
    order = list(arms) if arms is not None else sorted(wide.columns, key=str)
    absent = [a for a in order if a not in wide.columns]
    for a in absent:
        wide[a] = 0
    wide = wide[order]
    if isinstance(planned, dict):
        planned = [planned[a] for a in order]
    rows = []
    for key, counts in wide.iterrows():
        try:
            res = srm_check(counts.to_numpy(), planned, threshold)
        except DataError as err:
            raise DataError(f"segment {key!r}: {err}", column=count) from None
        rows.append({**{str(a): int(c) for a, c in zip(order, counts, strict=True)},
                     "n": int(counts.sum()), "chi2": res.chi2, "df": res.df,
                     "p_value": res.p_value, "mismatch": res.mismatch})
    out = pd.DataFrame(rows, index=wide.index)
    out.attrs.update(threshold=threshold, segments=len(out))
    return out
