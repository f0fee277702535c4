"""What a query may read: one read-only SELECT, on a database locked to the files it names.

Every :class:`~bayeslab.data.sources.Source` opened without a connection of the caller's gets
its own in-memory DuckDB whose file access is limited (``allowed_paths``,
``allowed_directories``) to the file, the Parquet folder, or the files an SQL query names, with
``enable_external_access`` off and the configuration locked, so a query can neither read other
files nor write any. SQL from a user or a plan must be exactly one ``SELECT``, as DuckDB's own
parser (``extract_statements``) sees it.
"""

from __future__ import annotations

from pathlib import Path

from bayeslab.core.errors import DataError


def _message(exc: BaseException, limit: int = 160) -> str:
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line if len(line) <= limit else line[:limit] + "..."


def single_select(con, sql: str) -> str:
    """``sql`` if it is exactly one read-only ``SELECT`` (DuckDB's own parser decides).

    Raises
    ------
    DataError
        If the text does not parse, holds several statements, or is not a ``SELECT``
        (``COPY``, ``ATTACH``, ``SET``, ``INSTALL``, ``CREATE``, ...).
    """
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise DataError(f"SQL query does not parse: {_message(exc)}") from None
    if len(statements) != 1:
        raise DataError(f"SQL must be exactly one SELECT statement; got {len(statements)} "
                        "statements")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise DataError(f"SQL must be one read-only SELECT; got a {kind.name} statement")
    return statements[0].query.strip().rstrip(";")


def named_paths(sql: str) -> list[str]:
    """Files and globs an SQL query names, from DuckDB's parse tree.

    Table names with a dot or a slash (``FROM 'x.parquet'``) and string arguments of table
    functions (``read_csv('x.csv')``).
    """
    import json

    import duckdb

    try:
        tree = json.loads(duckdb.connect().execute(
            "SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    except (duckdb.Error, ValueError, TypeError):
        return []
    found: list[str] = []

    def walk(node, in_function=False):
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and not node.get("schema_name"):
                name = node.get("table_name", "")
                if "." in name or "/" in name:
                    found.append(name)
            if node.get("type") == "TABLE_FUNCTION":
                in_function = True
            literal = node.get("literal")
            if in_function and isinstance(literal, dict) and literal.get("kind") == "STRING":
                found.append(literal.get("text", ""))
            for v in node.values():
                walk(v, in_function)
        elif isinstance(node, list):
            for v in node:
                walk(v, in_function)

    walk(tree)
    return [p for p in found if p]


def connection(read=(), folders=()):
    """A fresh in-memory DuckDB whose file access is limited to ``read`` and ``folders``.

    A glob allows the folder before its first wildcard. The configuration is locked, so a
    query cannot widen it.
    """
    import duckdb

    con = duckdb.connect()
    paths, dirs = set(), set()
    for p in read:
        p = str(p)
        if any(ch in p for ch in "*?["):
            head = p[:min(p.index(ch) for ch in "*?[" if ch in p)]
            base = head if head.endswith(("/", "\\")) else str(Path(head).parent)
            dirs.add(str(Path(base or ".").resolve()) + "/")
        else:
            paths.update({p, str(Path(p).resolve())})
    for d in folders:
        dirs.add(str(Path(d).resolve()) + "/")
    if dirs:
        con.execute("SET allowed_directories = ?", [sorted(dirs)])
    if paths:
        con.execute("SET allowed_paths = ?", [sorted(paths)])
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con
