"""report.html of shipped plans in headless Chromium: what a person sees."""

from .conftest import VIEWPORT
from .pages import (
    assert_clean_text,
    assert_fits_viewport,
    assert_images_loaded,
    assert_in_first_screen,
    console_errors,
    visible_text,
)


def open_report(browser, folder, shots, name, width=VIEWPORT["width"]):
    page = browser.new_page(viewport={**VIEWPORT, "width": width})
    errors = console_errors(page)
    page.goto((folder / "report.html").as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(shots / f"{name}_{width}.png"))
    return page, errors


def test_migration_report(browser, migration_run, shots):
    page, errors = open_report(browser, migration_run, shots, "report_migration")
    assert_in_first_screen(page, "#decision", "HOLD")
    assert_in_first_screen(page, "#decision", "optout_flag")
    n = assert_images_loaded(page, minimum=16)
    text = visible_text(page)
    assert_clean_text(text)
    assert_fits_viewport(page)
    # guardrails show what decides them: the margin, P(increase > margin), non-inferiority p
    assert "P(increase > margin 25.0% of the control rate) = 0.9987" in text
    assert "non-inferiority p" in text and "FAIL" in text
    assert "+9.702 EUR" in text                        # money in the plan's unit
    assert "1e+04" not in text and "10,000 rows" in text
    assert "ps_plus_member=1 x spend_tier=S4_vhigh" in text
    # no bare "tau" row: the migration model's components all have fixed spreads (fewer than
    # four free contrasts each), so no spread row is printed; naming:
    # tests/report/test_presentation.py
    assert "\ntau\t" not in text and "\ntau " not in text
    assert "none); ." not in text                      # no empty tau clause
    assert "Normal(0, 0.5) on the treatment effect (log-odds)" in text
    assert not errors, errors
    page.close()
    assert n == len(list(migration_run.glob("*.png")))


def test_musicstream_report_notes_after_decision(browser, musicstream_run, shots):
    page, errors = open_report(browser, musicstream_run, shots, "report_musicstream")
    assert_in_first_screen(page, "#decision", "INCONCLUSIVE")
    assert_images_loaded(page, minimum=3)
    text = visible_text(page)
    assert_clean_text(text)
    assert_fits_viewport(page)
    # an informational note (overdispersion) comes after the decision, not above it as a block
    assert page.locator("#warnings").count() == 0
    notes = page.locator("#notes")
    assert "overdispersed" in notes.inner_text()
    assert notes.bounding_box()["y"] > page.locator("#decision").bounding_box()["y"]
    assert text.count("are overdispersed") >= 1
    assert "P(HR < 1) = 1 - " in text                  # a hazard ratio says P(HR < 1)
    assert not errors, errors
    page.close()


def test_report_fits_a_narrow_window(browser, migration_run, shots):
    page, errors = open_report(browser, migration_run, shots, "report_migration", width=800)
    assert_in_first_screen(page, "#decision", "HOLD")
    assert_fits_viewport(page)
    assert not errors, errors
    page.close()
