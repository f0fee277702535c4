"""Posterior of one effect from draws (a user's own model, a formula's treatment term)."""

from __future__ import annotations

import numpy as np

from bayeslab.plots._common import BAYES_COLOR, FREQ_COLOR, _axes, _finish


def plot_effect_posterior(draws, *, name: str = "effect", level: float = 0.95, metric=None,
                          unit=None, frequentist=None, ax=None):
    """Histogram density of the effect's draws, P(effect > 0) shaded, intervals of both sides.

    Parameters
    ----------
    draws : array of float
        Posterior draws of the effect (treatment minus control).
    name : str
        The model variable the effect is read from (in the axis label).
    level : float
        Credible interval level (equal-tailed, the black bar).
    metric, unit : str, optional
        For the title and the axis label.
    frequentist : Estimate, optional
        The frequentist counterpart: its estimate and interval drawn in red below the axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from bayeslab.core import format as fmt

    draws = np.asarray(draws, dtype=float)
    fig, ax_ = _axes(ax, figsize=(7, 4.3))
    dens, edges, _ = ax_.hist(draws, bins=60, density=True, color=BAYES_COLOR, alpha=0.35,
                              edgecolor="none")
    mids = (edges[:-1] + edges[1:]) / 2
    above = mids > 0
    p_pos = float(np.mean(draws > 0))
    p_text = fmt.prob_is(p_pos, 1 - p_pos, draws.size)
    ax_.bar(mids[above], dens[above], width=np.diff(edges)[above], color=BAYES_COLOR,
            alpha=0.45, edgecolor="none", label=f"P({name} > 0) {p_text}")
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    ax_.hlines(0, lo, hi, color="black", linewidth=5, label=f"{level:.0%} credible interval")
    ax_.axvline(float(draws.mean()), color="black", linewidth=0.8)
    lo_x, hi_x = float(draws.min()), float(draws.max())
    if frequentist is not None:
        lo_x, hi_x = min(lo_x, frequentist.lower), max(hi_x, frequentist.upper)
    pad = 0.5 * (hi_x - lo_x)
    if lo_x - pad <= 0 <= hi_x + pad:   # zero drawn only when it is near the posterior
        ax_.axvline(0, color="0.5", linewidth=0.8)
    else:
        ax_.set_xlim(lo_x - 0.1 * (hi_x - lo_x), hi_x + 0.1 * (hi_x - lo_x))
        ax_.text(0.01, 0.97, "0 is off the axis" + (" (left)" if lo_x > 0 else " (right)"),
                 transform=ax_.transAxes, fontsize=8, va="top", color="0.4")
    if frequentist is not None:
        y = -0.04 * float(dens.max())
        ax_.hlines(y, frequentist.lower, frequentist.upper, color=FREQ_COLOR, linewidth=3,
                   label=f"{frequentist.method} {frequentist.level:.0%} confidence interval")
        ax_.plot([frequentist.estimate], [y], "o", color=FREQ_COLOR)
    what = f"{metric}: " if metric else ""
    ax_.set_title(f"{what}posterior of the effect ({name})")
    ax_.set_xlabel("effect, treatment - control" + (f" ({unit})" if unit else ""))
    ax_.set_ylabel("posterior density")
    ax_.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
               frameon=False)
    return _finish(fig, ax)
