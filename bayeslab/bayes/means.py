r"""Bayesian comparison of means: Normal model with unknown variance per arm, Gamma-Poisson counts.

**Normal model** (:class:`NormalMeans`). Each arm :math:`a` has its own mean and variance:

.. math::

    y_i \mid a \sim N(\mu_a, \sigma_a^2), \qquad
    \mu_a \mid \sigma_a^2 \sim N(m_0, \sigma_a^2 / \kappa_0), \qquad
    \sigma_a^2 \sim \mathrm{InvGamma}(\alpha_0, \beta_0).

The marginal posterior of :math:`\mu_a` is Student-t with :math:`2\alpha_n` degrees of freedom,
location :math:`m_n` and squared scale :math:`\beta_n / (\alpha_n \kappa_n)` (closed form). The
default prior is Jeffreys' :math:`p(\mu, \sigma^2) \propto 1/\sigma^2` (:math:`\kappa_0 = 0`,
:math:`\alpha_0 = -1/2`, :math:`\beta_0 = 0`), whose posterior is
:math:`t_{n-1}(\bar y, s^2 / n)`. The difference :math:`\mu_T - \mu_C` (a Behrens-Fisher
distribution) and the ratio are summarized by one-dimensional quadrature
(:mod:`bayeslab.kernels.difference`), not Monte Carlo.

**Gamma-Poisson** (:class:`GammaPoisson`). Counts per unit :math:`y_i \mid a \sim
\mathrm{Poisson}(\lambda_a)` with :math:`\lambda_a \sim \mathrm{Gamma}(\alpha_0, \beta_0)` give
:math:`\lambda_a \mid y \sim \mathrm{Gamma}(\alpha_0 + \sum y, \beta_0 + n)`. Default: Jeffreys'
:math:`\alpha_0 = 1/2, \beta_0 = 0`. Overdispersed counts (variance above the mean) make these
intervals too narrow; the result warns and records the dispersion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as st

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.stats import ArmStats
from bayeslab.data.summaries import warn_overdispersion
from bayeslab.kernels.difference import compare


def _finite(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise ModelError(f"{name} must be finite, got {value!r}")
    return value


@dataclass(frozen=True)
class NormalInverseGammaPrior:
    r"""Normal-inverse-gamma prior of one arm's mean and variance (the same for every arm).

    .. math::

        \mu_a \mid \sigma_a^2 \sim N(m_0, \sigma_a^2 / \kappa_0), \qquad
        \sigma_a^2 \sim \mathrm{InvGamma}(\alpha_0, \beta_0).

    The defaults (:math:`\kappa_0 = 0, \alpha_0 = -1/2, \beta_0 = 0`) are Jeffreys' improper
    prior :math:`p(\mu, \sigma^2) \propto 1/\sigma^2`.

    Parameters
    ----------
    mean : float
        :math:`m_0`, prior mean of each arm's mean.
    count : float
        :math:`\kappa_0 \ge 0`, prior pseudo-observations behind ``mean`` (0: flat).
    shape, rate : float
        :math:`\alpha_0, \beta_0 \ge 0` of the inverse-gamma prior on each variance.

    Raises
    ------
    ModelError
        A negative ``count`` or ``rate``, or a value that is not a finite number.
    """

    mean: float = 0.0
    count: float = 0.0
    shape: float = -0.5
    rate: float = 0.0

    def __post_init__(self):
        for name in ("mean", "count", "shape", "rate"):
            object.__setattr__(self, name, _finite(f"prior_{name}", getattr(self, name)))
        if self.count < 0 or self.rate < 0:
            raise ModelError("prior_count and prior_rate must be non-negative")

    @property
    def name(self) -> str:
        """``"jeffreys"`` for the default prior, else ``"normal-inverse-gamma"``."""
        jeffreys = (self.count, self.shape, self.rate) == (0, -0.5, 0)
        return "jeffreys" if jeffreys else "normal-inverse-gamma"

    def to_dict(self) -> dict:
        """JSON-safe form (the keys the readout has always written)."""
        return {"mean": self.mean, "count": self.count, "shape": self.shape, "rate": self.rate,
                "name": self.name}

    def __str__(self) -> str:
        from bayeslab.core.format import prior

        return prior(self.to_dict())


@dataclass(frozen=True)
class GammaPrior:
    r"""Gamma prior :math:`\lambda_a \sim \mathrm{Gamma}(\alpha_0, \beta_0)` of each arm's rate.

    Parameters
    ----------
    shape : float
        :math:`\alpha_0 > 0` (default 1/2: Jeffreys' prior with ``rate=0``).
    rate : float
        :math:`\beta_0 \ge 0`.

    Raises
    ------
    ModelError
        A non-positive ``shape``, a negative ``rate``, or a value that is not a finite number.
    """

    shape: float = 0.5
    rate: float = 0.0

    def __post_init__(self):
        for name in ("shape", "rate"):
            object.__setattr__(self, name, _finite(f"prior_{name}", getattr(self, name)))
        if self.shape <= 0 or self.rate < 0:
            raise ModelError("prior_shape must be positive and prior_rate non-negative")

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"shape": self.shape, "rate": self.rate}

    def __str__(self) -> str:
        return f"Gamma({self.shape:.4g}, {self.rate:.4g}) on each arm's rate"


@dataclass(frozen=True)
class MeansPosterior(EstimatesMixin):
    """Posterior comparison of per-arm means (or rates) between each treatment arm and control.

    Attributes
    ----------
    metric, control : str
    arms : tuple of str
    model : {"normal", "gamma-poisson"}
    prior : NormalInverseGammaPrior or GammaPrior
        The prior actually used.
    per_arm : pandas.DataFrame
        Posterior parameters per arm (``df, loc, scale`` for the Normal model; ``shape, rate``
        for Gamma-Poisson) and the posterior mean.
    comparisons : pandas.DataFrame
        One row per treatment arm: ``estimate`` (posterior mean difference), ``lower, upper``
        (equal-tailed), ``prob_positive``, ``expected_loss``, ``rel_estimate`` (posterior median
        of the relative lift), ``rel_lower``, ``rel_upper``.
    interval : float
    rows : RowAccount, optional
    """

    metric: str
    control: str
    arms: tuple[str, ...]
    model: str
    prior: NormalInverseGammaPrior | GammaPrior
    per_arm: pd.DataFrame
    comparisons: pd.DataFrame
    interval: float
    rows: RowAccount | None = None

    @property
    def _title(self):
        return f"Bayesian {self.model} model of {self.metric!r}"

    @property
    def method(self) -> str:
        """Method name in :meth:`estimates`."""
        return "bayes-normal" if self.model == "normal" else "bayes-gamma-poisson"

    def posteriors(self) -> list:
        """Frozen scipy distributions of each arm's mean (or rate), control first."""
        if self.model == "normal":
            return [st.t(df=r.df, loc=r.loc, scale=r.scale) for r in self.per_arm.itertuples()]
        return [st.gamma(a=r.shape, scale=1 / r.rate) for r in self.per_arm.itertuples()]

    def estimates(self) -> list[Estimate]:
        """Absolute and relative effect per treatment arm."""
        out = []
        for r in self.comparisons.itertuples():
            common = dict(level=self.interval, arm=r.arm, prob_positive=r.prob_positive,
                          extra={"prob_negative": r.prob_negative})
            out.append(Estimate("bayes", self.method, "absolute", r.estimate, r.lower, r.upper,
                                expected_loss=r.expected_loss, **common))
            out.append(Estimate("bayes", self.method, "relative", r.rel_estimate, r.rel_lower,
                                r.rel_upper, **common))
        return out

    def _extra_dict(self):
        return {"prior": self.prior.to_dict(), "per_arm": self.per_arm.to_dict("records"),
                "rows": self.rows.to_dict() if self.rows else None}


def _compare_all(posts, arms, interval):
    rows = []
    for i in range(1, len(posts)):
        rows.append({"arm": arms[i], **compare(posts[i], posts[0], interval=interval)})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class NormalMeans:
    r"""Posterior of each arm's mean under a Normal model with unknown variance per arm.

    .. math::

        \kappa_n = \kappa_0 + n, \quad m_n = (\kappa_0 m_0 + n \bar y) / \kappa_n, \quad
        \alpha_n = \alpha_0 + n / 2, \quad
        \beta_n = \beta_0 + \tfrac12 \sum (y - \bar y)^2
        + \frac{\kappa_0 n (\bar y - m_0)^2}{2 \kappa_n},

        \mu_a \mid y \sim t_{2\alpha_n}\bigl(m_n, \beta_n / (\alpha_n \kappa_n)\bigr).

    Parameters
    ----------
    prior : NormalInverseGammaPrior
        Default Jeffreys' prior :math:`p(\mu, \sigma^2) \propto 1/\sigma^2`.
    interval : float
        Credible level (equal-tailed).

    Raises
    ------
    ModelError
        A prior that is not a :class:`NormalInverseGammaPrior`, or a level outside (0, 1).

    See Also
    --------
    bayeslab.frequentist.means.WelchTest : the frequentist counterpart.
    """

    prior: NormalInverseGammaPrior = field(default_factory=NormalInverseGammaPrior)
    interval: float = DEFAULT_LEVEL

    def __post_init__(self):
        if not isinstance(self.prior, NormalInverseGammaPrior):
            raise ModelError(f"prior must be a NormalInverseGammaPrior, got {self.prior!r}")
        object.__setattr__(self, "interval", check_interval(self.interval))

    def fit(self, stats: ArmStats) -> MeansPosterior:
        """Posterior from per-arm ``n``, ``sum``, ``sum_sq`` of ``stats``.

        Raises
        ------
        ModelError
            If the prior leaves a posterior with fewer than 2 degrees of freedom (no posterior
            mean of the difference).
        DataError
            If an arm has fewer than 2 units, or no arm has any variation. One arm without
            variation (all values equal) is a point mass at its mean, with a
            StatisticalWarning.
        """
        pr = self.prior
        t = stats.by_arm()
        n, s, ss = (t[c].to_numpy(float) for c in ("n", "sum", "sum_sq"))
        if np.any(n < 2):
            raise DataError("every arm needs at least 2 units for a variance", column=stats.arm)
        ybar = s / n
        sse = np.maximum(ss - n * ybar**2, 0.0)
        _check_variation(stats, ybar, sse, pr.rate)
        kn = pr.count + n
        mn = (pr.count * pr.mean + n * ybar) / kn
        an = pr.shape + n / 2
        bn = pr.rate + sse / 2 + pr.count * n * (ybar - pr.mean) ** 2 / (2 * kn)
        if np.any(2 * an <= 2):
            raise ModelError(f"prior_shape={pr.shape} leaves fewer than 2 posterior degrees of "
                             "freedom in an arm; use more data or a larger prior_shape")
        per_arm = pd.DataFrame({"arm": list(stats.arms), "n": n, "df": 2 * an, "loc": mn,
                                "scale": np.sqrt(bn / (an * kn)), "mean": mn})
        posts = [st.t(df=r.df, loc=r.loc, scale=r.scale) for r in per_arm.itertuples()]
        return MeansPosterior(metric=stats.metric, control=stats.control, arms=stats.arms,
                              model="normal", prior=pr, per_arm=per_arm,
                              comparisons=_compare_all(posts, stats.arms, self.interval),
                              interval=self.interval, rows=stats.rows)


def normal_means(stats: ArmStats, *, prior_mean: float = 0.0, prior_count: float = 0.0,
                 prior_shape: float = -0.5, prior_rate: float = 0.0,
                 interval: float = 0.95) -> MeansPosterior:
    r"""Fit :class:`NormalMeans` with a :class:`NormalInverseGammaPrior` given as numbers.

    ``normal_means(stats, prior_mean=m, prior_count=k, prior_shape=a, prior_rate=b,
    interval=q)`` is ``NormalMeans(NormalInverseGammaPrior(m, k, a, b), interval=q).fit(stats)``;
    the model and its math are on :class:`NormalMeans`.

    Parameters
    ----------
    stats : ArmStats
        Per-arm ``n``, ``sum``, ``sum_sq``.
    prior_mean, prior_count, prior_shape, prior_rate : float
        :math:`m_0, \kappa_0, \alpha_0, \beta_0` (see :class:`NormalInverseGammaPrior`; the
        defaults are Jeffreys' prior).
    interval : float
        Credible level (equal-tailed).

    Returns
    -------
    MeansPosterior

    Raises
    ------
    ModelError
        If the prior is invalid or leaves fewer than 2 posterior degrees of freedom.
    DataError
        If an arm has fewer than 2 units, or no arm has any variation.

    See Also
    --------
    bayeslab.frequentist.means.welch : the frequentist counterpart.
    """
    prior = NormalInverseGammaPrior(mean=prior_mean, count=prior_count, shape=prior_shape,
                                    rate=prior_rate)
    return NormalMeans(prior, interval=interval).fit(stats)


def _check_variation(stats: ArmStats, ybar, sse, prior_rate: float) -> None:
    r"""No variation anywhere: an error; in one arm: a warning (that arm is a point mass).

    "No variation" is judged against the rounding of the sums it comes from:
    :math:`\mathrm{SSE} = \sum y^2 - n\bar y^2` loses about :math:`\epsilon \sum y^2` to
    cancellation (:math:`\epsilon = 2^{-52}`), so an arm is flat when its SSE is within 8 such
    units of zero. Values with a large common offset (``1e7 + N(10, 2)``) keep their variation;
    when fewer than 6 digits of it survive the cancellation, a warning says so.
    """
    n = np.asarray(stats.by_arm()["n"], float)
    sum_sq = n * ybar**2 + sse
    noise = 8 * np.finfo(float).eps * np.maximum(sum_sq, 1e-300)
    flat = sse <= noise
    if np.any(~flat & (sse < 1e6 * noise)):
        import warnings

        from bayeslab.core.errors import StatisticalWarning

        warnings.warn(f"{stats.metric!r} varies little around a large mean (mean "
                      f"{float(np.max(np.abs(ybar))):.6g}): its variance keeps fewer than 6 "
                      "significant digits through the sums of squares; subtract a constant "
                      "baseline from the column for full precision", StatisticalWarning,
                      stacklevel=3)
    if prior_rate > 0 or not np.any(flat):
        return
    if np.all(flat):
        values = ", ".join(f"{a}: {v:.6g}" for a, v in zip(stats.arms, ybar, strict=True))
        raise DataError(f"{stats.metric!r} has no variation: every unit of each arm has the same "
                        f"value ({values}); there is no uncertainty to model. Check the column, "
                        "or read a 0/1 metric with kind conversion", column=stats.metric)
    import warnings

    from bayeslab.core.errors import StatisticalWarning

    for arm, v in zip(np.asarray(stats.arms)[flat], ybar[flat], strict=True):
        warnings.warn(f"arm {arm} of {stats.metric!r} has no variation (every value {v:.6g}): "
                      "its posterior mean is a point mass there, so the Bayesian interval "
                      "reflects the other arm's uncertainty only", StatisticalWarning,
                      stacklevel=3)


@dataclass(frozen=True)
class GammaPoisson:
    r"""Posterior of each arm's Poisson rate per unit (conjugate Gamma).

    .. math::

        y_i \mid a \sim \mathrm{Poisson}(\lambda_a), \quad
        \lambda_a \sim \mathrm{Gamma}(\alpha_0, \beta_0), \quad
        \lambda_a \mid y \sim \mathrm{Gamma}(\alpha_0 + \textstyle\sum y, \beta_0 + n).

    Parameters
    ----------
    prior : GammaPrior
        Default Jeffreys' :math:`\alpha_0 = 1/2, \beta_0 = 0`.
    interval : float
        Credible level (equal-tailed).

    Raises
    ------
    ModelError
        A prior that is not a :class:`GammaPrior`, or a level outside (0, 1).

    See Also
    --------
    bayeslab.frequentist.means.PoissonRateTest : the frequentist counterpart.
    """

    prior: GammaPrior = field(default_factory=GammaPrior)
    interval: float = DEFAULT_LEVEL

    def __post_init__(self):
        if not isinstance(self.prior, GammaPrior):
            raise ModelError(f"prior must be a GammaPrior, got {self.prior!r}")
        object.__setattr__(self, "interval", check_interval(self.interval))

    def fit(self, stats: ArmStats) -> MeansPosterior:
        """Posterior from per-arm ``n`` and ``sum`` (``sum_sq`` for the dispersion check).

        Warns (StatisticalWarning) when the counts are overdispersed.
        """
        t = stats.by_arm()
        n, s = t["n"].to_numpy(float), t["sum"].to_numpy(float)
        disp = (warn_overdispersion(stats) if "sum_sq" in t and np.all(n >= 2)
                else np.full(len(n), np.nan))
        shape, rate = self.prior.shape + s, self.prior.rate + n
        per_arm = pd.DataFrame({"arm": list(stats.arms), "n": n, "shape": shape, "rate": rate,
                                "mean": shape / rate, "dispersion": disp})
        posts = [st.gamma(a=a, scale=1 / b) for a, b in zip(shape, rate, strict=True)]
        return MeansPosterior(metric=stats.metric, control=stats.control, arms=stats.arms,
                              model="gamma-poisson", prior=self.prior, per_arm=per_arm,
                              comparisons=_compare_all(posts, stats.arms, self.interval),
                              interval=self.interval, rows=stats.rows)


def gamma_poisson(stats: ArmStats, *, prior_shape: float = 0.5, prior_rate: float = 0.0,
                  interval: float = 0.95) -> MeansPosterior:
    r"""Fit :class:`GammaPoisson` with a :class:`GammaPrior` given as numbers.

    ``gamma_poisson(stats, prior_shape=a, prior_rate=b, interval=q)`` is
    ``GammaPoisson(GammaPrior(a, b), interval=q).fit(stats)``; the model is on
    :class:`GammaPoisson`.

    Parameters
    ----------
    stats : ArmStats
        Count outcome per unit (``n``, ``sum``; ``sum_sq`` for the dispersion check).
    prior_shape, prior_rate : float
        :math:`\alpha_0, \beta_0` (default Jeffreys: 1/2, 0).
    interval : float
        Credible level (equal-tailed).

    Returns
    -------
    MeansPosterior
        Warns (StatisticalWarning) when the counts are overdispersed.

    Raises
    ------
    ModelError
        If the prior is invalid.

    See Also
    --------
    bayeslab.frequentist.means.poisson_rates : the frequentist counterpart.
    """
    return GammaPoisson(GammaPrior(shape=prior_shape, rate=prior_rate),
                        interval=interval).fit(stats)
