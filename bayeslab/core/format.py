"""Numbers, units and probabilities as text: the one place every view formats them.

One unit language everywhere (CLI, report, figures, app):

============================== ===================================== ======================
quantity                       function                              example
============================== ===================================== ======================
probability                    :func:`prob`                          ``1 - 1.6e-27``, ``0.9731``
p-value                        :func:`p_value`                       ``3.46e-27``, ``0.0412``
a rate (arm mean)              :func:`rate`                          ``17.240%``
absolute lift of a rate        :func:`pp`                            ``+3.800 pp``
relative lift                  :func:`pct`                           ``+22.06%``
money, counts, other means     :func:`amount`                        ``+9.702 EUR``, ``12,400``
a count of units or rows       :func:`count`                         ``10,000``
ratio (hazard ratio)           :func:`ratio`                         ``0.8731``
============================== ===================================== ======================

:func:`effect` and :func:`interval` pick the right one from the effect's name and the metric's
kind, and :func:`axis_label` names the unit of a figure's axis. A probability is never printed
as exactly 1 or 0 unless it is: one within 1e-4 of either end shows its distance
(``1 - 1.6e-27``). This module imports only the standard library.
"""

from __future__ import annotations

import math

#: Metric kinds whose absolute effect is a difference of rates (shown in percentage points).
RATE_KINDS = ("conversion", "ratio")
#: Effects on a ratio scale, whose no-effect value is 1.
RATIO_EFFECTS = ("hazard-ratio", "ratio")
_TINY = 1e-4


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def prob(p, complement=None, *, floor: float = 1e-300) -> str:
    """A probability, never rounded to exactly 1 or 0.

    Parameters
    ----------
    p : float
        The probability.
    complement : float, optional
        :math:`1 - p` computed without cancellation (exact tails carry it); ``1 - p`` if not
        given.
    floor : float
        Smallest distance from 0 or 1 the computation resolves; below it the text says
        ``< floor``.

    Returns
    -------
    str
        ``"0.9731"``; ``"1 - 1.6e-27"`` within 1e-4 of 1; ``"3.2e-06"`` within 1e-4 of 0;
        ``"1 - <1e-300"`` / ``"<1e-300"`` past the floor; ``"n/a"`` when missing.
    """
    if _missing(p):
        return "n/a"
    p = float(p)
    q = 1.0 - p if _missing(complement) else float(complement)
    if q < _TINY and q <= p:
        return f"1 - <{floor:.0e}" if q < floor else f"1 - {q:.1e}"
    if p < _TINY:
        return f"<{floor:.0e}" if p < floor else f"{p:.1e}"
    return f"{p:.4f}"


def prob_is(p: float, q: float, draws: int | None = None) -> str:
    """A probability after ``P(...)``: ``"= 0.9700"``, ``"= 1 - 1.6e-27"``, or a bound.

    ``q`` is the exact complement; a Monte Carlo probability from ``draws`` draws at 0 or 1
    is shown as the bound the draws allow (:func:`prob_draws`).
    """
    if draws and p in (0.0, 1.0):
        return prob_draws(p, int(draws))
    return "= " + prob(p, q)


def prob_draws(p: float, draws: int) -> str:
    """A Monte Carlo probability from ``draws`` draws: all or none say so instead of 1 or 0.

    Returns
    -------
    str
        ``"> 0.9995 (every one of 2,000 draws)"``, ``"< 0.0005 (none of 2,000 draws)"`` or
        ``"0.9731"``.
    """
    if p >= 1:
        return f"> {1 - 1 / draws:.4f} (every one of {draws:,} draws)"
    if p <= 0:
        return f"< {1 / draws:.4f} (none of {draws:,} draws)"
    return f"{p:.4f}"


def p_value(p, *, floor: float = 1e-300) -> str:
    """A p-value to three significant digits; ``<1e-300`` when it underflowed to 0.

    A double cannot hold a normal tail beyond about z = 37, so an exact 0 is a bound, not a value
    (``n/a`` when missing).
    """
    if _missing(p):
        return "n/a"
    p = float(p)
    if p < floor:
        return f"<{floor:.0e}"
    return f"{p:.3g}"


def number(v, digits: int = 4, *, sign: bool = False) -> str:
    """A number to ``digits`` significant digits with thousands separators, never ``1e+04``.

    Scientific notation only outside [1e-4, 1e15).
    """
    if _missing(v):
        return "n/a"
    v = float(v)
    if math.isinf(v):
        return ("+" if sign and v > 0 else "") + ("inf" if v > 0 else "-inf")
    s = "+" if sign else ""
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    if mag >= 15 or mag < -4:
        return f"{v:{s}.{digits - 1}e}"
    decimals = max(0, digits - 1 - mag)
    text = f"{round(v, decimals):{s},.{decimals}f}"
    return text


