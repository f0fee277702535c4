"""Simulated stratified experiments with known segment effects (shared by the segment tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayeslab.data.sources import open_source
from bayeslab.data.stats import sufficient_stats


def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def simulate_segments(*, segments=16, n_per_arm=None, base=-2.0, base_sd=0.4, effect=0.10,
                      tau=0.10, seed=0, dims=None):
    """Aggregated conversion counts per (segment, arm) with known true lifts.

    Returns (ArmStats, truth) where truth has per-segment ``p_control``, ``p_treatment``,
    ``abs_lift``, ``rel_lift`` and the true log-odds effect ``delta``.
    """
    rng = np.random.default_rng(seed)
    if n_per_arm is None:
        n_per_arm = rng.choice([150, 400, 1500, 4000], size=segments)
    n_per_arm = np.broadcast_to(np.asarray(n_per_arm), (segments,))
    alpha = base + base_sd * rng.standard_normal(segments)
    delta = effect + tau * rng.standard_normal(segments)
    p0, p1 = expit(alpha), expit(alpha + delta)
    y0, y1 = rng.binomial(n_per_arm, p0), rng.binomial(n_per_arm, p1)
    if dims is None:
        labels = {"seg": [f"s{j:02d}" for j in range(segments)]}
    else:
        a, b = dims
        labels = {"tier": [f"t{j // b}" for j in range(segments)],
                  "plus": [f"p{j % b}" for j in range(segments)]}
    frame = pd.concat([
        pd.DataFrame({**labels, "arm": arm, "n": n_per_arm, "conv": y})
        for arm, y in (("control", y0), ("treatment", y1))], ignore_index=True)
    cols = list(labels)
    stats = sufficient_stats(open_source(frame), arm="arm", metric="conv", n="n", segments=cols,
                             control="control")
    seg = [" x ".join(v) for v in zip(*labels.values(), strict=True)]
    truth = pd.DataFrame({"segment": seg, "n_per_arm": n_per_arm, "p_control": p0,
                          "p_treatment": p1, "abs_lift": p1 - p0, "rel_lift": p1 / p0 - 1,
                          "delta": delta})
    return stats, truth
