"""Forest figure of a property scan: every level's raw and shrunken effect, flags marked."""

from __future__ import annotations

import numpy as np

from bayeslab.plots._common import BAYES_COLOR, FREQ_COLOR, RAW_COLOR, _axes, _finish, _percent


def plot_property_scan(fit, *, frequentist=None, ax=None):
    """Every level of every property: raw (unpooled) interval beside the shrunken one.

    Parameters
    ----------
    fit : PropertyScanFit
        The Bayesian scan (shrunken effects, flags).
    frequentist : LevelTests, optional
        Raw intervals and Bonferroni flags; without it the raw estimate +- its standard error
        interval of the same level is drawn from ``fit``.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    levels = fit.levels
    y = np.arange(len(levels))[::-1].astype(float)
    fig, ax_ = _axes(ax, figsize=(7.5, max(3.0, 0.18 * len(levels) + 1.2)))
    if frequentist is not None:
        raw, lo, hi = frequentist.effect, frequentist.lower, frequentist.upper
    else:
        from bayeslab.kernels.distributions import norm_ppf

        q = norm_ppf(0.5 + fit.interval / 2)
        raw, lo, hi = fit.raw, fit.raw - q * fit.raw_se, fit.raw + q * fit.raw_se
    ax_.hlines(y - 0.18, lo, hi, color=RAW_COLOR, lw=1)
    ax_.plot(raw, y - 0.18, "o", ms=3, color=RAW_COLOR, label="raw (unpooled)")
    ax_.hlines(y + 0.18, fit.effect_lower, fit.effect_upper, color=BAYES_COLOR, lw=1.6)
    ax_.plot(fit.effect, y + 0.18, "o", ms=4, color=BAYES_COLOR, label="shrunken (pooled)")
    flagged = np.asarray(fit.flagged)
    if flagged.any():
        ax_.plot(fit.effect[flagged], y[flagged] + 0.18, "*", ms=11, color=FREQ_COLOR,
                 label=f"flagged (P >= {fit.threshold:g})")
    ax_.axvline(fit.population, color="k", lw=0.8, ls="--", label="population")
    ax_.set_yticks(y)
    ax_.set_yticklabels([f"{p} = {lv}" for p, lv in levels], fontsize=6)
    ax_.set_ylim(-1, len(levels))
    if fit.kind == "binary":
        ax_.xaxis.set_major_formatter(_percent(points=True))
        ax_.set_xlabel("effect (percentage points, treatment - control)")
    else:
        ax_.set_xlabel(f"effect on {fit.metric} (treatment - control)")
    ax_.set_title(f"Who is affected: {fit.metric}, {len(levels)} levels", fontsize=10)
    ax_.legend(fontsize=7, loc="lower right")
    return _finish(fig, ax)
