"""What a stopping rule sees at one look: cumulative statistics per arm, and the decision codes.

:class:`LookStats` holds arrays over experiments (the simulator's thousands, or one real
experiment's looks); a rule maps it to one decision code per experiment: ``CONTINUE`` (0),
``SUCCESS`` (1, a positive effect declared), ``FUTILITY`` (-1, stop without declaring) or
``HARM`` (2, a negative effect declared).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONTINUE, SUCCESS, FUTILITY, HARM = 0, 1, -1, 2


@dataclass(frozen=True)
class LookStats:
    """Cumulative statistics of every simulated experiment at one look (arrays over experiments).

    Attributes
    ----------
    look : int
        0-based look index.
    n_looks : int
    n_control, n_treatment : numpy.ndarray
        Units so far.
    sum_control, sum_treatment : numpy.ndarray
        Sums of the outcome (conversions for binary data).
    sumsq_control, sumsq_treatment : numpy.ndarray
        Sums of squares (equal to the sums for binary data).
    metric : {"binary", "normal"}
    """

    look: int
    n_looks: int
    n_control: np.ndarray
    n_treatment: np.ndarray
    sum_control: np.ndarray
    sum_treatment: np.ndarray
    sumsq_control: np.ndarray
    sumsq_treatment: np.ndarray
    metric: str

    @property
    def mean_control(self) -> np.ndarray:
        """Control mean (conversion rate)."""
        return self.sum_control / self.n_control

    @property
    def mean_treatment(self) -> np.ndarray:
        """Treatment mean (conversion rate)."""
        return self.sum_treatment / self.n_treatment

    @property
    def estimate(self) -> np.ndarray:
        """Treatment minus control."""
        return self.mean_treatment - self.mean_control

    def _var(self, s, ss, n):
        if self.metric == "binary":
            p = s / n
            return p * (1 - p)
        return np.maximum(ss - s**2 / n, 0.0) / np.maximum(n - 1, 1)

    @property
    def se(self) -> np.ndarray:
        """Unpooled standard error of the estimate."""
        return np.sqrt(self._var(self.sum_control, self.sumsq_control, self.n_control)
                       / self.n_control
                       + self._var(self.sum_treatment, self.sumsq_treatment, self.n_treatment)
                       / self.n_treatment)

    @property
    def z(self) -> np.ndarray:
        """Wald z statistic (pooled variance for binary data, as in the two-proportion z-test)."""
        if self.metric == "binary":
            n = self.n_control + self.n_treatment
            p = (self.sum_control + self.sum_treatment) / n
            se0 = np.sqrt(p * (1 - p) * (1 / self.n_control + 1 / self.n_treatment))
        else:
            se0 = self.se
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.estimate / se0
        return np.where(se0 > 0, z, 0.0)
