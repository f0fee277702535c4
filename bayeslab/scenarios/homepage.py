"""Scenario 003: homepage low-price alert, salted md5 assignment, click -> order funnel."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy import stats

from bayeslab.core.errors import DataError
from bayeslab.scenarios._core import (
    Scenario,
    check_fraction,
    check_rows,
    check_seed,
    finish,
    flat_rates,
    label_array,
    metric_truth,
    ratio_contrast,
    segment_truth,
)

HOMEPAGE_SALT = "luckin_homepage_low_price_alert_v1"
_HP_CITY, _HP_CITY_P = ("tier_1", "tier_2", "tier_3_4"), (0.25, 0.35, 0.40)
_HP_USER, _HP_USER_P = ("new", "returning"), (0.4, 0.6)
_HP_SLOT, _HP_SLOT_P = ("morning", "afternoon", "evening"), (0.35, 0.40, 0.25)
_HP_CTR = (0.085, 0.095)                       # A, B baselines
_HP_CTR_CITY_B = (0.005, 0.010, 0.020)         # extra CTR in B by city tier
_HP_PCVR = (0.20, 0.19)
_HP_PCVR_CITY_B = (0.0, -0.01, -0.03)          # PCVR change in B by city tier
_HP_PCVR_NEW, _HP_PCVR_SLOT = -0.05, (0.03, 0.0, 0.01)
_HP_AMOUNT, _HP_AMOUNT_SD = (24.0, 22.0, 20.0), 4.0
_HP_SUBSIDY, _HP_SUBSIDY_SD = (3.0, 3.5, 4.0), 0.8


def _md5_bucket(ids, salt: str) -> np.ndarray:
    """Return the notebook's bucket int(md5(f"{uid}_{salt}").hexdigest()[:8], 16) / 16**8."""
    def first4(uid):
        return int.from_bytes(hashlib.md5(f"{uid}_{salt}".encode()).digest()[:4], "big")

    ids = np.asarray(ids).tolist()
    return np.fromiter(map(first4, ids), dtype=np.float64, count=len(ids)) / 16**8


def _hp_ctr(t, city):
    return np.clip(np.asarray(_HP_CTR)[t] + t * np.asarray(_HP_CTR_CITY_B)[city], 0.001, 0.95)


def _hp_pcvr(t, city, new, slot):
    base = (np.asarray(_HP_PCVR)[t] + _HP_PCVR_NEW * new + np.asarray(_HP_PCVR_SLOT)[slot]
            + t * np.asarray(_HP_PCVR_CITY_B)[city])
    return np.clip(base, 0.01, 0.95)


