"""Plain-text rendering of readouts for a terminal (the CLI's ``--format table``)."""

from __future__ import annotations

import textwrap


def _num(value, kind: str, effect: str) -> str:
    if value is None or value != value:
        return "n/a"
    if effect == "relative" or (kind == "conversion" and effect == "rate"):
        return f"{value:+.2%}" if effect == "relative" else f"{value:.3%}"
    if kind == "conversion" and effect == "absolute":
        return f"{value * 100:+.3f}pp"
    return f"{value:+.4g}"


def _prob(entry: dict) -> str:
    if "prob_positive" in entry:
        from bayeslab.format import format_prob

        p = entry["prob_positive"]
        q = entry.get("prob_negative")
        text = format_prob(p, 1.0 - p if q is None else q)
        return f"P>0 {text}" if text[0] in "<>" else f"P>0 = {text}"
    if entry.get("p_value") is not None:
        return f"p = {entry['p_value']:.3g}"
    return ""


def render_table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned text table with a header rule."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    def line(r):
        return "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def render_readout(readout, *, width: int = 100) -> str:
    """Render one readout (and its guardrails) as text."""
    kind = readout.kind
    title = {"guardrail": "Guardrail", "secondary": "Secondary metric"}.get(readout.role,
                                                                            "Readout")
    out = [f"{title}: {readout.metric} ({kind}), control {readout.control!r}",
           str(readout.rows)]
    arms = readout.fit.arms
    out.append(render_table(
        [[a, f"{n:,}", _num(m, kind, "rate") if kind == "conversion" else f"{m:.4g}"]
         for a, n, m in zip(arms["arm"], arms["n"], arms["mean"], strict=True)],
        ["arm", "n", "mean"]))
    level = None
    rows = []
    # population-level results only: a segment readout prints its own tables
    for e in (e for r in (*readout.fit.bayes, *readout.fit.frequentist) for e in r.estimates()):
        d = e.to_dict()
        level = d["level"]
        loss = d.get("expected_loss")
        effect = d["effect"] + (f" {d['rate']}" if "rate" in d else "")
        rows.append([d["side"], d["method"], d.get("arm", ""), effect,
                     _num(d["estimate"], kind, d["effect"]),
                     f"[{_num(d['lower'], kind, d['effect'])}, "
                     f"{_num(d['upper'], kind, d['effect'])}]",
                     _prob({**d, **e.extra}), "" if loss is None else f"{loss:.3g}"])
    if not any(r[2] for r in rows):
        rows = [r[:2] + r[3:] for r in rows]
        header = ["side", "method", "effect", "estimate", f"{level:.0%} interval",
                  "P(>0) / p", "exp. loss"]
    else:
        header = ["side", "method", "arm", "effect", "estimate", f"{level:.0%} interval",
                  "P(>0) / p", "exp. loss"]
    out.append(render_table(rows, header))
    out.append(str(readout.srm))
    for note in readout.fit.notes:
        out.append(textwrap.fill("Warning: " + note, width=width, subsequent_indent="  "))
    def wrap(s):
        return textwrap.fill(s, width=width, subsequent_indent="  ")
    out.append(wrap(f"Decision: {readout.decision.verdict.upper()}. "
                    + " ".join(readout.decision.reasons)))
    text = "\n".join(out)
    for g in readout.guardrails:
        text += "\n\n" + render_readout(g, width=width)
    return text
