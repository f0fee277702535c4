"""What ``bayeslab app`` shows: a run folder's metrics, segments and looks, read out again.

Pure functions, no Streamlit. :func:`load_run` reads the ``readout.json`` that
:func:`bayeslab.plan.runner.run_plan` wrote; :func:`list_metrics`, :func:`list_segments` and
:func:`list_looks` say what the user can pick; :func:`metric_view` gives everything the app shows
for one choice of metric, segment, look and prior.

Conversion metrics are read out again *exactly* from the saved sufficient statistics (units and
conversions per arm; per segment cell; per look of the monitor) with
the readout layer's :func:`~bayeslab.readout.fitters.fit_conversion_counts` (the Beta-Binomial
under the chosen prior beside the z-test, which does not depend on it): the app fits nothing
itself (an import-linter contract).
Other metric kinds need the unit rows or MCMC to refit, so their saved results are shown as they
are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayeslab.app.run import (  # noqa: F401  (the run-folder API, re-exported)
    SEGMENT_SEP,
    ArmCounts,
    RunFolder,
    _cell_label,
    _level,
    _monitor_stats,
    _segment_stats,
    arm_counts,
    estimate_from_dict,
    list_looks,
    list_metrics,
    list_segments,
    load_run,
    metric_entry,
    recomputable,
    saved_prior,
    segment_columns,
)
from bayeslab.core.errors import DataError
from bayeslab.core.estimates import Estimate
from bayeslab.readout.contract import SavedReadout, readout_from_dict


@dataclass(frozen=True)
class MetricView:
    """Everything the app shows for one choice of metric, segment, look and prior.

    Attributes
    ----------
    metric, kind, role : str
    segment, look : str or None
        The segment or monitor look read out (``None``: all units of the run).
    counts : ArmCounts or None
        The counts the readout was recomputed from.
    prior : BetaPrior or None
        The prior in use (conversion metrics).
    saved_prior : tuple or None
        The Beta prior of the run, to say whether the view departs from the plan.
    run_prior : object
        The prior as saved in ``readout.json`` (any kind).
    recomputed : bool
        ``True`` when the numbers were computed here from the saved counts.
    bayes : ConversionPosterior or None
    frequentist : ConversionTest or None
    estimates : list of Estimate
        Recomputed estimates, or the saved ones.
    decision : Decision or None
        The run's saved decision on this metric (for all units, under the plan's prior).
    monitor_row : dict or None
        The saved monitor row of the look (z, boundaries, rule decisions).
    note : str
        What the numbers are, in one sentence.
    unit : str or None
        The metric's unit from the plan (``"EUR"``); rates are in percentage points.
    margin : float or None
        A guardrail's non-inferiority margin.
    guardrail : dict or None
        The run's saved guardrail check (margin, P(increase > margin), non-inferiority p).
    saved : SavedReadout or None
        The run's readout of the metric, read back through the readout contract.
    pooled : Estimate or None
        For a segment: the hierarchical (partially pooled) model's saved absolute estimate.
    headline_methods : dict or None
        The methods the run's decision reads (``{"bayes": ..., "frequentist": ...}``), from
        the saved readout's headline.
    """

    metric: str
    kind: str
    role: str
    segment: str | None
    look: str | None
    counts: ArmCounts | None
    prior: object
    saved_prior: tuple | None
    run_prior: object
    recomputed: bool
    bayes: object
    frequentist: object
    estimates: list
    decision: object
    monitor_row: dict | None
    note: str
    unit: str | None = None
    margin: float | None = None
    guardrail: dict | None = None
    pooled: Estimate | None = None
    headline_methods: dict | None = None
    saved: SavedReadout | None = field(default=None, repr=False)

    @property
    def prior_text(self) -> str:
        """The prior in use, and whether it is the plan's."""
        if self.prior is None:
            from bayeslab.core.format import prior as prior_text

            words = prior_text(self.run_prior) if self.run_prior else "none recorded"
            return f"the run's prior ({words}); it cannot be changed for this kind"
        if self.saved_prior is not None and \
                (self.prior.alpha, self.prior.beta) == tuple(self.saved_prior):
            return f"{self.prior}, the plan's prior"
        return f"{self.prior}, chosen here (the plan used {_beta_text(self.saved_prior)})"

    def methods(self, side: str) -> list[str]:
        """Methods of ``side``: the decision's first, then adjusted ones before a naive one."""
        found = [e for e in self.estimates if e.side == side]
        head = (self.headline_methods or {}).get(side)
        ordered = sorted(found, key=lambda e: (e.method != head,
                                               e.extra.get("estimand") == "unadjusted"))
        return list(dict.fromkeys(e.method for e in ordered))

    def headline(self, side: str, effect: str | None = None,
                 method: str | None = None) -> Estimate | None:
        """The estimate of ``side`` by ``method`` (default: the one the decision reads).

        On the ``effect`` scale (default: the decision's, e.g. a hazard ratio) when that method
        reports it, else its first estimate; for a funnel, the stage the decision reads (the
        saved headline's ``rate``), as the overview shows it. ``None`` when the side has no
        estimate.
        """
        methods = self.methods(side)
        method = method if method in methods else (methods[0] if methods else None)
        effect = effect or (self.headline_methods or {}).get("effect") or "absolute"
        found = [e for e in self.estimates if e.side == side and e.method == method]
        rate = (self.headline_methods or {}).get("rate")
        if rate is not None:
            found = [e for e in found if e.extra.get("rate") == rate] or found
        return next((e for e in found if e.effect == effect), found[0] if found else None)

    def summary(self) -> pd.DataFrame:
        """One row per estimate, both sides."""
        return pd.DataFrame([e.to_dict() for e in self.estimates])

    def arm_table(self) -> pd.DataFrame:
        """Per arm: units, conversions, and (recomputed) the posterior mean and interval."""
        if self.bayes is not None:
            return self.bayes.arm_table()
        if self.counts is None:
            saved = self.saved.arms if self.saved is not None else None
            return saved if saved is not None else pd.DataFrame()
        return pd.DataFrame({"arm": list(self.counts.arms), "n": self.counts.n,
                             "mean": self.counts.sums / self.counts.n})


