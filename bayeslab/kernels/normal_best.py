r"""P(best) of several independent normal posteriors by one-dimensional quadrature, numpy only.

For independent :math:`\mu_k \sim N(m_k, s_k^2)`:

.. math::

    P(\text{best}_k) = \int \frac{1}{s_k}\,\varphi\!\Bigl(\frac{x - m_k}{s_k}\Bigr)
        \prod_{j \ne k} \Phi\!\Bigl(\frac{x - m_j}{s_j}\Bigr)\, dx,

integrated on composite 16-point Gauss-Legendre panels around every arm (edges at each arm's
mean :math:`\pm` (0, 1.5, 3, 5, 8, 12, 20, 40) sd, as :func:`bayeslab.kernels.beta.prob_best`
does for Beta arms), with :math:`\log \Phi` summed in log space so a product of many tiny CDFs
neither underflows early nor loses its relative accuracy. :math:`\log\Phi` comes from
``math.erfc`` (the standard library) for :math:`z > -37` and from the asymptotic series of the
Mills ratio below, where erfc alone would underflow.
"""

from __future__ import annotations

import math

import numpy as np

_EDGES = np.array([-40.0, -20.0, -12.0, -8.0, -5.0, -3.0, -1.5, 0.0, 1.5, 3.0, 5.0, 8.0, 12.0,
                   20.0, 40.0])
_GL = np.polynomial.legendre.leggauss(16)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_erfc = np.vectorize(math.erfc, otypes=[float])


def log_norm_cdf(z) -> np.ndarray:
    r""":math:`\log \Phi(z)`, accurate in the far lower tail.

    For :math:`z > -37`, :math:`\log(\tfrac12 \operatorname{erfc}(-z/\sqrt2))` (erfc is
    above 1e-300 there); below, the Mills ratio
    :math:`\Phi(z) = \varphi(z)/|z| \cdot (1 - z^{-2} + 3 z^{-4} - 15 z^{-6} + 105 z^{-8})`,
    whose first omitted term is :math:`945 z^{-10} < 3 \cdot 10^{-13}` there.
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    hi = z > -37.0
    with np.errstate(divide="ignore"):
        out[hi] = np.log(0.5 * _erfc(-z[hi] / math.sqrt(2.0)))
    zl = z[~hi]
    r = 1.0 / zl**2
    series = 1.0 - r + 3.0 * r**2 - 15.0 * r**3 + 105.0 * r**4
    out[~hi] = -0.5 * zl**2 - _LOG_SQRT_2PI - np.log(-zl) + np.log(series)
    return out


def normal_prob_best(means, sds) -> np.ndarray:
    r"""P(arm k has the highest mean) for independent normal posteriors :math:`N(m_k, s_k^2)`.

    .. math:: P(\text{best}_k) = \int \varphi_k(x) \prod_{j \ne k} \Phi_j(x)\, dx

    Parameters
    ----------
    means, sds : sequence of float
        Posterior means and standard deviations (positive) per arm.

    Returns
    -------
    numpy.ndarray
        P(best) per arm, summing to 1.

    Raises
    ------
    ValueError
        A standard deviation that is not positive and finite, or fewer than two arms.
    """
    m = np.asarray(means, dtype=float)
    s = np.asarray(sds, dtype=float)
    if m.ndim != 1 or m.shape != s.shape or m.size < 2:
        raise ValueError(f"need two or more arms with one mean and one sd each, got {m.size}")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(s)) and np.all(s > 0)):
        raise ValueError(f"posterior sds must be positive and finite, got {s.tolist()}")
    edges = np.unique(np.concatenate([mk + sk * _EDGES for mk, sk in zip(m, s, strict=True)]))
    u, v = edges[:-1, None], edges[1:, None]
    gx, gw = _GL
    x = ((u + v) / 2 + (v - u) / 2 * gx).ravel()
    w = ((v - u) / 2 * gw).ravel()
    z = (x[None, :] - m[:, None]) / s[:, None]
    log_cdf = log_norm_cdf(z)
    log_pdf = -0.5 * z**2 - _LOG_SQRT_2PI - np.log(s)[:, None]
    total = log_cdf.sum(axis=0)
    out = np.array([np.sum(w * np.exp(log_pdf[k] + total - log_cdf[k])) for k in range(m.size)])
    return out / out.sum()
