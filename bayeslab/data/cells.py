r"""A small columnar table for grouped aggregates: one row per cell, numpy columns.

A scan returns one row per (arm, segment, look) cell: a few to a few thousand rows. Reading,
checking and rolling those up needs a handful of operations (select, filter, sum over groups,
sort), which this class does on numpy arrays, so that a readout that never shows a table does not
import pandas (about 0.2 s of a command's start-up). :meth:`Cells.to_pandas` gives the
:class:`pandas.DataFrame` for everything else.

Group keys keep their Python values (object arrays: labels, numbers, dates, ``None``);
aggregates are ``int64`` when every value is an integer that fits, else ``float64`` with ``NaN``
for SQL ``NULL``. Missing keys (``None`` or ``NaN``) form one group, as ``NULL`` does in SQL and
as ``groupby(dropna=False)`` does in pandas.
"""

from __future__ import annotations

import math

import numpy as np

_INT64 = (-(2**63), 2**63 - 1)


def is_missing(value) -> bool:
    """``None`` or a float ``NaN``: a missing group key."""
    return value is None or (isinstance(value, float | np.floating) and value != value)


def missing_mask(values) -> np.ndarray:
    """Boolean array: which of ``values`` are missing (:func:`is_missing`)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype.kind == "O":
        return np.fromiter((is_missing(v) for v in arr), dtype=bool, count=len(arr))
    return np.zeros(len(arr), dtype=bool)


def sort_key(value):
    """A total order over group-key values: missing last, then by type name, then by value."""
    if is_missing(value):
        return (1, "", 0)
    return (0, type(value).__name__, value)


def key_array(values) -> np.ndarray:
    """Group-key values as a 1-d object array (Python values kept as they are)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _factorize(col: np.ndarray) -> tuple[np.ndarray, list]:
    """Integer codes of ``col`` and its distinct values (``None`` for missing), one pass.

    Numbers go through :func:`numpy.unique` (every ``NaN`` one value, mapped to ``None``);
    objects through one dict (values equal in Python, such as ``1`` and ``1.0``, share a code,
    as they share a group in SQL).
    """
    if col.dtype.kind in "iub":
        uniques, codes = np.unique(col, return_inverse=True)
        return codes.ravel().astype(np.intp), uniques.tolist()
    if col.dtype.kind == "f":
        uniques, codes = np.unique(col, return_inverse=True)
        values = [None if math.isnan(u) else u for u in uniques.tolist()]
        return codes.ravel().astype(np.intp), values
    values = [None if is_missing(v) else v for v in col.tolist()]
    index = {v: i for i, v in enumerate(dict.fromkeys(values))}
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.intp, count=len(values))
    return codes, list(index)


def number_array(values) -> np.ndarray:
    """Aggregate values as ``int64`` when all are integers that fit, else ``float64``.

    ``None`` (SQL ``NULL``) becomes ``NaN``; ``Decimal`` and numpy scalars are converted.
    """
    values = list(values)
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values) and all(
            _INT64[0] <= int(v) <= _INT64[1] for v in values):
        return np.array(values, dtype=np.int64)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


