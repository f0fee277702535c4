r"""Scenario generators with known true effects: the five source notebooks, seeded and vectorized.

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
    expectation :math:`E[Y_i(a) \mid x_i]` (both arms for every unit, whatever arm it got).
    An unbiased estimator of the sample average treatment effect targets these.

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

import inspect

from bayeslab.core.errors import DataError
from bayeslab.scenarios._core import MIN_ROWS, SCENARIOS, Scenario
from bayeslab.scenarios.homepage import HOMEPAGE_SALT, simulate_homepage
from bayeslab.scenarios.migration import simulate_campaign, simulate_migration
from bayeslab.scenarios.musicstream import simulate_musicstream
from bayeslab.scenarios.personalization import simulate_personalization
from bayeslab.scenarios.portfolio import Portfolio, simulate_portfolio

__all__ = ["HOMEPAGE_SALT", "MIN_ROWS", "SCENARIOS", "Portfolio", "Scenario", "simulate",
           "simulate_campaign", "simulate_homepage", "simulate_migration", "simulate_musicstream",
           "simulate_personalization", "simulate_portfolio"]


_GENERATORS = {"migration": simulate_migration, "campaign": simulate_campaign,
               "musicstream": simulate_musicstream, "homepage": simulate_homepage,
               "personalization": simulate_personalization}


def simulate(name: str, rows: int | None = None, seed: int = 0, **options) -> Scenario:
    """Simulate one of the source scenarios by name.

    Parameters
    ----------
    name : str
        One of :data:`SCENARIOS`: ``"migration"`` (000), ``"campaign"`` (001),
        ``"musicstream"`` (002), ``"homepage"`` (003), ``"personalization"`` (004).
    rows : int, optional
        Number of units; the scenario's notebook size when omitted.
    seed : int, default 0
        Seed; the same seed gives the same frame.
    **options
        Scenario options (see :func:`simulate_campaign`, :func:`simulate_musicstream`,
        :func:`simulate_homepage`).

    Returns
    -------
    Scenario
        Data, truth, roles and description.

    Raises
    ------
    DataError
        If the name or an option is unknown, or an argument is out of range.

    See Also
    --------
    simulate_migration, simulate_campaign, simulate_musicstream, simulate_homepage,
    simulate_personalization
    """
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in _GENERATORS:
        raise DataError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    generator = _GENERATORS[key]
    accepted = [p for p in inspect.signature(generator).parameters if p not in ("rows", "seed")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DataError(f"scenario {key!r} has no option {', '.join(map(repr, unknown))}; "
                        f"options: {', '.join(accepted) or 'none'}")
    kwargs = dict(options, seed=seed)
    if rows is not None:
        kwargs["rows"] = rows
    return generator(**kwargs)
