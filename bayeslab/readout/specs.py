"""What :func:`~bayeslab.readout.metric.compare` takes, in four groups of options.

Where the data is, what is estimated, how the sampled models run, and what decides.
Each group is a frozen dataclass with documented defaults; every field is also a keyword of
``compare()`` (a *shortcut*), so ``compare(df, arm="arm", metric="m", draws=500)`` and
``compare(df, arm="arm", metric="m", sampling=SamplingSpec(draws=500))`` are the same call.
Giving a field both ways is an error, as is a keyword no group has.

=========================  ==============================================================
group (keyword)            fields
=========================  ==============================================================
:class:`SourceSpec`        ``sql``, ``engine``, ``n``, ``unit_id``, ``missing``
(``source=``)
:class:`AnalysisSpec`      ``prior``, ``interval``, ``segments``, ``unit``, and the kind's
(``analysis=``)            options (``covariate``, ``model``, ``stages``, ``formula``, ...;
                           :data:`bayeslab.core.kinds.OPTIONS`) in ``options``
:class:`SamplingSpec`      ``draws``, ``tune``, ``chains``, ``seed``, ``progressbar``,
(``sampling=``)            ``thresholds``
:class:`DecisionSpec`      ``rule``, ``guardrails``, ``margins``, ``planned_split``, ``role``
(``decision=``)            ``correction``
=========================  ==============================================================
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from bayeslab.core import kinds
from bayeslab.core.decision import DecisionRule
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL


def _bad(name: str, expected: str, got) -> ModelError:
    return ModelError(f"compare(): {name} must be {expected}, got {got!r}")


def _optional_str(name: str, value) -> None:
    if value is not None and not isinstance(value, str):
        raise _bad(name, "a column name (str)", value)


def _names_or_one(name: str, value) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise _bad(name, "a column name or a list of them", value)


def _count(name: str, value, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise _bad(name, f"a whole number of at least {minimum}", value)


@dataclass(frozen=True)
class SourceSpec:
    """Where the data is and how its rows are read.

    Attributes
    ----------
    sql : str, optional
        One read-only DuckDB (or Spark) query giving the table, instead of ``data``.
    engine : {"duckdb", "spark"}, optional
        Where the statistics are computed (DuckDB by default; a Spark DataFrame always runs on
        Spark). The readout is the same.
    n : str, optional
        Count column of pre-aggregated input (the metric column then holds conversions).
    unit_id : str, optional
        Unit id column of unit rows, checked for duplicates.
    missing : {"error", "exclude"}
        Rows with a missing arm or outcome: raise, or exclude and report.
    """

    sql: str | None = None
    engine: str | None = None
    n: str | None = None
    unit_id: str | None = None
    missing: str = "error"

    def __post_init__(self):
        if self.sql is not None and not isinstance(self.sql, str):
            raise _bad("sql", "one SELECT statement (str)", self.sql)
        if self.engine not in (None, "duckdb", "spark"):
            raise _bad("engine", "'duckdb' or 'spark'", self.engine)
        _optional_str("n", self.n)
        _optional_str("unit_id", self.unit_id)
        if self.missing not in ("error", "exclude"):
            raise _bad("missing", "'error' or 'exclude'", self.missing)


@dataclass(frozen=True)
class AnalysisSpec:
    """What is estimated: the prior, the interval level, segments, the unit, the kind's options.

    Attributes
    ----------
    prior : (float, float)
        Beta prior (alpha, beta) of every arm's rate (conversion metrics and guardrails).
    interval : float
        Interval level of both sides.
    segments : str or sequence of str
        One or two segment columns: adds the segment readout (conversion, continuous, count).
    unit : str, optional
        The metric's unit (``"EUR"``) for absolute effects of continuous and count metrics.
    options : mapping
        The kind's own options by name (:data:`bayeslab.core.kinds.OPTIONS`), e.g.
        ``{"covariate": "pre_spend"}``; given to ``compare()`` as keywords, they land here.
    effect_prior : EffectHistory, optional
        A distribution of true effects learned from past experiments of this metric
        (:func:`bayeslab.bayes.history.fit_effect_distribution`): the Bayesian headline becomes
        the posterior of the absolute effect under it (:mod:`bayeslab.readout.learned_prior`).
    """

    prior: tuple[float, float] = (1.0, 1.0)
    interval: float = DEFAULT_LEVEL
    segments: str | Sequence[str] = ()
    unit: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    effect_prior: Any = None

    def __post_init__(self):
        import math

        prior = self.prior
        if (isinstance(prior, (str, bytes)) or not isinstance(prior, Sequence) or len(prior) != 2
                or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                           and math.isfinite(v) and v > 0 for v in prior)):
            raise _bad("prior", "two positive numbers (alpha, beta)", prior)
        level = self.interval
        if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
            raise _bad("interval", "a level between 0 and 1 (0.95)", level)
        _names_or_one("segments", self.segments)
        _optional_str("unit", self.unit)
        if not isinstance(self.options, Mapping):
            raise _bad("options", "a mapping of kind options", self.options)
        if self.effect_prior is not None and not hasattr(self.effect_prior, "prior_spec"):
            raise _bad("effect_prior", "a fitted effect distribution "
                       "(bayeslab.bayes.history.fit_effect_distribution)", self.effect_prior)


@dataclass(frozen=True)
class SamplingSpec:
    """How the sampled models run (segments, robust / hurdle revenue, formula, custom, propensity).

    Attributes
    ----------
    draws, tune : int
        Draws kept and tuning steps per chain.
    chains : int, optional
        Chains: 4 by default (2 for the Bayesian propensity model).
    seed : int
        Seed of any sampling; closed forms ignore it. The same seed gives the same numbers on
        one machine.
    progressbar : bool, optional
        Sampling progress bar; by default only when stderr is a terminal.
    thresholds : mapping, optional
        Diagnostic thresholds for :func:`bayeslab.inference.diagnostics.diagnose`
        (``{"ess_min": 200}``).
    """

    draws: int = 1000
    tune: int = 1000
    chains: int | None = None
    seed: int = 0
    progressbar: bool | None = None
    thresholds: Mapping[str, float] | None = None

    def __post_init__(self):
        _count("draws", self.draws)
        _count("tune", self.tune, minimum=0)
        if self.chains is not None:
            _count("chains", self.chains)
        if (isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral)
                or not 0 <= self.seed < 2**32):
            raise _bad("seed", "a whole number from 0 to 2**32 - 1", self.seed)
        if self.progressbar is not None and not isinstance(self.progressbar, bool):
            raise _bad("progressbar", "True, False or None", self.progressbar)
        if self.thresholds is not None and not isinstance(self.thresholds, Mapping):
            raise _bad("thresholds", "a mapping such as {'ess_min': 200}", self.thresholds)


@dataclass(frozen=True)
class DecisionSpec:
    """What decides: the rule, guardrails with their margins, the SRM split, the metric's role.

    Attributes
    ----------
    rule : DecisionRule, optional
        The decision rule (:class:`~bayeslab.core.decision.DecisionRule` defaults).
    guardrails : str or sequence of str
        Harmful binary metrics to check (unsubscribes, opt-outs).
    margins : float or mapping of str to float, optional
        Non-inferiority margin per guardrail: the largest acceptable absolute increase.
        Required when ``guardrails`` is given.
    planned_split : sequence of float, optional
        Planned shares per arm (control first) for the SRM check; equal by default.
    role : {"primary", "secondary"}
        A secondary metric is read out the same way; its decision is advisory.
    correction : str or Correction, optional
        Multiple-testing correction of the frequentist headline p-values over the treatment
        arms (:mod:`bayeslab.readout.corrections`): ``"holm"`` (default), ``"bh"``,
        ``"bonferroni"`` or ``"none"``, or a :class:`~bayeslab.readout.corrections.Correction`
        (its ``"segments"`` scope also sets the per-segment tests' adjustment).
    """

    rule: DecisionRule | None = None
    guardrails: str | Sequence[str] = ()
    margins: float | str | Mapping[str, float | str] | None = None
    planned_split: Sequence[float] | None = None
    role: str = "primary"
    correction: Any = None

    def __post_init__(self):
        if self.rule is not None and not isinstance(self.rule, DecisionRule):
            raise _bad("rule", "a DecisionRule", self.rule)
        if self.correction is not None:
            from bayeslab.readout.corrections import Correction

            try:
                Correction.parse(self.correction)
            except ModelError as exc:
                raise ModelError(f"compare(): {exc}") from None
        _names_or_one("guardrails", self.guardrails)
        if self.role not in ("primary", "secondary"):
            raise _bad("role", "'primary' or 'secondary'", self.role)


#: the groups of compare(), by keyword
GROUPS = {"source": SourceSpec, "analysis": AnalysisSpec, "sampling": SamplingSpec,
          "decision": DecisionSpec}


def _names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name != "options")


def gather(groups: Mapping[str, Any], shortcuts: Mapping[str, Any]) -> dict[str, Any]:
    """The four specs of one ``compare()`` call: the groups given, with the shortcuts merged in.

    Returns ``{"source": SourceSpec, "analysis": AnalysisSpec, "sampling": SamplingSpec,
    "decision": DecisionSpec}``.

    Raises
    ------
    ModelError
        A group of the wrong type, a shortcut given in its group too, or a keyword that is
        neither a field of a group nor a kind option (the message lists them).
    """
    out: dict[str, Any] = {}
    for key, cls in GROUPS.items():
        spec: Any = groups.get(key)
        if spec is None:
            spec = cls()
        elif not isinstance(spec, cls):
            raise ModelError(f"compare(): {key}= takes a {cls.__name__}, got "
                             f"{type(spec).__name__}")
        mine = {k: shortcuts[k] for k in _names(cls) if k in shortcuts}
        for k in mine:
            if groups.get(key) is not None and getattr(spec, k) != getattr(cls(), k):
                raise ModelError(f"compare(): {k!r} given both as a keyword and in {key}=")
        out[key] = replace(spec, **mine) if mine else spec
    used = {k for cls in GROUPS.values() for k in _names(cls)}
    options = {k: v for k, v in shortcuts.items() if k not in used}
    unknown = sorted(k for k in options if k not in kinds.OPTIONS)
    if unknown:
        listed = "; ".join(f"{key}: {', '.join(_names(cls))}" for key, cls in GROUPS.items())
        raise ModelError(f"unknown option {unknown[0]!r} for compare() (its options are {listed};"
                         " and the kinds' options: " + ", ".join(kinds.OPTIONS) + ")")
    analysis = out["analysis"]
    both = sorted(set(options) & set(analysis.options))
    if both:
        raise ModelError(f"compare(): {both[0]!r} given both as a keyword and in analysis=")
    out["analysis"] = replace(analysis, options={**analysis.options, **options})
    return out
