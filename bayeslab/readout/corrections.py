r"""Multiple-testing correction of the frequentist side: which p-values, over which family, how.

A readout with several treatment arms, or a plan with several ship-deciding metrics, tests
several hypotheses at once; the frequentist verdict then reads *adjusted* p-values. The plan
names the method and the scope in its ``[decision]`` table::

    [decision]
    correction = "holm"                 # "holm" | "bh" | "bonferroni" | "none"
    scope = ["variants", "metrics"]     # any of "variants", "metrics", "segments"

:func:`bayeslab.plan.schema.load_plan` validates both keys and fills in the defaults, so
``plan.decision["correction"]`` is always one of :data:`METHODS` (default ``"holm"``) and
``plan.decision["scope"]`` a list in the order of :data:`SCOPES` (default
``["variants", "segments"]``). ``Correction.from_plan(plan.decision)`` rebuilds the spec (the
operating-characteristics simulation reads it the same way). :func:`bayeslab.compare` takes
``correction="bh"`` or ``correction=Correction(...)`` for the arms of its one metric.

The family
----------
The tests corrected together are the **ship-deciding** p-values: the headline frequentist test
(the kind registry's method and effect scale) of the primary and of every secondary metric, one
per treatment arm against control. Left out, and stated as such:

- guardrails' non-inferiority p-values: a guardrail must pass in *every* arm (an
  intersection-union test), which already keeps the chance of wrongly passing at each test's
  level, so adjusting them would only make the guardrails harder to pass;
- the other methods' p-values of a metric (Newcombe, log-ratio, CUPED beside ANCOVA, ...): they
  restate the same hypothesis and decide nothing; they are reported unadjusted;
- propensity readouts (a binary treatment read by its own pipeline).

The scope says which p-values form one family:

========================  ================================================================
scope                     families of the ship-deciding tests
========================  ================================================================
``variants``              one per metric: its treatment arms (``k`` tests)
``metrics``               one per arm: the primary and secondary metrics (``M`` tests)
``variants`` + metrics    one: every arm of every metric (``k x M`` tests)
neither                   none: each p-value is read as it is
``segments``              the per-segment tests of the segment metric, one family per arm
                          (its segments), adjusted by the same method; without it they are
                          reported unadjusted
========================  ================================================================

A family of one test is left as it is (an adjusted p-value equals the raw one): a two-arm
readout of one metric carries no adjustment. An adjusted estimate's ``p_value`` is the adjusted
p-value; its ``extra`` holds ``adjust`` (the method), ``p_raw`` (the unadjusted p-value),
``adjust_tests`` (the family's size) and ``adjust_family`` (``"3 variants x 2 metrics"``).
With ``correction = "none"`` and a family of several tests, ``adjust`` is ``"none"`` and the
p-value is the raw one, so the readout still says it was not adjusted.

The methods, for :math:`m` tests with ordered p-values :math:`p_{(1)} \le \dots \le p_{(m)}`:

.. math::

    \text{Bonferroni: } \tilde p_i = \min(1, m p_i), \qquad
    \text{Holm: } \tilde p_{(i)} = \min\Big(1, \max_{j \le i} (m - j + 1) p_{(j)}\Big),

.. math::

    \text{Benjamini-Hochberg: } \tilde p_{(i)} = \min\Big(1, \min_{j \ge i} \frac{m}{j}
    p_{(j)}\Big).

Bonferroni and Holm control the family-wise error rate (Holm is never less powerful); BH
controls the false discovery rate. The verdict reads ``p_value < alpha`` on the adjusted
p-value, which for Bonferroni is the former ``alpha / k`` rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import Estimate

__all__ = ["DEFAULT_METHOD", "DEFAULT_SCOPE", "METHODS", "SCOPES", "Adjusted", "AdjustedResult",
           "Correction", "adjust_family", "adjust_pvalues", "adjustment_text"]

#: Correction methods (plan key ``decision.correction``)
METHODS = ("holm", "bh", "bonferroni", "none")
#: Dimensions a family may span (plan key ``decision.scope``), in their canonical order
SCOPES = ("variants", "metrics", "segments")
#: Default method: Holm (family-wise error, never less powerful than Bonferroni)
DEFAULT_METHOD = "holm"
#: Default scope: the arms of each metric, and each arm's segments (as before issue 24)
DEFAULT_SCOPE = ("variants", "segments")

_NAMES = {"holm": "Holm", "bh": "BH", "bonferroni": "Bonferroni", "none": "none"}


@dataclass(frozen=True)
class Correction:
    """How the ship-deciding p-values are adjusted, and over which family.

    Parameters
    ----------
    method : {"holm", "bh", "bonferroni", "none"}
        Holm (default), Benjamini-Hochberg, Bonferroni, or no adjustment.
    scope : sequence of {"variants", "metrics", "segments"}
        Dimensions the family spans (module docstring); default ``("variants", "segments")``.
        Stored as a tuple in the order of :data:`SCOPES`.

    Raises
    ------
    ModelError
        An unknown method or scope entry, a scope given twice, or a scope that is not a list.
    """

    method: str = DEFAULT_METHOD
    scope: tuple[str, ...] = DEFAULT_SCOPE

    def __post_init__(self):
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise ModelError(f"correction must be one of {', '.join(map(repr, METHODS))}, "
                             f"got {self.method!r}")
        scope = self.scope
        if isinstance(scope, (str, bytes)) or not isinstance(scope, Iterable):
            raise ModelError(f"scope must be a list of {', '.join(map(repr, SCOPES))}, "
                             f"got {scope!r}")
        given = list(scope)
        for s in given:
            if not isinstance(s, str) or s not in SCOPES:
                raise ModelError(f"scope entries must be {', '.join(map(repr, SCOPES))}, "
                                 f"got {s!r}")
        if len(set(given)) != len(given):
            raise ModelError(f"scope names {next(s for s in given if given.count(s) > 1)!r} "
                             "twice")
        object.__setattr__(self, "scope", tuple(s for s in SCOPES if s in given))

    @classmethod
    def parse(cls, value) -> Correction:
        """A spec from a :class:`Correction`, a method name (default scope) or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        return cls(method=value)

    @classmethod
    def from_plan(cls, decision: Mapping) -> Correction:
        """The spec of a plan's ``[decision]`` table (keys ``correction`` and ``scope``)."""
        return cls(method=decision.get("correction", DEFAULT_METHOD),
                   scope=tuple(decision.get("scope", DEFAULT_SCOPE)))

    def spans(self, dimension: str) -> bool:
        """Whether the family spans ``dimension`` (``"variants"``, ``"metrics"``, ...)."""
        return dimension in self.scope

    def to_dict(self) -> dict:
        """JSON-safe form: ``{"method": ..., "scope": [...]}``."""
        return {"method": self.method, "scope": list(self.scope)}

    def describe(self) -> str:
        """One phrase: ``Holm over variants and metrics``."""
        where = " and ".join(self.scope) if self.scope else "nothing"
        return f"{_NAMES[self.method]} over {where}"


