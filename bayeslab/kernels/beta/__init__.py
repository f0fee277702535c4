r"""The Beta kernel: every integral over independent Beta posteriors in the package, one path.

For :math:`p_T \sim \mathrm{Beta}(a_T, b_T)` and :math:`p_C \sim \mathrm{Beta}(a_C, b_C)` every
quantity of a conversion readout, of the funnel's Beta stages, of a sequential or A/A
simulation and of the app's figures is a one-dimensional integral against the density of one
arm with the CDF of the other inside:

.. math::

    P(p_T > p_C) &= \int_0^1 f_C(x)\, \bar F_T(x)\, dx, \\
    P(p_T - p_C \le d) &= \int_0^1 f_C(x)\, F_T(x + d)\, dx, \\
    P(p_T / p_C \le r) &= \int_0^1 f_C(x)\, F_T(r x)\, dx, \\
    E[(p_C - p_T)^+] &= \int_0^1 f_C(x)\,\bigl[x F_T(x) - \mu_T F_{T+}(x)\bigr]\, dx,

where :math:`F_{T+}` is the CDF of :math:`\mathrm{Beta}(a_T + 1, b_T)` and
:math:`\mu_T = a_T / (a_T + b_T)`. The outer density is always the *narrower* posterior's
(the roles of the arms swapped where needed), so the inner CDF is smooth over the outer window
and a composite Gauss-Legendre rule over the outer mean :math:`\pm k` standard deviations
(clipped to [0, 1]) converges fast.

Accuracy
--------
The integrals that simulations run (:func:`prob_greater`, :func:`diff_cdf`,
:func:`diff_quantile`, :func:`expected_loss`) take ``accuracy``; the two settings are the
same integrands on two rules of one node builder (:mod:`._rules`):

``accuracy="exact"`` (default; every readout)
    96 + 2 x 32 = 160 nodes over :math:`\mu \pm 40\sigma` (core :math:`\pm 8\sigma`), the
    numpy CDF of :mod:`._cdf` inside. :math:`P(p_T > p_C)` to about 1e-12 absolute (the
    closed form for integer :math:`a_T`; a 40-digit mpmath reference from :math:`10^6` to
    :math:`10^{13}` units per arm, ``tests/kernels/test_beta_huge_n.py``), quantiles to about
    1e-13 relative to :math:`\max(1, |d|)`, losses to about 1e-12 relative; tails below 1e-6
    with relative accuracy from :func:`prob_greater_pair`, below 1e-300 as 0.0.
``accuracy="simulation"`` (operating characteristics over thousands of experiments)
    24 + 2 x 8 = 40 nodes over :math:`\mu \pm 20\sigma` (core :math:`\pm 6\sigma`),
    ``scipy.special.betainc`` inside, vectorized over the parameters: :math:`P(p_T > p_C)`
    and :math:`P(p_T - p_C \le d)` within 1e-6 absolute (worst seen 4e-8) on rates
    0.001-0.9, 1 to :math:`10^8` units per arm and allocations 1:1, 9:1, 1:9, and up to
    :math:`10^{13}` units per arm against a 40-digit reference
    (``tests/kernels/test_beta_accuracy.py``, ``test_beta_huge_n.py``); losses within 1e-5
    relative or 1e-9 absolute of the exact ones. About 15 us per experiment for
    :math:`P(p_T > p_C)`; a decision against a threshold such as 0.95 moves only for
    experiments within 1e-6 of it, far below any Monte Carlo error.

A parameter below 1 (a density singular at 0 or 1: a Jeffreys or lighter prior with no
conversions) goes, under either setting, to the quantile-space adaptive quadrature of
:mod:`._singular`, which raises :class:`~bayeslab.core.errors.ConvergenceError` rather than
return a number it cannot vouch for.

Imports
-------
With every parameter at least 1, the exact setting is numpy only: a conversion readout imports
no scipy (``tests/cli/test_cli.py``). scipy is imported, on first use, by the simulation rule,
by the singular branch and by :func:`frozen`.

Layout
------
:mod:`._density` (log density and :math:`\log B` at any size), :mod:`._cdf` (CDF, survival
function and quantile, numpy), :mod:`._one` (one arm, with the fallback below 1),
:mod:`._rules` (the outer node builder and the two rules), :mod:`._pair` (the two-arm
integrals), :mod:`._quantile` (Halley quantile search of the difference and the ratio),
:mod:`._multi` (several arms, the far-tail integral, a bracketed root finder),
:mod:`._singular` (parameters below 1). Nothing here draws random numbers.
"""

from __future__ import annotations

from bayeslab.kernels.beta._cdf import log_cdf, log_sf
from bayeslab.kernels.beta._density import betaln, log_pdf, pdf
from bayeslab.kernels.beta._multi import (
    TAIL_FLOOR,
    _log_tail_integral,
    expected_max,
    prob_best,
)
from bayeslab.kernels.beta._one import cdf, frozen, ppf, sf
from bayeslab.kernels.beta._pair import (
    compare,
    diff_cdf,
    diff_pdf,
    diff_quantile,
    diff_quantiles,
    expected_loss,
    expected_losses,
    prob_greater,
    prob_greater_pair,
    ratio_cdf,
    ratio_mean,
    ratio_pdf,
    ratio_quantile,
    ratio_quantiles,
)
from bayeslab.kernels.beta._rules import RULES, beta_moments

ACCURACIES = tuple(RULES)
"""The values of ``accuracy``: ``("exact", "simulation")``."""

__all__ = [
    "ACCURACIES", "TAIL_FLOOR", "beta_moments", "betaln", "cdf", "compare", "diff_cdf",
    "diff_pdf", "diff_quantile", "diff_quantiles", "expected_loss", "expected_losses",
    "expected_max", "frozen", "log_cdf", "log_pdf", "log_sf", "pdf", "ppf", "prob_best",
    "prob_greater", "prob_greater_pair", "ratio_cdf", "ratio_mean", "ratio_pdf",
    "ratio_quantile", "ratio_quantiles", "sf", "_log_tail_integral",
]
