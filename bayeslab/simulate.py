"""Scenario generators with known true effects: the five source notebooks, seeded and vectorized.

Each generator draws one synthetic experiment shaped like a source notebook (same column names,
sizes, rates and structure) from an explicit generating model, and returns a :class:`Scenario`
holding the data, the *true* parameters of that model, the column roles bayeslab needs and a
description. Estimators are tested by recovering the truths.

Truth conventions (every scenario)
----------------------------------
``truth["metrics"][column]`` describes one outcome column with keys

``kind``
    ``"binary"``, ``"count"`` or ``"continuous"`` (what :func:`bayeslab.data.stats.sufficient_stats`
    should be told).
``control``, ``treatment``
    Population means of the potential outcomes :math:`E[Y(0)]`, :math:`E[Y(1)]` (a rate for a
    binary column), stated exactly from the generating model: closed forms, finite sums over the
    discrete covariate cells, or Gauss quadrature accurate to about 1e-12 (personalization).
``abs_effect``, ``rel_effect``
    ``treatment - control`` and ``treatment / control - 1``.
``control_sample``, ``treatment_sample``, ``abs_effect_sample``, ``rel_effect_sample``
    The same estimands for the simulated units: means over the rows of each unit's potential-outcome
    expectation :math:`E[Y_i(a) \\mid x_i]` (both arms for every unit, whatever arm it got). An unbiased
    estimator of the sample average treatment effect targets these.

``truth["segments"][column][label]`` (where a scenario has segments) holds ``share`` /
``share_sample`` (population / sample fraction of units in the segment) and, per metric column,
a dict with the keys above restricted to the segment. Two-way segment labels join the two
levels with ``"|"`` (column key ``"ps_plus_member|spend_tier"``, label ``"1|S1_low"``).

Binary primary metrics also get the flat shortcuts ``control_rate``, ``treatment_rate``,
``abs_lift``, ``rel_lift`` (and ``*_sample``) at the top level of ``truth``.

Displayed money columns are rounded to cents and displayed covariates to a few decimals; the truths
refer to the unrounded model (rounding moves a mean by far less than 1e-6).
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

from bayeslab.errors import DataError

SCENARIOS = ("migration", "campaign", "musicstream", "homepage", "personalization")
MIN_ROWS = 100


# --------------------------------------------------------------------------------------------
# Scenario


@dataclass(frozen=True, eq=False)
class Scenario:
    """One simulated experiment with its known truth.

    Attributes
    ----------
    name : str
        Scenario name, one of :data:`SCENARIOS`.
    data : pandas.DataFrame
        Unit-level rows, columns as in the source notebook.
    truth : dict
        True parameters of the generating model (JSON-safe); see the module docstring and the
        generator's docstring for every key.
    roles : dict
        Column roles for bayeslab: ``unit_id``, ``arm``, ``control`` (label of the control arm as a
        string), ``treatment`` (label of the treatment arm), ``metric`` (primary outcome),
        ``kinds`` (outcome column -> kind) and, where they apply, ``guardrails``, ``covariate``,
        ``segments``, ``strata``, ``funnel``, ``date``, ``duration``, ``event``, ``confounders``.
    description : str
        What the scenario simulates, in a few lines.
    params : dict
        Generator arguments actually used (``rows``, ``seed`` and the options).
    """

    name: str
    data: pd.DataFrame
    truth: dict
    roles: dict
    description: str
    params: dict = field(default_factory=dict)

    def write(self, path) -> Path:
        """Write the data (CSV or Parquet, by extension) and a ``<path>.truth.json`` sidecar.

        Parameters
        ----------
        path : str or pathlib.Path
            Target file ending in ``.csv``, ``.parquet`` or ``.pq``.

        Returns
        -------
        pathlib.Path
            The sidecar path (``<path>.truth.json``) holding name, description, params, roles and
            truth.

        Raises
        ------
        DataError
            If the extension is neither CSV nor Parquet.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            self.data.to_csv(path, index=False)
        elif suffix in (".parquet", ".pq"):
            self.data.to_parquet(path, index=False)
        else:
            raise DataError(f"cannot write scenario to {str(path)!r}: the extension must be .csv, "
                            f".parquet or .pq, got {suffix or 'none'!r}")
        sidecar = path.with_name(path.name + ".truth.json")
        payload = {"scenario": self.name, "description": self.description,
                   "params": self.params, "roles": self.roles, "truth": self.truth}
        sidecar.write_text(json.dumps(payload, indent=2) + "\n")
        return sidecar

    def __str__(self) -> str:
        head = self.description.splitlines()[0]
        lines = [f"Scenario {self.name!r}: {len(self.data):,} rows x {self.data.shape[1]} columns",
                 f"  {head}",
                 f"  arm {self.roles['arm']!r} (control {self.roles['control']!r}), "
                 f"metric {self.roles['metric']!r}"]
        for col, m in self.truth["metrics"].items():
            if "abs_effect" in m:
                lines.append(f"  {col:<22} control {m['control']:>10.4f}  treatment "
                             f"{m['treatment']:>10.4f}  effect {m['abs_effect']:+.4f} "
                             f"({m['rel_effect']:+.1%})")
            else:
                lines.append(f"  {col:<22} ATE {m['ate']:+.4f}  ATT {m['att']:+.4f}  naive "
                             f"difference {m['naive_difference']:+.4f}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# shared helpers


def _check_rows(rows, default: int) -> int:
    if rows is None:
        return default
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)):
        raise DataError(f"rows must be an integer >= {MIN_ROWS}, got {rows!r}")
    if rows < MIN_ROWS:
        raise DataError(f"rows must be at least {MIN_ROWS} to populate every arm and segment, "
                        f"got {rows}", rows=int(rows))
    return int(rows)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_fraction(name: str, value, *, low: float = 0.0, high: float = 1.0,
                    low_open: bool = True) -> float:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low) and value < high
    if not ok:
        bracket = "(" if low_open else "["
        raise DataError(f"{name} must be a number in {bracket}{low}, {high}), got {value!r}")
    return float(value)


