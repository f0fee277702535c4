"""Timing helper shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""

import time


def best_of(fn, repeat=5):
    """Smallest wall time of ``repeat`` calls of ``fn`` (seconds)."""
    return timed_best_of(fn, repeat)[0]


def timed_best_of(fn, repeat=3):
    """``(smallest wall time, last result)`` of ``repeat`` calls of ``fn``."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out
