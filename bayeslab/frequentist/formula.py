r"""A metric given as a formula, frequentist side: statsmodels OLS with HC1 errors.

The same formula as the Bayesian side (:mod:`bayeslab.bayes.formula`) is fitted by least
squares, :math:`\hat\beta = (X^\top X)^{-1} X^\top y`, with the heteroskedasticity-robust
sandwich :math:`\widehat{V} = \frac{n}{n-k}(X^\top X)^{-1} X^\top \mathrm{diag}(e_i^2) X
(X^\top X)^{-1}` (HC1). A group effect ``(1 | g)``, partially pooled on the Bayesian side,
enters here as fixed effects ``C(g)`` (one indicator per group but one): the frequentist
analogue without pooling. Other group terms (random slopes) have no counterpart here and are
refused with a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bayeslab.core.checks import check_formula
from bayeslab.core.errors import ModelError
from bayeslab.core.estimates import DEFAULT_LEVEL
from bayeslab.frequentist.model import FittedTerm, TermResult

_GROUP = re.compile(r"\(\s*([^()|]*?)\s*\|\s*([A-Za-z_][\w.]*)\s*\)")


def fixed_effects_formula(formula: str) -> str:
    """``(1 | g)`` group terms as fixed effects ``C(g)``; other group terms raise ModelError."""
    def swap(match):
        if match.group(1) != "1":
            raise ModelError(f"the frequentist side turns (1 | group) terms into fixed effects; "
                             f"({match.group(1)} | {match.group(2)}) has no counterpart there: "
                             "use (1 | group) or give your own frequentist model")
        return f"C({match.group(2)})"

    return _GROUP.sub(swap, formula)


@dataclass(frozen=True)
class OLSFormula:
    """Estimator: OLS of a formula (group terms as fixed effects), HC1 errors, one coefficient.

    Parameters
    ----------
    formula : str
    treatment : str
        The 0/1 treatment column (the arm column), whose coefficient is read.
    interval : float
    cov_type : str
        statsmodels covariance type (``"HC1"`` by default).
    arm : str, optional
    """

    formula: str
    treatment: str
    interval: float = DEFAULT_LEVEL
    cov_type: str = "HC1"
    arm: str | None = None

    def fit(self, frame) -> TermResult:
        """Fit on ``frame`` (the arm column coded 0/1) and read the treatment coefficient."""
        import statsmodels.formula.api as smf

        check_formula(self.formula)  # patsy evaluates terms as Python: the grammar first
        formula = fixed_effects_formula(self.formula)
        try:
            result = smf.ols(formula, frame).fit(cov_type=self.cov_type)
        except Exception as exc:  # patsy reports formula errors with many types
            raise ModelError(f"formula {formula!r} could not be fitted by OLS: "
                             f"{type(exc).__name__}: {exc}") from None
        return FittedTerm(self.treatment, interval=self.interval, arm=self.arm,
                          method=f"ols-{self.cov_type.lower()}").fit(result)
