"""Figures of bayeslab.plots: each returns a Figure with the expected panels and never shows."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayeslab.plots import plot_monitor
from bayeslab.sequential.monitor import monitor


def result():
    rng = np.random.default_rng(0)
    n = 8_000
    ts = pd.Timestamp("2024-03-01") + pd.to_timedelta(np.sort(rng.uniform(0, 6, n)), unit="D")
    arm = rng.integers(0, 2, n)
    y = (rng.random(n) < np.where(arm == 1, 0.13, 0.10)).astype(int)
    return monitor(pd.DataFrame({"ts": ts, "arm": arm, "y": y}), arm="arm", metric="y",
                   timestamp="ts", fpr_sims=300)


def test_plot_monitor_draws_paths_boundaries_and_stops():
    res = result()
    fig = plot_monitor(res)
    ax_p, ax_z = fig.axes
    assert np.allclose(ax_p.lines[0].get_ydata(), res.table["prob_positive"])
    assert np.allclose(ax_z.lines[0].get_ydata(), res.table["z"])
    assert np.allclose(ax_z.lines[1].get_ydata(), res.table["upper"])
    labels = [t.get_text() for t in ax_p.get_legend().get_texts()]
    assert "success 0.95" in labels
    assert any("stops" in lab for lab in labels) == (res.rules[0].stop_look is not None)
    assert "false-positive rate" in ax_p.get_title()
    plt.close(fig)


def test_plot_monitor_on_one_axes():
    res = result()
    fig, ax = plt.subplots()
    assert plot_monitor(res, ax=ax) is fig
    assert len(fig.axes) == 1
    plt.close(fig)
