r"""Log density and gradient of the Bayesian propensity model, hand-written for NUTS.

The model of :mod:`bayeslab.bayes.propensity` on its unconstrained vector
:math:`\theta = (\beta_0, \beta_{1..k-1}, \alpha_{1,\cdot}, \alpha_{0,\cdot}, u_1, u_0)`
(:math:`\alpha` and :math:`u` only in the doubly robust model, :math:`u_a = \log\sigma_a` only
for a continuous outcome):

.. math::

    \log p(\theta \mid \text{data}) =\;& \sum_i t_i \eta_i - \operatorname{softplus}(\eta_i)
        + \sum_j \log \mathcal N(\beta_j \mid 0, s_j^2), \qquad \eta = Z\beta, \\
    &+ \sum_a \ell_a(\alpha_a, \sigma_a) + \log \mathcal N(\alpha_a \mid 0, s_\alpha^2 I)
        + \log \operatorname{HalfNormal}(\sigma_a \mid s_\sigma) + u_a

with :math:`\operatorname{softplus}(x) = \log(1 + e^x)` and the gradient of the logistic part
:math:`Z^\top(t - \operatorname{expit}(\eta))`. A binary outcome's :math:`\ell_a` is the same
logistic likelihood on the rows of arm :math:`a`. A Gaussian outcome's comes from the arm's
sufficient statistics :math:`G = Z_a^\top Z_a`, :math:`c = Z_a^\top y_a`, :math:`q = y_a^\top y_a`,
:math:`n_a` (exact, and :math:`O(k^2)` instead of :math:`O(n_a k)` per gradient):

.. math::

    \ell_a = -\tfrac{n_a}{2}\log 2\pi - n_a \log\sigma_a
             - \frac{q - 2\alpha_a^\top c + \alpha_a^\top G \alpha_a}{2\sigma_a^2}, \qquad
    \nabla_{\alpha_a}\ell_a = \frac{c - G\alpha_a}{\sigma_a^2} .

Written in numpy (no compile step): one matrix-vector product per coefficient vector, one pass
of vectorized ufuncs over all logistic rows into buffers allocated once per chain, and one
product per vector for the gradient; 3.5x faster than a numba loop over rows (numpy's SIMD
``exp`` / ``log1p``) and 2-4x faster than PyTensor's graph of the same model. Every constant of
the density is kept, so the value equals PyMC's ``model.compile_logp(jacobian=True)`` of the
same model (checked in the tests).
"""

from __future__ import annotations

import math

import numpy as np

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class LogisticBlocks:
    r"""Logistic log likelihoods of several row blocks, each with its own coefficients.

    Block :math:`b` has rows :math:`Z_b` (n_b x k), 0 / 1 targets :math:`t_b` and coefficients
    :math:`\theta_b`; the value is :math:`\sum_b \sum_i t_{bi}\eta_{bi} -
    \operatorname{softplus}(\eta_{bi})` with :math:`\eta_b = Z_b\theta_b`, stably as
    :math:`\max(\eta, 0) + \log(1 + e^{-|\eta|})`, and the gradient in :math:`\theta_b` is
    :math:`Z_b^\top(t_b - \operatorname{expit}(\eta_b))`. The rows of all blocks are processed
    by one pass of vectorized numpy functions into buffers allocated once (not thread-safe:
    one instance per chain, see :meth:`copy`).
    """

    def __init__(self, blocks):
        # k x n_b, rows contiguous: both products read it along its rows (a row-major n x k
        # matrix times a vector, k = 9, ran 5-10x slower at 1e5 rows)
        self.ZTs = [np.ascontiguousarray(np.asarray(Z, dtype=np.float64).T) for Z, _ in blocks]
        self.T = np.concatenate([np.asarray(t, dtype=np.float64) for _, t in blocks])
        self._T_half = self.T - 0.5
        ends = np.cumsum([ZT.shape[1] for ZT in self.ZTs])
        self.slices = [slice(int(e - ZT.shape[1]), int(e))
                       for ZT, e in zip(self.ZTs, ends, strict=True)]
        self.copy_buffers()

    def copy_buffers(self):
        """Allocate this instance's work buffers."""
        n = len(self.T)
        self._eta, self._e, self._a, self._r = (np.empty(n) for _ in range(4))

    def copy(self) -> LogisticBlocks:
        """The same blocks (shared read-only) with buffers of its own."""
        new = object.__new__(LogisticBlocks)
        new.__dict__.update(self.__dict__)
        new.copy_buffers()
        return new

    def __call__(self, coefs):
        """``(value, [gradient of each block])`` at the coefficient vectors ``coefs``."""
        eta, e, a, r = self._eta, self._e, self._a, self._r
        for ZT, sl, c in zip(self.ZTs, self.slices, coefs, strict=True):
            np.matmul(c, ZT, out=eta[sl])
        np.abs(eta, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)                             # exp(-|eta|) in (0, 1]: no overflow
        np.log1p(e, out=a)
        np.maximum(eta, 0.0, out=r)
        a += r                                       # softplus(eta)
        np.multiply(self.T, eta, out=r)
        r -= a
        value = float(r.sum())
        # expit(eta) = (1 + tanh(eta / 2)) / 2: no overflow, no mask (a masked copy took 8x
        # as long); absolute error ~1e-16, all the gradient needs
        np.multiply(eta, 0.5, out=r)
        np.tanh(r, out=r)
        r *= -0.5
        r += self._T_half                            # t - expit(eta)
        return value, [ZT @ r[sl] for ZT, sl in zip(self.ZTs, self.slices, strict=True)]


