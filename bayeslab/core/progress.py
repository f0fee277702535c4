"""Progress for long work: a tqdm bar, or one timed line per stage, on a terminal only.

Bars and stage lines go to stderr, and only when it is a terminal (or when asked): a pipe, a
test or ``--quiet`` stays silent. Sampling shows nutpie's (or PyMC's) own progress; simulations
over thousands of experiments (operating characteristics, A/A) use :func:`bar`; ``bayeslab run``
prints one line per stage with :func:`stage`.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator


def enabled(show: bool | None = None) -> bool:
    """``show``, or by default whether stderr is a terminal."""
    if show is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(show)


def bar(iterable: Iterable, *, total: int | None = None, desc: str | None = None,
        show: bool | None = None, unit: str = "it") -> Iterable:
    """Wrap ``iterable`` in a tqdm bar on stderr when :func:`enabled`, else return it as is."""
    if not enabled(show):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                dynamic_ncols=True)


@contextlib.contextmanager
def stage(name: str, *, show: bool | None = None, stream=None) -> Iterator[dict]:
    """Time a stage: ``name ...`` when it starts, ``name  1.2 s`` when it ends (when shown).

    The start line means a long compile or a slow figure is never a silent gap; each line ends
    with a newline, so a progress bar drawn in between never glues to it. The yielded dict may
    get a ``"note"`` entry, printed after the time.
    """
    info: dict = {}
    shown = enabled(show)
    out = stream or sys.stderr
    if shown:
        print(f"  {name:<28}    ...", file=out, flush=True)
    t0 = time.perf_counter()
    yield info
    if shown:
        note = f"  ({info['note']})" if info.get("note") else ""
        print(f"  {name:<28} {time.perf_counter() - t0:6.1f} s{note}", file=out, flush=True)


def end_bar(shown: bool) -> None:
    """End a sampler's progress bar with a newline, so the next line starts on its own."""
    if shown:
        print(file=sys.stderr, flush=True)


def show_progress(progressbar: bool | None) -> bool:
    """Show a progress bar only when asked, or by default when stderr is a terminal."""
    if progressbar is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progressbar)
