r"""A simulated history of experiments on one metric: estimates, standard errors, ship decisions.

:func:`simulate_portfolio` draws the true effects of ``n_experiments`` past experiments from a
known distribution, each one's estimate around its truth with a known standard error, and ships
those whose estimate is significantly positive. The truth it returns (the population of effects,
the true and the naive impact of the shipped ones) is what
:func:`bayeslab.bayes.history.fit_effect_distribution` and
:func:`bayeslab.frequentist.history.random_effects` should recover, and what the winner's curse
makes the naive sum overstate.

Generating model, for experiment :math:`i`:

.. math::

    \theta_i &= 0 \text{ with probability } \pi_0, \text{ else } \theta_i \sim G \\
    G &= N(m, \sigma) \;(\texttt{"normal"}) \quad\text{or}\quad
       m + \sigma\sqrt{(\nu - 2)/\nu}\; t_\nu \;(\texttt{"student"}, \nu = \texttt{df}) \\
    s_i &\sim \mathrm{Uniform}(s_{lo}, s_{hi}), \qquad y_i \sim N(\theta_i, s_i^2), \qquad
    \text{shipped}_i = 1\{y_i / s_i > z_{ship}\}

so the non-null effects have mean :math:`m` and standard deviation :math:`\sigma` in both
families, and the whole population has mean :math:`(1 - \pi_0) m` and variance
:math:`(1 - \pi_0)(\sigma^2 + m^2) - (1 - \pi_0)^2 m^2`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayeslab.core.errors import DataError

PORTFOLIO_FAMILIES = ("normal", "student")


@dataclass(frozen=True, eq=False)
class Portfolio:
    """A simulated experiment history and its truth.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per experiment: ``experiment`` (``"exp-000"``, ...), ``estimate``, ``se``,
        ``shipped`` (bool), ``true_effect``.
    truth : dict
        ``null_share``, ``effect_mean``, ``effect_sd``, ``family``, ``df`` (the generator's
        parameters); ``mean`` and ``sd`` of the whole population of true effects (nulls
        included); ``n_shipped``; ``true_shipped_impact`` (sum of the shipped experiments' true
        effects), ``naive_shipped_impact`` (sum of their estimates) and ``overstatement``
        (naive minus true).
    params : dict
        The generator's arguments (``n_experiments``, ``se``, ``ship_z``, ``seed``, ...).
    """

    data: pd.DataFrame
    truth: dict
    params: dict = field(default_factory=dict)


def simulate_portfolio(
    n_experiments: int = 200,
    *,
    null_share: float = 0.7,
    effect_mean: float = 0.02,
    effect_sd: float = 0.03,
    family: str = "normal",
    df: float = 3.0,
    se: tuple[float, float] = (0.01, 0.03),
    ship_z: float = 1.96,
    seed: int = 0,
) -> Portfolio:
    r"""Simulate a history of ``n_experiments`` experiments with known true effects.

    See the module docstring for the generating model.

    Parameters
    ----------
    n_experiments : int
        Number of past experiments (at least 2).
    null_share : float
        Share :math:`\pi_0 \in [0, 1)` of experiments whose true effect is exactly 0.
    effect_mean, effect_sd : float
        Mean and standard deviation of the non-null effects (``effect_sd`` > 0).
    family : {"normal", "student"}
        Shape of the non-null effects: Normal, or a Student-t with ``df`` degrees of freedom
        rescaled to standard deviation ``effect_sd`` (heavy tails).
    df : float
        Degrees of freedom of the Student-t (> 2).
    se : (float, float)
        Range of the standard errors, drawn uniformly (``0 < low <= high``).
    ship_z : float
        An experiment ships when its z-score ``estimate / se`` exceeds this.
    seed : int
        Seed; the same seed gives the same portfolio.

    Returns
    -------
    Portfolio

    Raises
    ------
    DataError
        An argument out of range (named in the message).

    See Also
    --------
    bayeslab.bayes.history.fit_effect_distribution, bayeslab.frequentist.history.random_effects
    """
    _check(n_experiments, null_share, effect_sd, family, df, se)
    rng = np.random.default_rng(seed)
    n = int(n_experiments)
    null = rng.random(n) < null_share
    if family == "normal":
        slab = rng.normal(effect_mean, effect_sd, n)
    else:
        slab = effect_mean + effect_sd * np.sqrt((df - 2) / df) * rng.standard_t(df, n)
    theta = np.where(null, 0.0, slab)
    s = rng.uniform(se[0], se[1], n)
    y = rng.normal(theta, s)
    shipped = y / s > ship_z
    data = pd.DataFrame({"experiment": [f"exp-{i:03d}" for i in range(n)], "estimate": y,
                         "se": s, "shipped": shipped, "true_effect": theta})
    keep = 1.0 - null_share
    mean = keep * effect_mean
    var = keep * (effect_sd ** 2 + effect_mean ** 2) - mean ** 2
    true_impact = float(theta[shipped].sum())
    naive = float(y[shipped].sum())
    truth = {"family": family, "null_share": float(null_share), "effect_mean": float(effect_mean),
             "effect_sd": float(effect_sd), "df": float(df) if family == "student" else None,
             "mean": float(mean), "sd": float(np.sqrt(var)), "n_shipped": int(shipped.sum()),
             "true_shipped_impact": true_impact, "naive_shipped_impact": naive,
             "overstatement": naive - true_impact}
    params = {"n_experiments": n, "null_share": null_share, "effect_mean": effect_mean,
              "effect_sd": effect_sd, "family": family, "df": df, "se": tuple(se),
              "ship_z": ship_z, "seed": seed}
    return Portfolio(data=data, truth=truth, params=params)


def _check(n, null_share, effect_sd, family, df, se) -> None:
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise DataError(f"n_experiments must be an integer >= 2, got {n!r}")
    if not 0 <= null_share < 1:
        raise DataError(f"null_share must be in [0, 1), got {null_share!r}")
    if not effect_sd > 0:
        raise DataError(f"effect_sd must be > 0, got {effect_sd!r}")
    if family not in PORTFOLIO_FAMILIES:
        raise DataError(f"family must be one of {', '.join(PORTFOLIO_FAMILIES)}, got {family!r}")
    if family == "student" and not df > 2:
        raise DataError(f"df must be > 2 (a finite standard deviation), got {df!r}")
    if len(se) != 2 or not 0 < se[0] <= se[1]:
        raise DataError(f"se must be a range (low, high) with 0 < low <= high, got {se!r}")