def _labels(names, codes) -> np.ndarray:
    return np.asarray(names, dtype=object)[codes]


def _wmean(w, x) -> float:
    return float(np.dot(w, x) / np.sum(w))


def _contrast(w, m0, m1, suffix: str = "") -> dict:
    c, t = _wmean(w, m0), _wmean(w, m1)
    return {f"control{suffix}": c, f"treatment{suffix}": t, f"abs_effect{suffix}": t - c,
            f"rel_effect{suffix}": t / c - 1 if c != 0 else None}


def _ratio_contrast(num: dict, den: dict, suffix: str = "") -> dict:
    c = num[f"control{suffix}"] / den[f"control{suffix}"]
    t = num[f"treatment{suffix}"] / den[f"treatment{suffix}"]
    return {f"control{suffix}": c, f"treatment{suffix}": t, f"abs_effect{suffix}": t - c,
            f"rel_effect{suffix}": t / c - 1}


def _metric_truth(kind, pop, sample, ratio=None) -> dict:
    """Population and sample contrasts of one metric; ``pop``/``sample`` are (w, m0, m1)."""
    out = {"kind": kind, **_contrast(*pop), **_contrast(*sample, suffix="_sample")}
    return out


def _segment_truth(pop_codes, pop_w, pop_metrics, unit_codes, unit_metrics, labels,
                   ratios=()) -> dict:
    """Per-segment truths. ``*_metrics`` map column -> (m0, m1) arrays over cells / units."""
    ones = np.ones(len(unit_codes))
    total = np.sum(pop_w)
    out = {}
    for g, label in enumerate(labels):
        pm, um = pop_codes == g, unit_codes == g
        entry = {"share": float(np.sum(pop_w[pm]) / total), "share_sample": float(np.mean(um))}
        for col, (m0, m1) in pop_metrics.items():
            u0, u1 = unit_metrics[col]
            entry[col] = {**_contrast(pop_w[pm], m0[pm], m1[pm]),
                          **_contrast(ones[um], u0[um], u1[um], "_sample")}
        for name, num, den in ratios:
            entry[name] = {**_ratio_contrast(entry[num], entry[den]),
                           **_ratio_contrast(entry[num], entry[den], "_sample")}
        out[label] = entry
    return out


def _flat_rates(m: dict) -> dict:
    out = {}
    for suffix in ("", "_sample"):
        out.update({f"control_rate{suffix}": m[f"control{suffix}"],
                    f"treatment_rate{suffix}": m[f"treatment{suffix}"],
                    f"abs_lift{suffix}": m[f"abs_effect{suffix}"],
                    f"rel_lift{suffix}": m[f"rel_effect{suffix}"]})
    return out


