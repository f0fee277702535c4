"""Scenarios 000 (stratified migration campaign) and 001 (daily migration campaign)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bayeslab.core.errors import DataError
from bayeslab.scenarios._core import (
    Scenario,
    check_fraction,
    check_rows,
    check_seed,
    expit,
    finish,
    flat_rates,
    label_array,
    metric_truth,
    segment_truth,
)

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
    return expit(-0.7 + 0.3 * s + 0.15 * e)


def _migration_conversion(s, e, plus, t):
    """P(ps5_purchase_30d = 1) for spend tier s, engagement tier e (0..3), PS+ and arm t."""
    logit0 = -2.03 + 0.10 * s + 0.12 * e + 0.30 * plus
    tau = 0.09 - 0.03 * s + 0.03 * e + 0.24 * plus + 0.02 * plus * s
    return expit(logit0 + t * tau)


def _spend_tier_probs() -> np.ndarray:
    # round(L, 2) < c  <=>  L < c - 0.005 (ties have probability zero)
    z = (np.log(np.array(_SPEND_CUTS) - 0.005) - _SPEND_MU) / _SPEND_SIGMA
    return np.diff(np.concatenate([[0.0], stats.norm.cdf(z), [1.0]]))


def _engage_tier_probs(s: int) -> np.ndarray:
    m = _SESSION_MEAN[s]
    cdf = stats.nbinom.cdf(_SESSION_CUTS, _SESSION_SHAPE, _SESSION_SHAPE / (_SESSION_SHAPE + m))
    return np.diff(np.concatenate([[0.0], cdf, [1.0]]))


def simulate_migration(rows: int = 50_000, seed: int = 0) -> Scenario:
    r"""PS4 -> PS5 migration campaign with stratified 50/50 randomization (notebook 000).

    Units fall in 16 strata, spend tier (``S1_low`` .. ``S4_vhigh``, fixed edges 26, 45, 77 on
    ``last_90d_spend``) x engagement tier (``E1_low`` .. ``E4_vhigh``: ``last_30d_sessions`` <= 6,
    7-9, 10-13, >= 14). Within every stratum exactly half the units are treated (an odd stratum
    gives its extra unit to a fair coin), as in the notebook.

    Generating model, for unit i with spend tier s and engagement tier e coded 0..3:

    - ``last_90d_spend`` :math:`L_i \sim \mathrm{LogNormal}(\log 45, 0.8)`;
      ``pre_30d_spend`` :math:`= L_i/3 \cdot \Gamma(20, 1/20)`.
    - session rate :math:`r_i \sim \Gamma(6, m_s/6)`, :math:`m = (8.5, 9, 9.5, 10)`;
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
    n, seed = check_rows(rows, 50_000), check_seed(seed)
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

    spend_l, engage_l = label_array(_SPEND, s), label_array(_ENGAGE, e)
    data = pd.DataFrame({
        "user_id": np.arange(1, n + 1, dtype=np.int64),
        "country": label_array(_COUNTRIES, rng.choice(len(_COUNTRIES), n, p=_COUNTRY_P)),
        "platform_tenure_days": rng.integers(30, 3651, n, dtype=np.int64),
        "last_30d_sessions": sessions.astype(np.int64),
        "last_90d_spend": last_90d,
        "ps_plus_member": plus,
        "pre_30d_spend": np.round(spend / 3 * rng.gamma(20.0, 0.05, n), 2),
        "spend_tier": spend_l,
        "engagement_tier": engage_l,
        "stratum": label_array([f"{a}_{b}" for a in _SPEND for b in _ENGAGE], stratum),
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
        "ps5_purchase_30d": metric_truth("binary", (w, c0, c1), (ones, p0, p1)),
        "revenue_60d": metric_truth("continuous", (w, *pop_rev), (ones, *unit_rev)),
        "post_30d_sessions": metric_truth(
            "count", (cw, cw * mean_rate, cw * mean_rate * (1 + _SESSION_LIFT)),
            (ones, rate, rate * (1 + _SESSION_LIFT))),
    }
    for col, (r0, r1) in _GUARDRAILS.items():
        metrics[col] = metric_truth("binary", (cw, cw * r0, cw * r1), (ones, ones * r0,
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
        "stratum": segment_truth(cs * 4 + ce, w, seg_pop, stratum, seg_unit,
                                  [f"{a}_{b}" for a in _SPEND for b in _ENGAGE]),
        "ps_plus_member|spend_tier": segment_truth(
            cp * 4 + cs, w, seg_pop, plus * 4 + s, seg_unit,
            [f"{k}|{a}" for k in (0, 1) for a in _SPEND]),
    }
    truth = {"treatment_share": 0.5, **flat_rates(metrics["ps5_purchase_30d"]),
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
    return finish("migration", data, truth, roles, description, {"rows": n, "seed": seed})


# --------------------------------------------------------------------------------------------
# 001 campaign: daily 50/50 migration test from 2023-01-01

_DOW_TRAFFIC = (1.0, 1.0, 1.0, 1.0, 1.0, 1.3, 1.3)          # Monday .. Sunday
_DOW_RATE = (0.040, 0.040, 0.040, 0.040, 0.042, 0.050, 0.050)
_CAMPAIGN_SPEND, _CAMPAIGN_REV_LIFT, _CAMPAIGN_PS5 = 15.0, 0.05, 50.0


def _cumulative(codes, ngroups, w, m0, m1) -> list[dict]:
    sw = np.cumsum(np.bincount(codes, weights=w, minlength=ngroups))
    s0 = np.cumsum(np.bincount(codes, weights=w * m0, minlength=ngroups))
    s1 = np.cumsum(np.bincount(codes, weights=w * m1, minlength=ngroups))
    out = []
    for k in range(ngroups):
        c, t = s0[k] / sw[k], s1[k] / sw[k]
        out.append({"control": c, "treatment": t, "abs_effect": t - c, "rel_effect": t / c - 1})
    return out


def simulate_campaign(rows: int = 56_000, seed: int = 0, *, days: int = 28,
                      start: str = "2023-01-01", lift: float = 0.10,
                      treatment_share: float = 0.5) -> Scenario:
    r"""Daily PS4 -> PS5 migration campaign, users arriving day by day (notebook 001).

    Users enter on ``date`` (``days`` consecutive days from ``start``; weekend days get 1.3 times
    the weekday traffic) and are randomized independently, treated with probability
    ``treatment_share``. ``user_id`` follows arrival order, so cumulative looks by date are
    prefixes of the frame.

    Generating model, with activity :math:`f_i = 0.5 + A_i`, :math:`A_i \sim \mathrm{Beta}(2, 2)`
    (mean 1) and spend level :math:`L_i = 15 f_i \exp(0.7 Z_i - 0.245)`:

    - ``converted`` (PS5 within 30 days) ~ Bernoulli(:math:`b_{dow} f_i (1 + \text{lift}\, t)`),
      :math:`b` = 4.0% Monday-Thursday, 4.2% Friday, 5.0% at weekends;
    - ``pre_revenue`` (30 days before entry, the lagged CUPED covariate) = :math:`L_i G_i`;
    - ``revenue`` (30 days after entry) = :math:`L_i G'_i (1 + 0.05 t)` + converted * B, with
      G, G' ~ Gamma(10, 1/10) and B ~ Gamma(4, 12.5) (mean 50).

    Parameters
    ----------
    rows : int, default 56_000
        Number of users over the whole campaign.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``.
    days : int, default 28
        Campaign length in days (at least 1).
    start : str, default "2023-01-01"
        First day (ISO date).
    lift : float, default 0.10
        True relative lift of the conversion probability (every unit, every day).
    treatment_share : float, default 0.5
        Probability that a user is treated.

    Returns
    -------
    Scenario
        ``truth`` keys: ``treatment_share``; ``metrics`` for ``converted`` and ``revenue``
        (population = the design's traffic mix over the days); ``by_date``: per ISO date,
        ``share`` (expected traffic fraction), ``share_sample`` and per metric the day's contrast
        (population and ``_sample``); ``cumulative``: per ISO date, per metric, the contrast of
        all users who arrived up to and including that date (population and ``_sample`` keys), the
        estimand of a sequential look on that date; flat ``control_rate`` .. ``rel_lift``.

    Raises
    ------
    DataError
        If an argument is out of range or ``start`` is not a date.
    """
    n, seed = check_rows(rows, 56_000), check_seed(seed)
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 1:
        raise DataError(f"days must be a positive integer, got {days!r}")
    share = check_fraction("treatment_share", treatment_share)
    lift = check_fraction("lift", lift, low=-1.0, high=5.0)
    try:
        day0 = np.datetime64(start, "D")
    except ValueError:
        raise DataError(f"start must be an ISO date such as '2023-01-01', got {start!r}") from None
    rng = np.random.default_rng(seed)

    dates = day0 + np.arange(days)
    dow = (dates.astype(np.int64) + 3) % 7                     # 1970-01-01 was a Thursday
    traffic = np.asarray(_DOW_TRAFFIC)[dow]
    traffic = traffic / traffic.sum()
    base = np.asarray(_DOW_RATE)[dow]
    day = np.sort(rng.choice(days, n, p=traffic))
    treat = (rng.random(n) < share).astype(np.int64)
    f = 0.5 + rng.beta(2.0, 2.0, n)
    level = _CAMPAIGN_SPEND * f * np.exp(0.7 * rng.standard_normal(n) - 0.245)
    p0 = base[day] * f
    p1 = p0 * (1 + lift)
    converted = (rng.random(n) < np.where(treat == 1, p1, p0)).astype(np.int64)
    pre = level * rng.gamma(10.0, 0.1, n)
    revenue = (level * rng.gamma(10.0, 0.1, n) * (1 + _CAMPAIGN_REV_LIFT * treat)
               + converted * rng.gamma(4.0, _CAMPAIGN_PS5 / 4, n))
    data = pd.DataFrame({
        "date": pd.to_datetime(dates[day]),
        "user_id": np.arange(1, n + 1, dtype=np.int64),
        "treatment": treat,
        "pre_revenue": np.round(pre, 2),
        "converted": converted,
        "revenue": np.round(revenue, 2),
    })

    ones = np.ones(n)
    pop = {"converted": (base, base * (1 + lift)),
           "revenue": (_CAMPAIGN_SPEND + _CAMPAIGN_PS5 * base,
                       _CAMPAIGN_SPEND * (1 + _CAMPAIGN_REV_LIFT)
                       + _CAMPAIGN_PS5 * base * (1 + lift))}
    unit = {"converted": (p0, p1),
            "revenue": (level + _CAMPAIGN_PS5 * p0,
                        level * (1 + _CAMPAIGN_REV_LIFT) + _CAMPAIGN_PS5 * p1)}
    kinds = {"converted": "binary", "revenue": "continuous"}
    metrics = {k: metric_truth(kinds[k], (traffic, *pop[k]), (ones, *unit[k])) for k in kinds}
    labels = [str(d) for d in dates]
    by_date = segment_truth(np.arange(days), traffic, pop, day, unit, labels)
    cumulative = {label: {} for label in labels}
    for k in kinds:
        cum_pop = _cumulative(np.arange(days), days, traffic, *pop[k])
        cum_unit = _cumulative(day, days, ones, *unit[k])
        for i, label in enumerate(labels):
            cumulative[label][k] = {**cum_pop[i],
                                    **{f"{a}_sample": b for a, b in cum_unit[i].items()}}
    truth = {"treatment_share": share, **flat_rates(metrics["converted"]), "metrics": metrics,
             "by_date": by_date, "cumulative": cumulative}
    roles = {"unit_id": "user_id", "arm": "treatment", "control": "0", "treatment": "1",
             "metric": "converted", "revenue": "revenue", "covariate": "pre_revenue",
             "date": "date", "kinds": kinds}
    description = (f"Daily PS4 -> PS5 migration campaign, {days} days from {start}, "
                   f"{share:.0%} treated, true relative lift {lift:+.0%}.\nConversion and "
                   "30-day revenue with the lagged pre_revenue covariate for CUPED; looks by date.")
    params = {"rows": n, "seed": seed, "days": int(days), "start": str(day0), "lift": lift,
              "treatment_share": share}
    return finish("campaign", data, truth, roles, description, params)


