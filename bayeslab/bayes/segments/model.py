"""The PyMC model of the segment fit, its compile key and its parameterization choices."""

from __future__ import annotations

import numpy as np

from bayeslab.bayes.segments.cells import CellData
from bayeslab.bayes.segments.priors import SegmentPriors


def build_model(data: CellData, *, family: str, prior: SegmentPriors,
                parameterization: str = "non-centered"):
    r"""Build the PyMC model of :func:`fit_segments` (see there for the math).

    Variables: ``baseline_mu``, ``effect_mu`` (per treatment arm), per component ``c``:
    ``baseline_sd_c``, ``tau_c``, and ``baseline_z_c`` / ``effect_z_c`` (non-centered) or
    ``baseline_c`` / ``effect_c`` (centered); deterministics ``baseline`` (segment),
    ``effect`` (segment, treatment) and ``theta`` (segment, arm) on the natural scale (cell
    probability, or mean in outcome units).
    """
    import pymc as pm
    import pytensor.tensor as pt

    cells, labels, arms = data.cells, data.labels, data.arms
    coords = {"segment": list(labels), "arm": list(arms), "treatment": list(arms[1:]),
              "cell": [f"{s} | {a}" for s, a in zip(cells["segment"], cells["arm"], strict=True)]}
    comp_dims = []
    for j, (name, levels, _) in enumerate(data.components):
        dim = f"level_{j}"
        coords[dim] = list(levels)
        comp_dims.append((safe_name(name), dim))
    centered = parameterization == "centered"
    base_loc = 0.0 if prior.baseline.mu is None else float(prior.baseline.mu)
    if prior.baseline.mu is None and family == "logistic":
        base_loc = data.center
    seg = cells["seg_idx"].to_numpy(dtype=np.int64)
    arm = cells["arm_idx"].to_numpy(dtype=np.int64)
    with pm.Model(coords=coords) as model:
        # data enter as pm.Data, so a model of the same structure reuses the compiled one
        loc = pm.Data("baseline_loc", np.float64(base_loc))
        seg = pm.Data("cell_segment", seg, dims="cell")
        arm = pm.Data("cell_arm", arm, dims="cell")
        alpha = pm.Normal("baseline_mu", loc, prior.baseline.sigma)
        mu_d = pm.Normal("effect_mu", prior.effect.mu or 0.0, prior.effect.sigma, dims="treatment")
        if len(labels) > 1:
            informative = _baselines_informative(data, family)
            if (informative == "alike" and not centered) or len(labels) - 1 < MIN_SPREAD_DOF:
                # pinned baselines that barely differ, or too few segments: their sd is weakly
                # identified, and both hierarchical forms have a funnel (measured: divergences
                # with two segments); baselines are nuisance parameters, so they get a fixed
                # weakly informative spread instead of a pooled one
                alpha_seg = alpha + pm.ZeroSumNormal("baseline_dev", prior.baseline_sd.sigma,
                                                     dims="segment")
            elif centered or informative == "spread":
                # each control cell pins its baseline and the baselines clearly differ:
                # centered mixes best
                sd_a = pm.HalfNormal("baseline_sd", prior.baseline_sd.sigma)
                alpha_seg = pm.Normal("baseline_seg", alpha, sd_a, dims="segment")
            else:
                sd_a = pm.HalfNormal("baseline_sd", prior.baseline_sd.sigma)
                # a sparse control cell: non-centered avoids the funnel
                alpha_seg = alpha + sd_a * pm.ZeroSumNormal("baseline_z", 1.0, dims="segment")
        else:
            alpha_seg = pt.zeros(1) + alpha
        delta_seg = pt.zeros((len(labels), len(arms) - 1)) + mu_d[None, :]
        two_way = len(comp_dims) == 3
        for j, ((name, dim), (_, _, idx)) in enumerate(zip(comp_dims, data.components,
                                                           strict=True)):
            if two_way:
                delta_seg = delta_seg + _two_way_component(pm, data, prior, comp_dims, j)
                continue
            if len(data.components[j][1]) - 1 < MIN_SPREAD_DOF:
                # too few levels to learn a spread from (see _two_way_component)
                z = pm.ZeroSumNormal(f"effect_dev_{name}", prior.effect_sd.sigma,
                                     dims=("treatment", dim))
                delta_seg = delta_seg + z.T[pm.Data(f"level_index_{name}", idx, dims="segment")]
                continue
            tau = pm.HalfNormal(f"tau_{name}", prior.effect_sd.sigma, dims="treatment")
            if centered and len(comp_dims) == 1:
                # one dimension, centered: delta_j ~ N(mu_delta, tau)
                d_c = pm.Normal(f"effect_{name}", mu_d[None, :], tau[None, :],
                                dims=(dim, "treatment")) - mu_d[None, :]
            elif centered:
                d_c = pm.Normal(f"effect_{name}", 0.0, tau[None, :], dims=(dim, "treatment"))
            else:
                # zero-sum over levels (the last axis): effect_mu is then the mean over levels
                z = pm.ZeroSumNormal(f"effect_z_{name}", 1.0, dims=("treatment", dim))
                d_c = tau[None, :] * z.T
            delta_seg = delta_seg + d_c[pm.Data(f"level_index_{name}", idx, dims="segment")]
        pm.Deterministic("baseline", alpha_seg, dims="segment")
        pm.Deterministic("effect", delta_seg, dims=("segment", "treatment"))
        eta = pt.concatenate([alpha_seg[:, None], alpha_seg[:, None] + delta_seg], axis=1)
        if family == "logistic":
            p = pm.Deterministic("theta", pm.math.sigmoid(eta), dims=("segment", "arm"))
            n = pm.Data("cell_n", cells["n"].to_numpy(dtype=np.int64), dims="cell")
            y = pm.Data("cell_y", cells["y"].to_numpy(dtype=np.int64), dims="cell")
            pm.Binomial("y", n=n, p=p[seg, arm], observed=y, dims="cell")
        else:
            center = pm.Data("center", np.float64(data.center))
            scale = pm.Data("scale", np.float64(data.scale))
            pm.Deterministic("theta", center + scale * eta, dims=("segment", "arm"))
            se = pm.Data("cell_se", cells["se"].to_numpy(dtype=float), dims="cell")
            y = pm.Data("cell_y", cells["y"].to_numpy(dtype=float), dims="cell")
            pm.Normal("y", mu=eta[seg, arm], sigma=se, observed=y, dims="cell")
    return model


