r"""Bayesian funnel: Beta posteriors of every stage from one Dirichlet model per arm.

Each user of arm :math:`a` ends in one category of a funnel of :math:`k` nested 0/1 stages:
dropped before stage 1 (:math:`c = 0`), or reached stage :math:`c` but not :math:`c + 1`. With

.. math::

    (\text{counts}_{a,0}, \dots, \text{counts}_{a,k}) \sim \mathrm{Multinomial}(n_a, \pi_a), \qquad
    \pi_a \sim \mathrm{Dirichlet}(\gamma, \dots, \gamma),

the posterior is :math:`\mathrm{Dirichlet}(\alpha_a)` with :math:`\alpha_{a,c} = \gamma +
\text{counts}_{a,c}`, and by the aggregation and neutrality properties of the Dirichlet every
rate "reached stage :math:`j` given stage :math:`i`" is exactly
:math:`\mathrm{Beta}(\sum_{c \ge j} \alpha_c, \sum_{i \le c < j} \alpha_c)`, the step rates are
independent, and :math:`CVR = CTR \times PCVR` holds as an identity between posteriors (the
CVR Beta is the distribution of the product of the CTR and PCVR Betas). Differences between arms
are summarized by the exact Beta kernel (:func:`bayeslab.kernels.beta.compare`). With the
default :math:`\gamma = 1` (uniform on the simplex) the prior of CTR is Beta(2, 1), of PCVR
Beta(1, 1) and of CVR Beta(1, 2) for a two-stage funnel.

User-level ratios of counts (several clicks per user) are not binomial: for those use the
frequentist delta method (:func:`bayeslab.frequentist.funnel.ratio_metric`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.funnel import FunnelStats
from bayeslab.data.summaries import funnel_rates
from bayeslab.kernels import beta as K


@dataclass(frozen=True)
class FunnelPosterior(EstimatesMixin):
    """Beta posteriors of every funnel rate per arm, and their comparisons.

    Attributes
    ----------
    stages : tuple of str
    arms : tuple of str
    alpha : numpy.ndarray
        Posterior Dirichlet parameters, arm x category (0: no stage reached).
    rates : tuple of (str, int, int)
        ``(name, numerator stage, denominator stage)``; stage 0 is users.
    per_arm : pandas.DataFrame
        ``rate, arm, a, b, mean`` (Beta parameters).
    comparisons : pandas.DataFrame
        ``rate, arm, estimate, lower, upper, prob_positive, expected_loss, rel_estimate,
        rel_lower, rel_upper``.
    prior : dict
    interval : float
    rows : RowAccount, optional
    """

    stages: tuple[str, ...]
    arms: tuple[str, ...]
    alpha: np.ndarray
    rates: tuple
    per_arm: pd.DataFrame
    comparisons: pd.DataFrame
    prior: dict
    interval: float
    rows: RowAccount | None = None

    _title = "Bayesian funnel (Dirichlet-multinomial, exact Beta stages)"

    @property
    def control(self) -> str:
        """Control label."""
        return self.arms[0]

    def posterior(self, rate: str, arm: str):
        """Frozen scipy Beta posterior of ``rate`` in ``arm`` (``bayeslab.kernels.beta.frozen``).

        For the user to draw or plot; the comparisons come from the exact Beta kernel.
        """
        row = self.per_arm[(self.per_arm["rate"] == rate) & (self.per_arm["arm"] == arm)]
        if row.empty:
            raise ModelError(f"no rate {rate!r} for arm {arm!r}")
        return K.frozen(a=float(row["a"].iloc[0]), b=float(row["b"].iloc[0]))

    def estimates(self, rate: str | None = None) -> list[Estimate]:
        """Absolute and relative effects per rate and treatment arm (``extra["rate"]``)."""
        out = []
        for r in self.comparisons.itertuples():
            if rate is not None and r.rate != rate:
                continue
            common = dict(level=self.interval, arm=r.arm, prob_positive=r.prob_positive,
                          extra={"rate": r.rate,
                                 "prob_negative": getattr(r, "prob_negative", None)})
            out.append(Estimate("bayes", "bayes-beta", "absolute", r.estimate, r.lower, r.upper,
                                expected_loss=r.expected_loss, **common))
            out.append(Estimate("bayes", "bayes-beta", "relative", r.rel_estimate, r.rel_lower,
                                r.rel_upper, **common))
        return out

    def _extra_dict(self):
        return {"prior": self.prior, "per_arm": self.per_arm.to_dict("records"),
                "rows": self.rows.to_dict() if self.rows else None}


def funnel(fs: FunnelStats, *, prior_concentration: float = 1.0,
           interval: float = 0.95) -> FunnelPosterior:
    r"""Exact Beta posteriors of each funnel rate and each arm-versus-control comparison.

    .. math::

        \pi_a \mid \text{counts} \sim \mathrm{Dirichlet}(\gamma + \text{counts}_a), \qquad
        P(\text{stage } j \mid \text{stage } i) \sim
        \mathrm{Beta}\Bigl(\sum_{c \ge j} \alpha_c, \sum_{i \le c < j} \alpha_c\Bigr).

    Parameters
    ----------
    fs : FunnelStats
        Users and users reaching each nested 0/1 stage, per arm.
    prior_concentration : float
        :math:`\gamma`, the Dirichlet parameter of every category (1: uniform on the simplex).
    interval : float
        Credible level (equal-tailed).

    Returns
    -------
    FunnelPosterior

    Raises
    ------
    ModelError
        If ``prior_concentration`` is not positive.

    See Also
    --------
    bayeslab.frequentist.funnel.funnel : the delta-method counterpart.
    """
    interval = check_interval(interval)
    if not prior_concentration > 0:
        raise ModelError(f"prior_concentration must be positive, got {prior_concentration!r}")
    reached = np.column_stack([fs.users, fs.counts])  # users reaching stage c (c = 0: all)
    exact = reached - np.column_stack([reached[:, 1:], np.zeros(len(fs.arms))])
    alpha = prior_concentration + exact
    tail_sums = np.cumsum(alpha[:, ::-1], axis=1)[:, ::-1]  # sum over c >= j
    rates = tuple(funnel_rates(fs))
    per_arm, comps = [], []
    for name, j, i in rates:
        a = tail_sums[:, j]
        b = tail_sums[:, i] - tail_sums[:, j]
        for m, arm in enumerate(fs.arms):
            per_arm.append({"rate": name, "arm": arm, "a": a[m], "b": b[m],
                            "mean": a[m] / (a[m] + b[m])})
        for m in range(1, len(fs.arms)):
            comps.append({"rate": name, "arm": fs.arms[m],
                          **K.compare(a[m], b[m], a[0], b[0], interval=interval)})
    return FunnelPosterior(stages=fs.stages, arms=fs.arms, alpha=alpha, rates=rates,
                           per_arm=pd.DataFrame(per_arm), comparisons=pd.DataFrame(comps),
                           prior={"dirichlet_concentration": prior_concentration},
                           interval=interval, rows=fs.rows)
