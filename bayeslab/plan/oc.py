r"""A plan's decision procedure as :mod:`bayeslab.design.plan_oc` simulates it.

The simulation needs each metric's baseline (and sd), the arms and their split, the looks, the
decision rule, the correction and the minimum detectable effect. They come from the data (a run's
per-arm statistics, or the plan's data read in one scan by ``bayeslab oc``) or, before data
exists, from the plan's ``[design]`` table, whose values win::

    [design]
    units = 40000                                  # total units (all arms), at the last look
    baselines = { converted = 0.04, revenue = 17.0 }
    sds = { revenue = 40.0 }                       # continuous metrics
    mde = "10%"                                    # on the primary: absolute, or % of baseline
    correlation = 0.3                              # between every pair of metrics (optional)
    sims = 10000

and ``[decision] target_false_ship = 0.05`` calibrates the thresholds (``bayeslab oc``).

Kinds simulated: conversion, and continuous and count (as means with their sd; a covariate's
adjustment shrinks the sd by :math:`\sqrt{1 - \rho^2}` as CUPED does). A plan whose primary is
another kind (funnel, retention, propensity, custom) has no simulated operating
characteristics; its other metrics of those kinds are left out and said so.
"""

from __future__ import annotations

import math

import numpy as np

from bayeslab.core.errors import BayeslabError
from bayeslab.plan.schema import Plan, PlanError

SIMULATED_KINDS = {"conversion": "conversion", "continuous": "continuous", "count": "continuous",
                   "ratio": "conversion"}


class NotSimulated(BayeslabError):
    """The plan's rule cannot be simulated (say why in one line)."""


def _number(v, what):
    try:
        out = float(v)
    except (TypeError, ValueError):
        raise PlanError(f"[design] {what} must be a number, got {v!r}") from None
    if not math.isfinite(out):
        raise PlanError(f"[design] {what} must be finite, got {v!r}")
    return out


def _arm_moments(stats, covariate=False):
    """Per arm: n, mean, sd (adjusted for the covariate when it is in the stats)."""
    t = stats.table
    n = t["n"].to_numpy(float)
    mean = t["sum"].to_numpy(float) / n
    var = np.maximum(t["sum_sq"].to_numpy(float) / n - mean**2, 0.0) * n / np.maximum(n - 1, 1)
    rho = 0.0
    if covariate and {"sum_x", "sum_xx", "sum_xy"} <= set(t.columns):
        c = t.iloc[0]
        nx = float(c["n"])
        mx, my = c["sum_x"] / nx, c["sum"] / nx
        vx = c["sum_xx"] / nx - mx**2
        vy = c["sum_sq"] / nx - my**2
        cov = c["sum_xy"] / nx - mx * my
        if vx > 0 and vy > 0:
            rho = float(np.clip(cov / math.sqrt(vx * vy), -1, 1))
    return n, mean, np.sqrt(var * (1 - rho**2)), rho


