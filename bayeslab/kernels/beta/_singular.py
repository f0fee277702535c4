r"""Two-arm integrals when a Beta parameter is below 1: quantile-space adaptive quadrature.

A density with :math:`a < 1` or :math:`b < 1` is infinite at 0 or 1, which no fixed
Gauss-Legendre rule against the density resolves. :func:`control_expectation` integrates
:math:`E[g(p_C)] = \int_0^1 g(Q_C(u))\,du` instead (the quantile substitution removes the outer
density), adaptively, and raises :class:`~bayeslab.core.errors.ConvergenceError` when it cannot
reach its accuracy. The quantiles come from ``scipy.special.betaincinv`` (3 us a level) where
its round trip holds, else from the numpy :func:`~bayeslab.kernels.beta._cdf.ppf` (1 ms a
level); quantiles of the difference and the ratio are bracketed roots of their CDFs
(:func:`quantile`).
"""

from __future__ import annotations

import math

import numpy as np

from bayeslab.kernels.beta import _cdf
from bayeslab.kernels.beta._multi import _bracketed_root
from bayeslab.kernels.beta._one import cdf
from bayeslab.kernels.beta._rules import beta_moments
from bayeslab.kernels.distributions import norm_ppf

_KINK_SDS = (-12.0, -6.0, -3.0, -1.5, 0.0, 1.5, 3.0, 6.0, 12.0)


def kinks(a, b) -> list[float]:
    """Where a function of Beta(a, b)'s CDF changes fast: its mean +- up to 12 sd."""
    m, s_ = (float(v) for v in beta_moments(a, b))
    return [m + k * s_ for k in _KINK_SDS]


_GL_PAIR = (np.polynomial.legendre.leggauss(24), np.polynomial.legendre.leggauss(48))


def _outer_ppf(u, a, b):
    """Quantiles at many levels ``u``, for the quadrature of :func:`control_expectation`.

    scipy's ``betaincinv`` where its round trip through ``betainc`` holds to 1e-7 of the nearer
    tail, the numpy :func:`~bayeslab.kernels.beta._cdf.ppf` where it does not (scipy returns a
    constant at a = 1000, b = 1e9); the numpy quantile costs 1 ms a level, scipy's 3 us.
    """
    from scipy import special

    q = np.asarray(special.betaincinv(a, b, u), dtype=float)
    bad = ~(np.abs(special.betainc(a, b, q) - u) <= 1e-7 * np.minimum(u, 1.0 - u))
    if np.any(bad):
        q[bad] = _cdf.ppf(u[bad], a, b)
    return q


def _gauss(g, a_c, b_c, lo: float, hi: float, rule) -> float:
    x, w = rule
    u = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    return 0.5 * (hi - lo) * float(np.sum(w * g(_outer_ppf(u, a_c, b_c))))


def control_expectation(g, a_c, b_c, kinks=(), atol: float = 0.0) -> float:
    r""":math:`E[g(p_C)] = \int_0^1 g(Q_C(u))\,du` for a Beta with a parameter below 1.

    The quantile substitution removes the outer density (infinite at 0 or 1 when a parameter
    is below 1) and follows its mass however narrow (1e8 units beside 100, or the other way
    round); the integral is split at :math:`u = F_C(k)` for every ``kink`` :math:`k` where the
    vectorized ``g`` changes fast (the inner posterior's mean +- 12 sd, the ends of a window).
    Each piece is integrated with 24- and 48-point Gauss-Legendre rules and halved until they
    agree to 1e-11 of the whole integral per unit of :math:`u` (or to 1e-14 of it outright), so
    a small result keeps its digits; ``atol`` (a CDF evaluated for a quantile search) caps the
    accuracy asked of a result near 0.

    Raises
    ------
    ConvergenceError
        The rules still disagree after 40 halvings of a piece, or after 4,000 pieces: the
        kernel raises instead of returning a number it cannot vouch for.
    """
    cuts = np.atleast_1d(cdf(np.asarray([k for k in kinks if 0.0 < k < 1.0], float), a_c, b_c))
    edges = [0.0, *sorted({float(c) for c in cuts if 0.0 < c < 1.0}), 1.0]
    pieces = [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True) if hi > lo]
    # a first pass with the finer rule sets the tolerance; each piece keeps its value
    todo = [(lo, hi, 0, _gauss(g, a_c, b_c, lo, hi, _GL_PAIR[1])) for lo, hi in pieces]
    tol = max(1e-11 * abs(sum(t[3] for t in todo)), atol, 1e-300)
    total, budget = 0.0, 4000
    while todo:
        lo, hi, depth, fine = todo.pop()
        budget -= 1
        coarse = _gauss(g, a_c, b_c, lo, hi, _GL_PAIR[0])
        # error per unit of u within tol, or a piece too small to matter (near an end, where
        # the quantile function is singular, pieces shrink before their rules agree)
        if abs(fine - coarse) <= max(tol * (hi - lo), 1e-3 * tol, 1e-300):
            total += fine
        elif depth < 40 and budget > 0:
            # a piece spanning decades of u (the tail of a narrow control beside a singular
            # treatment) is split geometrically: halving [1e-55, 1] would need 180 levels
            if lo > 0.0 and hi > 1e3 * lo:
                mid = math.sqrt(lo * hi)
            elif hi < 1.0 and (1.0 - lo) > 1e3 * (1.0 - hi):
                mid = 1.0 - math.sqrt((1.0 - lo) * (1.0 - hi))
            else:
                mid = 0.5 * (lo + hi)
            todo += [(x, y, depth + 1, _gauss(g, a_c, b_c, x, y, _GL_PAIR[1]))
                     for x, y in ((lo, mid), (mid, hi))]
        elif abs(fine - coarse) <= tol:  # a 1e-12 sliver at a singular end: within budget
            total += fine
        else:
            from bayeslab.core.errors import ConvergenceError

            raise ConvergenceError(
                f"Beta kernel: the integral over Beta({a_c:g}, {b_c:g}) did not reach its "
                f"accuracy near u = {lo:.3g} (rules differ by {abs(fine - coarse):.2g})")
    return total


def quantile(cdf_fn, q: float, guess: float, scale: float, lo_lim: float,
             hi_lim: float) -> float:
    """Solve ``cdf_fn(v) = q`` by bracketing and the Illinois method (a parameter below 1)."""
    step = scale if np.isfinite(scale) and scale > 0 else 1e-3
    lo, hi = max(guess - 6 * step, lo_lim), min(guess + 6 * step, hi_lim)
    for _ in range(200):  # the step doubles: bounded, and reaches any limit in time
        if not (cdf_fn(lo) > q and lo > lo_lim):
            break
        step *= 2
        lo = max(lo_lim, lo - step)
    step = scale if np.isfinite(scale) and scale > 0 else 1e-3
    for _ in range(200):
        if not (cdf_fn(hi) < q and hi < hi_lim):
            break
        step *= 2
        hi = min(hi_lim, hi + step)
    return _bracketed_root(lambda v: cdf_fn(v) - q, lo, hi)


def normal_guess(q, mean, sd):
    """The normal approximation's quantile ``q``: ``mean + sd * Phi^-1(q)``."""
    return float(mean + sd * norm_ppf(q))
