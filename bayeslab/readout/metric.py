"""Readout: the Bayesian and the frequentist answer for one metric, side by side, with a decision.

A :class:`Readout` holds both fitted results of one metric, the row accounting, the sample ratio
mismatch check, the decision rule and the decision it gives. Guardrail metrics (harmful when they
rise: unsubscribes, opt-outs) get their own readouts, judged against a non-inferiority margin, and
the primary readout's decision takes them into account. A readout blocked by a failed check (SRM)
states both sides' numbers but makes no ship decision.

With ``segments=[...]`` a readout also carries a :class:`~bayeslab.readout.segments.SegmentReadout`
(``Readout.segments``): the hierarchical model and the per-segment tests, whose estimates join
``estimates()`` / the JSON ``results`` with their ``segment`` label, the MCMC ``diagnostics`` and
a segment-level decision. The population-level headline decision is the same with or without
segments; a segment model that fails its diagnostics blocks only the segment-level decision and
is reported in ``warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bayeslab.core.decision import Decision, DecisionRule
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import Estimate, jsonable
from bayeslab.data.sources import open_source
from bayeslab.readout.contract import BaseReadout, Headline
from bayeslab.readout.corrections import AdjustedResult, Correction, adjust_family
from bayeslab.readout.fitters import MetricFit, MetricSpec, fit_metric
from bayeslab.readout.specs import AnalysisSpec, DecisionSpec, SamplingSpec, SourceSpec, gather
from bayeslab.readout.verdicts import guardrail_decision, primary_decision, srm_blocker

if TYPE_CHECKING:
    from bayeslab.design.srm import SRMResult
    from bayeslab.readout.segments import SegmentReadout

__all__ = ["Decision", "DecisionRule", "Readout", "compare", "correct_across", "corrected_fit",
           "one_scan"]


@dataclass(frozen=True)
class Readout(BaseReadout):
    """Bayesian and frequentist results of one metric, side by side.

    Attributes
    ----------
    metric : str
    kind : str
        Metric kind: conversion, continuous, count, ratio or retention.
    role : {"primary", "secondary", "guardrail"}
    fit : MetricFit
        Both sides' fitted results, the row accounting and the per-arm table.
    rule : DecisionRule
    srm : SRMResult
    decision : Decision
    margin : float, optional
        Guardrail non-inferiority margin: the largest acceptable increase.
    margin_relative : bool
        Whether ``margin`` is a fraction of the control rate (0.2: at most +20 %) rather than
        an absolute increase of the rate.
    guardrails : tuple of Readout
        Guardrail readouts (primary readout only).
    segments : SegmentReadout, optional
        Segment readout (``compare(..., segments=[...])``), with its own decision.
    unit : str, optional
        The metric's unit (``"EUR"``), used to label absolute effects of money and counts.
    """

    metric: str
    kind: str
    role: str
    fit: MetricFit = field(repr=False)
    rule: DecisionRule
    srm: SRMResult
    decision: Decision
    margin: float | None = None
    margin_relative: bool = False
    guardrails: tuple[Readout, ...] = ()
    segments: SegmentReadout | None = None
    unit: str | None = None

    TYPE = "readout"

    @property
    def headline(self) -> Headline:
        """The methods and effect scale the decision reads (from the kind registry)."""
        b_m, f_m, effect = self.fit.headline
        return Headline(b_m, f_m, effect, self.fit.extra.get("headline_rate"))

    @property
    def bayes(self):
        """The Bayesian result holding the headline estimate (``None`` if the kind has none)."""
        return self.fit.bayes[0] if self.fit.bayes else None

    @property
    def frequentist(self):
        """The frequentist result holding the headline estimate."""
        return self.fit.frequentist[0]

    @property
    def rows(self):
        """Row accounting of this metric."""
        return self.fit.rows

    @property
    def control(self) -> str:
        """Control arm label."""
        return self.fit.control

    @property
    def stats(self):
        """The statistics both sides were fitted on."""
        return self.fit.stats

    @property
    def prior(self):
        """The prior of the headline Bayesian model (``None`` when the kind has none)."""
        return getattr(self.bayes, "prior", None)

    @property
    def arms(self):
        """Units and mean per arm (a DataFrame, control first)."""
        return self.fit.arms.to_pandas()

    @property
    def notes(self) -> tuple[str, ...]:
        """Statistical notes raised while fitting the metric's own models."""
        return tuple(self.fit.notes)

    def metric_estimates(self) -> list[Estimate]:
        """Population-level estimates of the metric's own models (not the segment model's)."""
        return [e for r in (*self.fit.bayes, *self.fit.frequentist) for e in r.estimates()
                if e.segment is None]

    @property
    def warnings(self) -> tuple[str, ...]:
        """Statistical warnings raised while fitting, failed checks, failed MCMC diagnostics."""
        seg = self.segments.warnings if self.segments is not None else ()
        return tuple(dict.fromkeys((*self.decision.blockers, *self.fit.notes, *seg)))

    @property
    def diagnostics(self):
        """MCMC :class:`~bayeslab.inference.diagnostics.Diagnostics`, if any model sampled.

        The segment model's when there are segments, else the first sampled Bayesian model's
        (robust / hurdle revenue); ``None`` when every model is closed-form.
        """
        from bayeslab.inference.diagnostics import Diagnostics

        if self.segments is not None:
            return self.segments.diagnostics
        for result in self.fit.bayes:
            if isinstance(getattr(result, "diagnostics", None), Diagnostics):
                return result.diagnostics
        return None

    def estimates(self) -> list[Estimate]:
        """Every estimate of both sides, Bayes first, then the segment readout's (if any)."""
        out = []
        for result in (*self.fit.bayes, *self.fit.frequentist):
            out.extend(result.estimates())
        if self.segments is not None:
            out.extend(self.segments.estimates())
        return out

    def to_dict(self) -> dict:
        """JSON-safe form: rows, arms, results, prior, srm, rule, decision, guardrails.

        With segments, segment entries join ``results`` with a ``segment`` label, and
        ``segments`` (model, settings, heterogeneity test, segment decision) and
        ``diagnostics`` (``r_hat``, ``ess_bulk``, ``ess_tail``, ``divergences``, ``verdict``,
        ``reason``, ``remedy``) are added; ``diagnostics`` also appears when a revenue model
        sampled.
        """
        prior: Any = getattr(self.bayes, "prior", None)
        out = {
            "type": self.TYPE, "metric": self.metric, "kind": self.kind, "role": self.role,
            "control": self.control, "rows": self.rows.to_dict(),
            "arms": self.fit.arms.records(),
            "results": [e.to_dict() for e in self.estimates()],
            "prior": prior.to_dict() if hasattr(prior, "to_dict") else prior,
            "srm": self.srm.to_dict(), "rule": self.rule.to_dict(),
            "decision": self.decision.to_dict(), "warnings": list(self.warnings),
        }
        if self.margin is not None:
            out["margin"] = self.margin
            if self.margin_relative:
                out["margin_relative"] = True
            out["guardrail"] = self.guardrail_check()
        if self.unit is not None:
            out["unit"] = self.unit
        out["headline"] = self.headline._asdict()
        for key, value in self.fit.extra.items():
            out[key] = value.to_dict() if hasattr(value, "to_dict") else value
        if self.segments is not None:
            out["segments"] = self.segments.to_dict()
        diag = self.diagnostics
        if diag is not None:
            out["diagnostics"] = diag.to_dict()
        if self.role == "primary":
            out["guardrails"] = [g.to_dict() for g in self.guardrails]
        return jsonable(out)

    def figures(self) -> dict:
        """Every figure of this readout, by name (see :func:`bayeslab.readout.figures.figures`)."""
        from bayeslab.readout.figures import figures

        return figures(self)

    @property
    def invalid_methods(self) -> frozenset:
        """(side, method) pairs whose intervals the readout's own warnings call invalid."""
        if any("overdispersed" in n for n in self.fit.notes):
            return frozenset({("bayes", "bayes-gamma-poisson"), ("frequentist", "poisson-wald")})
        return frozenset()

    def guardrail_check(self) -> dict | None:
        """A guardrail's decision inputs: margin, P(increase > margin), non-inferiority p.

        ``None`` for a metric that is not a guardrail. Several treatment arms give the worst
        arm (largest probability of exceeding the margin).
        """
        if self.margin is None:
            return None
        bayes, freq = self.fit.bayes[0], self.fit.frequentist[0]
        arms = list(self.fit.arms["arm"])
        worst = None
        for arm in arms[1:]:
            which = arm if len(arms) > 2 else None
            rel = self.margin_relative
            p_harm = float(bayes.prob_lift_above(self.margin, relative=rel, arm=which))
            ni = freq.noninferiority(self.margin, arm=which, relative=rel)
            item = {"arm": arm, "margin": float(self.margin), "relative": rel,
                    "prob_above_margin": p_harm,
                    "noninferiority_p": float(ni.p_value), "difference": float(ni.diff),
                    "upper": float(ni.upper), "verdict": self.decision.verdict,
                    "bayes": self.decision.bayes, "frequentist": self.decision.frequentist}
            if worst is None or p_harm > worst["prob_above_margin"]:
                worst = item
        return worst

    def __str__(self) -> str:
        from bayeslab.core.text import render_readout

        text = render_readout(self)
        if self.segments is not None:
            text += "\n\n" + str(self.segments)
        return text


