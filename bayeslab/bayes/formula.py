r"""A metric given as a formula, Bayesian side: a bambi model, read out through its treatment term.

``"revenue_60d ~ arm + pre_30d_spend + C(country) + (1 | segment)"`` is the linear model

.. math::

    y_i = \alpha + \Delta\,t_i + x_i^\top\beta + u_{g[i]} + \varepsilon_i, \quad
    \varepsilon_i \sim N(0, \sigma^2), \quad u_g \sim N(0, \tau^2),

with ``t`` the 0/1 treatment indicator (the arm column, control 0) and ``(1 | g)`` a group
effect partially pooled across groups. bambi (the formula layer for PyMC) builds the model with
its weakly informative default priors, scaled to the data; it is sampled by the project's
sampler and remedy (:class:`~bayeslab.bayes.model.PyMCModel`), and the readout is the posterior
of :math:`\Delta`, the coefficient of the arm column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bayeslab.bayes.model import ModelPosterior, PyMCModel
from bayeslab.core.checks import check_formula
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL


def _bambi():
    try:
        import bambi
    except ImportError as exc:  # pragma: no cover - bambi is a dependency
        raise ModelError("formulas need bambi: pip install bambi") from exc
    return bambi


def prior_text(model) -> dict:
    """Each term's prior as bambi states it (``{"pre_30d_spend": "Normal(mu: 0, ...)"}``)."""
    out = {}
    for component in model.parameters.values():
        for kind in ("common_terms", "group_specific_terms"):
            terms = getattr(component, kind, {}) or {}
            out.update({name: str(term.prior) for name, term in terms.items()})
        prior = getattr(component, "prior", None)   # auxiliary parameters (sigma)
        if prior is not None and not hasattr(component, "common_terms"):
            out[str(getattr(component, "name", "auxiliary"))] = str(prior)
    return out


@dataclass(frozen=True)
class BambiFormula:
    """Estimator: fit a formula with bambi and read the treatment coefficient.

    Parameters
    ----------
    formula : str
        Wilkinson formula; the arm column (``treatment``) must be one of its terms.
    treatment : str
        Name of the 0/1 treatment column in the frame (the arm column).
    interval : float
        Credible interval level.
    draws, tune, chains, seed, sampler, progressbar
        Sampling settings (:func:`bayeslab.inference.sampling.sample_with_remedy`).
    arm : str, optional
        Treatment arm label.
    thresholds : dict
        Passed to :func:`bayeslab.inference.diagnostics.diagnose`.
    """

    formula: str
    treatment: str
    interval: float = DEFAULT_LEVEL
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    sampler: str = "auto"
    progressbar: bool | None = None
    arm: str | None = None
    thresholds: dict = field(default_factory=dict)

    def build(self, frame):
        """The bambi model and its PyMC model (built, not sampled)."""
        check_formula(self.formula)  # formulae evaluates terms as Python: the grammar first
        bmb = _bambi()
        try:
            model = bmb.Model(self.formula, frame, family="gaussian")
            model.build()
        except ModelError:
            raise
        except Exception as exc:  # formulae / bambi report formula errors with many types
            raise ModelError(f"formula {self.formula!r} could not be built: "
                             f"{type(exc).__name__}: {exc}") from None
        pm_model = model.backend.model
        if self.treatment not in pm_model.named_vars:
            raise ModelError(f"formula {self.formula!r} has no term for the arm column "
                             f"{self.treatment!r}: add it (e.g. 'y ~ {self.treatment} + ...') "
                             "so the treatment effect can be read")
        return model, pm_model

    def fit(self, frame) -> ModelPosterior:
        """Build the model on ``frame`` (the arm column coded 0/1) and sample it."""
        model, pm_model = self.build(frame)
        return PyMCModel(effect=self.treatment, interval=self.interval, draws=self.draws,
                         tune=self.tune, chains=self.chains, seed=self.seed,
                         sampler=self.sampler, progressbar=self.progressbar, method="bambi",
                         arm=self.arm, prior="bambi's weakly informative priors, scaled to "
                                             "the data", priors=prior_text(model),
                         thresholds=self.thresholds).fit(pm_model)
