r"""Conversion: two-proportion z-test, Wald and Newcombe intervals, log-ratio lift, chi-square.

For treatment :math:`T` and control :math:`C` with :math:`x_k` conversions out of :math:`n_k`
units, :math:`\hat p_k = x_k / n_k` and :math:`\hat d = \hat p_T - \hat p_C`:

.. math::

    z &= \hat d \Big/ \sqrt{\bar p (1 - \bar p)(1/n_T + 1/n_C)},
        \qquad \bar p = (x_T + x_C) / (n_T + n_C) \quad \text{(pooled test)} \\
    \text{Wald:}\ & \hat d \pm z_{1-a/2}
        \sqrt{\hat p_T(1-\hat p_T)/n_T + \hat p_C(1-\hat p_C)/n_C} \\
    \text{Newcombe:}\ & \bigl[\hat d - \sqrt{(\hat p_T - l_T)^2 + (u_C - \hat p_C)^2},\
        \hat d + \sqrt{(u_T - \hat p_T)^2 + (\hat p_C - l_C)^2}\bigr] \\
    \text{relative:}\ & \exp\Bigl(\log\tfrac{\hat p_T}{\hat p_C} \pm z_{1-a/2}
        \sqrt{\tfrac{1-\hat p_T}{x_T} + \tfrac{1-\hat p_C}{x_C}}\Bigr) - 1

where :math:`[l_k, u_k]` is the Wilson score interval of arm :math:`k` (Newcombe 1998, method 10).
Several arms add Pearson's chi-square test of homogeneity.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.checks import check_counts
from bayeslab.core.errors import ModelError, StatisticalWarning
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, jsonable
from bayeslab.data.accounting import RowAccount
from bayeslab.kernels.distributions import chi2_sf, norm_cdf, norm_ppf

ALTERNATIVES = ("two-sided", "larger", "smaller")


def wilson_interval(x, n, level: float = DEFAULT_LEVEL):
    r"""Wilson score interval for a binomial proportion.

    .. math::
        \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}
    """
    z = norm_ppf((1 + level) / 2)
    p = x / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def degenerate_wald_message(arm, control, p_t: float, p_c: float) -> str:
    """The warning for a Wald interval of zero width (every rate 0 or 1)."""
    return (f"the Wald interval of {arm} vs {control} has zero width: the rates are {p_t:.0%} and "
            f"{p_c:.0%}, so the unpooled standard error is 0 and the interval says nothing; read "
            "the Newcombe interval (or the Bayesian one) instead")


def _pearson_chi2(table: np.ndarray) -> tuple[float, int, float]:
    r"""Pearson's chi-square test of independence (no continuity correction).

    :math:`X^2 = \sum_{ij} (O_{ij} - E_{ij})^2 / E_{ij}` with
    :math:`E_{ij} = R_i C_j / N`, on :math:`(r - 1)(c - 1)` degrees of freedom; the same
    statistic as ``scipy.stats.chi2_contingency(table, correction=False)``.
    """
    table = np.asarray(table, dtype=float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    df = (table.shape[0] - 1) * (table.shape[1] - 1)
    return stat, df, float(chi2_sf(stat, df))


def _p_value(z: float, alternative: str) -> float:
    if alternative == "two-sided":
        return float(2 * norm_cdf(-abs(z)))
    if alternative == "larger":
        return float(norm_cdf(-z))
    return float(norm_cdf(z))


@dataclass(frozen=True)
class ProportionComparison:
    r"""One treatment arm against control.

    Attributes
    ----------
    arm : str
    diff : float
        :math:`\\hat p_T - \\hat p_C`.
    z, p_value : float
        Pooled two-proportion z statistic and its p-value (per ``alternative``).
    wald_lower, wald_upper, newcombe_lower, newcombe_upper : float
        Intervals for the difference.
    rel_lift, rel_lower, rel_upper, rel_p_value : float
        :math:`\\hat p_T / \\hat p_C - 1`, its log-scale delta-method interval and the p-value of
        the log-ratio Wald test (NaN when an arm has no conversions).
    se_unpooled : float
        Unpooled standard error of the difference (Wald).
    """

    arm: str
    diff: float
    z: float
    p_value: float
    wald_lower: float
    wald_upper: float
    newcombe_lower: float
    newcombe_upper: float
    rel_lift: float
    rel_lower: float
    rel_upper: float
    rel_p_value: float
    se_unpooled: float


@dataclass(frozen=True)
class NoninferiorityTest:
    r"""One-sided Wald test that a harmful metric rose by less than ``margin``.

    Absolute margin: :math:`H_0: p_T - p_C \ge m` against :math:`H_1: p_T - p_C < m`, with
    :math:`z = (\hat d - m) / \widehat{se}` (unpooled) and p-value :math:`\Phi(z)`.
    ``upper`` is the upper bound of the two-sided ``level`` Wald interval of the difference
    (the one-sided bound at level (1 + ``level``) / 2).

    Relative margin (``relative=True``): :math:`H_0: p_T / p_C - 1 \ge m`, tested on the log
    risk ratio, :math:`z = (\log \widehat{RR} - \log(1 + m)) / se`,
    :math:`se^2 = (1 - \hat p_T)/x_T + (1 - \hat p_C)/x_C` (with 0.5 added to every count of
    a pair with no conversions in an arm); ``diff`` and ``upper`` are then on the relative
    scale (:math:`\widehat{RR} - 1` and its upper bound).
    """

    arm: str
    margin: float
    diff: float
    z: float
    p_value: float
    upper: float
    level: float
    relative: bool = False


@dataclass(frozen=True)
class ConversionTest:
    """Frequentist comparison of conversion rates across arms (control first).

    Attributes
    ----------
    metric : str
    arms : tuple of str
    control : str
    n, conversions : numpy.ndarray
    interval : float
        Confidence level.
    alternative : {"two-sided", "larger", "smaller"}
    comparisons : tuple of ProportionComparison
    chi2, chi2_df, chi2_p_value : float
        Pearson chi-square test of equal rates across all arms (no continuity correction).
    rows : RowAccount, optional
    """

    metric: str
    arms: tuple[str, ...]
    control: str
    n: np.ndarray
    conversions: np.ndarray
    interval: float
    alternative: str
    comparisons: tuple[ProportionComparison, ...]
    chi2: float
    chi2_df: int
    chi2_p_value: float
    rows: RowAccount | None = field(default=None, repr=False)

    def comparison(self, arm: str | None = None) -> ProportionComparison:
        """The comparison of ``arm`` with control (the only treatment arm by default)."""
        if arm is None:
            if len(self.comparisons) != 1:
                raise ModelError("several treatment arms: name one")
            return self.comparisons[0]
        for c in self.comparisons:
            if c.arm == arm:
                return c
        raise ModelError(f"unknown treatment arm {arm!r}")

    def noninferiority(self, margin: float, arm: str | None = None, *,
                       relative: bool = False) -> NoninferiorityTest:
        """Test that the treatment raised this (harmful) rate by less than ``margin``.

        ``relative=True`` reads ``margin`` as a fraction of the control rate (0.2: a rise of
        at most 20 %), tested on the log risk ratio (:class:`NoninferiorityTest`).
        """
        c = self.comparison(arm)
        if relative:
            k = self.arms.index(c.arm)
            x_t, n_t, x_c, n_c = (float(self.conversions[k]), float(self.n[k]),
                                  float(self.conversions[0]), float(self.n[0]))
            if x_t == 0 or x_c == 0:     # Haldane-Anscombe: the log ratio needs both counts
                x_t, n_t, x_c, n_c = x_t + 0.5, n_t + 0.5, x_c + 0.5, n_c + 0.5
            p_t, p_c = x_t / n_t, x_c / n_c
            log_rr = math.log(p_t / p_c)
            se = math.sqrt(max((1 - p_t) / x_t + (1 - p_c) / x_c, 0.0))
            zc = norm_ppf((1 + self.interval) / 2)
            z = ((log_rr - math.log1p(margin)) / se if se > 0 else
                 (-math.inf if log_rr < math.log1p(margin) else math.inf))
            return NoninferiorityTest(arm=c.arm, margin=float(margin),
                                      diff=float(math.expm1(log_rr)), z=float(z),
                                      p_value=float(norm_cdf(z)),
                                      upper=float(math.expm1(log_rr + zc * se)),
                                      level=self.interval, relative=True)
        if c.se_unpooled == 0:
            z = -math.inf if c.diff < margin else math.inf
        else:
            z = (c.diff - margin) / c.se_unpooled
        upper = c.diff + norm_ppf((1 + self.interval) / 2) * c.se_unpooled
        return NoninferiorityTest(arm=c.arm, margin=float(margin), diff=c.diff, z=float(z),
                                  p_value=float(norm_cdf(z)), upper=float(upper),
                                  level=self.interval)

    def estimates(self) -> list[Estimate]:
        """z-test (Wald interval), Newcombe interval, and relative lift, per treatment arm."""
        out = []
        arm_label = len(self.arms) > 2
        for c in self.comparisons:
            common = dict(side="frequentist", level=self.interval,
                          arm=c.arm if arm_label else None)
            extra = {"alternative": self.alternative, "z": c.z}
            wald = {"interval": "wald"}
            if c.se_unpooled == 0:
                wald["degenerate"] = "zero width: every rate is 0% or 100%"
            out.append(Estimate(method="z-test", effect="absolute", estimate=c.diff,
                                lower=c.wald_lower, upper=c.wald_upper, p_value=c.p_value,
                                extra={**extra, **wald}, **common))
            out.append(Estimate(method="newcombe", effect="absolute", estimate=c.diff,
                                lower=c.newcombe_lower, upper=c.newcombe_upper,
                                p_value=c.p_value, extra={**extra, "interval": "newcombe"},
                                **common))
            out.append(Estimate(method="log-ratio", effect="relative", estimate=c.rel_lift,
                                lower=c.rel_lower, upper=c.rel_upper, p_value=c.rel_p_value,
                                extra={"alternative": self.alternative,
                                       "interval": "delta method on log ratio"}, **common))
        return out

    def summary(self):
        """One row per (treatment arm, method)."""
        import pandas as pd

        frame = pd.DataFrame([e.to_dict() for e in self.estimates()])
        if "arm" not in frame:
            frame.insert(0, "arm", self.arms[1])
        return frame

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return jsonable({
            "metric": self.metric, "control": self.control, "level": self.interval,
            "alternative": self.alternative,
            "arms": [{"arm": a, "n": int(n), "conversions": int(x), "rate": x / n}
                     for a, n, x in zip(self.arms, self.n, self.conversions, strict=True)],
            "chi2": {"statistic": self.chi2, "df": self.chi2_df, "p_value": self.chi2_p_value},
            "results": [e.to_dict() for e in self.estimates()],
            "rows": self.rows.to_dict() if self.rows else None,
        })

    def plot(self, ax=None):
        """Confidence intervals of each method; returns the Figure."""
        from bayeslab.plots import plot_interval_comparison

        return plot_interval_comparison(self.estimates(), ax=ax)

    def __str__(self) -> str:
        lines = [f"Two-proportion tests of {self.metric!r}, {self.interval:.0%} confidence, "
                 f"{self.alternative}"]
        for a, n, x in zip(self.arms, self.n, self.conversions, strict=True):
            lines.append(f"  {a:>12}  n={n:>10,.0f}  rate={x / n:.4%}")
        for c in self.comparisons:
            lines.append(f"  {c.arm} vs {self.control}: diff {c.diff:+.4%} Wald "
                         f"[{c.wald_lower:+.4%}, {c.wald_upper:+.4%}] Newcombe "
                         f"[{c.newcombe_lower:+.4%}, {c.newcombe_upper:+.4%}], z={c.z:.3f}, "
                         f"p={c.p_value:.3g}; lift {c.rel_lift:+.2%} "
                         f"[{c.rel_lower:+.2%}, {c.rel_upper:+.2%}]")
        if len(self.arms) > 2:
            lines.append(f"  chi-square({self.chi2_df}) = {self.chi2:.3f}, "
                         f"p = {self.chi2_p_value:.3g}")
        return "\n".join(lines)


@dataclass(frozen=True)
class TwoProportionZTest:
    """Two-proportion z-test with Wald and Newcombe intervals and a relative-lift interval.

    Parameters
    ----------
    interval : float
        Confidence level.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"`` tests :math:`p_T > p_C`.

    See Also
    --------
    bayeslab.bayes.conversion.BetaBinomial : the Bayesian counterpart.

    Raises
    ------
    ModelError
        For an unknown alternative or a level outside (0, 1).
    """

    interval: float = DEFAULT_LEVEL
    alternative: str = "two-sided"

    def __post_init__(self):
        if self.alternative not in ALTERNATIVES:
            raise ModelError(f"alternative must be one of {ALTERNATIVES}, got "
                             f"{self.alternative!r}")
        if not 0 < self.interval < 1:
            raise ModelError(f"interval must be in (0, 1), got {self.interval!r}")

    def fit(self, stats) -> ConversionTest:
        """Test :class:`~bayeslab.data.stats.ArmStats` of a binary metric (segments summed)."""
        return self.fit_counts(**stats.binary_counts("the two-proportion test"))

    def fit_counts(self, n, conversions, *, arms=None, metric: str = "conversion",
                   rows: RowAccount | None = None) -> ConversionTest:
        """Test units and conversions per arm, control first."""
        arms, n, x = check_counts(n, conversions, arms)
        zc = norm_ppf((1 + self.interval) / 2)
        p = x / n
        l_w, u_w = wilson_interval(x, n, self.interval)
        comps = []
        for k in range(1, len(arms)):
            d = p[k] - p[0]
            pool = (x[k] + x[0]) / (n[k] + n[0])
            se0 = math.sqrt(pool * (1 - pool) * (1 / n[k] + 1 / n[0]))
            z = d / se0 if se0 > 0 else 0.0
            se = math.sqrt(p[k] * (1 - p[k]) / n[k] + p[0] * (1 - p[0]) / n[0])
            if se == 0:
                warnings.warn(degenerate_wald_message(arms[k], arms[0], p[k], p[0]),
                              StatisticalWarning, stacklevel=2)
            nc_lo = d - math.sqrt((p[k] - l_w[k]) ** 2 + (u_w[0] - p[0]) ** 2)
            nc_hi = d + math.sqrt((u_w[k] - p[k]) ** 2 + (p[0] - l_w[0]) ** 2)
            if x[k] > 0 and x[0] > 0:
                log_rr = math.log(p[k] / p[0])
                se_log = math.sqrt((1 - p[k]) / x[k] + (1 - p[0]) / x[0])
                rel = (math.exp(log_rr - zc * se_log) - 1, math.exp(log_rr + zc * se_log) - 1)
                rel_p = _p_value(log_rr / se_log, self.alternative) if se_log > 0 else 1.0
            else:
                warnings.warn(f"arm {arms[k] if x[k] == 0 else arms[0]!r} has no conversions: "
                              "the relative lift has no interval", StatisticalWarning,
                              stacklevel=2)
                rel, rel_p = (math.nan, math.nan), math.nan
            comps.append(ProportionComparison(
                arm=arms[k], diff=float(d), z=float(z), p_value=_p_value(z, self.alternative),
                wald_lower=float(d - zc * se), wald_upper=float(d + zc * se),
                newcombe_lower=float(nc_lo), newcombe_upper=float(nc_hi),
                rel_lift=float(p[k] / p[0] - 1) if p[0] > 0 else math.nan,
                rel_lower=float(rel[0]), rel_upper=float(rel[1]), rel_p_value=float(rel_p),
                se_unpooled=float(se)))
        table = np.column_stack([x, n - x])
        if (table.sum(axis=0) == 0).any():
            chi2, df, chi_p = 0.0, len(arms) - 1, 1.0
        else:
            chi2, df, chi_p = _pearson_chi2(table)
        return ConversionTest(metric=metric, arms=arms, control=arms[0], n=n, conversions=x,
                              interval=self.interval, alternative=self.alternative,
                              comparisons=tuple(comps), chi2=chi2, chi2_df=df,
                              chi2_p_value=chi_p, rows=rows)
