"""Self-contained HTML rendering of a :class:`~bayeslab.report.document.Document`.

One file, no external resources: figures are embedded as base64 PNG, styles inline. Blocking
problems (non-convergence, sample ratio mismatch, poor overlap) come first, above the decision;
informational notes come after it.
"""

from __future__ import annotations

import base64
import html

from bayeslab.report.document import Document, Section, Table

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d2430;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #d8dde6;
padding-bottom:.2em;margin-top:1.8em}
.verdict{display:inline-block;padding:.2em .7em;border-radius:.3em;font-weight:600;color:#fff}
.v-ship,.v-pass{background:#1e7b3c}.v-hold,.v-inconclusive{background:#a46a00}
.v-blocked,.v-fail,.v-do-not-ship{background:#b3261e}
.headline{font-size:1.1em;margin:.6em 0 1em}
.warnings{background:#fdecea;border-left:5px solid #b3261e;padding:.6em 1em;margin:1em 0}
.warnings li,.notes li{margin:.2em 0}
.notes{background:#fff8e1;border-left:5px solid #a46a00;padding:.4em 1em;margin:1em 0;
font-size:.95em}
.table-wrap{max-width:100%;overflow-x:auto}
.headline{font-size:1.25em;border:2px solid #d8dde6;border-radius:.4em;padding:.6em .8em}
.verdict{font-size:1.1em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.92em}
th,td{border:1px solid #d8dde6;padding:.25em .6em;text-align:right}
th{background:#f2f4f8}td:first-child,th:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eef0f4}
figcaption{font-size:.9em;color:#555}
footer{margin-top:3em;font-size:.85em;color:#666}
"""


def _table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
                   for row in t.rows)
    cap = f"<caption>{html.escape(t.caption)}</caption>" if t.caption else ""
    return (f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _section(s: Section) -> str:
    parts = [f'<section id="{html.escape(s.key)}"><h2>{html.escape(s.title)}</h2>']
    parts += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
    parts += [_table(t) for t in s.tables]
    for f in s.figures:
        data = base64.b64encode(f.png).decode("ascii")
        parts.append(f'<figure data-name="{html.escape(f.name)}"><img alt="{html.escape(f.name)}"'
                     f' src="data:image/png;base64,{data}"/>'
                     f"<figcaption>{html.escape(f.caption)}</figcaption></figure>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(doc: Document) -> str:
    """The whole report as one HTML string."""
    cls = "v-" + doc.verdict.replace(" ", "-")
    warn = ""
    if doc.warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in doc.warnings)
        warn = ('<div class="warnings" id="warnings"><strong>Blocking problems</strong>'
                f"<ul>{items}</ul></div>")
    notes = ""
    if doc.notes:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in doc.notes)
        notes = f'<div class="notes" id="notes"><strong>Notes</strong><ul>{items}</ul></div>'

    body = "\n".join(_section(s) for s in doc.sections)
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(doc.title)}</h1>{warn}"
            f'<div class="headline" id="decision"><span class="verdict {cls}">'
            f"{html.escape(doc.verdict.upper())}</span> {html.escape(doc.headline)}</div>"
            f"{notes}{body}<footer>{html.escape(doc.footer)}</footer></body></html>")
