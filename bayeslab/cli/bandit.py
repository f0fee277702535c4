"""Handler of ``bayeslab bandit`` (issue 27).

The next period's weights, the stratified readout of a bandit experiment (``--period``), or a
simulation of regret against an even split (``--simulate``).
"""

from __future__ import annotations

from bayeslab.cli.common import emit, floats


def _read(path: str):
    """A CSV or Parquet file as a DataFrame; an unreadable file is one DataError line."""
    import pandas as pd

    from bayeslab.core.errors import DataError

    try:
        if str(path).endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read it as CSV or Parquet: "
                        f"{' '.join(str(exc).split())}") from None


def cmd_bandit(args) -> int:
    """Weights, readout or simulation, as the flags ask."""
    from bayeslab.core.errors import DataError

    if args.simulate:
        return _simulate(args)
    if args.data is None:
        raise DataError("bandit needs a DATA file (one row per arm with --n, or unit rows), "
                        "or --simulate")
    for flag, value in (("--arm", args.arm), ("--metric", args.metric)):
        if value is None:
            raise DataError(f"bandit DATA needs {flag} COL")
    data = _read(args.data)
    if args.period is not None:
        from bayeslab.readout.bandit import bandit_readout

        r = bandit_readout(data, arm=args.arm, metric=args.metric, period=args.period,
                           control=args.control, n=args.n, kind=args.kind,
                           interval=args.interval, seed=args.seed)
        emit(r.to_dict(), str(r), args.format)
        return 0
    from bayeslab.design.bandit import bandit_weights

    prior = floats(args.prior, "--prior", 2)
    w = bandit_weights(data, arm=args.arm, metric=args.metric, n=args.n, sd=args.sd,
                       kind=args.kind, floor=args.floor, top_two=args.top_two, prior=prior)
    emit(w.to_dict(), str(w), args.format)
    return 0


def _simulate(args) -> int:
    from bayeslab.core import format as fmt
    from bayeslab.core.errors import DataError
    from bayeslab.core.text import render_table
    from bayeslab.design.bandit_sim import compare_policies

    rates = floats(args.rates, "--rates")
    if args.periods < 1 or args.users < 1 or args.reps < 2:
        raise DataError(f"--periods and --users must be at least 1 and --reps at least 2, got "
                        f"{args.periods}, {args.users}, {args.reps}")
    rows = compare_policies(rates, periods=args.periods, users=args.users, reps=args.reps,
                            floor=args.floor, top_two=args.top_two or 0.5, seed=args.seed)
    table = render_table(
        [[r["policy"], f"{fmt.count(r['regret'])} (± {fmt.number(r['regret_se'], 2)})",
          fmt.rate(r["regret_vs_uniform"], 1), fmt.rate(r["identified"], 1),
          fmt.number(r["median_period"], 2), fmt.rate(r["best_arm_share"], 1)] for r in rows],
        ["policy", "regret (± se)", "of uniform", "identified", "median period",
         "best arm share"])
    head = (f"{args.reps:,} simulated bandits: arms at "
            f"{', '.join(fmt.rate(v, 1) for v in rates)}, {args.periods} periods of "
            f"{fmt.count(args.users)} users; regret = expected conversions lost against the best "
            "arm; identified = P(best) of the best arm >= 0.95 by the end (median period when)")
    emit({"scenario": {"rates": rates, "periods": args.periods, "users": args.users,
                       "reps": args.reps, "seed": args.seed}, "policies": rows},
         head + "\n" + table, args.format)
    return 0
