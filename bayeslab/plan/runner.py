"""Run an analysis plan end to end: readouts, segments, monitoring, report, saved outputs.

``run_plan(plan, out_dir)`` loads the data the plan names, reads out the primary metric with its
guardrails, every secondary metric, the segment model and the sequential monitor, then writes
``readout.json`` (the same entries as ``bayeslab compare --format json``, per metric),
``report.html`` and ``report.md``, one PNG per figure, and the saved posteriors. The same plan
and seed give identical numbers.

The output folder is written only when the whole run succeeded (:mod:`bayeslab.plan.output`: checked
before any computing, staged beside ``out_dir``, moved into place at the end; a rerun leaves no
stale figure and unrelated files untouched). Figure file names derive from metric names and are
made safe by :mod:`bayeslab.core.paths`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from bayeslab.core import kinds
from bayeslab.core.errors import DataError
from bayeslab.core.estimates import jsonable
from bayeslab.plan.inputs import (  # noqa: F401  (load_plan_data re-exported)
    _control,
    _monitor,
    _prior,
    _rule,
    learned_history,
    load_plan_data,
)
from bayeslab.plan.schema import MetricPlan, Plan, PlanError, load_plan


@dataclass(frozen=True)
class RunResult:
    """Everything a plan produced.

    Attributes
    ----------
    plan : Plan
    primary : Readout or PropensityReadout
        Primary metric readout (guardrails inside it).
    secondary : tuple
        Secondary metric readouts.
    monitor : MonitorResult, optional
    files : dict of str to pathlib.Path
        Files written (empty when no output folder was given).
    """

    plan: Plan
    primary: object
    secondary: tuple = ()
    monitor: object = None
    files: dict = field(default_factory=dict)
    #: the plan's whole rule simulated (:mod:`bayeslab.plan.oc`): a PlanOC, or a str saying
    #: why it was not simulated
    oc: object = None
    #: the thresholds found for ``[decision] target_false_ship`` (a Calibration), if set
    calibration: object = None
    #: what was written to the experiment library: ``{"write": LibraryWrite, "unrecorded":
    #: [sentences]}`` (``None`` when no library was named)
    library: object = None
    #: a bandit experiment (``[columns] period``): each metric's readout stratified by period
    bandit: tuple = ()
    #: the property scan (``[segments] scan``): a PropertyScanReadout, or ``None``
    scan: object = None
    #: the plan's decision when the stratified bandit readout decides (else the primary's)
    bandit_decision: object = None

    @property
    def segments(self):
        """The readout carrying the plan's segment analysis (``None`` without one).

        The segment models are fitted by that metric's own readout, on the same scan.
        """
        return next((r for r in self.readouts if r.segments is not None), None)

    @property
    def readouts(self) -> list:
        """Primary, its guardrails, then secondary readouts."""
        return [self.primary, *self.primary.guardrails, *self.secondary]

    @property
    def decision(self):
        """The plan's decision: the primary metric's (a bandit's: its stratified readout's)."""
        return self.bandit_decision if self.bandit_decision is not None else \
            self.primary.decision

    def correction(self) -> dict:
        """The plan's multiple-testing correction and the p-values it adjusted.

        ``method`` and ``scope`` (:mod:`bayeslab.readout.corrections`), ``excluded`` (what is
        never in the family) and ``tests``: one entry per ship-deciding test (``metric``,
        ``arm``, ``p_raw``, ``p_value``, and ``adjust``, ``tests``, ``family`` when adjusted).
        """
        from bayeslab.readout.corrections import Correction

        corr = Correction.from_plan(self.plan.decision)
        tests = []
        for r in (self.primary, *self.secondary):
            if not hasattr(r, "metric_estimates") or not hasattr(r, "fit"):
                continue                        # propensity readouts are not in the family
            f_method, effect = r.fit.headline[1], r.fit.headline[2]
            rate = r.fit.extra.get("headline_rate")
            for e in r.metric_estimates():
                if (e.side != "frequentist" or e.method != f_method or e.effect != effect
                        or e.p_value is None or (rate and e.extra.get("rate") != rate)):
                    continue
                item = {"metric": r.metric, "arm": e.arm or r.fit.arms["arm"][1],
                        "p_raw": e.extra.get("p_raw", e.p_value), "p_value": e.p_value}
                if "adjust" in e.extra:
                    item.update(adjust=e.extra["adjust"], tests=e.extra.get("adjust_tests"),
                                family=e.extra.get("adjust_family"))
                if not any(t["metric"] == item["metric"] and t["arm"] == item["arm"]
                           for t in tests):
                    tests.append(item)
        return {**corr.to_dict(), "tests": tests,
                "excluded": "guardrails' non-inferiority p-values, the other methods' p-values, "
                            "propensity readouts"}

    def _correction_json(self) -> dict:
        """:meth:`correction` for ``readout.json``: which tests, and how adjusted.

        Their two p-values are in each metric's ``results`` (``p_value`` adjusted, ``p_raw``).
        """
        out = self.correction()
        out["tests"] = [{k: v for k, v in t.items() if k not in ("p_raw", "p_value")}
                        for t in out["tests"]]
        return out

    def warnings(self) -> list[str]:
        """Every warning of every part, primary first, without repeats."""
        out = []
        for r in self.readouts:
            out += list(r.warnings)
            out += list(r.decision.blockers)
        if self.bandit:     # a bandit's shares change by design: no sample ratio check
            out = [w for w in out if not w.startswith("sample ratio mismatch")]
            out += [n for b in self.bandit for n in b.notes]
        return list(dict.fromkeys(out))

    def to_dict(self) -> dict:
        """The content of ``readout.json``."""
        from bayeslab import __version__

        metrics = [_with_stats(self.primary), *[_with_stats(r) for r in self.secondary]]
        for g, entry in zip(self.primary.guardrails, metrics[0].get("guardrails", ()),
                            strict=False):
            block = stats_block(g.stats)
            if block is not None:
                entry["stats"] = block
        out = {
            "plan": str(self.plan.path), "name": self.plan.name, "seed": self.plan.seed,
            "bayeslab": __version__, "decision": self.decision.to_dict(),
            "correction": self._correction_json(), "warnings": self.warnings(),
            "metrics": metrics,
        }
        if self.oc is not None:
            out["operating_characteristics"] = (
                {"not_simulated": self.oc} if isinstance(self.oc, str) else self.oc.to_dict())
            if self.calibration is not None:
                out["operating_characteristics"]["calibration"] = self.calibration.to_dict()
        if self.bandit:
            out["bandit"] = [b.to_dict() for b in self.bandit]
        if self.scan is not None:
            out["scan"] = self.scan.scan()
            out["property_scan"] = self.scan.to_dict()
        if self.monitor is not None:
            out["monitor"] = self.monitor.to_dict()
            block = _monitor_stats(self.monitor)
            if block is not None:
                out["monitor"]["stats"] = block
        return jsonable(out)


def stats_block(stats) -> dict | None:
    """The sufficient statistics a readout was fitted on, for ``readout.json``.

    Per arm (control first) ``n`` and ``sum`` (conversions, as whole numbers, for a binary
    metric) and, when the statistics are split by segment columns, one entry per
    (segment..., arm) cell with the segment values as text. ``None`` for results that are not
    fitted on per-arm statistics (funnels, retention, propensity readouts).
    """
    import pandas as pd

    table = getattr(stats, "table", None)
    if not isinstance(table, pd.DataFrame) or not {"arm", "n", "sum"} <= set(table.columns):
        return None
    binary = stats.kind == "binary"

    def number(v, whole):
        return int(round(float(v))) if whole else float(v)

    by_arm = stats.by_arm()
    out = {"kind": stats.kind, "arms": list(stats.arms), "control": stats.control,
           "n": [number(v, True) for v in by_arm["n"]],
           "sum": [number(v, binary) for v in by_arm["sum"]],
           "segments": list(stats.segments)}
    if stats.segments:
        out["cells"] = [
            {**{c: str(row[c]) for c in stats.segments}, "arm": str(row["arm"]),
             "n": number(row["n"], True), "sum": number(row["sum"], binary)}
            for row in table.to_dict(orient="records")]
    return out


def _with_stats(readout) -> dict:
    out = readout.to_dict()
    block = stats_block(readout.stats)
    if block is not None:
        out["stats"] = block
    return out


def _monitor_stats(mon) -> dict | None:
    """Cumulative units and sums per look and arm (conversions, whole numbers, for conversion)."""
    t = getattr(mon, "table", None)
    if t is None or not {"n_control", "n_treatment", "mean_control"} <= set(t.columns):
        return None
    binary = mon.kind == "conversion"
    looks = []
    for r in t.itertuples():
        n = [int(round(r.n_control)), int(round(r.n_treatment))]
        s = [r.n_control * r.mean_control, r.n_treatment * r.mean_treatment]
        looks.append({"look": int(r.look), "label": str(r.label), "n": n,
                      "sum": [int(round(v)) for v in s] if binary else [float(v) for v in s]})
    return {"kind": "binary" if binary else "continuous",
            "arms": [mon.control, mon.treatment], "looks": looks}


def _read_metric(data, plan: Plan, metric: MetricPlan, *, guardrails=(), role="primary",
                 show=None, library=None):
    from bayeslab.readout.metric import compare

    cols = plan.columns
    interval = float(plan.decision.get("interval", 0.95))
    options = _metric_options(plan, metric)
    if cols.get("cluster") and "cluster" in kinds.get(metric.kind).options:  # [columns] cluster
        options.setdefault("cluster", cols["cluster"])
    options.update({k: metric.options[k] for k in ("draws", "tune", "chains")
                    if k in metric.options})
    options["progressbar"] = show
    seg = plan.segments
    if seg and seg.get("metric", plan.primary.name) == metric.name:
        options["segments"] = list(seg.get("columns", []))
        options.update({k: seg[k] for k in ("draws", "tune", "chains") if k in seg})
        options["progressbar"] = show
    return compare(
        data, arm=cols["arm"], metric=metric.name, control=_control(plan), kind=metric.kind,
        guardrails=[g.name for g in guardrails],
        margins={g.name: g.options["margin"] for g in guardrails} or None,
        prior=_prior(metric), interval=interval, rule=_rule(plan),
        planned_split=cols.get("planned_split"), n=plan.data.get("n"),
        unit_id=cols.get("unit_id") if role == "primary" else None,
        missing=plan.data.get("missing", "error"), role=role, seed=plan.seed,
        unit=metric.options.get("unit"), correction=_correction(plan),
        effect_prior=(learned_history(plan, metric, library, show=show)
                      if metric.options.get("prior") == "library" else None), **options)


def _correction(plan: Plan):
    """The plan's multiple-testing correction (``[decision] correction``, ``scope``)."""
    from bayeslab.readout.corrections import Correction

    return Correction.from_plan(plan.decision)


