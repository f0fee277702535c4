"""Figures of sampled (MCMC) models: forest, trace, rank and predictive-check plots."""

from __future__ import annotations

import numpy as np

from bayeslab.plots._common import BAYES_COLOR, FREQ_COLOR, RAW_COLOR, _axes, _finish, _percent  # noqa: F401


def plot_forest(fit, *, arm=None, effect="absolute", metric=None, kind=None, unit=None,
                blocked=None, segment_columns=(), ax=None):
    """Forest plot of segment lifts: raw cell estimates and partially pooled posteriors.

    Each segment shows its raw estimate (grey ring, size by units) and its posterior mean with
    the credible interval; the grey segment between them is the shrinkage. The population lift
    and its interval are the vertical line and band. A fit whose diagnostics failed
    (``blocked``) is marked in red across the axes and in the title: its numbers are not
    to be read.

    Parameters
    ----------
    fit : SegmentFit
    arm : str, optional
    effect : {"absolute", "relative"}
    metric, kind, unit : str, optional
        For the title and the x-axis unit (conversion lifts in percentage points).
    blocked : str, optional
        Why the fit is blocked (failed diagnostics); ``None`` for a usable fit.
    segment_columns : sequence of str
        To label segments ``column=value``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    key = "abs" if effect == "absolute" else "rel"
    table = fit.table
    arm = arm or table["arm"].iloc[0]
    t = table[table["arm"] == arm].reset_index(drop=True)
    pop = fit.population
    pop = pop[(pop["arm"] == arm) & (pop["effect"] == effect)].iloc[0]
    from bayeslab.core import format as fmt

    k = fmt.axis_scale(effect, kind or "conversion")
    cols = segment_columns or getattr(getattr(fit, "data", None), "segment_columns", ())
    fig, ax = _axes(ax, figsize=(7, 0.35 * len(t) + 1.8))
    y = np.arange(len(t))[::-1]
    size = t["n_control"] + t["n_treatment"]
    ax.axvspan(k * pop["lower"], k * pop["upper"], color=BAYES_COLOR, alpha=0.12,
               label=f"population {fmt.effect(pop['mean'], effect, kind or 'conversion', unit)}")
    ax.axvline(k * pop["mean"], color=BAYES_COLOR, linewidth=1)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.hlines(y, k * t[f"{key}_lower"], k * t[f"{key}_upper"], color=BAYES_COLOR, linewidth=2)
    ax.hlines(y, k * t[f"{key}_raw"], k * t[f"{key}_mean"], color=RAW_COLOR, linewidth=1,
              linestyle=":")
    ax.scatter(k * t[f"{key}_raw"], y, s=20 + 80 * size / size.max(), facecolors="none",
               edgecolors=RAW_COLOR, label="raw cell estimate", zorder=3)
    ax.scatter(k * t[f"{key}_mean"], y, color=BAYES_COLOR, s=22, zorder=4,
               label=f"pooled posterior ({getattr(fit, 'interval', 0.95):.0%})")
    ax.set_yticks(y, [f"{fmt.segment_label(s, cols)} (n={int(n):,})"
                      for s, n in zip(t["segment"], size, strict=True)], fontsize=8)
    ax.set_xlabel(f"{effect} lift, {arm} - control "
                  f"({fmt.axis_label(effect, kind or 'conversion', unit)})")
    title = f"{metric + ': ' if metric else ''}segment {effect} lifts, raw vs partially pooled"
    if blocked:
        title = "NOT CONVERGED, do not use: " + title
        ax.text(0.5, 0.5, "NOT CONVERGED", transform=ax.transAxes, ha="center", va="center",
                fontsize=28, color="#b3261e", alpha=0.25, rotation=20, zorder=0)
        for side in ax.spines.values():
            side.set_edgecolor("#b3261e")
            side.set_linewidth(2)
    ax.set_title(title, fontsize=10, color="#b3261e" if blocked else "black")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _var_slices(idata, var_names, max_elements):
    post = idata["posterior"]
    out = []
    for name in var_names:
        values = np.asarray(post[name].values, dtype=float)
        flat = values.reshape(values.shape[0], values.shape[1], -1)
        for k in range(min(flat.shape[2], max_elements)):
            label = name if flat.shape[2] == 1 else f"{name}[{k}]"
            out.append((label, name, k, flat[:, :, k]))
    return out


def plot_trace(idata, *, var_names, max_elements=3, title=None, blocked=None, ax=None):
    """Trace plot: per variable, chain traces (right) and per-chain histograms (left).

    Parameters
    ----------
    idata : xarray.DataTree
    var_names : list of str
    max_elements : int
        At most this many elements of each vector variable.
    title : str, optional
        Figure title (``"trace of the sampled model"`` by default).
    blocked : str, optional
        Why the fit is blocked (failed diagnostics): the title says it in red.
    ax : array of Axes with shape (rows, 2), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rows = _var_slices(idata, var_names, max_elements)
    if ax is None:
        fig, ax = plt.subplots(len(rows), 2, figsize=(9, 1.7 * len(rows) + 0.5), squeeze=False)
    else:
        ax = np.asarray(ax).reshape(len(rows), 2)
        fig = ax[0, 0].figure
    for i, (label, _, _, values) in enumerate(rows):
        for c, chain in enumerate(values):
            ax[i, 0].hist(chain, bins=40, histtype="step", density=True, color=f"C{c}")
            ax[i, 1].plot(chain, color=f"C{c}", linewidth=0.5, alpha=0.8)
        ax[i, 0].set_ylabel(label, fontsize=8)
        ax[i, 1].set_xlim(0, values.shape[1])
    ax[-1, 1].set_xlabel("draw")
    ax[0, 0].set_title("per-chain posterior", fontsize=9)
    ax[0, 1].set_title("trace (one colour per chain)", fontsize=9)
    text = title or "Trace of the sampled model"
    if blocked:
        text = f"NOT CONVERGED ({blocked[:90]}): {text}"
    fig.suptitle(text, fontsize=10, color="#b3261e" if blocked else "black")
    fig.tight_layout()
    return fig


