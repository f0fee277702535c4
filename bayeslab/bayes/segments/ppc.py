"""Posterior and prior predictive checks of the observed segment cells."""

from __future__ import annotations

import numpy as np

from bayeslab.bayes.segments.model import build_model
from bayeslab.core import format as fmt
from bayeslab.core.errors import ModelError


def predictive_check(fit, *, kind: str = "posterior", draws: int = 500,
                     seed: int = 0):
    """Posterior or prior predictive check of the observed cells of ``fit``."""
    from bayeslab.inference.diagnostics import (
        binomial_replicates,
        draws_matrix,
        normal_replicates,
        ppc_cells,
    )

    cells = fit.data.cells
    seg, arm = cells["seg_idx"].to_numpy(dtype=np.int64), cells["arm_idx"].to_numpy(dtype=np.int64)
    if kind == "posterior":
        theta = draws_matrix(fit.idata["posterior"], "theta")
    elif kind == "prior":
        import pymc as pm

        model = build_model(fit.data, family=fit.family, prior=fit.prior,
                            parameterization=fit.settings.get("parameterization",
                                                              "non-centered"))
        prior = pm.sample_prior_predictive(draws, model=model, random_seed=seed,
                                           var_names=["theta"])
        theta = draws_matrix(prior["prior"], "theta")
    else:
        raise ModelError(f"kind must be 'posterior' or 'prior', got {kind!r}")
    cell_theta = theta[:, seg, arm]
    cols = fit.data.segment_columns
    labels = [f"{fmt.segment_label(s, cols)} | arm {a}"
              for s, a in zip(cells["segment"], cells["arm"], strict=True)]
    if fit.family == "logistic":
        rep = binomial_replicates(cells["n"].to_numpy(), cell_theta, seed=seed)
        observed = (cells["sum"] / cells["n"]).to_numpy()
        quantity = "rate"
    else:
        se = cells["se"].to_numpy() * fit.data.scale
        rep = normal_replicates(se, cell_theta, seed=seed)
        observed = (cells["sum"] / cells["n"]).to_numpy()
        quantity = "mean"
    return ppc_cells(observed, rep, labels=labels, interval=fit.interval, kind=kind,
                     quantity=quantity)