def _metric_options(plan: Plan, metric: MetricPlan) -> dict:
    """The kind options of ``metric`` that ``compare`` takes (``stages`` as a tuple)."""
    options = {k: metric.options[k] for k in kinds.get(metric.kind).options
               if k in metric.options and k != "stages"}
    if metric.kind == "propensity" and "model" in metric.options:   # the outcome's kind
        options["model"] = metric.options["model"]
    if "stages" in metric.options:
        options["stages"] = tuple(metric.options["stages"])
    if options.get("builder"):   # a builder file is named relative to the plan, like data
        path, sep, name = str(options["builder"]).rpartition(":")
        if sep:
            # a builder is code that runs: a plan may only name one in its own folder
            folder = plan.path.parent.resolve()
            target = (plan.path.parent / path).resolve()
            if not target.is_relative_to(folder):
                raise PlanError(f"{plan.path}: metric {metric.name!r}: builder {path!r} is "
                                f"outside the plan's folder {folder}; a builder is code that "
                                "runs, so a plan names one beside it (or below)")
            options["builder"] = f"{target}:{name}"
    return options


def run_plan(plan, out_dir=None, *, quiet: bool | None = None,
             engine: str | None = None, library=None) -> RunResult:
    """Execute a plan; with ``out_dir``, write readout.json, report.html/.md, figures, posteriors.

    Parameters
    ----------
    plan : Plan or str or pathlib.Path
        A loaded plan or the path of its TOML file.
    out_dir : str or pathlib.Path, optional
        Folder for the outputs (created if needed).
    quiet : bool, optional
        No stage lines or progress bars; default: quiet unless stderr is a terminal.
    engine : {"duckdb", "spark"}, optional
        Overrides the plan's ``data.engine``.
    library : str or pathlib.Path, optional
        Experiment library (DuckDB file) to append this run's rows to (``--library``); wins over
        the plan's ``library``. Without either, nothing is written.

    Returns
    -------
    RunResult

    Raises
    ------
    PlanError
        A malformed plan.
    DataError
        Bad data, named by column and rows; an output folder that cannot be written (raised
        before any computing).
    """
    from bayeslab.core.progress import stage
    from bayeslab.data.sources import open_source
    from bayeslab.plan.output import publish, release_staging, staging_folder

    plan = plan if isinstance(plan, Plan) else load_plan(plan)
    show = None if quiet is None else not quiet
    out = None if out_dir is None else Path(out_dir)
    staging = None if out is None else staging_folder(out)  # fails here, before computing
    target = library if library is not None else plan.library
    if target is not None:     # a file that is not a library is refused before computing
        from bayeslab.data.library import ExperimentLibrary

        if Path(target).exists():
            ExperimentLibrary(target).check()
        elif not Path(target).parent.is_dir():
            raise DataError(f"cannot create the experiment library {target}: folder "
                            f"{Path(target).parent} does not exist")
    seg = (plan.segments or {}).get("metric", plan.primary.name) if plan.segments else None
    try:
        with stage("data", show=show):
            data = open_source(load_plan_data(plan, engine))  # one Source: one scan
            _one_scan(data, plan)
        calibration = None
        if plan.decision.get("target_false_ship") is not None:
            from bayeslab.plan.oc import calibrated_plan

            with stage("calibrating the thresholds", show=show):
                plan, calibration = calibrated_plan(plan, data)
        with stage(plan.primary.name + (" + segments" if seg == plan.primary.name else ""),
                   show=show):
            primary = _read_metric(data, plan, plan.primary,
                                   guardrails=plan.by_role("guardrail"), show=show,
                                   library=target)
        secondary = []
        for m in plan.by_role("secondary"):
            with stage(m.name + (" + segments" if seg == m.name else ""), show=show):
                secondary.append(_read_metric(data, plan, m, role="secondary", show=show,
                                              library=target))
        correction = _correction(plan)
        if correction.spans("metrics"):   # one family across the ship-deciding metrics
            from bayeslab.readout.metric import correct_across

            primary, *secondary = correct_across([primary, *secondary], correction)
        secondary = tuple(secondary)
        mon = None
        if plan.sequential:
            with stage("monitor", show=show):
                mon = _monitor(data, plan)
        result = RunResult(plan=plan, primary=primary, secondary=secondary, monitor=mon)
        if plan.columns.get("period"):
            with stage("bandit readout, stratified by period", show=show):
                result = _bandit(data, result)
        if (plan.segments or {}).get("scan"):
            with stage("property scan", show=show):
                result = replace(result, scan=_property_scan(data, plan, show))
        with stage("operating characteristics", show=show):
            result = replace(result, oc=_operating_characteristics(result),
                             calibration=calibration)
        if out is not None:
            with stage("figures and report", show=show):
                written = _write(result, staging)
                publish(staging, out)
            result = replace(result, files={k: out / Path(v).relative_to(staging)
                                            for k, v in written.files.items()})
    finally:  # failed or interrupted: nothing reaches out_dir
        if staging is not None:
            release_staging(staging)
    if target is not None:                  # only a run that finished is recorded
        from bayeslab.data.library import ExperimentLibrary
        from bayeslab.plan.library_rows import run_rows, unrecorded

        with stage("experiment library", show=show):
            written = ExperimentLibrary(target).append(run_rows(result))
        result = replace(result, library={"write": written, "unrecorded": unrecorded(result)})
    return result


