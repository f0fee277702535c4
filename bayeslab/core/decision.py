"""What decides: the decision rule (both languages) and the decision a readout reaches.

Every readout (:class:`~bayeslab.readout.metric.Readout`, the propensity readout, the sequential
monitor, a custom model's readout) states its conclusion as a :class:`Decision` under a
:class:`DecisionRule`; both round-trip through ``to_dict`` / ``from_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bayeslab.core.errors import ModelError


@dataclass(frozen=True)
class DecisionRule:
    r"""When to ship, stated in both languages.

    Parameters
    ----------
    prob_threshold : float
        Bayes: ship when :math:`P(\\text{lift} > 0) \\ge` this and the expected loss is small;
        a guardrail passes when :math:`P(\\text{increase} < \\text{margin}) \\ge` this.
    loss_threshold : float
        Bayes: largest acceptable relative expected loss :math:`E[(1 - p_T/p_C)^+]` of shipping
        (the threshold of caring), 0.25% by default.
    alpha : float
        Frequentist: ship when the two-sided p-value is below ``alpha`` and the estimate is
        positive; a guardrail passes when the one-sided non-inferiority p-value is below
        ``alpha / 2`` (the two-sided interval's upper bound lies below the margin).
    srm_threshold : float
        p-value of the sample ratio mismatch test below which no decision is made.
    """

    prob_threshold: float = 0.95
    loss_threshold: float = 0.0025
    alpha: float = 0.05
    srm_threshold: float = 0.001

    def __post_init__(self):
        for name in ("prob_threshold", "alpha", "srm_threshold"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ModelError(f"{name} must be in (0, 1), got {value!r}")
        if self.loss_threshold < 0:
            raise ModelError(f"loss_threshold must be >= 0, got {self.loss_threshold!r}")

    def describe(self) -> str:
        """The rule in one sentence."""
        return (f"ship when P(lift > 0) >= {self.prob_threshold:g} and relative expected loss "
                f"<= {self.loss_threshold:.2%} (Bayes), and when two-sided p < {self.alpha:g} "
                f"with a positive estimate (frequentist); guardrails must show an increase below "
                f"their margin (P >= {self.prob_threshold:g}; one-sided p < {self.alpha / 2:g}); "
                f"no decision under sample ratio mismatch (p < {self.srm_threshold:g})")

    def to_dict(self) -> dict:
        """JSON-safe form, with the sentence."""
        return {"prob_threshold": self.prob_threshold, "loss_threshold": self.loss_threshold,
                "alpha": self.alpha, "srm_threshold": self.srm_threshold,
                "text": self.describe()}

    @classmethod
    def from_dict(cls, d: dict) -> DecisionRule:
        """The rule from its :meth:`to_dict` form (the sentence is derived, not read)."""
        return cls(**{k: float(d[k]) for k in ("prob_threshold", "loss_threshold", "alpha",
                                               "srm_threshold") if k in d})


@dataclass(frozen=True)
class Decision:
    """What a readout concludes.

    Attributes
    ----------
    verdict : str
        Primary metric: ``"ship"``, ``"do not ship"``, ``"inconclusive"``, ``"hold"`` (the
        primary metric won but a guardrail did not pass) or ``"blocked"``;
        guardrail: ``"pass"``, ``"fail"`` or ``"blocked"``.
    arm : str, optional
        The treatment arm the verdict is about.
    bayes, frequentist : str
        Each side's own verdict.
    reasons : tuple of str
        Plain-language sentences, the first one the headline.
    blockers : tuple of str
        Failed checks that prevent a decision (empty when none).
    """

    verdict: str
    arm: str | None
    bayes: str
    frequentist: str
    reasons: tuple[str, ...]
    blockers: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The reasons joined in one paragraph."""
        return " ".join(self.reasons)

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"verdict": self.verdict, "arm": self.arm, "bayes": self.bayes,
                "frequentist": self.frequentist, "text": self.text,
                "reasons": list(self.reasons), "blockers": list(self.blockers)}

    @classmethod
    def from_dict(cls, d: dict) -> Decision:
        """The decision from its :meth:`to_dict` form.

        ``reasons`` are stored joined as ``text``; they come back as the sentences it holds
        (split after each full stop that ends a reason).
        """
        reasons = tuple(d.get("reasons") or _sentences(d.get("text", "")))
        return cls(verdict=d["verdict"], arm=d.get("arm"), bayes=d.get("bayes", "n/a"),
                   frequentist=d.get("frequentist", "n/a"), reasons=reasons,
                   blockers=tuple(d.get("blockers", ())))


def _sentences(text: str) -> tuple[str, ...]:
    """Split a paragraph of reasons back into them (each reason ends with '.' and a space)."""
    import re

    parts = re.split(r"(?<=\.) (?=[A-Z])", text.strip())
    return tuple(p for p in parts if p)

