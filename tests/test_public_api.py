"""The public API across the package layout of 0.2: every 0.1 name, every 0.1 module path."""

import importlib
import warnings

import pytest

import bayeslab
from bayeslab import _compat

#: ``bayeslab.__all__`` of 0.1 (before the layout in rooms); 0.2 keeps every one
NAMES_0_1 = frozenset({
    'AAResult', 'AllOf', 'AnyOf', 'ArmStats', 'BalanceReport', 'BambiFormula', 'BaseReadout',
    'BayesPropensity', 'BayesPropensityResult', 'BayeslabError', 'BayeslabWarning',
    'BetaBinomial', 'BetaPrior', 'ConvergenceError', 'ConversionPosterior', 'ConversionTest',
    'CustomReadout', 'DataError', 'DataWarning', 'Decision', 'DecisionRule', 'Diagnostics',
    'Estimate', 'ExpectedLoss', 'FittedTerm', 'GammaPoisson', 'GammaPrior',
    'GroupSequentialDesign', 'Headline', 'HierarchicalSegments', 'ModelError', 'ModelPosterior',
    'MonitorResult', 'NormalInverseGammaPrior', 'NormalMeans', 'OLSFormula', 'PerSegmentTests',
    'PoissonRateTest', 'Precision', 'ProbPositive', 'PropensityPrior', 'PropensityReadout',
    'PropensityResult', 'PropensityWeighting', 'PyMCModel', 'Readout', 'Rope', 'RowAccount',
    'SCENARIOS', 'SRMResult', 'SavedReadout', 'Scenario', 'SegmentFit', 'SegmentPriors',
    'SegmentReadout', 'SegmentTests', 'StatisticalWarning', 'TermResult', 'TwoProportionZTest',
    'UnitData', 'WelchTest', 'aa_simulation', 'achieved_power', 'always_valid_means',
    'always_valid_proportions', 'assign', 'assurance', 'balance_report', 'check_uniformity',
    'classical_design', 'compare', 'compare_propensity', 'custom_readout', 'diagnose',
    'fit_segments', 'group_sequential_design', 'load_plan', 'load_segment_fit', 'load_units',
    'love_plot', 'minimum_detectable_effect', 'monitor', 'msprt', 'open_source',
    'operating_characteristics', 'overlap_plot', 'plot_beta_posteriors', 'plot_conversion_lift',
    'plot_forest', 'plot_interval_comparison', 'plot_lift_posterior', 'plot_monitor',
    'plot_ppc', 'plot_rank', 'plot_trace', 'readout_from_dict', 'rule_false_positive_rate',
    'rule_from_dict', 'run_plan', 'sample_size', 'segment_tests', 'simulate', 'srm_by_segment',
    'srm_check', 'sufficient_stats'
})


def test_every_0_1_name_is_still_exported():
    assert NAMES_0_1 <= set(bayeslab.__all__), sorted(NAMES_0_1 - set(bayeslab.__all__))
    for name in sorted(NAMES_0_1):
        assert getattr(bayeslab, name) is not None, name


@pytest.mark.parametrize("old", sorted(_compat.MOVED))
def test_old_module_paths_import_with_a_deprecation_warning(old):
    new = importlib.import_module(_compat.MOVED[old])
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {_compat.MOVED[old]}"):
        module = importlib.import_module(old)
    assert module is new
    assert module.__spec__.name == new.__name__   # the new module's own spec is kept


def test_old_readout_and_plan_modules_forward_their_names():
    from bayeslab.plan import load_plan
    from bayeslab.plan.schema import load_plan as new_load_plan
    from bayeslab.readout import Readout, compare
    from bayeslab.readout.metric import Readout as NewReadout
    from bayeslab.readout.metric import compare as new_compare

    assert (compare, Readout, load_plan) == (new_compare, NewReadout, new_load_plan)
    with pytest.warns(DeprecationWarning, match="bayeslab.readout.one_scan moved"):
        from bayeslab.readout import one_scan  # noqa: F401
    with pytest.raises(ImportError):
        from bayeslab.readout import no_such_name  # noqa: F401
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from bayeslab.readout import contract  # a submodule, not the old module's name
    assert contract.__name__ == "bayeslab.readout.contract"
