"""Notebook 003 redone with bayeslab: the homepage low-price alert and its click -> order funnel.

Everything the notebook runs, on the simulated scenario, with the truth beside each number:

1. salted md5 hash assignment reproduced from the user ids, a bucket-uniformity check, and the
   independence of the A/A salt from the experiment salt;
2. sample ratio mismatch;
3. the funnel CTR -> PCVR -> CVR on both sides: exact Beta posteriors of every stage (one
   Dirichlet model per arm) beside delta-method tests, with the tail probabilities stated exactly
   (the notebook's Monte Carlo could only say 1.0) and order revenue per user as a secondary;
4. A/A Monte Carlo of the pipeline's false-positive rates (fixed split, as the notebook, and
   fresh hash salts per experiment);
5. segment effects by city tier and user type: every segment test of every funnel rate in one
   family with Holm / BH adjustment (the notebook ran 12 unadjusted z-tests), and hierarchical
   models of CTR and CVR over city tier x user type, partially pooled, summarized per tier and
   per user type.

Run ``python examples/003_homepage.py --help`` for the options.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import (
    Figures,
    Timer,
    mcmc,
    parser,
    prob_text,
    section,
    truth_line,
    value_line,
)

import bayeslab as bl
from bayeslab.core import format as fmt

AA_SALT = "luckin_homepage_AA_sanity_v1"      # the notebook's A/A salt
RATES = {"ctr": "is_clicked", "cvr": "is_converted", "pcvr": "pcvr"}   # funnel rate -> truth key


def assignment(sc):
    """Recompute the hash assignment from the ids; check uniformity and salt independence."""
    from scipy.stats import chi2_contingency

    roles = sc.roles
    ids = sc.data[roles["unit_id"]]
    arms = bl.assign(ids, roles["salt"], arms=(roles["treatment"], roles["control"]),
                     shares=(0.5, 0.5))
    same = float(np.mean(arms.to_numpy() == sc.data[roles["arm"]].to_numpy()))
    value_line("md5('{id}_{salt}') assignment reproduced", f"{same:.2%} of {len(ids):,} users "
               "get the arm in the data")
    buckets = min(100, len(ids) // 50)
    print("  " + str(bl.check_uniformity(ids, roles["salt"], buckets=buckets)))
    aa = bl.assign(ids, AA_SALT, arms=("A2", "A1"), shares=(0.5, 0.5))
    table = np.array([[np.sum((arms == a) & (aa == b)) for b in ("A1", "A2")]
                      for a in (roles["control"], roles["treatment"])])
    _, p, _, _ = chi2_contingency(table, correction=False)
    value_line("A/A salt independent of experiment salt", f"chi-square p = {p:.3g} "
               f"(2x2 counts {table.ravel().tolist()})")
    return same


def funnel(sc, src):
    """CTR, PCVR and CVR, Bayes (Dirichlet funnel) and delta method; exact tails."""
    roles, truth = sc.roles, sc.truth
    r = bl.compare(src, arm=roles["arm"], control=roles["control"], metric="funnel",
                   kind="ratio", stages=roles["funnel"])
    print(r)
    section("Funnel vs truth")
    for e in r.estimates():
        if e.effect != "absolute":
            continue
        rate = e.extra["rate"]
        t = truth["metrics"][RATES[rate]] if rate != "pcvr" else truth["pcvr"]
        note = (f"P(>0) = {fmt.prob(e.prob_positive, e.extra.get('prob_negative'))}"
                if e.side == "bayes"
                else f"p = {e.p_value:.3g}")
        truth_line(f"{rate.upper()} lift ({e.side}, {e.method})", e.estimate, e.lower, e.upper,
                   t["abs_effect"], "pp", note=note)
    # Exact Beta-Binomial tails of the two per-user rates, accurate near 0 and 1.
    for col in roles["funnel"]:
        c = bl.compare(src, arm=roles["arm"], control=roles["control"], metric=col)
        comp = c.bayes.comparison()
        exact = prob_text(comp.prob_negative) if comp.prob_positive > 0.5 \
            else fmt.prob(comp.prob_positive, comp.prob_negative)
        value_line(f"P({col} lift > 0), Beta-Binomial", exact + (
            " (exact; a Monte Carlo estimate would print 1.0)" if comp.prob_negative < 1e-4
            else " (exact)"))
    rev = bl.compare(src, arm=roles["arm"], control=roles["control"], metric=roles["revenue"],
                     kind="continuous", role="secondary")
    e = next(x for x in rev.estimates() if x.method == "welch" and x.effect == "absolute")
    b = next(x for x in rev.estimates() if x.side == "bayes" and x.effect == "absolute")
    t = truth["metrics"][roles["revenue"]]["abs_effect"]
    truth_line("order amount per exposed user (Welch)", e.estimate, e.lower, e.upper, t, "+.4f",
               note=f"p = {e.p_value:.3g}")
    truth_line("order amount per exposed user (Bayes normal)", b.estimate, b.lower, b.upper, t,
               "+.4f", note=f"P(>0) = {fmt.prob(b.prob_positive)}")
    return r


def aa(sc, args):
    """A/A false-positive rates: fixed split (the notebook's design) and fresh hash salts."""
    roles = sc.roles
    ctrl = sc.data[sc.data[roles["arm"]] == roles["control"]]
    for col in roles["funnel"]:
        base = float(ctrl[col].mean())
        res = bl.aa_simulation(n=len(sc.data), baseline=base, n_sims=args.sims,
                               assignment="fixed", seed=args.seed)
        truth_line(f"z-test false-positive rate, {col} (fixed split)", res.rates["z_reject"],
                   res.rates["z_reject"] - 1.96 * res.mc_se["z_reject"],
                   res.rates["z_reject"] + 1.96 * res.mc_se["z_reject"], 0.05, ".3f",
                   note=f"Bayes ship rate {res.rates['bayes_ship']:.3f}, "
                        f"{args.sims:,} experiments")
    n_hash = max(10, args.sims // 100)
    res = bl.aa_simulation(n=len(sc.data), baseline=float(ctrl[roles["funnel"][0]].mean()),
                           n_sims=n_hash, assignment="hash", salt=AA_SALT, seed=args.seed)
    value_line("fresh hash salt per experiment", f"z false positives {res.rates['z_reject']:.3f}"
               f" (MC se {res.mc_se['z_reject']:.3f}), SRM false alarms {res.rates['srm']:.3f}, "
               f"{n_hash} experiments (hashing is the slow part)")


def _pcvr_source(sc):
    clicked = sc.data[sc.data[sc.roles["funnel"][0]] == 1]
    return bl.open_source(clicked)


def segments(sc, src, args, figs):
    """Segment tests of CTR, CVR, PCVR by city tier and user type in one family; pooling."""
    from bayeslab.bayes.segments import fit_segments
    from bayeslab.frequentist.segments import benjamini_hochberg, holm, segment_tests

    roles = sc.roles
    click, conv = roles["funnel"]
    dims = roles["segments"]
    rows = []
    for rate, metric, source in (("ctr", click, src), ("cvr", conv, src),
                                 ("pcvr", conv, _pcvr_source(sc))):
        for dim in dims:
            st = bl.sufficient_stats(source, arm=roles["arm"], control=roles["control"],
                                     metric=metric, segments=(dim,))
            for r in segment_tests(st).table.itertuples():
                rows.append((rate, dim, r.segment, r.abs, r.abs_lower, r.abs_upper, r.p_raw))
    p_raw = np.array([r[-1] for r in rows])
    p_holm, p_bh = holm(p_raw), benjamini_hochberg(p_raw)
    print(f"  {len(rows)} segment tests in one family (CTR, CVR, PCVR x every level of "
          f"{' and '.join(dims)}): Holm controls\n  the family-wise error, BH the false discovery "
          "rate; * = significant after Holm")
    for (rate, dim, seg, est, lo, hi, p), ph, pb in zip(rows, p_holm, p_bh, strict=True):
        t = sc.truth["segments"][dim][seg][RATES[rate]]["abs_effect"]
        flag = " *" if ph < 0.05 else ""
        truth_line(f"{rate.upper()} {dim}={seg} (z-test)", est, lo, hi, t, "pp",
                   note=f"p {p:.2g}, Holm {ph:.2g}{flag}, BH {pb:.2g}")
    value_line("significant at 0.05", f"raw {int(np.sum(p_raw < 0.05))}, Holm "
               f"{int(np.sum(p_holm < 0.05))}, BH {int(np.sum(p_bh < 0.05))} of {len(rows)}")

    section("Partial pooling: city tier x user type, summarized per tier and per user type")
    fits = {}
    for rate, metric in (("ctr", click), ("cvr", conv)):
        st = bl.sufficient_stats(src, arm=roles["arm"], control=roles["control"], metric=metric,
                                 segments=tuple(dims))
        fit = fit_segments(st, seed=args.seed, progressbar=False, **mcmc(args))
        fits[rate] = fit
        value_line(f"{rate.upper()} model", f"diagnostics {fit.diagnostics.verdict}; "
                   + ", ".join(f"tau[{r.component}] {r.mean:.3f}" for r in
                               fit.population.itertuples() if r.effect == "tau"))
        cells = fit.table
        for i, dim in enumerate(dims):
            for level in sc.truth["segments"][dim]:
                keep = cells[cells["segment"].str.split(" x ").str[i] == level]
                w = (keep["n_control"] + keep["n_treatment"]).to_numpy(float)
                draws = sum(wi * fit.lift_draws(s) for wi, s in
                            zip(w / w.sum(), keep["segment"], strict=True))
                lo, hi = np.quantile(draws, [0.025, 0.975])
                t = sc.truth["segments"][dim][level][RATES[rate]]["abs_effect"]
                truth_line(f"{rate.upper()} {dim}={level} (pooled)", float(draws.mean()), lo, hi,
                           t, "pp",
                           note=f"P(>0) {fmt.prob_draws(np.mean(draws > 0), draws.size)}")
        if not fit.diagnostics.ok:
            print(f"  NOTE: diagnostics fail at {args.draws} draws x {args.chains} chains: no "
                  "decision from this model; rerun with more --draws.")
        if figs.on:
            figs.save(fit.plot(), f"003_segments_{rate}")
    return fits


def main(argv=None) -> int:
    """Run the analysis; returns the exit code."""
    args = parser(__doc__.splitlines()[0], plan="homepage").parse_args(argv)
    timer, figs = Timer(), Figures(args.out)
    sc = bl.simulate("homepage", rows=args.rows, seed=args.seed)
    src = bl.open_source(sc.data)
    print(sc)

    section("1. Hash assignment")
    assignment(sc)
    section("2. Sample ratio mismatch")
    counts = sc.data[sc.roles["arm"]].value_counts()
    print(bl.srm_check({a: int(counts[a]) for a in (sc.roles["control"], sc.roles["treatment"])}))
    truth_line("treatment share", counts[sc.roles["treatment"]] / counts.sum(), None, None,
               sc.truth["treatment_share"], ".4f")
    section("3. Funnel: CTR, PCVR, CVR")
    r = funnel(sc, src)
    section("4. A/A Monte Carlo")
    aa(sc, args)
    section("5. Segments: city tier and user type")
    segments(sc, src, args, figs)
    if figs.on:
        from bayeslab.plots import plot_interval_comparison

        figs.save(plot_interval_comparison(r.estimates()), "003_funnel_intervals")
    figs.report()
    timer.done("003_homepage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
