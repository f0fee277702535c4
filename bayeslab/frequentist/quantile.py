r"""Difference and ratio of a quantile between arms: the outer interval of Deng et al. (2018).

For an arm with :math:`n` rows the sample :math:`q`-quantile is the order statistic
:math:`\hat\xi = y_{(\lceil nq \rceil)}`. The number of rows below the true quantile is
Binomial(:math:`n, q`), so the order statistics at the ranks

.. math::

    L = \left\lfloor nq - z\sqrt{nq(1-q)} \right\rfloor, \qquad
    U = \left\lceil nq + z\sqrt{nq(1-q)} \right\rceil

(rounded outward, hence *outer*) bracket :math:`\xi` with probability about :math:`1 - \alpha`,
without estimating the density at :math:`\xi`. Deng, Knoblich and Lu (2018, *Applying the delta
method in metric analytics*, KDD) read the standard error off that interval,
:math:`\widehat{se} = (y_{(U)} - y_{(L)}) / (2z)`, which makes two arms combinable:

.. math::

    \hat\xi_T - \hat\xi_C \pm z \sqrt{\widehat{se}_T^2 + \widehat{se}_C^2}, \qquad
    \exp\!\left(\log\frac{\hat\xi_T}{\hat\xi_C} \pm z
    \sqrt{\frac{\widehat{se}_T^2}{\hat\xi_T^2} + \frac{\widehat{se}_C^2}{\hat\xi_C^2}}\right) - 1,

the ratio by the delta method on the log scale (left out when a quantile is not positive).
Coverage over 1,000 simulated lognormal experiments is in ``benchmarks/cluster_quantile.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bayeslab.core.checks import check_interval
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, EstimatesMixin
from bayeslab.data.quantiles import QuantileStats


def quantile_label(q: float) -> str:
    """``p50`` for 0.5, ``p99.9`` for 0.999: the suffix of the method names."""
    return "p" + f"{100 * q:.6g}"


def outer_ranks(n: int, q: float, z: float) -> tuple[int, int, int]:
    """1-based ranks ``(point, L, U)`` of the sample quantile and its outer interval."""
    half = z * math.sqrt(n * q * (1 - q))
    point = min(n, max(1, math.ceil(n * q)))
    return point, max(1, math.floor(n * q - half)), min(n, math.ceil(n * q + half))


def deng_kernel(x1, lo1, hi1, x0, lo0, hi0, *, interval=0.95) -> dict:
    """Vectorized difference and ratio from each arm's quantile and outer interval.

    Returns
    -------
    dict of arrays
        ``estimate, se, lower, upper, p_value, rel_estimate, rel_lower, rel_upper``.
    """
    from scipy import stats as st

    x1, lo1, hi1, x0, lo0, hi0 = (np.asarray(a, float) for a in (x1, lo1, hi1, x0, lo0, hi0))
    z = st.norm.ppf(0.5 + interval / 2)
    se1, se0 = (hi1 - lo1) / (2 * z), (hi0 - lo0) / (2 * z)
    se = np.sqrt(se1**2 + se0**2)
    diff = x1 - x0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * st.norm.sf(np.abs(diff) / se), np.where(diff == 0, 1.0, 0.0))
        positive = (x1 > 0) & (x0 > 0)
        log_ratio = np.log(np.where(positive, x1 / x0, np.nan))
        se_log = np.sqrt((se1 / x1) ** 2 + (se0 / x0) ** 2)
    return {"estimate": diff, "se": se, "lower": diff - z * se, "upper": diff + z * se,
            "p_value": p, "rel_estimate": np.expm1(log_ratio),
            "rel_lower": np.expm1(log_ratio - z * se_log),
            "rel_upper": np.expm1(log_ratio + z * se_log)}


@dataclass(frozen=True)
class QuantileTestResult(EstimatesMixin):
    """Deng outer-interval comparison of each quantile, each treatment arm against the control.

    Attributes
    ----------
    metric, control : str
    arms : tuple of str
    quantiles : tuple of float
    per_arm : pandas.DataFrame
        ``arm, quantile, n, value, lower, upper`` (each arm's quantile and outer interval).
    comparisons : pandas.DataFrame
        ``arm, quantile`` and the columns of :func:`deng_kernel`.
    interval : float
    rows : RowAccount
    """

    metric: str
    control: str
    arms: tuple[str, ...]
    quantiles: tuple[float, ...]
    per_arm: object
    comparisons: object
    interval: float
    rows: object = None

    _title = "Quantile difference (Deng et al. 2018 outer interval)"

    def estimates(self) -> list[Estimate]:
        """Per quantile and treatment arm: ``absolute`` and ``relative`` estimates.

        The difference and the ratio minus one, under the method ``deng-p50``, ``deng-p90``,
        ....
        """
        out = []
        for r in self.comparisons.itertuples():
            method = f"deng-{quantile_label(r.quantile)}"
            extra = {"quantile": r.quantile, "se": r.se}
            out.append(Estimate("frequentist", method, "absolute", r.estimate, r.lower, r.upper,
                                self.interval, arm=r.arm, p_value=r.p_value, extra=extra))
            if np.isfinite(r.rel_estimate):
                out.append(Estimate("frequentist", method, "relative", r.rel_estimate,
                                    r.rel_lower, r.rel_upper, self.interval, arm=r.arm,
                                    p_value=r.p_value, extra={"quantile": r.quantile}))
        return out

    def _extra_dict(self):
        return {"quantiles": list(self.quantiles), "per_arm": self.per_arm.to_dict("records"),
                "rows": self.rows.to_dict() if self.rows else None}


@dataclass(frozen=True)
class QuantileTest:
    """The outer interval of Deng et al. (2018) for the difference and ratio of quantiles.

    Parameters
    ----------
    interval : float
        Confidence level.

    Raises
    ------
    ModelError
        ``interval`` not in (0, 1).

    See Also
    --------
    bayeslab.bayes.quantile.QuantileBootstrap : the Bayesian counterpart.
    """

    interval: float = DEFAULT_LEVEL

    def __post_init__(self):
        object.__setattr__(self, "interval", check_interval(self.interval))

    def fit(self, stats: QuantileStats) -> QuantileTestResult:
        """Compare each quantile of each treatment arm with the control's."""
        import pandas as pd
        from scipy import stats as st

        z = float(st.norm.ppf(0.5 + self.interval / 2))
        per_arm, comparisons = [], []
        for q in stats.quantiles:
            parts = []
            for i, a in enumerate(stats.arms):
                n = int(stats.n[i])
                ranks = outer_ranks(n, q, z)
                value, lower, upper = (float(v) for v in stats.order_stat(i, q, ranks))
                per_arm.append({"arm": a, "quantile": q, "n": n, "value": value,
                                "lower": lower, "upper": upper})
                parts.append((value, lower, upper))
            for i in range(1, len(stats.arms)):
                k = deng_kernel(*parts[i], *parts[0], interval=self.interval)
                comparisons.append({"arm": stats.arms[i], "quantile": q,
                                    **{key: float(v) for key, v in k.items()}})
        return QuantileTestResult(metric=stats.metric, control=stats.control, arms=stats.arms,
                                  quantiles=stats.quantiles, per_arm=pd.DataFrame(per_arm),
                                  comparisons=pd.DataFrame(comparisons),
                                  interval=self.interval, rows=stats.rows)
