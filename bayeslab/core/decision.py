"""What decides: the decision rule (both languages) and the decision a readout reaches.

Every readout (:class:`~bayeslab.readout.metric.Readout`, the propensity readout, the sequential
monitor, a custom model's readout) states its conclusion as a :class:`Decision` under a
:class:`DecisionRule`; both round-trip through ``to_dict`` / ``from_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bayeslab.core.errors import ModelError

#: Default frequentist level (two-sided); the Bayesian default threshold is derived from it.
DEFAULT_ALPHA = 0.05


def matching_threshold(alpha: float) -> float:
    r"""The Bayesian threshold that reads the evidence like a two-sided level ``alpha``.

    Under a flat prior and a normal likelihood the posterior probability of a positive effect
    equals one minus the one-sided p-value, :math:`P(\Delta > 0) = 1 - p/2` with :math:`p`
    two-sided, so :math:`P \ge 1 - \alpha/2 \iff p \le \alpha`: both rules then ship at the
    same evidence and have the same one-sided false-ship rate :math:`\alpha/2` at one look.
    """
    return round(1.0 - alpha / 2.0, 12)


def matching_alpha(prob_threshold: float) -> float:
    r"""The two-sided level matching a Bayesian threshold: :math:`\alpha = 2(1 - t)`."""
    return round(2.0 * (1.0 - prob_threshold), 12)


@dataclass(frozen=True)
class DecisionRule:
    r"""When to ship, stated in both languages, on one evidence scale.

    The two thresholds are tied by :math:`t = 1 - \alpha/2`: under a flat prior
    :math:`P(\text{lift} > 0) \approx 1 - p/2` (``p`` two-sided), so the Bayesian rule
    :math:`P \ge t` and the frequentist rule :math:`p < \alpha` ship at the same evidence and
    both have the one-sided false-ship rate :math:`\alpha/2` (2.5% by default) at one look under
    the null. Give one of ``prob_threshold`` / ``alpha`` and the other is derived from it;
    give neither for ``alpha = 0.05`` and ``prob_threshold = 0.975``; give both and both are
    kept as given (:meth:`describe` then says which rule is the stricter).

    Parameters
    ----------
    prob_threshold : float, optional
        Bayes: ship when :math:`P(\text{lift} > 0) \ge` this and the expected loss is small;
        a guardrail passes when :math:`P(\text{increase} < \text{margin}) \ge` this. ``None``
        (default): :math:`1 - \alpha/2`.
    loss_threshold : float
        Bayes: largest acceptable relative expected loss :math:`E[(1 - p_T/p_C)^+]` of shipping
        (the threshold of caring), 0.25% by default.
    alpha : float, optional
        Frequentist: ship when the two-sided p-value is below ``alpha`` and the estimate is
        positive; a guardrail passes when the one-sided non-inferiority p-value is below
        ``alpha / 2`` (the two-sided interval's upper bound lies below the margin). ``None``
        (default): :math:`2(1 - \text{prob\_threshold})` when that is given, else 0.05.
    srm_threshold : float
        p-value of the sample ratio mismatch test below which no decision is made.

    Attributes
    ----------
    derived : str or None
        ``"prob_threshold"`` or ``"alpha"``: the threshold derived from the other (or the
        default); ``None`` when both were given.

    Notes
    -----
    After construction ``prob_threshold`` and ``alpha`` always hold numbers (the derived one
    filled in). ``dataclasses.replace`` passes both numbers back, so both then count as given:
    build a new rule to have one derived again.
    """

    # None: derived in __post_init__, so both always hold a float after construction
    prob_threshold: float = None  # type: ignore[assignment]
    loss_threshold: float = 0.0025
    alpha: float = None  # type: ignore[assignment]
    srm_threshold: float = 0.001
    derived: str | None = field(default=None, init=False, compare=False)

    def __post_init__(self):
        given_p, given_a = self.prob_threshold is not None, self.alpha is not None
        for name in ("prob_threshold", "alpha", "srm_threshold"):
            value = getattr(self, name)
            if value is not None and not 0 < value < 1:
                raise ModelError(f"{name} must be in (0, 1), got {value!r}")
        if self.loss_threshold < 0:
            raise ModelError(f"loss_threshold must be >= 0, got {self.loss_threshold!r}")
        if given_p and not given_a:
            object.__setattr__(self, "alpha", matching_alpha(self.prob_threshold))
            object.__setattr__(self, "derived", "alpha")
        elif not given_p:
            if not given_a:
                object.__setattr__(self, "alpha", DEFAULT_ALPHA)
            object.__setattr__(self, "prob_threshold", matching_threshold(self.alpha))
            object.__setattr__(self, "derived", "prob_threshold")

    @property
    def consistent(self) -> bool:
        r"""Whether both sides judge on the same scale: :math:`t = 1 - \alpha/2` (to 1e-9)."""
        return abs(self.prob_threshold - (1.0 - self.alpha / 2.0)) <= 1e-9

    def mismatch(self) -> str:
        """One sentence on the two thresholds' strictness when they differ; empty otherwise."""
        if self.consistent:
            return ""
        t, a, match = self.prob_threshold, self.alpha, matching_threshold(self.alpha)
        word = "laxer" if t < match else "stricter"
        return (f"the Bayesian threshold {t:g} is {word} than the frequentist alpha {a:g}, "
                f"which matches P >= {match:g}")

    def describe(self) -> str:
        """The rule in one sentence."""
        tie = ("" if not self.consistent else
               f", the same evidence on both sides ({self.prob_threshold:g} = 1 - alpha/2: "
               f"one-sided false-ship rate {self.alpha / 2:g} each)")
        note = f"; {self.mismatch()}" if not self.consistent else ""
        return (f"ship when P(lift > 0) >= {self.prob_threshold:g} and relative expected loss "
                f"<= {self.loss_threshold:.2%} (Bayes), and when two-sided p < {self.alpha:g} "
                f"with a positive estimate (frequentist){tie}; guardrails must show an increase "
                f"below their margin (P >= {self.prob_threshold:g}; one-sided p < "
                f"{self.alpha / 2:g}); no decision under sample ratio mismatch (p < "
                f"{self.srm_threshold:g}){note}")

    def to_dict(self) -> dict:
        """JSON-safe form, with the sentence and which threshold was derived."""
        return {"prob_threshold": self.prob_threshold, "loss_threshold": self.loss_threshold,
                "alpha": self.alpha, "srm_threshold": self.srm_threshold,
                "derived": self.derived, "text": self.describe()}

    @classmethod
    def from_dict(cls, d: dict) -> DecisionRule:
        """The rule from its :meth:`to_dict` form (the sentence is derived, not read).

        The threshold named by ``derived`` is left out and derived again, so a round trip
        keeps which threshold was given.
        """
        keys = ("prob_threshold", "loss_threshold", "alpha", "srm_threshold")
        return cls(**{k: float(d[k]) for k in keys
                      if d.get(k) is not None and k != d.get("derived")})


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

