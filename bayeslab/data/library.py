"""The experiment library: past experiments' estimates in one DuckDB file the user names (issue 25).

A prior learned from your own history needs that history: one row per experiment, metric and
treatment arm, with the estimate and its standard error on the absolute and the relative scale and
whether the variant shipped. :class:`ExperimentLibrary` keeps those rows in an embedded DuckDB
file. Nothing is written unless a library path is named (``bayeslab run --library PATH``,
``library = "..."`` in a plan, ``bayeslab library import FILE.csv --library PATH``); the file is
created on the first write.

Schema (version :data:`SCHEMA_VERSION`)
---------------------------------------
Table ``meta`` (``key``, ``value``, both text) holds ``schema_version`` (``"1"``) and
``created_by`` (``"bayeslab"``). Table ``experiments`` has one row per (``experiment_id``,
``metric``, ``arm``), its primary key:

=================  =========  ==============================================================
``experiment``     text       experiment name (the plan's ``[experiment] name``, the CSV's
                              ``name``)
``experiment_id``  text       a run: SHA-256 (16 hex digits) of the plan file's content and
                              the data's identity; an import: of the experiment's name
``plan_hash``      text       SHA-256 of the plan file, as ``sha256sum`` prints it (imports:
                              NULL)
``run_at``         timestamp  when the row was written (UTC)
``start_date``,    date       when the experiment ran, where known (NULL otherwise)
``end_date``
``metric``         text       metric name
``role``           text       ``primary``, ``secondary`` or ``guardrail`` (imports: NULL)
``kind``, ``unit`` text       metric kind (``conversion``, ``continuous``, ...) and unit of the
                              absolute effect (NULL when unknown)
``effect_scale``   text       ``absolute`` or ``relative``: the scale the decision read (a
                              run) or the scale the CSV's numbers are on (an import)
``arm``,           text       treatment arm and control arm labels
``control``
``estimate_abs``,  double     treatment minus control and its standard error (NULL when not
``se_abs``                    known: an import on the relative scale)
``estimate_rel``,  double     treatment over control minus one and its standard error (NULL
``se_rel``                    when not known)
``n_control``,     bigint     units per arm (NULL when not known)
``n_treatment``
``verdict``        text       the readout's decision about this arm (``ship``, ``do not
                              ship``, ``inconclusive``, ``hold``, ``blocked``; guardrails
                              ``pass`` / ``fail``), NULL where it is about another arm
``shipped``        boolean    whether this arm shipped
``source``         text       ``run`` or ``import``
``imported_from``  text       the CSV file an imported row came from (runs: NULL)
=================  =========  ==============================================================

Writing
-------
Every write is one transaction: a row whose key is already there is replaced, so writing the same
run (or importing the same file) twice keeps one row per key. DuckDB lets one process at a time
open a file for writing; a second process meeting the lock waits and retries with a growing,
jittered pause, for at most ``timeout`` seconds (30 by default), then raises one
:class:`~bayeslab.core.errors.DataError`. A process stopped mid-write leaves the last committed
state (DuckDB's write-ahead log), never a half-written row.

A file that is not a DuckDB database, a DuckDB database that is not a bayeslab library (no
``meta`` table) or a library of another schema version is refused with one line naming the path
and what was found; an empty DuckDB database (no tables) becomes a library on the first write.
"""

from __future__ import annotations

import datetime as _dt
import math
import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bayeslab.core.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1
TABLE = "experiments"
SCALES = ("absolute", "relative")
SOURCES = ("run", "import")
#: the natural key: writing a row with the same key replaces the earlier row
KEY = ("experiment_id", "metric", "arm")
#: seconds a writer waits for another process's lock before giving up
DEFAULT_TIMEOUT = 30.0

