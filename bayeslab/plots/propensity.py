"""Propensity readouts: covariate balance (love plot) and overlap."""

from __future__ import annotations

import numpy as np

from bayeslab.plots._common import BAYES_COLOR, FREQ_COLOR, RAW_COLOR, _axes, _finish, _percent  # noqa: F401

_STYLE = {"smd": ("unadjusted", "o", "#d62728"), "smd_ipw": ("IPW", "s", "#1f77b4"),
          "smd_overlap": ("overlap weights", "D", "#2ca02c"),
          "smd_matching": ("matched pairs", "^", "#9467bd")}


def love_plot(balance, ax=None, metric=None):
    """Absolute standardized mean differences per covariate, before and after each adjustment.

    A dashed line marks the balance threshold (0.1 by default); covariates are ordered by their
    unadjusted imbalance.

    Parameters
    ----------
    balance : BalanceReport
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = balance.table.assign(_abs=np.abs(balance.table["smd"])).sort_values("_abs")
    fig, ax = _axes(ax, figsize=(7, 0.45 * len(table) + 1.8), layout="constrained")
    pos = np.arange(len(table))
    shown = [c for c in _STYLE if c in table]
    for i, col in enumerate(shown):
        label, marker, color = _STYLE[col]
        offset = (i - (len(shown) - 1) / 2) * 0.12   # keep coincident markers visible
        ax.scatter(np.abs(table[col]), pos + offset, marker=marker, color=color, label=label,
                   zorder=3, s=36, alpha=0.9)
    ax.axvline(balance.smd_threshold, color="0.3", ls="--", lw=1,
               label=f"threshold {balance.smd_threshold:g}")
    ax.set_yticks(pos, table["covariate"])
    ax.set_xlabel("|standardized mean difference| (treated - control)")
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    status = "balanced" if balance.ok else "BLOCKED"
    ax.set_title(f"{metric + ': ' if metric else ''}covariate balance "
                 f"({balance.estimand.upper()}): {status}")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return fig


def overlap_plot(balance, ax=None, bins: int = 40, metric=None):
    """Mirrored histograms of the estimated propensity in each arm (treated up, control down).

    Parameters
    ----------
    balance : BalanceReport
        Holds the propensities and treatment indicator.
    ax : matplotlib.axes.Axes, optional
    bins : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    e, t = np.asarray(balance.propensity), np.asarray(balance.treated) == 1
    fig, ax = _axes(ax, figsize=(7, 4), layout="constrained")
    edges = np.linspace(0, 1, bins + 1)
    h1, _ = np.histogram(e[t], bins=edges, density=True)
    h0, _ = np.histogram(e[~t], bins=edges, density=True)
    width = np.diff(edges)
    arms = balance.overlap["arm"].tolist()
    ax.bar(edges[:-1], h1, width=width, align="edge", color="#1f77b4", alpha=0.8,
           label=f"treated ({arms[1]}), n = {int(t.sum()):,}")
    ax.bar(edges[:-1], -h0, width=width, align="edge", color="#ff7f0e", alpha=0.8,
           label=f"control ({arms[0]}), n = {int((~t).sum()):,}")
    ax.axhline(0, color="0.2", lw=0.8)
    for x in (balance.epsilon, 1 - balance.epsilon):
        ax.axvline(x, color="0.4", ls=":", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("estimated propensity P(treated | confounders)")
    ax.set_ylabel("density (control mirrored below)")
    ticks = ax.get_yticks()
    ax.set_yticks(ticks, [f"{abs(v):g}" for v in ticks])
    ax.set_title(f"{metric + ': ' if metric else ''}propensity overlap; "
                 f"{balance.extreme_share:.1%} of relevant units outside "
                 f"[{balance.epsilon:g}, {1 - balance.epsilon:g}]")
    ax.legend(loc="upper left", fontsize=8)
    return fig
