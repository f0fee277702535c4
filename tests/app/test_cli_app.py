"""``bayeslab app``: the command it runs, and the message when Streamlit is missing."""

import importlib.util
import subprocess
import sys

import pytest

from bayeslab.app import RUN_DIR_ENV, script_path
from bayeslab.cli import main
from tests.signals import sigint_default

_find_spec = importlib.util.find_spec


def test_missing_streamlit(run_dir, monkeypatch, capsys):
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "streamlit" else _find_spec(name, *a))
    assert main(["app", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bayeslab: error: the app needs Streamlit: pip install 'bayeslab[app]'"]


class FakeChild:
    def __init__(self, cmd, env, **kw):
        self.cmd, self.env, self.kw = cmd, env, kw
        self.stopped = False

    def wait(self, timeout=None):
        return 0

    def poll(self):
        return 0



@pytest.fixture
def launched(monkeypatch):
    """Streamlit looks installed; the children ``bayeslab app`` starts are recorded, not run."""
    calls = []
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "streamlit"
                        else _find_spec(name, *a))
    monkeypatch.setattr(subprocess, "Popen",
                        lambda cmd, env, **kw: calls.append(FakeChild(cmd, env, **kw))
                        or calls[-1])
    return calls


def test_command(run_dir, launched, capsys):
    calls = launched
    assert main(["app", str(run_dir), "--port", "9999", "--headless"]) == 0
    child, = calls
    cmd, env = child.cmd, child.env
    folder = str(run_dir.resolve())
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", str(script_path())]
    assert cmd[cmd.index("--server.port") + 1] == "9999"
    # loopback only by default, and always headless: no browser tab, no e-mail prompt
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[-2:] == ["--", folder]
    assert env[RUN_DIR_ENV] == folder
    assert capsys.readouterr().err == ""


def test_other_host_warns(run_dir, launched, capsys):
    calls = launched
    assert main(["app", str(run_dir), "--host", "0.0.0.0", "--headless"]) == 0
    cmd = calls[0].cmd
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bayeslab: warning: serving on 0.0.0.0")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_stopping_the_app_stops_the_server(run_dir, tmp_path):
    """SIGTERM / Ctrl-C to ``bayeslab app`` leaves no Streamlit child serving."""
    import os
    import signal
    import socket
    import time

    pytest.importorskip("streamlit")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen([sys.executable, "-m", "bayeslab.cli", "app", str(run_dir),
                                 "--port", str(port), "--headless"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "HOME": str(tmp_path)},
                                preexec_fn=sigint_default)
        try:
            assert _wait_listening(port, 90), "the app server did not start"
            children = _children(proc.pid)
            assert children
            proc.send_signal(sig)
            proc.wait(timeout=30)
            deadline = time.time() + 15
            while time.time() < deadline and any(_alive(c) for c in children):
                time.sleep(0.2)
            assert not any(_alive(c) for c in children)
            assert not _listening(port)
            err = proc.stderr.read().decode()
            assert "Email" not in err and "email" not in proc.stdout.read().decode()
        finally:
            if proc.poll() is None:
                proc.kill()


def _children(pid):
    from pathlib import Path

    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        out += [int(c) for c in text.split()]
    return out


def _alive(pid):
    from pathlib import Path

    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _listening(port):
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_listening(port, seconds):
    import time

    deadline = time.time() + seconds
    while time.time() < deadline:
        if _listening(port):
            return True
        time.sleep(0.5)
    return False


def test_bad_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "streamlit"
                        else _find_spec(name, *a))
    assert main(["app", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err
