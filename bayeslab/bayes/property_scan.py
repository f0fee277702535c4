r"""Who is affected: one hierarchical model of the effect in every level of many properties.

The model reads a :class:`~bayeslab.data.scan_properties.PropertyStats` (one scan; one row per
level and arm), so its cost is flat in rows and grows with the number of levels :math:`L`
(about 70 parameters per dozen properties).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL
from bayeslab.core.priors import _check_scale

#: Default flag threshold on ``prob_differs``: calibrated on A/A-like simulations so that the
#: share of datasets with any of 67 null levels flagged stays under 5 %, with or without a real
#: departure beside them (see :class:`PropertyScan`).
DEFAULT_THRESHOLD = 0.90


@dataclass(frozen=True)
class ScanPrior:
    r"""Priors of the property scan, in units of the outcome's control standard deviation.

    Parameters
    ----------
    effect_sd : float
        :math:`\mu \sim N(0, \text{effect\_sd}^2)`, the population effect (default 1 sd: weak).
    global_scale : float
        :math:`\tau \sim N^+(\text{global\_scale})`, the spread of level departures shared by
        every property (default 0.05 sd: 2 percentage points on a 20 % rate).
    property_sd : float
        :math:`\kappa_p \sim N^+(\text{property\_sd})`, each property's own multiple of
        :math:`\tau` (default 1).
    """

    effect_sd: float = 1.0
    global_scale: float = 0.01
    property_sd: float = 1.0
    local_df: float = 3.0
    slab_scale: float = 0.25

    def __post_init__(self):
        for name in ("effect_sd", "global_scale", "property_sd", "local_df", "slab_scale"):
            _check_scale(f"ScanPrior {name}", getattr(self, name))

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"family": "hierarchical normal, global x property scale",
                "effect_sd": self.effect_sd, "global_scale": self.global_scale,
                "property_sd": self.property_sd, "local_df": self.local_df,
                "slab_scale": self.slab_scale}

    def __str__(self) -> str:
        return (f"mu ~ N(0, {self.effect_sd:g}), departure ~ N(0, (tau kappa_p)^2), "
                f"tau ~ N+({self.global_scale:g}), kappa_p ~ N+({self.property_sd:g}), "
                f"lambda ~ t+({self.local_df:g}), slab {self.slab_scale:g} (sd units)")


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
        :math:`\max(P(r > 0), P(r < 0))` for each level's departure :math:`r` from its
        property's common effect.
    flagged : numpy.ndarray of bool
        ``prob_differs >= threshold``.
    population, population_interval : float, tuple
        Posterior mean and interval of the population effect.
    threshold, interval : float
    prior : ScanPrior
    tau0 : float
        Prior scale of the global :math:`\tau`, in sd units.
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
    tau0: float
    sd: float
    diagnostics: object
    divergences: int
    settings: dict
    pooled: dict = field(default_factory=dict)
    idata: object = field(default=None, repr=False)

    def summary(self):
        """One row per level: property, level, n, share, raw and shrunken effects, flags."""
        import pandas as pd

        return pd.DataFrame({
            "property": [p for p, _ in self.levels], "level": [lv for _, lv in self.levels],
            "n": self.n.astype(int), "share": self.share, "raw": self.raw, "raw_se": self.raw_se,
            "effect": self.effect, "lower": self.effect_lower, "upper": self.effect_upper,
            "deviation": self.deviation, "prob_differs": self.prob_differs,
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
                         "flagged": bool(self.flagged[i])})
        return {"method": "property-scan horseshoe", "metric": self.metric, "kind": self.kind,
                "population": self.population,
                "population_interval": [float(v) for v in self.population_interval],
                "threshold": self.threshold, "interval": self.interval,
                "prior": self.prior.to_dict(), "tau0": self.tau0, "sd": self.sd,
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
                         f"P(differs) {fmt.prob(self.prob_differs[i])}")
        return "\n".join(lines)

    def plot(self, *, ax=None, frequentist=None):
        """Forest figure of every level, shrunken beside raw (see :func:`plot_property_scan`)."""
        from bayeslab.plots.property_scan import plot_property_scan

        return plot_property_scan(self, frequentist=frequentist, ax=ax)


@dataclass(frozen=True)
class PropertyScan:
    r"""Hierarchical model of the treatment effect in every level of many properties.

    Each level :math:`l` of property :math:`p` gives an unpooled effect :math:`\hat d_{pl}`
    (treatment minus control, absolute) with standard error :math:`s_{pl}`, and the population gives
    :math:`\hat d` with :math:`s` (normal approximations; a rate's :math:`s_{pl}` from
    :math:`\bar y (1-\bar y)`). In units of the control outcome's sd :math:`u`:

    .. math::

        \hat d &\sim N(\mu, s^2), \qquad
        \hat d_{pl} - m_p \sim N(\delta_{pl}, s_{pl}^2), \qquad
        m_p = \textstyle\sum_l \pi_{pl} \hat d_{pl} / \sum_l \pi_{pl}, \quad
        \pi_{pl} = s_{pl}^{-2} \\
        \delta_{pl} &= r_{pl} - \textstyle\sum_m \pi_{pm} r_{pm} / \sum_m \pi_{pm}, \qquad
        r_{pl} = \tau \kappa_p \tilde\lambda_{pl} z_{pl}, \quad z_{pl} \sim N(0, 1) \\
        \tilde\lambda_{pl}^2 &= \frac{c^2 \lambda_{pl}^2}{c^2 + \tau^2 \kappa_p^2 \lambda_{pl}^2},
        \quad \lambda_{pl} \sim t^+_3(0, 1), \quad \kappa_p \sim N^+(1), \quad
        \tau \sim N^+(0.01), \quad c = 0.25, \quad \mu \sim N(0, 1)

    The level's effect is :math:`\theta_{pl} = \mu + \delta_{pl}`; its deviation from the
    population is :math:`\delta_{pl}`, which sums to zero within a property (precision
    weighted, close to weighting by units). Every property partitions the same units, so its
    levels' estimates carry the population's effect once more; the likelihood keeps only their
    contrasts :math:`\hat d_{pl} - m_p` (an exact factorization of the Gaussian likelihood,
    because :math:`\sum_l \pi_{pl}\delta_{pl} = 0`), and the population effect enters once.

    The prior is a **regularized horseshoe with Student-t(3) local scales** (Piironen and
    Vehtari 2017, their :math:`\nu_{local} > 1` variant) with a per-property scale
    :math:`\kappa_p`: the global :math:`\tau` shrinks every departure towards 0 when the levels
    agree (so 67 comparisons do not make 67 chances of a false flag), the heavy-tailed local
    scales let one level escape the shrinkage when its data say so, :math:`\kappa_p` pools the
    levels of one property, and the slab :math:`c` (0.25 sd) regularizes the escaped ones.
    Measured on :func:`~bayeslab.scenarios.simulate_properties` (200k units, 67 levels): a
    normal hierarchy (no local scales) shrank a level with a z of 5.5 to P = 0.90; Cauchy local
    scales gave divergences and refits (40 s); Student-t(3) locals gave none, in 13-16 s for
    4 chains on a busy 2-core machine.

    A level is flagged when its **departure** :math:`r_{pl}` (its effect minus the common
    effect of its property's other levels) has :math:`\max(P(r_{pl} > 0), P(r_{pl} < 0)) \ge`
    ``threshold`` (default :data:`DEFAULT_THRESHOLD`, 0.90, calibrated by simulation: under
    the horseshoe a shrunken departure is a spike at 0 beside an escaped part, so this
    probability is about :math:`(1 + w)/2` for the posterior weight :math:`w` of escape, and
    a real but moderate departure rarely reaches 0.95). On
    :func:`~bayeslab.scenarios.simulate_properties` data (67 levels, 200k units, effect 0.03,
    seeds 1-21 / 1-12, a busy machine): A/A-like, the largest probability of a dataset was
    below 0.82 in 22 of 22 datasets (median 0.67); with country = BR at twice the effect,
    BR reached 0.90 in 7 of 12 (0.95: 6 of 12; Bonferroni 9 of 12), and no null level did
    (0.85 would flag a null level beside BR in 4 of 12: one escaped level raises
    :math:`\tau` and with it every level's probability, so a threshold calibrated on A/A
    data alone under-states the family-wise rate when something is real).
    Not :math:`\delta_{pl}`: one strongly affected level moves the population, so every other
    level of its property then differs from the population by a small but certain amount,
    which is not news to anyone.

    Parameters
    ----------
    prior : ScanPrior, optional
    threshold : float
        Posterior probability that a level departs (in one direction) to flag it (default
        :data:`DEFAULT_THRESHOLD`: any-level false flags <= 5 % on A/A-like data, see above).
    interval : float
        Central interval level (default 0.95).
    draws, tune, chains, seed, target_accept, sampler, progressbar, remedy
        Passed to :func:`bayeslab.inference.sampling.sample_with_remedy`.

    Raises
    ------
    ModelError
        A threshold or interval outside (0.5, 1) / (0, 1).

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
    target_accept: float = 0.95
    sampler: str = "auto"
    progressbar: bool | None = None
    remedy: bool = True

    def __post_init__(self):
        if not 0.5 < float(self.threshold) < 1:
            raise ModelError(f"threshold must be in (0.5, 1), got {self.threshold!r}")
        if not 0 < float(self.interval) < 1:
            raise ModelError(f"interval must be in (0, 1), got {self.interval!r}")

    def fit(self, stats) -> PropertyScanFit:
        """Fit the model to :class:`~bayeslab.data.scan_properties.PropertyStats`."""
        from bayeslab.inference.sampling import sample_with_remedy

        e = stats.effects()
        u = e["sd"]
        props = sorted(set(range(len(stats.properties))))
        pidx = np.array([stats.properties.index(p) for p, _ in stats.levels])
        d, s = e["level"] / u, e["level_se"] / u
        prec = 1.0 / s**2
        same = pidx[:, None] == pidx[None, :]
        weights = np.where(same, prec[None, :], 0.0)
        weights /= weights.sum(axis=1, keepdims=True)
        contrast = d - weights @ d
        level_count = len(d)
        tau0 = self.prior.global_scale
        model = build_model(contrast, s, e["population"] / u, e["population_se"] / u,
                            np.eye(level_count) - weights, pidx, len(props), self.prior, tau0)
        sampled = sample_with_remedy(
            model, draws=self.draws, tune=self.tune, chains=self.chains, seed=self.seed,
            target_accept=self.target_accept, sampler=self.sampler,
            progressbar=self.progressbar, remedy=self.remedy,
            var_names=["mu", "tau_unit", "kappa", "z", "lam"],
            key=("property_scan", level_count, len(props), tuple(pidx.tolist()),
                 str(self.prior)))
        post = sampled.idata["posterior"]
        dev = post["deviation"].values.reshape(-1, level_count) * u
        mu = post["mu"].values.reshape(-1) * u
        theta = mu[:, None] + dev
        a = (1 - self.interval) / 2
        dep = post["departure"].values.reshape(-1, level_count)
        prob = np.maximum((dep > 0).mean(axis=0), (dep < 0).mean(axis=0))
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
            tau0=float(tau0), sd=float(u), diagnostics=sampled.diagnostics,
            divergences=divergences, settings=dict(sampled.settings, sampler=sampled.sampler),
            pooled=dict(stats.pooled), idata=sampled.idata)


