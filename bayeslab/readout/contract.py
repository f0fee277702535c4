"""The one readout contract every readout satisfies, and readouts read back from JSON.

A readout answers one question about one metric with both sides' estimates and a decision. The
metric readout (:class:`~bayeslab.readout.metric.Readout`), the observational propensity readout
(:class:`~bayeslab.readout.observational.PropensityReadout`), the sequential monitor
(:class:`~bayeslab.readout.monitor_result.MonitorResult`) and a user's own model
(:func:`bayeslab.custom_readout`) all derive from :class:`BaseReadout`, so the runner, the
report and the app handle them through these members only:

=====================  =====================================================================
``metric``, ``kind``   what is read out (the kind as the registry names it)
``TYPE``               ``"readout"``, ``"propensity"``, ``"monitor"`` or ``"custom"``: the
                       ``type`` of the JSON form, naming the class that wrote it
``estimates()``        every :class:`~bayeslab.core.estimates.Estimate` of both sides
``headline``           :class:`Headline`: the method of each side and the effect scale the
                       decision reads; :meth:`BaseReadout.headline_estimates` picks them
``decision``, ``rule`` :class:`~bayeslab.core.decision.Decision` under a
                       :class:`~bayeslab.core.decision.DecisionRule`
``diagnostics``        MCMC diagnostics (with ``to_dict``) or ``None`` for closed forms
``warnings``           statistical warnings and failed checks, one sentence each
``rows``               :class:`~bayeslab.data.accounting.RowAccount`
``figures()``          every figure by name (matplotlib Figures)
``to_dict()``          JSON-safe form with ``type``; ``from_dict`` reads it back
``summary()``          a DataFrame: one row per estimate (a monitor: one per look)
``plot(ax=None)``      the headline figure; ``__str__``; ``_repr_html_`` for notebooks
=====================  =====================================================================

Optional members have neutral defaults here (``role``, ``unit``, ``margin``, ``segments``,
``srm``, ``guardrails``, ``balance``, ``arms``, ``notes``, ``prior``, ``estimand``,
``stats``, ``bayes``, ``guardrail_check()``, ``metric_estimates()``), so a consumer never
needs ``getattr`` or ``isinstance``.

A readout's JSON keeps its numbers, not its posterior draws: ``Readout.from_dict(d)`` (or
:func:`readout_from_dict`, which dispatches on ``d["type"]``) returns a :class:`SavedReadout`,
which satisfies the same contract from the saved numbers (estimates, headline, decision,
diagnostics, warnings, rows, the intervals figure) and whose ``to_dict()`` is ``d`` again.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from bayeslab.core.decision import Decision, DecisionRule
from bayeslab.core.errors import DataError
from bayeslab.core.estimates import Estimate

#: Members every readout class provides (checked by the tests for each class).
MEMBERS = ("metric", "kind", "TYPE", "estimates", "headline", "decision", "rule",
           "diagnostics", "warnings", "rows", "figures", "to_dict", "from_dict", "summary",
           "headline_estimates", "plot", "_repr_html_", "role", "unit", "margin", "segments",
           "srm", "guardrails", "balance", "arms", "notes", "prior", "estimand", "stats",
           "bayes", "guardrail_check", "metric_estimates")


#: Optional members of a readout and their value when a readout class does not set them.
OPTIONAL = {"role": "primary", "unit": None, "margin": None, "segments": None, "srm": None,
            "guardrails": (), "balance": None, "arms": None, "notes": (), "prior": None,
            "estimand": None, "stats": None, "bayes": None}


class Headline(NamedTuple):
    """What the decision reads: each side's method and the effect scale.

    ``rate`` names the funnel stage of a several-stage ratio metric (``None`` otherwise).
    """

    bayes: str | None
    frequentist: str | None
    effect: str
    rate: str | None = None


class BaseReadout:
    """Base of every readout: the shared members of the contract.

    Subclasses provide ``metric``, ``kind``, ``decision``, ``rule``, ``rows``, ``estimates()``,
    ``headline``, ``diagnostics``, ``warnings``, ``figures()`` and ``to_dict()`` (which must
    carry ``"type": TYPE``). Everything else has a default here.
    """

    TYPE: ClassVar[str] = ""

    def __getattr__(self, name):
        # Optional members: a subclass's field or property wins; these are the fallbacks (a
        # class attribute would become a default value of the subclasses' dataclass fields).
        try:
            return OPTIONAL[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute "
                                 f"{name!r}") from None

    def metric_estimates(self) -> list[Estimate]:
        """Population-level estimates of the metric's own models (no segment readout's)."""
        return [e for e in self.estimates() if e.segment is None]

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

        def first(side, method):
            if method is None:
                return None
            return next((e for e in pick if e.side == side and e.method == method), None)

        return first("bayes", head.bayes), first("frequentist", head.frequentist)

    def guardrail_check(self) -> dict | None:
        """A guardrail's margin check; ``None`` for a readout that is not a guardrail."""
        return None

    def summary(self):
        """One row per estimate (both sides), with the metric: a pandas DataFrame."""
        import pandas as pd

        frame = pd.DataFrame([e.to_dict() for e in self.estimates()])
        frame.insert(0, "metric", self.metric)
        return frame

    def plot(self, ax=None):
        """Bayes and frequentist intervals of the headline effect (population level).

        Returns the matplotlib Figure (drawn on ``ax`` when given).
        """
        from bayeslab.plots import plot_interval_comparison

        return plot_interval_comparison(
            [e for e in self.estimates() if e.segment is None], effect=self.headline.effect,
            metric=self.metric, kind=self.kind, unit=self.unit, ax=ax)

    @classmethod
    def from_dict(cls, data: dict) -> SavedReadout:
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
        found = data.get("type", "readout") if isinstance(data, dict) else None
        if cls.TYPE and found != cls.TYPE:
            raise DataError(f"this is a {found!r} readout, not a {cls.TYPE!r} one: read it "
                            "with bayeslab.readout.contract.readout_from_dict")
        return SavedReadout(data)

    def _repr_html_(self) -> str:
        """Notebook view: the decision and the estimates table (plain HTML, no figures)."""
        from html import escape

        d = self.decision
        blockers = "".join(f"<p><b>Blocked:</b> {escape(b)}</p>" for b in d.blockers)
        table = self.summary().to_html(index=False, na_rep="", float_format="{:.4g}".format)
        return (f"<div><h4>{escape(self.metric)} ({escape(str(self.kind))}): "
                f"{escape(d.verdict.upper())}</h4>{blockers}<p>{escape(d.text)}</p>"
                f"{table}</div>")


