"""``bayeslab app``: the command it runs, and the message when Streamlit is missing."""

import importlib.util
import subprocess
import sys

from bayeslab.app import RUN_DIR_ENV, script_path
from bayeslab.cli import main

_find_spec = importlib.util.find_spec


def test_missing_streamlit(run_dir, monkeypatch, capsys):
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "streamlit" else _find_spec(name, *a))
    assert main(["app", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bayeslab: error: the app needs Streamlit: pip install 'bayeslab[app]'"]


def test_command(run_dir, monkeypatch):
    calls = []
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "streamlit"
                        else _find_spec(name, *a))
    monkeypatch.setattr(subprocess, "call", lambda cmd, env: calls.append((cmd, env)) or 0)
    assert main(["app", str(run_dir), "--port", "9999", "--headless"]) == 0
    (cmd, env), = calls
    folder = str(run_dir.resolve())
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", str(script_path())]
    assert cmd[cmd.index("--server.port") + 1] == "9999"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[-2:] == ["--", folder]
    assert env[RUN_DIR_ENV] == folder


def test_bad_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "streamlit"
                        else _find_spec(name, *a))
    assert main(["app", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err
