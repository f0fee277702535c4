r"""Quantiles of the difference and the ratio of two Beta posteriors: Halley from Cornish-Fisher.

For independent :math:`p_T \sim \mathrm{Beta}(a_T, b_T)` and :math:`p_C \sim \mathrm{Beta}(a_C,
b_C)` (every parameter at least 1) this solves :math:`F(v) = q` for :math:`D = p_T - p_C` and
:math:`R = p_T / p_C`, where :math:`F` is the exact CDF of :mod:`bayeslab.kernels.beta` (the same
outer Gauss-Legendre integral with the inner Beta CDF), at several levels ``q`` together.

**Start.** The Cornish-Fisher expansion to second order,

.. math::

    v_0 = \kappa_1 + \sqrt{\kappa_2}\Bigl[z + \frac{\gamma_1}{6}(z^2 - 1)
          + \frac{\gamma_2}{24}(z^3 - 3z) - \frac{\gamma_1^2}{36}(2z^3 - 5z)\Bigr],
    \qquad z = \Phi^{-1}(q),\ \gamma_1 = \frac{\kappa_3}{\kappa_2^{3/2}},\
    \gamma_2 = \frac{\kappa_4}{\kappa_2^2},

with the cumulants in closed form: for :math:`D`, :math:`\kappa_n = \kappa_n(p_T) + (-1)^n
\kappa_n(p_C)` from the Beta moments (mean :math:`a/s`, variance :math:`ab/(s^2(s+1))`,
skewness :math:`2(b-a)\sqrt{s+1}/((s+2)\sqrt{ab})`, excess kurtosis
:math:`6[(a-b)^2(s+1) - ab(s+2)]/(ab(s+2)(s+3))`, :math:`s = a + b`); for :math:`R` the
expansion is for :math:`\log R = \log p_T - \log p_C`, whose cumulants are
:math:`\kappa_n(\log p) = \psi^{(n-1)}(a) - \psi^{(n-1)}(a + b)` (polygamma functions), and
:math:`v_0 = e^{\dots}`. With :math:`10^6` units per arm the start is within about
:math:`10^{-6}` standard deviations of the root.

**Steps.** One evaluation gives :math:`F`, the density :math:`F'` and its derivative
:math:`F''` on the same outer nodes (for :math:`D` with control outer,
:math:`F' = \int f_C(x) f_T(x + d)\,dx` and :math:`F'' = \int f_C(x) f_T(x + d)\,
\ell_T'(x + d)\,dx`, :math:`\ell' = (a-1)/y - (b-1)/(1-y)` the log density's slope), and the
step is Halley's,

.. math:: v \leftarrow v - \frac{\delta}{1 - \delta F'' / (2F')}, \qquad \delta = \frac{F - q}{F'},

kept inside the bracket the signs of :math:`F - q` have established (bisection otherwise). The
search stops when the step is below :math:`10^{-13}\max(1, |v|)` (as the Newton search before
it; :math:`|F - q| < 10^{-14}` stops it only with a Newton step below ten times that), or,
when every parameter exceeds 1 (no boundary terms in :math:`F''`), when
:math:`|\delta| \le 10^{-3}` standard deviations and the error left by a Newton step,
:math:`|F''/(2F')|\,\delta^2`, is below :math:`10^{-14}\max(1, |v|)`: the Halley point returned
is closer still (its error is of third order). Typically one evaluation serves both ends of an
interval with :math:`10^5` units or more per arm, two with :math:`10^3`.
"""

from __future__ import annotations

import math

import numpy as np

from bayeslab.kernels.beta import _cdf as beta_cdf
from bayeslab.kernels.beta._density import log_pdf
from bayeslab.kernels.beta._rules import diff_bounds, narrower_is_control, weighted_nodes
from bayeslab.kernels.distributions import norm_ppf