def _property_scan(data, plan: Plan, show):
    """``[segments] scan``: every level of every named property (one scan, one model)."""
    from bayeslab.readout.property_scan import scan_properties

    seg = plan.segments
    name = seg.get("metric", plan.primary.name)
    metric = next((m for m in plan.metrics if m.name == name), plan.primary)
    kinds_ = {"conversion": "binary", "continuous": "continuous"}
    if metric.kind not in kinds_:
        raise PlanError(f"{plan.path}: segments.scan reads a conversion or continuous metric; "
                        f"{metric.name!r} is {metric.kind}")
    return scan_properties(data, arm=plan.columns["arm"], metric=metric.name,
                           properties=list(seg["scan"]), control=_control(plan),
                           kind=kinds_[metric.kind], missing=plan.data.get("missing", "error"),
                           interval=float(plan.decision.get("interval", 0.95)),
                           seed=plan.seed, progressbar=show)


def _bandit(data, result: RunResult) -> RunResult:
    r"""A bandit experiment: every conversion / continuous metric read out stratified by period.

    Traffic weights that change across periods bias a pooled comparison (Simpson's paradox),
    so the primary metric's stratified readout decides: ship when its Bayesian
    :math:`P(\Delta > 0)` reaches the rule's threshold and its stratified z-test is significant
    with a positive estimate (the best arm of several); the pooled readouts stay for reference.
    """
    from bayeslab.data.table import quote
    from bayeslab.readout.bandit import bandit_readout

    plan = result.plan
    arm, period = plan.columns["arm"], plan.columns["period"]
    rule, control = _rule(plan), _control(plan)
    out = []
    for m in plan.metrics:
        if m.role == "guardrail" or m.kind not in ("conversion", "continuous"):
            continue
        cols = (f"CAST({quote(period)} AS VARCHAR) AS p, CAST({quote(arm)} AS VARCHAR) AS a")
        if m.kind == "conversion":
            rows = data.sql(f"SELECT {cols}, count(*) AS n, sum({quote(m.name)}) AS y FROM "
                            f"{data.relation} GROUP BY 1, 2")
            frame = {"p": [r[0] for r in rows], "a": [r[1] for r in rows],
                     "n": [r[2] for r in rows], "y": [r[3] for r in rows]}
            out.append(bandit_readout(frame, arm="a", metric="y", period="p", control=control,
                                      n="n", kind="conversion", seed=plan.seed))
        else:
            rows = data.sql(f"SELECT {cols}, {quote(m.name)} AS y FROM {data.relation}")
            frame = {"p": [r[0] for r in rows], "a": [r[1] for r in rows],
                     "y": [r[2] for r in rows]}
            out.append(bandit_readout(frame, arm="a", metric="y", period="p", control=control,
                                      kind="continuous", seed=plan.seed))
        out[-1] = replace(out[-1], metric=m.name, period=period)
    if not out or plan.metrics[0].name != out[0].metric:
        return replace(result, bandit=tuple(out))
    return replace(result, bandit=tuple(out),
                   bandit_decision=_bandit_decision(out[0], rule, result.primary.decision))


