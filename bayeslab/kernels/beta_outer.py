r"""Outer Gauss-Legendre nodes for the integrals of :mod:`bayeslab.kernels.beta`, cached per pair.

Every two-arm quantity is :math:`\int_L^U f_O(x)\, h(x)\, dx` for one posterior's density
:math:`f_O` (the *outer* one, :math:`\mathrm{Beta}(a_O, b_O)`) and a smooth inner function
:math:`h`. The rule is composite Gauss-Legendre: 96 nodes on the core
:math:`\mu \pm 8\sigma` and 32 on each tail panel out to :math:`\mu \pm 40\sigma`, every edge
clipped to :math:`[L, U]`, so

.. math:: \int_L^U f_O(x)\, h(x)\, dx \approx \sum_k \bigl(w_k f_O(x_k)\bigr)\, h(x_k).

The weighted densities :math:`w_k f_O(x_k)` depend only on the parameters and the four clipped
edges, so they are computed once per (parameters, edges) and reused by every integral of a
readout (the probability, the losses, each step of the quantile search): most bounds
:math:`L, U` of those integrals lie outside :math:`\mu \pm 40\sigma` and clip nothing. The
numbers are the same, bit for bit, as when each integral computes its own nodes.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from bayeslab.kernels.beta_density import log_pdf

_TAIL_SD = 40.0
_CORE_SD = 8.0


def _gl(n: int):
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


_GL_CORE = _gl(96)
_GL_TAIL = _gl(32)


def beta_moments(a, b):
    """Mean and standard deviation of Beta(a, b)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    m = a / (a + b)
    s = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    return m, s


def _nodes(a, b, lower=0.0, upper=1.0):
    """Composite Gauss-Legendre nodes and weights covering Beta(a, b) within [lower, upper].

    Shape (..., K). Panels: mean +- 8 sd (core) and out to +- 40 sd (tails), clipped to the
    bounds, so an integrand with a kink at a bound is integrated only on its smooth side.
    """
    m, s = beta_moments(a, b)
    upper = np.maximum(upper, lower)
    lo = np.clip(m - _TAIL_SD * s, lower, upper)
    hi = np.clip(m + _TAIL_SD * s, lower, upper)
    c_lo = np.clip(m - _CORE_SD * s, lo, hi)
    c_hi = np.clip(m + _CORE_SD * s, lo, hi)
    xs, ws = [], []
    for (u, v), (gx, gw) in (((lo, c_lo), _GL_TAIL), ((c_lo, c_hi), _GL_CORE),
                             ((c_hi, hi), _GL_TAIL)):
        half = (v - u)[..., None] / 2.0
        xs.append((u + v)[..., None] / 2.0 + half * gx)
        ws.append(half * gw)
    return np.concatenate(xs, axis=-1), np.concatenate(ws, axis=-1)


def _clip(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


def _edges(a: float, b: float, lower: float, upper: float) -> tuple[float, float, float, float]:
    """The clipped panel edges of :func:`_nodes` for scalars, in the same floating-point steps."""
    m = a / (a + b)
    s = math.sqrt(a * b / ((a + b) * (a + b) * (a + b + 1.0)))
    upper = max(upper, lower)
    lo = _clip(m - _TAIL_SD * s, lower, upper)
    hi = _clip(m + _TAIL_SD * s, lower, upper)
    return lo, _clip(m - _CORE_SD * s, lo, hi), _clip(m + _CORE_SD * s, lo, hi), hi


@lru_cache(maxsize=128)
def _weighted(a: float, b: float, edges: tuple[float, float, float, float]):
    """Nodes :math:`x_k` and weighted densities :math:`w_k f(x_k)` on the given panel edges."""
    lo, c_lo, c_hi, hi = edges
    xs, ws = [], []
    for (u, v), (gx, gw) in (((lo, c_lo), _GL_TAIL), ((c_lo, c_hi), _GL_CORE),
                             ((c_hi, hi), _GL_TAIL)):
        half = (v - u) / 2.0
        xs.append((u + v) / 2.0 + half * gx)
        ws.append(half * gw)
    x, w = np.concatenate(xs), np.concatenate(ws)
    wd = w * np.exp(log_pdf(x, a, b))
    x.flags.writeable = False
    wd.flags.writeable = False
    return x, wd


def weighted_nodes(a, b, lower=0.0, upper=1.0):
    r"""Nodes and weighted densities :math:`(x_k, w_k f_{a,b}(x_k))` of the outer rule.

    Parameters
    ----------
    a, b : float
        Parameters of the outer density.
    lower, upper : float or array_like
        Integration bounds; an array of ``k`` bounds gives arrays of shape (k, K).

    Returns
    -------
    x, wd : numpy.ndarray
        Read-only; cached per parameters and clipped edges.
    """
    a, b = float(a), float(b)
    if np.ndim(lower) == 0 and np.ndim(upper) == 0:
        return _weighted(a, b, _edges(a, b, float(lower), float(upper)))
    lower, upper = np.broadcast_arrays(np.asarray(lower, float), np.asarray(upper, float))
    pairs = [_weighted(a, b, _edges(a, b, float(u), float(v)))
             for u, v in zip(lower.ravel().tolist(), upper.ravel().tolist(), strict=True)]
    x = np.stack([p[0] for p in pairs]).reshape(lower.shape + (-1,))
    return x, np.stack([p[1] for p in pairs]).reshape(x.shape)


def _outer_integral(a_o, b_o, inner, lower=0.0, upper=1.0):
    """Integral over [lower, upper] of the Beta(a_o, b_o) density times ``inner(x)``.

    Vectorized, fixed nodes; ``inner`` must be smooth on (lower, upper).
    """
    if np.ndim(a_o) == 0 and np.ndim(b_o) == 0:  # scalar parameters: cached weighted density
        x, wd = weighted_nodes(a_o, b_o, lower, upper)
        return np.sum(wd * inner(x), axis=-1)
    x, w = _nodes(a_o, b_o, lower, upper)
    dens = np.exp(log_pdf(x, np.asarray(a_o, float)[..., None],
                          np.asarray(b_o, float)[..., None]))
    return np.sum(w * dens * inner(x), axis=-1)


def diff_bounds(d: float, treatment_outer: bool) -> tuple[float, float]:
    r"""Where the inner CDF of :func:`bayeslab.kernels.beta.diff_cdf` is strictly in (0, 1).

    Control outer: :math:`F_T(x + d)` has kinks at :math:`x = -d` (0 below) and
    :math:`x = 1 - d` (1 above). Treatment outer: :math:`\bar F_C(y - d)` is 1 below
    :math:`y = d` and 0 above :math:`y = 1 + d`.
    """
    if treatment_outer:
        lo, hi = max(0.0, d), min(1.0, 1.0 + d)
    else:
        lo, hi = max(0.0, -d), min(1.0, 1.0 - d)
    return lo, max(lo, hi)


def narrower_is_control(a_t, b_t, a_c, b_c) -> bool:
    """Whether the control posterior's sd is at most the treatment's (it is then the outer)."""
    return bool(beta_moments(a_c, b_c)[1] <= beta_moments(a_t, b_t)[1])