def plot_rank(idata, *, var_names, max_elements=2, title=None, ax=None):
    """Rank plot: per-chain histograms of pooled ranks; flat bars mean the chains mix.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from bayeslab.inference.diagnostics import rank_data

    rows = _var_slices(idata, var_names, max_elements)
    chains = rows[0][3].shape[0]
    if ax is None:
        fig, ax = plt.subplots(len(rows), chains, squeeze=False, sharex=True,
                               figsize=(2.2 * chains + 2.5, 1.3 * len(rows) + 0.6))
    else:
        ax = np.asarray(ax).reshape(len(rows), chains)
        fig = ax[0, 0].figure
    for i, (label, name, k, _) in enumerate(rows):
        edges, counts = rank_data(idata, name, index=k)
        expected = counts.sum(axis=1).mean() / counts.shape[1]
        for c in range(chains):
            ax[i, c].bar(edges[:-1], counts[c], width=np.diff(edges), align="edge",
                         color=f"C{c}", alpha=0.7)
            ax[i, c].axhline(expected, color="black", linestyle="--", linewidth=0.8)
            ax[i, c].set_yticks([])
            if i == 0:
                ax[i, c].set_title(f"chain {c}", fontsize=9)
        ax[i, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(f"{title + ': ' if title else ''}rank plot per chain (dashed: uniform; "
                 "flat bars mean the chains agree)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_ppc(check, *, title=None, ax=None):
    """Predictive check: observed cell values against their predictive intervals.

    Parameters
    ----------
    check : bayeslab.inference.diagnostics.PredictiveCheck

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = check.table
    fig, ax = _axes(ax, figsize=(max(6, 0.28 * len(t) + 2), 4))
    x = np.arange(len(t))
    ax.vlines(x, t["lower"], t["upper"], color=BAYES_COLOR, linewidth=3, alpha=0.5,
              label=f"{check.kind} predictive {check.interval:.0%} interval")
    ax.scatter(x, t["median"], color=BAYES_COLOR, marker="_", s=60)
    colors = np.where(t["inside"], "black", FREQ_COLOR)
    ax.scatter(x, t["observed"], color=colors, s=14, zorder=3, label="observed")
    ax.set_xticks(x, t["cell"], rotation=90, fontsize=7)
    ax.set_ylabel(f"cell {check.quantity}")
    ax.set_title(f"{title + ': ' if title else ''}{check.kind} predictive check of the cell "
                 f"{check.quantity}: {check.coverage:.0%} of {check.cells} cells inside "
                 f"({check.extreme} with p < 0.05)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


