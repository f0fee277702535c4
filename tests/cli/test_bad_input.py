"""The bad-input corpus: each case is one command line that must exit 2 with one line on stderr
naming the problem, and no traceback (issue 14).

A new case is one line in ``CASES``: an id, the arguments (``{bad}`` is ``tests/data/bad``,
``{tmp}`` a fresh folder, ``{many}`` a generated CSV whose ``seg`` column has 10,000 levels), and
a piece of text the message must contain. Files live in ``tests/data/bad/``.
"""

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bayeslab.cli import main
from tests.conftest import interrupt_cli
from tests.signals import sigint_default

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"

CASES = [
    # --- seeds and the command line
    ("seed-negative", "compare {bad}/good.csv --arm arm --metric y --seed -1", "--seed"),
    ("seed-too-big", "compare {bad}/good.csv --arm arm --metric y --seed 4294967296", "--seed"),
    ("seed-text", "monitor {bad}/good.csv --arm arm --metric y --seed x", "--seed"),
    ("simulate-seed", "simulate migration --seed -5 --out {tmp}/s.csv", "--seed"),
    ("aa-seed", "design aa --n 1000 --baseline 0.1 --seed -1", "--seed"),
    # --- degenerate variances (used to hang in kernels/difference.py)
    ("constant-metric", "compare {bad}/constant_metric.csv --arm arm --metric revenue "
     "--kind continuous", "no variation"),
    ("all-zero-counts", "compare {bad}/zero_counts.csv --arm arm --metric events --kind count",
     "no variation"),
    # --- segments with too many levels (NUTS for minutes, silently)
    ("segment-levels", "compare {many} --arm arm --metric y --segment seg", "10,000 levels"),
    # --- design
    ("allocation-sum", "design power --metric conversion --baseline 0.1 --mde 0.01 "
     "--allocation 0.9,0.2", "sum to 1"),
    ("allocation-negative", "design power --metric conversion --baseline 0.1 --mde 0.01 "
     "--allocation=-0.1,1.1", "positive"),
    ("aa-allocation-sum", "design aa --n 1000 --baseline 0.1 --allocation 0.5,0.6", "sum to 1"),
    # --- plans and the output folder
    ("plan-is-a-folder", "run {bad} --out {tmp}/out", "is a folder"),
    ("plan-not-utf8", "run {bad}/plan_latin1.toml --out {tmp}/out", "not UTF-8"),
    ("plan-seed-negative", "run {bad}/plan_seed_negative.toml --out {tmp}/out",
     "experiment.seed"),
    ("out-is-a-file", "run {bad}/plan_good.toml --out {bad}/good.csv", "not a folder"),
    ("plot-dir-is-a-file", "compare {bad}/good.csv --arm arm --metric y --plot {bad}/good.csv",
     "good.csv"),
    ("simulate-out-under-a-file", "simulate migration --rows 200 --out {bad}/good.csv/x.csv",
     "good.csv"),
    ("init-under-a-file", "init {bad}/good.csv/plan.toml", "good.csv"),
    # --- the data layer (issue 14): columns, values, folders and SQL
    ("duplicate-column", "compare {bad}/dup_column.csv --arm arm --metric y",
     "column 'y' appears more than once"),
    ("count-fraction", "compare {bad}/count_fraction.csv --arm arm --metric events --kind count",
     "non-negative whole number for a count metric; other values in 1 row (row 21"),
    ("ratio-negative-denominator", "compare {bad}/ratio_negative_denominator.csv --arm arm "
     "--kind ratio --numerator clicks --denominator views", "'views' (the ratio's denominator)"),
    ("braces-in-a-name", "compare {bad}/braces_in_names.csv --arm arm --metric 'y}}'",
     "column 'y}' must be 0 or 1"),
    ("folder-without-parquet", "compare {bad}/csv_folder --arm arm --metric y",
     "holds no .parquet files"),
    ("sql-two-statements", "compare --sql \"SELECT 0 AS arm, 1 AS y; COPY (SELECT 1) TO "
     "'{tmp}/f.csv'\" --arm arm --metric y", "exactly one SELECT statement"),
    ("sql-not-a-select", "compare --sql \"COPY (SELECT 1) TO '{tmp}/f.csv'\" --arm arm "
     "--metric y", "got a COPY statement"),
    # --- issue 23's hostile corpus, exact inputs: formulas that run code or read a wrong effect
    ("formula-runs-code", "compare {bad}/formula.csv --arm arm --metric rev --kind formula "
     "--formula \"rev ~ arm + I(x + bmb.models.np.sign(bmb.models.pd.io.common.os.system("
     "'touch pwned')))\"", "formula"),
    ("formula-writes-the-data", "compare {bad}/formula.csv --arm arm --metric rev --kind formula "
     "--formula 'rev ~ arm + I(frame.x.add(0, fill_value=frame.to_csv(\"pwned\")))'", "formula"),
    ("formula-random-slope", "compare {bad}/slope.csv --arm arm --metric rev --kind formula "
     "--formula 'rev ~ arm + (x | seg)'", "(x | seg) has no counterpart"),
    ("formula-arm-interaction", "compare {bad}/formula.csv --arm arm --metric rev --kind formula "
     "--formula 'rev ~ arm * x'", "interaction"),
    # options that were ignored or out of range
    ("margin-without-guardrail", "compare {bad}/good.csv --arm arm --metric y --margin 0.01",
     "--margin applies to guardrails"),
    ("margin-not-a-number", "compare {bad}/good.csv --arm arm --metric y --guardrail y "
     "--margin lots", "must be a number"),
    ("loss-threshold-nan", "compare {bad}/good.csv --arm arm --metric y --loss-threshold nan",
     "--loss-threshold"),
    ("rhat-zero", "compare {bad}/good.csv --arm arm --metric y --rhat-max 0", "--rhat-max"),
    ("ess-negative", "compare {bad}/good.csv --arm arm --metric y --ess-min=-5", "--ess-min"),
    ("monitor-interval-2", "monitor {bad}/good.csv --arm arm --metric y --interval 2",
     "--interval"),
    ("monitor-negative-looks", "monitor {bad}/good.csv --arm arm --metric y --looks=-3",
     "looks must be a positive number"),
    ("outcome-is-the-arm", "compare {bad}/good.csv --arm arm --metric arm",
     "is the arm column"),
    ("segment-is-the-arm", "compare {bad}/good.csv --arm arm --metric y --segment arm",
     "is the arm column"),
    ("segment-twice", "compare {bad}/formula.csv --arm arm --metric rev --kind continuous "
     "--segment x --segment x", "given twice"),
    ("simulate-1e13-rows", "simulate migration --rows 10000000000000 --out {tmp}/s.csv",
     "rows"),
    # data that is not what it seems
    ("ragged-csv", "compare {bad}/ragged.csv --arm arm --metric y", "ragged CSV: line 3"),
    ("complex-outcome", "compare {bad}/complex.csv --arm arm --metric y --kind continuous",
     "is not numeric"),
    ("count-beyond-2p53", "compare {bad}/count_2p53.csv --arm arm --metric x --n n",
     "at or above 2**53"),
]