def compare(
    data=None,
    *,
    arm: str,
    metric: str,
    control: str | None = None,
    kind: str = "conversion",
    source: SourceSpec | None = None,
    analysis: AnalysisSpec | None = None,
    sampling: SamplingSpec | None = None,
    decision: DecisionSpec | None = None,
    **shortcuts,
) -> Readout:
    """Read out one metric (and its guardrails) with both the Bayesian and frequentist answers.

    Parameters
    ----------
    data : str, pathlib.Path, pandas.DataFrame or Source, optional
        Unit rows, or pre-aggregated rows with ``n``. Alternatively give ``sql``.
    arm, metric : str
        Arm column and outcome column (for ``kind="ratio"`` with ``stages``, a name for it).
    control : str, optional
        Control arm label (``0`` / ``false`` / ``control`` by default).
    kind : str
        Metric kind (:func:`bayeslab.core.kinds.names`: ``conversion``, ``continuous``,
        ``count``, ``ratio``, ``retention``, ``propensity``, ``formula``, ``custom`` and any
        registered one); see :mod:`bayeslab.readout.fitters` for the models of each.
    source : SourceSpec, optional
        Where the data is: ``sql``, ``engine``, ``n`` (pre-aggregated counts), ``unit_id``,
        ``missing``.
    analysis : AnalysisSpec, optional
        What is estimated: ``prior``, ``interval``, ``segments``, ``unit`` and the kind's
        ``options`` (``covariate``, ``model``, ``clip``, ``stages``, ``formula``, ...).
    sampling : SamplingSpec, optional
        How sampled models run: ``draws``, ``tune``, ``chains``, ``seed``, ``progressbar``,
        ``thresholds``.
    decision : DecisionSpec, optional
        What decides: ``rule``, ``guardrails``, ``margins`` (required with guardrails),
        ``planned_split`` (SRM), ``role`` (``primary`` or advisory ``secondary``).
    **shortcuts
        Any field of the four specs by name, and any kind option, e.g. ``prior=(1, 1)``,
        ``segments=["country"]``, ``guardrails=["unsub"], margins=0.002``, ``draws=500``,
        ``covariate="pre_spend"`` (:mod:`bayeslab.readout.specs` lists them). A shortcut may
        not repeat a value its spec also sets.

    Returns
    -------
    Readout

    Raises
    ------
    DataError
        Bad input (see :func:`bayeslab.data.stats.sufficient_stats`), or guardrails without a
        margin.
    ModelError
        Unknown kind or option, a value given twice, segments for a kind without a segment
        model, more than two segment columns, or bad sampling settings.

    Examples
    --------
    >>> import bayeslab as bl
    >>> r = bl.compare("exp.csv", arm="arm", metric="converted", prior=(1, 1),
    ...                decision=bl.DecisionSpec(guardrails=["unsubscribed"], margins=0.002),
    ...                sampling=bl.SamplingSpec(seed=7))   # doctest: +SKIP
    """
    specs = gather({"source": source, "analysis": analysis, "sampling": sampling,
                    "decision": decision}, shortcuts)
    src, an, smp, dec = specs["source"], specs["analysis"], specs["sampling"], specs["decision"]
    options = dict(an.options)
    if kind == "propensity":
        return _propensity(data, sql=src.sql, arm=arm, metric=metric, control=control,
                           interval=an.interval, rule=dec.rule, seed=smp.seed,
                           missing=src.missing, draws=smp.draws, tune=smp.tune,
                           chains=smp.chains, progressbar=smp.progressbar,
                           guardrails=dec.guardrails, segments=an.segments, options=options)
    chains = 4 if smp.chains is None else smp.chains
    if smp.thresholds is not None:
        options["thresholds"] = dict(smp.thresholds)
    rule = dec.rule or DecisionRule()
    correction = Correction.parse(dec.correction)
    guardrails = [dec.guardrails] if isinstance(dec.guardrails, str) else list(dec.guardrails)
    margin_of = _margins(guardrails, dec.margins)
    data_source = open_source(data, sql=src.sql, engine=src.engine)
    common: dict[str, Any] = dict(arm=arm, control=control, prior=tuple(an.prior),
                                  interval=an.interval, n=src.n, missing=src.missing,
                                  seed=smp.seed)
    segments = (an.segments,) if isinstance(an.segments, str) else tuple(an.segments or ())
    kind_options: dict[str, Any] = {k: tuple(v) if k == "stages" else v
                                    for k, v in options.items()}
    spec = MetricSpec(metric=metric, kind=kind, unit_id=src.unit_id, segments=segments,
                      draws=smp.draws, tune=smp.tune, chains=chains,
                      progressbar=smp.progressbar, **common, **kind_options,
                      segment_adjust=correction.method if correction.spans("segments")
                      else "none")
    guard_specs = [MetricSpec(metric=g, kind="conversion", cluster=kind_options.get("cluster"),
                              **common) for g in guardrails]
    one_scan(data_source, [spec, *guard_specs])
    guard_readouts = tuple(
        _readout(fit_metric(data_source, g), "guardrail", rule, dec.planned_split,
                 margin=margin_of[g.metric][0], margin_relative=margin_of[g.metric][1])
        for g in guard_specs)
    fit = corrected_fit(fit_metric(data_source, spec), correction)
    if an.effect_prior is not None:
        from bayeslab.readout.learned_prior import with_learned_prior

        fit = with_learned_prior(fit, an.effect_prior, interval=an.interval)
    return _readout(fit, dec.role, rule, dec.planned_split, guardrails=guard_readouts,
                    unit=an.unit)