def count(n) -> str:
    """A count of units, rows or events with thousands separators (``10,000``)."""
    if _missing(n):
        return "n/a"
    return f"{round(float(n)):,}"


def rate(v, digits: int = 3) -> str:
    """A rate (an arm's conversion rate) in percent: ``17.240%``."""
    if _missing(v):
        return "n/a"
    return f"{100 * float(v):.{digits}f}%"


def pp(v, digits: int = 3) -> str:
    """An absolute difference of two rates in percentage points: ``+3.800 pp``."""
    if _missing(v):
        return "n/a"
    v = 100 * float(v)
    return "0 pp" if v == 0 else f"{v:+.{digits}f} pp"


def pct(v, digits: int = 2) -> str:
    """A relative effect in percent: ``+22.06%``."""
    if _missing(v):
        return "n/a"
    return f"{100 * float(v):+.{digits}f}%"


def ratio(v, digits: int = 4) -> str:
    """A ratio (hazard ratio), no sign: ``0.8731``."""
    if _missing(v):
        return "n/a"
    return f"{float(v):.{digits}g}"


def amount(v, unit: str | None = None, *, sign: bool = True, digits: int = 4) -> str:
    """Money, counts or another mean in the metric's own unit: ``+9.702 EUR``, ``+1,204``."""
    text = number(v, digits, sign=sign)
    return f"{text} {unit}" if unit and text != "n/a" else text


def margin(value, relative: bool = False) -> str:
    """A guardrail's margin: ``"0.50 pp"`` (absolute) or ``"20% of the control rate"``."""
    if relative:
        return f"{number(100 * float(value), 3)}% of the control rate"
    return pp(value)


def guardrail(check: dict) -> dict:
    """Texts of a guardrail check (``Readout.guardrail_check()``), one formatter for every view.

    Keys ``margin``, ``increase``, ``upper`` (pp for an absolute margin, % of the control rate
    for a relative one), ``prob`` (P(increase > margin)) and ``p`` (non-inferiority p).
    """
    rel = bool(check.get("relative"))
    show = pct if rel else pp
    p_harm = check.get("prob_above_margin")
    return {"margin": margin(check["margin"], rel), "increase": show(check.get("difference")),
            "upper": show(check.get("upper")),
            "prob": "n/a" if p_harm is None else prob(p_harm, 1 - p_harm),
            "p": p_value(check.get("noninferiority_p"))}


def scale(effect: str, kind: str) -> str:
    """Which scale an effect is shown on: ``"pp"``, ``"pct"``, ``"ratio"`` or ``"unit"``."""
    if effect == "relative":
        return "pct"
    if effect in RATIO_EFFECTS:
        return "ratio"
    if effect == "rate" or (effect == "absolute" and _rate_kind(kind)):
        return "pp" if effect == "absolute" else "rate"
    return "unit"


def _rate_kind(kind: str) -> bool:
    """Whether a kind's absolute effect is a difference of rates, as the registry says.

    A plugin kind declares it (``effect_scale``); a name the registry does not know is not a
    rate unless it is in :data:`RATE_KINDS`.
    """
    if kind in RATE_KINDS:
        return True
    from bayeslab.core import kinds
    from bayeslab.core.errors import ModelError

    try:
        return kinds.get(kind).rate_effects
    except ModelError:
        return False


def effect(v, effect: str, kind: str, unit: str | None = None) -> str:
    """An effect estimate in its unit (pp, %, the metric's unit or a plain ratio).

    Parameters
    ----------
    v : float
    effect : str
        ``"absolute"``, ``"relative"``, ``"hazard-ratio"``, ``"ratio"`` or ``"rate"``.
    kind : str
        The metric's kind (``"conversion"`` rates are shown in percentage points).
    unit : str, optional
        The metric's unit (``"EUR"``) for absolute effects of other kinds.
    """
    s = scale(effect, kind)
    if s == "pct":
        return pct(v)
    if s == "pp":
        return pp(v)
    if s == "rate":
        return rate(v)
    if s == "ratio":
        return ratio(v)
    return amount(v, unit)


def interval(lo, hi, effect_name: str, kind: str, unit: str | None = None) -> str:
    """``[lo, hi]`` in the effect's unit, the unit written once: ``[+3.111, +4.489] pp``."""
    if _missing(lo) or _missing(hi):
        return "n/a"
    s = scale(effect_name, kind)
    if s == "pp":
        return f"[{100 * float(lo):+.3f}, {100 * float(hi):+.3f}] pp"
    if s in ("pct", "rate"):
        f = pct if s == "pct" else rate
        return f"[{f(lo)}, {f(hi)}]"
    if s == "ratio":
        return f"[{ratio(lo)}, {ratio(hi)}]"
    text = f"[{number(lo, sign=True)}, {number(hi, sign=True)}]"
    return f"{text} {unit}" if unit else text


