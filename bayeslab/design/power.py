r"""Power, sample size, minimum detectable effect and Bayesian assurance for two-arm tests.

Allocation is ``ratio`` :math:`= n_T / n_C` (a 90/10 control/treatment split is ``ratio=1/9``).
The effect :math:`\delta` is treatment minus control on the absolute scale (``relative=True``
reads ``mde`` as a lift over ``baseline``: :math:`\delta = \text{baseline} \times \text{mde}`).

Tests and their power, with :math:`z = z_{1-\alpha/\text{sides}}` (two-sided power includes the
small far-tail term, as statsmodels does):

* proportions, ``method="pooled"`` (default): the two-proportion z-test with the pooled variance
  under :math:`H_0` and the unpooled one under :math:`H_1`,

  .. math::

      \text{power} = \Phi\left(\frac{\delta - z\sigma_0}{\sigma_1}\right)
          + \Phi\left(\frac{-\delta - z\sigma_0}{\sigma_1}\right),\quad
      \sigma_0^2 = \bar p(1-\bar p)\left(\tfrac{1}{n_C} + \tfrac{1}{n_T}\right),\quad
      \sigma_1^2 = \tfrac{p_C(1-p_C)}{n_C} + \tfrac{p_T(1-p_T)}{n_T}

  with :math:`\bar p = (p_C + r p_T)/(1 + r)` (statsmodels ``power_proportions_2indep``);
* proportions, ``method="arcsine"``: Cohen's :math:`h = 2\arcsin\sqrt{p_T} - 2\arcsin\sqrt{p_C}`
  with variance :math:`1/n_C + 1/n_T` (statsmodels ``NormalIndPower`` with
  ``proportion_effectsize``);
* means, ``method="t"`` (default): the pooled two-sample t-test, non-central t with
  :math:`n_C + n_T - 2` degrees of freedom (statsmodels ``TTestIndPower``);
* means, ``method="z"``: the normal approximation (statsmodels ``NormalIndPower``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats
from scipy.optimize import brentq

from bayeslab.core.errors import ModelError

METRICS = ("proportion", "mean")
METHODS = {"proportion": ("pooled", "arcsine"), "mean": ("t", "z")}


@dataclass(frozen=True)
class Design:
    """Validated inputs of a two-arm power calculation (absolute effect)."""

    metric: str
    baseline: float
    sd: float | None
    alpha: float
    sides: int
    ratio: float
    method: str

    def _power(self, delta: float, n_control: float, upper_only: bool = False) -> float:
        n_c = float(n_control)
        n_t = self.ratio * n_c
        a = self.alpha / self.sides
        if self.metric == "proportion":
            p_c, p_t = self.baseline, self.baseline + delta
            if not 0 < p_t < 1:
                return math.nan
            if self.method == "arcsine":
                h = 2 * math.asin(math.sqrt(p_t)) - 2 * math.asin(math.sqrt(p_c))
                return self._normal(h, math.sqrt(1 / n_c + 1 / n_t), None, a, upper_only)
            p_bar = (p_c + self.ratio * p_t) / (1 + self.ratio)
            s0 = math.sqrt(p_bar * (1 - p_bar) * (1 / n_c + 1 / n_t))
            s1 = math.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
            return self._normal(delta, s1, s0, a, upper_only)
        se = self.sd * math.sqrt(1 / n_c + 1 / n_t)
        if self.method == "z":
            return self._normal(delta, se, None, a, upper_only)
        df = n_c + n_t - 2
        if df <= 0:
            return math.nan
        crit = stats.t.isf(a, df)
        nc = delta / se
        if self.sides == 1 and not upper_only:  # one-sided in the direction of the effect
            nc = abs(nc)
        out = stats.nct.sf(crit, df, nc)
        if self.sides == 2 and not upper_only:
            # P(T <= -crit) = P(-T >= crit); scipy's nct.cdf returns nan in some far tails
            far = stats.nct.sf(crit, df, -nc)
            out += far if np.isfinite(far) else 0.0
        return float(out)

    def _normal(self, effect, s1, s0, a, upper_only):
        s0 = s1 if s0 is None else s0
        z = stats.norm.isf(a)
        up = stats.norm.sf((z * s0 - effect) / s1)
        if upper_only:
            return float(up)
        if self.sides == 1:  # one-sided in the direction of the effect
            return float(stats.norm.sf((z * s0 - abs(effect)) / s1))
        return float(up + stats.norm.cdf((-z * s0 - effect) / s1))

    def power(self, delta: float, n_control: float) -> float:
        """Power at absolute effect ``delta`` with ``n_control`` control units."""
        return self._power(delta, n_control)


@dataclass(frozen=True)
class SampleSizeResult:
    """Sample size of a two-arm test: per-arm and total units, rounded up.

    Attributes
    ----------
    n_control, n_treatment, n_total : int
        Units needed (each arm rounded up).
    n_control_exact : float
        The unrounded solution for the control arm.
    achieved_power : float
        Power with the rounded sizes.
    metric, baseline, mde, mde_relative, sd, alpha, power, sides, ratio, method
        The inputs (``mde`` absolute, ``mde_relative`` = mde / baseline when baseline != 0).
    """

    n_control: int
    n_treatment: int
    n_total: int
    n_control_exact: float
    achieved_power: float
    metric: str
    baseline: float
    mde: float
    mde_relative: float | None
    sd: float | None
    alpha: float
    power: float
    sides: int
    ratio: float
    method: str

    def to_dict(self) -> dict:
        """JSON-safe dict of every field."""
        from bayeslab.core.estimates import jsonable

        return jsonable(dict(self.__dict__))

    def summary(self):
        """One-row DataFrame of the result."""
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def __str__(self) -> str:
        from bayeslab.core import format as fmt

        share = self.ratio / (1 + self.ratio)
        rel = "" if self.mde_relative is None else f" ({100 * self.mde_relative:.3g}% relative)"
        prop = self.metric == "proportion"
        base = fmt.rate(self.baseline) if prop and self.baseline is not None else (
            f"{self.baseline:g}" if self.baseline is not None else "n/a")
        mde = fmt.pp(self.mde) if prop else f"{self.mde:g}"
        return (f"Sample size, {self.metric} ({self.method}), {self.sides}-sided alpha="
                f"{self.alpha:g}, power {self.power:g}\n"
                f"baseline {base}, mde {mde}{rel}"
                + (f", sd {self.sd:g}" if self.sd is not None else "")
                + f", treatment share {100 * share:.3g}%\n"
                f"n_control {self.n_control:,}  n_treatment {self.n_treatment:,}  "
                f"n_total {self.n_total:,}  (achieved power {self.achieved_power:.4f})")


def _number(value, name, *, positive=False, unit=False, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise ModelError(f"{name} must be a finite number, got {value!r}")
    value = float(value)
    if unit and not 0 < value < 1:
        raise ModelError(f"{name} must be in (0, 1), got {value:g}")
    if positive and value <= 0:
        raise ModelError(f"{name} must be positive, got {value:g}")
    return value


def allocation_ratio(shares, name: str = "allocation") -> float:
    """Treatment / control units from planned shares ``(control, treatment)``.

    The shares must be positive and sum to 1 (within 1e-6, as the SRM check's planned shares):
    ``0.9, 0.2`` is an error, never silently rescaled to 0.82 / 0.18.

    Raises
    ------
    DataError
        Not two shares, a share that is not positive, or shares that do not sum to 1.

    See Also
    --------
    bayeslab.design.srm.check_shares : the same check for any number of arms.
    """
    from bayeslab.design.srm import check_shares

    control, treatment = check_shares(shares, 2, name=name)
    return float(treatment / control)


def _design(metric, baseline, sd, alpha, sides, ratio, method) -> Design:
    if metric not in METRICS:
        raise ModelError(f"metric must be one of {METRICS}, got {metric!r}")
    method = METHODS[metric][0] if method is None else method
    if method not in METHODS[metric]:
        raise ModelError(f"method for {metric} must be one of {METHODS[metric]}, got {method!r}")
    if sides not in (1, 2):
        raise ModelError(f"sides must be 1 or 2, got {sides!r}")
    alpha = _number(alpha, "alpha", unit=True)
    ratio = _number(ratio, "ratio", positive=True)
    if metric == "proportion":
        baseline = _number(baseline, "baseline", unit=True)
        sd = None
    else:
        baseline = _number(baseline, "baseline", allow_none=True)
        sd = _number(sd, "sd", positive=True) if sd is not None else None
        if sd is None:
            raise ModelError("sd (the outcome's standard deviation) is required for metric='mean'")
    return Design(metric, baseline, sd, alpha, int(sides), ratio, method)


def _absolute(design: Design, mde, relative: bool) -> float:
    mde = _number(mde, "mde")
    if mde == 0:
        raise ModelError("mde must be non-zero")
    if relative:
        if not design.baseline:
            raise ModelError("a relative mde needs a non-zero baseline")
        mde = design.baseline * mde
    if design.metric == "proportion" and not 0 < design.baseline + mde < 1:
        raise ModelError(f"baseline + mde = {design.baseline + mde:g} is not a proportion in "
                         "(0, 1)")
    return mde


def sample_size(metric: str, baseline: float | None, mde: float, *, relative: bool = False,
                sd: float | None = None, alpha: float = 0.05, power: float = 0.8,
                ratio: float = 1.0, sides: int = 2, method: str | None = None) -> SampleSizeResult:
    """Units per arm needed to detect ``mde`` with the given power.

    Parameters
    ----------
    metric : {"proportion", "mean"}
    baseline : float
        Control conversion rate (proportion) or mean (mean; needed only with ``relative``).
    mde : float
        Minimum detectable effect, treatment minus control (a lift if ``relative``).
    relative : bool
        Read ``mde`` as a relative lift over ``baseline``.
    sd : float, optional
        Outcome standard deviation (required for means; assumed equal in both arms).
    alpha : float
        Type I error, split over both tails when ``sides=2``.
    power : float
        Target power.
    ratio : float
        :math:`n_T / n_C`; a 90/10 control/treatment split is ``1/9``.
    sides : {1, 2}
    method : str, optional
        ``"pooled"`` or ``"arcsine"`` (proportions), ``"t"`` or ``"z"`` (means); see the module.

    Returns
    -------
    SampleSizeResult

    Raises
    ------
    ModelError
        Unknown metric or method, out-of-range alpha, power, ratio, baseline or mde, missing sd.

    See Also
    --------
    achieved_power, minimum_detectable_effect, assurance
    bayeslab.sequential.boundaries.GroupSequentialDesign.sample_sizes : inflate for interim looks.
    """
    d = _design(metric, baseline, sd, alpha, sides, ratio, method)
    power = _number(power, "power", unit=True)
    if power <= d.alpha / d.sides:
        raise ModelError(f"power must exceed alpha/sides = {d.alpha / d.sides:g}")
    delta = _absolute(d, mde, relative)
    lo = 3.0 / (1 + d.ratio) if d.method == "t" else 1e-6  # t: at least 1 degree of freedom
    hi = 10.0
    while d.power(delta, hi) < power:
        hi *= 10
        if hi > 1e13:
            raise ModelError("no sample size below 1e13 reaches that power")
    n_c = brentq(lambda n: d.power(delta, n) - power, lo, hi, xtol=1e-10, rtol=1e-13) \
        if d.power(delta, lo) < power else lo
    n_control = math.ceil(n_c - 1e-9)
    n_treatment = math.ceil(d.ratio * n_c - 1e-9)
    achieved = d._power(delta, n_control) if math.isclose(n_treatment, d.ratio * n_control) \
        else _power_unbalanced(d, delta, n_control, n_treatment)
    rel = delta / d.baseline if d.baseline else None
    return SampleSizeResult(
        n_control=n_control, n_treatment=n_treatment, n_total=n_control + n_treatment,
        n_control_exact=float(n_c), achieved_power=float(achieved), metric=d.metric,
        baseline=d.baseline, mde=float(delta), mde_relative=rel, sd=d.sd, alpha=d.alpha,
        power=power, sides=d.sides, ratio=d.ratio, method=d.method)


def _power_unbalanced(d: Design, delta, n_control, n_treatment):
    from dataclasses import replace

    return replace(d, ratio=n_treatment / n_control).power(delta, n_control)


def achieved_power(metric: str, baseline: float | None, mde: float, n_control: float, *,
                   relative: bool = False, sd: float | None = None, alpha: float = 0.05,
                   ratio: float = 1.0, sides: int = 2, method: str | None = None) -> float:
    """Power of the test to detect ``mde`` with ``n_control`` and ``ratio * n_control`` units.

    Parameters
    ----------
    metric, baseline, mde, relative, sd, alpha, ratio, sides, method
        As in :func:`sample_size`.
    n_control : float
        Control units.

    Returns
    -------
    float

    Raises
    ------
    ModelError
        As in :func:`sample_size`; ``n_control`` not positive.
    """
    d = _design(metric, baseline, sd, alpha, sides, ratio, method)
    n = _number(n_control, "n_control", positive=True)
    return d.power(_absolute(d, mde, relative), n)


def minimum_detectable_effect(metric: str, baseline: float | None, n_control: float, *,
                              relative: bool = False, sd: float | None = None,
                              alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
                              sides: int = 2, method: str | None = None) -> float:
    """Smallest positive effect detected with the given power (an increase over ``baseline``).

    Parameters
    ----------
    metric, baseline, sd, alpha, power, ratio, sides, method
        As in :func:`sample_size`.
    n_control : float
        Control units (treatment: ``ratio * n_control``).
    relative : bool
        Return the effect as a lift over ``baseline``.

    Returns
    -------
    float
        Absolute effect (or relative lift); ``nan`` for proportions when no increase below 1
        reaches the power.

    Raises
    ------
    ModelError
        As in :func:`sample_size`.
    """
    d = _design(metric, baseline, sd, alpha, sides, ratio, method)
    n = _number(n_control, "n_control", positive=True)
    power = _number(power, "power", unit=True)
    if d.metric == "proportion":
        hi = (1 - d.baseline) * (1 - 1e-12)
        if d.power(hi, n) < power:
            return math.nan
    else:
        hi = d.sd
        for _ in range(200):  # bounded: the power of a mean test rises to 1 with the effect
            if d.power(hi, n) >= power:
                break
            hi *= 2
        else:
            raise ModelError(f"no effect size reaches power {power:g} with {n:g} units")
    delta = brentq(lambda x: d.power(x, n) - power, 1e-12 * (hi or 1), hi, xtol=1e-14,
                   rtol=1e-12)
    if relative:
        if not d.baseline:
            raise ModelError("a relative mde needs a non-zero baseline")
        return delta / d.baseline
    return delta


def assurance(metric: str, baseline: float | None, n_control: float, *, prior_mean: float,
              prior_sd: float, relative: bool = False, sd: float | None = None,
              alpha: float = 0.05, ratio: float = 1.0, sides: int = 2,
              method: str | None = None) -> float:
    r"""Bayesian assurance: the prior-expected probability of a significant positive result.

    .. math::

        \text{assurance} = \int P(\text{reject } H_0,\ \hat\delta > 0 \mid \delta)
            \, \phi(\delta; \mu_0, \sigma_0^2) \, d\delta

    (O'Hagan, Stevens and Campbell 2005), by adaptive quadrature. For proportions the prior is
    truncated to :math:`0 < p_C + \delta < 1` and renormalised.

    Parameters
    ----------
    metric, baseline, sd, alpha, ratio, sides, method
        As in :func:`sample_size`.
    n_control : float
        Control units.
    prior_mean, prior_sd : float
        Normal prior on the effect (absolute, or relative lift if ``relative``).
    relative : bool
        Prior on the relative lift.

    Returns
    -------
    float

    Raises
    ------
    ModelError
        As in :func:`sample_size`; ``prior_sd`` not positive.
    """
    d = _design(metric, baseline, sd, alpha, sides, ratio, method)
    n = _number(n_control, "n_control", positive=True)
    mu = _number(prior_mean, "prior_mean")
    tau = _number(prior_sd, "prior_sd", positive=True)
    if relative:
        if not d.baseline:
            raise ModelError("a relative prior needs a non-zero baseline")
        mu, tau = mu * d.baseline, tau * abs(d.baseline)
    lo, hi = mu - 10 * tau, mu + 10 * tau
    if d.metric == "proportion":
        eps = 1e-9
        lo, hi = max(lo, -d.baseline + eps), min(hi, 1 - d.baseline - eps)
        if hi <= lo:
            raise ModelError("the prior puts no mass on effects giving proportions in (0, 1)")
    dist = stats.norm(mu, tau)
    mass = dist.cdf(hi) - dist.cdf(lo)
    points = [p for p in (0.0, mu) if lo < p < hi]
    val, _ = integrate.quad(lambda x: d._power(x, n, upper_only=True) * dist.pdf(x), lo, hi,
                            points=points or None, limit=200, epsabs=1e-11, epsrel=1e-10)
    return float(val / mass)
