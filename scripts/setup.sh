#!/usr/bin/env sh
# Create .venv with a Python >= 3.12 and install bayeslab into it.
#   sh scripts/setup.sh        runtime only
#   sh scripts/setup.sh dev    with the test tools (pytest, hypothesis, ruff)
# Python is looked for on PATH first, then in pyenv's versions. PyMC >= 6 and ArviZ >= 1.3 need
# Python >= 3.12: on 3.11 pip silently installs the old majors, whose APIs differ.
set -eu
cd "$(dirname "$0")/.."

ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
    for name in python3.14 python3.13 python3.12 python3 python; do
        p=$(command -v "$name" 2>/dev/null) || continue
        ok "$p" && { echo "$p"; return 0; }
    done
    root=${PYENV_ROOT:-$HOME/.pyenv}
    for p in $(ls -d "$root"/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -rV); do
        ok "$p" && { echo "$p"; return 0; }
    done
    return 1
}

if [ -x .venv/bin/python ] && ok .venv/bin/python; then
    :
else
    py=$(find_python) || {
        echo "bayeslab needs Python >= 3.12 and none was found on PATH or in pyenv." >&2
        echo "Install one (for example 'pyenv install 3.12' or your OS package python3.12) and re-run." >&2
        exit 1
    }
    echo "bayeslab: creating .venv with $py ($("$py" -c 'import platform; print(platform.python_version())'))" >&2
    rm -rf .venv
    "$py" -m venv .venv
fi

extra=""
what="bayeslab and its dependencies (PyMC, nutpie, ArviZ, DuckDB, pandas, scipy, statsmodels, matplotlib)"
if [ "${1:-}" = "dev" ]; then
    extra="[dev]"
    what="$what and the test tools (pytest, hypothesis, ruff, streamlit)"
fi
start=$(date +%s)
echo "bayeslab: installing $what into .venv; usually 1-3 min on a fresh machine, seconds when already installed" >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
log=$(mktemp)
if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extra" >"$log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$log" >&2
    echo "bayeslab: pip install failed (see above)" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
.venv/bin/python -c 'import bayeslab' || { echo "bayeslab: install failed" >&2; exit 1; }
# bytecode for bayeslab's own modules (pip compiles its dependencies' at install): imported
# without it, every command would compile them again (0.3 s), e.g. under PYTHONDONTWRITEBYTECODE
.venv/bin/python -m compileall -q bayeslab >/dev/null 2>&1 || true
echo "bayeslab: installed in $(( $(date +%s) - start )) s" >&2
echo "bayeslab: compiling the sampled segment model once (usually 1-3 min the first time, seconds after; cached in ~/.pytensor and ~/.cache/bayeslab, both safe to delete)" >&2
.venv/bin/python -c 'from bayeslab.scenarios.warmup import warm_compile_cache as w; print(f"bayeslab: compiled in {w():.0f} s", file=__import__("sys").stderr)' \
    || echo "bayeslab: warning: could not precompile; the first sampled model compiles on first use" >&2
