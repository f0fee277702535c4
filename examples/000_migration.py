"""Notebook 000 redone with bayeslab: the PS4 -> PS5 migration campaign readout.

Stratified 50/50 experiment (16 strata of spend tier x engagement tier). Everything the notebook
runs, on the simulated scenario, with its truth printed beside each number:

1. split check: SRM overall and in every stratum;
2. covariate balance (standardized mean differences, variance ratios);
3. primary conversion readout, both sides, with the two guardrails judged against stated
   non-inferiority margins (the notebook only eyeballed them);
4. revenue with CUPED / ANCOVA on the pre-period spend, and the variance reduction;
5. Beta-Binomial readout with exact tail probabilities (the notebook's Monte Carlo said 1.0);
6. O'Brien-Fleming looks from the Lan-DeMets spending function (the notebook's z/sqrt(t)
   shortcut does not hold alpha: its real level is printed) and Bayesian monitoring with the
   rule's simulated false-positive rate under the same looks;
7. segment lift by PS+ membership x spend tier: per-cell tests with Holm / BH adjustment and a
   hierarchical (partially pooled) model;
8. executive summary.

Run ``python examples/000_migration.py --help`` for the options.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import (
    Figures,
    Timer,
    mcmc,
    parser,
    plan_margins,
    prob_text,
    section,
    truth_line,
    value_line,
)
from scipy.stats import norm

import bayeslab as bl
from bayeslab.core import format as fmt

# stated before the data, in the shipped plan (models/migration.toml): one source of truth
MARGINS = plan_margins("migration")
LOOKS = (0.25, 0.50, 0.75, 1.00)


def split_check(sc, src):
    """SRM overall and per stratum; stratified assignment makes every p-value close to 1."""
    from bayeslab.design.srm import srm_by_segment

    arm, strata = sc.roles["arm"], sc.roles["strata"]
    st = bl.sufficient_stats(src, arm=arm, metric=sc.roles["metric"], segments=(strata,))
    counts = st.table.groupby("arm")["n"].sum()
    overall = bl.srm_check(counts.to_dict(), [0.5, 0.5])
    print(overall)
    per = srm_by_segment(st.table, segment=strata, arm="arm", count="n", planned=[0.5, 0.5])
    share = per[st.arms[1]] / per["n"]
    value_line(f"strata checked ({per.attrs['segments']})",
               f"treated share {share.min():.4f} .. {share.max():.4f}, "
               f"smallest p = {per['p_value'].min():.3g}, mismatches: {int(per['mismatch'].sum())}")
    print("  (stratified assignment balances each stratum by construction, so SRM p-values near"
          " 1 are expected;\n   a chi-square p below the threshold would mean broken logging, "
          "not chance)")
    truth_line("overall treated share", counts.iloc[1] / counts.sum(), None, None,
               sc.truth["treatment_share"])
    return overall


def balance(sc):
    """Standardized mean differences and variance ratios of the pre-period covariates."""
    from bayeslab.kernels.balance import smd, variance_ratio

    cols = sc.roles["balance_covariates"]
    X = sc.data[cols].to_numpy(dtype=float)
    t = sc.data[sc.roles["arm"]].to_numpy()
    d, vr = smd(X, t), variance_ratio(X, t)
    print(f"  {'covariate':<24} {'SMD':>8} {'var ratio':>10}   (|SMD| < 0.1 and ratio in "
          "[0.8, 1.25] are balanced)")
    for name, s, v in zip(cols, d, vr, strict=True):
        flag = "" if abs(s) < 0.1 and 0.8 <= v <= 1.25 else "  <- imbalance"
        print(f"  {name:<24} {s:>+8.4f} {v:>10.4f}{flag}")
    truth_line("largest |SMD| (randomized: 0 expected)", float(np.max(np.abs(d))), None, None,
               0.0)
    return d


def conversion(sc, src):
    """Primary conversion readout with guardrails against their margins."""
    roles, truth = sc.roles, sc.truth
    r = bl.compare(src, arm=roles["arm"], metric=roles["metric"],
                   guardrails=roles["guardrails"], margins=MARGINS)
    print(r)
    section("Primary metric and guardrails vs truth")
    arms = r.arms.set_index("arm")["mean"]
    truth_line("control rate", arms.iloc[0], None, None, truth["control_rate"], ".4%")
    truth_line("treatment rate", arms.iloc[1], None, None, truth["treatment_rate"], ".4%")
    for e in r.estimates():
        if e.effect == "absolute" and e.method in ("beta-binomial", "z-test"):
            truth_line(f"abs lift ({e.side}, {e.method})", e.estimate, e.lower, e.upper,
                       truth["abs_lift"], "pp")
        if e.effect == "relative" and e.method in ("beta-binomial", "log-ratio"):
            truth_line(f"rel lift ({e.side}, {e.method})", e.estimate, e.lower, e.upper,
                       truth["rel_lift"], "+.2%")
    for g in r.guardrails:
        z = next(e for e in g.estimates() if e.method == "z-test" and e.effect == "absolute")
        truth_line(f"guardrail {g.metric} increase", z.estimate, z.lower, z.upper,
                   truth["metrics"][g.metric]["abs_effect"], "pp",
                   note=f"margin {fmt.margin(g.margin, g.margin_relative)}: "
                        f"{g.decision.verdict}")
    return r


def revenue(sc, src):
    """Revenue per user with the pre-period spend as covariate (CUPED / ANCOVA)."""
    roles = sc.roles
    r = bl.compare(src, arm=roles["arm"], metric=roles["revenue"], kind="continuous",
                   covariate=roles["covariate"], unit="EUR")
    print(r)
    section("Revenue vs truth")
    t = sc.truth["metrics"][roles["revenue"]]
    by = {(e.method, e.effect): e for e in r.estimates()}
    for method in ("welch", "cuped", "ancova-hc", "bayes-regression"):
        e = by[(method, "absolute")]
        truth_line(f"revenue per user, {method}", e.estimate, e.lower, e.upper,
                   t["abs_effect"], "+.3f")
    w, c = by[("welch", "absolute")], by[("cuped", "absolute")]
    ratio = (c.upper - c.lower) / (w.upper - w.lower)
    value_line("CUPED interval width / raw width", f"{ratio:.3f} (variance reduction "
               f"{c.extra.get('variance_reduction', float('nan')):.1%}, theta "
               f"{c.extra.get('slope', float('nan')):.3f})")
    return r


def beta_binomial(sc, readout):
    """Exact posterior tail probabilities from the Beta-Binomial fit of the readout."""
    post = readout.bayes
    comp = post.comparison()
    print(post)
    p_neg = comp.prob_negative
    value_line("P(lift > 0), exact", prob_text(p_neg))
    # The small lower tails directly (1 - P(above) would round to 0 in double precision).
    from bayeslab.kernels.beta import diff_cdf, ratio_cdf

    a_t, b_t = post.alpha_post[1], post.beta_post[1]
    a_c, b_c = post.alpha_post[0], post.beta_post[0]
    value_line("P(lift > 1pp absolute), exact", prob_text(diff_cdf(0.01, a_t, b_t, a_c, b_c)))
    value_line("P(relative lift > 10%), exact",
               prob_text(ratio_cdf(1.10, a_t, b_t, a_c, b_c)))
    print("  (the notebook's 200,000 Monte Carlo draws printed 1.0: the true tail is below 1 and"
          " is\n   computed here by numerical integration, accurate in each tail)")
    truth_line("abs lift, 95% credible interval", comp.abs_diff, comp.abs_lower, comp.abs_upper,
               sc.truth["abs_lift"], "pp")


def group_sequential(sc, args, figs):
    """O'Brien-Fleming boundaries from the spending function; Bayesian monitoring."""
    design = bl.group_sequential_design(fractions=LOOKS, alpha=0.05, sides=2, spending="obf")
    print(design)
    frac = np.asarray(LOOKS)
    shortcut = norm.isf(0.025) / np.sqrt(frac)
    # The notebook's boundaries as a design, to compute the type I error they really have.
    naive = bl.GroupSequentialDesign(
        fractions=tuple(frac), upper=tuple(shortcut), lower=tuple(-shortcut),
        alpha_spent=(np.nan,) * 4, alpha_increment=(np.nan,) * 4, alpha=0.05, sides=2,
        spending="z/sqrt(t) shortcut", kind="classical")
    print(f"  {'look':>4} {'fraction':>8} {'spending bound':>15} {'z/sqrt(t) bound':>16}")
    for k, (t, u, s) in enumerate(zip(frac, design.upper, shortcut, strict=True)):
        print(f"  {k + 1:>4} {t:>8.2f} {u:>15.4f} {s:>16.4f}")
    value_line("type I error of the spending design", f"{design.power(0.0):.4f} (target 0.05)")
    value_line("type I error of the z/sqrt(t) shortcut",
               f"{naive.power(0.0):.4f} (the notebook's boundaries)")

    # Looks at 25/50/75/100% of users in a random arrival order, as in the notebook.
    roles = sc.roles
    order = sc.data.sample(frac=1.0, random_state=args.seed).reset_index(drop=True)
    n = len(order)
    cuts = [int(round(f * n)) for f in LOOKS]
    rule = bl.ProbPositive(success=0.95, futility=0.10)
    strict = bl.AllOf(rules=(bl.ProbPositive(success=0.99, futility=None),
                             bl.ExpectedLoss(threshold=0.0005, futility=False)))
    mon = bl.monitor(order, arm=roles["arm"], metric=roles["metric"], looks=cuts,
                     rule={"notebook 0.95/0.10": rule, "strict 0.99 + loss": strict},
                     design=design, fpr_sims=args.sims, seed=args.seed)
    print(mon)
    truth_line("lift at the final look (Bayes)", mon.table["lift_mean"].iloc[-1],
               mon.table["lift_lower"].iloc[-1], mon.table["lift_upper"].iloc[-1],
               sc.truth["abs_lift"], "pp")
    for r in mon.rules:
        fp = r.false_positive
        value_line(f"rule '{r.name}'", f"stops at look {r.stop_look} ({r.decision}); simulated "
                   f"false-positive rate {fp.rate:.2%} (MC se {fp.mc_se:.2%}, {fp.n_sims:,} A/A)")
    if figs.on:
        figs.save(mon.plot(), "000_monitor")
    return design, mon


