"""The output folder of a plan run: checked before computing, written only when the run
succeeded (staged beside it, then moved), stale figures of an earlier run removed, unrelated files
kept, file names from metric names confined to the folder (issue 14)."""

import json

import pytest

from bayeslab.cli import main
from bayeslab.core.errors import DataError
from bayeslab.plan import output, runner
from bayeslab.plan.output import MANIFEST
from bayeslab.plan.runner import run_plan
from tests.plan.test_schema import GOOD, write

SECONDARY = """
[[metrics]]
name = "optout_flag"
role = "secondary"
kind = "conversion"
"""
ONE_METRIC = GOOD.split("[[metrics]]\nname = \"optout_flag\"")[0]


def _siblings(folder):
    return sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)


def test_rerun_with_fewer_metrics_leaves_no_stale_figure(tmp_path):
    out = tmp_path / "out"
    first = run_plan(write(tmp_path, GOOD), out)
    guard_figs = [p for k, p in first.files.items() if k.startswith("optout_flag")]
    assert guard_figs and all(p.exists() for p in guard_figs)
    (out / "notes.txt").write_text("mine")  # not written by a run: must stay
    second = run_plan(write(tmp_path, ONE_METRIC, "one.toml"), out)
    assert not any(p.exists() for p in guard_figs)
    assert (out / "notes.txt").read_text() == "mine"
    assert all(p.exists() and p.parent.parent in (out, tmp_path) for p in second.files.values())
    listed = set(json.loads((out / MANIFEST).read_text())["files"])
    assert listed == {p.name for p in out.iterdir()} - {"notes.txt", MANIFEST}
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")] == []


def test_out_is_a_file_fails_before_any_computing(tmp_path, monkeypatch, capsys):
    target = tmp_path / "taken"
    target.write_text("a file")
    called = []
    monkeypatch.setattr(runner, "load_plan_data", lambda plan: called.append(plan))
    assert main(["run", str(write(tmp_path, GOOD)), "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a folder" in err[0] and called == []
    assert target.read_text() == "a file"


@pytest.mark.parametrize("error", [KeyboardInterrupt, DataError])
def test_failed_or_interrupted_run_writes_nothing(tmp_path, monkeypatch, error):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")

    def boom(*args, **kwargs):
        raise error("stop")

    monkeypatch.setattr(runner, "_monitor", boom)
    plan = write(tmp_path, GOOD + '\n[sequential]\nlooks = 3\n')
    with pytest.raises(error):
        run_plan(plan, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert _siblings(out) == ["plan.toml"]  # no staging folder left behind


def test_interrupted_run_through_the_cli_exits_130(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_read_metric", interrupt)
    assert main(["run", str(write(tmp_path, GOOD)), "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0]
    assert not out.exists() and _siblings(out) == ["plan.toml"]


def test_metric_names_cannot_write_outside_the_folder(tmp_path):
    import pandas as pd

    from tests.conftest import make_conversion_frame

    frame = make_conversion_frame(n=2000)
    evil = "../../../escaped"
    frame[evil] = frame["y"]
    frame.to_csv(tmp_path / "d.csv", index=False)
    plan = GOOD.replace('simulate = { scenario = "migration", rows = 4000, seed = 2 }',
                        'path = "d.csv"').replace('"treatment"', '"arm"')
    plan = plan.split("[[metrics]]")[0] + f'[[metrics]]\nname = "{evil}"\nrole = "primary"\n'
    out = tmp_path / "a" / "b" / "out"
    result = run_plan(write(tmp_path, plan), out)
    for path in result.files.values():
        assert out.resolve() in path.resolve().parents
    assert not list(tmp_path.rglob("escaped*")) or all(
        out.resolve() in p.resolve().parents for p in tmp_path.rglob("*escaped*"))
    md = (out / "report.md").read_text()
    linked = [ln.split("](")[1].rstrip(")") for ln in md.splitlines() if ln.startswith("![")]
    assert linked and all((out / name).exists() for name in linked)
    assert pd.read_csv(tmp_path / "d.csv").shape[0] == 2000


def test_rerun_over_a_folder_from_before_manifests(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "readout.json").write_text(json.dumps({"metrics": [{"metric": "dropped"}]}))
    (out / "dropped_lift.png").write_bytes(b"old figure")
    (out / "dropped_lift_2.png").write_bytes(b"old figure, second arm")
    (out / "notes.txt").write_text("mine")
    (out / "dropped_my_own_chart.png").write_bytes(b"mine too")  # the probe's lost file
    run_plan(write(tmp_path, ONE_METRIC), out)
    assert not (out / "dropped_lift.png").exists() and not (out / "dropped_lift_2.png").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "dropped_my_own_chart.png").read_bytes() == b"mine too"
    assert (out / MANIFEST).exists() and (out / "report.html").exists()


def test_ctrl_c_while_moving_into_place_finishes_the_move(tmp_path, monkeypatch):
    import os
    import signal

    out = tmp_path / "out"
    out.mkdir()
    real = output.replace_entries

    def interrupted_move(*args):
        os.kill(os.getpid(), signal.SIGINT)  # held until the move is done
        real(*args)

    monkeypatch.setattr(output, "replace_entries", interrupted_move)
    with pytest.raises(KeyboardInterrupt):
        run_plan(write(tmp_path, ONE_METRIC), out)
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert all((out / name).exists() for name in listed)


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path):
    """kill -9 leaves `.out.tmp-PID-*` beside --out; the next run removes it (its process is
    gone) and leaves a live run's folder alone."""
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    gone = tmp_path / f".out.tmp-{dead.stdout.strip()}-abc"
    (gone / "half").mkdir(parents=True)
    alive = tmp_path / f".out.tmp-{os.getpid()}-xyz"
    alive.mkdir()
    run_plan(write(tmp_path, ONE_METRIC), tmp_path / "out")
    assert not gone.exists() and alive.exists()
