"""Notebook 001 redone with bayeslab: PS4/PS5 installed base and the daily migration campaign.

Two parts, as in the notebook:

A. The quarterly installed base. The notebook simulates PS4 and PS5 user pools with an assumed
   5% quarterly migration and 90% retention and overlays Sony's published MAU points "for
   validation". Here the rates are *fitted* instead: a small Bayesian model of the two pools, driven
   by the published quarterly sell-in, with a Normal likelihood on the eight published MAU
   anchors (FY23 Q1 - FY24 Q4). The posterior intervals are compared with the notebook's
   assumed values, and each parameter's prior-to-posterior shrinkage says how much the anchors
   actually pin it down.

B. The daily 50/50 campaign from 2023-01-01 (simulated scenario ``campaign``): SRM overall and per
   day, the conversion readout, revenue with CUPED on the lagged (pre-period) revenue covariate,
   and day-by-day monitoring with a Bayesian stopping rule (its simulated false-positive rate
   under the same daily looks stated) beside the O'Brien-Fleming spending design at the realised
   information fractions. The notebook's CUPED on aggregated daily pool sizes is replaced by the
   unit-level adjustment.

Run ``python examples/001_campaign.py --help`` for the options.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import Figures, Timer, parser, prob_text, section, truth_line, value_line

import bayeslab as bl

# ----------------------------------------------------------------------------------------------
# Published figures quoted in notebook 001 (millions). Quarter 0 = FY20 Q3 (Oct-Dec 2020, PS5
# launch); quarter 17 = FY24 Q4 (Jan-Mar 2025).

QUARTERS = [f"FY{20 + (q + 2) // 4} Q{(q + 2) % 4 + 1}" for q in range(18)]
PS5_SELL_IN = np.array([4.5, 3.3,                    # FY20 Q3-Q4
                        2.3, 3.3, 3.9, 2.0,          # FY21
                        2.4, 3.3, 7.1, 6.3,          # FY22
                        3.3, 4.9, 8.2, 4.5,          # FY23
                        2.4, 3.8, 9.5, 2.8])         # FY24
PS4_SELL_IN = np.array([1.4, 1.0, 0.5, 0.2, 0.2, 0.1] + [0.0] * 12)   # FY20 Q3 - FY21 Q4 tail
MAU_QUARTERS = np.arange(10, 18)                     # FY23 Q1 .. FY24 Q4
MAU = np.array([108.0, 107.0, 123.0, 118.0, 116.0, 116.0, 129.0, 124.0])
HOLIDAY = np.array([QUARTERS[q].endswith("Q3") for q in range(18)], dtype=float)
NOTEBOOK = {"migration": 0.05, "retention": 0.90}     # the notebook's assumed quarterly rates


def installed_base_model():
    r"""PyMC model of the quarterly PS4 and PS5 active pools, fitted to the MAU anchors.

    .. math::

        A^{5}_q &= \rho_5 A^{5}_{q-1} + S^{5}_q, \qquad A^{5}_{-1} = 0 \\
        A^{4}_q &= \rho_4 A^{4}_{q-1} + S^{4}_q - \phi S^{5}_q, \qquad A^{4}_{-1} = A_0 \\
        \text{MAU}_q &\sim \mathrm{Normal}(A^{4}_q + A^{5}_q + h\,[\text{fiscal Q3}], \sigma)

    :math:`S` are the published quarterly sell-in volumes, :math:`\rho` the quarterly retention
    of each pool, :math:`\phi` the share of PS5 units bought by active PS4 users (migrants: they
    leave the PS4 pool and join the PS5 pool through that purchase, so they are not counted
    twice), :math:`h` the holiday-quarter engagement bump. The implied quarterly migration rate is
    :math:`m_q = \phi S^5_q / A^4_{q-1}`. Priors: :math:`\rho_4, \rho_5 \sim \mathrm{Beta}(9, 1)`
    (mean 0.9, the notebook's value, but wide), :math:`\phi \sim \mathrm{Beta}(2, 2)`,
    :math:`A_0 \sim N(90, 20)` (PS4 sell-through was 113.5M in Sep 2020), :math:`h \sim N(0, 10)`,
    :math:`\sigma \sim N^+(5)`.
    """
    import pymc as pm
    import pytensor.tensor as pt

    q = np.arange(18)
    lag = q[:, None] - q[None, :]                       # q - j

    def decay(rho):
        return pt.where(lag >= 0, rho ** np.maximum(lag, 0), 0.0)

    with pm.Model() as model:
        rho4 = pm.Beta("retention_ps4", 9.0, 1.0)
        rho5 = pm.Beta("retention_ps5", 9.0, 1.0)
        phi = pm.Beta("migrant_share_of_ps5_units", 2.0, 2.0)
        a0 = pm.Normal("ps4_active_start", 90.0, 20.0)
        h = pm.Normal("holiday_bump", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 5.0)
        ps5 = pm.Deterministic("ps5_pool", pt.dot(decay(rho5), PS5_SELL_IN))
        ps4 = pm.Deterministic("ps4_pool", rho4 ** (q + 1) * a0
                               + pt.dot(decay(rho4), PS4_SELL_IN - phi * PS5_SELL_IN))
        prev = pt.concatenate([pt.stack([a0]), ps4[:-1]])
        pm.Deterministic("migration_rate", phi * PS5_SELL_IN / prev)
        mau = pm.Deterministic("mau", ps4 + ps5 + h * HOLIDAY)
        pm.Normal("mau_obs", mau[MAU_QUARTERS], sigma, observed=MAU)
    return model


def installed_base(args, figs):
    """Fit the pool model to the MAU anchors; compare with the notebook's assumed rates."""
    import pymc as pm

    with installed_base_model():
        prior = pm.sample_prior_predictive(draws=1000, random_seed=args.seed)
        idata = pm.sample(draws=args.draws, tune=args.tune, chains=args.chains, cores=1,
                          target_accept=0.95, random_seed=args.seed, progressbar=False,
                          compute_convergence_checks=False)
    import arviz as az

    post, pri = idata["posterior"], prior["prior"]
    names = ["retention_ps4", "retention_ps5", "migrant_share_of_ps5_units", "ps4_active_start",
             "holiday_bump", "sigma"]
    rhat = az.rhat(idata, var_names=names)
    ess = az.ess(idata, var_names=names)
    print(f"  {'parameter':<28} {'mean':>8} {'95% interval':>20} {'prior sd':>9} "
          f"{'post sd':>8} {'sd ratio':>9} {'R-hat':>6} {'ESS':>6}")
    for n in names:
        d = post[n].values.ravel()
        lo, hi = np.quantile(d, [0.025, 0.975])
        psd = float(np.std(pri[n].values))
        print(f"  {n:<28} {d.mean():>8.3f} [{lo:>8.3f}, {hi:>8.3f}] {psd:>9.3f} {d.std():>8.3f} "
              f"{d.std() / psd:>9.2f} {float(rhat[n]):>6.3f} {float(ess[n]):>6.0f}")
    print("  (sd ratio = posterior sd / prior sd: near 1 means the MAU anchors barely inform it)")
    worst = max(float(rhat[n]) for n in names)
    if worst > 1.01 or min(float(ess[n]) for n in names) < 400:
        print(f"  NOTE: max R-hat {worst:.3f} / ESS below 400 at {args.draws} draws x "
              f"{args.chains} chains: read the intervals as rough; rerun with more --draws.")

    mig = post["migration_rate"].values.reshape(-1, 18)[:, MAU_QUARTERS].mean(axis=1)
    section("Installed base: fitted rates vs the notebook's assumed values")
    for label, draws, assumed in (
            ("PS4 quarterly retention", post["retention_ps4"].values.ravel(),
             NOTEBOOK["retention"]),
            ("PS5 quarterly retention", post["retention_ps5"].values.ravel(),
             NOTEBOOK["retention"]),
            ("PS4 -> PS5 migration rate (FY23-24 mean)", mig, NOTEBOOK["migration"])):
        lo, hi = np.quantile(draws, [0.025, 0.975])
        inside = "inside" if lo <= assumed <= hi else "OUTSIDE"
        value_line(label, f"{draws.mean():.3f} [{lo:.3f}, {hi:.3f}]; notebook assumed "
                          f"{assumed:.2f} ({inside} the 95% interval; no simulated truth: "
                          "real published data)")
    mau = post["mau"].values.reshape(-1, 18)
    print(f"\n  {'quarter':<10} {'MAU':>6} {'fitted':>8} {'95% interval':>18}")
    for q, obs in zip(MAU_QUARTERS, MAU, strict=True):
        lo, hi = np.quantile(mau[:, q], [0.025, 0.975])
        print(f"  {QUARTERS[q]:<10} {obs:>6.0f} {mau[:, q].mean():>8.1f} [{lo:>6.1f}, {hi:>6.1f}]")
    if figs.on:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4))
        x = np.arange(18)
        for name, color in (("mau", "C0"), ("ps4_pool", "C1"), ("ps5_pool", "C2")):
            d = post[name].values.reshape(-1, 18)
            lo, hi = np.quantile(d, [0.025, 0.975], axis=0)
            ax.fill_between(x, lo, hi, color=color, alpha=0.25)
            ax.plot(x, d.mean(axis=0), color=color, label=name.replace("_", " "))
        ax.scatter(MAU_QUARTERS, MAU, color="red", zorder=3, label="published MAU")
        ax.set_xticks(x[::2], [QUARTERS[i] for i in x[::2]], rotation=45, fontsize=8)
        ax.set_ylabel("millions")
        ax.set_title("Installed-base model fitted to the MAU anchors (95% bands)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        figs.save(fig, "001_installed_base")
    return idata


def campaign(args, figs):
    """The daily 50/50 campaign: SRM, conversion, CUPED revenue, daily monitoring."""
    from bayeslab.design.srm import srm_by_segment

    sc = bl.simulate("campaign", rows=args.rows, seed=args.seed)
    print(sc)
    roles, truth = sc.roles, sc.truth
    src = bl.open_source(sc.data)

    section("B1. Split check, overall and per day")
    st = bl.sufficient_stats(src, arm=roles["arm"], metric=roles["metric"],
                             segments=(roles["date"],))
    print(bl.srm_check(st.table.groupby("arm")["n"].sum().to_dict()))
    per = srm_by_segment(st.table, segment=roles["date"], arm="arm", count="n")
    value_line(f"days checked ({len(per)})", f"smallest p = {per['p_value'].min():.3g}, "
               f"mismatches at p < {per.attrs['threshold']:g}: {int(per['mismatch'].sum())} "
               f"(expected by chance: {len(per) * per.attrs['threshold']:.2f})")

    section("B2. Conversion (PS5 purchase within 30 days)")
    conv = bl.compare(src, arm=roles["arm"], metric=roles["metric"])
    print(conv)
    comp = conv.bayes.comparison()
    truth_line("abs lift (Beta-Binomial)", comp.abs_diff, comp.abs_lower, comp.abs_upper,
               truth["abs_lift"], "pp", note=f"P(lift > 0) = {prob_text(comp.prob_negative)}")
    z = next(e for e in conv.estimates() if e.method == "z-test")
    truth_line("abs lift (z-test)", z.estimate, z.lower, z.upper, truth["abs_lift"], "pp",
               note=f"p = {z.p_value:.3g}")
    truth_line("rel lift (Beta-Binomial)", comp.rel_lift, comp.rel_lower, comp.rel_upper,
               truth["rel_lift"], "+.2%")

    section("B3. Revenue with CUPED on the lagged (pre-period) revenue")
    rev = bl.compare(src, arm=roles["arm"], metric=roles["revenue"], kind="continuous",
                     covariate=roles["covariate"])
    print(rev)
    by = {(e.method, e.effect): e for e in rev.estimates()}
    t = truth["metrics"][roles["revenue"]]["abs_effect"]
    for m in ("welch", "cuped", "ancova-hc", "bayes-regression"):
        e = by[(m, "absolute")]
        truth_line(f"revenue per user, {m}", e.estimate, e.lower, e.upper, t, "+.3f",
                   note=f"P(>0) = {prob_text(1 - e.prob_positive)}" if e.side == "bayes" else
                   f"p = {e.p_value:.3g}")
    w, c = by[("welch", "absolute")], by[("cuped", "absolute")]
    value_line("CUPED interval width / raw width",
               f"{(c.upper - c.lower) / (w.upper - w.lower):.3f} (variance reduction "
               f"{c.extra.get('variance_reduction', float('nan')):.1%})")

    section("B4. Day-by-day monitoring")
    rule = bl.ProbPositive(success=0.95, futility=0.05)
    mon = bl.monitor(src, arm=roles["arm"], metric=roles["metric"], timestamp=roles["date"],
                     rule={"P>0.95 / P<0.05": rule}, design="obf", fpr_sims=args.sims,
                     seed=args.seed)
    print(mon)
    table = mon.table
    for i in sorted({6, 13, 20, len(table) - 1} & set(range(len(table)))):
        row = table.iloc[i]
        day = str(row["label"])[:10]
        tr = truth["cumulative"].get(day, {}).get(roles["metric"], {}).get("abs_effect")
        truth_line(f"cumulative lift through {day} (Bayes)", row["lift_mean"], row["lift_lower"],
                   row["lift_upper"], tr, "pp",
                   note=f"z {row['z']:+.2f} vs bound {row['upper']:.2f}")
    fp = mon.rules[0].false_positive
    value_line("rule false-positive rate, daily looks", f"{fp.rate:.1%} (MC se {fp.mc_se:.1%}) "
               f"over {len(table)} looks: checking P(lift > 0) >= 0.95 every day is not a 5% "
               "test")
    stop = mon.design_stop
    value_line("O'Brien-Fleming (spending) design",
               f"crosses at look {stop} ({mon.design_decision})" if stop else "never crosses")
    if figs.on:
        figs.save(mon.plot(), "001_monitor")
    return sc, conv, rev, mon


def main(argv=None) -> int:
    """Run both parts; returns the exit code."""
    args = parser(__doc__.splitlines()[0], plan="campaign").parse_args(argv)
    timer, figs = Timer(), Figures(args.out)
    section("A. Installed base: pools fitted to the published MAU anchors")
    installed_base(args, figs)
    campaign(args, figs)
    figs.report()
    timer.done("001_campaign")
    return 0


if __name__ == "__main__":
    sys.exit(main())
