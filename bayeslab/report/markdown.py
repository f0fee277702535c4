"""Markdown rendering of a :class:`~bayeslab.report.document.Document` (figures by file name)."""

from __future__ import annotations

from bayeslab.report.document import Document, Table


def _table(t: Table) -> list[str]:
    out = [f"**{t.caption}**", ""] if t.caption else []
    out.append("| " + " | ".join(t.columns) + " |")
    out.append("|" + "---|" * len(t.columns))
    out += ["| " + " | ".join(row) + " |" for row in t.rows]
    return out + [""]


def render_markdown(doc: Document) -> str:
    """The report as Markdown; figures are linked as ``Figure.file_name`` beside it."""
    lines = [f"# {doc.title}", ""]
    if doc.warnings:
        lines += ["> **Warnings**", ">"] + [f"> - {w}" for w in doc.warnings] + [""]
    lines += [f"**{doc.verdict.upper()}**: {doc.headline}", ""]
    for s in doc.sections:
        lines += [f"## {s.title}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for t in s.tables:
            lines += _table(t)
        for f in s.figures:
            lines += [f"![{f.caption or f.name}]({f.file_name})", ""]
    if doc.footer:
        lines += ["---", doc.footer]
    return "\n".join(lines)