MIN_SPREAD_DOF = 4


def _two_way_component(pm, data: CellData, prior: SegmentPriors, comp_dims, j: int):
    r"""Effect deviations (segment, treatment) of component ``j`` of a two-dimension model.

    Main effects sum to zero over their levels; the interaction sums to zero along both
    dimensions (it is what the main effects leave, not a second copy of them: the earlier
    all-cells form made a ridge with the main effects, and divergences). A component learns its
    spread :math:`\tau` only from at least ``MIN_SPREAD_DOF`` free contrasts (5 levels, or a
    3 x 3 interaction); with fewer, :math:`\tau` and its standardized deviations form a ridge
    that mixes slowly (bulk ESS below 400 for 2 x 1000 draws, measured on the migration
    scenario) and the component gets a fixed prior scale instead, the marginal prior sd of a
    deviation under the pooled form (``effect_sd.sigma``).
    """
    name, dim = comp_dims[j]
    levels = [len(c[1]) for c in data.components]
    if j == 2:
        dof = (levels[0] - 1) * (levels[1] - 1)
        dims = ("treatment", comp_dims[0][1], comp_dims[1][1])
        ia = pm.Data(f"level_index_{name}_0", data.components[0][2], dims="segment")
        ib = pm.Data(f"level_index_{name}_1", data.components[1][2], dims="segment")
        extra = {"n_zerosum_axes": 2}
    else:
        dof, dims, extra = levels[j] - 1, ("treatment", dim), {}
        ia = pm.Data(f"level_index_{name}", data.components[j][2], dims="segment")
    if dof < MIN_SPREAD_DOF:
        z = pm.ZeroSumNormal(f"effect_dev_{name}", prior.effect_sd.sigma, dims=dims, **extra)
        scale = 1.0
    else:
        z = pm.ZeroSumNormal(f"effect_z_{name}", 1.0, dims=dims, **extra)
        scale = pm.HalfNormal(f"tau_{name}", prior.effect_sd.sigma, dims="treatment")[None, :]
    picked = z[:, ia, ib] if j == 2 else z[:, ia]
    return scale * picked.T