def _bandit_decision(br, rule, pooled):
    """The plan's decision from the primary metric's stratified readout (see :func:`_bandit`)."""
    from bayeslab.core import format as fmt
    from bayeslab.core.decision import Decision

    best = max(br.effects, key=lambda e: e["prob_positive"])
    b = "ship" if best["prob_positive"] >= rule.prob_threshold else (
        "do not ship" if 1 - best["prob_positive"] >= rule.prob_threshold else "inconclusive")
    f = ("ship" if best["p_value"] < rule.alpha and best["estimate"] > 0 else
         "do not ship" if best["p_value"] < rule.alpha else "inconclusive")
    verdict = b if b == f else "inconclusive"
    # a bandit's arm shares change by design: the pooled sample ratio check does not apply
    srm = [x for x in pooled.blockers if x.startswith("sample ratio mismatch")]
    blockers = tuple(x for x in pooled.blockers if x not in srm)
    if blockers:
        verdict = "blocked"
    elif verdict == "ship" and pooled.verdict == "hold":
        verdict = "hold"                      # a guardrail did not pass
    eff = fmt.effect(best["estimate"], "absolute", br.kind)
    head = (f"{verdict.capitalize()}: read stratified by {br.period!r} ({len(br.periods)} "
            f"periods), because a bandit's traffic weights changed across them: {best['arm']} "
            f"- {br.control} {eff}, P(> 0) = {fmt.prob(best['prob_positive'])}, stratified p = "
            f"{fmt.p_value(best['p_value'])}; the pooled difference "
            f"{fmt.effect(best['pooled'], 'absolute', br.kind)} is biased and does not decide.")
    reasons = [head]
    if blockers:
        reasons.insert(0, "No decision: " + blockers[0] + ".")
    if srm:
        reasons.append("The pooled readouts' sample ratio check is not applied: a bandit's arm "
                       "shares change by design.")
    return Decision(verdict=verdict, arm=best["arm"], bayes=b, frequentist=f,
                    reasons=tuple(reasons), blockers=blockers)


