"""Priors learned from your own experiment history, and the winner's curse corrected (issue 25).

1. A team's past experiments of one metric (simulated: 150 experiments of a conversion rate, 70 %
   with no true effect, the rest with effects from Normal(+0.2 pp, 0.4 pp), shipped when z > 1.96)
   are imported into an experiment library (a DuckDB file) from a CSV, as from another tool.
2. ``bayeslab prior`` fits the distribution of the true effects behind them, shrinks every past
   estimate and sets the shipped experiments' naive total beside their corrected one.
3. A new experiment's plan reads its Bayesian side with ``prior = "library"``.

Run: ``.venv/bin/python examples/history_prior.py [--out DIR] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import bayeslab as bl

ROOT = Path(__file__).resolve().parents[1]

PLAN = """library = "history.duckdb"

[experiment]
name = "New checkout button"
seed = {seed}

[data]
simulate = {{ scenario = "campaign", rows = 40000, seed = {seed} }}

[columns]
arm = "treatment"
control = "0"

[[metrics]]
name = "converted"
role = "primary"
kind = "conversion"
prior = "library"            # the effect distribution of the library's past experiments
"""


def bayeslab(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "bayeslab.cli", *args], capture_output=True,
                         text=True)
    if out.returncode != 0:
        sys.exit(out.stderr.strip())
    return out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="history_example")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    pf = bl.simulate_portfolio(150, null_share=0.7, effect_mean=0.002, effect_sd=0.004,
                               se=(0.001, 0.003), seed=args.seed)
    past = pf.data.rename(columns={"experiment": "name"}).assign(metric="converted")
    past[["name", "metric", "estimate", "se", "shipped"]].to_csv(out / "past.csv", index=False)
    lib = out / "history.duckdb"
    lib.unlink(missing_ok=True)
    print(bayeslab("library", "import", str(out / "past.csv"), "--library", str(lib)).strip())

    fit = json.loads(bayeslab("prior", "--library", str(lib), "--metric", "converted",
                              "--format", "json", "--seed", str(args.seed)))
    d, s = fit["effect_distribution"], fit["shipped_impact"]
    print(f"effect distribution of {fit['n_experiments']} past experiments: {d['family']}, "
          f"mean {100 * d['mean']:+.3f} pp, sd {100 * d['sd']:.3f} pp "
          f"(truth: mean {100 * pf.truth['mean']:+.3f} pp, sd {100 * pf.truth['sd']:.3f} pp)")
    print(f"shipped ({s['n']}): naive total {100 * s['naive']:+.2f} pp, corrected "
          f"{100 * s['corrected']:+.2f} pp [{100 * s['lower']:+.2f}, {100 * s['upper']:+.2f}] "
          f"(truth {100 * pf.truth['true_shipped_impact']:+.2f} pp; naive / corrected "
          f"{s['ratio']:.2f})")

    (out / "plan.toml").write_text(PLAN.format(seed=args.seed))
    text = bayeslab("run", str(out / "plan.toml"), "--out", str(out / "run"), "--quiet")
    print(text.splitlines()[0])
    run = json.loads((out / "run" / "readout.json").read_text())
    head = next(e for e in run["metrics"][0]["results"] if e["method"] == "bayes-library")
    print(f"new experiment, Bayes under the learned prior: {100 * head['estimate']:+.3f} pp "
          f"[{100 * head['lower']:+.3f}, {100 * head['upper']:+.3f}] pp; "
          f"{run['metrics'][0]['learned_prior']['prior']}")


if __name__ == "__main__":
    main()
