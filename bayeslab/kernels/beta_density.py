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
accuracy at any size. Small parameters (either of :math:`A, B` below ``_LARGE``) use the textbook
form, which is exact there.
"""

from __future__ import annotations

import numpy as np
from scipy import special

_LARGE = 50.0
# Stirling series of delta(z) = log Gamma(z + 1) - (z log z - z + log(2 pi z) / 2):
# 1/(12 z) - 1/(360 z^3) + 1/(1260 z^5) - 1/(1680 z^7) + 1/(1188 z^9); the next term is below
# 1e-20 for z >= 50.
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188)


def stirling_delta(z):
    r""":math:`\delta(z) = \log\Gamma(z+1) - z\log z + z - \tfrac12\log(2\pi z)` for ``z >= 50``."""
    z = np.asarray(z, dtype=float)
    inv2 = 1.0 / (z * z)
    acc = np.zeros_like(z)
    for c in reversed(_STIRLING):
        acc = acc * inv2 + c
    return acc / z


def log1pmx(u):
    r""":math:`\log(1 + u) - u`, accurate also for small :math:`|u|` (no cancellation).

    With :math:`t = u / (2 + u)`, :math:`\log(1 + u) = 2\,\mathrm{artanh}(t)`, so
    :math:`\log(1+u) - u = -u^2 / (2 + u) + 2(t^3/3 + t^5/5 + \dots)`.
    """
    u = np.asarray(u, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.log1p(u) - u
        t = u / (2.0 + u)
        t2 = t * t
        acc = np.zeros_like(t)
        for k in range(21, 1, -2):  # t^2/3 + t^4/5 + ... to t^20/21
            acc = (acc + 1.0 / k) * t2
        series = -u * u / (2.0 + u) + 2.0 * t * acc
    return np.where(np.abs(u) < 0.1, series, direct)


def _log_pdf_textbook(x, a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return special.xlogy(a - 1.0, x) + special.xlog1py(b - 1.0, -x) - special.betaln(a, b)


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


def _log_pdf_large(x, a, b):
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
    dx = x - m
    with np.errstate(divide="ignore", invalid="ignore"):
        return (top + big_a * log1pmx(dx / m) + big_b * log1pmx(-dx / (1.0 - m))
                + slope * dx)


def log_pdf(x, a, b):
    """Log density of Beta(a, b) at ``x`` (``-inf`` outside (0, 1)), broadcast over all three.

    Accurate to about 1e-13 absolute for any parameters, including :math:`a + b` of
    :math:`10^{13}` (see the module notes).
    """
    x, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, a, b)))
    large = (a - 1.0 >= _LARGE) & (b - 1.0 >= _LARGE)
    if np.all(large):
        out = _log_pdf_large(x, a, b)
    elif not np.any(large):
        out = _log_pdf_textbook(x, a, b)
    else:
        safe_a, safe_b = np.where(large, a, _LARGE + 2.0), np.where(large, b, _LARGE + 2.0)
        out = np.where(large, _log_pdf_large(x, safe_a, safe_b), _log_pdf_textbook(x, a, b))
    out = np.where((x > 0) & (x < 1), out, -np.inf)
    return out if out.ndim else float(out)
