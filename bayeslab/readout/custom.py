"""Your own model in the workbench: formulas, a PyMC model built from a Python file, any model.

Three ways in, each read out like the built-in kinds (decision rule, diagnostics gate, figures,
report, JSON, app):

- **a formula** (kind ``formula``): ``compare(data, kind="formula", formula="revenue ~ arm +
  pre_spend + C(country) + (1 | segment)", ...)`` fits the formula with bambi on the Bayesian
  side (:mod:`bayeslab.bayes.formula`) and with statsmodels OLS, HC1 errors, on the frequentist
  side (:mod:`bayeslab.frequentist.formula`); the effect is the arm column's coefficient.
- **a builder** (kind ``custom``): ``builder = "models/my_model.py:build"`` names a Python file
  and a function ``build(frame)`` that returns a ``pm.Model`` (or ``(model, frequentist)``,
  the second a fitted statsmodels result or an Estimate). ``frame`` holds the unit rows with
  the arm column coded 0/1; the effect is the model variable ``effect`` names.
- **any PyMC model** from a script: :func:`custom_readout` samples ``model`` and returns a
  :class:`CustomReadout`, which satisfies the readout contract (:mod:`bayeslab.readout.contract`).

Both kinds go through :func:`bayeslab.compare`, so they get the sample ratio check, the
guardrails and the plan's report; an unconverged headline model blocks the decision.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from bayeslab.core.decision import Decision, DecisionRule
from bayeslab.core.errors import DataError, ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, jsonable
from bayeslab.readout.contract import BaseReadout, Fitted, Headline

if TYPE_CHECKING:
    from bayeslab.bayes.model import ModelPosterior
    from bayeslab.data.accounting import RowAccount
    from bayeslab.inference.diagnostics import Diagnostics


def formula_columns(formula: str) -> tuple[str | None, tuple[str, ...]]:
    """``(outcome, columns)`` a formula reads (formulae's parser; no outcome: ``None``)."""
    from formulae import model_description

    from bayeslab.core.checks import check_formula

    check_formula(formula)  # before any library evaluates it

    try:
        desc = model_description(formula)
    except Exception as exc:  # formulae raises several types for a bad formula
        raise ModelError(f"formula {formula!r} cannot be parsed: {exc}") from None
    response = desc.response.term.name if desc.response is not None else None
    return response, tuple(sorted(v for v in desc.var_names if v))


def model_priors(model) -> dict:
    """Each free variable's prior as PyMC prints it (``{"effect": "Normal(0, 1)"}``)."""
    out = {}
    for line in model.str_repr(formatting="plain").splitlines():
        name, sep, dist = line.partition(" ~ ")
        if sep and name.strip() in {v.name for v in model.free_RVs}:
            out[name.strip()] = dist.strip()
    return out


def _sampling(s) -> dict:
    from bayeslab.inference.sampling import show_progress

    return dict(draws=s.draws, tune=s.tune, chains=s.chains, seed=s.seed,
                progressbar=bool(show_progress(s.progressbar)), thresholds=dict(s.thresholds))


def _refuse_arm_interactions(formula: str, arm: str) -> None:
    """An interaction with the arm makes its coefficient a conditional effect: refused.

    With ``y ~ arm * x`` the arm's coefficient is the effect at ``x = 0``, not the average
    effect over the data that a readout reports (on either side); group-specific slopes
    ``(arm | g)`` keep the fixed coefficient as the average over groups and are accepted.
    """
    from formulae import model_description

    for term in model_description(formula).terms:
        names = set(getattr(term, "var_names", ()) or ())
        if type(term).__name__ == "Term" and arm in names and len(names) > 1:
            other = ", ".join(sorted(names - {arm}))
            raise ModelError(
                f"formula {formula!r} interacts the arm with {other}: the arm's coefficient is "
                f"then the effect at {other} = 0, not the average effect a readout reports; "
                f"center {other} in the data (subtract its mean) and say so, or drop the "
                "interaction")


def fit_formula(source, s):
    """Kind ``formula``: bambi vs statsmodels OLS (HC1) on the columns the formula names."""
    from bayeslab.bayes.formula import BambiFormula
    from bayeslab.data.model_rows import model_frame
    from bayeslab.frequentist.formula import OLSFormula

    if not s.formula:
        raise ModelError("kind 'formula' needs a formula (formula = \"y ~ arm + x\", --formula)")
    response, columns = formula_columns(s.formula)
    if response != s.metric:
        raise ModelError(f"the formula's outcome is {response!r} but the metric is "
                         f"{s.metric!r}: write the formula as '{s.metric} ~ {s.arm} + ...'")
    if s.arm not in columns:
        raise ModelError(f"formula {s.formula!r} has no term for the arm column {s.arm!r}: "
                         f"add it ('{s.metric} ~ {s.arm} + ...')")
    _refuse_arm_interactions(s.formula, s.arm)
    mf = model_frame(source, arm=s.arm, metric=s.metric, columns=columns, control=s.control,
                     missing=s.missing, what="a formula model (MCMC)")
    from bayeslab.core.progress import stage

    # the frequentist side first: it takes a second, and a formula it cannot fit (a random
    # slope such as (x | seg)) is refused before minutes of compiling and sampling
    freq = OLSFormula(s.formula, treatment=s.arm, interval=s.interval,
                      arm=mf.treatment).fit(mf.frame)
    sampling = _sampling(s)
    with stage("formula model: compile and sample", show=sampling["progressbar"]):
        bayes = BambiFormula(s.formula, treatment=s.arm, interval=s.interval,
                             arm=mf.treatment, **sampling).fit(mf.frame)
    return dict(bayes=(bayes,), frequentist=(freq,), rows=mf.rows, arms=mf.arm_table(),
                control=mf.control, headline=("bambi", "ols-hc1", "absolute"),
                extra={"formula": s.formula})


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text[:200]}"


