"""The metric kinds: one record per kind, read by the CLI, plans, the runner and the readouts.

A kind says which statistics a metric needs, which function fits both sides on them, which
estimate is the headline a decision reads and in which direction "better" lies, which options it
takes, and whether it supports segments, covariates and sequential monitoring. Adding a kind is
one :func:`register` call with a fitting function (see ``ARCHITECTURE.md``); the CLI's
``--kind`` choices, plan validation and the per-kind options all read this table.

Options are declared once in :data:`OPTIONS` (name, type, help, CLI flag) and each kind lists the
ones it accepts. Nothing here imports the models, so ``import bayeslab`` stays light: a kind
registered by a user carries its fitting function (a callable); the shipped kinds' fitters are
the functions of :mod:`bayeslab.readout.fitters` (its ``BUILTIN_FITTERS`` table), which read
this registry, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bayeslab.core.errors import ModelError


@dataclass(frozen=True)
class Option:
    """One per-metric option, as a plan key and a CLI flag.

    Attributes
    ----------
    name : str
        Plan key and keyword of :func:`bayeslab.compare` (``clip_quantile``).
    type : type or tuple of type
        Accepted TOML type(s); ``list`` options are given comma-separated on the command line.
    help : str
        One line for ``--help`` and the plan template.
    choices : tuple, optional
        Allowed values.
    default : object, optional
        Default when absent (``None``: not set).
    """

    name: str
    type: type | tuple = str
    help: str = ""
    choices: tuple = ()
    default: object = None

    @property
    def flag(self) -> str:
        """The CLI flag: ``--clip-quantile`` for ``clip_quantile``."""
        return "--" + self.name.replace("_", "-")


OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("covariate", (str, list), "pre-period covariate(s), comma-separated; text columns "
           "are one-hot encoded (CUPED / ANCOVA / Bayes regression)"),
    Option("model", str, "add a Student-t or hurdle Bayesian model (MCMC on unit rows)",
           choices=("robust", "hurdle")),
    Option("clip", str, "explicit outlier handling of a continuous outcome (reported)",
           choices=("winsorize", "trim")),
    Option("clip_quantile", float, "quantile that --clip caps or trims at", default=0.99),
    Option("numerator", str, "ratio metric numerator column (per unit)"),
    Option("denominator", str, "ratio metric denominator column (per unit)"),
    Option("stages", list, "funnel stages, comma-separated 0/1 columns in order"),
    Option("duration", str, "retention: time to event or censoring"),
    Option("event", str, "retention: 1 if the event (churn) happened"),
    Option("horizon", float, "retention: day to compare survival at"),
    Option("confounders", list, "observational data: adjust for these columns with propensity "
           "methods (naive, IPW, AIPW, matching, Bayesian)"),
    Option("estimand", str, "with confounders: average effect (ate) or effect on the treated "
           "(att)", choices=("ate", "att"), default="ate"),
    Option("sampler", str, "with confounders: Bayesian propensity posterior",
           choices=("nuts", "laplace"), default="nuts"),
    Option("formula", str, "a formula, e.g. 'revenue ~ arm + pre_spend + C(country) + "
           "(1 | segment)': bambi vs statsmodels OLS (HC1); the arm column's coefficient"),
    Option("builder", str, "your own PyMC model: 'file.py:function', called with the unit "
           "rows (arm coded 0/1), returning a pm.Model (or (model, statsmodels result))"),
    Option("effect", str, "your model's scalar variable holding treatment minus control",
           default="effect"),
    Option("baseline", str, "your model's scalar variable holding the control mean (adds the "
           "relative effect and the expected-loss criterion)"),
    Option("cluster", str, "cluster-randomized: the column of the randomization unit "
           "(account); CR1 errors vs a Bayesian ratio model of cluster totals, SRM on clusters"),
    Option("quantiles", list, "quantile metric: levels, comma-separated (0.5,0.9); Deng outer "
           "interval vs the exact Bayesian bootstrap"),
)}


@dataclass(frozen=True)
class Kind:
    """One metric kind.

    Attributes
    ----------
    name : str
        ``conversion``, ``continuous``, ...
    summary : str
        Bayes model vs frequentist counterpart, in one line.
    fitter : callable, optional
        ``f(source, spec) -> dict`` of :class:`~bayeslab.readout.fitters.MetricFit` fields,
        fitting both sides on the same statistics. ``None`` for the shipped kinds (their
        fitters are :data:`bayeslab.readout.fitters.BUILTIN_FITTERS`); a ``"module:function"``
        string from bayeslab 0.1 is still loaded, with a :class:`DeprecationWarning`.
    stats : str
        Statistics it reduces data to: ``binary``, ``continuous``, ``count`` (per arm and
        segment), ``moments`` (with a covariate), ``funnel``, ``survival`` or ``units`` (unit rows).
    headline_effect : str
        Effect scale the decision reads: ``absolute`` or ``hazard-ratio``.
    direction : int
        +1 when higher is better, -1 when lower is (a hazard of churn).
    options : tuple of str
        Names in :data:`OPTIONS` it accepts.
    segments, covariates, monitoring, unit_rows : bool
        Whether it has a segment model, takes a covariate, can be monitored look by look, and
        needs unit-level rows.
    own_pipeline : bool
        Read by a pipeline of its own rather than a fitter (propensity: the observational
        readout), so it has no ``--kind`` of the metric command.
    effect_scale : {"rate", "value"}, optional
        What an absolute effect is: a difference of rates (shown in percentage points) or of
        values in the metric's unit (money, counts). By default ``rate`` for kinds reducing to
        ``binary`` or ``funnel`` statistics, ``value`` otherwise.
    """

    name: str
    summary: str
    fitter: Callable[[Any, Any], dict] | str | None
    stats: str
    headline_effect: str = "absolute"
    direction: int = 1
    options: tuple[str, ...] = ()
    segments: bool = False
    covariates: bool = False
    monitoring: bool = False
    unit_rows: bool = False
    own_pipeline: bool = False
    effect_scale: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def rate_effects(self) -> bool:
        """Whether its absolute effect is a difference of rates (percentage points)."""
        if self.effect_scale is not None:
            return self.effect_scale == "rate"
        return self.stats in ("binary", "funnel")


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add (or replace) a kind; its options must be declared in :data:`OPTIONS`.

    Raises
    ------
    ModelError
        An option the table does not declare.
    """
    if kind.fitter is not None and not callable(kind.fitter) and not isinstance(kind.fitter, str):
        raise ModelError(f"kind {kind.name!r}: fitter must be a function f(source, spec), got "
                         f"{type(kind.fitter).__name__}")
    if kind.effect_scale not in (None, "rate", "value"):
        raise ModelError(f"kind {kind.name!r}: effect_scale must be 'rate' or 'value', got "
                         f"{kind.effect_scale!r}")
    unknown = [o for o in kind.options if o not in OPTIONS]
    if unknown:
        raise ModelError(f"kind {kind.name!r} names undeclared options: {', '.join(unknown)}")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind (a test's, or one a user registered by mistake)."""
    _KINDS.pop(name, None)


#: entry-point group of installed packages' kinds (``pyproject.toml``:
#: ``[project.entry-points."bayeslab.kinds"] jeffreys = "mypkg.kinds:JEFFREYS"``)
ENTRY_POINT_GROUP = "bayeslab.kinds"
_plugins_loaded = False


def _add_plugin(obj, where: str) -> None:
    """Register what a plugin gives: a Kind, an iterable of them, or a function returning them.

    A module (an entry point without an attribute) registers its kinds when imported.
    """
    import types

    if isinstance(obj, types.ModuleType):
        return
    if callable(obj) and not isinstance(obj, Kind):
        obj = obj()
    items = (obj,) if isinstance(obj, Kind) else tuple(obj or ())
    for item in items:
        if not isinstance(item, Kind):
            raise ModelError(f"{where} gave {type(item).__name__}, not a bayeslab Kind")
        register(item)


def load_plugins() -> None:
    """Register the kinds installed packages declare under :data:`ENTRY_POINT_GROUP`, once.

    Called on the first :func:`names` or on a :func:`get` of an unknown name, so a plugin kind
    works from any process: the API, ``bayeslab compare --kind``, plans, reports and the app.
    A plugin that fails to load is skipped with a :class:`~bayeslab.core.errors.BayeslabWarning`
    naming it (one broken package must not stop every command).
    """
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    import warnings
    from importlib.metadata import entry_points

    from bayeslab.core.errors import BayeslabWarning

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            _add_plugin(ep.load(), f"plugin {ep.name!r} ({ep.value})")
        except Exception as exc:  # noqa: BLE001  (a broken plugin is named, then skipped)
            warnings.warn(f"plugin kind {ep.name!r} ({ep.value}) was not loaded: "
                          f"{type(exc).__name__}: {exc}", BayeslabWarning, stacklevel=2)


def import_plugins(modules) -> None:
    """Import modules that register kinds (a plan's ``plugins = ["mypkg.kinds"]``).

    Raises
    ------
    ModelError
        A name that is not a dotted module name, or a module that fails to import (the
        message names it and the error in one line).
    """
    import importlib
    import re

    for name in modules:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name):
            raise ModelError(f"plugins: {name!r} is not a module name (like 'mypkg.kinds'); "
                             "a plugin is an installed or importable module, not a path")
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001  (any failure is one line for the user)
            raise ModelError(f"plugins: module {name!r} could not be imported: "
                             f"{type(exc).__name__}: {exc}") from None
        _add_plugin(getattr(module, "KINDS", module), f"plugins: module {name!r}")