#: column name and DuckDB type, in table order (documented in the module docstring)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("experiment", "VARCHAR NOT NULL"),
    ("experiment_id", "VARCHAR NOT NULL"),
    ("plan_hash", "VARCHAR"),
    ("run_at", "TIMESTAMP NOT NULL"),
    ("start_date", "DATE"),
    ("end_date", "DATE"),
    ("metric", "VARCHAR NOT NULL"),
    ("role", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("unit", "VARCHAR"),
    ("effect_scale", "VARCHAR NOT NULL CHECK (effect_scale IN ('absolute', 'relative'))"),
    ("arm", "VARCHAR NOT NULL"),
    ("control", "VARCHAR"),
    ("estimate_abs", "DOUBLE"),
    ("se_abs", "DOUBLE"),
    ("estimate_rel", "DOUBLE"),
    ("se_rel", "DOUBLE"),
    ("n_control", "BIGINT"),
    ("n_treatment", "BIGINT"),
    ("verdict", "VARCHAR"),
    ("shipped", "BOOLEAN NOT NULL"),
    ("source", "VARCHAR NOT NULL CHECK (source IN ('run', 'import'))"),
    ("imported_from", "VARCHAR"),
)
NAMES = tuple(name for name, _ in COLUMNS)
_REQUIRED = ("experiment", "experiment_id", "metric", "arm", "effect_scale", "shipped")
_TEXT = ("experiment", "experiment_id", "plan_hash", "metric", "role", "kind", "unit", "arm",
         "control", "verdict", "imported_from")
# no network: a SQLite or other file must not make DuckDB fetch a reader extension to open it
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False, "autoload_known_extensions": False}
_LOCKED = "could not set lock"


@dataclass(frozen=True)
class LibraryWrite:
    """What one write did: every row given is either added or replaced (or the write failed).

    Attributes
    ----------
    path : str
        The library file.
    read : int
        Rows given (rows of the CSV for an import).
    added : int
        Rows whose key was new.
    replaced : int
        Rows that replaced an earlier row with the same key.
    """

    path: str
    read: int
    added: int
    replaced: int

    def sentence(self) -> str:
        """One line: ``"12 rows read: 10 added, 2 replaced in lib.duckdb"``."""
        return (f"{self.read:,} {'row' if self.read == 1 else 'rows'} read: {self.added:,} "
                f"added, {self.replaced:,} replaced in {self.path}")

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"library": self.path, "read": self.read, "added": self.added,
                "replaced": self.replaced}


