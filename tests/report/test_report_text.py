"""What the report says in words: advisory secondary verdicts, adjusted vs unadjusted segment
numbers, the Laplace approximation disclosed, which sequential rule governs, relative margins."""

import html
import re
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "models"


def text_of(folder) -> str:
    raw = (Path(folder) / "report.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def test_migration_report_words(migration_run):
    text = " ".join(text_of(migration_run).split())
    # the primary decision holds; the secondary metric's verdict is advisory, never "Decision"
    assert "Decision: HOLD" in text
    assert "Advisory verdict (a secondary metric does not decide the experiment): SHIP" in text
    assert "Decision: SHIP" not in text
    # the guardrails' relative margin, in the title and the check
    assert "margin 25.0% of the control rate" in text
    # per-segment tests: adjusted p-values beside unadjusted intervals, both labelled
    assert "95% interval (unadjusted)" in text and "p (Holm-adjusted) = " in text


@pytest.mark.slow
def test_laplace_and_the_governing_sequential_rule_are_said(tmp_path):
    from bayeslab.plan.runner import run_plan

    run_plan(MODELS / "personalization.toml", tmp_path / "pers")
    pers = " ".join(text_of(tmp_path / "pers").split())
    assert "Laplace approximation (made_purchase)" in pers and "bayes-dr (Laplace)" in pers
    assert "No model in this plan was sampled by MCMC" not in pers
    run_plan(MODELS / "campaign.toml", tmp_path / "camp")
    camp = " ".join(text_of(tmp_path / "camp").split())
    assert "Which rule governs: the monitor's decision follows the posterior stopping rule" in camp
    fpr = re.search(r"under this look schedule: ([\d.]+)% \(Monte Carlo standard error ([\d.]+)%, "
                    r"([\d,]+) simulated A/A experiments", camp)
    assert fpr and int(fpr.group(3).replace(",", "")) == 2000
    assert 0.1 < float(fpr.group(2)) < 2.0
