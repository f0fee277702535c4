r"""The outer quadrature of every two-Beta integral: one node builder, two accuracies.

Every two-arm quantity is :math:`\int_L^U f_O(x)\, h(x)\, dx` for one posterior's density
:math:`f_O` (the *outer* one, :math:`\mathrm{Beta}(a_O, b_O)`, the narrower of the two) and a
smooth inner function :math:`h` made of the other arm's CDF or density. The rule is composite
Gauss-Legendre: ``core`` nodes on :math:`\mu \pm k_c\sigma` and ``tail`` nodes on each panel
out to :math:`\mu \pm k_t\sigma`, every edge clipped to :math:`[L, U]`, so

.. math:: \int_L^U f_O(x)\, h(x)\, dx \approx \sum_k \bigl(w_k f_O(x_k)\bigr)\, h(x_k).

A :class:`Rule` holds the counts and widths, the size from which the density is taken in its
mode-centred form, and the inner CDF:

``EXACT`` (readouts)
    96 core nodes on :math:`\pm 8\sigma`, 32 per tail panel out to :math:`\pm 40\sigma`
    (160 nodes); the numpy CDF of :mod:`._cdf` inside (relative accuracy in the tails, no
    scipy); the density mode-centred from :math:`a + b = 10^4`. About 1e-12 absolute.
``SIMULATION`` (operating characteristics over thousands of experiments)
    24 core nodes on :math:`\pm 6\sigma`, 8 per tail panel out to :math:`\pm 20\sigma`
    (40 nodes); ``scipy.special.betainc`` inside (vectorized over the parameters, imported
    on first use); the textbook density up to :math:`a + b = 10^8` (relative error about
    1e-8 there). About 1e-6 absolute.

With scalar parameters the weighted densities :math:`w_k f_O(x_k)` depend only on the
parameters, the rule and the four clipped edges, so they are computed once per (parameters,
edges) and reused by every integral of a readout (the probability, the losses, each step of the
quantile search): most bounds :math:`L, U` lie outside :math:`\mu \pm 40\sigma` and clip
nothing. The numbers are the same, bit for bit, as when each integral computes its own nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bayeslab.kernels.beta import _cdf
from bayeslab.kernels.beta._density import log_pdf


def beta_moments(a, b):
    """Mean and standard deviation of Beta(a, b), broadcast over the parameters."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    m = a / (a + b)
    s = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    return m, s


def _betainc(a, b, x):
    from scipy import special  # the simulation rule only: a readout never gets here

    return special.betainc(a, b, x)


@dataclass(frozen=True)
class Rule:
    """A composite Gauss-Legendre outer rule and the inner Beta CDF that goes with it.

    Attributes
    ----------
    name : str
        The ``accuracy`` value that selects it.
    core, tail : int
        Nodes on the core panel and on each of the two tail panels.
    core_sd, tail_sd : float
        Half-widths of the core and of the whole rule, in standard deviations of the outer arm.
    large_total : float
        :math:`a + b` from which the density is taken in its mode-centred form
        (:func:`~bayeslab.kernels.beta._density.log_pdf`).
    exact_cdf : bool
        Inner CDF: the numpy one of :mod:`bayeslab.kernels.beta._cdf` (relative accuracy in
        the tails, one table per parameter pair) or ``scipy.special.betainc`` (vectorized over
        the parameters, absolute accuracy; the survival function is ``1 - betainc``, five
        times faster than ``betaincc`` on this range).
    """

    name: str
    core: int
    tail: int
    core_sd: float
    tail_sd: float
    large_total: float
    exact_cdf: bool

    @property
    def gauss(self):
        """Gauss-Legendre nodes and weights on [-1, 1]: ``(tail, core)``."""
        return _leggauss(self.tail), _leggauss(self.core)

    def cdf(self, x, a, b):
        """Inner CDF :math:`I_x(a, b)` (``x`` clipped to [0, 1])."""
        if self.exact_cdf:
            return _cdf.cdf(x, a, b)
        return _betainc(a, b, np.clip(x, 0.0, 1.0))

    def sf(self, x, a, b):
        """Inner survival function :math:`1 - I_x(a, b)`."""
        if self.exact_cdf:
            return _cdf.sf(x, a, b)
        return 1.0 - _betainc(a, b, np.clip(x, 0.0, 1.0))

    def cdf_or_sf(self, x, a, b, upper):
        """:meth:`sf` where ``upper`` (a bool, or an array broadcast with ``x``), else :meth:`cdf`.

        One ``betainc`` per point for the simulation rule; the exact rule evaluates only the
        side asked for when ``upper`` is one bool.
        """
        upper = np.asarray(upper)
        if upper.ndim == 0:
            return self.sf(x, a, b) if upper else self.cdf(x, a, b)
        if self.exact_cdf:
            return np.where(upper, _cdf.sf(x, a, b), _cdf.cdf(x, a, b))
        f = _betainc(a, b, np.clip(x, 0.0, 1.0))
        return np.where(upper, 1.0 - f, f)

    def pdf(self, x, a, b):
        """Inner density (0 outside (0, 1))."""
        return np.exp(log_pdf(x, a, b, large_total=self.large_total))


@lru_cache(maxsize=8)
def _leggauss(n: int):
    return np.polynomial.legendre.leggauss(n)


EXACT = Rule("exact", core=96, tail=32, core_sd=8.0, tail_sd=40.0, large_total=1e4,
             exact_cdf=True)
