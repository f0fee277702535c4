"""Shared behaviour of result classes whose content is a list of :class:`Estimate`.

A result dataclass that defines ``estimates()`` inherits ``summary()`` (a DataFrame, one row per
estimate), ``to_dict()`` (JSON-safe, with ``results`` and any ``_extra_dict()`` fields) and a short
text ``__str__`` from :class:`EstimatesMixin`.
"""

from __future__ import annotations

from bayeslab.results import estimates_frame, jsonable


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
