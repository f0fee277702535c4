r"""Group-sequential designs: alpha-spending and classical boundaries on the z scale.

Boundaries come from the joint distribution of the sequential z statistics, computed by recursive
numerical integration (:mod:`bayeslab.sequential._recursion`), never from the :math:`z/\sqrt{t}`
shortcut, which does not hold the overall type I error.

Spending functions (Lan and DeMets 1983; Hwang, Shih and DeCani 1990; Kim and DeMets 1987) are
in :mod:`bayeslab.sequential.spending`. A two-sided design spends :math:`\alpha/2` on each side
with the one-sided function and has symmetric boundaries (the convention of gsDesign and of the
published tables).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import json_float
from bayeslab.sequential._recursion import Recursion, crossing_probabilities
from bayeslab.sequential.spending import (  # re-exported: importable from here as before
    SPENDING_NAMES,
    SpendingFunction,
    parse_spending,
)

__all__ = ["SPENDING_NAMES", "GroupSequentialDesign", "SpendingFunction", "classical_design",
           "group_sequential_design", "parse_spending"]

_Z_MAX = 40.0


@dataclass(frozen=True)
class GroupSequentialDesign:
    r"""Boundaries of a group-sequential test on the z scale, one entry per look.

    The trial stops for efficacy at look k when :math:`Z_k \ge` ``upper[k]``; it stops when
    :math:`Z_k \le` ``lower[k]``, for efficacy in the negative direction in a two-sided design
    (``lower = -upper``), for futility in a one-sided design with beta spending (non-binding: the
    upper boundaries are computed as if futility were never applied), and never when ``lower`` is
    ``-inf``.

    Attributes
    ----------
    fractions, upper, lower : tuple of float
    alpha_spent, alpha_increment : tuple of float
        Cumulative and per-look type I error (both sides together) under the null.
    alpha, sides, spending, kind
        Total level, 1 or 2, spending spec (or ``"pocock-classical"`` / ``"obf-classical"``), and
        ``"spending"`` or ``"classical"``.
    beta, beta_spending, drift
        For a design with futility: the type II error, its spending spec, and the drift
        :math:`\theta = E[Z_K]` at which power is :math:`1-\beta`.
    """

    fractions: tuple
    upper: tuple
    lower: tuple
    alpha_spent: tuple
    alpha_increment: tuple
    alpha: float
    sides: int
    spending: str
    kind: str = "spending"
    beta: float | None = None
    beta_spending: str | None = None
    drift: float | None = None

    @property
    def looks(self) -> int:
        """Number of looks K."""
        return len(self.fractions)

    @property
    def lower_role(self) -> str:
        """``"efficacy"`` (two-sided), ``"futility"`` or ``"none"``."""
        if self.sides == 2:
            return "efficacy"
        return "futility" if self.beta is not None else "none"

    def crossing_probabilities(self, drift: float = 0.0):
        r"""Probability of stopping at each look through each boundary, for drift :math:`\theta`.

        Parameters
        ----------
        drift : float
            :math:`\theta = E[Z_K]`, i.e. effect / standard error at full information.

        Returns
        -------
        pandas.DataFrame
            Columns ``fraction, upper, lower, p_upper, p_lower, cum_upper, cum_lower``.
        """
        import pandas as pd

        p_up, p_lo = crossing_probabilities(self.fractions, self.upper, self.lower, drift)
        return pd.DataFrame({"fraction": self.fractions, "upper": self.upper, "lower": self.lower,
                             "p_upper": p_up, "p_lower": p_lo, "cum_upper": np.cumsum(p_up),
                             "cum_lower": np.cumsum(p_lo)})

    def power(self, drift: float) -> float:
        r"""Probability of rejecting the null at drift :math:`\theta` (either side if two-sided)."""
        p_up, p_lo = crossing_probabilities(self.fractions, self.upper, self.lower, drift)
        return float(p_up.sum() + (p_lo.sum() if self.sides == 2 else 0.0))

    def expected_fraction(self, drift: float = 0.0) -> float:
        r"""Return the expected information fraction at stopping at drift :math:`\theta`."""
        p_up, p_lo = crossing_probabilities(self.fractions, self.upper, self.lower, drift)
        stop = p_up + p_lo
        stop[-1] = 1.0 - stop[:-1].sum()
        return float(np.dot(stop, self.fractions))

    def drift_for_power(self, power: float = 0.8) -> float:
        r"""Solve for the drift :math:`\theta = E[Z_K]` at which the design has the given power.

        Raises
        ------
        ModelError
            ``power`` not in (alpha, 1).
        """
        if not self.alpha < power < 1:
            raise ModelError(f"power must be in (alpha={self.alpha:g}, 1), got {power!r}")
        if self.drift is not None and self.beta is not None and abs(power - 1 + self.beta) < 1e-12:
            return self.drift
        return brentq(lambda d: self.power(d) - power, 0.0, 15.0, xtol=1e-10)

    def inflation_factor(self, power: float = 0.8) -> float:
        """Maximum information relative to a fixed-sample test with the same alpha and power."""
        fixed = norm.isf(self.alpha / self.sides) + norm.ppf(power)
        return (self.drift_for_power(power) / fixed) ** 2

    def sample_sizes(self, n_fixed: float, power: float = 0.8) -> np.ndarray:
        """Cumulative sample sizes at the looks, given the fixed-design sample size ``n_fixed``."""
        return np.asarray(self.fractions) * n_fixed * self.inflation_factor(power)

    def to_dict(self) -> dict:
        """Return a JSON-safe dict ``{"looks": [{"fraction", "upper", "lower", ...}], ...}``."""
        looks = [{"look": k + 1, "fraction": float(t), "upper": json_float(u),
                  "lower": json_float(lo), "alpha_spent": float(a), "alpha_increment": float(da)}
                 for k, (t, u, lo, a, da) in enumerate(zip(self.fractions, self.upper, self.lower,
                                                           self.alpha_spent,
                                                           self.alpha_increment, strict=True))]
        out = {"looks": looks, "alpha": self.alpha, "sides": self.sides,
               "spending": self.spending, "kind": self.kind, "lower_role": self.lower_role}
        if self.beta is not None:
            out.update(beta=self.beta, beta_spending=self.beta_spending, drift=self.drift)
        return out

    def summary(self):
        """One row per look: fraction, boundaries, nominal p-values and alpha spent."""
        import pandas as pd

        upper = np.asarray(self.upper)
        return pd.DataFrame({
            "look": np.arange(1, self.looks + 1), "fraction": self.fractions,
            "upper": upper, "lower": self.lower,
            "nominal_p": norm.sf(upper) * self.sides,
            "alpha_spent": self.alpha_spent, "alpha_increment": self.alpha_increment,
        }).set_index("look")

    def __str__(self) -> str:
        head = (f"Group-sequential design: {self.looks} looks, {self.sides}-sided alpha="
                f"{self.alpha:g}, {self.kind} {self.spending}")
        if self.beta is not None:
            head += f", non-binding futility beta={self.beta:g} ({self.beta_spending})"
        rows = [f"{'look':>4} {'fraction':>8} {'lower':>8} {'upper':>8} {'alpha spent':>12}"]
        for k, (t, u, lo, a) in enumerate(zip(self.fractions, self.upper, self.lower,
                                              self.alpha_spent, strict=True)):
            rows.append(f"{k + 1:>4} {t:>8.4f} {lo:>8.4f} {u:>8.4f} {a:>12.6f}")
        return "\n".join([head, *rows])


def _check_fractions(looks, fractions) -> np.ndarray:
    if fractions is None:
        if isinstance(looks, bool) or not isinstance(looks, (int, np.integer)) or looks < 1:
            raise ModelError(f"looks must be a positive integer, got {looks!r}")
        return np.arange(1, looks + 1) / looks
    try:
        f = np.array(fractions, dtype=float).ravel()  # a copy: the input may be read-only
    except (TypeError, ValueError):
        raise ModelError(f"fractions must be numbers, got {fractions!r}") from None
    if f.size == 0 or not np.all(np.isfinite(f)):
        raise ModelError(f"fractions must be finite numbers, got {fractions!r}")
    if looks is not None and looks != f.size:
        raise ModelError(f"looks={looks} but {f.size} fractions were given")
    if f[0] <= 0 or np.any(np.diff(f) <= 0):
        raise ModelError(f"fractions must be positive and strictly increasing, got {f.tolist()}")
    if not math.isclose(f[-1], 1.0, abs_tol=1e-9):
        raise ModelError(f"the last fraction must be 1 (full information), got {f[-1]:g}")
    f[-1] = 1.0
    return f


def _check_level(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not 0 < value < 1:
        raise ModelError(f"{name} must be a number in (0, 1), got {value!r}")
    return float(value)


def _check_sides(sides) -> int:
    if sides not in (1, 2):
        raise ModelError(f"sides must be 1 or 2, got {sides!r}")
    return int(sides)


def _solve_upper(rec: Recursion, target: float, two_sided: bool) -> float:
    """Solve P(continue so far, Z >= z) = ``target`` for z (per side)."""
    if target <= 0 or rec.prob_above(_Z_MAX) >= target:
        return math.inf
    f = lambda z: rec.prob_above(z) - target  # noqa: E731
    low = -_Z_MAX
    if two_sided:
        low = 0.0
        if f(low) < 0:  # nothing left to spend above zero: not reachable with alpha < 1
            return 0.0
    return brentq(f, low, _Z_MAX, xtol=1e-10)


def _efficacy_bounds(f: np.ndarray, cum: np.ndarray, sides: int):
    """Upper (and symmetric lower) boundaries spending ``cum`` (per side) under the null."""
    rec = Recursion(f, 0.0)
    upper, spent = [], []
    prev = 0.0
    for k in range(f.size):
        b = _solve_upper(rec, cum[k] - prev, sides == 2)
        upper.append(b)
        spent.append(rec.prob_above(b))
        prev += spent[-1]
        if k < f.size - 1:
            rec.advance(-b if sides == 2 else -math.inf, b)
    return np.array(upper), np.array(spent)


def _futility_bounds(f, upper, cum_beta, drift):
    r"""Lower boundaries spending ``cum_beta`` under ``drift`` given fixed upper boundaries.

    The last lower boundary is the last upper one; also returns the total type II error
    :math:`P_\theta(\text{stop below a lower boundary})`.
    """
    rec = Recursion(f, drift)
    lower = []
    spent = 0.0
    for k in range(f.size):
        target = cum_beta[k] - spent
        if k == f.size - 1:
            a = upper[k]
        elif target <= 0 or rec.prob_below(-_Z_MAX) >= target:
            a = -math.inf
        elif rec.prob_below(upper[k]) <= target:
            a = upper[k]
        else:
            a = brentq(lambda z, p=target: rec.prob_below(z) - p, -_Z_MAX, upper[k], xtol=1e-10)
        lower.append(a)
        spent += rec.prob_below(a)
        if k < f.size - 1:
            rec.advance(a, upper[k])
    return np.array(lower), spent


def group_sequential_design(looks: int | None = None, fractions=None, *, alpha: float = 0.05,
                            sides: int = 1, spending="obf", beta: float | None = None,
                            beta_spending=None) -> GroupSequentialDesign:
    r"""Lan-DeMets alpha-spending boundaries for K looks at any information fractions.

    At look k the boundary :math:`b_k` solves

    .. math::

        P_0(Z_1 < b_1, \dots, Z_{k-1} < b_{k-1}, Z_k \ge b_k) = \alpha(t_k) - \alpha(t_{k-1})

    (with :math:`|Z_j| < b_j` and :math:`\alpha/2` per side when two-sided), where the joint law of
    :math:`(Z_1, \dots, Z_K)` is that of a Brownian motion observed at the fractions,
    :math:`\operatorname{cov}(Z_j, Z_k) = \sqrt{t_j / t_k}` for :math:`j \le k`.

    Parameters
    ----------
    looks : int, optional
        Number of looks K; equally spaced unless ``fractions`` is given.
    fractions : sequence of float, optional
        Information fractions, strictly increasing, the last 1.
    alpha : float
        Overall type I error (both sides together when ``sides=2``).
    sides : {1, 2}
        One-sided (upper) or symmetric two-sided test.
    spending : str or SpendingFunction
        ``"obf"`` (O'Brien-Fleming-type), ``"pocock"`` (Pocock-type), ``"hsd:GAMMA"``
        (Hwang-Shih-DeCani), ``"power:RHO"``.
    beta : float, optional
        One-sided designs only: add non-binding futility boundaries spending ``beta`` (type II
        error) under the drift at which the design has power ``1 - beta``; the last futility
        boundary equals the last efficacy boundary.
    beta_spending : str, optional
        Spending function for ``beta``; defaults to ``spending``.

    Returns
    -------
    GroupSequentialDesign

    Raises
    ------
    ModelError
        Bad looks, fractions, alpha, sides, spending spec, or ``beta`` with ``sides=2``.

    See Also
    --------
    classical_design : Pocock and O'Brien-Fleming constant-based boundaries for equal looks.
    bayeslab.sequential.always_valid.msprt : continuous monitoring without planned looks.
    """
    f = _check_fractions(looks, fractions)
    alpha = _check_level(alpha, "alpha")
    sides = _check_sides(sides)
    sf = parse_spending(spending)
    cum = sf(f, alpha / sides)
    upper, spent = _efficacy_bounds(f, cum, sides)
    lower = -upper if sides == 2 else np.full(f.size, -math.inf)
    inc = spent * sides
    design = dict(fractions=tuple(f.tolist()), upper=tuple(upper.tolist()),
                  alpha_spent=tuple(np.cumsum(inc).tolist()), alpha_increment=tuple(inc.tolist()),
                  alpha=alpha, sides=sides, spending=sf.spec)
    if beta is None:
        return GroupSequentialDesign(lower=tuple(lower.tolist()), **design)
    beta = _check_level(beta, "beta")
    if sides != 1:
        raise ModelError("beta (futility boundaries) is supported for one-sided designs only")
    bsf = parse_spending(spending if beta_spending is None else beta_spending)
    cum_beta = bsf(f, beta)
    type2 = lambda d: _futility_bounds(f, upper, cum_beta, d)[1] - beta  # noqa: E731
    drift = brentq(type2, 0.0, 15.0, xtol=1e-10)
    lower = _futility_bounds(f, upper, cum_beta, drift)[0]
    return GroupSequentialDesign(lower=tuple(lower.tolist()), beta=beta, beta_spending=bsf.spec,
                                 drift=float(drift), **design)


def classical_design(kind: str = "pocock", looks: int = 5, *, alpha: float = 0.05,
                     sides: int = 2) -> GroupSequentialDesign:
    r"""Classical Pocock (1977) or O'Brien-Fleming (1979) boundaries for K equally spaced looks.

    Pocock: :math:`b_k = C_P(K, \alpha)` at every look; O'Brien-Fleming:
    :math:`b_k = C_B(K, \alpha) \sqrt{K / k}`; the constant is solved so the overall error
    (Jennison and Turnbull 2000, Tables 2.1 and 2.3 for two-sided tests) equals ``alpha``.

    Parameters
    ----------
    kind : {"pocock", "obf"}
    looks : int
    alpha : float
        Overall type I error (both sides together when ``sides=2``).
    sides : {1, 2}

    Returns
    -------
    GroupSequentialDesign
        With ``kind="classical"``; ``constant`` is ``upper[-1]`` (OBF) or ``upper[0]`` (Pocock).

    Raises
    ------
    ModelError
        Unknown ``kind`` or bad looks, alpha, sides.

    See Also
    --------
    group_sequential_design : Lan-DeMets spending versions of these, for any fractions.
    """
    if kind not in ("pocock", "obf"):
        raise ModelError(f"kind must be 'pocock' or 'obf', got {kind!r}")
    f = _check_fractions(looks, None)
    alpha = _check_level(alpha, "alpha")
    sides = _check_sides(sides)
    shape = np.ones(f.size) if kind == "pocock" else np.sqrt(1.0 / f)

    def error(c):
        up = c * shape
        low = -up if sides == 2 else np.full(f.size, -math.inf)
        p_up, p_lo = crossing_probabilities(f, up, low)
        return p_up, p_lo

    c = brentq(lambda c: sum(error(c)[0]) * sides - alpha, 0.5, 10.0, xtol=1e-10)
    upper = c * shape
    p_up, _ = error(c)
    inc = p_up * sides
    return GroupSequentialDesign(
        fractions=tuple(f.tolist()), upper=tuple(upper.tolist()),
        lower=tuple((-upper if sides == 2 else np.full(f.size, -math.inf)).tolist()),
        alpha_spent=tuple(np.cumsum(inc).tolist()), alpha_increment=tuple(inc.tolist()),
        alpha=alpha, sides=sides, spending=f"{kind}-classical", kind="classical")
