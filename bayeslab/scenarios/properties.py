r"""A product experiment carrying a dozen user properties, with known heterogeneity (issue 26).

Each unit has one level of each of 12 independent properties (67 levels in all; every level
holds at least about 3 % of units), a control conversion probability

.. math::

    p_{i0} = \operatorname{expit}\Big(\operatorname{logit}(b) + \sum_p \beta_{p, l_p(i)}\Big),
    \qquad \beta_{pl} \sim N(0, 0.2^2) \text{ (fixed, drawn once)},

and a treatment probability :math:`p_{i1} = p_{i0} + \Delta_i`, with :math:`\Delta_i = \Delta`
for every unit (``heterogeneity="none"``: every level's effect is the population's) or
:math:`\Delta_i = 2\Delta` for the units of one level (``"one"``: ``country = BR``, 8 % of users,
twice the effect; :math:`\Delta` elsewhere). A continuous outcome ``spend`` is
:math:`N(20 + 5\,\Delta_i/\Delta \cdot \text{spend\_effect}, 8^2)`-shaped the same way.

Truth (``truth["levels"]``): for each ``(property, level)`` the sample average treatment effect
of its units (mean of :math:`p_{i1} - p_{i0}`, and of the spend effect), its share, and its
deviation from the population's sample average effect; ``truth["population"]`` the same over
all units. Properties are independent, so a level of another property holds the special level's
units in proportion and its effect is the population's up to sampling of the units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayeslab.core.errors import DataError
from bayeslab.scenarios._core import Scenario, check_rows, check_seed, expit

#: property -> level labels (12 properties, 67 levels)
PROPERTIES = {
    "country": ["US", "BR", "DE", "IN", "FR", "JP", "GB", "MX"],
    "platform": ["ios", "android"],
    "device": ["phone", "tablet", "desktop"],
    "tenure_band": ["0-30d", "1-6m", "6-12m", "1y+"],
    "plan": ["free", "basic", "pro", "team", "enterprise"],
    "channel": ["organic", "paid_search", "social", "referral", "email"],
    "browser": ["chrome", "safari", "firefox", "edge", "samsung", "opera"],
    "os_version": ["v12", "v13", "v14", "v15", "v16", "v17"],
    "language": ["en", "pt", "de", "hi", "fr", "ja", "es"],
    "age_band": ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
    "region": ["north", "south", "east", "west", "central", "islands", "metro"],
    "weekday": ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "hol"],
}
SPECIAL = ("country", "BR")
HETEROGENEITY = ("none", "one")


def _structure():
    """Level shares and baseline log-odds shifts: fixed (seed 26), whatever the run's seed."""
    rng = np.random.default_rng(26)
    shares, shifts = {}, {}
    for prop, levels in PROPERTIES.items():
        w = rng.dirichlet(np.full(len(levels), 8.0))
        w = 0.03 + (1 - 0.03 * len(levels)) * w
        if prop == SPECIAL[0]:
            w[levels.index(SPECIAL[1])] = 0.08
            others = [i for i in range(len(levels)) if levels[i] != SPECIAL[1]]
            w[others] *= 0.92 / w[others].sum()
        shares[prop] = w / w.sum()
        shifts[prop] = rng.normal(0.0, 0.2, len(levels))
    return shares, shifts


def simulate_properties(rows: int = 200_000, seed: int = 0, *, heterogeneity: str = "one",
                        base_rate: float = 0.2, effect: float = 0.03,
                        spend_effect: float = 0.5) -> Scenario:
    r"""Simulate an experiment with 12 properties and (optionally) one level twice as affected.

    Parameters
    ----------
    rows : int
        Units (half to each arm, by a fair coin).
    seed : int
    heterogeneity : {"one", "none"}
        ``"one"``: units with ``country = BR`` (8 %) get twice the effect; ``"none"``: the same
        effect for every unit (the A/A-like case of the scan: no level differs).
    base_rate : float
        Control conversion rate at the reference (before the level shifts).
    effect : float
        Population absolute effect on conversion (probability), :math:`\Delta`.
    spend_effect : float
        Absolute effect on ``spend`` (currency units) for a unit with the base effect.

    Returns
    -------
    Scenario
        Columns ``user_id``, ``treatment`` (0/1), one per property, ``converted`` (0/1),
        ``spend``; ``truth["levels"]`` and ``truth["population"]`` (see the module docstring).

    Raises
    ------
    DataError
        An unknown heterogeneity or a rate/effect out of range.
    """
    rows = check_rows(rows, 200_000)
    seed = check_seed(seed)
    if heterogeneity not in HETEROGENEITY:
        raise DataError(f"heterogeneity must be one of {', '.join(HETEROGENEITY)}, "
                        f"got {heterogeneity!r}")
    if not (0 < base_rate < 1 and 0 <= 2 * effect < 1 - base_rate):
        raise DataError(f"base_rate {base_rate!r} and effect {effect!r} must keep rates in (0, 1)")
    shares, shifts = _structure()
    rng = np.random.default_rng(seed)
    logit = np.full(rows, np.log(base_rate / (1 - base_rate)))
    codes = {}
    for prop, levels in PROPERTIES.items():
        c = rng.choice(len(levels), size=rows, p=shares[prop])
        codes[prop] = c
        logit += shifts[prop][c]
    p0 = expit(logit)
    mult = np.ones(rows)
    if heterogeneity == "one":
        mult[codes[SPECIAL[0]] == PROPERTIES[SPECIAL[0]].index(SPECIAL[1])] = 2.0
    p1 = np.minimum(p0 + effect * mult, 1.0)
    t = rng.integers(0, 2, rows)
    y = (rng.random(rows) < np.where(t == 1, p1, p0)).astype(np.int8)
    spend_gain = spend_effect * mult
    spend = 20.0 + 8.0 * rng.standard_normal(rows) + t * spend_gain
    data = pd.DataFrame({"user_id": np.arange(1, rows + 1), "treatment": t.astype(np.int8)})
    for prop, levels in PROPERTIES.items():
        data[prop] = np.asarray(levels, dtype=object)[codes[prop]]
    data["converted"] = y
    data["spend"] = np.round(spend, 2)
    d_conv, d_spend = p1 - p0, spend_gain
    pop = {"converted": float(d_conv.mean()), "spend": float(d_spend.mean())}
    levels = []
    for prop, labels in PROPERTIES.items():
        for i, label in enumerate(labels):
            m = codes[prop] == i
            conv, sp = float(d_conv[m].mean()), float(d_spend[m].mean())
            levels.append({"property": prop, "level": label, "share": float(shares[prop][i]),
                           "share_sample": float(m.mean()),
                           "converted": conv, "converted_deviation": conv - pop["converted"],
                           "spend": sp, "spend_deviation": sp - pop["spend"],
                           "special": heterogeneity == "one" and (prop, label) == SPECIAL})
    truth = {"population": pop, "levels": levels, "special": list(SPECIAL)
             if heterogeneity == "one" else None}
    roles = {"unit_id": "user_id", "arm": "treatment", "control": "0", "treatment": "1",
             "metric": "converted", "kinds": {"converted": "binary", "spend": "continuous"},
             "properties": list(PROPERTIES)}
    description = (f"{rows:,} users, 12 properties with 67 levels; "
                   + ("country = BR (8 %) has twice the effect" if heterogeneity == "one"
                      else "the same effect in every level"))
    params = dict(rows=rows, seed=seed, heterogeneity=heterogeneity, base_rate=base_rate,
                  effect=effect, spend_effect=spend_effect)
    return Scenario(name="properties", data=data, truth=truth, roles=roles,
                    description=description, params=params)
