"""Penalized logistic regression by Newton's method (numpy only)."""

from __future__ import annotations

import numpy as np
from scipy import special


def logit_newton(Z1, y, freq=None, *, prior_precision=None, start=None, max_iter=50,
                 tol=1e-10):
    r"""Weighted (penalized) logistic regression by Newton's method.

    Maximizes :math:`\sum_i f_i[y_i \eta_i - \log(1 + e^{\eta_i})] - \tfrac12 \beta^\top P \beta`
    with frequency weights :math:`f` and precision matrix :math:`P` (``prior_precision``; none by
    default). Returns ``(beta, information)`` with the information matrix at the optimum.
    """
    n, k = Z1.shape
    f = np.ones(n) if freq is None else np.asarray(freq, dtype=np.float64)
    P = np.zeros((k, k)) if prior_precision is None else np.asarray(prior_precision)
    beta = np.zeros(k) if start is None else np.array(start, dtype=np.float64)
    for _ in range(max_iter):
        mu = special.expit(Z1 @ beta)
        grad = Z1.T @ (f * (y - mu)) - P @ beta
        info = (Z1 * (f * mu * (1 - mu))[:, None]).T @ Z1 + P
        step = np.linalg.solve(info, grad)
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    mu = special.expit(Z1 @ beta)
    info = (Z1 * (f * mu * (1 - mu))[:, None]).T @ Z1 + P
    return beta, info
