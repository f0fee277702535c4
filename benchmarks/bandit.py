"""Regret of exact Thompson sampling against an even split, and the pooled bias (issue 27).

Scenario (stated): 4 arms converting at 10 %, 10.5 %, 11 %, 12 % (the last is best), 20 periods
of 10,000 users (and the same with 2,000 users, a harder case), ``REPS`` (500) simulated bandits
per policy, seed 27. Policies: Thompson sampling with the default floor (0.1/4 = 2.5 % per arm),
top-two Thompson (beta 0.5, same floor) and the even split. For each it prints a Markdown table
of the mean cumulative regret (expected conversions lost against always playing the best arm,
with its Monte Carlo se), the regret as a share of the even split's, the share of bandits that
identify the best arm (P(best) >= 0.95 under Beta(1, 1) posteriors) and the median period at
which they do, and the best arm's share of all traffic.

Then the bias: the same Thompson bandit when every arm's rate drifts linearly from 70 % to 130 %
of its base over the 20 periods; the mean error of the pooled difference (best arm - control)
against the truth (the size-weighted average of the periods' true differences), the error the
realized weights predict, and the stratified readout's error, each with its Monte Carlo se.

Run: ``.venv/bin/python benchmarks/bandit.py [REPS]``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bayeslab.design.bandit_sim import compare_policies, simulate_bandit
from bayeslab.readout.bandit import pooled_difference, stratified_difference

RATES = [0.10, 0.105, 0.11, 0.12]


def table(rows) -> str:
    out = ["| policy | regret (conversions lost) | of even split | identified | median period "
           "| best arm's traffic |", "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['policy']} | {r['regret']:,.0f} +- {r['regret_se']:.0f} | "
                   f"{100 * r['regret_vs_uniform']:.1f} % | {100 * r['identified']:.1f} % | "
                   f"{r['median_period']:g} | {100 * r['best_arm_share']:.1f} % |")
    return "\n".join(out)


def bias(reps: int) -> str:
    drift = np.linspace(0.7, 1.3, 20)
    s = simulate_bandit(RATES, periods=20, users=10_000, reps=reps, period_effect=drift, seed=27)
    n, y, p = s.n, s.y, s.rates
    size = n.sum(axis=2, keepdims=True)
    truth = np.sum(size / size.sum(axis=1, keepdims=True) * (p - p[:, :1]), axis=1)[:, -1]
    arm = np.sum(n / n.sum(axis=1, keepdims=True) * p, axis=1)
    predicted = (arm - arm[:, :1])[:, -1] - truth
    pooled = pooled_difference(n, y)[:, -1] - truth
    strat = stratified_difference(n, y)[0][:, -1] - truth

    def pp(v):
        return f"{100 * v.mean():+.3f} pp +- {100 * v.std(ddof=1) / np.sqrt(v.size):.3f}"

    return "\n".join([
        "| readout of best arm - control (true +2.000 pp on average) | mean error |",
        "|---|---|",
        f"| pooled over periods | {pp(pooled)} |",
        f"| predicted by the realized weights | {pp(predicted)} |",
        f"| pooled minus predicted (adaptive sampling within arms) | {pp(pooled - predicted)} |",
        f"| stratified by period (size-weighted) | {pp(strat)} |"])


def main(reps: int = 500) -> None:
    for users in (10_000, 2_000):
        t = time.perf_counter()
        rows = compare_policies(RATES, periods=20, users=users, reps=reps, seed=27)
        print(f"\n{reps} bandits per policy, 20 periods of {users:,} users "
              f"({time.perf_counter() - t:.1f} s)\n")
        print(table(rows))
    t = time.perf_counter()
    text = bias(reps)
    print(f"\nDrift 70 % -> 130 %, Thompson, {reps} bandits ({time.perf_counter() - t:.1f} s)\n")
    print(text)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
