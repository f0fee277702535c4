r"""The Bayesian propensity model for NUTS: a hand-written log density, PyMC as the reference.

The model is stated in :mod:`bayeslab.bayes.propensity`. :func:`nutpie_model` hands nutpie the
numpy log density and gradient of :mod:`bayeslab.kernels.propensity_logp` (exactly the PyMC
model's, constants included; the Gaussian outcome through each arm's sufficient statistics),
which costs a few times less per gradient than PyTensor's graph of the same model and needs no
compiling. :func:`build_pymc_model` is the same model in PyMC: the reference of the tests and
of the benchmark's PyMC rows, and the model sampled when nutpie is missing.

Unconstrained coordinates, in order: ``intercept``, ``beta`` (k - 1), and in the doubly robust
model ``alpha`` (2 x k: treated row first, then control), ``log sigma`` (2, continuous outcome).
"""

from __future__ import annotations

import numpy as np


def build_pymc_model(Z1, t, kind, ys, doubly_robust, prior):
    """The propensity (and outcome) model in PyMC, on the design ``Z1`` (intercept column first).

    Parameters
    ----------
    Z1 : numpy.ndarray
        n x k design: a column of ones, then the standardized confounders.
    t : numpy.ndarray
        Treatment indicator (0 / 1).
    kind : {"binary", "continuous"}
    ys : numpy.ndarray
        Outcome (standardized when continuous).
    doubly_robust : bool
    prior : PropensityPrior

    Returns
    -------
    pymc.Model
    """
    import pymc as pm

    k = Z1.shape[1]
    t = np.asarray(t)
    # check_bounds=False: the parameters are unbounded, and the bound checks of the Bernoulli
    # likelihood doubled the cost of a gradient at 10,000 rows
    with pm.Model(check_bounds=False) as model:
        X = pm.Data("confounders", np.ascontiguousarray(Z1[:, 1:], dtype=float))
        td = pm.Data("treated_flag", t.astype(np.int64))
        b0 = pm.Normal("intercept", 0.0, prior.intercept_sigma)
        b = pm.Normal("beta", 0.0, prior.beta_sigma, shape=k - 1)
        pm.Bernoulli("treated", logit_p=b0 + pm.math.dot(X, b), observed=td)
        if doubly_robust:
            alpha = pm.Normal("alpha", 0.0, prior.outcome_sigma, shape=(2, k))  # 0: treated
            if kind != "binary":
                sigma = pm.HalfNormal("sigma", prior.noise_sigma, shape=2)
            for j, (label, arm) in enumerate((("treated", 1), ("control", 0))):
                m = t == arm
                Z = pm.Data(f"design_{label}", np.ascontiguousarray(Z1[m], dtype=float))
                lin = pm.math.dot(Z, alpha[j])
                if kind == "binary":
                    yo = pm.Data(f"outcome_{label}", np.asarray(ys[m]).astype(np.int64))
                    pm.Bernoulli(f"outcome_{label}_obs", logit_p=lin, observed=yo)
                else:
                    yo = pm.Data(f"outcome_{label}", np.asarray(ys[m], dtype=float))
                    pm.Normal(f"outcome_{label}_obs", mu=lin, sigma=sigma[j], observed=yo)
    return model


def logp_function(Z1, t, kind, ys, doubly_robust, prior):
    """``logp(theta) -> (value, gradient)`` of the model on its unconstrained coordinates."""
    from bayeslab.kernels.propensity_logp import PropensityLogp

    k = Z1.shape[1]
    scales = [prior.intercept_sigma] + [prior.beta_sigma] * (k - 1)
    return PropensityLogp(Z1, t, ys if doubly_robust else None, kind, scales,
                          prior.outcome_sigma, prior.noise_sigma)


def expand(theta, k, kind, doubly_robust) -> dict:
    """Named values of the unconstrained vector ``theta``."""
    out = {"intercept": np.asarray(theta[0]), "beta": np.asarray(theta[1:k])}
    if doubly_robust:
        out["alpha"] = np.asarray(theta[k:3 * k]).reshape(2, k)
        if kind != "binary":
            out["sigma"] = np.exp(theta[3 * k:3 * k + 2])
    return out


def nutpie_model(Z1, t, kind, ys, doubly_robust, prior):
    """A nutpie model of the propensity posterior over the numpy log density.

    Returns
    -------
    nutpie compiled model
        Sample it with :func:`bayeslab.inference.sampling.sample_nutpie_model`; its posterior holds
        ``intercept``, ``beta``, and in the doubly robust model ``alpha`` (2 x k) and, for a
        continuous outcome, ``sigma`` (2).
    """
    from nutpie.compiled_pyfunc import from_pyfunc

    k = Z1.shape[1]
    logp = logp_function(Z1, t, kind, ys, doubly_robust, prior)
    n_dim = logp.n_dim
    names = ["intercept", "beta"]
    shapes = [(), (k - 1,)]
    if doubly_robust:
        names.append("alpha")
        shapes.append((2, k))
        if kind != "binary":
            names.append("sigma")
            shapes.append((2,))

    def make_logp():  # one per chain, with buffers of its own
        own = logp.copy()
        return lambda x, **_: own(x)

    def make_expand(seed1, seed2, chain):
        def expand_fn(x, **_):
            values = expand(np.asarray(x), k, kind, doubly_robust)
            return {n: np.asarray(values[n], dtype=np.float64, order="C") for n in names}
        return expand_fn

    def initial_point(seed):
        # PyMC's default: the prior's centre (0 on every unconstrained coordinate) + U(-1, 1)
        return np.random.default_rng(seed).uniform(-1.0, 1.0, n_dim)

    return from_pyfunc(ndim=n_dim, make_logp_fn=make_logp, make_expand_fn=make_expand,
                       make_initial_point_fn=initial_point,
                       expanded_dtypes=[np.dtype("float64")] * len(names),
                       expanded_shapes=shapes, expanded_names=names)