def adjust_pvalues(p, method: str) -> np.ndarray:
    """Adjusted p-values of one family by ``method`` (formulas in the module docstring).

    Non-finite p-values (a degenerate test) are left as they are and do not count as tests.

    Raises
    ------
    ModelError
        An unknown method.
    """
    from bayeslab.frequentist.segments import benjamini_hochberg, holm

    if method not in METHODS:
        raise ModelError(f"correction must be one of {', '.join(map(repr, METHODS))}, "
                         f"got {method!r}")
    p = np.asarray(p, dtype=float)
    out = p.copy()
    ok = np.isfinite(p)
    if method == "none" or not ok.any():
        return out
    q = p[ok]
    if method == "bonferroni":
        out[ok] = np.minimum(q * q.size, 1.0)
    elif method == "holm":
        out[ok] = holm(q)
    else:
        out[ok] = benjamini_hochberg(q)
    return out


@dataclass(frozen=True)
class Adjusted:
    """One ship-deciding p-value after the correction.

    Attributes
    ----------
    metric, arm : str
    p_raw, p_value : float
        Unadjusted and adjusted p-value.
    method : str
    tests : int
        Size of the family.
    family : str
        What the family spans, e.g. ``"3 variants x 2 metrics"``.
    """

    metric: str
    arm: str
    p_raw: float
    p_value: float
    method: str
    tests: int
    family: str

    def extra(self) -> dict:
        """The estimate's ``extra`` fields: adjust, p_raw, adjust_tests, adjust_family."""
        return {"adjust": self.method, "p_raw": self.p_raw, "adjust_tests": self.tests,
                "adjust_family": self.family}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def adjust_family(tests: Sequence[tuple[str, str, float]],
                  correction: Correction) -> dict[tuple[str, str], Adjusted]:
    """Adjust the ship-deciding p-values ``(metric, arm, p_raw)`` over the correction's scope.

    Returns the adjusted entries by ``(metric, arm)``; a test alone in its family (or with a
    non-finite p-value) gets none.
    """
    by_variants, by_metrics = correction.spans("variants"), correction.spans("metrics")
    groups: dict[tuple, list[int]] = {}
    for i, (metric, arm, p) in enumerate(tests):
        if p is None or not math.isfinite(p):
            continue
        key = (None if by_metrics else metric, None if by_variants else arm)
        if not (by_variants or by_metrics):
            key = (metric, arm)
        groups.setdefault(key, []).append(i)
    out: dict[tuple[str, str], Adjusted] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        raw = [float(tests[i][2]) for i in members]
        adj = adjust_pvalues(raw, correction.method)
        arms = list(dict.fromkeys(tests[i][1] for i in members))
        metrics = list(dict.fromkeys(tests[i][0] for i in members))
        parts = []
        if by_variants:
            parts.append(_plural(len(arms), "variant"))
        if by_metrics:
            parts.append(_plural(len(metrics), "metric"))
        family = " x ".join(parts)
        for i, p_raw, p_adj in zip(members, raw, adj, strict=True):
            metric, arm, _ = tests[i]
            out[(metric, arm)] = Adjusted(metric=metric, arm=arm, p_raw=p_raw,
                                          p_value=float(p_adj), method=correction.method,
                                          tests=len(members), family=family)
    return out