def _finish(name, data, truth, roles, description, params) -> Scenario:
    from bayeslab.results import jsonable

    return Scenario(name=name, data=data, truth=jsonable(truth), roles=jsonable(roles),
                    description=description, params=jsonable(params))


def _expit(x):
    return special.expit(x)


# --------------------------------------------------------------------------------------------
# 000 migration: stratified PS4 -> PS5 campaign

_SPEND = ("S1_low", "S2_mid", "S3_high", "S4_vhigh")
_ENGAGE = ("E1_low", "E2_mid", "E3_high", "E4_vhigh")
_SPEND_MU, _SPEND_SIGMA = float(np.log(45.0)), 0.8     # last_90d_spend ~ LogNormal
_SPEND_CUTS = (26.0, 45.0, 77.0)                      # spend tier edges on the rounded dollars
_SESSION_MEAN = (8.5, 9.0, 9.5, 10.0)                 # E[sessions] by spend tier
_SESSION_SHAPE = 6.0                                  # Gamma shape of the session rate
_SESSION_CUTS = (6, 9, 13)                            # E1 <= 6 < E2 <= 9 < E3 <= 13 < E4
_COUNTRIES = ("US", "UK", "DE", "FR", "JP")
_COUNTRY_P = (0.35, 0.2, 0.15, 0.15, 0.15)
_REV_ACTIVE, _REV_DIRECT, _REV_PS5 = 0.85, 9.0, 50.0
_GUARDRAILS = {"unsubscribe_flag": (0.004, 0.007), "optout_flag": (0.006, 0.011)}
_SESSION_LIFT = 0.05


def _migration_plus_prob(s, e):
    return _expit(-0.7 + 0.3 * s + 0.15 * e)


def _migration_conversion(s, e, plus, t):
    """P(ps5_purchase_30d = 1) for spend tier s, engagement tier e (0..3), PS+ and arm t."""
    logit0 = -2.03 + 0.10 * s + 0.12 * e + 0.30 * plus
    tau = 0.09 - 0.03 * s + 0.03 * e + 0.24 * plus + 0.02 * plus * s
    return _expit(logit0 + t * tau)


def _spend_tier_probs() -> np.ndarray:
    # round(L, 2) < c  <=>  L < c - 0.005 (ties have probability zero)
    z = (np.log(np.array(_SPEND_CUTS) - 0.005) - _SPEND_MU) / _SPEND_SIGMA
    return np.diff(np.concatenate([[0.0], stats.norm.cdf(z), [1.0]]))


def _engage_tier_probs(s: int) -> np.ndarray:
    m = _SESSION_MEAN[s]
    cdf = stats.nbinom.cdf(_SESSION_CUTS, _SESSION_SHAPE, _SESSION_SHAPE / (_SESSION_SHAPE + m))
    return np.diff(np.concatenate([[0.0], cdf, [1.0]]))


