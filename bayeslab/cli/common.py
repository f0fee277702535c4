"""Helpers the command handlers share: comma-separated arguments, output and figure files."""

from __future__ import annotations

import json
import re
import sys

from bayeslab.core import kinds


def allocation_shares(text: str, name: str) -> list[float]:
    """Two allocation shares, control first, positive and summing to 1 (never rescaled)."""
    from bayeslab.design.power import allocation_ratio

    shares = floats(text, name, 2)
    allocation_ratio(shares, name=name)
    return shares


def floats(text: str, name: str, count: int | None = None) -> list[float]:
    """Comma-separated numbers of option ``name`` (exactly ``count`` of them when given)."""
    from bayeslab.core.errors import DataError

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise DataError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if count is not None and len(values) != count:
        raise DataError(f"{name} needs {count} numbers, got {text!r}")
    return values


def option_value(text: str):
    """A ``--option`` value: int, float, true / false, else the text."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def looks_arg(text: str | None):
    """``daily``, ``K`` (equal looks), ``N1,N2,...`` (cumulative rows) or dates."""
    if text is None or text == "daily":
        return "daily"
    parts = [t.strip() for t in text.split(",") if t.strip()]
    if all(re.fullmatch(r"[+-]?\d+", t) for t in parts):   # -3: a bad count, not a date
        values = [int(t) for t in parts]
        return values[0] if len(values) == 1 else values
    return parts


def kind_options(args) -> dict:
    """The per-kind options given on the command line, as :func:`bayeslab.compare` takes them."""
    out = {}
    for name in kinds.option_names(fitted=True):
        value = getattr(args, name)
        if value is None or (name == "clip_quantile" and not args.clip):
            continue
        out[name] = (tuple(s.strip() for s in value.split(","))
                     if kinds.OPTIONS[name].type is list else value)
    return out


def emit(payload: dict, text: str, fmt: str) -> None:
    """Print the result: ``payload`` as JSON (``--format json``) or ``text``."""
    if fmt == "json":
        json.dump(payload, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(text)


def write_figures(figures: dict, directory: str, prefix: str) -> list[str]:
    """Save each figure as ``DIR/<prefix>_<name>.png`` and close it; return the paths.

    ``prefix`` is a metric name (data): the file name is made safe and kept inside ``DIR``.
    """
    from pathlib import Path

    import matplotlib.pyplot as plt

    from bayeslab.core.paths import confined

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = confined(out, f"{prefix}_{name}", ".png")
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(str(path))
    return paths
