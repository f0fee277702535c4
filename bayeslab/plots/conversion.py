"""Conversion figures: each arm's Beta posterior, the exact lift posterior, a lift histogram."""

from __future__ import annotations

import numpy as np

from bayeslab.plots._common import BAYES_COLOR, FREQ_COLOR, RAW_COLOR, _axes, _finish, _percent  # noqa: F401


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
    from bayeslab.kernels import beta as K

    table = fit.arm_table()
    a, b = fit.alpha_post, fit.beta_post
    mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    x = np.linspace(max(0.0, float(np.min(mean - 6 * sd))), min(1.0, float(np.max(mean + 6 * sd))),
                    600)
    fig, ax_ = _axes(ax, figsize=(7, 3.8))
    for k, arm in enumerate(fit.arms):
        dens = K.pdf(x, a[k], b[k])
        lo, hi = table["lower"].iloc[k], table["upper"].iloc[k]
        color = f"C{k}"
        ax_.plot(x, dens, color=color, linewidth=1.8,
                 label=f"{arm}: {mean[k]:.3%} [{lo:.3%}, {hi:.3%}]")
        inside = (x >= lo) & (x <= hi)
        ax_.fill_between(x[inside], dens[inside], color=color, alpha=0.15)
    ax_.set_xlabel("conversion rate")
    ax_.set_ylabel("posterior density")
    ax_.xaxis.set_major_formatter(_percent())
    ax_.set_title(f"{fit.metric}: posterior of each arm's rate "
                  f"(prior {fit.prior}; {fit.interval:.0%} intervals shaded)", fontsize=10)
    ax_.legend(fontsize=8, loc="best")
    return _finish(fig, ax)


def plot_conversion_lift(fit, *, arm=None, threshold=0.0, margin=None, verdict=None,
                         margin_relative=False, ax=None):
    r"""Exact posterior density of the absolute lift :math:`p_T - p_C` with the decision marked.

    The density is the convolution integral of the two Beta posteriors
    (``ConversionPosterior.lift_density``, :func:`bayeslab.kernels.beta.diff_pdf`), not a
    histogram of draws. The area above the line that decides is shaded and its probability
    (exact, :func:`~bayeslab.kernels.beta.diff_cdf`) printed; the credible interval is the bar
    on the axis.

    For a guardrail (``margin`` given) the line that decides is the non-inferiority margin: the
    shaded area is :math:`P(p_T - p_C > \text{margin})`, drawn in red, and the title says
    whether the guardrail passed; zero stays as a thin reference line.

    Parameters
    ----------
    fit : ConversionPosterior
    arm : str, optional
        Treatment arm (the only one by default).
    threshold : float
        Decision threshold on the absolute lift (0: any improvement); ignored with ``margin``.
    margin : float, optional
        Guardrail non-inferiority margin (largest acceptable absolute increase).
    margin_relative : bool
        ``margin`` is a fraction of the control rate: the probability shown is the exact
        :math:`P(p_T / p_C - 1 > m)`, and the line on this absolute axis is drawn at
        :math:`m\,E[p_C]` (marked "~").
    verdict : str, optional
        The guardrail's verdict (``"pass"`` / ``"fail"``), for the title.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from bayeslab.core import format as fmt

    c = fit.comparison(arm)
    x, dens = fit.lift_density(c.arm)
    line = threshold if margin is None else margin
    if margin is not None and margin_relative:
        k0 = 0
        line = margin * fit.alpha_post[k0] / (fit.alpha_post[k0] + fit.beta_post[k0])
    if line == 0:
        p_text = fmt.prob(c.prob_positive, c.prob_negative)
    else:
        p_above = (fit.prob_lift_above(margin, relative=True, arm=c.arm) if margin_relative
                   else fit.prob_lift_above(line, arm=c.arm))
        p_text = fmt.prob(p_above, 1.0 - p_above)
    fig, ax_ = _axes(ax, figsize=(7, 3.8))
    ax_.plot(x, dens, color=BAYES_COLOR, linewidth=1.8)
    above = x >= line
    if margin is None:
        ax_.fill_between(x[above], dens[above], color=BAYES_COLOR, alpha=0.25,
                         label=f"P(lift > {fmt.pp(line)}) = {p_text}")
        ax_.axvline(line, color=FREQ_COLOR, linestyle="--", linewidth=1.2,
                    label=f"decision threshold {fmt.pp(line)}")
    else:
        ax_.fill_between(x[above], dens[above], color=FREQ_COLOR, alpha=0.3,
                         label=f"P(increase > margin) = {p_text}")
        where = f" (~{fmt.pp(line)} here)" if margin_relative else ""
        ax_.axvline(line, color=FREQ_COLOR, linestyle="--", linewidth=1.6,
                    label=f"non-inferiority margin {fmt.margin(margin, margin_relative)}{where}")
        ax_.axvline(0, color="0.5", linewidth=0.8)
        lo, hi = ax_.get_xlim()
        ax_.set_xlim(min(lo, 0.0), max(hi, line + 0.1 * (hi - lo)))
    ax_.hlines(0, c.abs_lower, c.abs_upper, color="black", linewidth=5,
               label=f"{fit.interval:.0%} interval "
                     f"{fmt.interval(c.abs_lower, c.abs_upper, 'absolute', 'conversion')}")
    ax_.axvline(c.abs_diff, color="black", linewidth=0.8)
    ax_.set_ylim(bottom=-0.03 * float(np.max(dens)))
    ax_.xaxis.set_major_formatter(_percent(points=True))
    word = "increase" if margin is not None else "lift"
    ax_.set_xlabel(f"absolute {word} in {fit.metric}, {c.arm} - {fit.control} "
                   "(percentage points)")
    ax_.set_ylabel("posterior density")
    if margin is None:
        title = (f"{fit.metric}: posterior of the absolute lift, mean {fmt.pp(c.abs_diff)} "
                 f"(relative {fmt.pct(c.rel_lift)})")
    else:
        status = f": {verdict.upper()}" if verdict else ""
        title = (f"{fit.metric} (guardrail){status} at margin "
                 f"{fmt.margin(margin, margin_relative)}: posterior of the increase, mean "
                 f"{fmt.pp(c.abs_diff)}")
    ax_.set_title(title, fontsize=10)
    ax_.legend(fontsize=8, loc="upper left")
    return _finish(fig, ax)


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


