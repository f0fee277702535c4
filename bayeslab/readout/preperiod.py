r"""Pre-period bias check of a randomized readout: is the covariate balanced between arms.

A metric read out with a pre-period covariate :math:`x` (``covariate = "pre_revenue"``) gets
this check for free: the per-arm sums :math:`n_a`, :math:`\sum x` and :math:`\sum x^2` are
already in the one scan its regression adjustment reads (:mod:`bayeslab.data.covariates`), so
no second pass over the rows is made. Per arm :math:`a`,
:math:`\bar x_a = \sum x / n_a` and :math:`s_a^2 = (\sum x^2 - n_a \bar x_a^2) / (n_a - 1)`.

Each treatment arm :math:`T` is compared with the control :math:`C`, for every design column
(a numeric covariate, or one level of a categorical one), and the worst comparison is reported:

* **standardized mean difference**
  :math:`\mathrm{SMD} = (\bar x_T - \bar x_C) / \sqrt{(s_T^2 + s_C^2) / 2}` (the pooled sd of
  :func:`bayeslab.kernels.balance.smd`, Austin 2009);
* **Welch's t-test** of :math:`\bar x_T = \bar x_C`:
  :math:`t = d / \mathrm{se}`, :math:`d = \bar x_T - \bar x_C`,
  :math:`\mathrm{se}^2 = s_T^2/n_T + s_C^2/n_C`, two-sided p-value on the Welch-Satterthwaite
  degrees of freedom :math:`\nu = \mathrm{se}^4 / \sum_a (s_a^2/n_a)^2 / (n_a - 1)`;
* **the Bayesian posterior of the imbalance** :math:`\delta = \mu_T - \mu_C` under the Jeffreys
  prior :math:`p(\mu_a, \sigma_a^2) \propto \sigma_a^{-2}` in each arm: each
  :math:`\mu_a \mid x \sim \bar x_a + (s_a / \sqrt{n_a})\, t_{n_a - 1}`, and their difference (the
  Behrens-Fisher posterior) is taken as :math:`\delta \mid x \approx d + \mathrm{se}\, t_\nu`
  (Patil's approximation, the same :math:`\nu`). With the pooled sd :math:`s_p` held at its
  estimate, ``prob_imbalance`` is
  :math:`P(|\delta| / s_p > \tau \mid x)`, :math:`\tau` = ``smd_threshold``.

Thresholds
----------
Under randomization :math:`\mathrm{SMD} \approx N(0, 1/n_T + 1/n_C)` (sd about
:math:`\sqrt{2/n}` with :math:`n` units per arm) and :math:`t \approx N(0, 1)`. A fixed SMD
cut alone would flag small clean experiments often (:math:`|\mathrm{SMD}| > 0.1` happens by
chance in 32 % of experiments with 200 units per arm), and the unadjusted estimate's standard
error already covers chance imbalance of that size: its conditional bias is
:math:`\beta (\bar x_T - \bar x_C)`, which is :math:`\rho\, t` of its own standard errors
(:math:`\rho` the outcome-covariate correlation). So both cuts need the test as well:

* **flagged** when :math:`p < 0.001`, or :math:`|\mathrm{SMD}| > 0.1` with :math:`p < 0.05`.
  A clean (A/A) experiment is flagged with probability
  :math:`P(|Z| > \max(1.96, \min(3.29, 0.1 / \sqrt{1/n_T + 1/n_C})))`: at most 5 % for tiny
  experiments, 2.5 % at 1,000 units per arm and 0.1 % from about 2,200 units per arm on.
  0.1 is the usual balance cut (Austin 2009; :mod:`bayeslab.kernels.balance`).
* **large** (the unadjusted difference may not decide) when :math:`p < 10^{-6}`, or
  :math:`|\mathrm{SMD}| > 0.25` with :math:`p < 0.001`. A clean experiment is large with
  probability at most 0.1 % at any size and about :math:`10^{-6}` once
  :math:`0.25 / \sqrt{1/n_T + 1/n_C} > 4.89` (770 units per arm). At :math:`|t| > 4.89` the
  unadjusted difference is off by :math:`4.9 \rho` of its standard errors (two for a
  covariate with :math:`\rho = 0.4`); 0.25 is the usual cut of a large imbalance, beyond
  which a comparison of unadjusted means is not credible (Stuart 2010, after Rubin 2001).

Several treatment arms are compared with the control one at a time (each at these levels, not
corrected: a pre-period check should rather over-warn).

The regression-adjusted estimates (CUPED, ANCOVA, the Bayesian regression) condition on the
covariate and so correct an imbalance in it; the plain difference of means (Welch, the normal
model without covariate) does not. A covariate metric's headline is the adjusted one, so the
check informs; :func:`unadjusted_blocker` blocks a decision whose headline is unadjusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: |SMD| above which an imbalance is flagged (with p < FLAG_P_WITH_SMD)
SMD_THRESHOLD = 0.1
#: p below which an imbalance is flagged whatever its size
FLAG_P = 1e-3
#: p that an |SMD| above SMD_THRESHOLD needs to be flagged
FLAG_P_WITH_SMD = 0.05
#: |SMD| above which an imbalance is large (with p < FLAG_P)
LARGE_SMD = 0.25
#: p below which an imbalance is large whatever its size
LARGE_P = 1e-6

#: methods that compare plain means (no covariate): biased by a pre-period imbalance
UNADJUSTED = frozenset({"welch", "bayes-normal", "z-test", "t-test"})

__all__ = ["PrePeriodCheck", "imbalance", "preperiod_check", "preperiod_of",
           "unadjusted_blocker"]


def imbalance(n_c, mean_c, var_c, n_t, mean_t, var_t, *, smd_threshold: float = SMD_THRESHOLD):
    r"""SMD, Welch test and posterior imbalance of a covariate, from per-arm summaries.

    Vectorized: every argument may be an array (one entry per comparison).

    Parameters
    ----------
    n_c, mean_c, var_c : array_like
        Control units, covariate mean and sample variance (``ddof=1``).
    n_t, mean_t, var_t : array_like
        The same for the treatment arm.
    smd_threshold : float
        :math:`\tau` of ``prob_imbalance``: :math:`P(|\delta| / s_p > \tau)`.

    Returns
    -------
    dict of numpy.ndarray
        ``diff`` (:math:`d`), ``se``, ``df`` (:math:`\nu`), ``t``, ``smd``, ``p_value``
        (two-sided Welch), ``prob_imbalance`` and its complement ``prob_balanced``,
        ``smd_lower`` / ``smd_upper`` (95 % posterior interval of the SMD), ``flagged``,
        ``large``.
    """
    from scipy import stats as sps  # here: a conversion readout imports no scipy

    n_c, n_t = np.asarray(n_c, float), np.asarray(n_t, float)
    var_c, var_t = np.asarray(var_c, float), np.asarray(var_t, float)
    d = np.asarray(mean_t, float) - np.asarray(mean_c, float)
    vc, vt = var_c / n_c, var_t / n_t
    se = np.sqrt(vc + vt)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (vc + vt) ** 2 / (vc ** 2 / (n_c - 1) + vt ** 2 / (n_t - 1))
        sp = np.sqrt((var_c + var_t) / 2)
        smd = d / sp
        t = d / se
        p = 2 * sps.t.sf(np.abs(t), df)
        cut = smd_threshold * sp
        hi, lo = (cut - d) / se, (-cut - d) / se
        prob = sps.t.sf(hi, df) + sps.t.cdf(lo, df)
        # P(|delta| / s_p <= tau), from the nearer tails (no cancellation when prob is near 1)
        balanced = np.where(d >= 0, sps.t.cdf(hi, df) - sps.t.cdf(lo, df),
                            sps.t.sf(lo, df) - sps.t.sf(hi, df))
        q = sps.t.ppf(0.975, df)
        lo, hi = (d - q * se) / sp, (d + q * se) / sp
    flagged = (p < FLAG_P) | ((np.abs(smd) > smd_threshold) & (p < FLAG_P_WITH_SMD))
    large = (p < LARGE_P) | ((np.abs(smd) > LARGE_SMD) & (p < FLAG_P))
    return {"diff": d, "se": se, "df": df, "t": t, "smd": smd, "p_value": p,
            "prob_imbalance": prob, "prob_balanced": balanced, "smd_lower": lo, "smd_upper": hi,
            "flagged": flagged, "large": large}


@dataclass(frozen=True)
class PrePeriodCheck:
    r"""The pre-period balance of a covariate between arms (the worst comparison).

    Attributes
    ----------
    covariate : str
        The design column compared (``"plan[pro]"`` for a level of a categorical covariate).
    arm, control : str
        The treatment arm of the worst comparison and the control.
    smd : float
        Standardized mean difference, treatment minus control, over the pooled sd.
    smd_interval : (float, float)
        95 % posterior interval of the SMD.
    p_value : float
        Welch's two-sided p-value of the difference of means.
    prob_imbalance : float
        Posterior :math:`P(|\mathrm{SMD}| > \tau)`, :math:`\tau` = ``smd_threshold``.
    prob_balanced : float, optional
        Its complement, computed without cancellation (for the text near 1).
    flagged, large : bool
        Above the flag / the blocking threshold (module docstring).
    means : (float, float)
        Control and treatment mean of the covariate.
    smd_threshold : float
    checks : tuple of dict
        Every comparison (design column by treatment arm) when there is more than one.
    """

    covariate: str
    arm: str
    control: str
    smd: float
    smd_interval: tuple[float, float]
    p_value: float
    prob_imbalance: float
    flagged: bool
    large: bool
    means: tuple[float, float]
    smd_threshold: float = SMD_THRESHOLD
    prob_balanced: float | None = None
    checks: tuple = field(default=(), repr=False)

    @property
    def text(self) -> str:
        """One sentence: balanced, or how it differs and what corrects it."""
        from bayeslab.core import format as fmt

        which = f" ({self.arm} vs {self.control})" if self.checks and len(
            {c["arm"] for c in self.checks}) > 1 else ""
        nums = (f"SMD {fmt.number(self.smd, 2, sign=True)} (p = {fmt.p_value(self.p_value)}, "
                f"P(|SMD| > {self.smd_threshold:g}) = "
                f"{fmt.prob(self.prob_imbalance, self.prob_balanced)})")
        if not self.flagged:
            return f"pre-period {self.covariate} is balanced between arms{which}: {nums}"
        text = (f"pre-period {self.covariate} differs between arms{which}: {nums}; the "
                "CUPED/regression-adjusted estimates correct for it; the unadjusted difference "
                "is biased")
        if self.large:
            text += "; the imbalance is large: only the adjusted estimates may decide"
        return text

    def to_dict(self) -> dict:
        """JSON-safe form.

        ``covariate``, ``smd``, ``p_value``, ``prob_imbalance``, ``flagged``, ``large``,
        ``text`` and the details (arm, means, SMD interval, thresholds, every comparison).
        """
        out = {"covariate": self.covariate, "arm": self.arm, "control": self.control,
               "smd": self.smd, "smd_interval": list(self.smd_interval),
               "p_value": self.p_value, "prob_imbalance": self.prob_imbalance,
               "prob_balanced": self.prob_balanced,
               "flagged": self.flagged, "large": self.large, "means": list(self.means),
               "smd_threshold": self.smd_threshold,
               "thresholds": {"flag": f"p < {FLAG_P:g}, or |SMD| > {SMD_THRESHOLD:g} with "
                                      f"p < {FLAG_P_WITH_SMD:g}",
                              "large": f"p < {LARGE_P:g}, or |SMD| > {LARGE_SMD:g} with "
                                       f"p < {FLAG_P:g}"},
               "text": self.text}
        if self.checks:
            out["checks"] = [dict(c) for c in self.checks]
        return out

    def __str__(self) -> str:
        return "Pre-period check: " + self.text


def _summaries(st):
    """Per design column: ``(name, n, mean, var)`` per arm (control first), from the scan."""
    from bayeslab.data.covariates import CovariateMoments, from_arm_stats

    cm = st if isinstance(st, CovariateMoments) else from_arm_stats(st)
    n = np.asarray(cm.raw[()], float)
    if not cm.columns:
        return cm, []
    centers = cm.centers()
    out = []
    for j, name in enumerate(cm.columns):
        mean_dev = cm.centered((j,), centers) / n          # arm mean minus pooled mean
        ss = cm.centered((j, j), centers) - n * mean_dev ** 2  # sum of squares about arm mean
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.maximum(ss, 0.0) / (n - 1)
        out.append((name, n, centers[j] + mean_dev, var))
    return cm, out


def preperiod_check(st, *, smd_threshold: float = SMD_THRESHOLD) -> PrePeriodCheck | None:
    r"""The pre-period check of a covariate readout's statistics (no new scan).

    Parameters
    ----------
    st : ArmStats or CovariateMoments
        The statistics the covariate readout was fitted on (``sum_x``, ``sum_xx`` per arm).
    smd_threshold : float
        :math:`\tau` of the flag and of ``prob_imbalance``.

    Returns
    -------
    PrePeriodCheck or None
        ``None`` when there is nothing to compare: no covariate, an arm with fewer than two
        units, or a covariate that is constant in every arm.
    """
    cm, cols = _summaries(st)
    arms = [str(a) for a in cm.arms]
    checks = []
    for name, n, mean, var in cols:
        if (n < 2).any():
            return None
        for k in range(1, len(arms)):
            r = imbalance(n[0], mean[0], var[0], n[k], mean[k], var[k],
                          smd_threshold=smd_threshold)
            if not np.isfinite(r["smd"]):
                continue
            checks.append({"covariate": name, "arm": arms[k], "smd": float(r["smd"]),
                           "smd_interval": [float(r["smd_lower"]), float(r["smd_upper"])],
                           "p_value": float(r["p_value"]),
                           "prob_imbalance": float(r["prob_imbalance"]),
                           "prob_balanced": float(r["prob_balanced"]),
                           "flagged": bool(r["flagged"]), "large": bool(r["large"]),
                           "means": [float(mean[0]), float(mean[k])]})
    if not checks:
        return None
    worst = max(checks, key=lambda c: (c["large"], c["flagged"], abs(c["smd"]),
                                       -c["p_value"]))
    return PrePeriodCheck(covariate=worst["covariate"], arm=worst["arm"], control=arms[0],
                          smd=worst["smd"], smd_interval=tuple(worst["smd_interval"]),
                          p_value=worst["p_value"], prob_imbalance=worst["prob_imbalance"],
                          flagged=worst["flagged"], large=worst["large"],
                          means=tuple(worst["means"]), smd_threshold=smd_threshold,
                          prob_balanced=worst["prob_balanced"],
                          checks=tuple(checks) if len(checks) > 1 else ())


def unadjusted_blocker(check, headline) -> tuple[str, ...]:
    """The blocking sentence when a large imbalance meets an unadjusted headline.

    Parameters
    ----------
    check : PrePeriodCheck or dict or None
    headline : (str, str, ...)
        Bayes and frequentist headline methods.

    Returns
    -------
    tuple of str
        Empty unless ``check`` is large and a headline method compares plain means
        (:data:`UNADJUSTED`).
    """
    if check is None:
        return ()
    d = check.to_dict() if hasattr(check, "to_dict") else check
    if not d.get("large"):
        return ()
    plain = [m for m in headline[:2] if m in UNADJUSTED]
    if not plain:
        return ()
    return (f"pre-period imbalance: {d['text']}; the headline ({', '.join(plain)}) compares "
            f"unadjusted means, read the covariate-adjusted estimates "
            f"(covariate = \"{d['covariate'].split('[')[0]}\") instead",)


def preperiod_of(readout) -> dict | None:
    """A readout's pre-period check as a dict (live or saved), or ``None``."""
    extra = getattr(getattr(readout, "fit", None), "extra", None)
    if isinstance(extra, dict) and extra.get("preperiod") is not None:
        value = extra["preperiod"]
        return value.to_dict() if hasattr(value, "to_dict") else value
    data = getattr(readout, "data", None)
    if isinstance(data, dict):
        return data.get("preperiod")
    return None
