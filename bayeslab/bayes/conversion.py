r"""Conversion: the Beta-Binomial model, exact and conjugate.

.. math::

    p_k &\sim \mathrm{Beta}(\alpha_0, \beta_0) \\
    x_k \mid p_k &\sim \mathrm{Binomial}(n_k, p_k) \\
    p_k \mid x_k &\sim \mathrm{Beta}(\alpha_0 + x_k,\ \beta_0 + n_k - x_k)

for each arm :math:`k`, independently. Every reported quantity (probability that the treatment
beats control, credible intervals of the absolute and relative lift, expected loss, probability of
being best) is computed by deterministic numerical integration in :mod:`bayeslab.kernels.beta`,
never by Monte Carlo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.checks import check_counts
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, jsonable
from bayeslab.core.format import format_prob
from bayeslab.data.accounting import RowAccount
from bayeslab.data.cells import Cells, key_array
from bayeslab.kernels import beta as K

METHOD = "beta-binomial"


@dataclass(frozen=True)
class BetaPrior:
    """A Beta(alpha, beta) prior on each arm's conversion rate (default uniform, Beta(1, 1))."""

    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self):
        for name in ("alpha", "beta"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ModelError(f"prior {name} must be a positive number, got {value!r}")

    def __str__(self) -> str:
        return f"Beta({self.alpha:g}, {self.beta:g})"

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"distribution": "Beta", "alpha": float(self.alpha), "beta": float(self.beta)}


@dataclass(frozen=True)
class ArmComparison:
    """Posterior comparison of one treatment arm with control.

    Attributes
    ----------
    arm : str
        Treatment arm label.
    abs_diff, abs_lower, abs_upper : float
        Posterior mean and equal-tailed credible interval of :math:`p_T - p_C`.
    rel_lift, rel_lower, rel_upper : float
        Posterior mean and interval of :math:`p_T / p_C - 1`.
    prob_positive, prob_negative : float
        :math:`P(p_T > p_C)` and :math:`P(p_T < p_C)`, each accurate in its own tail.
    expected_loss, expected_loss_rel : float
        :math:`E[(p_C - p_T)^+]` and :math:`E[(1 - p_T/p_C)^+]`: loss of shipping the treatment.
    expected_loss_control, expected_loss_control_rel : float
        The same for keeping control: :math:`E[(p_T - p_C)^+]`, :math:`E[(p_T/p_C - 1)^+]`.
    """

    arm: str
    abs_diff: float
    abs_lower: float
    abs_upper: float
    rel_lift: float
    rel_lower: float
    rel_upper: float
    prob_positive: float
    prob_negative: float
    expected_loss: float
    expected_loss_rel: float
    expected_loss_control: float
    expected_loss_control_rel: float


