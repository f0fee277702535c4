"""Stage lines: one when a stage starts, one when it ends; bars end with a newline."""

import io

from bayeslab.core import progress


def test_a_stage_prints_a_line_when_it_starts_and_when_it_ends():
    out = io.StringIO()
    with progress.stage("figures and report", show=True, stream=out) as info:
        assert out.getvalue().splitlines() == ["  figures and report              ..."]
        info["note"] = "3 figures"
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("  figures and report")
    assert lines[1].rstrip().endswith("s  (3 figures)")
    quiet = io.StringIO()
    with progress.stage("data", show=False, stream=quiet):
        pass
    assert quiet.getvalue() == ""


def test_a_shown_bar_is_ended_with_a_newline(capsys):
    progress.end_bar(True)
    progress.end_bar(False)
    assert capsys.readouterr().err == "\n"
