"""Plain-text rendering of readouts for a terminal (the CLI's ``--format table``)."""

from __future__ import annotations

import textwrap

from bayeslab.core import format as fmt


def _num(value, kind: str, effect: str, unit: str | None = None) -> str:
    return fmt.effect(value, effect, kind, unit)


def _interval(lo, hi, kind: str, effect: str, unit: str | None = None) -> str:
    return fmt.interval(lo, hi, effect, kind, unit)


def render_table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned text table with a header rule."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    def line(r):
        return "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def render_readout(readout, *, width: int = 100) -> str:
    """Render one readout (and its guardrails) as text.

    Blocking problems come before the decision, informational notes after it; effects are in
    the metric's unit (pp for rates, % relative, the plan's ``unit`` otherwise).
    """
    from bayeslab.core.format import estimate_prob

    kind = readout.kind
    title = {"guardrail": "Guardrail", "secondary": "Secondary metric"}.get(readout.role,
                                                                            "Readout")
    out = [f"{title}: {readout.metric} ({kind}), control {readout.control!r}",
           str(readout.rows)]
    arms = readout.fit.arms
    unit = getattr(readout, "unit", None)
    out.append(render_table(
        [[a, fmt.count(n), fmt.rate(m) if kind == "conversion" else fmt.amount(m, unit,
                                                                               sign=False)]
         for a, n, m in zip(arms["arm"], arms["n"], arms["mean"], strict=True)],
        ["arm", "units", "mean"]))
    level = None
    rows = []
    # population-level results only: a segment readout prints its own tables
    for e in (e for r in (*readout.fit.bayes, *readout.fit.frequentist) for e in r.estimates()):
        d = e.to_dict()
        level = d["level"]
        loss = d.get("expected_loss")
        effect = d["effect"] + (f" {d['rate']}" if "rate" in d else "")
        rows.append([d["side"], d["method"], d.get("arm", ""), effect,
                     _num(d["estimate"], kind, d["effect"], unit),
                     _interval(d["lower"], d["upper"], kind, d["effect"], unit),
                     estimate_prob(e), "" if loss is None else f"{loss:.3g}"])
    if not any(r[2] for r in rows):
        rows = [r[:2] + r[3:] for r in rows]
        header = ["side", "method", "effect", "estimate", f"{level:.0%} interval",
                  "P / p", "exp. loss"]
    else:
        header = ["side", "method", "arm", "effect", "estimate", f"{level:.0%} interval",
                  "P / p", "exp. loss"]
    out.append(render_table(rows, header))
    check = readout.guardrail_check() if hasattr(readout, "guardrail_check") else None
    if check is not None:
        g = fmt.guardrail(check)
        out.append(textwrap.fill(
                   f"Guardrail check: margin {g['margin']}, increase {g['increase']} (upper "
                   f"bound {g['upper']}), P(increase > margin) = {g['prob']}, non-inferiority "
                   f"p = {g['p']}: {check['verdict'].upper()}",
                   width=width, subsequent_indent="  "))
    out.append(str(readout.srm))

    def wrap(s):
        return textwrap.fill(s, width=width, subsequent_indent="  ")

    out += [wrap("Blocked: " + b) for b in readout.decision.blockers]
    label = ("Advisory verdict (secondary metric)" if readout.role == "secondary"
             else "Decision")
    out.append(wrap(f"{label}: {readout.decision.verdict.upper()}. "
                    + " ".join(readout.decision.reasons)))
    out += [wrap("Note: " + fmt.one_line(n)) for n in readout.fit.notes]
    text = "\n".join(out)
    for g in readout.guardrails:
        text += "\n\n" + render_readout(g, width=width)
    return text
