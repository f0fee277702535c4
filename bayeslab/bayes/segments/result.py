"""The fitted segment model: results, summaries, and saving / loading without re-sampling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayeslab.bayes.segments.cells import CellData, segment_components
from bayeslab.bayes.segments.ppc import predictive_check
from bayeslab.bayes.segments.priors import SegmentPriors
from bayeslab.bayes.segments.summaries import lift_draws, summarize
from bayeslab.core import format as fmt
from bayeslab.core.errors import DataError
from bayeslab.core.estimates import Estimate, jsonable


@dataclass(frozen=True)
class SegmentFit:
    """A fitted hierarchical segment model.

    Attributes
    ----------
    idata : xarray.DataTree
        Posterior (and sampler statistics, observed data) of the kept fit.
    diagnostics : bayeslab.inference.diagnostics.Diagnostics
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
        """Method name used in :class:`~bayeslab.core.estimates.Estimate` entries."""
        return f"hierarchical-{self.family}"

    def lift_draws(self, segment: str | None = None, *, arm: str | None = None,
                   effect: str = "absolute") -> np.ndarray:
        """Posterior draws of a lift on the natural scale.

        ``arm`` defaults to the first treatment; ``segment=None`` gives the size-weighted
        population lift.
        """
        return lift_draws(self.idata, self.data, segment, arm, effect)

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
                           "converged": ok, "mcse": getattr(row, f"{key}_mcse")}))
        for row in self.population.itertuples(index=False):
            out.append(Estimate(
                side="bayes", method=self.method, effect=row.effect, estimate=row.mean,
                lower=row.lower, upper=row.upper, level=self.interval, arm=row.arm,
                prob_positive=None if np.isnan(row.prob_positive) else row.prob_positive,
                extra={"component": row.component, "converged": ok, "mcse": row.mcse}
                if isinstance(row.component, str) else {"converged": ok, "mcse": row.mcse}))
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
        from bayeslab.inference.storage import save_tree

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
    from bayeslab.inference.diagnostics import Check, Diagnostics
    from bayeslab.inference.storage import load_tree, tree_from_groups

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
                    components=segment_components(labels, segs, seg_index, keys),
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
