"""Handlers of the readout commands: ``compare``, ``monitor``, ``demo`` and ``simulate``."""

from __future__ import annotations

from bayeslab.cli.common import (
    emit,
    floats,
    kind_options,
    looks_arg,
    option_value,
    write_figures,
)


def cmd_simulate(args) -> int:
    """Write a simulated scenario to a file."""
    from bayeslab.core.errors import DataError
    from bayeslab.scenarios import simulate

    options = {}
    for item in args.option or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise DataError(f"--option must be key=value, got {item!r}")
        options[key] = option_value(value)
    scenario = simulate(args.scenario, rows=args.rows, seed=args.seed, **options)
    sidecar = scenario.write(args.out)
    emit({"scenario": scenario.name, "rows": len(scenario.data), "out": str(args.out),
           "truth_file": str(sidecar), "truth": scenario.truth, "roles": scenario.roles},
          f"{scenario}\nwrote {len(scenario.data):,} rows to {args.out} (truth in {sidecar})",
          args.format)
    return 0


def cmd_compare(args) -> int:
    """Bayesian and frequentist readout of one metric (and guardrails)."""
    from bayeslab.core.errors import DataError
    from bayeslab.readout.metric import DecisionRule, compare

    if args.confounders:
        return _compare_propensity(args)
    prior = floats(args.prior, "--prior", 2)
    margins = None
    if args.margin is not None and not args.guardrail:
        raise DataError("--margin applies to guardrails: name them with --guardrail (the "
                        "primary metric has no margin)", column="--margin")
    if args.guardrail:
        if args.margin is None:
            raise DataError("--guardrail needs --margin: the largest increase you accept")
        values = [v.strip() for v in str(args.margin).split(",")]   # "0.002" or "20%"
        if len(values) == 1:
            values = values * len(args.guardrail)
        if len(values) != len(args.guardrail):
            raise DataError(f"{len(values)} margins for {len(args.guardrail)} guardrails")
        margins = dict(zip(args.guardrail, values, strict=True))
    split = floats(args.split, "--split") if args.split else None
    options = kind_options(args)
    metric = args.metric or ("funnel" if args.stages else
                             args.numerator if args.numerator else args.event)
    if metric is None:
        raise DataError("--metric is required (or --stages / --numerator / --event)")
    readout = compare(
        args.data, sql=args.sql, arm=args.arm, metric=metric, control=args.control,
        kind=args.kind, guardrails=args.guardrail or (), margins=margins, prior=tuple(prior),
        interval=args.interval, planned_split=split, n=args.n, unit_id=args.unit_id,
        missing=args.missing, seed=args.seed, segments=tuple(args.segment or ()),
        draws=args.draws, tune=args.tune, chains=args.chains,
        progressbar=False if args.quiet else None, engine=args.engine,
        thresholds={"rhat_max": args.rhat_max, "ess_min": args.ess_min},
        rule=DecisionRule(prob_threshold=args.prob_threshold, alpha=args.alpha,
                          loss_threshold=args.loss_threshold),
        unit=args.unit, **options,
    )
    payload = readout.to_dict()
    text = str(readout)
    figures = readout.figures() if args.plot else {}
    if args.scan:
        scan = _scan(args, metric)
        payload["scan"] = scan.scan()
        payload["property_scan"] = scan.to_dict()
        text += "\n\n" + str(scan)
        if args.plot:
            figures = {**figures, "scan": scan.figure()}
    if args.plot:
        payload["plots"] = write_figures(figures, args.plot, metric)
        text += "\n\nFigures: " + ", ".join(payload["plots"])
    emit(payload, text, args.format)
    return 0