def _propensity(data, *, sql, arm, metric, control, interval, rule, seed, missing, draws,
                tune, chains, progressbar, guardrails, segments, options):
    """Kind ``propensity``: the observational readout (:func:`bayeslab.compare_propensity`)."""
    from bayeslab.readout.observational import compare_propensity

    if guardrails or segments:
        raise ModelError("kind 'propensity' takes no guardrails or segments: read them as "
                         "their own metrics")
    allowed = {"confounders", "estimand", "sampler", "model"}
    unknown = set(options) - allowed
    if unknown:
        raise ModelError(f"unknown option {sorted(unknown)[0]!r} for kind 'propensity' "
                         f"(it takes {', '.join(sorted(allowed))})")
    try:
        return compare_propensity(
            data, sql=sql, arm=arm, metric=metric, confounders=options.get("confounders", ()),
            estimand=options.get("estimand", "ate"), kind=options.get("model") or "conversion",
            control=control, interval=interval, rule=rule, seed=seed, missing=missing,
            draws=draws, tune=tune, chains=2 if chains is None else chains,
            sampler=options.get("sampler", "nuts"), progressbar=progressbar)
    except DataError as exc:
        text = str(exc)
        if getattr(exc, "column", None) != arm or "exactly two arms" not in text:
            raise
        # the unit-row loader's count of the arms, after "it has"
        arms = text.rpartition("; it has ")[2] or "more than two"
        raise DataError(f"kind 'propensity' reads a binary treatment (one treated group against "
                        f"control), not several variants: column {arm!r} has {arms}; read "
                        "each variant against control on its own rows (sql=... WHERE)",
                        column=arm) from None


