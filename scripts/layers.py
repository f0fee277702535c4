"""Print bayeslab's package graph as layers: which package imports which, read from the code.

    .venv/bin/python scripts/layers.py

grimp reads every import statement (inside functions too); imports between modules of one
package are dropped and the rest collapsed to one edge per pair of packages. The layers printed
are the import-linter contract's (``pyproject.toml``); each line lists the packages below it that
the layer imports. ARCHITECTURE.md's diagram is this output (``tests/test_architecture.py``
compares them), and an import that ran back up a layer would be printed as ``UP``.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def contract_layers() -> list[list[str]]:
    """The layers of the import-linter contract, top first, each a list of package names."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    return [[p.strip().removeprefix("bayeslab.") for p in entry.replace(":", "|").split("|")]
            for entry in layers]


def package_edges() -> dict[str, set[str]]:
    """``{package: packages it imports}`` over bayeslab's top-level packages."""
    import grimp

    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("bayeslab", cache_dir=None)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        parts = module.split(".")
        if len(parts) < 2 or not graph.find_children(".".join(parts[:2])):
            continue                                   # bayeslab/__init__.py, _compat.py
        for imported in graph.find_modules_directly_imported_by(module):
            other = imported.split(".")
            if len(other) >= 2 and other[1] != parts[1] and graph.find_children(
                    ".".join(other[:2])):
                edges.setdefault(parts[1], set()).add(other[1])
    return edges


def diagram() -> str:
    """The layers, top first, each with the packages it imports; ``UP`` marks an upward import."""
    layers = contract_layers()
    level = {p: i for i, layer in enumerate(layers) for p in layer}
    edges = package_edges()
    lines = []
    for i, layer in enumerate(layers):
        for pkg in layer:
            down = sorted(edges.get(pkg, ()), key=lambda p: (level.get(p, -1), p))
            up = [p for p in down if level.get(p, -1) <= i and p != pkg]
            shown = ", ".join(("UP " if p in up else "") + p for p in down) or "-"
            lines.append(f"{i + 1:>2}  {pkg + '/':<13}-> {shown}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(diagram())
