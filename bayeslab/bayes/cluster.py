r"""Bayesian comparison of arm means when clusters were randomized: a ratio model of cluster totals.

Each cluster :math:`g` of arm :math:`a` contributes its row count and outcome total
:math:`x_g = (n_g, Y_g)`. The model treats the clusters as exchangeable draws

.. math::

    x_g \sim \mathcal N_2(\boldsymbol\mu_a, \Sigma_a), \qquad
    p(\boldsymbol\mu_a, \Sigma_a) \propto |\Sigma_a|^{-3/2} \quad \text{(Jeffreys)},

and the arm's row mean is the ratio :math:`\theta_a = \mu_{Y,a} / \mu_{n,a}` (total outcome per
row, the same estimand as the row-level difference of means). The posterior of the mean vector is
a bivariate Student-t,

.. math::

    \boldsymbol\mu_a \mid x \sim t_{G_a - 2}\!\left(\bar x_a,\;
    \frac{W_a}{G_a (G_a - 2)}\right), \qquad W_a = \sum_g (x_g - \bar x_a)(x_g - \bar x_a)^\top,

whose only inputs are the per-arm sums of :math:`n_g, Y_g, n_g^2, Y_g^2, n_g Y_g`
(:mod:`bayeslab.data.clusters`): the model's sufficient statistics are exactly what the one scan
returns. :math:`\theta_T - \theta_C` and :math:`\theta_T / \theta_C - 1` are read from exact draws
of the two independent posteriors.

Why a ratio model rather than a hierarchical model with cluster effects
(:math:`y_{gi} = \mu_a + u_g + e_{gi}`): the random-effects likelihood with unequal cluster sizes
needs per-cluster sums of squares, not per-arm sums, and it weights clusters by a shrinkage factor
that changes the estimand (clusters, not rows, when the intra-cluster correlation is large); the
ratio model keeps the row-level estimand of the frequentist CR1 interval, assumes nothing about
the within-cluster distribution, and is conjugate. The normal form rests on the central limit
theorem over clusters: with a few tens of clusters per arm it matches the CR1 interval
(:math:`t_{G-2}` here, :math:`t_{G-1}` there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayeslab.core.checks import check_draws, check_interval
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, EstimatesMixin
from bayeslab.data.clusters import ClusterStats


def ratio_draws(G, n, y, nn, yy, ny, *, draws: int, rng) -> np.ndarray:
    r"""Posterior draws of :math:`\theta = \mu_Y / \mu_n` of one arm (module docstring).

    Parameters
    ----------
    G, n, y, nn, yy, ny : float
        Clusters and the per-arm sums over clusters.
    draws : int
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of shape (draws,)
    """
    mn, my = n / G, y / G
    w_nn = max(nn - G * mn * mn, 0.0)
    w_yy = max(yy - G * my * my, 0.0)
    w_ny = ny - G * mn * my
    scale = 1.0 / (G * (G - 2))
    # Cholesky factor of W * scale, ordered (n, Y); equal cluster sizes leave mu_n fixed
    l11 = np.sqrt(w_nn * scale)
    l21 = w_ny * scale / l11 if l11 > 0 else 0.0
    l22 = np.sqrt(max(w_yy * scale - l21 * l21, 0.0))
    z = rng.standard_normal((2, draws))
    s = np.sqrt(rng.chisquare(G - 2, draws) / (G - 2))
    mu_n = mn + l11 * z[0] / s
    mu_y = my + (l21 * z[0] + l22 * z[1]) / s
    return mu_y / mu_n


@dataclass(frozen=True)
class ClusterComparison:
    r"""Posterior expected losses of one treatment arm, absolute and relative.

    Both are :math:`E[\max(-\Delta, 0)]`, on the absolute and the relative scale.
    """

    arm: str
    expected_loss: float
    expected_loss_rel: float


@dataclass(frozen=True)
class ClusterPosterior(EstimatesMixin):
    """Posterior of the difference and ratio of arm means under the cluster ratio model.

    Attributes
    ----------
    metric, cluster, control : str
    arms : tuple of str
    theta : numpy.ndarray
        Draws of each arm's row mean, shape ``(arms, draws)``, control first.
    interval : float
    seed : int
    rows : RowAccount
    method : str
        ``"bayes-cluster"``.
    """

    metric: str
    cluster: str
    control: str
    arms: tuple[str, ...]
    theta: np.ndarray
    interval: float
    seed: int
    rows: object = None
    method: str = "bayes-cluster"

    _title = "Bayesian ratio model of cluster totals"

    def _effect(self, arm: str | None, relative: bool) -> np.ndarray:
        i = 1 if arm is None else self.arms.index(arm)
        c = self.theta[0]
        return self.theta[i] / c - 1 if relative else self.theta[i] - c

    def comparison(self, arm: str | None = None) -> ClusterComparison:
        """Expected losses of ``arm`` (the first treatment by default).

        As a conversion readout's decision reads them.
        """
        i = 1 if arm is None else self.arms.index(arm)
        return ClusterComparison(
            arm=self.arms[i],
            expected_loss=float(np.maximum(-self._effect(arm, False), 0).mean()),
            expected_loss_rel=float(np.maximum(-self._effect(arm, True), 0).mean()))

    def prob_lift_above(self, threshold: float, *, relative: bool = False,
                        arm: str | None = None) -> float:
        """Posterior probability that the effect of ``arm`` exceeds ``threshold``.

        ``arm`` is the first treatment by default and ``threshold`` a guardrail's margin: the
        share of draws above it.
        """
        return float((self._effect(arm, relative) > threshold).mean())

    def estimates(self) -> list[Estimate]:
        r"""Absolute and relative effect per treatment arm.

        Posterior mean, equal-tailed interval, P(>0) and the expected loss
        :math:`E[\max(-\Delta, 0)]`.
        """
        lo, hi = 50 * (1 - self.interval), 50 * (1 + self.interval)
        out = []
        c = self.theta[0]
        for i, arm in enumerate(self.arms[1:], start=1):
            for effect, d in (("absolute", self.theta[i] - c), ("relative", self.theta[i] / c - 1)):
                lower, upper = np.percentile(d, [lo, hi])
                out.append(Estimate("bayes", self.method, effect, float(d.mean()), float(lower),
                                    float(upper), self.interval, arm=arm,
                                    prob_positive=float((d > 0).mean()),
                                    expected_loss=float(np.maximum(-d, 0).mean()),
                                    extra={"cluster": self.cluster}))
        return out

    def _extra_dict(self):
        return {"cluster": self.cluster, "draws": int(self.theta.shape[1]), "seed": self.seed,
                "model": "bivariate normal cluster totals (n_g, Y_g), Jeffreys prior; "
                         "theta = mu_Y / mu_n",
                "rows": self.rows.to_dict() if self.rows else None}


@dataclass(frozen=True)
class ClusterBootstrap:
    r"""The cluster ratio model of the module docstring (exact posterior draws, no MCMC).

    Parameters
    ----------
    interval : float
        Credible level (equal-tailed).
    draws : int
        Posterior draws per arm (default 20,000: the Monte Carlo error of a 95 % bound is
        about 1.5 % of the posterior sd).
    seed : int

    Raises
    ------
    ModelError
        ``interval`` not in (0, 1), fewer than 100 draws, or an arm with fewer than three
        clusters (the posterior has :math:`G - 2` degrees of freedom).

    See Also
    --------
    bayeslab.frequentist.cluster.ClusterRobustTest : the CR1 counterpart.
    """

    interval: float = DEFAULT_LEVEL
    draws: int = 20_000
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "interval", check_interval(self.interval))
        check_draws(self.draws)

    def fit(self, stats: ClusterStats) -> ClusterPosterior:
        """Draw each arm's row mean from the per-arm sums over clusters."""
        few = [a for a, g in zip(stats.arms, stats.clusters, strict=True) if g < 3]
        if few:
            raise ModelError(f"arm {few[0]!r} has fewer than three clusters of "
                             f"{stats.cluster!r}: the cluster ratio model needs three or more")
        rng = np.random.default_rng(self.seed)
        s = stats.sums
        theta = np.stack([ratio_draws(float(stats.clusters[i]), s["n"][i], s["y"][i],
                                      s["nn"][i], s["yy"][i], s["ny"][i], draws=int(self.draws),
                                      rng=rng) for i in range(len(stats.arms))])
        return ClusterPosterior(metric=stats.metric, cluster=stats.cluster,
                                control=stats.control, arms=stats.arms, theta=theta,
                                interval=self.interval, seed=self.seed, rows=stats.rows)
