"""The same sufficient-statistics queries on Apache Spark (PySpark), where the data lives.

bayeslab's queries are written once, in the SQL that DuckDB and Spark SQL share (double-quoted
identifiers, ``count(*) FILTER (WHERE ...)``, ``GROUP BY ALL``, ``TRY_CAST``), so a Spark table is
a :class:`~bayeslab.data.sources.Source` like any other: its ``con`` is a :class:`SparkConnection`
that runs those queries with ``spark.sql`` and returns rows as DuckDB's cursor does. Only the
grouped result (one row per arm, segment and look) comes back to Python.

A local session is started on first use (``local[*]``, small shuffle partitions, no UI); an
existing active session is used as it is. Spark needs Java 17 or later.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

from bayeslab.core.errors import BayeslabError, DataError
from bayeslab.data.table import Source, check_duplicate_columns

_view_ids = itertools.count()

#: Spark SQL type name -> the DuckDB type name the data layer reads
_TYPES = {"bigint": "BIGINT", "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT",
          "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "string": "VARCHAR",
          "date": "DATE", "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP"}

SESSION_CONF = {
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",  # "col" is a column, as in DuckDB
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
}


class SparkUnavailable(BayeslabError, ImportError):
    """PySpark is not installed: an ImportError naming the extra (one line in the CLI)."""


def java_missing() -> str | None:
    """Why Spark cannot start here (no Java), or ``None`` when a ``java`` is found."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return None
    if shutil.which("java"):
        return None
    return "Spark needs Java 17 or later: install a JDK (e.g. apt-get install openjdk-17-jre) " \
           "or set JAVA_HOME"


#: log4j2 configuration of a session bayeslab starts: errors only (no start-up warnings)
LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""


def spark_session(master: str = "local[*]", *, quiet: bool = True):
    """The active SparkSession, or a new local one configured for bayeslab's SQL.

    Parameters
    ----------
    master : str
        Spark master of a new session.
    quiet : bool
        Start a new session's JVM with log4j at ``ERROR`` and its own console output (the JVM's
        start-up notices) sent to a log file (:func:`spark_log`), so the command line prints only
        bayeslab's lines; a JVM that fails to start is reported with that file's last line. Query
        errors still reach Python as exceptions (one :class:`DataError` line).

    Raises
    ------
    SparkUnavailable
        An ImportError, if PySpark is not installed (``pip install 'bayeslab[spark]'``).
    DataError
        If no Java runtime is found, or the JVM does not start.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("the Spark engine needs PySpark: pip install 'bayeslab[spark]'") \
            from None
    _quiet_pandas_notice()
    active = SparkSession.getActiveSession()
    if active is not None:
        active.conf.set("spark.sql.ansi.doubleQuotedIdentifiers", "true")
        return active
    why = java_missing()
    if why:
        raise DataError(why)
    if quiet:
        _start_quiet_context(master)
    builder = SparkSession.builder.master(master).appName("bayeslab")
    for key, value in SESSION_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def spark_log() -> Path:
    """The file a quiet session's JVM writes its console output to (rewritten at each start)."""
    import tempfile

    return Path(tempfile.gettempdir()) / f"bayeslab-spark-{os.getuid()}.log"


def _start_quiet_context(master: str) -> None:
    """Start the SparkContext with log4j at ERROR and the JVM's stderr in :func:`spark_log`."""
    import tempfile

    from pyspark import SparkConf, SparkContext
    from pyspark.errors import PySparkRuntimeError
    from pyspark.java_gateway import launch_gateway

    if SparkContext._active_spark_context is not None:
        return
    config = Path(tempfile.gettempdir()) / f"bayeslab-log4j2-{os.getuid()}.properties"
    if not config.exists() or config.read_text() != LOG4J2:
        config.write_text(LOG4J2)
    conf = SparkConf().setMaster(master).setAppName("bayeslab")
    for key, value in SESSION_CONF.items():
        conf.set(key, value)
    option = f"-Dlog4j2.configurationFile=file:{config}"
    extra = conf.get("spark.driver.extraJavaOptions", "")
    conf.set("spark.driver.extraJavaOptions", f"{extra} {option}".strip())
    log = spark_log()
    with open(log, "wb") as out:
        try:
            gateway = launch_gateway(conf, popen_kwargs={"stdout": out, "stderr": out})
        except (PySparkRuntimeError, OSError) as exc:  # the JVM exited before it started
            lines = [t for t in log.read_text(errors="replace").splitlines() if t.strip()]
            last = lines[-1] if lines else str(exc)
            raise DataError(f"Spark did not start: {_first_line(last)} (JVM log: {log})") \
                from None
    SparkContext(conf=conf, gateway=gateway)


def _quiet_pandas_notice() -> None:
    """PySpark's notice about pandas 3 is not a problem of the readout: not shown."""
    import warnings

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)


def is_spark_frame(data) -> bool:
    """Whether ``data`` is a PySpark DataFrame (without importing PySpark)."""
    return type(data).__module__.startswith("pyspark.sql") and hasattr(data, "createTempView")


class _Cursor:
    """The rows of one Spark query, read like a DuckDB cursor."""

    def __init__(self, frame):
        self._frame = frame
        self.description = [(name, None) for name in frame.columns]
        self._rows = None

    def fetchall(self):
        if self._rows is None:
            self._rows = [tuple(r) for r in self._frame.collect()]
        return self._rows

    def fetchone(self):
        rows = self.fetchall()
        return rows[0] if rows else None

    def fetchnumpy(self):
        import numpy as np

        pdf = self._frame.toPandas()
        return {c: np.asarray(pdf[c]) for c in pdf.columns}


