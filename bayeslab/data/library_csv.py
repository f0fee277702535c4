"""Past experiments from another tool: the CSV that ``bayeslab library import`` reads (issue 25).

One row per experiment, metric and treatment arm; a header names the columns (any order, names
case-insensitive; comma, semicolon, tab or ``|`` separated; UTF-8).

Required columns
----------------
``name``       the experiment's name (rows of one experiment share it)
``metric``     the metric's name (match the plan's metric name to use it as a prior there)
``estimate``   the effect, treatment minus control (``scale = absolute``) or treatment over
               control minus one (``scale = relative``, above -1)
``se``         its standard error, positive
``shipped``    whether the variant shipped: ``true`` / ``false`` (also ``yes`` / ``no``,
               ``1`` / ``0``)

Optional columns (empty cells mean unknown)
-------------------------------------------
``scale``        ``absolute`` or ``relative``: the scale of ``estimate`` and ``se``. Without the
                 column (or in an empty cell) the import's ``scale`` argument applies
                 (``--scale``, default ``absolute``: a rate's effect as a difference of rates,
                 0.004 for +0.4 percentage points)
``arm``          treatment arm label (default ``treatment``); ``control``: control arm label
``kind``         metric kind, as bayeslab names it (``conversion``, ``continuous``, ...)
``unit``         unit of the absolute effect (EUR, minutes)
``n_control``, ``n_treatment``   units per arm, whole numbers
``date``         when the experiment ended (YYYY-MM-DD); or ``start_date`` and ``end_date``
``verdict``      the other tool's decision, as text

Every row is accounted for: the file is refused (nothing written) when any row is bad, with one
line naming each bad column and its first rows (counting data rows from 1, the header not
counted). Two rows with the same ``name``, ``metric`` and ``arm`` are refused too. An imported
experiment's id is a hash of its name, so importing the same file again replaces its rows.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import math
from pathlib import Path

from bayeslab.core import kinds
from bayeslab.core.errors import DataError

REQUIRED = ("name", "metric", "estimate", "se", "shipped")
OPTIONAL = ("scale", "arm", "control", "kind", "unit", "n_control", "n_treatment", "date",
            "start_date", "end_date", "verdict")
DEFAULT_ARM = "treatment"
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_SHOWN_ROWS = 5


def import_id(name: str) -> str:
    """The experiment id of an imported experiment: SHA-256 of its name, 16 hex digits."""
    return hashlib.sha256(f"import\0{name}".encode()).hexdigest()[:16]


def read_past_experiments(path, *, scale: str = "absolute") -> list[dict]:
    """The rows of a past-experiments CSV, checked, as :meth:`ExperimentLibrary.append` takes them.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file (format in the module docstring).
    scale : {"absolute", "relative"}, default "absolute"
        Scale of rows without a ``scale`` value.

    Returns
    -------
    list of dict
        One library row per CSV row, in file order (``source = "import"``).

    Raises
    ------
    DataError
        An unreadable file, a missing or unknown column, or bad values: one line naming each
        bad column and its first rows.
    """
    if scale not in ("absolute", "relative"):
        raise DataError(f"scale must be 'absolute' or 'relative', got {scale!r}")
    path = Path(path)
    header, records = _read(path)
    problems: dict[tuple[str, str], list[int]] = {}

    def bad(column: str, problem: str, row: int) -> None:
        problems.setdefault((column, problem), []).append(row)

    run_at = _dt.datetime.now(_dt.UTC).replace(tzinfo=None)
    out: list[dict] = []
    keys: dict[tuple, int] = {}
    for number, rec in enumerate(records, start=1):
        cell = {name: (rec[i].strip() if i < len(rec) else "") for i, name in enumerate(header)}
        get = cell.get
        for name in ("name", "metric"):
            if not get(name):
                bad(name, "is empty", number)
        row_scale = (get("scale") or scale).lower()
        if row_scale not in ("absolute", "relative"):
            bad("scale", "must be 'absolute' or 'relative'", number)
        estimate = _number(get("estimate"))
        if estimate is None:
            bad("estimate", "must be a finite number", number)
        elif row_scale == "relative" and not estimate > -1:
            bad("estimate", "must be above -1 on the relative scale (a ratio minus one)", number)
        se = _number(get("se"))
        if se is None or not se > 0:
            bad("se", "must be a positive number", number)
        shipped = _flag(get("shipped"))
        if shipped is None:
            bad("shipped", "must be true or false (yes / no, 1 / 0)", number)
        kind = (get("kind") or "").lower() or None
        if kind is not None and kind not in kinds.names():
            bad("kind", f"must be one of {', '.join(kinds.names())}", number)
        counts = {}
        for name in ("n_control", "n_treatment"):
            text = get(name)
            counts[name] = _count(text) if text else None
            if text and counts[name] is None:
                bad(name, "must be a whole number >= 0", number)
        dates = {}
        for name, column in (("start_date", "start_date"), ("end_date", "end_date"),
                             ("end_date", "date")):
            text = get(column)
            if not text:
                continue
            try:
                dates[name] = _dt.date.fromisoformat(text)
            except ValueError:
                bad(column, "must be a date YYYY-MM-DD", number)
        arm = get("arm") or DEFAULT_ARM
        key = (get("name"), get("metric"), arm)
        if key in keys:
            bad("name", "repeats the name, metric and arm of an earlier row", number)
        keys.setdefault(key, number)
        if problems:
            continue
        sfx = "abs" if row_scale == "absolute" else "rel"
        out.append({
            "experiment": get("name"), "experiment_id": import_id(get("name") or ""),
            "run_at": run_at, "start_date": dates.get("start_date"),
            "end_date": dates.get("end_date"), "metric": get("metric"), "kind": kind,
            "unit": get("unit") or None, "effect_scale": row_scale, "arm": arm,
            "control": get("control") or None, f"estimate_{sfx}": estimate, f"se_{sfx}": se,
            **counts, "verdict": get("verdict") or None, "shipped": shipped,
            "source": "import", "imported_from": str(path.resolve()),
        })
    if problems:
        raise DataError(f"{path}: " + "; ".join(
            f"column {column!r} {problem}: {_rows_text(rows)}"
            for (column, problem), rows in problems.items()) + "; nothing was imported",
            column=next(iter(problems))[0], rows=sum(map(len, problems.values())))
    return out


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header (lower-case names) and the non-blank records; the columns checked."""
    if path.is_dir():
        raise DataError(f"{path} is a folder; name the CSV file of past experiments")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise DataError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save the CSV as UTF-8") from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t", "|"), key=first.count)
    try:
        records = [r for r in csv.reader(text.splitlines(), delimiter=delimiter) if any(
            c.strip() for c in r)]
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV: {exc}") from None
    if not records:
        raise DataError(f"{path} is empty: it needs a header with the columns "
                        f"{', '.join(REQUIRED)}")
    header = [h.strip().lower() for h in records[0]]
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: column {name!r} appears twice in the header",
                            column=name)
        seen.add(name)
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        raise DataError(f"{path}: missing {'column' if len(missing) == 1 else 'columns'} "
                        f"{', '.join(map(repr, missing))} (required: {', '.join(REQUIRED)})",
                        column=missing[0])
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise DataError(f"{path}: unknown column {unknown[0]!r} (known: "
                        f"{', '.join(REQUIRED + OPTIONAL)}); rename or remove it",
                        column=unknown[0])
    if "date" in seen and "end_date" in seen:
        raise DataError(f"{path}: columns 'date' and 'end_date' mean the same; keep one",
                        column="date")
    body = records[1:]
    ragged = [i for i, r in enumerate(body, start=1) if len(r) != len(header)]
    if ragged:
        raise DataError(f"{path}: {_rows_text(ragged)} have a number of fields other than the "
                        f"header's {len(header)}; fix them, or quote a value that holds the "
                        "delimiter", rows=len(ragged))
    return header, body


def _rows_text(rows: list[int]) -> str:
    """``"2 rows (row 4, 17, counting from 1)"``, the first few rows named."""
    first = ", ".join(map(str, rows[:_SHOWN_ROWS])) + (", ..." if len(rows) > _SHOWN_ROWS
                                                       else "")
    return f"{len(rows):,} {'row' if len(rows) == 1 else 'rows'} (row {first}, counting from 1)"


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _count(text: str) -> int | None:
    value = _number(text)
    if value is None or value < 0 or not value.is_integer():
        return None
    return int(value)


def _flag(text: str | None) -> bool | None:
    word = (text or "").lower()
    return True if word in _TRUE else False if word in _FALSE else None