_NEWTON_TOL = 1e-13  # a step this small (relative to max(1, |v|)): converged
_ERROR_TOL = 1e-14  # estimated error of the Newton point, relative to max(1, |v|)


def _polygammas(x: float) -> tuple[float, float, float, float]:
    r""":math:`(\psi(x) - \log x, \psi'(x), \psi''(x), \psi'''(x))` for :math:`x > 0`.

    Recurrence :math:`\psi^{(n)}(x) = \psi^{(n)}(x + 1) - (-1)^n n!/x^{n+1}` up to
    :math:`x \ge 10`, then the asymptotic series with Bernoulli numbers to :math:`x^{-13}`
    (relative error below 1e-10 against scipy; only the starting point uses them).
    """
    x0, acc0, acc1, acc2, acc3 = x, 0.0, 0.0, 0.0, 0.0
    while x < 10.0:
        i = 1.0 / x
        acc0 -= i
        acc1 += i * i
        acc2 -= 2.0 * i**3
        acc3 += 6.0 * i**4
        x += 1.0
    i = 1.0 / x
    i2 = i * i
    psi = (math.log(x / x0) - 0.5 * i
           - i2 * (1 / 12 - i2 * (1 / 120 - i2 * (1 / 252 - i2 * (1 / 240 - i2 / 132)))))
    psi1 = i + 0.5 * i2 + i * i2 * (1 / 6 - i2 * (1 / 30 - i2 * (1 / 42 - i2 * (1 / 30
                                                                             - i2 * 5 / 66))))
    psi2 = -i2 - i * i2 - i2 * i2 * (0.5 - i2 * (1 / 6 - i2 * (1 / 6 - i2 * (0.3 - i2 * 5 / 6))))
    psi3 = (2 * i * i2 + 3 * i2 * i2
            + i * i2 * i2 * (2 - i2 * (1 - i2 * (4 / 3 - i2 * (3 - 10 * i2)))))
    return psi + acc0, psi1 + acc1, psi2 + acc2, psi3 + acc3


def beta_cumulants(a: float, b: float) -> tuple[float, float, float, float]:
    """The first four cumulants of Beta(a, b), from its mean, variance, skewness and kurtosis."""
    s = a + b
    var = a * b / (s * s * (s + 1.0))
    skew = 2.0 * (b - a) * math.sqrt(s + 1.0) / ((s + 2.0) * math.sqrt(a * b))
    kurt = 6.0 * ((a - b) ** 2 * (s + 1.0) - a * b * (s + 2.0)) / (a * b * (s + 2.0) * (s + 3.0))
    return a / s, var, skew * var**1.5, kurt * var * var


def log_beta_cumulants(a: float, b: float) -> tuple[float, float, float, float]:
    r"""The first four cumulants of :math:`\log X` for :math:`X \sim \mathrm{Beta}(a, b)`.

    :math:`\kappa_n = \psi^{(n-1)}(a) - \psi^{(n-1)}(a + b)` (:func:`_polygammas`).
    """
    pa, pab = _polygammas(a), _polygammas(a + b)
    return (math.log(a / (a + b)) + pa[0] - pab[0], pa[1] - pab[1], pa[2] - pab[2],
            pa[3] - pab[3])


def cornish_fisher(q, k1: float, k2: float, k3: float, k4: float) -> np.ndarray:
    """Second-order Cornish-Fisher quantiles at levels ``q`` from four cumulants."""
    z = np.array([norm_ppf(v) for v in np.ravel(q)])
    g1, g2 = k3 / k2**1.5, k4 / k2**2
    w = (z + g1 / 6.0 * (z * z - 1.0) + g2 / 24.0 * (z**3 - 3.0 * z)
         - g1 * g1 / 36.0 * (2.0 * z**3 - 5.0 * z))
    return k1 + math.sqrt(k2) * w