def axis_label(effect_name: str, kind: str, unit: str | None = None) -> str:
    """The unit of an effect axis, for a figure's x-axis label."""
    s = scale(effect_name, kind)
    return {"pp": "percentage points", "pct": "% of control", "rate": "%",
            "ratio": "ratio, 1 = no effect"}.get(s, unit or "metric units")


def axis_scale(effect_name: str, kind: str) -> float:
    """Factor from the stored value to the axis (100 for pp and %, else 1)."""
    return 100.0 if scale(effect_name, kind) in ("pp", "pct", "rate") else 1.0


def prior(spec) -> str:
    """A prior in words: ``Beta(1, 1) on each arm's rate``, ``Normal(0, 0.5) on log-odds``.

    Accepts a prior object (its ``str``), a ``to_dict()`` form (``{"dist": "Normal", "mu": 0,
    "sigma": 0.5}``; a ``None`` location reads "centred on the data"), a mapping of named priors
    (``{"effect": {...}, "effect_sd": {...}}``) or ``None`` (``"none"``).
    """
    if spec is None:
        return "none"
    if hasattr(spec, "to_dict") and not isinstance(spec, dict):
        d = spec.to_dict()
        if isinstance(d, dict) and ("dist" in d or all(isinstance(v, dict) for v in d.values())):
            return prior(d)
        return str(spec)
    if isinstance(spec, dict):
        if "dist" in spec:
            return _one_prior(spec)
        if "alpha" in spec and "beta" in spec:
            return f"Beta({_g(spec['alpha'])}, {_g(spec['beta'])})"
        if "name" in spec:
            rest = ", ".join(f"{k} {_g(v)}" for k, v in spec.items()
                             if k != "name" and isinstance(v, (int, float)))
            return f"{str(spec['name']).capitalize()} prior" + (f" ({rest})" if rest else "")
        spec = dict(spec)
        parts = []
        if isinstance(spec.get("flat"), (list, tuple)):
            parts.append(f"flat on {', '.join(map(str, spec.pop('flat')))}")
            if spec.get("effect_scale_in_sigma", 0) is None:
                spec.pop("effect_scale_in_sigma")
                spec.pop("effect_mean", None)
        if "sigma2_shape" in spec and "sigma2_rate" in spec:
            a, b = float(spec.pop("sigma2_shape")), float(spec.pop("sigma2_rate"))
            parts.append("1/sigma^2 (Jeffreys) on the residual variance" if a == b == 0
                         else f"InverseGamma({_g(a)}, {_g(b)}) on the residual variance")
        if "baseline_shape" in spec and "baseline_rate" in spec:
            parts.append(f"Gamma({_g(spec.pop('baseline_shape'))}, "
                         f"{_g(spec.pop('baseline_rate'))}) on the baseline hazard")
        for key, value in spec.items():
            if value is None:
                continue
            text = prior(value) if isinstance(value, dict) else (
                _g(value) if isinstance(value, (int, float)) else str(value))
            target = _PRIOR_TARGETS.get(key, key.replace("_", " "))
            parts.append(f"{text} on {target}")
        return "; ".join(parts) or "none"
    if isinstance(spec, (list, tuple)) and len(spec) == 2:
        return f"Beta({_g(spec[0])}, {_g(spec[1])})"
    return str(spec)


_PRIOR_TARGETS = {"log_hr": "the log hazard ratio", "baseline": "the baseline log-odds",
                  "effect": "the treatment effect (log-odds)",
                  "baseline_sd": "the spread of segment baselines",
                  "effect_sd": "the spread of segment effects (tau)"}


def _one_prior(d: dict) -> str:
    dist = d["dist"]
    args = []
    if "mu" in d:
        args.append("centred on the data" if d["mu"] is None else _g(d["mu"]))
    for key, value in d.items():
        if key in ("dist", "mu", "on"):
            continue
        if value is not None:
            args.append(_g(value))
    text = f"{dist}({', '.join(args)})"
    return f"{text} on {d['on']}" if d.get("on") else text


def _g(v) -> str:
    """A prior parameter, shortest form (``0.5``, ``1``)."""
    return f"{float(v):.4g}"


def one_line(message: str) -> str:
    """A message as one line (newlines and runs of spaces collapsed)."""
    return " ".join(str(message).split())


#: separator of a segment cell's values in its label ("1 x S4")
SEP = " x "


