"""Handlers of ``bayeslab design``: boundaries, srm, power and aa."""

from __future__ import annotations

from bayeslab.cli.common import allocation_shares, emit, floats


def cmd_design_boundaries(args) -> int:
    """Group-sequential boundaries on the z scale."""
    from bayeslab.sequential.boundaries import group_sequential_design

    fractions = floats(args.fractions, "--fractions") if args.fractions else None
    design = group_sequential_design(args.looks, fractions, alpha=args.alpha, sides=args.sides,
                                     spending=args.spending)
    emit(design.to_dict(), str(design), args.format)
    return 0


def cmd_design_srm(args) -> int:
    """Sample ratio mismatch check of arm counts."""
    from bayeslab.core.errors import DataError
    from bayeslab.design.srm import srm_check

    counts = floats(args.counts, "--counts")
    if any(c != int(c) for c in counts):
        raise DataError(f"--counts must be whole numbers, got {args.counts!r}")
    planned = floats(args.planned, "--planned") if args.planned else None
    result = srm_check([int(c) for c in counts], planned, threshold=args.threshold)
    emit(result.to_dict(), str(result), args.format)
    return 0


def cmd_design_power(args) -> int:
    """Sample size per arm for a two-arm test."""
    from bayeslab.core.errors import DataError
    from bayeslab.design.power import sample_size

    metric = {"conversion": "proportion"}.get(args.metric, args.metric)
    ratio = args.ratio
    if args.allocation:
        if ratio is not None:
            raise DataError("give --allocation or --ratio, not both")
        shares = allocation_shares(args.allocation, "--allocation")
        ratio = shares[1] / shares[0]
    result = sample_size(metric, args.baseline, args.mde, relative=args.relative, sd=args.sd,
                         alpha=args.alpha, power=args.power, ratio=1.0 if ratio is None
                         else ratio, sides=args.sides)
    emit(result.to_dict(), str(result), args.format)
    return 0


def cmd_design_aa(args) -> int:
    """A/A simulation of the readout's false-positive rates."""
    from bayeslab.design.aa import aa_simulation
    from bayeslab.readout.metric import DecisionRule

    share = args.share
    if args.allocation:
        shares = allocation_shares(args.allocation, "--allocation")
        share = shares[1]
    rule = DecisionRule(prob_threshold=args.prob_threshold, loss_threshold=args.loss_threshold,
                        alpha=args.alpha)
    result = aa_simulation(args.n, args.baseline, n_sims=args.sims, share=share, rule=rule,
                           assignment=args.assignment, seed=args.seed)
    emit(result.to_dict(), str(result), args.format)
    return 0
