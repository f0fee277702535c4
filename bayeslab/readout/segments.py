"""Segment readout: where the lift came from, with partial pooling beside per-segment tests.

``compare(..., segments=["col"])`` adds a :class:`SegmentReadout` to the metric's readout:
the hierarchical Bayesian model (:class:`bayeslab.bayes.segments.HierarchicalSegments`) and
the per-segment frequentist tests with Holm and Benjamini-Hochberg adjustment and the GLM
heterogeneity test (:class:`bayeslab.frequentist.segments.PerSegmentTests`), fitted on the same
cell statistics, with the MCMC diagnostics and a segment-level decision. The population-level
headline decision of the readout is not changed by the segment readout; a segment model whose
diagnostics fail blocks only the segment-level conclusions (and says so in the readout's
warnings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import pandas as pd

from bayeslab.core import kinds
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import Estimate, jsonable

if TYPE_CHECKING:
    from bayeslab.bayes.segments.result import SegmentFit
    from bayeslab.core.decision import Decision
    from bayeslab.data.stats import ArmStats
    from bayeslab.frequentist.segments import SegmentTests
    from bayeslab.inference.diagnostics import Diagnostics

MAX_SEGMENT_CELLS = 200
"""Most segments (levels, or level pairs for two columns) a segment readout accepts: the
hierarchical model samples one effect per segment with NUTS, and 10,000 of them take minutes to
hours with nothing to show for it (issue 14)."""


def check_segment_count(stats, limit: int = MAX_SEGMENT_CELLS) -> None:
    """Refuse a segment readout over more than ``limit`` segments, saying what to do instead.

    Raises
    ------
    DataError
        Naming the column(s), the number of levels and the limit.
    """
    cols = list(stats.segments)
    table = stats.table
    cells = len(table[cols].drop_duplicates())
    if cells <= limit:
        return
    levels = ", ".join(f"{c!r} has {table[c].nunique():,} levels" for c in cols)
    raise DataError(f"too many segments for a segment readout: {levels} ({cells:,} segments; the "
                    f"limit is {limit}). Group rare levels into 'other' first (e.g. with --sql "
                    "and CASE WHEN), or segment by a coarser column", column=cols[0])


@dataclass(frozen=True)
class SegmentReadout:
    """Both sides of a segment readout, the diagnostics and the segment-level decision.

    Attributes
    ----------
    columns : tuple of str
        Segment columns (one or two); labels of two dimensions are joined as ``"a x b"``.
    bayes : bayeslab.bayes.segments.SegmentFit
        Hierarchical (partially pooled) model.
    frequentist : bayeslab.frequentist.segments.SegmentTests
        Per-segment tests, Holm / BH adjusted, and the GLM heterogeneity test (binary).
    decision : bayeslab.readout.metric.Decision, optional
        Segment-level decision (set by the readout): ``"blocked"`` when the model's diagnostics
        fail, else ``"heterogeneous"`` / ``"consistent"`` by the heterogeneity test, or
        ``"reported"`` when there is none (continuous metrics).
    stats : ArmStats
        The cell statistics both sides were fitted on.
    """

    columns: tuple[str, ...]
    bayes: SegmentFit
    frequentist: SegmentTests
    decision: Decision | None = None
    stats: ArmStats | None = field(default=None, repr=False)

    @property
    def diagnostics(self) -> Diagnostics:
        """:class:`~bayeslab.inference.diagnostics.Diagnostics` of the hierarchical model."""
        # SegmentFit annotates its diagnostics as object; the fit always sets a Diagnostics
        return cast("Diagnostics", self.bayes.diagnostics)

    @property
    def converged(self) -> bool:
        """False when a diagnostic check failed (then no segment-level decision)."""
        return bool(self.diagnostics.ok)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Failed or warning diagnostics and the automatic remedy, as sentences."""
        d = self.diagnostics
        out: list[str] = []
        if self.decision is not None:
            out.extend(self.decision.blockers)
        elif not d.ok:
            out.append(f"segment model {self.bayes.method} did not converge: {d.reason}")
        if d.remedy:
            out.append(f"segment model: automatic remedy applied: {d.remedy}")
        if d.verdict == "warn":
            out.append(f"segment model diagnostics warn: {d.reason}")
        return tuple(out)

    @property
    def notes(self) -> tuple[str, ...]:
        """Warnings that are neither a blocker nor already said by the decision (each once)."""
        if self.decision is None:
            return self.warnings
        said = self.decision.text
        return tuple(w for w in self.warnings if w not in self.decision.blockers
                     and w.split(": ", 2)[-1] not in said)

    def estimates(self) -> list[Estimate]:
        """Segment entries (``segment`` set) and the models' population entries, Bayes first."""
        return [*self.bayes.estimates(), *self.frequentist.estimates()]

    def summary(self) -> pd.DataFrame:
        """One row per estimate of both sides."""
        return pd.DataFrame([e.to_dict() for e in self.estimates()])

    def to_dict(self) -> dict:
        """JSON-safe form (the estimates themselves join the readout's ``results``)."""
        b, f = self.bayes, self.frequentist
        return jsonable({
            "columns": list(self.columns), "labels": list(b.data.labels),
            "model": b.method, "prior": b.prior.to_dict(), "seed": b.seed,
            "settings": b.to_dict()["settings"], "diagnostics": self.diagnostics.to_dict(),
            "test": f.test, "adjust": f.adjust,
            "heterogeneity": f.heterogeneity.to_dict() if f.heterogeneity else None,
            "decision": self.decision.to_dict() if self.decision is not None else None,
        })

    def __str__(self) -> str:
        import textwrap

        from bayeslab.core import format as fmt
        from bayeslab.core.text import render_table

        def wrap(text):
            return textwrap.fill(text, width=100, initial_indent="  ", subsequent_indent="    ")

        kind = {"binary": "conversion"}.get(getattr(self.stats, "kind", ""), "continuous")
        lines = [f"Segments by {' x '.join(self.columns)}"]
        if self.decision is not None:
            lines += [wrap("Blocked: " + b) for b in self.decision.blockers]
            lines.append(wrap(f"Segment decision: {self.decision.verdict.upper()}. "
                              f"{self.decision.text}"))
        lines += [wrap("Note: " + fmt.one_line(w)) for w in self.notes]
        lines.append(wrap(f"Model: {self.bayes.method}, prior {fmt.prior(self.bayes.prior)}"))
        rows = []
        for e in self.estimates():
            where = (fmt.segment_label(e.segment, self.columns) if e.segment is not None
                     else "population")
            value, interval = fmt.estimate_text(e, kind)
            extra = e.extra if isinstance(e.extra, dict) else {}
            p = fmt.estimate_prob(e)
            name = {"holm": "Holm", "bh": "BH", "bonferroni": "Bonferroni"}.get(
                str(extra.get("adjust")))
            if name is not None and extra.get("p_raw") is not None:
                p = (f"p = {fmt.p_value(extra.get('p_raw'))} raw, "
                     f"{fmt.p_value(e.p_value)} {name}")
            rows.append([where, e.side, e.method, fmt.effect_name(e), value, interval, p])
        level = self.estimates()[0].level if self.estimates() else 0.95
        lines.append(render_table(rows, ["segment", "side", "method", "effect", "estimate",
                                         f"{level:.0%} interval (unadjusted)", "P / p"]))
        het = self.frequentist.heterogeneity
        if het is not None:
            lines.append(f"Heterogeneity (GLM LR test): p = {fmt.p_value(het.p_value)}, "
                         f"df {het.df}")
        lines.append(str(self.diagnostics))
        return "\n".join(lines)

    def ppc(self):
        """Posterior predictive check of the observed cells."""
        return self.bayes.ppc()


