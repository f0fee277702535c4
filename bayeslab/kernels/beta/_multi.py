r"""Several Beta arms, the far-tail integral and a bracketed root finder, numpy only.

Part of :mod:`bayeslab.kernels.beta` (re-exported there). For independent
:math:`p_k \sim \mathrm{Beta}(a_k, b_k)`:

.. math::

    P(\text{best}_k) = \int f_k(x) \prod_{j \ne k} F_j(x)\, dx, \qquad
    E[\max_k p_k] = \int_0^1 \Bigl(1 - \prod_k F_k(x)\Bigr)\, dx,

on fixed composite Gauss-Legendre panels around every arm (:func:`_union_nodes`). The CDFs come
from :mod:`bayeslab.kernels.beta._cdf`. A parameter below 1 (a density singular at a boundary)
falls back to adaptive quadrature (``scipy.integrate``, imported only there).
"""

from __future__ import annotations

import math

import numpy as np

from bayeslab.kernels.beta import _cdf as beta_cdf
from bayeslab.kernels.beta._density import log_pdf
from bayeslab.kernels.beta._one import cdf as _cdf
from bayeslab.kernels.beta._one import singular as _singular


def _moments(a, b):
    m = a / (a + b)
    return m, math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))


TAIL_FLOOR = 1e-300
"""Tail probabilities below this are returned as 0.0 ("below 1e-300"), never as a floor value."""


def _quad(f, lo=0.0, hi=1.0, points=None) -> float:
    from scipy import integrate

    val, _ = integrate.quad(f, lo, hi, points=points, limit=400, epsabs=1e-14, epsrel=1e-11)
    return float(val)


def _sorted_unique(v):
    """``np.unique`` of a 1-d float array without its first-call import of ``numpy.ma`` (5 ms)."""
    v = np.sort(v)
    return v[np.concatenate(([True], v[1:] != v[:-1]))]


_PEAK_GRID = 32
_WIDTHS = np.array([0.0, 0.5, 1.25, 2.25, 3.5, 5.0, 7.0, 10.0, 14.0, 20.0, 28.0, 40.0])
_GL_PEAK = np.polynomial.legendre.leggauss(16)


def _log_tail_integral(log_f, lo: float, hi: float, scale: float) -> float:
    r"""Integral of :math:`e^{\ell(x)}` over (lo, hi) for a log-concave, possibly tiny integrand.

    ``log_f`` (:math:`\ell`, vectorized) is concave, so the integrand has one peak. It is
    located on grids of 32 points, each refining the previous one around its maximum (three
    rounds: to 1/16000 of the range); its width :math:`1/\sqrt{-\ell''}` is measured by the
    second difference at ``scale / 8`` (``scale``: the smaller posterior standard deviation).
    The integral is then :math:`e^{\ell(p)}` times a fixed composite 16-point Gauss-Legendre
    rule over the peak :math:`p \pm 40` widths (panel edges at 0.5, 1.25, ... 40 widths,
    clipped to (lo, hi)) of :math:`e^{\ell(x) - \ell(p)}`, so results far below
    double-precision epsilon relative to 1 keep their relative accuracy. Results below
    :data:`TAIL_FLOOR` are returned as 0.0.
    """
    a, b = lo, hi
    for _ in range(3):
        x = np.linspace(a, b, _PEAK_GRID + 2)[1:-1]
        vals = log_f(x)
        i = int(np.argmax(vals))
        step = x[1] - x[0]
        a, b = max(lo, x[i] - step), min(hi, x[i] + step)
    peak, top = float(x[i]), float(vals[i])
    if not np.isfinite(top) or top < math.log(TAIL_FLOOR) - 50.0:
        return 0.0
    h = min(scale / 8.0, peak - lo, hi - peak) if lo < peak < hi else scale / 8.0
    side = log_f(np.array([peak - h, peak + h]))
    curv = (side[0] - 2.0 * top + side[1]) / h**2
    width = 1.0 / math.sqrt(-curv) if np.isfinite(curv) and curv < 0 else scale
    edges = _sorted_unique(np.clip(np.concatenate([peak - width * _WIDTHS[::-1],
                                                   peak + width * _WIDTHS]), lo, hi))
    u, v = edges[:-1, None], edges[1:, None]
    gx, gw = _GL_PEAK
    nodes = ((u + v) / 2 + (v - u) / 2 * gx).ravel()
    weights = ((v - u) / 2 * gw).ravel()
    with np.errstate(under="ignore"):
        val = float(np.sum(weights * np.exp(log_f(nodes) - top))) * math.exp(top)
    return val if val >= TAIL_FLOOR else 0.0


