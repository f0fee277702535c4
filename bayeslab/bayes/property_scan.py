r"""Who is affected: one hierarchical model of the effect in every level of many properties.

The model reads a :class:`~bayeslab.data.scan_properties.PropertyStats` (one scan; one row per
level and arm), so its cost is flat in rows and grows with the number of levels :math:`L`
(the sampler sees one parameter per property and three more, whatever the rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL
from bayeslab.core.priors import _check_scale

#: Default flag threshold on ``prob_differs`` (the posterior probability that a level departs):
#: calibrated on A/A-like simulations so that the share of datasets with any of 67 null levels
#: flagged stays under 5 % (see :class:`PropertyScan`).
DEFAULT_THRESHOLD = 0.3


@dataclass(frozen=True)
class ScanPrior:
    r"""Priors of the property scan, in units of the outcome's control standard deviation.

    Parameters
    ----------
    effect_sd : float
        :math:`\mu, \mu_p \sim N(0, \text{effect\_sd}^2)`: the population's effect and each
        property's common effect (default 1 sd: weak; the data pin both).
    expected_departures : float
        Prior expected number of departing levels in the whole scan, :math:`m`:
        :math:`\pi \sim \text{Beta}(1, L/m - 1)` for :math:`L` levels, so the prior share of
        departing levels falls as levels are added (default 1).
    slab_scale : float
        :math:`\omega \sim N^+(\text{slab\_scale})`, the spread of the departures that are
        real (default 0.1 sd: 4 percentage points on a 20 % rate).
    """

    effect_sd: float = 1.0
    expected_departures: float = 1.0
    slab_scale: float = 0.1

    def __post_init__(self):
        for name in ("effect_sd", "expected_departures", "slab_scale"):
            _check_scale(f"ScanPrior {name}", getattr(self, name))

    def inclusion_beta(self, n_levels: int) -> float:
        r"""The :math:`b` of :math:`\pi \sim \text{Beta}(1, b)` for ``n_levels`` levels."""
        return max(n_levels / self.expected_departures - 1.0, 1.0)

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"family": "spike-and-slab departures from each property's common effect",
                "effect_sd": self.effect_sd, "expected_departures": self.expected_departures,
                "slab_scale": self.slab_scale}

    def __str__(self) -> str:
        return (f"mu, mu_p ~ N(0, {self.effect_sd:g}); departure = 0 with prob. 1 - pi, "
                f"else N(0, omega^2); pi ~ Beta(1, L/{self.expected_departures:g} - 1), "
                f"omega ~ N+({self.slab_scale:g}) (sd units)")


@dataclass(frozen=True)
class PropertyScanFit:
    r"""Posterior of the property scan: one row per level (see :class:`PropertyScan`).

    Attributes
    ----------
    metric, kind : str
    levels : list of (str, str)
        ``(property, level)``.
    n, share : numpy.ndarray
        Units per level and share of the units used.
    raw, raw_se : numpy.ndarray
        Unpooled level effects (treatment minus control, absolute) and standard errors.
    effect, effect_lower, effect_upper : numpy.ndarray
        Posterior mean and central interval of each level's effect (shrunken).
    deviation, deviation_lower, deviation_upper : numpy.ndarray
        The same for the level's effect minus the population's.
    prob_differs : numpy.ndarray
        :math:`P(r_{pl} \ne 0 \mid \text{data})`: the posterior probability that the level's
        effect departs from its property's common effect.
    flagged : numpy.ndarray of bool
        ``prob_differs >= threshold``.
    population, population_interval : float, tuple
        Posterior mean and interval of the population effect.
    threshold, interval : float
    prior : ScanPrior
    prior_prob : float
        Prior probability that a level departs, :math:`E[\pi] = m / L`.
    prob_same : numpy.ndarray
        :math:`1 - ` ``prob_differs``, computed without cancellation (for display near 1).
    hyper : dict
        Posterior mean and interval of :math:`\pi` (share of departing levels) and
        :math:`\omega` (spread of the real departures, in the outcome's unit).
    sd : float
        The sd unit (outcome sd of the control arm).
    diagnostics : Diagnostics
    divergences : int
    settings : dict
    pooled : dict
        Levels pooled into ``"other"`` by property.
    idata : xarray.DataTree
    """

    metric: str
    kind: str
    levels: list
    n: np.ndarray
    share: np.ndarray
    raw: np.ndarray
    raw_se: np.ndarray
    effect: np.ndarray
    effect_lower: np.ndarray
    effect_upper: np.ndarray
    deviation: np.ndarray
    deviation_lower: np.ndarray
    deviation_upper: np.ndarray
    prob_differs: np.ndarray
    flagged: np.ndarray
    population: float
    population_interval: tuple
    threshold: float
    interval: float
    prior: ScanPrior
    prior_prob: float
    sd: float
    diagnostics: object
    divergences: int
    settings: dict
    pooled: dict = field(default_factory=dict)
    hyper: dict = field(default_factory=dict)
    prob_same: np.ndarray | None = None
    idata: object = field(default=None, repr=False)

    def summary(self):
        """One row per level: property, level, n, share, raw and shrunken effects, flags."""
        import pandas as pd

        return pd.DataFrame({
            "property": [p for p, _ in self.levels], "level": [lv for _, lv in self.levels],
            "n": self.n.astype(int), "share": self.share, "raw": self.raw, "raw_se": self.raw_se,
            "effect": self.effect, "lower": self.effect_lower, "upper": self.effect_upper,
            "deviation": self.deviation, "prob_differs": self.prob_differs,
            "prob_same": (1 - self.prob_differs if self.prob_same is None else self.prob_same),
            "flagged": self.flagged})

    def to_dict(self) -> dict:
        """JSON-safe form (no draws)."""
        rows = []
        for i, (prop, level) in enumerate(self.levels):
            rows.append({"property": prop, "level": level, "n": int(self.n[i]),
                         "estimate": float(self.effect[i]), "lower": float(self.effect_lower[i]),
                         "upper": float(self.effect_upper[i]), "raw": float(self.raw[i]),
                         "deviation": float(self.deviation[i]),
                         "deviation_lower": float(self.deviation_lower[i]),
                         "deviation_upper": float(self.deviation_upper[i]),
                         "prob_differs": float(self.prob_differs[i]),
                         "prob_same": (None if self.prob_same is None
                                       else float(self.prob_same[i])),
                         "flagged": bool(self.flagged[i])})
        return {"method": "property-scan spike-and-slab", "metric": self.metric, "kind": self.kind,
                "population": self.population,
                "population_interval": [float(v) for v in self.population_interval],
                "threshold": self.threshold, "interval": self.interval,
                "prior": self.prior.to_dict(), "prior_prob": self.prior_prob,
                "hyper": dict(self.hyper), "sd": self.sd,
                "divergences": int(self.divergences), "diagnostics": self.diagnostics.to_dict(),
                "settings": dict(self.settings), "pooled": dict(self.pooled), "levels": rows}

    def __str__(self) -> str:
        from bayeslab.core import format as fmt

        flagged = [i for i in np.argsort(-np.abs(self.deviation)) if self.flagged[i]]
        head = (f"property scan of {self.metric}: {len(self.levels)} levels, "
                f"{len(flagged)} flagged at P >= {fmt.number(self.threshold, 3)}")
        lines = [head]
        for i in flagged:
            lines.append(f"  {self.levels[i][0]} = {self.levels[i][1]}: effect "
                         f"{fmt.number(self.effect[i], 4, sign=True)} (raw "
                         f"{fmt.number(self.raw[i], 4, sign=True)}), "
                         f"P(differs) {fmt.prob(self.prob_differs[i], self.prob_same_at(i))}")
        return "\n".join(lines)

    def prob_same_at(self, i: int) -> float | None:
        """:attr:`prob_same` of level ``i`` (None if not computed)."""
        return None if self.prob_same is None else float(self.prob_same[i])

    def plot(self, *, ax=None, frequentist=None):
        """Forest figure of every level, shrunken beside raw (see :func:`plot_property_scan`)."""
        from bayeslab.plots.property_scan import plot_property_scan

        return plot_property_scan(self, frequentist=frequentist, ax=ax)


@dataclass(frozen=True)
class PropertyScan:
    r"""Hierarchical model of the treatment effect in every level of many properties.

    Each level :math:`l` of property :math:`p` gives an unpooled effect :math:`\hat d_{pl}`
    (treatment minus control, absolute) with standard error :math:`s_{pl}` (normal
    approximations; a rate's :math:`s_{pl}` from :math:`\bar y (1 - \bar y)`), and the
    population gives :math:`\hat d` with :math:`s`. In units of the control outcome's sd
    :math:`u`:

    .. math::

        \hat d &\sim N(\mu, s^2), \qquad \hat d_{pl} \sim N(\mu_p + r_{pl}, s_{pl}^2) \\
        r_{pl} &= 0 \text{ with probability } 1 - \pi, \quad
        r_{pl} \sim N(0, \omega^2) \text{ with probability } \pi \\
        \mu, \mu_p &\sim N(0, 1), \quad \pi \sim \mathrm{Beta}(1, L/m - 1), \quad
        \omega \sim N^+(0.1)

    :math:`\mu_p` is the common effect of property :math:`p`'s levels (the effect of the levels
    that do not depart), :math:`r_{pl}` the level's departure from it, :math:`L` the number of
    levels over all properties and :math:`m` the prior expected number of departing levels
    (``expected_departures``, default 1). A level's effect is :math:`\theta_{pl} = \mu_p +
    r_{pl}`; its deviation from the population is :math:`\theta_{pl} - \mu`. The levels of one
    property hold different units, so their estimates are independent given the parameters;
    every property partitions the same units again, which is why each has its own
    :math:`\mu_p` (the data inform each :math:`\mu_p` once) and the population effect enters
    once, through :math:`\hat d`.

    The prior is a **spike and slab** on the departures, the indicator summed out of the
    likelihood (a two-component normal mixture per level, so NUTS sees :math:`\mu`,
    :math:`\mu_p`, :math:`\pi` and :math:`\omega`: 15 parameters for 12 properties, whatever
    the number of rows or levels), and drawn back afterwards given each draw:
    :math:`P(r_{pl} \ne 0 \mid \cdot) = \pi f_1 / (\pi f_1 + (1 - \pi) f_0)` with
    :math:`f_0 = N(\hat d_{pl} \mid \mu_p, s_{pl}^2)`, :math:`f_1 = N(\hat d_{pl} \mid \mu_p,
    s_{pl}^2 + \omega^2)`, and a departing :math:`r_{pl}` from its conjugate normal. Why a spike
    and slab: "is any level different?" is a question about exact zeros, and the probability
    of a departure is the number a decision needs; the multiplicity correction is the prior
    on :math:`\pi` (Scott and Berger 2010): with :math:`L` levels the prior share of departing
    levels is :math:`m / L`, and the data lower it further when nothing departs. A
    regularized horseshoe (the first version) shrinks every departure continuously, so its
    sign probabilities had no calibrated reading and a real departure of 4.4 standard errors
    reached 0.90 in 7 of 12 datasets.

    A level is flagged when :math:`P(r_{pl} \ne 0 \mid \text{data}) \ge` ``threshold``
    (default :data:`DEFAULT_THRESHOLD`, 0.3, against a prior probability of :math:`m/L`, 1.5 %
    for 67 levels: the data must make the departure 20 times more likely than before). Measured
    by ``benchmarks/property_scan.py`` (:func:`~bayeslab.scenarios.simulate_properties`, 12
    properties, 67 levels, 200k units, effect 3 pp on 20 %, seeds 1-100, a busy 2-core
    machine), the share of datasets in which:

    ========================================  =====  =====  =====  ==========  =====
    threshold                                 0.3    0.4    0.5    Bonferroni  BH
    ========================================  =====  =====  =====  ==========  =====
    A/A-like: any level is flagged            0.03   0.02   0.01   0.06        0.06
    BR (8 %) at twice the effect: BR flagged  0.77   0.73   0.69   0.80        0.82
    ... and a null level flagged beside it    0.05   0.03   0.02
    ========================================  =====  =====  =====  ==========  =====

    (each :math:`\pm` 0.02-0.04 Monte Carlo error). The 90 % intervals of all 67 level
    effects covered the truth 0.896 (A/A) and 0.883 (with BR) of the time; BR's own interval
    0.76, because a real departure the data cannot yet tell from noise is partly shrunk into
    its property's common effect. 0.3 was chosen on those seeds and checked on seeds 101-200:
    A/A 0.03, BR 0.80 (Bonferroni 0.82), a null level beside it 0.05; coverage 0.97 and 0.95
    (``benchmarks/RESULTS.md``). Against Bonferroni the pooled model trades a few points of
    power for fewer false flags; it is not more powerful (no rule at a 5 % family-wise rate
    can be by much: the best single test of that departure is a z of about 4.4 against a
    Bonferroni bound of 3.4), its gain is the shrunken estimate of every level.

    Parameters
    ----------
    prior : ScanPrior, optional
    threshold : float
        Posterior probability that a level departs to flag it (default
        :data:`DEFAULT_THRESHOLD`).
    interval : float
        Central interval level (default 0.95).
    draws, tune, chains, seed, target_accept, sampler, progressbar, remedy
        Passed to :func:`bayeslab.inference.sampling.sample_with_remedy`.

    Raises
    ------
    ModelError
        A threshold or interval outside (0, 1).

    See Also
    --------
    bayeslab.frequentist.property_scan.LevelVersusRest : each level against the rest.
    """

    prior: ScanPrior = field(default_factory=ScanPrior)
    threshold: float = DEFAULT_THRESHOLD
    interval: float = DEFAULT_LEVEL
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    target_accept: float = 0.9
    sampler: str = "auto"
    progressbar: bool | None = None
    remedy: bool = True

    def __post_init__(self):
        for name in ("threshold", "interval"):
            if not 0 < float(getattr(self, name)) < 1:
                raise ModelError(f"{name} must be in (0, 1), got {getattr(self, name)!r}")

    def fit(self, stats) -> PropertyScanFit:
        """Fit the model to :class:`~bayeslab.data.scan_properties.PropertyStats`."""
        from bayeslab.inference.sampling import sample_with_remedy

        e = stats.effects()
        u = e["sd"]
        pidx = np.array([stats.properties.index(p) for p, _ in stats.levels])
        n_props = len(stats.properties)
        d, s = e["level"] / u, e["level_se"] / u
        level_count = len(d)
        b = self.prior.inclusion_beta(level_count)
        model = build_model(d, s, e["population"] / u, e["population_se"] / u, pidx, n_props,
                            self.prior, b)
        sampled = sample_with_remedy(
            model, draws=self.draws, tune=self.tune, chains=self.chains, seed=self.seed,
            target_accept=self.target_accept, sampler=self.sampler,
            progressbar=self.progressbar, remedy=self.remedy,
            var_names=["mu", "mu_p", "pi", "omega"],
            key=("property_scan_ss", level_count, n_props, str(self.prior)))
        post = sampled.idata["posterior"]
        mu = post["mu"].values.reshape(-1)
        mu_p = post["mu_p"].values.reshape(-1, n_props)[:, pidx]
        pi, omega = post["pi"].values.reshape(-1), post["omega"].values.reshape(-1)
        prob, same, r = departure_draws(d, s, mu_p, pi, omega, self.seed)
        theta = (mu_p + r) * u
        mu = mu * u
        dev = theta - mu[:, None]
        a = (1 - self.interval) / 2

        def summary(x):
            return dict(mean=float(x.mean()), lower=float(np.quantile(x, a)),
                        upper=float(np.quantile(x, 1 - a)))

        divergences = int(np.asarray(sampled.idata["sample_stats"]["diverging"]).sum())
        return PropertyScanFit(
            metric=stats.metric, kind=stats.kind, levels=list(stats.levels), n=stats.units,
            share=stats.share, raw=e["level"], raw_se=e["level_se"], effect=theta.mean(axis=0),
            effect_lower=np.quantile(theta, a, axis=0),
            effect_upper=np.quantile(theta, 1 - a, axis=0), deviation=dev.mean(axis=0),
            deviation_lower=np.quantile(dev, a, axis=0),
            deviation_upper=np.quantile(dev, 1 - a, axis=0), prob_differs=prob,
            flagged=prob >= self.threshold, population=float(mu.mean()),
            population_interval=(float(np.quantile(mu, a)), float(np.quantile(mu, 1 - a))),
            threshold=float(self.threshold), interval=float(self.interval), prior=self.prior,
            prior_prob=float(1.0 / (1.0 + b)), sd=float(u), diagnostics=sampled.diagnostics,
            divergences=divergences, settings=dict(sampled.settings, sampler=sampled.sampler),
            pooled=dict(stats.pooled), hyper={"pi": summary(pi), "omega": summary(omega * u)},
            prob_same=same, idata=sampled.idata)


def departure_draws(d, s, mu_p, pi, omega, seed: int = 0):
    r"""Each level's posterior probability of departing, and draws of its departure.

    Given each posterior draw of :math:`\mu_p` (already indexed per level, shape
    ``(draws, L)``), :math:`\pi` and :math:`\omega`, the departure indicator has the
    conditional probability :math:`w = \pi f_1 / (\pi f_1 + (1 - \pi) f_0)` (see
    :class:`PropertyScan`); its mean over the draws is ``prob`` (Rao-Blackwellized). A
    departure is then drawn: 0 with probability :math:`1 - w`, else from
    :math:`N(B c, B s^2)` with :math:`c = \hat d - \mu_p` and
    :math:`B = \omega^2 / (\omega^2 + s^2)`.

    Returns
    -------
    prob, same : numpy.ndarray
        Shape ``(L,)``: :math:`P(r \ne 0)` and :math:`P(r = 0)` (each from its own log
        ratio, so neither loses digits near 1).
    r : numpy.ndarray
        Shape ``(draws, L)``, in the unit of ``d``.
    """
    c = d[None, :] - mu_p
    w2 = omega[:, None] ** 2
    v1 = s[None, :] ** 2 + w2
    log0 = np.log1p(-pi)[:, None] - 0.5 * (c / s) ** 2 - np.log(s)
    log1 = np.log(pi)[:, None] - 0.5 * c ** 2 / v1 - 0.5 * np.log(v1)
    both = np.logaddexp(log0, log1)
    w = np.exp(log1 - both)
    rng = np.random.default_rng(seed)
    shrink = w2 / v1
    slab = shrink * c + np.sqrt(shrink) * s * rng.standard_normal(c.shape)
    r = np.where(rng.random(c.shape) < w, slab, 0.0)
    return w.mean(axis=0), np.exp(log0 - both).mean(axis=0), r


def build_model(d, se, pop, pop_se, pidx, n_props, prior: ScanPrior, inclusion_beta: float):
    """The PyMC model of :class:`PropertyScan` (data in sd units; see there for the math)."""
    import pymc as pm
    import pytensor.tensor as pt

    coords = {"level": [str(i) for i in range(len(d))],
              "property": [str(i) for i in range(n_props)]}
    with pm.Model(coords=coords) as model:
        idx = pm.Data("property_index", np.asarray(pidx, dtype=np.int64), dims="level")
        d_ = pm.Data("level_est", np.asarray(d, float), dims="level")
        s_ = pm.Data("level_se", np.asarray(se, float), dims="level")
        mu = pm.Normal("mu", 0.0, prior.effect_sd)
        mu_p = pm.Normal("mu_p", 0.0, prior.effect_sd, dims="property")
        pi = pm.Beta("pi", 1.0, pm.Data("inclusion_beta", np.float64(inclusion_beta)))
        omega = pm.HalfNormal("omega", prior.slab_scale)
        c = d_ - mu_p[idx]
        v1 = s_ ** 2 + omega ** 2
        log0 = pt.log1p(-pi) - 0.5 * (c / s_) ** 2 - pt.log(s_)
        log1 = pt.log(pi) - 0.5 * c ** 2 / v1 - 0.5 * pt.log(v1)
        top = pt.maximum(log0, log1)   # written out: plain ops keep the compiled-model cache
        pm.Potential("level_obs", (top + pt.log1p(pt.exp(-pt.abs(log0 - log1)))).sum())
        pm.Normal("population_obs", mu, pm.Data("population_se", np.float64(pop_se)),
                  observed=pm.Data("population_est", np.float64(pop)))
    return model
