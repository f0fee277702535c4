"""Exit codes, one-line errors and Ctrl-C handling of the ``bayeslab`` command."""

from __future__ import annotations

import sys

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it



def report_interrupt(args) -> None:
    """The one line printed on Ctrl-C."""
    where = ("; a plan run writes its output folder only when it has finished" if getattr(
        args, "command", None) == "run" else "")
    print(f"bayeslab: interrupted{where}", file=sys.stderr)


def install_interrupt_handler(args):
    """Ctrl-C: one line, the staging folder of a plan run removed, exit 130, at once.

    A KeyboardInterrupt raised wherever Python happens to be can be swallowed: inside a weakref
    callback of the import machinery it is "ignored" (printed as a traceback, the command carries
    on) and CPython then ends the process by SIGINT (exit -2). The handler therefore does not
    raise: it reports, discards any staging folder and leaves. A library that takes SIGINT over
    for a while (the sampler, the runner's move into place) restores this handler after.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    # imported now, not in the handler: an import inside a signal handler can meet the import
    # machinery mid-way through another module and raise something other than an exit
    from bayeslab.plan.output import discard_staging

    def on_interrupt(signum, frame):
        report_interrupt(args)
        discard_staging()
        exit_interrupted()

    return signal.signal(signal.SIGINT, on_interrupt)


def exit_interrupted() -> None:
    """Flush and leave with exit code 130 at once, skipping interpreter finalization."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_INTERRUPTED)


def error_line(exc) -> str:
    """An error message on one line (a message may quote multi-line user text)."""
    return " ".join(str(exc).split()) or type(exc).__name__