def segments(sc, src, args, figs):
    """Lift by PS+ membership x spend tier: adjusted tests and partial pooling."""
    from bayeslab.bayes.segments import fit_segments
    from bayeslab.frequentist.segments import segment_tests

    roles = sc.roles
    st = bl.sufficient_stats(src, arm=roles["arm"], metric=roles["metric"],
                             segments=("ps_plus_member", "spend_tier"))
    tests = segment_tests(st, adjust="holm")
    print(tests)
    fit = fit_segments(st, seed=args.seed, progressbar=False, **mcmc(args))
    print(fit)
    truths = sc.truth["segments"]["ps_plus_member|spend_tier"]
    section("Segment lift vs truth (pooled posterior; raw estimate and Holm p beside)")
    raw = tests.table.set_index("segment")
    covered = []
    for row in fit.table.itertuples():
        key = row.segment.replace(" x ", "|")
        t = truths[key][roles["metric"]]["abs_effect"]
        covered.append(truth_line(
            f"PS+={row.segment.replace(' x ', ', ')}", row.abs_mean, row.abs_lower, row.abs_upper,
            t, "pp", note=f"raw {fmt.pp(raw.loc[row.segment, 'abs'])}, Holm p "
                            f"{raw.loc[row.segment, 'p_holm']:.2g}"))
    pop = fit.population
    pop = pop[pop["effect"] == "absolute"].iloc[0]
    truth_line("population (size-weighted) lift", pop["mean"], pop["lower"], pop["upper"],
               sc.truth["abs_lift"], "pp")
    value_line("segments whose interval covers the truth", f"{sum(covered)} of {len(covered)}")
    if not fit.diagnostics.ok:
        print(f"  NOTE: {fit.diagnostics.verdict.upper()} diagnostics at {args.draws} draws x "
              f"{args.chains} chains: no decision from this model; rerun with more --draws.")
    if figs.on:
        from bayeslab.plots import plot_lift_posterior

        figs.save(fit.plot(), "000_segments_forest")
        figs.save(plot_lift_posterior(fit), "000_population_lift_posterior")
    return tests, fit


