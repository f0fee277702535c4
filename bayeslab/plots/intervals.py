"""Bayes vs frequentist intervals of an effect, one row per segment and method."""

from __future__ import annotations

from bayeslab.plots._common import BAYES_COLOR, FREQ_COLOR, RAW_COLOR, _axes, _finish, _percent  # noqa: F401


def plot_interval_comparison(estimates, *, effect="absolute", reference=None, metric=None,
                             kind=None, unit=None, segment_columns=(), flagged=(), note=None,
                             ax=None):
    """Bayes vs frequentist intervals, one row per segment (and the population).

    Rows are the population, each funnel stage (``rate``) and each segment (labelled
    ``column=value``); methods whose intervals the readout itself flags as invalid (Poisson
    intervals under overdispersion) are drawn dashed and marked "invalid" in the legend.

    Parameters
    ----------
    estimates : list of Estimate
        Any mix of sides and methods; entries with another ``effect`` are skipped.
    effect : str
    reference : float, optional
        No-effect line: 1 for ratio scales (``hazard-ratio``, ``ratio``), else 0.
    metric : str, optional
        Metric name, for the title.
    kind : str, optional
        Metric kind: ``conversion`` and ``ratio`` absolute effects are drawn in percentage
        points, relative effects in %.
    unit : str, optional
        The metric's unit (``"EUR"``) for the x-axis of other absolute effects.
    segment_columns : sequence of str
        Segment columns, to label ``"1 x S4"`` as ``"ps_plus_member=1 x spend_tier=S4"``.
    flagged : collection of (side, method)
        Methods whose intervals are not valid here.
    note : str, optional
        A second title line (e.g. which intervals are adjusted for multiplicity).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from bayeslab.core import format as fmt

    kind = kind or ""
    k = fmt.axis_scale(effect, kind)
    rows = [e for e in estimates if e.effect == effect]
    arms = {e.arm for e in rows if e.arm is not None}
    multi_arm = len(arms) > 1
    flagged = set(flagged)

    def key(e):  # a two-arm readout's entries name the arm or not: one row either way
        where = (fmt.segment_label(e.segment, segment_columns) if e.segment is not None
                 else "population")
        stage = e.extra.get("rate") if isinstance(e.extra, dict) else None
        if stage:
            where = f"{stage}" if e.segment is None else f"{where}, {stage}"
        return (where, e.arm if multi_arm else None)

    labels = list(dict.fromkeys(key(e) for e in sorted(rows, key=lambda e: e.segment is not None)))
    methods = list(dict.fromkeys((e.side, e.method) for e in rows))
    palette = {"bayes": iter(["#1f77b4", "#17becf", "#9467bd", "#2ca02c", "#bcbd22"]),
               "frequentist": iter(["#d62728", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"])}
    style = {m: (next(palette[m[0]], "black"), "o" if m[0] == "bayes" else "s") for m in methods}
    fig, ax_ = _axes(ax, figsize=(7.5, 0.5 * len(labels) + 2.4))
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
        bad = m in flagged
        ax_.hlines(y, [k * e.lower for e in picked], [k * e.upper for e in picked], color=color,
                   linewidth=2, linestyle=":" if bad else "-",
                   label=f"{m[0]}: {m[1]}" + (" (invalid here: see the note)" if bad else ""))
        ax_.scatter([k * e.estimate for e in picked], y, color=color, marker=marker, s=18,
                    zorder=3, facecolors="none" if bad else color)
    if reference is None:
        reference = 1.0 if effect in fmt.RATIO_EFFECTS else 0.0
    ax_.axvline(k * reference, color="black", linewidth=0.8)
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
                   bbox_transform=below, frameon=False,
                   ncol=min(2 if flagged & set(methods) else 3, len(methods)))
    else:
        ax_.text(0.5, 0.5, f"no {effect} estimates", transform=ax_.transAxes, ha="center")
    level = rows[0].level if rows else 0.95
    word = effect.replace("-", " ")
    ax_.set_xlabel(f"{word} effect, treatment vs control ({fmt.axis_label(effect, kind, unit)})"
                   f"; {level:.0%} intervals")
    title = f"{metric + ': ' if metric else ''}{word} effect, Bayesian vs frequentist intervals"
    if note:
        title += "\n" + note
    ax_.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