def normal_prior(x: np.ndarray, scale):
    """Sum of ``log Normal(x | 0, scale)`` and its gradient."""
    z = x / scale
    value = float(np.sum(-0.5 * z * z - np.log(scale) - _HALF_LOG_2PI))
    return value, -z / scale


def gaussian_suff(G, c, q, n, alpha, u):
    """One arm's Gaussian log likelihood from ``(Z'Z, Z'y, y'y, n)``, at ``sigma = exp(u)``.

    Returns the value, its gradient in ``alpha`` and its derivative in ``u``.
    """
    g_alpha = G @ alpha
    rss = q - 2.0 * float(alpha @ c) + float(alpha @ g_alpha)
    inv_s2 = math.exp(-2.0 * u)
    value = -n * _HALF_LOG_2PI - n * u - 0.5 * rss * inv_s2
    return value, (c - g_alpha) * inv_s2, -n + rss * inv_s2


def half_normal_log(u, s):
    """``log HalfNormal(exp(u) | s) + u`` (the log transform's Jacobian) and its u-derivative."""
    sigma2 = math.exp(2.0 * u)
    value = math.log(2.0) - _HALF_LOG_2PI - math.log(s) - 0.5 * sigma2 / (s * s) + u
    return value, -sigma2 / (s * s) + 1.0


class PropensityLogp:
    """``logp(theta) -> (value, gradient)`` of the propensity model (module docstring).

    Parameters
    ----------
    Z : numpy.ndarray
        n x k design, intercept column first.
    t : numpy.ndarray
        Treatment indicator (0 / 1).
    y : numpy.ndarray or None
        Outcome (0 / 1 when ``kind == "binary"``; standardized otherwise); ``None`` without
        the outcome model.
    kind : {"binary", "continuous"}
    prop_scales : numpy.ndarray
        Prior sds of ``(beta_0, beta)``.
    out_scale, noise_scale : float
        Prior sd of the outcome coefficients, HalfNormal scale of the outcome noise.
    """

    def __init__(self, Z, t, y, kind, prop_scales, out_scale, noise_scale):
        Z = np.ascontiguousarray(Z, dtype=np.float64)
        k = Z.shape[1]
        self.k, self.kind = k, kind
        t = np.asarray(t, dtype=np.float64)
        self.dr = y is not None
        self.prop_scales = np.asarray(prop_scales, dtype=np.float64)
        self.out_scale, self.noise_scale = float(out_scale), float(noise_scale)
        self.n_dim = k if not self.dr else 3 * k + (2 if kind != "binary" else 0)
        blocks = [(Z, t)]
        m1, m0 = t == 1, t == 0
        if self.dr:
            y = np.asarray(y, dtype=np.float64)
            if kind == "binary":
                blocks += [(Z[m1], y[m1]), (Z[m0], y[m0])]
            else:
                self.moments = (arm_moments(Z[m1], y[m1]), arm_moments(Z[m0], y[m0]))
        self.logistic = LogisticBlocks(blocks)

    def copy(self) -> PropensityLogp:
        """The same model with buffers of its own (one per chain: calls run in parallel)."""
        new = object.__new__(PropensityLogp)
        new.__dict__.update(self.__dict__)
        new.logistic = self.logistic.copy()
        return new

    def __call__(self, theta):
        """``(log density, gradient)`` at the unconstrained vector ``theta``."""
        theta = np.asarray(theta, dtype=np.float64)
        k = self.k
        grad = np.zeros(self.n_dim)
        n_blocks = len(self.logistic.ZTs)
        value, grads = self.logistic([theta[b * k:(b + 1) * k] for b in range(n_blocks)])
        grad[:n_blocks * k] = np.concatenate(grads)
        v, g = normal_prior(theta[:k], self.prop_scales)
        value += v
        grad[:k] += g
        if not self.dr:
            return value, grad
        v, g = normal_prior(theta[k:3 * k], self.out_scale)
        value += v
        grad[k:3 * k] += g
        if self.kind == "binary":
            return value, grad
        for j, (G, c, q, n) in enumerate(self.moments):
            a = slice(k * (1 + j), k * (2 + j))
            u = float(theta[3 * k + j])
            v, ga, gu = gaussian_suff(G, c, q, n, theta[a], u)
            v2, gu2 = half_normal_log(u, self.noise_scale)
            value += v + v2
            grad[a] += ga
            grad[3 * k + j] += gu + gu2
        return value, grad


def arm_moments(Z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Sufficient statistics ``(Z'Z, Z'y, y'y, n)`` of one arm's Gaussian regression."""
    Z = np.asarray(Z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return (np.ascontiguousarray(Z.T @ Z), np.ascontiguousarray(Z.T @ y), float(y @ y),
            float(len(y)))
