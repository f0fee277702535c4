"""Matplotlib figures of readouts. Every function returns the Figure and never calls ``show()``.

Plot data is computed by the result objects (``ConversionPosterior.lift_density``,
``SegmentFit.lift_draws``, ``SegmentFit.table``, ``PredictiveCheck.table``,
:func:`bayeslab.diagnostics.rank_data`, ``BalanceReport``); this module only draws. Functions
that draw one panel take ``ax=None`` (a new figure) or an Axes to draw into.

========================== ================================================================
conversion                 :func:`plot_beta_posteriors`, :func:`plot_conversion_lift`
any readout                :func:`plot_interval_comparison` (Bayes vs frequentist)
segments (MCMC)            :func:`plot_forest`, :func:`plot_lift_posterior`,
                           :func:`plot_trace`, :func:`plot_rank`, :func:`plot_ppc`
sequential monitoring      :func:`plot_monitor`
propensity                 :func:`love_plot`, :func:`overlap_plot`
========================== ================================================================
"""

from __future__ import annotations

import numpy as np

BAYES_COLOR = "#1f77b4"
FREQ_COLOR = "#d62728"
RAW_COLOR = "#7f7f7f"


def _axes(ax, **kw):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(**kw)
        return fig, ax
    return ax.figure, ax


def _finish(fig, ax_given):
    """Tight layout on a figure this module created (leave a caller's layout alone)."""
    if ax_given is None:
        fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Conversion (closed-form Beta posteriors)


def plot_beta_posteriors(fit, ax=None):
    """Posterior density of each arm's conversion rate, with its credible interval shaded.

    Parameters
    ----------
    fit : ConversionPosterior
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from scipy import stats

    table = fit.arm_table()
    a, b = fit.alpha_post, fit.beta_post
    mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    x = np.linspace(max(0.0, float(np.min(mean - 6 * sd))), min(1.0, float(np.max(mean + 6 * sd))),
                    600)
    fig, ax_ = _axes(ax, figsize=(7, 3.8))
    for k, arm in enumerate(fit.arms):
        dens = stats.beta.pdf(x, a[k], b[k])
        lo, hi = table["lower"].iloc[k], table["upper"].iloc[k]
        color = f"C{k}"
        ax_.plot(x, dens, color=color, linewidth=1.8,
                 label=f"{arm}: {mean[k]:.3%} [{lo:.3%}, {hi:.3%}]")
        inside = (x >= lo) & (x <= hi)
        ax_.fill_between(x[inside], dens[inside], color=color, alpha=0.15)
    ax_.set_xlabel("conversion rate")
    ax_.set_ylabel("posterior density")
    ax_.xaxis.set_major_formatter(_percent())
    ax_.set_title(f"Posterior of each arm's rate of {fit.metric!r} "
                  f"(prior {fit.prior}; {fit.interval:.0%} intervals shaded)", fontsize=10)
    ax_.legend(fontsize=8, loc="best")
    return _finish(fig, ax)


def plot_conversion_lift(fit, *, arm=None, threshold=0.0, ax=None):
    r"""Exact posterior density of the absolute lift :math:`p_T - p_C` with the decision marked.

    The density is the convolution integral of the two Beta posteriors
    (``ConversionPosterior.lift_density``, :func:`bayeslab.kernels.beta.diff_pdf`), not a
    histogram of draws. The area above ``threshold`` is shaded and its probability (exact,
    :func:`~bayeslab.kernels.beta.diff_cdf`) printed; the credible interval is the bar on the
    axis.

    Parameters
    ----------
    fit : ConversionPosterior
    arm : str, optional
        Treatment arm (the only one by default).
    threshold : float
        Decision threshold on the absolute lift (0: any improvement).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    c = fit.comparison(arm)
    x, dens = fit.lift_density(c.arm)
    from bayeslab.format import format_prob

    if threshold == 0:
        p_text = format_prob(c.prob_positive, c.prob_negative)
    else:
        p_above = fit.prob_lift_above(threshold, arm=c.arm)
        p_text = format_prob(p_above, 1.0 - p_above)
    fig, ax_ = _axes(ax, figsize=(7, 3.8))
    ax_.plot(x, dens, color=BAYES_COLOR, linewidth=1.8)
    above = x >= threshold
    ax_.fill_between(x[above], dens[above], color=BAYES_COLOR, alpha=0.25,
                     label=f"P(lift > {_pp(threshold)}) = {p_text}")
    ax_.axvline(threshold, color=FREQ_COLOR, linestyle="--", linewidth=1.2,
                label=f"decision threshold {_pp(threshold)}")
    ax_.hlines(0, c.abs_lower, c.abs_upper, color="black", linewidth=5,
               label=f"{fit.interval:.0%} interval [{_pp(c.abs_lower)}, {_pp(c.abs_upper)}]")
    ax_.axvline(c.abs_diff, color="black", linewidth=0.8)
    ax_.set_ylim(bottom=-0.03 * float(np.max(dens)))
    ax_.xaxis.set_major_formatter(_percent(points=True))
    ax_.set_xlabel(f"absolute lift, {c.arm} - {fit.control} (percentage points)")
    ax_.set_ylabel("posterior density")
    ax_.set_title(f"Posterior of the lift in {fit.metric!r}: mean {_pp(c.abs_diff)}, "
                  f"relative {c.rel_lift:+.2%}", fontsize=10)
    ax_.legend(fontsize=8, loc="upper left")
    return _finish(fig, ax)


