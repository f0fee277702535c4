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
    from bayeslab import format as fmt

    draws = np.asarray(draws, dtype=float)
    fig, ax_ = _axes(ax, figsize=(7, 3.8))
    dens, edges, _ = ax_.hist(draws, bins=60, density=True, color=BAYES_COLOR, alpha=0.35,
                              edgecolor="none")
    mids = (edges[:-1] + edges[1:]) / 2
    above = mids > 0
    p_pos = float(np.mean(draws > 0))
    ax_.bar(mids[above], dens[above], width=np.diff(edges)[above], color=BAYES_COLOR,
            alpha=0.45, edgecolor="none",
            label=f"P({name} > 0) = {fmt.prob(p_pos, float(np.mean(draws < 0)))}")
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    ax_.hlines(0, lo, hi, color="black", linewidth=5, label=f"{level:.0%} credible interval")
    ax_.axvline(float(draws.mean()), color="black", linewidth=0.8)
    ax_.axvline(0, color="0.5", linewidth=0.8)
    if frequentist is not None:
        y = -0.04 * float(dens.max())
        ax_.hlines(y, frequentist.lower, frequentist.upper, color=FREQ_COLOR, linewidth=3,
                   label=f"{frequentist.method} {frequentist.level:.0%} confidence interval")
        ax_.plot([frequentist.estimate], [y], "o", color=FREQ_COLOR)
    what = f"{metric}: " if metric else ""
    ax_.set_title(f"{what}posterior of the effect ({name})")
    ax_.set_xlabel("effect, treatment - control" + (f" ({unit})" if unit else ""))
    ax_.set_ylabel("posterior density")
    ax_.legend(fontsize=8, loc="best")
    return _finish(fig, ax)