def load_builder(spec: str):
    """The function ``path.py:name`` names (the file is run as a module, once per call)."""
    path, sep, name = str(spec).rpartition(":")
    if not sep or not path.endswith(".py") or not name.isidentifier():
        raise DataError(f"builder must be 'path/to/file.py:function', got {spec!r}",
                        column="builder")
    file = Path(path)
    if not file.is_file():
        raise DataError(f"builder file {path!r} not found", column="builder")
    module_spec = importlib.util.spec_from_file_location(f"bayeslab_user_{file.stem}", file)
    if module_spec is None or module_spec.loader is None:
        raise DataError(f"builder file {path} cannot be loaded as a Python module",
                        column="builder")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's file: one line, exit 2
        raise DataError(f"builder file {path} failed to load: {_one_line(exc)}",
                        column="builder") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise DataError(f"{path} has no function {name!r}", column="builder")
    return fn


def frequentist_result(freq, *, term: str, interval: float, arm: str | None):
    """A frequentist counterpart as a result with ``estimates()``.

    An Estimate as given, a fitted statsmodels result read at ``term``, or any object with
    ``estimates()``.
    """
    from bayeslab.frequentist.model import FittedTerm

    if isinstance(freq, Estimate):
        if freq.side != "frequentist":
            raise ModelError("the frequentist counterpart must be an Estimate with "
                             "side='frequentist'")
        return _Given(freq)
    if hasattr(freq, "params") and hasattr(freq, "bse"):
        return FittedTerm(term, interval=interval, arm=arm).fit(freq)
    if hasattr(freq, "estimates"):
        return freq
    raise ModelError(f"cannot read a frequentist counterpart from {type(freq).__name__}: give "
                     "a fitted statsmodels result, an Estimate, or a result with estimates()")


@dataclass(frozen=True)
class _Given:
    estimate: Estimate

    def estimates(self) -> list[Estimate]:
        return [self.estimate]

    def to_dict(self) -> dict:
        return {"results": [self.estimate.to_dict()]}


