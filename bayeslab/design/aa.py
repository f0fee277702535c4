r"""A/A simulation: how often the readout pipeline declares a winner when there is none.

Thousands of conversion experiments with the same rate in both arms are simulated at once and read
out the way :func:`bayeslab.readout.metric.compare` reads one: the pooled two-proportion z-test
(two-sided, ``alpha``) and the Bayesian ship rule of :class:`bayeslab.readout.metric.DecisionRule`
(:math:`P(p_T > p_C) \ge` ``prob_threshold`` and relative expected loss
:math:`E[(1 - p_T/p_C)^+] \le` ``loss_threshold``; "do not ship" when
:math:`P(p_T < p_C) \ge` ``prob_threshold``), with Beta posteriors computed exactly
(:mod:`bayeslab.kernels.beta`, ``accuracy="simulation"``). The sample ratio mismatch check is
applied too.

Units are split between the arms by

* ``"fixed"``: exactly ``round(n * share)`` units to treatment;
* ``"bernoulli"``: each unit independently (binomial arm counts);
* ``"hash"``: the deterministic salted md5 assignment of :mod:`bayeslab.design.assignment`, ids
  ``0..n-1`` and salt ``f"{salt}-{i}"`` for experiment ``i`` (about 1 us per unit: use a few
  hundred experiments), so the simulated rates include whatever the hash does to the split.

Each rate comes with its Monte Carlo standard error :math:`\sqrt{r(1-r)/S}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import jsonable
from bayeslab.sequential.operating import MAX_SIMS

ASSIGNMENTS = ("fixed", "bernoulli", "hash")


@dataclass(frozen=True)
class AAResult:
    """Measured false-positive rates of the pipeline under A/A data.

    Attributes
    ----------
    rates : dict of str to float
        ``z_reject`` (two-sided p < alpha), ``z_ship`` (p < alpha and positive),
        ``bayes_ship`` (the ship rule), ``bayes_any`` (ship or do-not-ship), ``both_ship``
        (both sides ship, the readout's "ship" verdict before guardrails), ``srm`` (sample
        ratio mismatch flagged).
    mc_se : dict of str to float
        Monte Carlo standard error of each rate.
    n_sims, n : int
        Experiments and units per experiment.
    baseline, share : float
        Conversion rate of both arms, planned treatment share.
    assignment : str
    rule : dict
        The decision rule used.
    prior : tuple
    seed : int or None
    """

    rates: dict
    mc_se: dict
    n_sims: int
    n: int
    baseline: float
    share: float
    assignment: str
    rule: dict
    prior: tuple
    seed: int | None

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return jsonable({"rates": self.rates, "mc_se": self.mc_se, "n_sims": self.n_sims,
                         "n": self.n, "baseline": self.baseline, "share": self.share,
                         "assignment": self.assignment, "rule": self.rule,
                         "prior": self.prior, "seed": self.seed})

    def summary(self):
        """One row per rate: ``rate``, ``mc_se``."""
        import pandas as pd

        return pd.DataFrame({"rate": self.rates, "mc_se": self.mc_se})

    def __str__(self) -> str:
        from bayeslab.core.text import render_table

        rows = [[k, f"{v:.4f}", f"{self.mc_se[k]:.4f}"] for k, v in self.rates.items()]
        return (f"A/A simulation: {self.n_sims:,} experiments of {self.n:,} units, rate "
                f"{self.baseline:g}, treatment share {self.share:g}, {self.assignment} "
                f"assignment\n" + render_table(rows, ["false positive", "rate", "MC se"]))



def _check(n, baseline, n_sims, share, assignment, prior):
    for name, v in (("n", n), ("n_sims", n_sims)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ModelError(f"{name} must be a positive integer, got {v!r}")
    if n_sims > MAX_SIMS:
        raise ModelError(f"n_sims must be at most {MAX_SIMS:,} (the experiments are simulated "
                         f"together, in memory), got {n_sims:,}; its Monte Carlo error at "
                         f"{MAX_SIMS:,} is already below 0.0003 for a 5% rate")
    if n < 4:
        raise ModelError(f"n must be at least 4 units, got {n}")
    for name, v in (("baseline", baseline), ("share", share)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < 1:
            raise ModelError(f"{name} must be in (0, 1), got {v!r}")
    if assignment not in ASSIGNMENTS:
        raise ModelError(f"assignment must be one of {', '.join(ASSIGNMENTS)}, got "
                         f"{assignment!r}")
    try:
        a, b = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise ModelError(f"prior must be two positive numbers, got {prior!r}") from None
    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        raise ModelError(f"prior must be two positive numbers, got {prior!r}")
    return a, b


def decisions(n_c, x_c, n_t, x_t, rule=None, prior=(1.0, 1.0)) -> dict:
    """Readout decisions per experiment, vectorized (boolean arrays).

    Parameters
    ----------
    n_c, x_c, n_t, x_t : array_like
        Units and conversions per arm.
    rule : DecisionRule, optional
    prior : (float, float)

    Returns
    -------
    dict
        ``z_reject``, ``z_ship``, ``bayes_ship`` and ``bayes_no_ship``.
    """
    from scipy.special import ndtr

    from bayeslab.core.decision import DecisionRule
    from bayeslab.kernels import beta as K

    rule = rule or DecisionRule()
    n_c, x_c, n_t, x_t = (np.asarray(v, dtype=float) for v in (n_c, x_c, n_t, x_t))
    pooled = (x_c + x_t) / (n_c + n_t)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    diff = x_t / n_t - x_c / n_c
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se0 > 0, diff / se0, 0.0)
    p_value = 2 * ndtr(-np.abs(z))
    a0, b0 = prior
    params = (a0 + x_t, b0 + n_t - x_t, a0 + x_c, b0 + n_c - x_c)
    prob = np.atleast_1d(K.prob_greater(*params, accuracy="simulation"))
    ship = prob >= rule.prob_threshold
    if ship.any():
        loss = np.atleast_1d(K.expected_loss(*(p[ship] for p in params), relative=True,
                                             accuracy="simulation"))
        ship[np.flatnonzero(ship)] = loss <= rule.loss_threshold
    return {"z_reject": p_value < rule.alpha, "z_ship": (p_value < rule.alpha) & (diff > 0),
            "bayes_ship": ship, "bayes_no_ship": 1 - prob >= rule.prob_threshold}


#: experiments per call of the vectorized decisions (see aa_simulation)
_CHUNK = 50_000


def aa_simulation(n: int = 10_000, baseline: float = 0.1, *, n_sims: int = 10_000,
                  share: float = 0.5, rule=None, prior=(1.0, 1.0), assignment: str = "fixed",
                  salt: str = "aa", seed: int | None = 0) -> AAResult:
    """Simulate A/A experiments and measure the pipeline's false-positive rates.

    Parameters
    ----------
    n : int
        Units per experiment (both arms).
    baseline : float
        Conversion rate of both arms.
    n_sims : int
        Experiments.
    share : float
        Planned treatment share (0.1 for a 90/10 split).
    rule : DecisionRule, optional
        Thresholds (default ``DecisionRule()``: P >= 0.975 = 1 - alpha/2, relative loss
        <= 0.25%, alpha 0.05, SRM threshold 0.001).
    prior : (float, float)
        Beta prior of each arm's rate.
    assignment : {"fixed", "bernoulli", "hash"}
        See the module.
    salt : str
        Salt prefix for ``"hash"``.
    seed : int, optional

    Returns
    -------
    AAResult

    Raises
    ------
    ModelError
        Bad sizes, rates, share, prior or assignment.

    See Also
    --------
    bayeslab.sequential.operating.rule_false_positive_rate : the same question for a stopping
        rule checked at many looks.
    """
    from scipy.special import chdtrc

    from bayeslab.core.decision import DecisionRule

    rule = rule or DecisionRule()
    prior = _check(n, baseline, n_sims, share, assignment, prior)
    rng = np.random.default_rng(seed)
    if assignment == "fixed":
        n_t = np.full(n_sims, round(n * share), dtype=np.int64)
    elif assignment == "bernoulli":
        n_t = rng.binomial(n, share, n_sims)
    else:
        from bayeslab.core.progress import bar
        from bayeslab.design.assignment import hash_fraction

        ids = np.arange(n)
        n_t = np.array([int((hash_fraction(ids, f"{salt}-{i}") >= 1 - share).sum())
                        for i in bar(range(n_sims), desc="hash assignments", unit="sim")])
    n_c = n - n_t
    if np.any(n_c < 1) or np.any(n_t < 1):
        raise ModelError("an arm got no units: increase n or move the share away from 0 and 1")
    x_c = rng.binomial(n_c, baseline)
    x_t = rng.binomial(n_t, baseline)
    # 50,000 experiments a call: Ctrl-C (checked between calls) stops at once, same numbers
    parts = [decisions(n_c[i:i + _CHUNK], x_c[i:i + _CHUNK], n_t[i:i + _CHUNK],
                       x_t[i:i + _CHUNK], rule, prior) for i in range(0, n_sims, _CHUNK)]
    dec = {k: np.concatenate([d[k] for d in parts]) for k in parts[0]}
    expected_t = n * share
    chi2 = (n_t - expected_t) ** 2 / expected_t + (n_c - (n - expected_t)) ** 2 / (n - expected_t)
    srm = chdtrc(1, chi2) < rule.srm_threshold
    rates = {"z_reject": dec["z_reject"], "z_ship": dec["z_ship"],
             "bayes_ship": dec["bayes_ship"],
             "bayes_any": dec["bayes_ship"] | dec["bayes_no_ship"],
             "both_ship": dec["bayes_ship"] & dec["z_ship"], "srm": srm}
    rates = {k: float(np.mean(v)) for k, v in rates.items()}
    mc = {k: math.sqrt(r * (1 - r) / n_sims) for k, r in rates.items()}
    return AAResult(rates=rates, mc_se=mc, n_sims=int(n_sims), n=int(n),
                    baseline=float(baseline), share=float(share), assignment=assignment,
                    rule=rule.to_dict(), prior=prior, seed=seed)