def _operating_characteristics(result: RunResult):
    """The plan's rule simulated on this run's baselines, or why it was not."""
    from bayeslab.core.errors import BayeslabError
    from bayeslab.plan.oc import operating_characteristics

    if result.plan.columns.get("period"):
        return ("a bandit's adaptive traffic weights are not simulated (bayeslab bandit "
                "--simulate shows its regret)")

    try:
        return operating_characteristics(result.plan, result)
    except BayeslabError as exc:
        return str(exc)


def _metric_spec(plan: Plan, metric: MetricPlan):
    """The :class:`~bayeslab.readout.fitters.MetricSpec` columns ``compare`` reads for a metric."""
    from bayeslab.readout.fitters import MetricSpec

    options = _metric_options(plan, metric)
    seg = plan.segments
    if seg and seg.get("metric", plan.primary.name) == metric.name:
        options["segments"] = tuple(seg.get("columns", []))
    return MetricSpec(metric=metric.name, kind=metric.kind, arm=plan.columns["arm"],
                      n=plan.data.get("n"), **options)


def _one_scan(source, plan: Plan) -> None:
    """Reduce every metric, guardrail, segment split and look of the plan in one scan."""
    from bayeslab.readout.metric import one_scan
    from bayeslab.readout.monitor import monitor_request

    specs = [_metric_spec(plan, m) for m in plan.metrics if m.kind != "propensity"]
    extra = []
    if plan.sequential:
        seq = plan.sequential
        name = seq.get("metric", plan.primary.name)
        metric = next((m for m in plan.metrics if m.name == name), plan.primary)
        extra.append(monitor_request(
            source, arm=plan.columns["arm"], metric=metric.name,
            timestamp=seq.get("timestamp", plan.columns.get("timestamp")),
            looks=seq.get("looks"), kind=metric.kind, n=plan.data.get("n")))
    one_scan(source, specs, extra)


