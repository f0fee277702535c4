"""The common currency of readouts: one :class:`Estimate` per (side, method, effect).

Every fitted result, Bayesian or frequentist, exposes ``estimates()`` returning a list of
:class:`Estimate`; a :class:`~bayeslab.readout.metric.Readout` gathers them, and the CLI's JSON
``results`` list is ``[e.to_dict() for e in estimates]``. Effects are treatment minus control
(``absolute``) or treatment over control minus one (``relative``), with the interval level stated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SIDES = ("bayes", "frequentist")
DEFAULT_LEVEL = 0.95
_FIELDS = ("side", "method", "effect", "estimate", "lower", "upper", "level", "arm", "segment",
           "p_value", "prob_positive", "expected_loss")


@dataclass(frozen=True)
class Estimate:
    r"""One effect estimate with its interval, from one side and one method.

    Attributes
    ----------
    side : {"bayes", "frequentist"}
    method : str
        Estimator, e.g. ``"beta-binomial"``, ``"z-test"``, ``"newcombe"``, ``"cuped"``.
    effect : str
        ``"absolute"`` (treatment minus control), ``"relative"`` (ratio minus one), or another
        named scale such as ``"hazard-ratio"``.
    estimate, lower, upper : float
        Point estimate and interval bounds (credible or confidence, per ``side``).
    level : float
        Interval level, e.g. 0.95.
    arm : str, optional
        Treatment arm compared with the control (several-arm experiments).
    segment : str, optional
        Segment label; two dimensions are joined as ``"a x b"``. ``None`` for the whole population.
    p_value : float, optional
        Frequentist p-value of the test named by ``method``.
    prob_positive : float, optional
        Posterior probability that the effect is above zero.
    expected_loss : float, optional
        Posterior expected loss of shipping the treatment, :math:`E[\\max(-\\Delta, 0)]`, on the
        scale of ``effect``.
    extra : dict
        Method-specific JSON-safe fields (``estimand``, ``variance_reduction``, ...).
    """

    side: str
    method: str
    effect: str
    estimate: float
    lower: float
    upper: float
    level: float = DEFAULT_LEVEL
    arm: str | None = None
    segment: str | None = None
    p_value: float | None = None
    prob_positive: float | None = None
    expected_loss: float | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {self.side!r}")

    def to_dict(self) -> dict:
        """JSON-safe dict; optional fields that are ``None`` are left out, non-finite are null."""
        out = {"side": self.side, "method": self.method, "effect": self.effect}
        if self.arm is not None:
            out["arm"] = self.arm
        if self.segment is not None:
            out["segment"] = self.segment
        out.update(estimate=json_float(self.estimate), lower=json_float(self.lower),
                   upper=json_float(self.upper), level=float(self.level))
        for name in ("p_value", "prob_positive", "expected_loss"):
            value = getattr(self, name)
            if value is not None:
                out[name] = json_float(value)
        out.update({k: jsonable(v) for k, v in self.extra.items()})
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Estimate:
        """Rebuild an estimate from its :meth:`to_dict` form (null bounds come back as NaN)."""
        kw = {k: d[k] for k in _FIELDS if k in d}
        for k in ("estimate", "lower", "upper"):
            kw[k] = float("nan") if kw.get(k) is None else float(kw[k])
        return cls(**kw, extra={k: v for k, v in d.items() if k not in _FIELDS})


def json_float(value) -> float | None:
    """``float(value)``, or ``None`` when it is NaN or infinite (JSON has no such numbers)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def jsonable(value):
    """Convert numpy scalars, arrays, tuples and nested containers to JSON-safe Python objects."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return json_float(value)
    return value


def estimates_frame(estimates):
    """A pandas DataFrame with one row per :class:`Estimate` (columns as in ``to_dict``).

    A sampled estimate's Monte Carlo standard errors (``extra["mcse"]``) become the columns
    ``mcse_estimate``, ``mcse_lower``, ... .
    """
    import pandas as pd

    rows = []
    for e in estimates:
        row = e.to_dict()
        for k, v in (row.pop("mcse", None) or {}).items():
            row[f"mcse_{k}"] = v
        rows.append(row)
    return pd.DataFrame(rows)

class EstimatesMixin:
    """``summary``, ``to_dict`` and ``__str__`` built from ``estimates()``."""

    _title = "readout"

    def estimates(self):  # pragma: no cover - overridden
        """Estimates of the result (overridden by each result class)."""
        raise NotImplementedError

    def _extra_dict(self) -> dict:
        return {}

    def summary(self):
        """One row per estimate: side, method, effect, estimate, interval and probabilities."""
        return estimates_frame(self.estimates())

    def to_dict(self) -> dict:
        """JSON-safe dict: ``results`` (one entry per estimate) plus result-specific fields."""
        out = {"results": [e.to_dict() for e in self.estimates()]}
        out.update({k: jsonable(v) for k, v in self._extra_dict().items()})
        return out

    def __str__(self) -> str:
        lines = [self._title]
        for e in self.estimates():
            where = f" [{e.arm}]" if e.arm is not None else ""
            if "rate" in e.extra:
                where = f" {e.extra['rate']}{where}"
            prob = ""
            if e.p_value is not None:
                prob = f"  p={e.p_value:.4g}"
            if e.prob_positive is not None:
                prob += f"  P(>0)={e.prob_positive:.4f}"
            lines.append(f"  {e.side:<11} {e.method:<17} {e.effect:<13}{where} "
                         f"{e.estimate:>12.5g}  [{e.lower:.5g}, {e.upper:.5g}]{prob}")
        return "\n".join(lines)
