r"""The Beta log density, accurate for parameters from below 1 to :math:`10^{13}` and beyond.

The textbook form :math:`(a-1)\log x + (b-1)\log(1-x) - \log B(a, b)` adds three terms of size
about :math:`a + b` that cancel to a number of order 1. In double precision each carries an
absolute error of about :math:`10^{-16}(a + b)`, so at :math:`a + b = 10^{12}` the density is off
by about 1% and a probability integrated against it sticks near 0.994 whatever the data say
(issue 14). For :math:`A = a - 1` and :math:`B = b - 1` both large this module writes the density
around its mode :math:`m = A / N`, :math:`N = A + B`, where the first-order terms cancel exactly:

.. math::

    \log f(x) = \log f(m) + A\,\ell\!\left(\frac{x - m}{m}\right)
                + B\,\ell\!\left(-\frac{x - m}{1 - m}\right), \qquad
    \ell(u) = \log(1 + u) - u,

and the density at the mode follows from Stirling's series
:math:`\log\Gamma(z + 1) = z\log z - z + \tfrac12\log(2\pi z) + \delta(z)` with no large terms left:

.. math::

    \log f(m) = \log(N + 1) + \tfrac12 \log\frac{N}{2\pi A B} + \delta(N) - \delta(A) - \delta(B).

Every term is of order 1 (or :math:`\log N`), so the log density keeps about 1e-13 absolute
accuracy at any size. Small parameters (either of :math:`A, B` below 50, or :math:`a + b` below
1e4) use the textbook form, accurate to about 3e-12 there and cheaper.

Nothing here imports scipy (start-up time of the command line): :math:`\log B(a, b)` comes from
:func:`betaln`, Stirling's series with the large terms combined before they are rounded.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

_LARGE = 50.0
_LARGE_TOTAL = 1e4  # below this the textbook form is already accurate to about 3e-12
# Stirling series of delta(z) = log Gamma(z + 1) - (z log z - z + log(2 pi z) / 2):
# 1/(12 z) - 1/(360 z^3) + 1/(1260 z^5) - 1/(1680 z^7) + 1/(1188 z^9) - 691/(360360 z^11)
# + 1/(156 z^13); the next term is below 3e-17 for z >= 10 (below 1e-30 for z >= 50).
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_SHIFT = 10.0  # lgamma of z < 10 by the recurrence from z + 10


def stirling_delta(z):
    r""":math:`\delta(z) = \log\Gamma(z+1) - z\log z + z - \tfrac12\log(2\pi z)` for ``z >= 10``.

    Also :math:`\log\Gamma(z) - (z - \tfrac12)\log z + z - \tfrac12\log 2\pi`; absolute error
    below 3e-17 from ``z = 10`` on.
    """
    z = np.asarray(z, dtype=float)
    inv2 = 1.0 / (z * z)
    acc = np.zeros_like(z)
    for c in reversed(_STIRLING):
        acc = acc * inv2 + c
    return acc / z


def _lgamma_shifted(z):
    """``(log Gamma(z + k) by Stirling, log(z (z+1) ... (z+k-1)))`` with ``k = 10`` for z < 10."""
    small = z < _SHIFT
    k = np.where(small, _SHIFT, 0.0)
    prod = np.ones_like(z)
    for i in range(int(_SHIFT)):
        prod = prod * np.where(small, z + i, 1.0)
    zk = z + k
    stir = (zk - 0.5) * np.log(zk) - zk + 0.5 * math.log(2.0 * math.pi) + stirling_delta(zk)
    return stir, np.log(prod)


def lgamma(z):
    r""":math:`\log\Gamma(z)` for ``z > 0``, vectorized (numpy only).

    Stirling's series for :math:`z \ge 10`, else :math:`\log\Gamma(z + 10)` less
    :math:`\log\prod_{i<10}(z + i)`; relative error about 1e-16.
    """
    z = np.asarray(z, dtype=float)
    stir, log_prod = _lgamma_shifted(z)
    return stir - log_prod


def _lgamma_ratio(x, y):
    r""":math:`\log\Gamma(y) - \log\Gamma(x + y)` for :math:`y \ge 10`, without cancellation.

    .. math:: -(y - \tfrac12)\,\mathrm{log1p}(x / y) - x\log(x + y) + x + \delta(y) - \delta(x + y)
    """
    return (-(y - 0.5) * np.log1p(x / y) - x * np.log(x + y) + x
            + stirling_delta(y) - stirling_delta(x + y))


def betaln(a, b):
    r""":math:`\log B(a, b)` for ``a, b > 0``, vectorized, numpy only (replaces ``scipy.special``).

    With :math:`x = \min(a, b)`, :math:`y = \max(a, b)` and :math:`s = x + y`: for
    :math:`x \ge 10`,

    .. math::

        \log B = \tfrac12\log 2\pi - \tfrac12\log s + (x - \tfrac12)\log\frac{x}{s}
                 + (y - \tfrac12)\,\mathrm{log1p}\!\left(-\frac{x}{s}\right)
                 + \delta(x) + \delta(y) - \delta(s)

    (:math:`\delta`: :func:`stirling_delta`), whose terms are the size of the result, not of
    :math:`s \log s`; otherwise :math:`\log\Gamma(x)` plus :func:`_lgamma_ratio`
    (or three :func:`lgamma` when :math:`y < 10` too). Absolute error about 1e-16 times the
    result at any size, where ``lgamma(a) + lgamma(b) - lgamma(a + b)`` loses
    :math:`10^{-16} s \log s`.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    x, y = np.minimum(a, b), np.maximum(a, b)
    s = x + y
    with np.errstate(divide="ignore", invalid="ignore"):
        big = ((x - 0.5) * np.log(x / s) + (y - 0.5) * np.log1p(-x / s)
               + 0.5 * (math.log(2 * math.pi) - np.log(s))
               + stirling_delta(x) + stirling_delta(y) - stirling_delta(s))
        ys = np.maximum(y, _SHIFT)
        mid = lgamma(x) + _lgamma_ratio(x, ys)
        tiny = lgamma(x) + lgamma(y) - lgamma(s)
    out = np.where(x >= _SHIFT, big, np.where(y >= _SHIFT, mid, tiny))
    return out if out.ndim else float(out)


