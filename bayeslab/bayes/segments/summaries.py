"""Segment and population summaries computed from the posterior draws."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayeslab.bayes.segments.cells import CellData
from bayeslab.bayes.segments.model import safe_name
from bayeslab.core.errors import ModelError


def theta_draws(idata):
    """Posterior draws of the cell values, shape (draws, segment, arm)."""
    from bayeslab.inference.diagnostics import draws_matrix

    return draws_matrix(idata["posterior"], "theta")  # (S, segment, arm)


def lift_draws(idata, data, segment, arm, effect):
    """Draws of one segment's lift (``segment=None``: the size-weighted population lift)."""
    theta = theta_draws(idata)
    t = 1 if arm is None else data.arms.index(arm)
    if segment is None:
        c = theta[:, :, 0] @ data.weights
        tr = theta[:, :, t] @ data.weights
    else:
        j = data.labels.index(segment)
        c, tr = theta[:, j, 0], theta[:, j, t]
    if effect == "absolute":
        return tr - c
    if effect == "relative":
        return tr / c - 1
    raise ModelError(f"effect must be 'absolute' or 'relative', got {effect!r}")


def _interval(x, level, axis=0):
    a = (1 - level) / 2
    return np.quantile(x, a, axis=axis), np.quantile(x, 1 - a, axis=axis)


def _raw_effect(sums, n, t, family, scale):
    """Unpooled cell effect on the linear-predictor scale (log-odds with a 0.5 correction)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if family == "logistic":
            lo = np.log((sums + 0.5) / (n - sums + 0.5))
            return lo[:, t] - lo[:, 0]
        return (sums[:, t] / n[:, t] - sums[:, 0] / n[:, 0]) / scale


def summarize(idata, data: CellData, family: str, interval: float):
    """Per-segment table and population rows from the posterior draws."""
    from bayeslab.inference.diagnostics import draws_matrix, mean_mcse, summary_mcse

    theta = theta_draws(idata)
    chains = int(idata["posterior"].sizes["chain"])

    def errors(draws, j=None):
        """Monte Carlo standard errors of the summaries (one column ``j`` of a matrix)."""
        e = summary_mcse(draws, chains=chains, level=interval)
        return e if j is None else {k: float(v[j]) for k, v in e.items()}

    cells = data.cells
    raw = np.full((len(data.labels), len(data.arms)), np.nan)
    n = np.zeros_like(raw)
    seg = cells["seg_idx"].to_numpy(dtype=np.int64)
    arm_idx = cells["arm_idx"].to_numpy(dtype=np.int64)
    raw[seg, arm_idx] = (cells["sum"] / cells["n"]).to_numpy(dtype=float)
    sums = np.full_like(raw, np.nan)
    sums[seg, arm_idx] = cells["sum"].to_numpy(dtype=float)
    n[seg, arm_idx] = cells["n"].to_numpy(dtype=float)
    rows, pop = [], []
    for t in range(1, len(data.arms)):
        arm = data.arms[t]
        absd = theta[:, :, t] - theta[:, :, 0]
        reld = theta[:, :, t] / theta[:, :, 0] - 1
        pop_abs = lift_draws(idata, data, None, arm, "absolute")
        pop_rel = lift_draws(idata, data, None, arm, "relative")
        raw_abs = raw[:, t] - raw[:, 0]
        raw_eff = _raw_effect(sums, n, t, family, data.scale)
        eff = draws_matrix(idata["posterior"], "effect")[:, :, t - 1]
        mu = draws_matrix(idata["posterior"], "effect_mu")[:, t - 1]
        center = mu.mean()
        abs_err, rel_err = errors(absd), errors(reld)
        # shrinkage is a ratio of posterior means: its MC error is that of mean(effect - mu)
        shrink_err = mean_mcse(eff - mu[:, None], chains=chains)
        for j, label in enumerate(data.labels):
            lo_a, hi_a = _interval(absd[:, j], interval)
            lo_r, hi_r = _interval(reld[:, j], interval)
            post = absd[:, j].mean()
            gap = raw_eff[j] - center
            shrink, shrink_se = ((1 - (eff[:, j].mean() - center) / gap, shrink_err[j] / abs(gap))
                                 if abs(gap) > 1e-12 else (np.nan, np.nan))
            rows.append({"segment": label, "arm": arm, "n_control": n[j, 0],
                         "n_treatment": n[j, t], "raw_control": raw[j, 0],
                         "raw_treatment": raw[j, t], "abs_raw": raw_abs[j],
                         "abs_mean": post, "abs_median": np.median(absd[:, j]),
                         "abs_lower": lo_a, "abs_upper": hi_a,
                         "rel_raw": raw[j, t] / raw[j, 0] - 1 if raw[j, 0] else np.nan,
                         "rel_mean": reld[:, j].mean(), "rel_median": np.median(reld[:, j]),
                         "rel_lower": lo_r, "rel_upper": hi_r,
                         "effect_raw": raw_eff[j], "effect_mean": eff[:, j].mean(),
                         "prob_positive": float((absd[:, j] > 0).mean()), "shrinkage": shrink,
                         "abs_mcse": {k: v[j] for k, v in abs_err.items()} | {
                             "shrinkage": shrink_se},
                         "rel_mcse": {k: v[j] for k, v in rel_err.items()} | {
                             "shrinkage": shrink_se}})
        for eff, d in (("absolute", pop_abs), ("relative", pop_rel)):
            lo, hi = _interval(d, interval)
            pop.append({"effect": eff, "arm": arm, "component": None, "mean": d.mean(),
                        "lower": lo, "upper": hi, "prob_positive": float((d > 0).mean()),
                        "mcse": errors(d)})
        scale_name = "log-odds" if family == "logistic" else "standardized"
        lo, hi = _interval(mu, interval)
        pop.append({"effect": scale_name, "arm": arm, "component": None, "mean": mu.mean(),
                    "lower": lo, "upper": hi, "prob_positive": float((mu > 0).mean()),
                    "mcse": errors(mu)})
        for name, _, _ in data.components:
            if f"tau_{safe_name(name)}" not in idata["posterior"].data_vars:
                continue  # a two-level dimension of a two-way model: a fixed prior scale
            tau = draws_matrix(idata["posterior"], f"tau_{safe_name(name)}")[:, t - 1]
            lo, hi = _interval(tau, interval)
            err = errors(tau)
            err.pop("prob_positive")
            pop.append({"effect": "tau", "arm": arm, "component": name, "mean": tau.mean(),
                        "lower": lo, "upper": hi, "prob_positive": np.nan, "mcse": err})
    return pd.DataFrame(rows), pd.DataFrame(pop)
