"""The architecture as a test: import-linter contracts in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
    assert "layers: faces, runner and report, plans, the comparison layer" in text
    assert "Contracts: 3 kept, 0 broken." in text


def test_sides_do_not_name_each_other():
    """A plain text check beside import-linter: no import line crosses between the sides."""
    for side, other in (("bayes", "frequentist"), ("frequentist", "bayes")):
        for path in (ROOT / "bayeslab" / side).rglob("*.py"):  # packages too (bayes/segments/)
            for i, line in enumerate(path.read_text().splitlines(), 1):
                stripped = line.strip()
                if stripped.startswith(("import ", "from ")):
                    assert f"bayeslab.{other}" not in stripped, f"{path}:{i}: {stripped}"
