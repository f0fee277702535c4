r"""Bayesian difference and ratio of a quantile between arms: the Bayesian bootstrap, exactly.

The Bayesian bootstrap (Rubin 1981) puts Dirichlet(1, ..., 1) weights :math:`w` on an arm's
:math:`n` observed values (the posterior of a Dirichlet process as its prior mass goes to zero)
and reads the :math:`q`-quantile of the weighted distribution,
:math:`\xi = y_{(R)}` with :math:`R = \min\{r : \sum_{j \le r} w_{(j)} \ge q\}`. The partial sums
of Dirichlet(1) weights are the order statistics of :math:`n - 1` uniforms, so the number of them
below :math:`q` is Binomial(:math:`n - 1, q`) and

.. math::

    R = 1 + \mathrm{Binomial}(n - 1, q), \qquad \xi \mid y = y_{(R)}

exactly, with no Monte Carlo over the weights and no binning: a draw is one binomial variate and
one order statistic from the window :mod:`bayeslab.data.quantiles` returns (its values are exact,
so the binning error is zero). The arms are independent; :math:`\xi_T - \xi_C` and
:math:`\xi_T / \xi_C - 1` are read from the draws (equal-tailed intervals, P(>0), expected loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayeslab.core.checks import check_draws, check_interval
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, EstimatesMixin
from bayeslab.data.quantiles import QuantileStats


def _label(q: float) -> str:
    return "p" + f"{100 * q:.6g}"


def quantile_draws(stats: QuantileStats, arm: int, q: float, *, draws: int, rng) -> np.ndarray:
    r"""Posterior draws of the ``q``-quantile of arm index ``arm``.

    They are :math:`y_{(1 + B)}` with :math:`B \sim \mathrm{Binomial}(n - 1, q)`.
    """
    n = int(stats.n[arm])
    return stats.order_stat(arm, q, 1 + rng.binomial(n - 1, q, size=draws))


@dataclass(frozen=True)
class QuantilePosterior(EstimatesMixin):
    """Bayesian bootstrap posterior of each quantile's difference and ratio.

    Attributes
    ----------
    metric, control : str
    arms : tuple of str
    quantiles : tuple of float
    xi : dict
        ``q -> array (arms, draws)`` of quantile draws, control first.
    interval : float
    seed : int
    rows : RowAccount
    """

    metric: str
    control: str
    arms: tuple[str, ...]
    quantiles: tuple[float, ...]
    xi: dict
    interval: float
    seed: int
    rows: object = None

    _title = "Bayesian bootstrap of quantiles"

    def estimates(self) -> list[Estimate]:
        """Per quantile and treatment arm, method ``bayes-bootstrap-p50``, ....

        ``absolute``, and ``relative`` when the control's quantile draws are positive.
        """
        lo, hi = 50 * (1 - self.interval), 50 * (1 + self.interval)
        out = []
        for q in self.quantiles:
            x = self.xi[q]
            method = f"bayes-bootstrap-{_label(q)}"
            effects = [("absolute", x[1:] - x[0])]
            if (x[0] > 0).all():
                effects.append(("relative", x[1:] / x[0] - 1))
            for effect, d in effects:
                for i, arm in enumerate(self.arms[1:]):
                    lower, upper = np.percentile(d[i], [lo, hi])
                    out.append(Estimate("bayes", method, effect, float(d[i].mean()),
                                        float(lower), float(upper), self.interval, arm=arm,
                                        prob_positive=float((d[i] > 0).mean()),
                                        expected_loss=float(np.maximum(-d[i], 0).mean()),
                                        extra={"quantile": q}))
        return out

    def _extra_dict(self):
        first = next(iter(self.xi.values()))
        return {"quantiles": list(self.quantiles), "draws": int(first.shape[1]),
                "seed": self.seed, "model": "Bayesian bootstrap: xi = y_(1 + Binomial(n-1, q))",
                "rows": self.rows.to_dict() if self.rows else None}


@dataclass(frozen=True)
class QuantileBootstrap:
    """The exact Bayesian bootstrap of the module docstring.

    Parameters
    ----------
    interval : float
        Credible level (equal-tailed).
    draws : int
        Draws per arm and quantile (default 20,000).
    seed : int

    Raises
    ------
    ModelError
        ``interval`` not in (0, 1) or fewer than 100 draws.

    See Also
    --------
    bayeslab.frequentist.quantile.QuantileTest : the frequentist counterpart.
    """

    interval: float = DEFAULT_LEVEL
    draws: int = 20_000
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "interval", check_interval(self.interval))
        check_draws(self.draws)

    def fit(self, stats: QuantileStats) -> QuantilePosterior:
        """Draw each arm's quantiles."""
        rng = np.random.default_rng(self.seed)
        xi = {q: np.stack([quantile_draws(stats, i, q, draws=int(self.draws), rng=rng)
                           for i in range(len(stats.arms))]) for q in stats.quantiles}
        return QuantilePosterior(metric=stats.metric, control=stats.control, arms=stats.arms,
                                 quantiles=stats.quantiles, xi=xi, interval=self.interval,
                                 seed=self.seed, rows=stats.rows)
