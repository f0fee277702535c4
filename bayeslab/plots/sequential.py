"""Sequential monitoring: the posterior and the z statistic over the looks."""

from __future__ import annotations

import numpy as np

from bayeslab.plots._common import BAYES_COLOR, FREQ_COLOR, RAW_COLOR, _axes, _finish, _percent  # noqa: F401


def _rule_thresholds(rule):
    """(success, futility) lines of a P(lift > 0) rule, searched through composites.

    Read from the rule's ``to_dict()`` form (plots sit below the stopping rules' package).
    """
    kind = rule.to_dict().get("type")
    if kind == "prob_positive":
        return rule.success, rule.futility
    if kind in ("any", "all"):
        for r in rule.rules:
            found = _rule_thresholds(r)
            if found != (None, None):
                return found
    return None, None


def plot_monitor(result, ax=None):
    r"""Path of P(lift > 0) and of the z statistic over the looks, with boundaries and stops.

    Top panel: the posterior probability that the lift is positive at each look on the
    log-odds scale :math:`\log P(\text{lift} > 0) - \log P(\text{lift} < 0)` (ticks
    labelled as probabilities), so that movement between 0.999 and 1 - 1e-9 shows instead of a
    flat line at 1, with the first rule's success and futility thresholds and where each rule
    stopped. Bottom panel: the z statistic with the group-sequential boundaries at the
    realised information fractions and where the design stopped.

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
        _probability_panel(ax_p, result, x, colors)
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
    ax_z.set_title(f"{result.metric}: z statistic, {d.sides}-sided alpha={d.alpha:g} "
                   f"{d.spending} boundaries at realised information fractions", fontsize=10)
    ax_z.set_xlabel("look")
    ax_z.set_ylabel("z")
    ax_z.set_xticks(x)
    if len(x) <= 10:
        ax_z.set_xticklabels([f"{k}\n{lab}" for k, lab in zip(x, t["label"], strict=True)],
                             fontsize=8)
    ax_z.legend(fontsize=8, loc="best")
    return fig




def _logit(p, q):
    """log(p / q) without cancellation, clipped to +/- 700 (e^700 is near the double limit)."""
    p = np.clip(np.asarray(p, dtype=float), 1e-300, None)
    q = np.clip(np.asarray(q, dtype=float), 1e-300, None)
    return np.clip(np.log(p) - np.log(q), -700, 700)


def _probability_panel(ax_p, result, x, colors):
    """Top panel of :func:`plot_monitor`: P(lift > 0) per look on the log-odds scale."""
    from matplotlib.ticker import FuncFormatter

    from bayeslab.core import format as fmt

    t = result.table
    p = t["prob_positive"].to_numpy(dtype=float)
    q = (t["prob_negative"].to_numpy(dtype=float) if "prob_negative" in t else 1 - p)
    y = _logit(p, q)
    ax_p.plot(x, y, marker="o", color=colors[0], label="P(lift > 0), log-odds scale")
    success, futility = _rule_thresholds(result.rules[0].rule) if result.rules else (None, None)
    marks = [v for v in (success, futility) if v is not None]
    for value, name, color in ((success, "success", "tab:green"),
                               (futility, "futility", "tab:red")):
        if value is not None:
            ax_p.axhline(_logit(value, 1 - value), color=color, ls="--", lw=1,
                         label=f"{name} {value:g}")
    for i, r in enumerate(result.rules):
        if r.stop_look:
            ax_p.plot([r.stop_look], [y[r.stop_look - 1]], marker="*", ms=16, ls="none",
                      color=colors[(i + 2) % len(colors)],
                      label=f"{r.name} stops ({r.decision})")
    lims = np.concatenate([y, [_logit(v, 1 - v) for v in marks]])
    lo, hi = float(lims.min()) - 1, float(lims.max()) + 1
    ax_p.set_ylim(lo, hi)
    # ticks at 0.5, 0.9, 0.99, 1 - 1e-3, 1 - 1e-6, ... (and their mirror images below 0.5)
    ks = np.array([1, 2, 3, 6, 9, 12, 20, 30, 50, 100, 200, 300])
    up = np.log1p(-(10.0 ** -ks)) + ks * np.log(10)   # logit(1 - 10^-k), exactly
    ticks = np.concatenate([-up[::-1], [0.0], up])
    ticks = ticks[(ticks >= lo) & (ticks <= hi)]
    if len(ticks) > 7:
        ticks = ticks[:: int(np.ceil(len(ticks) / 7))]
    ax_p.set_yticks(ticks)
    ax_p.yaxis.set_major_formatter(FuncFormatter(
        lambda v, _: fmt.prob(1 / (1 + np.exp(-v)), 1 / (1 + np.exp(v)))))
    fp = result.rules[0].false_positive if result.rules else None
    title = f"{result.metric}: posterior probability of a positive lift per look"
    if fp is not None:
        title += f"\n(rule's simulated false-positive rate {fp.rate:.1%})"
    ax_p.set_title(title, fontsize=10)
    ax_p.set_ylabel("P(lift > 0) (log-odds axis)")
    ax_p.legend(fontsize=8, loc="best")
