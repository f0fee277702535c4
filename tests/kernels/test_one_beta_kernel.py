"""One Beta kernel (issue 22): the package defines P(p_T > p_C) for two Betas once, in
``bayeslab/kernels/beta/``, and nothing outside that package computes with scipy's Beta
distribution or its incomplete beta function.

A text scan of the code (strings and comments left out, so a docstring may name scipy) and an
AST scan that follows aliases (``from scipy import stats as st`` ... ``st.beta``).
"""

import ast
import importlib.util
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "bayeslab"
KERNEL = PKG / "kernels" / "beta"

#: the literal patterns of the issue, searched in code tokens
PATTERNS = re.compile(r"\bstats\.beta\b|\bsps\.beta\b|\bst\.beta\b|betainc"
                      r"|from\s+scipy\.stats\s+import\s+(?:\([^)]*)?\bbeta\b")

#: modules outside the kernel allowed to use scipy's Beta, each with its reason (none today: the
#: figures and the personalization scenario's weights now use bayeslab.kernels.beta.pdf)
KNOWN: dict[str, str] = {}

#: the modules the issue names as users of the one kernel path
USERS = ["bayeslab/bayes/conversion.py", "bayeslab/bayes/funnel.py",
         "bayeslab/sequential/posteriors.py", "bayeslab/design/aa.py", "bayeslab/app/data.py"]


def _modules():
    return sorted(p for p in PKG.rglob("*.py") if KERNEL not in p.parents)


def _code_only(path: Path) -> str:
    """The source with every string and comment blanked out (positions and lines kept)."""
    src = path.read_text()
    lines = [list(line) for line in src.splitlines(keepends=True)]
    blank = {tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", -1)}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type not in blank:
            continue
        (r0, c0), (r1, c1) = tok.start, tok.end
        for r in range(r0, r1 + 1):
            row = lines[r - 1]
            lo, hi = (c0 if r == r0 else 0), (c1 if r == r1 else len(row))
            for c in range(lo, min(hi, len(row))):
                if row[c] != "\n":
                    row[c] = " "
    return "".join("".join(row) for row in lines)


def _scipy_beta_uses(path: Path) -> list[str]:
    """Uses of scipy's Beta distribution or incomplete beta function, aliases followed."""
    tree = ast.parse(path.read_text())
    stats_names, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "scipy.stats":
                    stats_names.add(alias.asname or "scipy.stats")
                elif alias.name == "scipy":
                    stats_names.add(f"{alias.asname or 'scipy'}.stats")
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if node.module == "scipy" and alias.name == "stats":
                    stats_names.add(alias.asname or "stats")
                if node.module.startswith("scipy") and (
                        alias.name.startswith("betainc")
                        or (node.module == "scipy.stats" and alias.name == "beta")):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("betainc"):
                found.append(f"line {node.lineno}: .{node.attr}")
            elif node.attr == "beta" and ast.unparse(node.value) in stats_names:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def _violations(path: Path) -> list[str]:
    text = [f"line {i}: {line.strip()}" for i, line in enumerate(_code_only(path).splitlines(), 1)
            if PATTERNS.search(line)]
    return text + _scipy_beta_uses(path)


def test_no_module_outside_the_kernel_uses_scipys_beta():
    bad = {}
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        hits = _violations(path)
        if hits and rel not in KNOWN:
            bad[rel] = hits
    assert not bad, f"scipy's Beta outside bayeslab/kernels/beta/: {bad}"


def test_known_exceptions_are_still_needed():
    stale = [rel for rel in KNOWN if not _violations(ROOT / rel)]
    assert not stale, f"{stale} no longer use scipy's Beta: drop them from KNOWN"


def test_the_scan_catches_what_it_is_meant_to(tmp_path):
    cases = {
        "from scipy import stats as st\nx = st.beta(2, 3).cdf(0.5)\n": True,
        "x = sps.beta.ppf(0.5, 2, 3)\n": True,  # the text scan alone (no import seen)
        "import scipy.stats\nx = scipy.stats.beta.sf(0.5, 2, 3)\n": True,
        "from scipy.stats import beta\n": True,
        "from scipy.special import betaincinv as inv\n": True,
        "from scipy import special\ny = special.betainc(2, 3, 0.5)\n": True,
        '"""scipy.stats.beta and betainc, named in a docstring."""\n# stats.beta\n': False,
        "x = post.beta_post + prior.beta\n": False,
        "def prob_greater_than(x):\n    return x\n": False,
    }
    for i, (src, bad) in enumerate(cases.items()):
        path = tmp_path / f"m{i}.py"
        path.write_text(src)
        assert bool(_violations(path)) == bad, src


def _defines_prob_greater(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.lstrip("_").startswith("prob_greater")]


def test_only_the_kernel_package_defines_prob_greater():
    outside = {p.relative_to(ROOT).as_posix(): names for p in _modules()
               if (names := _defines_prob_greater(p))}
    assert not outside, f"P(T > C) for Betas defined outside bayeslab/kernels/beta/: {outside}"
    inside = [p for p in KERNEL.glob("*.py") if _defines_prob_greater(p)]
    assert [p.name for p in inside] == ["_pair.py"]


def test_kernels_hold_one_beta_module_path():
    """``bayeslab.kernels.beta`` is a package; the old side modules are gone (their 0.1 paths
    answer, for one release, with the package itself: ``bayeslab._compat``)."""
    from bayeslab import _compat

    assert (KERNEL / "__init__.py").exists()
    assert sorted(p.name for p in (PKG / "kernels").glob("beta*")) == ["beta"]
    for old in ("beta_fast", "beta_cdf", "beta_density", "beta_outer", "beta_quantile",
                "beta_multi"):
        spec = importlib.util.find_spec(f"bayeslab.kernels.{old}")
        assert spec is not None and isinstance(spec.loader, _compat._Alias), old
        assert spec.loader.new == "bayeslab.kernels.beta"


@pytest.mark.parametrize("rel", USERS)
def test_the_users_import_the_kernel(rel):
    code = _code_only(ROOT / rel)
    assert re.search(r"^\s*from bayeslab\.kernels import beta as K$", code, re.M), rel


def test_the_kernel_exports_what_the_callers_use():
    from bayeslab.kernels import beta as K

    for name in ("cdf", "sf", "ppf", "pdf", "log_pdf", "prob_greater", "prob_greater_pair",
                 "diff_cdf", "ratio_cdf", "diff_pdf", "ratio_pdf", "diff_quantiles",
                 "ratio_quantiles", "diff_quantile", "ratio_quantile", "ratio_mean",
                 "expected_losses", "expected_loss", "prob_best", "expected_max", "compare",
                 "beta_moments", "TAIL_FLOOR"):
        assert hasattr(K, name), name
        assert name in K.__all__, name
