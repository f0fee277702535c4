"""Sequential monitoring: the posterior and the z statistic over the looks."""

from __future__ import annotations

import numpy as np

from bayeslab.plots._common import BAYES_COLOR, FREQ_COLOR, RAW_COLOR, _axes, _finish, _percent, _pp  # noqa: F401


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