def adjustment_text(extra: Mapping) -> str:
    """How an estimate's p-value was adjusted, for the readout and the report.

    ``"Holm-adjusted over 6 tests: 3 variants x 2 metrics; unadjusted p = 0.0021"``; with
    ``correction = "none"``: ``"unadjusted: correction none over 6 tests: ..."``; ``""``
    for an estimate without an adjustment.
    """
    from bayeslab.core import format as fmt

    method = extra.get("adjust")
    if method is None:
        return ""
    tests = extra.get("adjust_tests")
    over = f" over {_plural(int(tests), 'test')}" if tests else ""
    family = f": {extra['adjust_family']}" if extra.get("adjust_family") else ""
    if method == "none":
        return f"unadjusted: correction none{over}{family}"
    raw = extra.get("p_raw")
    raw_text = f"; unadjusted p = {fmt.p_value(raw)}" if raw is not None else ""
    return f"{_NAMES.get(method, method)}-adjusted{over}{family}{raw_text}"


@dataclass(frozen=True)
class AdjustedResult:
    """A fitted frequentist result whose headline estimates carry adjusted p-values.

    ``estimates()`` is the wrapped result's with, for each ``(method, effect, arm, rate)`` key
    of ``adjusted``, ``p_value`` replaced by the adjusted one and the :meth:`Adjusted.extra`
    fields added; every other attribute is the wrapped result's.
    """

    result: Any
    adjusted: Mapping[tuple, Adjusted] = field(default_factory=dict)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("result", "adjusted"):
            raise AttributeError(name)
        return getattr(self.result, name)

    def estimates(self) -> list[Estimate]:
        """The wrapped estimates, headline ones with their adjusted p-values."""
        out = []
        for e in self.result.estimates():
            key = (e.method, e.effect, e.arm, e.extra.get("rate"))
            a = self.adjusted.get(key) if e.segment is None else None
            if a is not None:
                e = replace(e, p_value=a.p_value, extra={**e.extra, **a.extra()})
            out.append(e)
        return out

    def summary(self):
        """One row per estimate (adjusted p-values where adjusted)."""
        from bayeslab.core.estimates import estimates_frame

        return estimates_frame(self.estimates())

    def to_dict(self) -> dict:
        """The wrapped result's JSON with its ``results`` adjusted."""
        out = dict(self.result.to_dict()) if hasattr(self.result, "to_dict") else {}
        out["results"] = [e.to_dict() for e in self.estimates()]
        return out
