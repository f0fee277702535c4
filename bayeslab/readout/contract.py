"""The one readout contract every readout satisfies, and readouts read back from JSON.

A readout answers one question about one metric with both sides' estimates and a decision.
Every readout class derives from :class:`BaseReadout`, an abstract base class whose members are
the contract, so the runner, the report and the app handle all readouts through these members
only, without ``getattr`` or ``isinstance``. The readout classes are:

- :class:`~bayeslab.readout.metric.Readout`: a metric readout (``TYPE = "readout"``);
- :class:`~bayeslab.readout.observational.PropensityReadout`: the observational propensity
  readout (``"propensity"``);
- :class:`~bayeslab.readout.monitor_result.MonitorResult`: the sequential monitor's replay of
  the looks (``"monitor"``);
- :class:`~bayeslab.readout.custom.CustomReadout`: a user's own PyMC model (``"custom"``);
- :class:`SavedReadout`: any of these read back from its JSON form.

Required members
----------------
Abstract on :class:`BaseReadout`: a class that lacks one cannot be instantiated (``TypeError``
from :mod:`abc`, and a type checker says so where the class is called).

=====================  =====================================================================
``TYPE``               class constant: ``"readout"``, ``"propensity"``, ``"monitor"`` or
                       ``"custom"``, the ``type`` of the JSON form, naming the class that
                       wrote it
``metric``, ``kind``   what is read out (the kind as the registry names it)
``estimates()``        every :class:`~bayeslab.core.estimates.Estimate` of both sides
``headline``           :class:`Headline`: the method of each side and the effect scale the
                       decision reads; :meth:`BaseReadout.headline_estimates` picks them
``decision``, ``rule`` :class:`~bayeslab.core.decision.Decision` under its rule (a
                       :class:`~bayeslab.core.decision.DecisionRule`; a monitor's first
                       stopping rule)
``diagnostics``        MCMC diagnostics (with ``to_dict``) or ``None`` for closed forms
``warnings``           statistical warnings and failed checks, one sentence each
``rows``               :class:`~bayeslab.data.accounting.RowAccount` (``None`` if unknown)
``figures()``          every figure by name (matplotlib Figures)
``to_dict()``          JSON-safe form with ``"type": TYPE``; ``from_dict`` reads it back
=====================  =====================================================================

Optional members
----------------
Each is declared on :class:`BaseReadout` with its type, its documentation and its neutral
default; a readout class that has the member overrides it with a dataclass field, a property or
a class attribute:

=====================================  ==========================================================
``role``                               ``"primary"`` (``secondary``, ``guardrail``, ``monitor``)
``unit``, ``margin``, ``estimand``     ``None`` (``margin_relative``: ``False``)
``segments``, ``srm``, ``balance``     ``None`` (sub-results with ``to_dict``)
``arms``, ``prior``, ``stats``,        ``None``
``bayes``
``guardrails``, ``notes``              ``()``
``metric_estimates()``                 the population-level ``estimates()``
``guardrail_check()``                  ``None``
``summary()``, ``plot(ax=...)``,       a DataFrame of the estimates, the intervals figure,
``headline_estimates()``,              the headline pair, reading a saved form back, the
``from_dict()``, ``_repr_html_()``     notebook view
=====================================  ==========================================================

:data:`MEMBERS` lists them all, :data:`REQUIRED` the abstract ones.

How the members are declared
----------------------------
The readout classes are frozen dataclasses whose fields carry many of the members (``metric``,
``decision``, ``role``, ...), while others compute the same member as a property (a monitor's
``decision``). A plain ``property`` on the base cannot be overridden by a dataclass field:
:mod:`dataclasses` reads a field's default with ``getattr`` through the MRO (the property would
become the default) and a frozen ``__init__`` cannot set through a property without a setter.
So the members are declared with :func:`member`, which a type checker reads as ``property``
(an abstract one for the required members) and which at run time is a *non-data* descriptor:

- on an instance, a value set by a dataclass ``__init__`` or in ``__init__`` wins (it lives in
  the instance's ``__dict__``); otherwise the declared default is returned;
- on a class that declares the member as an annotation (a dataclass field, or an attribute set
  in ``__init__``), class access raises ``AttributeError``, exactly as for a dataclass field of a
  plain class: :mod:`dataclasses` then sees no default and :mod:`abc` counts the member as
  provided; on a class that neither annotates nor defines it, a required member stays abstract.

A readout's JSON keeps its numbers, not its posterior draws: ``Readout.from_dict(d)`` (or
:func:`readout_from_dict`, which reads any type) returns a :class:`SavedReadout`, which
satisfies the same contract from the saved numbers (estimates, headline, decision, diagnostics,
warnings, rows, the intervals figure) and whose ``to_dict()`` is ``d`` again.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from bayeslab.core.decision import Decision, DecisionRule
from bayeslab.core.errors import DataError
from bayeslab.core.estimates import Estimate

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bayeslab.data.accounting import RowAccount
    from bayeslab.sequential.rules import Rule


class Headline(NamedTuple):
    """What the decision reads: each side's method and the effect scale.

    ``rate`` names the funnel stage of a several-stage ratio metric (``None`` otherwise).
    """

    bayes: str | None
    frequentist: str | None
    effect: str
    rate: str | None = None


class Part(Protocol):
    """A sub-result with a JSON form: SRM check, segment readout, balance, diagnostics."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        ...


