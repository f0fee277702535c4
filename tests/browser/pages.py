"""What a person sees on a page, as plain assertions shared by the report and app tests."""

import re

BAD_WORDS = re.compile(r"\b(None|nan|NaN|undefined|Traceback)\b")
RAW_MARKUP = re.compile(r"(<\s*/?\s*[a-zA-Z][^>]*>|\*\*|&lt;|&gt;|&amp;|\\\[)")


def console_errors(page) -> list[str]:
    """Collect console errors and uncaught page errors from now on (a list that fills up)."""
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def visible_text(page) -> str:
    return page.evaluate("document.body.innerText")


def assert_clean_text(text: str) -> None:
    """No None / nan / raw markup in what the page shows."""
    bad = BAD_WORDS.findall(text)
    assert not bad, f"page shows {sorted(set(bad))}"
    raw = RAW_MARKUP.findall(text)
    assert not raw, f"page shows raw markup {sorted(set(raw))[:5]}"


def assert_images_loaded(page, minimum: int = 1) -> int:
    """Every <img> finished loading with a real size; returns how many."""
    info = page.evaluate("""() => Array.from(document.images).map(i => ({
        src: i.currentSrc.slice(0, 60), ok: i.complete && i.naturalWidth > 0}))""")
    broken = [i["src"] for i in info if not i["ok"]]
    assert not broken, f"broken images: {broken}"
    assert len(info) >= minimum, f"{len(info)} images, expected at least {minimum}"
    return len(info)


def assert_fits_viewport(page) -> None:
    """Nothing makes the page scroll sideways."""
    width = page.evaluate("document.documentElement.scrollWidth")
    view = page.evaluate("window.innerWidth")
    assert width <= view, f"page is {width}px wide in a {view}px viewport"
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                     && getComputedStyle(e).position !== 'fixed'
                     && e.closest('.table-wrap, [data-testid="stDataFrame"]') === null)
        .slice(0, 5).map(e => e.tagName + '.' + e.className)""")
    assert not wide, f"elements wider than the viewport: {wide}"


def assert_in_first_screen(page, selector: str, text: str) -> None:
    """``selector`` shows ``text`` and starts within the first screen."""
    el = page.locator(selector).first
    el.wait_for(state="visible")
    box = el.bounding_box()
    assert box is not None and box["y"] < page.viewport_size["height"] - 20, \
        f"{selector} starts at y={box and box['y']}, below the first screen"
    assert text in el.inner_text(), f"{text!r} not in {el.inner_text()!r}"
