"""The ``bayeslab`` command line.

Every command can print JSON (``--format json``). Bad input prints one line on stderr and exits
with code 2; nothing heavier than argparse is imported until a command runs, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every bad input
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


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
    from bayeslab.simulate import simulate

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
    from bayeslab.compare import DecisionRule, compare

    if args.confounders:
        return _compare_propensity(args)
    if args.kind != "conversion":
        from bayeslab.errors import DataError

        raise DataError(f"--kind {args.kind} needs --confounders here (randomized continuous "
                        "metrics are not wired into compare yet)")

    prior = _floats(args.prior, "--prior", 2)
    margins = None
    if args.guardrail:
        if args.margin is None:
            from bayeslab.errors import DataError

            raise DataError("--guardrail needs --margin: the largest increase you accept")
        values = _floats(args.margin, "--margin")
        if len(values) == 1:
            values = values * len(args.guardrail)
        if len(values) != len(args.guardrail):
            from bayeslab.errors import DataError

            raise DataError(f"{len(values)} margins for {len(args.guardrail)} guardrails")
        margins = dict(zip(args.guardrail, values, strict=True))
    split = _floats(args.split, "--split") if args.split else None
    readout = compare(
        args.data, sql=args.sql, arm=args.arm, metric=args.metric, control=args.control,
        kind=args.kind, guardrails=args.guardrail or (), margins=margins, prior=tuple(prior),
        interval=args.interval, planned_split=split, n=args.n, unit_id=args.unit_id,
        missing=args.missing,
        rule=DecisionRule(prob_threshold=args.prob_threshold, alpha=args.alpha,
                          loss_threshold=args.loss_threshold),
    )
    _emit(readout.to_dict(), str(readout), args.format)
    return 0


def _compare_propensity(args) -> int:
    """Observational readout: propensity methods on both sides (``--confounders``)."""
    from pathlib import Path

    from bayeslab.compare import DecisionRule
    from bayeslab.compare_propensity import compare_propensity
    from bayeslab.errors import DataError

    if args.guardrail or args.n or args.split:
        raise DataError("--confounders needs unit rows; --guardrail, --n and --split do not apply")
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
        out = Path(args.plot)
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for kind in ("love", "overlap"):
            path = out / f"{args.metric}_{kind}.png"
            readout.plot(kind).savefig(path, dpi=110)
            files.append(str(path))
        payload["plots"] = files
    _emit(payload, str(readout), args.format)
    return 0


def cmd_demo(args) -> int:
    """Simulate the PS4 to PS5 migration and print its conversion and guardrail readouts."""
    from bayeslab.compare import compare
    from bayeslab.simulate import simulate

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = _Parser(prog="bayeslab", description="Bayesian and frequentist readouts of "
                     "product experiments, side by side.")
    parser.add_argument("--version", action="version", version="bayeslab 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    fmt = dict(choices=("table", "json"), default="table", help="output format")

    p = sub.add_parser("simulate", help="write a simulated scenario with known true effects")
    p.add_argument("scenario", help="migration, musicstream, homepage, personalization, campaign")
    p.add_argument("--rows", type=int, default=None, help="number of units")
    p.add_argument("--seed", type=int, default=0)
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
    p.add_argument("--metric", required=True, help="outcome column")
    p.add_argument("--kind", default="conversion", choices=("conversion", "continuous"))
    p.add_argument("--confounders", help="COL,COL,...: observational data; adjust for these "
                   "with propensity methods (naive, IPW, AIPW, matching, Bayesian)")
    p.add_argument("--estimand", choices=("ate", "att"), default="ate",
                   help="with --confounders: average effect (ate) or effect on the treated")
    p.add_argument("--sampler", choices=("nuts", "laplace"), default="nuts",
                   help="with --confounders: Bayesian propensity posterior")
    p.add_argument("--seed", type=int, default=0, help="with --confounders: seed")
    p.add_argument("--plot", metavar="DIR", help="with --confounders: write love and overlap "
                   "plots (PNG) to DIR")
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
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("demo", help="simulate the PS4 to PS5 migration and read it out")
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--margin", type=float, default=0.005,
                   help="guardrail margin: largest acceptable absolute increase")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``bayeslab`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from bayeslab.errors import BayeslabError

    try:
        return args.func(args)
    except BayeslabError as exc:
        print(f"bayeslab: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # e.g. piped into head
        return 0


if __name__ == "__main__":
    sys.exit(main())