class Fitted(Protocol):
    """A fitted side of a readout: a model's or a test's result with its estimates."""

    def estimates(self) -> list[Estimate]:
        """The result's estimates."""
        ...


class _Member:
    """Run-time form of :func:`member`: a non-data descriptor (see the module docstring)."""

    def __init__(self, fget: Callable[[Any], Any]):
        self.fget = fget
        self.name = fget.__name__
        self.owner: type | None = None
        self.__doc__ = fget.__doc__
        self.__isabstractmethod__ = bool(getattr(fget, "__isabstractmethod__", False))

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner, self.name = owner, name

    def _annotated_by(self, cls: type) -> bool:
        """Whether ``cls`` or a class between it and the declaring one annotates the member."""
        for klass in cls.__mro__:
            if klass is self.owner:
                return False
            if self.name in inspect.get_annotations(klass):
                return True
        return False

    def __get__(self, obj: object, cls: type | None = None) -> Any:
        if obj is None:
            if cls is not None and self._annotated_by(cls):
                # a field (or __init__ attribute) of cls: no class-level value, as for any
                # dataclass field; dataclasses read no default, abc counts it as provided
                raise AttributeError(f"{cls.__name__}.{self.name} is set per instance")
            return self
        if self.__isabstractmethod__:
            raise AttributeError(f"{type(obj).__name__!r} object declares {self.name!r} but "
                                 "has not set it")
        return self.fget(obj)

    def __repr__(self) -> str:
        state = "required" if self.__isabstractmethod__ else "optional"
        return f"<{state} readout member {self.name!r}>"


if TYPE_CHECKING:
    member = property
else:
    def member(fget):
        """Declare a contract member: a read-only property to a type checker.

        With ``abstractmethod`` under it, a required member; otherwise an optional one, whose
        body returns the default. A subclass provides or overrides it with a dataclass field
        (or an attribute set in ``__init__``, annotated in the class body), a property or a
        class attribute.
        """
        return _Member(fget)


class _RequiredConstant:
    """Run-time value of an abstract class constant (``TYPE``) until a subclass sets it."""

    __isabstractmethod__ = True

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<required class constant {self.name!r}>"


def _required_constant(name: str) -> Any:
    return _RequiredConstant(name)


