"""Metric kinds: how each kind of metric is reduced to statistics and fitted on both sides.

Each kind has one fitting function returning a :class:`MetricFit`: the Bayesian and frequentist
results fitted on the same statistics, the row accounting, the per-arm table, and which estimate
of each side is the headline a decision reads. :func:`bayeslab.readout.metric.compare` dispatches
here.

========== ============================================ ===========================================
kind       Bayes (headline first)                       frequentist (headline first)
========== ============================================ ===========================================
conversion beta-binomial                                z-test, newcombe, log-ratio
continuous bayes-normal, or with a covariate             welch, or with a covariate ancova-hc,
           bayes-regression (+ bayes-robust/-hurdle)     cuped, welch
count      bayes-normal, bayes-gamma-poisson            welch, poisson-wald
ratio      bayes-beta per funnel stage (stages)         delta (numerator/denominator or stages)
retention  bayes-piecewise-exponential (hazard ratio)   log-rank, kaplan-meier
========== ============================================ ===========================================
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bayeslab.core import kinds
from bayeslab.core.errors import BayeslabWarning, CacheWarning, DataError, ModelError
from bayeslab.data.accounting import RowAccount
from bayeslab.data.cells import Cells, key_array

if TYPE_CHECKING:
    from bayeslab.readout.contract import Fitted
    from bayeslab.readout.segments import SegmentReadout

#: A kind's fitting function: ``f(source, spec) -> dict`` of :class:`MetricFit` fields
Fitter = Callable[[Any, "MetricSpec"], dict]


@dataclass(frozen=True)
class MetricSpec:
    """Everything that says how to read one metric (columns, model options, prior, level).

    ``segments`` (one or two columns) adds the segment readout; ``draws``, ``tune``, ``chains``,
    ``progressbar`` and ``thresholds`` (passed to :func:`bayeslab.inference.diagnostics.diagnose`)
    set the MCMC models (segments, robust and hurdle revenue). ``progressbar=None`` shows a bar only
    when stderr is a terminal. ``segment_adjust`` (``"holm"``, ``"bh"``, ``"bonferroni"``,
    ``"none"``) adjusts the per-segment tests' p-values over each arm's segments.
    """

    metric: str
    kind: str = "conversion"
    arm: str = "arm"
    control: str | None = None
    covariate: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    stages: tuple[str, ...] = ()
    duration: str | None = None
    event: str | None = None
    horizon: float | None = None
    model: str | None = None
    clip: str | None = None
    clip_quantile: float = 0.99
    formula: str | None = None
    builder: str | None = None
    effect: str | None = None
    baseline: str | None = None
    prior: tuple[float, float] = (1.0, 1.0)
    interval: float = 0.95
    n: str | None = None
    unit_id: str | None = None
    missing: str = "error"
    seed: int = 0
    segments: tuple[str, ...] = ()
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    progressbar: bool | None = None
    thresholds: dict = field(default_factory=dict)
    segment_adjust: str = "holm"
    cluster: str | None = None
    quantiles: tuple = ()


@dataclass(frozen=True)
class MetricFit:
    """Both sides of one metric, fitted on the same statistics.

    Attributes
    ----------
    spec : MetricSpec
    bayes, frequentist : tuple
        Fitted results (each has ``estimates()``); the first holds the headline estimate.
    rows : RowAccount
    arms : Cells
        ``arm``, ``n``, ``mean`` per arm, control first (a kind may return a DataFrame;
        :func:`fit_metric` turns it into :class:`~bayeslab.data.cells.Cells`).
    control : str
    headline : (str, str, str)
        Bayes method, frequentist method and effect scale the decision reads.
    direction : int
        +1 when a higher value is better, -1 when lower is better (hazard of churn).
    stats : object
        The statistics the fits used (for plots).
    notes : tuple of str
        Statistical warnings raised while fitting, kept for the readout.
    extra : dict
        Kind-specific results added to the readout's JSON (e.g. ``clipping``).
    segments : bayeslab.readout.segments.SegmentReadout, optional
        Segment readout (hierarchical model and per-segment tests) when ``spec.segments``.
    """

    spec: MetricSpec
    bayes: tuple
    frequentist: tuple
    rows: RowAccount
    arms: Cells
    control: str
    headline: tuple[str, str, str]
    direction: int = 1
    stats: object = field(default=None, repr=False)
    notes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
    segments: SegmentReadout | None = None


def _arms_frame(labels, n, mean) -> Cells:
    return Cells({"arm": key_array(labels), "n": np.asarray(n, dtype=np.int64),
                  "mean": np.asarray(mean, dtype=float)})


def fit_conversion(source, s: MetricSpec):
    """Beta-Binomial and the two-proportion tests on per-arm (and segment) counts."""
    from bayeslab.bayes.conversion import BetaBinomial
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.frequentist.conversion import TwoProportionZTest
    from bayeslab.readout.design_fitters import fit_clustered, unclustered_spec

    if s.cluster:
        return fit_clustered(source, s)
    s = unclustered_spec(source, s)
    st = sufficient_stats(source, arm=s.arm, metric=s.metric, control=s.control, kind="binary",
                          n=s.n, unit_id=s.unit_id, missing=s.missing, segments=s.segments)
    return dict(bayes=(BetaBinomial(*s.prior, interval=s.interval).fit(st),),
                frequentist=(TwoProportionZTest(interval=s.interval).fit(st),),
                rows=st.rows, arms=st.arm_cells(), control=st.control,
                headline=("beta-binomial", "z-test", "absolute"), stats=st,
                segments=_segments(st, s))


def _segments(stats, s: MetricSpec):
    """Segment readout on the same cell statistics (``None`` without segments)."""
    if not s.segments:
        return None
    from bayeslab.readout.segments import fit_segment_readout

    return fit_segment_readout(stats, s)


def fit_conversion_counts(n, conversions, *, arms, metric: str, prior=(1.0, 1.0),
                          interval: float = 0.95):
    """Both sides of a conversion metric from counts per arm (control first).

    The Beta-Binomial posterior under ``prior`` and the two-proportion z-test, as
    :func:`fit_conversion` fits them from data; the app re-reads a saved run's counts with it
    under another prior or level.

    Returns
    -------
    (ConversionPosterior, ConversionTest)
    """
    from bayeslab.bayes.conversion import BetaBinomial
    from bayeslab.frequentist.conversion import TwoProportionZTest

    a, b = prior
    bayes = BetaBinomial(a, b, interval=interval).fit_counts(n, conversions, arms=arms,
                                                            metric=metric)
    freq = TwoProportionZTest(interval=interval).fit_counts(n, conversions, arms=arms,
                                                          metric=metric)
    return bayes, freq


def fit_continuous(source, s: MetricSpec):
    """Normal (and Gamma-Poisson for counts) vs Welch (and Poisson Wald).

    With a covariate the readout is :func:`fit_revenue`'s.
    """
    from bayeslab.bayes import means as bm
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.frequentist import means as fm
    from bayeslab.readout.design_fitters import fit_clustered, unclustered_spec

    if s.cluster:
        return fit_clustered(source, s)
    if s.covariate:
        return fit_revenue(source, s)
    if s.model or s.clip:
        raise ModelError("--model and --clip need a covariate (the revenue readout); "
                         "give --covariate")
    s = unclustered_spec(source, s)
    st = sufficient_stats(source, arm=s.arm, metric=s.metric, control=s.control,
                          kind="count" if s.kind == "count" else "continuous",
                          n=s.n, unit_id=s.unit_id, missing=s.missing, segments=s.segments)
    bayes: list[Fitted] = [bm.normal_means(st, interval=s.interval)]
    freq: list[Fitted] = [fm.welch(st, interval=s.interval)]
    if s.kind == "count":
        bayes.append(bm.gamma_poisson(st, interval=s.interval))
        events = st.by_arm()["sum"].to_numpy(float)
        empty = [str(a) for a, v in zip(st.arms, events, strict=True) if v <= 0]
        if empty:  # the Poisson rate ratio is undefined: Welch and both Bayes models remain
            from bayeslab.core.errors import StatisticalWarning

            warnings.warn(f"arm {', '.join(empty)} of {s.metric!r} has no events: the Poisson "
                          "rate test is left out (its rate ratio is undefined); Welch and the "
                          "Bayesian models read the metric out", StatisticalWarning, stacklevel=2)
        else:
            freq.append(fm.poisson_rates(st, interval=s.interval))
    return dict(bayes=tuple(bayes), frequentist=tuple(freq), rows=st.rows, arms=st.arm_cells(),
                control=st.control, headline=("bayes-normal", "welch", "absolute"), stats=st,
                segments=_segments(st, s))


def fit_revenue(source, s: MetricSpec):
    """Conjugate regression adjustment (and robust / hurdle MCMC) vs CUPED and HC ANCOVA."""
    from bayeslab.bayes import revenue as br
    from bayeslab.data.covariates import parse_covariates, scan_covariates
    from bayeslab.data.moments import UNIT_MODEL_MAX_ROWS, unit_rows
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.frequentist import revenue as fr
    from bayeslab.inference.sampling import show_progress

    if s.n is not None:
        raise DataError("a covariate readout needs unit rows, not aggregated input (n)")
    if s.clip:
        freq = fr.revenue(source, arm=s.arm, metric=s.metric, covariate=s.covariate,
                          control=s.control, interval=s.interval, clip=s.clip,
                          clip_quantile=s.clip_quantile, missing=s.missing)
        st = freq.stats
    else:
        st = scan_covariates(source, arm=s.arm, metric=s.metric, covariate=s.covariate,
                             control=s.control, missing=s.missing)
        freq = fr.RevenueTests(interval=s.interval).fit(st)
    bayes: list[Fitted] = [br.ConjugateRegression(interval=s.interval).fit(st)]
    if s.model in ("robust", "hurdle") and len(parse_covariates(s.covariate)) > 1:
        raise ModelError(f"the {s.model} revenue model takes one covariate; got "
                         f"{s.covariate!r} (the conjugate regression and ANCOVA take several)")
    if s.model in ("robust", "hurdle"):
        rows = unit_rows(source, arm=s.arm, metric=s.metric, covariate=s.covariate,
                         control=s.control, missing=s.missing, max_rows=UNIT_MODEL_MAX_ROWS,
                         what=f"the {s.model} revenue model (MCMC)")
        fit = br.robust_regression if s.model == "robust" else br.hurdle_regression
        bayes.append(fit(rows, seed=s.seed, interval=s.interval, draws=s.draws, tune=s.tune,
                         chains=s.chains, progressbar=bool(show_progress(s.progressbar)),
                         thresholds=dict(s.thresholds) or None))
    elif s.model is not None:
        raise ModelError(f"model must be 'robust' or 'hurdle', got {s.model!r}")
    extra = {}
    if getattr(freq, "clipping", None) is not None:
        extra["clipping"] = freq.clipping
    _preperiod(st, extra)
    segments = None
    if s.segments:  # the segment models read per-cell means (the covariate is not used there)
        seg_stats = sufficient_stats(source, arm=s.arm, metric=s.metric, control=s.control,
                                     kind="continuous", unit_id=s.unit_id, missing=s.missing,
                                     segments=s.segments)
        segments = _segments(seg_stats, s)
    return dict(bayes=tuple(bayes), frequentist=(freq,), rows=st.rows, arms=st.arm_cells(),
                control=st.control, headline=("bayes-regression", "ancova-hc", "absolute"),
                stats=st, extra=extra, segments=segments)


def _preperiod(st, extra: dict) -> None:
    """Add the pre-period bias check of the covariate (same scan) to ``extra``; warn if flagged.

    See :mod:`bayeslab.readout.preperiod`: the flag becomes a note of the readout.
    """
    from bayeslab.core.errors import StatisticalWarning
    from bayeslab.readout.preperiod import preperiod_check

    check = preperiod_check(st)
    if check is None:
        return
    extra["preperiod"] = check
    if check.flagged:
        warnings.warn(check.text, StatisticalWarning, stacklevel=3)


def fit_ratio(source, s: MetricSpec):
    """Beta per funnel stage vs the delta method (stages), or the delta method on a ratio."""
    from bayeslab.bayes import funnel as bf
    from bayeslab.data.funnel import funnel_stats
    from bayeslab.data.stats import sufficient_stats
    from bayeslab.frequentist import funnel as ff

    if s.stages:
        fs = funnel_stats(source, arm=s.arm, stages=list(s.stages), control=s.control,
                          missing=s.missing)
        last = fs.counts[:, -1] / fs.users
        return dict(bayes=(bf.funnel(fs, interval=s.interval),),
                    frequentist=(ff.funnel(fs, interval=s.interval),), rows=fs.rows,
                    arms=_arms_frame(fs.arms, fs.users, last), control=fs.arms[0],
                    headline=("bayes-beta", "delta", "absolute"), stats=fs,
                    extra={"headline_rate": "cvr"})
    if not (s.numerator and s.denominator):
        raise DataError("a ratio metric needs --numerator and --denominator, or --stages")
    st = sufficient_stats(source, arm=s.arm, metric=s.numerator, covariate=s.denominator,
                          control=s.control, kind="ratio", missing=s.missing)
    t = st.by_arm()
    return dict(bayes=(), frequentist=(ff.ratio_metric(st, interval=s.interval),), rows=st.rows,
                arms=_arms_frame(st.arms, t["n"], (t["sum"] / t["sum_x"]).to_numpy()),
                control=st.control, headline=(None, "delta", "absolute"), stats=st)


def fit_retention(source, s: MetricSpec):
    """Piecewise-exponential hazard ratio vs Kaplan-Meier and the log-rank test."""
    from bayeslab.bayes.retention import piecewise_exponential
    from bayeslab.data.survival import survival_rows
    from bayeslab.frequentist.retention import kaplan_meier

    if not (s.duration and s.event):
        raise DataError("a retention metric needs --duration and --event columns")
    rows = survival_rows(source, arm=s.arm, duration=s.duration, event=s.event,
                         control=s.control, missing=s.missing)
    n = np.bincount(rows.arm_index, minlength=len(rows.arms))
    events = np.bincount(rows.arm_index, weights=rows.event, minlength=len(rows.arms))
    return dict(bayes=(piecewise_exponential(rows, interval=s.interval),),
                frequentist=(kaplan_meier(rows, horizon=s.horizon, interval=s.interval),),
                rows=rows.rows, arms=_arms_frame(rows.arms, n, events / n),
                control=rows.arms[0], direction=-1,
                headline=("bayes-piecewise-exponential", "log-rank", "hazard-ratio"), stats=rows)


def metric_requests(source, spec: MetricSpec) -> list:
    """The grouped aggregates the fit of ``spec`` will read (see :mod:`bayeslab.data.scan`).

    Conversion, continuous and count metrics (with their segment splits and covariate moments)
    and ratios of two columns are reduced by grouped aggregates; funnels, retention, clipping
    and unit-level models read their own rows and ask for nothing here.
    """
    from bayeslab.data.stats import stats_request

    s = spec
    if s.kind == "conversion":
        return [stats_request(source, arm=s.arm, metric=s.metric, kind="binary", n=s.n,
                              segments=s.segments)]
    if s.kind in ("continuous", "count") and not s.covariate:
        return [stats_request(source, arm=s.arm, metric=s.metric, n=s.n, segments=s.segments,
                              kind="count" if s.kind == "count" else "continuous")]
    if s.kind in ("continuous", "count") and not s.clip and s.n is None:
        from bayeslab.data.covariates import covariates_request

        out = [covariates_request(source, arm=s.arm, metric=s.metric, covariates=s.covariate)]
        if s.segments:
            out.append(stats_request(source, arm=s.arm, metric=s.metric, kind="continuous",
                                     segments=s.segments))
        return out
    if s.kind == "quantile" and s.n is None:  # counts per arm, before the rank windows
        return [stats_request(source, arm=s.arm, metric=s.metric, kind="continuous")]
    if s.kind == "ratio" and not s.stages and s.numerator and s.denominator:
        return [stats_request(source, arm=s.arm, metric=s.numerator, covariate=s.denominator,
                              kind="ratio")]
    return []


def builtin_fitters() -> dict[str, Fitter]:
    """The shipped kinds' fitters, by kind name.

    ``formula`` and ``custom`` live in :mod:`bayeslab.readout.custom`, imported on first use.
    """
    from bayeslab.readout.custom import fit_custom, fit_formula
    from bayeslab.readout.design_fitters import fit_quantile

    return {"conversion": fit_conversion, "continuous": fit_continuous, "count": fit_continuous,
            "ratio": fit_ratio, "retention": fit_retention, "formula": fit_formula,
            "custom": fit_custom, "quantile": fit_quantile}


def fitter_of(kind: kinds.Kind) -> Fitter:
    """The function fitting both sides of ``kind``: its own callable, else the shipped one.

    Raises
    ------
    ModelError
        A kind read by its own pipeline (propensity), or one registered without a fitter.
    """
    if callable(kind.fitter):
        return kind.fitter
    if isinstance(kind.fitter, str):   # bayeslab 0.1's "module:function"
        import importlib

        warnings.warn(f"kind {kind.name!r}: a fitter named by a 'module:function' string is "
                      "deprecated; register the function itself (goes in bayeslab 0.3)",
                      DeprecationWarning, stacklevel=3)
        module, _, func = kind.fitter.partition(":")
        return getattr(importlib.import_module(module), func)
    if kind.own_pipeline:
        raise ModelError(f"kind {kind.name!r} is read by its own pipeline, not fit_metric")
    try:
        return builtin_fitters()[kind.name]
    except KeyError:
        raise ModelError(f"kind {kind.name!r} has no fitter: register it with one, "
                         "kinds.register(kinds.Kind(name, summary, fit_function, stats))") from None


def fit_metric(source, spec: MetricSpec) -> MetricFit:
    """Fit both sides of one metric; statistical warnings are kept as notes (and re-emitted)."""
    kind = kinds.get(spec.kind)
    if spec.segments and not kind.segments:
        raise ModelError(f"segments are read out for {', '.join(kinds.names(segments=True))} "
                         f"metrics, not {spec.kind}")
    if len(spec.segments) > 2:
        raise ModelError(f"at most two segment columns, got {len(spec.segments)}: "
                         f"{', '.join(spec.segments)}")
    if spec.metric == spec.arm:
        raise DataError(f"the outcome column {spec.metric!r} is the arm column: name the "
                        "metric's own column", column=spec.metric)
    if spec.arm in spec.segments:
        raise DataError(f"the segment column {spec.arm!r} is the arm column: segments split "
                        "the units, the arm compares them", column=spec.arm)
    if len(set(spec.segments)) != len(spec.segments):
        raise DataError(f"segment column given twice: {', '.join(spec.segments)}",
                        column=spec.segments[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BayeslabWarning)
        parts = fitter_of(kind)(source, spec)
    notes, seen = [], set()
    for w in caught:  # each distinct warning once
        key = (w.category, str(w.message))
        if key in seen:
            continue
        seen.add(key)
        # a cache problem is about this machine, not the data: re-emitted, never a note
        if issubclass(w.category, BayeslabWarning) and not issubclass(w.category, CacheWarning):
            notes.append(str(w.message))
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not isinstance(parts["arms"], Cells):  # a kind may hand over a pandas table
        parts = {**parts, "arms": Cells.from_frame(parts["arms"])}
    return MetricFit(spec=spec, notes=tuple(dict.fromkeys(notes)), **parts)
