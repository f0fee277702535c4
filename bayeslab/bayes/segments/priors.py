"""Priors of the hierarchical segment model, as one spec object."""

from __future__ import annotations

from dataclasses import dataclass, field

from bayeslab.core.errors import ModelError
from bayeslab.core.priors import HalfNormal, Normal, prior_from_dict

FAMILIES = ("logistic", "normal")
PARAMETERIZATIONS = ("auto", "non-centered", "centered")


@dataclass(frozen=True)
class SegmentPriors:
    r"""Priors of the hierarchical segment model, on the linear-predictor scale.

    For the logistic model the scale is log-odds; for the normal model it is the outcome in units
    of its pooled standard deviation (the outcome is centered on its pooled mean and divided by
    that sd before fitting; the result records both numbers).

    Attributes
    ----------
    baseline : Normal
        Population mean of the control baseline. ``mu=None`` (default) centers it on the pooled
        control value (log-odds of the pooled control rate, or 0 for the standardized mean).
        Default ``Normal(mu=None, sigma=1.5)``: rates from about 5% to 95% of the center's odds.
    baseline_sd : HalfNormal
        Spread of segment baselines per segment dimension. Default ``HalfNormal(1)``.
    effect : Normal
        Population mean treatment effect. Default ``Normal(0, 0.5)``: odds ratios between
        about 0.37 and 2.7 (95%), wide for product experiments, where lifts are a few percent.
    effect_sd : HalfNormal
        Spread :math:`\tau` of segment treatment effects per dimension. Default
        ``HalfNormal(0.25)``: segment odds ratios mostly within a factor 1.6 of the population's.
    """

    baseline: Normal = field(default_factory=lambda: Normal(mu=None, sigma=1.5))
    baseline_sd: HalfNormal = field(default_factory=lambda: HalfNormal(1.0))
    effect: Normal = field(default_factory=lambda: Normal(0.0, 0.5))
    effect_sd: HalfNormal = field(default_factory=lambda: HalfNormal(0.25))

    def __post_init__(self):
        for name, kind in (("baseline", Normal), ("baseline_sd", HalfNormal),
                           ("effect", Normal), ("effect_sd", HalfNormal)):
            if not isinstance(getattr(self, name), kind):
                raise ModelError(f"prior {name} must be a {kind.__name__}, "
                                 f"got {getattr(self, name)!r}")

    def __str__(self) -> str:
        return (f"baseline ~ {self.baseline}, baseline_sd ~ {self.baseline_sd}, "
                f"effect ~ {self.effect}, tau ~ {self.effect_sd}")

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {k: getattr(self, k).to_dict()
                for k in ("baseline", "baseline_sd", "effect", "effect_sd")}

    @classmethod
    def from_dict(cls, d: dict) -> SegmentPriors:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: prior_from_dict(v) for k, v in d.items()})
