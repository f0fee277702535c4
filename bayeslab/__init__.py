"""bayeslab: Bayesian and frequentist readouts of product experiments, side by side.

The public API is re-exported here lazily (PEP 562), so ``import bayeslab`` stays light: it does
not import PyMC, PyTensor, ArviZ, matplotlib or even pandas until a name that needs them is used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "BayeslabError": "bayeslab.errors",
    "DataError": "bayeslab.errors",
    "ModelError": "bayeslab.errors",
    "ConvergenceError": "bayeslab.errors",
    "BayeslabWarning": "bayeslab.errors",
    "DataWarning": "bayeslab.errors",
    "StatisticalWarning": "bayeslab.errors",
    "RowAccount": "bayeslab.data.accounting",
    "ArmStats": "bayeslab.data.stats",
    "sufficient_stats": "bayeslab.data.stats",
    "open_source": "bayeslab.data.sources",
    "Estimate": "bayeslab.results",
    "BetaBinomial": "bayeslab.bayes.conversion",
    "BetaPrior": "bayeslab.bayes.conversion",
    "ConversionPosterior": "bayeslab.bayes.conversion",
    "TwoProportionZTest": "bayeslab.frequentist.conversion",
    "ConversionTest": "bayeslab.frequentist.conversion",
    "compare": "bayeslab.compare",
    "Readout": "bayeslab.compare",
    "Decision": "bayeslab.compare",
    "DecisionRule": "bayeslab.compare",
    "srm_check": "bayeslab.design.srm",
    "SRMResult": "bayeslab.design.srm",
    "simulate": "bayeslab.simulate",
    "Scenario": "bayeslab.simulate",
    "SCENARIOS": "bayeslab.simulate",
    "group_sequential_design": "bayeslab.sequential.boundaries",
    "classical_design": "bayeslab.sequential.boundaries",
    "GroupSequentialDesign": "bayeslab.sequential.boundaries",
    "msprt": "bayeslab.sequential.always_valid",
    "always_valid_means": "bayeslab.sequential.always_valid",
    "always_valid_proportions": "bayeslab.sequential.always_valid",
    "operating_characteristics": "bayeslab.sequential.operating",
    "sample_size": "bayeslab.design.power",
    "achieved_power": "bayeslab.design.power",
    "minimum_detectable_effect": "bayeslab.design.power",
    "assurance": "bayeslab.design.power",
    "srm_by_segment": "bayeslab.design.srm",
    "assign": "bayeslab.design.assignment",
    "check_uniformity": "bayeslab.design.assignment",
    "compare_propensity": "bayeslab.compare_propensity",
    "PropensityReadout": "bayeslab.compare_propensity",
    "load_units": "bayeslab.data.units",
    "UnitData": "bayeslab.data.units",
    "PropensityWeighting": "bayeslab.frequentist.propensity",
    "PropensityResult": "bayeslab.frequentist.propensity",
    "BayesPropensity": "bayeslab.bayes.propensity",
    "BayesPropensityResult": "bayeslab.bayes.propensity",
    "PropensityPrior": "bayeslab.bayes.propensity",
    "balance_report": "bayeslab.frequentist.balance",
    "BalanceReport": "bayeslab.frequentist.balance",
    "love_plot": "bayeslab.plots_propensity",
    "overlap_plot": "bayeslab.plots_propensity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'bayeslab' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