class ExperimentLibrary:
    """Past experiments' estimates in a DuckDB file (see the module docstring for the schema).

    Creating the object touches nothing; the file is opened for each call and closed after it,
    so other processes can write between calls.

    Parameters
    ----------
    path : str or pathlib.Path
        The library file; created by the first write (its folder must exist).
    timeout : float, default 30
        Seconds to wait for another process's lock on the file before raising.

    Examples
    --------
    >>> lib = ExperimentLibrary("experiments.duckdb")          # doctest: +SKIP
    >>> lib.import_csv("examples/past_experiments.csv").sentence()  # doctest: +SKIP
    '48 rows read: 48 added, 0 replaced in experiments.duckdb'
    >>> lib.history("conversion", scale="relative")            # doctest: +SKIP
    """

    def __init__(self, path, *, timeout: float = DEFAULT_TIMEOUT):
        self.path = Path(path)
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout >= 0):
            raise DataError(f"library timeout must be a number of seconds >= 0, got {timeout!r}")
        self.timeout = float(timeout)

    def __repr__(self) -> str:
        return f"ExperimentLibrary({str(self.path)!r})"

    # ----------------------------------------------------------------- writing
    def append(self, rows: Iterable[dict]) -> LibraryWrite:
        """Write ``rows`` in one transaction; a row whose key is already there replaces it.

        Parameters
        ----------
        rows : iterable of dict
            One dict per (experiment, metric, arm), keyed by the column names of the schema.
            Required: ``experiment``, ``experiment_id``, ``metric``, ``arm``, ``effect_scale``,
            ``shipped`` and an estimate with its standard error on at least one scale
            (``estimate_abs`` and ``se_abs``, or ``estimate_rel`` and ``se_rel``). ``source``
            defaults to ``"run"``, ``run_at`` to now (UTC); other columns to NULL.

        Returns
        -------
        LibraryWrite
            Rows given, added and replaced.

        Raises
        ------
        DataError
            A row with an unknown key, a missing or bad value (naming the row and the key), two
            rows with the same key, or a file that cannot be used (see :meth:`check`).
        """
        prepared = [_prepare(i, dict(row)) for i, row in enumerate(rows, start=1)]
        _check_unique_keys(prepared)
        if not prepared:
            return LibraryWrite(str(self.path), 0, 0, 0)
        with self._open(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                existing = _existing_keys(con, prepared)
                placeholders = ", ".join("?" * len(NAMES))
                con.executemany(
                    f"INSERT OR REPLACE INTO {TABLE} ({', '.join(NAMES)}) "
                    f"VALUES ({placeholders})",
                    [[row[name] for name in NAMES] for row in prepared])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        replaced = sum(tuple(row[k] for k in KEY) in existing for row in prepared)
        return LibraryWrite(str(self.path), len(prepared), len(prepared) - replaced, replaced)

    def import_csv(self, path, *, scale: str = "absolute") -> LibraryWrite:
        """Add past experiments from another tool's CSV (format: :mod:`.library_csv`).

        The whole file is checked first: one bad row refuses the file, and nothing is written.

        Parameters
        ----------
        path : str or pathlib.Path
            The CSV file.
        scale : {"absolute", "relative"}, default "absolute"
            Scale of ``estimate`` and ``se`` in rows without a ``scale`` column value.

        Returns
        -------
        LibraryWrite
            Rows read, added and replaced (a re-import of the same file replaces its rows).

        Raises
        ------
        DataError
            A missing or unknown column, bad values (naming the column and the rows), or a file
            that cannot be used as a library.
        """
        from bayeslab.data.library_csv import read_past_experiments

        return self.append(read_past_experiments(path, scale=scale))

    # ----------------------------------------------------------------- reading
    def rows(self, metric: str | None = None) -> pd.DataFrame:
        """Every row (of one ``metric`` when given), oldest first: a DataFrame of the schema.

        Raises
        ------
        DataError
            No library at the path, or a file that is not one.
        """
        where, params = ("WHERE metric = ?", [metric]) if metric is not None else ("", [])
        return self._frame(f"SELECT {', '.join(NAMES)} FROM {TABLE} {where} "
                           "ORDER BY run_at, experiment, metric, arm", params)

    def history(self, metric: str, scale: str = "absolute") -> pd.DataFrame:
        """One metric's past effects on one scale, the input of a prior learned from history.

        Parameters
        ----------
        metric : str
        scale : {"absolute", "relative"}
            ``estimate`` and ``se`` are ``estimate_abs`` / ``se_abs`` or the relative pair;
            rows without an estimate on that scale are left out.

        Returns
        -------
        pandas.DataFrame
            Columns ``experiment``, ``experiment_id``, ``arm``, ``estimate``, ``se``,
            ``shipped``, ``verdict``, ``n_control``, ``n_treatment``, ``kind``, ``unit``,
            ``role``, ``source``, ``end_date``, ``run_at``; oldest first.
        """
        if scale not in SCALES:
            raise DataError(f"scale must be 'absolute' or 'relative', got {scale!r}")
        sfx = "abs" if scale == "absolute" else "rel"
        return self._frame(
            f"SELECT experiment, experiment_id, arm, estimate_{sfx} AS estimate, se_{sfx} AS se, "
            "shipped, verdict, n_control, n_treatment, kind, unit, role, source, end_date, "
            f"run_at FROM {TABLE} WHERE metric = ? AND estimate_{sfx} IS NOT NULL "
            "ORDER BY run_at, experiment, arm", [metric])

    def summary(self) -> pd.DataFrame:
        """One row per metric: experiments, rows, shipped arms, rows with each scale's estimate."""
        return self._frame(
            "SELECT metric, count(DISTINCT experiment_id) AS experiments, count(*) AS rows, "
            "count(*) FILTER (WHERE shipped) AS shipped, count(estimate_abs) AS absolute, "
            f"count(estimate_rel) AS relative FROM {TABLE} GROUP BY metric ORDER BY metric", [])

    def schema_version(self) -> int:
        """The file's schema version (raises if there is no library at the path)."""
        with self._open(write=False) as con:
            return SCHEMA_VERSION if con is None else _version(con, self.path)

    def check(self) -> None:
        """Raise :class:`DataError` unless the path holds a usable library (read only)."""
        with self._open(write=False):
            pass

    # ----------------------------------------------------------------- the file
    def _frame(self, sql: str, params: list) -> pd.DataFrame:
        with self._open(write=False) as con:
            if con is None:                     # an empty DuckDB file: no rows yet
                import duckdb

                with duckdb.connect(config=_CONFIG) as mem:
                    _create(mem)
                    return mem.execute(sql, params).df()
            return con.execute(sql, params).df()

    @contextmanager
    def _open(self, *, write: bool) -> Iterator[Any]:
        """A checked connection, closed after; ``None`` for an empty DuckDB file read only."""
        path = self.path
        if path.is_dir():
            raise DataError(f"library {path} is a folder; name a file, e.g. "
                            f"{path / 'experiments.duckdb'}")
        if not path.exists():
            if not write:
                raise DataError(f"no experiment library at {path}: write one with 'bayeslab "
                                "run PLAN --library PATH' or 'bayeslab library import FILE.csv "
                                "--library PATH'")
            if not path.parent.is_dir():
                raise DataError(f"cannot create the experiment library {path}: folder "
                                f"{path.parent} does not exist")
        con = self._connect(write)
        try:
            tables = _tables(con)
            if not tables:
                if not write:
                    yield None
                    return
                _initialize(con)
            else:
                _check_schema(con, path, tables)
            yield con
        finally:
            con.close()

    def _connect(self, write: bool):
        import duckdb

        deadline = time.monotonic() + self.timeout
        pause = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=not write, config=_CONFIG)
            except duckdb.Error as exc:
                if _LOCKED not in str(exc).lower():
                    raise DataError(_unusable(self.path, exc)) from None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DataError(
                        f"experiment library {self.path} stayed locked by another process for "
                        f"{self.timeout:g} s; try again when it has finished") from None
                time.sleep(min(left, pause * (0.5 + random.random())))
                pause = min(pause * 2, 0.5)


