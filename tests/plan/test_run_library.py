"""A run appends to the experiment library only when one is named (``--library`` or the plan)."""

import json
from pathlib import Path

import pytest

from bayeslab.cli import main

MODELS = Path(__file__).resolve().parents[2] / "models"


def _plan(tmp_path, library_line=""):
    text = (MODELS / "musicstream.toml").read_text()
    plan = tmp_path / "plan.toml"
    plan.write_text(library_line + text)
    return plan


def test_nothing_is_written_without_a_library(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = _plan(tmp_path)
    assert main(["run", str(plan), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert not list(tmp_path.rglob("*.duckdb")) and not list(tmp_path.rglob("*.wal"))


def test_the_plans_library_is_beside_the_plan_and_a_rerun_replaces_its_rows(tmp_path, capsys):
    from bayeslab.data.library import ExperimentLibrary

    plan = _plan(tmp_path, 'library = "history/lib.duckdb"\n')
    (tmp_path / "history").mkdir()
    for _ in range(2):
        assert main(["run", str(plan), "--out", str(tmp_path / "out"), "--quiet",
                     "--format", "json"]) == 0
    rows = ExperimentLibrary(tmp_path / "history" / "lib.duckdb").rows()
    assert len(rows) == 2                                  # songs_played, converted; once each
    assert set(rows["metric"]) == {"songs_played", "converted"}
    assert (rows["experiment"] == "MusicStream recommendation algorithm").all()


def test_library_option_wins_and_says_what_it_wrote(tmp_path, capsys):
    plan = _plan(tmp_path, 'library = "never.duckdb"\n')
    lib = tmp_path / "chosen.duckdb"
    assert main(["run", str(plan), "--out", str(tmp_path / "out"), "--quiet",
                 "--library", str(lib), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["library"]["added"] == 2 and payload["library"]["read"] == 2
    assert any("churned" in u for u in payload["library"]["unrecorded"])
    assert lib.exists() and not (tmp_path / "never.duckdb").exists()


def test_a_library_that_is_not_a_path_is_one_line(tmp_path, capsys):
    plan = _plan(tmp_path, "library = 3\n")
    assert main(["run", str(plan), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "library" in err


@pytest.mark.parametrize("content", [b"not a database at all\n", b""])
def test_a_foreign_library_file_is_refused_before_anything_is_lost(tmp_path, capsys, content):
    plan = _plan(tmp_path)
    lib = tmp_path / "lib.duckdb"
    lib.write_bytes(content)
    code = main(["run", str(plan), "--out", str(tmp_path / "out"), "--quiet", "--library",
                 str(lib)])
    assert code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert lib.read_bytes() == content
    assert not (tmp_path / "out").exists()          # refused before computing
