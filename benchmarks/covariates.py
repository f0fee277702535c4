"""Variance reduction of one covariate vs several on the migration scenario (bayeslab.scenarios).

For each seed, the treatment effect on ``revenue_60d`` is read out with no covariate (Welch), with
``pre_30d_spend`` alone (today's plan), and with more pre-period columns added one group at a
time (``last_90d_spend``; ``last_30d_sessions`` and ``ps_plus_member``; the categorical
``country``). Printed per row: the HC1 ANCOVA estimate, its 95% interval width, the width as a
share of Welch's and of the one-covariate width, the implied variance ratio to one covariate
(width ratio squared) and the reported variance reduction of ANCOVA and the Bayesian regression,
plus the number of aggregates the scan reads.

Run: PYTHONPATH=. python benchmarks/covariates.py [--rows 50000] [--seeds 0 1 2]
"""

import argparse

SETS = {
    "pre_30d_spend": "pre_30d_spend",
    "+ last_90d_spend": "pre_30d_spend,last_90d_spend",
    "+ sessions, PS+": "pre_30d_spend,last_90d_spend,last_30d_sessions,ps_plus_member",
    "+ country": "pre_30d_spend,last_90d_spend,last_30d_sessions,ps_plus_member,country",
}


def main():
    import bayeslab as bl
    from bayeslab.bayes.revenue import regression
    from bayeslab.data.covariates import covariates_request, scan_covariates
    from bayeslab.data.sources import open_source
    from bayeslab.frequentist.revenue import revenue_tests

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    print(f"{'seed':>4} {'covariates':<17} {'aggs':>4} {'estimate':>8} {'width':>6} "
          f"{'/Welch':>6} {'/one':>6} {'var/one':>7} {'VR ancova':>9} {'VR bayes':>8}")
    for seed in args.seeds:
        src = open_source(bl.simulate("migration", rows=args.rows, seed=seed).data)
        one = None
        for name, cov in SETS.items():
            st = scan_covariates(src, arm="treatment", metric="revenue_60d", covariate=cov)
            f, b = revenue_tests(st), regression(st)
            w = f.welch.comparisons.iloc[0]
            a = f.ancova.comparisons.iloc[0]
            width = a.upper - a.lower
            one = one or width
            aggs = len(covariates_request(src, arm="treatment", metric="revenue_60d",
                                          covariates=cov)[1])
            print(f"{seed:>4} {name:<17} {aggs:>4} {a.estimate:>8.3f} {width:>6.3f} "
                  f"{width / (w.upper - w.lower):>6.3f} {width / one:>6.3f} "
                  f"{(width / one) ** 2:>7.3f} {a.variance_reduction:>9.3f} "
                  f"{b.comparisons['variance_reduction'].iloc[0]:>8.3f}")


if __name__ == "__main__":
    main()