def _scan(args, metric):
    """``--scan COLS``: the property scan of the metric (conversion or continuous)."""
    from bayeslab.core.errors import DataError
    from bayeslab.readout.property_scan import scan_properties

    kinds = {"conversion": "binary", "continuous": "continuous"}
    if args.kind not in kinds:
        raise DataError(f"--scan reads conversion and continuous metrics, not {args.kind!r}",
                        column="--scan")
    props = [c.strip() for c in str(args.scan).split(",") if c.strip()]
    if not props:
        raise DataError("--scan needs property columns, e.g. --scan country,platform",
                        column="--scan")
    from bayeslab.data.sources import open_source

    source = open_source(args.data, sql=args.sql, engine=args.engine)
    return scan_properties(source, arm=args.arm,
                           metric=metric, properties=props, control=args.control,
                           kind=kinds[args.kind], missing=args.missing, seed=args.seed,
                           interval=args.interval,
                           progressbar=False if args.quiet else None)


def _compare_propensity(args) -> int:
    """Observational readout: the ``propensity`` kind (``--confounders``), through compare().

    ``--kind`` names the outcome's kind here (conversion or continuous).
    """
    from bayeslab.core.errors import DataError
    from bayeslab.readout.metric import DecisionRule, compare

    if args.guardrail or args.n or args.split or args.segment:
        raise DataError("--confounders needs unit rows; --guardrail, --segment, --n and --split "
                        "do not apply")
    confounders = [c.strip() for c in args.confounders.split(",") if c.strip()]
    outcome = "conversion" if args.kind == "propensity" else args.kind
    readout = compare(
        args.data, sql=args.sql, arm=args.arm, metric=args.metric, control=args.control,
        kind="propensity", confounders=confounders, estimand=args.estimand, model=outcome,
        interval=args.interval, missing=args.missing, seed=args.seed, sampler=args.sampler,
        rule=DecisionRule(prob_threshold=args.prob_threshold, alpha=args.alpha,
                          loss_threshold=args.loss_threshold),
    )
    payload = readout.to_dict()
    if args.plot:
        payload["plots"] = write_figures(readout.figures(), args.plot, args.metric)
    emit(payload, str(readout), args.format)
    return 0


def cmd_demo(args) -> int:
    """Simulate the PS4 to PS5 migration and print its conversion and guardrail readouts."""
    from bayeslab.core import format as fmt
    from bayeslab.readout.metric import compare
    from bayeslab.scenarios import simulate

    sc = simulate("migration", rows=args.rows, seed=args.seed)
    roles = sc.roles
    readout = compare(sc.data, arm=roles["arm"], metric=roles["metric"],
                      control=roles.get("control"), guardrails=roles["guardrails"],
                      margins=args.margin, unit_id=roles.get("unit_id"))
    lines = [f"Simulated PS4 -> PS5 migration: {len(sc.data):,} users, seed {args.seed}. "
             "True effects (treatment minus control, population):"]
    for col in [roles["metric"], *roles["guardrails"]]:
        m = sc.truth["metrics"][col]
        lines.append(f"  {col}: {fmt.rate(m['control'])} -> {fmt.rate(m['treatment'])} "
                     f"({fmt.pp(m['abs_effect'])}, {fmt.pct(m['rel_effect'], 1)})")
    head = "\n".join(lines) + "\n"
    emit({"scenario": "migration", "truth": sc.truth, "readout": readout.to_dict()},
          head + "\n" + str(readout), args.format)
    return 0


def cmd_monitor(args) -> int:
    """Replay the looks of an experiment with stopping rules and a group-sequential design."""
    from bayeslab.readout.monitor import monitor

    rules = args.rule or ["prob:0.95,0.10"]
    prior = tuple(floats(args.prior, "--prior", 2)) if args.prior else None
    result = monitor(
        args.data, sql=args.sql, arm=args.arm, metric=args.metric, timestamp=args.timestamp,
        control=args.control, looks=looks_arg(args.looks),
        rule={r: r for r in rules} if len(rules) > 1 else rules[0],
        design=args.spending, alpha=args.alpha, sides=args.sides, prior=prior, kind=args.kind,
        n=args.n, missing=args.missing, interval=args.interval, max_n=args.max_n,
        fpr_sims=args.fpr_sims, seed=args.seed, engine=args.engine)
    emit(result.to_dict(), str(result), args.format)
    return 0