def model_key(data: CellData, *, family: str, prior: SegmentPriors,
              parameterization: str) -> tuple:
    """Structure of the model :func:`build_model` makes: equal keys share one compiled model."""
    informative = _baselines_informative(data, family) if len(data.labels) > 1 else None
    return ("segments", family, parameterization, informative, str(prior),
            prior.baseline.mu is None, len(data.labels), len(data.arms), len(data.cells),
            tuple(len(levels) for _, levels, _ in data.components))


def auto_parameterization(data: CellData, family: str, prior: SegmentPriors) -> str:
    """Centered effects when one dimension and every segment effect is pinned by its cells."""
    if len(data.components) != 1:
        return "non-centered"
    c = data.cells
    t = len(data.labels), len(data.arms)
    n, y = np.full(t, np.nan), np.full(t, np.nan)
    n[c["seg_idx"], c["arm_idx"]] = c["n"]
    y[c["seg_idx"], c["arm_idx"]] = c["sum"]
    if family == "logistic":
        var = 1 / (y + 0.5) + 1 / (n - y + 0.5)
    else:
        var = np.full(t, np.nan)
        var[c["seg_idx"], c["arm_idx"]] = c["se"] ** 2
    se = np.sqrt(var[:, 1:] + var[:, :1])
    if np.isnan(se).any():
        return "non-centered"
    return "centered" if se.max() < prior.effect_sd.sigma / 4 else "non-centered"


def _baselines_informative(data: CellData, family: str, minimum: float = 3.0,
                           spread: float = 1.5) -> str | None:
    """How well the control cells pin the segment baselines.

    ``None`` when a control cell is sparse (logistic: fewer than ``minimum`` conversions or
    non-conversions; normal: fewer than ``minimum`` units): non-centered baselines then. Else
    ``"spread"`` when the raw control log-odds differ across segments by more than ``spread``
    times their typical standard error (centered baselines), and ``"alike"`` when they do not
    (a fixed spread; logistic only, normal cells count as ``"spread"``).
    """
    ctrl = data.cells[data.cells["arm_idx"] == 0]
    if len(ctrl) < len(data.labels):
        return None
    if family != "logistic":
        return "spread" if ctrl["n"].min() >= minimum else None
    x, n = ctrl["sum"].to_numpy(float), ctrl["n"].to_numpy(float)
    if np.minimum(x, n - x).min() < minimum:
        return None
    logit = np.log((x + 0.5) / (n - x + 0.5))
    se = np.sqrt(np.mean(1 / (x + 0.5) + 1 / (n - x + 0.5)))
    if np.minimum(x, n - x).min() < 10 * minimum:
        # pinned, but loosely (fewer than 30 conversions in a cell): a learned spread of the
        # baselines funnels in the centered form (measured: homepage conversions by city tier x
        # user type, 13-79 per cell, 2-18 divergences) and mixes slowly in the non-centered one
        return "alike"
    return "spread" if len(logit) > 1 and np.std(logit, ddof=1) > spread * se else "alike"


def safe_name(name: str) -> str:
    """``name`` as a PyMC variable suffix: every character but letters, digits and _ as _."""
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