class BaseReadout(ABC):
    """Base of every readout: the members of the contract.

    Subclasses provide the abstract members (``TYPE``, ``metric``, ``kind``, ``estimates()``,
    ``headline``, ``decision``, ``rule``, ``diagnostics``, ``warnings``, ``rows``,
    ``figures()``, ``to_dict()``, which must carry ``"type": TYPE``); every other member has
    a default here that a subclass overrides where it has the member.
    """

    #: The ``type`` of the JSON form, naming the readout class that wrote it.
    TYPE: ClassVar[str] = _required_constant("TYPE")

    # -- required members ---------------------------------------------------------------------
    @member
    @abstractmethod
    def metric(self) -> str:
        """The metric's name (its outcome column, or the name a plan gives it)."""

    @member
    @abstractmethod
    def kind(self) -> str:
        """The metric kind, as the registry names it (``conversion``, ``continuous``, ...)."""

    @abstractmethod
    def estimates(self) -> list[Estimate]:
        """Every estimate of both sides (population level first, then any segment entries)."""

    @member
    @abstractmethod
    def headline(self) -> Headline:
        """Each side's method and the effect scale the decision reads."""

    @member
    @abstractmethod
    def decision(self) -> Decision:
        """The decision, with each side's verdict, the reasons and any blockers."""

    @member
    @abstractmethod
    def rule(self) -> DecisionRule | Rule | None:
        """The rule the decision follows: a DecisionRule (a monitor: its first stopping rule)."""

    @member
    @abstractmethod
    def diagnostics(self) -> Part | None:
        """MCMC diagnostics of the sampled model the decision reads; ``None`` for closed forms."""

    @member
    @abstractmethod
    def warnings(self) -> tuple[str, ...]:
        """Statistical warnings and failed checks, one sentence each."""

    @member
    @abstractmethod
    def rows(self) -> RowAccount | None:
        """Rows read, used and excluded (with reasons); ``None`` when not known."""

    @abstractmethod
    def figures(self) -> dict[str, Figure]:
        """Every figure of the readout, by name (matplotlib Figures; the caller closes them)."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, with ``"type": TYPE``; :meth:`from_dict` reads it back."""

    # -- optional members: the defaults ------------------------------------------------------
    @member
    def role(self) -> str:
        """``"primary"``, ``"secondary"``, ``"guardrail"`` or ``"monitor"``; ``"primary"``."""
        return "primary"

    @member
    def unit(self) -> str | None:
        """The metric's unit (``"EUR"``) for absolute effects; ``None``: no unit."""
        return None

    @member
    def margin(self) -> float | None:
        """A guardrail's non-inferiority margin; ``None`` otherwise."""
        return None

    @member
    def margin_relative(self) -> bool:
        """Whether the margin is a fraction of the control rate (else an absolute increase)."""
        return False

    @member
    def estimand(self) -> str | None:
        """The causal estimand (``"ate"``, ``"att"``) of an observational readout, or ``None``."""
        return None

    @member
    def segments(self) -> Part | None:
        """The segment readout (with ``to_dict``), or ``None`` for a readout without segments."""
        return None

    @member
    def srm(self) -> Part | None:
        """The sample ratio mismatch check (with ``to_dict``), or ``None`` where there is none."""
        return None

    @member
    def balance(self) -> Part | None:
        """Covariate balance and overlap (an observational readout's), or ``None``."""
        return None

    @member
    def arms(self) -> pd.DataFrame | None:
        """Units and mean per arm (``arm``, ``n``, ``mean``; control first), or ``None``."""
        return None

    @member
    def prior(self) -> Any:
        """The prior of the headline Bayesian model, as the model states it; or ``None``."""
        return None

    @member
    def stats(self) -> Any:
        """The sufficient statistics both sides were fitted on, or ``None``."""
        return None

    @member
    def bayes(self) -> Any:
        """The Bayesian result holding the headline estimate, or ``None``."""
        return None

    @member
    def guardrails(self) -> tuple[BaseReadout, ...]:
        """Guardrail readouts the decision takes into account (a primary readout's); ``()``."""
        return ()

    @member
    def notes(self) -> tuple[str, ...]:
        """Statistical notes raised while fitting the metric's own models; ``()``."""
        return ()

    def metric_estimates(self) -> list[Estimate]:
        """Population-level estimates of the metric's own models (no segment readout's)."""
        return [e for e in self.estimates() if e.segment is None]

    def guardrail_check(self) -> dict[str, Any] | None:
        """A guardrail's margin check; ``None`` for a readout that is not a guardrail."""
        return None

    # -- shared behaviour -------------------------------------------------------------------
    def headline_estimates(self, arm: str | None = None) -> tuple[Estimate | None,
                                                                  Estimate | None]:
        """(Bayes, frequentist) estimates the decision reads, for ``arm``.

        ``arm`` defaults to the decision's arm (the best treatment arm). Population-level
        entries only; on the headline's effect scale (and funnel stage); the first match of each
        side's headline method, or ``None`` when a side has no headline.
        """
        head = self.headline
        arm = arm if arm is not None else self.decision.arm
        pick = [e for e in self.estimates() if e.segment is None and e.effect == head.effect
                and (head.rate is None or e.extra.get("rate") == head.rate)
                and (arm is None or e.arm is None or e.arm == arm)]

        def first(side: str, method: str | None) -> Estimate | None:
            if method is None:
                return None
            return next((e for e in pick if e.side == side and e.method == method), None)

        return first("bayes", head.bayes), first("frequentist", head.frequentist)

    def summary(self) -> pd.DataFrame:
        """One row per estimate (both sides), with the metric: a pandas DataFrame."""
        import pandas as pd

        frame = pd.DataFrame([e.to_dict() for e in self.estimates()])
        frame.insert(0, "metric", self.metric)
        return frame

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """Bayes and frequentist intervals of the headline effect (population level).

        Returns the matplotlib Figure (drawn on ``ax`` when given). ``ax`` is keyword-only in
        the contract: a readout class may take its own positional options first.
        """
        from bayeslab.plots import plot_interval_comparison

        return plot_interval_comparison(
            [e for e in self.estimates() if e.segment is None], effect=self.headline.effect,
            metric=self.metric, kind=self.kind, unit=self.unit, ax=ax)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SavedReadout:
        """Read back this class's :meth:`to_dict` form (from ``readout.json``).

        Returns
        -------
        SavedReadout
            The saved numbers under the same contract; ``to_dict()`` gives ``data`` back.

        Raises
        ------
        DataError
            ``data`` was written by another readout class, or lacks the contract's keys.
        """
        expected = cls.TYPE if isinstance(cls.TYPE, str) else ""
        found = data.get("type", "readout") if isinstance(data, dict) else None
        if expected and found != expected:
            raise DataError(f"this is a {found!r} readout, not a {expected!r} one: read it "
                            "with bayeslab.readout.contract.readout_from_dict")
        return SavedReadout(data)

    def _repr_html_(self) -> str:
        """Notebook view: decision, blockers, estimates and guardrails in the metric's units.

        Every number goes through :mod:`bayeslab.core.format` (pp for rates, % for relative
        effects, the metric's unit for money and counts, probabilities never 1 or 0), as in the
        terminal and the report; the table is as wide as its content (no raw floats).
        """
        from html import escape

        from bayeslab.core import format as fmt

        def table(head, rows) -> str:
            cells = "".join(f"<th style='text-align:left'>{escape(h)}</th>" for h in head)
            body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>"
                           for r in rows)
            return (f"<table style='width:auto;font-size:90%'><tr>{cells}</tr>{body}</table>")

        d = self.decision
        kind, unit = str(self.kind), self.unit
        rows = []
        for e in self.metric_estimates():
            value, interval = fmt.estimate_text(e, kind, unit)
            loss = "" if e.expected_loss is None else fmt.number(e.expected_loss, 3)
            rows.append((e.side, e.method, e.arm or "", fmt.effect_name(e), value, interval,
                         fmt.estimate_prob(e), loss))
        level = rows and self.metric_estimates()[0].level or 0.95
        head = ("side", "method", "arm", "effect", "estimate", f"{level:.0%} interval", "P / p",
                "expected loss")
        keep = [i for i in range(len(head)) if any(r[i] for r in rows)]
        parts = [f"<h4>{escape(self.metric)} ({escape(kind)}): {escape(d.verdict.upper())}</h4>"]
        parts += [f"<p><b>Blocked:</b> {escape(b)}</p>" for b in d.blockers]
        parts.append(f"<p>{escape(d.text)}</p>")
        parts.append(table([head[i] for i in keep], [[r[i] for i in keep] for r in rows]))
        checks = [(g.metric, g.guardrail_check()) for g in self.guardrails]
        if self.guardrail_check() is not None:
            checks.insert(0, (self.metric, self.guardrail_check()))
        guard_rows = []
        for name, check in checks:
            if check is None:
                continue
            t = fmt.guardrail(check)
            guard_rows.append((name, t["margin"], t["increase"], t["prob"], t["p"],
                               str(check.get("verdict", "")).upper()))
        if guard_rows:
            parts.append("<p><b>Guardrails</b></p>" + table(
                ("guardrail", "margin", "increase", "P(increase > margin)",
                 "non-inferiority p", "verdict"), guard_rows))
        parts += [f"<p><i>Note:</i> {escape(fmt.one_line(n))}</p>" for n in self.notes]
        return "<div style='max-width:60em'>" + "".join(parts) + "</div>"