def simulate_migration(rows: int = 50_000, seed: int = 0) -> Scenario:
    """PS4 -> PS5 migration campaign with stratified 50/50 randomization (notebook 000).

    Units fall in 16 strata, spend tier (``S1_low`` .. ``S4_vhigh``, fixed edges 26, 45, 77 on
    ``last_90d_spend``) x engagement tier (``E1_low`` .. ``E4_vhigh``: ``last_30d_sessions`` <= 6,
    7-9, 10-13, >= 14). Within every stratum exactly half the units are treated (an odd stratum
    gives its extra unit to a fair coin), as in the notebook.

    Generating model, for unit i with spend tier s and engagement tier e coded 0..3:

    - ``last_90d_spend`` :math:`L_i \\sim \\mathrm{LogNormal}(\\log 45, 0.8)`;
      ``pre_30d_spend`` :math:`= L_i/3 \\cdot \\Gamma(20, 1/20)`.
    - session rate :math:`r_i \\sim \\Gamma(6, m_s/6)`, :math:`m = (8.5, 9, 9.5, 10)`;
      ``last_30d_sessions`` ~ Poisson(:math:`r_i`); ``post_30d_sessions`` ~
      Poisson(:math:`r_i (1 + 0.05 t)`).
    - ``ps_plus_member`` ~ Bernoulli(expit(-0.7 + 0.3 s + 0.15 e)).
    - ``ps5_purchase_30d`` ~ Bernoulli(expit(-2.03 + 0.10 s + 0.12 e + 0.30 plus + t tau)),
      tau = 0.09 - 0.03 s + 0.03 e + 0.24 plus + 0.02 plus s (log-odds; heterogeneous lift).
    - ``revenue_60d`` = Z (2 L/3) G + purchase B + t Z U with Z ~ Bernoulli(0.85),
      G ~ Gamma(10, 1/10), B ~ Gamma(4, 12.5) (mean 50), U ~ Gamma(2, 4.5) (mean 9): zero-inflated,
      right-skewed, correlated with ``pre_30d_spend`` (CUPED removes about 40% of the variance).
      True effect 0.85 * 9 + 50 * (conversion lift).
    - ``unsubscribe_flag`` rate 0.4% -> 0.7%, ``optout_flag`` 0.6% -> 1.1% (harmful guardrails).

    Parameters
    ----------
    rows : int, default 50_000
        Number of users (at least :data:`MIN_ROWS`).
    seed : int, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same frame.

    Returns
    -------
    Scenario
        ``truth`` keys: ``treatment_share`` (0.5); ``metrics`` for ``ps5_purchase_30d``,
        ``revenue_60d``, ``post_30d_sessions``, ``unsubscribe_flag``, ``optout_flag``;
        ``segments`` by ``stratum`` and by ``"ps_plus_member|spend_tier"`` (conversion and revenue);
        ``control_rate`` .. ``rel_lift`` shortcuts for the conversion.

    Raises
    ------
    DataError
        If ``rows`` or ``seed`` is invalid.
    """
    n, seed = _check_rows(rows, 50_000), _check_seed(seed)
    rng = np.random.default_rng(seed)

    spend = rng.lognormal(_SPEND_MU, _SPEND_SIGMA, n)
    last_90d = np.round(spend, 2)
    s = np.searchsorted(np.array(_SPEND_CUTS), last_90d, side="right")
    m_s = np.asarray(_SESSION_MEAN)[s]
    rate = rng.gamma(_SESSION_SHAPE, m_s / _SESSION_SHAPE)
    sessions = rng.poisson(rate)
    e = np.searchsorted(np.array(_SESSION_CUTS), sessions, side="left")
    plus = (rng.random(n) < _migration_plus_prob(s, e)).astype(np.int64)
    stratum = s * 4 + e

    # exact 50/50 within stratum: random order inside each stratum, first half treated
    order = np.lexsort((rng.random(n), stratum))
    counts = np.bincount(stratum, minlength=16)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    extra = (counts % 2 == 1) & (rng.random(16) < 0.5)
    treat = (rank < counts[stratum] // 2 + extra[stratum]).astype(np.int64)

    p0 = _migration_conversion(s, e, plus, 0)
    p1 = _migration_conversion(s, e, plus, 1)
    purchase = (rng.random(n) < np.where(treat == 1, p1, p0)).astype(np.int64)
    active = rng.random(n) < _REV_ACTIVE
    revenue = (active * (2 * spend / 3) * rng.gamma(10.0, 0.1, n)
               + purchase * rng.gamma(4.0, _REV_PS5 / 4, n)
               + treat * active * rng.gamma(2.0, _REV_DIRECT / 2, n))
    post_sessions = rng.poisson(rate * (1 + _SESSION_LIFT * treat))
    flags = {}
    for col, (r0, r1) in _GUARDRAILS.items():
        flags[col] = (rng.random(n) < np.where(treat == 1, r1, r0)).astype(np.int64)

    spend_l, engage_l = _labels(_SPEND, s), _labels(_ENGAGE, e)
    data = pd.DataFrame({
        "user_id": np.arange(1, n + 1, dtype=np.int64),
        "country": _labels(_COUNTRIES, rng.choice(len(_COUNTRIES), n, p=_COUNTRY_P)),
        "platform_tenure_days": rng.integers(30, 3651, n, dtype=np.int64),
        "last_30d_sessions": sessions.astype(np.int64),
        "last_90d_spend": last_90d,
        "ps_plus_member": plus,
        "pre_30d_spend": np.round(spend / 3 * rng.gamma(20.0, 0.05, n), 2),
        "spend_tier": spend_l,
        "engagement_tier": engage_l,
        "stratum": _labels([f"{a}_{b}" for a in _SPEND for b in _ENGAGE], stratum),
        "treatment": treat,
        "ps5_purchase_30d": purchase,
        "revenue_60d": np.round(revenue, 2),
        "post_30d_sessions": post_sessions.astype(np.int64),
        **flags,
    })

    # population cells: spend tier x engagement tier x PS+
    ps = _spend_tier_probs()
    cs, ce, cp = (a.ravel() for a in np.meshgrid(np.arange(4), np.arange(4), [0, 1],
                                                 indexing="ij"))
    pe = np.array([_engage_tier_probs(k) for k in range(4)])
    pplus = _migration_plus_prob(cs, ce)
    w = ps[cs] * pe[cs, ce] * np.where(cp == 1, pplus, 1 - pplus)
    c0, c1 = _migration_conversion(cs, ce, cp, 0), _migration_conversion(cs, ce, cp, 1)
    mean_spend = np.exp(_SPEND_MU + _SPEND_SIGMA**2 / 2)
    base = _REV_ACTIVE * 2 / 3
    direct = _REV_ACTIVE * _REV_DIRECT
    cw = np.ones(len(c0))
    ones = np.ones(n)
    pop_rev = (base * mean_spend + _REV_PS5 * c0, base * mean_spend + _REV_PS5 * c1 + direct)
    unit_rev = (base * spend + _REV_PS5 * p0, base * spend + _REV_PS5 * p1 + direct)
    mean_rate = float(np.dot(ps, _SESSION_MEAN))
    metrics = {
        "ps5_purchase_30d": _metric_truth("binary", (w, c0, c1), (ones, p0, p1)),
        "revenue_60d": _metric_truth("continuous", (w, *pop_rev), (ones, *unit_rev)),
        "post_30d_sessions": _metric_truth(
            "count", (cw, cw * mean_rate, cw * mean_rate * (1 + _SESSION_LIFT)),
            (ones, rate, rate * (1 + _SESSION_LIFT))),
    }
    for col, (r0, r1) in _GUARDRAILS.items():
        metrics[col] = _metric_truth("binary", (cw, cw * r0, cw * r1), (ones, ones * r0,
                                                                        ones * r1))
    seg_pop = {"ps5_purchase_30d": (c0, c1), "revenue_60d": pop_rev}
    seg_unit = {"ps5_purchase_30d": (p0, p1), "revenue_60d": unit_rev}
    # revenue by segment needs E[L | spend tier]: truncated log-normal means per tier
    edges = np.log(np.concatenate([[0.0], np.array(_SPEND_CUTS) - 0.005, [np.inf]])
                   .clip(1e-300)) - _SPEND_MU
    upper = stats.norm.cdf(edges / _SPEND_SIGMA - _SPEND_SIGMA)
    tier_mean = mean_spend * np.diff(upper) / ps
    pop_rev_cell = (base * tier_mean[cs] + _REV_PS5 * c0,
                    base * tier_mean[cs] + _REV_PS5 * c1 + direct)
    seg_pop["revenue_60d"] = pop_rev_cell
    segments = {
        "stratum": _segment_truth(cs * 4 + ce, w, seg_pop, stratum, seg_unit,
                                  [f"{a}_{b}" for a in _SPEND for b in _ENGAGE]),
        "ps_plus_member|spend_tier": _segment_truth(
            cp * 4 + cs, w, seg_pop, plus * 4 + s, seg_unit,
            [f"{k}|{a}" for k in (0, 1) for a in _SPEND]),
    }
    truth = {"treatment_share": 0.5, **_flat_rates(metrics["ps5_purchase_30d"]),
             "metrics": metrics, "segments": segments}
    roles = {"unit_id": "user_id", "arm": "treatment", "control": "0", "treatment": "1",
             "metric": "ps5_purchase_30d", "guardrails": list(_GUARDRAILS),
             "covariate": "pre_30d_spend", "revenue": "revenue_60d", "strata": "stratum",
             "segments": ["ps_plus_member", "spend_tier", "engagement_tier", "stratum"],
             "balance_covariates": ["platform_tenure_days", "last_30d_sessions",
                                    "last_90d_spend", "ps_plus_member", "pre_30d_spend"],
             "kinds": {k: v["kind"] for k, v in metrics.items()}}
    description = ("PS4 -> PS5 migration campaign, stratified 50/50 (16 strata), heterogeneous "
                   "lift by stratum and PS+ x spend tier.\nPrimary metric ps5_purchase_30d; "
                   "revenue_60d with pre_30d_spend for CUPED; guardrails unsubscribe_flag, "
                   "optout_flag.")
    return _finish("migration", data, truth, roles, description, {"rows": n, "seed": seed})
