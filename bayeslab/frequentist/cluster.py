r"""Cluster-robust (CR1) comparison of arm means when clusters, not rows, were randomized.

Rows :math:`i` (users) sit in clusters :math:`g` (accounts), each cluster in one arm. The
difference of row means :math:`\hat\Delta = m_T - m_C` is the treatment coefficient of OLS
``y ~ arm``; its cluster-robust (sandwich) variance, with clusters nested in arms, is

.. math::

    \widehat{V}_{CR1} = c \left(\frac{S_T}{N_T^2} + \frac{S_C}{N_C^2}\right), \qquad
    S_a = \sum_{g \in a} (Y_g - m_a n_g)^2, \qquad
    c = \frac{G}{G-1} \cdot \frac{N-1}{N-K},

the delta method on per-cluster sums: :math:`S_a` needs only the per-arm sums of
:math:`n_g, Y_g, n_g^2, Y_g^2, n_g Y_g` (:mod:`bayeslab.data.clusters`). :math:`c` is the CR1
small-sample correction of Stata and statsmodels (``cov_type="cluster"``), with :math:`G` clusters,
:math:`N` rows and :math:`K` arms (parameters) over the whole regression. The interval is Student-t
on :math:`G - 1` degrees of freedom (statsmodels' ``use_t=True``; Cameron and Miller 2015), or
normal with ``use_t=False``. The relative lift :math:`m_T / m_C - 1` gets a delta-method normal
interval, :math:`V_T / m_C^2 + m_T^2 V_C / m_C^4`. The same formulas read a 0/1 outcome (a
difference of proportions).

The design effect is the variance ratio :math:`\widehat V_{CR1} / \widehat V_{naive}` with
:math:`\widehat V_{naive} = \sum_a R_a / (N_a (N_a - 1))`, :math:`R_a = \sum_i (y_i - m_a)^2`
(Welch's variance, which treats rows as independent); the naive interval is
:math:`\sqrt{\text{deff}}` times too narrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayeslab.core.checks import check_interval
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, EstimatesMixin
from bayeslab.data.clusters import ClusterStats, cluster_moments


def cr1_kernel(N1, m1, S1, R1, N0, m0, S0, R0, *, G, N, K=2, interval=0.95,
               use_t=True) -> dict:
    """Vectorized CR1 comparison of treatment (1) with control (0); see the module docstring.

    Parameters
    ----------
    N1, m1, S1, R1, N0, m0, S0, R0 : array_like
        Rows, mean, cluster residual sum :math:`S` and row residual sum :math:`R` per arm.
    G, N, K : array_like
        Clusters, rows and arms of the whole regression (the CR1 factor).
    interval : float
    use_t : bool
        Student-t on ``G - 1`` degrees of freedom (default) or normal.

    Returns
    -------
    dict of arrays
        ``estimate, se, df, lower, upper, p_value, rel_estimate, rel_lower, rel_upper, naive_se,
        naive_lower, naive_upper, design_effect``.
    """
    from scipy import stats as st

    N1, m1, S1, R1, N0, m0, S0, R0, G, N = (np.asarray(a, float) for a in
                                            (N1, m1, S1, R1, N0, m0, S0, R0, G, N))
    c = G / (G - 1) * (N - 1) / (N - K)
    v1, v0 = c * S1 / N1**2, c * S0 / N0**2
    se = np.sqrt(v1 + v0)
    diff = m1 - m0
    df = G - 1
    crit = st.t.ppf(0.5 + interval / 2, df) if use_t else st.norm.ppf(0.5 + interval / 2)
    z = st.norm.ppf(0.5 + interval / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = diff / se
        p = 2 * (st.t.sf(np.abs(stat), df) if use_t else st.norm.sf(np.abs(stat)))
        rel = m1 / m0 - 1
        rel_se = np.sqrt(v1 / m0**2 + m1**2 * v0 / m0**4)
        naive = np.sqrt(R1 / (N1 * (N1 - 1)) + R0 / (N0 * (N0 - 1)))
        deff = se**2 / naive**2
    return {"estimate": diff, "se": se, "df": df * np.ones_like(diff),
            "lower": diff - crit * se, "upper": diff + crit * se, "p_value": p,
            "rel_estimate": rel, "rel_lower": rel - z * rel_se, "rel_upper": rel + z * rel_se,
            "naive_se": naive, "naive_lower": diff - z * naive, "naive_upper": diff + z * naive,
            "design_effect": deff}


def st_norm():
    """:data:`scipy.stats.norm` (imported on use)."""
    from scipy import stats

    return stats.norm


@dataclass(frozen=True)
class ClusterRobustResult(EstimatesMixin):
    """CR1 comparison of each treatment arm with the control.

    Attributes
    ----------
    metric, cluster, control : str
    arms : tuple of str
    per_arm : pandas.DataFrame
        ``arm, rows, clusters, mean, mean_cluster_size``.
    comparisons : pandas.DataFrame
        One row per treatment arm: the columns of :func:`cr1_kernel`.
    interval : float
    use_t : bool
    rows : RowAccount
    method : str
        ``"cluster-cr1"``.
    """

    metric: str
    cluster: str
    control: str
    arms: tuple[str, ...]
    per_arm: object
    comparisons: object
    interval: float
    use_t: bool
    rows: object = None
    method: str = "cluster-cr1"

    _title = "Cluster-robust (CR1) difference in means"

    @property
    def design_effect(self) -> float:
        """Largest variance ratio CR1 / naive over the treatment arms."""
        return float(np.max(self.comparisons["design_effect"]))

    def noninferiority(self, margin: float, arm: str | None = None, *,
                       relative: bool = False):
        r"""Test that ``arm`` raised this harmful metric by less than ``margin``.

        ``arm`` is the first treatment by default. One-sided,
        :math:`(\hat\Delta - m) / \widehat{se}` on the CR1 error (the relative effect on its
        delta-method error).
        """
        from bayeslab.frequentist.conversion import NoninferiorityTest

        c = self.comparisons
        r = c.iloc[0] if arm is None else c[c["arm"] == arm].iloc[0]
        if relative:
            z = float(st_norm().ppf(0.5 + self.interval / 2))
            se = (r.rel_upper - r.rel_lower) / (2 * z)
            diff, upper = float(r.rel_estimate), float(r.rel_upper)
        else:
            se, diff, upper = float(r.se), float(r.estimate), float(r.upper)
        stat = (diff - margin) / se if se > 0 else (-np.inf if diff < margin else np.inf)
        return NoninferiorityTest(arm=str(r.arm), margin=float(margin), diff=diff,
                                  z=float(stat), p_value=float(st_norm().cdf(stat)),
                                  upper=upper, level=self.interval, relative=relative)

    def estimates(self) -> list[Estimate]:
        """Absolute and relative effect per treatment arm (design effect in ``extra``)."""
        out = []
        for r in self.comparisons.itertuples():
            extra = {"se": r.se, "df": r.df, "design_effect": r.design_effect,
                     "naive_se": r.naive_se, "cluster": self.cluster}
            out.append(Estimate("frequentist", self.method, "absolute", r.estimate, r.lower,
                                r.upper, self.interval, arm=r.arm, p_value=r.p_value,
                                extra=extra))
            out.append(Estimate("frequentist", self.method, "relative", r.rel_estimate,
                                r.rel_lower, r.rel_upper, self.interval, arm=r.arm,
                                p_value=r.p_value))
        return out

    def _extra_dict(self):
        return {"cluster": self.cluster, "per_arm": self.per_arm.to_dict("records"),
                "design_effect": self.design_effect,
                "small_sample": "CR1: G/(G-1) * (N-1)/(N-K); "
                                + ("t on G-1 df" if self.use_t else "normal"),
                "rows": self.rows.to_dict() if self.rows else None}


@dataclass(frozen=True)
class ClusterRobustTest:
    r"""Cluster-robust (CR1) test of each treatment arm against the control.

    Equals statsmodels ``OLS(y, [1, treat]).fit(cov_type="cluster",
    cov_kwds={"groups": cluster}, use_t=True)`` on the unit rows (module docstring).

    Parameters
    ----------
    interval : float
        Confidence level.
    use_t : bool
        Student-t on :math:`G - 1` degrees of freedom (default) or normal.

    Raises
    ------
    ModelError
        ``interval`` not in (0, 1).

    See Also
    --------
    bayeslab.bayes.cluster.ClusterBootstrap : the Bayesian counterpart.
    """

    interval: float = DEFAULT_LEVEL
    use_t: bool = True

    def __post_init__(self):
        object.__setattr__(self, "interval", check_interval(self.interval))

    def fit(self, stats: ClusterStats) -> ClusterRobustResult:
        """Compare the arms from the per-arm sums over clusters."""
        import pandas as pd

        mo = cluster_moments(stats)
        G, N, K = mo["G"].sum(), mo["N"].sum(), len(stats.arms)
        per_arm = pd.DataFrame({"arm": list(stats.arms), "rows": mo["N"].astype(np.int64),
                                "clusters": stats.clusters, "mean": mo["mean"],
                                "mean_cluster_size": mo["N"] / mo["G"]})
        rows = []
        for i in range(1, len(stats.arms)):
            k = cr1_kernel(mo["N"][i], mo["mean"][i], mo["S"][i], mo["R"][i], mo["N"][0],
                           mo["mean"][0], mo["S"][0], mo["R"][0], G=G, N=N, K=K,
                           interval=self.interval, use_t=self.use_t)
            rows.append({"arm": stats.arms[i], **{key: float(v) for key, v in k.items()}})
        return ClusterRobustResult(metric=stats.metric, cluster=stats.cluster,
                                   control=stats.control, arms=stats.arms, per_arm=per_arm,
                                   comparisons=pd.DataFrame(rows), interval=self.interval,
                                   use_t=self.use_t, rows=stats.rows)
