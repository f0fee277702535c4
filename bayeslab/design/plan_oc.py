r"""Operating characteristics of a plan's whole decision rule, by vectorized simulation.

A plan decides on a whole experiment: a primary metric, guardrails and secondaries, one or more
variants against control, one look or many. :func:`plan_operating_characteristics` simulates
that procedure as it will be run, ``n_sims`` experiments at once, on sufficient statistics:

* **Data.** Per look increment and arm, the metrics' statistics are drawn jointly: standard
  normals :math:`Z \sim N(0, R)` with the metrics' correlation :math:`R` become binomial counts
  through the Gaussian copula :math:`x = F^{-1}_{\mathrm{Bin}(m, p)}(\Phi(Z))` (exact binomial
  margins) and normal sums :math:`m\mu + \sigma\sqrt{m} Z` (with the within-increment sum of
  squares :math:`\sigma^2\chi^2_{m-1}`). Without a correlation the metrics are independent, which
  is the worst case for the family-wise rate of Bonferroni / Holm (positive correlation lowers it).
* **Bayes side.** Conversion: the exact Beta posteriors of each arm's rate
  (:mod:`bayeslab.kernels.beta`): :math:`P(p_T > p_C)` and the relative expected loss
  :math:`E[(1 - p_T/p_C)^+]` are read from their normal approximation and recomputed exactly for
  every experiment whose approximation lies within a band around a threshold (so every decision
  is the exact rule's). Continuous: the normal posterior of the lift under a flat prior.
  Ship a variant when :math:`P(\text{better}) \ge t` and the loss is at most the plan's
  ``loss_threshold``; a guardrail passes when :math:`P(\Delta > \text{margin}) \le 1 - t`.
* **Frequentist side.** Conversion: the pooled two-proportion z-test; continuous: Welch's z.
  Ship when the (corrected) two-sided p-value is below ``alpha`` with a positive estimate;
  a guardrail passes when the one-sided non-inferiority p-value is below ``alpha / 2``.
  Corrections (``"holm"``, ``"bh"``, ``"bonferroni"``, ``"none"``) act over the scope
  ``"variants"`` (the variants of a metric) and ``"metrics"`` (primary and secondaries).
* **Looks.** With a sequential plan the Bayes side stops a variant at the first look where
  :math:`P(\Delta > 0) \ge` the monitor's success threshold (or at or below its futility
  threshold), the frequentist side where :math:`z` crosses the group-sequential boundary
  (alpha split over the correction's family by Bonferroni); the last look decides by the rule
  above, as the run's readout does. A variant that ships stops the experiment; secondaries and
  guardrails are judged at that look.
* **Combined.** The plan ships when both sides ship (a disagreement is inconclusive).

Under the null no variant moves any metric: the share of experiments that ship is the
**false-ship rate**; the share in which any primary or secondary metric of any variant is
declared a win is the **family-wise rate**. Under the plan's minimum detectable effect on the
primary (every variant), the share that ships is the **power**, with the **expected sample size**
at stopping. Each rate has its Monte Carlo standard error :math:`\sqrt{r(1 - r)/S}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import special, stats

from bayeslab.core.errors import ModelError

CORRECTIONS = ("holm", "bh", "bonferroni", "none")
SCOPES = ("variants", "metrics", "segments")
#: default number of simulated experiments: mc_se <= 0.005 for any rate
DEFAULT_SIMS = 10_000
#: the normal approximation of the Beta posteriors is recomputed exactly within this band
_BAND = 0.02
_SIDES = ("bayes", "frequentist", "combined")


@dataclass(frozen=True)
class MetricDesign:
    """One metric as the simulation draws it.

    Attributes
    ----------
    name : str
    role : {"primary", "secondary", "guardrail"}
    kind : {"conversion", "continuous"}
        Counts, money and other means are simulated as ``"continuous"``.
    baseline : float
        Control rate (conversion) or mean.
    sd : float, optional
        Outcome sd (continuous), after any covariate adjustment the readout makes.
    margin : float, optional
        Guardrails: the largest acceptable increase, absolute.
    prior : tuple, optional
        Beta prior ``(alpha, beta)`` of each arm's rate (conversion; default ``(1, 1)``).
    """

    name: str
    role: str
    kind: str
    baseline: float
    sd: float | None = None
    margin: float | None = None
    prior: tuple | None = None

    def __post_init__(self):
        if self.role not in ("primary", "secondary", "guardrail"):
            raise ModelError(f"metric {self.name!r}: role must be primary, secondary or "
                             f"guardrail, got {self.role!r}")
        if self.kind == "conversion":
            if not 0 < self.baseline < 1:
                raise ModelError(f"metric {self.name!r}: a conversion baseline must be in "
                                 f"(0, 1), got {self.baseline!r}")
        elif self.kind == "continuous":
            if self.sd is None or not self.sd > 0 or not math.isfinite(self.baseline):
                raise ModelError(f"metric {self.name!r}: a continuous metric needs a finite "
                                 f"baseline and a positive sd, got {self.baseline!r}, "
                                 f"{self.sd!r}")
        else:
            raise ModelError(f"metric {self.name!r}: kind must be conversion or continuous "
                             f"for the simulation, got {self.kind!r}")
        if self.role == "guardrail" and not (self.margin is not None and self.margin > 0):
            raise ModelError(f"guardrail {self.name!r} needs a positive margin, got "
                             f"{self.margin!r}")


@dataclass(frozen=True)
class PlanDesign:
    r"""A plan's decision procedure, as the simulation runs it.

    Attributes
    ----------
    metrics : tuple of MetricDesign
        Exactly one primary.
    looks : numpy.ndarray
        Cumulative units per look and arm, shape ``(K, A)``, control first (one row: one look).
    arms : tuple of str
        Arm labels, control first.
    prob_threshold, loss_threshold, alpha : float
        The plan's decision rule (:class:`bayeslab.core.decision.DecisionRule`).
    correction : str
        Frequentist multiplicity correction, one of ``CORRECTIONS``.
    scope : tuple of str
        What the correction adjusts over (``"variants"``, ``"metrics"``).
    success, futility : float, optional
        The monitor's Bayesian stopping thresholds on :math:`P(\Delta > 0)` (sequential plans).
    spending : str, optional
        The group-sequential spending function (sequential plans), e.g. ``"obf"``.
    correlation : numpy.ndarray, optional
        Correlation of the metrics' unit values, ``(M, M)``; independent when ``None``.
    mde : float, optional
        True absolute effect on the primary for the power; default: the effect the single-look
        frequentist test detects with 80 % power at the final look.
    """

    metrics: tuple
    looks: np.ndarray
    arms: tuple
    prob_threshold: float = 0.975
    loss_threshold: float = 0.0025
    alpha: float = 0.05
    correction: str = "bonferroni"
    scope: tuple = ("variants",)
    success: float | None = None
    futility: float | None = None
    spending: str | None = None
    correlation: np.ndarray | None = None
    mde: float | None = None
    notes: tuple = field(default=())

    def __post_init__(self):
        looks = np.asarray(self.looks, dtype=float)
        if looks.ndim != 2 or looks.shape[1] != len(self.arms) or len(self.arms) < 2:
            raise ModelError(f"looks must be cumulative units per look and arm, shape (K, "
                             f"{len(self.arms)}), got {looks.shape}")
        if np.any(looks[0] < 2) or np.any(np.diff(looks, axis=0) < 0):
            raise ModelError("looks must start with at least 2 units per arm and never shrink")
        object.__setattr__(self, "looks", np.round(looks).astype(np.int64))
        roles = [m.role for m in self.metrics]
        if roles.count("primary") != 1:
            raise ModelError(f"a plan has exactly one primary metric, got {roles.count('primary')}")
        if self.correction not in CORRECTIONS:
            raise ModelError(f"correction must be one of {', '.join(CORRECTIONS)}, got "
                             f"{self.correction!r}")
        bad = sorted(set(self.scope) - set(SCOPES))
        if bad:
            raise ModelError(f"scope must be among {', '.join(SCOPES)}, got {bad}")
        for name in ("prob_threshold", "alpha"):
            if not 0 < getattr(self, name) < 1:
                raise ModelError(f"{name} must be in (0, 1), got {getattr(self, name)!r}")
        if self.correlation is not None:
            r = np.asarray(self.correlation, dtype=float)
            m = len(self.metrics)
            if r.shape != (m, m) or not np.allclose(r, r.T) or np.any(np.abs(np.diag(r) - 1)
                                                                        > 1e-9):
                raise ModelError(f"correlation must be a symmetric ({m}, {m}) matrix with a unit "
                                 "diagonal")
            if np.linalg.eigvalsh(r).min() < -1e-9:
                raise ModelError("correlation must be positive semi-definite")
            object.__setattr__(self, "correlation", r)

    @property
    def primary(self) -> MetricDesign:
        """The primary metric."""
        return next(m for m in self.metrics if m.role == "primary")

    @property
    def sequential(self) -> bool:
        """More than one look."""
        return self.looks.shape[0] > 1

    def default_mde(self, power: float = 0.8) -> float:
        """The absolute effect the single-look z-test detects with ``power`` at the last look."""
        p = self.primary
        n_c, n_t = self.looks[-1, 0], self.looks[-1, 1]
        var = (p.baseline * (1 - p.baseline) if p.kind == "conversion" else p.sd**2)
        z = special.ndtri(1 - self.alpha / 2) + special.ndtri(power)
        return float(z * math.sqrt(var / n_c + var / n_t))


@dataclass(frozen=True)
class SideOC:
    """Operating characteristics of one side (or of both combined)."""

    false_ship_rate: float
    power: float
    expected_n: float
    expected_n_null: float
    family_wise_rate: float
    n_sims: int

    @property
    def mc_se(self) -> dict:
        """Monte Carlo standard errors of the rates."""
        def se(r):
            return math.sqrt(max(r * (1 - r), 0.0) / self.n_sims)

        return {"false_ship_rate": se(self.false_ship_rate), "power": se(self.power),
                "family_wise_rate": se(self.family_wise_rate)}

    def to_dict(self) -> dict:
        """JSON form (``readout.json``)."""
        return {"false_ship_rate": self.false_ship_rate, "power": self.power,
                "expected_n": self.expected_n, "expected_n_null": self.expected_n_null,
                "family_wise_rate": self.family_wise_rate, "mc_se": self.mc_se,
                "n_sims": self.n_sims}


@dataclass(frozen=True)
class PlanOC:
    """The plan's rule simulated: per side and combined, under the null and under the MDE."""

    design: PlanDesign
    sides: dict
    mde: float
    seed: int

    def __getitem__(self, side) -> SideOC:
        return self.sides[side]

    def sentence(self) -> str:
        """The report's sentence: what the whole rule does when nothing works, and its power."""
        c = self.sides["combined"]
        se = c.mc_se
        looks = self.design.looks.shape[0]
        variants = len(self.design.arms) - 1
        how = (f"{looks} look{'s' if looks > 1 else ''}, {variants} variant"
               f"{'s' if variants > 1 else ''}, {len(self.design.metrics)} metric"
               f"{'s' if len(self.design.metrics) > 1 else ''}")
        return (f"Run as planned ({how}), this rule ships a change that does nothing "
                f"{c.false_ship_rate:.1%} of the time (± {se['false_ship_rate']:.1%}; Bayes "
                f"alone {self.sides['bayes'].false_ship_rate:.1%}, frequentist alone "
                f"{self.sides['frequentist'].false_ship_rate:.1%}) and ships a true "
                f"{_effect_text(self.mde, self.design.primary)} on "
                f"{self.design.primary.name} {c.power:.0%} of the time (± "
                f"{se['power']:.1%}; {c.n_sims:,} simulated experiments).")

    def to_dict(self) -> dict:
        """JSON form: per side, the combined figures on top, and the plan as simulated."""
        d = self.design
        out = {side: oc.to_dict() for side, oc in self.sides.items()}
        out.update({
            "false_ship_rate": self.sides["combined"].false_ship_rate,
            "power": self.sides["combined"].power,
            "expected_n": self.sides["combined"].expected_n,
            "mc_se": self.sides["combined"].mc_se,
            "n_sims": self.sides["combined"].n_sims,
            "mde": self.mde, "seed": self.seed, "sentence": self.sentence(),
            "plan": {"looks": int(d.looks.shape[0]), "variants": len(d.arms) - 1,
                     "metrics": [{"name": m.name, "role": m.role, "kind": m.kind,
                                  "baseline": m.baseline, "sd": m.sd, "margin": m.margin}
                                 for m in d.metrics],
                     "units": int(d.looks[-1].sum()), "prob_threshold": d.prob_threshold,
                     "loss_threshold": d.loss_threshold, "alpha": d.alpha,
                     "correction": d.correction, "scope": list(d.scope),
                     "success": d.success, "futility": d.futility, "spending": d.spending,
                     "correlated": d.correlation is not None, "notes": list(d.notes)}})
        return out