def summary(sc, conv, rev, mon, fit):
    """Executive summary lines, each with the truth."""
    t = sc.truth
    comp = conv.bayes.comparison()
    cuped = next(e for e in rev.estimates() if e.method == "ancova-hc"
                 and e.effect == "absolute")
    best = fit.table.sort_values("abs_mean", ascending=False).iloc[0]
    tr_best = t["segments"]["ps_plus_member|spend_tier"][best.segment.replace(" x ", "|")]
    print(f"- Decision: {conv.decision.verdict.upper()} ({conv.decision.reasons[0]})")
    print(f"- Conversion: control {conv.arms['mean'].iloc[0]:.2%}, "
          f"treatment {conv.arms['mean'].iloc[1]:.2%}, lift {fmt.pp(comp.abs_diff)} "
          f"[{fmt.pp(comp.abs_lower)}, {fmt.pp(comp.abs_upper)}], P(lift > 0) = "
          f"{prob_text(comp.prob_negative)} (truth {fmt.pp(t['abs_lift'])})")
    truth_rev = t["metrics"]["revenue_60d"]["abs_effect"]
    print(f"- Revenue (ANCOVA on pre-period spend): "
          f"{fmt.effect(cuped.estimate, 'absolute', 'continuous', rev.unit)} per user "
          f"{fmt.interval(cuped.lower, cuped.upper, 'absolute', 'continuous', rev.unit)} (truth "
          f"{fmt.effect(truth_rev, 'absolute', 'continuous', rev.unit)})")
    for g in conv.guardrails:
        e = next(x for x in g.estimates() if x.method == "z-test" and x.effect == "absolute")
        print(f"- Guardrail {g.metric}: {fmt.pp(e.estimate)} "
              f"{fmt.interval(e.lower, e.upper, 'absolute', 'conversion')} vs margin "
              f"{fmt.margin(g.margin, g.margin_relative)}: {g.decision.verdict} (truth "
              f"{fmt.pp(t['metrics'][g.metric]['abs_effect'])})")
    stop = mon.design_stop
    print(f"- Sequential: the O'Brien-Fleming design crosses at look {stop} of {len(LOOKS)}"
          if stop else "- Sequential: the design never crosses")
    print(f"- Segments: largest pooled lift in PS+={best.segment} {fmt.pp(best.abs_mean)} "
          f"[{fmt.pp(best.abs_lower)}, {fmt.pp(best.abs_upper)}] (truth "
          f"{fmt.pp(tr_best['ps5_purchase_30d']['abs_effect'])})")


