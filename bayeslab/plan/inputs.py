"""What a plan reads before any readout: its data, its rule, a metric's prior, its monitor.

Shared by the runner (:mod:`bayeslab.plan.runner`) and the rule's simulation
(:mod:`bayeslab.plan.oc`), which both import from here (never from each other).
"""

from __future__ import annotations

from bayeslab.core.errors import DataError
from bayeslab.plan.schema import MetricPlan, Plan


def load_plan_data(plan: Plan, engine: str | None = None):
    """The plan's data: a Source (file, SQL query, Spark table) or the simulated DataFrame.

    ``engine`` (``--engine``) overrides the plan's ``data.engine`` (DuckDB by default).
    """
    from bayeslab.data.sources import open_source

    engine = engine or plan.data.get("engine", "duckdb")
    if "simulate" in plan.data:
        from bayeslab.scenarios import simulate

        spec = dict(plan.data["simulate"])
        name = spec.pop("scenario")
        frame = simulate(name, **spec).data
        if engine == "spark":
            from bayeslab.data.spark import spark_session

            return open_source(spark_session().createDataFrame(frame))
        return frame
    if "sql" in plan.data:
        return open_source(sql=plan.data["sql"], allowed=[plan.path.parent], engine=engine,
                           base=plan.path.parent)
    if "table" in plan.data:
        return open_source(plan.data["table"], engine=engine)
    path = plan.data_path()
    if not path.exists():
        raise DataError(f"{plan.path}: data.path {plan.data['path']!r} not found (looked for "
                        f"{path})")
    return open_source(path, engine=engine)


def _rule(plan: Plan):
    from bayeslab.readout.metric import DecisionRule

    keys = ("prob_threshold", "loss_threshold", "alpha", "srm_threshold")
    return DecisionRule(**{k: float(plan.decision[k]) for k in keys if k in plan.decision})


def _prior(metric: MetricPlan):
    prior = metric.options.get("prior", (1.0, 1.0))
    if prior == "library":               # the arms' Beta priors stay flat; see learned_history
        return (1.0, 1.0)
    if isinstance(prior, dict):
        return (float(prior.get("alpha", 1.0)), float(prior.get("beta", 1.0)))
    return tuple(float(v) for v in prior)


def _control(plan: Plan):
    control = plan.columns.get("control")
    return None if control is None else str(control)


def _monitor(data, plan: Plan):
    from bayeslab.readout.monitor import monitor
    from bayeslab.sequential.rules import rule_from_dict

    seq = plan.sequential
    name = seq.get("metric", plan.primary.name)
    metric = next((m for m in plan.metrics if m.name == name), plan.primary)
    timestamp = seq.get("timestamp", plan.columns.get("timestamp"))
    if timestamp is None and not isinstance(seq.get("looks"), (int, list)):
        raise DataError(f"{plan.path}: [sequential] needs a timestamp (or columns.timestamp), "
                        "or looks given as cumulative row counts")
    rule = rule_from_dict(seq["rule"]) if "rule" in seq else None
    # the plan's spending function and its decision alpha govern the group-sequential design
    return monitor(data, arm=plan.columns["arm"], metric=metric.name, timestamp=timestamp,
                   control=_control(plan), looks=seq.get("looks"), rule=rule,
                   design=seq.get("spending"), alpha=float(plan.decision.get("alpha", 0.05)),
                   prior=_prior(metric), kind=metric.kind, seed=plan.seed,
                   fpr_sims=int(seq.get("fpr_sims", 2000)))


def learned_history(plan: Plan, metric: MetricPlan, library, *, show=None):
    """The effect distribution of ``metric`` fitted to the library's past experiments.

    For ``prior = "library"``: the metric's history on the absolute scale, this plan's own
    earlier rows left out (a rerun must not count itself), fitted by
    :func:`bayeslab.bayes.history.fit_effect_distribution` (Normal against spike-and-slab
    with a Student-t slab, by LOO). A plan without a library, or a metric with fewer than 5
    past experiments, is refused.
    """
    from bayeslab.plan.library_rows import run_id
    from bayeslab.plan.schema import PlanError

    if library is None:
        raise PlanError(f"{plan.path}: metric {metric.name!r} has prior = \"library\" but the "
                        "plan names no library: add library = \"...\" or pass --library")
    return fit_library_history(library, metric.name, exclude=run_id(plan), seed=plan.seed,
                               progressbar=show)


def fit_library_history(library, metric: str, *, scale: str = "absolute", exclude=None,
                        family: str = "auto", seed: int = 0, progressbar=None):
    """Fit the effect distribution of one metric's past experiments in ``library``.

    The one path of ``bayeslab prior`` and ``prior = "library"``: the metric's rows on
    ``scale`` (those of experiment id ``exclude`` left out), at least 5 of them, fitted by
    :func:`bayeslab.bayes.history.fit_effect_distribution`.
    """
    from bayeslab.bayes.history import fit_effect_distribution
    from bayeslab.data.library import ExperimentLibrary

    h = ExperimentLibrary(library).history(metric, scale=scale)
    if exclude is not None:
        h = h[h["experiment_id"] != exclude]
    if len(h) < 5:
        raise DataError(f"metric {metric!r}: the library {library} holds {len(h)} past "
                        f"experiments of it on the {scale} scale; a prior needs at least 5",
                        column=metric)
    return fit_effect_distribution(h["estimate"].to_numpy(float), h["se"].to_numpy(float),
                                   shipped=h["shipped"].to_numpy(bool),
                                   labels=h["experiment"].astype(str).tolist(), family=family,
                                   seed=seed, progressbar=progressbar)