def fit_segment_readout(stats, spec) -> SegmentReadout:
    """Fit both segment sides on cell statistics with ``spec``'s sampling settings.

    Parameters
    ----------
    stats : ArmStats
        With ``segments`` set (one or two columns).
    spec : bayeslab.readout.fitters.MetricSpec
        Supplies ``interval``, ``seed``, ``draws``, ``tune``, ``chains``, ``progressbar`` and
        ``thresholds``.

    Returns
    -------
    SegmentReadout
        Without a decision (the readout adds it).

    Raises
    ------
    ModelError
        More than two segment columns, or a metric kind without a segment model.
    DataError
        More than :data:`MAX_SEGMENT_CELLS` segments (before any sampling).
    """
    from bayeslab.bayes.segments import HierarchicalSegments
    from bayeslab.frequentist.segments import PerSegmentTests

    if not kinds.get(spec.kind).segments:
        raise ModelError(f"segments are read out for {', '.join(kinds.names(segments=True))} "
                         f"metrics, not {spec.kind}")
    check_segment_count(stats)
    bayes = HierarchicalSegments(seed=spec.seed, interval=spec.interval, draws=spec.draws,
                                 tune=spec.tune, chains=spec.chains,
                                 progressbar=spec.progressbar,
                                 thresholds=dict(spec.thresholds) or None).fit(stats)
    freq = PerSegmentTests(interval=spec.interval,
                           adjust=getattr(spec, "segment_adjust", "holm")).fit(stats)
    return SegmentReadout(columns=tuple(stats.segments), bayes=bayes, frequentist=freq,
                          stats=stats)