@pytest.fixture(scope="module")
def many_levels(tmp_path_factory):
    import numpy as np
    import pandas as pd

    path = tmp_path_factory.mktemp("bad") / "many_levels.csv"
    n = 20_000
    rng = np.random.default_rng(0)
    pd.DataFrame({"arm": np.arange(n) % 2, "y": rng.integers(0, 2, n),
                  "seg": np.arange(n) // 2 % 10_000}).to_csv(path, index=False)
    return path


def _argv(template, tmp_path, many):
    return [a.format(bad=BAD, tmp=tmp_path, many=many) for a in shlex.split(template)]


@pytest.mark.parametrize("template,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(template, expected, tmp_path, capsys, many_levels):
    before = sorted(p.name for p in BAD.iterdir())
    try:
        code = main(_argv(template, tmp_path, many_levels))
    except SystemExit as exc:  # argparse's own errors (also one line, exit 2)
        code = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert expected in lines[0] and "Traceback" not in err
    assert sorted(p.name for p in BAD.iterdir()) == before  # nothing written next to the corpus


def test_one_case_through_a_real_process(tmp_path):
    """Through the console entry point in a fresh interpreter: exit 2, one line, no traceback."""
    out = subprocess.run([sys.executable, "-m", "bayeslab.cli", "compare", str(BAD / "good.csv"),
                          "--arm", "arm", "--metric", "y", "--seed", "-1"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_ctrl_c_exits_130_with_one_line_at_once(tmp_path):
    """SIGINT to a long command (hash-assignment A/A simulation): exit 130 within seconds."""
    code, seconds, err = interrupt_cli(  # after 4 s: imports done, simulating
        ["design", "aa", "--n", "200000", "--baseline", "0.1", "--sims", "100000",
         "--assignment", "hash"], after=4)
    assert code == 130, err
    assert seconds < 10
    assert err.strip().splitlines() == ["bayeslab: interrupted"]


def test_metric_names_cannot_leave_the_plot_folder(tmp_path, capsys):
    """``--metric ../../x --plot DIR`` and an absolute-path metric write inside DIR only."""
    import pandas as pd

    good = pd.read_csv(BAD / "good.csv")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    names = ["../../escaped", str(tmp_path / "absolute")]
    frame = good.assign(**{n: good["y"] for n in names})
    frame.to_csv(work / "d.csv", index=False)
    plots = work / "plots"
    for name in names:
        assert main(["compare", str(work / "d.csv"), "--arm", "arm", "--metric", name,
                     "--plot", str(plots), "--format", "json"]) == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".png"]
    assert written and all(p.parent == plots for p in written)
    capsys.readouterr()


def test_ctrl_c_during_a_plan_run_leaves_out_untouched(tmp_path):
    """SIGINT to ``bayeslab run`` mid-way: exit 130, one line, --out as it was, no staging left."""
    from tests.plan.test_schema import GOOD

    plan = tmp_path / "plan.toml"
    plan.write_text(GOOD.replace("rows = 4000", "rows = 1000000"))  # several seconds of work
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = subprocess.Popen([sys.executable, "-m", "bayeslab.cli", "run", str(plan), "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_default)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.tmp-*")) and proc.poll() is None:  # the run has started
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # simulating a million rows: seconds of work left
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "plan.toml"]


@pytest.mark.parametrize(("argv", "why"), [
    (["simulate", "migration", "--rows", "10000000000000", "--out", "x.parquet"],
     "rows must be at most 20,000,000"),
    (["design", "aa", "--n", "1000", "--baseline", "0.1", "--sims", "1000000000"],
     "n_sims must be at most 1,000,000"),
])
def test_sizes_that_cannot_fit_are_refused_at_once(argv, why, tmp_path, monkeypatch, capsys):
    """The probe's 72.8 TiB simulate and 10.8 GB A/A: one line naming the limit, exit 2."""
    import time

    from bayeslab.cli import main

    monkeypatch.chdir(tmp_path)
    t = time.perf_counter()
    assert main(argv) == 2
    assert time.perf_counter() - t < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and why in err[0]


def test_a_monitor_simulation_that_cannot_fit_is_refused():
    from bayeslab.core.errors import ModelError
    from bayeslab.sequential.operating import simulate
    from bayeslab.sequential.rules import rule_from_dict

    rule = rule_from_dict({"type": "prob_positive", "success": 0.95})
    with pytest.raises(ModelError, match="n_sims must be at most 1,000,000"):
        simulate(rule, [1000, 2000], n_sims=100_000_000)


@pytest.mark.parametrize("flags", [["--loss-threshold", "nan"], ["--rhat-max", "0"],
                                   ["--ess-min", "-5"], ["--interval", "2"],
                                   ["--prob-threshold", "1.5"], ["--alpha", "inf"]])
def test_thresholds_out_of_range_are_refused(flags, tmp_path, capsys):
    """The probe's accepted nonsense (a NaN loss threshold, R-hat 0, negative ESS, a 200 %
    interval): argparse's one line and exit 2."""
    from bayeslab.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["compare", "x.csv", "--arm", "a", "--metric", "y", *flags])
    assert exit_.value.code == 2
    assert "must be a number in" in capsys.readouterr().err


def test_monitor_interval_must_be_a_level(capsys):
    from bayeslab.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["monitor", "x.csv", "--arm", "a", "--metric", "y", "--interval", "2"])
    assert exit_.value.code == 2 and "(0, 1)" in capsys.readouterr().err


@pytest.mark.parametrize(("kw", "why"), [
    ({"metric": "arm"}, "is the arm column"),
    ({"metric": "y", "segments": ["arm"]}, "segment column 'arm' is the arm column"),
    ({"metric": "y", "segments": ["s", "s"]}, "segment column given twice"),
])
def test_columns_that_cannot_be_what_they_are_named_for(kw, why):
    """The probe read out "ship" for an outcome equal to the arm, and an effect of 0.0 with
    interval [0.0, 0.0] for a segment column equal to the arm."""
    import pandas as pd

    from bayeslab.core.errors import DataError
    from bayeslab.readout.metric import compare

    frame = pd.DataFrame({"arm": [0, 1] * 50, "y": [0, 1, 1, 0] * 25, "s": ["a", "b"] * 50})
    with pytest.raises(DataError, match=why):
        compare(frame, arm="arm", **kw)
