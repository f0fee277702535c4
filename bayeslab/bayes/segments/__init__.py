r"""Segment lift with partial pooling: hierarchical models on per-(segment, arm) cells.

Cutting an experiment into segments and reading each cell on its own is noisy and multiplies
false positives. Here every segment's baseline and treatment effect are drawn from a population
distribution, so small cells borrow strength from the rest (shrinkage) and the population-level
lift and its spread :math:`\tau` are estimated together. The model sees only cell sufficient
statistics (``ArmStats.table``), so its cost does not grow with the number of rows.

Two segment dimensions (e.g. PS+ x spend tier) are modelled with additive main effects plus an
interaction that sums to zero along both dimensions, each with its own scale: segment
:math:`(a, b)` gets :math:`\mu + d^A_a + d^B_b + d^{AB}_{ab}`. A part with few levels gets a fixed
prior scale instead of a learned one (see :func:`fit_segments`). Cells that are empty or missing
an arm are fine: they inform only what they hold.
"""

from bayeslab.bayes.segments.cells import CellData, prepare_cells
from bayeslab.bayes.segments.fit import HierarchicalSegments, fit_segments
from bayeslab.bayes.segments.model import (
    MIN_SPREAD_DOF,
    auto_parameterization,
    build_model,
    model_key,
)
from bayeslab.bayes.segments.ppc import predictive_check
from bayeslab.bayes.segments.priors import FAMILIES, PARAMETERIZATIONS, SegmentPriors
from bayeslab.bayes.segments.result import SegmentFit, load_segment_fit
from bayeslab.bayes.segments.summaries import summarize

# the old private name, still read by benchmarks/sampling.py
_auto_parameterization = auto_parameterization

__all__ = ["FAMILIES", "MIN_SPREAD_DOF", "PARAMETERIZATIONS", "CellData", "HierarchicalSegments",
           "SegmentFit", "SegmentPriors", "auto_parameterization", "build_model", "fit_segments",
           "load_segment_fit", "model_key", "predictive_check", "prepare_cells", "summarize"]
