"""Small prior spec objects: readable, validated, and recorded by every result that uses them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bayeslab.core.errors import ModelError


def _check_scale(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ModelError(f"{name} must be a positive finite number, got {value!r}")
    return value


@dataclass(frozen=True)
class Normal:
    """Normal prior.

    ``mu=None`` means "centered on a value taken from the data" (the result records and prints
    the value used).

    Parameters
    ----------
    mu : float, optional
    sigma : float
    """

    mu: float | None = 0.0
    sigma: float = 1.0

    def __post_init__(self):
        _check_scale("Normal prior sigma", self.sigma)
        if self.mu is not None and not math.isfinite(float(self.mu)):
            raise ModelError(f"Normal prior mu must be finite, got {self.mu!r}")

    def __str__(self) -> str:
        mu = "data" if self.mu is None else f"{self.mu:.4g}"
        return f"Normal(mu={mu}, sigma={self.sigma:.4g})"

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"dist": "Normal", "mu": None if self.mu is None else float(self.mu),
                "sigma": float(self.sigma)}


@dataclass(frozen=True)
class HalfNormal:
    """Half-normal prior on a scale parameter.

    Parameters
    ----------
    sigma : float
    """

    sigma: float = 1.0

    def __post_init__(self):
        _check_scale("HalfNormal prior sigma", self.sigma)

    def __str__(self) -> str:
        return f"HalfNormal(sigma={self.sigma:.4g})"

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"dist": "HalfNormal", "sigma": float(self.sigma)}


def prior_from_dict(d: dict):
    """Inverse of ``to_dict`` for :class:`Normal` and :class:`HalfNormal`."""
    if d["dist"] == "Normal":
        return Normal(mu=d.get("mu"), sigma=d["sigma"])
    if d["dist"] == "HalfNormal":
        return HalfNormal(sigma=d["sigma"])
    raise ModelError(f"unknown prior distribution {d['dist']!r}")
