"""Matplotlib figures of readouts. Every function returns the Figure and never calls ``show()``.

Plot data is computed by the result objects (``ConversionPosterior.lift_density``,
``SegmentFit.lift_draws``, ``SegmentFit.table``, ``PredictiveCheck.table``,
:func:`bayeslab.inference.diagnostics.rank_data`, ``BalanceReport``); this module only draws.
Functions that draw one panel take ``ax=None`` (a new figure) or an Axes to draw into.

========================== ================================================================
conversion                 :func:`plot_beta_posteriors`, :func:`plot_conversion_lift`
any readout                :func:`plot_interval_comparison` (Bayes vs frequentist)
segments (MCMC)            :func:`plot_forest`, :func:`plot_lift_posterior`,
                           :func:`plot_trace`, :func:`plot_rank`, :func:`plot_ppc`
sequential monitoring      :func:`plot_monitor`
propensity                 :func:`love_plot`, :func:`overlap_plot`
any PyMC model / formula   :func:`plot_effect_posterior`
========================== ================================================================
"""

from bayeslab.plots.conversion import (
    plot_beta_posteriors,
    plot_conversion_lift,
    plot_lift_posterior,
)
from bayeslab.plots.effect import plot_effect_posterior
from bayeslab.plots.intervals import plot_interval_comparison
from bayeslab.plots.mcmc import plot_forest, plot_ppc, plot_rank, plot_trace
from bayeslab.plots.propensity import love_plot, overlap_plot
from bayeslab.plots.sequential import plot_monitor

__all__ = ["love_plot", "overlap_plot", "plot_beta_posteriors", "plot_conversion_lift",
           "plot_effect_posterior", "plot_forest", "plot_interval_comparison",
           "plot_lift_posterior", "plot_monitor", "plot_ppc", "plot_rank", "plot_trace"]
