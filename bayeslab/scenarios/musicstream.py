"""Scenario 002: MusicStream 90/10 recommendation test (counts, conversion, retention)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayeslab.core.errors import DataError
from bayeslab.scenarios._core import (
    Scenario,
    check_fraction,
    check_rows,
    check_seed,
    contrast,
    finish,
    label_array,
    metric_truth,
    segment_truth,
)

_MS_COUNTRY, _MS_COUNTRY_P = ("US", "UK", "DE", "IN"), (0.4, 0.2, 0.2, 0.2)
_MS_DEVICE, _MS_DEVICE_P = ("iOS", "Android"), (0.5, 0.5)
_MS_AGE, _MS_AGE_P = ("18-24", "25-34", "35-44", "45+"), (0.35, 0.35, 0.2, 0.1)
_MS_AGE_MEAN = (22.0, 20.0, 18.0, 16.0)       # E[songs rate] by age group, control
_MS_DEVICE_MULT = (1.18, 1.12)                # treatment multiplier of the rate, iOS / Android
_MS_SHAPE = 2.0                               # Gamma shape of the rate (songs ~ NegBin)
_MS_US = 1.2                                  # conversion multiplier in the US
_MS_CONV_A, _MS_CONV_C = 0.40, 200.0          # p = cf (0.05 + 0.40 (1 - exp(-rate / 200)))
_MS_HAZARD, _MS_HR_CONV, _MS_HR_TREAT = 0.012, 0.35, 0.85
_MS_BOT_LOW, _MS_BOT_HIGH = 1000, 5000
_MS_SURVIVAL_DAYS = (7, 14, 30, 59)


def _ms_conversion_mean(cf, mean_rate):
    """E[p] over rate ~ Gamma(shape 2, mean mean_rate): uses E[exp(-R/c)] = (1 + theta/c)^-k."""
    theta = mean_rate / _MS_SHAPE
    return cf * (0.05 + _MS_CONV_A * (1 - (1 + theta / _MS_CONV_C) ** -_MS_SHAPE))


def _ms_survival(conv, hr_arm, day):
    return ((1 - conv) * np.exp(-_MS_HAZARD * hr_arm * day)
            + conv * np.exp(-_MS_HAZARD * _MS_HR_CONV * hr_arm * day))


def simulate_musicstream(rows: int = 40_000, seed: int = 0, *, treatment_share: float = 0.10,
                         srm: float = 0.0, outlier_share: float = 0.00125,
                         max_days: int = 59) -> Scenario:
    r"""MusicStream recommendation test: 90% ``Control``, 10% ``Treatment`` (notebook 002).

    ``group`` is ``"Treatment"`` with probability ``treatment_share`` (independently per user).

    Generating model, with age group a, device v, country c:

    - listening rate :math:`R_i \sim \Gamma(2, \mu_a m_{v,t} / 2)`, :math:`\mu` = 22, 20, 18,
      16 for 18-24 .. 45+, treatment multiplier :math:`m` = 1.18 on iOS, 1.12 on Android (1 in
      control); ``songs_played`` ~ Poisson(:math:`R_i`) (negative binomial, overdispersed);
    - bots: a fraction ``outlier_share`` of users (either arm) get ``songs_played`` uniform on
      1000..4999 instead (the heavy tail the notebook trims);
    - ``converted`` ~ Bernoulli(:math:`c_f (0.05 + 0.4 (1 - e^{-R_i/200}))`), :math:`c_f` = 1.2 in
      the US, 1 elsewhere (about 0.05 + 0.002 R, as in the notebook; the effect is mediated by R);
    - churn time :math:`T_i` ~ Exponential with daily hazard
      :math:`0.012 \cdot 0.35^{converted} \cdot 0.85^{t}`; administrative censoring at
      :math:`C_i` ~ uniform on 1..``max_days`` (staggered sign-up); ``days_active`` =
      min(ceil(T), C), ``churned`` = 1 if ceil(T) <= C.
    - ``srm``: after outcomes are drawn, each treatment user is lost (never logged) with this
      probability, at random; the data then shows a sample ratio mismatch while the effects stay
      those of the model.

    Parameters
    ----------
    rows : int, default 40_000
        Users before any SRM loss.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``.
    treatment_share : float, default 0.10
        Designed share of ``Treatment`` users.
    srm : float, default 0.0
        Fraction of treatment users lost, in [0, 1).
    outlier_share : float, default 0.00125
        Fraction of bot users with 1000-4999 songs, in [0, 1) (50 of 40,000 in the notebook).
    max_days : int, default 59
        Longest follow-up (censoring times are uniform on 1..max_days).

    Returns
    -------
    Scenario
        ``truth`` keys: ``treatment_share`` (designed), ``treatment_share_observed`` (expected
        share after SRM loss, :math:`s(1-\text{srm}) / (1 - s\,\text{srm})`), ``srm``;
        ``metrics`` for ``songs_played`` (count, bots included) and ``converted``;
        ``songs_played_without_outliers`` (the same contrast for non-bot users); ``retention``:
        ``daily_hazard`` (control, not converted), ``hazard_ratio_treatment`` (conditional on
        conversion), ``hazard_ratio_converted``, ``survival`` {day: contrast of
        P(T > day)} for days 7, 14, 30, 59 (marginal over conversion, population and
        ``_sample``); ``segments`` by ``device``, ``country``, ``age_group``.

    Raises
    ------
    DataError
        If an argument is out of range.
    """
    n, seed = check_rows(rows, 40_000), check_seed(seed)
    share = check_fraction("treatment_share", treatment_share)
    srm = check_fraction("srm", srm, low_open=False)
    bots = check_fraction("outlier_share", outlier_share, low_open=False)
    if isinstance(max_days, bool) or not isinstance(max_days, (int, np.integer)) or max_days < 2:
        raise DataError(f"max_days must be an integer >= 2, got {max_days!r}")
    rng = np.random.default_rng(seed)

    treat = (rng.random(n) < share).astype(np.int64)
    country = rng.choice(4, n, p=_MS_COUNTRY_P)
    device = rng.choice(2, n, p=_MS_DEVICE_P)
    age = rng.choice(4, n, p=_MS_AGE_P)
    mu = np.asarray(_MS_AGE_MEAN)[age]
    mult = np.asarray(_MS_DEVICE_MULT)[device]
    r0 = rng.gamma(_MS_SHAPE, mu / _MS_SHAPE)       # control rate; treatment rate = r0 * mult
    rate = np.where(treat == 1, r0 * mult, r0)
    songs = rng.poisson(rate)
    cf = np.where(country == 0, _MS_US, 1.0)
    conv_p = cf * (0.05 + _MS_CONV_A * (1 - np.exp(-rate / _MS_CONV_C)))
    converted = (rng.random(n) < conv_p).astype(np.int64)
    hazard = _MS_HAZARD * _MS_HR_CONV**converted * _MS_HR_TREAT**treat
    t_churn = np.ceil(rng.exponential(1.0 / hazard))
    censor = rng.integers(1, max_days + 1, n)
    days_active = np.maximum(np.minimum(t_churn, censor), 1).astype(np.int64)
    churned = (t_churn <= censor).astype(np.int64)
    is_bot = rng.random(n) < bots
    songs = np.where(is_bot, rng.integers(_MS_BOT_LOW, _MS_BOT_HIGH, n), songs)
    kept = ~((treat == 1) & (rng.random(n) < srm))

    data = pd.DataFrame({
        "user_id": np.arange(n, dtype=np.int64),
        "group": label_array(("Control", "Treatment"), treat),
        "country": label_array(_MS_COUNTRY, country),
        "device": label_array(_MS_DEVICE, device),
        "age_group": label_array(_MS_AGE, age),
        "songs_played": songs.astype(np.int64),
        "converted": converted,
        "days_active": days_active,
        "churned": churned,
    })[kept].reset_index(drop=True)

    # population cells: country x device x age
    cc, cv, ca = (a.ravel() for a in np.meshgrid(np.arange(4), np.arange(2), np.arange(4),
                                                 indexing="ij"))
    w = (np.asarray(_MS_COUNTRY_P)[cc] * np.asarray(_MS_DEVICE_P)[cv]
         * np.asarray(_MS_AGE_P)[ca])
    cmu, cmult = np.asarray(_MS_AGE_MEAN)[ca], np.asarray(_MS_DEVICE_MULT)[cv]
    ccf = np.where(cc == 0, _MS_US, 1.0)
    bot_mean = (_MS_BOT_LOW + _MS_BOT_HIGH - 1) / 2
    pop = {"songs_played": ((1 - bots) * cmu + bots * bot_mean,
                            (1 - bots) * cmu * cmult + bots * bot_mean),
           "converted": (_ms_conversion_mean(ccf, cmu), _ms_conversion_mean(ccf, cmu * cmult))}
    # sample potential outcomes of the kept units: r0 is a unit's latent control rate and
    # r0 * mult its treated rate, whichever arm it got
    u_mult = mult[kept]
    u_r0, u_cf = r0[kept], cf[kept]
    u_conv0 = u_cf * (0.05 + _MS_CONV_A * (1 - np.exp(-u_r0 / _MS_CONV_C)))
    u_conv1 = u_cf * (0.05 + _MS_CONV_A * (1 - np.exp(-u_r0 * u_mult / _MS_CONV_C)))
    unit = {"songs_played": ((1 - bots) * u_r0 + bots * bot_mean,
                             (1 - bots) * u_r0 * u_mult + bots * bot_mean),
            "converted": (u_conv0, u_conv1)}
    kinds = {"songs_played": "count", "converted": "binary"}
    ones = np.ones(int(kept.sum()))
    metrics = {k: metric_truth(kinds[k], (w, *pop[k]), (ones, *unit[k])) for k in kinds}
    clean = metric_truth("count", (w, cmu, cmu * cmult), (ones, u_r0, u_r0 * u_mult))
    pc0, pc1 = metrics["converted"]["control"], metrics["converted"]["treatment"]
    survival = {}
    for d in _MS_SURVIVAL_DAYS:
        survival[str(d)] = {
            **contrast(np.ones(1), [_ms_survival(pc0, 1.0, d)],
                        [_ms_survival(pc1, _MS_HR_TREAT, d)]),
            **contrast(ones, _ms_survival(u_conv0, 1.0, d),
                        _ms_survival(u_conv1, _MS_HR_TREAT, d), "_sample")}
    segments = {}
    for col, cell_codes, unit_codes, labels in (("device", cv, device, _MS_DEVICE),
                                                ("country", cc, country, _MS_COUNTRY),
                                                ("age_group", ca, age, _MS_AGE)):
        segments[col] = segment_truth(cell_codes, w, pop, unit_codes[kept], unit, labels)
    truth = {"treatment_share": share, "srm": srm,
             "treatment_share_observed": share * (1 - srm) / (1 - share * srm),
             "metrics": metrics, "songs_played_without_outliers": clean,
             "retention": {"daily_hazard": _MS_HAZARD, "hazard_ratio_treatment": _MS_HR_TREAT,
                           "hazard_ratio_converted": _MS_HR_CONV, "survival": survival},
             "segments": segments}
    roles = {"unit_id": "user_id", "arm": "group", "control": "Control",
             "treatment": "Treatment", "metric": "songs_played", "metrics": list(kinds),
             "segments": ["device", "country", "age_group"], "duration": "days_active",
             "event": "churned", "expected_shares": {"Control": 1 - share, "Treatment": share},
             "kinds": kinds}
    description = (f"MusicStream recommendation algorithm, {1 - share:.0%} Control / {share:.0%} "
                   "Treatment (Treatment is the small arm).\nsongs_played (overdispersed, bot "
                   "outliers), premium conversion, retention (days_active, churned; censored)"
                   + (f"; SRM: {srm:.0%} of treatment users lost." if srm else "."))
    params = {"rows": n, "seed": seed, "treatment_share": share, "srm": srm,
              "outlier_share": bots, "max_days": int(max_days)}
    return finish("musicstream", data, truth, roles, description, params)


