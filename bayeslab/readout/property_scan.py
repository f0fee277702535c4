"""Who is affected: the property scan readout (one scan, both sides, a ranked list, sentences)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bayeslab.core import format as fmt
from bayeslab.core.estimates import DEFAULT_LEVEL

if TYPE_CHECKING:
    from bayeslab.bayes.property_scan import PropertyScanFit
    from bayeslab.data.scan_properties import PropertyStats
    from bayeslab.frequentist.property_scan import LevelTests


@dataclass(frozen=True)
class PropertyScanReadout:
    """The levels whose effect differs, both sides on the same statistics.

    Attributes
    ----------
    stats : PropertyStats
    bayes : PropertyScanFit
    frequentist : LevelTests
    """

    stats: PropertyStats
    bayes: PropertyScanFit
    frequentist: LevelTests

    @property
    def metric(self) -> str:
        """Outcome column."""
        return self.stats.metric

    @property
    def _kind(self) -> str:
        return "conversion" if self.stats.kind == "binary" else "continuous"

    def _fmt(self, v) -> str:
        return fmt.effect(v, "absolute", self._kind)

    def ranked(self) -> list[int]:
        """Indices of levels flagged by either side, the largest shrunken deviation first."""
        b, f = self.bayes, self.frequentist
        hit = np.flatnonzero(b.flagged | f.flagged_bonferroni | f.flagged_bh)
        return sorted(hit.tolist(), key=lambda i: (-bool(b.flagged[i]), -abs(b.deviation[i])))

    def summary(self):
        """One row per level, shrunken beside raw, flagged levels first (a DataFrame)."""
        out = self.bayes.summary()
        f = self.frequentist
        out["raw_lower"], out["raw_upper"] = f.lower, f.upper
        out["p_bonferroni"], out["p_bh"] = f.bonferroni, f.bh
        out["flagged_bonferroni"], out["flagged_bh"] = f.flagged_bonferroni, f.flagged_bh
        key = -(out["flagged"].astype(int) * 10 + out["flagged_bonferroni"].astype(int)
                + out["flagged_bh"].astype(int))
        return out.assign(_k=key, _d=-out["deviation"].abs()).sort_values(
            ["_k", "_d"]).drop(columns=["_k", "_d"]).reset_index(drop=True)

    def sentences(self) -> list[str]:
        """One sentence a product manager can read per level flagged by the Bayesian rule."""
        b = self.bayes
        pct = f"{round(100 * b.interval):g}%"
        out = []
        for i in self.ranked():
            if not b.flagged[i]:
                continue
            prop, level = b.levels[i]
            word = "larger" if b.deviation[i] > 0 else "smaller"
            out.append(
                f"Users with {prop} = {level} ({fmt.number(100 * b.share[i], 2)}% of users): "
                f"the effect is {self._fmt(b.effect[i])} ({pct} interval "
                f"{fmt.interval(b.effect_lower[i], b.effect_upper[i], 'absolute', self._kind)}; "
                f"raw {self._fmt(b.raw[i])}), {word} than the {self._fmt(b.population)} of "
                f"everyone. Probability that this group's effect really differs: "
                f"{fmt.prob(b.prob_differs[i], b.prob_same_at(i))} "
                f"({fmt.prob(b.prior_prob)} before the data).")
        return out

    def notes(self) -> list[str]:
        """What was pooled into ``other``, and the rules used."""
        out = []
        for prop, levels in self.stats.pooled.items():
            out.append(f"{prop}: {len(levels)} level(s) with fewer than "
                       f"{self.stats.min_units:,} units in an arm pooled into 'other' "
                       f"({', '.join(levels[:8])}{', ...' if len(levels) > 8 else ''})")
        for prop, levels in self.stats.dropped.items():
            out.append(f"{prop}: {len(levels)} level(s) not scanned: an arm holds fewer than "
                       f"2 of their units even pooled together "
                       f"({', '.join(levels[:8])}{', ...' if len(levels) > 8 else ''}); their "
                       f"rows count in the population and in the other properties")
        f = self.frequentist
        out.append(f"Bayesian flag: P(level departs from its property's common effect) >= "
                   f"{fmt.number(self.bayes.threshold, 3)} (prior "
                   f"{fmt.prob(self.bayes.prior_prob)}: about "
                   f"{self.bayes.prior.expected_departures:g} departing level "
                   f"expected among {len(self.bayes.levels)}); frequentist: level vs rest, "
                   f"Bonferroni and BH over {len(f.levels)} levels at alpha "
                   f"{fmt.number(f.alpha, 3)}")
        return out

    def scan(self) -> list[dict]:
        """The JSON ``scan`` list: one entry per property level and side."""
        rows = []
        for side, part in (("bayes", self.bayes), ("frequentist", self.frequentist)):
            for r in part.to_dict()["levels"]:
                rows.append({"property": r["property"], "level": r["level"], "side": side,
                             "estimate": r["estimate"], "lower": r["lower"],
                             "upper": r["upper"], "n": r["n"], "flagged": r["flagged"],
                             **{k: r[k] for k in ("prob_differs", "deviation", "p_value",
                                                  "bonferroni", "bh", "flagged_bh") if k in r}})
        return rows

    def to_dict(self) -> dict:
        """JSON-safe: ``scan`` (per level and side), both fits, rows, sentences and notes."""
        return {"type": "property_scan", "metric": self.metric, "kind": self.stats.kind,
                "control": self.stats.control, "treatment": self.stats.treatment,
                "properties": list(self.stats.properties), "levels": self.stats.n_levels,
                "rows": self.stats.rows.to_dict(), "scan": self.scan(),
                "population": self.bayes.population, "sentences": self.sentences(),
                "notes": self.notes(), "bayes": {k: v for k, v in self.bayes.to_dict().items()
                                                 if k != "levels"},
                "frequentist": {k: v for k, v in self.frequentist.to_dict().items()
                                if k != "levels"}}

    def figure(self, *, ax=None):
        """The forest figure of every level (raw beside shrunken)."""
        from bayeslab.plots.property_scan import plot_property_scan

        return plot_property_scan(self.bayes, frequentist=self.frequentist, ax=ax)

    plot = figure

    def __str__(self) -> str:
        b, f = self.bayes, self.frequentist
        lines = [f"Property scan of {self.metric}: {len(self.stats.properties)} properties, "
                 f"{self.stats.n_levels} levels; {self.stats.rows}",
                 f"population effect {self._fmt(b.population)}; flagged: "
                 f"{int(b.flagged.sum())} (Bayes), {int(f.flagged_bonferroni.sum())} "
                 f"(Bonferroni), {int(f.flagged_bh.sum())} (BH)"]
        for i in self.ranked():
            prop, level = b.levels[i]
            sides = [s for s, on in (("bayes", b.flagged[i]),
                                     ("bonferroni", f.flagged_bonferroni[i]),
                                     ("bh", f.flagged_bh[i])) if on]
            lines.append(f"  {prop} = {level}: shrunken {self._fmt(b.effect[i])}, raw "
                         f"{self._fmt(b.raw[i])}, "
                         f"P {fmt.prob(b.prob_differs[i], b.prob_same_at(i))}, "
                         f"p(Bonf.) {fmt.p_value(f.bonferroni[i])} [{', '.join(sides)}]")
        lines += self.sentences() + self.notes()
        diag = b.diagnostics
        if not getattr(diag, "ok", True):
            lines.append(f"Bayesian fit: {getattr(diag, 'reason', '')}")
        return "\n".join(lines)


def scan_properties(data, *, arm: str, metric: str, properties, control=None,
                    kind: str = "binary", missing: str = "error", min_units: int = 200,
                    threshold: float | None = None, alpha: float = 0.05,
                    interval: float = DEFAULT_LEVEL, prior=None, draws: int = 1000,
                    tune: int = 1000, chains: int = 4, seed: int = 0,
                    progressbar: bool | None = None) -> PropertyScanReadout:
    """Scan many properties for levels whose treatment effect differs (one engine scan).

    Parameters
    ----------
    data : DataFrame, path, Source, ...
        Anything :func:`bayeslab.data.sources.open_source` reads (DuckDB or Spark).
    arm, metric : str
    properties : sequence of str
        Property columns (``["country", "platform", ...]``).
    control : str, optional
    kind : {"binary", "continuous"}
    missing : {"error", "exclude"}
    min_units : int
        Levels with fewer units in an arm are pooled into ``"other"`` (default 200).
    threshold : float
        Bayesian flag: posterior probability that a level departs (default: the model's
        calibrated :data:`~bayeslab.bayes.property_scan.DEFAULT_THRESHOLD`).
    alpha : float
        Frequentist flags: Bonferroni / BH adjusted p below ``alpha`` (default 0.05).
    interval : float
    prior : ScanPrior, optional
    draws, tune, chains, seed, progressbar
        Sampling settings.

    Returns
    -------
    PropertyScanReadout

    Raises
    ------
    DataError
        Bad columns or values (see :func:`bayeslab.data.scan_properties.property_stats`).
    ModelError
        Bad threshold, alpha or interval.
    """
    from bayeslab.bayes.property_scan import DEFAULT_THRESHOLD, PropertyScan, ScanPrior
    from bayeslab.data.scan_properties import property_stats
    from bayeslab.data.sources import Source, open_source
    from bayeslab.frequentist.property_scan import LevelVersusRest

    model = PropertyScan(prior=prior or ScanPrior(),
                         threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
                         interval=interval,
                         draws=draws, tune=tune, chains=chains, seed=seed,
                         progressbar=progressbar)
    tests = LevelVersusRest(alpha=alpha, interval=interval)
    source = data if isinstance(data, Source) else open_source(data)
    stats = property_stats(source, arm=arm, metric=metric, properties=properties,
                           control=control, kind=kind, missing=missing, min_units=min_units)
    return PropertyScanReadout(stats=stats, bayes=model.fit(stats), frequentist=tests.fit(stats))
