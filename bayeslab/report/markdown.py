"""Markdown rendering of a :class:`~bayeslab.report.document.Document` (figures by file name).

Every label and cell is escaped (:func:`escape`): HTML tags, Markdown link and emphasis syntax
and the ``|`` that would break a table are written as text, so a metric or segment named
``<script>`` or ``[x](javascript:...)`` shows as typed and runs nothing.
"""

from __future__ import annotations

import re

from bayeslab.report.document import Document, Table

_MD_SPECIAL = re.compile(r"([\\`*\[\]|~])")
_LINE_START = re.compile(r"^([#>+=-])")
_NUMBERED = re.compile(r"^(\d+)([.)])")


def escape(text) -> str:
    """Text safe inside Markdown: no HTML, no link, emphasis or code syntax, no table break.

    ``&`` and ``<`` become entities (no tag or autolink can form); backslash, backtick, ``*``,
    ``[``, ``]``, ``|`` and ``~`` are backslash-escaped; a leading ``#``, ``>``, ``-``, ``+``,
    ``=`` or list number is escaped; newlines become spaces (a cell stays one line).
    """
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\\\1", text)
    return _NUMBERED.sub(r"\1\\\2", text)


def _file_name(name: str) -> str:
    """A figure's (already safe) file name as a link target: percent-encoded, never a scheme."""
    from urllib.parse import quote

    return quote(name, safe="")


def _table(t: Table) -> list[str]:
    out = [f"**{escape(t.caption)}**", ""] if t.caption else []
    out.append("| " + " | ".join(escape(c) for c in t.columns) + " |")
    out.append("|" + "---|" * len(t.columns))
    out += ["| " + " | ".join(escape(v) for v in row) + " |" for row in t.rows]
    return out + [""]


def render_markdown(doc: Document) -> str:
    """The report as Markdown; figures are linked as ``Figure.file_name`` beside it.

    Blocking problems come before the decision, notes after it.
    """
    lines = [f"# {escape(doc.title)}", ""]
    if doc.warnings:
        lines += ["> **Blocking problems**", ">"] + [f"> - {escape(w)}" for w in doc.warnings]
        lines += [""]
    lines += [f"**{escape(doc.verdict.upper())}**: {escape(doc.headline)}", ""]
    if doc.notes:
        lines += ["**Notes**", ""] + [f"- {escape(w)}" for w in doc.notes] + [""]
    for s in doc.sections:
        lines += [f"## {escape(s.title)}", ""]
        for p in s.paragraphs:
            lines += [escape(p), ""]
        for t in s.tables:
            lines += _table(t)
        for f in s.figures:
            lines += [f"![{escape(f.caption or f.name)}]({_file_name(f.file_name)})", ""]
    if doc.footer:
        lines += ["---", escape(doc.footer)]
    return "\n".join(lines)
