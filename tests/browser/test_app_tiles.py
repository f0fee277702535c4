"""The app's tiles against its overview row, in Chromium, for every metric of every shipped plan.

Each metric is opened by its link (``?metric=NAME``); the tiles a person reads first (the
probability, both estimates, or a guardrail's margin, probability and non-inferiority p) must be
the numbers of that metric's row in the overview table on the same page, and the numbers the
saved readout decides on (funnel metrics: the stage the decision reads; retention: P(HR < 1)).
"""

import time
from urllib.parse import quote

import pytest

from ..conftest import OTHER_PLANS, overview_numbers
from .conftest import VIEWPORT, serve_app
from .pages import assert_clean_text, console_errors, visible_text

pytest.importorskip("streamlit")


def _tiles(page) -> dict:
    return page.evaluate("""() => Object.fromEntries(
        Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => [
            m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
            m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))""")


def _overview_row(page, metric) -> str:
    """The text of the overview table's row for ``metric`` (its first cell is the name)."""
    rows = page.evaluate("""() => Array.from(
        document.querySelectorAll('table.bayeslab-table')[0].querySelectorAll('tbody tr'))
        .map(r => Array.from(r.cells).map(c => c.innerText.trim()))""")
    found = [r for r in rows if r and r[0] == metric]
    assert len(found) == 1, (metric, rows)
    return " | ".join(found[0])


def _open_metric(page, url, metric):
    page.goto(f"{url}/?metric={quote(metric)}")
    page.get_by_role("heading", name=f"{metric} (", exact=False).first.wait_for(timeout=90_000)
    page.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')
                              && document.querySelectorAll('[data-testid="stMetric"]').length
                                 >= 4""", timeout=90_000)
    time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.parametrize("plan", ("migration", *OTHER_PLANS))
def test_tiles_equal_the_overview_row_in_the_browser(plan, browser, shipped_runs, shots,
                                                     tmp_path):
    from bayeslab.app.data import list_metrics, load_run
    from bayeslab.report.tables import prob_value

    folder = shipped_runs[plan]
    run = load_run(folder)
    with serve_app(folder, tmp_path) as url:
        page = browser.new_page(viewport=VIEWPORT)
        errors = console_errors(page)
        for metric in list_metrics(run):
            _open_metric(page, url, metric)
            tiles, row = _tiles(page), _overview_row(page, metric)
            readout = run.readouts[metric]
            if readout.guardrail_check():
                for label in ("Margin (max increase)", "P(increase > margin)",
                              "Non-inferiority p"):
                    assert tiles[label] in row, (plan, metric, label, tiles[label], row)
            else:
                want = overview_numbers(readout)
                for label in ("Bayes estimate", "Frequentist estimate"):
                    if label in want:
                        assert tiles[label] == want[label], (plan, metric, label, tiles)
                        assert f"{want[label]}," in row, (plan, metric, label, row)
                b, _ = readout.headline_estimates()
                hr = b.effect == "hazard-ratio"
                prob_label = "P(HR < 1)" if hr else "P(lift > 0)"
                assert tiles[prob_label] == prob_value(b, flip=hr), (plan, metric, tiles)
                assert want["bayes P"] in row, (plan, metric, want["bayes P"], row)
                if "HR" in want["bayes P"]:             # the metric's section, below its header
                    section = visible_text(page).split(f"{metric} ({readout.role}")[-1]
                    assert "P(> 0)" not in section and "P(HR < 1)" in section, (plan, metric)
            assert_clean_text(visible_text(page))
        page.screenshot(path=str(shots / f"app_tiles_{plan}.png"))
        assert not [e for e in errors if "favicon" not in e], errors
        page.close()
