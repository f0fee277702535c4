r"""The effect distributions ``auto`` compares, for NUTS: hand-written log densities.

The ``"normal"`` and ``"spike-t"`` families of
:func:`bayeslab.bayes.history.fit_effect_distribution` are stated there and built in PyMC by
:func:`bayeslab.bayes.history.build_model`. :func:`nutpie_model` hands nutpie their log
densities and gradients written out instead: the spike-t's compiled loop of
:mod:`bayeslab.kernels.slab_t_logp`, the Normal's

.. math::

    \log p = \sum_i \log N(y_i \mid \mu, \tau^2 + s_i^2) + \log N(\mu \mid 0, S)
        + \log N^+(\tau \mid 2S) + u, \qquad
    \partial_\mu = \sum_i \frac{y_i - \mu}{v_i} - \frac{\mu}{S^2}, \quad
    \partial_u = \tau^2 \sum_i \Big(\frac{(y_i - \mu)^2}{v_i^2} - \frac{1}{v_i}\Big)
        - \frac{\tau^2}{4S^2} + 1

(:math:`v_i = \tau^2 + s_i^2`, :math:`u = \log\tau`), in numpy. Both equal the PyMC models'
``compile_logp(jacobian=True)`` and ``compile_dlogp`` to 1e-9 (``tests/bayes/test_history.py``).
A new process then needs neither PyMC nor a PyTensor model compiled or loaded from the cache,
and the spike-t gradient costs less than PyTensor's graph of it. The PyMC models stay the
reference of the tests and the models sampled when nutpie is missing.

Unconstrained coordinates, in order: ``mu``, ``log tau`` and, for the spike-t,
``logit pi``; the posterior holds ``mu``, ``tau`` (and ``pi``).
"""

from __future__ import annotations

import math

import numpy as np

#: the families with a hand-written density, and the variables of each
NAMES = {"normal": ("mu", "tau"), "spike-t": ("mu", "tau", "pi")}
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def logp_function(family: str, y, s, scale: float):
    """``logp(x) -> (value, gradient)`` on ``x = (mu, log tau[, logit pi])``."""
    y = np.ascontiguousarray(y, dtype=np.float64)
    s2 = np.ascontiguousarray(np.asarray(s, dtype=np.float64) ** 2)
    scale = float(scale)
    if family == "normal":
        return lambda x: _normal_logp(x, y, s2, scale)
    from bayeslab.bayes.history_prior import SLAB_NU, scale_weights, slab_nodes
    from bayeslab.kernels import slab_t_logp

    lam = np.ascontiguousarray(slab_nodes(tuple(v for v in SLAB_NU if np.isfinite(v))))
    w = np.ascontiguousarray(scale_weights(), dtype=np.float64)
    return lambda x: slab_t_logp.logp(x, y, s2, lam, w, scale)


def _normal_logp(x, y, s2, scale):
    mu, u = float(x[0]), float(x[1])
    t2 = math.exp(2.0 * u)
    v = t2 + s2
    r = y - mu
    z2 = r * r / v
    sd2 = 2.0 * scale
    value = (float(np.sum(-0.5 * z2 - 0.5 * np.log(v))) - y.size * _HALF_LOG_2PI
             - 0.5 * (mu / scale) ** 2 - math.log(scale) - _HALF_LOG_2PI
             + math.log(2.0) - _HALF_LOG_2PI - math.log(sd2) - 0.5 * t2 / sd2 ** 2 + u)
    grad = np.array([float(np.sum(r / v)) - mu / scale ** 2,
                     t2 * float(np.sum((z2 - 1.0) / v)) - t2 / sd2 ** 2 + 1.0])
    return value, grad


def expand(x) -> dict:
    """Named constrained values of the unconstrained ``x`` (``pi`` when it has 3 coordinates)."""
    out = {"mu": np.asarray(float(x[0])), "tau": np.asarray(math.exp(float(x[1])))}
    if len(x) > 2:
        from scipy import special

        out["pi"] = np.asarray(float(special.expit(x[2])))
    return out


def nutpie_model(family: str, y, s, scale: float):
    """A nutpie model of the ``"normal"`` or ``"spike-t"`` posterior over its written density.

    Chains start where the PyMC path starts them: the prior's support point (``mu = 0``,
    ``tau = 2 S``, ``pi = 1/2``) plus a U(-1, 1) jitter on each unconstrained coordinate.

    Returns
    -------
    nutpie compiled model
        Sample it with :func:`bayeslab.inference.sampling.sample_with_remedy` (``density=``).
    """
    from nutpie.compiled_pyfunc import from_pyfunc

    names = NAMES[family]
    logp = logp_function(family, y, s, scale)
    start = np.array([0.0, np.log(2.0 * float(scale)), 0.0][:len(names)])
    logp(start)   # compile (or load numba's cache) now, not inside the first chain

    def make_logp():
        return lambda x, **_: logp(x)

    def make_expand(seed1, seed2, chain):
        def expand_fn(x, **_):
            values = expand(np.asarray(x))
            return {n: np.asarray(values[n], dtype=np.float64) for n in names}
        return expand_fn

    def initial_point(seed):
        return start + np.random.default_rng(seed).uniform(-1.0, 1.0, start.size)

    return from_pyfunc(ndim=len(names), make_logp_fn=make_logp, make_expand_fn=make_expand,
                       make_initial_point_fn=initial_point,
                       expanded_dtypes=[np.dtype("float64")] * len(names),
                       expanded_shapes=[()] * len(names), expanded_names=list(names))