@dataclass(frozen=True)
class ConversionPosterior:
    """Fitted Beta-Binomial posteriors of a conversion metric, one per arm.

    Attributes
    ----------
    metric : str
    arms : tuple of str
        Arm labels, control first.
    control : str
    n, conversions : numpy.ndarray
        Units and conversions per arm.
    prior : BetaPrior
    interval : float
        Credible interval level.
    comparisons : tuple of ArmComparison
        One per treatment arm, against control.
    prob_best : numpy.ndarray
        Posterior probability that each arm has the highest rate.
    rows : RowAccount, optional
    """

    metric: str
    arms: tuple[str, ...]
    control: str
    n: np.ndarray
    conversions: np.ndarray
    prior: BetaPrior
    interval: float
    comparisons: tuple[ArmComparison, ...]
    prob_best: np.ndarray
    rows: RowAccount | None = field(default=None, repr=False)

    @property
    def alpha_post(self) -> np.ndarray:
        """Posterior alpha per arm: prior alpha plus conversions."""
        return self.prior.alpha + self.conversions

    @property
    def beta_post(self) -> np.ndarray:
        """Posterior beta per arm: prior beta plus non-conversions."""
        return self.prior.beta + self.n - self.conversions

    def _index(self, arm: str | None) -> int:
        if arm is None:
            if len(self.arms) != 2:
                raise ModelError(f"several treatment arms ({', '.join(self.arms[1:])}): name one")
            return 1
        if arm not in self.arms[1:]:
            raise ModelError(f"unknown treatment arm {arm!r}; treatment arms are "
                             f"{', '.join(self.arms[1:])}")
        return self.arms.index(arm)

    def _params(self, arm):
        k = self._index(arm)
        return self.alpha_post[k], self.beta_post[k], self.alpha_post[0], self.beta_post[0]

    def comparison(self, arm: str | None = None) -> ArmComparison:
        """The :class:`ArmComparison` of ``arm`` (the only treatment arm by default)."""
        return self.comparisons[self._index(arm) - 1]

    def prob_lift_above(self, threshold: float, *, relative: bool = False,
                        arm: str | None = None) -> float:
        r"""Posterior probability that the lift exceeds ``threshold``.

        :math:`P(p_T - p_C > t)`, or with ``relative=True`` :math:`P(p_T / p_C - 1 > t)`.
        """
        a_t, b_t, a_c, b_c = self._params(arm)
        if relative:
            return 1.0 - K.ratio_cdf(1.0 + threshold, a_t, b_t, a_c, b_c)
        return 1.0 - K.diff_cdf(threshold, a_t, b_t, a_c, b_c)

    def lift_density(self, arm: str | None = None, *, points: int = 401,
                     tail: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
        r"""Exact posterior density of :math:`p_T - p_C` on a grid (for plots).

        The grid spans the ``tail`` and ``1 - tail`` quantiles
        (:func:`~bayeslab.kernels.beta.diff_quantile`); the density at each point is the
        convolution integral :math:`\int f_C(x) f_T(x + d)\,dx`
        (:func:`~bayeslab.kernels.beta.diff_pdf`).

        Returns
        -------
        x, density : numpy.ndarray
        """
        a_t, b_t, a_c, b_c = self._params(arm)
        lo = K.diff_quantile(tail, a_t, b_t, a_c, b_c)
        hi = K.diff_quantile(1 - tail, a_t, b_t, a_c, b_c)
        x = np.linspace(lo, hi, points)
        return x, np.array([K.diff_pdf(d, a_t, b_t, a_c, b_c) for d in x])

    def arm_cells(self) -> Cells:
        """:meth:`arm_table` as :class:`~bayeslab.data.cells.Cells` (no pandas)."""
        lo_q, hi_q = (1 - self.interval) / 2, (1 + self.interval) / 2
        a, b = self.alpha_post, self.beta_post
        return Cells({
            "arm": key_array(self.arms), "n": self.n.astype(np.int64),
            "conversions": self.conversions.astype(np.int64), "alpha": a, "beta": b,
            "mean": a / (a + b), "lower": K.ppf(lo_q, a, b),
            "upper": K.ppf(hi_q, a, b), "prob_best": np.asarray(self.prob_best),
        })

    def arm_table(self):
        """Per arm: n, conversions, posterior parameters, mean and credible interval, P(best).

        A :class:`pandas.DataFrame`.
        """
        return self.arm_cells().to_pandas()

    def estimates(self) -> list[Estimate]:
        """Absolute and relative lift of each treatment arm, as :class:`Estimate` entries."""
        out = []
        arm_label = len(self.arms) > 2
        for c in self.comparisons:
            common = dict(side="bayes", method=METHOD, level=self.interval,
                          arm=c.arm if arm_label else None, prob_positive=c.prob_positive)
            out.append(Estimate(effect="absolute", estimate=c.abs_diff, lower=c.abs_lower,
                                upper=c.abs_upper, expected_loss=c.expected_loss,
                                extra={"prob_negative": c.prob_negative,
                                       "prior": str(self.prior)}, **common))
            out.append(Estimate(effect="relative", estimate=c.rel_lift, lower=c.rel_lower,
                                upper=c.rel_upper, expected_loss=c.expected_loss_rel,
                                extra={"prob_negative": c.prob_negative,
                                       "prior": str(self.prior)}, **common))
        return out

    def summary(self):
        """One row per (treatment arm, effect): estimate, interval, P(effect > 0), expected loss."""
        import pandas as pd

        frame = pd.DataFrame([e.to_dict() for e in self.estimates()])
        if "arm" not in frame:
            frame.insert(0, "arm", self.arms[1])
        return frame

    def to_dict(self) -> dict:
        """JSON-safe form: prior, level, per-arm posteriors and the comparisons."""
        return jsonable({
            "method": METHOD, "metric": self.metric, "prior": self.prior.to_dict(),
            "level": self.interval, "control": self.control,
            "arms": self.arm_cells().records(),
            "results": [e.to_dict() for e in self.estimates()],
            "rows": self.rows.to_dict() if self.rows else None,
        })

    def plot(self, ax=None):
        """Posterior densities of each arm's rate; returns the Figure."""
        from bayeslab.plots import plot_beta_posteriors

        return plot_beta_posteriors(self, ax=ax)

    def __str__(self) -> str:
        from bayeslab.core import format as fmt

        lines = [f"Beta-Binomial posterior of {self.metric!r}, prior {self.prior}, "
                 f"{self.interval:.0%} credible intervals"]
        records = self.arm_cells().records()
        for i, r in enumerate(records):
            # the complement from the other arms' own (tail-accurate) probabilities
            others = sum(o["prob_best"] for j, o in enumerate(records) if j != i)
            lines.append(f"  {r['arm']:>12}  n={fmt.count(r['n']):>10}  rate "
                         f"{fmt.rate(r['mean'])} [{fmt.rate(r['lower'])}, {fmt.rate(r['upper'])}]"
                         + (f"  P(best) = {fmt.prob(r['prob_best'], others)}"
                            if len(records) > 1 else ""))
        for c in self.comparisons:
            lines.append(f"  {c.arm} vs {self.control}: difference {fmt.pp(c.abs_diff)} "
                         f"{fmt.interval(c.abs_lower, c.abs_upper, 'absolute', 'conversion')}, "
                         f"lift {fmt.pct(c.rel_lift)} "
                         f"{fmt.interval(c.rel_lower, c.rel_upper, 'relative', 'conversion')}, "
                         f"P(> 0) = {format_prob(c.prob_positive, c.prob_negative)}, "
                         f"expected loss {fmt.number(c.expected_loss, 3)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class BetaBinomial:
    r"""Beta-Binomial conversion model with an explicit prior.

    Parameters
    ----------
    prior_alpha, prior_beta : float
        Beta prior on every arm's rate; the default Beta(1, 1) is uniform.
    interval : float
        Credible interval level (equal-tailed).

    See Also
    --------
    bayeslab.frequentist.conversion.TwoProportionZTest : the frequentist counterpart.

    Raises
    ------
    ModelError
        For a non-positive prior parameter or an interval level outside (0, 1).

    Notes
    -----
    The model is conjugate (see the module docstring). The relative lift's posterior mean is
    :math:`E[p_T]\,E[1/p_C] - 1 = \mu_T (a_C + b_C - 1)/(a_C - 1) - 1`, exact.
    """

    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    interval: float = DEFAULT_LEVEL

    def __post_init__(self):
        BetaPrior(self.prior_alpha, self.prior_beta)
        if not 0 < self.interval < 1:
            raise ModelError(f"interval must be in (0, 1), got {self.interval!r}")

    def fit(self, stats) -> ConversionPosterior:
        """Fit to :class:`~bayeslab.data.stats.ArmStats` of a binary metric (segments summed)."""
        return self.fit_counts(**stats.binary_counts("the Beta-Binomial model"))

    def fit_counts(self, n, conversions, *, arms=None, metric: str = "conversion",
                   rows: RowAccount | None = None) -> ConversionPosterior:
        """Fit to units and conversions per arm, control first."""
        arms, n, x = check_counts(n, conversions, arms)
        prior = BetaPrior(self.prior_alpha, self.prior_beta)
        a = prior.alpha + x
        b = prior.beta + n - x
        lo_q, hi_q = (1 - self.interval) / 2, (1 + self.interval) / 2
        comps = []
        for k in range(1, len(arms)):
            p = (float(a[k]), float(b[k]), float(a[0]), float(b[0]))
            gt, lt = K.prob_greater_pair(*p)
            abs_lower, abs_upper = K.diff_quantiles((lo_q, hi_q), *p)
            rel_lower, rel_upper = K.ratio_quantiles((lo_q, hi_q), *p)
            loss, loss_rel = K.expected_losses(*p)
            comps.append(ArmComparison(
                arm=arms[k],
                abs_diff=float(a[k] / (a[k] + b[k]) - a[0] / (a[0] + b[0])),
                abs_lower=float(abs_lower), abs_upper=float(abs_upper),
                rel_lift=K.ratio_mean(*p) - 1.0,
                rel_lower=float(rel_lower) - 1.0, rel_upper=float(rel_upper) - 1.0,
                prob_positive=gt, prob_negative=lt,
                expected_loss=loss, expected_loss_rel=loss_rel,
                expected_loss_control=K.expected_loss(p[2], p[3], p[0], p[1]),
                # E[(p_T/p_C - 1)^+] = E[p_T/p_C] - 1 + E[(1 - p_T/p_C)^+]
                expected_loss_control_rel=K.ratio_mean(*p) - 1.0 + loss_rel,
            ))
        if len(arms) == 2:
            best = np.array([comps[0].prob_negative, comps[0].prob_positive])
        else:
            best = K.prob_best(list(zip(a, b, strict=True)))
        return ConversionPosterior(metric=metric, arms=arms, control=arms[0], n=n, conversions=x,
                                   prior=prior, interval=self.interval, comparisons=tuple(comps),
                                   prob_best=best, rows=rows)