def _beta_text(prior) -> str:
    return "no Beta prior" if prior is None else f"Beta({prior[0]:g}, {prior[1]:g})"


def metric_view(run: RunFolder, metric: str, *, prior=None, segment: str | None = None,
                look: str | None = None, interval: float | None = None) -> MetricView:
    """Read out ``metric`` for the app, under ``prior``, for a segment or a monitor look.

    Parameters
    ----------
    run : RunFolder
    metric : str
    prior : (float, float), optional
        Beta prior (alpha, beta) of each arm's rate; the plan's prior by default. Conversion
        metrics only.
    segment : str, optional
        One of :func:`list_segments`.
    look : str, optional
        One of :func:`list_looks`: the cumulative counts at that look.
    interval : float, optional
        Interval level (the run's by default).

    Returns
    -------
    MetricView

    Raises
    ------
    DataError
        Unknown metric, segment or look; a prior, segment or look for a metric whose counts
        were not saved.
    ModelError
        A prior parameter that is not positive.
    """
    from bayeslab.readout.fitters import fit_conversion_counts

    entry = metric_entry(run, metric)
    saved = readout_from_dict(entry)
    kind, role = saved.kind or "?", saved.role
    level = float(interval) if interval is not None else _level(saved)
    plan_prior = saved_prior(run, metric)
    counts = arm_counts(run, metric, segment=segment, look=look)
    mon_row = None
    if look is not None:
        mon_row = next(r for r in run.monitor["looks"] if str(r["label"]) == look)
    pooled = None
    if segment is not None:
        pooled = next((e for e in saved.estimates() if e.segment == segment
                       and e.effect == "absolute" and e.side == "bayes"), None)
    head = saved.headline
    common = dict(metric=metric, kind=kind, role=role, segment=segment, look=look,
                  counts=counts, saved_prior=plan_prior, run_prior=saved.prior,
                  decision=saved.decision if entry.get("decision") else None,
                  monitor_row=mon_row, unit=saved.unit, margin=saved.margin,
                  guardrail=saved.guardrail_check(), pooled=pooled,
                  headline_methods={"bayes": head.bayes, "frequentist": head.frequentist,
                                    "effect": head.effect, "rate": head.rate},
                  saved=saved)
    if counts is None or not counts.binary or plan_prior is None:
        if prior is not None:
            raise DataError(f"metric {metric!r} is {kind} without saved conversions per arm: "
                            "the app can change the prior of conversion metrics only",
                            column=metric)
        if segment is not None or look is not None:
            raise DataError(f"metric {metric!r} is {kind}: per segment and per look the app "
                            "reads conversion metrics only", column=metric)
        return MetricView(**common, prior=None, recomputed=False, bayes=None, frequentist=None,
                          estimates=saved.estimates(),
                          note=f"Saved results of the run ({kind} metric: refitting it needs "
                               "the unit rows or sampling, so the app shows the numbers as "
                               "they were).")
    a, b = prior if prior is not None else (plan_prior or (1.0, 1.0))
    bayes, freq = fit_conversion_counts(counts.n, counts.sums, arms=counts.arms, metric=metric,
                                        prior=(float(a), float(b)), interval=level)
    return MetricView(**common, prior=bayes.prior, recomputed=True, bayes=bayes,
                      frequentist=freq, estimates=[*bayes.estimates(), *freq.estimates()],
                      note=f"Recomputed exactly from the saved counts ({counts.source}): "
                           f"Beta-Binomial under {bayes.prior} beside the two-proportion "
                           "z-test.")


def rate_densities(view: MetricView, points: int = 300) -> pd.DataFrame:
    """Posterior density of each arm's rate on a grid: columns ``x`` and one per arm.

    Empty when the view was not recomputed (no conjugate posterior to draw). Quantiles and
    densities from the Beta kernel (:func:`bayeslab.kernels.beta.ppf`, ``pdf``: numpy only).
    """
    from bayeslab.kernels import beta as K

    if view.bayes is None:
        return pd.DataFrame()
    a, b = view.bayes.alpha_post, view.bayes.beta_post
    lo = min(K.ppf(1e-4, a, b))
    hi = max(K.ppf(1 - 1e-4, a, b))
    x = np.linspace(lo, hi, points)
    out = {"x": x}
    for arm, ak, bk in zip(view.bayes.arms, a, b, strict=True):
        out[arm] = K.pdf(x, ak, bk)
    return pd.DataFrame(out)


def lift_density(view: MetricView, arm: str | None = None, points: int = 200) -> pd.DataFrame:
    """Posterior density of the absolute lift :math:`p_T - p_C` (exact): columns ``x``, ``density``.

    Empty when the view was not recomputed.
    """
    from bayeslab.kernels import beta as K

    if view.bayes is None:
        return pd.DataFrame()
    post = view.bayes
    k = 1 if arm is None else post.arms.index(arm)
    c = post.comparison(post.arms[k])
    p = (post.alpha_post[k], post.beta_post[k], post.alpha_post[0], post.beta_post[0])
    width = c.abs_upper - c.abs_lower
    x = np.linspace(max(c.abs_lower - 0.6 * width, -1.0), min(c.abs_upper + 0.6 * width, 1.0),
                    points)
    return pd.DataFrame({"x": x, "density": [K.diff_pdf(v, *p) for v in x]})
