r"""Recursive numerical integration over the looks of a group-sequential test (numpy kernel).

The standardised statistics :math:`Z_1, \dots, Z_K` at information fractions
:math:`0 < t_1 < \dots < t_K = 1` are those of a Brownian motion with drift :math:`\theta`:
:math:`S_k = Z_k \sqrt{t_k}` has independent increments
:math:`S_k - S_{k-1} \sim N(\theta \Delta_k, \Delta_k)`, :math:`\Delta_k = t_k - t_{k-1}`, and
:math:`E[Z_K] = \theta`. The sub-density of :math:`S_k` on the continuation region (no boundary
crossed so far) follows from the previous one by a convolution with the increment density
(Armitage, McPherson and Rowe 1969; Jennison and Turnbull 2000, ch. 19). Each convolution is
evaluated by composite Simpson's rule on a grid over the continuation region, one matrix product per
look; crossing probabilities are a weighted sum of normal tail probabilities.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

#: Number of standard deviations kept on each side of the unconditional mean of :math:`S_k`.
TAIL_SD = 8.5
#: Grid spacing is the smaller increment standard deviation divided by this.
POINTS_PER_SD = 10
MAX_POINTS = 3001


def _simpson(lo: float, hi: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    intervals = max(int(math.ceil((hi - lo) / step)), 40)
    intervals = min(intervals + (intervals % 2), MAX_POINTS - 1)
    x = np.linspace(lo, hi, intervals + 1)
    h = (hi - lo) / intervals
    w = np.full(intervals + 1, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    return x, w * h / 3.0


class Recursion:
    r"""State of the sub-density of :math:`S_k` on the continuation region after look ``k``.

    Parameters
    ----------
    fractions : array_like
        Increasing information fractions :math:`t_1, \dots, t_K`.
    drift : float
        :math:`\theta = E[Z_K]`, the expected z statistic at full information.
    """

    def __init__(self, fractions, drift: float = 0.0):
        self.t = np.concatenate([[0.0], np.asarray(fractions, dtype=float)])
        self.drift = float(drift)
        self.k = 0
        # point mass at S_0 = 0: points and weighted density (weights x sub-density)
        self.s = np.zeros(1)
        self.g = np.ones(1)

    def _moments(self):
        k = self.k + 1
        delta = self.t[k] - self.t[k - 1]
        return k, delta, math.sqrt(delta), math.sqrt(self.t[k])

    def prob_above(self, z: float) -> float:
        """P(no crossing before the next look, and :math:`Z` at the next look >= ``z``)."""
        if z == math.inf:
            return 0.0
        if z == -math.inf:
            return float(self.g.sum())
        _, delta, sd, rt = self._moments()
        return float(self.g @ ndtr((self.s + self.drift * delta - z * rt) / sd))

    def prob_below(self, z: float) -> float:
        """P(no crossing before the next look, and :math:`Z` at the next look <= ``z``)."""
        if z == -math.inf:
            return 0.0
        if z == math.inf:
            return float(self.g.sum())
        _, delta, sd, rt = self._moments()
        return float(self.g @ ndtr((z * rt - self.s - self.drift * delta) / sd))

    def advance(self, lower: float, upper: float) -> None:
        """Move to the next look, keeping the sub-density on ``lower < Z < upper``."""
        k, delta, sd, rt = self._moments()
        mean = self.drift * self.t[k]
        lo = max(lower * rt, mean - TAIL_SD * rt) if lower > -math.inf else mean - TAIL_SD * rt
        hi = min(upper * rt, mean + TAIL_SD * rt) if upper < math.inf else mean + TAIL_SD * rt
        self.k = k
        if hi <= lo or not self.g.any():
            self.s, self.g = np.zeros(1), np.zeros(1)
            return
        step = sd
        if k < len(self.t) - 1:
            step = min(step, math.sqrt(self.t[k + 1] - self.t[k]))
        x, w = _simpson(lo, hi, step / POINTS_PER_SD)
        dens = np.exp(-0.5 * ((x[:, None] - self.s[None, :] - self.drift * delta) / sd) ** 2)
        f = dens @ self.g / (sd * math.sqrt(2.0 * math.pi))
        self.s, self.g = x, w * f


def crossing_probabilities(fractions, upper, lower, drift: float = 0.0):
    """Probabilities of first crossing the upper and the lower boundary at each look.

    Parameters
    ----------
    fractions : array_like
        Information fractions, increasing, the last one 1 (or any positive scale).
    upper, lower : array_like
        Boundaries on the z scale; ``inf`` / ``-inf`` for none.
    drift : float
        Expected z statistic at full information.

    Returns
    -------
    tuple of numpy.ndarray
        ``(p_upper, p_lower)``, the probability of stopping at look k through each boundary.
    """
    rec = Recursion(fractions, drift)
    p_up = np.zeros(len(fractions))
    p_lo = np.zeros(len(fractions))
    for k, (a, b) in enumerate(zip(lower, upper, strict=True)):
        p_up[k] = rec.prob_above(b)
        p_lo[k] = rec.prob_below(a)
        if k < len(fractions) - 1:
            rec.advance(a, b)
    return p_up, p_lo