def _write(result: RunResult, out: Path) -> RunResult:
    from bayeslab.core.paths import confined
    from bayeslab.report.build import run_document
    from bayeslab.report.html import render_html
    from bayeslab.report.markdown import render_markdown

    out.mkdir(parents=True, exist_ok=True)
    files = {}
    doc = run_document(result)
    for fig in doc.figures():
        path = confined(out, fig.name, ".png")  # == out / fig.file_name
        path.write_bytes(fig.png)
        files[fig.name] = path
    payload = result.to_dict()
    files["readout.json"] = out / "readout.json"
    files["readout.json"].write_text(json.dumps(payload, indent=2, allow_nan=False))
    files["report.html"] = out / "report.html"
    files["report.html"].write_text(render_html(doc))
    files["report.md"] = out / "report.md"
    files["report.md"].write_text(render_markdown(doc))
    posterior = _save_posteriors(result, out / "posteriors")
    files.update(posterior)
    return RunResult(plan=result.plan, primary=result.primary, secondary=result.secondary,
                     monitor=result.monitor, files=files)


def _save_posteriors(result: RunResult, folder: Path) -> dict:
    """Conjugate posteriors as parameters (JSON); MCMC fits through their own ``save``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    conj = {}
    for r in result.readouts:
        bayes = r.bayes
        if bayes is not None and hasattr(bayes, "to_dict"):
            conj[r.metric] = bayes.to_dict()
    path = folder / "conjugate.json"
    path.write_text(json.dumps(jsonable(conj), indent=2, allow_nan=False))
    files["posteriors/conjugate.json"] = path
    seg_fit = result.segments.segments.bayes if result.segments is not None else None
    if seg_fit is not None:
        target = folder / "segments"
        seg_fit.save(target)
        files["posteriors/segments"] = target
    return files
