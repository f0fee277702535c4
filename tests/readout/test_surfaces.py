"""One formatter on every surface: each readout type of the shipped plans, shown five ways.

The five plans in ``models/`` hold every readout type the runner makes (conversion with
guardrails and segments, continuous, the funnel's ratio stages, count, retention, propensity and
the sequential monitor). Each metric's headline estimate must read the same (one string, with its
unit) in ``str()`` (what ``bayeslab compare`` prints), ``_repr_html_()`` of the live and of the
saved readout, the report (Markdown and HTML) and the app; and no surface may print an
unformatted float or a probability as exactly 1 or 0.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from bayeslab.core import format as fmt
from bayeslab.readout.contract import readout_from_dict

from ..conftest import OTHER_PLANS
from .test_contract import PROB_ONE, raw_float

PLANS = ("migration", *OTHER_PLANS)
TAGS = re.compile(r"<[^>]+>")
#: an interval of differences with no unit after it (a rate's difference is in pp or %; the
#: log-odds scale of the models is said on its line)
BARE_INTERVAL = re.compile(r"^(?!.*log-odds).*(\[[+-]\d[\d.e+-]*, [+-]\d[\d.e+-]*\])(?!\s*(pp|%))",
                           re.M)


def _text(markup: str) -> str:
    """What a reader sees of HTML or escaped Markdown: tags dropped, entities and escapes undone."""
    return html.unescape(re.sub(r"\\(.)", r"\1", TAGS.sub(" | ", markup)))


def _clean(surface: str, text: str, where) -> None:
    assert raw_float(text) is None, (where, surface, raw_float(text))
    bad = PROB_ONE.search(text)
    assert bad is None, (where, surface, bad and bad.group(0))


def _headline(readout) -> str:
    b, f = readout.headline_estimates()
    e = b if b is not None else f
    return fmt.effect(e.estimate, e.effect, readout.kind, readout.unit)


def _app_text(folder, metric, monkeypatch) -> str:
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from bayeslab.app import RUN_DIR_ENV, script_path

    monkeypatch.setenv(RUN_DIR_ENV, str(folder))
    at = AppTest.from_file(script_path(), default_timeout=60).run()
    at.selectbox(key="metric").select(metric).run()
    assert not at.exception, at.exception
    parts = [m.value for m in at.markdown] + [f"{m.label} {m.value}" for m in at.metric]
    parts += [c.value for c in at.caption] + [i.value for i in at.info]
    return _text("\n".join(str(p) for p in parts))


@pytest.mark.slow
@pytest.mark.parametrize("plan", PLANS)
def test_every_readout_reads_the_same_on_every_surface(plan, shipped_results, monkeypatch):
    folder, result = shipped_results[plan]
    report_md = _text((folder / "report.md").read_text())
    report_html = _text((folder / "report.html").read_text())
    for surface, text in (("report.md", report_md), ("report.html", report_html)):
        _clean(surface, text, plan)
    readouts = [*result.readouts, *([result.monitor] if result.monitor is not None else [])]
    assert readouts
    for r in readouts:
        where = (plan, r.metric, type(r).__name__)
        saved = readout_from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False)))
        views = {"str": str(r), "str(saved)": str(saved), "_repr_html_": _text(r._repr_html_()),
                 "saved _repr_html_": _text(saved._repr_html_())}
        if r.TYPE != "monitor":
            views["app"] = _app_text(folder, r.metric, monkeypatch)
        headline = _headline(r)
        for surface, text in views.items():
            _clean(surface, text, where)
            assert headline in text, (where, surface, headline)
        if r.TYPE != "monitor":
            assert headline in report_md and headline in report_html, (where, headline)
        if r.kind == "conversion":
            for surface, text in views.items():
                assert " pp" in text, (where, surface)
                bare = BARE_INTERVAL.search(text)
                assert bare is None, (where, surface, bare and bare.group(0))