def fit_custom(source, s):
    """Kind ``custom``: the builder's PyMC model vs its frequentist model (default OLS, HC1)."""
    from bayeslab.bayes.model import PyMCModel
    from bayeslab.data.model_rows import model_frame
    from bayeslab.frequentist.formula import OLSFormula

    if not s.builder:
        raise ModelError("kind 'custom' needs builder = 'path/to/file.py:function' (--builder)")
    build = load_builder(s.builder)
    mf = model_frame(source, arm=s.arm, metric=s.metric, columns=list(source.columns),
                     control=s.control, missing=s.missing, what="a custom model (MCMC)")
    try:
        built = build(mf.frame)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code: one line, exit 2
        raise ModelError(f"builder {s.builder} raised {_one_line(exc)}") from None
    model, freq = built if isinstance(built, tuple) else (built, None)
    import pymc as pm

    if not isinstance(model, pm.Model):
        raise ModelError(f"builder {s.builder} must return a pymc.Model (or (model, "
                         f"frequentist)), got {type(model).__name__}")
    from bayeslab.core.progress import stage

    effect = s.effect or "effect"
    sampling = _sampling(s)
    with stage("your model: compile and sample", show=sampling["progressbar"]):
        bayes = PyMCModel(effect=effect, baseline=s.baseline, interval=s.interval,
                          arm=mf.treatment,
                          prior=f"priors as written in {Path(s.builder.rpartition(':')[0]).name}",
                          priors=model_priors(model), **sampling).fit(model)
    if freq is None:
        freq = OLSFormula(f"{s.metric} ~ {s.arm}", treatment=s.arm, interval=s.interval,
                          arm=mf.treatment).fit(mf.frame)
        f_method = freq.method
    else:
        freq = frequentist_result(freq, term=s.arm, interval=s.interval, arm=mf.treatment)
        f_method = freq.estimates()[0].method
    return dict(bayes=(bayes,), frequentist=(freq,), rows=mf.rows, arms=mf.arm_table(),
                control=mf.control, headline=("pymc-model", f_method, "absolute"),
                extra={"builder": s.builder, "effect": effect})


@dataclass(frozen=True)
class CustomReadout(BaseReadout):
    """A user's own PyMC model read out like ours (see :func:`custom_readout`).

    Attributes
    ----------
    metric, kind : str
    bayes : ModelPosterior
    frequentist : result with ``estimates()``, or None
    rule : DecisionRule
    decision : Decision
    rows : RowAccount or None
    unit : str, optional
    """

    metric: str
    kind: str
    bayes: ModelPosterior = field(repr=False)
    frequentist: Fitted | None = field(repr=False)
    rule: DecisionRule
    decision: Decision
    rows: RowAccount | None = None
    unit: str | None = None

    TYPE = "custom"

    def estimates(self) -> list[Estimate]:
        """The effect's posterior (absolute, relative with a baseline), then the frequentist's."""
        freq = self.frequentist.estimates() if self.frequentist is not None else []
        return [*self.bayes.estimates(), *freq]

    @property
    def headline(self) -> Headline:
        """The model's absolute effect beside the frequentist counterpart's."""
        freq = self.frequentist.estimates()[0].method if self.frequentist is not None else None
        return Headline(self.bayes.method, freq, "absolute")

    @property
    def diagnostics(self) -> Diagnostics:
        """The diagnostics gate of the sampled model."""
        # ModelPosterior annotates its diagnostics as object; a fit always sets a Diagnostics
        return cast("Diagnostics", self.bayes.diagnostics)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Blocking checks (an unconverged model)."""
        return tuple(self.decision.blockers)

    @property
    def prior(self):
        """The model's priors as described (its free variables by default)."""
        return self.bayes.prior

    def figures(self) -> dict:
        """``intervals`` (both sides), ``effect`` (posterior density) and ``trace``."""
        from bayeslab.plots import plot_effect_posterior, plot_trace

        b, f = self.headline_estimates()
        blocked = None if self.bayes.converged else self.diagnostics.reason
        return {"intervals": self.plot(),
                "effect": plot_effect_posterior(self.bayes.draws, name=self.bayes.effect_name,
                                                level=self.bayes.interval, metric=self.metric,
                                                unit=self.unit, frequentist=f),
                "trace": plot_trace(self.bayes.idata, var_names=[self.bayes.effect_name],
                                    title=f"{self.metric}: trace of {self.bayes.effect_name}",
                                    blocked=blocked)}

    def to_dict(self) -> dict:
        """JSON-safe: results, model (effect, sampler, settings, prior), diagnostics, decision."""
        b = self.bayes
        return jsonable({
            "type": self.TYPE, "metric": self.metric, "kind": self.kind, "role": self.role,
            "rows": None if self.rows is None else self.rows.to_dict(),
            "results": [e.to_dict() for e in self.estimates()],
            "model": {"effect": b.effect_name, "sampler": b.sampler, "settings": b.settings},
            "prior": b.prior, "priors": b.priors, "diagnostics": self.diagnostics.to_dict(),
            "rule": self.rule.to_dict(), "decision": self.decision.to_dict(),
            "headline": self.headline._asdict(), "warnings": list(self.warnings),
            **({"unit": self.unit} if self.unit else {})})

    def __str__(self) -> str:
        from bayeslab.core import format as fmt

        lines = [f"Readout of {self.metric!r} from your model (effect: {self.bayes.effect_name})"]
        if self.rows is not None:
            lines.append(str(self.rows))
        for e in self.estimates():
            prob = fmt.estimate_prob(e)
            lines.append(f"  {e.side:12s} {e.method:16s} {e.effect:9s} "
                         f"{fmt.effect(e.estimate, e.effect, self.kind, self.unit)} "
                         f"{fmt.interval(e.lower, e.upper, e.effect, self.kind, self.unit)}  "
                         f"{prob}")
        lines.append(f"Diagnostics: {self.diagnostics.verdict} ({self.diagnostics.reason})")
        lines.append(f"Decision: {self.decision.verdict}. {self.decision.text}")
        return "\n".join(lines)


