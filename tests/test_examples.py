"""The five source analyses in examples/ run end to end and print their numbers beside the truth.

Each script runs in a subprocess (as a user runs it) with small sizes and tiny MCMC settings;
the test checks the exit code, that the truth lines are printed, and the lines that carry each
script's main point. Coverage of the truth by the intervals is not asserted here (that is the
estimators' tests' job, with Monte Carlo tolerances); only that the numbers are printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TINY = ["--draws", "200", "--tune", "200", "--chains", "2", "--sims", "300", "--seed", "1",
        "--no-remedy"]

# script, extra arguments, minimum number of truth lines, lines that must appear
CASES = [
    ("000_migration.py", ["--rows", "20000"], 20,
     ["type I error of the z/sqrt(t) shortcut", "P(lift > 0), exact", "Executive summary",
      "simulated false-positive rate"]),
    ("001_campaign.py", ["--rows", "20000"], 8,
     ["PS4 quarterly retention", "migration rate", "CUPED interval width",
      "rule false-positive rate, daily looks"]),
    ("002_musicstream.py", ["--rows", "20000"], 25,
     ["90/10: control / treatment / total", "Welch A/A false-positive rate",
      "rows capped", "Holm", "hazard ratio, log-rank", "converted without playing"]),
    ("003_homepage.py", ["--rows", "12000"], 25,
     ["assignment reproduced       100.00%", "Hash uniformity", "Holm", "(pooled)",
      "PCVR lift"]),
    ("004_personalization.py", ["--rows", "4000"], 30,
     ["matched treated", "ATC (AIPW)", "with replacement, no caliper", "balance and overlap"]),
]


def run_example(script: str, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args, *TINY],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize(("script", "args", "min_truth", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_example_runs(script, args, min_truth, expected, tmp_path):
    out_dir = tmp_path / "figures"
    proc = run_example(script, [*args, "--out", str(out_dir)], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]
    text = proc.stdout
    truth_lines = [line for line in text.splitlines() if "| truth" in line]
    assert len(truth_lines) >= min_truth, text[-3000:]
    for needle in expected:
        assert needle in text, f"{needle!r} not printed by {script}"
    assert "finished in" in text
    pngs = sorted(out_dir.glob("*.png"))
    assert pngs, f"{script} wrote no figure under --out"
    assert all(p.stat().st_size > 5_000 for p in pngs)


def test_examples_cover_the_five_notebooks():
    scripts = sorted(p.name for p in EXAMPLES.glob("[0-9][0-9][0-9]_*.py"))
    assert scripts == sorted(c[0] for c in CASES)


@pytest.mark.parametrize("script", [c[0] for c in CASES])
def test_example_help(script, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for option in ("--rows", "--seed", "--out"):
        assert option in proc.stdout


def test_example_000_reads_the_migration_plan_settings():
    """One source of truth: example 000's margins, rows and seed are the shipped plan's."""
    import importlib.util

    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location("example_000", EXAMPLES / "000_migration.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        from _common import parser
    finally:
        sys.path.remove(str(EXAMPLES))
    from bayeslab.plan.schema import load_plan

    plan = load_plan(ROOT / "models" / "migration.toml")
    margins = {m.name: m.options["margin"] for m in plan.metrics if m.role == "guardrail"}
    assert mod.MARGINS == margins == {"unsubscribe_flag": "25%", "optout_flag": "25%"}
    args = parser("x", plan="migration").parse_args([])
    assert (args.rows, args.seed) == (plan.data["simulate"]["rows"], plan.data["simulate"]["seed"])


@pytest.mark.slow
def test_custom_model_example_runs(tmp_path):
    """examples/custom_model.py: several covariates, a formula, your own model, its plan."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["MPLBACKEND"] = "Agg"
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "custom_model.py"), "--rows", "3000",
                           "--draws", "300", "--out", str(out)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]
    for needle in ("1. two covariates", "2. formula  Bayes (bambi)", "custom_readout",
                   "through a plan"):
        assert needle in proc.stdout, proc.stdout
    assert (out / "report.html").is_file()


@pytest.mark.slow
def test_history_prior_example_imports_fits_and_reads_a_plan_with_the_learned_prior(tmp_path):
    """examples/history_prior.py: library import, bayeslab prior, prior = "library" in a plan."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, str(EXAMPLES / "history_prior.py"), "--out",
                          str(tmp_path / "h")], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "150 rows read: 150 added" in text
    assert "effect distribution of 150 past experiments" in text
    assert "naive / corrected" in text
    assert "fitted to 150 past experiments of this metric" in text
    report = (tmp_path / "h" / "run" / "report.md").read_text()
    assert "fitted to 150 past experiments of this metric" in report
    assert "shipped past experiments of this metric add up to" in report
