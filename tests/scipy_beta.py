"""``scipy.stats.beta``'s pdf and cdf at one point: the same numbers, without the wrappers' cost.

A quadrature calls its integrand thousands of times, and ``stats.beta.pdf(x, a, b)`` spends most
of each call on argument checks and broadcasting (90 % of the nested reference quadratures'
time in tests/kernels/test_beta.py). Inside the support these call the ufuncs that
``scipy.stats.beta`` calls (``_beta_pdf``, ``betainc``); at and beyond its ends, scipy.stats
itself. Bit for bit the same values: ``test_beta.py`` checks it.
"""

import numpy as np
from scipy import special, stats

try:  # the ufunc behind scipy.stats.beta.pdf
    from scipy.special._ufuncs import _beta_pdf
except ImportError:  # pragma: no cover - a scipy without it: the public route, the same numbers
    _beta_pdf = stats.beta.pdf


def pdf(x: float, a: float, b: float) -> float:
    """``stats.beta.pdf(x, a, b)`` for a scalar ``x``."""
    if not 0.0 < x < 1.0:
        return float(stats.beta.pdf(x, a, b))
    with np.errstate(over="ignore"):  # as scipy.stats.beta._pdf
        return _beta_pdf(x, a, b)


def cdf(x: float, a: float, b: float) -> float:
    """``stats.beta.cdf(x, a, b)`` for a scalar ``x``."""
    return special.betainc(a, b, x) if 0.0 < x < 1.0 else float(stats.beta.cdf(x, a, b))
