r"""Propensity-score estimators: Hajek IPW with sandwich or bootstrap intervals, AIPW, matching.

Split from :mod:`bayeslab.frequentist.propensity` (which re-exports every name here); the
module docstring there states the estimators and their math. Each function takes the outcome
``y``, the treatment indicator ``t`` and the fitted :class:`PropensityModel` (or its
propensities) and returns a :class:`PropensityEffect`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import special
from scipy import stats as sps

from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL
from bayeslab.kernels.balance import arm_weights, scheme_estimand
from bayeslab.kernels.logit import logit_newton

if TYPE_CHECKING:
    from bayeslab.frequentist.propensity import PropensityModel

_SCHEME_METHOD = {"ipw": "ipw", "stabilized": "ipw-stabilized", "overlap": "overlap"}

# --------------------------------------------------------------------------------------------
# estimators


@dataclass(frozen=True)
class PropensityEffect:
    """One estimator's answer: adjusted arm means, difference and relative lift, intervals.

    Attributes
    ----------
    method : str
        ``naive``, ``ipw``, ``ipw-stabilized``, ``overlap``, ``aipw`` or ``matching``.
    estimand : str
        ``ate``, ``att``, ``ato`` or ``unadjusted`` (naive).
    control_mean, treatment_mean : float
        Adjusted means of the outcome under control and treatment in the target population.
    diff, se, lower, upper, p_value : float
        Treatment minus control, its standard error, interval and two-sided p-value.
    rel, rel_lower, rel_upper : float
        ``treatment_mean / control_mean - 1`` and its delta-method interval.
    ci : str
        How the interval was made (``sandwich``, ``bootstrap``, ``influence function``,
        ``welch``, ``paired``).
    n : int
        Units (or, for matching, pairs) behind the estimate.
    extra : dict
        Method-specific details (test used, matched share, caliper).
    """

    method: str
    estimand: str
    control_mean: float
    treatment_mean: float
    diff: float
    se: float
    lower: float
    upper: float
    p_value: float
    rel: float
    rel_lower: float
    rel_upper: float
    ci: str
    n: int
    extra: dict = field(default_factory=dict)


def _effect(method, estimand, mu1, mu0, v11, v00, v10, level, ci, n, *, extra=None, df=None,
            p_value=None):
    z = sps.norm.ppf((1 + level) / 2) if df is None else sps.t.ppf((1 + level) / 2, df)
    diff = mu1 - mu0
    se = float(np.sqrt(max(v11 + v00 - 2 * v10, 0.0)))
    if p_value is None:
        stat = diff / se if se > 0 else np.nan
        p_value = float(2 * (sps.norm.sf(abs(stat)) if df is None else sps.t.sf(abs(stat), df)))
    if mu1 > 0 and mu0 > 0:
        lse = np.sqrt(max(v11 / mu1**2 + v00 / mu0**2 - 2 * v10 / (mu1 * mu0), 0.0))
        lr = np.log(mu1 / mu0)
        rel, rl, ru = np.expm1(lr), np.expm1(lr - z * lse), np.expm1(lr + z * lse)
    else:
        rel, rl, ru = (mu1 / mu0 - 1 if mu0 else np.nan), np.nan, np.nan
    return PropensityEffect(method=method, estimand=estimand, control_mean=float(mu0),
                            treatment_mean=float(mu1), diff=float(diff), se=se,
                            lower=float(diff - z * se), upper=float(diff + z * se),
                            p_value=float(p_value), rel=float(rel), rel_lower=float(rl),
                            rel_upper=float(ru), ci=ci, n=int(n), extra=extra or {})


def naive_effect(y, t, level=DEFAULT_LEVEL) -> PropensityEffect:
    """Unadjusted difference of arm means with Welch (unpooled) standard errors."""
    y1, y0 = y[t == 1], y[t == 0]
    v1, v0 = y1.var(ddof=1) / len(y1), y0.var(ddof=1) / len(y0)
    return _effect("naive", "unadjusted", y1.mean(), y0.mean(), v1, v0, 0.0, level, "welch",
                   len(y), extra={"note": "no adjustment for confounding"})


def _weights_d(e, eta, t, scheme, estimand, clip):
    """Arm weights and their derivatives with respect to the linear predictor."""
    p = float(t.mean())
    w1, w0 = arm_weights(e, scheme, estimand, p)
    if scheme == "overlap":
        d1, d0 = -e * (1 - e), e * (1 - e)
    elif estimand == "ate":
        d1, d0 = -w1 * (1 - e), w0 * e
    else:
        d1, d0 = np.zeros_like(e), w0.copy()
    if clip is not None:
        clipped = (e <= clip[0]) | (e >= clip[1])
        d1, d0 = np.where(clipped, 0.0, d1), np.where(clipped, 0.0, d0)
    return w1, w0, d1, d0


def hajek_means(y, t, w1, w0):
    """Normalized weighted means ``(mu1, mu0)`` of the outcome in each arm."""
    a1, a0 = t * w1, (1 - t) * w0
    return float(a1 @ y / a1.sum()), float(a0 @ y / a0.sum())


def hajek_sandwich(y, t, model: PropensityModel, scheme: str, estimand: str):
    r"""Hajek means and their M-estimation covariance, stacking the propensity score equations.

    Estimating functions :math:`\psi = (z(t - e),\ t\,w_1(y - \mu_1),\ (1-t)\,w_0(y - \mu_0))`;
    covariance :math:`A^{-1} B A^{-\top} / n` with :math:`A = -E[\partial\psi/\partial\theta]`,
    :math:`B = E[\psi\psi^\top]`. Returns ``(mu1, mu0, cov)`` with ``cov`` 2 x 2.
    """
    Z1, e, eta = model.Z1, model.e, model.eta
    n, k = Z1.shape
    w1, w0, d1, d0 = _weights_d(e, eta, t, scheme, estimand, model.clip)
    mu1, mu0 = hajek_means(y, t, w1, w0)
    e_raw = special.expit(eta)
    r1, r0 = t * w1 * (y - mu1), (1 - t) * w0 * (y - mu0)
    psi = np.column_stack([Z1 * (t - e_raw)[:, None], r1, r0])
    A = np.zeros((k + 2, k + 2))
    A[:k, :k] = -(Z1 * (e_raw * (1 - e_raw))[:, None]).T @ Z1 / n
    A[k, :k] = (t * d1 * (y - mu1)) @ Z1 / n
    A[k + 1, :k] = ((1 - t) * d0 * (y - mu0)) @ Z1 / n
    A[k, k] = -np.mean(t * w1)
    A[k + 1, k + 1] = -np.mean((1 - t) * w0)
    B = psi.T @ psi / n
    Ainv = np.linalg.inv(A)
    V = Ainv @ B @ Ainv.T / n
    return mu1, mu0, V[k:, k:]


def ipw_effect(y, t, model, scheme="ipw", estimand="ate", level=DEFAULT_LEVEL, *,
               ci="sandwich", n_boot=500, seed=0) -> PropensityEffect:
    """Hajek IPW (``scheme`` ipw / stabilized / overlap) with a sandwich or bootstrap interval."""
    target = scheme_estimand(scheme, estimand)
    mu1, mu0, V = hajek_sandwich(y, t, model, scheme, estimand)
    method = _SCHEME_METHOD[scheme]
    if ci == "sandwich":
        return _effect(method, target, mu1, mu0, V[0, 0], V[1, 1], V[0, 1], level, "sandwich",
                       len(y))
    draws = _bootstrap_hajek(y, t, model, scheme, estimand, n_boot, seed)
    eff = _effect(method, target, mu1, mu0, V[0, 0], V[1, 1], V[0, 1], level, "bootstrap",
                  len(y), extra={"n_boot": int(n_boot), "sandwich_se": None})
    a = (1 - level) / 2
    d = draws[:, 0] - draws[:, 1]
    r = draws[:, 0] / draws[:, 1] - 1
    lo, hi = np.quantile(d, [a, 1 - a])
    rlo, rhi = np.quantile(r, [a, 1 - a])
    se = float(d.std(ddof=1))
    p = float(2 * sps.norm.sf(abs(eff.diff) / se)) if se > 0 else np.nan
    return PropensityEffect(**{**eff.__dict__, "se": se, "lower": float(lo), "upper": float(hi),
                               "rel_lower": float(rlo), "rel_upper": float(rhi),
                               "p_value": p,
                               "extra": {"n_boot": int(n_boot), "sandwich_se": eff.se}})


def _bootstrap_hajek(y, t, model, scheme, estimand, n_boot, seed):
    rng = np.random.default_rng(seed)
    n = len(y)
    out = np.empty((n_boot, 2))
    for b in range(n_boot):
        f = rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64)
        beta, _ = logit_newton(model.Z1, t, f, start=model.coef)
        e = special.expit(model.Z1 @ beta)
        if model.clip is not None:
            e = np.clip(e, *model.clip)
        w1, w0 = arm_weights(e, scheme, estimand, float(f @ t / n))
        out[b] = hajek_means(y, t, f * w1, f * w0)
    return out


def outcome_predictions(units, Z1) -> tuple[np.ndarray, np.ndarray]:
    """Per-arm outcome regressions ``(m1, m0)`` predicted for every unit.

    Logistic regression (Newton, a 1e-6 ridge against separation) for a binary outcome, least
    squares for a continuous one, fitted separately in each arm on the standardized confounders.
    """
    t, y = units.t, units.y
    preds = []
    for arm in (1, 0):
        mask = t == arm
        if units.kind == "binary":
            beta, _ = logit_newton(Z1[mask], y[mask],
                                   prior_precision=1e-6 * np.eye(Z1.shape[1]))
            preds.append(special.expit(Z1 @ beta))
        else:
            beta = np.linalg.lstsq(Z1[mask], y[mask], rcond=None)[0]
            preds.append(Z1 @ beta)
    return preds[0], preds[1]


def aipw_effect(y, t, e, m1, m0, estimand="ate", level=DEFAULT_LEVEL) -> PropensityEffect:
    """Augmented IPW (doubly robust) for the ATE or ATT with influence-function intervals."""
    n = len(y)
    if estimand == "ate":
        phi1 = m1 + t * (y - m1) / e
        phi0 = m0 + (1 - t) * (y - m0) / (1 - e)
        mu1, mu0 = phi1.mean(), phi0.mean()
        f1, f0 = phi1 - mu1, phi0 - mu0
    else:
        p = t.mean()
        mu1 = float(t @ y / t.sum())
        g0 = t * m0 + (1 - t) * e / (1 - e) * (y - m0)
        mu0 = float(g0.sum() / t.sum())
        f1 = t * (y - mu1) / p
        f0 = (g0 - t * mu0) / p
    V = np.cov(np.vstack([f1, f0]), ddof=1) / n
    return _effect("aipw", estimand, mu1, mu0, V[0, 0], V[1, 1], V[0, 1], level,
                   "influence function", n, extra={"outcome_model": "logistic per arm"
                                                   if set(np.unique(y)) <= {0.0, 1.0}
                                                   else "linear per arm"})


# --------------------------------------------------------------------------------------------
# matching


@dataclass(frozen=True, eq=False)
class Matching:
    """1:1 matched pairs (row indices into the unit rows).

    Attributes
    ----------
    treated, control : numpy.ndarray
        Row indices of the matched treated units and their controls (same length).
    caliper : float
        Largest allowed distance on the logit-propensity scale.
    caliper_sd : float
        The caliper in pooled standard deviations of the logit propensity.
    n_treated : int
        Treated units offered for matching.
    distance : numpy.ndarray
        Absolute logit-propensity distance within each pair.
    """

    treated: np.ndarray = field(repr=False)
    control: np.ndarray = field(repr=False)
    caliper: float
    caliper_sd: float
    n_treated: int
    distance: np.ndarray = field(repr=False)

    @property
    def n_pairs(self) -> int:
        """Number of matched pairs."""
        return int(len(self.treated))

    @property
    def matched_share(self) -> float:
        """Share of treated units that found a control within the caliper."""
        return self.n_pairs / self.n_treated if self.n_treated else np.nan

    def weights(self, n: int) -> np.ndarray:
        """Unit weights: 1 for matched units, 0 otherwise."""
        w = np.zeros(n)
        w[self.treated] = 1.0
        w[self.control] = 1.0
        return w


def match_pairs(logit_e, t, *, caliper_sd: float | None = 0.2, seed: int = 0) -> Matching:
    """Greedy 1:1 nearest-neighbour matching without replacement on the logit propensity.

    Treated units are taken in a random order (``seed``); each takes the nearest control not
    yet used if it lies within ``caliper_sd`` pooled standard deviations of the logit
    propensity (Austin 2011 recommends 0.2); otherwise it stays unmatched. ``caliper_sd=None``
    matches without a caliper (every treated unit while controls last).
    """
    logit_e = np.asarray(logit_e, dtype=np.float64)
    treated_idx = np.flatnonzero(t == 1)
    control_idx = np.flatnonzero(t == 0)
    pooled = np.sqrt((logit_e[treated_idx].var(ddof=1) + logit_e[control_idx].var(ddof=1)) / 2)
    if caliper_sd is not None and not caliper_sd > 0:
        raise ModelError(f"caliper must be positive (in standard deviations), got {caliper_sd!r}")
    caliper = np.inf if caliper_sd is None else float(caliper_sd * pooled)
    order = np.argsort(logit_e[control_idx], kind="stable")
    c_sorted = logit_e[control_idx][order]
    m = len(c_sorted)
    right = list(range(m + 1))   # right[i]: smallest available position >= i (m: none)
    left = list(range(m + 1))    # left[i]: largest available position <= i - 1, plus 1 (0: none)
    c_list = c_sorted.tolist()

    def find(parent, i):
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    rng = np.random.default_rng(seed)
    tr = rng.permutation(treated_idx)
    pos = np.searchsorted(c_sorted, logit_e[tr])
    out_t, out_c, dist = [], [], []
    for unit, p, x in zip(tr.tolist(), pos.tolist(), logit_e[tr].tolist(), strict=True):
        r = find(right, p)
        lft = find(left, p) - 1
        best, best_d = -1, np.inf
        if r < m:
            best, best_d = r, c_list[r] - x
        if lft >= 0 and x - c_list[lft] < best_d:
            best, best_d = lft, x - c_list[lft]
        if best < 0 or best_d > caliper:
            continue
        right[best] = best + 1
        left[best + 1] = best
        out_t.append(unit)
        out_c.append(control_idx[order[best]])
        dist.append(best_d)
    return Matching(treated=np.asarray(out_t, dtype=np.int64),
                    control=np.asarray(out_c, dtype=np.int64), caliper=caliper,
                    caliper_sd=np.nan if caliper_sd is None else float(caliper_sd),
                    n_treated=len(treated_idx), distance=np.asarray(dist))


def matched_effect(y, matching: Matching, binary: bool, level=DEFAULT_LEVEL) -> PropensityEffect:
    """Matched-pairs analysis: paired differences; McNemar's test for a binary outcome."""
    m = matching.n_pairs
    if m < 2:
        raise DataError(f"only {m} treated unit(s) found a control within the caliper "
                        f"({matching.caliper_sd:g} sd of the logit propensity): no overlap")
    yt, yc = y[matching.treated], y[matching.control]
    cov = np.cov(yt, yc, ddof=1) / m
    extra = {"pairs": m, "matched_share": matching.matched_share,
             "caliper_sd": matching.caliper_sd, "caliper": matching.caliper,
             "replacement": False, "population": "matched treated units"}
    if binary:
        b, c = int(np.sum((yt == 1) & (yc == 0))), int(np.sum((yt == 0) & (yc == 1)))
        if b + c == 0:
            p = 1.0
        elif b + c < 25:
            p = float(sps.binomtest(b, b + c, 0.5).pvalue)
        else:
            p = float(sps.chi2.sf((b - c) ** 2 / (b + c), 1))
        extra.update(test="mcnemar" + (" exact" if 0 < b + c < 25 else ""), discordant=[b, c])
        return _effect("matching", "att", yt.mean(), yc.mean(), cov[0, 0], cov[1, 1],
                       cov[0, 1], level, "paired", m, extra=extra, p_value=p)
    extra["test"] = "paired t"
    return _effect("matching", "att", yt.mean(), yc.mean(), cov[0, 0], cov[1, 1], cov[0, 1],
                   level, "paired", m, extra=extra, df=m - 1)
