"""Fitting the hierarchical segment model (the estimator), and warming its compile cache."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bayeslab.bayes.segments.cells import prepare_cells
from bayeslab.bayes.segments.model import auto_parameterization, build_model, model_key
from bayeslab.bayes.segments.priors import FAMILIES, PARAMETERIZATIONS, SegmentPriors
from bayeslab.bayes.segments.result import SegmentFit
from bayeslab.bayes.segments.summaries import summarize
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL
from bayeslab.core.priors import Normal


@dataclass(frozen=True)
class HierarchicalSegments:
    r"""Hierarchical model of treatment effects across segments (partial pooling).

    Logistic model (binary metric), for segment :math:`j`, arm :math:`k` (0 = control) and
    treatment arm :math:`t`, with one segment dimension:

    .. math::

        y_{jk} &\sim \mathrm{Binomial}(n_{jk}, p_{jk}), \qquad
        \operatorname{logit} p_{j0} = \alpha_j, \quad
        \operatorname{logit} p_{jt} = \alpha_j + \delta_{jt} \\
        \alpha_j &= \mu_\alpha + \sigma_\alpha z_j, \qquad
        \delta_{jt} = \mu_{\delta t} + \tau_t w_{jt}, \qquad z_j, w_{jt} \sim N(0, 1) \\
        \mu_\alpha &\sim N(\operatorname{logit}\bar p_0, 1.5), \quad
        \sigma_\alpha \sim N^+(1), \quad \mu_{\delta t} \sim N(0, 0.5), \quad
        \tau_t \sim N^+(0.25)

    With two dimensions :math:`(a, b)` the effect is
    :math:`\delta_{abt} = \mu_{\delta t} + d^A_{at} + d^B_{bt} + d^{AB}_{abt}`, where the main
    effects sum to zero over their levels and the interaction sums to zero over :math:`a` and
    over :math:`b` (so the three parts do not overlap; an interaction summing to zero only over
    all cells made a ridge with the main effects, and divergences). A part with at least
    ``MIN_SPREAD_DOF`` = 4 free contrasts (5 levels, or a 3 x 3 interaction) learns its spread,
    :math:`d = \tau w` with :math:`\tau_t \sim N^+(0.25)`; a part with fewer (two PS+ levels,
    four spend tiers, 2 x 4 interactions, and also a single dimension with at most 4 segments)
    gets the fixed prior scale :math:`d \sim N(0, 0.25^2)` (zero-sum), the marginal prior sd of
    a deviation under the pooled form: a spread cannot be learned from so few contrasts, and
    trying made :math:`(\tau, w)` a ridge with bulk ESS below 400 at 2 x 1000 draws.
    Such parts have no ``tau`` row in ``population``.
    In the non-centered form the standardized effect deviations :math:`w` sum to zero over
    the segments (``ZeroSumNormal``), so :math:`\mu_\delta` is the mean log-odds effect of the
    observed segments (measured: twice the ESS of the unconstrained form); the centered form
    draws :math:`\delta_{jt} \sim N(\mu_{\delta t}, \tau_t)` directly.
    The normal model replaces the binomial by
    :math:`\bar y_{jk} \sim N(\theta_{jk}, s_{jk}/\sqrt{n_{jk}})` on the standardized cell means,
    with an identity link. Lifts are computed from the draws on the natural scale:
    absolute :math:`p_{jt} - p_{j0}` and relative :math:`p_{jt}/p_{j0} - 1`; the population lift
    weights segments by their share of units.

    Parameters
    ----------
    family : {"logistic", "normal"}, optional
        Default: logistic for a binary metric, normal otherwise (chosen at :meth:`fit`).
    prior : SegmentPriors, optional
        Default :class:`SegmentPriors()`.
    parameterization : {"auto", "non-centered", "centered"}
        Of the segment effects. Non-centered avoids the funnel when cells are sparse; centered
        mixes far better when every cell pins its effect (huge counts). ``"auto"`` (default)
        picks centered for one segment dimension when every segment's unpooled effect has a
        standard error below a quarter of the ``effect_sd`` prior scale, else non-centered; the
        choice is recorded in ``settings["parameterization"]``. Baselines are centered, with a
        learned spread, when there are at least 5 segments, every control cell holds at least 30
        conversions and 30 non-conversions and the cells' baselines clearly differ; non-centered
        when a control cell holds fewer than 3; otherwise they get a fixed N(0, 1) spread on
        the log-odds scale (too few segments, or baselines pinned alike or loosely: both
        hierarchical forms funnel there, measured on the homepage and migration scenarios).
    draws, tune, chains, seed, target_accept, sampler, cores, progressbar, remedy
        Passed to :func:`bayeslab.inference.sampling.sample_with_remedy` (nutpie by default,
        ``sampler="pymc"`` for PyMC's NUTS).
    thresholds : dict, optional
        Diagnostic thresholds passed to :func:`bayeslab.inference.diagnostics.diagnose`
        (``rhat_max``, ``ess_min``, ...).
    interval : float
        Equal-tailed credible interval level.

    Raises
    ------
    ModelError
        An unknown family or parameterization, a prior that is not a :class:`SegmentPriors`, an
        interval level outside (0, 1).

    See Also
    --------
    bayeslab.frequentist.segments.PerSegmentTests : per-segment tests with Holm / BH and a GLM.
    """

    family: str | None = None
    prior: SegmentPriors = field(default_factory=SegmentPriors)
    parameterization: str = "auto"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    interval: float = DEFAULT_LEVEL
    target_accept: float = 0.9
    sampler: str = "auto"
    cores: int | None = None
    progressbar: bool | None = None
    remedy: bool = True
    thresholds: dict | None = None

    def __post_init__(self):
        if self.family is not None and self.family not in FAMILIES:
            raise ModelError(f"family must be one of {', '.join(FAMILIES)}, got {self.family!r}")
        if self.parameterization not in PARAMETERIZATIONS:
            raise ModelError(f"parameterization must be one of {', '.join(PARAMETERIZATIONS)}, "
                             f"got {self.parameterization!r}")
        if not 0 < self.interval < 1:
            raise ModelError(f"interval must be in (0, 1), got {self.interval!r}")
        if self.prior is None:
            object.__setattr__(self, "prior", SegmentPriors())
        if not isinstance(self.prior, SegmentPriors):
            raise ModelError(f"prior must be a SegmentPriors, got {self.prior!r}")

    def fit(self, stats) -> SegmentFit:
        """Sample the model on the cells of ``stats`` (``ArmStats`` with one or two segments).

        Raises
        ------
        ModelError
            No or more than two segment columns, or a family that does not fit the metric.
        """
        from bayeslab.inference.sampling import sample_with_remedy

        family = self.family or ("logistic" if stats.kind == "binary" else "normal")
        prior, interval, seed = self.prior, self.interval, self.seed
        data = prepare_cells(stats, family)
        parameterization = self.parameterization
        if parameterization == "auto":
            parameterization = auto_parameterization(data, family, prior)
        model = build_model(data, family=family, prior=prior, parameterization=parameterization)
        free = [v.name for v in model.free_RVs] + ["effect", "baseline"]
        key = model_key(data, family=family, prior=prior, parameterization=parameterization)
        run = sample_with_remedy(model, draws=self.draws, tune=self.tune, chains=self.chains,
                                 seed=seed, target_accept=self.target_accept,
                                 sampler=self.sampler, cores=self.cores,
                                 progressbar=self.progressbar, remedy=self.remedy,
                                 var_names=free, key=key, **(self.thresholds or {}))
        if prior.baseline.mu is None and family == "logistic":
            prior = replace(prior, baseline=Normal(mu=data.center, sigma=prior.baseline.sigma))
        table, population = summarize(run.idata, data, family, interval)
        settings = dict(run.settings, sampler=run.sampler, parameterization=parameterization,
                        remedy=run.diagnostics.remedy, compile_s=run.compile_s,
                        sample_s=run.sample_s, metric=stats.metric, control=stats.control,
                        center=data.center, scale=data.scale)
        return SegmentFit(idata=run.idata, diagnostics=run.diagnostics, table=table,
                          population=population, prior=prior, seed=seed, interval=interval,
                          family=family, data=data, settings=settings)


def fit_segments(
    stats,
    *,
    family: str | None = None,
    prior: SegmentPriors | None = None,
    parameterization: str = "auto",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    interval: float = DEFAULT_LEVEL,
    target_accept: float = 0.9,
    sampler: str = "auto",
    cores: int | None = None,
    progressbar: bool | None = None,
    remedy: bool = True,
    thresholds: dict | None = None,
) -> SegmentFit:
    """Fit :class:`HierarchicalSegments` (the model and its math are documented there).

    ``fit_segments(stats, **options)`` is ``HierarchicalSegments(**options).fit(stats)``.

    Parameters
    ----------
    stats : ArmStats
        Sufficient statistics with one or two ``segments``.
    family, prior, parameterization, draws, tune, chains, seed, interval, target_accept
        As :class:`HierarchicalSegments`.
    sampler, cores, progressbar, remedy, thresholds
        As :class:`HierarchicalSegments`.

    Returns
    -------
    SegmentFit

    Raises
    ------
    ModelError
        No or more than two segment columns, a family that does not fit the metric, bad
        settings or priors.

    See Also
    --------
    bayeslab.frequentist.segments.segment_tests : per-segment tests with Holm / BH and a GLM.
    """
    return HierarchicalSegments(
        family=family, prior=prior, parameterization=parameterization, draws=draws, tune=tune,
        chains=chains, seed=seed, interval=interval, target_accept=target_accept,
        sampler=sampler, cores=cores, progressbar=progressbar, remedy=remedy,
        thresholds=thresholds).fit(stats)