def _effect_text(v: float, m: MetricDesign) -> str:
    if m.kind == "conversion":
        return f"{100 * v:+.3g} pp lift"
    return f"{v:+.4g} lift"


# ----------------------------------------------------------------------------- the data


def _draw(design: PlanDesign, effects: np.ndarray, n_sims: int, rng):
    """Cumulative sums and sums of squares, ``(S, K, A, M)`` each, drawn look by look."""
    looks = design.looks
    k_looks, n_arms = looks.shape
    ms = design.metrics
    n_m = len(ms)
    sums = np.zeros((n_sims, k_looks, n_arms, n_m))
    sumsq = np.zeros_like(sums)
    chol = None if design.correlation is None else np.linalg.cholesky(
        design.correlation + 1e-12 * np.eye(n_m))
    prev = np.zeros(n_arms, dtype=np.int64)
    run_s = np.zeros((n_sims, n_arms, n_m))
    run_q = np.zeros_like(run_s)
    for k in range(k_looks):
        inc = looks[k] - prev
        prev = looks[k]
        for a in range(n_arms):
            m = int(inc[a])
            if m == 0:
                continue
            z = rng.standard_normal((n_sims, n_m))
            if chol is not None:
                z = z @ chol.T
            for j, met in enumerate(ms):
                mean = met.baseline + (effects[a, j] if a > 0 else 0.0)
                if met.kind == "conversion":
                    if not 0 < mean < 1:
                        raise ModelError(f"metric {met.name!r}: the simulated rate {mean!r} "
                                         "is outside (0, 1)")
                    x = (stats.binom.ppf(special.ndtr(z[:, j]), m, mean) if chol is not None
                         else rng.binomial(m, mean, n_sims)).astype(float)
                    run_s[:, a, j] += x
                    run_q[:, a, j] += x
                else:
                    s = m * mean + met.sd * math.sqrt(m) * z[:, j]
                    within = met.sd**2 * rng.chisquare(m - 1, n_sims) if m > 1 else 0.0
                    run_s[:, a, j] += s
                    run_q[:, a, j] += within + s**2 / m
        sums[:, k] = run_s
        sumsq[:, k] = run_q
    return sums, sumsq


