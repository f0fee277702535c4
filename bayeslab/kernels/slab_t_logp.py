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

Compiled loops over experiments (numba, machine code cached on disk by numba): 0.75-0.78 ms per
value and gradient on 1,000 experiments against 0.96-1.00 ms for PyTensor's graph of the same
model (interleaved, busy machine), and no PyTensor model to compile or load in a new process.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True, fastmath=True, error_model="numpy")
def _terms(mu, tau, pi, y, s2, lam, w):
    """Per nu row j: L_j and its derivatives in mu, tau and pi.

    Loops over experiments innermost, each pass simple enough for the compiler to vectorize
    (the exponentials in a pass of their own): 1.3x faster than one loop per experiment.
    """
    n_fin, n_pts = lam.shape
    n = y.size
    L, g_mu, g_tau, g_pi = (np.zeros(n_fin + 1), np.zeros(n_fin + 1), np.zeros(n_fin + 1),
                            np.zeros(n_fin + 1))
    t2 = tau * tau
    log_pi, log_keep = math.log(pi), math.log1p(-pi)
    r, r2, atom = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        r[i] = y[i] - mu
        r2[i] = r[i] * r[i]
        atom[i] = log_pi - 0.5 * y[i] * y[i] / s2[i] - 0.5 * math.log(s2[i])
    p0, acc, d_mu, d_tau = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    pk, ratio, e, log_slab = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for j in range(n_fin + 1):
        if j < n_fin:
            # relative to the widest point k = 0: every exponent is <= 0, one log per row
            il = 1.0 / lam[j, 0]
            for i in range(n):
                q = 1.0 / (t2 * il + s2[i])
                p0[i], acc[i], d_mu[i] = q, 1.0, q
                d_tau[i] = (r2[i] * q * q - q) * il
            for k in range(1, n_pts):
                c, il = w[k] / w[0], 1.0 / lam[j, k]
                for i in range(n):
                    q = 1.0 / (t2 * il + s2[i])
                    pk[i] = q
                    ratio[i] = c * math.sqrt(q / p0[i])
                    e[i] = -0.5 * r2[i] * (q - p0[i])
                for i in range(n):
                    e[i] = math.exp(e[i])
                for i in range(n):
                    term, q = ratio[i] * e[i], pk[i]
                    acc[i] += term
                    d_mu[i] += term * q
                    d_tau[i] += term * (r2[i] * q * q - q) * il
            log_w0 = math.log(w[0])
            for i in range(n):
                log_slab[i] = (log_w0 + 0.5 * math.log(p0[i]) - 0.5 * r2[i] * p0[i]
                               + math.log(acc[i]))
                d_mu[i] = r[i] * d_mu[i] / acc[i]
                d_tau[i] = tau * d_tau[i] / acc[i]
        else:                                       # nu = inf: one Normal
            for i in range(n):
                q = 1.0 / (t2 + s2[i])
                log_slab[i] = 0.5 * math.log(q) - 0.5 * r2[i] * q
                d_mu[i] = r[i] * q
                d_tau[i] = tau * (r2[i] * q * q - q)
        total, gm, gt, gp = 0.0, 0.0, 0.0, 0.0
        for i in range(n):
            b = log_keep + log_slab[i]
            lm = max(atom[i], b) + math.log1p(math.exp(-abs(atom[i] - b)))
            ra, rb = math.exp(atom[i] - lm), math.exp(b - lm)
            total += lm
            gm += rb * d_mu[i]
            gt += rb * d_tau[i]
            gp += ra / pi - rb / (1.0 - pi)
        L[j], g_mu[j], g_tau[j], g_pi[j] = total, gm, gt, gp
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
