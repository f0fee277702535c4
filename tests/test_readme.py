"""The README's Python snippets, run as written, and their numbers checked against the page and
against the other methods on the same data."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_snippets_are_the_ones_this_test_knows():
    code = blocks()
    assert len(code) == 6, "a README snippet was added or removed: run it here too"
    assert "spark.read.parquet" in code[5]       # the one snippet not run: Spark and S3


@pytest.mark.slow
def test_readme_snippets_run_and_agree(tmp_path, monkeypatch, capsys):
    import pandas as pd


    monkeypatch.chdir(tmp_path)
    code = blocks()
    ns: dict = {}
    # 1. the API example: the demo's decision, as the comment and the text after it say
    exec(code[0], ns)
    r = ns["r"]
    assert r.decision.verdict == re.search(r"# '(\w+)'", code[0]).group(1) == "hold"
    guard = r.guardrails[0]
    rel = next(e for e in guard.estimates() if e.method == "log-ratio")
    text = README.read_text()
    said = re.search(r"unsubscribes rose by \+(\d+)% \[\+(\d+)%, \+(\d+)%\] of their "
                     r"([\d.]+)% base", text)
    assert said, "the README's sentence on the guardrail changed: update this test"
    assert [round(100 * v) for v in (rel.estimate, rel.lower, rel.upper)] == [
        int(said.group(i)) for i in (1, 2, 3)]
    base = float(guard.fit.arms["mean"][0])
    assert f"{100 * base:.2f}" == said.group(4)
    # 2. the lower-level pieces, on a file with the columns it names
    rng = np.random.default_rng(2)
    pd.DataFrame({"variant": np.repeat(["A", "B"], 5000),
                  "bought": (rng.random(10_000) < 0.1).astype(int)}).to_parquet("exp.parquet")
    exec(code[1], ns)
    # 3-5. covariates, a formula, your own PyMC model, on the same data
    for i in (2, 3, 4):
        exec(code[i], ns)
    capsys.readouterr()
    df = ns["df"]
    y, t = df["revenue_60d"].to_numpy(float), df["treatment"].to_numpy()
    welch_rel = y[t == 1].mean() / y[t == 0].mean() - 1
    custom = ns["r"]
    b_rel = next(e for e in custom.estimates() if e.side == "bayes" and e.effect == "relative")
    assert abs(b_rel.estimate - welch_rel) < 0.02, (b_rel.estimate, welch_rel)
    assert 0.21 <= welch_rel <= 0.25          # "the means give +22% to +24%"