def _pp(v: float) -> str:
    """An absolute difference of rates in percentage points."""
    return f"{100 * v:+.3g} pp" if v else "0 pp"


def _percent(points=False):
    from matplotlib.ticker import FuncFormatter

    if points:
        return FuncFormatter(lambda v, _: f"{round(100 * v, 10):+g}" if v else "0")
    return FuncFormatter(lambda v, _: f"{round(100 * v, 10):g}%")


def plot_lift_posterior(fit, *, segment=None, arm=None, effect="absolute", threshold=0.0,
                        rope=None, ax=None):
    """Posterior density (histogram) of a lift with the decision threshold and ROPE marked.

    Parameters
    ----------
    fit : object with ``lift_draws(segment, arm=, effect=)`` and ``interval``
    segment : str, optional
        ``None`` for the population lift.
    arm : str, optional
    effect : {"absolute", "relative"}
    threshold : float
        Decision threshold drawn as a vertical line; the shaded probability above it is printed.
    rope : tuple of float, optional
        Region of practical equivalence ``(low, high)``, shaded; its probability is printed.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    draws = np.asarray(fit.lift_draws(segment, arm=arm, effect=effect))
    fig, ax = _axes(ax, figsize=(6, 3.5))
    ax.hist(draws, bins=60, density=True, color=BAYES_COLOR, alpha=0.55, edgecolor="none")
    level = getattr(fit, "interval", 0.95)
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    ax.hlines(0, lo, hi, color="black", linewidth=4, label=f"{level:.0%} interval")
    ax.axvline(threshold, color=FREQ_COLOR, linestyle="--",
               label=f"threshold {threshold:g}: P(>) = {np.mean(draws > threshold):.3f}")
    if rope is not None:
        inside = np.mean((draws >= rope[0]) & (draws <= rope[1]))
        ax.axvspan(rope[0], rope[1], color="orange", alpha=0.2,
                   label=f"ROPE [{rope[0]:g}, {rope[1]:g}]: {inside:.3f}")
    ax.axvline(draws.mean(), color="black", linewidth=1)
    ax.set_xlabel(f"{effect} lift" + (" (treatment - control)" if effect == "absolute"
                                      else " (treatment / control - 1)"))
    ax.set_ylabel("posterior density")
    ax.set_title(f"Posterior of the {effect} lift: {segment or 'population'}")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def plot_forest(fit, *, arm=None, effect="absolute", ax=None):
    """Forest plot of segment lifts: raw cell estimates and partially pooled posteriors.

    Each segment shows its raw estimate (grey ring, size by units) and its posterior mean with
    the credible interval; the grey segment between them is the shrinkage. The population lift
    and its interval are the vertical line and band.

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
    fig, ax = _axes(ax, figsize=(7, 0.35 * len(t) + 1.6))
    y = np.arange(len(t))[::-1]
    size = t["n_control"] + t["n_treatment"]
    ax.axvspan(pop["lower"], pop["upper"], color=BAYES_COLOR, alpha=0.12,
               label=f"population {pop['mean']:+.3g}")
    ax.axvline(pop["mean"], color=BAYES_COLOR, linewidth=1)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.hlines(y, t[f"{key}_lower"], t[f"{key}_upper"], color=BAYES_COLOR, linewidth=2)
    ax.hlines(y, t[f"{key}_raw"], t[f"{key}_mean"], color=RAW_COLOR, linewidth=1,
              linestyle=":")
    ax.scatter(t[f"{key}_raw"], y, s=20 + 80 * size / size.max(), facecolors="none",
               edgecolors=RAW_COLOR, label="raw cell estimate", zorder=3)
    ax.scatter(t[f"{key}_mean"], y, color=BAYES_COLOR, s=22, zorder=4,
               label=f"pooled posterior ({getattr(fit, 'interval', 0.95):.0%})")
    ax.set_yticks(y, [f"{s} (n={int(n):,})" for s, n in zip(t["segment"], size, strict=True)],
                  fontsize=8)
    ax.set_xlabel(f"{effect} lift, {arm} vs control")
    ax.set_title("Segment lifts: raw vs partially pooled")
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