def main(argv=None) -> int:
    """Run the readout; returns the exit code."""
    args = parser(__doc__.splitlines()[0], plan="migration").parse_args(argv)
    timer, figs = Timer(), Figures(args.out)
    sc = bl.simulate("migration", rows=args.rows, seed=args.seed)
    src = bl.open_source(sc.data)
    print(sc)

    section("1. Split check (sample ratio mismatch)")
    split_check(sc, src)
    section("2. Covariate balance")
    balance(sc)
    section("3. Primary metric: 30-day PS5 conversion, with guardrails")
    conv = conversion(sc, src)
    section("4. Revenue: CUPED / ANCOVA on the pre-period spend")
    rev = revenue(sc, src)
    section("5. Beta-Binomial readout (exact)")
    beta_binomial(sc, conv)
    section("6. Sequential: O'Brien-Fleming spending boundaries and Bayesian monitoring")
    _, mon = group_sequential(sc, args, figs)
    section("7. Segment lift: PS+ membership x spend tier")
    _, fit = segments(sc, src, args, figs)
    section("8. Executive summary")
    summary(sc, conv, rev, mon, fit)
    if figs.on:
        from bayeslab.plots import plot_interval_comparison

        figs.save(plot_interval_comparison(conv.estimates()), "000_conversion_intervals")
    figs.report()
    timer.done("000_migration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