def segment_decision(seg: SegmentReadout, rule, decision_cls, blockers=()):
    r"""The segment-level decision of ``seg`` under ``rule`` (a ``Decision``).

    Per segment and treatment arm, Bayes calls a lift clear when :math:`P(\text{lift} > 0)`
    is at least ``rule.prob_threshold`` (or at most one minus it); the frequentist side when the
    adjusted p-value (Holm unless the correction says otherwise) is below ``rule.alpha``. The
    verdict is ``"blocked"`` when the
    hierarchical model's diagnostics fail (nothing is concluded from that fit), else the
    heterogeneity test's answer at ``rule.alpha``. ``blockers`` (e.g. a sample ratio mismatch)
    block the segment decision too.
    """
    d = seg.diagnostics
    b, f = seg.bayes, seg.frequentist
    remedy = [f"Automatic remedy applied: {d.remedy}."] if d.remedy else []
    if blockers:
        return decision_cls(verdict="blocked", arm=None, bayes="blocked", frequentist="blocked",
                            reasons=(f"No segment decision: {blockers[0]}.", *remedy),
                            blockers=tuple(blockers))
    if not d.ok:
        blocker = f"segment model {b.method} did not converge: {d.reason}"
        return decision_cls(
            verdict="blocked", arm=None, bayes="blocked", frequentist="reported",
            reasons=(f"No segment decision: {blocker}.", *remedy,
                     "The per-segment tests are shown but not used for a decision while the "
                     "hierarchical model has not converged; rerun with more --tune / --draws."),
            blockers=(blocker,))
    t = b.table
    pos = t[t["prob_positive"] >= rule.prob_threshold]
    neg = t[t["prob_positive"] <= 1 - rule.prob_threshold]
    ft = f.table
    p_col = getattr(f, "p_column", "p_holm")
    f_pos = ft[(ft[p_col] < rule.alpha) & (ft["abs"] > 0)]
    f_neg = ft[(ft[p_col] < rule.alpha) & (ft["abs"] < 0)]
    adjusted = {"holm": "Holm-adjusted p", "bh": "BH-adjusted p",
                "bonferroni": "Bonferroni-adjusted p"}.get(f.adjust, "unadjusted p")
    n = len(t)

    from bayeslab.core.format import segment_label

    def names(frame):
        return ", ".join(segment_label(x, seg.columns) for x in frame["segment"].astype(str)) \
            or "none"

    b_text = (f"{len(pos)} of {n} segment lifts positive with P >= {rule.prob_threshold:g} "
              f"({names(pos)}), {len(neg)} negative ({names(neg)})")
    f_text = (f"{len(f_pos)} of {len(ft)} positive at {adjusted} < {rule.alpha:g} "
              f"({names(f_pos)}), {len(f_neg)} negative ({names(f_neg)})")
    het = f.heterogeneity
    if het is None:
        verdict, head = "reported", "Segment lifts reported (no heterogeneity test for this kind)."
    elif het.p_value < rule.alpha:
        verdict = "heterogeneous"
        head = (f"The lift differs between segments (GLM interaction LR test p = "
                f"{het.p_value:.3g}, df {het.df}).")
    else:
        verdict = "consistent"
        head = (f"No evidence that the lift differs between segments (GLM interaction LR test "
                f"p = {het.p_value:.3g}, df {het.df}).")
    taus = b.population[b.population["effect"] == "tau"]
    tau_text = "; ".join(f"tau ({r.component}) {r.mean:.3g} [{r.lower:.3g}, {r.upper:.3g}]"
                         for r in taus.itertuples(index=False))
    tau_text = f"; {tau_text}" if tau_text else ""
    reasons = (head, f"Bayes ({b.method}, partially pooled): {b_text}{tau_text}.",
               f"Frequentist ({f.test} per segment): {f_text}.", *remedy,
               "The headline decision reads the population-level estimates only.")
    return decision_cls(verdict=verdict, arm=None, bayes=f"{len(pos)} positive, {len(neg)} "
                        "negative", frequentist=f"{len(f_pos)} positive, {len(f_neg)} negative",
                        reasons=reasons)