def plot_trace(idata, *, var_names, max_elements=3, ax=None):
    """Trace plot: per variable, chain traces (right) and per-chain histograms (left).

    Parameters
    ----------
    idata : xarray.DataTree
    var_names : list of str
    max_elements : int
        At most this many elements of each vector variable.
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
    fig.tight_layout()
    return fig


def plot_rank(idata, *, var_names, max_elements=2, ax=None):
    """Rank plot: per-chain histograms of pooled ranks; flat bars mean the chains mix.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from bayeslab.diagnostics import rank_data

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
    fig.suptitle("Rank plot (dashed: uniform)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_ppc(check, *, ax=None):
    """Predictive check: observed cell values against their predictive intervals.

    Parameters
    ----------
    check : bayeslab.diagnostics.PredictiveCheck

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
    ax.set_title(f"{check.kind.capitalize()} predictive check: {check.coverage:.0%} of "
                 f"{check.cells} cells inside ({check.extreme} with p < 0.05)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


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


# --------------------------------------------------------------------------------------------
# Sequential monitoring


def _rule_thresholds(rule):
    """(success, futility) lines of a P(lift > 0) rule, searched through composites."""
    from bayeslab.sequential.rules import AllOf, AnyOf, ProbPositive

    if isinstance(rule, ProbPositive):
        return rule.success, rule.futility
    if isinstance(rule, (AnyOf, AllOf)):
        for r in rule.rules:
            found = _rule_thresholds(r)
            if found != (None, None):
                return found
    return None, None


def plot_monitor(result, ax=None):
    """Path of P(lift > 0) and of the z statistic over the looks, with boundaries and stops.

    Top panel: the posterior probability that the lift is positive at each look, with the
    first rule's success and futility thresholds and where each rule stopped. Bottom panel: the
    z statistic with the group-sequential boundaries at the realised information fractions and
    where the design stopped.

    Parameters
    ----------
    result : MonitorResult
    ax : matplotlib.axes.Axes or sequence of two Axes, optional
        Two axes (probability, z); one axes draws only the z panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    t = result.table
    x = t["look"].to_numpy()
    if ax is None:
        fig, (ax_p, ax_z) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True,
                                         constrained_layout=True)
    elif np.ndim(ax) == 0:
        ax_p, ax_z = None, ax
        fig = ax.figure
    else:
        ax_p, ax_z = ax
        fig = ax_z.figure
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if ax_p is not None:
        ax_p.plot(x, t["prob_positive"], marker="o", color=colors[0], label="P(lift > 0)")
        success, futility = _rule_thresholds(result.rules[0].rule) if result.rules else (None,
                                                                                          None)
        if success is not None:
            ax_p.axhline(success, color="tab:green", ls="--", lw=1,
                         label=f"success {success:g}")
        if futility is not None:
            ax_p.axhline(futility, color="tab:red", ls="--", lw=1,
                         label=f"futility {futility:g}")
        for i, r in enumerate(result.rules):
            if r.stop_look:
                y = t["prob_positive"].iloc[r.stop_look - 1]
                ax_p.plot([r.stop_look], [y], marker="*", ms=16, ls="none",
                          color=colors[(i + 2) % len(colors)],
                          label=f"{r.name} stops ({r.decision})")
        fp = result.rules[0].false_positive if result.rules else None
        title = "Posterior probability of a positive lift"
        if fp is not None:
            title += f" (rule's simulated false-positive rate {fp.rate:.1%})"
        ax_p.set_title(title, fontsize=10)
        ax_p.set_ylim(-0.02, 1.02)
        ax_p.set_ylabel("P(lift > 0)")
        ax_p.legend(fontsize=8, loc="best")
    ax_z.plot(x, t["z"], marker="o", color=colors[0], label="z statistic")
    upper = t["upper"].to_numpy(dtype=float)
    lower = t["lower"].to_numpy(dtype=float)
    ax_z.plot(x, upper, color="black", ls="--", lw=1.2, label="boundary")
    if np.isfinite(lower).any():
        ax_z.plot(x, np.where(np.isfinite(lower), lower, np.nan), color="black", ls="--", lw=1.2)
    ax_z.axhline(0, color="grey", lw=0.6)
    if result.design_stop:
        k = result.design_stop - 1
        ax_z.plot([x[k]], [t["z"].iloc[k]], marker="*", ms=16, ls="none", color="tab:purple",
                  label=f"design stops ({result.design_decision})")
    z = t["z"].to_numpy(dtype=float)
    z = z[np.isfinite(z)]
    reach = max(8.0, float(np.abs(z).max()) if z.size else 0.0)  # every z shows; huge bounds clip
    bounds = np.concatenate([upper[np.isfinite(upper)], lower[np.isfinite(lower)]])
    span = np.concatenate([z, np.clip(bounds, -reach, reach)])
    ax_z.set_ylim(span.min() - 0.5, span.max() + 0.5)
    d = result.design
    ax_z.set_title(f"z statistic, {d.sides}-sided alpha={d.alpha:g} {d.spending} boundaries at "
                   "realised information fractions", fontsize=10)
    ax_z.set_xlabel("look")
    ax_z.set_ylabel("z")
    ax_z.set_xticks(x)
    if len(x) <= 10:
        ax_z.set_xticklabels([f"{k}\n{lab}" for k, lab in zip(x, t["label"], strict=True)],
                             fontsize=8)
    ax_z.legend(fontsize=8, loc="best")
    return fig


# --------------------------------------------------------------------------------------------
# Propensity readouts: balance and overlap

_STYLE = {"smd": ("unadjusted", "o", "#d62728"), "smd_ipw": ("IPW", "s", "#1f77b4"),
          "smd_overlap": ("overlap weights", "D", "#2ca02c"),
          "smd_matching": ("matched pairs", "^", "#9467bd")}


def love_plot(balance, ax=None):
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
    ax.set_title(f"Covariate balance ({balance.estimand.upper()}): {status}")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return fig


def overlap_plot(balance, ax=None, bins: int = 40):
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
    ax.set_title(f"Propensity overlap; {balance.extreme_share:.1%} of relevant units outside "
                 f"[{balance.epsilon:g}, {1 - balance.epsilon:g}]")
    ax.legend(loc="upper left", fontsize=8)
    return fig