class _Part:
    """A saved sub-result (diagnostics, SRM check, segment readout): ``to_dict`` and keys."""

    def __init__(self, data: dict):
        self._data = data

    def to_dict(self) -> dict:
        return self._data

    def __getattr__(self, name):
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
    """

    def __init__(self, data: dict):
        from bayeslab.data.accounting import RowAccount

        if not isinstance(data, dict) or "metric" not in data:
            raise DataError("a saved readout needs at least 'metric' (and 'results', "
                            "'decision'); this is not one")
        self.data = data
        self.TYPE = data.get("type", "readout")
        self.metric = data["metric"]
        self.kind = data.get("kind", "")
        self.role = data.get("role", "primary")
        self.unit = data.get("unit")
        self.margin = data.get("margin")
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
    def arms(self):
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
    def diagnostics(self):
        """The saved MCMC diagnostics (``to_dict()`` and keys as attributes), or ``None``."""
        d = self.data.get("diagnostics")
        return _Part(d) if d else None

    @property
    def warnings(self) -> tuple[str, ...]:
        """The saved warnings."""
        return tuple(self.data.get("warnings", ()))

    def guardrail_check(self) -> dict | None:
        """The saved guardrail check, or ``None``."""
        return self.data.get("guardrail")

    def figures(self) -> dict:
        """The intervals figure, drawn from the saved estimates (posteriors are not saved)."""
        return {"intervals": self.plot()}

    def to_dict(self) -> dict:
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


def readout_from_dict(data: dict) -> BaseReadout:
    """Read any saved readout back, by its ``type`` (a file without one is a metric readout)."""
    return SavedReadout(data)
