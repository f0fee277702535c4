"""Headless Chromium for the page tests: Playwright's Python package driving Debian's chromium.

Without a browser (no ``playwright`` package or no Chromium binary) the tests skip and say why;
with ``BAYESLAB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) a missing browser is a failure instead.
The browser binary is ``$BAYESLAB_CHROMIUM``, else the first of ``chromium`` /
``chromium-browser`` / ``google-chrome`` on ``PATH``.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REQUIRE_ENV = "BAYESLAB_REQUIRE_BROWSER"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
MODELS = Path(__file__).resolve().parents[2] / "models"


def _chromium() -> str | None:
    if os.environ.get("BAYESLAB_CHROMIUM"):
        return os.environ["BAYESLAB_CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(reason: str):
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (Playwright), or a skip saying what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the browser tests need the 'playwright' package (pip install -e '.[dev]')")
    path = _chromium()
    if path is None:
        _missing("no Chromium on PATH: install it (Debian: apt-get install -y chromium) or set "
                 "BAYESLAB_CHROMIUM")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def musicstream_run(tmp_path_factory):
    """Output folder of ``bayeslab run models/musicstream.toml`` (count + retention, notes)."""
    from bayeslab.plan.runner import run_plan

    out = tmp_path_factory.mktemp("browser") / "musicstream"
    run_plan(MODELS / "musicstream.toml", out)
    return out


@pytest.fixture(scope="session")
def shots():
    """Folder for screenshots (``$BAYESLAB_SCREENSHOTS`` to keep them)."""
    folder = Path(os.environ.get("BAYESLAB_SCREENSHOTS") or "/tmp/bayeslab-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def serve_app(folder, home):
    """``bayeslab app FOLDER`` served on a free local port; yields its URL, stops it after."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bayeslab.cli", "app", str(folder),
                             "--port", str(port), "--headless"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "HOME": str(home)})
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not _listening(port):
            if proc.poll() is not None:
                pytest.fail(f"bayeslab app exited: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