def _log1pmx_series(u):
    t = u / (2.0 + u)
    t2 = t * t
    acc = np.zeros_like(t)
    for k in range(17, 1, -2):  # t^2/3 + ... + t^16/17; |t| < 0.053: next term < 1e-21
        acc = (acc + 1.0 / k) * t2
    return -u * u / (2.0 + u) + 2.0 * t * acc


def log1pmx(u):
    r""":math:`\log(1 + u) - u`, accurate also for small :math:`|u|` (no cancellation).

    With :math:`t = u / (2 + u)`, :math:`\log(1 + u) = 2\,\mathrm{artanh}(t)`, so
    :math:`\log(1+u) - u = -u^2 / (2 + u) + 2(t^3/3 + t^5/5 + \dots)` for :math:`|u| < 0.1`.
    """
    u = np.asarray(u, dtype=float)
    small = np.abs(u) < 0.1
    if np.all(small):
        return _log1pmx_series(u)
    out = np.empty_like(u)
    out[small] = _log1pmx_series(u[small])
    with np.errstate(divide="ignore", invalid="ignore"):
        out[~small] = np.log1p(u[~small]) - u[~small]
    return out


def _xlog(c, v):
    """``c * v`` with ``0 * (-inf) = 0`` (as ``scipy.special.xlogy``)."""
    return np.where(c == 0.0, 0.0, c * v)


