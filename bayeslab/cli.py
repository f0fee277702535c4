"""The ``bayeslab`` command line.

Every command can print JSON (``--format json``). Bad input prints one line on stderr and exits
with code 2; nothing heavier than argparse is imported until a command runs, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys

from bayeslab import __version__, kinds

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
MAX_SEED = 2**32 - 1


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every bad input
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _seed(text: str) -> int:
    """``--seed``: a whole number from 0 to 2**32 - 1 (what every random generator accepts)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_SEED}, "
                                         f"got {text!r}")
    return value


def _shares(text: str, name: str) -> list[float]:
    """Two allocation shares, control first, positive and summing to 1 (never rescaled)."""
    from bayeslab.design.power import allocation_ratio

    shares = _floats(text, name, 2)
    allocation_ratio(shares, name=name)
    return shares


def _floats(text: str, name: str, count: int | None = None) -> list[float]:
    from bayeslab.errors import DataError

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise DataError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if count is not None and len(values) != count:
        raise DataError(f"{name} needs {count} numbers, got {text!r}")
    return values


def _emit(payload: dict, text: str, fmt: str) -> None:
    if fmt == "json":
        json.dump(payload, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(text)


def cmd_simulate(args) -> int:
    """Write a simulated scenario to a file."""
    from bayeslab.errors import DataError
    from bayeslab.scenarios import simulate

    options = {}
    for item in args.option or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise DataError(f"--option must be key=value, got {item!r}")
        options[key] = _option_value(value)
    scenario = simulate(args.scenario, rows=args.rows, seed=args.seed, **options)
    sidecar = scenario.write(args.out)
    _emit({"scenario": scenario.name, "rows": len(scenario.data), "out": str(args.out),
           "truth_file": str(sidecar), "truth": scenario.truth, "roles": scenario.roles},
          f"{scenario}\nwrote {len(scenario.data):,} rows to {args.out} (truth in {sidecar})",
          args.format)
    return 0


def _option_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def cmd_compare(args) -> int:
    """Bayesian and frequentist readout of one metric (and guardrails)."""
    from bayeslab.errors import DataError
    from bayeslab.readout import DecisionRule, compare

    if args.confounders:
        return _compare_propensity(args)
    prior = _floats(args.prior, "--prior", 2)
    margins = None
    if args.guardrail:
        if args.margin is None:
            raise DataError("--guardrail needs --margin: the largest increase you accept")
        values = _floats(args.margin, "--margin")
        if len(values) == 1:
            values = values * len(args.guardrail)
        if len(values) != len(args.guardrail):
            raise DataError(f"{len(values)} margins for {len(args.guardrail)} guardrails")
        margins = dict(zip(args.guardrail, values, strict=True))
    split = _floats(args.split, "--split") if args.split else None
    options = _kind_options(args)
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
    if args.plot:
        payload["plots"] = _write_figures(readout.figures(), args.plot, metric)
        text += "\n\nFigures: " + ", ".join(payload["plots"])
    _emit(payload, text, args.format)
    return 0


def _add_kind_options(p) -> None:
    """One CLI flag per option of the kind registry (lists are comma-separated)."""
    for opt in kinds.OPTIONS.values():
        listed = opt.type is list
        p.add_argument(opt.flag, type=float if opt.type is float else str,
                       choices=opt.choices or None, default=opt.default,
                       metavar="COL,COL" if listed else None, help=opt.help)


def _kind_options(args) -> dict:
    """The per-kind options given on the command line, as :func:`bayeslab.compare` takes them."""
    out = {}
    for name in kinds.option_names(fitted=True):
        value = getattr(args, name)
        if value is None or (name == "clip_quantile" and not args.clip):
            continue
        out[name] = (tuple(s.strip() for s in value.split(","))
                     if kinds.OPTIONS[name].type is list else value)
    return out


def _write_figures(figures: dict, directory: str, prefix: str) -> list[str]:
    """Save each figure as ``DIR/<prefix>_<name>.png`` and close it; return the paths.

    ``prefix`` is a metric name (data): the file name is made safe and kept inside ``DIR``.
    """
    from pathlib import Path

    import matplotlib.pyplot as plt

    from bayeslab.paths import confined

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = confined(out, f"{prefix}_{name}", ".png")
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(str(path))
    return paths


def _compare_propensity(args) -> int:
    """Observational readout: propensity methods on both sides (``--confounders``)."""
    from bayeslab.causal import compare_propensity
    from bayeslab.errors import DataError
    from bayeslab.readout import DecisionRule

    if args.guardrail or args.n or args.split or args.segment:
        raise DataError("--confounders needs unit rows; --guardrail, --segment, --n and --split "
                        "do not apply")
    confounders = [c.strip() for c in args.confounders.split(",") if c.strip()]
    readout = compare_propensity(
        args.data, sql=args.sql, arm=args.arm, metric=args.metric, control=args.control,
        confounders=confounders, estimand=args.estimand, kind=args.kind,
        interval=args.interval, missing=args.missing, seed=args.seed, sampler=args.sampler,
        rule=DecisionRule(prob_threshold=args.prob_threshold, alpha=args.alpha,
                          loss_threshold=args.loss_threshold),
    )
    payload = readout.to_dict()
    if args.plot:
        payload["plots"] = _write_figures(readout.figures(), args.plot, args.metric)
    _emit(payload, str(readout), args.format)
    return 0


def cmd_demo(args) -> int:
    """Simulate the PS4 to PS5 migration and print its conversion and guardrail readouts."""
    from bayeslab.readout import compare
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
        lines.append(f"  {col}: {m['control']:.4%} -> {m['treatment']:.4%} "
                     f"({m['abs_effect'] * 100:+.3f}pp, {m['rel_effect']:+.1%})")
    head = "\n".join(lines) + "\n"
    _emit({"scenario": "migration", "truth": sc.truth, "readout": readout.to_dict()},
          head + "\n" + str(readout), args.format)
    return 0


def _looks_arg(text: str | None):
    """``daily``, ``K`` (equal looks), ``N1,N2,...`` (cumulative rows) or dates."""
    if text is None or text == "daily":
        return "daily"
    parts = [t.strip() for t in text.split(",") if t.strip()]
    if all(t.isdigit() for t in parts):
        values = [int(t) for t in parts]
        return values[0] if len(values) == 1 else values
    return parts


def cmd_monitor(args) -> int:
    """Replay the looks of an experiment with stopping rules and a group-sequential design."""
    from bayeslab.sequential.monitor import monitor

    rules = args.rule or ["prob:0.95,0.10"]
    prior = tuple(_floats(args.prior, "--prior", 2)) if args.prior else None
    result = monitor(
        args.data, sql=args.sql, arm=args.arm, metric=args.metric, timestamp=args.timestamp,
        control=args.control, looks=_looks_arg(args.looks),
        rule={r: r for r in rules} if len(rules) > 1 else rules[0],
        design=args.spending, alpha=args.alpha, sides=args.sides, prior=prior, kind=args.kind,
        n=args.n, missing=args.missing, interval=args.interval, max_n=args.max_n,
        fpr_sims=args.fpr_sims, seed=args.seed, engine=args.engine)
    _emit(result.to_dict(), str(result), args.format)
    return 0


def cmd_design_boundaries(args) -> int:
    """Group-sequential boundaries on the z scale."""
    from bayeslab.sequential.boundaries import group_sequential_design

    fractions = _floats(args.fractions, "--fractions") if args.fractions else None
    design = group_sequential_design(args.looks, fractions, alpha=args.alpha, sides=args.sides,
                                     spending=args.spending)
    _emit(design.to_dict(), str(design), args.format)
    return 0


def cmd_design_srm(args) -> int:
    """Sample ratio mismatch check of arm counts."""
    from bayeslab.design.srm import srm_check
    from bayeslab.errors import DataError

    counts = _floats(args.counts, "--counts")
    if any(c != int(c) for c in counts):
        raise DataError(f"--counts must be whole numbers, got {args.counts!r}")
    planned = _floats(args.planned, "--planned") if args.planned else None
    result = srm_check([int(c) for c in counts], planned, threshold=args.threshold)
    _emit(result.to_dict(), str(result), args.format)
    return 0


def cmd_design_power(args) -> int:
    """Sample size per arm for a two-arm test."""
    from bayeslab.design.power import sample_size
    from bayeslab.errors import DataError

    metric = {"conversion": "proportion"}.get(args.metric, args.metric)
    ratio = args.ratio
    if args.allocation:
        if ratio is not None:
            raise DataError("give --allocation or --ratio, not both")
        shares = _shares(args.allocation, "--allocation")
        ratio = shares[1] / shares[0]
    result = sample_size(metric, args.baseline, args.mde, relative=args.relative, sd=args.sd,
                         alpha=args.alpha, power=args.power, ratio=1.0 if ratio is None
                         else ratio, sides=args.sides)
    _emit(result.to_dict(), str(result), args.format)
    return 0


def cmd_design_aa(args) -> int:
    """A/A simulation of the readout's false-positive rates."""
    from bayeslab.design.aa import aa_simulation
    from bayeslab.readout import DecisionRule

    share = args.share
    if args.allocation:
        shares = _shares(args.allocation, "--allocation")
        share = shares[1]
    rule = DecisionRule(prob_threshold=args.prob_threshold, loss_threshold=args.loss_threshold,
                        alpha=args.alpha)
    result = aa_simulation(args.n, args.baseline, n_sims=args.sims, share=share, rule=rule,
                           assignment=args.assignment, seed=args.seed)
    _emit(result.to_dict(), str(result), args.format)
    return 0


def cmd_run(args) -> int:
    """Run an analysis plan and write its outputs."""
    from bayeslab.runner import run_plan

    result = run_plan(args.plan, args.out, quiet=True if args.quiet else None,
                      engine=args.engine)
    files = {k: str(v) for k, v in result.files.items()}
    text = (f"{result.plan.name}: {result.decision.verdict.upper()}. "
            f"{result.decision.reasons[0]}\n"
            + "".join(f"warning: {w}\n" for w in result.warnings())
            + f"wrote {len(files)} files to {args.out}: report.html, readout.json, "
            f"{sum(str(v).endswith('.png') for v in files.values())} figures")
    _emit({"decision": result.decision.to_dict(), "warnings": result.warnings(),
           "files": files}, text, args.format)
    return 0


def cmd_init(args) -> int:
    """Write a commented starter plan."""
    from pathlib import Path

    from bayeslab.errors import DataError

    target = Path(args.path)
    if target.exists() and not args.force:
        raise DataError(f"{target} exists; pass --force to overwrite it")
    template = Path(__file__).with_name("plan_template.toml").read_text()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(template)
    print(f"wrote a starter plan to {target}; edit it, then: bayeslab run {target} --out DIR")
    return 0


def cmd_app(args) -> int:
    """Open the Streamlit app over a run's output folder (needs the ``app`` extra)."""
    import importlib.util

    if importlib.util.find_spec("streamlit") is None:
        print("bayeslab: error: the app needs Streamlit: pip install 'bayeslab[app]'",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    from bayeslab.app import LOOPBACK, serve
    from bayeslab.app.data import load_run

    folder = str(load_run(args.dir).path.resolve())
    if args.host not in LOOPBACK:
        print(f"bayeslab: warning: serving on {args.host}: anyone who can reach this machine "
              "can read the run's results", file=sys.stderr)
    code = serve(folder, host=args.host, port=args.port, open_browser=not args.headless)
    if code == 130:
        print("bayeslab: interrupted; the app server was stopped", file=sys.stderr)
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = _Parser(prog="bayeslab", description="Bayesian and frequentist readouts of "
                     "product experiments, side by side.")
    parser.add_argument("--version", action="version", version=f"bayeslab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    fmt = dict(choices=("table", "json"), default="table", help="output format")
    engine = dict(choices=("duckdb", "spark"), default="duckdb",
                  help="where the statistics are computed: DuckDB (default) or Spark (DATA is "
                  "then a Parquet path or a Spark table name)")

    p = sub.add_parser("simulate", help="write a simulated scenario with known true effects")
    p.add_argument("scenario", help="migration, musicstream, homepage, personalization, campaign")
    p.add_argument("--rows", type=int, default=None, help="number of units")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="scenario option, e.g. srm=0.02 (repeatable)")
    p.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("compare", help="Bayes and frequentist readout of a metric")
    p.add_argument("data", nargs="?", help="CSV or Parquet file (or use --sql)")
    p.add_argument("--sql", help="DuckDB query giving the experiment table")
    p.add_argument("--arm", required=True, help="arm column (0/1 indicator or labels)")
    p.add_argument("--control", help="control arm label (default 0 / false / control)")
    p.add_argument("--metric", help="outcome column")
    p.add_argument("--kind", default="conversion", choices=kinds.names(fitted=True),
                   help="metric kind (observational data: --confounders)")
    _add_kind_options(p)
    p.add_argument("--unit", help="the metric's unit for absolute effects, e.g. EUR (money, "
                   "counts; rates are always in percentage points)")
    p.add_argument("--segment", action="append", metavar="COL",
                   help="segment column: adds the hierarchical Bayesian segment model and "
                   "per-segment tests (repeat once for two dimensions, read as COL1 x COL2; "
                   "at most 200 segments: group rare levels first)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seed of any MCMC sampling (same seed, same numbers)")
    p.add_argument("--draws", type=int, default=1000, help="MCMC draws kept per chain")
    p.add_argument("--tune", type=int, default=1000, help="MCMC tuning steps per chain")
    p.add_argument("--chains", type=int, default=4, help="MCMC chains")
    p.add_argument("--rhat-max", type=float, default=1.01,
                   help="MCMC diagnostics: largest acceptable R-hat (fail above)")
    p.add_argument("--ess-min", type=float, default=400,
                   help="MCMC diagnostics: smallest acceptable bulk and tail ESS (fail below)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar (shown only on a terminal anyway)")
    p.add_argument("--plot", metavar="DIR", help="write the figures (PNG) to DIR: Bayes vs "
                   "frequentist intervals; conversion posteriors and lift; segment forest, "
                   "trace, rank and PPC plots; propensity love and overlap plots")
    p.add_argument("--guardrail", action="append", help="harmful metric to check (repeatable)")
    p.add_argument("--margin", help="largest acceptable absolute increase of each guardrail "
                   "(one value, or one per guardrail, comma-separated)")
    p.add_argument("--prior", default="1,1", help="Beta prior A,B of each arm's rate")
    p.add_argument("--interval", type=float, default=0.95, help="interval level")
    p.add_argument("--split", help="planned shares per arm for the SRM check, control first")
    p.add_argument("--n", help="count column of pre-aggregated rows (metric = conversions)")
    p.add_argument("--unit-id", help="unit id column; duplicated ids are an error")
    p.add_argument("--missing", choices=("error", "exclude"), default="error",
                   help="rows with a missing arm or outcome: fail (default) or exclude")
    p.add_argument("--prob-threshold", type=float, default=0.95)
    p.add_argument("--loss-threshold", type=float, default=0.0025)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--engine", **engine)
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("run", help="run an analysis plan (TOML) and write report and readout")
    p.add_argument("plan", help="plan file, e.g. models/migration.toml")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quiet", action="store_true",
                   help="no stage lines or progress (shown only on a terminal anyway)")
    p.add_argument("--engine", choices=("duckdb", "spark"), default=None,
                   help="where the statistics are computed (default: the plan's "
                   "data.engine, else duckdb)")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("init", help="write a commented starter plan")
    p.add_argument("path", nargs="?", default="plan.toml")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("app", help="explore a run's output in a Streamlit app (extra 'app')")
    p.add_argument("dir", help="output folder of 'bayeslab run'")
    p.add_argument("--port", type=int, default=8501, help="port to serve on")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.set_defaults(func=cmd_app)

    p = sub.add_parser("demo", help="simulate the PS4 to PS5 migration and read it out")
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--margin", type=float, default=0.005,
                   help="guardrail margin: largest acceptable absolute increase")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("monitor", help="replay the looks of an experiment: stopping rules and "
                       "group-sequential boundaries")
    p.add_argument("data", nargs="?", help="CSV or Parquet file (or use --sql)")
    p.add_argument("--sql", help="DuckDB query giving the experiment table")
    p.add_argument("--arm", required=True, help="arm column (two arms)")
    p.add_argument("--metric", required=True, help="outcome column (conversions with --n)")
    p.add_argument("--timestamp", help="time of each row, or a look column (dates / numbers)")
    p.add_argument("--control", help="control arm label")
    p.add_argument("--looks", help="daily (default), K equal looks, cumulative row counts "
                   "N1,N2,... or dates D1,D2,...")
    p.add_argument("--rule", action="append", help="stopping rule, e.g. prob:0.95,0.10, "
                   "loss:0.001, rloss:0.0025, rope:-0.005,0.005, precision:0.01, joined by | or "
                   "&, @N for a minimum sample (repeatable)")
    p.add_argument("--spending", default="obf", help="alpha spending: obf, pocock, hsd:GAMMA, "
                   "power:RHO")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--sides", type=int, choices=(1, 2), default=2)
    p.add_argument("--prior", help="Beta prior A,B (conversion) or normal MEAN,SD of the lift")
    p.add_argument("--kind", choices=("conversion", "continuous"), default="conversion")
    p.add_argument("--n", help="count column of daily aggregates")
    p.add_argument("--missing", choices=("error", "exclude"), default="error")
    p.add_argument("--interval", type=float, default=0.95)
    p.add_argument("--max-n", type=int, help="planned total units, if the experiment is running")
    p.add_argument("--fpr-sims", type=int, default=10_000,
                   help="A/A experiments simulated for each rule's false-positive rate (0: skip)")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--engine", **engine)
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_monitor)

    design = sub.add_parser("design", help="plan an experiment: power, srm, aa, boundaries")
    dsub = design.add_subparsers(dest="design_command", required=True, parser_class=_Parser)

    p = dsub.add_parser("boundaries", help="group-sequential boundaries (z scale)")
    p.add_argument("--looks", type=int, help="number of looks K")
    p.add_argument("--fractions", help="information fractions, e.g. 0.25,0.5,0.75,1")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--sides", type=int, choices=(1, 2), default=2)
    p.add_argument("--spending", default="obf", help="obf, pocock, hsd:GAMMA, power:RHO")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_design_boundaries)

    p = dsub.add_parser("srm", help="sample ratio mismatch check")
    p.add_argument("--counts", required=True, help="units per arm, e.g. 5030,4970")
    p.add_argument("--planned", "--expected", dest="planned",
                   help="planned shares, e.g. 0.5,0.5 (equal by default)")
    p.add_argument("--threshold", type=float, default=0.001)
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_design_srm)

    p = dsub.add_parser("power", help="sample size for a two-arm test")
    p.add_argument("--metric", required=True, choices=("conversion", "proportion", "mean"))
    p.add_argument("--baseline", type=float, help="control rate or mean")
    p.add_argument("--mde", type=float, required=True, help="minimum detectable effect")
    p.add_argument("--relative", action="store_true", help="read --mde as a relative lift")
    p.add_argument("--sd", type=float, help="outcome sd (means)")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--sides", type=int, choices=(1, 2), default=2)
    p.add_argument("--allocation", help="control,treatment shares, e.g. 0.9,0.1")
    p.add_argument("--ratio", type=float, help="treatment / control units")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_design_power)

    p = dsub.add_parser("aa", help="A/A simulation of the readout's false-positive rates")
    p.add_argument("--n", type=int, required=True, help="units per experiment")
    p.add_argument("--baseline", type=float, required=True, help="conversion rate")
    p.add_argument("--sims", type=int, default=10_000)
    p.add_argument("--share", type=float, default=0.5, help="treatment share")
    p.add_argument("--allocation", help="control,treatment shares, e.g. 0.9,0.1")
    p.add_argument("--assignment", choices=("fixed", "bernoulli", "hash"), default="fixed")
    p.add_argument("--prob-threshold", type=float, default=0.95)
    p.add_argument("--loss-threshold", type=float, default=0.0025)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_design_aa)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``bayeslab`` console script.

    Exit codes: 0 done, 2 bad input or a path that cannot be read or written (one line on
    stderr), 130 interrupted (Ctrl-C: one line, no traceback; a plan run leaves its output folder
    as it was). Warnings print once each, as one line.
    """
    args = None
    previous = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if argv is None:  # run as a program: Ctrl-C ends it at once (see _on_interrupt)
            previous = _install_interrupt_handler(args)
        import warnings

        from bayeslab.errors import BayeslabError, BayeslabWarning

        shown = set()

        def one_line(message, category, *_args, **_kw):  # once, one line, no source line
            text = " ".join(str(message).split())
            if text not in shown:
                shown.add(text)
                print(f"bayeslab: warning: {text}", file=sys.stderr)

        try:
            with warnings.catch_warnings():
                warnings.showwarning = one_line
                # a readout's own warnings are printed by the command with its result
                warnings.filterwarnings("ignore", category=BayeslabWarning)
                return args.func(args)
        except BayeslabError as exc:
            print(f"bayeslab: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except BrokenPipeError:  # e.g. piped into head
            return 0
        except OSError as exc:  # a path the user gave cannot be read or written
            where = f" {exc.filename}" if exc.filename else ""
            print(f"bayeslab: error: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _report_interrupt(args)
        if argv is None:
            _exit_interrupted()
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGINT, previous)


def _report_interrupt(args) -> None:
    where = ("; a plan run writes its output folder only when it has finished" if getattr(
        args, "command", None) == "run" else "")
    print(f"bayeslab: interrupted{where}", file=sys.stderr)


def _install_interrupt_handler(args):
    """Ctrl-C: one line, the staging folder of a plan run removed, exit 130, at once.

    A KeyboardInterrupt raised wherever Python happens to be can be swallowed: inside a weakref
    callback of the import machinery it is "ignored" (printed as a traceback, the command carries
    on) and CPython then ends the process by SIGINT (exit -2). The handler therefore does not
    raise: it reports, discards any staging folder and leaves. A library that takes SIGINT over
    for a while (the sampler, the runner's move into place) restores this handler after.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def on_interrupt(signum, frame):
        from bayeslab.output import discard_staging

        _report_interrupt(args)
        discard_staging()
        _exit_interrupted()

    return signal.signal(signal.SIGINT, on_interrupt)


def _exit_interrupted() -> None:
    """Flush and leave with exit code 130 at once, skipping interpreter finalization."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_INTERRUPTED)


def _one_line(exc) -> str:
    """An error message on one line (a message may quote multi-line user text)."""
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
