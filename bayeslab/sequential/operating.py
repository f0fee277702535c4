r"""Operating characteristics of a stopping rule by vectorized simulation over experiments.

Thousands of two-arm experiments are simulated at once, look by look: at each look the cumulative
sufficient statistics of every experiment (units, sum, sum of squares per arm) are handed to a
*rule*, any callable ``rule(stats: LookStats) -> array of decisions`` vectorized over
experiments, with decisions

* ``0`` continue, ``1`` stop and declare a positive effect (success),
* ``-1`` stop for futility (no effect declared), ``2`` stop and declare a negative effect.

At each look the rule is handed only the experiments still running (the arrays of ``LookStats``
are over those), so an expensive posterior rule costs nothing for experiments that have stopped;
the data of every experiment are drawn anyway, so a seed gives the same numbers for any rule.

Frequentist designs become rules with :func:`design_rule`; a Bayesian posterior rule is any
callable of the same signature (e.g. stop when :math:`P(p_T > p_C \mid \text{data}) \ge 0.95`).
The false-positive rate under the null is the share of experiments that declare an effect in
either direction; power is the share that declare a positive effect.

Data per look: Bernoulli conversions (``metric="binary"``, binomial increments) or normal outcomes
(``metric="normal"``: the increment's sum is exactly normal and its within-increment sum of
squares is :math:`\sigma^2 \chi^2_{m-1}`, so the sufficient statistics have their exact joint law
without drawing units).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import jsonable
from bayeslab.sequential.look_stats import (  # re-exported: importable from here as before
    CONTINUE,
    FUTILITY,
    HARM,
    SUCCESS,
    LookStats,
)

Rule = Callable[[LookStats], np.ndarray]


def design_rule(design) -> Rule:
    """Turn a :class:`~bayeslab.sequential.boundaries.GroupSequentialDesign` into a rule.

    ``z >= upper[k]`` declares success; ``z <= lower[k]`` declares a negative effect in a
    two-sided design and stops for futility in a one-sided design with futility bounds.

    Parameters
    ----------
    design : GroupSequentialDesign

    Returns
    -------
    callable
    """
    upper = np.asarray(design.upper)
    lower = np.asarray(design.lower)
    low_code = HARM if design.sides == 2 else FUTILITY

    def rule(stats: LookStats) -> np.ndarray:
        if stats.n_looks != upper.size:
            raise ModelError(f"the design has {upper.size} looks, the simulation "
                             f"{stats.n_looks}")
        z = stats.z
        out = np.where(z >= upper[stats.look], SUCCESS, CONTINUE)
        return np.where((out == CONTINUE) & (z <= lower[stats.look]), low_code, out)

    rule.__name__ = f"design_rule({design.spending}, {design.looks} looks)"
    return rule


@dataclass(frozen=True)
class OCResult:
    """Simulated operating characteristics of one rule at one true effect.

    Attributes
    ----------
    decision : numpy.ndarray
        Final decision per experiment (0: ran to the end without stopping).
    stop_look : numpy.ndarray
        0-based look at which each experiment stopped (the last look if it never stopped).
    n_at_stop : numpy.ndarray
        Total units at stopping.
    estimate_at_stop : numpy.ndarray
        Treatment minus control at stopping.
    effect, baseline, sd : float
        True effect (absolute), control mean, outcome sd (normal data).
    metric : str
    seed : int or None
    looks : numpy.ndarray
        Cumulative (n_control, n_treatment) per look, shape (K, 2).
    """

    decision: np.ndarray
    stop_look: np.ndarray
    n_at_stop: np.ndarray
    estimate_at_stop: np.ndarray
    effect: float
    baseline: float
    sd: float | None
    metric: str
    seed: int | None
    looks: np.ndarray

    @property
    def n_sims(self) -> int:
        """Number of simulated experiments."""
        return int(self.decision.size)

    @property
    def rejection_rate(self) -> float:
        """Share declaring an effect in either direction (false-positive rate under the null)."""
        return float(np.mean((self.decision == SUCCESS) | (self.decision == HARM)))

    @property
    def power(self) -> float:
        """Share declaring a positive effect."""
        return float(np.mean(self.decision == SUCCESS))

    @property
    def expected_n(self) -> float:
        """Mean total units at stopping."""
        return float(self.n_at_stop.mean())

    @property
    def bias(self) -> float:
        """Mean estimate at stopping minus the true effect."""
        return float(self.estimate_at_stop.mean() - self.effect)

    def mc_se(self, rate: float) -> float:
        """Monte Carlo standard error of a simulated proportion."""
        return math.sqrt(rate * (1 - rate) / self.n_sims)

    def stop_distribution(self):
        """Share of experiments stopping at each look, by decision (DataFrame)."""
        import pandas as pd

        k = self.looks.shape[0]
        rows = {}
        for name, code in [("success", SUCCESS), ("harm", HARM), ("futility", FUTILITY)]:
            rows[name] = np.bincount(self.stop_look[self.decision == code], minlength=k) \
                / self.n_sims
        return pd.DataFrame(rows, index=pd.RangeIndex(1, k + 1, name="look"))

    def to_dict(self) -> dict:
        """JSON-safe summary (no per-experiment arrays)."""
        return jsonable({
            "effect": self.effect, "baseline": self.baseline, "sd": self.sd,
            "metric": self.metric, "n_sims": self.n_sims, "seed": self.seed,
            "rejection_rate": self.rejection_rate, "power": self.power,
            "futility_rate": float(np.mean(self.decision == FUTILITY)),
            "expected_n": self.expected_n, "max_n": float(self.looks[-1].sum()),
            "bias": self.bias, "mc_se_rejection": self.mc_se(self.rejection_rate)})

    def summary(self):
        """One-row DataFrame of :meth:`to_dict`."""
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def __str__(self) -> str:
        d = self.to_dict()
        return (f"Operating characteristics ({self.metric}, effect {self.effect:g}, "
                f"{self.n_sims:,} experiments)\n"
                f"  declares an effect: {d['rejection_rate']:.4f} (MC se "
                f"{d['mc_se_rejection']:.4f}); positive: {d['power']:.4f}\n"
                f"  expected n at stop: {d['expected_n']:,.0f} of {d['max_n']:,.0f}; bias of the "
                f"estimate at stop: {d['bias']:+.4g}")


def _looks(looks, ratio) -> np.ndarray:
    arr = np.asarray(looks, dtype=float)
    if arr.ndim == 1:
        arr = np.column_stack([arr, arr * ratio])
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise DataError("looks must be cumulative units per arm: a 1-d array (control; treatment "
                        "= ratio x control) or an array of shape (K, 2)", column="looks")
    arr = np.round(arr)
    if np.any(arr[0] < 2) or np.any(np.diff(arr, axis=0) < 0) or \
            np.any(np.diff(arr.sum(axis=1)) <= 0):
        raise DataError("looks must start with >= 2 units per arm and grow at every look",
                        column="looks")
    return arr.astype(np.int64)


# simulations are vectorized over all experiments at once: memory grows with n_sims x looks
MAX_SIMS = 1_000_000
#: experiments per call of a rule: small enough that Ctrl-C (checked between calls) stops a
#: million-experiment simulation within a fraction of a second
CHUNK = 250_000


def _apply_in_chunks(rule, stats, m_act: int) -> np.ndarray:
    """``rule(stats)`` over the running experiments, ``CHUNK`` at a time (elementwise rules)."""
    from dataclasses import fields, replace

    if m_act <= CHUNK:
        out = [np.asarray(rule(stats))]
        sizes = [m_act]
    else:
        arrays = [f.name for f in fields(stats)
                  if isinstance(getattr(stats, f.name), np.ndarray)
                  and getattr(stats, f.name).shape == (m_act,)]
        out, sizes = [], []
        for lo in range(0, m_act, CHUNK):
            part = replace(stats, **{a: getattr(stats, a)[lo:lo + CHUNK] for a in arrays})
            out.append(np.asarray(rule(part)))
            sizes.append(min(CHUNK, m_act - lo))
    for d, size in zip(out, sizes, strict=True):
        if d.shape != (size,):
            raise ModelError(f"the rule returned shape {d.shape}, expected ({size},)")
    return out[0] if len(out) == 1 else np.concatenate(out)


def simulate(rule: Rule, looks, *, effect: float = 0.0, baseline: float = 0.1,
             metric: str = "binary", sd: float = 1.0, ratio: float = 1.0, n_sims: int = 10_000,
             seed: int | None = 0, progress: bool | None = None) -> OCResult:
    """Simulate ``n_sims`` experiments look by look and apply ``rule`` at every look.

    Parameters
    ----------
    rule : callable
        ``rule(LookStats) -> int array`` of decisions over experiments (see the module).
    looks : array_like
        Cumulative units per look: control only (treatment = ``ratio`` x control) or (K, 2).
    effect : float
        True treatment minus control (absolute).
    baseline : float
        Control conversion rate (binary) or mean (normal).
    metric : {"binary", "normal"}
    sd : float
        Outcome sd in both arms (normal data).
    ratio : float
        Treatment / control units when ``looks`` is 1-d.
    n_sims : int
    seed : int, optional
        The same seed gives the same numbers.
    progress : bool, optional
        A progress bar over the looks on stderr (default: only on a terminal).

    Returns
    -------
    OCResult

    Raises
    ------
    ModelError
        Bad metric, baseline, effect, sd or n_sims; a rule returning the wrong shape.
    DataError
        Bad looks.
    """
    if metric not in ("binary", "normal"):
        raise ModelError(f"metric must be 'binary' or 'normal', got {metric!r}")
    if metric == "binary" and not (0 < baseline < 1 and 0 < baseline + effect < 1):
        raise ModelError(f"baseline {baseline!r} and baseline + effect must be in (0, 1)")
    if metric == "normal" and not sd > 0:
        raise ModelError(f"sd must be positive, got {sd!r}")
    if isinstance(n_sims, bool) or not isinstance(n_sims, (int, np.integer)) or n_sims < 1:
        raise ModelError(f"n_sims must be a positive integer, got {n_sims!r}")
    if n_sims > MAX_SIMS:
        raise ModelError(f"n_sims must be at most {MAX_SIMS:,} (every experiment is simulated "
                         f"at once, in memory), got {n_sims:,}")
    arr = _looks(looks, ratio)
    k = arr.shape[0]
    rng = np.random.default_rng(seed)
    means = np.array([baseline, baseline + effect])
    sums = np.zeros((2, n_sims))
    sumsq = np.zeros((2, n_sims))
    decision = np.zeros(n_sims, dtype=np.int8)
    stop_look = np.full(n_sims, k - 1, dtype=np.int64)
    n_at_stop = np.full(n_sims, float(arr[-1].sum()))
    est_at_stop = np.zeros(n_sims)
    active = np.ones(n_sims, dtype=bool)
    prev = np.zeros(2, dtype=np.int64)
    from bayeslab.core.progress import bar

    for look in bar(range(k), desc=f"simulating {n_sims:,} experiments, look", show=progress,
                    unit="look"):
        inc = arr[look] - prev
        prev = arr[look]
        for arm in (0, 1):
            m = int(inc[arm])
            if m == 0:
                continue
            if metric == "binary":
                s = rng.binomial(m, means[arm], n_sims).astype(float)
                sums[arm] += s
                sumsq[arm] += s
            else:
                s = rng.normal(m * means[arm], sd * math.sqrt(m), n_sims)
                within = sd**2 * rng.chisquare(m - 1, n_sims) if m > 1 else 0.0
                sums[arm] += s
                sumsq[arm] += within + s**2 / m
        idx = np.flatnonzero(active)  # the rule sees only the experiments still running
        m_act = idx.size
        stats = LookStats(look=look, n_looks=k, n_control=np.full(m_act, float(arr[look, 0])),
                          n_treatment=np.full(m_act, float(arr[look, 1])),
                          sum_control=sums[0, idx], sum_treatment=sums[1, idx],
                          sumsq_control=sumsq[0, idx], sumsq_treatment=sumsq[1, idx],
                          metric="binary" if metric == "binary" else "normal")
        dec = _apply_in_chunks(rule, stats, m_act)
        stop = dec != CONTINUE if look < k - 1 else np.ones(m_act, dtype=bool)
        stopping = idx[stop]
        decision[stopping] = dec[stop]
        stop_look[stopping] = look
        n_at_stop[stopping] = float(arr[look].sum())
        est_at_stop[stopping] = stats.estimate[stop]
        active[stopping] = False
        if not active.any():
            break
    return OCResult(decision=decision, stop_look=stop_look, n_at_stop=n_at_stop,
                    estimate_at_stop=est_at_stop, effect=float(effect), baseline=float(baseline),
                    sd=float(sd) if metric == "normal" else None, metric=metric, seed=seed,
                    looks=arr)


def operating_characteristics(rule: Rule, looks, effects=(0.0,), **kwargs):
    """Simulate the rule at several true effects; one row per effect.

    Parameters
    ----------
    rule, looks
        As in :func:`simulate`.
    effects : sequence of float
        True effects; include 0 for the false-positive rate.
    **kwargs
        Passed to :func:`simulate` (the seed is offset per effect so rows are independent).

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    seed = kwargs.pop("seed", 0)
    rows = []
    for i, eff in enumerate(effects):
        res = simulate(rule, looks, effect=eff, seed=None if seed is None else seed + i, **kwargs)
        rows.append(res.to_dict())
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class FalsePositiveRate:
    """Simulated false-positive rate of a stopping rule under the null (A/A), look schedule given.

    Attributes
    ----------
    rate : float
        Share of null experiments in which the rule declared an effect (either direction).
    mc_se : float
        Monte Carlo standard error of ``rate``.
    n_sims : int
    looks : numpy.ndarray
        Cumulative (n_control, n_treatment) per look.
    baseline : float
    metric : str
    seed : int or None
    rule : str
        The rule in words.
    by_look : tuple of float
        Cumulative false-positive rate after each look.
    """

    rate: float
    mc_se: float
    n_sims: int
    looks: np.ndarray
    baseline: float
    metric: str
    seed: int | None
    rule: str
    by_look: tuple

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return jsonable({"rate": self.rate, "mc_se": self.mc_se, "n_sims": self.n_sims,
                         "looks": self.looks, "baseline": self.baseline, "metric": self.metric,
                         "seed": self.seed, "rule": self.rule, "by_look": self.by_look})

    def __str__(self) -> str:
        k = self.looks.shape[0]
        return (f"Simulated false-positive rate of '{self.rule}' over {k} look"
                f"{'s' if k > 1 else ''} (no true effect, {self.n_sims:,} experiments): "
                f"{self.rate:.2%} (MC se {self.mc_se:.2%})")


