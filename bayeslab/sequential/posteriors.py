r"""Posteriors of the lift at one look, vectorized over simulated experiments.

Conversion (``LookStats.metric == "binary"``): independent
:math:`p_k \sim \mathrm{Beta}(\alpha_0 + x_k, \beta_0 + n_k - x_k)`, every quantity an exact
one-dimensional integral of :mod:`bayeslab.kernels.beta` (``accuracy="simulation"`` for many
experiments, the exact default for up to 16 at once). Continuous (``"normal"``): the conjugate
normal posterior of the lift with the sampling variance plugged in. The stopping rules of
:mod:`bayeslab.sequential.rules` read these.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from bayeslab.core.errors import ModelError
from bayeslab.sequential.look_stats import LookStats

_EXACT_MAX = 16  # arrays up to this size use the full-accuracy scalar kernels


def look_stats(n_control, sum_control, n_treatment, sum_treatment, *, sumsq_control=None,
               sumsq_treatment=None, metric: str = "binary", look: int = 0,
               n_looks: int = 1) -> LookStats:
    """Statistics of real looks as a :class:`LookStats` (scalars or arrays over looks).

    Parameters
    ----------
    n_control, sum_control, n_treatment, sum_treatment : float or array_like
        Cumulative units and sums (conversions for binary data).
    sumsq_control, sumsq_treatment : float or array_like, optional
        Sums of squares (normal data; equal to the sums for binary data).
    metric : {"binary", "normal"}
    look, n_looks : int
        Look index (0-based) and number of looks, for ``burn_in``.

    Returns
    -------
    LookStats
    """
    if metric not in ("binary", "normal"):
        raise ModelError(f"metric must be 'binary' or 'normal', got {metric!r}")
    arr = [np.atleast_1d(np.asarray(v, dtype=float))
           for v in (n_control, sum_control, n_treatment, sum_treatment)]
    if metric == "binary":
        sq_c, sq_t = arr[1], arr[3]
    else:
        if sumsq_control is None or sumsq_treatment is None:
            raise ModelError("normal data needs sumsq_control and sumsq_treatment")
        sq_c = np.atleast_1d(np.asarray(sumsq_control, dtype=float))
        sq_t = np.atleast_1d(np.asarray(sumsq_treatment, dtype=float))
    return LookStats(look=int(look), n_looks=int(n_looks), n_control=arr[0], n_treatment=arr[2],
                     sum_control=arr[1], sum_treatment=arr[3], sumsq_control=sq_c,
                     sumsq_treatment=sq_t, metric=metric)


# ----------------------------------------------------------------------------- posteriors


def _beta_params(stats: LookStats, prior):
    a0, b0 = (1.0, 1.0) if prior is None else prior
    return (a0 + stats.sum_treatment, b0 + stats.n_treatment - stats.sum_treatment,
            a0 + stats.sum_control, b0 + stats.n_control - stats.sum_control)


def normal_posterior(stats: LookStats, prior):
    """Mean and sd of the conjugate normal posterior of the lift (flat prior when ``None``)."""
    est = stats.estimate
    var = stats.se**2
    if prior is None:
        return est, np.sqrt(var)
    mu0, sd0 = prior
    prec = 1.0 / var + 1.0 / sd0**2
    return (est / var + mu0 / sd0**2) / prec, np.sqrt(1.0 / prec)


def _exact(stats) -> bool:
    return np.size(stats.n_control) <= _EXACT_MAX


def _unique_apply(fn, *params):
    """Compute ``fn(*params)`` once per distinct parameter set and spread it back.

    Simulated experiments share the look's sample sizes, so many have the same counts.
    """
    stacked = np.stack([np.ravel(p) for p in np.broadcast_arrays(*params)], axis=1)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    if uniq.shape[0] > 0.8 * stacked.shape[0]:
        return np.atleast_1d(fn(*params))
    return np.atleast_1d(fn(*uniq.T))[np.ravel(inverse)]


def prob_positive(stats: LookStats, prior=None) -> np.ndarray:
    r"""Posterior :math:`P(\Delta > 0)` per experiment."""
    if stats.metric == "binary":
        from bayeslab.kernels import beta as K

        params = _beta_params(stats, prior)
        if _exact(stats):
            return np.atleast_1d(np.vectorize(lambda *p: K.prob_greater_pair(*p)[0])(*params))
        return _unique_apply(lambda *p: K.prob_greater(*p, accuracy="simulation"), *params)
    m, s = normal_posterior(stats, prior)
    return special.ndtr(m / s)


def expected_losses(stats: LookStats, prior=None, relative: bool = False):
    r"""Posterior expected losses of shipping and of keeping control, per experiment.

    Returns ``(ship, keep)``: :math:`E[(-\Delta)^+]` and :math:`E[\Delta^+]` (on the relative
    scale :math:`p_T/p_C - 1` with ``relative=True``, conversion only).
    """
    if stats.metric == "binary":
        from bayeslab.kernels import beta as K

        a_t, b_t, a_c, b_c = _beta_params(stats, prior)
        if _exact(stats):
            ship = np.atleast_1d(np.vectorize(
                lambda *p: K.expected_loss(*p, relative=relative))(a_t, b_t, a_c, b_c))
        else:
            ship = _unique_apply(lambda *p: K.expected_loss(*p, relative=relative,
                                                            accuracy="simulation"),
                                 a_t, b_t, a_c, b_c)
        mu_t = a_t / (a_t + b_t)
        if relative:  # E[p_T/p_C] - 1 + E[(1 - p_T/p_C)^+]
            with np.errstate(divide="ignore"):
                mean = np.where(a_c > 1, mu_t * (a_c + b_c - 1) / (a_c - 1) - 1, np.inf)
        else:
            mean = mu_t - a_c / (a_c + b_c)
        return ship, np.maximum(mean + ship, 0.0)
    if relative:
        raise ModelError("a relative expected loss is available for conversion metrics only")
    m, s = normal_posterior(stats, prior)
    z = m / s
    keep = m * special.ndtr(z) + s * np.exp(-z**2 / 2) / math.sqrt(2 * math.pi)  # E[Delta^+]
    return keep - m, keep


def lift_cdf(stats: LookStats, d: float, prior=None) -> np.ndarray:
    r"""Posterior :math:`P(\Delta \le d)` per experiment."""
    if stats.metric == "binary":
        from bayeslab.kernels import beta as K

        params = _beta_params(stats, prior)
        if _exact(stats):
            return np.atleast_1d(np.vectorize(lambda *p: K.diff_cdf(d, *p))(*params))
        return _unique_apply(lambda *p: K.diff_cdf(d, *p, accuracy="simulation"), *params)
    m, s = normal_posterior(stats, prior)
    return special.ndtr((d - m) / s)


def lift_interval(stats: LookStats, level: float = 0.95, prior=None):
    r"""Equal-tailed posterior interval of :math:`\Delta` per experiment: ``(lower, upper)``."""
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    if stats.metric == "binary":
        from bayeslab.kernels import beta as K

        params = _beta_params(stats, prior)
        if _exact(stats):
            f = np.vectorize(K.diff_quantile)
            return np.atleast_1d(f(lo_q, *params)), np.atleast_1d(f(hi_q, *params))
        return (np.atleast_1d(K.diff_quantile(lo_q, *params, accuracy="simulation")),
                np.atleast_1d(K.diff_quantile(hi_q, *params, accuracy="simulation")))
    m, s = normal_posterior(stats, prior)
    z = special.ndtri(hi_q)
    return m - z * s, m + z * s


def check_prior(prior):
    """Raise ModelError unless ``prior`` is None or two finite numbers, the second positive."""
    if prior is None:
        return
    try:
        a, b = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise ModelError(f"prior must be two numbers, got {prior!r}") from None
    if not (math.isfinite(a) and math.isfinite(b) and b > 0):
        raise ModelError(f"prior must be two finite numbers, the second positive, got {prior!r}")
