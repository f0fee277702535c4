r"""One Beta arm: density, CDF, survival function and quantile.

Every parameter at least 1: numpy only (:mod:`._cdf`, :mod:`._density`), so a conversion
readout imports no scipy. A parameter below 1 (a density singular at 0 or 1: a Jeffreys or
lighter prior with no conversions) takes the CDF and survival function from
``scipy.special.betainc`` / ``betaincc``, imported there; the quantile stays numpy for every
:math:`a, b > 0` (:func:`bayeslab.kernels.beta._cdf.ppf`, tested against mpmath below 1, where
``scipy.special.betaincinv`` returns a constant for some parameters).
"""

from __future__ import annotations

import numpy as np

from bayeslab.kernels.beta import _cdf


def singular(*params) -> bool:
    """Whether any parameter is below 1 (a density singular at a boundary)."""
    return any(np.any(np.asarray(p) < 1.0) for p in params)


def cdf(x, a, b):
    r"""CDF :math:`I_x(a, b)` of Beta(a, b) at ``x``, clipped to [0, 1] outside the support.

    :func:`bayeslab.kernels.beta._cdf.cdf` (numpy only, about 1e-13 absolute and relative in
    the lower tail) for :math:`a, b \ge 1`; ``scipy.special.betainc`` (imported here) for a
    parameter below 1.
    """
    if singular(a, b):
        from scipy import special

        return special.betainc(a, b, np.clip(x, 0.0, 1.0))
    return _cdf.cdf(x, a, b)


def sf(x, a, b):
    """Survival function 1 - CDF of Beta(a, b), accurate in the upper tail (as :func:`cdf`)."""
    if singular(a, b):
        from scipy import special

        return special.betaincc(a, b, np.clip(x, 0.0, 1.0))
    return _cdf.sf(x, a, b)


def ppf(q, a, b):
    r"""Quantile of Beta(a, b), broadcast over ``q``, ``a`` and ``b`` (numpy, any :math:`a, b > 0`).

    :func:`bayeslab.kernels.beta._cdf.ppf`: Newton on the log CDF in the logit, relative
    accuracy about 1e-15 in ``x``; a quantile below the smallest double is 0.0.
    """
    return _cdf.ppf(q, a, b)


def frozen(a: float, b: float):
    """``scipy.stats.beta(a=a, b=b)``: a distribution object to hand to a user, never to compute.

    The one place outside the kernels' integrals that names scipy's Beta distribution (the
    funnel's :meth:`~bayeslab.bayes.funnel.FunnelPosterior.posterior` returns it); scipy is
    imported on the call.
    """
    from scipy import stats

    return stats.beta(a=a, b=b)