#: Every member of the contract, required and optional, in the order declared above.
MEMBERS: tuple[str, ...] = tuple(name for name in vars(BaseReadout)
                                 if not name.startswith("_") or name == "_repr_html_")

#: The required members: abstract on :class:`BaseReadout`.
REQUIRED: frozenset[str] = frozenset(BaseReadout.__abstractmethods__)


class _Part:
    """A saved sub-result (diagnostics, SRM check, segment readout): ``to_dict`` and keys."""

    def __init__(self, data: dict[str, Any]):
        self._data = data

    def to_dict(self) -> dict[str, Any]:
        return self._data

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __str__(self) -> str:
        return str(self._data.get("text") or self._data)


class SavedReadout(BaseReadout):
    """A readout read back from its JSON form; the contract over the saved numbers.

    Parameters
    ----------
    data : dict
        The ``to_dict()`` form of any readout (one entry of ``readout.json``).

    Notes
    -----
    ``TYPE`` is the saved form's ``type``, set per instance: a saved readout names the class
    that wrote it. On the class it is ``""``, so ``SavedReadout.from_dict`` reads any type.
    """

    TYPE: ClassVar[str] = ""
    data: dict[str, Any]
    metric: str
    kind: str
    role: str
    unit: str | None
    margin: float | None
    margin_relative: bool
    prior: Any
    stats: Any
    decision: Decision
    rule: DecisionRule | None
    guardrails: tuple[SavedReadout, ...]
    srm: Part | None
    segments: Part | None
    rows: RowAccount | None

    def __init__(self, data: dict[str, Any]):
        from bayeslab.data.accounting import RowAccount

        if not isinstance(data, dict) or "metric" not in data:
            raise DataError("a saved readout needs at least 'metric' (and 'results', "
                            "'decision'); this is not one")
        self.data = data
        # the one per-instance TYPE (see Notes): the class constant of the class that wrote it
        self.TYPE = data.get("type", "readout")  # type: ignore[misc]
        self.metric = data["metric"]
        self.kind = data.get("kind", "")
        self.role = data.get("role", "primary")
        self.unit = data.get("unit")
        self.margin = data.get("margin")
        self.margin_relative = bool(data.get("margin_relative", False))
        self.prior = data.get("prior")
        self.stats = data.get("stats")
        self.decision = Decision.from_dict(data["decision"]) if data.get("decision") else \
            Decision("inconclusive", None, "n/a", "n/a", ("No decision was saved.",))
        self.rule = DecisionRule.from_dict(data["rule"]) if data.get("rule") else None
        self.guardrails = tuple(SavedReadout(g) for g in data.get("guardrails", ()))
        self.srm = _Part(data["srm"]) if data.get("srm") else None
        self.segments = _Part(data["segments"]) if data.get("segments") else None
        rows = data.get("rows")
        self.rows = None if not rows else RowAccount(
            read=int(rows["read"]), used=int(rows["used"]),
            excluded={e["reason"]: int(e["rows"]) for e in rows.get("exclusions", ())},
            units=rows.get("units"))

    @property
    def arms(self) -> pd.DataFrame | None:
        """The saved per-arm table (``arm``, ``n``, ``mean``) as a DataFrame, or ``None``."""
        if not self.data.get("arms"):
            return None
        import pandas as pd

        return pd.DataFrame(self.data["arms"])

    def estimates(self) -> list[Estimate]:
        """The saved estimates, both sides, in the order they were written."""
        return [Estimate.from_dict(e) for e in self.data.get("results", ())]

    @property
    def headline(self) -> Headline:
        """The saved headline methods and effect scale."""
        h = self.data.get("headline") or {}
        return Headline(h.get("bayes"), h.get("frequentist"), h.get("effect", "absolute"),
                        h.get("rate"))

    @property
    def diagnostics(self) -> Part | None:
        """The saved MCMC diagnostics (``to_dict()`` and keys as attributes), or ``None``."""
        d = self.data.get("diagnostics")
        return _Part(d) if d else None

    @property
    def warnings(self) -> tuple[str, ...]:
        """The saved warnings."""
        return tuple(self.data.get("warnings", ()))

    def guardrail_check(self) -> dict[str, Any] | None:
        """The saved guardrail check, or ``None``."""
        return self.data.get("guardrail")

    def figures(self) -> dict[str, Figure]:
        """The intervals figure, drawn from the saved estimates (posteriors are not saved)."""
        return {"intervals": self.plot()}

    def to_dict(self) -> dict[str, Any]:
        """The dict this readout was read from, unchanged."""
        return self.data

    def __str__(self) -> str:
        from bayeslab.core import format as fmt

        lines = [f"{self.metric} ({self.kind}, {self.role}): {self.decision.verdict.upper()}"]
        for e in self.headline_estimates():
            if e is not None:
                lines.append(f"  {e.side:12s} {e.method:22s} "
                             f"{fmt.effect(e.estimate, e.effect, self.kind, self.unit)} "
                             f"{fmt.interval(e.lower, e.upper, e.effect, self.kind, self.unit)}")
        lines.append(self.decision.text)
        return "\n".join(lines)


def readout_from_dict(data: dict[str, Any]) -> SavedReadout:
    """Read any saved readout back, whatever its ``type`` (without one: a metric readout)."""
    return SavedReadout(data)
