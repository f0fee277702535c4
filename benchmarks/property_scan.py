"""Issue 26 benchmark: the property scan's false-flag rate, power, coverage and cost.

Usage: ``.venv/bin/python benchmarks/property_scan.py [datasets] [chains]`` (default 100, 4).
A/A-like data (``heterogeneity="none"``, 12 properties, 67 levels, 200k units): share of
datasets with any level flagged (Bayes rule, Bonferroni, BH); one level (country = BR, 8 %)
with twice the effect: share flagged; coverage of the 90 % intervals of the level effects;
divergences; scan and fit seconds.
"""

import sys
import time

import numpy as np

from bayeslab.bayes.property_scan import PropertyScan
from bayeslab.data.scan_properties import property_stats
from bayeslab.data.sources import open_source
from bayeslab.frequentist.property_scan import LevelVersusRest
from bayeslab.scenarios.properties import simulate_properties


def run(heterogeneity, datasets, chains, effect=0.03):
    any_b = any_bonf = any_bh = hit = 0
    cover, fits, divs = [], [], 0
    for seed in range(1, datasets + 1):
        sc = simulate_properties(200_000, seed=seed, heterogeneity=heterogeneity, effect=effect)
        src = open_source(sc.data)
        st = property_stats(src, arm="treatment", metric="converted",
                            properties=sc.roles["properties"])
        t = time.perf_counter()
        fit = PropertyScan(chains=chains, interval=0.9, seed=seed, progressbar=False).fit(st)
        fits.append(time.perf_counter() - t)
        f = LevelVersusRest().fit(st)
        divs += fit.divergences
        any_b += bool(fit.flagged.any())
        any_bonf += bool(f.flagged_bonferroni.any())
        any_bh += bool(f.flagged_bh.any())
        if heterogeneity == "one":
            hit += bool(fit.flagged[fit.levels.index(("country", "BR"))])
        truth = {(lv["property"], lv["level"]): lv["converted"] for lv in sc.truth["levels"]}
        t_arr = np.array([truth.get(k, np.nan) for k in fit.levels])
        ok = ~np.isnan(t_arr)
        cover.append(((fit.effect_lower <= t_arr) & (t_arr <= fit.effect_upper))[ok].mean())
    n = datasets
    mc = lambda p: np.sqrt(max(p * (1 - p), 1e-9) / n)  # noqa: E731
    print(f"{heterogeneity}: {n} datasets, effect {effect}")
    for name, k in (("any flagged, Bayes", any_b), ("any flagged, Bonferroni", any_bonf),
                    ("any flagged, BH", any_bh)) + ((("BR flagged, Bayes", hit),)
                                                     if heterogeneity == "one" else ()):
        print(f"  {name}: {k / n:.3f} +- {mc(k / n):.3f}")
    print(f"  90% coverage of level effects: {np.mean(cover):.3f}")
    print(f"  divergences: {divs}; fit seconds median {np.median(fits):.1f}, max {max(fits):.1f}")


if __name__ == "__main__":
    datasets = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    chains = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    run("none", datasets, chains)
    run("one", datasets, chains)
