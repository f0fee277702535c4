"""Shared simulated data for the revenue, means, funnel and retention tests (fixed seeds)."""

import numpy as np
import pandas as pd


def revenue_frame(n=5000, arms=2, seed=0, effect=5.0):
    """Skewed, heteroskedastic revenue with a correlated pre-period covariate."""
    rng = np.random.default_rng(seed)
    d = rng.integers(0, arms, n)
    x = rng.gamma(1.5, 30, n)
    y = np.maximum(0, 10 + 0.8 * x + effect * d + rng.normal(0, 5 + 0.3 * x))
    return pd.DataFrame({"arm": d, "y": y, "x": x})
