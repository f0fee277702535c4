"""The hand-written propensity log density against PyMC's model of the same posterior."""

from __future__ import annotations

import numpy as np
import pytest

from bayeslab.bayes import propensity_nuts as pn
from bayeslab.bayes.propensity import PropensityPrior
from bayeslab.kernels.propensity_logp import LogisticBlocks, arm_moments

pytest.importorskip("pymc")


def _data(n=600, k=4, seed=0):
    rng = np.random.default_rng(seed)
    Z1 = np.column_stack([np.ones(n), rng.standard_normal((n, k - 1))])
    t = (rng.random(n) < 1 / (1 + np.exp(-Z1 @ np.linspace(-0.5, 0.5, k)))).astype(int)
    yb = (rng.random(n) < 0.35).astype(float)
    yc = Z1 @ np.linspace(1, -1, k) + 0.5 * t + rng.standard_normal(n)
    return Z1, t, yb, (yc - yc.mean()) / yc.std()


@pytest.mark.parametrize(("kind", "dr"), [("binary", True), ("continuous", True),
                                          ("binary", False)])
def test_logp_and_gradient_equal_pymc(kind, dr):
    """Value and gradient equal PyMC's ``compile_logp`` / ``compile_dlogp`` (Jacobian
    included) at random points, to rounding: same density, constants and all."""
    Z1, t, yb, yc = _data()
    ys = yb if kind == "binary" else yc
    prior = PropensityPrior(intercept_sigma=2.0, beta_sigma=1.5, outcome_sigma=3.0,
                            noise_sigma=0.7)
    f = pn.logp_function(Z1, t, kind, ys, dr, prior)
    model = pn.build_pymc_model(Z1, t, kind, ys, dr, prior)
    logp, dlogp = model.compile_logp(jacobian=True), model.compile_dlogp(jacobian=True)
    names = [v.name for v in model.value_vars]
    start = model.initial_point()
    rng = np.random.default_rng(1)
    for _ in range(4):
        point = {nm: rng.uniform(-1.5, 1.5, np.shape(start[nm])) for nm in names}
        theta = np.concatenate([np.ravel(point[nm]) for nm in names])
        assert len(theta) == f.n_dim
        value, grad = f(theta)
        np.testing.assert_allclose(value, logp(point), rtol=1e-9)  # PyMC: log1pexp to ~1e-10
        np.testing.assert_allclose(grad, dlogp(point), rtol=1e-8, atol=1e-8)


def test_logistic_blocks_match_direct_formula_and_copies_are_independent():
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((50, 3)) * 20          # large |eta|: the stable branch matters
    t = (rng.random(50) < 0.5).astype(float)
    c = rng.standard_normal(3)
    blocks = LogisticBlocks([(Z, t), (Z[:20], t[:20])])
    other = blocks.copy()
    value, (g1, g2) = blocks([c, 2 * c])
    eta1, eta2 = Z @ c, Z[:20] @ (2 * c)
    direct = sum(float(np.sum(tt * e - np.logaddexp(0, e))) for tt, e in
                 ((t, eta1), (t[:20], eta2)))
    np.testing.assert_allclose(value, direct, rtol=1e-12)
    np.testing.assert_allclose(g1, Z.T @ (t - 1 / (1 + np.exp(-eta1))), rtol=1e-10, atol=1e-12)
    other([0 * c, 0 * c])                          # its own buffers: blocks' answer unchanged
    np.testing.assert_allclose(g2, Z[:20].T @ (t[:20] - 1 / (1 + np.exp(-eta2))), rtol=1e-10,
                               atol=1e-12)


def test_arm_moments_give_the_gaussian_likelihood():
    """The O(k^2) likelihood from (Z'Z, Z'y, y'y, n) equals scipy's sum over rows."""
    from scipy import stats

    from bayeslab.kernels.propensity_logp import gaussian_suff

    Z1, _, _, y = _data(n=300)
    a, u = np.array([0.3, -0.2, 0.1, 0.5]), np.log(0.8)
    value, ga, gu = gaussian_suff(*arm_moments(Z1, y), a, u)
    np.testing.assert_allclose(value, stats.norm.logpdf(y, Z1 @ a, 0.8).sum(), rtol=1e-12)
    eps = 1e-6
    bumped = gaussian_suff(*arm_moments(Z1, y), a + [eps, 0, 0, 0], u)[0]
    np.testing.assert_allclose(ga[0], (bumped - value) / eps, rtol=1e-4)


@pytest.mark.slow
def test_nutpie_kernel_posterior_matches_pymc_model_sampled():
    """Same posterior in distribution: the kernel sampled by nutpie against the PyMC model
    sampled by nutpie over PyTensor; means within 0.15 posterior sd, sds within 15%."""
    from bayeslab.inference.sampling import sample_nutpie_model, sample_once

    Z1, t, _, yc = _data(n=800, seed=4)
    prior = PropensityPrior()
    a, _ = sample_nutpie_model(pn.nutpie_model(Z1, t, "continuous", yc, True, prior),
                               draws=1500, tune=800, chains=2, seed=5, cores=1,
                               progressbar=False)
    b, _, _ = sample_once(pn.build_pymc_model(Z1, t, "continuous", yc, True, prior),
                          draws=1500, tune=800, chains=2, seed=6, sampler="nutpie",
                          progressbar=False)
    for name in ("intercept", "beta", "alpha", "sigma"):
        x = a["posterior"][name].values.reshape(3000, -1)
        y = b["posterior"][name].values.reshape(3000, -1)
        np.testing.assert_array_less(np.abs(x.mean(0) - y.mean(0)), 0.15 * y.std(0))
        np.testing.assert_allclose(x.std(0), y.std(0), rtol=0.15)