@dataclass
class _Looked:
    """Per experiment, look, variant and metric: what both sides read (arrays (S, K, V, M))."""

    est: np.ndarray
    se: np.ndarray
    z_pooled: np.ndarray
    p_two: np.ndarray
    prob: np.ndarray           # P(Delta > 0), exact where refined
    exact_prob: np.ndarray     # bool: prob is the exact rule's
    loss: np.ndarray           # relative expected loss of shipping (conversion) or loss / mean
    exact_loss: np.ndarray
    params: dict               # what the exact refinements need
    guard_prob: dict           # metric index -> P(Delta > margin), (S, K, V)


def _prepare(design: PlanDesign, sums, sumsq) -> _Looked:
    n = design.looks.astype(float)                         # (K, A)
    n_c = n[None, :, :1, None]
    n_t = n[None, :, 1:, None]
    s_c, s_t = sums[:, :, :1, :], sums[:, :, 1:, :]
    mean_c, mean_t = s_c / n_c, s_t / n_t
    var_c = np.maximum(sumsq[:, :, :1, :] - s_c**2 / n_c, 0.0) / np.maximum(n_c - 1, 1)
    var_t = np.maximum(sumsq[:, :, 1:, :] - s_t**2 / n_t, 0.0) / np.maximum(n_t - 1, 1)
    conv = np.array([m.kind == "conversion" for m in design.metrics])
    with np.errstate(divide="ignore", invalid="ignore"):
        return _prepare_arrays(design, conv, n_c, n_t, s_c, s_t, mean_c, mean_t, var_c, var_t)