class Cells:
    """Named columns of equal length (numpy arrays); see the module docstring.

    Parameters
    ----------
    columns : dict of str to array_like
        Column name to values, in column order.
    """

    __slots__ = ("_cols",)

    def __init__(self, columns: dict):
        self._cols = {name: np.asarray(v) for name, v in columns.items()}
        lengths = {len(v) for v in self._cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")

    @classmethod
    def from_rows(cls, rows, names, n_keys: int = 0) -> Cells:
        """From row tuples (a cursor's ``fetchall()``): the first ``n_keys`` columns are keys."""
        cols = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        return cls({name: key_array(col) if i < n_keys else number_array(col)
                    for i, (name, col) in enumerate(zip(names, cols, strict=True))})

    @classmethod
    def from_frame(cls, frame) -> Cells:
        """From a :class:`pandas.DataFrame` (its columns as numpy arrays)."""
        return cls({str(c): frame[c].to_numpy() for c in frame.columns})

    # -- access ------------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Column names, in order."""
        return list(self._cols)

    def __len__(self) -> int:
        return len(next(iter(self._cols.values()))) if self._cols else 0

    @property
    def empty(self) -> bool:
        """Whether there are no rows."""
        return len(self) == 0

    def __contains__(self, name) -> bool:
        return name in self._cols

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name]

    def __setitem__(self, name: str, values) -> None:
        arr = np.asarray(values)
        if arr.ndim == 0:
            arr = np.full(len(self), arr[()])
        if self._cols and len(arr) != len(self):
            raise ValueError(f"column {name!r} has {len(arr)} values for {len(self)} rows")
        self._cols[name] = arr

    def __repr__(self) -> str:
        return f"Cells({len(self)} rows: {', '.join(self._cols)})"

    def records(self) -> list[dict]:
        """One dict per row, with Python scalars (for JSON)."""
        cols = {k: v.tolist() for k, v in self._cols.items()}
        return [{k: cols[k][i] for k in cols} for i in range(len(self))]

    def to_pandas(self):
        """The same table as a :class:`pandas.DataFrame` (object keys inferred as pandas does)."""
        import pandas as pd

        return pd.DataFrame({k: (v.tolist() if v.dtype == object else v)
                             for k, v in self._cols.items()})

    # -- rows and columns -----------------------------------------------------------------
    def select(self, names) -> Cells:
        """These columns, in this order."""
        return Cells({n: self._cols[n] for n in names})

    def drop(self, names) -> Cells:
        """Without these columns (names not present are ignored)."""
        names = set(names)
        return Cells({k: v for k, v in self._cols.items() if k not in names})

    def take(self, index) -> Cells:
        """Rows by boolean mask or integer positions."""
        return Cells({k: v[index] for k, v in self._cols.items()})

    def sorted_by(self, keys) -> Cells:
        """Rows in the canonical order of ``keys`` (:func:`sort_key`), whatever order they came in.

        An engine returns grouped rows in an order that can change from run to run (threads);
        sums over cells taken in this order are the same, to the last bit, on every run. Only
        the distinct values of each key are compared in Python; the rows are ordered by numpy.
        """
        if not len(self) or not keys:
            return self
        ranks = []
        for k in keys:
            codes, uniques = _factorize(self._cols[k])
            order = sorted(range(len(uniques)), key=lambda i: sort_key(uniques[i]))
            rank = np.empty(len(uniques), dtype=np.intp)
            rank[order] = np.arange(len(uniques))
            ranks.append(rank[codes])
        order = np.lexsort(ranks[::-1])            # the first key sorts first; stable
        return self.take(order.astype(np.intp))

    def _group_index(self, keys) -> tuple[np.ndarray, np.ndarray]:
        """Group number of each row (first appearance order) and each group's first row.

        Each key column is factorized (:func:`_factorize`: missing values form one group), the
        codes are combined into one integer per row, and numpy groups those.
        """
        if not len(self):
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        combined = np.zeros(len(self), dtype=np.int64)
        for k in keys:
            codes, uniques = _factorize(self._cols[k])
            combined = combined * max(len(uniques), 1) + codes
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")   # groups in order of first appearance
        rank = np.empty(len(order), dtype=np.intp)
        rank[order] = np.arange(len(order))
        return rank[inverse.ravel()], first[order]

    def has_duplicates(self, keys) -> bool:
        """Whether two rows share their values of ``keys`` (missing values match each other)."""
        return len(self._group_index(keys)[1]) < len(self)

    def group(self, keys, how: dict | None = None) -> Cells:
        """One row per distinct ``keys``, in order of first appearance.

        ``how`` maps a column to ``"sum"`` (the default for every non-key column), ``"min"`` or
        ``"max"``; minima and maxima skip ``NaN``. Columns not in ``keys`` or ``how`` are summed.
        """
        how = dict(how or {})
        inverse, first = self._group_index(keys)
        out = {k: self._cols[k][first] for k in keys}
        size = len(first)
        for name, col in self._cols.items():
            if name in out:
                continue
            fn = how.get(name, "sum")
            if fn == "sum":
                acc = np.zeros(size, dtype=np.int64 if col.dtype.kind in "iub" else np.float64)
                np.add.at(acc, inverse, col)
            else:
                start = np.inf if fn == "min" else -np.inf
                acc = np.full(size, start)
                (np.fmin if fn == "min" else np.fmax).at(acc, inverse, col.astype(float))
                acc[np.isinf(acc) & (acc == start)] = np.nan
            out[name] = acc
        return Cells(out)