def rule_false_positive_rate(rule: Rule, looks, baseline: float = 0.1, n_sims: int = 10_000,
                             seed: int | None = 0, *, metric: str = "binary", sd: float = 1.0,
                             ratio: float = 1.0, progress: bool | None = None) -> FalsePositiveRate:
    r"""Share of A/A experiments (no true effect) in which ``rule`` declares an effect.

    A posterior threshold such as :math:`P(\text{lift} > 0) \ge 0.95` is not a 5% error rate
    once it is checked at several looks; this states what it is under the user's schedule.

    Parameters
    ----------
    rule : callable
        A rule of :func:`simulate` (e.g. :class:`bayeslab.sequential.rules.ProbPositive`).
    looks : array_like
        Cumulative units per look, as in :func:`simulate`.
    baseline : float
        Rate (or mean) of both arms.
    n_sims : int
    seed : int, optional
    metric, sd, ratio, progress
        As in :func:`simulate`.

    Returns
    -------
    FalsePositiveRate

    Raises
    ------
    ModelError, DataError
        As in :func:`simulate`.
    """
    res = simulate(rule, looks, effect=0.0, baseline=baseline, metric=metric, sd=sd, ratio=ratio,
                   n_sims=n_sims, seed=seed, progress=progress)
    dist = res.stop_distribution()
    by_look = tuple((dist["success"] + dist["harm"]).cumsum().tolist())
    rate = res.rejection_rate
    text = rule.describe() if hasattr(rule, "describe") else getattr(rule, "__name__", repr(rule))
    return FalsePositiveRate(rate=rate, mc_se=res.mc_se(rate), n_sims=res.n_sims, looks=res.looks,
                             baseline=float(baseline), metric=metric, seed=seed, rule=text,
                             by_look=by_look)
