"""The argument parser of every ``bayeslab`` command (argparse only: ``--help`` stays fast)."""

from __future__ import annotations

import argparse
import math

from bayeslab.cli.bandit import cmd_bandit
from bayeslab.cli.design import (
    cmd_design_aa,
    cmd_design_boundaries,
    cmd_design_power,
    cmd_design_srm,
)
from bayeslab.cli.errors import EXIT_BAD_INPUT
from bayeslab.cli.library import cmd_library_import, cmd_library_list, cmd_prior
from bayeslab.cli.plans import cmd_app, cmd_init, cmd_oc, cmd_run
from bayeslab.cli.readouts import cmd_compare, cmd_demo, cmd_monitor, cmd_simulate
from bayeslab.core import kinds

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


def _number(low: float, high: float, *, closed_low=False, closed_high=False):
    """An argparse type: a finite number in (low, high) (ends included where asked)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        above = value >= low if closed_low else value > low
        below = value <= high if closed_high else value < high
        if not (math.isfinite(value) and above and below):
            ends = f"{'[' if closed_low else '('}{low:g}, {high:g}{']' if closed_high else ')'}"
            raise argparse.ArgumentTypeError(f"must be a number in {ends}, got {text!r}")
        return value
    return parse


_LEVEL = _number(0, 1)                         # interval levels, probabilities, alpha
_LOSS = _number(0, math.inf, closed_low=True)  # a loss threshold: 0 or more
_RHAT = _number(1, math.inf, closed_low=True)  # R-hat is at least 1
_ESS = _number(0, math.inf)                    # a positive effective sample size


def _add_kind_options(p) -> None:
    """One CLI flag per option of the kind registry (lists are comma-separated)."""
    for opt in kinds.OPTIONS.values():
        listed = opt.type is list
        p.add_argument(opt.flag, type=float if opt.type is float else str,
                       choices=opt.choices or None, default=opt.default,
                       metavar="COL,COL" if listed else None, help=opt.help)


class _Version(argparse.Action):
    """``--version``: the version is read from the package metadata only when asked for."""

    def __call__(self, parser, namespace, values, option_string=None):
        import bayeslab

        parser.exit(message=f"bayeslab {bayeslab.__version__}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = _Parser(prog="bayeslab", description="Bayesian and frequentist readouts of "
                     "product experiments, side by side.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show the installed version and exit")
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
    p.add_argument("--sql", help="one read-only SELECT giving the experiment table (DuckDB "
                   "SQL, or Spark SQL with --engine spark)")
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
    p.add_argument("--scan", metavar="COLS",
                   help="property scan (conversion, continuous): comma-separated property "
                   "columns, e.g. country,platform,device; every level of every property gets "
                   "its own effect, partially pooled, beside level-vs-rest tests (Bonferroni, "
                   "BH)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seed of any MCMC sampling (same seed, same numbers)")
    p.add_argument("--draws", type=int, default=1000, help="MCMC draws kept per chain")
    p.add_argument("--tune", type=int, default=1000, help="MCMC tuning steps per chain")
    p.add_argument("--chains", type=int, default=4, help="MCMC chains")
    p.add_argument("--rhat-max", type=_RHAT, default=1.01,
                   help="MCMC diagnostics: largest acceptable R-hat (fail above)")
    p.add_argument("--ess-min", type=_ESS, default=400,
                   help="MCMC diagnostics: smallest acceptable bulk and tail ESS (fail below)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar (shown only on a terminal anyway)")
    p.add_argument("--plot", metavar="DIR", help="write the figures (PNG) to DIR: Bayes vs "
                   "frequentist intervals; conversion posteriors and lift; segment forest, "
                   "trace, rank and PPC plots; propensity love and overlap plots")
    p.add_argument("--guardrail", action="append", help="harmful metric to check (repeatable)")
    p.add_argument("--margin", help="largest acceptable increase of each guardrail: an "
                   "absolute rate (0.002 = 0.2 pp) or a share of the control rate (20%%); one "
                   "value, or one per guardrail, comma-separated")
    p.add_argument("--prior", default="1,1", help="Beta prior A,B of each arm's rate")
    p.add_argument("--interval", type=_LEVEL, default=0.95, help="interval level")
    p.add_argument("--split", help="planned shares per arm for the SRM check, control first")
    p.add_argument("--n", help="count column of pre-aggregated rows (metric = conversions)")
    p.add_argument("--unit-id", help="unit id column; duplicated ids are an error")
    p.add_argument("--missing", choices=("error", "exclude"), default="error",
                   help="rows with a missing arm or outcome: fail (default) or exclude")
    p.add_argument("--prob-threshold", type=_LEVEL, default=None,
                   help="Bayes: ship when P(lift > 0) >= this (default 1 - alpha/2, 0.975)")
    p.add_argument("--loss-threshold", type=_LOSS, default=0.0025)
    p.add_argument("--alpha", type=_LEVEL, default=None,
                   help="frequentist: ship when two-sided p < this (default 2 x (1 - "
                        "prob-threshold), else 0.05)")
    p.add_argument("--engine", **engine)
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("run", help="run an analysis plan (TOML) and write report and readout")
    p.add_argument("plan", help="plan file, e.g. models/migration.toml")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--library", default=None,
                   help="experiment library (DuckDB file) to append this run's estimates to "
                        "(default: the plan's library; nothing is written without one)")
    p.add_argument("--quiet", action="store_true",
                   help="no stage lines or progress (shown only on a terminal anyway)")
    p.add_argument("--engine", choices=("duckdb", "spark"), default=None,
                   help="where the statistics are computed (default: the plan's "
                   "data.engine, else duckdb)")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("oc", help="simulate a plan's whole decision rule: false-ship rate, "
                                  "power and expected sample size, per side")
    p.add_argument("plan", help="plan file, e.g. models/campaign.toml")
    p.add_argument("--sims", type=int, default=None,
                   help="simulated experiments per hypothesis (default: the plan's [design] "
                        "sims, else 10,000)")
    p.add_argument("--engine", choices=("duckdb", "spark"), default=None,
                   help="where the data's statistics are computed (default: the plan's)")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_oc)

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
    p.add_argument("--margin", default="25%",
                   help="guardrail margin: largest acceptable increase, absolute (0.002) or a "
                        "share of the control rate (25%%, the default)")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("monitor", help="replay the looks of an experiment: stopping rules and "
                       "group-sequential boundaries")
    p.add_argument("data", nargs="?", help="CSV or Parquet file (or use --sql)")
    p.add_argument("--sql", help="one read-only SELECT giving the experiment table (DuckDB "
                   "SQL, or Spark SQL with --engine spark)")
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
    p.add_argument("--alpha", type=_LEVEL, default=0.05)
    p.add_argument("--sides", type=int, choices=(1, 2), default=2)
    p.add_argument("--prior", help="Beta prior A,B (conversion) or normal MEAN,SD of the lift")
    p.add_argument("--kind", choices=("conversion", "continuous"), default="conversion")
    p.add_argument("--n", help="count column of daily aggregates")
    p.add_argument("--missing", choices=("error", "exclude"), default="error")
    p.add_argument("--interval", type=_LEVEL, default=0.95)
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
    p.add_argument("--alpha", type=_LEVEL, default=0.05)
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
    p.add_argument("--alpha", type=_LEVEL, default=0.05)
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
    p.add_argument("--prob-threshold", type=_LEVEL, default=None,
                   help="Bayes: ship when P(lift > 0) >= this (default 1 - alpha/2, 0.975)")
    p.add_argument("--loss-threshold", type=_LOSS, default=0.0025)
    p.add_argument("--alpha", type=_LEVEL, default=None,
                   help="frequentist: ship when two-sided p < this (default 2 x (1 - "
                        "prob-threshold), else 0.05)")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_design_aa)

    library = sub.add_parser("library", help="the experiment library: past experiments' "
                             "estimates in a DuckDB file (import, list)")
    lsub = library.add_subparsers(dest="library_command", required=True, parser_class=_Parser)
    lib_help = "the library file (DuckDB; created by the first write)"

    p = lsub.add_parser("import", help="add past experiments from another tool's CSV (columns "
                        "name, metric, estimate, se, shipped; optional scale, arm, control, "
                        "kind, unit, n_control, n_treatment, date, verdict)")
    p.add_argument("file", help="CSV file of past experiments, one row per experiment, metric "
                   "and arm")
    p.add_argument("--library", required=True, metavar="PATH", help=lib_help)
    p.add_argument("--scale", choices=("absolute", "relative"), default="absolute",
                   help="scale of estimate and se where the CSV has no 'scale' value: absolute "
                   "(treatment minus control, the default) or relative (treatment / control - 1)")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_library_import)

    p = lsub.add_parser("list", help="show the library's rows, oldest first")
    p.add_argument("--library", required=True, metavar="PATH", help=lib_help)
    p.add_argument("--metric", help="only this metric's rows")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_library_list)

    p = sub.add_parser("prior", help="fit the distribution of a metric's true effects to the "
                       "library's past experiments: prior, shrunken effects, shipped impact")
    p.add_argument("--library", required=True, metavar="PATH", help="the experiment library")
    p.add_argument("--metric", required=True, help="metric name, as in the library")
    p.add_argument("--scale", choices=("absolute", "relative"), default="absolute",
                   help="the effect scale of the past estimates (default absolute)")
    p.add_argument("--family", choices=("auto", "normal", "spike", "spike-t", "student"),
                   default="auto",
                   help="auto: Normal against spike-and-slab with a Student-t slab (its "
                   "nu = inf member is the Normal slab), chosen by LOO (default)")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_prior)

    p = sub.add_parser("bandit", help="next period's bandit weights (exact Thompson sampling), "
                       "the readout of a bandit stratified by period, or a regret simulation")
    p.add_argument("data", nargs="?", help="CSV or Parquet file: one row per arm (with --n) "
                   "or unit rows")
    p.add_argument("--arm", help="arm column")
    p.add_argument("--metric", help="conversions (0/1, or counts per arm with --n) or values "
                   "(sums per arm with --n)")
    p.add_argument("--n", help="units column of one-row-per-arm data")
    p.add_argument("--sd", help="continuous arm rows: the units' sample sd column")
    p.add_argument("--kind", choices=("conversion", "continuous"), default="conversion")
    p.add_argument("--floor", type=_number(0, 1, closed_low=True, closed_high=True),
                   default=None, help="least traffic share per arm (default 0.1/arms; 0: off)")
    p.add_argument("--top-two", type=_LEVEL, nargs="?", const=0.5, default=None,
                   metavar="BETA", help="top-two Thompson sampling (Russo 2016): the leader's "
                   "share BETA (default 0.5)")
    p.add_argument("--prior", default="1,1", help="Beta prior A,B of each arm's rate")
    p.add_argument("--period", help="period column: read the experiment out, stratified by "
                   "period (instead of the next weights)")
    p.add_argument("--control", help="control arm of the readout (default: first in order)")
    p.add_argument("--interval", type=_LEVEL, default=0.95, help="interval level (readout)")
    p.add_argument("--simulate", action="store_true", help="simulate Thompson, top-two and "
                   "an even split: regret and time to identify the best arm")
    p.add_argument("--rates", default="0.10,0.105,0.11,0.12",
                   help="--simulate: true conversion rate per arm")
    p.add_argument("--periods", type=int, default=20, help="--simulate: periods")
    p.add_argument("--users", type=int, default=10_000, help="--simulate: users per period")
    p.add_argument("--reps", type=int, default=200, help="--simulate: simulated bandits")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_bandit)
    return parser
