"""The README's main command, ``bayeslab run models/migration.toml``, as a new user meets it.

Each figure is a whole new process (what a user waits for), in three states of the caches:

- ``cold``: empty PyTensor/numba compile directory and empty bayeslab compiled-model cache
  (a fresh machine that skipped ``scripts/setup.sh``'s warm-up);
- ``after setup``: the first process after ``scripts/setup.sh`` compiled the segment model
  once (``warm_compile_cache()``, run here in its own process first);
- ``warm``: the second and later runs.

Every run prints its stage breakdown (the runner's stages, timed inside the process; "start-up"
is the rest: interpreter, imports, CLI). The baseline is a bare ``python -c "import pymc"``,
measured in the same session; the goal is at most 5x it warm (and <= 6 s warm, <= 12 s after
setup, on 2 cores).

Run: ``.venv/bin/python benchmarks/main_command.py [--repeat 3]``. Say whether the machine was
quiet (``uptime``) when quoting the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "models" / "migration.toml"

CHILD = r"""
import json, sys, time
from contextlib import contextmanager
import bayeslab.core.progress as P
stages, original = [], P.stage

@contextmanager
def stage(name, *, show=None, stream=None):
    t = time.perf_counter()
    with original(name, show=False) as info:
        yield info
    stages.append((name, time.perf_counter() - t))

P.stage = stage
import atexit
from bayeslab.cli import main
# as the console script runs it (argv from sys.argv: the process ends when the command is done)
atexit.register(lambda: print(json.dumps({"stages": stages}), flush=True))
sys.argv = ["bayeslab", "run", sys.argv[1], "--out", sys.argv[2], "--quiet"]
main()
"""


def _run(cmd, env) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    return time.perf_counter() - t, done.stdout


def main_command(env, out) -> dict:
    """One run of the plan in a new process: wall seconds and the stage breakdown."""
    wall, stdout = _run([sys.executable, "-c", CHILD, str(PLAN), str(out)], env)
    info = json.loads(stdout.strip().splitlines()[-1])
    stages = dict(info["stages"])
    stages["start-up (interpreter, imports, CLI)"] = wall - sum(stages.values())
    return {"wall": wall, "stages": stages}


def show(label, runs, base):
    walls = [r["wall"] for r in runs]
    best = min(walls)
    print(f"\n{label}: {', '.join(f'{w:.1f}' for w in walls)} s "
          f"(best {best:.1f} s = {best / base:.1f}x import pymc)")
    fastest = runs[walls.index(best)]
    for name, s in fastest["stages"].items():
        print(f"    {name:<40} {s:5.1f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # base_compiledir (not compiledir): PyTensor keeps numba's cache under the base
        env = dict(os.environ, BAYESLAB_CACHE_DIR=str(tmp / "cache"),
                   PYTENSOR_FLAGS=f"base_compiledir={tmp / 'pytensor'}")
        base = min(_run([sys.executable, "-c", "import pymc"], env)[0]
                   for _ in range(args.repeat))
        print(f"import pymc (baseline, best of {args.repeat}): {base:.2f} s")
        cold = [main_command(env, tmp / "cold")]
        show("cold caches (no setup warm-up)", cold, base)
        # as scripts/setup.sh leaves the caches: the segment model compiled once, nothing else
        env = dict(env, BAYESLAB_CACHE_DIR=str(tmp / "cache2"),
                   PYTENSOR_FLAGS=f"base_compiledir={tmp / 'pytensor2'}")
        warm_up, _ = _run([sys.executable, "-c", "from bayeslab.scenarios.warmup import "
                           "warm_compile_cache as w; w()"], env)
        print(f"\nsetup's warm-up (warm_compile_cache, its own process): {warm_up:.1f} s")
        first = [main_command(env, tmp / "first")]
        show("first process after setup", first, base)
        warm = [main_command(env, tmp / f"warm{i}") for i in range(args.repeat)]
        show("warm (second and later runs)", warm, base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
