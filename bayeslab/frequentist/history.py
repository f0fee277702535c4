r"""Random-effects meta-analysis of past experiments and their empirical-Bayes shrunken effects.

The frequentist mirror of :mod:`bayeslab.bayes.history`. Past experiments of one metric give
estimates :math:`y_i` with standard errors :math:`s_i`; their true effects vary around a mean.
DerSimonian and Laird (1986) estimate that mean and spread by the method of moments, and the
empirical-Bayes (James-Stein-like) estimates shrink each experiment towards the mean by how noisy
it is, which undoes the winner's curse of the shipped (significantly positive) ones on average.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from bayeslab.core.checks import check_history  # noqa: F401  (re-exported)
from bayeslab.core.errors import DataError
from bayeslab.core.estimates import json_float, jsonable

HISTORY_LEVEL = 0.9


@dataclass(frozen=True)
class RandomEffects:
    r"""DerSimonian-Laird random-effects fit of past experiments, with shrunken effects.

    Attributes
    ----------
    mu, mu_se : float
        Random-effects mean :math:`\hat\mu` and its standard error.
    mu_interval : (float, float)
        Normal interval of :math:`\mu` at ``interval``.
    tau2 : float
        Between-experiment variance of the true effects (method of moments, truncated at 0).
    q, df, p_homogeneity : float
        Cochran's Q, its degrees of freedom :math:`k - 1` and the chi-square p-value of
        "no between-experiment spread".
    i2 : float
        :math:`I^2 = \max(0, (Q - df) / Q)`: share of the estimates' spread due to true effects.
    mu_fe : float
        Fixed-effect (inverse-variance) mean.
    shrunken : pandas.DataFrame
        One row per experiment: ``experiment``, ``estimate``, ``se``, ``shipped``, ``shrinkage``
        (:math:`B_i`), ``mean``, ``sd``, ``lower``, ``upper``.
    shipped_impact : dict or None
        ``n``, ``naive`` (sum of the shipped estimates), ``corrected`` (sum of their shrunken
        effects), ``se``, ``lower``, ``upper``, ``ratio`` (naive / corrected); None without
        ``shipped``.
    n_experiments : int
    interval : float
    """

    mu: float
    mu_se: float
    mu_interval: tuple[float, float]
    tau2: float
    q: float
    df: int
    p_homogeneity: float
    i2: float
    mu_fe: float
    shrunken: object = field(repr=False)  # pandas.DataFrame
    shipped_impact: dict | None
    n_experiments: int
    interval: float = HISTORY_LEVEL

    @property
    def tau(self) -> float:
        r"""Between-experiment standard deviation :math:`\sqrt{\tau^2}`."""
        return float(np.sqrt(self.tau2))

    def summary(self):
        """The shrunken per-experiment table (a copy)."""
        return self.shrunken.copy()

    def to_dict(self) -> dict:
        """JSON-safe dict: ``n_experiments``, ``effect_distribution``, ``shrunken``, ...

        Same keys as :meth:`bayeslab.bayes.history.EffectHistory.to_dict` where they apply:
        ``effect_distribution`` holds ``family`` ("normal"), ``params`` (``mu``, ``tau``,
        ``tau2``, with ``mu``'s interval), ``mean``, ``sd``, plus ``q``, ``df``, ``i2``,
        ``p_homogeneity``, ``mu_fe``.
        """
        lo, hi = self.mu_interval
        return jsonable({
            "method": "dersimonian-laird",
            "n_experiments": self.n_experiments,
            "interval": self.interval,
            "effect_distribution": {
                "family": "normal",
                "params": {"mu": {"mean": json_float(self.mu), "se": json_float(self.mu_se),
                                  "lower": json_float(lo), "upper": json_float(hi)},
                           "tau": {"mean": json_float(self.tau)},
                           "tau2": {"mean": json_float(self.tau2)}},
                "mean": json_float(self.mu), "sd": json_float(self.tau),
                "q": json_float(self.q), "df": self.df, "i2": json_float(self.i2),
                "p_homogeneity": json_float(self.p_homogeneity), "mu_fe": json_float(self.mu_fe),
            },
            "shrunken": self.shrunken.to_dict(orient="records"),
            "shipped_impact": self.shipped_impact,
        })

    def __str__(self) -> str:
        from bayeslab.core.format import number, p_value

        lo, hi = self.mu_interval
        lines = [f"Random-effects meta-analysis (DerSimonian-Laird) of {self.n_experiments:,} "
                 "experiments",
                 f"  mean effect mu   {number(self.mu, sign=True)}  "
                 f"[{number(lo, sign=True)}, {number(hi, sign=True)}] ({self.interval:.0%})",
                 f"  spread tau       {number(self.tau)}   (tau^2 {number(self.tau2)})",
                 f"  Q = {number(self.q)} on {self.df} df, p {p_value(self.p_homogeneity)}; "
                 f"I^2 = {number(100 * self.i2, 3)}%"]
        s = self.shipped_impact
        if s:
            lines.append(f"  shipped ({s['n']}): naive impact {number(s['naive'], sign=True)}, "
                         f"shrunken {number(s['corrected'], sign=True)} "
                         f"[{number(s['lower'], sign=True)}, {number(s['upper'], sign=True)}] "
                         f"(naive / shrunken {number(s['ratio'], 3)})")
        return "\n".join(lines)


def random_effects(estimates, ses, *, shipped=None, labels=None,
                   interval: float = HISTORY_LEVEL) -> RandomEffects:
    r"""DerSimonian-Laird random-effects meta-analysis and empirical-Bayes shrunken effects.

    For :math:`k` experiments with estimates :math:`y_i`, standard errors :math:`s_i` and
    fixed-effect weights :math:`w_i = 1/s_i^2`:

    .. math::

        \hat\mu_{FE} &= \frac{\sum w_i y_i}{\sum w_i}, \qquad
        Q = \sum w_i (y_i - \hat\mu_{FE})^2, \qquad
        \hat\tau^2 = \max\left(0, \frac{Q - (k - 1)}{\sum w_i - \sum w_i^2 / \sum w_i}\right)\\
        w_i^* &= \frac{1}{s_i^2 + \hat\tau^2}, \qquad
        \hat\mu = \frac{\sum w_i^* y_i}{\sum w_i^*}, \qquad
        \operatorname{se}(\hat\mu) = \Big(\sum w_i^*\Big)^{-1/2}, \qquad
        I^2 = \max\left(0, \frac{Q - (k - 1)}{Q}\right)

    The empirical-Bayes estimate of each true effect shrinks its estimate towards
    :math:`\hat\mu` by :math:`B_i = s_i^2 / (s_i^2 + \hat\tau^2)`, and its variance adds the
    uncertainty of :math:`\hat\mu` (Morris 1983; that of :math:`\hat\tau^2` is ignored, so
    the intervals are slightly short when there are few experiments):

    .. math::

        \hat\theta_i = \hat\mu + (1 - B_i)(y_i - \hat\mu), \qquad
        \operatorname{Var}(\hat\theta_i) = s_i^2 (1 - B_i) + B_i^2 \operatorname{se}(\hat\mu)^2

    The shipped impact sums the shipped experiments' :math:`\hat\theta_i`; its variance is
    :math:`\sum_{S} s_i^2 (1 - B_i) + (\sum_{S} B_i)^2 \operatorname{se}(\hat\mu)^2` (the
    shrunken effects share :math:`\hat\mu`).

    Parameters
    ----------
    estimates, ses : array_like
        Each past experiment's effect estimate and its standard error (same unit).
    shipped : array_like of bool, optional
        Which experiments shipped; gives ``shipped_impact``.
    labels : sequence of str, optional
        Experiment names (default ``"0"``, ``"1"``, ...).
    interval : float
        Level of the normal intervals (default 0.9, the issue's).

    Returns
    -------
    RandomEffects

    Raises
    ------
    DataError
        Bad estimates, ses or shipped (see :func:`check_history`), or an interval outside (0, 1).

    See Also
    --------
    bayeslab.bayes.history.fit_effect_distribution : the Bayesian fit of the same question.
    statsmodels.stats.meta_analysis.combine_effects : ``method_re="dl"`` gives the same mu, tau2.
    """
    import pandas as pd

    if not 0 < interval < 1:
        raise DataError(f"interval must be in (0, 1), got {interval!r}")
    y, s, ship = check_history(estimates, ses, shipped, minimum=2)
    k = y.size
    w = 1.0 / s ** 2
    mu_fe = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - mu_fe) ** 2))
    c = float(np.sum(w) - np.sum(w ** 2) / np.sum(w))
    tau2 = max(0.0, (q - (k - 1)) / c)
    ws = 1.0 / (s ** 2 + tau2)
    mu = float(np.sum(ws * y) / np.sum(ws))
    var_mu = 1.0 / float(np.sum(ws))
    z = float(stats.norm.ppf(0.5 + interval / 2))
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    b = s ** 2 / (s ** 2 + tau2)
    theta = mu + (1 - b) * (y - mu)
    sd = np.sqrt(s ** 2 * (1 - b) + b ** 2 * var_mu)
    table = pd.DataFrame({"experiment": ([str(i) for i in range(k)] if labels is None
                                         else [str(x) for x in labels]),
                          "estimate": y, "se": s,
                          "shipped": ship if ship is not None else np.zeros(k, bool),
                          "shrinkage": b, "mean": theta, "sd": sd,
                          "lower": theta - z * sd, "upper": theta + z * sd})
    impact = None
    if ship is not None:
        naive = float(y[ship].sum())
        corrected = float(theta[ship].sum())
        se = float(np.sqrt(np.sum(s[ship] ** 2 * (1 - b[ship])) + b[ship].sum() ** 2 * var_mu))
        impact = {"n": int(ship.sum()), "naive": naive, "corrected": corrected, "se": se,
                  "lower": corrected - z * se, "upper": corrected + z * se,
                  "ratio": naive / corrected if corrected != 0 else float("nan")}
    return RandomEffects(mu=mu, mu_se=float(np.sqrt(var_mu)),
                         mu_interval=(mu - z * np.sqrt(var_mu), mu + z * np.sqrt(var_mu)),
                         tau2=float(tau2), q=q, df=k - 1,
                         p_homogeneity=float(stats.chi2.sf(q, k - 1)), i2=float(i2),
                         mu_fe=mu_fe, shrunken=table, shipped_impact=impact, n_experiments=k,
                         interval=interval)
