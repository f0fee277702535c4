r"""Log density and gradient of the spike-t effect distribution, hand-written for NUTS.

The ``"spike-t"`` family of :func:`bayeslab.bayes.history.fit_effect_distribution`: past
estimates :math:`y_i` with standard errors :math:`s_i`, a null share :math:`\pi`, and a slab
:math:`\mu + \tau t_\nu` written as a :math:`K`-point scale mixture of Normals (precision
multipliers :math:`\lambda_{\nu,k}`, weights :math:`w_k`;
:func:`bayeslab.bayes.history_prior.scale_nodes`), :math:`\nu` summed out over its :math:`J + 1`
values (the last one :math:`\infty`, one Normal):

.. math::

    \ell_{ij} &= \log\big(\pi\, \phi(y_i; 0, s_i^2)
        + (1 - \pi) \textstyle\sum_k w_k\, \phi(y_i; \mu, \tau^2/\lambda_{jk} + s_i^2)\big),
        \qquad L_j = \textstyle\sum_i \ell_{ij}, \\
    \log p &= \log \tfrac{1}{J + 1} \textstyle\sum_j e^{L_j}
        + \log N(\mu \mid 0, S) + \log N^+(\tau \mid 2S) + u + \log \pi (1 - \pi)

on the unconstrained coordinates :math:`x = (\mu, u = \log\tau, v = \operatorname{logit}\pi)`
(the last two terms are the transforms' Jacobians; the Beta(1, 1) prior of :math:`\pi` is 1).
:math:`\phi` leaves out :math:`-\tfrac12\log 2\pi` per experiment, as the PyMC model's potential
does, so the value equals PyMC's ``compile_logp(jacobian=True)`` of that model (tested). The
gradient is the analytic one: with :math:`r = y_i - \mu` and a component's precision
:math:`P = 1/(\tau^2/\lambda + s_i^2)`, :math:`\partial_\mu \log\phi = rP` and
:math:`\partial_\tau \log\phi = (r^2P^2 - P)\,\tau/\lambda`; the components' shares within
the slab, the slab's share against the atom and the softmax of :math:`L_j` over :math:`\nu`
weigh them.

One compiled loop over experiments (numba, machine code cached on disk by numba), with no
PyTensor model to compile or load in a new process.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True, fastmath=True, error_model="numpy")
def _slab(r, r2, si2, t2, tau, lam, w):
    """Log of sum_k w_k phi_k (no 2 pi), and its derivatives in mu and tau, for one nu row."""
    p0 = 1.0 / (t2 / lam[0] + si2)
    acc, dmu, dtau = 1.0, p0, (r2 * p0 * p0 - p0) / lam[0]
    for k in range(1, lam.size):
        pk = 1.0 / (t2 / lam[k] + si2)
        e = (w[k] / w[0]) * math.sqrt(pk / p0) * math.exp(-0.5 * r2 * (pk - p0))
        acc += e
        dmu += e * pk
        dtau += e * (r2 * pk * pk - pk) / lam[k]
    log_slab = math.log(w[0]) + 0.5 * math.log(p0) - 0.5 * r2 * p0 + math.log(acc)
    return log_slab, r * dmu / acc, tau * dtau / acc


@njit(cache=True, fastmath=True, error_model="numpy")
def _terms(mu, tau, pi, y, s2, lam, w):
    """Per nu row j: L_j and its derivatives in mu, tau and pi."""
    n_rows = lam.shape[0] + 1
    L, g_mu, g_tau, g_pi = np.zeros(n_rows), np.zeros(n_rows), np.zeros(n_rows), np.zeros(n_rows)
    t2 = tau * tau
    log_pi, log_keep = math.log(pi), math.log1p(-pi)
    for i in range(y.size):
        r = y[i] - mu
        r2, si2 = r * r, s2[i]
        a = log_pi - 0.5 * y[i] * y[i] / si2 - 0.5 * math.log(si2)
        for j in range(n_rows):
            if j < n_rows - 1:
                log_slab, d_mu, d_tau = _slab(r, r2, si2, t2, tau, lam[j], w)
            else:                                   # nu = inf: one Normal
                p = 1.0 / (t2 + si2)
                log_slab, d_mu, d_tau = 0.5 * math.log(p) - 0.5 * r2 * p, r * p, \
                    tau * (r2 * p * p - p)
            b = log_keep + log_slab
            top = max(a, b)
            lm = top + math.log1p(math.exp(-abs(a - b)))
            ra, rb = math.exp(a - lm), math.exp(b - lm)
            L[j] += lm
            g_mu[j] += rb * d_mu
            g_tau[j] += rb * d_tau
            g_pi[j] += ra / pi - rb / (1.0 - pi)
    return L, g_mu, g_tau, g_pi


def logp(x, y, s2, lam, w, scale):
    """``(log density, gradient)`` at the unconstrained ``x = (mu, log tau, logit pi)``.

    ``lam``: the finite nu rows of the precision multipliers, shape (J, K); ``w``: the K weights;
    ``scale``: S of the priors (module docstring).
    """
    mu, u, v = float(x[0]), float(x[1]), float(x[2])
    tau = math.exp(u)
    pi = 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))
    pi = min(max(pi, 1e-300), 1.0 - 1e-16)
    L, g_mu, g_tau, g_pi = _terms(mu, tau, pi, y, s2, lam, w)
    top = L.max()
    share = np.exp(L - top)
    total = share.sum()
    share /= total
    value = top + math.log(total) - math.log(L.size)
    d_mu, d_tau, d_pi = float(share @ g_mu), float(share @ g_tau), float(share @ g_pi)
    # priors and Jacobians: mu ~ N(0, S), tau ~ HalfNormal(2 S) with tau = e^u, pi = expit(v)
    t2s = 2.0 * scale
    value += (-0.5 * (mu / scale) ** 2 - math.log(scale) - _HALF_LOG_2PI
              + math.log(2.0) - _HALF_LOG_2PI - math.log(t2s) - 0.5 * (tau / t2s) ** 2 + u
              + math.log(pi) + math.log1p(-pi))
    grad = np.array([d_mu - mu / scale ** 2,
                     d_tau * tau - (tau / t2s) ** 2 + 1.0,
                     d_pi * pi * (1.0 - pi) + 1.0 - 2.0 * pi])
    return value, grad
