"""Shared pieces of the figures: colours, axes creation, unit formatters."""

from __future__ import annotations

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



def _pp(v: float) -> str:
    """An absolute difference of rates in percentage points."""
    return f"{100 * v:+.3g} pp" if v else "0 pp"


def _percent(points=False):
    from matplotlib.ticker import FuncFormatter

    if points:
        return FuncFormatter(lambda v, _: f"{round(100 * v, 10):+g}" if v else "0")
    return FuncFormatter(lambda v, _: f"{round(100 * v, 10):g}%")