SIMULATION = Rule("simulation", core=24, tail=8, core_sd=6.0, tail_sd=20.0, large_total=1e8,
                  exact_cdf=False)
RULES = {r.name: r for r in (EXACT, SIMULATION)}


def rule(accuracy: str) -> Rule:
    """The :class:`Rule` of an ``accuracy`` name (``"exact"`` or ``"simulation"``).

    Raises
    ------
    ValueError
        For any other name.
    """
    try:
        return RULES[accuracy]
    except (KeyError, TypeError):
        raise ValueError(f"accuracy must be one of {sorted(RULES)}, got {accuracy!r}") from None


def nodes(a, b, lower=0.0, upper=1.0, rule: Rule = EXACT):
    """Composite Gauss-Legendre nodes and weights covering Beta(a, b) within [lower, upper].

    Shape (..., K): panels mean +- ``core_sd`` sd (core) and out to +- ``tail_sd`` sd (tails),
    clipped to the bounds, so an integrand with a kink at a bound is integrated only on its
    smooth side.
    """
    m, s = beta_moments(a, b)
    upper = np.maximum(upper, lower)
    lo = np.clip(m - rule.tail_sd * s, lower, upper)
    hi = np.clip(m + rule.tail_sd * s, lower, upper)
    c_lo = np.clip(m - rule.core_sd * s, lo, hi)
    c_hi = np.clip(m + rule.core_sd * s, lo, hi)
    g_tail, g_core = rule.gauss
    xs, ws = [], []
    for (u, v), (gx, gw) in (((lo, c_lo), g_tail), ((c_lo, c_hi), g_core), ((c_hi, hi), g_tail)):
        half = (v - u)[..., None] / 2.0
        xs.append((u + v)[..., None] / 2.0 + half * gx)
        ws.append(half * gw)
    return np.concatenate(xs, axis=-1), np.concatenate(ws, axis=-1)


def _clip(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


def _edges(a: float, b: float, lower: float, upper: float,
           rule: Rule) -> tuple[float, float, float, float]:
    """The clipped panel edges of :func:`nodes` for scalars, in the same floating-point steps."""
    m = a / (a + b)
    s = math.sqrt(a * b / ((a + b) * (a + b) * (a + b + 1.0)))
    upper = max(upper, lower)
    lo = _clip(m - rule.tail_sd * s, lower, upper)
    hi = _clip(m + rule.tail_sd * s, lower, upper)
    return lo, _clip(m - rule.core_sd * s, lo, hi), _clip(m + rule.core_sd * s, lo, hi), hi


@lru_cache(maxsize=128)
def _weighted(a: float, b: float, edges: tuple[float, float, float, float], rule: Rule):
    """Nodes :math:`x_k` and weighted densities :math:`w_k f(x_k)` on the given panel edges."""
    lo, c_lo, c_hi, hi = edges
    g_tail, g_core = rule.gauss
    xs, ws = [], []
    for (u, v), (gx, gw) in (((lo, c_lo), g_tail), ((c_lo, c_hi), g_core), ((c_hi, hi), g_tail)):
        half = (v - u) / 2.0
        xs.append((u + v) / 2.0 + half * gx)
        ws.append(half * gw)
    x, w = np.concatenate(xs), np.concatenate(ws)
    wd = w * np.exp(log_pdf(x, a, b, large_total=rule.large_total))
    x.flags.writeable = False
    wd.flags.writeable = False
    return x, wd


def weighted_nodes(a, b, lower=0.0, upper=1.0, rule: Rule = EXACT):
    r"""Nodes and weighted densities :math:`(x_k, w_k f_{a,b}(x_k))` of the outer rule.

    Parameters
    ----------
    a, b : float or array_like
        Parameters of the outer density. Scalars: cached per parameters, rule and clipped
        edges (read-only arrays). Arrays: one row of nodes per parameter pair (shape (..., K)).
    lower, upper : float or array_like
        Integration bounds, broadcast with the parameters; with scalar parameters an array of
        ``k`` bounds gives arrays of shape (k, K).
    rule : Rule

    Returns
    -------
    x, wd : numpy.ndarray
    """
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        a, b = float(a), float(b)
        if np.ndim(lower) == 0 and np.ndim(upper) == 0:
            return _weighted(a, b, _edges(a, b, float(lower), float(upper), rule), rule)
        lower, upper = np.broadcast_arrays(np.asarray(lower, float), np.asarray(upper, float))
        pairs = [_weighted(a, b, _edges(a, b, float(u), float(v), rule), rule)
                 for u, v in zip(lower.ravel().tolist(), upper.ravel().tolist(), strict=True)]
        x = np.stack([p[0] for p in pairs]).reshape(lower.shape + (-1,))
        return x, np.stack([p[1] for p in pairs]).reshape(x.shape)
    x, w = nodes(a, b, lower, upper, rule)
    dens = np.exp(log_pdf(x, np.asarray(a, float)[..., None], np.asarray(b, float)[..., None],
                          large_total=rule.large_total))
    return x, w * dens


def outer_integral(a_o, b_o, inner, lower=0.0, upper=1.0, rule: Rule = EXACT):
    """Integral over [lower, upper] of the Beta(a_o, b_o) density times ``inner(x)``.

    Vectorized, fixed nodes (:func:`weighted_nodes`); ``inner`` must be smooth on
    (lower, upper).
    """
    x, wd = weighted_nodes(a_o, b_o, lower, upper, rule)
    return np.sum(wd * inner(x), axis=-1)


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
