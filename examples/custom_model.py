"""Your own model in the workbench, end to end, on the migration scenario (known true effect).

Three ways in, each read out like the built-in kinds (decision rule, diagnostics gate, figures,
report, JSON):

1. a kind with several covariates: ``kind="continuous", covariate="pre_30d_spend,last_90d_spend"``
   (conjugate regression vs ANCOVA-HC1 and CUPED, from one scan);
2. a formula: ``kind="formula"`` (bambi vs statsmodels OLS with HC1 errors), here with a
   partially pooled country effect;
3. your own PyMC model: a Student-t revenue model with country effects
   (``examples/models/student_t_revenue.py``) through :func:`bayeslab.custom_readout`, and
   then the same model through a plan (``examples/custom_model.toml``) into a report.

Run: ``.venv/bin/python examples/custom_model.py [--rows N] [--out DIR]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "models"))

import bayeslab as bl  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--out", default="out/custom_model", help="folder for the plan's report")
    a = p.parse_args(argv)
    sampling = dict(draws=a.draws, tune=a.draws, chains=a.chains)
    sc = bl.simulate("migration", rows=a.rows, seed=1)
    df = sc.data
    print(f"migration scenario, {a.rows:,} users; simulated truth: revenue effect "
          f"{sc.truth['metrics']['revenue_60d']['abs_effect']:+.2f} EUR\n")

    t0 = time.perf_counter()
    one = bl.compare(df, arm="treatment", metric="revenue_60d", kind="continuous",
                     covariate="pre_30d_spend", control="0", unit="EUR")
    two = bl.compare(df, arm="treatment", metric="revenue_60d", kind="continuous",
                     covariate="pre_30d_spend,last_90d_spend", control="0", unit="EUR")
    for label, r in (("one covariate", one), ("two covariates", two)):
        b, f = r.headline_estimates()
        print(f"1. {label:15s} Bayes {b.estimate:+.3f} [{b.lower:+.3f}, {b.upper:+.3f}]  "
              f"ANCOVA-HC1 {f.estimate:+.3f} [{f.lower:+.3f}, {f.upper:+.3f}] EUR")
    print(f"   ({time.perf_counter() - t0:.1f} s, one scan each)\n")

    t0 = time.perf_counter()
    formula = bl.compare(df, arm="treatment", metric="revenue_60d", kind="formula", control="0",
                         formula="revenue_60d ~ treatment + pre_30d_spend + (1 | country)",
                         unit="EUR", **sampling)
    b, f = formula.headline_estimates()
    print(f"2. formula  Bayes (bambi) {b.estimate:+.3f} [{b.lower:+.3f}, {b.upper:+.3f}]  "
          f"OLS-HC1 with country fixed effects {f.estimate:+.3f} [{f.lower:+.3f}, "
          f"{f.upper:+.3f}] EUR")
    print(f"   diagnostics {formula.diagnostics.verdict}; decision "
          f"{formula.decision.verdict.upper()} ({time.perf_counter() - t0:.1f} s)\n")

    from student_t_revenue import build

    t0 = time.perf_counter()
    frame = df.assign(treatment=df["treatment"].astype(int))
    model, ols = build(frame)
    own = bl.custom_readout(model, "effect", frequentist=ols, term="treatment",
                            metric="revenue_60d", unit="EUR", **sampling)
    print(f"3. your own PyMC model through custom_readout ({time.perf_counter() - t0:.1f} s):")
    print("   " + "\n   ".join(str(own).splitlines()) + "\n")

    t0 = time.perf_counter()
    plan = bl.load_plan(HERE / "custom_model.toml")
    plan.data["simulate"]["rows"] = a.rows        # the plan's simulated data at --rows
    for m in plan.metrics:                        # and its sampling at --draws / --chains
        m.options.update(draws=a.draws, tune=a.draws, chains=a.chains)
    result = bl.run_plan(plan, a.out, quiet=True)
    print(f"   ... and through a plan ({time.perf_counter() - t0:.1f} s): "
          f"{result.decision.verdict.upper()}; report in {Path(a.out) / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
