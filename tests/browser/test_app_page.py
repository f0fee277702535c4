"""``bayeslab app`` served for real and opened in headless Chromium."""

import time

import pytest

from .conftest import VIEWPORT, serve_app
from .pages import (
    assert_clean_text,
    assert_fits_viewport,
    assert_images_loaded,
    console_errors,
    visible_text,
)

pytest.importorskip("streamlit")


@pytest.fixture(scope="module")
def app_url(migration_run, tmp_path_factory):
    with serve_app(migration_run, tmp_path_factory.mktemp("home")) as url:
        yield url


def _open(browser, url, shots, name, select=None):
    page = browser.new_page(viewport=VIEWPORT)
    errors = console_errors(page)
    page.goto(url)
    page.get_by_text("Decision:", exact=False).first.wait_for(timeout=90_000)
    if select is not None:
        which, option, heading = select
        box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
            has_text=which).first
        box.wait_for(timeout=60_000)
        box.locator("div[data-baseweb='select'], input").first.click()
        page.get_by_role("option", name=option).first.click()
        page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    # wait until Streamlit has finished running the script and drawn the figures
    page.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')
                              && document.images.length > 0
                              && Array.from(document.images).every(i => i.complete)""",
                           timeout=90_000)
    time.sleep(1.0)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=False)
    return page, errors


def test_app_first_screen(browser, app_url, shots):
    page, errors = _open(browser, app_url, shots, "app_migration")
    decision = page.get_by_text("Decision: HOLD", exact=False).first
    box = decision.bounding_box()
    assert box is not None and box["y"] < VIEWPORT["height"] / 2, box
    assert_images_loaded(page)
    text = visible_text(page)
    assert_clean_text(text)
    assert_fits_viewport(page)
    assert "+3.800 pp" in text and "+3.800%" not in text
    assert not [e for e in errors if "favicon" not in e], errors
    page.close()


def test_app_guardrail(browser, app_url, shots):
    page, errors = _open(browser, app_url, shots, "app_guardrail",
                         select=("Metric", "optout_flag (guardrail, conversion)",
                                 "optout_flag (guardrail, conversion): all units"))
    page.get_by_text("P(increase > margin)", exact=True).first.wait_for()
    page.screenshot(path=str(shots / "app_guardrail.png"))
    text = visible_text(page)
    assert "25.0% of the control rate" in text and "FAIL" in text
    assert "expected loss of shipping" not in text
    assert_clean_text(text)
    assert_fits_viewport(page)
    assert not [e for e in errors if "favicon" not in e], errors
    page.close()


def test_app_segment_shows_pooled_beside_unpooled(browser, app_url, shots):
    page, errors = _open(browser, app_url, shots, "app_segment",
                         select=("Segment", "ps_plus_member=1 x spend_tier=S4_vhigh",
                                 "segment ps_plus_member=1 x spend_tier=S4_vhigh"))
    page.get_by_text("Pooled", exact=False).first.wait_for()
    page.screenshot(path=str(shots / "app_segment.png"), full_page=True)
    text = visible_text(page)
    assert "partially pooled across segments" in text
    assert_clean_text(text)
    assert_fits_viewport(page)
    assert not [e for e in errors if "favicon" not in e], errors
    page.close()
