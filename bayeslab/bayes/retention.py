r"""Bayesian retention: piecewise-exponential survival with a proportional-hazards effect.

Time is cut into intervals :math:`[c_j, c_{j+1})` (the last one open). Per arm :math:`a` and
interval :math:`j` the data reduce to events :math:`D_{aj}` and exposure :math:`E_{aj}` (time at
risk), and the piecewise-exponential likelihood is that of
:math:`D_{aj} \sim \mathrm{Poisson}(E_{aj} \lambda_{aj})`. The model for a treatment arm
:math:`T` against the control :math:`C` is

.. math::

    \lambda_{Cj} = \lambda_j, \quad \lambda_{Tj} = \lambda_j e^{\beta}, \quad
    \lambda_j \sim \mathrm{Gamma}(a_0, b_0), \quad \beta \sim N(0, s^2),

with :math:`HR = e^\beta`. The baseline rates are conjugate and are integrated out exactly,
which leaves the one-dimensional marginal posterior

.. math::

    \log p(\beta \mid D, E) = \log N(\beta; 0, s^2) + \beta \sum_j D_{Tj}
    - \sum_j (a_0 + D_{Cj} + D_{Tj}) \log(b_0 + E_{Cj} + E_{Tj} e^\beta) + \text{const},

normalized by quadrature on a fine grid (no MCMC). Several treatment arms are each compared with
the control on their own (pairwise), so each hazard ratio's posterior stays one-dimensional.
Per-arm posterior survival curves use conjugate rates per arm and interval without the
proportional-hazards constraint: :math:`E[S_a(t)] = \prod_j (b_{aj} / (b_{aj} +
\Delta_j(t)))^{a_{aj}}` with :math:`a_{aj} = a_0 + D_{aj}`, :math:`b_{aj} = b_0 + E_{aj}`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import Estimate, EstimatesMixin
from bayeslab.data.accounting import RowAccount
from bayeslab.data.survival import SurvivalRows


def default_cuts(rows: SurvivalRows, n_intervals: int) -> np.ndarray:
    """Cut points 0 < c_1 < ... at pooled quantiles of the event times (about equal events)."""
    times = np.sort(rows.duration[rows.event == 1])
    if len(times) == 0:
        raise DataError("no events: a survival model needs some")
    qs = np.quantile(times, np.arange(1, n_intervals) / n_intervals)
    return np.unique(np.r_[0.0, qs[qs > 0]])


def events_exposure(duration, event, cuts) -> tuple[np.ndarray, np.ndarray]:
    """Events and exposure (time at risk) per interval ``[cuts[j], cuts[j+1])``, last one open."""
    duration, event = np.asarray(duration, float), np.asarray(event)
    upper = np.r_[cuts[1:], np.inf]
    exposure = np.clip(duration[:, None] - cuts[None, :], 0, upper - cuts).sum(axis=0)
    j = np.searchsorted(cuts, duration[event == 1], side="right") - 1
    events = np.bincount(j, minlength=len(cuts)).astype(float)
    return events, exposure


def log_hr_log_density(beta, d_c, e_c, d_t, e_t, *, shape, rate, sd):
    """Unnormalized log marginal posterior of the log hazard ratio (baselines integrated out)."""
    beta = np.atleast_1d(np.asarray(beta, float))
    tot = shape + d_c + d_t
    val = -0.5 * (beta / sd) ** 2 + beta * d_t.sum()
    val = val - (tot[None, :] * np.log(rate + e_c[None, :] + e_t[None, :] *
                                       np.exp(beta)[:, None])).sum(axis=1)
    return val


@dataclass(frozen=True)
class HazardRatioPosterior:
    """Gridded marginal posterior of one log hazard ratio."""

    grid: np.ndarray
    density: np.ndarray
    cdf: np.ndarray

    def quantile(self, q: float) -> float:
        """Quantile of the log hazard ratio (linear interpolation on the CDF grid)."""
        return float(np.interp(q, self.cdf, self.grid))

    def prob_below(self, b: float) -> float:
        """P(log HR < b)."""
        return float(np.interp(b, self.grid, self.cdf))

    def expect(self, fun) -> float:
        """Posterior expectation of ``fun(log HR)``."""
        return float(np.trapezoid(fun(self.grid) * self.density, self.grid))


def _grid_posterior(d_c, e_c, d_t, e_t, *, shape, rate, sd, points=8001):
    def neg(b):
        return -log_hr_log_density(b, d_c, e_c, d_t, e_t, shape=shape, rate=rate, sd=sd)[0]

    mode = optimize.minimize_scalar(neg, bounds=(-20, 20), method="bounded",
                                    options={"xatol": 1e-10}).x
    h = 1e-4
    curv = (neg(mode + h) - 2 * neg(mode) + neg(mode - h)) / h**2
    width = 14 / np.sqrt(max(curv, 1e-12))
    grid = np.linspace(mode - width, mode + width, points)
    logd = log_hr_log_density(grid, d_c, e_c, d_t, e_t, shape=shape, rate=rate, sd=sd)
    dens = np.exp(logd - logd.max())
    dens /= np.trapezoid(dens, grid)
    cdf = np.r_[0.0, np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))]
    cdf /= cdf[-1]
    return HazardRatioPosterior(grid=grid, density=dens, cdf=cdf)


@dataclass(frozen=True)
class RetentionPosterior(EstimatesMixin):
    """Posterior of the hazard ratio of each arm against the control, and survival curves.

    Attributes
    ----------
    arms : tuple of str
    cuts : numpy.ndarray
        Interval starts (the last interval is open).
    events, exposure : numpy.ndarray
        Arm x interval events and time at risk.
    posteriors : dict of str to HazardRatioPosterior
        Gridded posterior of each treatment arm's log hazard ratio.
    comparisons : pandas.DataFrame
        ``arm, hr_mean, hr_median, hr_lower, hr_upper, log_hr_mean, prob_hr_below_1``.
    prior : dict
    interval : float
    rows : RowAccount, optional
    """

    arms: tuple[str, ...]
    cuts: np.ndarray
    events: np.ndarray
    exposure: np.ndarray
    posteriors: dict
    comparisons: pd.DataFrame
    prior: dict
    interval: float
    rows: RowAccount | None = None

    _title = "Bayesian piecewise-exponential proportional hazards"

    @property
    def control(self) -> str:
        """Control label."""
        return self.arms[0]

    def survival_curve(self, times) -> pd.DataFrame:
        """Posterior mean survival per arm at ``times`` (per-arm conjugate rates, no PH)."""
        times = np.asarray(times, float)
        upper = np.r_[self.cuts[1:], np.inf]
        delta = np.clip(times[:, None] - self.cuts[None, :], 0, upper - self.cuts)
        out = {"time": times}
        a0, b0 = self.prior["baseline_shape"], self.prior["baseline_rate"]
        for i, arm in enumerate(self.arms):
            a, b = a0 + self.events[i], b0 + self.exposure[i]
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = np.where(delta > 0, a * np.log(b / (b + delta)), 0.0)
            out[arm] = np.exp(terms.sum(axis=1))
        return pd.DataFrame(out)

    def estimates(self) -> list[Estimate]:
        """Posterior median hazard ratio with its equal-tailed interval per treatment arm.

        ``prob_positive`` is P(log HR > 0) (the treatment raises the event hazard);
        ``extra["prob_hr_below_1"]`` is its complement.
        """
        out = []
        for r in self.comparisons.itertuples():
            out.append(Estimate("bayes", "bayes-piecewise-exponential", "hazard-ratio",
                                r.hr_median, r.hr_lower, r.hr_upper, self.interval, arm=r.arm,
                                prob_positive=1 - r.prob_hr_below_1,
                                extra={"hr_mean": r.hr_mean, "prob_hr_below_1": r.prob_hr_below_1,
                                       "intervals": len(self.cuts), "prior": self.prior}))
        return out

    def _extra_dict(self):
        return {"prior": self.prior, "cuts": self.cuts.tolist(),
                "events": self.events.tolist(), "exposure": self.exposure.tolist(),
                "rows": self.rows.to_dict() if self.rows else None}


def piecewise_exponential(rows: SurvivalRows, *, cuts=None, n_intervals: int = 8,
                          prior_log_hr_sd: float = 1.0, prior_shape: float = 0.01,
                          prior_rate: float = 0.0, interval: float = 0.95) -> RetentionPosterior:
    r"""Posterior of the hazard ratio under a piecewise-exponential proportional-hazards model.

    Parameters
    ----------
    rows : SurvivalRows
        From :func:`bayeslab.data.moments.survival_rows`.
    cuts : array-like, optional
        Interval starts, beginning at 0. Default: 0 and the pooled quantiles of the event times
        that split them into ``n_intervals`` groups of about equal size.
    n_intervals : int
        Number of intervals for the default cuts.
    prior_log_hr_sd : float
        :math:`s`, prior sd of the log hazard ratio (1: HR within about 0.14 to 7 a priori).
    prior_shape, prior_rate : float
        :math:`a_0, b_0` of the Gamma prior of each baseline rate. The default (0.01, 0) is
        nearly :math:`1/\lambda`, invariant to the time unit, and gives a proper posterior
        whenever every interval has exposure.
    interval : float
        Credible level (equal-tailed).

    Returns
    -------
    RetentionPosterior

    Raises
    ------
    ModelError
        Invalid cuts or priors.
    DataError
        No events.

    See Also
    --------
    bayeslab.frequentist.retention.kaplan_meier : Kaplan-Meier and log-rank counterpart.
    """
    interval = check_interval(interval)
    if not prior_log_hr_sd > 0 or not prior_shape > 0 or prior_rate < 0:
        raise ModelError("prior_log_hr_sd and prior_shape must be positive, prior_rate >= 0")
    if cuts is None:
        if n_intervals < 1:
            raise ModelError(f"n_intervals must be at least 1, got {n_intervals}")
        cuts = default_cuts(rows, n_intervals)
    cuts = np.asarray(cuts, float)
    if cuts[0] != 0 or np.any(np.diff(cuts) <= 0):
        raise ModelError("cuts must start at 0 and increase strictly")
    k = len(rows.arms)
    ev = np.zeros((k, len(cuts)))
    ex = np.zeros((k, len(cuts)))
    for i in range(k):
        m = rows.arm_index == i
        ev[i], ex[i] = events_exposure(rows.duration[m], rows.event[m], cuts)
    if rows.event.sum() == 0:
        raise DataError("no events: a survival model needs some")
    tail = (1 - interval) / 2
    posts, comps = {}, []
    for i in range(1, k):
        post = _grid_posterior(ev[0], ex[0], ev[i], ex[i], shape=prior_shape, rate=prior_rate,
                               sd=prior_log_hr_sd)
        posts[rows.arms[i]] = post
        comps.append({"arm": rows.arms[i], "hr_mean": post.expect(np.exp),
                      "hr_median": np.exp(post.quantile(0.5)),
                      "hr_lower": np.exp(post.quantile(tail)),
                      "hr_upper": np.exp(post.quantile(1 - tail)),
                      "log_hr_mean": post.expect(lambda b: b),
                      "log_hr_sd": np.sqrt(post.expect(lambda b: b * b)
                                           - post.expect(lambda b: b) ** 2),
                      "prob_hr_below_1": post.prob_below(0.0)})
    prior = {"log_hr": f"Normal(0, {prior_log_hr_sd})", "baseline_shape": prior_shape,
             "baseline_rate": prior_rate}
    return RetentionPosterior(arms=rows.arms, cuts=cuts, events=ev, exposure=ex,
                              posteriors=posts, comparisons=pd.DataFrame(comps), prior=prior,
                              interval=interval, rows=rows.rows)