def plan_design(plan: Plan, result=None, stats: dict | None = None):
    """The :class:`~bayeslab.design.plan_oc.PlanDesign` of a plan.

    Parameters
    ----------
    plan : Plan
    result : RunResult, optional
        A run of the plan: per-arm statistics, guardrail margins and the monitor's looks.
    stats : dict of str to ArmStats, optional
        Per-arm statistics of the metrics by name (``bayeslab oc`` reads them in one scan).

    Returns
    -------
    PlanDesign

    Raises
    ------
    NotSimulated
        The primary is of a kind the simulation does not cover, or nothing gives its baseline.
    PlanError
        A malformed ``[design]`` value.
    """
    from bayeslab.design.plan_oc import MetricDesign, PlanDesign

    design = dict(getattr(plan, "design", None) or {})
    readouts = {}
    if result is not None:
        for r in result.readouts:
            readouts[r.metric] = r
            for g in getattr(r, "guardrails", ()) or ():
                readouts[g.metric] = g
    stats = dict(stats or {})
    for name, r in readouts.items():
        if getattr(r, "stats", None) is not None and name not in stats:
            stats[name] = r.stats
    base_given = design.get("baselines", {}) or {}
    sds_given = design.get("sds", {}) or {}
    metrics, notes, arm_n, arms = [], [], None, None
    for m in plan.metrics:
        kind = SIMULATED_KINDS.get(m.kind)
        if kind is None:
            if m.role == "primary":
                raise NotSimulated(f"the primary {m.name!r} is a {m.kind} metric: the whole-rule "
                                   "simulation covers conversion, continuous and count metrics")
            notes.append(f"{m.name} ({m.kind}) is left out of the simulation")
            continue
        st = stats.get(m.name)
        baseline = sd = None
        r = readouts.get(m.name)
        if st is not None and hasattr(st, "table"):
            n, mean, sd_arm, _ = _arm_moments(st, covariate=bool(m.options.get("covariate")))
            baseline, sd = float(mean[0]), float(sd_arm[0])
            if m.role == "primary":
                arm_n, arms = n, tuple(str(a) for a in st.arms)
        elif r is not None and getattr(r, "arms", None) is not None and "mean" in r.arms:
            n = r.arms["n"].to_numpy(float)       # a funnel: its last stage per unit
            baseline = float(r.arms["mean"].iloc[0])
            if m.role == "primary":
                arm_n, arms = n, tuple(str(a) for a in r.arms["arm"])
        if m.kind == "ratio":
            notes.append(f"{m.name}: the funnel's last stage is simulated as a conversion rate "
                         "per unit")
        if m.name in base_given:
            baseline = _number(base_given[m.name], f"baselines.{m.name}")
        if m.name in sds_given:
            sd = _number(sds_given[m.name], f"sds.{m.name}")
        if baseline is None:
            if m.role == "primary":
                raise NotSimulated(f"no baseline for the primary {m.name!r}: run the plan on "
                                   "data, or give [design] baselines")
            notes.append(f"{m.name}: no baseline (no data, no [design] baselines), left out")
            continue
        margin = None
        if m.role == "guardrail":
            g = readouts.get(m.name)
            margin = getattr(g, "margin", None) if g is not None else None
            relative = bool(getattr(g, "margin_relative", False)) if g is not None else False
            if margin is None:
                raw = m.options.get("margin")
                relative = isinstance(raw, str) and raw.strip().endswith("%")
                margin = (float(raw.strip().rstrip("%")) / 100 if relative else
                          None if raw is None else float(raw))
            if margin is None:
                notes.append(f"guardrail {m.name} has no margin, left out")
                continue
            if relative:
                margin = margin * abs(baseline)
                notes.append(f"guardrail {m.name}: its relative margin is simulated as the "
                             f"absolute {margin:.4g} at the baseline")
        prior = None
        if kind == "conversion":
            from bayeslab.plan.inputs import _prior

            prior = _prior(m)
        metrics.append(MetricDesign(name=m.name, role=m.role, kind=kind, baseline=baseline,
                                    sd=sd if kind == "continuous" else None, margin=margin,
                                    prior=prior))
    units = design.get("units")
    split = plan.columns.get("planned_split")
    if arms is None:
        control = plan.columns.get("control", "control")
        k = len(split) if split else 2
        arms = (str(control), *[f"variant {i}" for i in range(1, k)])
    if units is not None or arm_n is None:
        if units is None:
            raise NotSimulated("no sample size: run the plan on data, or give [design] units")
        total = _number(units, "units")
        w = np.asarray(split if split else [1.0] * len(arms), dtype=float)
        arm_n = total * w / w.sum()
    looks = np.asarray([arm_n], dtype=float)
    success = futility = spending = None
    seq = plan.sequential or {}
    if seq and seq.get("metric", plan.primary.name) == plan.primary.name:
        mon = getattr(result, "monitor", None) if result is not None else None
        if mon is not None and len(arms) == 2:
            t = mon.table
            looks = np.column_stack([t["n_control"].to_numpy(float),
                                     t["n_treatment"].to_numpy(float)])
            if units is not None:
                looks = looks * (arm_n.sum() / looks[-1].sum())
        elif isinstance(seq.get("looks"), int):
            k = int(seq["looks"])
            looks = np.outer(np.arange(1, k + 1) / k, arm_n)
        rule = seq.get("rule") or {"type": "prob_positive", "success": 0.95, "futility": 0.10}
        if rule.get("type", "prob_positive") == "prob_positive":
            success, futility = rule.get("success", 0.95), rule.get("futility", 0.10)
        else:
            notes.append(f"the monitor's {rule.get('type')!r} rule is simulated as the plan's "
                         "decision rule at every look")
        spending = seq.get("spending", "obf")
    from bayeslab.plan.inputs import _rule

    rule = _rule(plan)
    mde = design.get("mde")
    primary = next(x for x in metrics if x.role == "primary")
    if isinstance(mde, str):
        text = mde.strip()
        if not text.endswith("%"):
            raise PlanError(f"[design] mde must be a number or a percentage like \"5%\", "
                            f"got {mde!r}")
        mde = _number(text[:-1], "mde") / 100 * abs(primary.baseline)
    elif mde is not None:
        mde = _number(mde, "mde")
    corr = design.get("correlation")
    corr_m = None
    if corr is not None and len(metrics) > 1:
        c = _number(corr, "correlation")
        corr_m = np.full((len(metrics), len(metrics)), c)
        np.fill_diagonal(corr_m, 1.0)
    from bayeslab.readout.corrections import Correction

    corr_spec = Correction.from_plan(plan.decision)
    return PlanDesign(
        metrics=tuple(metrics), looks=looks, arms=tuple(arms),
        prob_threshold=float(rule.prob_threshold), loss_threshold=float(rule.loss_threshold),
        alpha=float(rule.alpha), correction=corr_spec.method,
        scope=tuple(s for s in corr_spec.scope if s != "segments"),
        success=success, futility=futility, spending=spending, correlation=corr_m, mde=mde,
        notes=tuple(notes) + (() if corr_m is not None or len(metrics) < 2 else (
            "metrics simulated as independent (the worst case for the family-wise rate); "
            "give [design] correlation to change it",)))


