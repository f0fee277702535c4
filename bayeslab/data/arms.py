"""Arm labels: how arm values read as text, sort, and which one is the control."""

from __future__ import annotations

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.data.sources import shown


def arm_label(value) -> str | None:
    """Arm label as text: ``0``/``1`` for integral numbers, ``true``/``false`` for booleans."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if value != value:
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def label_sort_key(label: str):
    """Sort arm labels numerically when they are numbers, else alphabetically."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label.lower())


def resolve_control(arm: str, labels: list[str], control) -> str:
    """The control label: as given (case-insensitive), else ``0`` / ``false`` / ``control``."""
    if control is not None:
        wanted = str(control)
        if wanted in labels:
            return wanted
        lowered = {v.lower(): v for v in labels}
        if wanted.lower() in lowered:
            return lowered[wanted.lower()]
        raise DataError(f"control arm {wanted!r} not found in column {arm!r}; its labels are "
                        f"{labels_text(labels)}", column=arm)
    for default in ("0", "false", "control"):
        for v in labels:
            if v.lower() == default:
                return v
    raise DataError(f"column {arm!r} has labels {labels_text(labels)}: name the "
                    "control arm (control=... or --control)", column=arm)


def labels_text(labels, limit: int = 8) -> str:
    """Up to ``limit`` labels, each cut short (an arm column may hold free text)."""
    more = f", ... ({len(labels):,} labels)" if len(labels) > limit else ""
    return ", ".join(shown(v) for v in labels[:limit]) + more