def segment_label(label, columns=()) -> str:
    """A segment label that says its columns: ``"1 x S4"`` -> ``"ps_plus=1 x spend_tier=S4"``.

    Labels of two columns are joined by ``" x "``; a label already naming its columns, or one
    whose parts do not match the columns, is returned unchanged.
    """
    label = str(label)
    columns = tuple(columns or ())
    if not columns or "=" in label:
        return label
    parts = label.split(SEP) if len(columns) > 1 else [label]
    if len(parts) != len(columns):
        return label
    return SEP.join(f"{c}={v}" for c, v in zip(columns, parts, strict=True))


def cell_label(values) -> str:
    """Label of a segment cell from its values: ``"a"``, or ``"a x b"`` for two dimensions.

    Both model sides name cells with it; :func:`segment_label` adds the column names back.
    """
    return SEP.join(str(v) for v in values)


def versus(value: float, threshold: float, digits: int = 4) -> tuple[str, str]:
    """``value`` and ``threshold`` with enough digits that they never print the same.

    ``versus(1.0104, 1.01)`` gives ``("1.0104", "1.01")``, so a failed check never reads
    "R-hat 1.01 > 1.01".
    """
    value, threshold = float(value), float(threshold)
    for d in range(digits, 17):
        a, b = f"{value:.{d}g}", f"{threshold:.{d}g}"
        if a != b or value == threshold:
            return a, f"{threshold:.{digits}g}"
    return f"{value!r}", f"{threshold!r}"


def format_prob(p: float, complement: float) -> str:
    """A probability with its exact complement; the older name of :func:`prob`."""
    return prob(p, complement)


# ----------------------------------------------------------------- estimates (duck-typed)


def prob_value(e, *, flip: bool = False) -> str:
    """P(effect > 0) of an estimate as text (``flip``: P(effect < 0)), never 1 or 0.

    An exact tail (``extra['prob_negative']``) gives ``1 - 1.6e-27``; a Monte Carlo probability
    of exactly 0 or 1 (no exact tail) says "every draw" / "no draw".
    """
    if e is None or e.prob_positive is None:
        return "n/a"
    p = float(e.prob_positive)
    q = e.extra.get("prob_negative") if isinstance(e.extra, dict) else None
    if flip:
        if q is None and p in (0.0, 1.0):
            return "< 0.001 (no draw)" if p == 1 else "> 0.999 (every draw)"
        q = 1 - p if q is None else float(q)
        return prob(q, p)
    if q is None and p in (0.0, 1.0):
        return "> 0.999 (every draw)" if p == 1 else "< 0.001 (no draw)"
    return prob(p, 1 - p if q is None else float(q))


def estimate_prob(e, *, effect: str | None = None) -> str:
    """The probability column of one estimate: P(> 0), P(HR < 1) or the p-value."""
    effect = effect or e.effect
    if e.prob_positive is not None:
        if effect in RATIO_EFFECTS:
            name = "P(HR < 1)" if effect == "hazard-ratio" else "P(< 1)"
            return f"{name} {_equals(prob_value(e, flip=True))}"
        return f"P(> 0) {_equals(prob_value(e))}"
    if e.p_value is not None:
        adjust = (e.extra if isinstance(e.extra, dict) else {}).get("adjust")
        label = {"holm": "p (Holm-adjusted)", "bh": "p (BH-adjusted)",
                 "bonferroni": "p (Bonferroni-adjusted)"}.get(adjust, "p")
        return f"{label} = {p_value(e.p_value)}"
    return ""


def _equals(text: str) -> str:
    """``= 0.97``, or a bound as it is: ``> 0.999 (every draw)``."""
    return text if text[:1] in "<>" else f"= {text}"


def effect_name(e) -> str:
    """An estimate's effect as a column label: ``absolute ctr``, ``tau (spend_tier)``."""
    name = e.effect
    extra = e.extra if isinstance(e.extra, dict) else {}
    if extra.get("rate"):
        name += f" {extra['rate']}"
    if name == "tau" and extra.get("component"):
        name = f"tau ({extra['component']})"
    return name


def estimate_text(e, kind: str, unit: str | None = None) -> tuple[str, str]:
    """(value, interval) of an estimate in its unit; tau and log-odds as plain numbers."""
    if e.effect in ("tau", "log-odds"):      # a scale (unsigned) or a difference (signed)
        signed = e.effect != "tau"
        return (number(e.estimate, sign=signed),
                f"[{number(e.lower, sign=signed)}, {number(e.upper, sign=signed)}]")
    return effect(e.estimate, e.effect, kind, unit), interval(e.lower, e.upper, e.effect, kind,
                                                               unit)
