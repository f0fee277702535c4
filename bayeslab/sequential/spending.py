r"""Lan-DeMets alpha-spending functions and their spec strings (``"obf"``, ``"hsd:-4"``, ...).

Spending functions (Lan and DeMets 1983; Hwang, Shih and DeCani 1990; Kim and DeMets 1987), for a
one-sided level :math:`\alpha` and information fraction :math:`t \in (0, 1]`:

.. math::

    \alpha_{OBF}(t) &= 2 - 2\Phi\left(z_{1-\alpha/2} / \sqrt{t}\right) \\
    \alpha_{P}(t) &= \alpha \log(1 + (e - 1) t) \\
    \alpha_{HSD}(t; \gamma) &= \alpha \frac{1 - e^{-\gamma t}}{1 - e^{-\gamma}}
        \quad (\alpha t \text{ at } \gamma = 0) \\
    \alpha_{pow}(t; \rho) &= \alpha t^{\rho}

A two-sided design spends :math:`\alpha/2` on each side with the one-sided function and has
symmetric boundaries (the convention of gsDesign and of the published tables).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from bayeslab.core.errors import ModelError

SPENDING_NAMES = ("obf", "pocock", "hsd", "power")


@dataclass(frozen=True)
class SpendingFunction:
    r"""Lan-DeMets spending function :math:`\alpha(t)`, from 0 at t=0 to :math:`\alpha` at t=1.

    Attributes
    ----------
    name : {"obf", "pocock", "hsd", "power"}
    param : float, optional
        ``gamma`` for ``"hsd"``, ``rho`` for ``"power"``.
    """

    name: str
    param: float | None = None

    def __call__(self, t, alpha: float) -> np.ndarray:
        """Cumulative error spent at information fractions ``t`` for a total of ``alpha``."""
        t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
        if self.name == "obf":
            with np.errstate(divide="ignore"):
                out = 2.0 * norm.sf(norm.isf(alpha / 2.0) / np.sqrt(t))
        elif self.name == "pocock":
            out = alpha * np.log1p((math.e - 1.0) * t)
        elif self.name == "hsd":
            g = self.param
            out = alpha * t if g == 0 else alpha * np.expm1(-g * t) / np.expm1(-g)
        else:
            out = alpha * t**self.param
        return np.where(t >= 1.0, alpha, out)

    @property
    def spec(self) -> str:
        """The spec string, e.g. ``"hsd:-4"``."""
        return self.name if self.param is None else f"{self.name}:{self.param:g}"


def parse_spending(spec) -> SpendingFunction:
    r"""Parse ``"obf"``, ``"pocock"``, ``"hsd:GAMMA"`` or ``"power:RHO"``.

    Parameters
    ----------
    spec : str or SpendingFunction
        Bare ``"hsd"`` means :math:`\gamma = -4` (gsDesign's default); ``"power"`` needs its
        :math:`\rho > 0`.

    Returns
    -------
    SpendingFunction

    Raises
    ------
    ModelError
        Unknown name, missing or non-numeric parameter, :math:`\rho \le 0`.
    """
    if isinstance(spec, SpendingFunction):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ModelError(f"spending must be a string such as 'obf' or 'hsd:-4', got {spec!r}")
    name, _, arg = spec.strip().lower().partition(":")
    name = {"obrien-fleming": "obf", "of": "obf", "ldof": "obf", "ldpk": "pocock"}.get(name, name)
    if name not in SPENDING_NAMES:
        raise ModelError(f"spending {spec!r}: unknown function {name!r}; "
                         f"use one of obf, pocock, hsd:GAMMA, power:RHO")
    if name in ("obf", "pocock"):
        if arg:
            raise ModelError(f"spending {spec!r}: {name} takes no parameter")
        return SpendingFunction(name)
    if not arg:
        if name == "hsd":
            return SpendingFunction("hsd", -4.0)
        raise ModelError(f"spending {spec!r}: the power family needs rho, e.g. 'power:3'")
    try:
        value = float(arg)
    except ValueError:
        raise ModelError(f"spending {spec!r}: parameter {arg!r} is not a number") from None
    if not math.isfinite(value) or (name == "power" and value <= 0):
        raise ModelError(f"spending {spec!r}: parameter must be finite"
                         + (" and positive" if name == "power" else ""))
    return SpendingFunction(name, value)
