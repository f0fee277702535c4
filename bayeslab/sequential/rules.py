r"""Posterior stopping rules over a sequence of looks, vectorized over experiments.

A rule is a small frozen dataclass. Called on a :class:`~bayeslab.sequential.operating.LookStats`
(the cumulative statistics of one look, arrays over experiments) it returns one decision per
experiment: ``0`` continue, ``1`` success (a positive effect), ``-1`` stop for futility (no
effect declared), ``2`` a negative effect. So every rule is a rule callable of
:func:`~bayeslab.sequential.operating.simulate`, and the same object decides on one real look
(:meth:`Rule.decide` on :func:`~bayeslab.sequential.posteriors.look_stats`). Rules are
written as dicts for analysis plans (:func:`rule_from_dict`, ``rule.to_dict()``) and compose:
``a | b`` is :class:`AnyOf`, ``a & b`` :class:`AllOf`.

Posteriors (the lift :math:`\Delta` is treatment minus control):

* conversion (``LookStats.metric == "binary"``): independent
  :math:`p_k \sim \mathrm{Beta}(\alpha_0 + x_k, \beta_0 + n_k - x_k)`, prior ``(alpha0, beta0)``
  (default (1, 1)); every quantity is an exact one-dimensional integral
  (:mod:`bayeslab.kernels.beta`: ``accuracy="simulation"`` for many experiments, the exact
  default for up to 16 at once, e.g. a real look);
* continuous (``"normal"``): the conjugate normal posterior of :math:`\Delta` with the sampling
  variance plugged in, :math:`\hat\Delta \sim N(\Delta, s^2)`, :math:`s^2 = v_C/n_C + v_T/n_T`,
  and prior :math:`\Delta \sim N(\mu_0, \sigma_0^2)` (``prior=(mu0, sigma0)``; flat by default):

  .. math::

      \Delta \mid \text{data} \sim N\!\left(\frac{\hat\Delta/s^2 + \mu_0/\sigma_0^2}
      {1/s^2 + 1/\sigma_0^2},\ \frac{1}{1/s^2 + 1/\sigma_0^2}\right).

Every rule takes ``min_n`` (no stop before this many units in both arms together) and ``burn_in``
(no stop at the first ``burn_in`` looks). A posterior threshold is not an error rate: a rule
checked at many looks declares effects far more often than its threshold suggests, which
:func:`~bayeslab.sequential.operating.rule_false_positive_rate` measures.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from bayeslab.core.errors import ModelError
from bayeslab.sequential.look_stats import CONTINUE, FUTILITY, HARM, SUCCESS, LookStats
from bayeslab.sequential.posteriors import (  # re-exported: the rules' posteriors
    check_prior,
    expected_losses,
    lift_cdf,
    lift_interval,
    prob_positive,
)

DECISIONS = {CONTINUE: "continue", SUCCESS: "success", FUTILITY: "futility", HARM: "harm"}


# ----------------------------------------------------------------------------- rules


def _unit(value, name, *, allow_none=False, closed=False):
    if value is None and allow_none:
        return
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or not (0 <= value <= 1 if closed else 0 < value < 1):
        raise ModelError(f"{name} must be a number in (0, 1), got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Base of the stopping rules: burn-in handling, composition, dict form, one-look decisions.

    Attributes
    ----------
    min_n : int
        No stop before this many units in both arms together.
    burn_in : int
        No stop at the first ``burn_in`` looks.
    """

    min_n: int = 0
    burn_in: int = 0
    type = "rule"

    def __post_init__(self):
        for name in ("min_n", "burn_in"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ModelError(f"{name} must be a non-negative integer, got {v!r}")
        self._validate()

    def _validate(self):
        pass

    def _decide(self, stats: LookStats) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - every concrete rule defines it

    def __call__(self, stats: LookStats) -> np.ndarray:
        """Decisions per experiment at this look (``0`` continue, ``1``, ``-1``, ``2``)."""
        n = stats.n_control + stats.n_treatment
        if stats.look < self.burn_in:
            return np.zeros(np.shape(n), dtype=np.int8)
        dec = np.asarray(self._decide(stats), dtype=np.int8)
        return np.where(n >= self.min_n, dec, CONTINUE).astype(np.int8)

    def decide(self, stats: LookStats) -> str:
        """Decision on one real look: ``"continue"``, ``"success"``, ``"futility"``, ``"harm"``."""
        dec = self(stats)
        if np.size(dec) != 1:
            raise ModelError(f"decide() takes one look, got {np.size(dec)} experiments")
        return DECISIONS[int(np.ravel(dec)[0])]

    def to_dict(self) -> dict:
        """The rule as a plain dict with its ``type`` (inverse of :func:`rule_from_dict`)."""
        out = {"type": self.type}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def describe(self) -> str:
        """The rule in words."""
        return self._text() + _gate_text(self)

    def _text(self) -> str:
        return self.type

    def __str__(self) -> str:
        return self.describe()

    def __or__(self, other):
        return AnyOf(rules=(self, other))

    def __and__(self, other):
        return AllOf(rules=(self, other))


def _gate_text(rule) -> str:
    parts = []
    if rule.min_n:
        parts.append(f"after {rule.min_n:,} units")
    if rule.burn_in:
        parts.append(f"from look {rule.burn_in + 1}")
    return (", " + " and ".join(parts)) if parts else ""


@dataclass(frozen=True, kw_only=True)
class ProbPositive(Rule):
    r"""Stop on the posterior probability that the lift is positive.

    Success when :math:`P(\Delta > 0) \ge` ``success``; futility when
    :math:`P(\Delta > 0) \le` ``futility``; a negative effect when :math:`P(\Delta < 0) \ge`
    ``harm``. Any threshold can be ``None`` (not used).

    Attributes
    ----------
    success, futility, harm : float or None
    prior : tuple, optional
        Beta prior ``(alpha, beta)`` of each rate (conversion), or normal prior ``(mean, sd)``
        of the lift (continuous); see the module.
    """

    success: float | None = 0.95
    futility: float | None = 0.10
    harm: float | None = None
    prior: tuple | None = None
    type = "prob_positive"

    def _validate(self):
        for name in ("success", "futility", "harm"):
            _unit(getattr(self, name), name, allow_none=True)
        if self.success is not None and self.futility is not None \
                and self.futility >= self.success:
            raise ModelError(f"futility {self.futility} must be below success {self.success}")
        check_prior(self.prior)

    def _decide(self, stats):
        p = prob_positive(stats, self.prior)
        out = np.zeros(p.shape, dtype=np.int8)
        if self.futility is not None:
            out[p <= self.futility] = FUTILITY
        if self.harm is not None:
            out[1.0 - p >= self.harm] = HARM
        if self.success is not None:
            out[p >= self.success] = SUCCESS
        return out

    def _text(self):
        parts = []
        if self.success is not None:
            parts.append(f"success when P(lift > 0) >= {self.success:g}")
        if self.futility is not None:
            parts.append(f"futility when P(lift > 0) <= {self.futility:g}")
        if self.harm is not None:
            parts.append(f"harm when P(lift < 0) >= {self.harm:g}")
        return "; ".join(parts) or "never stops"


@dataclass(frozen=True, kw_only=True)
class ExpectedLoss(Rule):
    r"""Stop when the expected loss of a choice falls below the threshold of caring.

    Success (ship) when :math:`E[(-\Delta)^+] \le` ``threshold``; futility (keep control) when
    :math:`E[\Delta^+] \le` ``threshold`` and ``futility`` is true. With ``relative=True`` the
    losses are on the relative scale :math:`p_T/p_C - 1` (conversion only), as in
    :class:`bayeslab.readout.metric.DecisionRule`.

    Attributes
    ----------
    threshold : float
    relative : bool
    futility : bool
    prior : tuple, optional
    """

    threshold: float = 0.001
    relative: bool = False
    futility: bool = True
    prior: tuple | None = None
    type = "expected_loss"

    def _validate(self):
        if not isinstance(self.threshold, (int, float)) or not self.threshold > 0:
            raise ModelError(f"threshold must be a positive number, got {self.threshold!r}")
        check_prior(self.prior)

    def _decide(self, stats):
        ship, keep = expected_losses(stats, self.prior, self.relative)
        out = np.zeros(ship.shape, dtype=np.int8)
        if self.futility:
            out[keep <= self.threshold] = FUTILITY
        out[ship <= self.threshold] = SUCCESS
        return out

    def _text(self):
        scale = "relative " if self.relative else ""
        text = f"success when the {scale}expected loss of shipping <= {self.threshold:g}"
        if self.futility:
            text += f"; futility when that of keeping control <= {self.threshold:g}"
        return text


@dataclass(frozen=True, kw_only=True)
class Rope(Rule):
    r"""Region of practical equivalence: stop when the posterior mass is decisive.

    With ROPE :math:`[\text{low}, \text{high}]` on the absolute lift: futility (practically
    equivalent) when :math:`P(\text{low} \le \Delta \le \text{high}) \ge` ``mass``; success when
    :math:`P(\Delta > \text{high}) \ge` ``mass``; a negative effect when
    :math:`P(\Delta < \text{low}) \ge` ``mass``. (The posterior-mass form of Kruschke's HDI+ROPE
    rule: with ``mass=0.95`` and a symmetric posterior it is close to "the 95% interval lies
    inside / outside the ROPE".)

    Attributes
    ----------
    low, high : float
    mass : float
    prior : tuple, optional
    """

    low: float = -0.001
    high: float = 0.001
    mass: float = 0.95
    prior: tuple | None = None
    type = "rope"

    def _validate(self):
        if not (isinstance(self.low, (int, float)) and isinstance(self.high, (int, float))
                and self.low < self.high):
            raise ModelError(f"the ROPE needs low < high, got {self.low!r}, {self.high!r}")
        _unit(self.mass, "mass")
        check_prior(self.prior)

    def _decide(self, stats):
        below = lift_cdf(stats, self.low, self.prior)
        upto_high = lift_cdf(stats, self.high, self.prior)
        out = np.zeros(below.shape, dtype=np.int8)
        out[upto_high - below >= self.mass] = FUTILITY
        out[below >= self.mass] = HARM
        out[1.0 - upto_high >= self.mass] = SUCCESS
        return out

    def _text(self):
        return (f"ROPE [{self.low:g}, {self.high:g}]: stop when P(inside), P(above) or "
                f"P(below) >= {self.mass:g}")


@dataclass(frozen=True, kw_only=True)
class Precision(Rule):
    r"""Precision as the goal: stop when the credible interval of the lift is narrow enough.

    Stops when the equal-tailed ``level`` interval of :math:`\Delta` is at most ``width`` wide
    (for the nearly symmetric posteriors of a lift this is the HDI width), and then declares
    success if the interval lies above 0, a negative effect if below 0, futility otherwise.

    Attributes
    ----------
    width : float
    level : float
    prior : tuple, optional
    """

    width: float = 0.01
    level: float = 0.95
    prior: tuple | None = None
    type = "precision"

    def _validate(self):
        if not isinstance(self.width, (int, float)) or not self.width > 0:
            raise ModelError(f"width must be a positive number, got {self.width!r}")
        _unit(self.level, "level")
        check_prior(self.prior)

    def _decide(self, stats):
        lo, hi = lift_interval(stats, self.level, self.prior)
        out = np.where(hi - lo <= self.width, FUTILITY, CONTINUE).astype(np.int8)
        out[(out == FUTILITY) & (lo > 0)] = SUCCESS
        out[(out == FUTILITY) & (hi < 0)] = HARM
        return out

    def _text(self):
        return (f"stop when the {self.level:.0%} interval of the lift is <= {self.width:g} wide "
                f"(success if above 0, harm if below 0, futility otherwise)")


@dataclass(frozen=True, kw_only=True)
class AnyOf(Rule):
    """Stop as soon as any rule stops; the first rule (in order) that stops gives the decision."""

    rules: tuple = ()
    type = "any"

    def _validate(self):
        _check_rules(self)

    def _decide(self, stats):
        out = None
        for r in self.rules:
            dec = r(stats)
            out = dec.copy() if out is None else np.where(out == CONTINUE, dec, out)
        return out

    def to_dict(self) -> dict:  # noqa: D102
        return {"type": self.type, "rules": [r.to_dict() for r in self.rules],
                "min_n": self.min_n, "burn_in": self.burn_in}

    def _text(self):
        return "any of (" + "; ".join(r.describe() for r in self.rules) + ")"


@dataclass(frozen=True, kw_only=True)
class AllOf(Rule):
    """Stop when every rule gives the same decision (success, harm or futility), with that one."""

    rules: tuple = ()
    type = "all"

    def _validate(self):
        _check_rules(self)

    def _decide(self, stats):
        decs = np.stack([r(stats) for r in self.rules])
        same = np.all(decs == decs[0], axis=0)
        return np.where(same, decs[0], CONTINUE)

    to_dict = AnyOf.to_dict

    def _text(self):
        return "all of (" + "; ".join(r.describe() for r in self.rules) + ")"


def _check_rules(rule):
    rules = tuple(rule.rules)
    if not rules or not all(callable(r) for r in rules):
        raise ModelError(f"{rule.type} needs one or more rules, got {rule.rules!r}")
    if not all(isinstance(r, Rule) for r in rules):
        bad = next(r for r in rules if not isinstance(r, Rule))
        raise ModelError(f"{rule.type} composes bayeslab rules, got {bad!r}")
    object.__setattr__(rule, "rules", rules)


RULE_TYPES = {cls.type: cls for cls in (ProbPositive, ExpectedLoss, Rope, Precision, AnyOf,
                                        AllOf)}


def rule_from_dict(spec: dict) -> Rule:
    """Build a rule from its dict form, e.g. ``{"type": "prob_positive", "success": 0.95}``.

    Composites nest: ``{"type": "any", "rules": [{...}, {...}], "min_n": 1000}``.

    Raises
    ------
    ModelError
        Not a dict, unknown ``type`` or field, bad values.
    """
    if isinstance(spec, Rule):
        return spec
    if not isinstance(spec, dict) or "type" not in spec:
        raise ModelError(f"a rule is a dict with a 'type' ({', '.join(RULE_TYPES)}), "
                         f"got {spec!r}")
    kind = spec["type"]
    if kind not in RULE_TYPES:
        raise ModelError(f"unknown rule type {kind!r}; use one of {', '.join(RULE_TYPES)}")
    cls = RULE_TYPES[kind]
    known = {f.name for f in fields(cls)}
    args = {k: v for k, v in spec.items() if k != "type"}
    unknown = sorted(set(args) - known)
    if unknown:
        raise ModelError(f"rule {kind!r} has no field {unknown[0]!r}; fields are "
                         f"{', '.join(sorted(known))}")
    if "rules" in args:
        args["rules"] = tuple(rule_from_dict(r) for r in args["rules"])
    if args.get("prior") is not None:
        args["prior"] = tuple(args["prior"])
    return cls(**args)


def parse_rule(text: str) -> Rule:
    """Parse a short rule spec (the CLI's ``--rule``).

    ``prob:SUCCESS[,FUTILITY]``, ``loss:THRESHOLD`` (``rloss:`` relative), ``rope:LOW,HIGH[,MASS]``,
    ``precision:WIDTH[,LEVEL]``; several specs joined by ``|`` (any) or ``&`` (all); an
    optional ``@N`` suffix sets ``min_n``, e.g. ``prob:0.95,0.10@1000``.

    Raises
    ------
    ModelError
        A spec that does not parse.
    """
    if not isinstance(text, str) or not text.strip():
        raise ModelError(f"rule spec must be text such as 'prob:0.95,0.10', got {text!r}")
    for sep, cls in (("|", AnyOf), ("&", AllOf)):
        if sep in text:
            return cls(rules=tuple(parse_rule(t) for t in text.split(sep)))
    body, _, min_n = text.strip().partition("@")
    name, _, args = body.partition(":")
    try:
        nums = [float(v) for v in args.split(",")] if args else []
        gate = {"min_n": int(min_n)} if min_n else {}
    except ValueError:
        raise ModelError(f"rule {text!r}: arguments must be numbers") from None
    name = name.strip().lower()
    makers = {
        "prob": (ProbPositive, ("success", "futility"), 1),
        "loss": (ExpectedLoss, ("threshold",), 1),
        "rloss": (ExpectedLoss, ("threshold",), 1),
        "rope": (Rope, ("low", "high", "mass"), 2),
        "precision": (Precision, ("width", "level"), 1),
    }
    if name not in makers:
        raise ModelError(f"rule {text!r}: unknown rule {name!r}; use prob, loss, rloss, rope "
                         "or precision")
    cls, names, need = makers[name]
    if not need <= len(nums) <= len(names):
        raise ModelError(f"rule {text!r}: {name} takes {need} to {len(names)} numbers")
    kwargs = dict(zip(names, nums, strict=False))
    if name == "prob" and len(nums) == 1:
        kwargs["futility"] = None
    if name == "rloss":
        kwargs["relative"] = True
    return cls(**kwargs, **gate)

