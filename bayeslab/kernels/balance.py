r"""Balance and overlap diagnostics of a propensity adjustment, shared by both sides.

Weights for treated (:math:`t = 1`) and control units with propensity :math:`e = P(T=1 \mid x)`:

============  ==============================  ==========================================  ========
scheme        treated                         control                                     estimand
============  ==============================  ==========================================  ========
ipw           :math:`1/e`  (ATE), 1 (ATT)     :math:`1/(1-e)` (ATE), :math:`e/(1-e)` (ATT)  ate, att
stabilized    :math:`\hat p/e`, 1              :math:`(1-\hat p)/(1-e)`,
                                              :math:`e(1-\hat p)/((1-e)\hat p)`           ate, att
overlap       :math:`1-e`                      :math:`e`                                   ato
============  ==============================  ==========================================  ========

with :math:`\hat p` the treated share. The standardized mean difference of covariate :math:`x`
under weights :math:`w` is

.. math::

    \mathrm{SMD}_w = \frac{\bar x_{1,w} - \bar x_{0,w}}{\sqrt{(s_1^2 + s_0^2)/2}}

where :math:`s_1^2, s_0^2` are the *unweighted* per-arm variances, so the denominator is the
same before and after adjustment (Austin 2009); the variance ratio is
:math:`s^2_{1,w} / s^2_{0,w}` with weighted variances. Overlap is judged by the Kish effective
sample size :math:`(\sum w)^2 / \sum w^2` of each arm, the share of the arm's weight held by its
heaviest unit, and the share of units whose propensity lies outside :math:`[\epsilon, 1-\epsilon]`.
A readout with remaining imbalance (:math:`|\mathrm{SMD}| >` 0.1 by default) or poor overlap
lists the reasons as ``blockers`` and makes no decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import jsonable

SCHEMES = ("ipw", "stabilized", "overlap")
ESTIMANDS = ("ate", "att")


def check_estimand(estimand: str) -> str:
    """Return ``estimand`` if it is ``"ate"`` or ``"att"``; raise :class:`ModelError` otherwise."""
    if estimand not in ESTIMANDS:
        raise ModelError(f"estimand must be 'ate' or 'att', got {estimand!r}")
    return estimand


def scheme_estimand(scheme: str, estimand: str) -> str:
    """The estimand a weighting scheme targets: overlap weights always give ``"ato"``."""
    return "ato" if scheme == "overlap" else estimand


def arm_weights(e, scheme: str, estimand: str, p_treated: float | None = None):
    r"""Per-unit weights ``(w1, w0)`` a unit would get if treated / if control.

    Parameters
    ----------
    e : array_like
        Propensities (any shape; for example draws x units).
    scheme : {"ipw", "stabilized", "overlap"}
    estimand : {"ate", "att"}
        Ignored by ``"overlap"`` (which targets the overlap population, ATO).
    p_treated : float, optional
        Treated share :math:`\hat p` for stabilized weights.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
    """
    e = np.asarray(e, dtype=np.float64)
    if scheme == "overlap":
        return 1.0 - e, e
    if scheme not in ("ipw", "stabilized"):
        raise ModelError(f"weighting scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    if estimand == "ate":
        w1, w0 = 1.0 / e, 1.0 / (1.0 - e)
        if scheme == "stabilized":
            w1, w0 = w1 * p_treated, w0 * (1 - p_treated)
        return w1, w0
    w1, w0 = np.ones_like(e), e / (1.0 - e)
    if scheme == "stabilized":
        w0 = w0 * (1 - p_treated) / p_treated
    return w1, w0


def unit_weights(e, t, scheme: str, estimand: str) -> np.ndarray:
    """Weight of each unit under ``scheme`` for ``estimand`` (its own arm's weight)."""
    t = np.asarray(t, dtype=np.float64)
    w1, w0 = arm_weights(e, scheme, estimand, float(t.mean()))
    return t * w1 + (1 - t) * w0


def kish_ess(w) -> float:
    r"""Kish effective sample size :math:`(\sum w)^2 / \sum w^2` (0 when all weights are 0)."""
    w = np.asarray(w, dtype=np.float64)
    s2 = float(np.sum(w * w))
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


def smd(X, t, w=None) -> np.ndarray:
    r"""Standardized mean differences (treated minus control) of the columns of ``X``.

    The denominator is the unweighted pooled standard deviation :math:`\sqrt{(s_1^2+s_0^2)/2}`
    whatever ``w``, so values before and after weighting are comparable.
    """
    X = np.asarray(X, dtype=np.float64)
    t = np.asarray(t) == 1
    sd = np.sqrt((X[t].var(axis=0, ddof=1) + X[~t].var(axis=0, ddof=1)) / 2)
    w = np.ones(len(t)) if w is None else np.asarray(w, dtype=np.float64)
    m1 = np.average(X[t], axis=0, weights=w[t])
    m0 = np.average(X[~t], axis=0, weights=w[~t])
    with np.errstate(divide="ignore", invalid="ignore"):
        return (m1 - m0) / sd


def variance_ratio(X, t, w=None) -> np.ndarray:
    """Weighted variance of each column in the treated arm over that in the control arm."""
    X = np.asarray(X, dtype=np.float64)
    t = np.asarray(t) == 1
    w = np.ones(len(t)) if w is None else np.asarray(w, dtype=np.float64)

    def wvar(Xa, wa):
        m = np.average(Xa, axis=0, weights=wa)
        return np.average((Xa - m) ** 2, axis=0, weights=wa)

    with np.errstate(divide="ignore", invalid="ignore"):
        return wvar(X[t], w[t]) / wvar(X[~t], w[~t])


@dataclass(frozen=True)
class BalanceReport:
    """Covariate balance and propensity overlap of one analysis, with the checks that block it.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per design column: ``covariate``, ``confounder`` (source column), ``smd`` and
        ``variance_ratio`` before adjustment, and ``smd_<label>`` / ``vr_<label>`` after each
        adjustment (``ipw``, ``overlap``, ``matching``, ...).
    overlap : pandas.DataFrame
        One row per arm: ``arm``, ``n``, propensity quantiles (``min``, ``q01``, ``q05``,
        ``median``, ``q95``, ``q99``, ``max``), and per adjustment the Kish effective sample size
        ``ess_<label>`` and the heaviest unit's share of the arm's weight ``max_share_<label>``.
    primary : str
        Adjustment whose balance decides (``"ipw"`` by default).
    estimand : {"ate", "att"}
    smd_threshold, min_ess_ratio, epsilon, max_extreme_share : float
        The thresholds used (see :func:`balance_report`).
    extreme_share : float
        Share of the relevant units with propensity outside ``[epsilon, 1 - epsilon]``.
    blockers : tuple of str
        Failed checks, in plain language; empty when balance and overlap are acceptable.
    notes : tuple of str
        Reported options that change the analysis (clipping, trimming, unmatched units).
    """

    table: pd.DataFrame
    overlap: pd.DataFrame
    primary: str
    estimand: str
    smd_threshold: float
    min_ess_ratio: float
    epsilon: float
    max_extreme_share: float
    extreme_share: float
    blockers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    propensity: np.ndarray = field(default=None, repr=False)
    treated: np.ndarray = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when nothing blocks a decision."""
        return not self.blockers

    @property
    def max_abs_smd(self) -> float:
        """Largest absolute SMD after the primary adjustment."""
        return float(np.nanmax(np.abs(self.table[f"smd_{self.primary}"].to_numpy())))

    def to_dict(self) -> dict:
        """JSON-safe form: thresholds, blockers, notes and both tables as lists of records."""
        return jsonable({
            "primary": self.primary, "estimand": self.estimand,
            "smd_threshold": self.smd_threshold, "min_ess_ratio": self.min_ess_ratio,
            "epsilon": self.epsilon, "max_extreme_share": self.max_extreme_share,
            "extreme_share": self.extreme_share, "max_abs_smd": self.max_abs_smd,
            "ok": self.ok, "blockers": list(self.blockers), "notes": list(self.notes),
            "covariates": self.table.to_dict(orient="records"),
            "overlap": self.overlap.to_dict(orient="records"),
        })

    def __str__(self) -> str:
        cols = ["covariate", "smd"] + [c for c in self.table.columns if c.startswith("smd_")]
        text = self.table[cols].to_string(index=False, float_format=lambda v: f"{v:+.3f}")
        status = "balance and overlap OK" if self.ok else "BLOCKED: " + "; ".join(self.blockers)
        return text + "\n" + status


def balance_report(X, t, e, names, adjustments: dict, *, sources=None, primary: str = "ipw",
                   estimand: str = "ate", arms=("control", "treatment"),
                   smd_threshold: float = 0.1, min_ess_ratio: float = 0.1,
                   epsilon: float = 0.01, max_extreme_share: float = 0.01,
                   notes=()) -> BalanceReport:
    r"""Balance before and after each adjustment, overlap figures, and the blocking checks.

    Parameters
    ----------
    X : numpy.ndarray
        Design matrix (units x columns), unstandardized.
    t : numpy.ndarray
        0/1 treatment indicator.
    e : numpy.ndarray
        Estimated propensities.
    names : sequence of str
        Column names of ``X``.
    adjustments : dict of str to numpy.ndarray
        Label -> unit weights (matching: 1 for matched units, 0 otherwise).
    sources : sequence of str, optional
        Confounder each column comes from.
    primary : str
        Label of the adjustment whose balance and overlap decide.
    estimand : {"ate", "att"}
        Which propensity tails matter: both for ATE; for ATT only :math:`e > 1 - \epsilon`.
    arms : (str, str)
        Control and treatment labels, for the overlap table.
    smd_threshold : float
        Largest acceptable :math:`|\mathrm{SMD}|` after the primary adjustment (0.1).
    min_ess_ratio : float
        Smallest acceptable Kish ESS of an arm under the primary weights, as a share of the
        target population's size (the arm itself for ATE / ATO, the treated arm for ATT).
    epsilon, max_extreme_share : float
        Overlap fails when more than ``max_extreme_share`` of the relevant units have a
        propensity outside ``[epsilon, 1 - epsilon]``.
    notes : sequence of str
        Options to report (clipping, trimming).

    Returns
    -------
    BalanceReport
    """
    t = np.asarray(t, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    if primary not in adjustments:
        raise ModelError(f"primary adjustment {primary!r} not among {', '.join(adjustments)}")
    table = pd.DataFrame({"covariate": list(names),
                          "confounder": list(sources) if sources is not None else list(names),
                          "smd": smd(X, t), "variance_ratio": variance_ratio(X, t)})
    for label, w in adjustments.items():
        table[f"smd_{label}"] = smd(X, t, w)
        table[f"vr_{label}"] = variance_ratio(X, t, w)
    treated = t == 1
    rows = []
    for arm_name, mask in ((arms[0], ~treated), (arms[1], treated)):
        q = np.quantile(e[mask], [0, 0.01, 0.05, 0.5, 0.95, 0.99, 1])
        row = {"arm": arm_name, "n": int(mask.sum()),
               **dict(zip(("min", "q01", "q05", "median", "q95", "q99", "max"), q, strict=True))}
        for label, w in adjustments.items():
            wa = np.asarray(w, dtype=np.float64)[mask]
            row[f"ess_{label}"] = kish_ess(wa)
            row[f"max_share_{label}"] = float(wa.max() / wa.sum()) if wa.sum() > 0 else np.nan
        rows.append(row)
    overlap = pd.DataFrame(rows)

    blockers = []
    bad = table[np.abs(table[f"smd_{primary}"]) > smd_threshold]
    if len(bad):
        shown = ", ".join(f"{r.covariate} ({getattr(r, f'smd_{primary}'):+.3f})"
                          for r in bad.itertuples())
        blockers.append(f"remaining imbalance after {primary} adjustment: |SMD| > "
                        f"{smd_threshold:g} for {shown}")
    if estimand == "att":
        relevant = e > 1 - epsilon
        targets = (int(treated.sum()), int(treated.sum()))
    else:
        relevant = (e < epsilon) | (e > 1 - epsilon)
        targets = (int((~treated).sum()), int(treated.sum()))
    extreme_share = float(relevant.mean())
    if extreme_share > max_extreme_share:
        blockers.append(f"poor overlap: {extreme_share:.1%} of units have a propensity outside "
                        f"[{epsilon:g}, {1 - epsilon:g}] (more than {max_extreme_share:.1%})")
    for (_, row), target in zip(overlap.iterrows(), targets, strict=True):
        ess = row[f"ess_{primary}"]
        if ess < min_ess_ratio * target:
            blockers.append(f"poor overlap: effective sample size of arm {row['arm']!r} under "
                            f"{primary} weights is {ess:,.0f}, below {min_ess_ratio:.0%} of "
                            f"{target:,} units")
    return BalanceReport(table=table, overlap=overlap, primary=primary, estimand=estimand,
                         smd_threshold=smd_threshold, min_ess_ratio=min_ess_ratio,
                         epsilon=epsilon, max_extreme_share=max_extreme_share,
                         extreme_share=extreme_share, blockers=tuple(blockers),
                         notes=tuple(notes), propensity=e, treated=t)