def operating_characteristics(plan: Plan, result=None, stats=None, *, n_sims=None, seed=None):
    """The plan's rule simulated (``None`` with the reason when it cannot be)."""
    from bayeslab.design.plan_oc import DEFAULT_SIMS, plan_operating_characteristics

    design = plan_design(plan, result=result, stats=stats)
    sims = int(n_sims or (getattr(plan, "design", None) or {}).get("sims", DEFAULT_SIMS))
    return plan_operating_characteristics(design, n_sims=sims,
                                          seed=plan.seed if seed is None else seed)


def _measured(plan: Plan, source):
    """Per-metric statistics and the monitor's looks read from ``source`` (no model fitted)."""
    from dataclasses import replace
    from types import SimpleNamespace

    from bayeslab.data.stats import sufficient_stats
    from bayeslab.plan.inputs import _control, _monitor

    cols, stats = plan.columns, {}
    for m in plan.metrics:
        if m.kind not in SIMULATED_KINDS:
            continue
        column = m.options["stages"][-1] if m.kind == "ratio" else m.name
        kind = {"conversion": "binary", "ratio": "binary"}.get(m.kind, m.kind)
        stats[m.name] = sufficient_stats(
            source, arm=cols["arm"], metric=column, control=_control(plan), kind=kind,
            covariate=m.options.get("covariate"), n=plan.data.get("n"),
            missing=plan.data.get("missing", "error"))
    mon = None
    if plan.sequential:
        mon = _monitor(source, replace(plan, sequential={**plan.sequential, "fpr_sims": 0}))
    return SimpleNamespace(readouts=[], monitor=mon), stats


def calibrated_plan(plan: Plan, source):
    """The plan with its thresholds calibrated to ``[decision] target_false_ship``.

    Both sides' thresholds are found by :func:`bayeslab.design.plan_oc.calibrate` on the
    data's baselines; the plan's ``prob_threshold`` and ``alpha`` (and its monitor's success
    threshold) are replaced by them.

    Returns
    -------
    (Plan, Calibration)
    """
    from dataclasses import replace

    from bayeslab.design.plan_oc import DEFAULT_SIMS, calibrate

    result, stats = _measured(plan, source)
    design = plan_design(plan, result=result, stats=stats)
    sims = int((plan.design or {}).get("sims", DEFAULT_SIMS))
    cal = calibrate(design, float(plan.decision["target_false_ship"]), n_sims=sims,
                    seed=plan.seed)
    decision = {**plan.decision, "prob_threshold": cal.prob_threshold, "alpha": cal.alpha}
    seq = dict(plan.sequential or {})
    rule = seq.get("rule")
    if seq and (rule is None or rule.get("type", "prob_positive") == "prob_positive"):
        seq["rule"] = {**(rule or {"type": "prob_positive", "futility": 0.10}),
                       "success": cal.prob_threshold}
    return replace(plan, decision=decision, sequential=seq), cal


def plan_oc_from_data(path, *, n_sims=None, engine=None):
    """``bayeslab oc``: the plan's rule simulated, calibrated when the plan sets a target.

    The data is read in one pass per metric (no model fitted); ``[decision]
    target_false_ship`` calibrates both thresholds.

    Returns
    -------
    (PlanOC, Calibration or None)
    """
    from types import SimpleNamespace

    from bayeslab.design.plan_oc import DEFAULT_SIMS, calibrate, plan_operating_characteristics
    from bayeslab.plan.inputs import load_plan_data
    from bayeslab.plan.schema import load_plan

    plan = load_plan(path)
    design = plan.design or {}
    needs_data = design.get("units") is None or any(
        m.name not in (design.get("baselines") or {}) for m in plan.metrics
        if m.kind in SIMULATED_KINDS)
    result, stats = SimpleNamespace(readouts=[], monitor=None), {}
    if needs_data:
        from bayeslab.data.sources import open_source

        result, stats = _measured(plan, open_source(load_plan_data(plan, engine)))
    pd_ = plan_design(plan, result=result, stats=stats)
    sims = int(n_sims or design.get("sims", DEFAULT_SIMS))
    oc = plan_operating_characteristics(pd_, n_sims=sims, seed=plan.seed)
    target = plan.decision.get("target_false_ship")
    cal = None if target is None else calibrate(pd_, float(target), n_sims=sims, seed=plan.seed)
    return oc, cal
