"""Write ``examples/past_experiments.csv``: 25 simulated past experiments, two metrics each.

The file shows the format ``bayeslab library import`` reads (issue 25; columns documented in
``bayeslab/data/library_csv.py``). Every number is simulated, with a fixed seed, from a stated
distribution, so a prior learned from it can be checked against the truth:

- each experiment has two metrics, ``conversion`` (kind conversion) and ``revenue_per_user``
  (kind continuous, EUR), both on the relative scale (treatment / control - 1);
- each metric's true lift is 0 with probability 0.7 (a true null) and otherwise drawn from
  Normal(0.02, 0.03);
- the standard error is drawn from Uniform(0.01, 0.03), and the estimate from
  Normal(true lift, se);
- the variant shipped when the conversion estimate cleared a two-sided 5 % test,
  estimate / se > 1.96 (the primary metric decides; both rows of an experiment share it);
- units per arm are drawn from Uniform(20,000, 200,000), end dates are weekly from 2024-01-07.

Run: ``python examples/make_past_experiments.py [--out FILE] [--seed N]`` (default: seed 25,
writing the file beside this script). Import it with
``bayeslab library import examples/past_experiments.csv --library lib.duckdb``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from pathlib import Path

import numpy as np

EXPERIMENTS = 25
NULL_SHARE = 0.7
EFFECT_MEAN, EFFECT_SD = 0.02, 0.03
SE_LOW, SE_HIGH = 0.01, 0.03
Z_SHIP = 1.96
METRICS = (("conversion", "conversion", ""), ("revenue_per_user", "continuous", "EUR"))
COLUMNS = ("name", "metric", "kind", "unit", "scale", "estimate", "se", "shipped", "verdict",
           "n_control", "n_treatment", "date")


def simulate(seed: int = 25) -> list[dict]:
    """The rows of the example file (see the module docstring for the distribution)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(EXPERIMENTS):
        n_control, n_treatment = (int(v) for v in rng.integers(20_000, 200_001, size=2))
        date = dt.date(2024, 1, 7) + dt.timedelta(weeks=2 * i)
        drawn = []
        for metric, kind, unit in METRICS:
            truth = 0.0 if rng.random() < NULL_SHARE else rng.normal(EFFECT_MEAN, EFFECT_SD)
            se = rng.uniform(SE_LOW, SE_HIGH)
            drawn.append((metric, kind, unit, rng.normal(truth, se), se))
        shipped = drawn[0][3] / drawn[0][4] > Z_SHIP
        for metric, kind, unit, estimate, se in drawn:
            rows.append({"name": f"exp-{i + 1:03d}", "metric": metric, "kind": kind,
                         "unit": unit, "scale": "relative", "estimate": f"{estimate:.5f}",
                         "se": f"{se:.5f}", "shipped": str(shipped).lower(),
                         "verdict": "ship" if shipped else "do not ship",
                         "n_control": n_control, "n_treatment": n_treatment,
                         "date": date.isoformat()})
    return rows


def main(argv=None) -> None:
    """Write the CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).with_name("past_experiments.csv")))
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args(argv)
    rows = simulate(args.seed)
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows ({EXPERIMENTS} experiments) to {args.out}")


if __name__ == "__main__":
    main()
