"""MCMC diagnostics with pass / warn / fail verdicts and posterior predictive checks.

Every Bayesian fit that samples carries a :class:`Diagnostics`: one row per check (rank-normalized
split R-hat, bulk and tail ESS, Monte Carlo standard error, divergences, E-BFMI, tree-depth
saturation, number of chains), each with its value, threshold, status and a one-line reason, and
an overall verdict. A readout whose verdict is ``"fail"`` says so and makes no decision.

:func:`bayeslab.inference.sampling.sample_with_remedy` (which imports this module) samples a PyMC
model with nutpie and refits once when the first fit fails these checks; the result records that it
did. :func:`ppc_cells` compares observed cell rates
(or means) with their posterior (or prior) predictive intervals.

Thresholds (after Vehtari et al. 2021, "Rank-normalization, folding, and localization"):
R-hat <= 1.01, bulk and tail ESS >= 400, no divergent transitions, E-BFMI >= 0.3 in every chain,
MCSE of each posterior mean <= 10% of its posterior standard deviation, and fewer than 1% of draws
at the maximum tree depth. Divergences, R-hat and ESS fail; E-BFMI, MCSE, tree depth and a single
chain warn. A low E-BFMI alone warns rather than blocks: it says the momentum resampling explores
the energy poorly, and the failure that matters for the numbers, chains that disagree or move
slowly, shows in R-hat and ESS, which a fit checks over every free variable (a centered funnel
next to the effect fails there: ``tests/readout/test_custom.py``). A failed check names the worst
variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import json_float

STATUSES = ("pass", "warn", "fail")


@dataclass(frozen=True)
class Check:
    """One diagnostic check: its value, threshold, status and a one-line reason."""

    name: str
    value: float
    threshold: float
    status: str
    reason: str

    def to_dict(self) -> dict:
        """JSON-safe dict of the check."""
        return {"name": self.name, "value": json_float(self.value),
                "threshold": json_float(self.threshold), "status": self.status,
                "reason": self.reason}


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of one posterior sample.

    Attributes
    ----------
    checks : tuple of Check
        One row per check, in a fixed order.
    verdict : {"pass", "warn", "fail"}
        The worst status among the checks.
    reason : str
        One line: what failed or warned, or that every check passed.
    chains, draws : int
        Shape of the sample the checks were computed on.
    remedy : str, optional
        Set by :func:`sample_with_remedy` when the first fit failed and was refitted.
    """

    checks: tuple[Check, ...]
    verdict: str
    reason: str
    chains: int
    draws: int
    remedy: str | None = None

    @property
    def ok(self) -> bool:
        """True unless some check failed (a warning still allows a decision)."""
        return self.verdict != "fail"

    def check(self, name: str) -> Check:
        """Return the check called ``name``."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def _value(self, name):
        try:
            return self.check(name).value
        except KeyError:
            return float("nan")

    def summary(self):
        """One row per check: name, value, threshold, status, reason."""
        import pandas as pd

        return pd.DataFrame([c.to_dict() for c in self.checks])

    def to_dict(self) -> dict:
        """JSON-safe dict.

        Keys: ``r_hat`` (max), ``ess_bulk`` / ``ess_tail`` (min), ``divergences``, ``verdict``,
        ``reason``, ``remedy``, ``chains``, ``draws`` and every check.
        """
        div = self._value("divergences")
        return {
            "r_hat": json_float(self._value("r_hat")),
            "ess_bulk": json_float(self._value("ess_bulk")),
            "ess_tail": json_float(self._value("ess_tail")),
            "divergences": None if not np.isfinite(div) else int(div),
            "verdict": self.verdict,
            "reason": self.reason,
            "remedy": self.remedy,
            "chains": self.chains,
            "draws": self.draws,
            "checks": [c.to_dict() for c in self.checks],
        }

    def __str__(self) -> str:
        lines = [f"Diagnostics: {self.verdict.upper()} ({self.chains} chains x {self.draws} "
                 f"draws): {self.reason}"]
        if self.remedy:
            lines.append(f"  remedy: {self.remedy}")
        for c in self.checks:
            lines.append(f"  {c.status:<4}  {c.name:<12} {_fmt(c.value):>10}  "
                         f"(threshold {_fmt(c.threshold)})  {c.reason}")
        return "\n".join(lines)


def _fmt(x) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if float(x).is_integer() and abs(x) >= 1:
        return f"{int(x)}"
    return f"{x:.4g}"


def _stack_max(tree_or_ds, var_names, reduce):
    """Reduce every variable of an ArviZ result to one number (ignoring NaN)."""
    ds = tree_or_ds.to_dataset() if hasattr(tree_or_ds, "to_dataset") else tree_or_ds
    values = [np.asarray(ds[v].values, dtype=float).ravel() for v in ds.data_vars
              if var_names is None or v in var_names]
    values = np.concatenate(values) if values else np.array([])
    values = values[np.isfinite(values)]
    return float(reduce(values)) if values.size else float("nan")


def _worst(result, pick) -> tuple[float, str | None]:
    """The worst value of a per-variable ArviZ result, and the variable holding it.

    ``pick`` is ``np.argmax`` (R-hat, MCSE ratio) or ``np.argmin`` (ESS).
    """
    ds = result.to_dataset() if hasattr(result, "to_dataset") else result
    best = []
    for name in ds.data_vars:
        values = np.asarray(ds[name].values, dtype=float).ravel()
        values = values[np.isfinite(values)]
        if values.size:
            best.append((float(values[pick(values)]), str(name)))
    if not best:
        return float("nan"), None
    values = np.array([b[0] for b in best])
    return best[int(pick(values))]


def _named(what: str, name: str | None) -> str:
    return what if name is None else f"{what[:-1]}, worst: {name})"


def _free_variable_names(idata, var_names):
    post = idata["posterior"]
    names = list(post.data_vars) if var_names is None else list(var_names)
    keep = []
    for name in names:
        if name not in post.data_vars:
            raise ModelError(f"var_names: {name!r} is not in the posterior "
                             f"(it has {', '.join(post.data_vars)})")
        values = np.asarray(post[name].values, dtype=float)
        if np.all(np.isfinite(values)) and np.ptp(values.reshape(values.shape[0] *
                                                                 values.shape[1], -1),
                                                  axis=0).max(initial=0.0) > 0:
            keep.append(name)
    return keep


def diagnose(
    idata,
    *,
    var_names=None,
    rhat_max: float = 1.01,
    ess_min: float = 400,
    bfmi_min: float = 0.3,
    max_divergences: int = 0,
    mcse_max_ratio: float = 0.1,
    treedepth_max_fraction: float = 0.01,
) -> Diagnostics:
    """Check a posterior sample with ArviZ and give a pass / warn / fail verdict.

    Parameters
    ----------
    idata : xarray.DataTree
        Result of ``pm.sample`` (``posterior`` and, for sampler checks, ``sample_stats`` groups).
    var_names : list of str, optional
        Posterior variables to check; default every variable that varies across draws.
    rhat_max : float
        Largest acceptable rank-normalized split R-hat (fail above).
    ess_min : float
        Smallest acceptable bulk and tail effective sample size (fail below).
    bfmi_min : float
        Smallest acceptable E-BFMI in any chain (warn below).
    max_divergences : int
        Largest acceptable number of divergent transitions after tuning (fail above).
    mcse_max_ratio : float
        Largest acceptable MCSE of a posterior mean over its posterior sd (warn above).
    treedepth_max_fraction : float
        Largest acceptable fraction of draws at the maximum tree depth (warn above).

    Returns
    -------
    Diagnostics

    Raises
    ------
    ModelError
        ``idata`` has no posterior group, or ``var_names`` names a missing variable.
    """
    import arviz as az

    if "posterior" not in getattr(idata, "children", {}):
        raise ModelError("diagnose needs a DataTree with a 'posterior' group (from pm.sample)")
    post = idata["posterior"]
    chains, draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    names = _free_variable_names(idata, var_names)
    checks = []
    if names:
        rhat, rhat_at = _worst(az.rhat(idata, var_names=names), np.argmax)
        bulk, bulk_at = _worst(az.ess(idata, var_names=names, method="bulk"), np.argmin)
        tail, tail_at = _worst(az.ess(idata, var_names=names, method="tail"), np.argmin)
        mcse = az.mcse(idata, var_names=names).to_dataset()
        sd = post.to_dataset()[names].std(dim=("chain", "draw"))
        ratio, ratio_at = _worst(mcse / sd, np.argmax)
    else:
        rhat = bulk = tail = ratio = float("nan")
        rhat_at = bulk_at = tail_at = ratio_at = None
    # the worst variable is named only when it fails its check (a passing text stays short)
    checks.append(_upper("r_hat", rhat, rhat_max, "fail", _named(
        "rank-normalized split R-hat (max over parameters)", rhat_at if rhat > rhat_max
        else None)))
    checks.append(_lower("ess_bulk", bulk, ess_min, "fail", _named(
        "bulk ESS (min over parameters)", bulk_at if bulk < ess_min else None)))
    checks.append(_lower("ess_tail", tail, ess_min, "fail", _named(
        "tail ESS (min over parameters)", tail_at if tail < ess_min else None)))
    checks.append(_upper("mcse_ratio", ratio, mcse_max_ratio, "warn", _named(
        "MCSE of the mean / posterior sd (max over parameters)",
        ratio_at if ratio > mcse_max_ratio else None)))
    stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else None
    if stats is not None and "diverging" in stats:
        div = float(np.asarray(stats["diverging"].values).sum())
        checks.append(_upper("divergences", div, max_divergences, "fail",
                             "divergent transitions after tuning"))
    if stats is not None and "energy" in stats:
        bfmi = _stack_max(az.bfmi(idata), None, np.min)
        checks.append(_lower("bfmi", bfmi, bfmi_min, "warn", "E-BFMI (min over chains)"))
    if stats is not None and "reached_max_treedepth" in stats:
        frac = float(np.asarray(stats["reached_max_treedepth"].values).mean())
        checks.append(_upper("tree_depth", frac, treedepth_max_fraction, "warn",
                             "fraction of draws at the maximum tree depth"))
    status = "pass" if chains >= 2 else "warn"
    checks.append(Check("chains", float(chains), 2.0, status,
                        "chains sampled" if chains >= 2 else
                        "a single chain: R-hat cannot compare chains"))
    return _verdict(tuple(checks), chains, draws)


def _upper(name, value, threshold, bad, what):
    from bayeslab.core.format import versus

    if not np.isfinite(value):
        return Check(name, value, threshold, "warn", f"{what}: not computable")
    if value <= threshold:
        return Check(name, value, threshold, "pass", f"{what} {_fmt(value)} <= {_fmt(threshold)}")
    return Check(name, value, threshold, bad, "{} {} > {}".format(what, *versus(value, threshold)))


def _lower(name, value, threshold, bad, what):
    from bayeslab.core.format import versus

    if not np.isfinite(value):
        return Check(name, value, threshold, "warn", f"{what}: not computable")
    if value >= threshold:
        return Check(name, value, threshold, "pass", f"{what} {_fmt(value)} >= {_fmt(threshold)}")
    return Check(name, value, threshold, bad, "{} {} < {}".format(what, *versus(value, threshold)))


def _verdict(checks, chains, draws, remedy=None) -> Diagnostics:
    worst = max((STATUSES.index(c.status) for c in checks), default=0)
    verdict = STATUSES[worst]
    if verdict == "pass":
        reason = "all checks passed"
    else:
        bad = [c for c in checks if c.status == verdict]
        reason = "; ".join(c.reason for c in bad)
        if verdict == "fail":
            reason = "not converged, no decision: " + reason
    return Diagnostics(checks=checks, verdict=verdict, reason=reason, chains=chains, draws=draws,
                       remedy=remedy)


# --------------------------------------------------------------------------------------------
# Predictive checks


@dataclass(frozen=True)
class PredictiveCheck:
    r"""Observed cell values against their predictive intervals.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per cell: ``cell``, ``observed``, ``lower``, ``median``, ``upper``, ``p_value``
        (two-sided predictive p-value, :math:`2\min(P(y^{rep} \le y), P(y^{rep} \ge y))`
        capped at 1) and ``inside`` (observed within the interval).
    coverage : float
        Fraction of cells inside their interval (near ``interval`` when the model fits).
    interval : float
    kind : {"posterior", "prior"}
    quantity : str
        ``"rate"`` (conversions / n) or ``"mean"``.
    """

    table: object  # pandas.DataFrame
    coverage: float
    interval: float
    kind: str
    quantity: str
    extreme: int = 0
    cells: int = 0
    draws: int = 0
    replicated: np.ndarray | None = field(default=None, repr=False)

    @property
    def min_p_value(self) -> float:
        """Smallest cell p-value (small values flag cells the model does not reproduce)."""
        return float(self.table["p_value"].min())

    def summary(self):
        """Return the per-cell table."""
        return self.table.copy()

    def to_dict(self) -> dict:
        """JSON-safe coverage summary."""
        return {"kind": self.kind, "quantity": self.quantity, "interval": self.interval,
                "coverage": json_float(self.coverage), "cells": self.cells,
                "cells_with_p_below_0.05": self.extreme,
                "min_p_value": json_float(self.min_p_value), "draws": self.draws}

    def __str__(self) -> str:
        return (f"{self.kind.capitalize()} predictive check of cell {self.quantity}s: "
                f"{self.coverage:.0%} of {self.cells} cells inside their {self.interval:.0%} "
                f"interval (expected about {self.interval:.0%}); {self.extreme} with p < 0.05")


def ppc_cells(observed, replicated, *, labels=None, interval=0.95, kind="posterior",
              quantity="rate") -> PredictiveCheck:
    """Compare observed cell values with replicated draws of them.

    Parameters
    ----------
    observed : array of shape (cells,)
    replicated : array of shape (draws, cells)
        Predictive draws on the same scale as ``observed``.
    labels : sequence of str, optional
        Cell labels (default ``0..cells-1``).
    interval : float
        Central predictive interval level.
    kind : {"posterior", "prior"}
    quantity : str

    Returns
    -------
    PredictiveCheck

    Raises
    ------
    ModelError
        Shapes do not match or ``interval`` is not in (0, 1).
    """
    obs = np.asarray(observed, dtype=float)
    rep = np.asarray(replicated, dtype=float)
    if rep.ndim != 2 or rep.shape[1] != obs.shape[0]:
        raise ModelError(f"replicated must have shape (draws, {obs.shape[0]}), got {rep.shape}")
    if not 0 < interval < 1:
        raise ModelError(f"interval must be in (0, 1), got {interval!r}")
    a = (1 - interval) / 2
    lower, median, upper = np.quantile(rep, [a, 0.5, 1 - a], axis=0)
    p_le = (rep <= obs).mean(axis=0)
    p_ge = (rep >= obs).mean(axis=0)
    p = np.minimum(1.0, 2 * np.minimum(p_le, p_ge))
    inside = (obs >= lower) & (obs <= upper)
    labels = [str(i) for i in range(obs.size)] if labels is None else [str(x) for x in labels]
    import pandas as pd

    table = pd.DataFrame({"cell": labels, "observed": obs, "lower": lower, "median": median,
                          "upper": upper, "p_value": p, "inside": inside})
    return PredictiveCheck(table=table, coverage=float(inside.mean()), interval=interval,
                           kind=kind, quantity=quantity, extreme=int((p < 0.05).sum()),
                           cells=int(obs.size), draws=int(rep.shape[0]), replicated=rep)


def binomial_replicates(n, p_draws, *, seed=0):
    """Replicated cell rates ``Binomial(n, p) / n`` for each draw of cell probabilities.

    Parameters
    ----------
    n : array of shape (cells,)
    p_draws : array of shape (draws, cells)
    seed : int

    Returns
    -------
    numpy.ndarray of shape (draws, cells)
    """
    rng = np.random.default_rng(seed)
    n = np.asarray(n, dtype=np.int64)
    return rng.binomial(n, np.clip(p_draws, 0.0, 1.0)) / np.maximum(n, 1)


def normal_replicates(se, mean_draws, *, seed=0):
    """Replicated cell means ``Normal(theta, se)`` for each draw of cell means."""
    rng = np.random.default_rng(seed)
    return rng.normal(mean_draws, np.asarray(se, dtype=float))


def draws_matrix(group, name: str) -> np.ndarray:
    """Return a posterior (or prior) variable as a ``(chain * draw, ...)`` numpy array."""
    da = group[name]
    values = np.asarray(da.values)
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


def rank_data(idata, var_name: str, *, index: int = 0, bins: int | None = None):
    """Rank-histogram data for a rank plot.

    Of one scalar, or element ``index`` of a vector counted over its flattened non-sample
    dimensions.

    Ranks are taken over all chains pooled; with good mixing each chain's ranks are uniform.

    Returns
    -------
    edges : numpy.ndarray
        Bin edges over ``[0, chains * draws]``.
    counts : numpy.ndarray of shape (chains, bins)
    """
    from scipy.stats import rankdata

    values = np.asarray(idata["posterior"][var_name].values, dtype=float)
    values = values.reshape(values.shape[0], values.shape[1], -1)[..., index or 0]
    chains, draws = values.shape
    ranks = rankdata(values.ravel()).reshape(chains, draws)
    bins = bins or max(5, min(20, draws // 20))
    edges = np.linspace(0, chains * draws, bins + 1)
    counts = np.stack([np.histogram(r, bins=edges)[0] for r in ranks])
    return edges, counts


def summary_mcse(draws, *, chains: int = 1, level: float = 0.95, axis: int = 0) -> dict:
    r"""Monte Carlo standard errors of a posterior summary computed from draws.

    For draws :math:`x` of one quantity (``chains`` chains, stored chain after chain along
    ``axis``), the MCSE of the posterior mean, of the interval ends (the
    :math:`(1 \mp \text{level})/2` quantiles) and of :math:`P(x > 0)` (the mean of the indicator
    :math:`1\{x > 0\}`), each with ArViZ's effective sample size (Vehtari et al. 2021). When every
    draw falls on one side of 0 the indicator has no variance; its error is then bounded by
    :math:`\sqrt{1 / N} / \sqrt{\mathrm{ESS}}` (one draw's worth, :math:`N` draws in all), so a
    probability read as 1 is never treated as exact.

    Parameters
    ----------
    draws : array_like
        ``chains * draws`` values along ``axis`` (other axes: several quantities at once).
    chains : int
        Number of chains the draws came from (1 for independent draws).
    level : float
        Interval level of the summary.
    axis : int
        Axis of the draws.

    Returns
    -------
    dict
        ``estimate``, ``lower``, ``upper``, ``prob_positive``: arrays (or floats) of the MCSE.
    """
    from arviz_stats.base import array_stats

    x = np.moveaxis(np.asarray(draws, dtype=float), axis, -1)
    total = x.shape[-1]
    x = x.reshape(*x.shape[:-1], chains, total // chains)
    a = (1 - level) / 2
    out = {"estimate": array_stats.mcse(x, method="mean"),
           "lower": array_stats.mcse(x, method="quantile", prob=a),
           "upper": array_stats.mcse(x, method="quantile", prob=1 - a)}
    p = (x > 0).mean(axis=(-2, -1))
    ess = array_stats.ess(x, method="bulk")
    out["prob_positive"] = np.sqrt(np.maximum(p * (1 - p), 1.0 / total) / ess)
    return {k: (float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float))
            for k, v in out.items()}


def mean_mcse(draws, *, chains: int = 1, axis: int = 0):
    """Monte Carlo standard error of the posterior mean of draws (see :func:`summary_mcse`)."""
    from arviz_stats.base import array_stats

    x = np.moveaxis(np.asarray(draws, dtype=float), axis, -1)
    x = x.reshape(*x.shape[:-1], chains, x.shape[-1] // chains)
    v = array_stats.mcse(x, method="mean")
    return float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float)
