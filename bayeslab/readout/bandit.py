r"""Reading out a bandit experiment: arms compared within periods, never pooled across them.

A bandit changes its traffic weights from period to period. When the rates also move between
periods (weekdays, seasons, a campaign), pooling every period's users of an arm weights the
periods by that arm's own traffic, which differs between arms: the pooled difference mixes the
arms' effect with the periods' (Simpson's paradox across periods). The readout therefore
compares the arms within each period :math:`t` and averages over the periods with the period's
share of all users, :math:`w_t = N_t / N`:

.. math::

    \hat\theta_k = \sum_t w_t\, \hat p_{tk}, \qquad
    \hat\delta_k = \sum_t w_t (\hat p_{tk} - \hat p_{t0}), \qquad
    \widehat{\mathrm{se}}^2(\hat\delta_k) = \sum_t w_t^2 \Bigl(\frac{\hat v_{tk}}{n_{tk}}
        + \frac{\hat v_{t0}}{n_{t0}}\Bigr),

the estimand being the effect on the experiment's whole population, each period counted by its
size (:math:`\hat v = \hat p(1 - \hat p)` for conversions, the sample variance for continuous
values). This is the size-weighted stratified estimator, not Cochran-Mantel-Haenszel, whose
weights :math:`n_{tk} n_{t0} / (n_{tk} + n_{t0})` follow the bandit's own allocation and would
estimate a differently weighted average when the effect varies between periods.

- **Frequentist**: the stratified z-test: :math:`z = \hat\delta / \widehat{\mathrm{se}}`, a Wald
  interval and a two-sided p-value.
- **Bayesian**: each cell's rate has its own posterior, :math:`p_{tk} \sim \mathrm{Beta}(c\,r_t
  + y_{tk}, c\,(1 - r_t) + n_{tk} - y_{tk})` (conversion; the prior is centered at the period's
  rate over all arms :math:`r_t` with the weight of :math:`c` = ``prior_units`` = 2 units, an
  empirical-Bayes choice: a Beta(1, 1) prior in every cell would pull the few units a bandit
  leaves a losing arm towards 50 %, by :math:`(0.5 - p)/(n_{tk} + 2)` per cell), or
  :math:`N(\bar y_{tk}, s_{tk}^2 / n_{tk})` (continuous, flat prior); the posterior of
  :math:`\delta_k = \sum_t w_t (p_{tk} - p_{t0})` is exactly normal for continuous metrics and
  drawn (``draws`` independent Beta draws per cell, seeded) for conversions.

A period in which an arm had no users cannot compare it and is left out of that arm's
comparison (its weights renormalized over the other periods, and said so). The pooled
(unstratified) difference is shown beside, with the gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import jsonable

KINDS = ("conversion", "continuous")


def pooled_difference(n, y, control: int = 0) -> np.ndarray:
    r"""Pooled difference of every arm's rate against the control (axes ``(..., T, K)``).

    :math:`\sum_t y_{tk} / \sum_t n_{tk} - \sum_t y_{t0} / \sum_t n_{t0}`: what ignoring the
    periods gives.
    """
    n = np.asarray(n, dtype=float)
    y = np.asarray(y, dtype=float)
    rate = y.sum(axis=-2) / n.sum(axis=-2)
    return rate - rate[..., control:control + 1]


def stratified_difference(n, y, control: int = 0, var=None):
    r"""Size-weighted stratified difference of every arm against the control, and its se.

    Axes ``(..., T, K)``; ``y`` holds conversions, or sums of values when ``var`` (the cells'
    sample variances) is given. Periods where the arm or the control had no users are left out
    of that arm's comparison. Returns ``(estimate, se)`` of shape ``(..., K)`` (0 for the
    control); see the module docstring for the formulas.
    """
    n = np.asarray(n, dtype=float)
    y = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, y / np.where(n > 0, n, 1.0), 0.0)
        v = p * (1.0 - p) if var is None else np.asarray(var, dtype=float)
        cell_var = np.where(n > 0, v / np.where(n > 0, n, 1.0), 0.0)
    size = n.sum(axis=-1, keepdims=True)                                # N_t, (..., T, 1)
    c = slice(control, control + 1)
    usable = (n > 0) & (n[..., c] > 0)                                   # (..., T, K)
    w = np.where(usable, size, 0.0)
    w = w / w.sum(axis=-2, keepdims=True)
    est = np.sum(w * (p - p[..., c]), axis=-2)
    se = np.sqrt(np.sum(w**2 * (cell_var + cell_var[..., c]), axis=-2))
    return est, se


@dataclass(frozen=True)
class BanditReadout:
    r"""Stratified (by period) readout of a bandit experiment.

    Attributes
    ----------
    metric, period, kind, control : str
    arms : tuple of str
        Control first.
    periods : tuple of str
    period_weights : tuple of float
        :math:`w_t = N_t / N`.
    n : tuple of float
        Units per arm (all periods).
    rate : tuple of float
        Stratified rate (or mean) per arm, :math:`\sum_t w_t \hat p_{tk}` over every period
        with units in the arm.
    pooled_rate : tuple of float
        Pooled rate per arm, :math:`\sum_t y_{tk} / \sum_t n_{tk}`.
    effects : tuple of dict
        Per treatment arm: ``arm``, ``estimate``, ``se``, ``lower``, ``upper``, ``p_value`` (the
        stratified z), ``bayes_mean``, ``bayes_lower``, ``bayes_upper``, ``prob_positive``,
        ``pooled`` (the pooled difference), ``periods_used``.
    interval : float
    draws : int
        Posterior draws per cell (conversion; 0 for continuous: exact normal).
    seed : int
    notes : tuple of str
    prior_units : float
        Weight in units of each cell's Beta prior (conversion).
    """

    metric: str
    period: str
    kind: str
    control: str
    arms: tuple
    periods: tuple
    period_weights: tuple
    n: tuple
    rate: tuple
    pooled_rate: tuple
    effects: tuple
    interval: float
    draws: int
    seed: int
    notes: tuple = field(default=())
    prior_units: float = 2.0

    @property
    def method(self) -> str:
        """One sentence: how the arms are compared."""
        bayes = (f"{self.draws:,} Beta posterior draws per period and arm, each cell's prior "
                 f"worth {self.prior_units:g} units at the period's rate" if self.draws
                 else "the exact normal posterior")
        return (f"stratified by {self.period!r} ({len(self.periods)} periods): each arm is "
                "compared with the control within every period and the differences are "
                "averaged with the period's share of all users (size-weighted, not CMH); "
                f"frequentist: stratified z-test; Bayes: posterior of the same average "
                f"({bayes}). A pooled comparison is biased when weights and rates both "
                "change over the periods")

    def summary(self):
        """DataFrame, one row per treatment arm: both sides' estimate, interval, P / p, pooled."""
        import pandas as pd

        return pd.DataFrame([dict(e) for e in self.effects]).set_index("arm")

    def to_dict(self) -> dict:
        """JSON-safe dict of every field and the method sentence."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["method"] = self.method
        d["type"] = "bandit"
        return jsonable(d)

    def __str__(self) -> str:
        from bayeslab.core import format as fmt
        from bayeslab.core.text import render_table

        eff = "absolute"
        one = (lambda v: fmt.rate(v)) if self.kind == "conversion" else (
            lambda v: fmt.amount(v, sign=False))
        arms = render_table([[a, fmt.count(n), one(r), one(q)] for a, n, r, q in zip(
            self.arms, self.n, self.rate, self.pooled_rate, strict=True)],
            ["arm", "n", "stratified", "pooled (biased)"])
        lvl = f"{100 * self.interval:g}%"
        rows = []
        for e in self.effects:
            rows.append([f"{e['arm']} - {self.control}",
                         fmt.effect(e["bayes_mean"], eff, self.kind),
                         fmt.interval(e["bayes_lower"], e["bayes_upper"], eff, self.kind),
                         fmt.prob(e["prob_positive"]),
                         fmt.effect(e["estimate"], eff, self.kind),
                         fmt.interval(e["lower"], e["upper"], eff, self.kind),
                         fmt.p_value(e["p_value"]), fmt.effect(e["pooled"], eff, self.kind)])
        table = render_table(rows, ["effect", "Bayes", f"{lvl} credible", "P(> 0)",
                                    "stratified z", f"{lvl} CI", "p", "pooled"])
        return "\n".join([f"bandit readout of {self.metric}: {self.method}", arms, table,
                          *self.notes])


def _cells(data, *, arm, metric, period, n, kind):
    """Per period x arm: units, sums and sample variances (unit rows or aggregated rows)."""
    import pandas as pd

    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        path = str(data)
        frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    else:
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    for c in (arm, metric, period, n):
        if c is not None and c not in frame.columns:
            raise DataError(f"column {c!r} is not in the data (columns: "
                            f"{', '.join(map(str, frame.columns))})", column=c)
    for c in (arm, period):
        if frame[c].isna().any():
            raise DataError(f"column {c!r} has {int(frame[c].isna().sum())} missing values",
                            column=c, rows=int(frame[c].isna().sum()))
    for c in (metric, n):
        if c is None:
            continue
        vals = pd.to_numeric(frame[c], errors="coerce").to_numpy(float)
        if not np.isfinite(vals).all():
            bad = int((~np.isfinite(vals)).sum())
            raise DataError(f"column {c!r} has {bad} missing or non-numeric values", column=c,
                            rows=bad)
    if kind == "conversion" and n is None:
        vals = frame[metric].to_numpy(float)
        if not np.isin(vals, (0.0, 1.0)).all():
            odd = vals[~np.isin(vals, (0.0, 1.0))][0]
            raise DataError(f"column {metric!r} is not 0/1 (value {odd!r}); a continuous"
                            " metric needs kind='continuous'", column=metric)
    if kind == "continuous" and n is not None:
        raise DataError(f"column {n!r}: a continuous bandit readout needs unit rows (the "
                        "variance within each period and arm); leave n out", column=n)
    keys = [frame[period].astype(str), frame[arm].astype(str)]
    g = frame.groupby(keys, sort=True)[metric]
    if n is not None:
        cnt = frame.groupby(keys, sort=True)[n].sum()
        tot = g.sum()
        var = None
    else:
        cnt, tot = g.size().astype(float), g.sum()
        var = g.var(ddof=1) if kind == "continuous" else None
    return cnt, tot, var


def bandit_readout(data, *, arm: str, metric: str, period: str, control=None,
                   n: str | None = None, kind: str = "conversion", interval: float = 0.95,
                   draws: int = 20_000, seed: int = 0,
                   prior_units: float = 2.0) -> BanditReadout:
    r"""Read out a bandit experiment, stratified by period (see the module docstring).

    .. math:: \hat\delta_k = \sum_t \frac{N_t}{N}\,(\hat p_{tk} - \hat p_{t0})

    Parameters
    ----------
    data : pandas.DataFrame, mapping of columns, or a CSV / Parquet path
        Unit rows, or (conversion) rows of ``n`` units and ``metric`` conversions per period
        and arm.
    arm, metric, period : str
        Columns: the arm, the outcome (0/1, a count of conversions, or a value), the period in
        which the weights were fixed (a week, a day).
    control : optional
        Control arm label (default: the first arm in sorted order).
    n : str, optional
        Units column of aggregated conversion rows.
    kind : {"conversion", "continuous"}
    interval : float
    draws : int
        Beta posterior draws per cell (conversion).
    seed : int
    prior_units : float
        Weight :math:`c` (in units) of each cell's Beta prior, centered at the period's rate.

    Returns
    -------
    BanditReadout

    Raises
    ------
    DataError
        A missing column or value, a non-0/1 conversion, an arm with no units at all, a
        continuous metric with a single unit in a cell, fewer than two arms.
    ModelError
        An unknown kind, an interval outside (0, 1), ``prior_units`` not positive.

    See Also
    --------
    bayeslab.design.bandit.bandit_weights : the next period's weights.
    """
    from bayeslab.core.checks import check_interval

    if kind not in KINDS:
        raise ModelError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    check_interval(interval)
    if not (np.isfinite(prior_units) and prior_units > 0):
        raise ModelError(f"prior_units must be a positive number, got {prior_units!r}")
    cnt, tot, var = _cells(data, arm=arm, metric=metric, period=period, n=n, kind=kind)
    periods = tuple(sorted(cnt.index.get_level_values(0).unique()))
    arms = sorted(cnt.index.get_level_values(1).unique())
    ctrl = arms[0] if control is None else str(control)
    if ctrl not in arms:
        raise DataError(f"column {arm!r} has no control arm {ctrl!r} (arms: "
                        f"{', '.join(arms)})", column=arm)
    if len(arms) < 2:
        raise DataError(f"column {arm!r} has one arm; a readout needs two or more", column=arm)
    arms = [ctrl] + [a for a in arms if a != ctrl]
    idx = [(t, a) for t in periods for a in arms]
    shape = (len(periods), len(arms))
    N = cnt.reindex(idx, fill_value=0).to_numpy(float).reshape(shape)
    Y = tot.reindex(idx, fill_value=0).to_numpy(float).reshape(shape)
    if kind == "conversion" and ((Y > N) | (Y < 0)).any():
        raise DataError(f"column {metric!r} has more conversions than units {n!r} in a period",
                        column=metric)
    V = None
    if var is not None:
        V = var.reindex(idx).to_numpy(float).reshape(shape)
        thin = (N == 1)
        if thin.any():
            t, k = np.argwhere(thin)[0]
            raise DataError(f"column {metric!r}: period {periods[t]!r}, arm {arms[k]!r} has one "
                            "unit; a continuous readout needs two per period and arm (merge "
                            "periods)", column=metric)
        V = np.nan_to_num(V)
    empty = N.sum(axis=0) == 0
    if empty.any():
        raise DataError(f"column {arm!r}: arm {arms[int(np.argmax(empty))]!r} has no units",
                        column=arm)
    est, se = stratified_difference(N, Y, 0, V)
    pooled = pooled_difference(N, Y, 0)
    size = N.sum(axis=1)
    pw = size / size.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        P = np.where(N > 0, Y / np.where(N > 0, N, 1), np.nan)
    usable = N > 0
    rate = np.array([np.sum(pw[usable[:, k]] * P[usable[:, k], k]) / pw[usable[:, k]].sum()
                     for k in range(len(arms))])
    z_q = _z(0.5 + interval / 2)
    bayes = _bayes(N, Y, V, kind, interval, draws, seed, prior_units)
    notes = []
    effects = []
    for k in range(1, len(arms)):
        used = usable[:, k] & usable[:, 0]
        if not used.all():
            notes.append(f"arm {arms[k]}: {int((~used).sum())} of {len(periods)} periods left "
                         "out (no units in the arm or the control)")
        from bayeslab.kernels.distributions import norm_sf

        z = est[k] / se[k] if se[k] > 0 else np.nan
        effects.append({"arm": arms[k], "estimate": float(est[k]), "se": float(se[k]),
                        "lower": float(est[k] - z_q * se[k]),
                        "upper": float(est[k] + z_q * se[k]),
                        "p_value": float(2 * norm_sf(abs(z))) if np.isfinite(z) else float("nan"),
                        **bayes[k - 1], "pooled": float(pooled[k]),
                        "periods_used": int(used.sum())})
    gap = max(abs(e["pooled"] - e["estimate"]) for e in effects)
    if gap > 0:
        from bayeslab.core import format as fmt

        notes.append(f"the pooled difference is off the stratified one by up to "
                     f"{fmt.effect(gap, 'absolute', kind).lstrip('+')}: read the stratified")
    return BanditReadout(metric=metric, period=period, kind=kind, control=ctrl,
                         arms=tuple(arms), periods=periods,
                         period_weights=tuple(float(v) for v in pw),
                         n=tuple(float(v) for v in N.sum(axis=0)),
                         rate=tuple(float(v) for v in rate),
                         pooled_rate=tuple(float(v) for v in Y.sum(axis=0) / N.sum(axis=0)),
                         effects=tuple(effects), interval=float(interval),
                         draws=int(draws) if kind == "conversion" else 0, seed=int(seed),
                         notes=tuple(notes), prior_units=float(prior_units))


def _z(q: float) -> float:
    from bayeslab.kernels.distributions import norm_ppf

    return float(norm_ppf(q))


def _bayes(N, Y, V, kind, interval, draws, seed, units=2.0) -> list[dict]:
    """Posterior mean, interval and P(> 0) of each treatment arm's stratified difference."""
    from bayeslab.kernels.distributions import norm_cdf

    size = N.sum(axis=1)
    lo_q, hi_q = 0.5 - interval / 2, 0.5 + interval / 2
    out = []
    if kind == "continuous":
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(N > 0, Y / np.where(N > 0, N, 1), 0.0)
            var = np.where(N > 0, V / np.where(N > 0, N, 1), 0.0)
        z = _z(hi_q)
        for k in range(1, N.shape[1]):
            used = (N[:, k] > 0) & (N[:, 0] > 0)
            w = np.where(used, size, 0.0) / size[used].sum()
            m = float(np.sum(w * (mean[:, k] - mean[:, 0])))
            s = float(np.sqrt(np.sum(w**2 * (var[:, k] + var[:, 0]))))
            out.append({"bayes_mean": m, "bayes_lower": m - z * s, "bayes_upper": m + z * s,
                        "prob_positive": norm_cdf(m / s) if s > 0 else float(m > 0)})
        return out
    r = np.clip(Y.sum(axis=1) / size, 1e-6, 1 - 1e-6)[:, None]        # period rate r_t
    a, b = units * r + Y, units * (1.0 - r) + N - Y
    rng = np.random.default_rng(seed)
    theta = rng.beta(a[..., None], b[..., None], size=(*N.shape, int(draws)))   # (T, K, D)
    post = a / (a + b)
    for k in range(1, N.shape[1]):
        used = (N[:, k] > 0) & (N[:, 0] > 0)
        w = np.where(used, size, 0.0) / size[used].sum()
        d = np.sum(w[:, None] * (theta[:, k] - theta[:, 0]), axis=0)
        lo, hi = np.quantile(d, [lo_q, hi_q])
        out.append({"bayes_mean": float(np.sum(w * (post[:, k] - post[:, 0]))),
                    "bayes_lower": float(lo), "bayes_upper": float(hi),
                    "prob_positive": float(np.mean(d > 0))})
    return out
