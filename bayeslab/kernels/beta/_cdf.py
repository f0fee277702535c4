r"""Beta CDF, survival function and quantiles with numpy only (no scipy at start-up).

For :math:`X \sim \mathrm{Beta}(a, b)` the integrals are taken in the logit
:math:`w = \log\frac{x}{1 - x}`, where :math:`W` has the log density

.. math::

    g(w) = \log f(t) + \log t + \log(1 - t), \qquad t = \frac{1}{1 + e^{-w}}, \qquad
    g'(w) = a - (a + b)\,t, \qquad g''(w) = -(a + b)\,t(1 - t) < 0,

with :math:`\log f` from :func:`bayeslab.kernels.beta.log_pdf` (accurate at any size).
:math:`g` is concave for all :math:`a, b > 0`, with its mode at :math:`t = a / (a + b)`, and
smooth on the whole line: the boundary behaviour :math:`t^{a-1}` of a non-integer :math:`a`
becomes the exponential :math:`e^{a w}`, which Gauss-Legendre nodes resolve. Then

.. math::

    F(x) = \int_{-\infty}^{\operatorname{logit} x} e^{g(w)}\,dw, \qquad
    \bar F(x; a, b) = F(1 - x; b, a),

and each is integrated from its own tail: :math:`F` for :math:`x` below the mean,
:math:`\bar F` (the lower side of the reflected :math:`\mathrm{Beta}(b, a)`, at :math:`-w`)
above it, so both keep their relative accuracy however far out :math:`x` lies.

Per parameter pair one table is built (and cached): anchors :math:`w_0 > w_1 > \dots > w_K`
from the mode down, spaced by :math:`\min(1/\sqrt{-g''}, 3/g')` (a step the 10-point
Gauss-Legendre rule integrates to about 1e-16 relative), until the density has dropped by
:math:`e^{-46}` (:math:`F` near 1e-20). :math:`F(w_K)` comes from the tail rule below and
:math:`F(w_k) = F(w_K) + \sum_{j \ge k} \int_{w_{j+1}}^{w_j} e^g`, a sum of positive terms. A
query :math:`w` between anchors adds one 10-point panel from the anchor below it; a query below
:math:`w_K` uses the tail rule

.. math::

    F(w) = e^{g(w)}\, h \int_0^{128} e^{g(w - h u) - g(w)}\,du, \qquad
    h = \frac{1}{g'(w) + \sqrt{-g''(w)}},

on panels with edges 0, 1/2, 1, 2, 4, ..., 128 (10 nodes each). By concavity
:math:`g(w - hu) - g(w) \le -g'(w) h u`, so the integrand decays at least like
:math:`e^{-u/2}`, and on a doubling panel the rule is exact to far below the panel's share.
It works on the log scale: :math:`\log F` is exact also where :math:`F` underflows.

Accuracy (``tests/kernels/test_beta_cdf.py``): against ``scipy.special.betainc`` /
``betaincc`` for :math:`a + b` up to :math:`10^7`, about 1e-13 absolute in the bulk; in the
tails, down to 1e-300, about 2e-13 relative for small parameters, growing to about 1e-11 at
:math:`a + b = 10^7` (the rounding of :math:`x` itself, which moves a far-tail probability by
that much). Above :math:`10^7` the references are closed forms and the normal limit, where
``scipy.special.betainc`` itself is off (by 1e-3 at :math:`\mathrm{Beta}(10^{13}, 10^{13})`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from bayeslab.kernels.beta._density import _scalar_terms, log_pdf
from bayeslab.kernels.distributions import norm_ppf

_GX, _GW = np.polynomial.legendre.leggauss(_NODES := 10)
_X01, _W01 = (_GX + 1.0) / 2.0, _GW / 2.0
_EDGES = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0])
_U = (_EDGES[:-1, None] + np.diff(_EDGES)[:, None] * _X01).ravel()
_UW = (np.diff(_EDGES)[:, None] * _W01).ravel()
_STEP = 3.0  # anchor spacing times the slope g'
_DROP = 745.0  # anchors end where g has dropped this far below its mode (F below 1e-300)
_MAX_ANCHORS = 1000


def _expit(w):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-w))


def _softplus(y):
    r""":math:`\log(1 + e^y)` without overflow."""
    return np.maximum(y, 0.0) + np.log1p(np.exp(-np.abs(y)))


def _log_w_density(w, a: float, b: float):
    r""":math:`g(w)`: the log density of :math:`W = \operatorname{logit} X` (-inf at -inf).

    :math:`\log t = -\mathrm{softplus}(-w)` and :math:`\log(1 - t) = -\mathrm{softplus}(w)`
    stay exact where :math:`t` or :math:`1 - t` underflows or rounds to 1. Small parameters
    use :math:`a\log t + b\log(1 - t) - \log B(a, b)`; large ones the mode-centred density,
    at :math:`t` or, mean above 1/2, of :math:`\mathrm{Beta}(b, a)` at :math:`1 - t` (the
    smaller of the two, so it is not rounded near 1).
    """
    w = np.asarray(w, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        log_t, log_s = -_softplus(-w), -_softplus(w)
        large, terms = _scalar_terms(a, b)
        if not large:
            out = a * log_t + b * log_s - terms[2]
        elif a <= b:
            out = np.asarray(log_pdf(np.exp(log_t), a, b)) + log_t + log_s
        else:
            out = np.asarray(log_pdf(np.exp(log_s), b, a)) + log_t + log_s
    return np.where(np.isnan(out), -np.inf, out)


def _slope_and_width(w, a: float, b: float):
    r""":math:`g'(w)` and :math:`1 / \sqrt{-g''(w)}` (local decay scales)."""
    t = _expit(w)
    n = a + b
    with np.errstate(divide="ignore"):
        return a - n * t, 1.0 / np.sqrt(n * t * (1.0 - t))


def _tail_nodes(w, a: float, b: float):
    """Nodes (len(w), 108) and weights of the tail rule below each ``w`` (see module notes)."""
    s, width = _slope_and_width(w, a, b)
    h = 1.0 / (np.maximum(s, 0.0) + 1.0 / width)
    return w[:, None] - h[:, None] * _U, h[:, None] * _UW


def _anchors(a: float, b: float, mode: float) -> list[float]:
    """Anchor logits from the mode down (module notes), in plain floats: one exp a step."""
    exp, sqrt, hypot, pi = math.exp, math.sqrt, math.hypot, math.pi
    n = a + b
    w, drop, anchors = mode, 0.0, [mode]
    e = exp(-w) if w > -700 else math.inf  # exp(-w) of the current anchor
    while drop < _DROP and len(anchors) < _MAX_ANCHORS:
        t = 1.0 / (1.0 + e) if w > -700 else 0.0
        s = a - n * t
        # 1 - t as e / (1 + e): near t = 1 (a side of Beta(6, 1e17)) 1 - t rounds to 0
        var = n * t * (e / (1.0 + e)) if t > 0 else 0.0
        step = 1.0 / sqrt(var) if var > 0 else 1.0 / sqrt(a)
        if s > 0:
            step = min(step, _STEP / s)
        step = min(step, 0.5 * hypot(w, pi))  # poles of g at w = i pi (2k + 1)
        w = w - step
        if w > -700:
            e = exp(-w)
            s_new = a - n / (1.0 + e)
        else:
            s_new = a
        drop += step * (max(s, 0.0) + s_new) / 2.0
        anchors.append(w)
    return anchors


def _table(a: float, b: float, mode: float):
    """Ascending anchors of the lower side and :math:`F` at each (module notes)."""
    anchors = _anchors(a, b, mode)
    asc = np.array(anchors[::-1])
    lo, hi = asc[:-1, None], asc[1:, None]
    panel_x = lo + (hi - lo) * _X01
    tail_x, tail_w = _tail_nodes(asc[:1], a, b)
    g = _log_w_density(np.concatenate([panel_x.ravel(), tail_x.ravel(), asc[:1]]), a, b)
    k = panel_x.size
    panels = np.sum((hi - lo) * _W01 * np.exp(g[:k].reshape(panel_x.shape)), axis=1)
    g0 = g[-1]
    log_f0 = g0 + math.log(float(np.sum(tail_w[0] * np.exp(g[k:-1] - g0))))
    return asc, math.exp(log_f0) + np.concatenate([[0.0], np.cumsum(panels)])


class _Side:
    """Cached table of the lower side of Beta(a, b): anchors (ascending) and F there."""

    def __init__(self, a: float, b: float):
        self.a, self.b = a, b
        self.mode = math.log(a / b)
        self.anchors, self.cdf = _table(a, b, self.mode)

    def plan(self, omega, need_log: bool = True):
        """Nodes for :math:`F` at logits ``omega`` (at most the mode), and how to finish.

        Returns the flat nodes (this side's logit) and a function of :math:`g` there giving
        ``(F, log F)``, so that both sides of a query share one evaluation of the density.
        """
        j = np.searchsorted(self.anchors, omega, side="right") - 1
        bulk = j >= 0
        tail = ~bulk & np.isfinite(omega) & need_log  # else F below the table: under 1e-300
        jb = j[bulk]
        start = self.anchors[jb]
        span = (omega[bulk] - start)[:, None]
        nodes = (start[:, None] + span * _X01).ravel()
        k = nodes.size
        if tail.any():
            tail_x, tail_wt = _tail_nodes(omega[tail], self.a, self.b)
            nodes = np.concatenate([nodes, tail_x.ravel(), omega[tail]])

        def finish(g):
            f = np.zeros(omega.shape)
            log_f = np.full(omega.shape, -np.inf)
            with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
                panel = np.exp(g[:k].reshape(span.size, _NODES))
                f[bulk] = self.cdf[jb] + np.sum(span * _W01 * panel, axis=1)
                log_f[bulk] = np.log(f[bulk])
                if tail.any():
                    g0 = g[-int(tail.sum()):]
                    sums = np.sum(tail_wt * np.exp(g[k:-g0.size].reshape(g0.size, _U.size)
                                                   - g0[:, None]), axis=1)
                    log_f[tail] = np.where(np.isfinite(g0), g0 + np.log(sums), -np.inf)
                    f[tail] = np.exp(log_f[tail])
            return f, log_f

        return nodes, finish


@lru_cache(maxsize=256)
def _side(a: float, b: float) -> _Side:
    return _Side(a, b)


def _logit(x):
    with np.errstate(divide="ignore"):
        return np.log(x) - np.log1p(-x)


def _both_tails(x, a: float, b: float, need_log: bool = True):
    """``(F, log F, sf, log sf)`` at ``x`` (1-d, in [0, 1]) for scalar parameters.

    Points at or below the mean are integrated from the lower tail, the others from the upper
    one (the lower side of Beta(b, a) at :math:`-w`, whose density there is :math:`g(w)`: one
    evaluation of :math:`g` serves both); each side's complement is ``1 -`` it.
    """
    w = _logit(x)
    lower = x <= a / (a + b)
    f = np.empty_like(x)
    log_f = np.empty_like(x)
    if lower.all():
        nodes, finish = _side(a, b).plan(w, need_log)
        f, log_f = finish(_log_w_density(nodes, a, b))
    elif not lower.any():
        nodes, finish = _side(b, a).plan(-w, need_log)
        f, log_f = finish(_log_w_density(-nodes, a, b))
    else:
        lo_nodes, lo_finish = _side(a, b).plan(w[lower], need_log)
        up_nodes, up_finish = _side(b, a).plan(-w[~lower], need_log)
        g = _log_w_density(np.concatenate([lo_nodes, -up_nodes]), a, b)
        f[lower], log_f[lower] = lo_finish(g[:lo_nodes.size])
        f[~lower], log_f[~lower] = up_finish(g[lo_nodes.size:])
    other = 1.0 - f
    with np.errstate(divide="ignore"):
        log_other = np.log1p(-f)
    return (np.where(lower, f, other), np.where(lower, log_f, log_other),
            np.where(lower, other, f), np.where(lower, log_other, log_f))


def _apply(x, a, b, pick: int):
    x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        out = _both_tails(x.ravel(), float(a), float(b), pick % 2 == 1)[pick].reshape(x.shape)
        return out if out.ndim else float(out)
    x, a, b = np.broadcast_arrays(x, np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    out = np.empty(x.shape)
    for ai, bi in set(zip(a.ravel().tolist(), b.ravel().tolist(), strict=True)):
        sel = (a == ai) & (b == bi)
        out[sel] = _both_tails(x[sel], ai, bi, pick % 2 == 1)[pick]
    return out if out.ndim else float(out)


def cdf(x, a, b):
    r"""CDF :math:`I_x(a, b)` of Beta(a, b), broadcast over ``x``, ``a`` and ``b``.

    Parameters
    ----------
    x : array_like
        Points; clipped to [0, 1].
    a, b : array_like
        Beta parameters, :math:`a, b \ge 1` (the integral is exact in form for any
        :math:`a, b > 0`, but only :math:`\ge 1` is tested).

    Returns
    -------
    numpy.ndarray or float
        About 1e-13 absolute; relative accuracy in the lower tail as in the module notes.
    """
    return _apply(x, a, b, 0)


def log_cdf(x, a, b):
    r""":math:`\log I_x(a, b)`, exact also where the CDF underflows (far lower tail)."""
    return _apply(x, a, b, 1)


def sf(x, a, b):
    """Survival function :math:`1 - I_x(a, b)`, with relative accuracy in the upper tail."""
    return _apply(x, a, b, 2)


def log_sf(x, a, b):
    r""":math:`\log(1 - I_x(a, b))`, exact also where the survival function underflows."""
    return _apply(x, a, b, 3)


def _solve_lower(side: _Side, log_q: float, guess: float) -> float:
    r"""Logit ``w`` with :math:`\log F(w) = \log q` on the lower side, by safeguarded Newton.

    :math:`\log F` is concave and increasing in :math:`w` (:math:`W` is log-concave), so Newton
    on it, :math:`w \leftarrow w - (\log F - \log q)\, F / e^{g}`, approaches the root
    monotonically from the left after at most one step; a bracket guards the rest.
    """
    lo, hi = -math.inf, side.mode
    w = min(guess, hi)
    for _ in range(100):
        nodes, finish = side.plan(np.array([w]))
        _, log_f = finish(_log_w_density(nodes, side.a, side.b))
        phi = float(log_f[0]) - log_q
        if phi == 0.0:
            return w
        if phi > 0:
            hi = w
        else:
            lo = w
        g = float(_log_w_density(np.array([w]), side.a, side.b)[0])
        step = -phi * math.exp(float(log_f[0]) - g) if np.isfinite(g) else -math.inf
        new = w + step
        if not lo < new < hi:
            new = 0.5 * (lo + hi) if math.isfinite(lo) else hi - 2.0 * max(1.0, hi - w)
        if abs(new - w) <= 4e-16 * max(1.0, abs(w)):
            return new
        w = new
    return w


def ppf(q, a, b):
    r"""Quantile of Beta(a, b) (inverse of :func:`cdf`), broadcast over ``q``, ``a``, ``b``.

    Replaces ``scipy.special.betaincinv``. Solves :math:`F(x) = q` in the logit from the side
    of the nearer tail (:math:`\bar F(x) = 1 - q` above the mean) by Newton on the log CDF,
    started at the normal approximation of the logit,
    :math:`w_0 + \Phi^{-1}(q) \sqrt{1/a + 1/b}`. Relative accuracy about 1e-15 in ``x``,
    for any :math:`a, b > 0` (below 1 too: tested against mpmath, ``tests/kernels``).

    A quantile below the smallest double (:math:`a < 1` and a tiny ``q``: near 0,
    :math:`x \approx (q\,a\,B(a, b))^{1/a}`, e.g. about :math:`10^{-600}` for ``q = 1e-300``
    with :math:`a = b = 1/2`) is returned as a subnormal number or 0.0, never as an overflow.
    """
    q, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q, a, b)))
    out = np.empty(q.shape)
    for idx in np.ndindex(q.shape):
        qi, ai, bi = float(q[idx]), float(a[idx]), float(b[idx])
        if not 0.0 < qi < 1.0:
            out[idx] = min(max(qi, 0.0), 1.0) if qi == qi else np.nan
            continue
        z = norm_ppf(qi) * math.sqrt(1.0 / ai + 1.0 / bi)
        side = _side(ai, bi)
        if qi <= side.cdf[-1]:  # F at the mean: solve on the lower side
            out[idx] = _expit_scalar(_solve_lower(side, math.log(qi), side.mode + z))
        else:
            other = _side(bi, ai)
            w = _solve_lower(other, math.log1p(-qi), other.mode - z)
            out[idx] = 1.0 / (1.0 + math.exp(w)) if w < 700.0 else math.exp(-w)
    return out if out.ndim else float(out)


def _expit_scalar(w: float) -> float:
    r""":math:`1 / (1 + e^{-w})` for a float, without overflow.

    Below :math:`w = -700` it is :math:`e^w` (relative error :math:`e^w`, nil in double
    precision), which underflows gracefully to a subnormal or 0 (a quantile below the smallest
    double) where ``exp(-w)`` would overflow; above, the plain formula (the same bits as ever).
    """
    if w > -700.0:
        return 1.0 / (1.0 + math.exp(-w))
    return math.exp(w)