def _log_pdf_textbook(x, a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (_xlog(a - 1.0, np.log(x)) + _xlog(b - 1.0, np.log1p(-x))
                - np.asarray(betaln(a, b)))


def _two_product(a, b):
    """``(p, e)`` with ``p = fl(a * b)`` and ``a * b = p + e`` exactly (Dekker, Veltkamp split)."""
    def split(v):
        c = 134217729.0 * v  # 2**27 + 1
        hi = c - (c - v)
        return hi, v - hi

    p = a * b
    a_hi, a_lo = split(a)
    b_hi, b_lo = split(b)
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _mode_terms(a, b):
    """Per-parameter terms of the mode-centred form: ``(A, B, mode, log f(mode), slope)``."""
    big_a, big_b = a - 1.0, b - 1.0
    total = big_a + big_b
    total_err = (big_a - (total - big_b)) + (big_b - (total - (total - big_b)))  # TwoSum
    m = big_a / total
    top = (np.log1p(total) + 0.5 * np.log(total / (2.0 * np.pi * big_a * big_b))
           + stirling_delta(total) - stirling_delta(big_a) - stirling_delta(big_b))
    # the rounded mode m leaves a first-order term A/m - B/(1-m) = (A - N m) / (m (1 - m)),
    # with A - N m computed exactly (it cancels to about 1e-16 N)
    prod, prod_err = _two_product(total, m)
    slope = ((big_a - prod) - prod_err - total_err * m) / (m * (1.0 - m))
    return big_a, big_b, m, top, slope


def _log_pdf_large(x, a, b):
    big_a, big_b, m, top, slope = _mode_terms(a, b)
    dx = x - m
    with np.errstate(divide="ignore", invalid="ignore"):
        return (top + big_a * log1pmx(dx / m) + big_b * log1pmx(-dx / (1.0 - m))
                + slope * dx)


def log_pdf(x, a, b, *, large_total: float = _LARGE_TOTAL):
    """Log density of Beta(a, b) at ``x`` (``-inf`` outside (0, 1)), broadcast over all three.

    Accurate to about 1e-13 absolute for any parameters, including :math:`a + b` of
    :math:`10^{13}` (see the module notes). Per-parameter terms are computed at the parameters'
    own shape, so ``x`` of shape (experiments, nodes) against parameters of shape
    (experiments, 1) costs little more than the textbook form.

    ``large_total``: the mode-centred form is used from this :math:`a + b` on (default 1e4).
    The fixed-node simulation kernel passes 1e8: its 1e-6 accuracy allows the cheaper textbook
    form up to there (relative density error about 1e-8 at :math:`a + b = 10^8`).
    """
    x = np.asarray(x, dtype=float)
    if np.ndim(a) == 0 and np.ndim(b) == 0 and large_total == _LARGE_TOTAL:
        return _scalar_log_pdf(x, float(a), float(b))
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    large = (a - 1.0 >= _LARGE) & (b - 1.0 >= _LARGE) & (a + b >= large_total)
    if not np.any(large):
        out = _log_pdf_textbook(x, a, b)
    else:
        safe_a = np.where(large, a, _LARGE_TOTAL)
        safe_b = np.where(large, b, _LARGE_TOTAL)
        out = _log_pdf_large(x, safe_a, safe_b)
        if not np.all(large):
            out = np.where(large, out, _log_pdf_textbook(x, a, b))
    out = np.where((x > 0) & (x < 1), out, -np.inf)
    return out if out.ndim else float(out)


@lru_cache(maxsize=512)
def _scalar_terms(a: float, b: float):
    """Per-parameter terms of :func:`log_pdf` for scalar parameters, computed once."""
    if a - 1.0 >= _LARGE and b - 1.0 >= _LARGE and a + b >= _LARGE_TOTAL:
        return True, tuple(float(v) for v in _mode_terms(np.float64(a), np.float64(b)))
    return False, (a - 1.0, b - 1.0, float(betaln(a, b)))


def _scalar_log_pdf(x, a: float, b: float):
    """:func:`log_pdf` for scalar parameters: the same formulas, per-parameter terms cached."""
    large, terms = _scalar_terms(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        if large:
            big_a, big_b, m, top, slope = terms
            dx = x - m
            both = log1pmx(np.stack((dx / m, dx / (m - 1.0))))  # one call: half the overhead
            out = top + big_a * both[0] + big_b * both[1] + slope * dx
        else:
            am1, bm1, lbeta = terms
            out = ((am1 * np.log(x) if am1 else 0.0) + (bm1 * np.log1p(-x) if bm1 else 0.0)
                   - lbeta)
    out = np.where((x > 0) & (x < 1), out, -np.inf)
    return out if out.ndim else float(out)


def pdf(x, a, b):
    r"""Density of Beta(a, b) at ``x`` (0 outside (0, 1)): :math:`\exp` of :func:`log_pdf`.

    Broadcast over all three; accurate to about 1e-13 relative at any size, also for
    parameters below 1 (infinite at a boundary where :math:`a < 1` or :math:`b < 1`).
    """
    with np.errstate(over="ignore"):
        return np.exp(log_pdf(x, a, b))
