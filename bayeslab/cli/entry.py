"""``main``: parse, run one command, turn errors into one line and an exit code."""

from __future__ import annotations

import sys

from bayeslab.cli.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    error_line,
    exit_interrupted,
    install_interrupt_handler,
    report_interrupt,
)
from bayeslab.cli.parser import build_parser


def main(argv=None) -> int:
    """Entry point of the ``bayeslab`` console script.

    Exit codes: 0 done, 2 bad input or a path that cannot be read or written (one line on
    stderr), 130 interrupted (Ctrl-C: one line, no traceback; a plan run leaves its output folder
    as it was). Warnings print once each, as one line.

    Run as a program (``argv`` None), the process ends as soon as the command is done: output
    flushed and ``atexit`` handlers run, without the interpreter's teardown, which spent 1.2 s
    freeing PyTensor's and numba's objects after a sampled plan had finished.
    """
    code = _main(argv)
    if argv is None:
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    import atexit
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing left to say
            pass
    atexit._run_exitfuncs()
    os._exit(code)


def _main(argv) -> int:
    args = None
    previous = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if argv is None:  # run as a program: Ctrl-C ends it at once (see _on_interrupt)
            previous = install_interrupt_handler(args)
        import warnings

        from bayeslab.core.errors import BayeslabError, BayeslabWarning, CacheWarning

        shown = set()

        def one_line(message, category, *_args, **_kw):  # once, one line, no source line
            text = " ".join(str(message).split())
            if text not in shown:
                shown.add(text)
                print(f"bayeslab: warning: {text}", file=sys.stderr)

        try:
            with warnings.catch_warnings():
                warnings.showwarning = one_line
                # a readout's own warnings are printed by the command with its result
                warnings.filterwarnings("ignore", category=BayeslabWarning)
                # ... but a cache problem belongs to no readout: shown here, once
                warnings.filterwarnings("default", category=CacheWarning)
                return args.func(args)
        except BayeslabError as exc:
            print(f"bayeslab: error: {error_line(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except BrokenPipeError:  # e.g. piped into head
            return 0
        except OSError as exc:  # a path the user gave cannot be read or written
            where = f" {exc.filename}" if exc.filename else ""
            print(f"bayeslab: error: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        report_interrupt(args)
        if argv is None:
            exit_interrupted()
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGINT, previous)
