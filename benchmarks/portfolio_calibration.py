"""Calibration of the learned effect distribution (issue 25) and its speed on 1,000 experiments.

Over ``REPS`` (50) simulated portfolios of 200 past experiments each
(:func:`bayeslab.scenarios.simulate_portfolio`), fitted with
``fit_effect_distribution(family="auto")`` (Normal against spike-t by LOO; 2 chains x 1,000
draws after 300 tuning steps), or the family named as the second argument, it prints for two
cases

- ``normal``: every effect from N(0.02, 0.03) (no nulls);
- ``heavy``: 70 % null effects, the rest from a Student-t (3 df) with mean 0.02 and sd 0.03;

which family was kept how often (and how often the preferred family was refitted after failing
its diagnostics), how often the 90 % intervals of the population's mean and sd (and of mu / tau /
pi / nu when the fitted family has them with a true value: mu, tau of the Normal family and mu
of the spike-t slab in the normal case; pi of the spike families, mu of the spike families and
tau, nu of the spike-t family in the heavy case, whose slab is mu + tau t_3 with tau = 0.03
sqrt(1/3)) contain the truth, the coverage of the 90 %
intervals of the shrunken per-experiment effects, the naive shipped impact's average
overstatement against the simulated one, and how often the corrected impact's 90 % interval
covers the true impact, each with its Monte Carlo standard error; plus the DerSimonian-Laird /
empirical-Bayes mirror's coverage on the same portfolios. Then the seconds to fit 1,000 past
experiments (``auto``: three families and LOO), warm (compiled models cached), goal <= 10 s on 2
cores.

Run: ``.venv/bin/python benchmarks/portfolio_calibration.py [REPS] [FAMILY]`` (``FAMILY``:
``auto`` by default, or ``spike-t``, ``spike``, ``normal``: the calibration of that family
alone; the speed figure is always ``auto``), or ``... portfolio_calibration.py speed`` for the
speed figures alone: in one process, and ``bayeslab prior`` in a new process each time. Say
whether the machine was quiet (``uptime``).
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

from bayeslab.bayes.history import fit_effect_distribution
from bayeslab.frequentist.history import random_effects
from bayeslab.scenarios import simulate_portfolio

CASES = {"normal": dict(null_share=0.0, family="normal"),
         "heavy": dict(null_share=0.7, family="student", df=3.0)}


def _rate(hits) -> str:
    hits = np.asarray(hits, dtype=float)
    p = hits.mean()
    return f"{p:.3f} +- {np.sqrt(p * (1 - p) / hits.size):.3f} (n={hits.size})"


def _inside(p: dict, truth: float) -> bool:
    return p["lower"] <= truth <= p["upper"]


def run_case(name: str, reps: int, family: str = "auto") -> None:
    opts = CASES[name]
    rec = {k: [] for k in ("mean", "sd", "mu", "tau", "pi", "nu")}
    theta_hits, ship_hits, over_naive, over_true, fam, verdicts = [], [], [], [], [], []
    refits = 0
    fr_theta, fr_ship, fr_mu = [], [], []
    t0 = time.perf_counter()
    for rep in range(reps):
        pf = simulate_portfolio(200, seed=1000 + rep, **opts)
        d, truth = pf.data, pf.truth
        fit = fit_effect_distribution(d.estimate, d.se, shipped=d.shipped, seed=rep,
                                      family=family)
        fam.append(fit.family)
        refits += bool(fit.loo and fit.loo.get("refit"))
        verdicts.append(fit.diagnostics.verdict)
        rec["mean"].append(_inside(fit.params["mean"], truth["mean"]))
        rec["sd"].append(_inside(fit.params["sd"], truth["sd"]))
        if opts["family"] == "normal" and opts["null_share"] == 0 and fit.family == "normal":
            rec["mu"].append(_inside(fit.params["mu"], truth["effect_mean"]))
            rec["tau"].append(_inside(fit.params["tau"], truth["effect_sd"]))
        if fit.family == "spike-t" and opts["null_share"] == 0:   # slab mean; nu = inf true
            rec["mu"].append(_inside(fit.params["mu"], truth["effect_mean"]))
            rec["nu"].append(np.isinf(fit.params["nu"]["upper"]))
        if fit.family.startswith("spike") and opts["null_share"] > 0:   # pi = 0: a boundary
            rec["pi"].append(_inside(fit.params["pi"], truth["null_share"]))
            rec["mu"].append(_inside(fit.params["mu"], truth["effect_mean"]))
        if fit.family == "spike-t" and opts["family"] == "student":
            scale = truth["effect_sd"] * np.sqrt((truth["df"] - 2) / truth["df"])
            rec["tau"].append(_inside(fit.params["tau"], scale))
            rec["nu"].append(_inside(fit.params["nu"], truth["df"]))
        tab = fit.shrunken
        theta_hits.extend((tab.lower <= d.true_effect) & (d.true_effect <= tab.upper))
        s = fit.shipped_impact
        ship_hits.append(s["lower"] <= truth["true_shipped_impact"] <= s["upper"])
        over_naive.append(s["naive"] - truth["true_shipped_impact"])
        over_true.append(s["corrected"] - truth["true_shipped_impact"])
        fr = random_effects(d.estimate, d.se, shipped=d.shipped, interval=0.9)
        t = fr.shrunken
        fr_theta.extend((t.lower <= d.true_effect) & (d.true_effect <= t.upper))
        fr_ship.append(fr.shipped_impact["lower"] <= truth["true_shipped_impact"]
                       <= fr.shipped_impact["upper"])
        fr_mu.append(fr.mu_interval[0] <= truth["mean"] <= fr.mu_interval[1])
    secs = time.perf_counter() - t0
    print(f"\n== {name}: {reps} portfolios x 200 experiments {opts}, family={family} "
          f"({secs:.0f} s)")
    kept = {str(k): int(v) for k, v in zip(*np.unique(fam, return_counts=True), strict=True)}
    diag = {str(k): int(v) for k, v in zip(*np.unique(verdicts, return_counts=True), strict=True)}
    print(f"  families kept: {kept}; diagnostics: {diag}; preferred family refitted with twice "
          f"the draws: {refits}")
    for k, hits in rec.items():
        if hits:
            print(f"  90% interval of {k:<5} covers the truth: {_rate(hits)}")
    print(f"  90% intervals of shrunken theta_i cover the truth: {_rate(theta_hits)}")
    on, oc = np.asarray(over_naive), np.asarray(over_true)
    print(f"  naive shipped impact - true: mean {on.mean():+.4f} +- "
          f"{on.std(ddof=1) / np.sqrt(on.size):.4f} (the winner's curse the simulation shows)")
    print(f"  corrected shipped impact - true: mean {oc.mean():+.4f} +- "
          f"{oc.std(ddof=1) / np.sqrt(oc.size):.4f}")
    print(f"  90% interval of the corrected shipped impact covers the truth: {_rate(ship_hits)}")
    print(f"  frequentist DL/EB: theta_i coverage {_rate(fr_theta)}; shipped impact "
          f"{_rate(fr_ship)}; mu covers the population mean {_rate(fr_mu)}")


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its reaped children (the forked chains)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def speed() -> None:
    """Warm ``auto`` on 1,000 experiments: wall seconds, and CPU seconds of the work.

    On a shared machine the wall time depends on the load; the CPU seconds do not (much):
    this process's (model building, LOO, draws of nu and theta) plus the chains' (forked,
    one per core), so ``own + chains / 2`` estimates the wall time on an idle 2-core machine (an
    upper bound: part of this process's work runs on two threads).
    """
    pf = simulate_portfolio(1000, seed=7)
    d = pf.data
    fit_effect_distribution(d.estimate, d.se, shipped=d.shipped, seed=0)  # compile (cached)
    times, own, kids = [], [], []
    for rep in range(3):
        t, (c0, k0) = time.perf_counter(), _cpu()
        fit = fit_effect_distribution(d.estimate, d.se, shipped=d.shipped, seed=rep + 1)
        times.append(time.perf_counter() - t)
        c1, k1 = _cpu()
        own.append(c1 - c0)
        kids.append(k1 - k0)
    idle = [o + k / 2 for o, k in zip(own, kids, strict=True)]
    print(f"\n== speed: fit_effect_distribution(1,000 experiments, family='auto', 2 x 1,000 "
          f"draws after 300 tuning) warm: {', '.join(f'{t:.2f}' for t in times)} s "
          f"(goal <= 10 s); kept {fit.family}, sampling {fit.settings['sample_s']:.2f} s of the "
          "kept fit")
    print(f"  CPU s: own {', '.join(f'{c:.2f}' for c in own)}; chains "
          f"{', '.join(f'{c:.2f}' for c in kids)}; idle 2-core estimate (own + chains / 2) "
          f"{', '.join(f'{c:.2f}' for c in idle)} s")


def cli_speed(runs: int = 3) -> None:
    """``bayeslab prior`` on a library of the same 1,000 experiments, each run a new process.

    What a user waits for: imports, the library query, both fits, LOO, printing. A first run
    warms the caches (numba's machine code of the spike-t density); then ``runs`` timed runs.
    """
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    d = simulate_portfolio(1000, seed=7).data
    exe = Path(sys.executable).with_name("bayeslab")
    with tempfile.TemporaryDirectory() as tmp:
        csv, lib = Path(tmp) / "past.csv", Path(tmp) / "history.duckdb"
        d.assign(name=d.experiment, metric="conversion")[
            ["name", "metric", "estimate", "se", "shipped"]].to_csv(csv, index=False)
        subprocess.run([exe, "library", "import", csv, "--library", lib], check=True,
                       capture_output=True)
        cmd = [exe, "prior", "--library", lib, "--metric", "conversion"]
        times = []
        for _ in range(runs + 1):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=os.environ)
            times.append(time.perf_counter() - t)
    print(f"\n== `bayeslab prior` on 1,000 experiments, a new process each: first "
          f"{times[0]:.2f} s (caches warmed), then {', '.join(f'{t:.2f}' for t in times[1:])} s "
          "(goal <= 10 s warm)")


def main() -> None:
    if sys.argv[1:2] == ["speed"]:
        speed()
        cli_speed()
        return
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    family = sys.argv[2] if len(sys.argv) > 2 else "auto"
    speed()
    cli_speed()
    for name in CASES:
        run_case(name, reps, family)


if __name__ == "__main__":
    main()
