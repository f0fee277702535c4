"""Number formats that every face shares (CLI, report, figures, app)."""

from __future__ import annotations


def format_prob(p: float, complement: float) -> str:
    """Format a probability so that one within 1e-4 of 0 or 1 shows its distance, never 1.0."""
    if complement <= 0:
        return "1 - <1e-300"
    if complement < 1e-4:
        return f"1 - {complement:.1e}"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}"
