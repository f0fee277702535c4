"""What the views show: guardrail margins, units, titles, labels, blockers vs notes, escaping.

Figures are checked on the matplotlib objects, texts on the strings the CLI and report print.
"""

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import bayeslab as bl
from bayeslab import plots
from bayeslab.core import format as fmt
from bayeslab.core.estimates import Estimate
from bayeslab.report.build import readout_document
from bayeslab.report.document import Document, Section, Table
from bayeslab.report.markdown import render_markdown
from bayeslab.report.tables import estimate_prob, estimates_table, overview_table
from tests.conftest import make_conversion_frame


@pytest.fixture(scope="module")
def guarded():
    """A conversion readout whose guardrail 'g' rises by 1 pp: it fails a 0.5 pp margin."""
    df = make_conversion_frame(n=40_000, p=(0.10, 0.12), seed=3)
    rng = np.random.default_rng(4)
    df["g"] = (rng.random(len(df)) < np.where(df["arm"] == 1, 0.03, 0.02)).astype(int)
    df["h"] = (rng.random(len(df)) < 0.02).astype(int)
    return bl.compare(df, arm="arm", metric="y", guardrails=["g", "h"], margins=0.005)


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_guardrail_figure_draws_the_margin_not_zero(guarded):
    g = guarded.guardrails[0]
    assert g.decision.verdict == "fail"
    fig = g.figures()["lift"]
    ax = fig.axes[0]
    xs = [line.get_xdata()[0] for line in ax.lines if len(set(line.get_xdata())) == 1]
    assert 0.005 in xs                                      # the margin line is drawn
    labels = _legend(ax)
    p = g.bayes.prob_lift_above(0.005)
    assert f"P(increase > margin) = {fmt.prob(p, 1 - p)}" in labels
    assert "non-inferiority margin +0.500 pp" in labels
    assert not any("decision threshold" in lab for lab in labels)
    assert "g (guardrail): FAIL at margin +0.500 pp" in ax.get_title()
    assert "percentage points" in ax.get_xlabel()
    # the primary metric's figure keeps its threshold at zero and names the metric
    primary = guarded.figures()["lift"].axes[0]
    assert primary.get_title().startswith("y: posterior of the absolute lift")
    plt.close("all")


def test_guardrail_check_and_overview_show_what_decides(guarded):
    g, h = guarded.guardrails
    check = g.guardrail_check()
    assert check["margin"] == 0.005 and check["verdict"] == "fail"
    assert check["prob_above_margin"] == pytest.approx(g.bayes.prob_lift_above(0.005))
    ni = g.frequentist.noninferiority(0.005)
    assert check["noninferiority_p"] == pytest.approx(ni.p_value)
    assert h.guardrail_check()["verdict"] == "pass"
    assert guarded.to_dict()["guardrails"][0]["guardrail"]["margin"] == 0.005
    rows = {r[0]: r for r in overview_table([guarded, g, h]).rows}
    assert rows["g"][4].startswith("P(increase > margin +0.500 pp) = ")
    assert rows["g"][6].startswith("non-inferiority p = ") and rows["g"][7] == "FAIL"
    assert rows["y"][4].startswith("P(lift > 0) = ")
    assert "expected loss" not in " ".join(overview_table([g]).columns)
    text = str(guarded)
    assert "Guardrail check: margin +0.500 pp" in text and ": FAIL" in text


def test_units_in_text_and_tables(guarded):
    text = str(guarded)
    assert "+2." in text and " pp" in text and "+2.0%" not in text.split("relative")[0]
    table = estimates_table(guarded)
    absolute = next(r for r in table.rows if r[1] == "z-test")
    assert absolute[3].endswith(" pp") and absolute[4].endswith("] pp")
    arms = [ln for ln in text.splitlines() if ln.startswith("0 ")][0]
    assert "20,000" in arms and "%" in arms


