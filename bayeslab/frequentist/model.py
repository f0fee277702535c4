r"""Any fitted statsmodels model, read out like ours: the test of one named coefficient.

The frequentist counterpart of :mod:`bayeslab.bayes.model`. :class:`FittedTerm` reads the
coefficient :math:`\hat\beta` of one term from a fitted statsmodels result (OLS, GLM, mixed
model...), with its standard error under the result's own covariance (``cov_type="HC1"`` for
heteroskedasticity-robust errors), the Wald interval
:math:`\hat\beta \pm z_{(1+\ell)/2}\,\widehat{se}` (``t`` quantiles when the result uses them)
and the two-sided p-value, as an :class:`~bayeslab.core.estimates.Estimate`. statsmodels computes
every number; this module only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bayeslab.core.checks import check_interval
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate, EstimatesMixin


@dataclass(frozen=True)
class TermResult(EstimatesMixin):
    """One coefficient of a fitted statsmodels model.

    Attributes
    ----------
    method : str
        Name in estimates (``"ols-hc1"`` for OLS with HC1 errors).
    term : str
    estimate, se, lower, upper, p_value : float
    interval : float
    arm : str, optional
    n : int
        Observations the model was fitted on.
    """

    method: str
    term: str
    estimate: float
    se: float
    lower: float
    upper: float
    p_value: float
    interval: float = DEFAULT_LEVEL
    arm: str | None = None
    n: int = 0

    _title = "Frequentist model of the effect"

    def estimates(self) -> list[Estimate]:
        """The coefficient on the absolute scale."""
        return [Estimate(side="frequentist", method=self.method, effect="absolute",
                         estimate=self.estimate, lower=self.lower, upper=self.upper,
                         level=self.interval, arm=self.arm, p_value=self.p_value,
                         extra={"term": self.term, "se": self.se})]

    def _extra_dict(self) -> dict:
        return {"method": self.method, "term": self.term, "se": self.se, "n": self.n}


def method_name(result) -> str:
    """``"ols-hc1"``, ``"glm-nonrobust"``...: the model class and its covariance type."""
    model = type(getattr(result, "model", result)).__name__.lower()
    cov = str(getattr(result, "cov_type", "nonrobust")).lower()
    return f"{model}-{cov}"


@dataclass(frozen=True)
class FittedTerm:
    """Estimator: read ``term`` from a fitted statsmodels result.

    Parameters
    ----------
    term : str
        Coefficient name as statsmodels lists it in ``result.params``.
    interval : float
        Confidence level.
    arm : str, optional
        Treatment arm label the coefficient is about.
    method : str, optional
        Name in estimates (default from the model class and covariance type).
    """

    term: str
    interval: float = DEFAULT_LEVEL
    arm: str | None = None
    method: str | None = None

    def __post_init__(self):
        check_interval(self.interval)

    def fit(self, result) -> TermResult:
        """Read the term from ``result`` (a fitted statsmodels results object).

        Raises
        ------
        ModelError
            ``result`` has no ``params`` / ``bse`` / ``pvalues``, or no coefficient ``term``.
        """
        params = getattr(result, "params", None)
        if params is None or not hasattr(result, "bse") or not hasattr(result, "pvalues"):
            raise ModelError(f"expected a fitted statsmodels result (params, bse, pvalues), "
                             f"got {type(result).__name__}")
        names = list(getattr(params, "index", []))
        if self.term not in names:
            raise ModelError(f"the frequentist model has no coefficient {self.term!r}; it has: "
                             f"{', '.join(map(str, names))}")
        ci = result.conf_int(alpha=1 - self.interval)
        lo, hi = (float(v) for v in ci.loc[self.term])
        return TermResult(method=self.method or method_name(result), term=self.term,
                          estimate=float(params[self.term]),
                          se=float(result.bse[self.term]), lower=lo, upper=hi,
                          p_value=float(result.pvalues[self.term]), interval=self.interval,
                          arm=self.arm, n=int(getattr(result, "nobs", 0)))
