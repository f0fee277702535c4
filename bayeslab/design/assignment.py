r"""Deterministic salted-hash assignment of units to arms, and a check of its uniformity.

The convention of the homepage notebook (003): the unit's position is

.. math::

    u = \frac{\text{int}(\text{md5}(\texttt{f"\{id\}\_\{salt\}"})[:8], 16)}{16^8} \in [0, 1),

the first 32 bits of the digest read as a fraction, and the unit goes to arm :math:`i` when
:math:`c_{i-1} \le u < c_i` for the cumulative shares :math:`c`. The same id and salt always give
the same arm; a new salt reshuffles units independently of the old assignment. Bucket
:math:`b = \lfloor u B \rfloor` of :math:`B` buckets is the layer a platform would ramp by.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.core.estimates import jsonable
from bayeslab.design.srm import check_shares

TEMPLATE = "{id}_{salt}"
_SCALE = float(16**8)


def _ids(ids):
    if isinstance(ids, (str, bytes)) or np.ndim(ids) == 0:
        raise DataError("ids must be a sequence (list, array or pandas Series) of unit ids",
                        column="ids")
    values = ids.to_numpy() if hasattr(ids, "to_numpy") else np.asarray(ids, dtype=object)
    missing = [i for i, v in enumerate(values) if v is None or (isinstance(v, float) and v != v)]
    if missing:
        raise DataError(f"ids has {len(missing)} missing values (first at position {missing[0]})",
                        column="ids", rows=len(missing))
    return values


def _salt(salt) -> str:
    if not isinstance(salt, str) or not salt:
        raise DataError(f"salt must be a non-empty string, got {salt!r}", column="salt")
    return salt


def hash_fraction(ids, salt: str, *, template: str = TEMPLATE) -> np.ndarray:
    r"""Position :math:`u \in [0, 1)` of each id under ``salt`` (md5, first 8 hex digits).

    Parameters
    ----------
    ids : sequence
        Unit ids; each is formatted with ``str()`` (an integer id 42 hashes as ``"42"``).
    salt : str
        Experiment salt; a different salt gives an independent assignment.
    template : str
        How id and salt are joined before hashing; notebook 003 uses ``"{id}_{salt}"``.

    Returns
    -------
    numpy.ndarray of float

    Raises
    ------
    DataError
        ``ids`` not a sequence or with missing values; empty salt.
    """
    values = _ids(ids)
    salt = _salt(salt)
    md5 = hashlib.md5
    out = np.fromiter(
        (int(md5(template.format(id=v, salt=salt).encode("utf-8")).hexdigest()[:8], 16)
         for v in values), dtype=np.float64, count=len(values))
    return out / _SCALE


def bucket(ids, salt: str, buckets: int = 10_000, *, template: str = TEMPLATE) -> np.ndarray:
    r"""Bucket :math:`\lfloor u B \rfloor \in \{0, \dots, B-1\}` of each id.

    Raises
    ------
    DataError
        ``buckets`` not an integer >= 2, or bad ids / salt.
    """
    if isinstance(buckets, bool) or not isinstance(buckets, (int, np.integer)) or buckets < 2:
        raise DataError(f"buckets must be an integer >= 2, got {buckets!r}", column="buckets")
    return np.floor(hash_fraction(ids, salt, template=template) * buckets).astype(np.int64)


def assign(ids, salt: str, arms=("control", "treatment"), shares=None, *,
           template: str = TEMPLATE):
    r"""Deterministic arm of each id: arm i when :math:`c_{i-1} \le u < c_i`.

    Parameters
    ----------
    ids : sequence or pandas.Series
        Unit ids.
    salt : str
        Experiment salt.
    arms : sequence of str
        Arm labels, in the order their shares are laid out on [0, 1).
    shares : sequence of float, optional
        Positive shares summing to 1; equal by default. Notebook 003 is
        ``assign(ids, SALT, arms=("B", "A"), shares=(0.5, 0.5))``.
    template : str
        See :func:`hash_fraction`.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Arm labels; a Series (same index) when ``ids`` is a Series.

    Raises
    ------
    DataError
        Bad ids, salt, or shares (not positive, not summing to 1, wrong length).
    """
    arms = list(arms)
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise DataError(f"arms must be at least two distinct labels, got {arms!r}", column="arms")
    cum = np.cumsum(check_shares(shares, len(arms), name="shares"))
    u = hash_fraction(ids, salt, template=template)
    idx = np.minimum(np.searchsorted(cum, u, side="right"), len(arms) - 1)
    labels = np.asarray(arms, dtype=object)[idx]
    if hasattr(ids, "index") and hasattr(ids, "to_numpy"):
        import pandas as pd

        return pd.Series(labels, index=ids.index, name="arm")
    return labels


@dataclass(frozen=True)
class UniformityResult:
    """Chi-square test that hashed buckets are equally filled.

    Attributes
    ----------
    n, buckets, df : int
    chi2, p_value : float
    max_relative_deviation : float
        Largest :math:`|O_b - E| / E` over buckets.
    """

    n: int
    buckets: int
    chi2: float
    df: int
    p_value: float
    max_relative_deviation: float

    def to_dict(self) -> dict:
        """JSON-safe dict of every field."""
        return jsonable(dict(self.__dict__))

    def __str__(self) -> str:
        return (f"Hash uniformity: {self.n:,} ids in {self.buckets} buckets, chi2={self.chi2:.2f}"
                f" (df {self.df}), p={self.p_value:.3g}, max deviation "
                f"{100 * self.max_relative_deviation:.2f}%")


def check_uniformity(ids, salt: str, buckets: int = 100, *,
                     template: str = TEMPLATE) -> UniformityResult:
    """Chi-square goodness of fit of the bucket counts against equal filling.

    Parameters
    ----------
    ids : sequence
        Unit ids (use enough: at least 5 per bucket for the chi-square approximation).
    salt : str
    buckets : int
    template : str

    Returns
    -------
    UniformityResult

    Raises
    ------
    DataError
        Bad ids, salt or buckets; fewer than 5 ids per bucket.
    """
    b = bucket(ids, salt, buckets, template=template)
    if b.size < 5 * buckets:
        raise DataError(f"{b.size} ids are too few for {buckets} buckets (need >= 5 per bucket)",
                        column="ids")
    from bayeslab.design.srm import srm_check

    counts = np.bincount(b, minlength=buckets)
    res = srm_check(counts)
    expected = b.size / buckets
    return UniformityResult(n=int(b.size), buckets=int(buckets), chi2=res.chi2, df=res.df,
                            p_value=res.p_value,
                            max_relative_deviation=float(np.abs(counts - expected).max()
                                                         / expected))
