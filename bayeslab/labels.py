"""Labels that both sides print: segment cells."""

from __future__ import annotations

SEP = " x "


def segment_label(values) -> str:
    """Label of a segment from its values: ``"a"``, or ``"a x b"`` for two dimensions."""
    return SEP.join(str(v) for v in values)