def one_scan(source, specs, extra=()) -> None:
    """Reduce every metric of ``specs`` (and ``extra`` requests) in one scan of ``source``.

    The fits that follow read their statistics from that scan (:mod:`bayeslab.data.scan`).
    Bad input is left for the fit of the metric concerned to report.
    """
    from bayeslab.data.scan import prefetch
    from bayeslab.readout.fitters import metric_requests

    requests = [r for s in specs for r in metric_requests(source, s)] + list(extra)
    try:
        prefetch(source, requests)
    except DataError:
        pass


def parse_margin(value, where: str) -> tuple[float, bool]:
    """``(margin, relative)`` of a guardrail from a number or a percentage.

    A number is an absolute increase of the rate (0.002 = 0.2 pp); a string ending in ``%`` a
    fraction of the control rate (``"20%"``: at most +20 %).

    Raises
    ------
    DataError
        Anything else, or a margin that is not a positive, finite increase.
    """
    import math

    relative = isinstance(value, str) and value.strip().endswith("%")
    try:
        m = float(value.strip()[:-1]) / 100 if relative else float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where} must be a number (an absolute increase, 0.002 = 0.2 pp) or a "
                        f"percentage of the control rate (\"20%\"), got {value!r}") from None
    if not (m > 0 and math.isfinite(m)):
        raise DataError(f"{where} must be a positive increase, got {value!r}")
    return m, relative