def _density_and_slope(y, a: float, b: float):
    r""":math:`f(y)` and :math:`f(y)\,\ell'(y) = f'(y)` of Beta(a, b) (0 outside (0, 1))."""
    dens = np.exp(log_pdf(y, a, b))
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(dens > 0, dens * ((a - 1.0) / y - (b - 1.0) / (1.0 - y)), 0.0)
    return dens, slope


def diff_eval(d, a_t: float, b_t: float, a_c: float, b_c: float):
    r"""CDF, density and its derivative of :math:`p_T - p_C` at the points ``d`` (1-d).

    The CDF is :func:`bayeslab.kernels.beta.diff_cdf`'s integral (same nodes, same order), the
    other two its derivatives under the integral sign.
    """
    d = np.asarray(d, dtype=float)
    if narrower_is_control(a_t, b_t, a_c, b_c):
        lo, hi = np.array([diff_bounds(v, False) for v in d.tolist()]).T
        x, wd = weighted_nodes(a_c, b_c, lo, hi)
        y = x + d[:, None]
        inside = np.sum(wd * beta_cdf.cdf(y, a_t, b_t), axis=-1)
        cdf = np.clip(inside + beta_cdf.sf(hi, a_c, b_c), 0.0, 1.0)
        dens, slope = _density_and_slope(y, a_t, b_t)
        return cdf, np.sum(wd * dens, axis=-1), np.sum(wd * slope, axis=-1)
    lo, hi = np.array([diff_bounds(v, True) for v in d.tolist()]).T
    x, wd = weighted_nodes(a_t, b_t, lo, hi)
    y = x - d[:, None]
    inside = np.sum(wd * beta_cdf.sf(y, a_c, b_c), axis=-1)
    cdf = np.clip(inside + beta_cdf.cdf(lo, a_t, b_t), 0.0, 1.0)
    dens, slope = _density_and_slope(y, a_c, b_c)
    return cdf, np.sum(wd * dens, axis=-1), -np.sum(wd * slope, axis=-1)


def ratio_eval(r, a_t: float, b_t: float, a_c: float, b_c: float):
    r"""CDF, density and its derivative of :math:`p_T / p_C` at the points ``r > 0`` (1-d).

    Control outer: :math:`F' = \int x f_C(x) f_T(rx)\,dx`, :math:`F'' = \int x^2 f_C(x)
    f_T'(rx)\,dx`; treatment outer (:math:`u = y / r`): :math:`F' = \int f_T(y)\, y r^{-2}
    f_C(u)\,dy`, :math:`F'' = -\int f_T(y)\,[2 y r^{-3} f_C(u) + y^2 r^{-4} f_C'(u)]\,dy`.
    """
    r = np.asarray(r, dtype=float)
    rr = r[:, None]
    if narrower_is_control(a_t, b_t, a_c, b_c):
        hi = np.minimum(1.0, 1.0 / r)
        x, wd = weighted_nodes(a_c, b_c, 0.0, hi)
        inside = np.sum(wd * beta_cdf.cdf(rr * x, a_t, b_t), axis=-1)
        cdf = np.clip(inside + beta_cdf.sf(hi, a_c, b_c), 0.0, 1.0)
        dens, slope = _density_and_slope(rr * x, a_t, b_t)
        return cdf, np.sum(wd * (x * dens), axis=-1), np.sum(wd * (x * x * slope), axis=-1)
    y, wd = weighted_nodes(a_t, b_t, 0.0, np.minimum(1.0, r))
    u = y / rr
    cdf = np.clip(np.sum(wd * beta_cdf.sf(u, a_c, b_c), axis=-1), 0.0, 1.0)
    dens, slope = _density_and_slope(u, a_c, b_c)
    return (cdf, np.sum(wd * (y / rr**2 * dens), axis=-1),
            -np.sum(wd * (2.0 * y / rr**3 * dens + y * y / rr**4 * slope), axis=-1))


