r"""Segment lift with partial pooling: hierarchical models on per-(segment, arm) cells.

Cutting an experiment into segments and reading each cell on its own is noisy and multiplies
false positives. Here every segment's baseline and treatment effect are drawn from a population
distribution, so small cells borrow strength from the rest (shrinkage) and the population-level
lift and its spread :math:`\tau` are estimated together. The model sees only cell sufficient
statistics (``ArmStats.table``), so its cost does not grow with the number of rows.

Two segment dimensions (e.g. PS+ x spend tier) are modelled with additive main effects plus an
interaction that sums to zero along both dimensions, each with its own scale: segment
:math:`(a, b)` gets :math:`\mu + d^A_a + d^B_b + d^{AB}_{ab}`. A part with few levels gets a fixed
prior scale instead of a learned one (see :func:`fit_segments`). Cells that are empty or missing
an arm are fine: they inform only what they hold.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from bayeslab import format as fmt
from bayeslab.errors import DataError, ModelError, StatisticalWarning
from bayeslab.labels import segment_label
from bayeslab.priors import HalfNormal, Normal, prior_from_dict
from bayeslab.results import DEFAULT_LEVEL, Estimate, jsonable

FAMILIES = ("logistic", "normal")
PARAMETERIZATIONS = ("auto", "non-centered", "centered")


@dataclass(frozen=True)
class SegmentPriors:
    r"""Priors of the hierarchical segment model, on the linear-predictor scale.

    For the logistic model the scale is log-odds; for the normal model it is the outcome in units
    of its pooled standard deviation (the outcome is centered on its pooled mean and divided by
    that sd before fitting; the result records both numbers).

    Attributes
    ----------
    baseline : Normal
        Population mean of the control baseline. ``mu=None`` (default) centers it on the pooled
        control value (log-odds of the pooled control rate, or 0 for the standardized mean).
        Default ``Normal(mu=None, sigma=1.5)``: rates from about 5% to 95% of the center's odds.
    baseline_sd : HalfNormal
        Spread of segment baselines per segment dimension. Default ``HalfNormal(1)``.
    effect : Normal
        Population mean treatment effect. Default ``Normal(0, 0.5)``: odds ratios between
        about 0.37 and 2.7 (95%), wide for product experiments, where lifts are a few percent.
    effect_sd : HalfNormal
        Spread :math:`\tau` of segment treatment effects per dimension. Default
        ``HalfNormal(0.25)``: segment odds ratios mostly within a factor 1.6 of the population's.
    """

    baseline: Normal = field(default_factory=lambda: Normal(mu=None, sigma=1.5))
    baseline_sd: HalfNormal = field(default_factory=lambda: HalfNormal(1.0))
    effect: Normal = field(default_factory=lambda: Normal(0.0, 0.5))
    effect_sd: HalfNormal = field(default_factory=lambda: HalfNormal(0.25))

    def __post_init__(self):
        for name, kind in (("baseline", Normal), ("baseline_sd", HalfNormal),
                           ("effect", Normal), ("effect_sd", HalfNormal)):
            if not isinstance(getattr(self, name), kind):
                raise ModelError(f"prior {name} must be a {kind.__name__}, "
                                 f"got {getattr(self, name)!r}")

    def __str__(self) -> str:
        return (f"baseline ~ {self.baseline}, baseline_sd ~ {self.baseline_sd}, "
                f"effect ~ {self.effect}, tau ~ {self.effect_sd}")

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {k: getattr(self, k).to_dict()
                for k in ("baseline", "baseline_sd", "effect", "effect_sd")}

    @classmethod
    def from_dict(cls, d: dict) -> SegmentPriors:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: prior_from_dict(v) for k, v in d.items()})


# --------------------------------------------------------------------------------------------
# Data: cells and segment structure


@dataclass(frozen=True)
class CellData:
    """What the model sees: one row per observed (segment, arm) cell, and the segment layout.

    ``cells`` has ``dim0`` (and ``dim1``: the segment values), ``segment`` (label), ``arm``,
    ``seg_idx`` and ``arm_idx``
    (integer codes), ``n``, ``sum``, ``sum_sq`` and ``y`` / ``se`` (the modelled value and, for
    the normal model, its standard error, both standardized).
    """

    cells: pd.DataFrame
    labels: tuple[str, ...]
    arms: tuple[str, ...]
    segment_columns: tuple[str, ...]
    components: tuple[tuple[str, tuple[str, ...], np.ndarray], ...]
    weights: np.ndarray
    center: float
    scale: float


def prepare_cells(stats, family: str) -> CellData:
    """Validate ``stats`` for a segment model and lay out its cells.

    Raises
    ------
    ModelError
        No segment columns, more than two, or a metric kind the family cannot model.
    """
    segs = tuple(stats.segments)
    if not segs:
        raise ModelError("segment models need ArmStats with segments=(...): pass segments= to "
                         "sufficient_stats (--segment COL on the command line)")
    if len(segs) > 2:
        raise ModelError(f"at most two segment dimensions are supported, got {len(segs)}: "
                         f"{', '.join(segs)}")
    if family == "logistic" and stats.kind != "binary":
        raise ModelError(f"the logistic segment model needs a binary metric; {stats.metric!r} "
                         f"is {stats.kind}: use family='normal'")
    t = stats.table
    t = t[t["n"] > 0].reset_index(drop=True)
    keys = [tuple(str(v) for v in row) for row in t[list(segs)].itertuples(index=False)]
    labels = tuple(dict.fromkeys(segment_label(k) for k in keys))
    seg_index = {lab: i for i, lab in enumerate(labels)}
    arms = tuple(stats.arms)
    arm_index = {a: i for i, a in enumerate(arms)}
    cells = pd.DataFrame({f"dim{i}": [k[i] for k in keys] for i in range(len(segs))})
    cells["segment"] = [segment_label(k) for k in keys]
    cells["arm"] = t["arm"].astype(str).to_numpy()
    cells["seg_idx"] = cells["segment"].map(seg_index).to_numpy(dtype=np.int64)
    cells["arm_idx"] = cells["arm"].map(arm_index).to_numpy(dtype=np.int64)
    for col in ("n", "sum", "sum_sq"):
        cells[col] = t[col].to_numpy(dtype=float)
    totals = cells.groupby("seg_idx")["n"].sum().reindex(range(len(labels))).to_numpy()
    weights = totals / totals.sum()
    center, scale = _standardize(cells, family)
    if family == "normal":
        cells = _normal_cells(cells, center, scale)
    else:
        cells["y"] = cells["sum"]
        cells["se"] = np.nan
    components = _components(labels, segs, seg_index, keys)
    return CellData(cells=cells, labels=labels, arms=arms, segment_columns=segs,
                    components=components, weights=weights, center=center, scale=scale)


def _standardize(cells, family):
    n, s, q = cells["n"].sum(), cells["sum"].sum(), cells["sum_sq"].sum()
    if family == "logistic":
        ctrl = cells[cells["arm_idx"] == 0]
        rate = float(np.clip(ctrl["sum"].sum() / ctrl["n"].sum(), 1e-4, 1 - 1e-4))
        return math.log(rate / (1 - rate)), 1.0
    mean = s / n
    var = (q - n * mean**2) / max(n - 1, 1)
    if not var > 0:
        raise DataError("the metric has zero variance across all cells; nothing to model")
    return float(mean), float(math.sqrt(var))


def _normal_cells(cells, center, scale):
    n = cells["n"].to_numpy()
    mean = cells["sum"].to_numpy() / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (cells["sum_sq"].to_numpy() - n * mean**2) / (n - 1)
    bad = (n < 2) | ~(var > 0)
    if bad.any():
        warnings.warn(f"{int(bad.sum())} cell(s) with fewer than 2 units or zero variance have no "
                      "standard error and are left out of the normal segment model "
                      f"(segments: {', '.join(sorted(set(cells.loc[bad, 'segment'])))})",
                      StatisticalWarning, stacklevel=3)
    cells = cells[~bad].reset_index(drop=True)
    mean, var, n = mean[~bad], var[~bad], n[~bad]
    cells["y"] = (mean - center) / scale
    cells["se"] = np.sqrt(var / n) / scale
    return cells


def _components(labels, segs, seg_index, keys):
    """Hierarchical components: (name, levels, index of each segment into the levels)."""
    by_label = {segment_label(k): k for k in keys}
    parts = []
    if len(labels) < 2:
        return ()
    if len(segs) == 2:
        for i, col in enumerate(segs):
            levels = tuple(dict.fromkeys(by_label[lab][i] for lab in labels))
            if len(levels) > 1:
                pos = {v: j for j, v in enumerate(levels)}
                parts.append((col, levels, np.array([pos[by_label[lab][i]] for lab in labels])))
        name = segment_label(segs)
    else:
        name = segs[0]
    parts.append((name, labels, np.arange(len(labels))))
    return tuple(parts)


# --------------------------------------------------------------------------------------------
# Model


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
        comp_dims.append((_safe(name), dim))
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


def _auto_parameterization(data: CellData, family: str, prior: SegmentPriors) -> str:
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


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)


# --------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True)
class SegmentFit:
    """A fitted hierarchical segment model.

    Attributes
    ----------
    idata : xarray.DataTree
        Posterior (and sampler statistics, observed data) of the kept fit.
    diagnostics : bayeslab.diagnostics.Diagnostics
        Convergence checks; a ``"fail"`` verdict means no decision.
    table : pandas.DataFrame
        One row per (segment, treatment arm): raw cell rates (means), raw and posterior lift
        (absolute and relative, mean, median, interval), ``prob_positive``, the unpooled and
        posterior effect on the linear-predictor scale (``effect_raw``, ``effect_mean``; log-odds
        for the logistic model, with a 0.5 continuity correction for the raw value) and
        ``shrinkage`` = 1 - (effect_mean - mu) / (effect_raw - mu), the fraction of the distance
        from the raw cell effect to the population mean effect mu removed by pooling.
    population : pandas.DataFrame
        Population-level rows: size-weighted absolute / relative lift, the mean effect on the
        linear-predictor scale and the spread ``tau`` of each component.
    prior : SegmentPriors
    seed : int
    interval : float
    family : {"logistic", "normal"}
    data : CellData
    settings : dict
        Sampler, draws, tune, chains, target_accept, parameterization, remedy, timings, metric,
        segment columns, control arm.
    """

    idata: object
    diagnostics: object
    table: pd.DataFrame
    population: pd.DataFrame
    prior: SegmentPriors
    seed: int
    interval: float
    family: str
    data: CellData
    settings: dict

    @property
    def method(self) -> str:
        """Method name used in :class:`~bayeslab.results.Estimate` entries."""
        return f"hierarchical-{self.family}"

    def lift_draws(self, segment: str | None = None, *, arm: str | None = None,
                   effect: str = "absolute") -> np.ndarray:
        """Posterior draws of a lift on the natural scale.

        ``arm`` defaults to the first treatment; ``segment=None`` gives the size-weighted
        population lift.
        """
        return _lift_draws(self.idata, self.data, segment, arm, effect)

    def estimates(self) -> list[Estimate]:
        """Per-segment and population-level estimates (segment ``None``)."""
        ok = bool(self.diagnostics.ok)
        out = []
        for row in self.table.itertuples(index=False):
            for eff, key in (("absolute", "abs"), ("relative", "rel")):
                out.append(Estimate(
                    side="bayes", method=self.method, effect=eff,
                    estimate=getattr(row, f"{key}_mean"), lower=getattr(row, f"{key}_lower"),
                    upper=getattr(row, f"{key}_upper"), level=self.interval, arm=row.arm,
                    segment=row.segment, prob_positive=row.prob_positive,
                    extra={"raw": getattr(row, f"{key}_raw"), "shrinkage": row.shrinkage,
                           "n_control": row.n_control, "n_treatment": row.n_treatment,
                           "converged": ok}))
        for row in self.population.itertuples(index=False):
            out.append(Estimate(
                side="bayes", method=self.method, effect=row.effect, estimate=row.mean,
                lower=row.lower, upper=row.upper, level=self.interval, arm=row.arm,
                prob_positive=None if np.isnan(row.prob_positive) else row.prob_positive,
                extra={"component": row.component, "converged": ok}
                if isinstance(row.component, str) else {"converged": ok}))
        return out

    def summary(self) -> pd.DataFrame:
        """Per-segment table followed by the population rows."""
        pop = self.population.rename(columns={"mean": "abs_mean"})
        return pd.concat([self.table, pop], ignore_index=True)

    def to_dict(self) -> dict:
        """JSON-safe readout: results, diagnostics, prior and settings."""
        return {"model": self.method, "prior": self.prior.to_dict(), "seed": self.seed,
                "interval": self.interval,
                # timings vary run to run; the JSON holds only what the seed determines
                "settings": jsonable({k: v for k, v in self.settings.items()
                                      if k not in ("compile_s", "sample_s")}),
                "diagnostics": self.diagnostics.to_dict(),
                "results": [e.to_dict() for e in self.estimates()]}

    def _n_draws(self) -> int:
        """Posterior draws over all chains (a Monte Carlo probability's resolution)."""
        sizes = self.idata["posterior"].sizes
        return int(sizes["chain"] * sizes["draw"])

    def __str__(self) -> str:
        lines = [f"Segment lift ({self.method}, {len(self.data.labels)} segments of "
                 f"{', '.join(self.data.segment_columns)}; prior: {self.prior}; "
                 f"baseline centered at {self.data.center:.4g})"]
        for r in self.table.itertuples(index=False):
            lines.append(f"  {r.segment:<24} {r.arm:<10} lift {r.abs_mean:+.4g} "
                         f"[{r.abs_lower:+.4g}, {r.abs_upper:+.4g}]  raw {r.abs_raw:+.4g}  "
                         f"P(>0) {fmt.prob_draws(r.prob_positive, self._n_draws())}")
        for r in self.population.itertuples(index=False):
            lines.append(f"  population {r.effect:<10} {r.arm:<10} {r.mean:+.4g} "
                         f"[{r.lower:+.4g}, {r.upper:+.4g}] "
                         f"{r.component if isinstance(r.component, str) else ''}")
        lines.append(str(self.diagnostics))
        return "\n".join(lines)

    def ppc(self, *, seed: int | None = None):
        """Posterior predictive check of observed cell rates (or means)."""
        return predictive_check(self, kind="posterior", seed=self.seed if seed is None else seed)

    def prior_predictive(self, *, draws: int = 500, seed: int | None = None):
        """Prior predictive check: are the observed cells plausible under the prior alone."""
        return predictive_check(self, kind="prior", draws=draws,
                                seed=self.seed if seed is None else seed)

    def plot(self, ax=None):
        """Forest plot of segment lifts, raw vs pooled (see :func:`bayeslab.plots.plot_forest`)."""
        from bayeslab.plots import plot_forest

        return plot_forest(self, ax=ax)

    def save(self, path):
        """Save posterior, cell data and settings under directory ``path``."""
        from bayeslab.storage import save_tree

        meta = {"kind": "segments", "family": self.family, "prior": self.prior.to_dict(),
                "seed": self.seed, "interval": self.interval, "settings": self.settings,
                "diagnostics": self.diagnostics.to_dict(),
                "segment_columns": list(self.data.segment_columns), "arms": list(self.data.arms),
                "labels": list(self.data.labels), "center": self.data.center,
                "scale": self.data.scale}
        cells = self.data.cells.copy()
        for c in cells.columns:
            if not pd.api.types.is_numeric_dtype(cells[c]):
                cells[c] = cells[c].astype(str).to_numpy(dtype=str)
        import xarray as xr

        return save_tree(path, self.idata, meta, {"cells": xr.Dataset.from_dataframe(cells)})


def load_segment_fit(path) -> SegmentFit:
    """Re-read a :class:`SegmentFit` written by :meth:`SegmentFit.save` (no re-sampling).

    Raises
    ------
    DataError
        ``path`` is not a saved segment fit.
    """
    from bayeslab.diagnostics import Check, Diagnostics
    from bayeslab.storage import load_tree, tree_from_groups

    groups, meta = load_tree(path)
    if meta.get("kind") != "segments":
        raise DataError(f"{str(path)!r} holds a {meta.get('kind')!r} fit, not a segment fit")
    cells = groups["cells"].to_dataframe().reset_index(drop=True)
    segs = tuple(meta["segment_columns"])
    for c in (*[f"dim{i}" for i in range(len(segs))], "segment", "arm"):
        cells[c] = cells[c].astype(str)
    for c in ("seg_idx", "arm_idx"):
        cells[c] = cells[c].astype(np.int64)
    labels = tuple(meta["labels"])
    seg_index = {lab: i for i, lab in enumerate(labels)}
    keys = [tuple(str(v) for v in row)
            for row in cells[[f"dim{i}" for i in range(len(segs))]].itertuples(index=False)]
    totals = cells.groupby("seg_idx")["n"].sum().reindex(range(len(labels))).to_numpy()
    data = CellData(cells=cells, labels=labels, arms=tuple(meta["arms"]), segment_columns=segs,
                    components=_components(labels, segs, seg_index, keys),
                    weights=totals / totals.sum(), center=meta["center"], scale=meta["scale"])
    tree = tree_from_groups(groups, ("posterior", "sample_stats", "observed_data"))
    d = meta["diagnostics"]
    diag = Diagnostics(checks=tuple(Check(c["name"], _nan(c["value"]), _nan(c["threshold"]),
                                          c["status"], c["reason"]) for c in d["checks"]),
                       verdict=d["verdict"], reason=d["reason"], chains=d["chains"],
                       draws=d["draws"], remedy=d["remedy"])
    interval = meta["interval"]
    table, population = summarize(tree, data, meta["family"], interval)
    return SegmentFit(idata=tree, diagnostics=diag, table=table, population=population,
                      prior=SegmentPriors.from_dict(meta["prior"]), seed=meta["seed"],
                      interval=interval, family=meta["family"], data=data,
                      settings=meta["settings"])


def _nan(x):
    return float("nan") if x is None else float(x)


# --------------------------------------------------------------------------------------------
# Fitting


def fit_segments(
    stats,
    *,
    family: str | None = None,
    prior: SegmentPriors | None = None,
    parameterization: str = "auto",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    interval: float = DEFAULT_LEVEL,
    target_accept: float = 0.9,
    sampler: str = "auto",
    cores: int | None = None,
    progressbar: bool | None = None,
    remedy: bool = True,
    thresholds: dict | None = None,
) -> SegmentFit:
    r"""Fit a hierarchical model of treatment effects across segments.

    Logistic model (binary metric), for segment :math:`j`, arm :math:`k` (0 = control) and
    treatment arm :math:`t`, with one segment dimension:

    .. math::

        y_{jk} &\sim \mathrm{Binomial}(n_{jk}, p_{jk}), \qquad
        \operatorname{logit} p_{j0} = \alpha_j, \quad
        \operatorname{logit} p_{jt} = \alpha_j + \delta_{jt} \\
        \alpha_j &= \mu_\alpha + \sigma_\alpha z_j, \qquad
        \delta_{jt} = \mu_{\delta t} + \tau_t w_{jt}, \qquad z_j, w_{jt} \sim N(0, 1) \\
        \mu_\alpha &\sim N(\operatorname{logit}\bar p_0, 1.5), \quad
        \sigma_\alpha \sim N^+(1), \quad \mu_{\delta t} \sim N(0, 0.5), \quad
        \tau_t \sim N^+(0.25)

    With two dimensions :math:`(a, b)` the effect is
    :math:`\delta_{abt} = \mu_{\delta t} + d^A_{at} + d^B_{bt} + d^{AB}_{abt}`, where the main
    effects sum to zero over their levels and the interaction sums to zero over :math:`a` and
    over :math:`b` (so the three parts do not overlap; an interaction summing to zero only over
    all cells made a ridge with the main effects, and divergences). A part with at least
    ``MIN_SPREAD_DOF`` = 4 free contrasts (5 levels, or a 3 x 3 interaction) learns its spread,
    :math:`d = \tau w` with :math:`\tau_t \sim N^+(0.25)`; a part with fewer (two PS+ levels,
    four spend tiers, 2 x 4 interactions, and also a single dimension with at most 4 segments)
    gets the fixed prior scale :math:`d \sim N(0, 0.25^2)` (zero-sum), the marginal prior sd of
    a deviation under the pooled form: a spread cannot be learned from so few contrasts, and
    trying made :math:`(\tau, w)` a ridge with bulk ESS below 400 at 2 x 1000 draws.
    Such parts have no ``tau`` row in ``population``.
    In the non-centered form the standardized effect deviations :math:`w` sum to zero over
    the segments (``ZeroSumNormal``), so :math:`\mu_\delta` is the mean log-odds effect of the
    observed segments (measured: twice the ESS of the unconstrained form); the centered form
    draws :math:`\delta_{jt} \sim N(\mu_{\delta t}, \tau_t)` directly.
    The normal model replaces the binomial by
    :math:`\bar y_{jk} \sim N(\theta_{jk}, s_{jk}/\sqrt{n_{jk}})` on the standardized cell means,
    with an identity link. Lifts are computed from the draws on the natural scale:
    absolute :math:`p_{jt} - p_{j0}` and relative :math:`p_{jt}/p_{j0} - 1`; the population lift
    weights segments by their share of units.

    Parameters
    ----------
    stats : ArmStats
        Sufficient statistics with one or two ``segments``.
    family : {"logistic", "normal"}, optional
        Default: logistic for a binary metric, normal otherwise.
    prior : SegmentPriors, optional
        Default :class:`SegmentPriors()`.
    parameterization : {"auto", "non-centered", "centered"}
        Of the segment effects. Non-centered avoids the funnel when cells are sparse; centered
        mixes far better when every cell pins its effect (huge counts). ``"auto"`` (default)
        picks centered for one segment dimension when every segment's unpooled effect has a
        standard error below a quarter of the ``effect_sd`` prior scale, else non-centered; the
        choice is recorded in ``settings["parameterization"]``. Baselines are centered, with a
        learned spread, when there are at least 5 segments, every control cell holds at least 30
        conversions and 30 non-conversions and the cells' baselines clearly differ; non-centered
        when a control cell holds fewer than 3; otherwise they get a fixed N(0, 1) spread on
        the log-odds scale (too few segments, or baselines pinned alike or loosely: both
        hierarchical forms funnel there, measured on the homepage and migration scenarios).
    draws, tune, chains, seed, target_accept, sampler, cores, progressbar, remedy
        Passed to :func:`bayeslab.sampling.sample_with_remedy` (nutpie by default,
        ``sampler="pymc"`` for PyMC's NUTS).
    thresholds : dict, optional
        Diagnostic thresholds passed to :func:`bayeslab.diagnostics.diagnose`
        (``rhat_max``, ``ess_min``, ...).
    interval : float
        Equal-tailed credible interval level.

    Returns
    -------
    SegmentFit

    Raises
    ------
    ModelError
        No or more than two segment columns, a family that does not fit the metric, bad
        settings or priors.

    See Also
    --------
    bayeslab.frequentist.segments.segment_tests : per-segment tests with Holm / BH and a GLM.
    """
    from bayeslab.sampling import sample_with_remedy

    family = family or ("logistic" if stats.kind == "binary" else "normal")
    if family not in FAMILIES:
        raise ModelError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    if parameterization not in PARAMETERIZATIONS:
        raise ModelError(f"parameterization must be one of {', '.join(PARAMETERIZATIONS)}, "
                         f"got {parameterization!r}")
    if not 0 < interval < 1:
        raise ModelError(f"interval must be in (0, 1), got {interval!r}")
    prior = prior or SegmentPriors()
    data = prepare_cells(stats, family)
    if parameterization == "auto":
        parameterization = _auto_parameterization(data, family, prior)
    model = build_model(data, family=family, prior=prior, parameterization=parameterization)
    free = [v.name for v in model.free_RVs] + ["effect", "baseline"]
    key = model_key(data, family=family, prior=prior, parameterization=parameterization)
    run = sample_with_remedy(model, draws=draws, tune=tune, chains=chains, seed=seed,
                             target_accept=target_accept, sampler=sampler, cores=cores,
                             progressbar=progressbar, remedy=remedy, var_names=free, key=key,
                             **(thresholds or {}))
    if prior.baseline.mu is None and family == "logistic":
        prior = replace(prior, baseline=Normal(mu=data.center, sigma=prior.baseline.sigma))
    table, population = summarize(run.idata, data, family, interval)
    settings = dict(run.settings, sampler=run.sampler, parameterization=parameterization,
                    remedy=run.diagnostics.remedy, compile_s=run.compile_s,
                    sample_s=run.sample_s, metric=stats.metric, control=stats.control,
                    center=data.center, scale=data.scale)
    return SegmentFit(idata=run.idata, diagnostics=run.diagnostics, table=table,
                      population=population, prior=prior, seed=seed, interval=interval,
                      family=family, data=data, settings=settings)


# --------------------------------------------------------------------------------------------
# Summaries computed from the draws


def _theta(idata):
    from bayeslab.diagnostics import draws_matrix

    return draws_matrix(idata["posterior"], "theta")  # (S, segment, arm)


def _lift_draws(idata, data, segment, arm, effect):
    theta = _theta(idata)
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
    from bayeslab.diagnostics import draws_matrix

    theta = _theta(idata)
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
        pop_abs = _lift_draws(idata, data, None, arm, "absolute")
        pop_rel = _lift_draws(idata, data, None, arm, "relative")
        raw_abs = raw[:, t] - raw[:, 0]
        raw_eff = _raw_effect(sums, n, t, family, data.scale)
        eff = draws_matrix(idata["posterior"], "effect")[:, :, t - 1]
        center = draws_matrix(idata["posterior"], "effect_mu")[:, t - 1].mean()
        for j, label in enumerate(data.labels):
            lo_a, hi_a = _interval(absd[:, j], interval)
            lo_r, hi_r = _interval(reld[:, j], interval)
            post = absd[:, j].mean()
            gap = raw_eff[j] - center
            shrink = 1 - (eff[:, j].mean() - center) / gap if abs(gap) > 1e-12 else np.nan
            rows.append({"segment": label, "arm": arm, "n_control": n[j, 0],
                         "n_treatment": n[j, t], "raw_control": raw[j, 0],
                         "raw_treatment": raw[j, t], "abs_raw": raw_abs[j],
                         "abs_mean": post, "abs_median": np.median(absd[:, j]),
                         "abs_lower": lo_a, "abs_upper": hi_a,
                         "rel_raw": raw[j, t] / raw[j, 0] - 1 if raw[j, 0] else np.nan,
                         "rel_mean": reld[:, j].mean(), "rel_median": np.median(reld[:, j]),
                         "rel_lower": lo_r, "rel_upper": hi_r,
                         "effect_raw": raw_eff[j], "effect_mean": eff[:, j].mean(),
                         "prob_positive": float((absd[:, j] > 0).mean()), "shrinkage": shrink})
        for eff, d in (("absolute", pop_abs), ("relative", pop_rel)):
            lo, hi = _interval(d, interval)
            pop.append({"effect": eff, "arm": arm, "component": None, "mean": d.mean(),
                        "lower": lo, "upper": hi, "prob_positive": float((d > 0).mean())})
        scale_name = "log-odds" if family == "logistic" else "standardized"
        mu = draws_matrix(idata["posterior"], "effect_mu")[:, t - 1]
        lo, hi = _interval(mu, interval)
        pop.append({"effect": scale_name, "arm": arm, "component": None, "mean": mu.mean(),
                    "lower": lo, "upper": hi, "prob_positive": float((mu > 0).mean())})
        for name, _, _ in data.components:
            if f"tau_{_safe(name)}" not in idata["posterior"].data_vars:
                continue  # a two-level dimension of a two-way model: a fixed prior scale
            tau = draws_matrix(idata["posterior"], f"tau_{_safe(name)}")[:, t - 1]
            lo, hi = _interval(tau, interval)
            pop.append({"effect": "tau", "arm": arm, "component": name, "mean": tau.mean(),
                        "lower": lo, "upper": hi, "prob_positive": np.nan})
    return pd.DataFrame(rows), pd.DataFrame(pop)


def predictive_check(fit: SegmentFit, *, kind: str = "posterior", draws: int = 500,
                     seed: int = 0):
    """Posterior or prior predictive check of the observed cells of ``fit``."""
    from bayeslab.diagnostics import (
        binomial_replicates,
        draws_matrix,
        normal_replicates,
        ppc_cells,
    )

    cells = fit.data.cells
    seg, arm = cells["seg_idx"].to_numpy(dtype=np.int64), cells["arm_idx"].to_numpy(dtype=np.int64)
    if kind == "posterior":
        theta = draws_matrix(fit.idata["posterior"], "theta")
    elif kind == "prior":
        import pymc as pm

        model = build_model(fit.data, family=fit.family, prior=fit.prior,
                            parameterization=fit.settings.get("parameterization",
                                                              "non-centered"))
        prior = pm.sample_prior_predictive(draws, model=model, random_seed=seed,
                                           var_names=["theta"])
        theta = draws_matrix(prior["prior"], "theta")
    else:
        raise ModelError(f"kind must be 'posterior' or 'prior', got {kind!r}")
    cell_theta = theta[:, seg, arm]
    cols = fit.data.segment_columns
    labels = [f"{fmt.segment_label(s, cols)} | arm {a}"
              for s, a in zip(cells["segment"], cells["arm"], strict=True)]
    if fit.family == "logistic":
        rep = binomial_replicates(cells["n"].to_numpy(), cell_theta, seed=seed)
        observed = (cells["sum"] / cells["n"]).to_numpy()
        quantity = "rate"
    else:
        se = cells["se"].to_numpy() * fit.data.scale
        rep = normal_replicates(se, cell_theta, seed=seed)
        observed = (cells["sum"] / cells["n"]).to_numpy()
        quantity = "mean"
    return ppc_cells(observed, rep, labels=labels, interval=fit.interval, kind=kind,
                     quantity=quantity)


def warm_compile_cache() -> float:
    """Compile the shipped migration plan's segment model once, to fill the on-disk cache.

    ``scripts/setup.sh`` calls this so the README's first command does not pay the one-time
    compile (minutes on a busy 2-core machine with empty PyTensor / numba caches). Nothing is
    sampled. Returns the seconds spent.
    """
    import time

    from bayeslab.data.sources import open_source
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.sampling import compile_for_nutpie
    from bayeslab.scenarios import simulate

    t0 = time.perf_counter()
    sc = simulate("migration", rows=50_000, seed=1)
    stats = sufficient_stats(open_source(sc.data), arm="treatment", metric="ps5_purchase_30d",
                             control="0", segments=["ps_plus_member", "spend_tier"])
    data = prepare_cells(stats, "logistic")
    prior = SegmentPriors()
    par = _auto_parameterization(data, "logistic", prior)
    model = build_model(data, family="logistic", prior=prior, parameterization=par)
    compile_for_nutpie(model, key=model_key(data, family="logistic", prior=prior,
                                            parameterization=par))
    return time.perf_counter() - t0
