"""Bayes vs frequentist intervals of an effect, one row per segment and method."""

from __future__ import annotations

from bayeslab.plots._common import BAYES_COLOR, FREQ_COLOR, RAW_COLOR, _axes, _finish, _percent, _pp  # noqa: F401


def plot_interval_comparison(estimates, *, effect="absolute", reference=None, ax=None):
    """Bayes vs frequentist intervals, one row per segment (and the population).

    Parameters
    ----------
    estimates : list of Estimate
        Any mix of sides and methods; entries with another ``effect`` are skipped.
    effect : str
    reference : float, optional
        No-effect line: 1 for ratio scales (``hazard-ratio``, ``ratio``), else 0.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = [e for e in estimates if e.effect == effect]
    arms = {e.arm for e in rows if e.arm is not None}
    multi_arm = len(arms) > 1

    def key(e):  # a two-arm readout's entries name the arm or not: one row either way
        return (e.segment or "population", e.arm if multi_arm else None)

    labels = list(dict.fromkeys(key(e) for e in sorted(rows, key=lambda e: e.segment is not None)))
    methods = list(dict.fromkeys((e.side, e.method) for e in rows))
    palette = {"bayes": iter(["#1f77b4", "#17becf", "#9467bd", "#2ca02c", "#bcbd22"]),
               "frequentist": iter(["#d62728", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"])}
    style = {m: (next(palette[m[0]], "black"), "o" if m[0] == "bayes" else "s") for m in methods}
    fig, ax_ = _axes(ax, figsize=(7.5, 0.5 * len(labels) + 2.2))
    pos = {lab: i for i, lab in enumerate(labels[::-1])}
    in_row = {lab: [m for m in methods if any(key(e) == lab and (e.side, e.method) == m
                                              for e in rows)] for lab in labels}
    for m in methods:
        color, marker = style[m]
        picked = [e for e in rows if (e.side, e.method) == m]
        y = []
        for e in picked:
            here = in_row[key(e)]
            step = min(0.7 / len(here), 0.25)
            y.append(pos[key(e)] + (here.index(m) - (len(here) - 1) / 2) * -step)
        ax_.hlines(y, [e.lower for e in picked], [e.upper for e in picked], color=color,
                   linewidth=2, label=f"{m[0]}: {m[1]}")
        ax_.scatter([e.estimate for e in picked], y, color=color, marker=marker, s=18, zorder=3)
    if reference is None:
        reference = 1.0 if effect in ("hazard-ratio", "ratio") else 0.0
    ax_.axvline(reference, color="black", linewidth=0.8)
    ax_.set_yticks([pos[lab] for lab in labels],
                   [f"{s} ({a})" if multi_arm else s for s, a in labels], fontsize=8)
    for i in range(len(labels) - 1):
        ax_.axhline(i + 0.5, color="0.9", linewidth=0.6, zorder=0)
    ax_.set_ylim(-0.6, len(labels) - 0.4)
    if methods:
        from matplotlib.transforms import offset_copy

        # below the tick labels and axis label, whatever the axes height
        below = offset_copy(ax_.transAxes, fig=fig, y=-34, units="points")
        ax_.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   bbox_transform=below, ncol=min(3, len(methods)), frameon=False)
    else:
        ax_.text(0.5, 0.5, f"no {effect} estimates", transform=ax_.transAxes, ha="center")
    ax = ax_
    level = rows[0].level if rows else 0.95
    ax.set_xlabel(f"{effect} effect, {level:.0%} intervals")
    ax.set_title("Bayesian vs frequentist intervals")
    fig.tight_layout()
    return fig


