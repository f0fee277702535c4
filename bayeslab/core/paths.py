"""File names derived from data (metric and segment names), confined to an output folder.

A metric is named by whoever wrote the data or the plan, so ``../../x``, ``/etc/cron.d/x`` or a
name with a NUL byte must not become a path outside the folder a command was told to write to
(issue 14). Every file name built from data goes through :func:`safe_filename`, and every path
through :func:`confined`; nothing else in the package joins a data-derived name to a folder.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from bayeslab.core.errors import DataError

_UNSAFE = re.compile(r"[^\w.-]+")  # \w: letters and digits of any script, and "_"
_DOTS = re.compile(r"\.{2,}")
_MAX_BYTES = 150


def safe_filename(name: str) -> str:
    """A file name (no folder part) that stands for ``name``.

    Letters, digits, ``_``, ``-`` and single dots are kept; any other run of characters (path
    separators, ``..``, spaces, control characters) becomes ``_`` and leading dots are dropped.
    When anything was changed (or cut), eight hex digits of the SHA-1 of ``name`` are appended,
    so two different names never share a file (``a/b`` and ``a_b``). At most 150 bytes (UTF-8).

    Examples
    --------
    >>> safe_filename("conversion_posteriors")
    'conversion_posteriors'
    >>> safe_filename("../../x_lift")
    '_x_lift-5605cf89'
    """
    text = str(name)
    clean = _DOTS.sub("_", _UNSAFE.sub("_", text))
    clean = re.sub(r"_{2,}", "_", clean).lstrip(".")
    if clean and clean == text and len(clean.encode("utf-8")) <= _MAX_BYTES:
        return clean
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    while len(clean.encode("utf-8")) > _MAX_BYTES - 9:
        clean = clean[:-1]
    return f"{clean or 'unnamed'}-{digest}"


def confined(folder, name: str, suffix: str = "") -> Path:
    """``folder / (safe_filename(name) + suffix)``, checked to lie inside ``folder``.

    Raises
    ------
    DataError
        If the result would leave ``folder`` (cannot happen for a sanitised name; the check
        guards against a future caller passing a suffix with a separator).
    """
    folder = Path(folder)
    path = folder / f"{safe_filename(name)}{suffix}"
    root = folder.resolve()
    if path.resolve().parent != root:
        raise DataError(f"refusing to write {path}: outside the output folder {folder}")
    return path
