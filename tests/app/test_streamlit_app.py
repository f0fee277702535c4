"""The Streamlit app, driven headless with ``streamlit.testing.v1.AppTest``.

Each test switches widgets and checks the displayed numbers against direct fits of the counts
taken with pandas from the plan's unit rows (closed forms: the strings must match exactly).
"""

import re

import pytest

pytest.importorskip("streamlit")

from streamlit.testing.v1 import AppTest  # noqa: E402

from bayeslab.app import RUN_DIR_ENV, script_path  # noqa: E402
from bayeslab.bayes.conversion import BetaBinomial, format_prob  # noqa: E402
from bayeslab.core import format as fmt  # noqa: E402
from bayeslab.frequentist.conversion import TwoProportionZTest  # noqa: E402

from ..conftest import OTHER_PLANS, overview_numbers  # noqa: E402
from .conftest import PRIMARY  # noqa: E402
from .test_data import counts  # noqa: E402


def plain(markdown: str) -> str:
    """What a reader sees of the app's escaped Markdown (data is shown as text, not markup)."""
    import html

    return html.unescape(re.sub(r"\\(.)", r"\1", markdown))


def shown(at) -> dict:
    """The st.metric values by label."""
    return {m.label: m.value for m in at.metric}


def start(folder, monkeypatch) -> AppTest:
    monkeypatch.setenv(RUN_DIR_ENV, str(folder))
    at = AppTest.from_file(script_path(), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def expected(n, x, prior=(1.0, 1.0)) -> dict:
    c = BetaBinomial(*prior).fit_counts(n, x).comparisons[0]
    z = TwoProportionZTest().fit_counts(n, x).comparisons[0]
    return {"P(lift > 0)": format_prob(c.prob_positive, c.prob_negative),
            "Bayes estimate": fmt.pp(c.abs_diff),
            "Frequentist estimate": fmt.pp(z.diff), "p-value": f"{z.p_value:.3g}"}


def test_prior_look_and_metric(run_dir, plan_data, monkeypatch):
    at = start(run_dir, monkeypatch)
    n, x = counts(plan_data, PRIMARY)
    assert at.selectbox(key="metric").value == PRIMARY
    assert shown(at) == expected(n, x)
    assert plain(at.info[0].value) == "Prior in use: Beta(1, 1), the plan's prior"

    at.number_input(key=f"prior_alpha_{PRIMARY}").set_value(50).run()
    at.number_input(key=f"prior_beta_{PRIMARY}").set_value(200).run()
    assert not at.exception
    new = shown(at)
    assert new == expected(n, x, (50, 200))
    assert new["Bayes estimate"] != expected(n, x)["Bayes estimate"]
    assert plain(at.info[0].value) == ("Prior in use: Beta(50, 200), chosen here (the plan used "
                                "Beta(1, 1))")

    at.selectbox(key="look").select("10,000 rows").run()
    assert not at.exception
    n1, x1 = counts(plan_data.iloc[:10_000], PRIMARY)
    assert shown(at) == expected(n1, x1, (50, 200))
    assert "look 10,000 rows" in plain(at.header[0].value)

    at.selectbox(key="metric").select("revenue_60d").run()
    assert not at.exception
    assert len(at.number_input) == 0
    assert any(plain(c.value).startswith("Saved results of the run") for c in at.caption)
    assert plain(at.info[0].value).startswith("Prior in use: the run's prior (")
    assert shown(at)["p-value"] != "n/a"
    # the method shown first is the one the run's decision reads (ANCOVA), not the first listed
    assert at.selectbox(key="frequentist_method_revenue_60d").value == "ancova-hc"
    assert shown(at)["Bayes estimate"].endswith(" EUR")

    at.selectbox(key="metric").select("optout_flag").run()
    # no look selector: the monitor followed the primary metric
    assert [s.key for s in at.selectbox] == ["metric", "frequentist_method_optout_flag"]
    n, x = counts(plan_data, "optout_flag")
    guard = BetaBinomial().fit_counts(n, x)
    p_above = guard.prob_lift_above(0.25, relative=True)      # the plan's margin: "25%"
    ni = TwoProportionZTest().fit_counts(n, x).noninferiority(0.25, relative=True)
    want = expected(n, x)
    want["P(increase > 0)"] = want.pop("P(lift > 0)")
    # a guardrail shows what decides it: margin, P(increase > margin), non-inferiority p, verdict
    want.update({"Margin (max increase)": "25.0% of the control rate",
                 "P(increase > margin)": format_prob(p_above, 1 - p_above),
                 "Non-inferiority p": f"{ni.p_value:.3g}", "Guardrail": "FAIL"})
    assert shown(at) == want

    at.selectbox(key="frequentist_method_optout_flag").select("newcombe").run()
    c = TwoProportionZTest().fit_counts(n, x).comparisons[0]
    assert shown(at)["Frequentist estimate"] == fmt.pp(c.diff)
    text = " ".join(plain(m.value) for m in at.markdown)
    assert f"**Frequentist** (newcombe, absolute, 95% interval): {fmt.pp(c.diff)} " \
        f"[{100 * c.newcombe_lower:+.3f}, {100 * c.newcombe_upper:+.3f}] pp" in text
    assert "expected loss of shipping" not in text


def test_segment(segment_run_dir, plan_data, monkeypatch):
    at = start(segment_run_dir, monkeypatch)
    # the dropdown names the columns of each segment
    assert "ps_plus_member=0 x spend_tier=S1_low" in at.selectbox(key="segment").options
    at.selectbox(key="segment").select("0 x S1_low").run()
    assert not at.exception
    sub = plan_data[(plan_data["ps_plus_member"] == 0) & (plan_data["spend_tier"] == "S1_low")]
    assert shown(at) == expected(*counts(sub, PRIMARY))
    # the partially pooled estimate of the same segment, beside the unpooled one
    text = " ".join(plain(m.value) for m in at.markdown)
    assert "**Pooled** (hierarchical-logistic" in text
    at.selectbox(key="look").select("20,000 rows").run()
    assert "not both" in plain(at.error[0].value)


def test_bad_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    at = AppTest.from_file(script_path(), default_timeout=60).run()
    assert "has no readout.json" in plain(at.error[0].value)


def test_data_is_shown_as_text_and_links_are_not_served(run_dir, tmp_path, monkeypatch):
    """A metric name holding Markdown (an image from a remote host) is shown escaped, and a
    PNG in the run folder that links to a file elsewhere is not served."""
    import json
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    readout = json.loads((folder / "readout.json").read_text())
    readout["name"] = "![x](http://tracker.invalid/pixel.png) :red[alert] $x^2$"
    (folder / "readout.json").write_text(json.dumps(readout))
    secret = tmp_path / "secret.png"
    shutil.copy(next(folder.glob("*.png")), secret)
    (folder / f"{PRIMARY}_zz_link.png").symlink_to(secret)
    at = start(folder, monkeypatch)
    title = at.title[0].value
    assert plain(title) == readout["name"]
    assert "\\!\\[x\\]\\(http" in title and "\\:red\\[" in title and "\\$x" in title
    from bayeslab.app.run import load_run

    figures = load_run(folder).figures()
    assert figures and all(not p.is_symlink() for p in figures)
    assert f"{PRIMARY}_zz_link.png" not in [p.name for p in figures]


def test_a_malformed_readout_entry_is_one_message(run_dir, tmp_path, monkeypatch):
    import json
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    readout = json.loads((folder / "readout.json").read_text())
    del readout["metrics"][0]["metric"]
    (folder / "readout.json").write_text(json.dumps(readout))
    monkeypatch.setenv(RUN_DIR_ENV, str(folder))
    at = AppTest.from_file(script_path(), default_timeout=60).run()
    assert not at.exception
    assert "metrics[0] (or one of its guardrails) has no 'metric' name" in plain(
        at.error[0].value)


@pytest.mark.slow
@pytest.mark.parametrize("plan", ("migration", *OTHER_PLANS))
def test_tiles_match_the_overview_for_every_metric(plan, shipped_runs, monkeypatch):
    """Funnel stages, hazard ratios, money: each tile is the number the overview decides on."""
    from bayeslab.app.data import list_metrics, load_run

    run = load_run(shipped_runs[plan])
    at = start(shipped_runs[plan], monkeypatch)
    metrics = list_metrics(run)
    assert len(at.selectbox(key="metric").options) == len(metrics) >= 1
    for metric in metrics:
        readout = run.readouts[metric]
        at.selectbox(key="metric").select(metric).run()
        assert not at.exception, (plan, metric, at.exception)
        tiles, want = shown(at), overview_numbers(readout)
        for label in ("Bayes estimate", "Frequentist estimate"):
            if label in want:
                assert tiles[label] == want[label], (plan, metric, label)
        b, _ = readout.headline_estimates()
        if b is not None and b.effect == "hazard-ratio":
            from bayeslab.report.tables import prob_value

            assert tiles["P(HR < 1)"] == prob_value(b, flip=True), (plan, metric)
            text = " ".join(plain(m.value) for m in at.markdown)
            assert f"P(HR < 1) = {prob_value(b, flip=True)}" in text      # never P(> 0)
