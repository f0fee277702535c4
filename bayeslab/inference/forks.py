"""Work in forked processes: :func:`fork_map` runs ``fn(item)`` for each item, a few at a time.

Forking after the expensive set-up (a compiled model, fitted readouts) lets every child use it
copy-on-write and return only a small, picklable result: MCMC chains
(``bayeslab.inference.chains``), PNG bytes of figures (``bayeslab.report.build``). Where ``fork``
is unavailable (Windows, macOS default), in a daemon process, or with one worker, the items run
here, one after the other, with the same results.

Ctrl-C: the children ignore SIGINT; the parent, interrupted while it waits, ends every child
(SIGTERM), waits for it and raises ``KeyboardInterrupt``. A child whose parent died exits at its
next check (every half second), so no process outlives the command.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import pickle
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence


def fork_available() -> bool:
    """Whether processes can be forked here (POSIX with the ``fork`` start method)."""
    return "fork" in mp.get_all_start_methods()


def default_workers(n: int) -> int:
    """Processes for ``n`` items: one per item, up to the CPU count."""
    return max(1, min(n, os.cpu_count() or 1))


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _child(fn, item, conn, parent) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})   # blocked by the parent's fork
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    try:
        payload = ("ok", fn(item))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        payload = ("error", traceback.format_exc(limit=5))
    try:
        conn.send_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        conn.close()


def fork_map(fn: Callable, items: Sequence, *, workers: int,
             error: Callable[[str], BaseException] = RuntimeError) -> list:
    """``[fn(item) for item in items]``, computed in forked processes ``workers`` at a time.

    Parameters
    ----------
    fn : callable
        Takes one item; returns a picklable result.
    items : sequence
    workers : int
        Processes at a time; 1 runs the items here, one after the other.
    error : callable
        Builds the exception raised when a child fails, from its traceback text.

    Returns
    -------
    list
        The results, in the order of ``items``.

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C; every child process has ended.
    Exception
        ``error(message)`` when a child failed (its traceback in the message).
    """
    if (workers <= 1 or len(items) <= 1 or not fork_available()
            or mp.current_process().daemon):   # a daemon process may not have children
        return [fn(item) for item in items]
    import sys

    for stream in (sys.stdout, sys.stderr):  # a child flushes what it inherits: print it once
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    ctx = mp.get_context("fork")
    results: dict[int, object] = {}
    running: dict[int, tuple] = {}
    todo = list(enumerate(items))
    try:
        while todo or running:
            while todo and len(running) < workers:
                i, item = todo.pop(0)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, daemon=True,
                                   args=(fn, item, send, os.getpid()))
                # Ctrl-C waits until the child is in ``running``: one arriving between the fork
                # and that line would leave it out of the clean-up below, still running
                mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    with warnings.catch_warnings():
                        # Python warns that forking a multi-threaded process may deadlock; the
                        # child only computes its item and exits
                        warnings.simplefilter("ignore", DeprecationWarning)
                        proc.start()
                    send.close()
                    running[i] = (proc, recv)
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            ready = mp.connection.wait([recv for _, recv in running.values()])
            for i, (proc, recv) in list(running.items()):
                if recv in ready:
                    try:
                        status, value = pickle.loads(recv.recv_bytes())
                    except EOFError:
                        status, value = "error", (f"item {i}: the process ended without a "
                                                  f"result (exit code {proc.exitcode})")
                    recv.close()
                    proc.join()
                    del running[i]
                    if status != "ok":
                        raise error(f"a worker process failed:\n{value}")
                    results[i] = value
    finally:
        for proc, _ in running.values():
            proc.terminate()
        for proc, recv in running.values():
            proc.join()
            recv.close()
    return [results[i] for i in range(len(items))]