def _margins(guardrails, margins) -> dict:
    if not guardrails:
        if margins is not None:
            raise DataError("margins are for guardrails: name them with guardrails=[...] (the "
                            "primary metric has no margin)")
        return {}
    if margins is None:
        raise DataError(f"guardrail {guardrails[0]!r} needs a non-inferiority margin "
                        "(margins=... or --margin): the largest increase you accept")
    if isinstance(margins, dict):
        missing = [g for g in guardrails if g not in margins]
        if missing:
            raise DataError(f"no margin given for guardrail {missing[0]!r}")
        return {g: parse_margin(margins[g], f"margin of guardrail {g!r}") for g in guardrails}
    return {g: parse_margin(margins, f"margin of guardrail {g!r}") for g in guardrails}


def _margin_note(fit: MetricFit, margin: float) -> str | None:
    """A note when an absolute margin cannot bite: at or above the control arm's rate."""
    if "mean" not in fit.arms or not len(fit.arms):
        return None
    control_rate = float(fit.arms["mean"][0])
    if not margin >= control_rate:
        return None
    from bayeslab.core import format as fmt

    return (f"the margin {fmt.margin(margin)} is at or above the control rate "
            f"({fmt.rate(control_rate)}): the guardrail fails only if the rate more than "
            "doubles; a relative margin (margin = \"20%\": at most +20% of the control rate) bites")


def _preperiod_gate(fit: MetricFit, decision: Decision) -> Decision:
    """Block a decision whose headline compares unadjusted means under a large imbalance.

    See :func:`bayeslab.readout.preperiod.unadjusted_blocker`.

    A covariate metric's headline is already the adjusted one (``bayes-regression``,
    ``ancova-hc``), which corrects the imbalance: its decision stands.
    """
    from bayeslab.readout.preperiod import unadjusted_blocker
    from bayeslab.readout.verdicts import verdict_and_head

    extra = unadjusted_blocker(fit.extra.get("preperiod"), fit.headline)
    if not extra:
        return decision
    blockers = (*decision.blockers, *extra)
    _, head = verdict_and_head(fit.spec.metric, decision.arm, None, None, blockers)
    return replace(decision, verdict="blocked", reasons=(head, *decision.reasons[1:]),
                   blockers=blockers)


def _readout(fit: MetricFit, role, rule, planned_split, *, margin=None, margin_relative=False,
             guardrails=(), unit=None) -> Readout:
    from bayeslab.design.srm import srm_check

    arms = fit.arms
    if planned_split is not None and len(planned_split) != len(arms):
        raise DataError(f"planned split has {len(planned_split)} shares for "
                        f"{len(arms)} arms ({', '.join(arms['arm'])})")
    counted = arms["clusters"] if "clusters" in arms.columns else arms["n"]  # randomized units
    srm = srm_check(counted.astype(int).tolist(), planned_split,
                    threshold=rule.srm_threshold, arms=tuple(arms["arm"]))
    if role == "guardrail":
        note = None if margin_relative else _margin_note(fit, margin)
        if note is not None:
            import warnings

            from bayeslab.core.errors import StatisticalWarning

            warnings.warn(f"guardrail {fit.spec.metric!r}: {note}", StatisticalWarning,
                          stacklevel=3)
            fit = replace(fit, notes=(*fit.notes, note))
        decision = guardrail_decision(fit, rule, srm, margin, margin_relative)
    else:
        decision = _preperiod_gate(fit, primary_decision(fit, rule, srm, guardrails, unit))
    segments = fit.segments
    if segments is not None:
        from bayeslab.readout.segments import segment_decision

        segments = replace(segments, decision=segment_decision(
            segments, rule, Decision, blockers=srm_blocker(srm)))
    return Readout(metric=fit.spec.metric, kind=fit.spec.kind, role=role, fit=fit, rule=rule,
                   srm=srm, decision=decision, margin=margin,
                   margin_relative=bool(margin_relative), guardrails=guardrails,
                   segments=segments, unit=unit)


