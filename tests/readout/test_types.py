"""Types as a test: mypy passes on the readout package (the contract and every readout class).

The settings are pyproject.toml's ``[tool.mypy]``: the packages of its ``files`` are checked
(bodies of unannotated functions too); other bayeslab packages are read for their types only.
mypy comes with the ``dev`` extra; without it this test is skipped.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Checked packages; bayeslab/readout first (the contract), then any other package that passes.
PACKAGES = ("bayeslab/readout", "bayeslab/plots")


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed (it comes with the dev extra: "
                           "pip install -e '.[dev]')")
def test_mypy_passes_on_the_readout_package():
    # the cache lives outside the work tree (warm runs take a second, a cold one ~10 s)
    cache = Path(tempfile.gettempdir()) / "bayeslab-mypy-cache"
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(cache), "--hide-error-context",
         *PACKAGES],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, f"mypy found type errors:\n{run.stdout}{run.stderr}"