class SparkConnection:
    """Runs bayeslab's SQL on a SparkSession; engine errors become :class:`DataError`."""

    def __init__(self, session):
        self.session = session

    def execute(self, query: str, params=None):
        """Run one query (``?`` parameters bound positionally) and return a cursor."""
        from pyspark.errors import PySparkException

        try:
            frame = self.session.sql(query, args=list(params)) if params else \
                self.session.sql(query)
        except PySparkException as exc:
            raise DataError(f"Spark query failed: {_first_line(exc)}") from None
        return _Cursor(frame)


def _first_line(exc, limit=200) -> str:
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line if len(line) <= limit else line[:limit] + "..."


def open_spark(data, *, session=None):
    """A :class:`~bayeslab.data.sources.Source` over a Spark DataFrame, Parquet path or table.

    Parameters
    ----------
    data : pyspark.sql.DataFrame, str or pathlib.Path
        A Spark DataFrame; a Parquet file or folder (a path that exists, or a URI with a scheme
        such as ``s3a://``); otherwise the name of a table in the session's catalog.
    session : pyspark.sql.SparkSession, optional
        Defaults to :func:`spark_session`.

    Returns
    -------
    Source

    Raises
    ------
    DataError
        A path that is not Parquet, a table that does not exist, or no Java.
    """
    if is_spark_frame(data):
        session = session or data.sparkSession
        frame, label = data, "Spark DataFrame"
    else:
        session = session or spark_session()
        text = str(data)
        if Path(text).exists() or "://" in text:
            if Path(text).exists() and not (Path(text).is_dir() or
                                            text.lower().endswith((".parquet", ".pq"))):
                raise DataError(f"the Spark engine reads Parquet (a file, a folder or a table); "
                                f"{text} is not Parquet")
            frame, label = _read(session.read.parquet, text), text
        else:
            frame, label = _read(session.table, text), f"Spark table {text}"
    return _frame_source(session, frame, label)


def open_spark_sql(sql: str, *, session=None):
    """A :class:`~bayeslab.data.sources.Source` over one read-only Spark SQL ``SELECT``.

    The text is parsed by Spark as the subquery of ``SELECT * FROM (...)``, which admits exactly
    one query: several statements, or a statement that writes or configures (``INSERT``,
    ``CREATE``, ``SET``, ``DROP``), do not parse there, and nothing runs before that check.
    A query calling Java reflection (``reflect``, ``java_method``, ``try_reflect``: code run on
    the machine) is refused too, from the analyzed plan, before anything runs.

    Raises
    ------
    DataError
        If the text is not one ``SELECT`` (Spark's parser decides), or the query fails (a table
        or column that does not exist).
    """
    from pyspark.errors import AnalysisException, ParseException

    if not isinstance(sql, str):
        raise TypeError(f"sql must be a string, got {type(sql).__name__}")
    session = session or spark_session()
    query = sql.strip().rstrip(";").strip()
    try:
        frame = session.sql(f"SELECT * FROM (\n{query}\n) AS bayeslab_query")
    except ParseException as exc:
        raise DataError("SQL must be exactly one read-only SELECT statement (Spark SQL; a "
                        f"file is read as parquet.`PATH`): {_first_line(exc)}") from None
    except AnalysisException as exc:
        raise DataError(f"SQL query failed: {_first_line(exc)}") from None
    # a SELECT can still run code through Java reflection; the analyzed plan names every
    # function as Spark resolved it (backquotes, comments and case no longer matter there)
    called = _REFLECTION.search(frame._jdf.queryExecution().analyzed().toString())
    if called:
        raise DataError(f"SQL may not call {called.group(1)}(): it runs Java code on the "
                        "machine, and SQL from a user or a plan is one read-only query")
    return _frame_source(session, frame, "SQL query")


_REFLECTION = re.compile(r"\b(reflect|java_method|try_reflect)\(", re.IGNORECASE)


def spark_view(source, sql: str, label: str):
    """A Source over ``sql``, a query bayeslab built on ``source.relation`` (a Spark source)."""
    from pyspark.errors import PySparkException

    try:
        frame = source.con.session.sql(sql)
    except PySparkException as exc:
        raise DataError(f"Spark query failed: {_first_line(exc)}") from None
    return _frame_source(source.con.session, frame, label)


def _frame_source(session, frame, label: str):
    session.conf.set("spark.sql.ansi.doubleQuotedIdentifiers", "true")
    columns = [f.name for f in frame.schema.fields]
    check_duplicate_columns(columns, label)
    view = f"bayeslab_spark_{next(_view_ids)}"
    frame.createOrReplaceTempView(view)
    types = {f.name: _duck_type(f.dataType.simpleString()) for f in frame.schema.fields}
    return Source(con=SparkConnection(session), relation=view, label=label, columns=types,
                  engine="spark")


def _read(reader, target):
    from pyspark.errors import PySparkException

    try:
        return reader(target)
    except PySparkException as exc:
        raise DataError(f"cannot read {target} with Spark: {_first_line(exc)}") from None


def _duck_type(spark_type: str) -> str:
    if spark_type.startswith("decimal"):
        return spark_type.upper()
    return _TYPES.get(spark_type, spark_type.upper())