def _prepare_arrays(design, conv, n_c, n_t, s_c, s_t, mean_c, mean_t, var_c, var_t):
    est = mean_t - mean_c
    se = np.sqrt(var_c / n_c + var_t / n_t)
    # conversion: the pooled z of the two-proportion test; continuous: Welch's z
    pool = (s_c + s_t) / (n_c + n_t)
    se0 = np.sqrt(pool * (1 - pool) * (1 / n_c + 1 / n_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(conv, est / se0, est / se)
        z = np.where(np.isfinite(z), z, 0.0)
    p_two = 2 * special.ndtr(-np.abs(z))
    # Bayes: Beta posteriors (conversion), flat-prior normal posterior (continuous)
    prior = np.array([(m.prior or (1.0, 1.0)) if m.kind == "conversion" else (1.0, 1.0)
                      for m in design.metrics])
    a0, b0 = prior[:, 0], prior[:, 1]
    a_t, b_t = a0 + s_t, b0 + n_t - s_t
    a_c, b_c = a0 + s_c, b0 + n_c - s_c
    mu_t, mu_c = a_t / (a_t + b_t), a_c / (a_c + b_c)
    v_t = a_t * b_t / ((a_t + b_t) ** 2 * (a_t + b_t + 1))
    v_c = a_c * b_c / ((a_c + b_c) ** 2 * (a_c + b_c + 1))
    m_b = np.where(conv, mu_t - mu_c, est)
    s_b = np.where(conv, np.sqrt(v_t + v_c), se)
    with np.errstate(divide="ignore", invalid="ignore"):
        prob = np.where(s_b > 0, special.ndtr(m_b / s_b), 0.5)
        # relative loss E[(1 - p_T/p_C)^+] by the delta method on r = p_T/p_C - 1
        r_mean = mu_t / mu_c - 1
        r_sd = np.sqrt(v_t / mu_c**2 + mu_t**2 * v_c / mu_c**4)
        zr = r_mean / r_sd
        rel_loss = r_sd * np.exp(-zr**2 / 2) / math.sqrt(2 * math.pi) - r_mean * special.ndtr(
            -zr)
        zc = est / se
        abs_loss = se * np.exp(-zc**2 / 2) / math.sqrt(2 * math.pi) - est * special.ndtr(-zc)
        base = np.abs(mean_c)
        loss = np.where(conv, rel_loss, np.where(base > 0, abs_loss / base, 0.0))
    loss = np.where(np.isfinite(loss), loss, np.inf)
    exact = np.broadcast_to(~conv, prob.shape).copy()     # continuous: already exact
    params = {"a_t": a_t, "b_t": b_t, "a_c": np.broadcast_to(a_c, a_t.shape),
              "b_c": np.broadcast_to(b_c, a_t.shape), "conv": conv}
    guard = {}
    for j, met in enumerate(design.metrics):
        if met.role == "guardrail":
            with np.errstate(divide="ignore", invalid="ignore"):
                g = 1 - special.ndtr((met.margin - m_b[..., j]) / s_b[..., j])
            guard[j] = np.where(np.isfinite(g), g, 0.0)
    return _Looked(est=est, se=se, z_pooled=z, p_two=p_two, prob=prob, exact_prob=exact,
                   loss=loss, exact_loss=exact.copy(), params=params, guard_prob=guard)


def _refine(looked: _Looked, which: np.ndarray, what: str) -> None:
    """Recompute ``what`` ("prob" or "loss") exactly where ``which`` and not yet exact."""
    from bayeslab.kernels import beta as K

    done = looked.exact_prob if what == "prob" else looked.exact_loss
    todo = which & ~done
    if not todo.any():
        return
    p = looked.params
    args = [np.broadcast_to(p[k], todo.shape)[todo] for k in ("a_t", "b_t", "a_c", "b_c")]
    uniq, inverse = np.unique(np.stack(args, axis=1), axis=0, return_inverse=True)
    if what == "prob":
        vals = np.atleast_1d(K.prob_greater(*uniq.T, accuracy="simulation"))
        looked.prob[todo] = vals[np.ravel(inverse)]
    else:
        vals = np.atleast_1d(K.expected_loss(*uniq.T, relative=True, accuracy="simulation"))
        looked.loss[todo] = vals[np.ravel(inverse)]
    done[todo] = True


def _bayes_ship(looked: _Looked, threshold: float, loss_threshold: float, idx) -> np.ndarray:
    """Bayes ship per (S, K, V) for metric ``idx``: P(better) >= t and loss <= L, exactly."""
    conv = looked.params["conv"][idx]
    if conv:
        near = np.zeros(looked.prob.shape, dtype=bool)
        near[..., idx] = np.abs(looked.prob[..., idx] - threshold) < _BAND
        _refine(looked, near, "prob")
        cand = np.zeros_like(near)
        cand[..., idx] = (looked.prob[..., idx] >= threshold) & (
            np.abs(looked.loss[..., idx] - loss_threshold) < 0.5 * loss_threshold + 1e-4)
        _refine(looked, cand, "loss")
    return (looked.prob[..., idx] >= threshold) & (looked.loss[..., idx] <= loss_threshold)


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values over the last axis (vectorized Holm, BH, Bonferroni)."""
    m = p.shape[-1]
    if method == "none" or m == 1:
        return p
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p, axis=-1)
    ps = np.take_along_axis(p, order, axis=-1)
    if method == "holm":
        adj = np.maximum.accumulate(ps * (m - np.arange(m)), axis=-1)
    else:  # bh
        adj = np.minimum.accumulate((ps * m / np.arange(1, m + 1))[..., ::-1], axis=-1)[..., ::-1]
    adj = np.minimum(adj, 1.0)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=-1)
    return out


def _family(design: PlanDesign) -> list[int]:
    """Metric indices whose win is claimed (primary first, then secondaries)."""
    return [j for j, m in enumerate(design.metrics) if m.role == "primary"] + [
        j for j, m in enumerate(design.metrics) if m.role == "secondary"]


def _freq_wins(design: PlanDesign, looked: _Looked, alpha: float) -> np.ndarray:
    """Frequentist wins (S, K, V, F) over the family, p-values corrected over the scope."""
    fam = _family(design)
    p = looked.p_two[..., fam]                                   # (S, K, V, F)
    good = looked.est[..., fam] > 0
    method = design.correction
    if method != "none":
        v_scope, m_scope = "variants" in design.scope, "metrics" in design.scope
        s, k, v, f = p.shape
        if v_scope and m_scope:
            p = _adjust(p.reshape(s, k, v * f), method).reshape(s, k, v, f)
        elif v_scope:
            p = np.moveaxis(_adjust(np.moveaxis(p, 2, -1), method), -1, 2)
        elif m_scope:
            p = _adjust(p, method)
    return (p < alpha) & good


def _family_size(design: PlanDesign) -> int:
    v = len(design.arms) - 1
    f = len(_family(design))
    size = 1
    if design.correction != "none":
        size = (v if "variants" in design.scope else 1) * (f if "metrics" in design.scope else 1)
    return size


def _guards_pass(design: PlanDesign, looked: _Looked, side: str, threshold: float,
                 alpha: float) -> np.ndarray:
    """Every guardrail passes, per (S, K, V)."""
    ok = np.ones(looked.est.shape[:3], dtype=bool)
    z_ni = special.ndtri(1 - alpha / 2)
    for j, met in enumerate(design.metrics):
        if met.role != "guardrail":
            continue
        if side == "bayes":
            g = looked.guard_prob[j]
            if looked.params["conv"][j]:
                from bayeslab.sequential.look_stats import LookStats
                from bayeslab.sequential.posteriors import lift_cdf

                near = np.abs(g - (1 - threshold)) < _BAND
                if near.any():
                    p = looked.params
                    sel = [np.broadcast_to(p[k][..., j], near.shape)[near]
                           for k in ("a_t", "b_t", "a_c", "b_c")]
                    one = np.ones(sel[0].shape)
                    st = LookStats(look=0, n_looks=1, n_control=sel[2] + sel[3] - 2 * one,
                                   n_treatment=sel[0] + sel[1] - 2 * one,
                                   sum_control=sel[2] - one, sum_treatment=sel[0] - one,
                                   sumsq_control=sel[2] - one, sumsq_treatment=sel[0] - one,
                                   metric="binary")
                    g = g.copy()
                    g[near] = 1 - lift_cdf(st, met.margin, prior=(1.0, 1.0))
            ok &= g <= 1 - threshold
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (met.margin - looked.est[..., j]) / looked.se[..., j]
            ok &= np.where(np.isfinite(z), z, 0.0) > z_ni
    return ok


def _side_paths(design: PlanDesign, looked: _Looked, threshold: float, alpha: float):
    """Per side: (ships (S,), look of the decision (S,), any family claim (S,))."""
    k_looks = design.looks.shape[0]
    ip = _family(design)[0]
    fam = _family(design)
    out = {}
    # --- the Bayes side
    wins_b = np.stack([_bayes_ship(looked, threshold, design.loss_threshold, j) for j in fam],
                      axis=-1)                                           # (S, K, V, F)
    guard_b = _guards_pass(design, looked, "bayes", threshold, alpha)    # (S, K, V)
    # --- the frequentist side
    wins_f = _freq_wins(design, looked, alpha)
    guard_f = _guards_pass(design, looked, "frequentist", threshold, alpha)
    if design.sequential:
        success = threshold if design.success is None else design.success
        p = looked.prob[..., ip]
        near = np.zeros(looked.prob.shape, dtype=bool)
        near[..., ip] = np.abs(p - success) < _BAND
        if design.futility is not None:
            near[..., ip] |= np.abs(p - design.futility) < _BAND
        _refine(looked, near, "prob")
        p = looked.prob[..., ip]
        stop_b = p >= success                                           # success, (S, K, V)
        fut_b = p <= design.futility if design.futility is not None else np.zeros_like(stop_b)
        from bayeslab.sequential.boundaries import group_sequential_design

        total = design.looks.sum(axis=1).astype(float)
        gs = group_sequential_design(fractions=list(total / total[-1]),
                                     alpha=alpha / _family_size(design), sides=2,
                                     spending=design.spending or "obf")
        z = looked.z_pooled[..., ip]
        up = np.asarray(gs.upper)[None, :, None]
        stop_f = z >= up
        fut_f = z <= -up
        # the last look decides by the plan's rule, as the run's readout does
        stop_b[:, -1] = wins_b[:, -1, :, 0]
        stop_f[:, -1] = wins_f[:, -1, :, 0]
        paths = {"bayes": (stop_b, fut_b, wins_b, guard_b),
                 "frequentist": (stop_f, fut_f, wins_f, guard_f)}
    else:
        paths = {"bayes": (wins_b[..., 0], np.zeros_like(guard_b), wins_b, guard_b),
                 "frequentist": (wins_f[..., 0], np.zeros_like(guard_f), wins_f, guard_f)}
    s_idx = np.arange(looked.est.shape[0])
    for side, (succ, fut, wins, guard) in paths.items():
        ships_v = succ & guard                                          # (S, K, V)
        # a variant is still running until it stopped (success or futility) at an earlier look
        stopped_before = np.cumsum(succ | fut, axis=1) - (succ | fut) > 0
        ships_v &= ~stopped_before
        any_ship = ships_v.any(axis=2)                                  # (S, K)
        ends = (succ | fut | stopped_before).all(axis=2)                # every variant stopped
        decided = any_ship | ends
        decided[:, -1] = True
        look = np.argmax(decided, axis=1)
        ships = any_ship[s_idx, look]
        claim = wins[s_idx, look].reshape(len(s_idx), -1).any(axis=1) | ships
        out[side] = (ships, look, claim)
    del k_looks
    return out


def _simulate(design: PlanDesign, effects, n_sims, rng, threshold, alpha):
    sums, sumsq = _draw(design, effects, n_sims, rng)
    looked = _prepare(design, sums, sumsq)
    return looked, _side_paths(design, looked, threshold, alpha)


def _summ(design, null, alt, n_sims) -> dict:
    total = design.looks.sum(axis=1).astype(float)
    out = {}
    for side in ("bayes", "frequentist"):
        out[side] = SideOC(false_ship_rate=float(null[side][0].mean()),
                           power=float(alt[side][0].mean()),
                           expected_n=float(total[alt[side][1]].mean()),
                           expected_n_null=float(total[null[side][1]].mean()),
                           family_wise_rate=float(null[side][2].mean()), n_sims=n_sims)
    both_null = null["bayes"][0] & null["frequentist"][0]
    both_alt = alt["bayes"][0] & alt["frequentist"][0]
    out["combined"] = SideOC(
        false_ship_rate=float(both_null.mean()), power=float(both_alt.mean()),
        expected_n=float(total[np.maximum(alt["bayes"][1], alt["frequentist"][1])].mean()),
        expected_n_null=float(total[np.maximum(null["bayes"][1],
                                               null["frequentist"][1])].mean()),
        family_wise_rate=float((null["bayes"][2] & null["frequentist"][2]).mean()),
        n_sims=n_sims)
    return out


def _check_sims(n_sims):
    from bayeslab.sequential.operating import MAX_SIMS

    if isinstance(n_sims, bool) or not isinstance(n_sims, (int, np.integer)) or not \
            100 <= n_sims <= MAX_SIMS:
        raise ModelError(f"n_sims must be an integer from 100 to {MAX_SIMS:,}, got {n_sims!r}")


def _effects(design: PlanDesign, primary_effect: float) -> np.ndarray:
    eff = np.zeros((len(design.arms), len(design.metrics)))
    j = next(i for i, m in enumerate(design.metrics) if m.role == "primary")
    eff[1:, j] = primary_effect
    return eff


def plan_operating_characteristics(design: PlanDesign, *, n_sims: int = DEFAULT_SIMS,
                                   seed: int = 0) -> PlanOC:
    """Simulate the plan's whole rule under the null and under the MDE (see the module).

    Parameters
    ----------
    design : PlanDesign
    n_sims : int
        Simulated experiments under each hypothesis (default 10,000: every rate's Monte Carlo
        standard error is at most 0.005).
    seed : int
        The same seed gives the same numbers.

    Returns
    -------
    PlanOC
    """
    _check_sims(n_sims)
    mde = design.mde if design.mde is not None else design.default_mde()
    rng = np.random.default_rng(seed)
    _, null = _simulate(design, _effects(design, 0.0), n_sims, rng, design.prob_threshold,
                        design.alpha)
    _, alt = _simulate(design, _effects(design, mde), n_sims, rng, design.prob_threshold,
                       design.alpha)
    return PlanOC(design=design, sides=_summ(design, null, alt, n_sims), mde=float(mde),
                  seed=seed)


@dataclass(frozen=True)
class Calibration:
    """Thresholds that meet a target false-ship rate, and the rates re-simulated with them."""

    target: float
    prob_threshold: float
    alpha: float
    check: PlanOC

    def sentence(self) -> str:
        """The thresholds found and the re-simulated rates, in one sentence."""
        c = self.check
        return (f"Calibrated to a false-ship rate of {self.target:.1%} per side: Bayesian "
                f"threshold P >= {self.prob_threshold:.4f}, frequentist alpha "
                f"{self.alpha:.4g}; re-simulated with fresh data they give "
                f"{c['bayes'].false_ship_rate:.1%} (± {c['bayes'].mc_se['false_ship_rate']:.1%})"
                f" and {c['frequentist'].false_ship_rate:.1%} (± "
                f"{c['frequentist'].mc_se['false_ship_rate']:.1%}).")

    def to_dict(self) -> dict:
        """JSON form."""
        return {"target_false_ship": self.target, "prob_threshold": self.prob_threshold,
                "alpha": self.alpha, "check": self.check.to_dict(), "sentence": self.sentence()}


def calibrate(design: PlanDesign, target: float, *, n_sims: int = DEFAULT_SIMS,
              seed: int = 0) -> Calibration:
    """The Bayesian threshold and the frequentist alpha whose false-ship rate is ``target``.

    Each side's false-ship rate falls as its threshold tightens; on one set of simulated null
    experiments (common random numbers) each is found by bisection (40 halvings), then the plan
    is simulated again with another seed at the thresholds found, as the check. With a
    sequential plan the Bayesian threshold is the monitor's success threshold and the final
    look's.

    Parameters
    ----------
    design : PlanDesign
    target : float
        The false-ship rate wanted for each side, in (0, 0.5).
    n_sims, seed
        As in :func:`plan_operating_characteristics`.

    Returns
    -------
    Calibration
    """
    if not 0 < target < 0.5:
        raise ModelError(f"target_false_ship must be in (0, 0.5), got {target!r}")
    _check_sims(n_sims)
    rng = np.random.default_rng(seed)
    sums, sumsq = _draw(design, _effects(design, 0.0), n_sims, rng)
    looked = _prepare(design, sums, sumsq)
    seq = replace(design, success=None) if design.sequential else design

    def rate(side, t, a):
        return _side_paths(seq, looked, t, a)[side][0].mean()

    lo, hi = 0.5, 1 - 1e-9                           # Bayes: rate(lo) >= target >= rate(hi)
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rate("bayes", mid, design.alpha) > target else (lo, mid)
    t = hi
    lo, hi = 1e-9, 0.999                             # frequentist alpha: rate grows with alpha
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rate("frequentist", t, mid) <= target else (lo, mid)
    a = lo
    check = plan_operating_characteristics(
        replace(seq, prob_threshold=float(t), alpha=float(a)), n_sims=n_sims, seed=seed + 1)
    return Calibration(target=float(target), prob_threshold=float(t), alpha=float(a),
                       check=check)
