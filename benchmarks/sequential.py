"""Time the operating-characteristics simulator: 10,000 experiments x 20 looks (goal < 2 s).

Run: PYTHONPATH=. python benchmarks/sequential.py

The conjugate rule here uses Beta(1 + x, 1 + n - x) posteriors per arm and the normal
approximation to P(p_T > p_C) from their means and variances. Replace it with the exact
bayeslab.kernels.beta integral once that kernel lands, and re-time.
"""

import time

import numpy as np
from scipy.special import ndtr

from bayeslab.sequential.boundaries import group_sequential_design
from bayeslab.sequential.operating import CONTINUE, FUTILITY, SUCCESS, design_rule, simulate

N_SIMS, N_LOOKS, PER_LOOK = 10_000, 20, 500
GOAL_S = 2.0


def beta_rule(stats):
    a_c, b_c = 1 + stats.sum_control, 1 + stats.n_control - stats.sum_control
    a_t, b_t = 1 + stats.sum_treatment, 1 + stats.n_treatment - stats.sum_treatment

    def moments(a, b):
        m = a / (a + b)
        return m, m * (1 - m) / (a + b + 1)

    m_c, v_c = moments(a_c, b_c)
    m_t, v_t = moments(a_t, b_t)
    prob = ndtr((m_t - m_c) / np.sqrt(v_c + v_t))
    return np.where(prob >= 0.95, SUCCESS, np.where(prob <= 0.10, FUTILITY, CONTINUE))


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    looks = PER_LOOK * np.arange(1, N_LOOKS + 1)
    t_rule, res = best_of(lambda: simulate(beta_rule, looks, baseline=0.1, n_sims=N_SIMS,
                                           seed=1))
    print(f"conjugate rule (beta posteriors), {N_SIMS:,} experiments x {N_LOOKS} looks: "
          f"{t_rule:.3f} s (goal {GOAL_S} s, ratio {t_rule / GOAL_S:.2f}); "
          f"false-positive rate {res.rejection_rate:.4f}")
    t_design, design = best_of(lambda: group_sequential_design(N_LOOKS, alpha=0.05, sides=2))
    print(f"group_sequential_design({N_LOOKS} looks, two-sided OBF): {t_design:.3f} s")
    rule = design_rule(design)
    t_gs, res = best_of(lambda: simulate(rule, looks, baseline=0.1, n_sims=N_SIMS, seed=1))
    print(f"OBF design rule, {N_SIMS:,} x {N_LOOKS}: {t_gs:.3f} s (ratio {t_gs / GOAL_S:.2f}); "
          f"false-positive rate {res.rejection_rate:.4f}")


if __name__ == "__main__":
    main()
