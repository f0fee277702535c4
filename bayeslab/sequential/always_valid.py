r"""Always-valid inference for continuous monitoring: the normal-mixture SPRT.

At each look the effect estimate :math:`\hat\Delta_n` (treatment minus control) has variance
:math:`s_n^2`. The mixture sequential probability ratio test (Robbins 1970; Johari, Koomen,
Pekelis and Walsh 2017, "Peeking at A/B tests") mixes the likelihood ratio over
:math:`\Delta \sim N(\theta_0, \tau^2)`:

.. math::

    \Lambda_n = \int \frac{\phi(\hat\Delta_n; \Delta, s_n^2)}{\phi(\hat\Delta_n; \theta_0, s_n^2)}
        \, \phi(\Delta; \theta_0, \tau^2) \, d\Delta
      = \sqrt{\frac{s_n^2}{s_n^2 + \tau^2}}
        \exp\left(\frac{\tau^2 (\hat\Delta_n - \theta_0)^2}{2 s_n^2 (s_n^2 + \tau^2)}\right).

Under :math:`H_0: \Delta = \theta_0`, :math:`\Lambda_n` is a non-negative martingale in the
information :math:`1/s_n^2`, so by Ville's inequality :math:`P(\sup_n \Lambda_n \ge 1/\alpha)
\le \alpha` however often one looks. The always-valid p-value is
:math:`p_n = \min(1, \min_{m \le n} 1/\Lambda_m)`, and the confidence sequence is the running
intersection of :math:`\{\theta_0 : \Lambda_m(\theta_0) < 1/\alpha\}`, whose half-width is

.. math::

    \sqrt{\frac{2 s_n^2 (s_n^2 + \tau^2)}{\tau^2}
          \left(\log\frac{1}{\alpha} + \frac12 \log\frac{s_n^2 + \tau^2}{s_n^2}\right)}.

The guarantee is exact for Gaussian data with known variance and asymptotic when the variance is
estimated (means) or the data are Bernoulli (proportions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import Estimate, json_float, jsonable


def log_mixture_likelihood_ratio(estimate, variance, tau: float, theta0: float = 0.0):
    r"""Log of the normal-mixture likelihood ratio :math:`\Lambda_n` (vectorized).

    Parameters
    ----------
    estimate, variance : array_like
        Effect estimates and their variances :math:`s_n^2`; a non-positive or non-finite variance
        (no information yet) gives 0.
    tau : float
        Standard deviation of the mixing normal, on the scale of the effect.
    theta0 : float
        Null value of the effect.

    Returns
    -------
    numpy.ndarray
    """
    d = np.asarray(estimate, dtype=float) - theta0
    v = np.asarray(variance, dtype=float)
    ok = np.isfinite(v) & (v > 0) & np.isfinite(d)
    v = np.where(ok, v, 1.0)
    t2 = float(tau) ** 2
    out = 0.5 * np.log(v / (v + t2)) + t2 * d**2 / (2.0 * v * (v + t2))
    return np.where(ok, out, 0.0)


def confidence_radius(variance, tau: float, alpha: float):
    """Half-width of the mixture-SPRT confidence set at each look (``inf`` without information)."""
    v = np.asarray(variance, dtype=float)
    ok = np.isfinite(v) & (v > 0)
    v = np.where(ok, v, 1.0)
    t2 = float(tau) ** 2
    r = np.sqrt(2.0 * v * (v + t2) / t2 * (np.log(1.0 / alpha) + 0.5 * np.log((v + t2) / v)))
    return np.where(ok, r, np.inf)


@dataclass(frozen=True)
class AlwaysValidResult:
    r"""Always-valid p-values and confidence sequence over a series of looks.

    Attributes
    ----------
    n : numpy.ndarray
        Total sample size (or look index) at each look.
    estimate, se : numpy.ndarray
        Effect estimate (treatment minus control) and its standard error at each look.
    likelihood_ratio : numpy.ndarray
        Mixture likelihood ratio :math:`\Lambda_n` against ``theta0``.
    p_value : numpy.ndarray
        Always-valid p-value (running minimum of :math:`1/\Lambda`, capped at 1).
    lower, upper : numpy.ndarray
        Confidence sequence at level ``1 - alpha`` (running intersection).
    alpha, tau, theta0 : float
    metric : str
        ``"mean"``, ``"proportion"`` or ``"estimate"`` (given directly).
    """

    n: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    likelihood_ratio: np.ndarray
    p_value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    alpha: float
    tau: float
    theta0: float = 0.0
    metric: str = "estimate"

    @property
    def rejected(self) -> bool:
        """Whether the null was rejected at some look (``p_value <= alpha``)."""
        return bool(np.any(self.p_value <= self.alpha))

    @property
    def stop_look(self) -> int | None:
        """Index (0-based) of the first look with ``p_value <= alpha``, or ``None``."""
        hit = np.flatnonzero(self.p_value <= self.alpha)
        return int(hit[0]) if hit.size else None

    def summary(self):
        """One row per look: n, estimate, se, likelihood ratio, p-value, confidence sequence."""
        import pandas as pd

        return pd.DataFrame({"n": self.n, "estimate": self.estimate, "se": self.se,
                             "likelihood_ratio": self.likelihood_ratio, "p_value": self.p_value,
                             "lower": self.lower, "upper": self.upper})

    def estimates(self) -> list[Estimate]:
        """The last look as a frequentist :class:`~bayeslab.core.estimates.Estimate` ("msprt")."""
        return [Estimate(side="frequentist", method="msprt", effect="absolute",
                         estimate=float(self.estimate[-1]), lower=float(self.lower[-1]),
                         upper=float(self.upper[-1]), level=1.0 - self.alpha,
                         p_value=float(self.p_value[-1]),
                         extra={"tau": self.tau, "theta0": self.theta0, "looks": len(self.n),
                                "always_valid": True})]

    def to_dict(self) -> dict:
        """JSON-safe dict with the settings, the decision and one entry per look."""
        return {"method": "msprt", "metric": self.metric, "alpha": self.alpha, "tau": self.tau,
                "theta0": self.theta0, "rejected": self.rejected, "stop_look": self.stop_look,
                "looks": jsonable(self.summary().to_dict(orient="records")),
                "final": {"estimate": json_float(self.estimate[-1]),
                          "lower": json_float(self.lower[-1]),
                          "upper": json_float(self.upper[-1]),
                          "p_value": json_float(self.p_value[-1])}}

    def __str__(self) -> str:
        k = self.stop_look
        verdict = "not rejected" if k is None else f"rejected at look {k + 1} (n={self.n[k]:g})"
        return (f"Mixture SPRT ({self.metric}), tau={self.tau:g}, alpha={self.alpha:g}: H0 "
                f"{verdict}\nlast look n={self.n[-1]:g}: estimate {self.estimate[-1]:.4g}, "
                f"always-valid {100 * (1 - self.alpha):g}% CS [{self.lower[-1]:.4g}, "
                f"{self.upper[-1]:.4g}], p={self.p_value[-1]:.4g}")


def _check_tau_alpha(tau, alpha):
    if not isinstance(tau, (int, float, np.floating)) or not np.isfinite(tau) or tau <= 0:
        raise ModelError(f"tau must be a positive number (mixing sd of the effect), got {tau!r}")
    if not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
        raise ModelError(f"alpha must be in (0, 1), got {alpha!r}")


def _as_looks(name, value, size=None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.ndim != 1 or (size is not None and arr.size != size):
        raise DataError(f"{name} must be a 1-d sequence with one value per look"
                        + (f" ({size} looks)" if size is not None else ""), column=name)
    if np.any(np.isnan(arr)):
        raise DataError(f"{name} has {int(np.isnan(arr).sum())} missing values", column=name,
                        rows=int(np.isnan(arr).sum()))
    return arr


def msprt(estimate, se, *, tau: float, theta0: float = 0.0, alpha: float = 0.05,
          n=None, metric: str = "estimate") -> AlwaysValidResult:
    r"""Always-valid p-values and confidence sequence from effect estimates at each look.

    Parameters
    ----------
    estimate, se : array_like
        Effect estimate and its standard error at each look, in time order.
    tau : float
        Mixing standard deviation on the effect scale: the size of effect the test is tuned to
        detect fastest (Johari et al. 2017 suggest a typical effect size from past experiments).
    theta0 : float
        Null value of the effect.
    alpha : float
        Level: the chance of ever rejecting a true null, over unlimited looks, is at most alpha.
    n : array_like, optional
        Sample size at each look (reporting only); defaults to 1, 2, ...
    metric : str
        Label recorded in the result.

    Returns
    -------
    AlwaysValidResult

    Raises
    ------
    ModelError
        ``tau`` not positive, ``alpha`` not in (0, 1).
    DataError
        Inputs of different lengths or with missing values, negative standard errors.

    See Also
    --------
    bayeslab.sequential.boundaries.group_sequential_design : planned looks with alpha spending.
    """
    _check_tau_alpha(tau, alpha)
    est = _as_looks("estimate", estimate)
    s = _as_looks("se", se, est.size)
    if np.any(s < 0):
        raise DataError(f"se has {int((s < 0).sum())} negative values", column="se")
    n = np.arange(1, est.size + 1, dtype=float) if n is None else _as_looks("n", n, est.size)
    var = s**2
    log_lr = log_mixture_likelihood_ratio(est, var, tau, theta0)
    p = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lr)))
    r = confidence_radius(var, tau, alpha)
    lower = np.maximum.accumulate(np.where(np.isfinite(r), est - r, -np.inf))
    upper = np.minimum.accumulate(np.where(np.isfinite(r), est + r, np.inf))
    return AlwaysValidResult(n=n, estimate=est, se=s, likelihood_ratio=np.exp(log_lr),
                             p_value=p, lower=lower, upper=upper, alpha=float(alpha),
                             tau=float(tau), theta0=float(theta0), metric=metric)


def always_valid_means(n_control, mean_control, var_control, n_treatment, mean_treatment,
                       var_treatment, *, tau: float, alpha: float = 0.05,
                       theta0: float = 0.0) -> AlwaysValidResult:
    r"""Mixture SPRT for a difference of means from cumulative per-look summaries.

    :math:`\hat\Delta_n = \bar y_T - \bar y_C`, :math:`s_n^2 = v_C/n_C + v_T/n_T`.

    Parameters
    ----------
    n_control, mean_control, var_control, n_treatment, mean_treatment, var_treatment : array_like
        Cumulative sample size, mean and variance of each arm at each look.
    tau, alpha, theta0
        See :func:`msprt`.

    Returns
    -------
    AlwaysValidResult

    Raises
    ------
    DataError
        Lengths differ, negative counts or variances.
    ModelError
        Bad ``tau`` or ``alpha``.
    """
    nc = _as_looks("n_control", n_control)
    k = nc.size
    arrays = [_as_looks(name, v, k) for name, v in [
        ("mean_control", mean_control), ("var_control", var_control),
        ("n_treatment", n_treatment), ("mean_treatment", mean_treatment),
        ("var_treatment", var_treatment)]]
    mc, vc, nt, mt, vt = arrays
    for name, arr in [("n_control", nc), ("n_treatment", nt), ("var_control", vc),
                      ("var_treatment", vt)]:
        if np.any(arr < 0):
            raise DataError(f"{name} has negative values", column=name)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where((nc > 0) & (nt > 0), vc / nc + vt / nt, np.inf)
    return msprt(mt - mc, np.sqrt(var), tau=tau, theta0=theta0, alpha=alpha, n=nc + nt,
                 metric="mean")


def always_valid_proportions(n_control, x_control, n_treatment, x_treatment, *, tau: float,
                             alpha: float = 0.05, theta0: float = 0.0) -> AlwaysValidResult:
    r"""Mixture SPRT for a difference of proportions from cumulative per-look counts.

    :math:`\hat\Delta_n = \hat p_T - \hat p_C` with the unpooled variance
    :math:`\hat p_C(1-\hat p_C)/n_C + \hat p_T(1-\hat p_T)/n_T`; a look where that variance is 0
    (no conversions yet) carries no information (:math:`\Lambda = 1`).

    Parameters
    ----------
    n_control, x_control, n_treatment, x_treatment : array_like
        Cumulative units and conversions of each arm at each look.
    tau, alpha, theta0
        See :func:`msprt`; ``tau`` is on the absolute (percentage-point / 100) scale.

    Returns
    -------
    AlwaysValidResult

    Raises
    ------
    DataError
        Lengths differ, negative counts, more conversions than units.
    ModelError
        Bad ``tau`` or ``alpha``.
    """
    nc = _as_looks("n_control", n_control)
    xc, nt, xt = (_as_looks(name, v, nc.size) for name, v in
                  [("x_control", x_control), ("n_treatment", n_treatment),
                   ("x_treatment", x_treatment)])
    for name, n_, x_ in [("control", nc, xc), ("treatment", nt, xt)]:
        if np.any(n_ < 0) or np.any(x_ < 0):
            raise DataError(f"{name} counts must be non-negative", column=f"n_{name}")
        if np.any(x_ > n_):
            raise DataError(f"x_{name} exceeds n_{name} at {int((x_ > n_).sum())} looks",
                            column=f"x_{name}", rows=int((x_ > n_).sum()))
    with np.errstate(divide="ignore", invalid="ignore"):
        pc, pt = xc / nc, xt / nt
        var = pc * (1 - pc) / nc + pt * (1 - pt) / nt
    ok = (nc > 0) & (nt > 0)
    est = np.where(ok, pt - pc, 0.0)
    var = np.where(ok & (var > 0), var, np.inf)
    return msprt(est, np.sqrt(var), tau=tau, theta0=theta0, alpha=alpha, n=nc + nt,
                 metric="proportion")