def build_model(contrast, se, pop, pop_se, projection, pidx, n_props, prior: ScanPrior,
                tau0: float):
    """The PyMC model of :class:`PropertyScan` (data in sd units; see there for the math)."""
    import pymc as pm
    import pytensor.tensor as pt

    level_count = len(contrast)
    coords = {"level": [str(i) for i in range(level_count)],
              "property": [str(i) for i in range(n_props)]}
    with pm.Model(coords=coords) as model:
        proj = pm.Data("projection", projection)
        idx = pm.Data("property_index", pidx.astype(np.int64), dims="level")
        t0 = pm.Data("tau0", np.float64(tau0))
        mu = pm.Normal("mu", 0.0, prior.effect_sd)
        tau = pm.Deterministic("tau", t0 * pm.HalfNormal("tau_unit", 1.0))
        kappa = pm.HalfNormal("kappa", prior.property_sd, dims="property")
        scale = tau * kappa[idx]
        z = pm.Normal("z", 0.0, 1.0, dims="level")
        lam = pm.HalfStudentT("lam", nu=prior.local_df, sigma=1.0, dims="level")
        c2 = prior.slab_scale**2
        lam_t = pt.sqrt(c2 * lam**2 / (c2 + scale**2 * lam**2))
        r = pm.Deterministic("departure", scale * lam_t * z, dims="level")
        dev = pm.Deterministic("deviation", pt.dot(proj, r), dims="level")
        pm.Normal("population_obs", mu, pm.Data("population_se", np.float64(pop_se)),
                  observed=pm.Data("population_est", np.float64(pop)))
        pm.Normal("level_obs", dev, pm.Data("level_se", np.asarray(se, float), dims="level"),
                  observed=pm.Data("level_contrast", np.asarray(contrast, float), dims="level"),
                  dims="level")
    return model
