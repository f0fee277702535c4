"""Sample ratio mismatch: chi-square goodness of fit of arm counts against the planned split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from bayeslab.errors import DataError
from bayeslab.results import jsonable

DEFAULT_THRESHOLD = 0.001


@dataclass(frozen=True)
class SRMResult:
    r"""Chi-square test of the observed arm counts against the planned shares.

    :math:`\chi^2 = \sum_k (O_k - E_k)^2 / E_k` with :math:`E_k = N \pi_k`, on :math:`K - 1`
    degrees of freedom; ``mismatch`` is true when the p-value is below ``threshold``.
    """

    observed: np.ndarray
    expected: np.ndarray
    planned: np.ndarray
    chi2: float
    df: int
    p_value: float
    threshold: float

    @property
    def mismatch(self) -> bool:
        """True when the p-value is below the threshold: the split is not what was planned."""
        return bool(self.p_value < self.threshold)

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return jsonable({"observed": self.observed, "expected": self.expected,
                         "planned": self.planned, "chi2": self.chi2, "df": self.df,
                         "p_value": self.p_value, "threshold": self.threshold,
                         "mismatch": self.mismatch})

    def __str__(self) -> str:
        verdict = "MISMATCH" if self.mismatch else "ok"
        return (f"SRM check: observed {', '.join(f'{o:,.0f}' for o in self.observed)} vs planned "
                f"{', '.join(f'{p:.3g}' for p in self.planned)}: chi2({self.df}) = "
                f"{self.chi2:.3f}, p = {self.p_value:.3g} -> {verdict} "
                f"(threshold {self.threshold:g})")


def srm_check(observed, planned=None, threshold: float = DEFAULT_THRESHOLD) -> SRMResult:
    """Test arm counts against the planned split (equal shares by default).

    Parameters
    ----------
    observed : array_like
        Units per arm.
    planned : array_like, optional
        Planned shares per arm (normalised to sum to 1); equal by default.
    threshold : float
        p-value below which the split is declared a mismatch (strict default 0.001).

    Raises
    ------
    DataError
        Negative or fractional counts, or planned shares that are not positive or do not match
        the number of arms.
    """
    obs = np.asarray(observed, dtype=float)
    if obs.ndim != 1 or len(obs) < 2 or (obs < 0).any() or (obs != np.floor(obs)).any():
        raise DataError(f"observed counts must be >= 2 non-negative whole numbers, got {observed}")
    shares = np.full(len(obs), 1 / len(obs)) if planned is None else np.asarray(planned, float)
    if shares.shape != obs.shape or (shares <= 0).any() or not np.isfinite(shares).all():
        raise DataError(f"planned split {planned} must give a positive share to each of the "
                        f"{len(obs)} arms")
    shares = shares / shares.sum()
    expected = obs.sum() * shares
    res = sps.chisquare(obs, expected)
    return SRMResult(observed=obs, expected=expected, planned=shares, chi2=float(res.statistic),
                     df=len(obs) - 1, p_value=float(res.pvalue), threshold=float(threshold))