def custom_decision(metric: str, b: Estimate, f: Estimate | None, diagnostics,
                    rule: DecisionRule, *, baseline_mean: float | None = None,
                    direction: int = 1, arm: str | None = None) -> Decision:
    r"""Decision on a user's model: each side by the rule, an unconverged model blocks.

    Bayes ships when :math:`P(\text{better}) \ge` ``prob_threshold`` and, given the control
    mean, the expected loss over it is at most ``loss_threshold``; the frequentist side when the
    two-sided p-value is below ``alpha`` in the good direction. Agreement gives the verdict,
    differing verdicts are inconclusive, and the headline says whether the sides read the same
    evidence (:math:`P` against :math:`1 - p/2`; :func:`~bayeslab.readout.verdicts.split_head`).
    """
    from bayeslab.core import format as fmt
    from bayeslab.readout.verdicts import (
        Evidence,
        bayes_verdict,
        frequentist_verdict,
        posterior_probs,
        verdict_and_head,
    )

    p_pos, p_neg = posterior_probs(b)
    better, worse = (p_pos, p_neg) if direction > 0 else (p_neg, p_pos)
    loss = (b.expected_loss / abs(baseline_mean)
            if baseline_mean and direction > 0 and b.expected_loss is not None else None)
    b_verdict = bayes_verdict(better, worse, loss is None or loss <= rule.loss_threshold, rule)
    loss_text = f", expected loss / control mean {loss:.3%}" if loss is not None else ""
    texts = [f"Bayes ({b.method}): P({metric} better) "
             f"{fmt.prob_is(better, worse, b.extra.get('draws'))}{loss_text}, so {b_verdict}."]
    f_verdict, evidence = None, None
    if f is not None and f.p_value is not None:
        good = (f.estimate > 0) == (direction > 0)
        f_verdict = frequentist_verdict(f.p_value, good, rule.alpha)
        evidence = Evidence(prob_better=better, prob_worse=worse, p_value=f.p_value,
                            good=bool(good), ok_loss=loss is None or loss <= rule.loss_threshold,
                            rule=rule, alpha=rule.alpha, what=f"{metric} better",
                            what_worse=f"{metric} worse",
                            models=f"{b.method}, against {f.method}")
        texts.append(f"Frequentist ({f.method}): p = {fmt.p_value(f.p_value)}, so {f_verdict}.")
    blockers: tuple[str, ...] = ()
    if diagnostics is not None and diagnostics.verdict == "fail":
        blockers = (f"the Bayesian model did not converge ({diagnostics.reason}): its numbers "
                    "are not a posterior yet",)
    verdict, head = verdict_and_head(metric, arm, b_verdict, f_verdict, blockers,
                                     evidence=evidence)
    return Decision(verdict=verdict, arm=arm, bayes=b_verdict, frequentist=f_verdict or "n/a",
                    reasons=(head, *texts, "Rule: " + rule.describe() + "."), blockers=blockers)


