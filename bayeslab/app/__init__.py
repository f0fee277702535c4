"""``bayeslab app``: a Streamlit app over a run's output folder (optional extra ``app``).

The pure functions behind it live in :mod:`bayeslab.app.data` (no Streamlit needed); the
Streamlit script is :mod:`bayeslab.app.streamlit_app`. Importing this package imports neither.
"""

from __future__ import annotations

from pathlib import Path

#: Environment variable naming the run folder, read by the Streamlit script.
RUN_DIR_ENV = "BAYESLAB_APP_RUN_DIR"


def script_path() -> Path:
    """Path of the Streamlit script, for ``streamlit run``."""
    return Path(__file__).with_name("streamlit_app.py")



#: Interfaces that only this machine can reach.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def streamlit_command(folder: str, *, host: str = "127.0.0.1", port: int = 8501) -> list[str]:
    """The ``streamlit run`` command line serving ``folder`` on ``host:port``.

    Always headless (no browser opened by Streamlit, and no first-run e-mail prompt), no usage
    statistics, bound to ``host`` only.
    """
    import sys

    return [sys.executable, "-m", "streamlit", "run", str(script_path()),
            "--server.address", host, "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer", "--", folder]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM when the ``bayeslab app`` process dies, however it dies."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def serve(folder: str, *, host: str = "127.0.0.1", port: int = 8501,
          open_browser: bool = True, popen=None) -> int:
    """Run the Streamlit server over ``folder`` until it exits or this process is stopped.

    The server is a child process; Ctrl-C, SIGTERM or SIGHUP to this process stop it (terminate,
    then kill after 5 s), and on Linux it also dies with its parent. Returns the server's exit
    code, or 130 when stopped by Ctrl-C.
    """
    import os
    import signal
    import subprocess
    import sys

    popen = popen or subprocess.Popen
    env = {**os.environ, RUN_DIR_ENV: folder, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    kw = {"preexec_fn": _die_with_parent} if sys.platform.startswith("linux") else {}
    child = popen(streamlit_command(folder, host=host, port=port), env=env, **kw)

    def stop(signum, _frame):
        raise KeyboardInterrupt

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        if open_browser:
            import threading
            import webbrowser

            url = f"http://{'localhost' if host in LOOPBACK else host}:{port}"
            threading.Timer(2.0, webbrowser.open, args=(url,)).start()
        return child.wait()
    except KeyboardInterrupt:
        _stop(child)
        return 130
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if child.poll() is None:
            _stop(child)


def _stop(child) -> None:
    import subprocess

    child.terminate()
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


__all__ = ["LOOPBACK", "RUN_DIR_ENV", "script_path", "serve", "streamlit_command"]
