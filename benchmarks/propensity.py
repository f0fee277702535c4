"""Fit times of the propensity readout at 10,000 and 1,000,000 rows, both sides.

Frequentist: propensity logit (statsmodels), IPW x3 with sandwich SEs, AIPW, caliper matching.
Bayesian: NUTS (PyMC, 2 chains x 500 draws after 500 tuning) at 10,000 rows; at 1,000,000 rows
the normal (Laplace) approximation at the posterior mode, which the tests check against NUTS
(NUTS there would cost hours on 2 cores). 500 effect draws each with Bayesian-bootstrap
weights. Prints seconds and rows per second; run with ``python benchmarks/propensity.py``.
"""

from __future__ import annotations

import sys
import time

from bayeslab.bayes.propensity import BayesPropensity
from bayeslab.data.units import load_units
from bayeslab.frequentist.propensity import PropensityWeighting
from bayeslab.scenarios import simulate

CONF = ["engagement_score", "past_purchases", "account_age_days", "device_type"]


def _time(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(sizes=(10_000, 1_000_000)) -> None:
    for rows in sizes:
        sc = simulate("personalization", rows=rows, seed=0)
        t_load, u = _time(lambda sc=sc: load_units(sc.data, arm="received_personalization",
                                                   metric="made_purchase", confounders=CONF))
        t_freq, f = _time(lambda u=u: PropensityWeighting("ate").fit(u))
        samplers = ("nuts", "laplace") if rows <= 20_000 else ("laplace",)
        print(f"rows {rows:>9,}: load (DuckDB) {t_load:6.2f} s; frequentist {t_freq:6.2f} s "
              f"(AIPW {f.effect('aipw').diff:+.4f}, truth {sc.truth['ate']:+.4f})")
        for sampler in samplers:
            draws = 500 if sampler == "nuts" else 250
            t_b, b = _time(lambda s=sampler, d=draws, units=u: BayesPropensity(
                "ate", sampler=s, draws=d, tune=500, chains=2).fit(units))
            print(f"    bayes {sampler:7s} {t_b:7.2f} s  ({b.effect('bayes-dr').diff:+.4f}; "
                  f"ratio to frequentist {t_b / t_freq:5.1f}x)")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
