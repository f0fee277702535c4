"""``bayeslab oc`` on the five shipped plans: seconds per plan (goal <= 10 s on 2 cores).

Each plan is a new process (``bayeslab oc models/NAME.toml --format json``, the default 10,000
simulated experiments per hypothesis), so the figure includes start-up and reading the data. The
baseline is a bare ``python -c "import pymc"`` in the same session; the ratio is printed beside
each plan with the largest Monte Carlo standard error of the combined false-ship rate.

Run: ``.venv/bin/python benchmarks/oc_plans.py``. Say whether the machine was quiet (``uptime``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLANS = ("migration", "campaign", "homepage", "musicstream", "personalization")


def _seconds(cmd) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - t, out


def main() -> None:
    base, _ = _seconds([sys.executable, "-c", "import pymc"])
    print(f"baseline: import pymc {base:.2f} s")
    for name in PLANS:
        secs, out = _seconds([sys.executable, "-m", "bayeslab.cli", "oc",
                              f"models/{name}.toml", "--format", "json"])
        if out.returncode != 0:
            print(f"{name:16s} {secs:6.2f} s  ({secs / base:4.1f}x)  not simulated: "
                  f"{out.stderr.strip()}")
            continue
        d = json.loads(out.stdout)
        c = d["combined"]
        print(f"{name:16s} {secs:6.2f} s  ({secs / base:4.1f}x)  false-ship "
              f"{c['false_ship_rate']:.2%} (MC se {c['mc_se']['false_ship_rate']:.2%}), "
              f"Bayes alone {d['bayes']['false_ship_rate']:.2%}, power {c['power']:.1%}, "
              f"{c['n_sims']:,} sims  [goal <= 10 s: {'met' if secs <= 10 else 'NOT met'}]")


if __name__ == "__main__":
    main()