def _bracketed_root(f, lo: float, hi: float, xtol: float = 1e-13, rtol: float = 1e-12) -> float:
    """Root of ``f`` in [lo, hi] by the Illinois variant of regula falsi, with bisection.

    Replaces ``scipy.optimize.brentq``: each step takes the secant point (the retained end's
    value halved when the same end is kept twice, so it converges superlinearly), bisecting
    when the secant point leaves the bracket; stops at ``xtol + rtol |x|``; at most 200 steps.
    """
    f_lo, f_hi = f(lo), f(hi)
    if f_lo == 0:
        return float(lo)
    if f_hi == 0 or f_lo * f_hi > 0:
        return float(hi)
    side = 0
    for _ in range(200):
        x = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        if not lo < x < hi:
            x = 0.5 * (lo + hi)
        fx = f(x)
        if fx == 0 or hi - lo <= 2 * (xtol + rtol * abs(x)):
            return float(x)
        if fx * f_lo > 0:
            lo, f_lo = x, fx
            if side == -1:
                f_hi *= 0.5
            side = -1
        else:
            hi, f_hi = x, fx
            if side == 1:
                f_lo *= 0.5
            side = 1
    return float(0.5 * (lo + hi))



_BEST_EDGES = np.array([-40.0, -20.0, -12.0, -8.0, -5.0, -3.0, -1.5, 0.0, 1.5, 3.0, 5.0, 8.0, 12.0,
                        20.0, 40.0])
_GL_BEST = np.polynomial.legendre.leggauss(16)


def _all_points(params) -> list[float]:
    pts = set()
    for a, b in params:
        m, s = _moments(a, b)
        for k in (-8, -3, 0, 3, 8):
            v = float(m + k * s)
            if 0 < v < 1:
                pts.add(v)
    return sorted(pts)


def _union_nodes(params):
    """Composite 16-point Gauss-Legendre nodes on the union of every arm's panels.

    Panel edges at each arm's mean + (0, 1.5, 3, 5, 8, 12, 20, 40) sd on either side, clipped
    to [0, 1]: near every arm the panels are at most 1.5 of its sd wide, so an integrand made of
    these densities and CDFs is smooth on each panel. Returns ``(x, w, lo, hi)``.
    """
    edges = []
    for a, b in params:
        m, s = _moments(a, b)
        edges.append(np.clip(m + s * _BEST_EDGES, 0.0, 1.0))
    edges = _sorted_unique(np.concatenate(edges))
    u, v = edges[:-1, None], edges[1:, None]
    gx, gw = _GL_BEST
    return ((u + v) / 2 + (v - u) / 2 * gx).ravel(), ((v - u) / 2 * gw).ravel(), edges[0], edges[-1]


def prob_best(params) -> np.ndarray:
    r"""P(arm k has the highest rate) for each of several independent Beta posteriors.

    .. math:: P(\text{best}_k) = \int f_k(x) \prod_{j \ne k} F_j(x)\, dx

    With every parameter at least 1 the integrals use fixed composite Gauss-Legendre panels
    over every arm's mean :math:`\pm 40` sd (:func:`_union_nodes`; mass outside is below
    1e-300); a parameter below 1 (a density singular at a boundary) uses adaptive quadrature.

    Parameters
    ----------
    params : sequence of (a, b)
        Beta parameters per arm.
    """
    params = [(float(a), float(b)) for a, b in params]
    if _singular(*(v for p in params for v in p)):
        return _prob_best_adaptive(params)
    x, w, _, _ = _union_nodes(params)
    log_cdfs = np.array([beta_cdf.log_cdf(x, a, b) for a, b in params])
    total = log_cdfs.sum(axis=0)
    out = []
    for k, (a, b) in enumerate(params):
        with np.errstate(invalid="ignore"):
            val = np.exp(log_pdf(x, a, b) + (total - log_cdfs[k]))
        out.append(np.sum(w * np.nan_to_num(val)))
    out = np.asarray(out)
    return out / out.sum()


def _prob_best_adaptive(params) -> np.ndarray:
    pts = _all_points(params)
    out = []
    for k, (a_k, b_k) in enumerate(params):
        others = [p for j, p in enumerate(params) if j != k]

        def f(x, a_k=a_k, b_k=b_k, others=others):
            val = np.exp(log_pdf(x, a_k, b_k))
            for a, b in others:
                val = val * _cdf(x, a, b)
            return val

        out.append(_quad(f, points=pts))
    out = np.asarray(out)
    return out / out.sum()


def expected_max(params) -> float:
    r""":math:`E[\max_k p_k] = \int_0^1 (1 - \prod_k F_k(x))\,dx` for independent Betas.

    Below the lowest panel edge :math:`L` (every arm's mean - 40 sd) the product is 0 and the
    integrand 1; above the highest it is 1 and the integrand 0, so
    :math:`E[\max] = L + \int_L^U (1 - \prod_k F_k)\,dx` on the panels of :func:`prob_best`.
    """
    params = [(float(a), float(b)) for a, b in params]

    def f(x):
        prod = 1.0
        for a, b in params:
            prod = prod * _cdf(x, a, b)
        return 1.0 - prod

    if _singular(*(v for p in params for v in p)):
        return _quad(f, points=_all_points(params))
    x, w, lo, _ = _union_nodes(params)
    return float(lo + np.sum(w * f(x)))
