"""The output folder of a plan run: checked first, staged beside it, moved into place at the end.

A run writes into a new hidden folder beside ``--out`` (:func:`staging_folder`, which fails at
once when ``--out`` cannot be written, before any computing) and :func:`publish` moves it into
place only after everything succeeded. A run that fails or is interrupted leaves ``--out`` as it
was. A rerun replaces the previous run's files, listed in the hidden manifest
``.bayeslab-run.json`` (for a folder from before manifests: ``readout.json``, the reports, the
posteriors and the figures of the metrics its ``readout.json`` names), so no stale figure of a
dropped metric remains; files that no run wrote stay untouched. A Ctrl-C during the move is held
until the move is done (:class:`DeferInterrupt`), so the folder is never half old, half new.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bayeslab.core.errors import DataError

MANIFEST = ".bayeslab-run.json"
# the figures a run writes, as METRIC_NAME.png (and lift_ARM for several treatment arms)
FIGURE_NAMES = ("intervals", "posteriors", "lift", "segments_intervals", "segments_forest",
                "segments_trace", "segments_rank", "segments_ppc", "love", "overlap", "effect",
                "trace")
_STAGING: set[Path] = set()  # staging folders of runs in progress, for discard_staging()


def discard_staging() -> None:
    """Remove every staging folder of a run in progress (the CLI's Ctrl-C handler calls this)."""
    for path in list(_STAGING):
        shutil.rmtree(path, ignore_errors=True)
        _STAGING.discard(path)


def release_staging(path: Path) -> None:
    """Remove one staging folder (what is left of it after :func:`publish`)."""
    _STAGING.discard(path)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)


def staging_folder(out: Path) -> Path:
    """A new hidden folder beside ``out``; a ``DataError`` now if ``out`` cannot be written."""
    import tempfile

    if out.exists() and not out.is_dir():
        raise DataError(f"output folder {out} exists and is not a folder; give a folder path")
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise DataError(f"output folder {out} is not writable")
    full = out.absolute()
    _remove_abandoned(full)
    try:
        full.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{full.name}.tmp-{os.getpid()}-",
                                        dir=full.parent))
    except OSError as exc:
        staging = None
        if out.is_dir():  # a writable folder in a read-only parent: stage inside it
            try:
                staging = Path(tempfile.mkdtemp(prefix=".bayeslab-run.tmp-", dir=out))
            except OSError:
                pass
        if staging is None:
            raise DataError(f"cannot write the output folder {out}: "
                            f"{exc.strerror or exc}") from None
    _STAGING.add(staging)
    return staging


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _remove_abandoned(full: Path) -> None:
    """Staging folders beside ``full`` left by a run that was killed (its process is gone).

    A staging folder is named ``.OUT.tmp-PID-XXXX``; one whose process no longer exists (kill
    -9, a crash, a power cut) is removed by the next run into the same folder. A folder of a run
    still in progress (its process alive) is left alone.
    """
    if not full.parent.is_dir():
        return
    for p in full.parent.glob(f".{full.name}.tmp-*"):
        pid = p.name[len(f".{full.name}.tmp-"):].split("-", 1)[0]
        if pid.isdigit() and p.is_dir() and not p.is_symlink() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _run_figure(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``name`` is a figure file a run writes for one of the metric ``prefixes``."""
    if not name.endswith(".png"):
        return False
    for prefix in prefixes:
        rest = name[len(prefix):-4] if name.startswith(prefix) else None
        if rest is not None and (rest in FIGURE_NAMES or rest.startswith("lift_")):
            return True
    return False


def previous_files(out: Path) -> set[str]:
    """Entries of ``out`` written by an earlier run (its manifest, else a run's known names)."""
    manifest = out / MANIFEST
    try:
        return set(json.loads(manifest.read_text())["files"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:  # a folder from before manifests: the fixed names and the figures of its metrics
        old = json.loads((out / "readout.json").read_text())
    except (OSError, ValueError):
        return set()
    if not isinstance(old, dict):
        return set()
    names = [m.get("metric") for m in old.get("metrics", []) if isinstance(m, dict)]
    for m in old.get("metrics", [])[:1]:
        names += [g.get("metric") for g in m.get("guardrails", []) if isinstance(g, dict)]
    prefixes = tuple(f"{n}_" for n in names if isinstance(n, str) and n)
    # only the names a run writes: a user's own METRIC_my_chart.png beside them stays
    figures = {p.name for p in out.glob("*.png")
               if _run_figure(p.name, prefixes) or p.name == "sequential_path.png"}
    return figures | {"readout.json", "report.html", "report.md", "posteriors"}


def publish(staging: Path, out: Path) -> None:
    """Move the finished run from ``staging`` into ``out``; drop the previous run's files."""
    entries = sorted(p.name for p in staging.iterdir())
    (staging / MANIFEST).write_text(json.dumps({"files": entries}, indent=1))
    with DeferInterrupt():  # a Ctrl-C now would leave half a folder: finish, then raise
        if not out.exists():
            os.replace(staging, out)
        else:
            replace_entries(entries, staging, out)


def replace_entries(entries: list[str], staging: Path, out: Path) -> None:
    """Move ``entries`` of ``staging`` into the existing ``out``, dropping the previous run's."""
    for name in previous_files(out) - set(entries):
        target = out / name
        if target.parent != out or name in ("", ".", ".."):
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
    for name in [*entries, MANIFEST]:
        target = out / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(staging / name, target)


class DeferInterrupt:
    """Hold a Ctrl-C (SIGINT) until the block ends, then raise it (main thread only)."""

    def __enter__(self):
        import signal
        import threading

        self.caught, self.old = False, None
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum, frame):
        self.caught = True

    def __exit__(self, *exc):
        import signal

        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        if self.caught and exc[0] is None:
            raise KeyboardInterrupt
        return False