def get(name: str) -> Kind:
    """The kind called ``name`` (installed plugin kinds included).

    Raises
    ------
    ModelError
        An unknown name (the message lists the known ones).
    """
    if name not in _KINDS:
        load_plugins()
    try:
        return _KINDS[name]
    except KeyError:
        raise ModelError(f"kind must be one of {', '.join(_KINDS)}, got {name!r}") from None


def names(*, fitted: bool | None = None, segments: bool | None = None,
          monitoring: bool | None = None) -> tuple[str, ...]:
    """Names of the registered kinds; optionally only those with a fitter, segments, a monitor."""
    load_plugins()
    out = []
    for k in _KINDS.values():
        if fitted is not None and k.own_pipeline == fitted:
            continue
        if segments is not None and k.segments != segments:
            continue
        if monitoring is not None and k.monitoring != monitoring:
            continue
        out.append(k.name)
    return tuple(out)


def option_names(*, fitted: bool | None = None) -> tuple[str, ...]:
    """Every option some (fitted) kind accepts, in :data:`OPTIONS` order."""
    used = {o for n in names(fitted=fitted) for o in _KINDS[n].options}
    return tuple(o for o in OPTIONS if o in used)


for _k in (
    Kind("conversion", "Beta-Binomial (exact) vs two-proportion z-test", None, "binary",
         options=("cluster",), segments=True, monitoring=True),
    Kind("continuous", "Normal / conjugate regression vs Welch / CUPED / ANCOVA", None,
         "continuous", options=("covariate", "model", "clip", "clip_quantile", "cluster"),
         segments=True,
         covariates=True, monitoring=True),
    Kind("count", "Normal and Gamma-Poisson vs Welch and Poisson Wald", None, "count",
         options=("cluster",), segments=True),
    Kind("ratio", "Beta per funnel stage vs delta method", None, "funnel",
         options=("numerator", "denominator", "stages")),
    Kind("retention", "piecewise-exponential hazard ratio vs Kaplan-Meier / log-rank", None,
         "survival", headline_effect="hazard-ratio", direction=-1,
         options=("duration", "event", "horizon")),
    Kind("propensity", "Bayesian propensity IPW / doubly robust vs IPW, AIPW, matching", None,
         "units", options=("confounders", "estimand", "sampler"), unit_rows=True,
         own_pipeline=True),
    Kind("formula", "a formula: bambi (PyMC) vs statsmodels OLS with HC1 errors", None, "units",
         options=("formula",), unit_rows=True),
    Kind("custom", "your own PyMC model (a builder function) vs OLS or your own model", None,
         "units", options=("builder", "effect", "baseline"), unit_rows=True),
    Kind("quantile", "exact Bayesian bootstrap vs Deng et al. (2018) outer interval, per "
         "quantile", None, "continuous", options=("quantiles",), effect_scale="value"),
):
    register(_k)