def _headline_tests(fit: MetricFit) -> dict:
    """The frequentist headline estimate of each treatment arm (unadjusted), by arm label."""
    from bayeslab.readout.verdicts import _headline_estimates

    raw = tuple(r.result if isinstance(r, AdjustedResult) else r for r in fit.frequentist)
    return _headline_estimates(replace(fit, frequentist=raw), "frequentist", fit.headline[1],
                               None)


def headline_pvalues(readout) -> list[tuple[str, str, float]]:
    """The ship-deciding tests of a readout: ``(metric, arm, unadjusted p)`` per treatment arm.

    Empty for a guardrail, a readout that is not a :class:`Readout` (propensity) and a kind
    without a frequentist headline p-value.
    """
    if not isinstance(readout, Readout) or readout.role == "guardrail":
        return []
    return [(readout.metric, arm, e.p_value) for arm, e in _headline_tests(readout.fit).items()
            if e.p_value is not None]


def corrected_fit(fit: MetricFit, correction: Correction, adjusted=None) -> MetricFit:
    """``fit`` with its frequentist headline p-values adjusted for multiplicity.

    ``adjusted`` maps arm labels to :class:`~bayeslab.readout.corrections.Adjusted`
    (:mod:`~bayeslab.readout.corrections`); by default
    the family is this metric's treatment arms when the correction spans ``"variants"``. The
    fit records the correction in ``extra["correction"]`` (the readout's JSON ``correction``).
    """
    raw = tuple(r.result if isinstance(r, AdjustedResult) else r for r in fit.frequentist)
    fit = replace(fit, frequentist=raw, extra={**fit.extra, "correction": correction.to_dict()})
    heads = _headline_tests(fit)
    if adjusted is None:
        tests = [(fit.spec.metric, arm, e.p_value) for arm, e in heads.items()
                 if e.p_value is not None]
        adjusted = {arm: a for (_, arm), a in adjust_family(tests, correction).items()}
    keys = {(e.method, e.effect, e.arm, e.extra.get("rate")): adjusted[arm]
            for arm, e in heads.items() if arm in adjusted}
    if not keys:
        return fit

    def holds(result) -> bool:
        return any((e.method, e.effect, e.arm, e.extra.get("rate")) in keys and e.segment is None
                   for e in result.estimates())

    return replace(fit, frequentist=tuple(AdjustedResult(r, keys) if holds(r) else r
                                          for r in raw))


def correct_across(readouts, correction: Correction) -> list:
    """Readouts re-decided on p-values adjusted over the correction's whole family.

    The family is the ship-deciding tests (:func:`headline_pvalues`) of every primary and
    secondary :class:`Readout` of ``readouts``, grouped by the correction's scope
    (:func:`~bayeslab.readout.corrections.adjust_family`): with ``"metrics"`` in the scope it
    crosses metrics. Guardrails and other readouts come back as they are; a re-decided
    readout keeps its guardrails, SRM check and segment decision.
    """
    tests = [t for r in readouts for t in headline_pvalues(r)]
    adjusted = adjust_family(tests, correction)
    out = []
    for r in readouts:
        if not headline_pvalues(r):
            out.append(r)
            continue
        mine = {arm: a for (metric, arm), a in adjusted.items() if metric == r.metric}
        fit = corrected_fit(r.fit, correction, mine)
        decision = _preperiod_gate(fit, primary_decision(fit, r.rule, r.srm, r.guardrails,
                                                         r.unit))
        out.append(replace(r, fit=fit, decision=decision))
    return out