# --------------------------------------------------------------------- schema
def _tables(con) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "ORDER BY table_name").fetchall()]


def _create(con) -> None:
    columns = ", ".join(f"{name} {typ}" for name, typ in COLUMNS)
    con.execute(f"CREATE TABLE {TABLE} ({columns}, PRIMARY KEY ({', '.join(KEY)}))")


def _initialize(con) -> None:
    """Create ``meta`` and ``experiments`` in one transaction (another process waits meanwhile)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        con.execute("INSERT INTO meta VALUES ('schema_version', ?), ('created_by', 'bayeslab')",
                    [str(SCHEMA_VERSION)])
        _create(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _version(con, path: Path) -> int:
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0])
    except (TypeError, ValueError):
        found = "no schema_version" if row is None else f"schema_version {row[0]!r}"
        raise DataError(f"{path} is not a bayeslab experiment library: its meta table has "
                        f"{found}") from None


def _check_schema(con, path: Path, tables: list[str]) -> None:
    if "meta" not in tables:
        raise DataError(f"{path} is a DuckDB database but not a bayeslab experiment library: "
                        f"no table 'meta' (it has {_listed(tables)}); name another file")
    import duckdb

    try:
        version = _version(con, path)
    except duckdb.Error:
        raise DataError(f"{path} is a DuckDB database but not a bayeslab experiment library: "
                        "its table 'meta' has no key/value columns") from None
    if version != SCHEMA_VERSION:
        newer = "upgrade bayeslab" if version > SCHEMA_VERSION else "it predates this format"
        raise DataError(f"{path} is an experiment library of schema version {version}; this "
                        f"bayeslab reads version {SCHEMA_VERSION} ({newer})")
    found = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND table_name = ? ORDER BY column_index", [TABLE]).fetchall()]
    if tuple(found) != NAMES:
        what = "no table 'experiments'" if not found else "columns that differ from version 1"
        raise DataError(f"{path} says schema version {SCHEMA_VERSION} but has {what}; the file "
                        "was changed outside bayeslab")


def _listed(tables: list[str]) -> str:
    shown = ", ".join(repr(t) for t in tables[:5])
    more = f" and {len(tables) - 5} more" if len(tables) > 5 else ""
    return f"{'table' if len(tables) == 1 else 'tables'} {shown}{more}"


def _unusable(path: Path, exc: Exception) -> str:
    """The one line for a file DuckDB cannot open: what the file is, from its first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as err:
        return f"cannot open the experiment library {path}: {err.strerror or err}"
    if head[8:12] == b"DUCK":
        first = " ".join(str(exc).split())[:200]
        return f"cannot open the experiment library {path} (a DuckDB file): {first}"
    if not head:
        what = "an empty file"
    elif head.startswith(b"SQLite format 3"):
        what = "a SQLite database"
    elif head.startswith(b"PAR1"):
        what = "a Parquet file"
    else:
        what = "a file of another format"
    return (f"{path} is not an experiment library: it is {what}, not a DuckDB database; name a "
            "new file (created on the first write) or an existing library")


