"""Time the operating-characteristics simulator: 10,000 experiments x 20 looks (goal < 2 s).

Run: PYTHONPATH=. python benchmarks/sequential.py

The conjugate rule is :class:`bayeslab.sequential.rules.ProbPositive` (success at
P(p_T > p_C) >= 0.95, futility at <= 0.10), computed exactly from the Beta(1 + x, 1 + n - x)
posteriors by the Beta kernel's simulation rule (:mod:`bayeslab.kernels.beta`,
``accuracy="simulation"``: 40 nodes, error < 1e-6).
The simulator hands the rule only the experiments still running, so the cost is proportional to
the experiment-looks actually evaluated, which is printed too. A success-only rule (no futility)
keeps most null experiments running to the end: its time is the worst case per evaluation.
"""


import numpy as np
from _timing import timed_best_of as best_of

from bayeslab.sequential.boundaries import group_sequential_design
from bayeslab.sequential.operating import design_rule, simulate
from bayeslab.sequential.rules import ProbPositive

N_SIMS, N_LOOKS, PER_LOOK = 10_000, 20, 500
GOAL_S = 2.0


class Counting:
    """Wrap a rule and count the experiment-looks it evaluates."""

    def __init__(self, rule):
        self.rule, self.evaluations = rule, 0

    def __call__(self, stats):
        self.evaluations += stats.n_control.size
        return self.rule(stats)



def main():
    looks = PER_LOOK * np.arange(1, N_LOOKS + 1)
    for name, rule in [("prob_positive 0.95 / futility 0.10", ProbPositive()),
                       ("prob_positive 0.95, no futility", ProbPositive(futility=None))]:
        for effect in (0.0, 0.01):
            t, res = best_of(lambda r=rule, e=effect: simulate(r, looks, baseline=0.1,
                                                               effect=e, n_sims=N_SIMS, seed=1))
            counter = Counting(rule)
            simulate(counter, looks, baseline=0.1, effect=effect, n_sims=N_SIMS, seed=1)
            print(f"{name}, effect {effect:g}: {N_SIMS:,} experiments x {N_LOOKS} looks in "
                  f"{t:.3f} s (goal {GOAL_S} s, ratio {t / GOAL_S:.2f}); "
                  f"{counter.evaluations:,} experiment-looks evaluated "
                  f"({1e6 * t / counter.evaluations:.1f} us each); declares an effect in "
                  f"{res.rejection_rate:.4f}")
    t_design, design = best_of(lambda: group_sequential_design(N_LOOKS, alpha=0.05, sides=2))
    print(f"group_sequential_design({N_LOOKS} looks, two-sided OBF): {t_design:.3f} s")
    rule = design_rule(design)
    t_gs, res = best_of(lambda: simulate(rule, looks, baseline=0.1, n_sims=N_SIMS, seed=1))
    print(f"OBF design rule, {N_SIMS:,} x {N_LOOKS}: {t_gs:.3f} s (ratio {t_gs / GOAL_S:.2f}); "
          f"false-positive rate {res.rejection_rate:.4f}")


if __name__ == "__main__":
    main()
