"""The architecture as a test: import-linter contracts in pyproject.toml, the package layout."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "bayeslab"
sys.path.insert(0, str(ROOT / "scripts"))
import layers  # noqa: E402  (scripts/layers.py)


def _lint_imports():
    exe = Path(sys.executable).with_name("lint-imports")
    if exe.exists():
        return str(exe)
    found = shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is missing: install the dev extra (sh scripts/setup.sh dev)")
    return found


def test_import_contracts_hold():
    out = subprocess.run([_lint_imports()], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    text = " ".join(out.stdout.split())          # import-linter wraps long contract names
    assert "bayes and frequentist are independent KEPT" in text
    assert "layers: faces, plans, report, readouts" in text
    assert "the app reads run folders and readouts: it fits no model itself KEPT" in text
    assert "Contracts: 3 kept, 0 broken." in text


def test_sides_do_not_name_each_other():
    """A plain text check beside import-linter: no import line crosses between the sides."""
    for side, other in (("bayes", "frequentist"), ("frequentist", "bayes")):
        for path in (ROOT / "bayeslab" / side).rglob("*.py"):  # packages too (bayes/segments/)
            for i, line in enumerate(path.read_text().splitlines(), 1):
                stripped = line.strip()
                if stripped.startswith(("import ", "from ")):
                    assert f"bayeslab.{other}" not in stripped, f"{path}:{i}: {stripped}"


def test_package_root_holds_at_most_five_modules():
    """The folders answer "where is X": the root keeps ``__init__.py`` and a few modules only."""
    root = sorted(p.name for p in PKG.glob("*.py") if p.name != "__init__.py")
    assert len(root) <= 5, root


def test_every_package_is_in_one_layer():
    """A new package joins the layers contract (or import-linter would not check it)."""
    packages = {p.parent.name for p in PKG.glob("*/__init__.py")}
    listed = [p for layer in layers.contract_layers() for p in layer]
    assert sorted(listed) == sorted(packages)
    assert len(listed) == len(set(listed))


def test_package_graph_has_no_upward_import_and_the_diagram_matches():
    """The package graph (grimp) printed as layers: no ``UP``; ARCHITECTURE.md shows the same."""
    pytest.importorskip("grimp")
    drawn = layers.diagram()
    assert "UP " not in drawn, drawn
    text = (ROOT / "ARCHITECTURE.md").read_text()
    assert drawn in text, "ARCHITECTURE.md's layer diagram is stale: paste scripts/layers.py"


#: tests at the top of tests/ cross every package: the layout, golden plan runs, the examples
TOP_LEVEL = {"test_architecture.py", "test_import_cycles.py", "test_golden_readouts.py",
             "test_examples.py", "test_public_api.py", "test_readme.py"}


def test_tests_mirror_the_packages():
    """Each package's tests sit in ``tests/<package>/``; only cross-cutting tests stay on top."""
    packages = {p.parent.name for p in PKG.glob("*/__init__.py")}
    folders = {p.name for p in (ROOT / "tests").iterdir() if (p / "__init__.py").exists()}
    assert packages <= folders, sorted(packages - folders)
    assert {p.name for p in (ROOT / "tests").glob("test_*.py")} == TOP_LEVEL