# --------------------------------------------------------------------- rows
def _prepare(number: int, row: dict) -> dict:
    """A row checked and completed with the defaults; ``DataError`` naming the row and key."""
    where = f"library row {number}"
    unknown = sorted(set(row) - set(NAMES))
    if unknown:
        raise DataError(f"{where}: unknown key {unknown[0]!r} (the columns are: "
                        f"{', '.join(NAMES)})", column=unknown[0])
    out: dict[str, Any] = dict.fromkeys(NAMES)
    out.update(row)
    out["source"] = out["source"] or "run"
    out["run_at"] = out["run_at"] or _dt.datetime.now(_dt.UTC).replace(tzinfo=None)
    for name in _REQUIRED:
        if out[name] is None or (isinstance(out[name], str) and not out[name].strip()):
            raise DataError(f"{where}: {name!r} is missing", column=name)
    for name in _TEXT:
        if out[name] is not None and not isinstance(out[name], str):
            out[name] = str(out[name])
    if out["effect_scale"] not in SCALES:
        raise DataError(f"{where}: effect_scale must be 'absolute' or 'relative', got "
                        f"{out['effect_scale']!r}", column="effect_scale")
    if out["source"] not in SOURCES:
        raise DataError(f"{where}: source must be 'run' or 'import', got {out['source']!r}",
                        column="source")
    if not isinstance(out["shipped"], bool):
        raise DataError(f"{where}: shipped must be True or False, got {out['shipped']!r}",
                        column="shipped")
    pairs = 0
    for est, se in (("estimate_abs", "se_abs"), ("estimate_rel", "se_rel")):
        if (out[est] is None) != (out[se] is None):
            raise DataError(f"{where}: {est} and {se} come together (one is missing)",
                            column=se)
        if out[est] is None:
            continue
        pairs += 1
        for name in (est, se):
            out[name] = _finite(out[name], where, name)
        if not out[se] > 0:
            raise DataError(f"{where}: {se} must be positive, got {out[se]!r}", column=se)
    if not pairs:
        raise DataError(f"{where}: no estimate: give estimate_abs and se_abs, or estimate_rel "
                        "and se_rel", column="estimate_abs")
    for name in ("n_control", "n_treatment"):
        if out[name] is not None:
            value = out[name]
            if isinstance(value, bool) or not float(value).is_integer() or value < 0:
                raise DataError(f"{where}: {name} must be a whole number >= 0, got {value!r}",
                                column=name)
            out[name] = int(value)
    for name in ("start_date", "end_date"):
        if isinstance(out[name], str):
            try:
                out[name] = _dt.date.fromisoformat(out[name])
            except ValueError:
                raise DataError(f"{where}: {name} must be a date YYYY-MM-DD, got "
                                f"{out[name]!r}", column=name) from None
    return out


def _finite(value, where: str, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise DataError(f"{where}: {name} must be a finite number, got {value!r}", column=name)
    return number


def _check_unique_keys(rows: list[dict]) -> None:
    seen: dict[tuple, int] = {}
    for number, row in enumerate(rows, start=1):
        key = tuple(row[k] for k in KEY)
        if key in seen:
            raise DataError(f"library rows {seen[key]} and {number} have the same key "
                            f"(experiment_id {key[0]!r}, metric {key[1]!r}, arm {key[2]!r})")
        seen[key] = number


def _existing_keys(con, rows: list[dict]) -> set[tuple]:
    ids = sorted({row["experiment_id"] for row in rows})
    found = con.execute(f"SELECT {', '.join(KEY)} FROM {TABLE} WHERE experiment_id IN "
                        f"({', '.join('?' * len(ids))})", ids).fetchall()
    return {tuple(r) for r in found}
