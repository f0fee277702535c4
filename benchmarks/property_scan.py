"""Issue 26 benchmark: the property scan's false-flag rate, power, coverage and cost.

Usage: ``.venv/bin/python benchmarks/property_scan.py [datasets] [chains] [first seed]``
(default 100, 4, 1; the default threshold was chosen on seeds 1-100 and checked on 101-200).
A/A-like data (``heterogeneity="none"``, 12 properties, 67 levels, 200k units): share of
datasets with any level flagged (Bayes rule, Bonferroni, BH); one level (country = BR, 8 %)
with twice the effect: share flagged; coverage of the 90 % intervals of the level effects,
apart for the null levels (true effect = the population's) and the non-null one (BR), since a
shrinkage prior over-covers at zero and may under-cover the escaped level; the quantiles of
the largest ``prob_differs`` per dataset (what a calibrated threshold reads), and the same
rates at other thresholds (A/A any flag / power / any null level flagged beside the real one);
divergences, refits and fit seconds (warm: the compiled model is reused).
"""

import sys
import time

import numpy as np

from bayeslab.bayes.property_scan import PropertyScan
from bayeslab.data.scan_properties import property_stats
from bayeslab.data.sources import open_source
from bayeslab.frequentist.property_scan import LevelVersusRest
from bayeslab.scenarios.properties import SPECIAL, simulate_properties


def run(heterogeneity, datasets, chains, effect=0.03, first=1):
    any_b = any_bonf = any_bh = hit = hit_bonf = hit_bh = 0
    cover_null, cover_special, fits, divs, refits, maxp, p_special = [], [], [], 0, 0, [], []
    cover_all, maxp_null = [], []
    for seed in range(first, first + datasets):
        sc = simulate_properties(200_000, seed=seed, heterogeneity=heterogeneity, effect=effect)
        src = open_source(sc.data)
        st = property_stats(src, arm="treatment", metric="converted",
                            properties=sc.roles["properties"])
        t = time.perf_counter()
        fit = PropertyScan(chains=chains, interval=0.9, seed=seed, progressbar=False).fit(st)
        fits.append(time.perf_counter() - t)
        f = LevelVersusRest().fit(st)
        divs += fit.divergences
        refits += bool(fit.diagnostics.remedy)
        any_b += bool(fit.flagged.any())
        any_bonf += bool(f.flagged_bonferroni.any())
        any_bh += bool(f.flagged_bh.any())
        i = fit.levels.index(SPECIAL)
        if heterogeneity == "one":
            hit += bool(fit.flagged[i])
            hit_bonf += bool(f.flagged_bonferroni[i])
            hit_bh += bool(f.flagged_bh[i])
            p_special.append(fit.prob_differs[i])
        maxp.append(fit.prob_differs.max())
        maxp_null.append(np.delete(fit.prob_differs, i).max() if heterogeneity == "one"
                         else fit.prob_differs.max())
        truth = {(lv["property"], lv["level"]): lv["converted"] for lv in sc.truth["levels"]}
        t_arr = np.array([truth[k] for k in fit.levels])
        inside = (fit.effect_lower <= t_arr) & (t_arr <= fit.effect_upper)
        special = np.zeros(len(t_arr), bool)
        if heterogeneity == "one":
            special[i] = True
        cover_null.append(inside[~special].mean())
        cover_all.append(inside.mean())
        if special.any():
            cover_special.append(inside[special].mean())
    n = datasets
    mc = lambda p: np.sqrt(max(p * (1 - p), 1e-9) / n)  # noqa: E731
    print(f"{heterogeneity}: {n} datasets (seeds {first}-{first + n - 1}), effect {effect}, "
          f"threshold {fit.threshold:g}")
    rows = (("any flagged, Bayes", any_b), ("any flagged, Bonferroni", any_bonf),
            ("any flagged, BH", any_bh))
    if heterogeneity == "one":
        rows += (("BR flagged, Bayes", hit), ("BR flagged, Bonferroni", hit_bonf),
                 ("BR flagged, BH", hit_bh))
    for name, k in rows:
        print(f"  {name}: {k / n:.3f} +- {mc(k / n):.3f}")
    cn = np.asarray(cover_null)
    se = (cn.std(ddof=1) if n > 1 else 0.0) / np.sqrt(n)
    print(f"  90% coverage, null levels: {cn.mean():.3f} +- {se:.3f} "
          f"(datasets with the population interval missing: {(cn < 0.5).mean():.3f})")
    if cover_special:
        cs = np.mean(cover_special)
        print(f"  90% coverage, BR (non-null): {cs:.3f} +- {mc(cs):.3f}")
    ca = np.asarray(cover_all)
    print(f"  90% coverage, all levels: {ca.mean():.3f} +- {ca.std(ddof=1) / np.sqrt(n):.3f}")
    mp, mn = np.asarray(maxp), np.asarray(maxp_null)
    for th in (0.3, 0.4, 0.5, 0.6, 0.7, 0.9):
        line = f"  threshold {th}: any level flagged {(mp >= th).mean():.3f}"
        if p_special:
            line += (f", BR flagged {(np.asarray(p_special) >= th).mean():.3f}, a null level "
                     f"flagged beside it {(mn >= th).mean():.3f}")
        print(line)
    print(f"  max prob_differs per dataset: quantiles 50/90/95 "
          f"{np.quantile(maxp, [0.5, 0.9, 0.95]).round(3).tolist()}")
    if p_special:
        print(f"  BR prob_differs quantiles 10/50: "
              f"{np.quantile(p_special, [0.1, 0.5]).round(3).tolist()}")
    print(f"  divergences: {divs}; refits: {refits}; fit seconds median "
          f"{np.median(fits[1:] or fits):.1f} (warm), first {fits[0]:.1f}, max {max(fits):.1f}")


if __name__ == "__main__":
    datasets = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    chains = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    run("none", datasets, chains, first=first)
    run("one", datasets, chains, first=first)