def simulate_homepage(rows: int = 30_000, seed: int = 0, *, salt: str = HOMEPAGE_SALT,
                      treatment_share: float = 0.5) -> Scenario:
    """Homepage low-price alert, salted md5 assignment and a click -> order funnel (notebook 003).

    ``experiment_group`` is ``"B"`` when ``int(md5(f"{user_id}_{salt}").hexdigest()[:8], 16) /
    16**8 < treatment_share``, else ``"A"`` (exactly the notebook's rule: with the default salt
    and 30,000 users, 15,053 A and 14,947 B whatever the seed). ``user_id`` runs 1..rows.

    Generating model (the notebook's parameters):

    - ``city_tier`` tier_1 / tier_2 / tier_3_4 (0.25, 0.35, 0.40), ``user_type`` new / returning
      (0.4, 0.6), ``time_slot`` morning / afternoon / evening (0.35, 0.40, 0.25);
    - ``is_clicked`` ~ Bernoulli(CTR): A 0.085; B 0.095 + (0.005, 0.010, 0.020) by city tier;
    - ``is_converted`` = 0 without a click, else Bernoulli(PCVR): 0.20 in A, 0.19 in B, -0.05 for
      new users, +0.03 morning, +0.01 evening, and in B -0.01 (tier_2), -0.03 (tier_3_4);
    - for converted users ``order_amount`` ~ Normal((24, 22, 20) by tier, 4) and ``subsidy`` ~
      max(Normal((3, 3.5, 4), 0.8), 0), both rounded to cents; 0 otherwise.

    So CVR = CTR x PCVR: the alert raises CTR, lowers PCVR, and raises CVR most in tier_3_4.

    Parameters
    ----------
    rows : int, default 30_000
        Number of users.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (attributes and outcomes; not the assignment).
    salt : str, default :data:`HOMEPAGE_SALT`
        Assignment salt.
    treatment_share : float, default 0.5
        Bucket threshold for B.

    Returns
    -------
    Scenario
        ``truth`` keys: ``treatment_share``, ``salt``; ``metrics`` for ``is_clicked`` (CTR),
        ``is_converted`` (CVR, per exposed user), ``order_amount`` and ``subsidy`` (per exposed
        user); ``pcvr`` (conversions / clicks: a ratio of the CVR and CTR means, population and
        ``_sample``); ``segments`` by ``city_tier`` and ``user_type`` (CTR, CVR, PCVR); flat
        ``control_rate`` .. ``rel_lift`` for CVR.

    Raises
    ------
    DataError
        If an argument is out of range or ``salt`` is not a string.
    """
    n, seed = check_rows(rows, 30_000), check_seed(seed)
    share = check_fraction("treatment_share", treatment_share)
    if not isinstance(salt, str):
        raise DataError(f"salt must be a string, got {salt!r}")
    rng = np.random.default_rng(seed)

    user_id = np.arange(1, n + 1, dtype=np.int64)
    treat = (_md5_bucket(user_id, salt) < share).astype(np.int64)
    city = rng.choice(3, n, p=_HP_CITY_P)
    new = (rng.random(n) < _HP_USER_P[0]).astype(np.int64)
    slot = rng.choice(3, n, p=_HP_SLOT_P)
    ctr0, ctr1 = _hp_ctr(0, city), _hp_ctr(1, city)
    pcvr0, pcvr1 = _hp_pcvr(0, city, new, slot), _hp_pcvr(1, city, new, slot)
    clicked = (rng.random(n) < np.where(treat == 1, ctr1, ctr0)).astype(np.int64)
    converted = clicked * (rng.random(n) < np.where(treat == 1, pcvr1, pcvr0))
    amount = np.round(rng.normal(np.asarray(_HP_AMOUNT)[city], _HP_AMOUNT_SD), 2)
    subsidy = np.round(rng.normal(np.asarray(_HP_SUBSIDY)[city], _HP_SUBSIDY_SD), 2)
    data = pd.DataFrame({
        "user_id": user_id,
        "experiment_group": label_array(("A", "B"), treat),
        "city_tier": label_array(_HP_CITY, city),
        "user_type": label_array(_HP_USER, 1 - new),
        "time_slot": label_array(_HP_SLOT, slot),
        "is_clicked": clicked,
        "is_converted": converted.astype(np.int64),
        "order_amount": np.where(converted == 1, amount, 0.0),
        "subsidy": np.where(converted == 1, np.clip(subsidy, 0, None), 0.0),
    })

    cc, cn, cs = (a.ravel() for a in np.meshgrid(np.arange(3), [0, 1], np.arange(3),
                                                 indexing="ij"))
    w = (np.asarray(_HP_CITY_P)[cc] * np.where(cn == 1, _HP_USER_P[0], _HP_USER_P[1])
         * np.asarray(_HP_SLOT_P)[cs])
    sub_mu = np.asarray(_HP_SUBSIDY)
    sub_mean = (sub_mu * stats.norm.cdf(sub_mu / _HP_SUBSIDY_SD)
                + _HP_SUBSIDY_SD * stats.norm.pdf(sub_mu / _HP_SUBSIDY_SD))  # E[max(X, 0)]

    def outcomes(city_, new_, slot_):
        c0, c1 = _hp_ctr(0, city_), _hp_ctr(1, city_)
        v0, v1 = c0 * _hp_pcvr(0, city_, new_, slot_), c1 * _hp_pcvr(1, city_, new_, slot_)
        amt, sub = np.asarray(_HP_AMOUNT)[city_], sub_mean[city_]
        return {"is_clicked": (c0, c1), "is_converted": (v0, v1),
                "order_amount": (v0 * amt, v1 * amt), "subsidy": (v0 * sub, v1 * sub)}

    pop, unit = outcomes(cc, cn, cs), outcomes(city, new, slot)
    kinds = {"is_clicked": "binary", "is_converted": "binary", "order_amount": "continuous",
             "subsidy": "continuous"}
    ones = np.ones(n)
    metrics = {k: metric_truth(kinds[k], (w, *pop[k]), (ones, *unit[k])) for k in kinds}
    pcvr = {**ratio_contrast(metrics["is_converted"], metrics["is_clicked"]),
            **ratio_contrast(metrics["is_converted"], metrics["is_clicked"], "_sample")}
    funnel = ("is_clicked", "is_converted")
    seg_pop, seg_unit = {k: pop[k] for k in funnel}, {k: unit[k] for k in funnel}
    ratio = [("pcvr", "is_converted", "is_clicked")]
    segments = {"city_tier": segment_truth(cc, w, seg_pop, city, seg_unit, _HP_CITY, ratio),
                "user_type": segment_truth(1 - cn, w, seg_pop, 1 - new, seg_unit, _HP_USER,
                                            ratio)}
    truth = {"treatment_share": share, "salt": salt, **flat_rates(metrics["is_converted"]),
             "metrics": metrics, "pcvr": pcvr, "segments": segments}
    roles = {"unit_id": "user_id", "arm": "experiment_group", "control": "A", "treatment": "B",
             "metric": "is_converted", "funnel": list(funnel), "revenue": "order_amount",
             "segments": ["city_tier", "user_type"], "salt": salt,
             "expected_shares": {"A": 1 - share, "B": share}, "kinds": kinds}
    description = ("Homepage low-price alert (B) vs control (A), salted md5 hash assignment.\n"
                   "Funnel: CTR (is_clicked), PCVR (converted | clicked), CVR = CTR x PCVR; "
                   "segment effects by city_tier and user_type.")
    params = {"rows": n, "seed": seed, "salt": salt, "treatment_share": share}
    return finish("homepage", data, truth, roles, description, params)