def test_money_in_the_metric_unit():
    rng = np.random.default_rng(0)
    n = 4000
    arm = np.repeat([0, 1], n // 2)
    df = pd.DataFrame({"arm": arm, "rev": rng.gamma(2, 20, n) + 3 * arm})
    r = bl.compare(df, arm="arm", metric="rev", kind="continuous", unit="EUR")
    assert r.to_dict()["unit"] == "EUR"
    assert "EUR" in str(r)
    ax = r.figures()["intervals"].axes[0]
    assert "(EUR)" in ax.get_xlabel() and ax.get_title().startswith("rev: absolute effect")
    plt.close("all")


def test_interval_figure_names_rows_and_marks_invalid_intervals():
    e = [Estimate("bayes", "bayes-beta", "absolute", 0.02, 0.01, 0.03, extra={"rate": "ctr"}),
         Estimate("bayes", "bayes-beta", "absolute", -0.02, -0.05, 0.0, extra={"rate": "pcvr"}),
         Estimate("frequentist", "delta", "absolute", 0.002, -0.001, 0.005,
                  extra={"rate": "cvr"}),
         Estimate("frequentist", "poisson-wald", "absolute", 0.002, 0.001, 0.003,
                  extra={"rate": "cvr"})]
    fig = plots.plot_interval_comparison(e, metric="cvr", kind="ratio",
                                         flagged={("frequentist", "poisson-wald")})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ctr", "pcvr", "cvr"]
    assert ax.get_title().startswith("cvr: absolute effect")
    assert "percentage points" in ax.get_xlabel()
    assert any("poisson-wald (invalid here" in lab for lab in _legend(ax))
    # values are drawn in percentage points
    segs = ax.collections[0].get_segments()
    assert segs[0][0][0] == pytest.approx(1.0) and segs[0][1][0] == pytest.approx(3.0)
    plt.close("all")


def test_segment_interval_figure_says_which_are_adjusted():
    e = [Estimate("bayes", "h", "absolute", 0.03, 0.01, 0.05, arm="1", segment="1 x S4"),
         Estimate("frequentist", "z-test", "absolute", 0.03, 0.0, 0.06, arm="1",
                  segment="1 x S4")]
    fig = plots.plot_interval_comparison(e, metric="y", kind="conversion",
                                         segment_columns=("ps", "tier"),
                                         note="per-segment intervals unadjusted; "
                                              "holm-adjusted p-values are in the table")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ps=1 x tier=S4"]
    assert "unadjusted" in ax.get_title() and "holm-adjusted" in ax.get_title()
    plt.close("all")


def _fake_segment_fit():
    table = pd.DataFrame({"arm": ["1", "1"], "segment": ["0 x a", "1 x b"],
                          "n_control": [100, 120], "n_treatment": [100, 110],
                          "abs_raw": [0.01, 0.03], "abs_mean": [0.012, 0.028],
                          "abs_lower": [-0.01, 0.0], "abs_upper": [0.03, 0.05]})
    pop = pd.DataFrame({"arm": ["1"], "effect": ["absolute"], "mean": [0.02],
                        "lower": [0.0], "upper": [0.04]})
    return SimpleNamespace(table=table, population=pop, interval=0.95,
                           data=SimpleNamespace(segment_columns=("ps", "tier")))


def test_forest_of_a_blocked_fit_is_marked():
    fit = _fake_segment_fit()
    ok = plots.plot_forest(fit, metric="y", kind="conversion").axes[0]
    assert ok.get_title() == "y: segment absolute lifts, raw vs partially pooled"
    assert {t.get_text() for t in ok.get_yticklabels()} == {"ps=0 x tier=a (n=200)",
                                                            "ps=1 x tier=b (n=230)"}
    assert "percentage points" in ok.get_xlabel()
    bad = plots.plot_forest(fit, metric="y", kind="conversion",
                            blocked="R-hat 1.2 > 1.01").axes[0]
    assert bad.get_title().startswith("NOT CONVERGED")
    assert any(t.get_text() == "NOT CONVERGED" for t in bad.texts)
    plt.close("all")


def test_trace_has_a_title():
    rng = np.random.default_rng(0)
    post = {"effect_mu": SimpleNamespace(values=rng.normal(size=(2, 50, 1)))}
    fig = plots.plot_trace({"posterior": post}, var_names=["effect_mu"],
                           title="y: segment model trace")
    assert fig._suptitle.get_text() == "y: segment model trace"
    fig = plots.plot_trace({"posterior": post}, var_names=["effect_mu"], blocked="R-hat 1.2")
    assert fig._suptitle.get_text().startswith("NOT CONVERGED")
    plt.close("all")


def test_probabilities_and_components_in_tables():
    hr = Estimate("bayes", "pwe", "hazard-ratio", 0.87, 0.82, 0.93, prob_positive=1.5e-5)
    assert estimate_prob(hr) == "P(HR < 1) = 1 - 1.5e-05"
    mc = Estimate("bayes", "hierarchical-logistic", "absolute", 0.03, 0.01, 0.05,
                  prob_positive=1.0)
    assert estimate_prob(mc) == "P(> 0) > 0.999 (every draw)"
    exact = Estimate("bayes", "beta-binomial", "absolute", 0.03, 0.01, 0.05, prob_positive=1.0,
                     extra={"prob_negative": 1.6e-27})
    assert estimate_prob(exact) == "P(> 0) = 1 - 1.6e-27"
    taus = [Estimate("bayes", "h", "tau", 0.24, 0.08, 0.52, arm="1",
                     extra={"component": c}) for c in ("ps", "tier", "ps x tier")]
    seg = SimpleNamespace(estimates=lambda: [
        *taus, Estimate("bayes", "h", "absolute", 0.03, 0.01, 0.05, arm="1", segment="1 x b",
                        prob_positive=1.0)], columns=("ps", "tier"))
    readout = SimpleNamespace(kind="conversion", unit=None, segments=seg)
    rows = estimates_table(readout, segments=True).rows
    names = [r[4] for r in rows if r[4].startswith("tau")]
    assert names == ["tau (ps)", "tau (tier)", "tau (ps x tier)"]
    cells = " ".join(" ".join(r) for r in rows)
    assert "ps=1 x tier=b" in cells and "= 1 " not in cells + " " and "None" not in cells


def test_notes_come_after_the_decision_and_blockers_before():
    df = make_conversion_frame(n=20_000, p=(0.10, 0.12), seed=1)
    ok = bl.compare(df, arm="arm", metric="y")
    doc = readout_document(ok, figures=False)
    assert doc.warnings == () and doc.notes == ()
    skewed = pd.concat([df, df[df["arm"] == 1].iloc[:3000]], ignore_index=True)
    blocked = bl.compare(skewed, arm="arm", metric="y")
    doc = readout_document(blocked, figures=False)
    assert blocked.decision.verdict == "blocked"
    assert doc.warnings and doc.warnings[0].startswith("sample ratio mismatch")
    first = doc.sections[0].paragraphs
    assert first[0].startswith("Blocked: sample ratio mismatch")
    assert first[1].startswith("Decision: BLOCKED")


def test_overdispersion_note_is_informational_and_printed_once(tmp_path, capsys):
    from bayeslab.cli import main

    rng = np.random.default_rng(2)
    n = 4000
    arm = np.repeat([0, 1], n // 2)
    y = rng.negative_binomial(1, 0.05, n)
    path = tmp_path / "counts.csv"
    pd.DataFrame({"arm": arm, "y": y}).to_csv(path, index=False)
    assert main(["compare", str(path), "--arm", "arm", "--metric", "y", "--kind", "count"]) == 0
    out = capsys.readouterr()
    both = out.out + out.err
    assert both.count("are overdispersed") == 1, both
    assert "StatisticalWarning" not in both and "warnings.warn" not in both
    note = [ln for ln in out.out.splitlines() if "overdispersed" in ln][0]
    assert note.startswith("Note: ")
    assert out.out.index("Decision:") < out.out.index("Note: ")


def test_markdown_escapes_labels():
    evil = "<script>alert(1)</script>"
    link = "[click](javascript:alert(1))"
    doc = Document(title=f"exp {evil}", headline=f"Ship {link}", verdict="ship",
                   warnings=(f"bad | {evil}",),
                   sections=(Section(key="s", title=f"metric {link}",
                                     paragraphs=(f"segment {evil}",),
                                     tables=(Table(("metric", "value"),
                                                   ((f"a|b {link}", "1"),)),)),))
    md = render_markdown(doc)
    import re

    assert "<script" not in md
    assert re.search(r"(?<!\\)\]\(javascript:", md) is None      # no link can form
    assert "\\[click\\](javascript:alert(1))" in md
    row = [ln for ln in md.splitlines() if ln.startswith("| a")][0]
    assert row.replace("\\|", "").count("|") == 3             # two cells, table intact
    assert "&lt;script>" in md
