r"""Normal and chi-square tail probabilities in closed form, from the standard library.

The frequentist readouts need :math:`\Phi`, :math:`\Phi^{-1}` and the chi-square survival
function at a handful of points. ``scipy.special`` has them, but importing it costs about 0.2 s
(it loads ``scipy.linalg``), more than a whole conversion readout on ten million rows, so these
are written here:

.. math::

    \Phi(z) = \tfrac12 \operatorname{erfc}(-z / \sqrt2), \qquad
    \Phi^{-1}(q) \text{ by Wichura's AS 241 (} \texttt{statistics.NormalDist} \text{)},

and for :math:`X \sim \chi^2_\nu` with integer :math:`\nu` (Abramowitz and Stegun 26.4.4-5),
with :math:`t = x / 2`:

.. math::

    \nu \text{ even:}\quad P(X > x) &= e^{-t} \sum_{k=0}^{\nu/2 - 1} \frac{t^k}{k!}, \\
    \nu \text{ odd:}\quad P(X > x) &= \operatorname{erfc}(\sqrt t)
        + e^{-t} \sum_{k=1}^{(\nu-1)/2} \frac{t^{k - 1/2}}{\Gamma(k + 1/2)}.

Every term is positive, so the far tails keep their relative accuracy; terms are summed in log
space so large :math:`x` neither overflows nor underflows before the sum. Tested against
``scipy.special`` in ``tests/kernels/test_distributions.py``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_STD = NormalDist()


def norm_cdf(z: float) -> float:
    r""":math:`\Phi(z)`, accurate in relative terms in both tails."""
    return 0.5 * math.erfc(-float(z) / math.sqrt(2.0))


def norm_sf(z: float) -> float:
    r""":math:`1 - \Phi(z) = \Phi(-z)`."""
    return norm_cdf(-z)


def norm_ppf(q: float) -> float:
    r""":math:`\Phi^{-1}(q)` for :math:`0 < q < 1` (``-inf`` / ``inf`` at 0 / 1)."""
    q = float(q)
    if q <= 0.0:
        return -math.inf
    if q >= 1.0:
        return math.inf
    return _STD.inv_cdf(q)


def chi2_sf(x: float, df: int) -> float:
    r""":math:`P(\chi^2_\nu > x)` for a positive integer :math:`\nu` (see the module docstring)."""
    x, df = float(x), int(df)
    if df < 1:
        raise ValueError(f"degrees of freedom must be a positive integer, got {df}")
    if x <= 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    t = x / 2.0
    if df % 2 == 0:
        logs = [k * math.log(t) - math.lgamma(k + 1.0) for k in range(df // 2)]
        head = 0.0
    else:
        logs = [(k - 0.5) * math.log(t) - math.lgamma(k + 0.5) for k in range(1, (df + 1) // 2)]
        head = math.erfc(math.sqrt(t))
    if not logs:
        return head
    top = max(logs)
    total = top - t + math.log(math.fsum(math.exp(v - top) for v in logs))
    return head + math.exp(total)
