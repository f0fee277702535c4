"""High-precision reference for P(p_T < p_C) with independent Beta posteriors (mpmath).

Used by the kernel tests at any size, up to 1e13 units per arm, where double-precision formulas
lose their digits. The log densities are evaluated in 40-digit arithmetic (``mpmath.loggamma``),
so nothing cancels; the integrals use Gauss-Legendre nodes on panels one standard deviation
wide (ten nodes; eight between consecutive outer nodes), whose own error is far below the
tolerances of the tests:

.. math::

    P(p_T < p_C) = \\int f_C(c)\\, F_T(c)\\, dc, \\qquad
    F_T(c_{k+1}) = F_T(c_k) + \\int_{c_k}^{c_{k+1}} f_T(t)\\, dt,

the inner CDF accumulated over the sorted outer nodes (every term positive, so a tail
probability such as 1e-123 keeps its relative accuracy).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

_GX, _GW = np.polynomial.legendre.leggauss(10)
_IX, _IW = np.polynomial.legendre.leggauss(8)


def _log_density(a, b):
    a, b = mp.mpf(a), mp.mpf(b)
    norm = mp.loggamma(a + b) - mp.loggamma(a) - mp.loggamma(b)
    return lambda x: norm + (a - 1) * mp.log(x) + (b - 1) * mp.log1p(-x)


def _moments(a, b):
    a, b = mp.mpf(a), mp.mpf(b)
    return a / (a + b), mp.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


def _gl(lo, hi, nodes=(_GX, _GW)):
    half = (hi - lo) / 2
    mid = (hi + lo) / 2
    return [(mid + half * mp.mpf(float(x)), half * mp.mpf(float(w)))
            for x, w in zip(*nodes, strict=True)]


def prob_less(a_t, b_t, a_c, b_c, *, dps: int = 40):
    """P(p_T < p_C) as an ``mpmath.mpf``, relative accuracy far below 1e-10."""
    with mp.workdps(dps):
        lt, lc = _log_density(a_t, b_t), _log_density(a_c, b_c)
        m_t, s_t = _moments(a_t, b_t)
        m_c, s_c = _moments(a_c, b_c)
        s = min(s_t, s_c)
        lo = max(mp.mpf(0), min(m_c - 20 * s_c, m_t - 20 * s_t))
        hi = min(mp.mpf(1), max(m_c, m_t) + 20 * max(s_c, s_t))
        lo = max(lo, m_c - 20 * s_c)  # f_C is negligible below
        panels = int(mp.ceil((hi - lo) / s))
        edges = [lo + (hi - lo) * k / panels for k in range(panels + 1)]
        # F_T at the first edge: the mass of T below it, integrated over 40 sd below
        start = edges[0]
        cdf = mp.mpf(0)
        for k in range(80):
            u = start - s_t * (k + 1) / 2
            v = start - s_t * k / 2
            if v <= 0:
                break
            cdf += sum(w * mp.exp(lt(x)) for x, w in _gl(max(u, mp.mpf(0)), v))
        total = mp.mpf(0)
        prev = start
        for u, v in zip(edges[:-1], edges[1:], strict=True):
            for x, w in _gl(u, v):
                cdf += sum(w2 * mp.exp(lt(x2)) for x2, w2 in _gl(prev, x, (_IX, _IW)))
                prev = x
                total += w * mp.exp(lc(x)) * cdf
        return total
