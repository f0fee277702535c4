"""Checks that both sides use: interval levels, counts, histories, and the formula grammar.

Neutral ground for :mod:`bayeslab.bayes` and :mod:`bayeslab.frequentist`, which never import each
other.
"""

from __future__ import annotations

import re

import numpy as np

from bayeslab.core.errors import DataError, ModelError


def check_draws(draws, minimum: int = 100) -> int:
    """Raise ModelError unless ``draws`` is at least ``minimum``; the count as an int."""
    if int(draws) < minimum:
        raise ModelError(f"draws must be at least {minimum}, got {draws}")
    return int(draws)


def check_interval(interval: float) -> float:
    """Raise ModelError unless ``0 < interval < 1``."""
    if not 0 < interval < 1:
        raise ModelError(f"interval must be between 0 and 1, got {interval!r}")
    return float(interval)


def check_counts(n, conversions, arms=None):
    """Validate units and conversions per arm; returns ``(arm labels, n, conversions)``.

    Raises :class:`~bayeslab.core.errors.DataError` for unequal lengths, fewer than two arms,
    negative or fractional counts, conversions above units, or an arm without units.
    """
    arms = tuple(str(a) for a in (arms if arms is not None else range(len(np.ravel(n)))))
    n = np.asarray(n, dtype=float)
    x = np.asarray(conversions, dtype=float)
    if n.shape != x.shape or n.ndim != 1 or len(n) < 2:
        raise DataError("n and conversions must be 1-d sequences of equal length, >= 2 arms")
    if len(arms) != len(n):
        raise DataError(f"{len(arms)} arm labels for {len(n)} arms")
    for name, v in (("n", n), ("conversions", x)):
        bad = ~np.isfinite(v) | (v < 0) | (v != np.floor(v))
        if bad.any():
            raise DataError(f"{name} must be non-negative whole numbers; arm "
                            f"{arms[int(np.argmax(bad))]!r} has {v[bad][0]!r}", column=name)
    if (x > n).any():
        k = int(np.argmax(x > n))
        raise DataError(f"arm {arms[k]!r} has {x[k]:.0f} conversions out of {n[k]:.0f} units",
                        column="conversions")
    if (n == 0).any():
        raise DataError(f"arm {arms[int(np.argmax(n == 0))]!r} has no units", column="n")
    return arms, n, x


FORMULA_FUNCTIONS = ("C", "I", "log", "log1p", "log2", "log10", "exp", "sqrt", "abs", "scale",
                     "center", "standardize")
_NUMPY_FUNCTIONS = ("log", "log1p", "log2", "log10", "exp", "sqrt", "abs")
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>(?:np\.)?[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>\*\*|[~+\-*/:|()]))")


def check_formula(formula) -> str:
    """Refuse a model formula outside the grammar bayeslab fits, before any library reads it.

    Formula libraries (formulae for bambi, patsy for statsmodels) evaluate the terms as Python,
    so a formula from a shared plan could run code (``I(os.system(...))``). Accepted: column
    names (letters, digits, ``_``), numbers, the operators ``~ + - * / : ** |`` and parentheses
    (interactions, ``(1 | group)`` terms, powers), ``C(column)``, and the functions
    ``I, log, log1p, log2, log10, exp, sqrt, abs, scale, center, standardize`` (the math ones
    also as ``np.log`` ...). Nothing else: no attribute access, strings, brackets, commas or
    other calls.

    Returns
    -------
    str
        The formula, unchanged.

    Raises
    ------
    ModelError
        Names the first character or name outside the grammar.
    """
    if not isinstance(formula, str) or not formula.strip():
        raise ModelError(f"formula must be a non-empty string, got {formula!r}")
    allowed = (f"column names (letters, digits, _), numbers, ~ + - * / : ** | ( ) and "
               f"{', '.join(FORMULA_FUNCTIONS)}")
    tokens, pos = [], 0
    while pos < len(formula.rstrip()):
        m = _TOKEN.match(formula, pos)
        if m is None or m.end() == pos:
            bad = formula[pos:].lstrip()[:20]
            raise ModelError(f"formula {formula!r}: {bad!r} is outside the formula grammar; "
                             f"allowed: {allowed}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    if sum(1 for t in tokens if t == ("op", "~")) != 1:
        raise ModelError(f"formula {formula!r} must have exactly one '~' (outcome ~ terms)")
    for i, (kind, text) in enumerate(tokens):
        if kind != "name":
            continue
        call = i + 1 < len(tokens) and tokens[i + 1] == ("op", "(")
        dotted = text.startswith("np.")
        if text.startswith("__") or (dotted and not call):
            raise ModelError(f"formula {formula!r}: {text!r} is not a column name; allowed: "
                             f"{allowed}")
        if call and not (text in FORMULA_FUNCTIONS
                         or (dotted and text[3:] in _NUMPY_FUNCTIONS)):
            raise ModelError(f"formula {formula!r}: {text}(...) is not an allowed function; "
                             f"allowed: {', '.join(FORMULA_FUNCTIONS)}")
        if call and text == "C" and [k for k, _ in tokens[i + 2:i + 4]] != ["name", "op"]:
            raise ModelError(f"formula {formula!r}: C() takes one column name, e.g. C(country)")
        if call and text == "C" and tokens[i + 3] != ("op", ")"):
            raise ModelError(f"formula {formula!r}: C() takes one column name, e.g. C(country)")
    return formula


def check_history(estimates, ses, shipped=None, *, minimum: int = 3):
    """Validate a history of experiments; return float arrays ``(y, s)`` and a bool array or None.

    Raises
    ------
    DataError
        Different lengths, fewer than ``minimum`` experiments, a non-finite estimate, a standard
        error that is not positive and finite, or ``shipped`` not of the same length.
    """
    y = np.asarray(estimates, dtype=float).ravel()
    s = np.asarray(ses, dtype=float).ravel()
    if y.size != s.size:
        raise DataError(f"estimates and ses differ in length ({y.size} vs {s.size})")
    if y.size < minimum:
        raise DataError(f"a history needs at least {minimum} experiments, got {y.size}")
    if not np.all(np.isfinite(y)):
        raise DataError(f"estimates: {int((~np.isfinite(y)).sum())} not finite; drop them",
                        column="estimates", rows=int((~np.isfinite(y)).sum()))
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        raise DataError(f"ses: {int(bad.sum())} not positive and finite (first: "
                        f"{s[bad][0]!r}); drop those experiments", column="ses",
                        rows=int(bad.sum()))
    if shipped is None:
        return y, s, None
    ship = np.asarray(shipped).ravel()
    if ship.size != y.size:
        raise DataError(f"shipped differs in length from estimates ({ship.size} vs {y.size})",
                        column="shipped")
    return y, s, ship.astype(bool)