def custom_readout(model, effect: str = "effect", *, metric: str | None = None,
                   baseline: str | None = None, frequentist=None, term: str | None = None,
                   rule: DecisionRule | None = None, interval: float = DEFAULT_LEVEL,
                   draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int = 0,
                   sampler: str = "auto", target_accept: float = 0.9,
                   progressbar: bool | None = None, unit: str | None = None,
                   direction: int = 1, rows=None, **thresholds) -> CustomReadout:
    r"""Read out any PyMC model like the built-in ones.

    Samples ``model`` with the project's sampler and remedy, runs the diagnostics gate, reads
    the posterior of the scalar variable ``effect`` (treatment minus control), sets it beside
    an optional frequentist counterpart and decides under ``rule``.

    Parameters
    ----------
    model : pymc.Model
    effect : str
        Scalar variable (free or ``pm.Deterministic``) holding the effect.
    metric : str, optional
        Name of the metric (default: the model's observed variable).
    baseline : str, optional
        Scalar variable holding the control mean: adds the relative effect and the expected
        loss criterion :math:`E[\max(-\Delta, 0)] / \mu_C \le` ``loss_threshold``.
    frequentist : statsmodels result, Estimate or result with ``estimates()``, optional
        The counterpart; a statsmodels result is read at ``term`` (default ``effect``).
    rule : DecisionRule, optional
    interval : float
    draws, tune, chains, seed, sampler, target_accept, progressbar
        Sampling settings (:func:`bayeslab.inference.sampling.sample_with_remedy`).
    unit : str, optional
        The metric's unit, for text and figures.
    direction : {1, -1}
        +1 when a higher value is better.
    rows : RowAccount, optional
        Row accounting of the data the model was built on.
    **thresholds
        Passed to :func:`bayeslab.inference.diagnostics.diagnose` (``rhat_max``, ``ess_min``, ...).

    Returns
    -------
    CustomReadout
    """
    import pymc as pm

    from bayeslab.bayes.model import PyMCModel

    if not isinstance(model, pm.Model):
        raise ModelError(f"expected a pymc.Model, got {type(model).__name__}")
    if direction not in (1, -1):
        raise ModelError(f"direction must be 1 or -1, got {direction!r}")
    rule = rule or DecisionRule()
    observed = [v.name for v in getattr(model, "observed_RVs", ())]
    metric = metric or (observed[0] if observed else effect)
    bayes = PyMCModel(effect=effect, baseline=baseline, interval=interval, draws=draws,
                      tune=tune, chains=chains, seed=seed, sampler=sampler,
                      target_accept=target_accept, progressbar=progressbar,
                      prior="priors as written in the model", priors=model_priors(model),
                      thresholds=thresholds).fit(model)
    freq = None
    if frequentist is not None:
        freq = frequentist_result(frequentist, term=term or effect, interval=interval, arm=None)
    b = bayes.estimates()[0]
    f = freq.estimates()[0] if freq is not None else None
    decision = custom_decision(metric, b, f, bayes.diagnostics, rule,
                               baseline_mean=bayes.baseline_mean, direction=direction)
    return CustomReadout(metric=metric, kind="custom", bayes=bayes, frequentist=freq,
                         rule=rule, decision=decision, rows=rows, unit=unit)