def solve(evaluate, q, guess, lo_lim: float, hi_lim: float, scale, smooth: bool,
          max_iter: int = 60) -> np.ndarray:
    """Solve :math:`F(v) = q` at several levels together by safeguarded Halley steps.

    ``evaluate(v)`` returns :math:`(F, F', F'')` at the points ``v`` (1-d); those still
    unsolved are evaluated together; ``scale`` (per level or one for all) is the spread of
    the distribution near each root. Stopping rules in the module notes.
    """
    q = np.atleast_1d(np.asarray(q, dtype=float))
    scale = np.broadcast_to(np.asarray(scale, dtype=float), q.shape)
    v = np.clip(np.asarray(guess, dtype=float), lo_lim + 1e-300, hi_lim - 1e-300)
    lo, hi = np.full(q.shape, lo_lim), np.full(q.shape, hi_lim)
    out = np.full(q.shape, np.nan)
    todo = list(range(q.size))
    for _ in range(max_iter):
        cdf, dens, curv = evaluate(v[todo])
        left = []
        for j, i in enumerate(todo):
            vi, f = float(v[i]), float(cdf[j] - q[i])
            fp, fpp = float(dens[j]), float(curv[j])
            newton = f / fp if fp > 0 else math.inf
            tol = max(1.0, abs(vi))
            if abs(f) < 1e-14 and abs(newton) <= 10.0 * _NEWTON_TOL * tol:
                out[i] = vi
                continue
            if f > 0:
                hi[i] = vi
            else:
                lo[i] = vi
            step = newton
            if math.isfinite(newton):
                denom = 1.0 - 0.5 * newton * fpp / fp
                if 0.5 < denom < 2.0:
                    step = newton / denom
            new = vi - step
            if not (lo[i] < new < hi[i]) or not math.isfinite(new):
                new = 0.5 * (lo[i] + hi[i]) if math.isfinite(hi[i]) else vi + 10.0 * scale[i]
            if abs(new - vi) <= _NEWTON_TOL * tol or (
                    smooth and new == vi - step and abs(newton) <= 1e-3 * scale[i]
                    and abs(0.5 * fpp / fp) * newton * newton <= _ERROR_TOL * tol):
                out[i] = new
                continue
            v[i] = new
            left.append(i)
        if not left:
            break
        todo = left
    for i in todo:  # not converged in max_iter (never seen): the last point
        if np.isnan(out[i]):
            out[i] = v[i]
    return out


def diff_quantiles(q, a_t: float, b_t: float, a_c: float, b_c: float) -> np.ndarray:
    """Quantiles at levels ``q`` (1-d) of :math:`p_T - p_C`, every parameter at least 1."""
    ct, cc = beta_cumulants(a_t, b_t), beta_cumulants(a_c, b_c)
    k = (ct[0] - cc[0], ct[1] + cc[1], ct[2] - cc[2], ct[3] + cc[3])
    guess = np.clip(cornish_fisher(q, *k), -1.0, 1.0)
    smooth = min(a_t, b_t, a_c, b_c) > 1.0
    return solve(lambda d: diff_eval(d, a_t, b_t, a_c, b_c), q, guess, -1.0, 1.0,
                 math.sqrt(k[1]), smooth)


def ratio_quantiles(q, a_t: float, b_t: float, a_c: float, b_c: float) -> np.ndarray:
    """Quantiles at levels ``q`` (1-d) of :math:`p_T / p_C`, every parameter at least 1."""
    lt, lc = log_beta_cumulants(a_t, b_t), log_beta_cumulants(a_c, b_c)
    k = (lt[0] - lc[0], lt[1] + lc[1], lt[2] - lc[2], lt[3] + lc[3])
    guess = np.exp(cornish_fisher(q, *k))
    scale = guess * math.sqrt(k[1])
    smooth = min(a_t, b_t, a_c, b_c) > 1.0
    return solve(lambda r: ratio_eval(r, a_t, b_t, a_c, b_c), q, guess, 0.0, math.inf, scale,
                 smooth)
