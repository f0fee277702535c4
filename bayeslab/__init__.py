"""bayeslab: Bayesian and frequentist readouts of product experiments, side by side.

The public API is re-exported here lazily (PEP 562), so ``import bayeslab`` stays light: it does
not import PyMC, PyTensor, ArviZ, matplotlib or even pandas until a name that needs them is used.
"""

from __future__ import annotations

import importlib

from bayeslab import _compat

_compat.install()  # old module paths (0.1) for one release, with a DeprecationWarning


def _version() -> str:
    """The installed distribution's version (package metadata); ``unknown`` from a bare tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bayeslab")
    except PackageNotFoundError:
        return "unknown"


# public name -> module that defines it
_EXPORTS = {
    "BayeslabError": "bayeslab.core.errors",
    "DataError": "bayeslab.core.errors",
    "ModelError": "bayeslab.core.errors",
    "ConvergenceError": "bayeslab.core.errors",
    "BayeslabWarning": "bayeslab.core.errors",
    "DataWarning": "bayeslab.core.errors",
    "StatisticalWarning": "bayeslab.core.errors",
    "RowAccount": "bayeslab.data.accounting",
    "ArmStats": "bayeslab.data.stats",
    "sufficient_stats": "bayeslab.data.stats",
    "open_source": "bayeslab.data.sources",
    "Estimate": "bayeslab.core.estimates",
    "BetaBinomial": "bayeslab.bayes.conversion",
    "BetaPrior": "bayeslab.bayes.conversion",
    "ConversionPosterior": "bayeslab.bayes.conversion",
    "TwoProportionZTest": "bayeslab.frequentist.conversion",
    "ConversionTest": "bayeslab.frequentist.conversion",
    "compare": "bayeslab.readout.metric",
    "Readout": "bayeslab.readout.metric",
    # compare()'s grouped options (every field is also a compare() keyword)
    "SourceSpec": "bayeslab.readout.specs",
    "AnalysisSpec": "bayeslab.readout.specs",
    "SamplingSpec": "bayeslab.readout.specs",
    "DecisionSpec": "bayeslab.readout.specs",
    "Decision": "bayeslab.core.decision",
    "DecisionRule": "bayeslab.core.decision",
    # the readout contract (one base for every readout; JSON read back by from_dict)
    "BaseReadout": "bayeslab.readout.contract",
    "SavedReadout": "bayeslab.readout.contract",
    "Headline": "bayeslab.readout.contract",
    "readout_from_dict": "bayeslab.readout.contract",
    # your own model: formulas, builder files, any PyMC model
    "custom_readout": "bayeslab.readout.custom",
    "CustomReadout": "bayeslab.readout.custom",
    "PyMCModel": "bayeslab.bayes.model",
    "ModelPosterior": "bayeslab.bayes.model",
    "FittedTerm": "bayeslab.frequentist.model",
    "TermResult": "bayeslab.frequentist.model",
    "BambiFormula": "bayeslab.bayes.formula",
    "OLSFormula": "bayeslab.frequentist.formula",
    "load_plan": "bayeslab.plan.schema",
    "run_plan": "bayeslab.plan.runner",
    "srm_check": "bayeslab.design.srm",
    "SRMResult": "bayeslab.design.srm",
    "simulate": "bayeslab.scenarios",
    "Scenario": "bayeslab.scenarios",
    "SCENARIOS": "bayeslab.scenarios",
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
    "monitor": "bayeslab.readout.monitor",
    "MonitorResult": "bayeslab.readout.monitor",
    "ProbPositive": "bayeslab.sequential.rules",
    "ExpectedLoss": "bayeslab.sequential.rules",
    "Rope": "bayeslab.sequential.rules",
    "Precision": "bayeslab.sequential.rules",
    "AnyOf": "bayeslab.sequential.rules",
    "AllOf": "bayeslab.sequential.rules",
    "rule_from_dict": "bayeslab.sequential.rules",
    "rule_false_positive_rate": "bayeslab.sequential.operating",
    "aa_simulation": "bayeslab.design.aa",
    "AAResult": "bayeslab.design.aa",
    "plot_monitor": "bayeslab.plots",
    "compare_propensity": "bayeslab.readout.observational",
    "PropensityReadout": "bayeslab.readout.observational",
    "load_units": "bayeslab.data.units",
    "UnitData": "bayeslab.data.units",
    "PropensityWeighting": "bayeslab.frequentist.propensity",
    "PropensityResult": "bayeslab.frequentist.propensity",
    "BayesPropensity": "bayeslab.bayes.propensity",
    "BayesPropensityResult": "bayeslab.bayes.propensity",
    "PropensityPrior": "bayeslab.bayes.propensity",
    "balance_report": "bayeslab.kernels.balance",
    "BalanceReport": "bayeslab.kernels.balance",
    "love_plot": "bayeslab.plots",
    "overlap_plot": "bayeslab.plots",
    "plot_beta_posteriors": "bayeslab.plots",
    "plot_conversion_lift": "bayeslab.plots",
    "plot_interval_comparison": "bayeslab.plots",
    "plot_lift_posterior": "bayeslab.plots",
    "plot_forest": "bayeslab.plots",
    "plot_trace": "bayeslab.plots",
    "plot_rank": "bayeslab.plots",
    "plot_ppc": "bayeslab.plots",
    "SegmentReadout": "bayeslab.readout.segments",
    "fit_segments": "bayeslab.bayes.segments",
    "load_segment_fit": "bayeslab.bayes.segments",
    "SegmentFit": "bayeslab.bayes.segments",
    "SegmentPriors": "bayeslab.bayes.segments",
    "segment_tests": "bayeslab.frequentist.segments",
    "SegmentTests": "bayeslab.frequentist.segments",
    # the estimator classes (issue 12: one estimator shape)
    "HierarchicalSegments": "bayeslab.bayes.segments",
    "PerSegmentTests": "bayeslab.frequentist.segments",
    "NormalMeans": "bayeslab.bayes.means",
    "GammaPoisson": "bayeslab.bayes.means",
    "NormalInverseGammaPrior": "bayeslab.bayes.means",
    "GammaPrior": "bayeslab.bayes.means",
    "WelchTest": "bayeslab.frequentist.means",
    # issue 27: cluster randomization and quantile metrics
    "ClusterRobustTest": "bayeslab.frequentist.cluster",
    "ClusterBootstrap": "bayeslab.bayes.cluster",
    "cluster_stats": "bayeslab.data.clusters",
    "QuantileTest": "bayeslab.frequentist.quantile",
    "QuantileBootstrap": "bayeslab.bayes.quantile",
    "quantile_stats": "bayeslab.data.quantiles",
    "PoissonRateTest": "bayeslab.frequentist.means",
    "Diagnostics": "bayeslab.inference.diagnostics",
    "diagnose": "bayeslab.inference.diagnostics",
    # decide per experiment (issue 24): the whole rule simulated, corrections, pre-period check
    "PlanDesign": "bayeslab.design.plan_oc",
    "MetricDesign": "bayeslab.design.plan_oc",
    "PlanOC": "bayeslab.design.plan_oc",
    "plan_operating_characteristics": "bayeslab.design.plan_oc",
    "calibrate": "bayeslab.design.plan_oc",
    "Correction": "bayeslab.readout.corrections",
    # priors from history (issue 25): the experiment library, the effect distribution
    "ExperimentLibrary": "bayeslab.data.library",
    "fit_effect_distribution": "bayeslab.bayes.history",
    "EffectHistory": "bayeslab.bayes.history",
    "EffectPrior": "bayeslab.bayes.history_prior",
    "posterior_with_prior": "bayeslab.bayes.history_prior",
    "random_effects": "bayeslab.frequentist.history",
    "simulate_portfolio": "bayeslab.scenarios",
    "Portfolio": "bayeslab.scenarios",
    # who is affected (issue 26): the property scan
    "scan_properties": "bayeslab.readout.property_scan",
    "PropertyScanReadout": "bayeslab.readout.property_scan",
    "PropertyScan": "bayeslab.bayes.property_scan",
    "ScanPrior": "bayeslab.bayes.property_scan",
    "LevelVersusRest": "bayeslab.frequentist.property_scan",
    "property_stats": "bayeslab.data.scan_properties",
    "simulate_properties": "bayeslab.scenarios.properties",
    # bandits (issue 27): exact Thompson weights, the readout stratified by period
    "bandit_weights": "bayeslab.design.bandit",
    "BanditWeights": "bayeslab.design.bandit",
    "simulate_bandit": "bayeslab.design.bandit_sim",
    "bandit_readout": "bayeslab.readout.bandit",
    "BanditReadout": "bayeslab.readout.bandit",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name == "__version__":  # package metadata costs ~20 ms of start-up: read it when asked
        value = globals()["__version__"] = _version()
        return value
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'bayeslab' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
